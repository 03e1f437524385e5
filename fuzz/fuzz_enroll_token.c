/* Fuzz target for the enrollment parsers that take no key: the token text
 * (aw_enroll_token_decode), any frame header (aw_enroll_frame_parse), the WELCOME parameters
 * (aw_enroll_params_parse) and the CONFIRM payload (aw_enroll_confirmation_parse).
 *
 * The first input byte picks the parser (mod 4). Invariants, abort() otherwise: a decoded
 * token encodes back to the same characters (upper case, separators dropped); a parsed
 * frame's fields lie inside the input; parsed parameters have a valid name and a CA span
 * inside the input that ends it; a parsed confirmation has a known algorithm. */
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const uint8_t *p, size_t n, const uint8_t *in, size_t len)
{
    return p == NULL || (p >= in && p + n <= in + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0: {
        aw_enroll_token t;
        char text[AW_ENROLL_TOKEN_TEXT], canon[1024];
        size_t n = 0;
        if (aw_enroll_token_decode((const char *)in, len, &t) != AW_OK) {
            return 0;
        }
        for (size_t i = 0; i < len && n < sizeof(canon) - 1; i++) {
            char ch = (char)in[i];
            if (ch == ' ' || ch == '-' || ch == '\n' || ch == '\r' || ch == '\t') {
                continue;
            }
            canon[n++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
        }
        canon[n] = '\0';
        if (aw_enroll_token_encode(&t, text) != AW_OK || strlen(text) != n ||
            !aw_ct_equal(text, canon, n)) {
            abort();
        }
        return 0;
    }
    case 1: {
        aw_enroll_frame f;
        if (aw_enroll_frame_parse(in, len, &f) != AW_OK) {
            return 0;
        }
        if (!inside(f.id, AW_INVITE_ID_LEN, in, len) ||
            !inside(f.session, AW_ENROLL_SESSION_LEN, in, len) ||
            !inside(f.key, AW_X25519_PUBLIC_LEN, in, len) || !inside(f.body, f.body_len, in, len) ||
            f.body + f.body_len != in + len) {
            abort();
        }
        return 0;
    }
    case 2: {
        aw_enroll_params p;
        if (aw_enroll_params_parse(in, len, &p) != AW_OK) {
            return 0;
        }
        size_t name_len = strlen(p.name);
        if (name_len == 0 || name_len > AW_ENROLL_NAME_MAX ||
            !inside(p.ca_pem, p.ca_pem_len, in, len) ||
            (p.ca_pem != NULL && p.ca_pem + p.ca_pem_len != in + len) ||
            (p.alg != AW_ALG_HMAC_SHA256 && p.alg != AW_ALG_ED25519)) {
            abort();
        }
        return 0;
    }
    default: {
        aw_enroll_confirmation conf;
        if (aw_enroll_confirmation_parse(in, len, &conf) != AW_OK) {
            return 0;
        }
        if (conf.alg != AW_ALG_HMAC_SHA256 && conf.alg != AW_ALG_ED25519) {
            abort();
        }
        return 0;
    }
    }
}
