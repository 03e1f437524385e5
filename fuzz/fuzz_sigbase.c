/* Fuzzes the HTTP/1.1 parser, the signature-base builder and verification: the input is a
 * raw message whose Signature-Input members are each built into a signature base (as a
 * response to itself when it is a response, to reach the ;req paths) and then verified with
 * a fixed key under both policies. Nothing may crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/message.h"
#include "authwire/sigbase.h"
#include "authwire/signature.h"

static aw_key fuzz_key;

static aw_result lookup(void *ctx, aw_span keyid, const aw_key **key)
{
    (void)ctx;
    (void)keyid;
    *key = &fuzz_key;
    return AW_OK;
}

static uint8_t scratch[1 << 17];
static uint8_t base_buf[1 << 15];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_key.hmac == NULL) {
        static const uint8_t secret[32] = {1, 2, 3, 4};
        if (aw_hmac_key_new(secret, sizeof(secret), &fuzz_key.hmac) != AW_OK) {
            abort();
        }
        fuzz_key.alg = AW_ALG_HMAC_SHA256;
    }
    aw_header headers[64];
    aw_message msg;
    if (aw_http_parse((aw_span){data, size}, headers, 64, &msg) != AW_OK) {
        return 0;
    }
    msg.scheme = AW_SPAN_LIT("https");
    const aw_message *req = msg.is_response ? &msg : NULL;

    aw_arena arena;
    aw_arena_init(&arena, scratch, sizeof(scratch));
    aw_span value;
    if (aw_message_field(&msg, AW_SPAN_LIT("signature-input"), &arena, &value) == AW_OK) {
        const aw_sf_member *members;
        size_t n;
        if (aw_sf_parse_dict(value, 0, &arena, &members, &n) == AW_OK) {
            for (size_t i = 0; i < n; i++) {
                aw_writer w;
                aw_writer_init(&w, base_buf, sizeof(base_buf));
                size_t mark = arena.used;
                aw_result r = aw_sigbase_build(&msg, req, &members[i], &arena, &w);
                /* A base that was built must be ASCII (RFC 9421 Section 2.5). */
                for (size_t k = 0; r == AW_OK && k < w.len; k++) {
                    if (w.buf[k] >= 0x7f ||
                        (w.buf[k] < 0x20 && w.buf[k] != '\n' && w.buf[k] != '\t')) {
                        abort();
                    }
                }
                arena.used = mark;
            }
        }
    }

    aw_policy policies[2];
    aw_policy_rfc9421(&policies[0]);
    aw_policy_authwire_request(&policies[1]);
    for (size_t i = 0; i < 2; i++) {
        aw_arena_init(&arena, scratch, sizeof(scratch));
        aw_verified v;
        aw_result r = aw_verify(&msg, req, &policies[i], 1700000000, lookup, NULL, &arena, &v);
        /* A forged HMAC cannot verify; reaching AW_OK would mean the check was skipped. */
        if (r == AW_OK && i == 1) {
            abort();
        }
    }
    return 0;
}
