/* TLS for the gateway and the client: OpenSSL contexts and the RFC 9266 channel binding.
 * This folder (with src/crypto/openssl) is the only place that includes OpenSSL headers;
 * callers hold contexts and connections as opaque pointers. Errors are aw_result values:
 * AW_E_IO when a file cannot be read, AW_E_KEY_INVALID for a certificate or key that does
 * not load or match, AW_E_CRYPTO for other OpenSSL failures. */
#ifndef AUTHWIRE_TLS_H
#define AUTHWIRE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/result.h"

struct ssl_st;
struct ssl_ctx_st;

/* RFC 9266: 32 bytes of the TLS exporter with label "EXPORTER-Channel-Binding" and no
 * context. */
#define AW_TLS_EXPORTER_LEN 32

/* A server context: TLS 1.3 only, the certificate chain and key from PEM files. With
 * client_ca_file set, clients must present a certificate issued by that CA (mTLS): a
 * handshake without one fails. The caller frees with aw_tls_ctx_free. */
aw_result aw_tls_server_ctx(const char *cert_file, const char *key_file, const char *client_ca_file,
                            struct ssl_ctx_st **out) AW_MUST_CHECK;

/* A client context: TLS 1.3 only, trusting ca_file (or the system store when NULL), with an
 * optional client certificate and key. */
aw_result aw_tls_client_ctx(const char *ca_file, const char *cert_file, const char *key_file,
                            struct ssl_ctx_st **out) AW_MUST_CHECK;

void aw_tls_ctx_free(struct ssl_ctx_st *ctx);

/* A new connection object for ctx, in server (accepting) or client mode; for a client,
 * server_name sets SNI and the name the certificate must match. NULL on failure. */
struct ssl_st *aw_tls_new(struct ssl_ctx_st *ctx, bool server, const char *server_name);

/* The RFC 9266 tls-exporter value of an established TLS 1.3 connection. AW_E_UNSUPPORTED
 * before TLS 1.3 (the exporter is only a channel binding there). */
aw_result aw_tls_exporter(struct ssl_st *ssl, uint8_t out[AW_TLS_EXPORTER_LEN]) AW_MUST_CHECK;

/* The subject common name of the verified client certificate, into out (NUL-terminated);
 * false when the peer sent none. */
bool aw_tls_peer_name(struct ssl_st *ssl, char *out, size_t cap);

/* The first OpenSSL error of this thread as text ("" when none), and clears the queue. */
const char *aw_tls_last_error(void);

#endif
