/* AES-256-GCM sealing (NIST SP 800-38D) and X25519 key generation (RFC 7748).
 *
 * Sealing is for secrets at rest (user keys in the store), not for the wire: a few seals per
 * second, so a fresh EVP_CIPHER_CTX per call is fine and keeps the functions stateless. The
 * cipher itself is fetched once (backend.c). The nonce is random and travels in front of the
 * ciphertext, so the caller never manages nonces. */
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string.h>

#include "ossl.h"

aw_result aw_ossl_aead_encrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                               const uint8_t *ad, size_t ad_len, const uint8_t *pt, size_t pt_len,
                               uint8_t *ct, uint8_t tag[16])
{
    aw_result r = AW_E_CRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    int fin = 0;

    /* Both ciphers default to the 12-byte IV (SP 800-38D, RFC 8439 Section 2.8). */
    if (ctx == NULL || EVP_EncryptInit_ex2(ctx, cipher, key, iv, NULL) != 1) {
        goto out;
    }
    if (ad_len > 0 && EVP_EncryptUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) {
        goto out;
    }
    n = 0;
    if (pt_len > 0 && EVP_EncryptUpdate(ctx, ct, &n, pt, (int)pt_len) != 1) {
        goto out;
    }
    if (EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 || (size_t)n + (size_t)fin != pt_len) {
        goto out;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) != 1) {
        goto out;
    }
    r = AW_OK;
out:
    /* Frees the expanded key schedule too (OpenSSL clears it). */
    EVP_CIPHER_CTX_free(ctx);
    return r;
}

aw_result aw_ossl_aead_decrypt(const EVP_CIPHER *cipher, const uint8_t *key, const uint8_t *iv,
                               const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len,
                               const uint8_t tag[16], uint8_t *out)
{
    aw_result r = AW_E_CRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t tag_copy[16]; /* the ctrl takes a non-const pointer */
    uint8_t dummy[1];
    int n = 0;
    int fin = 0;

    memcpy(tag_copy, tag, sizeof(tag_copy));
    if (ctx == NULL || EVP_DecryptInit_ex2(ctx, cipher, key, iv, NULL) != 1) {
        goto out;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag_copy) != 1) {
        goto out;
    }
    if (ad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1) {
        goto out;
    }
    n = 0;
    if (ct_len > 0 && EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1) {
        goto out;
    }
    /* The tag is compared here, in constant time, by OpenSSL; 0 means it did not match. */
    if (EVP_DecryptFinal_ex(ctx, out == NULL ? dummy : out + n, &fin) != 1) {
        r = AW_E_SIGNATURE_INVALID;
        goto out;
    }
    if ((size_t)n + (size_t)fin == ct_len) {
        r = AW_OK;
    }
out:
    EVP_CIPHER_CTX_free(ctx);
    if (r != AW_OK && out != NULL) {
        /* Decrypted before authenticated: never leave unauthenticated plaintext. */
        OPENSSL_cleanse(out, ct_len);
    }
    return r;
}

aw_result aw_aead_seal(const uint8_t key[AW_AEAD_KEY_LEN], const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    uint8_t *nonce = out;
    uint8_t *ct = out + AW_AEAD_NONCE_LEN;

    AW_ENSURE(key != NULL && out != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(aad != NULL || aad_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(pt != NULL || pt_len == 0, AW_E_INVALID_ARG);
    /* EVP takes int lengths; secrets at rest are tiny anyway. */
    AW_ENSURE(aad_len <= (size_t)INT_MAX && pt_len <= (size_t)INT_MAX - AW_AEAD_OVERHEAD,
              AW_E_INVALID_ARG);
    *out_len = 0;
    AW_ENSURE(out_cap >= pt_len + AW_AEAD_OVERHEAD, AW_E_BUFFER_TOO_SMALL);
    AW_GUARD(aw_crypto_init());
    AW_GUARD(aw_random(nonce, AW_AEAD_NONCE_LEN));
    aw_result r = aw_ossl_aead_encrypt(aw_ossl_aes256gcm(), key, nonce, aad, aad_len, pt, pt_len,
                                       ct, ct + pt_len);
    if (r != AW_OK) {
        OPENSSL_cleanse(out, pt_len + AW_AEAD_OVERHEAD);
        return aw_ossl_fail(r);
    }
    *out_len = pt_len + AW_AEAD_OVERHEAD;
    return AW_OK;
}

aw_result aw_aead_open(const uint8_t key[AW_AEAD_KEY_LEN], const uint8_t *aad, size_t aad_len,
                       const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    size_t ct_len;

    AW_ENSURE(key != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(aad != NULL || aad_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(sealed != NULL || sealed_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(aad_len <= (size_t)INT_MAX && sealed_len <= (size_t)INT_MAX, AW_E_INVALID_ARG);
    *out_len = 0;
    /* A box too short to hold a nonce and a tag is a box that does not open, like any other
     * damaged one: the caller sees one outcome for every kind of tampering. */
    if (sealed_len < AW_AEAD_OVERHEAD) {
        return AW_E_SIGNATURE_INVALID;
    }
    ct_len = sealed_len - AW_AEAD_OVERHEAD;
    AW_ENSURE(out != NULL || ct_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(out_cap >= ct_len, AW_E_BUFFER_TOO_SMALL);
    AW_GUARD(aw_crypto_init());
    aw_result r = aw_ossl_aead_decrypt(aw_ossl_aes256gcm(), key, sealed, aad, aad_len,
                                       sealed + AW_AEAD_NONCE_LEN, ct_len,
                                       sealed + AW_AEAD_NONCE_LEN + ct_len, out);
    if (r != AW_OK) {
        return aw_ossl_fail(r);
    }
    *out_len = ct_len;
    return AW_OK;
}

aw_result aw_x25519_generate(uint8_t pub[AW_X25519_PUBLIC_LEN], char *pem, size_t cap,
                             size_t *pem_len)
{
    aw_result r = AW_E_CRYPTO;
    EVP_PKEY *pkey = NULL;
    size_t len = AW_X25519_PUBLIC_LEN;

    AW_ENSURE(pub != NULL && pem != NULL && pem_len != NULL, AW_E_INVALID_ARG);
    *pem_len = 0;
    AW_GUARD(aw_crypto_init());
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    if (pkey == NULL) {
        goto out;
    }
    if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != AW_X25519_PUBLIC_LEN) {
        goto out;
    }
    r = aw_ossl_private_pem(pkey, pem, cap, pem_len);

out:
    EVP_PKEY_free(pkey);
    return r == AW_OK || r == AW_E_BUFFER_TOO_SMALL ? r : aw_ossl_fail(r);
}

aw_result aw_x25519_private_from_pem(const char *pem, size_t len,
                                     uint8_t priv[AW_X25519_PRIVATE_LEN])
{
    aw_result r = AW_E_KEY_INVALID;
    EVP_PKEY *pkey;
    size_t priv_len = AW_X25519_PRIVATE_LEN;

    AW_ENSURE(pem != NULL && priv != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    pkey = aw_ossl_pem_read(pem, len, true);
    if (pkey != NULL && EVP_PKEY_is_a(pkey, "X25519") &&
        EVP_PKEY_get_raw_private_key(pkey, priv, &priv_len) == 1 &&
        priv_len == AW_X25519_PRIVATE_LEN) {
        r = AW_OK;
    } else {
        aw_wipe(priv, AW_X25519_PRIVATE_LEN);
    }
    EVP_PKEY_free(pkey);
    return r == AW_OK ? AW_OK : aw_ossl_fail(r);
}

aw_result aw_x25519_public_from_pem(const char *pem, size_t len, uint8_t pub[AW_X25519_PUBLIC_LEN])
{
    aw_result r = AW_E_KEY_INVALID;
    EVP_PKEY *pkey;
    size_t pub_len = AW_X25519_PUBLIC_LEN;

    AW_ENSURE(pem != NULL && pub != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    pkey = aw_ossl_pem_read(pem, len, true);
    if (pkey == NULL) {
        ERR_clear_error();
        pkey = aw_ossl_pem_read(pem, len, false);
    }
    if (pkey != NULL && EVP_PKEY_is_a(pkey, "X25519") &&
        EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) == 1 && pub_len == AW_X25519_PUBLIC_LEN) {
        r = AW_OK;
    }
    EVP_PKEY_free(pkey);
    return r == AW_OK ? AW_OK : aw_ossl_fail(r);
}
