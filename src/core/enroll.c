/* Enrollment and rotation over Noise NKpsk0 (authwire/enroll.h; docs/PROTOCOL.md has the
 * byte layout). The step table below is the protocol: the order of the frames, who sends
 * each, and each frame's header and length bounds. frame_parse checks any frame against
 * its row, and both state machines advance through the rows in order, so a frame out of
 * order, of the wrong size or from the wrong side never reaches the cryptography. */
#include <string.h>

#include "authwire/bytes.h"
#include "authwire/enroll.h"

#define TOKEN_PREFIX     "AW1"
#define TOKEN_CHECK_LEN  4
#define TOKEN_BIN_LEN    (1 + AW_INVITE_ID_LEN + AW_INVITE_SECRET_LEN + AW_ENROLL_FP_LEN + 4)
#define TOKEN_BASE32_LEN ((TOKEN_BIN_LEN * 8 + 4) / 5)

#define LABEL_ENROLL     "authwire/1 enroll"
#define LABEL_ROTATE     "authwire/1 rotate"
#define LABEL_ENROLL_PSK "authwire/1 enroll psk"
#define LABEL_ROTATE_PSK "authwire/1 rotate psk"
#define LABEL_USER_KEY   "authwire/1 user key"
#define LABEL_POP        "authwire/1 enroll pop"

#define HEADER_LEN     2                                         /* version, type */
#define MSG1_LEN       (AW_X25519_PUBLIC_LEN + AW_NOISE_TAG_LEN) /* e, then the empty payload's tag */
#define PARAMS_FIXED   (1 + 1 + 1 + AW_ED25519_PUBLIC_LEN + 8 + 2)
#define CONFIRM_HMAC   1
#define CONFIRM_ED     (1 + AW_ED25519_PUBLIC_LEN + AW_ED25519_SIG_LEN)
#define DONE_PLAIN     (1 + 8)
#define DONE_COMMITTED 1

/* Wire codes of the parameters (stable; independent of the C enums). */
#define WIRE_ALG_HMAC    1
#define WIRE_ALG_ED25519 2

typedef struct step {
    aw_enroll_frame_type type;
    bool from_client;
    bool has_id, has_session, has_key;
    size_t min_len, max_len; /* of the whole frame */
} step;

/* The enrollment, in order. A state's `step` is the index of the next row. */
static const step steps[] = {
    {AW_ENROLL_KEY, false, false, false, true, HEADER_LEN + AW_X25519_PUBLIC_LEN,
     HEADER_LEN + AW_X25519_PUBLIC_LEN},
    {AW_ENROLL_HELLO, true, true, false, false, HEADER_LEN + AW_INVITE_ID_LEN + MSG1_LEN,
     HEADER_LEN + AW_INVITE_ID_LEN + MSG1_LEN},
    {AW_ENROLL_WELCOME, false, false, false, false,
     HEADER_LEN + AW_X25519_PUBLIC_LEN + AW_ENROLL_SESSION_LEN + PARAMS_FIXED + 1 +
         AW_NOISE_TAG_LEN,
     AW_ENROLL_FRAME_MAX},
    {AW_ENROLL_CONFIRM, true, true, true, false,
     HEADER_LEN + AW_INVITE_ID_LEN + AW_ENROLL_SESSION_LEN + CONFIRM_HMAC + AW_NOISE_TAG_LEN,
     HEADER_LEN + AW_INVITE_ID_LEN + AW_ENROLL_SESSION_LEN + CONFIRM_ED + AW_NOISE_TAG_LEN},
    {AW_ENROLL_DONE, false, false, true, false,
     HEADER_LEN + AW_ENROLL_SESSION_LEN + DONE_PLAIN + AW_NOISE_TAG_LEN,
     HEADER_LEN + AW_ENROLL_SESSION_LEN + DONE_PLAIN + AW_NOISE_TAG_LEN},
};
#define STEPS       ((int)(sizeof(steps) / sizeof(steps[0])))
#define STEP_FAILED (-1)

static const step *step_of(aw_enroll_frame_type type)
{
    for (int i = 0; i < STEPS; i++) {
        if (steps[i].type == type) {
            return &steps[i];
        }
    }
    return NULL;
}

/* ---- the token ---------------------------------------------------------------------- */

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int base32_value(char ch)
{
    if (ch >= 'a' && ch <= 'z') {
        ch = (char)(ch - 'a' + 'A');
    }
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= '2' && ch <= '7') {
        return ch - '2' + 26;
    }
    return -1;
}

static aw_result token_check(const uint8_t *bin, uint8_t check[TOKEN_CHECK_LEN])
{
    uint8_t digest[AW_SHA256_LEN];
    AW_GUARD(aw_sha256(bin, TOKEN_BIN_LEN - TOKEN_CHECK_LEN, digest));
    memcpy(check, digest, TOKEN_CHECK_LEN);
    return AW_OK;
}

aw_result aw_enroll_token_encode(const aw_enroll_token *t, char out[AW_ENROLL_TOKEN_TEXT])
{
    uint8_t bin[TOKEN_BIN_LEN];
    uint8_t *p = bin;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    aw_result r;

    AW_ENSURE(t != NULL && out != NULL, AW_E_INVALID_ARG);
    *p++ = AW_ENROLL_VERSION;
    memcpy(p, t->invite_id, AW_INVITE_ID_LEN);
    p += AW_INVITE_ID_LEN;
    memcpy(p, t->secret, AW_INVITE_SECRET_LEN);
    p += AW_INVITE_SECRET_LEN;
    memcpy(p, t->fingerprint, AW_ENROLL_FP_LEN);
    p += AW_ENROLL_FP_LEN;
    r = token_check(bin, p);
    if (r == AW_OK) {
        memcpy(out, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
        n = sizeof(TOKEN_PREFIX) - 1;
        for (size_t i = 0; i < TOKEN_BIN_LEN; i++) {
            acc = (acc << 8) | bin[i];
            bits += 8;
            while (bits >= 5) {
                out[n++] = base32_alphabet[(acc >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        if (bits > 0) {
            out[n++] = base32_alphabet[(acc << (5 - bits)) & 31];
        }
        out[n] = '\0';
    }
    aw_wipe(bin, sizeof(bin));
    acc = 0;
    return r;
}

aw_result aw_enroll_token_decode(const char *text, size_t len, aw_enroll_token *out)
{
    uint8_t bin[TOKEN_BIN_LEN];
    uint8_t check[TOKEN_CHECK_LEN];
    size_t prefix = 0, got = 0, chars = 0;
    uint32_t acc = 0;
    int bits = 0;
    aw_result r = AW_E_TOKEN_INVALID;

    AW_ENSURE(text != NULL && out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == ' ' || ch == '-' || ch == '\n' || ch == '\r' || ch == '\t') {
            continue;
        }
        if (prefix < sizeof(TOKEN_PREFIX) - 1) {
            char upper = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
            if (upper != TOKEN_PREFIX[prefix++]) {
                goto done;
            }
            continue;
        }
        int v = base32_value(ch);
        if (v < 0 || chars == TOKEN_BASE32_LEN) {
            goto done;
        }
        chars++;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bin[got++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    /* Every character is needed and the padding bits of the last one must be zero. */
    if (chars != TOKEN_BASE32_LEN || got != TOKEN_BIN_LEN ||
        (bits > 0 && (acc & ((1u << bits) - 1)) != 0) || bin[0] != AW_ENROLL_VERSION) {
        goto done;
    }
    if (token_check(bin, check) != AW_OK) {
        r = AW_E_CRYPTO;
        goto done;
    }
    if (!aw_ct_equal(check, bin + TOKEN_BIN_LEN - TOKEN_CHECK_LEN, TOKEN_CHECK_LEN)) {
        goto done;
    }
    memcpy(out->invite_id, bin + 1, AW_INVITE_ID_LEN);
    memcpy(out->secret, bin + 1 + AW_INVITE_ID_LEN, AW_INVITE_SECRET_LEN);
    memcpy(out->fingerprint, bin + 1 + AW_INVITE_ID_LEN + AW_INVITE_SECRET_LEN, AW_ENROLL_FP_LEN);
    r = AW_OK;
done:
    aw_wipe(bin, sizeof(bin));
    acc = 0;
    return r;
}

aw_result aw_enroll_fingerprint(const uint8_t pub[AW_X25519_PUBLIC_LEN],
                                uint8_t out[AW_ENROLL_FP_LEN])
{
    AW_ENSURE(pub != NULL && out != NULL, AW_E_INVALID_ARG);
    return aw_sha256(pub, AW_X25519_PUBLIC_LEN, out);
}

aw_result aw_enroll_invite_psk(const uint8_t id[AW_INVITE_ID_LEN],
                               const uint8_t secret[AW_INVITE_SECRET_LEN],
                               uint8_t psk[AW_ENROLL_KEY_LEN])
{
    AW_ENSURE(id != NULL && secret != NULL && psk != NULL, AW_E_INVALID_ARG);
    return aw_hkdf_sha256(id, AW_INVITE_ID_LEN, secret, AW_INVITE_SECRET_LEN,
                          (const uint8_t *)LABEL_ENROLL_PSK, sizeof(LABEL_ENROLL_PSK) - 1, psk,
                          AW_ENROLL_KEY_LEN);
}

static bool name_valid(const char *name, size_t len)
{
    if (len == 0 || len > AW_ENROLL_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-'))) {
            return false;
        }
    }
    return true;
}

aw_result aw_enroll_rotate_psk(const char *name, const uint8_t *key, size_t key_len,
                               uint8_t psk[AW_ENROLL_KEY_LEN])
{
    AW_ENSURE(name != NULL && key != NULL && key_len > 0 && psk != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(name_valid(name, strlen(name)), AW_E_INVALID_ARG);
    return aw_hkdf_sha256((const uint8_t *)name, strlen(name), key, key_len,
                          (const uint8_t *)LABEL_ROTATE_PSK, sizeof(LABEL_ROTATE_PSK) - 1, psk,
                          AW_ENROLL_KEY_LEN);
}

/* ---- frames and payloads -------------------------------------------------------------- */

aw_result aw_enroll_frame_parse(const uint8_t *in, size_t len, aw_enroll_frame *out)
{
    const step *st;
    size_t at = HEADER_LEN;

    AW_ENSURE(out != NULL && (in != NULL || len == 0), AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    if (len < HEADER_LEN || in[0] != AW_ENROLL_VERSION) {
        return AW_E_MALFORMED;
    }
    st = step_of((aw_enroll_frame_type)in[1]);
    if (st == NULL || len < st->min_len) {
        return AW_E_MALFORMED;
    }
    if (len > st->max_len) {
        return AW_E_TOO_LARGE;
    }
    out->type = st->type;
    if (st->has_key) {
        out->key = in + at;
        at += AW_X25519_PUBLIC_LEN;
    }
    if (st->has_id) {
        out->id = in + at;
        at += AW_INVITE_ID_LEN;
    }
    if (st->has_session) {
        out->session = in + at;
        at += AW_ENROLL_SESSION_LEN;
    }
    out->body = in + at;
    out->body_len = len - at;
    return AW_OK;
}

static uint8_t wire_alg(aw_alg alg)
{
    return alg == AW_ALG_ED25519 ? WIRE_ALG_ED25519 : WIRE_ALG_HMAC;
}

static aw_alg alg_of_wire(int v)
{
    return v == WIRE_ALG_HMAC      ? AW_ALG_HMAC_SHA256
           : v == WIRE_ALG_ED25519 ? AW_ALG_ED25519
                                   : AW_ALG_NONE;
}

static void put_u64(aw_writer *w, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        aw_writer_byte(w, (uint8_t)(v >> (8 * i)));
    }
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static aw_result params_write(const aw_enroll_params *p, aw_writer *w)
{
    size_t name_len = strlen(p->name);
    AW_ENSURE(name_valid(p->name, name_len), AW_E_INVALID_ARG);
    AW_ENSURE(p->alg == AW_ALG_HMAC_SHA256 || p->alg == AW_ALG_ED25519, AW_E_INVALID_ARG);
    AW_ENSURE(aw_fresh_mode_name(p->mode) != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(p->ca_pem_len <= AW_ENROLL_CA_MAX && (p->ca_pem != NULL || p->ca_pem_len == 0),
              AW_E_INVALID_ARG);
    aw_writer_byte(w, (uint8_t)name_len);
    aw_writer_bytes(w, p->name, name_len);
    aw_writer_byte(w, wire_alg(p->alg));
    aw_writer_byte(w, (uint8_t)(p->mode + 1));
    aw_writer_bytes(w, p->server_public_key, AW_ED25519_PUBLIC_LEN);
    put_u64(w, (uint64_t)p->server_time);
    aw_writer_byte(w, (uint8_t)(p->ca_pem_len >> 8));
    aw_writer_byte(w, (uint8_t)p->ca_pem_len);
    aw_writer_bytes(w, p->ca_pem, p->ca_pem_len);
    return aw_writer_result(w);
}

aw_result aw_enroll_params_parse(const uint8_t *in, size_t len, aw_enroll_params *out)
{
    size_t name_len, ca_len, at;

    AW_ENSURE(out != NULL && (in != NULL || len == 0), AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    if (len < 1) {
        return AW_E_MALFORMED;
    }
    name_len = in[0];
    if (len < PARAMS_FIXED + name_len || !name_valid((const char *)in + 1, name_len)) {
        return AW_E_MALFORMED;
    }
    memcpy(out->name, in + 1, name_len);
    out->name[name_len] = '\0';
    at = 1 + name_len;
    out->alg = alg_of_wire(in[at++]);
    int mode = in[at++] - 1;
    if (out->alg == AW_ALG_NONE || mode < 0 || aw_fresh_mode_name((aw_fresh_mode)mode) == NULL) {
        return AW_E_MALFORMED;
    }
    out->mode = (aw_fresh_mode)mode;
    memcpy(out->server_public_key, in + at, AW_ED25519_PUBLIC_LEN);
    at += AW_ED25519_PUBLIC_LEN;
    out->server_time = (int64_t)get_u64(in + at);
    at += 8;
    ca_len = ((size_t)in[at] << 8) | in[at + 1];
    at += 2;
    if (ca_len > AW_ENROLL_CA_MAX || len - at != ca_len) {
        return AW_E_MALFORMED;
    }
    out->ca_pem = ca_len > 0 ? in + at : NULL;
    out->ca_pem_len = ca_len;
    return AW_OK;
}

aw_result aw_enroll_confirmation_parse(const uint8_t *in, size_t len, aw_enroll_confirmation *out)
{
    AW_ENSURE(out != NULL && (in != NULL || len == 0), AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    if (len < 1) {
        return AW_E_MALFORMED;
    }
    out->alg = alg_of_wire(in[0]);
    if (out->alg == AW_ALG_HMAC_SHA256 && len == CONFIRM_HMAC) {
        return AW_OK;
    }
    if (out->alg == AW_ALG_ED25519 && len == CONFIRM_ED) {
        memcpy(out->ed25519_public, in + 1, AW_ED25519_PUBLIC_LEN);
        memcpy(out->ed25519_signature, in + 1 + AW_ED25519_PUBLIC_LEN, AW_ED25519_SIG_LEN);
        return AW_OK;
    }
    memset(out, 0, sizeof(*out));
    return AW_E_MALFORMED;
}

/* ---- the shared key schedule ---------------------------------------------------------- */

/* The prologue binds the handshake to its purpose and to the invite (or the user). */
static aw_result prologue_of(bool rotation, const uint8_t id[AW_INVITE_ID_LEN], const char *name,
                             uint8_t *out, size_t cap, size_t *out_len)
{
    aw_writer w;
    aw_writer_init(&w, out, cap);
    if (rotation) {
        aw_writer_cstr(&w, LABEL_ROTATE);
        aw_writer_cstr(&w, name);
    } else {
        aw_writer_cstr(&w, LABEL_ENROLL);
        aw_writer_bytes(&w, id, AW_INVITE_ID_LEN);
    }
    *out_len = w.len;
    return aw_writer_result(&w);
}

/* After message 2: the transport keys, the handshake hash and the user key. */
static aw_result finish_handshake(aw_noise_handshake *hs, aw_noise_cipher *send,
                                  aw_noise_cipher *recv, uint8_t h[AW_NOISE_HASH_LEN],
                                  uint8_t user_key[AW_ENROLL_KEY_LEN])
{
    uint8_t k3[AW_NOISE_HASH_LEN];
    aw_result r = aw_noise_handshake_hash(hs, h);
    if (r == AW_OK) {
        r = aw_noise_split_export(hs, send, recv, k3);
    }
    if (r == AW_OK) {
        r = aw_hkdf_sha256(h, AW_NOISE_HASH_LEN, k3, sizeof(k3), (const uint8_t *)LABEL_USER_KEY,
                           sizeof(LABEL_USER_KEY) - 1, user_key, AW_ENROLL_KEY_LEN);
    }
    aw_wipe(k3, sizeof(k3));
    return r;
}

/* A verification failure of a handshake or transport message, whichever key or byte was
 * wrong, is one outcome. */
static aw_result handshake_result(aw_result r)
{
    return r == AW_E_SIGNATURE_INVALID ? AW_E_HANDSHAKE : r;
}

static aw_result frame_expect(const uint8_t *in, size_t len, aw_enroll_frame_type type,
                              aw_enroll_frame *f)
{
    AW_GUARD(aw_enroll_frame_parse(in, len, f));
    return f->type == type ? AW_OK : AW_E_MALFORMED;
}

/* ---- client --------------------------------------------------------------------------- */

static aw_result client_fail(aw_enroll_client *c, aw_result r)
{
    aw_enroll_client_wipe(c);
    c->step = STEP_FAILED;
    return r;
}

/* The client may act only when the table's next row is the given frame. */
static bool client_at(const aw_enroll_client *c, aw_enroll_frame_type type)
{
    return c != NULL && c->step >= 0 && c->step < STEPS && steps[c->step].type == type;
}

aw_result aw_enroll_client_init(aw_enroll_client *c, const aw_enroll_token *t)
{
    AW_ENSURE(c != NULL && t != NULL, AW_E_INVALID_ARG);
    memset(c, 0, sizeof(*c));
    memcpy(c->id, t->invite_id, AW_INVITE_ID_LEN);
    memcpy(c->fingerprint, t->fingerprint, AW_ENROLL_FP_LEN);
    aw_result r = aw_enroll_invite_psk(t->invite_id, t->secret, c->psk);
    return r == AW_OK ? AW_OK : client_fail(c, r);
}

aw_result aw_enroll_client_init_rotation(aw_enroll_client *c, const char *name, const uint8_t *key,
                                         size_t key_len,
                                         const uint8_t fingerprint[AW_ENROLL_FP_LEN])
{
    AW_ENSURE(c != NULL && name != NULL && fingerprint != NULL, AW_E_INVALID_ARG);
    memset(c, 0, sizeof(*c));
    AW_ENSURE(name_valid(name, strlen(name)), AW_E_INVALID_ARG);
    c->rotation = true;
    memcpy(c->name, name, strlen(name) + 1);
    memcpy(c->fingerprint, fingerprint, AW_ENROLL_FP_LEN);
    aw_result r = aw_enroll_rotate_psk(name, key, key_len, c->psk);
    return r == AW_OK ? AW_OK : client_fail(c, r);
}

aw_result aw_enroll_client_hello(aw_enroll_client *c, const uint8_t *key_frame, size_t key_len,
                                 const uint8_t e[AW_X25519_PRIVATE_LEN], uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    aw_enroll_frame f;
    uint8_t fp[AW_ENROLL_FP_LEN];
    uint8_t prologue[sizeof(LABEL_ROTATE) + AW_ENROLL_NAME_MAX];
    size_t prologue_len = 0, msg_len = 0;
    aw_noise_keys keys;
    aw_result r;

    AW_ENSURE(client_at(c, AW_ENROLL_KEY) && e != NULL && out != NULL && out_len != NULL,
              AW_E_INVALID_ARG);
    AW_ENSURE(cap >= steps[1].max_len, AW_E_BUFFER_TOO_SMALL);
    r = frame_expect(key_frame, key_len, AW_ENROLL_KEY, &f);
    if (r != AW_OK) {
        return client_fail(c, r);
    }
    /* The pin is checked before anything is sent: a substituted server key ends here. */
    r = aw_enroll_fingerprint(f.key, fp);
    if (r == AW_OK && !aw_ct_equal(fp, c->fingerprint, AW_ENROLL_FP_LEN)) {
        r = AW_E_SERVER_KEY_MISMATCH;
    }
    if (r == AW_OK) {
        r = prologue_of(c->rotation, c->id, c->name, prologue, sizeof(prologue), &prologue_len);
    }
    if (r != AW_OK) {
        return client_fail(c, r);
    }
    memset(&keys, 0, sizeof(keys));
    memcpy(keys.e, e, AW_X25519_PRIVATE_LEN);
    keys.has_e = true;
    memcpy(keys.rs, f.key, AW_X25519_PUBLIC_LEN);
    keys.has_rs = true;
    memcpy(keys.psk, c->psk, AW_ENROLL_KEY_LEN);
    keys.has_psk = true;
    r = aw_noise_handshake_init(&c->hs, AW_NOISE_NKPSK0, AW_NOISE_INITIATOR, prologue, prologue_len,
                                &keys);
    aw_wipe(&keys, sizeof(keys));
    if (r == AW_OK) {
        out[0] = AW_ENROLL_VERSION;
        out[1] = AW_ENROLL_HELLO;
        memcpy(out + HEADER_LEN, c->id, AW_INVITE_ID_LEN);
        r = aw_noise_write_message(&c->hs, NULL, 0, out + HEADER_LEN + AW_INVITE_ID_LEN,
                                   cap - HEADER_LEN - AW_INVITE_ID_LEN, &msg_len);
    }
    if (r != AW_OK) {
        return client_fail(c, r);
    }
    *out_len = HEADER_LEN + AW_INVITE_ID_LEN + msg_len;
    c->step = 2; /* past KEY and HELLO */
    return AW_OK;
}

aw_result aw_enroll_client_welcome(aw_enroll_client *c, const uint8_t *in, size_t len)
{
    aw_enroll_frame f;
    uint8_t plain[AW_ENROLL_FRAME_MAX];
    size_t plain_len = 0;
    aw_enroll_params p;
    aw_result r;

    AW_ENSURE(client_at(c, AW_ENROLL_WELCOME), AW_E_INVALID_ARG);
    r = frame_expect(in, len, AW_ENROLL_WELCOME, &f);
    if (r == AW_OK) {
        r = handshake_result(
            aw_noise_read_message(&c->hs, f.body, f.body_len, plain, sizeof(plain), &plain_len));
    }
    /* The session id travels inside the encrypted payload, so a relay cannot redirect it. */
    if (r == AW_OK) {
        r = plain_len > AW_ENROLL_SESSION_LEN
                ? aw_enroll_params_parse(plain + AW_ENROLL_SESSION_LEN,
                                         plain_len - AW_ENROLL_SESSION_LEN, &p)
                : AW_E_MALFORMED;
    }
    if (r == AW_OK && c->rotation && strcmp(p.name, c->name) != 0) {
        r = AW_E_HANDSHAKE; /* the server answered for another user */
    }
    if (r == AW_OK) {
        r = finish_handshake(&c->hs, &c->send, &c->recv, c->h, c->user_key);
    }
    if (r != AW_OK) {
        aw_wipe(plain, sizeof(plain));
        return client_fail(c, r);
    }
    memcpy(c->session, plain, AW_ENROLL_SESSION_LEN);
    if (p.ca_pem_len > 0) {
        memcpy(c->ca, p.ca_pem, p.ca_pem_len);
    }
    c->params = p;
    c->params.ca_pem = p.ca_pem_len > 0 ? c->ca : NULL;
    c->step = 3;
    aw_wipe(plain, sizeof(plain));
    return AW_OK;
}

/* The proof of possession signs the label and the handshake hash. */
static void pop_message(const uint8_t h[AW_NOISE_HASH_LEN], uint8_t *out)
{
    memcpy(out, LABEL_POP, sizeof(LABEL_POP) - 1);
    memcpy(out + sizeof(LABEL_POP) - 1, h, AW_NOISE_HASH_LEN);
}
#define POP_LEN (sizeof(LABEL_POP) - 1 + AW_NOISE_HASH_LEN)

aw_result aw_enroll_client_confirm(aw_enroll_client *c, aw_ed25519_key *user_key, uint8_t *out,
                                   size_t cap, size_t *out_len)
{
    uint8_t plain[CONFIRM_ED];
    size_t plain_len = 1, ct_len = 0;
    size_t head = HEADER_LEN + AW_INVITE_ID_LEN + AW_ENROLL_SESSION_LEN;
    aw_result r = AW_OK;

    AW_ENSURE(client_at(c, AW_ENROLL_CONFIRM) && out != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE((c->params.alg == AW_ALG_ED25519) == (user_key != NULL), AW_E_INVALID_ARG);
    AW_ENSURE(cap >= steps[3].max_len, AW_E_BUFFER_TOO_SMALL);
    plain[0] = wire_alg(c->params.alg);
    if (user_key != NULL) {
        uint8_t msg[POP_LEN];
        pop_message(c->h, msg);
        r = aw_ed25519_public(user_key, plain + 1);
        if (r == AW_OK) {
            r = aw_ed25519_sign(user_key, msg, sizeof(msg), plain + 1 + AW_ED25519_PUBLIC_LEN);
        }
        plain_len = CONFIRM_ED;
    }
    if (r == AW_OK) {
        out[0] = AW_ENROLL_VERSION;
        out[1] = AW_ENROLL_CONFIRM;
        memcpy(out + HEADER_LEN, c->id, AW_INVITE_ID_LEN);
        memcpy(out + HEADER_LEN + AW_INVITE_ID_LEN, c->session, AW_ENROLL_SESSION_LEN);
        r = aw_noise_encrypt(&c->send, c->h, sizeof(c->h), plain, plain_len, out + head, cap - head,
                             &ct_len);
    }
    if (r != AW_OK) {
        return client_fail(c, r);
    }
    *out_len = head + ct_len;
    c->step = 4;
    return AW_OK;
}

aw_result aw_enroll_client_done(aw_enroll_client *c, const uint8_t *in, size_t len)
{
    aw_enroll_frame f;
    uint8_t plain[DONE_PLAIN];
    size_t plain_len = 0;
    aw_result r;

    AW_ENSURE(client_at(c, AW_ENROLL_DONE), AW_E_INVALID_ARG);
    r = frame_expect(in, len, AW_ENROLL_DONE, &f);
    if (r == AW_OK && memcmp(f.session, c->session, AW_ENROLL_SESSION_LEN) != 0) {
        r = AW_E_HANDSHAKE;
    }
    if (r == AW_OK) {
        r = handshake_result(aw_noise_decrypt(&c->recv, c->h, sizeof(c->h), f.body, f.body_len,
                                              plain, sizeof(plain), &plain_len));
    }
    if (r == AW_OK && (plain_len != DONE_PLAIN || plain[0] != DONE_COMMITTED)) {
        r = AW_E_MALFORMED;
    }
    if (r != AW_OK) {
        return client_fail(c, r);
    }
    c->created_at = (int64_t)get_u64(plain + 1);
    c->step = STEPS;
    return AW_OK;
}

aw_result aw_enroll_client_user_key(const aw_enroll_client *c, uint8_t out[AW_ENROLL_KEY_LEN])
{
    AW_ENSURE(c != NULL && out != NULL && c->step > 2, AW_E_INVALID_ARG);
    memcpy(out, c->user_key, AW_ENROLL_KEY_LEN);
    return AW_OK;
}

void aw_enroll_client_wipe(aw_enroll_client *c)
{
    if (c != NULL) {
        aw_noise_handshake_wipe(&c->hs);
        aw_wipe(c, sizeof(*c));
    }
}

/* ---- server --------------------------------------------------------------------------- */

static aw_result server_fail(aw_enroll_server *srv, aw_result r)
{
    aw_enroll_server_wipe(srv);
    srv->step = STEP_FAILED;
    return r;
}

aw_result aw_enroll_key_frame(const uint8_t pub[AW_X25519_PUBLIC_LEN], uint8_t *out, size_t cap,
                              size_t *out_len)
{
    AW_ENSURE(pub != NULL && out != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(cap >= steps[0].max_len, AW_E_BUFFER_TOO_SMALL);
    out[0] = AW_ENROLL_VERSION;
    out[1] = AW_ENROLL_KEY;
    memcpy(out + HEADER_LEN, pub, AW_X25519_PUBLIC_LEN);
    *out_len = HEADER_LEN + AW_X25519_PUBLIC_LEN;
    return AW_OK;
}

aw_result aw_enroll_server_welcome(aw_enroll_server *srv, const aw_enroll_frame *hello,
                                   const aw_enroll_server_keys *keys,
                                   const uint8_t session[AW_ENROLL_SESSION_LEN],
                                   const aw_enroll_params *params, uint8_t *out, size_t cap,
                                   size_t *out_len)
{
    aw_noise_handshake hs;
    aw_noise_keys nk;
    uint8_t prologue[sizeof(LABEL_ROTATE) + AW_ENROLL_NAME_MAX];
    uint8_t plain[AW_ENROLL_FRAME_MAX];
    size_t prologue_len = 0, payload_len = 0, msg_len = 0;
    size_t head = HEADER_LEN;
    aw_writer w;
    aw_result r;

    AW_ENSURE(srv != NULL && hello != NULL && hello->type == AW_ENROLL_HELLO && keys != NULL &&
                  keys->s != NULL && keys->e != NULL && keys->psk != NULL && session != NULL &&
                  params != NULL && out != NULL && out_len != NULL,
              AW_E_INVALID_ARG);
    memset(srv, 0, sizeof(*srv));
    memset(&hs, 0, sizeof(hs));
    r = prologue_of(keys->rotation_name != NULL, hello->id, keys->rotation_name, prologue,
                    sizeof(prologue), &prologue_len);
    if (r != AW_OK) {
        return server_fail(srv, AW_E_INVALID_ARG);
    }
    memset(&nk, 0, sizeof(nk));
    memcpy(nk.s, keys->s, AW_X25519_PRIVATE_LEN);
    nk.has_s = true;
    memcpy(nk.e, keys->e, AW_X25519_PRIVATE_LEN);
    nk.has_e = true;
    memcpy(nk.psk, keys->psk, AW_ENROLL_KEY_LEN);
    nk.has_psk = true;
    r = aw_noise_handshake_init(&hs, AW_NOISE_NKPSK0, AW_NOISE_RESPONDER, prologue, prologue_len,
                                &nk);
    aw_wipe(&nk, sizeof(nk));
    if (r == AW_OK) {
        r = handshake_result(
            aw_noise_read_message(&hs, hello->body, hello->body_len, NULL, 0, &payload_len));
    }
    if (r == AW_OK) {
        aw_writer_init(&w, plain, sizeof(plain));
        aw_writer_bytes(&w, session, AW_ENROLL_SESSION_LEN);
        r = params_write(params, &w);
        payload_len = w.len;
    }
    if (r == AW_OK) {
        out[0] = AW_ENROLL_VERSION;
        out[1] = AW_ENROLL_WELCOME;
        r = cap >= head ? AW_OK : AW_E_BUFFER_TOO_SMALL;
    }
    if (r == AW_OK) {
        r = aw_noise_write_message(&hs, plain, payload_len, out + head, cap - head, &msg_len);
    }
    if (r == AW_OK) {
        r = finish_handshake(&hs, &srv->send, &srv->recv, srv->h, srv->user_key);
    }
    aw_noise_handshake_wipe(&hs);
    aw_wipe(plain, sizeof(plain));
    if (r != AW_OK) {
        return server_fail(srv, r);
    }
    memcpy(srv->id, hello->id, AW_INVITE_ID_LEN);
    memcpy(srv->session, session, AW_ENROLL_SESSION_LEN);
    srv->alg = params->alg;
    srv->step = 3; /* CONFIRM is next */
    *out_len = head + msg_len;
    return AW_OK;
}

static aw_result check_possession(const aw_enroll_confirmation *conf,
                                  const uint8_t h[AW_NOISE_HASH_LEN])
{
    aw_ed25519_key *key = NULL;
    uint8_t msg[POP_LEN];
    aw_result r = aw_ed25519_from_public(conf->ed25519_public, &key);
    if (r == AW_OK) {
        pop_message(h, msg);
        r = aw_ed25519_verify(key, msg, sizeof(msg), conf->ed25519_signature, AW_ED25519_SIG_LEN);
    }
    aw_ed25519_free(key);
    return r == AW_E_SIGNATURE_INVALID || r == AW_E_KEY_INVALID ? AW_E_HANDSHAKE : r;
}

aw_result aw_enroll_server_confirm(aw_enroll_server *srv, const aw_enroll_frame *confirm,
                                   aw_enroll_confirmation *conf, int64_t created_at, uint8_t *out,
                                   size_t cap, size_t *out_len)
{
    uint8_t plain[CONFIRM_ED];
    uint8_t done[DONE_PLAIN];
    size_t plain_len = 0, ct_len = 0;
    size_t head = HEADER_LEN + AW_ENROLL_SESSION_LEN;
    aw_writer w;
    aw_result r;

    AW_ENSURE(srv != NULL && srv->step == 3 && confirm != NULL &&
                  confirm->type == AW_ENROLL_CONFIRM && conf != NULL && out != NULL &&
                  out_len != NULL,
              AW_E_INVALID_ARG);
    AW_ENSURE(cap >= steps[4].max_len, AW_E_BUFFER_TOO_SMALL);
    memset(conf, 0, sizeof(*conf));
    r = memcmp(confirm->session, srv->session, AW_ENROLL_SESSION_LEN) == 0 &&
                memcmp(confirm->id, srv->id, AW_INVITE_ID_LEN) == 0
            ? AW_OK
            : AW_E_HANDSHAKE;
    if (r == AW_OK) {
        r = handshake_result(aw_noise_decrypt(&srv->recv, srv->h, sizeof(srv->h), confirm->body,
                                              confirm->body_len, plain, sizeof(plain), &plain_len));
    }
    if (r == AW_OK) {
        r = aw_enroll_confirmation_parse(plain, plain_len, conf);
    }
    if (r == AW_OK && conf->alg != srv->alg) {
        r = AW_E_ALG_MISMATCH;
    }
    if (r == AW_OK && conf->alg == AW_ALG_ED25519) {
        r = check_possession(conf, srv->h);
    }
    if (r == AW_OK) {
        aw_writer_init(&w, done, sizeof(done));
        aw_writer_byte(&w, DONE_COMMITTED);
        put_u64(&w, (uint64_t)created_at);
        out[0] = AW_ENROLL_VERSION;
        out[1] = AW_ENROLL_DONE;
        memcpy(out + HEADER_LEN, srv->session, AW_ENROLL_SESSION_LEN);
        r = aw_noise_encrypt(&srv->send, srv->h, sizeof(srv->h), done, sizeof(done), out + head,
                             cap - head, &ct_len);
    }
    aw_wipe(plain, sizeof(plain));
    if (r != AW_OK) {
        memset(conf, 0, sizeof(*conf));
        return server_fail(srv, r);
    }
    srv->step = STEPS;
    *out_len = head + ct_len;
    return AW_OK;
}

aw_result aw_enroll_server_user_key(const aw_enroll_server *srv, uint8_t out[AW_ENROLL_KEY_LEN])
{
    AW_ENSURE(srv != NULL && out != NULL && srv->step >= 3, AW_E_INVALID_ARG);
    memcpy(out, srv->user_key, AW_ENROLL_KEY_LEN);
    return AW_OK;
}

void aw_enroll_server_wipe(aw_enroll_server *srv)
{
    if (srv != NULL) {
        aw_wipe(srv, sizeof(*srv));
    }
}
