/* The attacker's own connections to the gateway (src/attack): where the gateway is, one
 * request/answer exchange over a fresh TCP or TLS connection with a hard deadline, HTTP
 * framing of a byte stream, and the gateway's /metrics counters of rejection reasons.
 *
 * Everything here runs on libevent with a private event base per call, in the calling
 * thread; the proxy (proxy.h) connects upstream with aw_endpoint_connect on its own base. */
#ifndef AUTHWIRE_ATTACK_WIRE_H
#define AUTHWIRE_ATTACK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "authwire/result.h"

struct event_base;
struct bufferevent;
struct ssl_ctx_st;

/* A gateway (or any HTTP server) to connect to. */
typedef struct aw_endpoint {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    bool tls;
    struct ssl_ctx_st *tls_ctx; /* borrowed: trusts the gateway's CA */
    char server_name[256];      /* the name its certificate must carry (SNI too) */
    char authority[300];        /* host:port as a URL names it */
} aw_endpoint;

/* Fills e from an http:// or https:// URL (any path is ignored); the host must be an IP
 * literal or a name getaddrinfo resolves. tls_ctx is stored for https. AW_E_INVALID_ARG with
 * a reason in why. */
aw_result aw_endpoint_from_url(const char *url, struct ssl_ctx_st *tls_ctx, aw_endpoint *e,
                               char *why, size_t why_cap) AW_MUST_CHECK;

/* A bufferevent connecting to e on base (TLS handshake included for https), or NULL. */
struct bufferevent *aw_endpoint_connect(const aw_endpoint *e, struct event_base *base);

/* Framing of one HTTP/1.1 message at the start of a byte stream. */
typedef enum aw_frame {
    AW_FRAME_MORE,        /* incomplete: read more */
    AW_FRAME_COMPLETE,    /* *msg_len bytes are one message */
    AW_FRAME_UNTIL_CLOSE, /* a response without Content-Length: it ends when the peer closes */
    AW_FRAME_BAD,         /* not a message this framing reads (chunked, over max, garbage) */
} aw_frame;

/* Content-Length framing only (the one framing authwire uses); requests without it have no
 * body; responses without it run until close (1xx, 204 and 304 have none). A message larger
 * than max is AW_FRAME_BAD. */
aw_frame aw_http_frame(const uint8_t *buf, size_t len, bool response, size_t max, size_t *msg_len);

/* One exchange on a fresh connection. */
typedef struct aw_wire_answer {
    uint8_t *raw; /* what came back (malloc'd, NUL-terminated; raw_len bytes) */
    size_t raw_len;
    int status;     /* 0 when no status line came */
    char error[64]; /* its Authwire-Error, "" when none */
    bool timed_out; /* the deadline passed first */
    bool closed;    /* the gateway closed the connection */
    bool connected; /* the connection (and TLS handshake) was made */
    double seconds; /* from connecting to the answer */
} aw_wire_answer;

/* Connects to e, writes req (len bytes; it may be a part of a message, to play a slow
 * client), and waits up to timeout_ms for one whole answer (or the close). Returns AW_OK when
 * the exchange ran (look at out), AW_E_IO when the connection failed. Release out with
 * aw_wire_answer_free. */
aw_result aw_wire_exchange(const aw_endpoint *e, const uint8_t *req, size_t len, int timeout_ms,
                           aw_wire_answer *out) AW_MUST_CHECK;
void aw_wire_answer_free(aw_wire_answer *a);

/* The gateway's request counters by reason (authwire_requests_total from /metrics),
 * outcome "ok" left out. */
#define AW_WIRE_MAX_REASONS 96
typedef struct aw_wire_counters {
    char started[32]; /* process_start_time_seconds as shown ("" when absent) */
    size_t n;
    struct {
        char reason[48];
        uint64_t count;
    } reasons[AW_WIRE_MAX_REASONS];
} aw_wire_counters;

/* GET /metrics on e (answered on loopback only). AW_E_UNAVAILABLE when the gateway does not
 * show it. */
aw_result aw_wire_counters_read(const aw_endpoint *e, aw_wire_counters *out) AW_MUST_CHECK;

/* The reasons whose count grew from before to after, joined with '+' into out ("" when
 * none), in the gateway's order. */
void aw_wire_counters_diff(const aw_wire_counters *before, const aw_wire_counters *after, char *out,
                           size_t cap);

#endif
