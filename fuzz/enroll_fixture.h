/* The fixed keys of the enrollment fuzz targets (the worked example of docs/PROTOCOL.md, so
 * the seed corpus holds the genuine frames and the genuine path is fuzzed too). Every
 * function aborts if the genuine run fails: the fixture itself is not under test. */
#ifndef AW_FUZZ_ENROLL_FIXTURE_H
#define AW_FUZZ_ENROLL_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "authwire/enroll.h"

typedef struct fixture {
    uint8_t s[32], s_pub[32], e_c[32], e_s[32], session[16], psk[32];
    aw_enroll_token token;
    aw_enroll_params params;
    uint8_t key[64], hello[128], welcome[AW_ENROLL_FRAME_MAX], confirm[256], done[64];
    size_t key_len, hello_len, welcome_len, confirm_len, done_len;
} fixture;

static inline void fixture_must(aw_result r)
{
    if (r != AW_OK) {
        abort();
    }
}

/* Fills f with the fixed inputs and the genuine frames of one HMAC enrollment. */
static inline void fixture_init(fixture *f)
{
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_frame fr;
    aw_enroll_confirmation conf;

    memset(f, 0, sizeof(*f));
    for (int i = 0; i < 32; i++) {
        f->s[i] = (uint8_t)(0x10 + i);
        f->e_c[i] = (uint8_t)(0x40 + i);
        f->e_s[i] = (uint8_t)(0x70 + i);
        f->token.secret[i] = (uint8_t)(0xc0 + i);
        f->params.server_public_key[i] = (uint8_t)(0xa0 + i);
    }
    for (int i = 0; i < 16; i++) {
        f->token.invite_id[i] = (uint8_t)i;
        f->session[i] = (uint8_t)(0xf0 + i);
    }
    strcpy(f->params.name, "alice");
    f->params.alg = AW_ALG_HMAC_SHA256;
    f->params.mode = AW_FRESH_TIMESTAMP;
    f->params.server_time = 1790000000;
    fixture_must(aw_x25519_public_from_private(f->s, f->s_pub));
    fixture_must(aw_enroll_fingerprint(f->s_pub, f->token.fingerprint));
    fixture_must(aw_enroll_invite_psk(f->token.invite_id, f->token.secret, f->psk));
    fixture_must(aw_enroll_key_frame(f->s_pub, f->key, sizeof(f->key), &f->key_len));
    fixture_must(aw_enroll_client_init(&c, &f->token));
    fixture_must(aw_enroll_client_hello(&c, f->key, f->key_len, f->e_c, f->hello, sizeof(f->hello),
                                        &f->hello_len));
    fixture_must(aw_enroll_frame_parse(f->hello, f->hello_len, &fr));
    aw_enroll_server_keys keys = {f->s, f->e_s, f->psk, NULL};
    fixture_must(aw_enroll_server_welcome(&st, &fr, &keys, f->session, &f->params, f->welcome,
                                          sizeof(f->welcome), &f->welcome_len));
    fixture_must(aw_enroll_client_welcome(&c, f->welcome, f->welcome_len));
    fixture_must(
        aw_enroll_client_confirm(&c, NULL, f->confirm, sizeof(f->confirm), &f->confirm_len));
    fixture_must(aw_enroll_frame_parse(f->confirm, f->confirm_len, &fr));
    fixture_must(aw_enroll_server_confirm(&st, &fr, &conf, 1790000001, f->done, sizeof(f->done),
                                          &f->done_len));
    fixture_must(aw_enroll_client_done(&c, f->done, f->done_len));
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);
}

#endif
