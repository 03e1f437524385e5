/* ChaCha20-Poly1305 AEAD (RFC 8439) with a caller-supplied 12-byte nonce and HKDF-SHA-256
 * (RFC 5869): the primitives of Noise's ChaChaPoly and SHA256 (Noise revision 34, Sections
 * 4.3 and 12). Both fetched once (backend.c); a fresh context per call. */
#include <limits.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string.h>

#include "ossl.h"

aw_result aw_chachapoly_encrypt(const uint8_t key[AW_CHACHAPOLY_KEY_LEN],
                                const uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN], const uint8_t *ad,
                                size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    AW_ENSURE(key != NULL && nonce != NULL && out != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(ad != NULL || ad_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(pt != NULL || pt_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(ad_len <= (size_t)INT_MAX && pt_len <= (size_t)INT_MAX - AW_CHACHAPOLY_TAG_LEN,
              AW_E_INVALID_ARG);
    *out_len = 0;
    AW_ENSURE(out_cap >= pt_len + AW_CHACHAPOLY_TAG_LEN, AW_E_BUFFER_TOO_SMALL);
    AW_GUARD(aw_crypto_init());
    aw_result r = aw_ossl_aead_encrypt(aw_ossl_chachapoly(), key, nonce, ad, ad_len, pt, pt_len,
                                       out, out + pt_len);
    if (r != AW_OK) {
        OPENSSL_cleanse(out, pt_len + AW_CHACHAPOLY_TAG_LEN);
        return aw_ossl_fail(r);
    }
    *out_len = pt_len + AW_CHACHAPOLY_TAG_LEN;
    return AW_OK;
}

aw_result aw_chachapoly_decrypt(const uint8_t key[AW_CHACHAPOLY_KEY_LEN],
                                const uint8_t nonce[AW_CHACHAPOLY_NONCE_LEN], const uint8_t *ad,
                                size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out,
                                size_t out_cap, size_t *out_len)
{
    uint8_t tag[AW_CHACHAPOLY_TAG_LEN];
    size_t pt_len;

    AW_ENSURE(key != NULL && nonce != NULL && out_len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(ad != NULL || ad_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(ct != NULL || ct_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(ad_len <= (size_t)INT_MAX && ct_len <= (size_t)INT_MAX, AW_E_INVALID_ARG);
    *out_len = 0;
    /* Too short to hold a tag: one outcome for every kind of damage. */
    if (ct_len < AW_CHACHAPOLY_TAG_LEN) {
        return AW_E_SIGNATURE_INVALID;
    }
    pt_len = ct_len - AW_CHACHAPOLY_TAG_LEN;
    AW_ENSURE(out != NULL || pt_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(out_cap >= pt_len, AW_E_BUFFER_TOO_SMALL);
    AW_GUARD(aw_crypto_init());
    /* Copied first: out may be ct (in place), overwriting the tag's bytes. */
    memcpy(tag, ct + pt_len, AW_CHACHAPOLY_TAG_LEN);
    aw_result r =
        aw_ossl_aead_decrypt(aw_ossl_chachapoly(), key, nonce, ad, ad_len, ct, pt_len, tag, out);
    if (r != AW_OK) {
        return aw_ossl_fail(r);
    }
    *out_len = pt_len;
    return AW_OK;
}

aw_result aw_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                         const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[5];
    char digest_name[] = "SHA2-256";
    size_t i = 0;
    aw_result r = AW_E_CRYPTO;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(salt != NULL || salt_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(ikm != NULL || ikm_len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(info != NULL || info_len == 0, AW_E_INVALID_ARG);
    /* RFC 5869 Section 2.3: L <= 255 * HashLen. */
    AW_ENSURE(out_len >= 1 && out_len <= 255 * AW_SHA256_LEN, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());

    /* OSSL_PARAM takes void * for buffers it only reads. */
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    (void *)aw_ossl_nonnull(ikm), ikm_len);
    if (salt_len > 0) {
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    }
    if (info_len > 0) {
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    }
    params[i] = OSSL_PARAM_construct_end();

    ctx = EVP_KDF_CTX_new(aw_ossl_hkdf());
    if (ctx != NULL && EVP_KDF_derive(ctx, out, out_len, params) == 1) {
        r = AW_OK;
    }
    /* Frees (and clears) OpenSSL's copies of the key material. */
    EVP_KDF_CTX_free(ctx);
    if (r != AW_OK) {
        OPENSSL_cleanse(out, out_len);
        return aw_ossl_fail(r);
    }
    return AW_OK;
}
