/* The seed system and the insider attack on it, next to the same attack on authwire
 * (seed.h says what the design is and why it breaks). */
#include "seed.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/exchange.h"

/* ---- the seed design ------------------------------------------------------------------ */

static bool name_valid(const uint8_t *s, size_t len, size_t max)
{
    if (len == 0 || len > max) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t b = s[i];
        if (!((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_' || b == '-')) {
            return false;
        }
    }
    return true;
}

/* Takes n bytes from the cursor into *out; false when fewer are left. */
static bool take(aw_cursor *c, size_t n, aw_span *out)
{
    if (c->len - c->pos < n) {
        return false;
    }
    *out = (aw_span){c->ptr + c->pos, n};
    c->pos += n;
    return true;
}

/* A length-prefixed field (prefix of width bytes) of 1..max bytes (0..max with allow_empty). */
static bool take_prefixed(aw_cursor *c, size_t width, size_t max, bool allow_empty, aw_span *out)
{
    aw_span prefix;
    if (!take(c, width, &prefix)) {
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < width; i++) {
        n = (n << 8) | prefix.ptr[i];
    }
    return (n > 0 || allow_empty) && n <= max && take(c, n, out);
}

aw_result aw_seed_derive_key(const uint8_t shared[AW_SEED_KEY_LEN],
                             const uint8_t nonce[AW_SEED_NONCE_LEN], uint8_t out[AW_SEED_KEY_LEN])
{
    aw_hmac_key *k = NULL;
    AW_GUARD(aw_hmac_key_new(shared, AW_SEED_KEY_LEN, &k));
    aw_result r = aw_hmac_sha256(k, nonce, AW_SEED_NONCE_LEN, out);
    aw_hmac_key_free(k);
    return r;
}

aw_result aw_seed_user_register(aw_seed_user *u, const uint8_t shared[AW_SEED_KEY_LEN],
                                const char *name, const uint8_t nonce[AW_SEED_NONCE_LEN],
                                uint8_t *out, size_t cap, size_t *out_len)
{
    AW_ENSURE(u != NULL && shared != NULL && name != NULL && nonce != NULL && out_len != NULL,
              AW_E_INVALID_ARG);
    size_t name_len = strlen(name);
    AW_ENSURE(name_valid((const uint8_t *)name, name_len, AW_SEED_NAME_MAX), AW_E_INVALID_ARG);
    memset(u, 0, sizeof(*u));
    memcpy(u->name, name, name_len);
    memcpy(u->nonce, nonce, AW_SEED_NONCE_LEN);
    AW_GUARD(aw_seed_derive_key(shared, nonce, u->key));
    aw_writer w;
    aw_writer_init(&w, out, cap);
    aw_writer_byte(&w, (uint8_t)name_len);
    aw_writer_bytes(&w, name, name_len);
    aw_writer_bytes(&w, nonce, AW_SEED_NONCE_LEN);
    AW_GUARD(aw_writer_result(&w));
    *out_len = w.len;
    return AW_OK;
}

aw_result aw_seed_registration_parse(const uint8_t *in, size_t len, char name[AW_SEED_NAME_MAX + 1],
                                     uint8_t nonce[AW_SEED_NONCE_LEN])
{
    AW_ENSURE((in != NULL || len == 0) && name != NULL && nonce != NULL, AW_E_INVALID_ARG);
    aw_cursor c;
    aw_span n, x;
    aw_cursor_init(&c, (aw_span){in, len});
    if (!take_prefixed(&c, 1, AW_SEED_NAME_MAX, false, &n) ||
        !name_valid(n.ptr, n.len, AW_SEED_NAME_MAX) || !take(&c, AW_SEED_NONCE_LEN, &x) ||
        !aw_cursor_eof(&c)) {
        return AW_E_MALFORMED;
    }
    memcpy(name, n.ptr, n.len);
    name[n.len] = '\0';
    memcpy(nonce, x.ptr, AW_SEED_NONCE_LEN);
    return AW_OK;
}

void aw_seed_server_init(aw_seed_server *s, const uint8_t shared[AW_SEED_KEY_LEN])
{
    memset(s, 0, sizeof(*s));
    memcpy(s->shared, shared, AW_SEED_KEY_LEN);
}

static const aw_seed_user *find_user(const aw_seed_server *s, aw_span name)
{
    for (size_t i = 0; i < s->n_users; i++) {
        if (aw_span_eq(aw_span_cstr(s->users[i].name), name)) {
            return &s->users[i];
        }
    }
    return NULL;
}

aw_result aw_seed_server_register(aw_seed_server *s, const uint8_t *in, size_t len)
{
    AW_ENSURE(s != NULL, AW_E_INVALID_ARG);
    char name[AW_SEED_NAME_MAX + 1];
    uint8_t nonce[AW_SEED_NONCE_LEN];
    AW_GUARD(aw_seed_registration_parse(in, len, name, nonce));
    AW_ENSURE(find_user(s, aw_span_cstr(name)) == NULL, AW_E_EXISTS);
    AW_ENSURE(s->n_users < AW_SEED_USERS_MAX, AW_E_TOO_LARGE);
    aw_seed_user *u = &s->users[s->n_users];
    memcpy(u->name, name, sizeof(name));
    memcpy(u->nonce, nonce, sizeof(nonce));
    AW_GUARD(aw_seed_derive_key(s->shared, nonce, u->key));
    s->n_users++;
    return AW_OK;
}

aw_result aw_seed_request_write(const aw_seed_user *u, int64_t now, const char *action,
                                const uint8_t *message, size_t message_len, uint8_t *out,
                                size_t cap, size_t *out_len)
{
    AW_ENSURE(u != NULL && action != NULL && out != NULL && out_len != NULL &&
                  (message != NULL || message_len == 0),
              AW_E_INVALID_ARG);
    size_t action_len = strlen(action), name_len = strlen(u->name);
    AW_ENSURE(action_len > 0 && action_len <= AW_SEED_ACTION_MAX &&
                  name_valid((const uint8_t *)u->name, name_len, AW_SEED_NAME_MAX) &&
                  message_len <= AW_SEED_MESSAGE_MAX,
              AW_E_INVALID_ARG);
    aw_writer w;
    aw_writer_init(&w, out, cap);
    aw_writer_bytes(&w, u->nonce, AW_SEED_NONCE_LEN);
    for (int shift = 56; shift >= 0; shift -= 8) {
        aw_writer_byte(&w, (uint8_t)((uint64_t)now >> shift));
    }
    aw_writer_byte(&w, (uint8_t)action_len);
    aw_writer_bytes(&w, action, action_len);
    aw_writer_byte(&w, (uint8_t)name_len);
    aw_writer_bytes(&w, u->name, name_len);
    aw_writer_byte(&w, (uint8_t)(message_len >> 8));
    aw_writer_byte(&w, (uint8_t)message_len);
    aw_writer_bytes(&w, message, message_len);
    /* The MAC goes right after the bytes it covers; reserve its room first. */
    AW_ENSURE(!w.overflow && w.cap - w.len >= AW_SEED_MAC_LEN, AW_E_BUFFER_TOO_SMALL);
    aw_hmac_key *k = NULL;
    AW_GUARD(aw_hmac_key_new(u->key, AW_SEED_KEY_LEN, &k));
    aw_result r = aw_hmac_sha256(k, out, w.len, out + w.len);
    aw_hmac_key_free(k);
    AW_GUARD(r);
    *out_len = w.len + AW_SEED_MAC_LEN;
    return AW_OK;
}

aw_result aw_seed_request_parse(const uint8_t *in, size_t len, aw_seed_request *out)
{
    AW_ENSURE((in != NULL || len == 0) && out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    aw_cursor c;
    aw_span nonce, ts, mac;
    aw_cursor_init(&c, (aw_span){in, len});
    if (!take(&c, AW_SEED_NONCE_LEN, &nonce) || !take(&c, 8, &ts) ||
        !take_prefixed(&c, 1, AW_SEED_ACTION_MAX, false, &out->action) ||
        !take_prefixed(&c, 1, AW_SEED_NAME_MAX, false, &out->name) ||
        !take_prefixed(&c, 2, AW_SEED_MESSAGE_MAX, true, &out->message)) {
        return AW_E_MALFORMED;
    }
    out->signed_part = (aw_span){in, c.pos};
    if (!take(&c, AW_SEED_MAC_LEN, &mac) || !aw_cursor_eof(&c)) {
        memset(out, 0, sizeof(*out));
        return AW_E_MALFORMED;
    }
    memcpy(out->nonce, nonce.ptr, AW_SEED_NONCE_LEN);
    uint64_t t = 0;
    for (size_t i = 0; i < 8; i++) {
        t = (t << 8) | ts.ptr[i];
    }
    out->timestamp = (int64_t)t;
    out->mac = mac.ptr;
    return AW_OK;
}

aw_result aw_seed_server_accept(const aw_seed_server *s, int64_t now, const uint8_t *in, size_t len,
                                aw_seed_request *out)
{
    AW_ENSURE(s != NULL && now > INT64_MIN + AW_SEED_WINDOW && now < INT64_MAX - AW_SEED_WINDOW,
              AW_E_INVALID_ARG);
    aw_seed_request rq;
    AW_GUARD(aw_seed_request_parse(in, len, &rq));
    const aw_seed_user *u = find_user(s, rq.name);
    AW_ENSURE(u != NULL, AW_E_KEY_UNKNOWN);
    /* The window, written so that no subtraction can overflow on a hostile timestamp. */
    AW_ENSURE(rq.timestamp >= now - AW_SEED_WINDOW, AW_E_EXPIRED);
    AW_ENSURE(rq.timestamp <= now + AW_SEED_WINDOW, AW_E_CREATED_IN_FUTURE);
    /* The nonce names the key: it must be the one this user registered. Public, so a plain
     * comparison; the MAC is compared in constant time. */
    AW_ENSURE(aw_ct_equal(rq.nonce, u->nonce, AW_SEED_NONCE_LEN), AW_E_SIGNATURE_INVALID);
    aw_hmac_key *k = NULL;
    AW_GUARD(aw_hmac_key_new(u->key, AW_SEED_KEY_LEN, &k));
    aw_result r =
        aw_hmac_sha256_verify(k, rq.signed_part.ptr, rq.signed_part.len, rq.mac, AW_SEED_MAC_LEN);
    aw_hmac_key_free(k);
    AW_GUARD(r);
    if (out != NULL) {
        *out = rq;
    }
    return AW_OK;
}

void aw_seed_server_wipe(aw_seed_server *s)
{
    if (s != NULL) {
        aw_wipe(s, sizeof(*s));
    }
}

/* ---- authwire: two users enrolled with the core --------------------------------------- */

/* The server's secrets for one invite. */
typedef struct enroll_server_side {
    uint8_t s[AW_X25519_PRIVATE_LEN];
    uint8_t s_pub[AW_X25519_PUBLIC_LEN];
    uint8_t gateway_pub[AW_ED25519_PUBLIC_LEN];
} enroll_server_side;

/* One whole enrollment of name with token t, as authwired and `authwire enroll` run it
 * (tests/test_enroll.c drives the same steps): the frames into *f, the client's key into
 * client_key, the server's into server_key. */
static aw_result enroll_one(const enroll_server_side *srv, const aw_enroll_token *t,
                            const char *name, int64_t now, aw_seed_frames *f,
                            uint8_t client_key[AW_ENROLL_KEY_LEN],
                            uint8_t server_key[AW_ENROLL_KEY_LEN])
{
    aw_enroll_client c;
    aw_enroll_server st;
    aw_enroll_frame frame;
    aw_enroll_confirmation conf;
    aw_enroll_params p;
    uint8_t psk[AW_ENROLL_KEY_LEN], e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    uint8_t se[AW_X25519_PRIVATE_LEN], se_pub[AW_X25519_PUBLIC_LEN];
    uint8_t session[AW_ENROLL_SESSION_LEN];
    aw_result r;

    memset(&c, 0, sizeof(c));
    memset(&st, 0, sizeof(st));
    memset(&p, 0, sizeof(p));
    memcpy(p.name, name, strlen(name) + 1);
    p.alg = AW_ALG_HMAC_SHA256;
    p.mode = AW_FRESH_TIMESTAMP;
    memcpy(p.server_public_key, srv->gateway_pub, sizeof(p.server_public_key));
    p.server_time = now;

    r = aw_enroll_invite_psk(t->invite_id, t->secret, psk);
    if (r == AW_OK) {
        r = aw_enroll_key_frame(srv->s_pub, f->key, sizeof(f->key), &f->key_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_init(&c, t);
    }
    if (r == AW_OK) {
        r = aw_x25519_keypair(e, e_pub);
    }
    if (r == AW_OK) { /* -> psk, e, es */
        r = aw_enroll_client_hello(&c, f->key, f->key_len, e, f->hello, sizeof(f->hello),
                                   &f->hello_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_frame_parse(f->hello, f->hello_len, &frame);
    }
    if (r == AW_OK) {
        r = aw_x25519_keypair(se, se_pub);
    }
    if (r == AW_OK) {
        r = aw_random(session, sizeof(session));
    }
    if (r == AW_OK) { /* <- e, ee */
        aw_enroll_server_keys keys = {srv->s, se, psk, NULL};
        r = aw_enroll_server_welcome(&st, &frame, &keys, session, &p, f->welcome,
                                     sizeof(f->welcome), &f->welcome_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_welcome(&c, f->welcome, f->welcome_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_confirm(&c, NULL, f->confirm, sizeof(f->confirm), &f->confirm_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_frame_parse(f->confirm, f->confirm_len, &frame);
    }
    if (r == AW_OK) {
        r = aw_enroll_server_confirm(&st, &frame, &conf, now, f->done, sizeof(f->done),
                                     &f->done_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_done(&c, f->done, f->done_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_user_key(&c, client_key);
    }
    if (r == AW_OK) {
        r = aw_enroll_server_user_key(&st, server_key);
    }
    if (r == AW_OK && !aw_ct_equal(client_key, server_key, AW_ENROLL_KEY_LEN)) {
        r = AW_E_INTERNAL;
    }
    aw_enroll_client_wipe(&c);
    aw_enroll_server_wipe(&st);
    aw_wipe(psk, sizeof(psk));
    aw_wipe(e, sizeof(e));
    aw_wipe(se, sizeof(se));
    return r;
}

static aw_result new_token(const enroll_server_side *srv, aw_enroll_token *t)
{
    AW_GUARD(aw_random(t->invite_id, sizeof(t->invite_id)));
    AW_GUARD(aw_random(t->secret, sizeof(t->secret)));
    return aw_enroll_fingerprint(srv->s_pub, t->fingerprint);
}

aw_result aw_seed_authwire_setup(aw_seed_authwire *w, int64_t now)
{
    AW_ENSURE(w != NULL, AW_E_INVALID_ARG);
    memset(w, 0, sizeof(*w));
    enroll_server_side srv;
    aw_enroll_token alice_token;
    aw_seed_frames mallory_frames;
    uint8_t alice_client[AW_ENROLL_KEY_LEN], alice_server[AW_ENROLL_KEY_LEN];
    uint8_t mallory_server[AW_ENROLL_KEY_LEN];

    aw_result r = aw_x25519_keypair(srv.s, srv.s_pub);
    if (r == AW_OK) {
        r = aw_random(srv.gateway_pub, sizeof(srv.gateway_pub)); /* pinned, never used here */
    }
    if (r == AW_OK) {
        r = new_token(&srv, &alice_token);
    }
    if (r == AW_OK) {
        r = new_token(&srv, &w->mallory_token);
    }
    if (r == AW_OK) {
        r = enroll_one(&srv, &alice_token, AW_SEED_ALICE, now, &w->alice_frames, alice_client,
                       alice_server);
    }
    if (r == AW_OK) {
        r = enroll_one(&srv, &w->mallory_token, AW_SEED_MALLORY, now, &mallory_frames,
                       w->mallory_key, mallory_server);
    }
    if (r == AW_OK) {
        w->server_keys[0].alg = AW_ALG_HMAC_SHA256;
        r = aw_hmac_key_new(alice_server, sizeof(alice_server), &w->server_keys[0].hmac);
    }
    if (r == AW_OK) {
        w->server_keys[1].alg = AW_ALG_HMAC_SHA256;
        r = aw_hmac_key_new(mallory_server, sizeof(mallory_server), &w->server_keys[1].hmac);
    }
    aw_wipe(&srv, sizeof(srv));
    aw_wipe(&alice_token, sizeof(alice_token));
    aw_wipe(alice_client, sizeof(alice_client));
    aw_wipe(alice_server, sizeof(alice_server));
    aw_wipe(mallory_server, sizeof(mallory_server));
    return r;
}

void aw_seed_authwire_wipe(aw_seed_authwire *w)
{
    if (w == NULL) {
        return;
    }
    aw_hmac_key_free(w->server_keys[0].hmac);
    aw_hmac_key_free(w->server_keys[1].hmac);
    aw_wipe(w, sizeof(*w));
}

static aw_result lookup(void *ctx, aw_span keyid, const aw_key **key)
{
    aw_seed_authwire *w = ctx;
    if (aw_span_eq(keyid, AW_SPAN_LIT(AW_SEED_ALICE))) {
        *key = &w->server_keys[0];
        return AW_OK;
    }
    if (aw_span_eq(keyid, AW_SPAN_LIT(AW_SEED_MALLORY))) {
        *key = &w->server_keys[1];
        return AW_OK;
    }
    return AW_E_KEY_UNKNOWN;
}

#define TRANSFER_BODY "{\"to\": \"mallory\", \"amount\": 1000}"
#define SCRATCH_LEN   65536

aw_result aw_seed_authwire_transfer(aw_seed_authwire *w, const char *keyid, const aw_key *signer,
                                    int64_t now, aw_result *verdict)
{
    AW_ENSURE(w != NULL && keyid != NULL && signer != NULL && verdict != NULL, AW_E_INVALID_ARG);
    char digest[128], nonce[64], components[256], sig_input[1024], signature[256];
    uint8_t random[32];
    aw_writer dw, nw, cw, si, sg;
    aw_span body = AW_SPAN_LIT(TRANSFER_BODY);

    aw_writer_init(&dw, (uint8_t *)digest, sizeof(digest));
    AW_GUARD(aw_content_digest(body, AW_DIGEST_SHA256, &dw));
    AW_GUARD(aw_random(random, sizeof(random)));
    aw_writer_init(&nw, (uint8_t *)nonce, sizeof(nonce));
    aw_writer_base64url(&nw, random, sizeof(random));
    AW_GUARD(aw_writer_result(&nw));
    aw_writer_init(&cw, (uint8_t *)components, sizeof(components));
    aw_request_components(true, false, false, &cw);
    aw_writer_byte(&cw, 0); /* aw_sign_params takes a C string */
    AW_GUARD(aw_writer_result(&cw));

    aw_header headers[5] = {
        {AW_SPAN_LIT("Host"), AW_SPAN_LIT("bank.example")},
        {AW_SPAN_LIT("Content-Type"), AW_SPAN_LIT("application/json")},
        {AW_SPAN_LIT("Content-Digest"), aw_writer_span_of(&dw)},
    };
    aw_message msg = {.method = AW_SPAN_LIT("POST"),
                      .target = AW_SPAN_LIT("/api/transfer"),
                      .scheme = AW_SPAN_LIT("https"),
                      .authority = AW_SPAN_LIT("bank.example"),
                      .headers = headers,
                      .n_headers = 3,
                      .body = body};
    aw_sign_params params = {.label = AW_LABEL,
                             .components = components,
                             .has_created = true,
                             .created = now,
                             .nonce = aw_writer_span_of(&nw),
                             .keyid = aw_span_cstr(keyid),
                             .tag = AW_SPAN_LIT(AW_TAG_REQUEST),
                             .with_alg = true};
    uint8_t *scratch = malloc(SCRATCH_LEN);
    AW_ENSURE(scratch != NULL, AW_E_INTERNAL);
    aw_arena arena;
    aw_arena_init(&arena, scratch, SCRATCH_LEN);
    aw_writer_init(&si, (uint8_t *)sig_input, sizeof(sig_input));
    aw_writer_init(&sg, (uint8_t *)signature, sizeof(signature));
    aw_result r = aw_sign(&msg, NULL, signer, &params, &arena, &si, &sg, NULL);
    if (r == AW_OK) {
        /* What arrives at the gateway: the request with its signature. */
        headers[3] = (aw_header){AW_SPAN_LIT("Signature-Input"), aw_writer_span_of(&si)};
        headers[4] = (aw_header){AW_SPAN_LIT("Signature"), aw_writer_span_of(&sg)};
        msg.n_headers = 5;
        aw_policy policy;
        aw_policy_authwire_request(&policy);
        aw_verified v;
        aw_arena_init(&arena, scratch, SCRATCH_LEN);
        *verdict = aw_verify(&msg, NULL, &policy, now, lookup, w, &arena, &v);
    }
    free(scratch);
    return r;
}

/* ---- the insider attack --------------------------------------------------------------- */

static void say(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

#define SEED_TRANSFER "1000 to mallory"

/* The seed half: alice and mallory register (mallory's capture is alice's registration
 * frame), alice's genuine request must pass, then mallory forges one as alice. */
static aw_result seed_run(aw_seed_report *out)
{
    uint8_t shared[AW_SEED_KEY_LEN], nonce[AW_SEED_NONCE_LEN];
    uint8_t capture[AW_SEED_REG_MAX], reg[AW_SEED_REG_MAX], frame[AW_SEED_REQUEST_MAX];
    size_t capture_len = 0, reg_len = 0, frame_len = 0;
    aw_seed_server srv;
    aw_seed_user alice, mallory, forged;
    const int64_t now = AW_SEED_CLOCK;
    aw_result r, verdict = AW_E_INTERNAL;

    memset(&srv, 0, sizeof(srv));
    r = aw_random(shared, sizeof(shared));
    if (r == AW_OK) {
        aw_seed_server_init(&srv, shared);
        r = aw_random(nonce, sizeof(nonce));
    }
    if (r == AW_OK) { /* alice registers; her frame crosses the network in the clear */
        r = aw_seed_user_register(&alice, shared, AW_SEED_ALICE, nonce, capture, sizeof(capture),
                                  &capture_len);
    }
    if (r == AW_OK) {
        r = aw_seed_server_register(&srv, capture, capture_len);
    }
    if (r == AW_OK) {
        r = aw_random(nonce, sizeof(nonce));
    }
    if (r == AW_OK) { /* mallory registers too: she is a legitimate user and knows K */
        r = aw_seed_user_register(&mallory, shared, AW_SEED_MALLORY, nonce, reg, sizeof(reg),
                                  &reg_len);
    }
    if (r == AW_OK) {
        r = aw_seed_server_register(&srv, reg, reg_len);
    }
    if (r == AW_OK) { /* the control: a genuine request of alice's passes */
        static const char genuine[] = "10 to bob";
        r = aw_seed_request_write(&alice, now, "transfer", (const uint8_t *)genuine,
                                  sizeof(genuine) - 1, frame, sizeof(frame), &frame_len);
        if (r == AW_OK && aw_seed_server_accept(&srv, now, frame, frame_len, NULL) != AW_OK) {
            r = AW_E_INTERNAL;
        }
    }
    /* The attack: only what mallory has, her copy of K and the captured frame. */
    if (r == AW_OK) {
        memset(&forged, 0, sizeof(forged));
        r = aw_seed_registration_parse(capture, capture_len, forged.name, forged.nonce);
    }
    if (r == AW_OK) {
        r = aw_seed_derive_key(shared, forged.nonce, forged.key);
    }
    if (r == AW_OK) {
        r = aw_seed_request_write(&forged, now, "transfer", (const uint8_t *)SEED_TRANSFER,
                                  sizeof(SEED_TRANSFER) - 1, frame, sizeof(frame), &frame_len);
    }
    if (r == AW_OK) {
        verdict = aw_seed_server_accept(&srv, now, frame, frame_len, NULL);
        out->seed_forgery_accepted = verdict == AW_OK;
        if (verdict == AW_OK) {
            say(out->seed_detail, sizeof(out->seed_detail),
                "mallory read alice's nonce from her cleartext registration, computed her key "
                "HMAC-SHA-256(K, nonce) with the K every user holds, and forged "
                "\"transfer " SEED_TRANSFER "\" as alice: the seed server accepted it");
            out->seed_stopped_by[0] = '\0';
        } else {
            say(out->seed_detail, sizeof(out->seed_detail),
                "mallory's forged \"transfer " SEED_TRANSFER "\" as alice was refused: %s",
                aw_result_reason(verdict));
            say(out->seed_stopped_by, sizeof(out->seed_stopped_by), "%s", aw_result_name(verdict));
        }
    }
    aw_seed_server_wipe(&srv);
    aw_wipe(shared, sizeof(shared));
    aw_wipe(&alice, sizeof(alice));
    aw_wipe(&mallory, sizeof(mallory));
    aw_wipe(&forged, sizeof(forged));
    return r;
}

/* What mallory can compute from everything she holds: her key and token, alice's captured
 * frames and the public parts of the exchange. Each guess is a candidate for alice's key. */
typedef struct guess_input {
    const aw_seed_authwire *w;
    aw_span alice_id;                  /* read from alice's HELLO */
    uint8_t transcript[AW_SHA256_LEN]; /* SHA-256 of all alice's frames */
} guess_input;

typedef aw_result (*guess_fn)(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN]);

static aw_result hmac_of(const uint8_t *key, size_t key_len, aw_span data,
                         uint8_t out[AW_ENROLL_KEY_LEN])
{
    aw_hmac_key *k = NULL;
    AW_GUARD(aw_hmac_key_new(key, key_len, &k));
    aw_result r = aw_hmac_sha256(k, data.ptr, data.len, out);
    aw_hmac_key_free(k);
    return r;
}

#define USER_KEY_INFO "authwire/1 user key"

static aw_result guess_own_key(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    memcpy(out, g->w->mallory_key, AW_ENROLL_KEY_LEN);
    return AW_OK;
}

static aw_result guess_seed_rule_key(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    return hmac_of(g->w->mallory_key, AW_ENROLL_KEY_LEN, g->alice_id, out);
}

static aw_result guess_seed_rule_secret(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    return hmac_of(g->w->mallory_token.secret, AW_INVITE_SECRET_LEN, g->alice_id, out);
}

static aw_result guess_hello_mac(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    const aw_seed_frames *f = &g->w->alice_frames;
    return hmac_of(g->w->mallory_key, AW_ENROLL_KEY_LEN, (aw_span){f->hello, f->hello_len}, out);
}

static aw_result guess_psk_own_secret(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    return aw_enroll_invite_psk(g->alice_id.ptr, g->w->mallory_token.secret, out);
}

static aw_result guess_hkdf_key(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    return aw_hkdf_sha256(g->transcript, AW_SHA256_LEN, g->w->mallory_key, AW_ENROLL_KEY_LEN,
                          (const uint8_t *)USER_KEY_INFO, sizeof(USER_KEY_INFO) - 1, out,
                          AW_ENROLL_KEY_LEN);
}

static aw_result guess_hkdf_secret(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    return aw_hkdf_sha256(g->transcript, AW_SHA256_LEN, g->w->mallory_token.secret,
                          AW_INVITE_SECRET_LEN, (const uint8_t *)USER_KEY_INFO,
                          sizeof(USER_KEY_INFO) - 1, out, AW_ENROLL_KEY_LEN);
}

static aw_result guess_hkdf_public(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    const aw_seed_frames *f = &g->w->alice_frames;
    return aw_hkdf_sha256(g->alice_id.ptr, g->alice_id.len, f->key, f->key_len,
                          (const uint8_t *)USER_KEY_INFO, sizeof(USER_KEY_INFO) - 1, out,
                          AW_ENROLL_KEY_LEN);
}

static aw_result guess_transcript(const guess_input *g, uint8_t out[AW_ENROLL_KEY_LEN])
{
    memcpy(out, g->transcript, AW_ENROLL_KEY_LEN);
    return AW_OK;
}

static const guess_fn guesses[] = {
    guess_own_key,          /* the seed design's "key every user holds" */
    guess_seed_rule_key,    /* HMAC(her key, alice's invite id): the seed rule */
    guess_seed_rule_secret, /* HMAC(her token secret, alice's invite id) */
    guess_hello_mac,        /* HMAC(her key, alice's HELLO) */
    guess_psk_own_secret,   /* alice's invite PSK as if the secret were hers */
    guess_hkdf_key,         /* HKDF(SHA-256(alice's frames), her key, "authwire/1 user key") */
    guess_hkdf_secret,      /* the same with her token secret */
    guess_hkdf_public,      /* HKDF over public values only (invite id, server key) */
    guess_transcript,       /* SHA-256 of alice's whole enrollment */
};
#define N_GUESSES (sizeof(guesses) / sizeof(guesses[0]))

/* Notes a refusal reason once in reasons (a ", "-separated list). */
static void note_reason(char *reasons, size_t cap, aw_result why)
{
    const char *name = aw_result_name(why);
    if (strstr(reasons, name) != NULL) {
        return;
    }
    size_t len = strlen(reasons);
    snprintf(reasons + len, cap - len, "%s%s", len > 0 ? ", " : "", name);
}

/* Transcript hash of what mallory captured. */
static aw_result transcript_of(const aw_seed_frames *f, uint8_t out[AW_SHA256_LEN])
{
    uint8_t all[sizeof(f->key) + sizeof(f->hello) + sizeof(f->welcome) + sizeof(f->confirm) +
                sizeof(f->done)];
    aw_writer w;
    aw_writer_init(&w, all, sizeof(all));
    aw_writer_bytes(&w, f->key, f->key_len);
    aw_writer_bytes(&w, f->hello, f->hello_len);
    aw_writer_bytes(&w, f->welcome, f->welcome_len);
    aw_writer_bytes(&w, f->confirm, f->confirm_len);
    aw_writer_bytes(&w, f->done, f->done_len);
    AW_GUARD(aw_writer_result(&w));
    return aw_sha256(all, w.len, out);
}

/* One forged transfer as alice with signer: counts it and notes how it ended. */
static aw_result forge(aw_seed_authwire *w, const aw_key *signer, unsigned *accepted, char *reasons,
                       size_t cap)
{
    aw_result verdict = AW_E_INTERNAL;
    AW_GUARD(aw_seed_authwire_transfer(w, AW_SEED_ALICE, signer, AW_SEED_CLOCK, &verdict));
    if (verdict == AW_OK) {
        (*accepted)++;
    } else {
        note_reason(reasons, cap, verdict);
    }
    return AW_OK;
}

static aw_result authwire_run(aw_seed_report *out)
{
    aw_seed_authwire w;
    aw_enroll_frame hello;
    guess_input g;
    aw_key mine = {.alg = AW_ALG_HMAC_SHA256};
    aw_key ed = {.alg = AW_ALG_ED25519};
    aw_result verdict = AW_E_INTERNAL;
    uint8_t guess[AW_ENROLL_KEY_LEN];
    char reasons[128] = "";
    unsigned accepted = 0, tried = 0;
    const aw_seed_frames *f = &w.alice_frames;

    aw_result r = aw_seed_authwire_setup(&w, AW_SEED_CLOCK);
    /* The controls: a genuine request of alice's (signed with the server's copy of her key,
     * which is the one her client derived) passes, and so does mallory's own. */
    if (r == AW_OK) {
        r = aw_seed_authwire_transfer(&w, AW_SEED_ALICE, &w.server_keys[0], AW_SEED_CLOCK,
                                      &verdict);
        r = r == AW_OK && verdict != AW_OK ? AW_E_INTERNAL : r;
    }
    if (r == AW_OK) {
        r = aw_hmac_key_new(w.mallory_key, sizeof(w.mallory_key), &mine.hmac);
    }
    if (r == AW_OK) {
        r = aw_seed_authwire_transfer(&w, AW_SEED_MALLORY, &mine, AW_SEED_CLOCK, &verdict);
        r = r == AW_OK && verdict != AW_OK ? AW_E_INTERNAL : r;
    }
    /* The attack: every key mallory can compute, each signing the transfer as alice. */
    if (r == AW_OK) {
        r = aw_enroll_frame_parse(f->hello, f->hello_len, &hello);
    }
    if (r == AW_OK) {
        g.w = &w;
        g.alice_id = (aw_span){hello.id, AW_INVITE_ID_LEN};
        r = transcript_of(f, g.transcript);
    }
    for (size_t i = 0; r == AW_OK && i < N_GUESSES; i++) {
        aw_key k = {.alg = AW_ALG_HMAC_SHA256};
        r = guesses[i](&g, guess);
        if (r == AW_OK) {
            r = aw_hmac_key_new(guess, sizeof(guess), &k.hmac);
        }
        if (r == AW_OK) {
            r = forge(&w, &k, &accepted, reasons, sizeof(reasons));
            tried++;
        }
        aw_hmac_key_free(k.hmac);
    }
    /* And her own Ed25519 key, claiming alg="ed25519": the key decides the algorithm. */
    if (r == AW_OK) {
        r = aw_ed25519_generate(&ed.ed25519);
    }
    if (r == AW_OK) {
        r = forge(&w, &ed, &accepted, reasons, sizeof(reasons));
        tried++;
    }
    if (r == AW_OK) {
        out->authwire_forgery_accepted = accepted > 0;
        size_t captured = f->key_len + f->hello_len + f->welcome_len + f->confirm_len + f->done_len;
        say(out->authwire_detail, sizeof(out->authwire_detail),
            "mallory signed \"transfer 1000 to mallory\" as alice with %u keys (her own HMAC "
            "and Ed25519 keys, and %u derived from her key, her token and alice's captured "
            "enrollment, 5 frames, %zu bytes): %u accepted, %u refused (%s)",
            tried, tried - 2, captured, accepted, tried - accepted, reasons[0] ? reasons : "none");
        if (accepted == 0) {
            say(out->authwire_stopped_by, sizeof(out->authwire_stopped_by), "%s", reasons);
        } else {
            out->authwire_stopped_by[0] = '\0';
        }
    }
    aw_hmac_key_free(mine.hmac);
    aw_ed25519_free(ed.ed25519);
    aw_wipe(guess, sizeof(guess));
    aw_wipe(&g, sizeof(g));
    aw_seed_authwire_wipe(&w);
    return r;
}

aw_result aw_seed_insider_attack(aw_seed_report *out)
{
    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    AW_GUARD(seed_run(out));
    return authwire_run(out);
}

bool aw_seed_as_expected(const aw_seed_report *r)
{
    return r->seed_forgery_accepted && !r->authwire_forgery_accepted;
}

/* ---- the rows ------------------------------------------------------------------------- */

typedef struct seed_row {
    const char *id;
    const char *description;
    bool expect_success; /* the seed design is expected to fall */
    bool succeeded;
    const char *stopped_by;
    const char *detail;
} seed_row;

/* The threat-model line, as the catalogue quotes it (docs/THREAT_MODEL.md). */
#define SEED_THREAT "insider acting as another user"

static void rows_of(const aw_seed_report *r, seed_row rows[2])
{
    rows[0] = (seed_row){"seed-insider-forgery",
                         "seed design: a user derives another's key from the shared key and her "
                         "captured registration nonce, and signs as her",
                         true,
                         r->seed_forgery_accepted,
                         r->seed_stopped_by,
                         r->seed_detail};
    rows[1] = (seed_row){"authwire-insider-forgery",
                         "authwire: the same insider, with her own credentials and a capture of "
                         "the victim's enrollment, signs as the victim",
                         false,
                         r->authwire_forgery_accepted,
                         r->authwire_stopped_by,
                         r->authwire_detail};
}

void aw_seed_print(const aw_seed_report *r, FILE *out)
{
    seed_row rows[2];
    rows_of(r, rows);
    fprintf(out, "profile seed: %s\n", SEED_THREAT);
    for (size_t i = 0; i < 2; i++) {
        const seed_row *row = &rows[i];
        bool as_expected = row->succeeded == row->expect_success;
        fprintf(out, "  %-26s %-9s %s%s\n", row->id, row->succeeded ? "SUCCEEDED" : "BLOCKED",
                row->succeeded ? "" : "by ",
                row->succeeded ? "nothing stopped it" : row->stopped_by);
        fprintf(out, "      expected: %s%s\n", row->expect_success ? "succeeded" : "blocked",
                as_expected ? "" : "  <-- NOT AS EXPECTED");
        fprintf(out, "      %s\n", row->detail);
    }
}

void aw_seed_json_rows(const aw_seed_report *r, aw_json_writer *jw)
{
    seed_row rows[2];
    rows_of(r, rows);
    for (size_t i = 0; i < 2; i++) {
        const seed_row *row = &rows[i];
        aw_json_begin_object(jw);
        aw_json_key(jw, "id");
        aw_json_string(jw, row->id);
        aw_json_key(jw, "description");
        aw_json_string(jw, row->description);
        aw_json_key(jw, "threat");
        aw_json_string(jw, SEED_THREAT);
        aw_json_key(jw, "expected");
        aw_json_string(jw, row->expect_success ? "succeeded" : "blocked");
        aw_json_key(jw, "outcome");
        aw_json_string(jw, row->succeeded ? "succeeded" : "blocked");
        aw_json_key(jw, "as_expected");
        aw_json_bool(jw, row->succeeded == row->expect_success);
        aw_json_key(jw, "stopped_by");
        aw_json_string(jw, row->succeeded ? "" : row->stopped_by);
        aw_json_key(jw, "detail");
        aw_json_string(jw, row->detail);
        aw_json_end_object(jw);
    }
}

aw_result aw_seed_write_json(const aw_seed_report *r, FILE *out)
{
    uint8_t buf[4096];
    aw_writer w;
    aw_json_writer jw;
    aw_writer_init(&w, buf, sizeof(buf));
    aw_json_writer_init(&jw, &w, true);
    aw_json_begin_array(&jw);
    aw_seed_json_rows(r, &jw);
    aw_json_end_array(&jw);
    AW_GUARD(aw_json_writer_result(&jw));
    if (fwrite(buf, 1, w.len, out) != w.len || fputc('\n', out) == EOF) {
        return AW_E_IO;
    }
    return AW_OK;
}
