/* authwire OpenSSL backend, private to src/crypto/openssl: the algorithms fetched once at
 * start-up and the one place that turns OpenSSL's error queue into an aw_result. Nothing
 * outside this folder may include this header (tests/layering.sh checks that no other
 * file includes an OpenSSL header). */
#ifndef AUTHWIRE_CRYPTO_OSSL_H
#define AUTHWIRE_CRYPTO_OSSL_H

#include <openssl/evp.h>

#include "authwire/crypto.h"

/* The fetched algorithms. Valid only after aw_crypto_init() returned AW_OK; they live until
 * the process exits (OpenSSL's own atexit clean-up releases the providers). */
const EVP_MD *aw_ossl_sha256(void);
const EVP_MD *aw_ossl_sha512(void);
EVP_MAC *aw_ossl_hmac(void);
const EVP_CIPHER *aw_ossl_aes256gcm(void);
const EVP_CIPHER *aw_ossl_chachapoly(void);
EVP_KDF *aw_ossl_hkdf(void);

/* Empties the calling thread's OpenSSL error queue and returns r. Every failure path calls
 * it, so a stale error never shows up in a later, unrelated call. */
aw_result aw_ossl_fail(aw_result r);

/* A non-NULL pointer for an empty input: OpenSSL's one-shot calls may not accept NULL even
 * with a zero length, while our API allows (NULL, 0). */
const uint8_t *aw_ossl_nonnull(const uint8_t *p);

/* One AEAD pass with a 12-byte IV and a 16-byte tag, for the two AEADs of the backend
 * (AES-256-GCM sealing, ChaCha20-Poly1305 for Noise). Lengths are the caller's to check
 * (each <= INT_MAX). encrypt writes pt_len bytes to ct and the tag; decrypt writes ct_len
 * bytes to out, returns AW_E_SIGNATURE_INVALID when the tag does not match (compared in
 * constant time by OpenSSL) and wipes out on any failure, since both decrypt before they
 * authenticate. out may equal ct. Other failures: AW_E_CRYPTO, with the error queue kept. */
aw_result aw_ossl_aead_encrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                               const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
                               uint8_t *ct, uint8_t tag[16]);
aw_result aw_ossl_aead_decrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                               const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
                               const uint8_t tag[16], uint8_t *out);

/* Parses a PEM private key (PKCS#8) or public key (SPKI), never prompting for a passphrase
 * (an encrypted PEM fails). NULL on any failure; the caller checks the key type. */
EVP_PKEY *aw_ossl_pem_read(const char *pem, size_t len, bool private_key);

/* Writes pkey's private key as unencrypted PKCS#8 PEM into out (NUL-terminated), as
 * aw_ed25519_private_pem documents. */
aw_result aw_ossl_private_pem(EVP_PKEY *pkey, char *out, size_t cap, size_t *len);

#endif
