/* Fuzz target for the JSON reader and writer (src/util/json).
 *
 * Whatever parses is written back with the writer (numbers as their literal text in a
 * string, since the writer has no raw-number call); that output must parse, and writing it
 * again must give the very same bytes, otherwise abort(). Trees nested deeper than the
 * writer allows are only parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/bytes.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(aw_json_writer *jw, const aw_json *j)
{
    switch (j->type) {
    case AW_JSON_NULL:
        aw_json_null(jw);
        break;
    case AW_JSON_BOOL:
        aw_json_bool(jw, j->boolean);
        break;
    case AW_JSON_NUMBER:
    case AW_JSON_STRING:
        aw_json_string_n(jw, (const uint8_t *)j->text, j->text_len);
        break;
    case AW_JSON_ARRAY:
        aw_json_begin_array(jw);
        for (size_t i = 0; i < j->n; i++) {
            emit(jw, j->items[i]);
        }
        aw_json_end_array(jw);
        break;
    case AW_JSON_OBJECT:
        aw_json_begin_object(jw);
        for (size_t i = 0; i < j->n; i++) {
            aw_json_key(jw, j->keys[i]);
            emit(jw, j->items[i]);
        }
        aw_json_end_object(jw);
        break;
    default:
        abort();
    }
}

/* Writes j into a malloc'd buffer; returns NULL when the tree is too deep for the writer. */
static uint8_t *write_tree(const aw_json *j, bool pretty, size_t *len)
{
    /* Control characters escape to 6 bytes; pretty printing adds at most 2 * 16 + 1 per
     * value, and every value came from at least one input byte. */
    size_t cap = 64 * 1024 + 8 * (*len + 1) + 40 * (*len + 1);
    uint8_t *buf = malloc(cap);
    aw_writer w;
    aw_json_writer jw;
    if (buf == NULL) {
        abort();
    }
    aw_writer_init(&w, buf, cap);
    aw_json_writer_init(&jw, &w, pretty);
    emit(&jw, j);
    aw_result r = aw_json_writer_result(&jw);
    if (r == AW_E_INVALID_ARG) {
        free(buf);
        return NULL; /* deeper than AW_JSON_WRITER_DEPTH */
    }
    if (r != AW_OK) {
        abort();
    }
    *len = w.len;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aw_json *tree = NULL;
    if (aw_json_parse((const char *)data, size, &tree, NULL, NULL) != AW_OK) {
        return 0;
    }
    for (int pretty = 0; pretty < 2; pretty++) {
        size_t len1 = size;
        uint8_t *out1 = write_tree(tree, pretty != 0, &len1);
        if (out1 == NULL) {
            break;
        }
        aw_json *again = NULL;
        if (aw_json_parse((const char *)out1, len1, &again, NULL, NULL) != AW_OK) {
            abort();
        }
        size_t len2 = len1;
        uint8_t *out2 = write_tree(again, pretty != 0, &len2);
        if (out2 == NULL || len2 != len1 || memcmp(out1, out2, len1) != 0) {
            abort();
        }
        free(out1);
        free(out2);
        aw_json_free(again);
    }
    aw_json_free(tree);
    return 0;
}
