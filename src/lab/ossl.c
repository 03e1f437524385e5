/* The real primitives the lab measures against, through OpenSSL 3: SHA-256, the AES block
 * cipher, CMAC, Poly1305. The lab is the one folder besides src/crypto/openssl that may
 * include OpenSSL (tests/layering.sh says why): it needs the bare block cipher and MACs that
 * libauthwire deliberately does not offer. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lab.h"

static aw_result fail(aw_result r)
{
    ERR_clear_error();
    return r;
}

bool awlab_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

aw_result awlab_ossl_sha256(const uint8_t *data, size_t len, uint8_t out[AWLAB_SHA256_LEN])
{
    static const uint8_t empty[1] = {0};
    unsigned int n = 0;
    if (EVP_Digest(len == 0 ? empty : data, len, out, &n, EVP_sha256(), NULL) != 1 ||
        n != AWLAB_SHA256_LEN) {
        return fail(AW_E_CRYPTO);
    }
    return AW_OK;
}

/* ---- AES-128 block ------------------------------------------------------------------ */

struct awlab_aes {
    EVP_CIPHER_CTX *ctx;
};

aw_result awlab_aes_new(const uint8_t key[16], awlab_aes **out)
{
    awlab_aes *k = calloc(1, sizeof(*k));
    *out = NULL;
    if (k == NULL) {
        return AW_E_CRYPTO;
    }
    k->ctx = EVP_CIPHER_CTX_new();
    if (k->ctx == NULL || EVP_EncryptInit_ex(k->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(k->ctx, 0) != 1) {
        awlab_aes_free(k);
        return fail(AW_E_CRYPTO);
    }
    *out = k;
    return AW_OK;
}

aw_result awlab_aes_block(awlab_aes *k, const uint8_t in[16], uint8_t out[16])
{
    int n = 0;
    /* ECB without padding keeps no state between blocks: one Update is one block. */
    if (EVP_EncryptUpdate(k->ctx, out, &n, in, 16) != 1 || n != 16) {
        return fail(AW_E_CRYPTO);
    }
    return AW_OK;
}

void awlab_aes_free(awlab_aes *k)
{
    if (k != NULL) {
        EVP_CIPHER_CTX_free(k->ctx);
        free(k);
    }
}

aw_result awlab_cbc_mac(awlab_aes *k, const uint8_t iv[16], const uint8_t *msg, size_t len,
                        uint8_t out[16])
{
    AW_ENSURE(len % 16 == 0, AW_E_INVALID_ARG);
    uint8_t y[16];
    memcpy(y, iv, 16);
    for (size_t off = 0; off < len; off += 16) {
        for (size_t i = 0; i < 16; i++) {
            y[i] ^= msg[off + i];
        }
        AW_GUARD(awlab_aes_block(k, y, y));
    }
    memcpy(out, y, 16);
    return AW_OK;
}

aw_result awlab_cbc_mac_lp(awlab_aes *k, const uint8_t *msg, size_t len, uint8_t out[16])
{
    AW_ENSURE(len % 16 == 0, AW_E_INVALID_ARG);
    static const uint8_t zero[16] = {0};
    uint8_t y[16] = {0};
    uint64_t n = len;
    for (size_t i = 0; i < 8; i++) {
        y[15 - i] = (uint8_t)(n >> (8 * i));
    }
    /* The first block is the length; then plain CBC-MAC chaining from E(length). */
    AW_GUARD(awlab_cbc_mac(k, zero, y, 16, y));
    return awlab_cbc_mac(k, y, msg, len, out);
}

/* ---- CMAC ------------------------------------------------------------------------- */

struct awlab_cmac {
    EVP_MAC_CTX *keyed; /* a keyed template, duplicated per message */
};

aw_result awlab_cmac_new(const uint8_t *key, size_t key_len, awlab_cmac **out)
{
    *out = NULL;
    const char *cipher = key_len == 16   ? "AES-128-CBC"
                         : key_len == 24 ? "AES-192-CBC"
                         : key_len == 32 ? "AES-256-CBC"
                                         : NULL;
    AW_ENSURE(cipher != NULL, AW_E_KEY_INVALID);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    if (mac == NULL) {
        return fail(AW_E_UNSUPPORTED);
    }
    awlab_cmac *k = calloc(1, sizeof(*k));
    aw_result r = AW_E_CRYPTO;
    if (k == NULL) {
        goto out;
    }
    k->keyed = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cipher, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (k->keyed == NULL || EVP_MAC_init(k->keyed, key, key_len, params) != 1) {
        goto out;
    }
    *out = k;
    k = NULL;
    r = AW_OK;
out:
    awlab_cmac_free(k);
    EVP_MAC_free(mac);
    return r == AW_OK ? r : fail(r);
}

aw_result awlab_cmac_mac(awlab_cmac *k, const uint8_t *msg, size_t len, uint8_t out[16])
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(k->keyed);
    size_t n = 0;
    aw_result r = AW_OK;
    if (ctx == NULL || (len > 0 && EVP_MAC_update(ctx, msg, len) != 1) ||
        EVP_MAC_final(ctx, out, &n, 16) != 1 || n != 16) {
        r = fail(AW_E_CRYPTO);
    }
    EVP_MAC_CTX_free(ctx);
    return r;
}

void awlab_cmac_free(awlab_cmac *k)
{
    if (k != NULL) {
        EVP_MAC_CTX_free(k->keyed);
        free(k);
    }
}

/* ---- Poly1305 ---------------------------------------------------------------------- */

aw_result awlab_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t out[16])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
    if (mac == NULL) {
        return fail(AW_E_UNSUPPORTED);
    }
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    size_t n = 0;
    aw_result r = AW_OK;
    if (ctx == NULL || EVP_MAC_init(ctx, key, 32, NULL) != 1 ||
        (len > 0 && EVP_MAC_update(ctx, msg, len) != 1) || EVP_MAC_final(ctx, out, &n, 16) != 1 ||
        n != 16) {
        r = fail(AW_E_CRYPTO);
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return r;
}
