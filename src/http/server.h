/* An HTTP/1.1 server on libevent: worker threads, each with its own event loop and its own
 * SO_REUSEPORT listener on the same address, plain TCP or TLS (libevent_openssl).
 *
 * It reads whole requests (head and body, Content-Length only) under hard limits and
 * deadlines, parses them strictly with aw_http_parse, and hands each to the handler with
 * the exact bytes received. The handler answers with aw_http_respond, at once or later
 * (from the same worker thread, e.g. after an upstream replied); until then the connection
 * reads nothing more. Requests on one connection are answered in order.
 *
 * Threads: every callback runs on the worker thread that owns the connection. */
#ifndef AUTHWIRE_HTTP_SERVER_H
#define AUTHWIRE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/message.h"
#include "authwire/result.h"

struct ssl_ctx_st;
struct event_base;

#define AW_HTTP_MAX_HEADERS  100
#define AW_HTTP_EXPORTER_LEN 32

typedef struct aw_http_limits {
    size_t max_header_bytes; /* request line + fields, e.g. 16 KiB */
    size_t max_body_bytes;   /* e.g. 1 MiB */
    int header_timeout_ms;   /* whole head must arrive within this after its first byte */
    int body_timeout_ms;     /* whole body must arrive within this after the head */
    int idle_timeout_ms;     /* keep-alive connection with no request is closed */
    size_t max_connections;  /* per server; more are accepted and closed at once */
} aw_http_limits;

/* One received request. Everything stays valid until aw_http_respond is called. */
typedef struct aw_http_request {
    aw_message msg;  /* parsed view; scheme "https" over TLS, else "http" */
    aw_span raw;     /* the exact bytes received, head and body */
    size_t head_len; /* bytes of raw up to and including the blank line */
    bool keep_alive; /* the client allows another request on this connection */
    bool tls;
    bool has_exporter; /* TLS 1.3: exporter holds the RFC 9266 channel binding */
    uint8_t exporter[AW_HTTP_EXPORTER_LEN];
    char peer_cert_name[128]; /* mTLS: the client certificate's CN, "" without one */
    char peer_addr[64];       /* "127.0.0.1:51234" */
    uint64_t started_ns;      /* monotonic clock when the first byte arrived */
    aw_header headers[AW_HTTP_MAX_HEADERS];
} aw_http_request;

typedef struct aw_http_conn aw_http_conn;

/* Called for each request on its worker thread. result is AW_OK for a well-formed request,
 * or why it could not be read (AW_E_MALFORMED, AW_E_FIELD_INVALID, AW_E_TOO_LARGE,
 * AW_E_TIMEOUT); then req->msg may be partial (empty spans) and the connection closes after
 * the answer. worker is what worker_init returned for this thread. */
typedef void (*aw_http_handler_fn)(aw_http_conn *conn, aw_http_request *req, aw_result result,
                                   void *worker);

typedef struct aw_http_field {
    const char *name;
    const char *value;
    size_t value_len; /* 0: strlen(value) */
} aw_http_field;

typedef struct aw_http_response {
    int status;
    const aw_http_field *fields; /* without Content-Length and Connection: added here */
    size_t n_fields;
    aw_span body;
    bool close; /* close the connection after this response */
} aw_http_response;

/* Sends the answer to the pending request of conn and resumes reading. Call exactly once
 * per handler call, on the worker thread. The response is copied; nothing is borrowed
 * afterwards. */
void aw_http_respond(aw_http_conn *conn, const aw_http_response *resp);

/* The event loop of the worker that owns conn (for the handler's own I/O, e.g. upstream). */
struct event_base *aw_http_conn_base(aw_http_conn *conn);

typedef struct aw_http_server_config {
    const char *listen;     /* "127.0.0.1:8443", "[::1]:8443"; port 0 picks one */
    int workers;            /* threads, >= 1 */
    struct ssl_ctx_st *tls; /* NULL: plain HTTP */
    aw_http_limits limits;
    aw_http_handler_fn handler;
    /* Per-worker state: called on each worker thread before it serves, and at its end. */
    void *(*worker_init)(int index, struct event_base *base, void *arg);
    void (*worker_fini)(void *worker, void *arg);
    void *arg;
} aw_http_server_config;

typedef struct aw_http_server aw_http_server;

/* Binds every worker's listener (so errors show before the server runs) and starts the
 * workers. *port gets the bound port. AW_E_INVALID_ARG for a bad address, AW_E_IO when a
 * bind fails (errno kept), AW_E_INTERNAL when a worker cannot start. */
aw_result aw_http_server_start(const aw_http_server_config *cfg, aw_http_server **out,
                               int *port) AW_MUST_CHECK;

/* Graceful stop: listeners close at once, idle connections close, requests in progress
 * get grace_ms to finish. Then the workers end. Safe from any thread (not from a signal
 * handler). */
void aw_http_server_stop(aw_http_server *s, int grace_ms);

/* Waits for the workers to end, then frees the server. */
void aw_http_server_join(aw_http_server *s);

/* Number of connections open now, across workers. */
size_t aw_http_server_connections(const aw_http_server *s);

/* Monotonic clock in nanoseconds. */
uint64_t aw_http_now_ns(void);

#endif
