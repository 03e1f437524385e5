/* src/client/enroll: the enrollment and rotation driver against the core's server side in
 * memory, through a fake transport that loses, delays, refuses and tampers:
 *
 *   happy paths: HMAC and Ed25519 enrollment; HMAC and Ed25519 rotation
 *   the pin: a substituted server key ends the run before any POST
 *   lost DONE: the same CONFIRM bytes again, with doubling backoff; a 5xx is retried too;
 *   a lost WELCOME: a fresh HELLO (the fake refuses a replayed one, like authwired)
 *   session_unknown (the server restarted): once from HELLO with a fresh ephemeral key
 *   refusals (invite_used, ...), answers that are not frames, tampered WELCOME and DONE
 *   the persist callback runs after WELCOME and before CONFIRM; its failure sends nothing
 *   rotation: the key frame is the pinned key (no GET), WELCOME of another algorithm */
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "check.h"
#include "enroll.h"

/* ---- the fake server ------------------------------------------------------------------- */

typedef struct fake {
    uint8_t s[AW_X25519_PRIVATE_LEN], s_pub[AW_X25519_PUBLIC_LEN];
    uint8_t key_pub[AW_X25519_PUBLIC_LEN]; /* what GET key presents (s_pub unless forged) */
    uint8_t psk[AW_ENROLL_KEY_LEN];
    const char *rotation_name; /* NULL: an invite */
    aw_alg alg;                /* the parameters' algorithm */
    aw_enroll_server st;
    bool has_session;
    /* what was committed, and the DONE kept for an identical CONFIRM */
    int commits;
    uint8_t confirm_seen[256];
    size_t confirm_seen_len;
    uint8_t done[AW_ENROLL_DONE_MAX];
    size_t done_len;
    aw_enroll_confirmation conf;
    /* misbehaviour */
    int drop_key, drop_hello, drop_confirm; /* answers lost (status 0) before one arrives */
    int fail_confirm_500;                   /* CONFIRMs answered 500 before processing */
    int forget_sessions;      /* CONFIRMs answered session_unknown (the session dropped) */
    const char *refuse_hello; /* an Authwire-Error for HELLO */
    bool flip_welcome, flip_done, html_key;
    /* what the client sent */
    int gets, hellos, confirms;
    uint8_t hello_seen[8][256];
    size_t hello_seen_len[8];
    uint8_t confirm_bytes[8][256];
    size_t confirm_len[8];
    bool persisted_before_confirm;
    int persists;
} fake;

static const char test_ca[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

static void fake_init(fake *f, aw_alg alg)
{
    memset(f, 0, sizeof(*f));
    CHECK_OK(aw_x25519_keypair(f->s, f->s_pub));
    memcpy(f->key_pub, f->s_pub, sizeof(f->key_pub));
    f->alg = alg;
}

static void fake_token(fake *f, aw_enroll_token *t)
{
    CHECK_OK(aw_random(t->invite_id, sizeof(t->invite_id)));
    CHECK_OK(aw_random(t->secret, sizeof(t->secret)));
    CHECK_OK(aw_enroll_fingerprint(f->s_pub, t->fingerprint));
    CHECK_OK(aw_enroll_invite_psk(t->invite_id, t->secret, f->psk));
}

static void refuse(aw_enroll_reply *reply, int status, const char *error)
{
    reply->status = status;
    snprintf(reply->error, sizeof(reply->error), "%s", error);
    snprintf(reply->text, sizeof(reply->text), "refused by the fake: %s", error);
}

static void answer(aw_enroll_reply *reply, const uint8_t *frame, size_t len)
{
    reply->status = 200;
    memcpy(reply->body, frame, len);
    reply->body_len = len;
}

/* Keeps the first eight frames of a kind the client sent, and counts them all. */
static void record(uint8_t seen[8][256], size_t lens[8], int *count, const uint8_t *in, size_t len)
{
    if (*count < 8 && len <= 256) {
        memcpy(seen[*count], in, len);
        lens[*count] = len;
    }
    (*count)++;
}

/* While *budget lasts, the answer is lost on the way (reply: no answer, why). */
static bool lost(int *budget, aw_enroll_reply *reply, const char *why)
{
    if (*budget <= 0) {
        return false;
    }
    (*budget)--;
    memset(reply, 0, sizeof(*reply));
    snprintf(reply->text, sizeof(reply->text), "%s", why);
    return true;
}

static void serve_key(fake *f, aw_enroll_reply *reply)
{
    f->gets++;
    if (lost(&f->drop_key, reply, "connection reset")) {
        return;
    }
    if (f->html_key) {
        static const char html[] = "<html>hello</html>";
        answer(reply, (const uint8_t *)html, sizeof(html) - 1);
        return;
    }
    uint8_t frame[64];
    size_t len = 0;
    CHECK_OK(aw_enroll_key_frame(f->key_pub, frame, sizeof(frame), &len));
    answer(reply, frame, len);
}

static void serve_hello(fake *f, const uint8_t *in, size_t len, aw_enroll_reply *reply)
{
    /* Like authwired: a HELLO whose ephemeral key a pending handshake has is a replay. */
    for (int i = 0; i < f->hellos && i < 8; i++) {
        if (f->hello_seen_len[i] == len && memcmp(f->hello_seen[i], in, len) == 0) {
            refuse(reply, 409, "replay");
            return;
        }
    }
    record(f->hello_seen, f->hello_seen_len, &f->hellos, in, len);
    if (f->refuse_hello != NULL) {
        refuse(reply, 409, f->refuse_hello);
        return;
    }
    aw_enroll_frame hello;
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    uint8_t session[AW_ENROLL_SESSION_LEN], welcome[AW_ENROLL_FRAME_MAX];
    size_t welcome_len = 0;
    aw_enroll_params p;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, f->rotation_name != NULL ? f->rotation_name : "alice");
    p.alg = f->alg;
    p.mode = AW_FRESH_SEQUENCE;
    memset(p.server_public_key, 0xa5, sizeof(p.server_public_key));
    p.server_time = 2000000000;
    p.ca_pem = (const uint8_t *)test_ca;
    p.ca_pem_len = strlen(test_ca);
    CHECK_OK(aw_enroll_frame_parse(in, len, &hello));
    CHECK_OK(aw_x25519_keypair(e, e_pub));
    CHECK_OK(aw_random(session, sizeof(session)));
    aw_enroll_server_keys keys = {f->s, e, f->psk, f->rotation_name};
    aw_enroll_server_wipe(&f->st);
    aw_result r = aw_enroll_server_welcome(&f->st, &hello, &keys, session, &p, welcome,
                                           sizeof(welcome), &welcome_len);
    aw_wipe(e, sizeof(e));
    if (r != AW_OK) {
        refuse(reply, 401, aw_result_name(r));
        return;
    }
    f->has_session = true;
    if (lost(&f->drop_hello, reply, "timeout")) {
        return;
    }
    if (f->flip_welcome) {
        welcome[welcome_len - 1] ^= 1;
    }
    answer(reply, welcome, welcome_len);
}

static void serve_confirm(fake *f, const uint8_t *in, size_t len, aw_enroll_reply *reply)
{
    record(f->confirm_bytes, f->confirm_len, &f->confirms, in, len);
    if (f->fail_confirm_500 > 0) {
        f->fail_confirm_500--;
        refuse(reply, 503, "busy");
        return;
    }
    if (f->forget_sessions > 0) {
        f->forget_sessions--;
        f->has_session = false;
        aw_enroll_server_wipe(&f->st);
        refuse(reply, 404, "session_unknown");
        return;
    }
    if (f->commits > 0 && len == f->confirm_seen_len && memcmp(in, f->confirm_seen, len) == 0) {
        answer(reply, f->done, f->done_len); /* the retry of a committed CONFIRM */
    } else if (!f->has_session) {
        refuse(reply, 404, "session_unknown");
        return;
    } else {
        aw_enroll_frame frame;
        CHECK_OK(aw_enroll_frame_parse(in, len, &frame));
        aw_result r = aw_enroll_server_confirm(&f->st, &frame, &f->conf, 2000000001, f->done,
                                               sizeof(f->done), &f->done_len);
        if (r != AW_OK) {
            refuse(reply, 401, aw_result_name(r));
            return;
        }
        f->commits++;
        memcpy(f->confirm_seen, in, len);
        f->confirm_seen_len = len;
        answer(reply, f->done, f->done_len);
        if (f->flip_done) {
            reply->body[reply->body_len - 1] ^= 1;
        }
    }
    (void)lost(&f->drop_confirm, reply, "timeout");
}

static aw_result fake_send(void *ctx, aw_enroll_frame_type type, const uint8_t *frame, size_t len,
                           aw_enroll_reply *reply)
{
    fake *f = ctx;
    switch (type) {
    case AW_ENROLL_KEY:
        serve_key(f, reply);
        break;
    case AW_ENROLL_HELLO:
        serve_hello(f, frame, len, reply);
        break;
    case AW_ENROLL_CONFIRM:
        f->persisted_before_confirm = f->persists > 0;
        serve_confirm(f, frame, len, reply);
        break;
    default:
        CHECK_MSG(false, "the client sent a frame of type %d", (int)type);
    }
    return AW_OK;
}

static unsigned g_sleeps[16];
static int g_n_sleeps;

static void fake_sleep(unsigned ms)
{
    if (g_n_sleeps < 16) {
        g_sleeps[g_n_sleeps] = ms;
    }
    g_n_sleeps++;
}

static aw_result count_persist(void *ctx, const aw_enroll_client *c, const aw_ed25519_key *user_key,
                               bool again)
{
    fake *f = ctx;
    CHECK(c->params.name[0] != '\0');
    CHECK((c->params.alg == AW_ALG_ED25519) == (user_key != NULL));
    CHECK(again == (f->persists > 0));
    f->persists++;
    return AW_OK;
}

static aw_result failing_persist(void *ctx, const aw_enroll_client *c,
                                 const aw_ed25519_key *user_key, bool again)
{
    (void)ctx;
    (void)c;
    (void)user_key;
    (void)again;
    return AW_E_IO;
}

/* One enrollment through the fake; returns the driver's result. */
static aw_result enroll(fake *f, aw_enroll_outcome *out, aw_enroll_persist_fn persist)
{
    aw_enroll_token t;
    aw_enroll_client c;
    aw_ed25519_key *user_key = NULL;
    aw_enroll_transport tr = {fake_send, f};
    aw_enroll_options o = {.sleep_ms = fake_sleep, .persist = persist, .persist_ctx = f};
    fake_token(f, &t);
    g_n_sleeps = 0;
    aw_result r = aw_client_enroll(&t, &tr, &o, &c, &user_key, out);
    if (r == AW_OK) {
        uint8_t kc[AW_ENROLL_KEY_LEN], ks[AW_ENROLL_KEY_LEN];
        CHECK(strcmp(c.params.name, "alice") == 0 && c.params.alg == f->alg &&
              c.params.mode == AW_FRESH_SEQUENCE && c.created_at == 2000000001);
        CHECK(c.params.ca_pem_len == strlen(test_ca));
        CHECK(memcmp(out->server_key, f->s_pub, sizeof(f->s_pub)) == 0);
        CHECK(f->commits == 1);
        if (f->alg == AW_ALG_ED25519) {
            uint8_t pub[AW_ED25519_PUBLIC_LEN];
            CHECK(user_key != NULL);
            CHECK_OK(aw_ed25519_public(user_key, pub));
            CHECK(f->conf.alg == AW_ALG_ED25519 && memcmp(pub, f->conf.ed25519_public, 32) == 0);
        } else {
            CHECK(user_key == NULL);
            CHECK_OK(aw_enroll_client_user_key(&c, kc));
            CHECK_OK(aw_enroll_server_user_key(&f->st, ks));
            CHECK(memcmp(kc, ks, sizeof(kc)) == 0);
        }
        aw_wipe(kc, sizeof(kc));
        aw_wipe(ks, sizeof(ks));
    } else {
        CHECK(user_key == NULL);
        /* A failed run leaves no secret in the state. */
        uint8_t zero[AW_ENROLL_KEY_LEN] = {0};
        CHECK(memcmp(c.psk, zero, sizeof(zero)) == 0 && memcmp(c.user_key, zero, 32) == 0);
    }
    aw_ed25519_free(user_key);
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&f->st);
    aw_wipe(&t, sizeof(t));
    return r;
}

/* ---- enrollment ------------------------------------------------------------------------ */

static void test_happy(void)
{
    fake f;
    aw_enroll_outcome out;
    fake_init(&f, AW_ALG_HMAC_SHA256);
    CHECK_OK(enroll(&f, &out, count_persist));
    CHECK(out.failure == AW_ENROLL_SUCCESS && out.resends == 0 && out.restarts == 0);
    CHECK(f.gets == 1 && f.hellos == 1 && f.confirms == 1 && f.persists == 1);
    CHECK(f.persisted_before_confirm && out.confirm_sent);
    /* The clock offset is the server's time minus ours: the fake lives in 2033. */
    CHECK(out.clock_offset > 0);

    fake_init(&f, AW_ALG_ED25519);
    CHECK_OK(enroll(&f, &out, count_persist));
    CHECK(f.confirms == 1 && f.confirm_len[0] == 147);
}

static void test_pin(void)
{
    fake f;
    aw_enroll_outcome out;
    fake_init(&f, AW_ALG_HMAC_SHA256);
    uint8_t other[AW_X25519_PRIVATE_LEN];
    CHECK_OK(aw_x25519_keypair(other, f.key_pub)); /* mallory's key in the KEY frame */
    CHECK_RESULT(enroll(&f, &out, count_persist), AW_E_SERVER_KEY_MISMATCH);
    CHECK(out.failure == AW_ENROLL_INTERFERENCE && out.step == AW_ENROLL_KEY);
    CHECK(f.gets == 1 && f.hellos == 0 && f.confirms == 0 && f.persists == 0);

    /* Not a key frame at all (a web server at that URL): refused, not interference. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.html_key = true;
    CHECK_RESULT(enroll(&f, &out, NULL), AW_E_MALFORMED);
    CHECK(out.failure == AW_ENROLL_REFUSED && out.step == AW_ENROLL_KEY && f.hellos == 0);
}

static void test_lost_answers(void)
{
    fake f;
    aw_enroll_outcome out;

    /* DONE lost twice: the same CONFIRM bytes a third time, pauses 500 then 1000 ms. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.drop_confirm = 2;
    CHECK_OK(enroll(&f, &out, count_persist));
    CHECK(f.confirms == 3 && out.resends == 2 && f.commits == 1 && f.persists == 1);
    CHECK(f.confirm_len[0] == f.confirm_len[1] && f.confirm_len[1] == f.confirm_len[2]);
    CHECK(memcmp(f.confirm_bytes[0], f.confirm_bytes[1], f.confirm_len[0]) == 0 &&
          memcmp(f.confirm_bytes[0], f.confirm_bytes[2], f.confirm_len[0]) == 0);
    CHECK(g_n_sleeps == 2 && g_sleeps[0] == 500 && g_sleeps[1] == 1000);

    /* A 503 before the server gets to it, then a lost DONE, Ed25519. */
    fake_init(&f, AW_ALG_ED25519);
    f.fail_confirm_500 = 1;
    f.drop_confirm = 1;
    CHECK_OK(enroll(&f, &out, count_persist));
    CHECK(f.confirms == 3 && out.resends == 2 && f.commits == 1);
    CHECK(memcmp(f.confirm_bytes[0], f.confirm_bytes[2], f.confirm_len[0]) == 0);

    /* The key and the WELCOME lost once each. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.drop_key = 1;
    f.drop_hello = 1;
    CHECK_OK(enroll(&f, &out, count_persist));
    CHECK(f.gets == 2 && f.hellos == 2 && out.resends == 2);
    /* The HELLO sent again is a fresh one (a replayed one would be refused). */
    CHECK(memcmp(f.hello_seen[0], f.hello_seen[1], f.hello_seen_len[0]) != 0);

    /* Never an answer to CONFIRM: five sends, pauses 500..4000, and the run says the
     * server may have committed (it did, here). */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.drop_confirm = 100;
    CHECK_RESULT(enroll(&f, &out, count_persist), AW_E_IO);
    CHECK(out.failure == AW_ENROLL_NO_ANSWER && out.step == AW_ENROLL_CONFIRM && out.confirm_sent &&
          f.confirms == 5 && out.resends == 4);
    CHECK(g_n_sleeps == 4 && g_sleeps[3] == 4000);
    CHECK(strcmp(out.reply.text, "timeout") == 0);
}

static void test_restart(void)
{
    fake f;
    aw_enroll_outcome out;

    /* The server forgot the session (restart): HELLO again with a fresh ephemeral key. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.forget_sessions = 1;
    CHECK_OK(enroll(&f, &out, count_persist));
    CHECK(out.restarts == 1 && f.hellos == 2 && f.confirms == 2 && f.gets == 1);
    CHECK(f.persists == 2); /* the second handshake's key replaces the first one's */
    CHECK(f.hello_seen_len[0] == f.hello_seen_len[1] &&
          memcmp(f.hello_seen[0], f.hello_seen[1], f.hello_seen_len[0]) != 0);

    /* Only once. */
    fake_init(&f, AW_ALG_ED25519);
    f.forget_sessions = 2;
    CHECK_RESULT(enroll(&f, &out, count_persist), AW_E_SESSION_UNKNOWN);
    CHECK(out.failure == AW_ENROLL_REFUSED && out.restarts == 1 && f.hellos == 2);
}

static void test_refusals(void)
{
    fake f;
    aw_enroll_outcome out;
    const char *names[] = {"invite_used", "invite_expired", "invite_revoked", "invite_unknown",
                           "handshake_failed"};
    const aw_result codes[] = {AW_E_INVITE_USED, AW_E_INVITE_EXPIRED, AW_E_INVITE_REVOKED,
                               AW_E_INVITE_UNKNOWN, AW_E_HANDSHAKE};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        fake_init(&f, AW_ALG_HMAC_SHA256);
        f.refuse_hello = names[i];
        CHECK_RESULT(enroll(&f, &out, count_persist), codes[i]);
        CHECK(out.failure == AW_ENROLL_REFUSED && out.step == AW_ENROLL_HELLO);
        CHECK(strcmp(out.reply.error, names[i]) == 0 && out.reply.status == 409);
        CHECK(f.hellos == 1 && f.persists == 0 && !out.confirm_sent);
    }
    /* An unknown name is still a refusal. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.refuse_hello = "no_such_reason";
    CHECK_RESULT(enroll(&f, &out, NULL), AW_E_FORBIDDEN);
    CHECK(out.failure == AW_ENROLL_REFUSED);

    /* A WELCOME or DONE that does not verify: interference, at that step. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.flip_welcome = true;
    CHECK_RESULT(enroll(&f, &out, count_persist), AW_E_HANDSHAKE);
    CHECK(out.failure == AW_ENROLL_INTERFERENCE && out.step == AW_ENROLL_WELCOME &&
          f.confirms == 0 && f.persists == 0);
    fake_init(&f, AW_ALG_HMAC_SHA256);
    f.flip_done = true;
    CHECK_RESULT(enroll(&f, &out, count_persist), AW_E_HANDSHAKE);
    CHECK(out.failure == AW_ENROLL_INTERFERENCE && out.step == AW_ENROLL_DONE);

    /* The key cannot be stored: nothing is confirmed, the invite stays unused. */
    fake_init(&f, AW_ALG_HMAC_SHA256);
    CHECK_RESULT(enroll(&f, &out, failing_persist), AW_E_IO);
    CHECK(out.failure == AW_ENROLL_LOCAL && f.confirms == 0 && f.commits == 0 && !out.confirm_sent);
}

/* ---- rotation -------------------------------------------------------------------------- */

static void test_rotation(void)
{
    for (int ed = 0; ed < 2; ed++) {
        fake f;
        aw_enroll_outcome out;
        aw_credentials cred;
        aw_enroll_client c;
        aw_ed25519_key *user_key = NULL, *current = NULL;
        uint8_t secret[32], pub[AW_ED25519_PUBLIC_LEN];
        char pem[512];
        size_t pem_len = 0;
        char name[] = "carol";

        fake_init(&f, ed ? AW_ALG_ED25519 : AW_ALG_HMAC_SHA256);
        memset(&cred, 0, sizeof(cred));
        cred.keyid = name;
        cred.alg = f.alg;
        cred.has_enroll_key = true;
        memcpy(cred.enroll_key, f.s_pub, sizeof(f.s_pub));
        if (ed) {
            CHECK_OK(aw_ed25519_generate(&current));
            CHECK_OK(aw_ed25519_private_pem(current, pem, sizeof(pem), &pem_len));
            CHECK_OK(aw_ed25519_public(current, pub));
            cred.private_pem = pem;
            CHECK_OK(aw_enroll_rotate_psk(name, pub, sizeof(pub), f.psk));
        } else {
            CHECK_OK(aw_random(secret, sizeof(secret)));
            cred.secret = secret;
            cred.secret_len = sizeof(secret);
            CHECK_OK(aw_enroll_rotate_psk(name, secret, sizeof(secret), f.psk));
        }
        f.rotation_name = name;
        f.drop_confirm = 1;
        aw_enroll_transport tr = {fake_send, &f};
        aw_enroll_options o = {.sleep_ms = fake_sleep};
        CHECK_OK(aw_client_rotate(&cred, &tr, &o, &c, &user_key, &out));
        CHECK(f.gets == 0 && f.hellos == 1 && f.confirms == 2 && f.commits == 1);
        if (ed) {
            uint8_t new_pub[AW_ED25519_PUBLIC_LEN];
            CHECK(user_key != NULL);
            CHECK_OK(aw_ed25519_public(user_key, new_pub));
            CHECK(memcmp(new_pub, f.conf.ed25519_public, 32) == 0 && memcmp(new_pub, pub, 32) != 0);
        } else {
            uint8_t kc[32], ks[32];
            CHECK_OK(aw_enroll_client_user_key(&c, kc));
            CHECK_OK(aw_enroll_server_user_key(&f.st, ks));
            CHECK(memcmp(kc, ks, 32) == 0 && memcmp(kc, secret, 32) != 0);
        }
        aw_ed25519_free(user_key);
        aw_enroll_client_wipe(&c);
        aw_enroll_server_wipe(&f.st);

        /* The server answering with another algorithm is not believed. */
        f.alg = ed ? AW_ALG_HMAC_SHA256 : AW_ALG_ED25519;
        f.hellos = f.confirms = f.commits = 0;
        CHECK_RESULT(aw_client_rotate(&cred, &tr, &o, &c, &user_key, &out), AW_E_ALG_MISMATCH);
        CHECK(out.failure == AW_ENROLL_INTERFERENCE && f.confirms == 0 && user_key == NULL);

        /* A pin that is not the server's key: the server cannot read HELLO. */
        f.alg = cred.alg;
        uint8_t scratch[AW_X25519_PRIVATE_LEN];
        CHECK_OK(aw_x25519_keypair(scratch, cred.enroll_key));
        aw_wipe(scratch, sizeof(scratch));
        CHECK_RESULT(aw_client_rotate(&cred, &tr, &o, &c, &user_key, &out), AW_E_HANDSHAKE);
        CHECK(out.failure == AW_ENROLL_REFUSED && out.step == AW_ENROLL_HELLO);

        /* No pinned key: nothing is sent. */
        cred.has_enroll_key = false;
        f.hellos = 0;
        CHECK_RESULT(aw_client_rotate(&cred, &tr, &o, &c, &user_key, &out), AW_E_INVALID_ARG);
        CHECK(out.failure == AW_ENROLL_LOCAL && f.hellos == 0);

        aw_ed25519_free(current);
        aw_wipe(pem, sizeof(pem));
        aw_wipe(secret, sizeof(secret));
        aw_enroll_server_wipe(&f.st);
    }
}

int main(void)
{
    CHECK_OK(aw_crypto_init());
    test_happy();
    test_pin();
    test_lost_answers();
    test_restart();
    test_refusals();
    test_rotation();
    return aw_test_finish("test_enroll_client");
}
