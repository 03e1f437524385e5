/* OpenSSL backend: algorithm fetching, errors, randomness, wiping, comparison, digests.
 *
 * Like ngtcp2's crypto/ossl, algorithms are fetched once (EVP_MD_fetch / EVP_MAC_fetch)
 * rather than looked up by name on every call: an implicit fetch takes a lock and walks the
 * provider store, which costs more than hashing a short message. */
#include <limits.h>
#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <string.h>

#include "ossl.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static aw_result g_init_result = AW_E_CRYPTO;
static EVP_MD *g_sha256;
static EVP_MD *g_sha512;
static EVP_MAC *g_hmac;
static EVP_CIPHER *g_aes256gcm;
static EVP_CIPHER *g_chachapoly;
static EVP_KDF *g_hkdf;

static void crypto_init_once(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    g_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    g_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    g_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    g_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (g_sha256 != NULL && g_sha512 != NULL && g_hmac != NULL && g_aes256gcm != NULL &&
        g_chachapoly != NULL && g_hkdf != NULL) {
        g_init_result = AW_OK;
        return;
    }
    /* A missing algorithm is a configuration fault (no default provider), not a transient
     * one, so the failure is sticky: pthread_once never runs this again. */
    EVP_MD_free(g_sha256);
    EVP_MD_free(g_sha512);
    EVP_MAC_free(g_hmac);
    EVP_CIPHER_free(g_aes256gcm);
    EVP_CIPHER_free(g_chachapoly);
    EVP_KDF_free(g_hkdf);
    g_sha256 = NULL;
    g_sha512 = NULL;
    g_hmac = NULL;
    g_aes256gcm = NULL;
    g_chachapoly = NULL;
    g_hkdf = NULL;
    g_init_result = aw_ossl_fail(AW_E_CRYPTO);
}

aw_result aw_crypto_init(void)
{
    if (pthread_once(&g_once, crypto_init_once) != 0) {
        return AW_E_CRYPTO;
    }
    return g_init_result;
}

const EVP_MD *aw_ossl_sha256(void)
{
    return g_sha256;
}

const EVP_MD *aw_ossl_sha512(void)
{
    return g_sha512;
}

EVP_MAC *aw_ossl_hmac(void)
{
    return g_hmac;
}

const EVP_CIPHER *aw_ossl_aes256gcm(void)
{
    return g_aes256gcm;
}

const EVP_CIPHER *aw_ossl_chachapoly(void)
{
    return g_chachapoly;
}

EVP_KDF *aw_ossl_hkdf(void)
{
    return g_hkdf;
}

aw_result aw_ossl_fail(aw_result r)
{
    ERR_clear_error();
    return r;
}

const uint8_t *aw_ossl_nonnull(const uint8_t *p)
{
    static const uint8_t empty[1] = {0};
    return p != NULL ? p : empty;
}

aw_result aw_random(uint8_t *out, size_t len)
{
    AW_ENSURE(out != NULL || len == 0, AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    /* RAND_bytes takes an int length: feed larger requests in chunks. */
    while (len > 0) {
        size_t chunk = len > (size_t)INT_MAX ? (size_t)INT_MAX : len;
        if (RAND_bytes(out, (int)chunk) != 1) {
            return aw_ossl_fail(AW_E_CRYPTO);
        }
        out += chunk;
        len -= chunk;
    }
    return AW_OK;
}

bool aw_ct_equal(const void *a, const void *b, size_t len)
{
    if (len == 0) {
        return true;
    }
    return CRYPTO_memcmp(a, b, len) == 0;
}

void aw_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        OPENSSL_cleanse(p, len);
    }
}

static aw_result digest(const EVP_MD *md, const uint8_t *data, size_t len, uint8_t *out,
                        unsigned int want)
{
    unsigned int got = 0;
    AW_ENSURE(out != NULL && (data != NULL || len == 0), AW_E_INVALID_ARG);
    if (EVP_Digest(aw_ossl_nonnull(data), len, out, &got, md, NULL) != 1 || got != want) {
        return aw_ossl_fail(AW_E_CRYPTO);
    }
    return AW_OK;
}

aw_result aw_sha256(const uint8_t *data, size_t len, uint8_t out[AW_SHA256_LEN])
{
    /* g_sha256 may be read only after aw_crypto_init() succeeded. */
    AW_GUARD(aw_crypto_init());
    return digest(g_sha256, data, len, out, AW_SHA256_LEN);
}

aw_result aw_sha512(const uint8_t *data, size_t len, uint8_t out[AW_SHA512_LEN])
{
    AW_GUARD(aw_crypto_init());
    return digest(g_sha512, data, len, out, AW_SHA512_LEN);
}

aw_result aw_sha256_2(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                      uint8_t out[AW_SHA256_LEN])
{
    EVP_MD_CTX *ctx;
    unsigned int got = 0;
    int ok;

    AW_ENSURE(out != NULL && (a != NULL || a_len == 0) && (b != NULL || b_len == 0),
              AW_E_INVALID_ARG);
    AW_GUARD(aw_crypto_init());
    ctx = EVP_MD_CTX_new();
    ok = ctx != NULL && EVP_DigestInit_ex2(ctx, g_sha256, NULL) == 1 &&
         EVP_DigestUpdate(ctx, aw_ossl_nonnull(a), a_len) == 1 &&
         EVP_DigestUpdate(ctx, aw_ossl_nonnull(b), b_len) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &got) == 1 && got == AW_SHA256_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? AW_OK : aw_ossl_fail(AW_E_CRYPTO);
}

/* The library never prompts: an encrypted PEM is refused instead of reading a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

EVP_PKEY *aw_ossl_pem_read(const char *pem, size_t len, bool private_key)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio;
    if (len > (size_t)INT_MAX) {
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        return NULL;
    }
    if (private_key) {
        pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
    } else {
        pkey = PEM_read_bio_PUBKEY_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return pkey;
}

aw_result aw_ossl_private_pem(EVP_PKEY *pkey, char *out, size_t cap, size_t *len)
{
    aw_result r = AW_E_CRYPTO;
    BIO *bio = NULL;
    char *data = NULL;
    long n;

    *len = 0;
    /* A secure-memory BIO: the encoded private key is cleared when the BIO is freed. */
    bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) {
        goto out;
    }
    /* No cipher: unencrypted PKCS#8, "BEGIN PRIVATE KEY" (RFC 8410 Section 7). */
    if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        goto out;
    }
    n = BIO_get_mem_data(bio, &data);
    if (n <= 0 || data == NULL) {
        goto out;
    }
    if ((size_t)n >= cap) {
        /* Tell the caller how much is needed (without the NUL). */
        *len = (size_t)n;
        r = AW_E_BUFFER_TOO_SMALL;
        goto out;
    }
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    r = AW_OK;

out:
    BIO_free(bio);
    return r == AW_OK || r == AW_E_BUFFER_TOO_SMALL ? r : aw_ossl_fail(r);
}
