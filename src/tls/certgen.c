/* Local certificates with OpenSSL's X509 API (see certgen.h for the profile). */
#include "certgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "authwire/crypto.h"
#include "files.h"

/* Clears the thread's OpenSSL error queue (so a stale error never surfaces later) and
 * returns r. */
static aw_result tls_fail(aw_result r)
{
    ERR_clear_error();
    return r;
}

/* Copies a memory BIO's contents into a malloc'd NUL-terminated string. */
static char *bio_to_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char *out;
    if (n <= 0 || data == NULL) {
        return NULL;
    }
    out = malloc((size_t)n + 1);
    if (out != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
    }
    return out;
}

static aw_result to_pem(X509 *cert, EVP_PKEY *key, aw_cert_pair *out)
{
    aw_result r = AW_E_CRYPTO;
    BIO *cert_bio = BIO_new(BIO_s_mem());
    /* Secure memory: the encoded key is cleared when the BIO is freed. */
    BIO *key_bio = BIO_new(BIO_s_secmem());

    if (cert_bio == NULL || key_bio == NULL || PEM_write_bio_X509(cert_bio, cert) != 1 ||
        PEM_write_bio_PrivateKey(key_bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        goto out;
    }
    out->cert_pem = bio_to_string(cert_bio);
    out->key_pem = bio_to_string(key_bio);
    if (out->cert_pem == NULL || out->key_pem == NULL) {
        aw_cert_pair_free(out);
        goto out;
    }
    r = AW_OK;

out:
    BIO_free(cert_bio);
    BIO_free(key_bio);
    return r;
}

static bool set_serial(X509 *cert)
{
    uint8_t raw[16];
    BIGNUM *bn;
    bool ok;
    if (aw_random(raw, sizeof(raw)) != AW_OK) {
        return false;
    }
    /* Positive and without a leading zero octet issue: clear the top bit. */
    raw[0] &= 0x7f;
    raw[0] |= 0x01;
    bn = BN_bin2bn(raw, sizeof(raw), NULL);
    ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

static bool set_name(X509_NAME *name, const char *cn)
{
    return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"authwire",
                                      -1, -1, 0) == 1 &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                      0) == 1;
}

/* Adds one extension in OpenSSL's config syntax, e.g. "critical,CA:TRUE". */
static bool add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

typedef struct ext_spec {
    int nid;
    const char *value;
} ext_spec;

static const ext_spec ca_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};

static const ext_spec server_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth"},
    {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

static const ext_spec client_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "clientAuth"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

/* Makes a certificate for a new P-256 key: self-signed when issuer is NULL. */
static aw_result make_cert(const char *cn, long days, const ext_spec *exts, size_t n_exts,
                           X509 *issuer, EVP_PKEY *issuer_key, aw_cert_pair *out)
{
    aw_result r = AW_E_CRYPTO;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    X509V3_CTX ctx;

    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    cert = X509_new();
    if (key == NULL || cert == NULL) {
        goto out;
    }
    if (X509_set_version(cert, X509_VERSION_3) != 1 || !set_serial(cert) ||
        X509_time_adj_ex(X509_getm_notBefore(cert), 0, -3600, NULL) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL ||
        !set_name(X509_get_subject_name(cert), cn) || X509_set_pubkey(cert, key) != 1) {
        goto out;
    }
    if (X509_set_issuer_name(cert, issuer != NULL ? X509_get_subject_name(issuer)
                                                  : X509_get_subject_name(cert)) != 1) {
        goto out;
    }
    X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
    for (size_t i = 0; i < n_exts; i++) {
        if (!add_ext(cert, &ctx, exts[i].nid, exts[i].value)) {
            goto out;
        }
    }
    if (X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0) {
        goto out;
    }
    r = to_pem(cert, key, out);

out:
    X509_free(cert);
    EVP_PKEY_free(key);
    return r == AW_OK ? AW_OK : tls_fail(r);
}

aw_result aw_certgen_ca(aw_cert_pair *out)
{
    uint8_t tag[4];
    char cn[64];

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    AW_GUARD(aw_random(tag, sizeof(tag)));
    snprintf(cn, sizeof(cn), "authwire local CA %02x%02x%02x%02x", tag[0], tag[1], tag[2], tag[3]);
    return make_cert(cn, AW_CERTGEN_CA_DAYS, ca_exts, sizeof(ca_exts) / sizeof(ca_exts[0]), NULL,
                     NULL, out);
}

/* Parses the CA pair and checks that the key belongs to the certificate. */
static aw_result load_ca(const aw_cert_pair *ca, X509 **cert, EVP_PKEY **key)
{
    BIO *bio;

    *cert = NULL;
    *key = NULL;
    AW_ENSURE(ca != NULL && ca->cert_pem != NULL && ca->key_pem != NULL, AW_E_INVALID_ARG);
    bio = BIO_new_mem_buf(ca->cert_pem, -1);
    if (bio != NULL) {
        *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    bio = BIO_new_mem_buf(ca->key_pem, -1);
    if (bio != NULL) {
        /* A NULL callback with "" as its argument: never prompt for a passphrase. */
        *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
        BIO_free(bio);
    }
    if (*cert == NULL || *key == NULL || X509_check_private_key(*cert, *key) != 1) {
        X509_free(*cert);
        EVP_PKEY_free(*key);
        *cert = NULL;
        *key = NULL;
        return tls_fail(AW_E_KEY_INVALID);
    }
    return AW_OK;
}

static aw_result issue(const aw_cert_pair *ca, const char *cn, const ext_spec *exts, size_t n_exts,
                       aw_cert_pair *out)
{
    X509 *ca_cert;
    EVP_PKEY *ca_key;
    aw_result r;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    AW_GUARD(load_ca(ca, &ca_cert, &ca_key));
    r = make_cert(cn, AW_CERTGEN_LEAF_DAYS, exts, n_exts, ca_cert, ca_key, out);
    X509_free(ca_cert);
    EVP_PKEY_free(ca_key);
    return r;
}

aw_result aw_certgen_server(const aw_cert_pair *ca, aw_cert_pair *out)
{
    return aw_certgen_server_named(ca, NULL, out);
}

/* A DNS name or IP literal that can go into a subjectAltName value as it is: letters,
 * digits, '-', '.', and ':' for IPv6. */
static bool plain_host(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 253) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == ':';
        if (!ok) {
            return false;
        }
    }
    return true;
}

aw_result aw_certgen_server_named(const aw_cert_pair *ca, const char *name, aw_cert_pair *out)
{
    if (name == NULL || strcmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
        strcmp(name, "::1") == 0) {
        return issue(ca, "localhost", server_exts, sizeof(server_exts) / sizeof(server_exts[0]),
                     out);
    }
    AW_ENSURE(plain_host(name), AW_E_INVALID_ARG);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    char san[300];
    snprintf(san, sizeof(san), "%s:%s,DNS:localhost,IP:127.0.0.1,IP:::1", is_ip ? "IP" : "DNS",
             name);
    ext_spec exts[sizeof(server_exts) / sizeof(server_exts[0])];
    memcpy(exts, server_exts, sizeof(exts));
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        if (exts[i].nid == NID_subject_alt_name) {
            exts[i].value = san;
        }
    }
    return issue(ca, is_ip || strlen(name) > 64 ? "localhost" : name, exts,
                 sizeof(exts) / sizeof(exts[0]), out);
}

aw_result aw_certgen_client(const aw_cert_pair *ca, const char *common_name, aw_cert_pair *out)
{
    AW_ENSURE(common_name != NULL && common_name[0] != '\0' && strlen(common_name) <= 64,
              AW_E_INVALID_ARG);
    return issue(ca, common_name, client_exts, sizeof(client_exts) / sizeof(client_exts[0]), out);
}

aw_result aw_cert_pair_write(const aw_cert_pair *p, const char *cert_path, const char *key_path)
{
    aw_result r;
    AW_ENSURE(p != NULL && p->cert_pem != NULL && p->key_pem != NULL, AW_E_INVALID_ARG);
    AW_ENSURE(cert_path != NULL && key_path != NULL, AW_E_INVALID_ARG);
    /* The key first: a certificate on disk without its key would look usable. */
    AW_GUARD(
        aw_file_write_atomic(key_path, p->key_pem, strlen(p->key_pem), 0600, AW_FILE_NO_REPLACE));
    r = aw_file_write_atomic(cert_path, p->cert_pem, strlen(p->cert_pem), 0644, AW_FILE_NO_REPLACE);
    if (r != AW_OK) {
        /* The key file is ours (it did not exist): leave nothing half-written behind. */
        int saved = errno;
        unlink(key_path);
        errno = saved;
    }
    return r;
}

void aw_cert_pair_free(aw_cert_pair *p)
{
    if (p == NULL) {
        return;
    }
    if (p->key_pem != NULL) {
        aw_wipe(p->key_pem, strlen(p->key_pem));
        free(p->key_pem);
    }
    free(p->cert_pem);
    p->cert_pem = NULL;
    p->key_pem = NULL;
}
