/* authwire: the Noise handshake of enrollment (The Noise Protocol Framework, revision 34),
 * sans-I/O.
 *
 * Only the suite 25519_ChaChaPoly_SHA256 and the PSK patterns enrollment needs are built in;
 * each pattern is a table of token steps (noise.c), so the handshake code itself is the
 * spec's generic WriteMessage/ReadMessage loop. The core has no RNG and does no I/O: the
 * caller passes ephemeral private keys in (aw_x25519_keypair makes one) and moves message
 * bytes between the two sides itself.
 *
 *   NKpsk0 (enrollment):  <- s  ...  -> psk, e, es   <- e, ee
 *   NNpsk0, NKpsk2: the sibling patterns of the published test vectors.
 *
 * Every secret (keys, chaining key, DH results) lives in these structs and is wiped by
 * aw_noise_handshake_wipe / aw_noise_cipher_wipe and on every failure. A handshake that
 * failed once stays failed (AW_E_INVALID_ARG from then on): a Noise handshake is never
 * resumed after a bad message. */
#ifndef AUTHWIRE_NOISE_H
#define AUTHWIRE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/result.h"

#define AW_NOISE_DH_LEN       32    /* X25519 keys and DH results */
#define AW_NOISE_HASH_LEN     32    /* SHA-256 */
#define AW_NOISE_KEY_LEN      32    /* ChaChaPoly keys and PSKs */
#define AW_NOISE_TAG_LEN      16    /* Poly1305 tag */
#define AW_NOISE_MAX_MESSAGE  65535 /* Section 3: every Noise message fits in 64 KiB */
#define AW_NOISE_MAX_MESSAGES 4     /* longest handshake pattern the table holds */
#define AW_NOISE_MAX_TOKENS   4     /* most tokens in one handshake message */

typedef enum aw_noise_pattern_id {
    AW_NOISE_NKPSK0, /* Noise_NKpsk0_25519_ChaChaPoly_SHA256: enrollment */
    AW_NOISE_NNPSK0, /* Noise_NNpsk0_25519_ChaChaPoly_SHA256 */
    AW_NOISE_NKPSK2, /* Noise_NKpsk2_25519_ChaChaPoly_SHA256 */
} aw_noise_pattern_id;

typedef enum aw_noise_role {
    AW_NOISE_INITIATOR,
    AW_NOISE_RESPONDER,
} aw_noise_role;

/* CipherState (Section 5.1): a key and a 64-bit nonce. n = 2^64 - 1 is reserved, so a
 * cipher that reached it refuses to encrypt (AW_E_INVALID_ARG) rather than reuse a nonce. */
typedef struct aw_noise_cipher {
    uint8_t k[AW_NOISE_KEY_LEN];
    uint64_t n;
    bool has_key;
} aw_noise_cipher;

/* SymmetricState (Section 5.2). */
typedef struct aw_noise_symmetric {
    aw_noise_cipher cs;
    uint8_t ck[AW_NOISE_HASH_LEN];
    uint8_t h[AW_NOISE_HASH_LEN];
} aw_noise_symmetric;

/* The keys one side starts with. Which ones a pattern needs: NKpsk0/NKpsk2 initiator: e,
 * rs, psk; responder: s, e, psk. NNpsk0: e, psk on both sides. A key the pattern does not
 * use must be left unset (has_* false). The struct is copied into the handshake; the caller
 * wipes its own copy. */
typedef struct aw_noise_keys {
    uint8_t s[AW_NOISE_DH_LEN]; /* our static private key (responder of NK) */
    bool has_s;
    uint8_t e[AW_NOISE_DH_LEN]; /* our ephemeral private key, fresh per handshake */
    bool has_e;
    uint8_t rs[AW_NOISE_DH_LEN]; /* the peer's static public key, known in advance (NK) */
    bool has_rs;
    uint8_t psk[AW_NOISE_KEY_LEN];
    bool has_psk;
} aw_noise_keys;

typedef struct aw_noise_pattern aw_noise_pattern; /* one row of the table in noise.c */

/* HandshakeState (Section 5.3). */
typedef struct aw_noise_handshake {
    const aw_noise_pattern *pattern;
    aw_noise_role role;
    aw_noise_symmetric ss;
    uint8_t s_priv[AW_NOISE_DH_LEN], s_pub[AW_NOISE_DH_LEN];
    uint8_t e_priv[AW_NOISE_DH_LEN], e_pub[AW_NOISE_DH_LEN];
    uint8_t rs[AW_NOISE_DH_LEN], re[AW_NOISE_DH_LEN];
    uint8_t psk[AW_NOISE_KEY_LEN];
    bool has_s, has_e, has_rs, has_re, has_psk;
    size_t next; /* index of the next handshake message */
    bool failed; /* a step failed: the state was wiped and is unusable */
} aw_noise_handshake;

/* The full protocol name, e.g. "Noise_NKpsk0_25519_ChaChaPoly_SHA256"; NULL if unknown. */
const char *aw_noise_protocol_name(aw_noise_pattern_id id);

/* Initialize (Section 5.3): protocol name, prologue (may be NULL when empty; enrollment
 * binds the invite id here), pre-messages. AW_E_INVALID_ARG when keys lacks a key the
 * pattern and role need or holds one it does not use; AW_E_KEY_INVALID when a private key
 * is unusable. On failure hs is wiped. */
aw_result aw_noise_handshake_init(aw_noise_handshake *hs, aw_noise_pattern_id id,
                                  aw_noise_role role, const uint8_t *prologue, size_t prologue_len,
                                  const aw_noise_keys *keys) AW_MUST_CHECK;

/* True when it is our turn to write (otherwise to read); false once the handshake is done. */
bool aw_noise_is_my_turn(const aw_noise_handshake *hs);
/* True after the last handshake message was written or read. */
bool aw_noise_handshake_done(const aw_noise_handshake *hs);

/* WriteMessage: the next handshake message with payload (may be NULL when empty) into out;
 * *out_len gets its length. AW_E_BUFFER_TOO_SMALL leaves the state unchanged; every other
 * failure fails the handshake. AW_E_TOO_LARGE when the message would exceed
 * AW_NOISE_MAX_MESSAGE. */
aw_result aw_noise_write_message(aw_noise_handshake *hs, const uint8_t *payload, size_t payload_len,
                                 uint8_t *out, size_t out_cap, size_t *out_len) AW_MUST_CHECK;
/* The length of the next message we would write for a payload of payload_len bytes. */
size_t aw_noise_message_len(const aw_noise_handshake *hs, size_t payload_len);

/* ReadMessage: checks and decrypts the peer's next handshake message; the payload goes to
 * out (msg_len minus keys and tag; out may be NULL if that is 0). Failures, all of which
 * fail the handshake: AW_E_MALFORMED (too short or too long), AW_E_SIGNATURE_INVALID (a tag
 * does not verify: tampering, another PSK, another server key, another prologue),
 * AW_E_KEY_INVALID (a low-order public key). AW_E_BUFFER_TOO_SMALL leaves the state
 * unchanged. */
aw_result aw_noise_read_message(aw_noise_handshake *hs, const uint8_t *msg, size_t msg_len,
                                uint8_t *out, size_t out_cap, size_t *out_len) AW_MUST_CHECK;

/* GetHandshakeHash: h, the transcript hash, once the handshake is done. */
aw_result aw_noise_handshake_hash(const aw_noise_handshake *hs,
                                  uint8_t out[AW_NOISE_HASH_LEN]) AW_MUST_CHECK;

/* Split (Section 5.2), once the handshake is done: send gets the key for our direction,
 * recv the peer's (the spec's c1 is initiator -> responder). The handshake state is wiped
 * afterwards except for the handshake hash, which aw_noise_handshake_hash still returns. */
aw_result aw_noise_split(aw_noise_handshake *hs, aw_noise_cipher *send,
                         aw_noise_cipher *recv) AW_MUST_CHECK;

/* aw_noise_split plus a third output of the same HKDF(ck, zerolen, 3) into export_key: a
 * secret bound to the whole handshake and independent of both cipher keys, for the
 * application's own key schedule (enrollment derives the user key from it). The caller
 * wipes export_key. */
aw_result aw_noise_split_export(aw_noise_handshake *hs, aw_noise_cipher *send,
                                aw_noise_cipher *recv,
                                uint8_t export_key[AW_NOISE_HASH_LEN]) AW_MUST_CHECK;

/* Wipes every secret; hs may be reused with aw_noise_handshake_init. */
void aw_noise_handshake_wipe(aw_noise_handshake *hs);

/* Transport messages: EncryptWithAd / DecryptWithAd with the cipher's next nonce. out gets
 * pt_len + AW_NOISE_TAG_LEN bytes (encrypt) or ct_len - AW_NOISE_TAG_LEN (decrypt). A failed
 * decryption (AW_E_SIGNATURE_INVALID) does not advance the nonce. AW_E_TOO_LARGE above
 * AW_NOISE_MAX_MESSAGE. */
aw_result aw_noise_encrypt(aw_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
                           size_t pt_len, uint8_t *out, size_t out_cap,
                           size_t *out_len) AW_MUST_CHECK;
aw_result aw_noise_decrypt(aw_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
                           size_t ct_len, uint8_t *out, size_t out_cap,
                           size_t *out_len) AW_MUST_CHECK;
void aw_noise_cipher_wipe(aw_noise_cipher *c);

#endif
