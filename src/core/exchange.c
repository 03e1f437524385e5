/* Shared pieces of an authwire/1 exchange (see authwire/exchange.h). */
#include "authwire/exchange.h"

#include <string.h>

#include "authwire/crypto.h"
#include "authwire/sf.h"

bool aw_verified_covers(const aw_verified *v, const char *component)
{
    if (v->params == NULL) {
        return false;
    }
    aw_span want = aw_span_cstr(component);
    for (size_t i = 0; i < v->params->n_inner; i++) {
        const aw_sf_item *item = &v->params->inner[i];
        if (item->value.type == AW_SF_STRING && item->n_params == 0 &&
            aw_span_eq(item->value.str, want)) {
            return true;
        }
    }
    return false;
}

void aw_cb_write(const uint8_t cb[AW_CB_LEN], aw_writer *out)
{
    aw_writer_byte(out, ':');
    aw_writer_base64(out, cb, AW_CB_LEN);
    aw_writer_byte(out, ':');
}

aw_result aw_cb_check(aw_span value, const uint8_t cb[AW_CB_LEN])
{
    uint8_t arena_buf[256];
    aw_arena arena;
    aw_arena_init(&arena, arena_buf, sizeof(arena_buf));
    aw_sf_item item;
    if (value.len > 128 || aw_sf_parse_item(value, &arena, &item) != AW_OK ||
        item.value.type != AW_SF_BYTES || item.value.str.len != AW_CB_LEN) {
        return AW_E_CHANNEL_BINDING;
    }
    return aw_ct_equal(item.value.str.ptr, cb, AW_CB_LEN) ? AW_OK : AW_E_CHANNEL_BINDING;
}

aw_result aw_seq_parse(aw_span value, uint64_t *seq)
{
    uint8_t arena_buf[128];
    aw_arena arena;
    aw_arena_init(&arena, arena_buf, sizeof(arena_buf));
    aw_sf_item item;
    if (value.len > 64 || aw_sf_parse_item(value, &arena, &item) != AW_OK ||
        item.value.type != AW_SF_INTEGER || item.n_params != 0) {
        return AW_E_SF_SYNTAX;
    }
    AW_ENSURE(item.value.integer >= 1, AW_E_SEQ_TOO_OLD);
    *seq = (uint64_t)item.value.integer;
    return AW_OK;
}

void aw_request_components(bool content_type, bool seq, bool cb, aw_writer *out)
{
    aw_writer_cstr(out, AW_COMPONENTS_REQUEST);
    if (content_type) {
        aw_writer_cstr(out, " \"content-type\"");
    }
    if (seq) {
        aw_writer_cstr(out, " \"" AW_FIELD_SEQ "\"");
    }
    if (cb) {
        aw_writer_cstr(out, " \"" AW_FIELD_CB "\"");
    }
}

void aw_response_components(bool bound, bool content_type, bool error, aw_writer *out)
{
    aw_writer_cstr(out, bound ? AW_COMPONENTS_RESPONSE : "\"@status\" \"content-digest\"");
    if (content_type) {
        aw_writer_cstr(out, " \"content-type\"");
    }
    if (error) {
        aw_writer_cstr(out, " \"" AW_FIELD_ERROR "\" \"" AW_FIELD_TIME "\"");
    }
}
