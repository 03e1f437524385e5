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

#endif
