/* The seed profile of the attack harness (src/attack/seed.h): the original design of the
 * API-authentication question, and the insider attack that breaks it next to authwire.
 *
 *   the seed design: registration, the documented request bytes, a genuine request
 *     accepted, every byte flipped and every truncation refused, the 5 s window at its
 *     edges, unknown users, outsiders with another K, insiders signing with their own key
 *   the insider attack: mallory's derived key is alice's and her forgery is accepted
 *   authwire: genuine requests pass, mallory's key as alice fails, unknown keyids fail
 *   the report: both verdicts, the rows as text and JSON, and a report that is not as
 *     expected says so */
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "seed.h"

#include "check.h"

#define NOW AW_SEED_CLOCK

typedef struct world {
    uint8_t shared[AW_SEED_KEY_LEN];
    aw_seed_server srv;
    aw_seed_user alice, mallory;
    uint8_t alice_reg[AW_SEED_REG_MAX]; /* what crossed the network */
    size_t alice_reg_len;
} world;

static void world_init(world *w)
{
    uint8_t nonce[AW_SEED_NONCE_LEN], reg[AW_SEED_REG_MAX];
    size_t reg_len = 0;
    CHECK_OK(aw_random(w->shared, sizeof(w->shared)));
    aw_seed_server_init(&w->srv, w->shared);
    CHECK_OK(aw_random(nonce, sizeof(nonce)));
    CHECK_OK(aw_seed_user_register(&w->alice, w->shared, "alice", nonce, w->alice_reg,
                                   sizeof(w->alice_reg), &w->alice_reg_len));
    CHECK(w->alice_reg_len == 1 + 5 + AW_SEED_NONCE_LEN);
    CHECK_OK(aw_seed_server_register(&w->srv, w->alice_reg, w->alice_reg_len));
    CHECK_OK(aw_random(nonce, sizeof(nonce)));
    CHECK_OK(aw_seed_user_register(&w->mallory, w->shared, "mallory", nonce, reg, sizeof(reg),
                                   &reg_len));
    CHECK_OK(aw_seed_server_register(&w->srv, reg, reg_len));
    CHECK(w->srv.n_users == 2);
}

/* A request of u at time t: "transfer" with message msg. */
static size_t request(const aw_seed_user *u, int64_t t, const char *msg, uint8_t *out)
{
    size_t len = 0;
    CHECK_OK(aw_seed_request_write(u, t, "transfer", (const uint8_t *)msg, strlen(msg), out,
                                   AW_SEED_REQUEST_MAX, &len));
    return len;
}

/* ---- the seed design ------------------------------------------------------------------ */

static void test_registration(void)
{
    world w;
    world_init(&w);
    char name[AW_SEED_NAME_MAX + 1];
    uint8_t nonce[AW_SEED_NONCE_LEN];

    /* An eavesdropper reads the name and the nonce. */
    CHECK_OK(aw_seed_registration_parse(w.alice_reg, w.alice_reg_len, name, nonce));
    CHECK(strcmp(name, "alice") == 0 && memcmp(nonce, w.alice.nonce, sizeof(nonce)) == 0);
    /* Both sides derived HMAC-SHA-256(K, nonce). */
    uint8_t k[AW_SEED_KEY_LEN];
    CHECK_OK(aw_seed_derive_key(w.shared, nonce, k));
    CHECK(memcmp(k, w.alice.key, sizeof(k)) == 0 && memcmp(k, w.srv.users[0].key, sizeof(k)) == 0);
    CHECK(memcmp(w.alice.key, w.mallory.key, sizeof(k)) != 0);

    /* A taken name; malformed frames: truncated, one byte more, an empty or bad name. */
    CHECK_RESULT(aw_seed_server_register(&w.srv, w.alice_reg, w.alice_reg_len), AW_E_EXISTS);
    for (size_t n = 0; n < w.alice_reg_len; n++) {
        CHECK_RESULT(aw_seed_server_register(&w.srv, w.alice_reg, n), AW_E_MALFORMED);
    }
    uint8_t frame[AW_SEED_REG_MAX + 1];
    memcpy(frame, w.alice_reg, w.alice_reg_len);
    frame[w.alice_reg_len] = 0;
    CHECK_RESULT(aw_seed_server_register(&w.srv, frame, w.alice_reg_len + 1), AW_E_MALFORMED);
    frame[1] = 'A';
    CHECK_RESULT(aw_seed_server_register(&w.srv, frame, w.alice_reg_len), AW_E_MALFORMED);
    frame[0] = 0;
    CHECK_RESULT(aw_seed_server_register(&w.srv, frame, w.alice_reg_len), AW_E_MALFORMED);
    CHECK(w.srv.n_users == 2);
    aw_seed_user u;
    size_t len = 0;
    CHECK_RESULT(aw_seed_user_register(&u, w.shared, "Bad Name", nonce, frame, sizeof(frame), &len),
                 AW_E_INVALID_ARG);
    aw_seed_server_wipe(&w.srv);
}

/* The encoding written in seed.h, byte for byte, and the MAC over exactly those bytes. */
static void test_encoding(void)
{
    aw_seed_user u;
    memset(&u, 0, sizeof(u));
    strcpy(u.name, "b");
    for (size_t i = 0; i < AW_SEED_NONCE_LEN; i++) {
        u.nonce[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < AW_SEED_KEY_LEN; i++) {
        u.key[i] = (uint8_t)(0x80 + i);
    }
    static const uint8_t want[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                   0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, /* nonce */
                                   0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* time */
                                   0x01, 'a',  0x01, 'b',  0x00, 0x01, 'c'};
    uint8_t out[AW_SEED_REQUEST_MAX];
    size_t len = 0;
    CHECK_OK(aw_seed_request_write(&u, 0x0102030405060708, "a", (const uint8_t *)"c", 1, out,
                                   sizeof(out), &len));
    CHECK(len == sizeof(want) + AW_SEED_MAC_LEN && memcmp(out, want, sizeof(want)) == 0);
    aw_hmac_key *k = NULL;
    uint8_t mac[AW_SEED_MAC_LEN];
    CHECK_OK(aw_hmac_key_new(u.key, sizeof(u.key), &k));
    CHECK_OK(aw_hmac_sha256(k, want, sizeof(want), mac));
    aw_hmac_key_free(k);
    CHECK(memcmp(out + sizeof(want), mac, sizeof(mac)) == 0);

    aw_seed_request rq;
    CHECK_OK(aw_seed_request_parse(out, len, &rq));
    CHECK(rq.timestamp == 0x0102030405060708 && rq.signed_part.len == sizeof(want));
    CHECK(aw_span_eq(rq.action, AW_SPAN_LIT("a")) && aw_span_eq(rq.name, AW_SPAN_LIT("b")) &&
          aw_span_eq(rq.message, AW_SPAN_LIT("c")));
    /* The length prefixes keep fields apart: moving a byte from action to name changes the
     * signed bytes. */
    uint8_t other[AW_SEED_REQUEST_MAX];
    size_t other_len = 0;
    strcpy(u.name, "ab");
    CHECK_OK(aw_seed_request_write(&u, 0x0102030405060708, "x", (const uint8_t *)"c", 1, other,
                                   sizeof(other), &other_len));
    strcpy(u.name, "b");
    CHECK_OK(aw_seed_request_write(&u, 0x0102030405060708, "xa", (const uint8_t *)"c", 1, out,
                                   sizeof(out), &len));
    CHECK(len == other_len && memcmp(out, other, len) != 0);
    /* Too small a buffer, an empty action, a message over the limit. */
    CHECK_RESULT(aw_seed_request_write(&u, 0, "a", NULL, 0, out, 40, &len), AW_E_BUFFER_TOO_SMALL);
    CHECK_RESULT(aw_seed_request_write(&u, 0, "", NULL, 0, out, sizeof(out), &len),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(
        aw_seed_request_write(&u, 0, "a", out, AW_SEED_MESSAGE_MAX + 1, other, sizeof(other), &len),
        AW_E_INVALID_ARG);
}

static void test_server(void)
{
    world w;
    world_init(&w);
    uint8_t frame[AW_SEED_REQUEST_MAX], copy[AW_SEED_REQUEST_MAX];
    aw_seed_request rq;

    /* A genuine request is accepted, and the server says what it accepted. */
    size_t len = request(&w.alice, NOW, "10 to bob", frame);
    CHECK_OK(aw_seed_server_accept(&w.srv, NOW, frame, len, &rq));
    CHECK(aw_span_eq(rq.name, AW_SPAN_LIT("alice")) &&
          aw_span_eq(rq.message, AW_SPAN_LIT("10 to bob")) && rq.timestamp == NOW);

    /* Not a rubber stamp: every byte flipped, and every truncation, is refused. */
    unsigned refused = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, frame, len);
        copy[i] ^= 0x01;
        refused += aw_seed_server_accept(&w.srv, NOW, copy, len, NULL) != AW_OK;
    }
    CHECK_MSG(refused == len, "%u of %zu tampered requests refused", refused, len);
    for (size_t n = 0; n < len; n++) {
        CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, frame, n, NULL), AW_E_MALFORMED);
    }
    /* The amount changed, MAC kept: the classic tamper. */
    size_t len2 = request(&w.alice, NOW, "90 to bob", copy);
    CHECK(len2 == len);
    memcpy(copy + len2 - AW_SEED_MAC_LEN, frame + len - AW_SEED_MAC_LEN, AW_SEED_MAC_LEN);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_SIGNATURE_INVALID);

    /* The 5 s window, at its edges both ways. */
    CHECK_OK(aw_seed_server_accept(&w.srv, NOW + 5, frame, len, NULL));
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW + 6, frame, len, NULL), AW_E_EXPIRED);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW + 3600, frame, len, NULL), AW_E_EXPIRED);
    CHECK_OK(aw_seed_server_accept(&w.srv, NOW - 5, frame, len, NULL));
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW - 6, frame, len, NULL), AW_E_CREATED_IN_FUTURE);
    len2 = request(&w.alice, INT64_MIN, "x", copy); /* no overflow on extreme timestamps */
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_EXPIRED);
    len2 = request(&w.alice, INT64_MAX, "x", copy);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_CREATED_IN_FUTURE);
    /* A clock at the ends of the range is the caller's mistake. */
    CHECK_RESULT(aw_seed_server_accept(&w.srv, INT64_MIN, frame, len, NULL), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, INT64_MAX, frame, len, NULL), AW_E_INVALID_ARG);

    /* The design keeps no nonce cache: the same request again inside the window passes. */
    CHECK_OK(aw_seed_server_accept(&w.srv, NOW + 1, frame, len, NULL));

    /* Someone not registered; an outsider with another K; mallory with her own key under
     * alice's name (her nonce, or alice's): all refused. */
    aw_seed_user eve = w.alice;
    strcpy(eve.name, "eve");
    len2 = request(&eve, NOW, "x", copy);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_KEY_UNKNOWN);
    uint8_t other_k[AW_SEED_KEY_LEN];
    aw_seed_user outsider = w.alice;
    CHECK_OK(aw_random(other_k, sizeof(other_k)));
    CHECK_OK(aw_seed_derive_key(other_k, outsider.nonce, outsider.key));
    len2 = request(&outsider, NOW, "x", copy);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_SIGNATURE_INVALID);
    aw_seed_user as_alice = w.mallory;
    strcpy(as_alice.name, "alice");
    len2 = request(&as_alice, NOW, "1000 to mallory", copy);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_SIGNATURE_INVALID);
    memcpy(as_alice.nonce, w.alice.nonce, sizeof(as_alice.nonce));
    len2 = request(&as_alice, NOW, "1000 to mallory", copy);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_SIGNATURE_INVALID);
    /* The nonce names the key: alice's own key with a nonce that is not the one she
     * registered is refused too. */
    aw_seed_user renonced = w.alice;
    memcpy(renonced.nonce, w.mallory.nonce, sizeof(renonced.nonce));
    len2 = request(&renonced, NOW, "x", copy);
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW, copy, len2, NULL), AW_E_SIGNATURE_INVALID);

    /* The insider attack, step by step: mallory's K and the captured registration give
     * alice's key, and the server takes her forgery. */
    aw_seed_user forged;
    memset(&forged, 0, sizeof(forged));
    CHECK_OK(aw_seed_registration_parse(w.alice_reg, w.alice_reg_len, forged.name, forged.nonce));
    CHECK_OK(aw_seed_derive_key(w.shared, forged.nonce, forged.key));
    CHECK(memcmp(forged.key, w.alice.key, sizeof(forged.key)) == 0);
    len2 = request(&forged, NOW, "1000 to mallory", copy);
    CHECK_OK(aw_seed_server_accept(&w.srv, NOW, copy, len2, &rq));
    CHECK(aw_span_eq(rq.name, AW_SPAN_LIT("alice")));
    /* ... but even she is held to the window: her forgery replayed 6 s later is refused. */
    CHECK_RESULT(aw_seed_server_accept(&w.srv, NOW + 6, copy, len2, NULL), AW_E_EXPIRED);
    aw_seed_server_wipe(&w.srv);
}

/* ---- authwire ------------------------------------------------------------------------- */

static void test_authwire(void)
{
    aw_seed_authwire w;
    aw_result verdict = AW_E_INTERNAL;
    CHECK_OK(aw_seed_authwire_setup(&w, NOW));
    /* What mallory captured is alice's real enrollment, in the sizes of the worked example of
     * docs/PROTOCOL.md (alice, no CA: WELCOME is 116 bytes). */
    const aw_seed_frames *f = &w.alice_frames;
    CHECK(f->key_len == 34 && f->hello_len == 66 && f->welcome_len == 116 && f->confirm_len == 51 &&
          f->done_len == 43);

    /* Genuine requests pass: alice's (with the gateway's copy of her key) and mallory's. */
    CHECK_OK(aw_seed_authwire_transfer(&w, "alice", &w.server_keys[0], NOW, &verdict));
    CHECK_RESULT(verdict, AW_OK);
    aw_key mine = {.alg = AW_ALG_HMAC_SHA256};
    CHECK_OK(aw_hmac_key_new(w.mallory_key, sizeof(w.mallory_key), &mine.hmac));
    CHECK_OK(aw_seed_authwire_transfer(&w, "mallory", &mine, NOW, &verdict));
    CHECK_RESULT(verdict, AW_OK);
    /* Her key under alice's keyid, and a keyid the gateway does not know, fail. */
    CHECK_OK(aw_seed_authwire_transfer(&w, "alice", &mine, NOW, &verdict));
    CHECK_RESULT(verdict, AW_E_SIGNATURE_INVALID);
    CHECK_OK(aw_seed_authwire_transfer(&w, "carol", &mine, NOW, &verdict));
    CHECK_RESULT(verdict, AW_E_KEY_UNKNOWN);
    /* The seed rule transplanted: HMAC(her key, alice's invite id from the HELLO). */
    aw_enroll_frame hello;
    uint8_t guess[32];
    aw_key k = {.alg = AW_ALG_HMAC_SHA256};
    CHECK_OK(aw_enroll_frame_parse(f->hello, f->hello_len, &hello));
    CHECK_OK(aw_hmac_sha256(mine.hmac, hello.id, AW_INVITE_ID_LEN, guess));
    CHECK_OK(aw_hmac_key_new(guess, sizeof(guess), &k.hmac));
    CHECK_OK(aw_seed_authwire_transfer(&w, "alice", &k, NOW, &verdict));
    CHECK_RESULT(verdict, AW_E_SIGNATURE_INVALID);
    aw_hmac_key_free(k.hmac);
    aw_hmac_key_free(mine.hmac);
    aw_seed_authwire_wipe(&w);
}

/* ---- the report ----------------------------------------------------------------------- */

static char *printed(const aw_seed_report *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CHECK(mem != NULL);
    aw_seed_print(r, mem);
    fclose(mem);
    return text;
}

static void test_report(void)
{
    aw_seed_report r;
    memset(&r, 0xaa, sizeof(r));
    CHECK_OK(aw_seed_insider_attack(&r));
    CHECK_MSG(r.seed_forgery_accepted, "the seed server refused the forgery: %s", r.seed_detail);
    CHECK_MSG(!r.authwire_forgery_accepted, "authwire accepted a forgery: %s", r.authwire_detail);
    CHECK(aw_seed_as_expected(&r));
    CHECK(strstr(r.seed_detail, "accepted") != NULL && r.seed_stopped_by[0] == '\0');
    CHECK_MSG(strstr(r.authwire_detail, "10 keys") != NULL &&
                  strstr(r.authwire_detail, "0 accepted, 10 refused") != NULL,
              "%s", r.authwire_detail);
    CHECK_MSG(strcmp(r.authwire_stopped_by, "signature_invalid, alg_mismatch") == 0, "%s",
              r.authwire_stopped_by);

    char *text = printed(&r);
    if (getenv("AW_PRINT_SEED") != NULL) {
        fputs(text, stdout);
    }
    /* docs/THREAT_MODEL.md shows these very rows (AW_PRINT_SEED=1 prints them anew). */
    size_t doc_len = 0;
    char *threat_model = (char *)aw_test_read_file(AW_SOURCE_DIR "/docs/THREAT_MODEL.md", &doc_len);
    CHECK_MSG(strstr(threat_model, text) != NULL, "docs/THREAT_MODEL.md's report differs from:\n%s",
              text);
    free(threat_model);
    CHECK_MSG(strstr(text, "seed-insider-forgery       SUCCEEDED") != NULL &&
                  strstr(text, "authwire-insider-forgery   BLOCKED   by signature_invalid") !=
                      NULL &&
                  strstr(text, "NOT AS EXPECTED") == NULL,
              "%s", text);
    free(text);

    char *json = NULL;
    size_t json_len = 0;
    FILE *mem = open_memstream(&json, &json_len);
    CHECK_OK(aw_seed_write_json(&r, mem));
    fclose(mem);
    aw_json *doc = NULL;
    CHECK_OK(aw_json_parse(json, json_len, &doc, NULL, NULL));
    CHECK(doc != NULL && doc->type == AW_JSON_ARRAY && doc->n == 2);
    if (doc != NULL && doc->type == AW_JSON_ARRAY && doc->n == 2) {
        const char *outcome0 = aw_json_get_string(doc->items[0], "outcome");
        const char *outcome1 = aw_json_get_string(doc->items[1], "outcome");
        const aw_json *stop0 = aw_json_get(doc->items[0], "stopped_by");
        CHECK(outcome0 != NULL && strcmp(outcome0, "succeeded") == 0);
        CHECK(outcome1 != NULL && strcmp(outcome1, "blocked") == 0);
        /* stopped_by is a string in every row, "" when nothing stopped it (the catalogue's
         * shape), and as_expected says whether the row went as the threat model predicts. */
        const char *stop0_text = aw_json_get_string(doc->items[0], "stopped_by");
        CHECK(stop0 != NULL && stop0_text != NULL && stop0_text[0] == '\0');
        for (size_t i = 0; i < 2; i++) {
            const aw_json *as_expected = aw_json_get(doc->items[i], "as_expected");
            CHECK(as_expected != NULL && as_expected->type == AW_JSON_BOOL && as_expected->boolean);
        }
        const char *stop1 = aw_json_get_string(doc->items[1], "stopped_by");
        CHECK(stop1 != NULL && strstr(stop1, "signature_invalid") != NULL);
        const char *exp0 = aw_json_get_string(doc->items[0], "expected");
        CHECK(exp0 != NULL && strcmp(exp0, "succeeded") == 0);
    }
    aw_json_free(doc);
    free(json);

    /* A report that is not what the threat model predicts says so, in text and verdict. */
    r.authwire_forgery_accepted = true;
    CHECK(!aw_seed_as_expected(&r));
    text = printed(&r);
    CHECK(strstr(text, "NOT AS EXPECTED") != NULL);
    free(text);
    r.authwire_forgery_accepted = false;
    r.seed_forgery_accepted = false;
    CHECK(!aw_seed_as_expected(&r));
}

int main(void)
{
    test_registration();
    test_encoding();
    test_server();
    test_authwire();
    test_report();
    return aw_test_finish("test_seed");
}
