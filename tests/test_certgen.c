/* src/tls/certgen: the local CA, the server certificate and client certificates, checked
 * with OpenSSL's own verifier: chains, purposes, names and addresses, validity, key type,
 * and that a certificate from another CA or with the wrong name is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "certgen.h"
#include "check.h"

static X509 *parse_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return x;
}

static EVP_PKEY *parse_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    BIO_free(bio);
    return k;
}

/* X509_verify_cert of leaf against ca with the given purpose; the error code (0 = ok). */
static int verify(X509 *ca, X509 *leaf, int purpose)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int err = -1;
    if (store != NULL && ctx != NULL && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(ctx, store, leaf, NULL) == 1 &&
        X509_STORE_CTX_set_purpose(ctx, purpose) == 1) {
        err = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return err;
}

/* Days between notBefore and notAfter, and whether now is inside. */
static int validity_days(X509 *x, bool *valid_now)
{
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
    *valid_now = X509_cmp_current_time(X509_get0_notBefore(x)) < 0 &&
                 X509_cmp_current_time(X509_get0_notAfter(x)) > 0;
    return days;
}

static bool is_p256(X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    char group[32] = {0};
    size_t len = 0;
    return k != NULL && EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &len) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

static void cn_of(X509 *x, char *out, size_t cap)
{
    out[0] = '\0';
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
}

static void test_certificates(const char *dir)
{
    aw_cert_pair ca, server, client, other_ca, other_server;
    bool now_ok = false;
    char cn[128];

    CHECK_OK(aw_certgen_ca(&ca));
    CHECK_OK(aw_certgen_server(&ca, &server));
    CHECK_OK(aw_certgen_client(&ca, "alice", &client));
    CHECK_OK(aw_certgen_ca(&other_ca));
    CHECK_OK(aw_certgen_server(&other_ca, &other_server));

    X509 *ca_x = parse_cert(ca.cert_pem);
    X509 *server_x = parse_cert(server.cert_pem);
    X509 *client_x = parse_cert(client.cert_pem);
    X509 *other_ca_x = parse_cert(other_ca.cert_pem);
    X509 *other_server_x = parse_cert(other_server.cert_pem);
    CHECK(ca_x != NULL && server_x != NULL && client_x != NULL && other_ca_x != NULL &&
          other_server_x != NULL);
    if (ca_x == NULL || server_x == NULL || client_x == NULL || other_ca_x == NULL ||
        other_server_x == NULL) {
        return;
    }

    /* The CA: self-signed, a CA, P-256, ten years, a name of its own. */
    CHECK(X509_check_ca(ca_x) == 1);
    CHECK(X509_check_issued(ca_x, ca_x) == X509_V_OK);
    CHECK(is_p256(ca_x));
    int ca_days = validity_days(ca_x, &now_ok);
    CHECK_MSG(ca_days == AW_CERTGEN_CA_DAYS && now_ok, "CA valid %d days", ca_days);
    cn_of(ca_x, cn, sizeof(cn));
    CHECK(strncmp(cn, "authwire local CA ", 18) == 0);
    char other_cn[128];
    cn_of(other_ca_x, other_cn, sizeof(other_cn));
    CHECK(strcmp(cn, other_cn) != 0);
    EVP_PKEY *ca_key = parse_key(ca.key_pem);
    CHECK(ca_key != NULL && X509_check_private_key(ca_x, ca_key) == 1);
    EVP_PKEY_free(ca_key);

    /* The server: chains to the CA as a TLS server, for its three names only. */
    CHECK_MSG(verify(ca_x, server_x, X509_PURPOSE_SSL_SERVER) == 0, "server chain: %d",
              verify(ca_x, server_x, X509_PURPOSE_SSL_SERVER));
    CHECK(verify(ca_x, server_x, X509_PURPOSE_SSL_CLIENT) != 0); /* serverAuth only */
    CHECK(X509_check_host(server_x, "localhost", 0, 0, NULL) == 1);
    CHECK(X509_check_ip_asc(server_x, "127.0.0.1", 0) == 1);
    CHECK(X509_check_ip_asc(server_x, "::1", 0) == 1);
    CHECK(X509_check_host(server_x, "example.com", 0, 0, NULL) == 0);
    CHECK(X509_check_ip_asc(server_x, "127.0.0.2", 0) == 0);
    CHECK(X509_check_ca(server_x) == 0);
    CHECK(is_p256(server_x));
    int leaf_days = validity_days(server_x, &now_ok);
    CHECK_MSG(leaf_days == AW_CERTGEN_LEAF_DAYS && now_ok, "server valid %d days", leaf_days);
    EVP_PKEY *server_key = parse_key(server.key_pem);
    CHECK(server_key != NULL && X509_check_private_key(server_x, server_key) == 1);
    EVP_PKEY_free(server_key);
    /* Serial numbers differ. */
    CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(server_x), X509_get0_serialNumber(ca_x)) != 0);

    /* The client: CN = user, chains as a TLS client, not as a server. */
    CHECK(verify(ca_x, client_x, X509_PURPOSE_SSL_CLIENT) == 0);
    CHECK(verify(ca_x, client_x, X509_PURPOSE_SSL_SERVER) != 0);
    cn_of(client_x, cn, sizeof(cn));
    CHECK(strcmp(cn, "alice") == 0);

    /* Another CA's server certificate is refused, and ours under another CA too. */
    CHECK(verify(ca_x, other_server_x, X509_PURPOSE_SSL_SERVER) != 0);
    CHECK(verify(other_ca_x, server_x, X509_PURPOSE_SSL_SERVER) != 0);

    /* Misuse: a CA pair whose key is not its certificate's, garbage, bad names. */
    aw_cert_pair mixed = {ca.cert_pem, other_ca.key_pem}, bad;
    CHECK_RESULT(aw_certgen_server(&mixed, &bad), AW_E_KEY_INVALID);
    aw_cert_pair garbage = {(char *)"not a pem", (char *)"not a key"};
    CHECK_RESULT(aw_certgen_client(&garbage, "bob", &bad), AW_E_KEY_INVALID);
    CHECK_RESULT(aw_certgen_client(&ca, "", &bad), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_certgen_client(&ca, NULL, &bad), AW_E_INVALID_ARG);

    /* Files: certificate 0644, key 0600, never replaced. */
    char cert_path[600], key_path[600];
    struct stat st;
    snprintf(cert_path, sizeof(cert_path), "%s/server.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/server.key", dir);
    CHECK_OK(aw_cert_pair_write(&server, cert_path, key_path));
    CHECK(stat(cert_path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(stat(key_path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_RESULT(aw_cert_pair_write(&server, cert_path, key_path), AW_E_EXISTS);
    /* A certificate that exists already: the new key file is removed again. */
    snprintf(key_path, sizeof(key_path), "%s/other.key", dir);
    CHECK_RESULT(aw_cert_pair_write(&other_server, cert_path, key_path), AW_E_EXISTS);
    CHECK(stat(key_path, &st) != 0 && errno == ENOENT);

    X509_free(ca_x);
    X509_free(server_x);
    X509_free(client_x);
    X509_free(other_ca_x);
    X509_free(other_server_x);
    aw_cert_pair_free(&ca);
    aw_cert_pair_free(&server);
    aw_cert_pair_free(&client);
    aw_cert_pair_free(&other_ca);
    aw_cert_pair_free(&other_server);
    CHECK(ca.key_pem == NULL && ca.cert_pem == NULL);
    aw_cert_pair_free(NULL);
}

/* aw_certgen_server_named: the extra name (DNS or IP) on top of the three local ones, as
 * the attack harness's rogue leaf for a gateway's own name; junk refused. */
static void test_named_server(void)
{
    aw_cert_pair ca, dns, ip, v6;
    CHECK_OK(aw_certgen_ca(&ca));
    CHECK_OK(aw_certgen_server_named(&ca, "api.example", &dns));
    CHECK_OK(aw_certgen_server_named(&ca, "10.1.2.3", &ip));
    CHECK_OK(aw_certgen_server_named(&ca, "fd00::7", &v6));
    X509 *ca_x = parse_cert(ca.cert_pem), *dns_x = parse_cert(dns.cert_pem);
    X509 *ip_x = parse_cert(ip.cert_pem), *v6_x = parse_cert(v6.cert_pem);
    CHECK(ca_x != NULL && dns_x != NULL && ip_x != NULL && v6_x != NULL);
    if (ca_x != NULL && dns_x != NULL && ip_x != NULL && v6_x != NULL) {
        CHECK(verify(ca_x, dns_x, X509_PURPOSE_SSL_SERVER) == 0);
        CHECK(X509_check_host(dns_x, "api.example", 0, 0, NULL) == 1);
        CHECK(X509_check_host(dns_x, "localhost", 0, 0, NULL) == 1);
        CHECK(X509_check_host(dns_x, "other.example", 0, 0, NULL) == 0);
        char cn[128];
        cn_of(dns_x, cn, sizeof(cn));
        CHECK_MSG(strcmp(cn, "api.example") == 0, "CN %s", cn);
        CHECK(X509_check_ip_asc(ip_x, "10.1.2.3", 0) == 1);
        CHECK(X509_check_host(ip_x, "10.1.2.3", 0, 0, NULL) == 0); /* an IP, not a DNS name */
        CHECK(X509_check_ip_asc(v6_x, "fd00::7", 0) == 1);
        CHECK(X509_check_ip_asc(v6_x, "127.0.0.1", 0) == 1);
    }
    X509_free(ca_x);
    X509_free(dns_x);
    X509_free(ip_x);
    X509_free(v6_x);
    aw_cert_pair bad = {0};
    CHECK_RESULT(aw_certgen_server_named(&ca, "a,DNS:evil.example", &bad), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_certgen_server_named(&ca, "", &bad), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_certgen_server_named(&ca, "a b", &bad), AW_E_INVALID_ARG);
    aw_cert_pair_free(&ca);
    aw_cert_pair_free(&dns);
    aw_cert_pair_free(&ip);
    aw_cert_pair_free(&v6);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/aw-certgen-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "FATAL: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_certificates(dir);
    test_named_server();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", dir);
    }
    return aw_test_finish("test_certgen");
}
