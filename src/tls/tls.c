/* TLS contexts and the channel-binding exporter (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>

static const char exporter_label[] = "EXPORTER-Channel-Binding";

static aw_result common_ctx(const SSL_METHOD *method, SSL_CTX **out)
{
    SSL_CTX *ctx = SSL_CTX_new(method);
    AW_ENSURE(ctx != NULL, AW_E_CRYPTO);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
        SSL_CTX_free(ctx);
        return AW_E_CRYPTO;
    }
    /* Renegotiation does not exist in TLS 1.3; compression and tickets are not needed. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
    *out = ctx;
    return AW_OK;
}

static aw_result load_cert_key(SSL_CTX *ctx, const char *cert_file, const char *key_file)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        return AW_E_KEY_INVALID;
    }
    return AW_OK;
}

aw_result aw_tls_server_ctx(const char *cert_file, const char *key_file, const char *client_ca_file,
                            SSL_CTX **out)
{
    SSL_CTX *ctx = NULL;
    AW_GUARD(common_ctx(TLS_server_method(), &ctx));
    aw_result r = load_cert_key(ctx, cert_file, key_file);
    if (r == AW_OK && client_ca_file != NULL) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca_file);
        if (names == NULL || SSL_CTX_load_verify_locations(ctx, client_ca_file, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            r = AW_E_KEY_INVALID;
        } else {
            SSL_CTX_set_client_CA_list(ctx, names);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
    }
    if (r != AW_OK) {
        SSL_CTX_free(ctx);
        return r;
    }
    *out = ctx;
    return AW_OK;
}

aw_result aw_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
                            SSL_CTX **out)
{
    SSL_CTX *ctx = NULL;
    AW_GUARD(common_ctx(TLS_client_method(), &ctx));
    aw_result r = AW_OK;
    if (ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                        : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        r = AW_E_KEY_INVALID;
    }
    if (r == AW_OK && cert_file != NULL) {
        r = load_cert_key(ctx, cert_file, key_file != NULL ? key_file : cert_file);
    }
    if (r != AW_OK) {
        SSL_CTX_free(ctx);
        return r;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    *out = ctx;
    return AW_OK;
}

void aw_tls_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}

SSL *aw_tls_new(SSL_CTX *ctx, bool server, const char *server_name)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) {
        return NULL;
    }
    if (server) {
        SSL_set_accept_state(ssl);
        return ssl;
    }
    SSL_set_connect_state(ssl);
    if (server_name != NULL) {
        if (SSL_set_tlsext_host_name(ssl, server_name) != 1 ||
            SSL_set1_host(ssl, server_name) != 1) {
            SSL_free(ssl);
            return NULL;
        }
    }
    return ssl;
}

aw_result aw_tls_exporter(SSL *ssl, uint8_t out[AW_TLS_EXPORTER_LEN])
{
    AW_ENSURE(ssl != NULL && SSL_version(ssl) == TLS1_3_VERSION, AW_E_UNSUPPORTED);
    if (SSL_export_keying_material(ssl, out, AW_TLS_EXPORTER_LEN, exporter_label,
                                   sizeof(exporter_label) - 1, NULL, 0, 0) != 1) {
        return AW_E_CRYPTO;
    }
    return AW_OK;
}

bool aw_tls_peer_name(SSL *ssl, char *out, size_t cap)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || cap == 0) {
        return false;
    }
    X509_NAME *subject = X509_get_subject_name(cert);
    int n = X509_NAME_get_text_by_NID(subject, NID_commonName, out, (int)cap);
    return n > 0 && (size_t)n < cap;
}

const char *aw_tls_last_error(void)
{
    static _Thread_local char text[256];
    unsigned long e = ERR_get_error();
    text[0] = '\0';
    if (e != 0) {
        ERR_error_string_n(e, text, sizeof(text));
    }
    ERR_clear_error();
    return text;
}
