/* authwire-presign: writes N requests signed for authwire/1, each with its own nonce, for
 * the gateway benchmark (bench/gateway.sh). wrk replays each exactly once through a Lua
 * script, so the gateway's replay cache accepts them all: pre-signing keeps signing cost
 * out of the load generator, which would otherwise be the limit on 2 cores.
 *
 *   authwire-presign --credentials FILE --count N --authority HOST:PORT --path /p --out FILE
 *
 * Output: the raw requests, each followed by one NUL byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authwire/crypto.h"
#include "authwire/exchange.h"
#include "authwire/signature.h"
#include "credentials.h"

static int usage(void)
{
    fprintf(stderr, "usage: authwire-presign --credentials FILE --count N --authority HOST:PORT "
                    "--path PATH --out FILE\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *cred_path = NULL, *authority = NULL, *path = NULL, *out_path = NULL;
    long count = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--credentials") == 0) {
            cred_path = argv[i + 1];
        } else if (strcmp(argv[i], "--count") == 0) {
            count = strtol(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--authority") == 0) {
            authority = argv[i + 1];
        } else if (strcmp(argv[i], "--path") == 0) {
            path = argv[i + 1];
        } else if (strcmp(argv[i], "--out") == 0) {
            out_path = argv[i + 1];
        } else {
            return usage();
        }
    }
    if (cred_path == NULL || authority == NULL || path == NULL || out_path == NULL || count <= 0 ||
        count > 10000000) {
        return usage();
    }
    aw_credentials cred;
    const char *why = NULL;
    if (aw_crypto_init() != AW_OK || aw_credentials_read(cred_path, &cred, &why) != AW_OK ||
        cred.alg != AW_ALG_HMAC_SHA256) {
        fprintf(stderr, "authwire-presign: %s: %s\n", cred_path, why ? why : "need an HMAC user");
        return 1;
    }
    aw_key key = {.alg = AW_ALG_HMAC_SHA256};
    if (aw_hmac_key_new(cred.secret, cred.secret_len, &key.hmac) != AW_OK) {
        return 1;
    }
    FILE *out = fopen(out_path, "wb");
    if (out == NULL) {
        perror(out_path);
        return 1;
    }
    static uint8_t arena_buf[65536];
    char digest[128];
    aw_writer dw;
    aw_writer_init(&dw, (uint8_t *)digest, sizeof(digest) - 1);
    if (aw_content_digest((aw_span){NULL, 0}, AW_DIGEST_SHA256, &dw) != AW_OK) {
        return 1;
    }
    digest[dw.len] = '\0';
    int64_t now = (int64_t)time(NULL);
    for (long i = 0; i < count; i++) {
        uint8_t random[32];
        char nonce[48];
        aw_writer nw;
        aw_writer_init(&nw, (uint8_t *)nonce, sizeof(nonce) - 1);
        if (aw_random(random, sizeof(random)) != AW_OK) {
            return 1;
        }
        aw_writer_base64url(&nw, random, sizeof(random));
        nonce[nw.len] = '\0';
        aw_header headers[2] = {{AW_SPAN_LIT("Host"), aw_span_cstr(authority)},
                                {AW_SPAN_LIT("Content-Digest"), aw_span_cstr(digest)}};
        aw_message msg = {.method = AW_SPAN_LIT("GET"),
                          .target = aw_span_cstr(path),
                          .scheme = AW_SPAN_LIT("http"),
                          .authority = aw_span_cstr(authority),
                          .headers = headers,
                          .n_headers = 2};
        aw_sign_params params = {.label = AW_LABEL,
                                 .components = AW_COMPONENTS_REQUEST,
                                 .has_created = true,
                                 .created = now,
                                 .nonce = aw_span_cstr(nonce),
                                 .keyid = aw_span_cstr(cred.keyid),
                                 .tag = AW_SPAN_LIT(AW_TAG_REQUEST),
                                 .with_alg = true};
        uint8_t si_buf[1024], sg_buf[256];
        aw_writer si, sg;
        aw_writer_init(&si, si_buf, sizeof(si_buf));
        aw_writer_init(&sg, sg_buf, sizeof(sg_buf));
        aw_arena arena;
        aw_arena_init(&arena, arena_buf, sizeof(arena_buf));
        if (aw_sign(&msg, NULL, &key, &params, &arena, &si, &sg, NULL) != AW_OK) {
            fprintf(stderr, "authwire-presign: signing failed\n");
            return 1;
        }
        fprintf(out,
                "GET %s HTTP/1.1\r\nHost: %s\r\nContent-Digest: %s\r\nSignature-Input: %.*s\r\n"
                "Signature: %.*s\r\n\r\n",
                path, authority, digest, (int)si.len, (const char *)si_buf, (int)sg.len,
                (const char *)sg_buf);
        fputc('\0', out);
    }
    aw_hmac_key_free(key.hmac);
    aw_credentials_free(&cred);
    return fclose(out) == 0 ? 0 : 1;
}
