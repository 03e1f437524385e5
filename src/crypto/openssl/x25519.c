/* X25519 Diffie-Hellman on raw 32-byte keys (RFC 7748), for the Noise handshake.
 *
 * The keys arrive as raw bytes because the sans-I/O core holds them in its own state (the
 * ephemeral key comes from the caller, the static key from the store). A fresh EVP_PKEY per
 * call is cheap next to the scalar multiplication itself. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ossl.h"

static const uint8_t zeros[AW_X25519_SHARED_LEN];

aw_result aw_x25519_public_from_private(const uint8_t priv[AW_X25519_PRIVATE_LEN],
                                        uint8_t pub[AW_X25519_PUBLIC_LEN])
{
    EVP_PKEY *pkey = NULL;
    size_t len = AW_X25519_PUBLIC_LEN;
    aw_result r = AW_E_CRYPTO;

    AW_ENSURE(priv != NULL && pub != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, AW_X25519_PRIVATE_LEN);
    if (pkey != NULL && EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 &&
        len == AW_X25519_PUBLIC_LEN) {
        r = AW_OK;
    }
    /* Frees (and clears) the copy of the private key too. */
    EVP_PKEY_free(pkey);
    return r == AW_OK ? AW_OK : aw_ossl_fail(r);
}

aw_result aw_x25519_keypair(uint8_t priv[AW_X25519_PRIVATE_LEN], uint8_t pub[AW_X25519_PUBLIC_LEN])
{
    aw_result r;

    AW_ENSURE(priv != NULL && pub != NULL, AW_E_INVALID_ARG);
    /* Any 32 random bytes are a private key: X25519 clamps them (RFC 7748 Section 5). */
    r = aw_random(priv, AW_X25519_PRIVATE_LEN);
    if (r == AW_OK) {
        r = aw_x25519_public_from_private(priv, pub);
    }
    if (r != AW_OK) {
        OPENSSL_cleanse(priv, AW_X25519_PRIVATE_LEN);
    }
    return r;
}

aw_result aw_x25519_dh(const uint8_t priv[AW_X25519_PRIVATE_LEN],
                       const uint8_t pub[AW_X25519_PUBLIC_LEN],
                       uint8_t shared[AW_X25519_SHARED_LEN])
{
    aw_result r = AW_E_CRYPTO;
    EVP_PKEY *mine = NULL;
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = AW_X25519_SHARED_LEN;

    AW_ENSURE(priv != NULL && pub != NULL && shared != NULL, AW_E_INVALID_ARG);
    OPENSSL_cleanse(shared, AW_X25519_SHARED_LEN);
    AW_GUARD(aw_crypto_init());
    mine = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv, AW_X25519_PRIVATE_LEN);
    peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pub, AW_X25519_PUBLIC_LEN);
    if (mine == NULL || peer == NULL) {
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    /* validate_peer 0: every 32-byte string is a valid X25519 public key (RFC 7748 Section 5
     * masks the top bit); the check that matters is the all-zero result, done below. */
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1) {
        goto out;
    }
    if (EVP_PKEY_derive(ctx, shared, &len) != 1) {
        /* With two well-formed 32-byte keys the one way derivation fails is OpenSSL's own
         * all-zero check (ossl_x25519 returns 0 for a low-order peer point). */
        r = AW_E_KEY_INVALID;
        goto out;
    }
    if (len != AW_X25519_SHARED_LEN) {
        goto out;
    }
    /* RFC 7748 Section 6.1: a low-order public key gives the all-zero secret, whatever our
     * private key is. Checked here too, in constant time, so we never depend on the
     * backend's version doing it. */
    if (CRYPTO_memcmp(shared, zeros, AW_X25519_SHARED_LEN) == 0) {
        r = AW_E_KEY_INVALID;
        goto out;
    }
    r = AW_OK;

out:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(peer);
    if (r != AW_OK) {
        OPENSSL_cleanse(shared, AW_X25519_SHARED_LEN);
        return aw_ossl_fail(r);
    }
    return AW_OK;
}
