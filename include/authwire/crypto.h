/* authwire: the crypto interface. The only implementation lives in src/crypto/openssl, the
 * one folder of the project that includes OpenSSL headers. The core calls these functions
 * and never sees OpenSSL types.
 *
 * Algorithms are fetched once (on first use or at aw_crypto_init) and reused. Key objects
 * are opaque, heap-allocated by the backend in secure memory and wiped when freed. A key
 * object keeps reusable keyed state, so one key object must not be used by two threads at
 * once; give each thread its own (aw_hmac_key_dup). Errors: AW_E_CRYPTO when the backend
 * fails, AW_E_KEY_INVALID for malformed key material, AW_E_SIGNATURE_INVALID when a tag or
 * signature does not verify, AW_E_INVALID_ARG for sizes out of range. */
#ifndef AUTHWIRE_CRYPTO_H
#define AUTHWIRE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/result.h"

#define AW_SHA256_LEN         32
#define AW_SHA512_LEN         64
#define AW_HMAC_SHA256_LEN    32
#define AW_ED25519_PUBLIC_LEN 32
#define AW_ED25519_SEED_LEN   32
#define AW_ED25519_SIG_LEN    64
#define AW_HMAC_KEY_MAX       1024 /* longest HMAC key accepted, in bytes */

/* Fetches every algorithm the backend needs. Safe to call more than once and from several
 * threads; every other function calls it implicitly. */
aw_result aw_crypto_init(void) AW_MUST_CHECK;

/* Fills out with len cryptographically secure random bytes. */
aw_result aw_random(uint8_t *out, size_t len) AW_MUST_CHECK;

/* Constant-time comparison of two equal-length buffers; true when equal. */
bool aw_ct_equal(const void *a, const void *b, size_t len);

/* Overwrites len bytes at p with zeros in a way the compiler cannot elide. */
void aw_wipe(void *p, size_t len);

/* One-shot digests. */
aw_result aw_sha256(const uint8_t *data, size_t len, uint8_t out[AW_SHA256_LEN]) AW_MUST_CHECK;
aw_result aw_sha512(const uint8_t *data, size_t len, uint8_t out[AW_SHA512_LEN]) AW_MUST_CHECK;
/* SHA-256 of the concatenation a || b without copying them together (Noise's MixHash). */
aw_result aw_sha256_2(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                      uint8_t out[AW_SHA256_LEN]) AW_MUST_CHECK;

/* HMAC-SHA-256 with a key whose inner and outer state is computed once. */
typedef struct aw_hmac_key aw_hmac_key;

/* Creates a key from 1..AW_HMAC_KEY_MAX bytes (the caller keeps and wipes its copy);
 * AW_E_KEY_INVALID for an empty or longer key. *out is owned by the caller and released
 * with aw_hmac_key_free. */
aw_result aw_hmac_key_new(const uint8_t *key, size_t len, aw_hmac_key **out) AW_MUST_CHECK;
/* A second handle on the same key for another thread. */
aw_result aw_hmac_key_dup(const aw_hmac_key *key, aw_hmac_key **out) AW_MUST_CHECK;
/* Wipes and frees; NULL is ignored. */
void aw_hmac_key_free(aw_hmac_key *key);
/* MAC of data into out. */
aw_result aw_hmac_sha256(aw_hmac_key *key, const uint8_t *data, size_t len,
                         uint8_t out[AW_HMAC_SHA256_LEN]) AW_MUST_CHECK;
/* Recomputes the MAC and compares it with tag in constant time. tag_len must be 32;
 * returns AW_OK or AW_E_SIGNATURE_INVALID (also for a wrong length). */
aw_result aw_hmac_sha256_verify(aw_hmac_key *key, const uint8_t *data, size_t len,
                                const uint8_t *tag, size_t tag_len) AW_MUST_CHECK;

/* Ed25519 (RFC 8032, pure). A key holds a private key (can sign and verify) or only a public
 * key (verify only). */
typedef struct aw_ed25519_key aw_ed25519_key;

aw_result aw_ed25519_from_seed(const uint8_t seed[AW_ED25519_SEED_LEN],
                               aw_ed25519_key **out) AW_MUST_CHECK;
aw_result aw_ed25519_from_public(const uint8_t pub[AW_ED25519_PUBLIC_LEN],
                                 aw_ed25519_key **out) AW_MUST_CHECK;
/* Parses a PEM private key (PKCS#8) or public key (SPKI) of type Ed25519. Encrypted PEM is
 * refused (AW_E_KEY_INVALID), never prompted for. Note: OpenSSL does not check that a
 * public key is a valid curve point; a bad one only shows as failing verifications, so
 * whoever registers a public key should check a test signature with it. */
aw_result aw_ed25519_from_pem(const char *pem, size_t len, aw_ed25519_key **out) AW_MUST_CHECK;
/* Generates a fresh private key. */
aw_result aw_ed25519_generate(aw_ed25519_key **out) AW_MUST_CHECK;
void aw_ed25519_free(aw_ed25519_key *key);
bool aw_ed25519_has_private(const aw_ed25519_key *key);
aw_result aw_ed25519_public(const aw_ed25519_key *key,
                            uint8_t out[AW_ED25519_PUBLIC_LEN]) AW_MUST_CHECK;
/* Writes the private key as PKCS#8 PEM into out (NUL-terminated); *len gets the length
 * without the NUL. AW_E_BUFFER_TOO_SMALL when cap is too small (then *len gets the size
 * needed), AW_E_INVALID_ARG for a public-only key. */
aw_result aw_ed25519_private_pem(const aw_ed25519_key *key, char *out, size_t cap,
                                 size_t *len) AW_MUST_CHECK;
aw_result aw_ed25519_sign(aw_ed25519_key *key, const uint8_t *msg, size_t len,
                          uint8_t sig[AW_ED25519_SIG_LEN]) AW_MUST_CHECK;
/* AW_OK or AW_E_SIGNATURE_INVALID (also for a wrong length). */
aw_result aw_ed25519_verify(aw_ed25519_key *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                            size_t sig_len) AW_MUST_CHECK;

/* AEAD sealing (AES-256-GCM, NIST SP 800-38D) for secrets at rest. A sealed box is
 * nonce (12 random bytes from aw_random) | ciphertext | tag (16 bytes), so it is always
 * AW_AEAD_OVERHEAD bytes longer than the plaintext. The associated data is authenticated
 * but not stored: opening with other associated data fails, which is how a sealed value is
 * bound to its context (a store row, a file). Random 96-bit nonces keep the collision
 * probability under 2^-32 for up to 2^32 seals with one key (SP 800-38D Section 8.3). */
#define AW_AEAD_KEY_LEN   32
#define AW_AEAD_NONCE_LEN 12
#define AW_AEAD_TAG_LEN   16
#define AW_AEAD_OVERHEAD  (AW_AEAD_NONCE_LEN + AW_AEAD_TAG_LEN)

/* Seals pt (pt_len bytes) under key with associated data aad into out, which must hold
 * pt_len + AW_AEAD_OVERHEAD bytes (AW_E_BUFFER_TOO_SMALL otherwise); *out_len gets the
 * sealed length. pt and aad may be NULL when their length is 0; out must not overlap pt. */
aw_result aw_aead_seal(const uint8_t key[AW_AEAD_KEY_LEN], const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
                       size_t *out_len) AW_MUST_CHECK;
/* Opens a sealed box into out (sealed_len - AW_AEAD_OVERHEAD bytes; *out_len gets them).
 * AW_E_SIGNATURE_INVALID when the box does not open: any byte changed, other associated
 * data, another key, or a box shorter than AW_AEAD_OVERHEAD. On failure nothing of the
 * plaintext is left in out. */
aw_result aw_aead_open(const uint8_t key[AW_AEAD_KEY_LEN], const uint8_t *aad, size_t aad_len,
                       const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t out_cap,
                       size_t *out_len) AW_MUST_CHECK;

/* X25519 (RFC 7748) static key pairs, for the server's enrollment key. */
#define AW_X25519_PUBLIC_LEN 32

/* Generates a key pair: the private key as PKCS#8 PEM into pem (NUL-terminated; *pem_len
 * gets the length without the NUL; AW_E_BUFFER_TOO_SMALL when cap is too small, 256 is
 * enough) and the raw public key into pub. The caller wipes pem. */
aw_result aw_x25519_generate(uint8_t pub[AW_X25519_PUBLIC_LEN], char *pem, size_t cap,
                             size_t *pem_len) AW_MUST_CHECK;
/* The raw public key of a PEM X25519 private key (PKCS#8) or public key (SPKI).
 * AW_E_KEY_INVALID when pem holds no X25519 key. */
aw_result aw_x25519_public_from_pem(const char *pem, size_t len,
                                    uint8_t pub[AW_X25519_PUBLIC_LEN]) AW_MUST_CHECK;

/* X25519 Diffie-Hellman on raw keys (RFC 7748), for Noise handshakes. */
#define AW_X25519_PRIVATE_LEN 32
#define AW_X25519_SHARED_LEN  32

/* The raw private key of a PEM X25519 private key (PKCS#8), for the Noise core.
 * AW_E_KEY_INVALID when pem holds no X25519 private key. The caller wipes priv. */
aw_result aw_x25519_private_from_pem(const char *pem, size_t len,
                                     uint8_t priv[AW_X25519_PRIVATE_LEN]) AW_MUST_CHECK;

/* The public key X25519(priv, 9) of a raw private key (clamped as RFC 7748 says). */
aw_result aw_x25519_public_from_private(const uint8_t priv[AW_X25519_PRIVATE_LEN],
                                        uint8_t pub[AW_X25519_PUBLIC_LEN]) AW_MUST_CHECK;
/* A fresh raw key pair from the backend's RNG (an ephemeral key for the sans-I/O core, which
 * has no RNG of its own). The caller wipes priv. */
aw_result aw_x25519_keypair(uint8_t priv[AW_X25519_PRIVATE_LEN],
                            uint8_t pub[AW_X25519_PUBLIC_LEN]) AW_MUST_CHECK;
/* shared = X25519(priv, pub). AW_E_KEY_INVALID when the result is all zeros, i.e. the peer
 * sent a low-order point (RFC 7748 Section 6.1): such a "shared" secret is known to the
 * attacker, so it is refused, never used. shared is zeroed on every failure. */
aw_result aw_x25519_dh(const uint8_t priv[AW_X25519_PRIVATE_LEN],
                       const uint8_t pub[AW_X25519_PUBLIC_LEN],
                       uint8_t shared[AW_X25519_SHARED_LEN]) AW_MUST_CHECK;

/* ChaCha20-Poly1305 AEAD (RFC 8439) with an explicit 12-byte nonce, for the wire (Noise's
 * ChaChaPoly: the nonce is 4 zero bytes then a 64-bit little-endian counter, which the
 * caller builds). Unlike aw_aead_seal the nonce is not stored in the output: out gets
 * ciphertext | tag, AW_CHACHAPOLY_TAG_LEN bytes longer than pt. pt, ad may be NULL when
 * their length is 0; out may equal pt (in place) but must not otherwise overlap it. */
#define AW_CHACHAPOLY_KEY_LEN   32
#define AW_CHACHAPOLY_NONCE_LEN 12
#define AW_CHACHAPOLY_TAG_LEN   16

aw_result aw_chachapoly_encrypt(const uint8_t key[AW_CHACHAPOLY_KEY_LEN],
                                const uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN], const uint8_t *ad,
                                size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
                                size_t out_cap, size_t *out_len) AW_MUST_CHECK;
/* Decrypts ciphertext | tag (ct_len >= AW_CHACHAPOLY_TAG_LEN) into out (ct_len - 16 bytes).
 * AW_E_SIGNATURE_INVALID when the tag does not verify (any change, other ad, nonce or key,
 * a too-short input); then nothing of the plaintext is left in out. */
aw_result aw_chachapoly_decrypt(const uint8_t key[AW_CHACHAPOLY_KEY_LEN],
                                const uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN], const uint8_t *ad,
                                size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out,
                                size_t out_cap, size_t *out_len) AW_MUST_CHECK;

/* HKDF-SHA-256 (RFC 5869), extract then expand: out_len (1..255*32) bytes of okm from ikm
 * with salt and info (each may be NULL when empty). Noise's HKDF(ck, ikm, n) is this with
 * salt = ck, empty info and out_len = 32 * n. */
aw_result aw_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                         const uint8_t *info, size_t info_len, uint8_t *out,
                         size_t out_len) AW_MUST_CHECK;

#endif
