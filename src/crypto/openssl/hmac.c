/* HMAC-SHA-256 (RFC 2104) keys with precomputed inner and outer state.
 *
 * The key is absorbed once, at aw_hmac_key_new: EVP_MAC_init with the key computes the
 * ipad/opad hash states. Each MAC then restarts with EVP_MAC_init(ctx, NULL, 0, NULL),
 * which copies those saved states instead of rehashing the key. Measured on OpenSSL 3.0.19
 * for a 300-byte message: ~440 ns per MAC reusing the state, ~705 ns re-keying the same
 * context, ~1170 ns re-keying with the digest parameter, ~1000-1600 ns with a new context.
 *
 * Our structure holds no key bytes: EVP_MAC_CTX_dup copies the keyed state, so a duplicate
 * never needs the raw key. (OpenSSL's HMAC provider keeps its own copy in its secure heap
 * and clears it when the context is freed.) */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "ossl.h"

struct aw_hmac_key {
    EVP_MAC_CTX *ctx; /* keyed once; restarted per MAC from the saved ipad/opad state */
};

static aw_result hmac_key_alloc(aw_hmac_key **out)
{
    /* Secure heap when the application set one up (CRYPTO_secure_malloc_init); plain heap
     * otherwise. Either way OPENSSL_secure_clear_free wipes it. */
    *out = OPENSSL_secure_zalloc(sizeof(**out));
    if (*out == NULL) {
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return AW_OK;
}

aw_result aw_hmac_key_new(const uint8_t *key, size_t len, aw_hmac_key **out)
{
    aw_result r = AW_E_CRYPTO;
    aw_hmac_key *k = NULL;
    /* OSSL_PARAM wants a mutable buffer even for a string it only reads. */
    char digest_name[] = "SHA2-256";
    OSSL_PARAM params[2];

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(key != NULL || len == 0, AW_E_INVALID_ARG);
    /* An empty key is legal HMAC but never a real secret; an oversized one is hashed down
     * by HMAC anyway, so the cap only bounds what a store can feed us. */
    AW_ENSURE(len >= 1 && len <= AW_HMAC_KEY_MAX, AW_E_KEY_INVALID);
    AW_GUARD(aw_crypto_init());

    r = hmac_key_alloc(&k);
    if (r != AW_OK) {
        goto out;
    }
    k->ctx = EVP_MAC_CTX_new(aw_ossl_hmac());
    if (k->ctx == NULL) {
        r = AW_E_CRYPTO;
        goto out;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(k->ctx, key, len, params) != 1) {
        r = AW_E_CRYPTO;
        goto out;
    }
    *out = k;
    k = NULL;
    r = AW_OK;

out:
    aw_hmac_key_free(k);
    return r == AW_OK ? AW_OK : aw_ossl_fail(r);
}

aw_result aw_hmac_key_dup(const aw_hmac_key *key, aw_hmac_key **out)
{
    aw_result r = AW_E_CRYPTO;
    aw_hmac_key *k = NULL;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(key != NULL, AW_E_INVALID_ARG);

    r = hmac_key_alloc(&k);
    if (r != AW_OK) {
        goto out;
    }
    /* A deep copy: the new context shares no mutable state with the original, so the two
     * handles may be used by two threads at once. */
    k->ctx = EVP_MAC_CTX_dup(key->ctx);
    if (k->ctx == NULL) {
        r = AW_E_CRYPTO;
        goto out;
    }
    *out = k;
    k = NULL;
    r = AW_OK;

out:
    aw_hmac_key_free(k);
    return r == AW_OK ? AW_OK : aw_ossl_fail(r);
}

void aw_hmac_key_free(aw_hmac_key *key)
{
    if (key == NULL) {
        return;
    }
    /* Frees the provider context, which clears its key copy and hash states. */
    EVP_MAC_CTX_free(key->ctx);
    OPENSSL_secure_clear_free(key, sizeof(*key));
}

aw_result aw_hmac_sha256(aw_hmac_key *key, const uint8_t *data, size_t len,
                         uint8_t out[AW_HMAC_SHA256_LEN])
{
    size_t out_len = 0;

    AW_ENSURE(key != NULL && out != NULL && (data != NULL || len == 0), AW_E_INVALID_ARG);
    /* NULL key: restart from the precomputed ipad/opad state (RFC 2104 Section 4). */
    if (EVP_MAC_init(key->ctx, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(key->ctx, aw_ossl_nonnull(data), len) != 1 ||
        EVP_MAC_final(key->ctx, out, &out_len, AW_HMAC_SHA256_LEN) != 1 ||
        out_len != AW_HMAC_SHA256_LEN) {
        /* Never hand back a partial tag. */
        OPENSSL_cleanse(out, AW_HMAC_SHA256_LEN);
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return AW_OK;
}

aw_result aw_hmac_sha256_verify(aw_hmac_key *key, const uint8_t *data, size_t len,
                                const uint8_t *tag, size_t tag_len)
{
    aw_result r;
    uint8_t mac[AW_HMAC_SHA256_LEN];

    AW_ENSURE(key != NULL && (data != NULL || len == 0), AW_E_INVALID_ARG);
    AW_ENSURE(tag != NULL || tag_len == 0, AW_E_INVALID_ARG);
    /* Truncated tags are not part of the protocol: accepting a short prefix would cut the
     * forgery bound to 2^-8*tag_len. The length is public, so returning early leaks nothing. */
    if (tag_len != AW_HMAC_SHA256_LEN) {
        return AW_E_SIGNATURE_INVALID;
    }

    r = aw_hmac_sha256(key, data, len, mac);
    if (r != AW_OK) {
        goto out;
    }
    if (CRYPTO_memcmp(mac, tag, AW_HMAC_SHA256_LEN) != 0) {
        r = AW_E_SIGNATURE_INVALID;
    }

out:
    /* The correct tag for a message the peer may have forged must not linger on the stack. */
    OPENSSL_cleanse(mac, sizeof(mac));
    return r;
}
