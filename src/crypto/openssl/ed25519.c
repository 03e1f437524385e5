/* Ed25519 (RFC 8032, pure EdDSA) through EVP_PKEY.
 *
 * Pure Ed25519 hashes the whole message twice, so OpenSSL only offers it one-shot:
 * EVP_DigestSign/EVP_DigestVerify with a NULL digest. A fresh EVP_MD_CTX per call costs
 * nothing measurable next to the curve arithmetic (OpenSSL 3.0.19, 300-byte message:
 * sign ~29-44 us and verify ~74-77 us with a reused context, within noise of a new
 * one), so the key object keeps no context and sign/verify carry no state between calls. */
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ossl.h"

struct aw_ed25519_key {
    EVP_PKEY *pkey;   /* the private scalar lives in OpenSSL's secure heap when one is set up */
    bool has_private; /* false: a public key only, verify-only */
};

/* Takes ownership of pkey, on success and on failure. */
static aw_result ed25519_wrap(EVP_PKEY *pkey, bool has_private, aw_ed25519_key **out)
{
    aw_ed25519_key *k = OPENSSL_secure_zalloc(sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    k->pkey = pkey;
    k->has_private = has_private;
    *out = k;
    return AW_OK;
}

aw_result aw_ed25519_from_seed(const uint8_t seed[AW_ED25519_SEED_LEN], aw_ed25519_key **out)
{
    EVP_PKEY *pkey;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(seed != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    /* Every 32-byte string is a valid seed (RFC 8032 Section 5.1.5), so failure here is the
     * backend's, not the key's. */
    pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, seed, AW_ED25519_SEED_LEN);
    if (pkey == NULL) {
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return ed25519_wrap(pkey, true, out);
}

aw_result aw_ed25519_from_public(const uint8_t pub[AW_ED25519_PUBLIC_LEN], aw_ed25519_key **out)
{
    EVP_PKEY *pkey;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(pub != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    /* OpenSSL 3.0 stores the encoding without decoding the point (EVP_PKEY_public_check
     * does not either); a point that does not decode makes every verify fail instead. */
    pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, AW_ED25519_PUBLIC_LEN);
    if (pkey == NULL) {
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return ed25519_wrap(pkey, false, out);
}

aw_result aw_ed25519_from_pem(const char *pem, size_t len, aw_ed25519_key **out)
{
    EVP_PKEY *pkey;
    bool has_private = true;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(pem != NULL || len == 0, AW_E_INVALID_ARG);
    AW_ENSURE(len <= (size_t)INT_MAX, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    if (len == 0) {
        return AW_E_KEY_INVALID;
    }

    /* PKCS#8 first, then SPKI; each attempt reads from a fresh BIO at the start. */
    pkey = aw_ossl_pem_read(pem, len, true);
    if (pkey == NULL) {
        ERR_clear_error();
        has_private = false;
        pkey = aw_ossl_pem_read(pem, len, false);
    }
    if (pkey == NULL) {
        return aw_ossl_fail(AW_E_KEY_INVALID);
    }
    /* X25519, Ed448, RSA... parse fine but are not our algorithm. */
    if (!EVP_PKEY_is_a(pkey, "ED25519")) {
        EVP_PKEY_free(pkey);
        return aw_ossl_fail(AW_E_KEY_INVALID);
    }
    return ed25519_wrap(pkey, has_private, out);
}

aw_result aw_ed25519_generate(aw_ed25519_key **out)
{
    EVP_PKEY *pkey;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_GUARD(aw_crypto_init());
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL) {
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return ed25519_wrap(pkey, true, out);
}

void aw_ed25519_free(aw_ed25519_key *key)
{
    if (key == NULL) {
        return;
    }
    /* EVP_PKEY_free clears the private key it holds. */
    EVP_PKEY_free(key->pkey);
    OPENSSL_secure_clear_free(key, sizeof(*key));
}

bool aw_ed25519_has_private(const aw_ed25519_key *key)
{
    return key != NULL && key->has_private;
}

aw_result aw_ed25519_public(const aw_ed25519_key *key, uint8_t out[AW_ED25519_PUBLIC_LEN])
{
    size_t len = AW_ED25519_PUBLIC_LEN;

    AW_ENSURE(key != NULL && out != NULL, AW_E_INVALID_ARG);
    if (EVP_PKEY_get_raw_public_key(key->pkey, out, &len) != 1 || len != AW_ED25519_PUBLIC_LEN) {
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return AW_OK;
}

aw_result aw_ed25519_private_pem(const aw_ed25519_key *key, char *out, size_t cap, size_t *len)
{
    AW_ENSURE(key != NULL && out != NULL && len != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(key->has_private, AW_E_INVALID_ARG);
    return aw_ossl_private_pem(key->pkey, out, cap, len);
}

aw_result aw_ed25519_sign(aw_ed25519_key *key, const uint8_t *msg, size_t len,
                          uint8_t sig[AW_ED25519_SIG_LEN])
{
    aw_result r = AW_E_CRYPTO;
    EVP_MD_CTX *ctx = NULL;
    size_t sig_len = AW_ED25519_SIG_LEN;

    AW_ENSURE(key != NULL && sig != NULL && (msg != NULL || len == 0), AW_E_INVALID_ARG);
    AW_ENSURE(key->has_private, AW_E_INVALID_ARG);

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        goto out;
    }
    /* NULL digest: pure Ed25519, the message goes in whole. */
    if (EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, key->pkey, NULL) != 1) {
        goto out;
    }
    if (EVP_DigestSign(ctx, sig, &sig_len, aw_ossl_nonnull(msg), len) != 1 ||
        sig_len != AW_ED25519_SIG_LEN) {
        goto out;
    }
    r = AW_OK;

out:
    /* EVP_MD_CTX_free clears the signing state the context held. */
    EVP_MD_CTX_free(ctx);
    if (r != AW_OK) {
        OPENSSL_cleanse(sig, AW_ED25519_SIG_LEN);
        return aw_ossl_fail(r);
    }
    return AW_OK;
}

aw_result aw_ed25519_verify(aw_ed25519_key *key, const uint8_t *msg, size_t len, const uint8_t *sig,
                            size_t sig_len)
{
    aw_result r = AW_E_CRYPTO;
    EVP_MD_CTX *ctx = NULL;
    int rc;

    AW_ENSURE(key != NULL && (msg != NULL || len == 0), AW_E_INVALID_ARG);
    AW_ENSURE(sig != NULL || sig_len == 0, AW_E_INVALID_ARG);
    /* A wrong length is a bad signature from the peer, not a caller error. */
    if (sig_len != AW_ED25519_SIG_LEN) {
        return AW_E_SIGNATURE_INVALID;
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        goto out;
    }
    if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, key->pkey, NULL) != 1) {
        goto out;
    }
    /* 1: valid. 0: the signature (or the public point) does not verify, which OpenSSL also
     * reports for non-canonical S and undecodable R. Anything else is a backend fault. */
    rc = EVP_DigestVerify(ctx, sig, sig_len, aw_ossl_nonnull(msg), len);
    if (rc == 1) {
        r = AW_OK;
    } else if (rc == 0) {
        r = AW_E_SIGNATURE_INVALID;
    }

out:
    EVP_MD_CTX_free(ctx);
    return r == AW_OK ? AW_OK : aw_ossl_fail(r);
}
