/* Enrollment and rotation in the core (include/authwire/enroll.h): both sides driven in
 * memory, with every attack of issue 4 played on the bytes between them.
 *
 *   tokens: round trip, every single-character mistype caught, case and separators
 *   happy paths: HMAC and Ed25519 enrollment, rotation; both sides derive one user key
 *   the pin: a substituted server key stops the client before it writes a byte
 *   every frame: every byte flipped, every truncation, every frame out of order
 *   key substitution: a relay swapping in its own ephemeral key, either direction
 *   low-order ephemeral keys (Wycheproof x25519) refused by the server
 *   the worked example of docs/PROTOCOL.md: fixed keys give the documented bytes */
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"

#include "check.h"

typedef struct server_side {
    uint8_t s[AW_X25519_PRIVATE_LEN];
    uint8_t s_pub[AW_X25519_PUBLIC_LEN];
    uint8_t ed_pub[AW_ED25519_PUBLIC_LEN];
} server_side;

typedef struct run {
    uint8_t key[64], hello[128], welcome[AW_ENROLL_FRAME_MAX], confirm[256], done[64];
    size_t key_len, hello_len, welcome_len, confirm_len, done_len;
} run;

static const char test_ca[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

static void server_init(server_side *srv)
{
    CHECK_OK(aw_x25519_keypair(srv->s, srv->s_pub));
    for (size_t i = 0; i < sizeof(srv->ed_pub); i++) {
        srv->ed_pub[i] = (uint8_t)(0xa0 + i);
    }
}

static void token_for(const server_side *srv, aw_enroll_token *t)
{
    CHECK_OK(aw_random(t->invite_id, sizeof(t->invite_id)));
    CHECK_OK(aw_random(t->secret, sizeof(t->secret)));
    CHECK_OK(aw_enroll_fingerprint(srv->s_pub, t->fingerprint));
}

static aw_enroll_params params_for(const char *name, aw_alg alg)
{
    aw_enroll_params p;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, name);
    p.alg = alg;
    p.mode = AW_FRESH_SEQUENCE;
    for (size_t i = 0; i < sizeof(p.server_public_key); i++) {
        p.server_public_key[i] = (uint8_t)(0xa0 + i);
    }
    p.server_time = 1790000000;
    p.ca_pem = (const uint8_t *)test_ca;
    p.ca_pem_len = strlen(test_ca);
    return p;
}

/* The server's half of HELLO -> WELCOME: psk from the invite (or the rotation). */
static aw_result server_welcome(const server_side *srv, aw_enroll_server *st, const uint8_t *psk,
                                const char *rotation_name, const uint8_t *hello, size_t hello_len,
                                const aw_enroll_params *p, run *rn)
{
    aw_enroll_frame f;
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    uint8_t session[AW_ENROLL_SESSION_LEN];
    aw_result r = aw_enroll_frame_parse(hello, hello_len, &f);
    if (r != AW_OK) {
        return r;
    }
    if (f.type != AW_ENROLL_HELLO) {
        return AW_E_MALFORMED;
    }
    CHECK_OK(aw_x25519_keypair(e, e_pub));
    CHECK_OK(aw_random(session, sizeof(session)));
    aw_enroll_server_keys keys = {srv->s, e, psk, rotation_name};
    r = aw_enroll_server_welcome(st, &f, &keys, session, p, rn->welcome, sizeof(rn->welcome),
                                 &rn->welcome_len);
    aw_wipe(e, sizeof(e));
    return r;
}

static aw_result server_confirm(aw_enroll_server *st, const uint8_t *confirm, size_t len,
                                aw_enroll_confirmation *conf, run *rn)
{
    aw_enroll_frame f;
    aw_result r = aw_enroll_frame_parse(confirm, len, &f);
    if (r != AW_OK) {
        return r;
    }
    if (f.type != AW_ENROLL_CONFIRM) {
        return AW_E_MALFORMED;
    }
    return aw_enroll_server_confirm(st, &f, conf, 1790000001, rn->done, sizeof(rn->done),
                                    &rn->done_len);
}

static aw_result client_hello(aw_enroll_client *c, run *rn)
{
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    CHECK_OK(aw_x25519_keypair(e, e_pub));
    aw_result r = aw_enroll_client_hello(c, rn->key, rn->key_len, e, rn->hello, sizeof(rn->hello),
                                         &rn->hello_len);
    aw_wipe(e, sizeof(e));
    return r;
}

/* ---- tokens --------------------------------------------------------------------------- */

static void test_token(void)
{
    server_side srv;
    aw_enroll_token t, back;
    char text[AW_ENROLL_TOKEN_TEXT];

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(aw_enroll_token_encode(&t, text));
    CHECK(strncmp(text, "AW1", 3) == 0 && strlen(text) == 3 + 136);
    CHECK_OK(aw_enroll_token_decode(text, strlen(text), &back));
    CHECK(memcmp(&t, &back, sizeof(t)) == 0);

    /* People type it: lower case, spaces and dashes between groups. */
    char typed[400];
    size_t n = 0;
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (i > 0 && i % 4 == 0) {
            typed[n++] = (i % 8 == 0) ? ' ' : '-';
        }
        typed[n++] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
    }
    typed[n] = '\0';
    CHECK_OK(aw_enroll_token_decode(typed, n, &back));
    CHECK(memcmp(&t, &back, sizeof(t)) == 0);

    /* Every single-character mistype after the prefix is caught by the checksum or the
     * alphabet, never taken for another token. */
    unsigned caught = 0, tried = 0;
    for (size_t i = 3; text[i] != '\0'; i++) {
        const char subst[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567018";
        for (size_t k = 0; subst[k] != '\0'; k += 5) {
            char copy[AW_ENROLL_TOKEN_TEXT];
            strcpy(copy, text);
            if (copy[i] == subst[k]) {
                continue;
            }
            copy[i] = subst[k];
            tried++;
            caught += aw_enroll_token_decode(copy, strlen(copy), &back) == AW_E_TOKEN_INVALID;
        }
    }
    CHECK_MSG(caught == tried, "%u of %u mistypes caught", caught, tried);

    /* A dropped character, an extra one, another prefix, an empty string. */
    CHECK_RESULT(aw_enroll_token_decode(text, strlen(text) - 1, &back), AW_E_TOKEN_INVALID);
    char longer[AW_ENROLL_TOKEN_TEXT + 1];
    snprintf(longer, sizeof(longer), "%sA", text);
    CHECK_RESULT(aw_enroll_token_decode(longer, strlen(longer), &back), AW_E_TOKEN_INVALID);
    char other[AW_ENROLL_TOKEN_TEXT];
    strcpy(other, text);
    other[2] = '2';
    CHECK_RESULT(aw_enroll_token_decode(other, strlen(other), &back), AW_E_TOKEN_INVALID);
    CHECK_RESULT(aw_enroll_token_decode("", 0, &back), AW_E_TOKEN_INVALID);
    aw_wipe(&t, sizeof(t));
    aw_wipe(&back, sizeof(back));
}

/* ---- happy paths ---------------------------------------------------------------------- */

/* A whole enrollment; returns the result of the first failing step. */
static aw_result enroll(const server_side *srv, const aw_enroll_token *t, aw_alg alg, run *rn,
                        aw_enroll_client *c, aw_enroll_server *st, aw_enroll_confirmation *conf)
{
    uint8_t psk[AW_ENROLL_KEY_LEN];
    aw_enroll_params p = params_for("alice", alg);
    aw_ed25519_key *user = NULL;
    aw_result r;

    CHECK_OK(aw_enroll_key_frame(srv->s_pub, rn->key, sizeof(rn->key), &rn->key_len));
    CHECK_OK(aw_enroll_invite_psk(t->invite_id, t->secret, psk));
    AW_GUARD(aw_enroll_client_init(c, t));
    AW_GUARD(client_hello(c, rn));
    r = server_welcome(srv, st, psk, NULL, rn->hello, rn->hello_len, &p, rn);
    aw_wipe(psk, sizeof(psk));
    AW_GUARD(r);
    AW_GUARD(aw_enroll_client_welcome(c, rn->welcome, rn->welcome_len));
    if (c->params.alg == AW_ALG_ED25519) {
        CHECK_OK(aw_ed25519_generate(&user));
    }
    r = aw_enroll_client_confirm(c, user, rn->confirm, sizeof(rn->confirm), &rn->confirm_len);
    aw_ed25519_free(user);
    AW_GUARD(r);
    AW_GUARD(server_confirm(st, rn->confirm, rn->confirm_len, conf, rn));
    return aw_enroll_client_done(c, rn->done, rn->done_len);
}

static void test_happy(void)
{
    server_side srv;
    aw_enroll_token t;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_confirmation conf;
    uint8_t kc[AW_ENROLL_KEY_LEN], ks[AW_ENROLL_KEY_LEN];

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(enroll(&srv, &t, AW_ALG_HMAC_SHA256, &rn, &c, &st, &conf));
    CHECK(conf.alg == AW_ALG_HMAC_SHA256);
    CHECK(strcmp(c.params.name, "alice") == 0 && c.params.mode == AW_FRESH_SEQUENCE);
    CHECK(c.params.server_time == 1790000000 && c.created_at == 1790000001);
    CHECK(c.params.ca_pem_len == strlen(test_ca) &&
          memcmp(c.params.ca_pem, test_ca, strlen(test_ca)) == 0);
    CHECK(memcmp(c.params.server_public_key, srv.ed_pub, sizeof(srv.ed_pub)) == 0);
    CHECK_OK(aw_enroll_client_user_key(&c, kc));
    CHECK_OK(aw_enroll_server_user_key(&st, ks));
    CHECK(memcmp(kc, ks, sizeof(kc)) == 0);
    /* Frames have the documented sizes. */
    CHECK(rn.key_len == 34 && rn.hello_len == 66 && rn.confirm_len == 51 && rn.done_len == 43);
    /* A finished state refuses to go on. */
    CHECK_RESULT(aw_enroll_client_done(&c, rn.done, rn.done_len), AW_E_INVALID_ARG);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);

    /* A second enrollment with the same token gives another key (fresh ephemerals). */
    uint8_t kc2[AW_ENROLL_KEY_LEN];
    CHECK_OK(enroll(&srv, &t, AW_ALG_HMAC_SHA256, &rn, &c, &st, &conf));
    CHECK_OK(aw_enroll_client_user_key(&c, kc2));
    CHECK(memcmp(kc, kc2, sizeof(kc)) != 0);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);

    /* Ed25519: the server gets the public key with a proof of possession. */
    CHECK_OK(enroll(&srv, &t, AW_ALG_ED25519, &rn, &c, &st, &conf));
    CHECK(conf.alg == AW_ALG_ED25519 && rn.confirm_len == 147);
    uint8_t zero[AW_ED25519_PUBLIC_LEN] = {0};
    CHECK(memcmp(conf.ed25519_public, zero, sizeof(zero)) != 0);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);
    aw_wipe(kc, sizeof(kc));
    aw_wipe(ks, sizeof(ks));
}

/* An Ed25519 CONFIRM sealed under the right session key but whose signature is not by the
 * key it registers (a client that does not hold the private key) is refused; so is the HMAC
 * shape for an Ed25519 invite. The frames are built here from the client state's keys. */
static aw_result confirm_forged(aw_enroll_client *c, const uint8_t *plain, size_t plain_len,
                                run *rn)
{
    size_t ct_len = 0;
    rn->confirm[0] = 1;
    rn->confirm[1] = AW_ENROLL_CONFIRM;
    memcpy(rn->confirm + 2, c->id, 16);
    memcpy(rn->confirm + 18, c->session, 16);
    aw_result r = aw_noise_encrypt(&c->send, c->h, sizeof(c->h), plain, plain_len, rn->confirm + 34,
                                   sizeof(rn->confirm) - 34, &ct_len);
    rn->confirm_len = 34 + ct_len;
    return r;
}

static void test_proof_of_possession(void)
{
    server_side srv;
    aw_enroll_token t;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_confirmation conf;
    uint8_t psk[AW_ENROLL_KEY_LEN];
    aw_enroll_params p = params_for("bob", AW_ALG_ED25519);
    aw_ed25519_key *a = NULL, *b = NULL;
    uint8_t plain[1 + 32 + 64];
    uint8_t msg[sizeof("authwire/1 enroll pop") - 1 + 32];

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(aw_ed25519_generate(&a));
    CHECK_OK(aw_ed25519_generate(&b));
    CHECK_OK(aw_enroll_key_frame(srv.s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    CHECK_OK(aw_enroll_invite_psk(t.invite_id, t.secret, psk));
    for (int attempt = 0; attempt < 3; attempt++) {
        CHECK_OK(aw_enroll_client_init(&c, &t));
        CHECK_OK(client_hello(&c, &rn));
        CHECK_OK(server_welcome(&srv, &st, psk, NULL, rn.hello, rn.hello_len, &p, &rn));
        CHECK_OK(aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len));
        memcpy(msg, "authwire/1 enroll pop", sizeof(msg) - 32);
        memcpy(msg + sizeof(msg) - 32, c.h, 32);
        plain[0] = 2;
        CHECK_OK(aw_ed25519_public(b, plain + 1));
        CHECK_OK(aw_ed25519_sign(a, msg, sizeof(msg), plain + 33));
        aw_result want = AW_E_HANDSHAKE;
        size_t plain_len = sizeof(plain);
        if (attempt == 1) { /* the same key, but signing another handshake's hash */
            CHECK_OK(aw_ed25519_public(a, plain + 1));
            msg[sizeof(msg) - 1] ^= 1;
            CHECK_OK(aw_ed25519_sign(a, msg, sizeof(msg), plain + 33));
        } else if (attempt == 2) { /* the HMAC shape for an Ed25519 invite */
            plain[0] = 1;
            plain_len = 1;
            want = AW_E_ALG_MISMATCH;
        }
        CHECK_OK(confirm_forged(&c, plain, plain_len, &rn));
        CHECK_RESULT(server_confirm(&st, rn.confirm, rn.confirm_len, &conf, &rn), want);
        /* A failed session is dead: nothing more is accepted in it. */
        CHECK_RESULT(server_confirm(&st, rn.confirm, rn.confirm_len, &conf, &rn), AW_E_INVALID_ARG);
        aw_enroll_client_wipe(&c);
        aw_enroll_server_wipe(&st);
    }
    aw_ed25519_free(a);
    aw_ed25519_free(b);
    aw_wipe(psk, sizeof(psk));
}

static void test_rotation(void)
{
    server_side srv;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_confirmation conf;
    uint8_t old_key[32], psk[AW_ENROLL_KEY_LEN], fp[AW_ENROLL_FP_LEN];
    uint8_t kc[AW_ENROLL_KEY_LEN], ks[AW_ENROLL_KEY_LEN];
    aw_enroll_params p = params_for("carol", AW_ALG_HMAC_SHA256);

    server_init(&srv);
    CHECK_OK(aw_random(old_key, sizeof(old_key)));
    CHECK_OK(aw_enroll_fingerprint(srv.s_pub, fp));
    CHECK_OK(aw_enroll_key_frame(srv.s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    CHECK_OK(aw_enroll_rotate_psk("carol", old_key, sizeof(old_key), psk));
    CHECK_OK(aw_enroll_client_init_rotation(&c, "carol", old_key, sizeof(old_key), fp));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_OK(server_welcome(&srv, &st, psk, "carol", rn.hello, rn.hello_len, &p, &rn));
    CHECK_OK(aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len));
    CHECK_OK(aw_enroll_client_confirm(&c, NULL, rn.confirm, sizeof(rn.confirm), &rn.confirm_len));
    CHECK_OK(server_confirm(&st, rn.confirm, rn.confirm_len, &conf, &rn));
    CHECK_OK(aw_enroll_client_done(&c, rn.done, rn.done_len));
    CHECK_OK(aw_enroll_client_user_key(&c, kc));
    CHECK_OK(aw_enroll_server_user_key(&st, ks));
    CHECK(memcmp(kc, ks, sizeof(kc)) == 0 && memcmp(kc, old_key, sizeof(kc)) != 0);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);

    /* Someone without the current key, or rotating as another user, fails at HELLO. */
    uint8_t wrong[32];
    CHECK_OK(aw_random(wrong, sizeof(wrong)));
    CHECK_OK(aw_enroll_client_init_rotation(&c, "carol", wrong, sizeof(wrong), fp));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_RESULT(server_welcome(&srv, &st, psk, "carol", rn.hello, rn.hello_len, &p, &rn),
                 AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&c);
    CHECK_OK(aw_enroll_client_init_rotation(&c, "carol", old_key, sizeof(old_key), fp));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_RESULT(server_welcome(&srv, &st, psk, "dave", rn.hello, rn.hello_len, &p, &rn),
                 AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&c);
    /* The server answering for another user is refused by the client. */
    aw_enroll_params other = params_for("dave", AW_ALG_HMAC_SHA256);
    CHECK_OK(aw_enroll_client_init_rotation(&c, "carol", old_key, sizeof(old_key), fp));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_OK(server_welcome(&srv, &st, psk, "carol", rn.hello, rn.hello_len, &other, &rn));
    CHECK_RESULT(aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len), AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);
    aw_wipe(old_key, sizeof(old_key));
    aw_wipe(psk, sizeof(psk));
}

/* ---- the pin -------------------------------------------------------------------------- */

static void test_pin(void)
{
    server_side srv, mallory;
    aw_enroll_token t;
    run rn;
    aw_enroll_client c;

    server_init(&srv);
    server_init(&mallory);
    token_for(&srv, &t);
    CHECK_OK(aw_enroll_key_frame(mallory.s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    CHECK_OK(aw_enroll_client_init(&c, &t));
    memset(rn.hello, 0xee, sizeof(rn.hello));
    rn.hello_len = 12345;
    CHECK_RESULT(client_hello(&c, &rn), AW_E_SERVER_KEY_MISMATCH);
    /* Nothing was written, and the state is dead. */
    CHECK(rn.hello_len == 12345 && rn.hello[0] == 0xee);
    CHECK_RESULT(client_hello(&c, &rn), AW_E_INVALID_ARG);
    aw_enroll_client_wipe(&c);
    aw_wipe(&t, sizeof(t));
}

/* ---- every frame tampered, truncated, reordered ----------------------------------------- */

typedef enum stage { AT_KEY, AT_HELLO, AT_WELCOME, AT_CONFIRM, AT_DONE } stage;

/* Runs an enrollment where fn may change the frame at stage `at` (in place, with its length);
 * returns the first failure, or AW_OK with the user key out. */
typedef void (*mutate_fn)(uint8_t *frame, size_t *len, size_t arg);

static aw_result enroll_mutated(const server_side *srv, const aw_enroll_token *t, aw_alg alg,
                                stage at, mutate_fn fn, size_t arg)
{
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_confirmation conf;
    uint8_t psk[AW_ENROLL_KEY_LEN];
    aw_enroll_params p = params_for("alice", alg);
    aw_ed25519_key *user = NULL;
    aw_result r;

    memset(&st, 0, sizeof(st));
    CHECK_OK(aw_enroll_key_frame(srv->s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    CHECK_OK(aw_enroll_invite_psk(t->invite_id, t->secret, psk));
    CHECK_OK(aw_enroll_client_init(&c, t));
    if (at == AT_KEY) {
        fn(rn.key, &rn.key_len, arg);
    }
    r = client_hello(&c, &rn);
    if (r == AW_OK && at == AT_HELLO) {
        fn(rn.hello, &rn.hello_len, arg);
    }
    if (r == AW_OK) {
        r = server_welcome(srv, &st, psk, NULL, rn.hello, rn.hello_len, &p, &rn);
    }
    if (r == AW_OK && at == AT_WELCOME) {
        fn(rn.welcome, &rn.welcome_len, arg);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len);
    }
    if (r == AW_OK) {
        if (alg == AW_ALG_ED25519) {
            CHECK_OK(aw_ed25519_generate(&user));
        }
        r = aw_enroll_client_confirm(&c, user, rn.confirm, sizeof(rn.confirm), &rn.confirm_len);
        aw_ed25519_free(user);
    }
    if (r == AW_OK && at == AT_CONFIRM) {
        fn(rn.confirm, &rn.confirm_len, arg);
    }
    if (r == AW_OK) {
        r = server_confirm(&st, rn.confirm, rn.confirm_len, &conf, &rn);
    }
    if (r == AW_OK && at == AT_DONE) {
        fn(rn.done, &rn.done_len, arg);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_done(&c, rn.done, rn.done_len);
    }
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);
    aw_wipe(psk, sizeof(psk));
    return r;
}

static void flip(uint8_t *frame, size_t *len, size_t i)
{
    (void)len;
    frame[i] ^= 0x01;
}

static void truncate_to(uint8_t *frame, size_t *len, size_t n)
{
    (void)frame;
    *len = n;
}

static void test_tamper(void)
{
    server_side srv;
    aw_enroll_token t;
    const size_t lens[] = {34, 66, 0, 51, 43};
    const aw_alg algs[] = {AW_ALG_HMAC_SHA256, AW_ALG_ED25519};

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(enroll_mutated(&srv, &t, AW_ALG_HMAC_SHA256, AT_KEY, truncate_to, 34));
    for (size_t a = 0; a < 2; a++) {
        for (stage at = AT_KEY; at <= AT_DONE; at++) {
            size_t len = lens[at];
            if (at == AT_WELCOME) {
                len = 2 + 32 + 16 + 1 + 5 + 1 + 1 + 32 + 8 + 2 + strlen(test_ca) + 16;
            }
            if (at == AT_CONFIRM && algs[a] == AW_ALG_ED25519) {
                len = 147;
            }
            unsigned refused = 0, cut = 0;
            for (size_t i = 0; i < len; i++) {
                aw_result r = enroll_mutated(&srv, &t, algs[a], at, flip, i);
                refused += r != AW_OK;
                CHECK_MSG(r != AW_OK, "stage %d byte %zu flipped: accepted", (int)at, i);
            }
            for (size_t n = 0; n < len; n++) {
                aw_result r = enroll_mutated(&srv, &t, algs[a], at, truncate_to, n);
                cut += r != AW_OK;
                CHECK_MSG(r != AW_OK, "stage %d cut to %zu: accepted", (int)at, n);
            }
            CHECK(refused == len && cut == len);
        }
    }
    aw_wipe(&t, sizeof(t));
}

static void test_order(void)
{
    server_side srv;
    aw_enroll_token t;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_confirmation conf;
    uint8_t psk[AW_ENROLL_KEY_LEN];
    aw_enroll_params p = params_for("alice", AW_ALG_HMAC_SHA256);

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(aw_enroll_invite_psk(t.invite_id, t.secret, psk));
    CHECK_OK(aw_enroll_key_frame(srv.s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    CHECK_OK(aw_enroll_client_init(&c, &t));
    /* The client is given WELCOME or DONE before it said HELLO: refused. */
    CHECK_RESULT(aw_enroll_client_welcome(&c, rn.key, rn.key_len), AW_E_INVALID_ARG);
    CHECK_OK(aw_enroll_client_init(&c, &t));
    CHECK_OK(client_hello(&c, &rn));
    /* The server is given its own KEY, or the client's HELLO as a WELCOME, and so on. */
    CHECK_RESULT(server_welcome(&srv, &st, psk, NULL, rn.key, rn.key_len, &p, &rn), AW_E_MALFORMED);
    CHECK_RESULT(aw_enroll_client_welcome(&c, rn.hello, rn.hello_len), AW_E_MALFORMED);
    CHECK_OK(aw_enroll_client_init(&c, &t));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_OK(server_welcome(&srv, &st, psk, NULL, rn.hello, rn.hello_len, &p, &rn));
    /* The HELLO replayed into the established session (as CONFIRM) is refused. */
    CHECK_RESULT(server_confirm(&st, rn.hello, rn.hello_len, &conf, &rn), AW_E_MALFORMED);
    CHECK_OK(aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len));
    /* DONE before CONFIRM: the client refuses (its state expects to write CONFIRM). */
    CHECK_RESULT(aw_enroll_client_done(&c, rn.welcome, rn.welcome_len), AW_E_INVALID_ARG);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);

    /* A CONFIRM from one session replayed into another session of the same invite. */
    run a, b;
    aw_enroll_client ca, cb;
    aw_enroll_server sa, sb;
    memcpy(a.key, rn.key, rn.key_len);
    a.key_len = rn.key_len;
    b = a;
    CHECK_OK(aw_enroll_client_init(&ca, &t));
    CHECK_OK(aw_enroll_client_init(&cb, &t));
    CHECK_OK(client_hello(&ca, &a));
    CHECK_OK(client_hello(&cb, &b));
    CHECK_OK(server_welcome(&srv, &sa, psk, NULL, a.hello, a.hello_len, &p, &a));
    CHECK_OK(server_welcome(&srv, &sb, psk, NULL, b.hello, b.hello_len, &p, &b));
    CHECK_OK(aw_enroll_client_welcome(&ca, a.welcome, a.welcome_len));
    CHECK_OK(aw_enroll_client_welcome(&cb, b.welcome, b.welcome_len));
    CHECK_OK(aw_enroll_client_confirm(&ca, NULL, a.confirm, sizeof(a.confirm), &a.confirm_len));
    /* Session b is given a's CONFIRM with b's session id written over it. */
    memcpy(a.confirm + 2 + 16, sb.session, 16);
    CHECK_RESULT(server_confirm(&sb, a.confirm, a.confirm_len, &conf, &b), AW_E_HANDSHAKE);
    /* And a WELCOME of session a given to client b. */
    aw_enroll_client cc;
    run d = b;
    CHECK_OK(aw_enroll_client_init(&cc, &t));
    CHECK_OK(client_hello(&cc, &d));
    CHECK_RESULT(aw_enroll_client_welcome(&cc, a.welcome, a.welcome_len), AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&ca);
    aw_enroll_client_wipe(&cb);
    aw_enroll_client_wipe(&cc);
    aw_enroll_server_wipe(&sa);
    aw_enroll_server_wipe(&sb);
    aw_wipe(psk, sizeof(psk));
}

/* ---- key substitution ------------------------------------------------------------------ */

static void test_key_substitution(void)
{
    server_side srv;
    aw_enroll_token t;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    uint8_t psk[AW_ENROLL_KEY_LEN], m_priv[32], m_pub[32];
    aw_enroll_params p = params_for("alice", AW_ALG_HMAC_SHA256);

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(aw_enroll_invite_psk(t.invite_id, t.secret, psk));
    CHECK_OK(aw_x25519_keypair(m_priv, m_pub));
    CHECK_OK(aw_enroll_key_frame(srv.s_pub, rn.key, sizeof(rn.key), &rn.key_len));

    /* Client -> server: the relay puts its own ephemeral key in HELLO. */
    CHECK_OK(aw_enroll_client_init(&c, &t));
    CHECK_OK(client_hello(&c, &rn));
    memcpy(rn.hello + 2 + 16, m_pub, 32);
    CHECK_RESULT(server_welcome(&srv, &st, psk, NULL, rn.hello, rn.hello_len, &p, &rn),
                 AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&c);

    /* Server -> client: the relay puts its own ephemeral key in WELCOME. */
    CHECK_OK(aw_enroll_client_init(&c, &t));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_OK(server_welcome(&srv, &st, psk, NULL, rn.hello, rn.hello_len, &p, &rn));
    memcpy(rn.welcome + 2, m_pub, 32);
    CHECK_RESULT(aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len), AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);

    /* A relay that knows the server key but not the token answers HELLO itself. */
    server_side fake = srv;
    uint8_t guess[AW_ENROLL_KEY_LEN];
    CHECK_OK(aw_random(guess, sizeof(guess)));
    CHECK_OK(aw_enroll_client_init(&c, &t));
    CHECK_OK(client_hello(&c, &rn));
    CHECK_RESULT(server_welcome(&fake, &st, guess, NULL, rn.hello, rn.hello_len, &p, &rn),
                 AW_E_HANDSHAKE);
    aw_enroll_client_wipe(&c);
    aw_wipe(m_priv, sizeof(m_priv));
    aw_wipe(psk, sizeof(psk));
}

/* ---- low-order ephemeral keys ------------------------------------------------------------ */

static void test_low_order(void)
{
    aw_json *doc = aw_json_load_vector("wycheproof/x25519_test.json");
    const aw_json *groups = aw_test_json_array(doc, "testGroups");
    server_side srv;
    aw_enroll_token t;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    uint8_t psk[AW_ENROLL_KEY_LEN];
    aw_enroll_params p = params_for("alice", AW_ALG_HMAC_SHA256);
    unsigned refused = 0, tried = 0;

    server_init(&srv);
    token_for(&srv, &t);
    CHECK_OK(aw_enroll_invite_psk(t.invite_id, t.secret, psk));
    CHECK_OK(aw_enroll_key_frame(srv.s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    for (size_t g = 0; g < groups->n; g++) {
        const aw_json *tests = aw_test_json_array(groups->items[g], "tests");
        for (size_t i = 0; i < tests->n; i++) {
            const char *shared = aw_test_json_string(tests->items[i], "shared");
            if (strspn(shared, "0") != strlen(shared)) {
                continue; /* only the points whose product is the identity */
            }
            size_t n = 0;
            uint8_t *pub = aw_test_hex(aw_test_json_string(tests->items[i], "public"), &n);
            CHECK_OK(aw_enroll_client_init(&c, &t));
            CHECK_OK(client_hello(&c, &rn));
            memcpy(rn.hello + 2 + 16, pub, 32);
            aw_result r = server_welcome(&srv, &st, psk, NULL, rn.hello, rn.hello_len, &p, &rn);
            tried++;
            refused += r == AW_E_KEY_INVALID;
            aw_enroll_client_wipe(&c);
            free(pub);
        }
    }
    CHECK_MSG(tried > 0 && refused == tried, "%u of %u low-order ephemerals refused", refused,
              tried);
    printf("low-order ephemeral keys in HELLO: %u of %u refused\n", refused, tried);
    aw_json_free(doc);
    aw_wipe(psk, sizeof(psk));
}

/* ---- the worked example ----------------------------------------------------------------- */

/* Appends "label (n bytes):" and the hex, 32 bytes a line, as docs/PROTOCOL.md shows it. */
static void hex_append(char *out, size_t cap, const char *label, const uint8_t *b, size_t n)
{
    size_t at = strlen(out);
    at += (size_t)snprintf(out + at, cap - at, "%s (%zu bytes):\n", label, n);
    for (size_t i = 0; i < n && at + 4 < cap; i++) {
        at += (size_t)snprintf(out + at, cap - at, "%02x%s", b[i],
                               (i % 32 == 31 || i + 1 == n) ? "\n" : "");
    }
}

static void test_example(void)
{
    /* Fixed inputs: every byte of the example follows from them. */
    uint8_t s[32], e_c[32], e_s[32], session[16];
    aw_enroll_token t;
    for (int i = 0; i < 32; i++) {
        s[i] = (uint8_t)(0x10 + i);
        e_c[i] = (uint8_t)(0x40 + i);
        e_s[i] = (uint8_t)(0x70 + i);
        t.secret[i] = (uint8_t)(0xc0 + i);
    }
    for (int i = 0; i < 16; i++) {
        t.invite_id[i] = (uint8_t)i;
        session[i] = (uint8_t)(0xf0 + i);
    }
    server_side srv;
    memcpy(srv.s, s, 32);
    CHECK_OK(aw_x25519_public_from_private(s, srv.s_pub));
    CHECK_OK(aw_enroll_fingerprint(srv.s_pub, t.fingerprint));
    char text[AW_ENROLL_TOKEN_TEXT];
    CHECK_OK(aw_enroll_token_encode(&t, text));

    aw_enroll_params p = params_for("alice", AW_ALG_HMAC_SHA256);
    p.mode = AW_FRESH_TIMESTAMP;
    p.ca_pem = NULL;
    p.ca_pem_len = 0;
    run rn;
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_frame f;
    aw_enroll_confirmation conf;
    uint8_t psk[32], key[32], key_s[32];
    CHECK_OK(aw_enroll_invite_psk(t.invite_id, t.secret, psk));
    CHECK_OK(aw_enroll_key_frame(srv.s_pub, rn.key, sizeof(rn.key), &rn.key_len));
    CHECK_OK(aw_enroll_client_init(&c, &t));
    CHECK_OK(aw_enroll_client_hello(&c, rn.key, rn.key_len, e_c, rn.hello, sizeof(rn.hello),
                                    &rn.hello_len));
    CHECK_OK(aw_enroll_frame_parse(rn.hello, rn.hello_len, &f));
    aw_enroll_server_keys keys = {s, e_s, psk, NULL};
    CHECK_OK(aw_enroll_server_welcome(&st, &f, &keys, session, &p, rn.welcome, sizeof(rn.welcome),
                                      &rn.welcome_len));
    CHECK_OK(aw_enroll_client_welcome(&c, rn.welcome, rn.welcome_len));
    CHECK_OK(aw_enroll_client_confirm(&c, NULL, rn.confirm, sizeof(rn.confirm), &rn.confirm_len));
    CHECK_OK(server_confirm(&st, rn.confirm, rn.confirm_len, &conf, &rn));
    CHECK_OK(aw_enroll_client_done(&c, rn.done, rn.done_len));
    CHECK_OK(aw_enroll_client_user_key(&c, key));
    CHECK_OK(aw_enroll_server_user_key(&st, key_s));
    CHECK(memcmp(key, key_s, 32) == 0);

    static char example[4096];
    snprintf(example, sizeof(example), "token: %s\n", text);
    hex_append(example, sizeof(example), "psk", psk, 32);
    hex_append(example, sizeof(example), "KEY", rn.key, rn.key_len);
    hex_append(example, sizeof(example), "HELLO", rn.hello, rn.hello_len);
    hex_append(example, sizeof(example), "WELCOME", rn.welcome, rn.welcome_len);
    hex_append(example, sizeof(example), "handshake hash", c.h, 32);
    hex_append(example, sizeof(example), "CONFIRM", rn.confirm, rn.confirm_len);
    hex_append(example, sizeof(example), "DONE", rn.done, rn.done_len);
    hex_append(example, sizeof(example), "user key", key, 32);
    if (getenv("AW_PRINT_EXAMPLE") != NULL) {
        fputs(example, stdout);
    }
    /* The documented example is these very bytes (AW_PRINT_EXAMPLE=1 prints them anew). */
    size_t doc_len = 0;
    char *doc = (char *)aw_test_read_file(AW_SOURCE_DIR "/docs/PROTOCOL.md", &doc_len);
    CHECK_MSG(strstr(doc, example) != NULL,
              "docs/PROTOCOL.md's worked example differs from these bytes:\n%s", example);
    free(doc);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);
}

int main(void)
{
    test_token();
    test_happy();
    test_proof_of_possession();
    test_rotation();
    test_pin();
    test_tamper();
    test_order();
    test_key_substitution();
    test_low_order();
    test_example();
    return aw_test_finish("test_enroll");
}
