/* The Noise handshake (revision 34) for suite 25519_ChaChaPoly_SHA256, sans-I/O.
 *
 * Each pattern is a row of a table: its name, its pre-messages and, per handshake message,
 * the tokens in order. write_message and read_message walk the tokens of the next message
 * and do what Section 5.3 says for each; the PSK rule of Section 9.2 (every "e" also runs
 * MixKey(e.pub)) applies to every pattern with a psk token. Section numbers below are the
 * spec's. */
#include <string.h>

#include "authwire/crypto.h"
#include "authwire/noise.h"

typedef enum token {
    TOK_END = 0, /* ends a message's token list */
    TOK_E,
    TOK_S,
    TOK_EE,
    TOK_ES,
    TOK_SE,
    TOK_SS,
    TOK_PSK,
} token;

struct aw_noise_pattern {
    aw_noise_pattern_id id;
    const char *name;
    bool pre_initiator_s; /* "-> s" before the handshake: the responder knows it */
    bool pre_responder_s; /* "<- s" before the handshake: the initiator knows it */
    bool psk;             /* a psk token somewhere: "e" also runs MixKey (Section 9.2) */
    size_t messages;
    /* Message i goes initiator -> responder when i is even. */
    token tokens[AW_NOISE_MAX_MESSAGES][AW_NOISE_MAX_TOKENS + 1];
};

/* Section 9.4 (psk0, psk2) on the Section 7.4 patterns NN and NK. */
static const aw_noise_pattern patterns[] = {
    {AW_NOISE_NKPSK0,
     "Noise_NKpsk0_25519_ChaChaPoly_SHA256",
     false,
     true,
     true,
     2,
     {{TOK_PSK, TOK_E, TOK_ES, TOK_END}, {TOK_E, TOK_EE, TOK_END}}},
    {AW_NOISE_NNPSK0,
     "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
     false,
     false,
     true,
     2,
     {{TOK_PSK, TOK_E, TOK_END}, {TOK_E, TOK_EE, TOK_END}}},
    {AW_NOISE_NKPSK2,
     "Noise_NKpsk2_25519_ChaChaPoly_SHA256",
     false,
     true,
     true,
     2,
     {{TOK_E, TOK_ES, TOK_END}, {TOK_E, TOK_EE, TOK_PSK, TOK_END}}},
};

static const aw_noise_pattern *find_pattern(aw_noise_pattern_id id)
{
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if (patterns[i].id == id) {
            return &patterns[i];
        }
    }
    return NULL;
}

const char *aw_noise_protocol_name(aw_noise_pattern_id id)
{
    const aw_noise_pattern *p = find_pattern(id);
    return p != NULL ? p->name : NULL;
}

/* ---- CipherState (Section 5.1) ---- */

/* ChaChaPoly's nonce (Section 12.3): 32 zero bits, then n as 64 bits little-endian. */
static void make_nonce(uint64_t n, uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN])
{
    memset(nonce, 0, 4);
    for (size_t i = 0; i < 8; i++) {
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
    }
}

static void cipher_init(aw_noise_cipher *c, const uint8_t k[AW_NOISE_KEY_LEN])
{
    memcpy(c->k, k, AW_NOISE_KEY_LEN);
    c->n = 0;
    c->has_key = true;
}

void aw_noise_cipher_wipe(aw_noise_cipher *c)
{
    aw_wipe(c, sizeof(*c));
}

/* EncryptWithAd; a cipher without a key passes the plaintext through (Section 5.1). */
static aw_result cipher_encrypt(aw_noise_cipher *c, const uint8_t *ad, size_t ad_len,
                                const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN];
    if (!c->has_key) {
        AW_ENSURE(out_cap >= pt_len, AW_E_BUFFER_TOO_SMALL);
        if (pt_len > 0) {
            memmove(out, pt, pt_len);
        }
        *out_len = pt_len;
        return AW_OK;
    }
    /* 2^64 - 1 is reserved (Section 5.1): never encrypt with it. */
    AW_ENSURE(c->n != UINT64_MAX, AW_E_INVALID_ARG);
    make_nonce(c->n, nonce);
    AW_GUARD(aw_chachapoly_encrypt(c->k, nonce, ad, ad_len, pt, pt_len, out, out_cap, out_len));
    c->n++;
    return AW_OK;
}

/* DecryptWithAd: the nonce advances only when the tag verified. */
static aw_result cipher_decrypt(aw_noise_cipher *c, const uint8_t *ad, size_t ad_len,
                                const uint8_t *ct, size_t ct_len, uint8_t *out, size_t out_cap,
                                size_t *out_len)
{
    uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN];
    if (!c->has_key) {
        AW_ENSURE(out_cap >= ct_len, AW_E_BUFFER_TOO_SMALL);
        if (ct_len > 0) {
            memmove(out, ct, ct_len);
        }
        *out_len = ct_len;
        return AW_OK;
    }
    AW_ENSURE(c->n != UINT64_MAX, AW_E_INVALID_ARG);
    make_nonce(c->n, nonce);
    AW_GUARD(aw_chachapoly_decrypt(c->k, nonce, ad, ad_len, ct, ct_len, out, out_cap, out_len));
    c->n++;
    return AW_OK;
}

aw_result aw_noise_encrypt(aw_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                           size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    AW_ENSURE(c != NULL && out != NULL && out_len != NULL && c->has_key, AW_E_INVALID_ARG);
    *out_len = 0;
    AW_ENSURE(pt_len <= AW_NOISE_MAX_MESSAGE - AW_NOISE_TAG_LEN, AW_E_TOO_LARGE);
    return cipher_encrypt(c, ad, ad_len, pt, pt_len, out, out_cap, out_len);
}

aw_result aw_noise_decrypt(aw_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                           size_t ct_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    AW_ENSURE(c != NULL && out_len != NULL && c->has_key, AW_E_INVALID_ARG);
    *out_len = 0;
    AW_ENSURE(ct_len <= AW_NOISE_MAX_MESSAGE, AW_E_TOO_LARGE);
    return cipher_decrypt(c, ad, ad_len, ct, ct_len, out, out_cap, out_len);
}

/* ---- SymmetricState (Section 5.2) ---- */

/* HKDF(ck, ikm, n) of Section 4.3 is RFC 5869 HKDF with salt ck and empty info. */
static aw_result hkdf(const uint8_t ck[AW_NOISE_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
                      uint8_t *out, size_t outputs)
{
    return aw_hkdf_sha256(ck, AW_NOISE_HASH_LEN, ikm, ikm_len, NULL, 0, out,
                          outputs * AW_NOISE_HASH_LEN);
}

static aw_result initialize_symmetric(aw_noise_symmetric *ss, const char *name)
{
    size_t len = strlen(name);
    memset(ss, 0, sizeof(*ss));
    if (len <= AW_NOISE_HASH_LEN) {
        memcpy(ss->h, name, len);
    } else {
        AW_GUARD(aw_sha256((const uint8_t *)name, len, ss->h));
    }
    memcpy(ss->ck, ss->h, AW_NOISE_HASH_LEN);
    return AW_OK;
}

static aw_result mix_hash(aw_noise_symmetric *ss, const uint8_t *data, size_t len)
{
    return aw_sha256_2(ss->h, AW_NOISE_HASH_LEN, data, len, ss->h);
}

static aw_result mix_key(aw_noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
    uint8_t out[2 * AW_NOISE_HASH_LEN];
    aw_result r = hkdf(ss->ck, ikm, len, out, 2);
    if (r == AW_OK) {
        memcpy(ss->ck, out, AW_NOISE_HASH_LEN);
        cipher_init(&ss->cs, out + AW_NOISE_HASH_LEN);
    }
    aw_wipe(out, sizeof(out));
    return r;
}

static aw_result mix_key_and_hash(aw_noise_symmetric *ss, const uint8_t *ikm, size_t len)
{
    uint8_t out[3 * AW_NOISE_HASH_LEN];
    aw_result r = hkdf(ss->ck, ikm, len, out, 3);
    if (r == AW_OK) {
        memcpy(ss->ck, out, AW_NOISE_HASH_LEN);
        r = mix_hash(ss, out + AW_NOISE_HASH_LEN, AW_NOISE_HASH_LEN);
    }
    if (r == AW_OK) {
        cipher_init(&ss->cs, out + 2 * AW_NOISE_HASH_LEN);
    }
    aw_wipe(out, sizeof(out));
    return r;
}

/* EncryptAndHash: the ciphertext is mixed into h after it is written. */
static aw_result encrypt_and_hash(aw_noise_symmetric *ss, const uint8_t *pt, size_t pt_len,
                                  uint8_t *out, size_t out_cap, size_t *out_len)
{
    AW_GUARD(cipher_encrypt(&ss->cs, ss->h, AW_NOISE_HASH_LEN, pt, pt_len, out, out_cap, out_len));
    return mix_hash(ss, out, *out_len);
}

/* DecryptAndHash: h is updated with the ciphertext, so it is hashed before out (which may
 * not overlap ct) receives the plaintext's verdict. */
static aw_result decrypt_and_hash(aw_noise_symmetric *ss, const uint8_t *ct, size_t ct_len,
                                  uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t h_next[AW_NOISE_HASH_LEN];
    AW_GUARD(aw_sha256_2(ss->h, AW_NOISE_HASH_LEN, ct, ct_len, h_next));
    AW_GUARD(cipher_decrypt(&ss->cs, ss->h, AW_NOISE_HASH_LEN, ct, ct_len, out, out_cap, out_len));
    memcpy(ss->h, h_next, AW_NOISE_HASH_LEN);
    return AW_OK;
}

/* ---- HandshakeState (Section 5.3) ---- */

static bool initiator_writes(size_t message)
{
    return message % 2 == 0;
}

static bool pattern_has_token(const aw_noise_pattern *p, bool initiator_side, token t)
{
    for (size_t m = 0; m < p->messages; m++) {
        if (initiator_writes(m) != initiator_side) {
            continue;
        }
        for (size_t i = 0; p->tokens[m][i] != TOK_END; i++) {
            if (p->tokens[m][i] == t) {
                return true;
            }
        }
    }
    return false;
}

static void fail(aw_noise_handshake *hs)
{
    aw_wipe(hs, sizeof(*hs));
    hs->failed = true;
}

void aw_noise_handshake_wipe(aw_noise_handshake *hs)
{
    if (hs != NULL) {
        aw_wipe(hs, sizeof(*hs));
    }
}

aw_result aw_noise_handshake_init(aw_noise_handshake *hs, aw_noise_pattern_id id,
                                  aw_noise_role role, const uint8_t *prologue, size_t prologue_len,
                                  const aw_noise_keys *keys)
{
    const aw_noise_pattern *p = find_pattern(id);
    bool initiator = role == AW_NOISE_INITIATOR;
    bool need_s, need_rs, need_psk;
    aw_result r;

    AW_ENSURE(hs != NULL, AW_E_INVALID_ARG);
    aw_wipe(hs, sizeof(*hs));
    hs->failed = true;
    AW_ENSURE(p != NULL && keys != NULL &&
                  (role == AW_NOISE_INITIATOR || role == AW_NOISE_RESPONDER),
              AW_E_INVALID_ARG);
    AW_ENSURE(prologue != NULL || prologue_len == 0, AW_E_INVALID_ARG);

    /* Our static key is needed when a pre-message names it or we send it; the peer's when a
     * pre-message names it. Our ephemeral key: every pattern here sends one each way. */
    need_s = (initiator ? p->pre_initiator_s : p->pre_responder_s) ||
             pattern_has_token(p, initiator, TOK_S);
    need_rs = initiator ? p->pre_responder_s : p->pre_initiator_s;
    need_psk = p->psk;
    AW_ENSURE(keys->has_e && keys->has_s == need_s && keys->has_rs == need_rs &&
                  keys->has_psk == need_psk,
              AW_E_INVALID_ARG);

    hs->pattern = p;
    hs->role = role;
    hs->failed = false;
    memcpy(hs->e_priv, keys->e, AW_NOISE_DH_LEN);
    hs->has_e = true;
    r = aw_x25519_public_from_private(hs->e_priv, hs->e_pub);
    if (r == AW_OK && need_s) {
        memcpy(hs->s_priv, keys->s, AW_NOISE_DH_LEN);
        hs->has_s = true;
        r = aw_x25519_public_from_private(hs->s_priv, hs->s_pub);
    }
    if (need_rs) {
        memcpy(hs->rs, keys->rs, AW_NOISE_DH_LEN);
        hs->has_rs = true;
    }
    if (need_psk) {
        memcpy(hs->psk, keys->psk, AW_NOISE_KEY_LEN);
        hs->has_psk = true;
    }
    if (r == AW_OK) {
        r = initialize_symmetric(&hs->ss, p->name);
    }
    if (r == AW_OK) {
        r = mix_hash(&hs->ss, prologue, prologue_len);
    }
    /* Pre-messages (Section 7.1): the initiator's first, each side hashing the same keys. */
    if (r == AW_OK && p->pre_initiator_s) {
        r = mix_hash(&hs->ss, initiator ? hs->s_pub : hs->rs, AW_NOISE_DH_LEN);
    }
    if (r == AW_OK && p->pre_responder_s) {
        r = mix_hash(&hs->ss, initiator ? hs->rs : hs->s_pub, AW_NOISE_DH_LEN);
    }
    if (r != AW_OK) {
        fail(hs);
        return r;
    }
    return AW_OK;
}

bool aw_noise_handshake_done(const aw_noise_handshake *hs)
{
    return hs != NULL && !hs->failed && hs->pattern != NULL && hs->next >= hs->pattern->messages;
}

bool aw_noise_is_my_turn(const aw_noise_handshake *hs)
{
    if (hs == NULL || hs->failed || hs->pattern == NULL || aw_noise_handshake_done(hs)) {
        return false;
    }
    return initiator_writes(hs->next) == (hs->role == AW_NOISE_INITIATOR);
}

/* Bytes of message m around its payload: keys in clear or encrypted, plus the payload's tag
 * when a key is set by then. Walks the tokens the way write/read will, without touching the
 * state, so a too-small buffer is found before anything changes. */
static size_t message_overhead(const aw_noise_handshake *hs, size_t m)
{
    const aw_noise_pattern *p = hs->pattern;
    bool has_key = hs->ss.cs.has_key;
    size_t n = 0;
    for (size_t i = 0; p->tokens[m][i] != TOK_END; i++) {
        switch (p->tokens[m][i]) {
        case TOK_E:
            n += AW_NOISE_DH_LEN;
            has_key = has_key || p->psk;
            break;
        case TOK_S:
            n += AW_NOISE_DH_LEN + (has_key ? (size_t)AW_NOISE_TAG_LEN : 0);
            break;
        default: /* DH and psk tokens key the cipher */
            has_key = true;
            break;
        }
    }
    return n + (has_key ? (size_t)AW_NOISE_TAG_LEN : 0);
}

size_t aw_noise_message_len(const aw_noise_handshake *hs, size_t payload_len)
{
    if (!aw_noise_is_my_turn(hs)) {
        return 0;
    }
    return message_overhead(hs, hs->next) + payload_len;
}

/* The DH token t from our side: ee, es, se, ss (Section 5.3, with "es" meaning the
 * initiator's e and the responder's s). */
static aw_result mix_dh(aw_noise_handshake *hs, token t)
{
    bool initiator = hs->role == AW_NOISE_INITIATOR;
    const uint8_t *priv = NULL;
    const uint8_t *pub = NULL;
    uint8_t shared[AW_NOISE_DH_LEN];
    aw_result r;

    switch (t) {
    case TOK_EE:
        priv = hs->has_e ? hs->e_priv : NULL;
        pub = hs->has_re ? hs->re : NULL;
        break;
    case TOK_ES:
        priv = initiator ? (hs->has_e ? hs->e_priv : NULL) : (hs->has_s ? hs->s_priv : NULL);
        pub = initiator ? (hs->has_rs ? hs->rs : NULL) : (hs->has_re ? hs->re : NULL);
        break;
    case TOK_SE:
        priv = initiator ? (hs->has_s ? hs->s_priv : NULL) : (hs->has_e ? hs->e_priv : NULL);
        pub = initiator ? (hs->has_re ? hs->re : NULL) : (hs->has_rs ? hs->rs : NULL);
        break;
    case TOK_SS:
        priv = hs->has_s ? hs->s_priv : NULL;
        pub = hs->has_rs ? hs->rs : NULL;
        break;
    default:
        return AW_E_INTERNAL;
    }
    if (priv == NULL || pub == NULL) {
        return AW_E_INTERNAL; /* the pattern table is inconsistent */
    }
    /* AW_E_KEY_INVALID for a low-order peer key: the all-zero result is refused. */
    r = aw_x25519_dh(priv, pub, shared);
    if (r == AW_OK) {
        r = mix_key(&hs->ss, shared, sizeof(shared));
    }
    aw_wipe(shared, sizeof(shared));
    return r;
}

static aw_result write_tokens(aw_noise_handshake *hs, const uint8_t *payload, size_t payload_len,
                              uint8_t *out, size_t out_cap, size_t *out_len)
{
    const token *tokens = hs->pattern->tokens[hs->next];
    size_t pos = 0;
    size_t n = 0;

    for (size_t i = 0; tokens[i] != TOK_END; i++) {
        switch (tokens[i]) {
        case TOK_E:
            memcpy(out + pos, hs->e_pub, AW_NOISE_DH_LEN);
            pos += AW_NOISE_DH_LEN;
            AW_GUARD(mix_hash(&hs->ss, hs->e_pub, AW_NOISE_DH_LEN));
            if (hs->pattern->psk) {
                AW_GUARD(mix_key(&hs->ss, hs->e_pub, AW_NOISE_DH_LEN));
            }
            break;
        case TOK_S:
            AW_GUARD(encrypt_and_hash(&hs->ss, hs->s_pub, AW_NOISE_DH_LEN, out + pos, out_cap - pos,
                                      &n));
            pos += n;
            break;
        case TOK_PSK:
            AW_GUARD(mix_key_and_hash(&hs->ss, hs->psk, AW_NOISE_KEY_LEN));
            break;
        default:
            AW_GUARD(mix_dh(hs, tokens[i]));
            break;
        }
    }
    AW_GUARD(encrypt_and_hash(&hs->ss, payload, payload_len, out + pos, out_cap - pos, &n));
    *out_len = pos + n;
    return AW_OK;
}

aw_result aw_noise_write_message(aw_noise_handshake *hs, const uint8_t *payload, size_t payload_len,
                                 uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t need;
    aw_result r;

    AW_ENSURE(hs != NULL && out != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(payload != NULL || payload_len == 0, AW_E_INVALID_ARG);
    *out_len = 0;
    AW_ENSURE(aw_noise_is_my_turn(hs), AW_E_INVALID_ARG);
    need = message_overhead(hs, hs->next);
    AW_ENSURE(payload_len <= AW_NOISE_MAX_MESSAGE - need, AW_E_TOO_LARGE);
    need += payload_len;
    AW_ENSURE(out_cap >= need, AW_E_BUFFER_TOO_SMALL);
    /* The payload is read after earlier tokens wrote into out: they must not overlap. */
    AW_ENSURE(payload_len == 0 || payload + payload_len <= out || out + out_cap <= payload,
              AW_E_INVALID_ARG);

    r = write_tokens(hs, payload, payload_len, out, out_cap, out_len);
    if (r != AW_OK || *out_len != need) {
        aw_wipe(out, out_cap);
        *out_len = 0;
        fail(hs);
        return r != AW_OK ? r : AW_E_INTERNAL;
    }
    hs->next++;
    return AW_OK;
}

static aw_result read_tokens(aw_noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                             uint8_t *out, size_t out_cap, size_t *out_len)
{
    const token *tokens = hs->pattern->tokens[hs->next];
    size_t pos = 0;
    size_t n = 0;

    for (size_t i = 0; tokens[i] != TOK_END; i++) {
        switch (tokens[i]) {
        case TOK_E:
            memcpy(hs->re, msg + pos, AW_NOISE_DH_LEN);
            hs->has_re = true;
            pos += AW_NOISE_DH_LEN;
            AW_GUARD(mix_hash(&hs->ss, hs->re, AW_NOISE_DH_LEN));
            if (hs->pattern->psk) {
                AW_GUARD(mix_key(&hs->ss, hs->re, AW_NOISE_DH_LEN));
            }
            break;
        case TOK_S: {
            size_t len = AW_NOISE_DH_LEN + (hs->ss.cs.has_key ? (size_t)AW_NOISE_TAG_LEN : 0);
            AW_GUARD(decrypt_and_hash(&hs->ss, msg + pos, len, hs->rs, sizeof(hs->rs), &n));
            hs->has_rs = true;
            pos += len;
            break;
        }
        case TOK_PSK:
            AW_GUARD(mix_key_and_hash(&hs->ss, hs->psk, AW_NOISE_KEY_LEN));
            break;
        default:
            AW_GUARD(mix_dh(hs, tokens[i]));
            break;
        }
    }
    return decrypt_and_hash(&hs->ss, msg + pos, msg_len - pos, out, out_cap, out_len);
}

aw_result aw_noise_read_message(aw_noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                                uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t overhead;
    aw_result r;

    AW_ENSURE(hs != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(msg != NULL || msg_len == 0, AW_E_INVALID_ARG);
    *out_len = 0;
    AW_ENSURE(!hs->failed && hs->pattern != NULL && !aw_noise_handshake_done(hs) &&
                  !aw_noise_is_my_turn(hs),
              AW_E_INVALID_ARG);
    overhead = message_overhead(hs, hs->next);
    if (msg_len < overhead || msg_len > AW_NOISE_MAX_MESSAGE) {
        fail(hs);
        return AW_E_MALFORMED;
    }
    AW_ENSURE(out_cap >= msg_len - overhead, AW_E_BUFFER_TOO_SMALL);
    AW_ENSURE(out != NULL || msg_len == overhead, AW_E_INVALID_ARG);
    /* decrypt_and_hash hashes the ciphertext before writing out: no overlap allowed. */
    AW_ENSURE(out == NULL || msg + msg_len <= out || out + out_cap <= msg, AW_E_INVALID_ARG);

    r = read_tokens(hs, msg, msg_len, out, out_cap, out_len);
    if (r != AW_OK) {
        if (out != NULL) {
            aw_wipe(out, out_cap);
        }
        *out_len = 0;
        fail(hs);
        return r;
    }
    hs->next++;
    return AW_OK;
}

aw_result aw_noise_handshake_hash(const aw_noise_handshake *hs, uint8_t out[AW_NOISE_HASH_LEN])
{
    AW_ENSURE(hs != NULL && out != NULL && aw_noise_handshake_done(hs), AW_E_INVALID_ARG);
    memcpy(out, hs->ss.h, AW_NOISE_HASH_LEN);
    return AW_OK;
}

aw_result aw_noise_split(aw_noise_handshake *hs, aw_noise_cipher *send, aw_noise_cipher *recv)
{
    return aw_noise_split_export(hs, send, recv, NULL);
}

aw_result aw_noise_split_export(aw_noise_handshake *hs, aw_noise_cipher *send,
                                aw_noise_cipher *recv, uint8_t export_key[AW_NOISE_HASH_LEN])
{
    uint8_t out[3 * AW_NOISE_HASH_LEN];
    uint8_t h[AW_NOISE_HASH_LEN];
    const aw_noise_pattern *p;
    size_t next;
    aw_result r;

    AW_ENSURE(hs != NULL && send != NULL && recv != NULL && aw_noise_handshake_done(hs),
              AW_E_INVALID_ARG);
    /* A split state has no chaining key left: it cannot split twice. */
    AW_ENSURE(hs->ss.cs.has_key, AW_E_INVALID_ARG);
    /* HKDF's first two outputs do not depend on how many are asked for, so send and recv
     * are exactly Split's; the third is independent of both. */
    r = hkdf(hs->ss.ck, NULL, 0, out, export_key != NULL ? 3 : 2);
    if (r != AW_OK) {
        aw_wipe(out, sizeof(out));
        fail(hs);
        return r;
    }
    if (hs->role == AW_NOISE_INITIATOR) {
        cipher_init(send, out);
        cipher_init(recv, out + AW_NOISE_HASH_LEN);
    } else {
        cipher_init(recv, out);
        cipher_init(send, out + AW_NOISE_HASH_LEN);
    }
    if (export_key != NULL) {
        memcpy(export_key, out + 2 * AW_NOISE_HASH_LEN, AW_NOISE_HASH_LEN);
    }
    aw_wipe(out, sizeof(out));
    /* Keep only what is public now: the transcript hash and where we are. */
    memcpy(h, hs->ss.h, sizeof(h));
    p = hs->pattern;
    next = hs->next;
    aw_wipe(hs, sizeof(*hs));
    hs->pattern = p;
    hs->next = next;
    memcpy(hs->ss.h, h, sizeof(h));
    return AW_OK;
}
