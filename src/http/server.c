/* The HTTP/1.1 server of the gateway (see server.h). One connection is a small state
 * machine: idle -> reading the head -> reading the body -> handling -> idle (keep-alive) or
 * closing. Deadlines are absolute per phase (a client trickling one byte at a time cannot
 * keep a connection forever), sizes are checked before anything is buffered beyond them. */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tls.h"

/* Unsent answers a connection may queue before it stops reading requests. */
#define AW_HTTP_OUTPUT_CAP (64 * 1024)

typedef enum conn_state {
    CONN_IDLE,     /* waiting for the first byte of a request */
    CONN_HEAD,     /* reading the head */
    CONN_BODY,     /* reading the body */
    CONN_HANDLING, /* the handler owns the request */
    CONN_CLOSING,  /* flushing the last response, then free */
} conn_state;

typedef struct worker worker;

struct aw_http_conn {
    worker *w;
    struct bufferevent *bev;
    struct event *timer;
    conn_state state;
    bool peer_gone;      /* the socket failed while the handler owned the request */
    bool read_eof;       /* the client closed its sending side: answer, then close */
    bool output_blocked; /* too much unsent output: reading paused until it drains */
    bool dispatching;    /* inside process_input: respond must not recurse */
    bool tls;
    bool tls_checked;
    size_t head_len;
    size_t body_len;
    bool keep_alive;
    struct evbuffer *staging; /* an answer being built, before it goes to the socket */
    uint8_t *buf;             /* the current request's bytes */
    size_t buf_cap;
    aw_http_request req;
    char peer_addr[64];
    struct aw_http_conn *prev, *next;
};

struct worker {
    aw_http_server *srv;
    int index;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *stop_event;
    void *user;
    aw_http_conn *conns;
    size_t n_conns;
    bool draining;
};

struct aw_http_server {
    aw_http_server_config cfg;
    worker *workers;
    int n_workers;
    atomic_size_t connections;
    int grace_ms;
};

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Status";
    }
}

uint64_t aw_http_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- connection lifetime ----------------------------------------------------------- */

static void conn_free(aw_http_conn *c)
{
    worker *w = c->w;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    w->n_conns--;
    atomic_fetch_sub(&w->srv->connections, 1);
    if (c->timer != NULL) {
        event_free(c->timer);
    }
    if (c->bev != NULL) {
        bufferevent_free(c->bev);
    }
    if (c->staging != NULL) {
        evbuffer_free(c->staging);
    }
    free(c->buf);
    free(c);
    if (w->draining && w->n_conns == 0) {
        event_base_loopbreak(w->base);
    }
}

static void set_deadline(aw_http_conn *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_add(c->timer, &tv);
}

/* ---- reading requests -------------------------------------------------------------- */

static bool token_in_list(aw_span value, const char *token)
{
    size_t tlen = strlen(token);
    size_t i = 0;
    while (i < value.len) {
        while (i < value.len &&
               (value.ptr[i] == ' ' || value.ptr[i] == '\t' || value.ptr[i] == ',')) {
            i++;
        }
        size_t start = i;
        while (i < value.len && value.ptr[i] != ',') {
            i++;
        }
        size_t end = i;
        while (end > start && (value.ptr[end - 1] == ' ' || value.ptr[end - 1] == '\t')) {
            end--;
        }
        if (aw_span_eq_nocase((aw_span){value.ptr + start, end - start},
                              (aw_span){(const uint8_t *)token, tlen})) {
            return true;
        }
    }
    return false;
}

/* Finds Content-Length in the head before the body is read, so the size limit applies before
 * buffering. aw_http_parse re-checks everything on the whole message later. */
static aw_result scan_head(const uint8_t *head, size_t len, size_t *body_len)
{
    *body_len = 0;
    bool seen_length = false;
    size_t i = 0;
    /* Skip the request line. */
    while (i < len && head[i] != '\n') {
        i++;
    }
    i++;
    while (i < len) {
        size_t start = i;
        while (i < len && head[i] != '\n') {
            i++;
        }
        size_t end = i;
        i++;
        if (end > start && head[end - 1] == '\r') {
            end--;
        }
        const uint8_t *colon = memchr(head + start, ':', end - start);
        if (colon == NULL) {
            continue; /* the blank line, or garbage aw_http_parse will refuse */
        }
        aw_span name = {head + start, (size_t)(colon - (head + start))};
        const uint8_t *v = colon + 1;
        while (v < head + end && (*v == ' ' || *v == '\t')) {
            v++;
        }
        const uint8_t *ve = head + end;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }
        if (aw_span_eq_nocase(name, AW_SPAN_LIT("transfer-encoding"))) {
            return AW_E_MALFORMED; /* chunked uploads are not accepted: the body must be sized */
        }
        if (aw_span_eq_nocase(name, AW_SPAN_LIT("content-length"))) {
            AW_ENSURE(v < ve && ve - v <= 15, AW_E_MALFORMED);
            size_t n = 0;
            for (const uint8_t *p = v; p < ve; p++) {
                AW_ENSURE(*p >= '0' && *p <= '9', AW_E_MALFORMED);
                n = n * 10 + (size_t)(*p - '0');
            }
            AW_ENSURE(!seen_length || n == *body_len, AW_E_MALFORMED);
            seen_length = true;
            *body_len = n;
        }
    }
    return AW_OK;
}

/* Every LF of the head is preceded by a CR. */
static bool crlf_only(const uint8_t *head, size_t len)
{
    for (const uint8_t *p = head; (p = memchr(p, '\n', len - (size_t)(p - head))) != NULL; p++) {
        if (p == head || p[-1] != '\r') {
            return false;
        }
    }
    return true;
}

static bool request_keep_alive(const aw_http_request *req, size_t head_len)
{
    /* HTTP/1.0 closes unless asked; HTTP/1.1 keeps alive unless "Connection: close". */
    const uint8_t *line_end = memchr(req->raw.ptr, '\n', head_len);
    bool http10 = line_end != NULL && line_end - req->raw.ptr >= 9 &&
                  memcmp(line_end - (line_end[-1] == '\r' ? 9 : 8), "HTTP/1.0", 8) == 0;
    bool keep = !http10;
    for (size_t i = 0; i < req->msg.n_headers; i++) {
        if (aw_span_eq_nocase(req->msg.headers[i].name, AW_SPAN_LIT("connection"))) {
            if (token_in_list(req->msg.headers[i].value, "close")) {
                keep = false;
            } else if (token_in_list(req->msg.headers[i].value, "keep-alive")) {
                keep = true;
            }
        }
    }
    return keep;
}

static void fill_tls_details(aw_http_conn *c)
{
    aw_http_request *req = &c->req;
    req->tls = c->tls;
    req->has_exporter = false;
    req->peer_cert_name[0] = '\0';
    if (!c->tls) {
        return;
    }
    struct ssl_st *ssl = bufferevent_openssl_get_ssl(c->bev);
    req->has_exporter = aw_tls_exporter(ssl, req->exporter) == AW_OK;
    if (!aw_tls_peer_name(ssl, req->peer_cert_name, sizeof(req->peer_cert_name))) {
        req->peer_cert_name[0] = '\0';
    }
}

static void dispatch(aw_http_conn *c, aw_result result)
{
    aw_http_request *req = &c->req;
    /* Reading stays enabled (no epoll_ctl pair per request): bytes of a next request just
     * wait in the input buffer, bounded by the read high-water mark, until the answer is out. */
    c->state = CONN_HANDLING;
    event_del(c->timer);
    snprintf(req->peer_addr, sizeof(req->peer_addr), "%s", c->peer_addr);
    fill_tls_details(c);
    if (result != AW_OK) {
        memset(&req->msg, 0, sizeof(req->msg));
        req->msg.headers = req->headers;
        req->keep_alive = false;
    }
    c->w->srv->cfg.handler(c, req, result, c->w->user);
}

static aw_result take_request(aw_http_conn *c, struct evbuffer *in)
{
    size_t total = c->head_len + c->body_len;
    if (c->buf_cap < total) {
        uint8_t *nb = realloc(c->buf, total);
        AW_ENSURE(nb != NULL, AW_E_INTERNAL);
        c->buf = nb;
        c->buf_cap = total;
    }
    if (evbuffer_remove(in, c->buf, total) != (int)total) {
        return AW_E_INTERNAL;
    }
    aw_http_request *req = &c->req;
    req->raw = (aw_span){c->buf, total};
    req->head_len = c->head_len;
    aw_result r = aw_http_parse(req->raw, req->headers, AW_HTTP_MAX_HEADERS, &req->msg);
    if (r != AW_OK) {
        return r;
    }
    AW_ENSURE(!req->msg.is_response, AW_E_MALFORMED);
    req->msg.scheme = c->tls ? AW_SPAN_LIT("https") : AW_SPAN_LIT("http");
    req->keep_alive = request_keep_alive(req, c->head_len);
    return AW_OK;
}

static void process_input(aw_http_conn *c)
{
    const aw_http_limits *lim = &c->w->srv->cfg.limits;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    c->dispatching = true;
    for (;;) {
        if (evbuffer_get_length(out) > AW_HTTP_OUTPUT_CAP) {
            /* A client that pipelines and never reads: wait until it takes its answers
             * (write_cb resumes), or the write deadline closes it. */
            c->output_blocked = true;
            bufferevent_disable(c->bev, EV_READ);
            set_deadline(c, lim->idle_timeout_ms);
            break;
        }
        size_t avail = evbuffer_get_length(in);
        if (c->state == CONN_IDLE) {
            if (avail == 0) {
                break;
            }
            c->state = CONN_HEAD;
            c->req.started_ns = aw_http_now_ns();
            set_deadline(c, lim->header_timeout_ms);
        }
        if (c->state == CONN_HEAD) {
            struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (end.pos < 0) {
                if (avail > lim->max_header_bytes) {
                    dispatch(c, AW_E_TOO_LARGE);
                    continue;
                }
                break;
            }
            c->head_len = (size_t)end.pos + 4;
            if (c->head_len > lim->max_header_bytes) {
                dispatch(c, AW_E_TOO_LARGE);
                continue;
            }
            const uint8_t *head = evbuffer_pullup(in, (ev_ssize_t)c->head_len);
            aw_result r = head != NULL ? scan_head(head, c->head_len, &c->body_len) : AW_E_INTERNAL;
            if (r == AW_OK && !crlf_only(head, c->head_len)) {
                /* A bare LF would let the parser end the head where this framing does not
                 * (and take the rest as a body the upstream reads as another request). */
                r = AW_E_MALFORMED;
            }
            if (r == AW_OK && c->body_len > lim->max_body_bytes) {
                r = AW_E_TOO_LARGE;
            }
            if (r != AW_OK) {
                dispatch(c, r);
                continue;
            }
            c->state = CONN_BODY;
            set_deadline(c, lim->body_timeout_ms);
        }
        if (c->state == CONN_BODY) {
            if (avail < c->head_len + c->body_len) {
                break;
            }
            aw_result r = take_request(c, in);
            dispatch(c, r);
            continue;
        }
        break; /* HANDLING or CLOSING: nothing to read until the answer is out */
    }
    c->dispatching = false;
    if (c->state == CONN_IDLE && !c->peer_gone && !c->output_blocked) {
        set_deadline(c, lim->idle_timeout_ms);
    }
}

/* The output drained below the low-water mark: take the next pipelined request. */
static void write_cb(struct bufferevent *bev, void *arg)
{
    aw_http_conn *c = arg;
    if (!c->output_blocked) {
        return;
    }
    c->output_blocked = false;
    if (c->state != CONN_HANDLING) {
        bufferevent_enable(bev, EV_READ);
        event_del(c->timer);
        process_input(c);
    }
}

/* ---- writing responses ------------------------------------------------------------- */

static void event_cb(struct bufferevent *bev, short what, void *arg);

/* Hands the staged answer to the kernel at once when nothing is queued before it: one
 * writev, instead of arming EPOLLOUT, waiting a loop turn and disarming it again (two
 * epoll_ctl calls per answer). What the socket does not take goes through the bufferevent.
 * TLS connections always go through the bufferevent. */
static void send_staged(aw_http_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (!c->tls && evbuffer_get_length(out) == 0) {
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        while (evbuffer_get_length(c->staging) > 0 && evbuffer_write(c->staging, fd) > 0) {
        }
    }
    if (evbuffer_get_length(c->staging) > 0) {
        evbuffer_add_buffer(out, c->staging);
    }
}

static void closing_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_free(arg);
}

void aw_http_respond(aw_http_conn *c, const aw_http_response *resp)
{
    if (c->peer_gone) {
        conn_free(c);
        return;
    }
    bool close = resp->close || !c->req.keep_alive || c->w->draining || c->read_eof;
    struct evbuffer *out = c->staging;
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", resp->status, status_text(resp->status));
    for (size_t i = 0; i < resp->n_fields; i++) {
        const aw_http_field *f = &resp->fields[i];
        size_t vlen = f->value_len != 0 ? f->value_len : strlen(f->value);
        evbuffer_add(out, f->name, strlen(f->name));
        evbuffer_add(out, ": ", 2);
        evbuffer_add(out, f->value, vlen);
        evbuffer_add(out, "\r\n", 2);
    }
    evbuffer_add_printf(out, "Content-Length: %zu\r\n%s\r\n", resp->body.len,
                        close ? "Connection: close\r\n" : "");
    if (resp->body.len > 0) {
        evbuffer_add(out, resp->body.ptr, resp->body.len);
    }
    send_staged(c);
    if (close) {
        c->state = CONN_CLOSING;
        event_del(c->timer);
        bufferevent_disable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
            /* All sent already: free from the loop, not from under a caller. */
            event_active(c->timer, EV_TIMEOUT, 1);
            return;
        }
        /* Free once the kernel has the bytes (the write callback fires at low-water 0). */
        bufferevent_setcb(c->bev, NULL, closing_write_cb, event_cb, c);
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0); /* only once all is sent */
        bufferevent_enable(c->bev, EV_WRITE);
        /* A client that does not read its last answer is dropped after the idle time. */
        set_deadline(c, c->w->srv->cfg.limits.idle_timeout_ms);
        return;
    }
    c->state = CONN_IDLE;
    if (!c->output_blocked) {
        bufferevent_enable(c->bev, EV_READ); /* a no-op unless a half-close disabled it */
    }
    if (!c->dispatching) {
        process_input(c);
    }
}

struct event_base *aw_http_conn_base(aw_http_conn *c)
{
    return c->w->base;
}

/* ---- libevent callbacks ------------------------------------------------------------ */

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    process_input(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    aw_http_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        return;
    }
    bool eof_only = (what & BEV_EVENT_EOF) && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT));
    if (eof_only && c->state != CONN_CLOSING) {
        /* A half-close: the client sent all it will send but may still read. Answer what
         * is pending, then close. */
        c->read_eof = true;
        bufferevent_disable(c->bev, EV_READ);
        if (c->state == CONN_HANDLING) {
            return;
        }
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
            c->state = CONN_CLOSING;
            bufferevent_setcb(c->bev, NULL, closing_write_cb, event_cb, c);
            bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0); /* only once all is sent */
            bufferevent_enable(c->bev, EV_WRITE);
            set_deadline(c, c->w->srv->cfg.limits.idle_timeout_ms);
            return;
        }
        conn_free(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if (c->state == CONN_HANDLING) {
            /* The handler still owns the request; free when it answers. */
            c->peer_gone = true;
            event_del(c->timer);
            bufferevent_disable(c->bev, EV_READ | EV_WRITE);
            return;
        }
        conn_free(c);
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    aw_http_conn *c = arg;
    if (c->output_blocked && c->state != CONN_HANDLING) {
        conn_free(c); /* it would not read its answers within the idle time */
        return;
    }
    switch (c->state) {
    case CONN_HEAD:
    case CONN_BODY:
        /* A slow client: answer 408 and close. */
        c->dispatching = true;
        dispatch(c, AW_E_TIMEOUT);
        c->dispatching = false;
        break;
    case CONN_IDLE:
    case CONN_CLOSING:
        conn_free(c);
        break;
    case CONN_HANDLING:
        break;
    }
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    (void)salen;
    worker *w = arg;
    aw_http_server *srv = w->srv;
    if (w->draining || atomic_load(&srv->connections) >= srv->cfg.limits.max_connections) {
        evutil_closesocket(fd);
        return;
    }
    aw_http_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->w = w;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char host[48] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)sa;
        evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)sa;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(c->peer_addr, sizeof(c->peer_addr), "%s:%d", host, port);
    if (srv->cfg.tls != NULL) {
        struct ssl_st *ssl = aw_tls_new(srv->cfg.tls, true, NULL);
        c->bev = ssl == NULL
                     ? NULL
                     : bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE);
        if (c->bev != NULL) {
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        }
        c->tls = true;
    } else {
        c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    c->timer = evtimer_new(w->base, timer_cb, c);
    c->staging = evbuffer_new();
    if (c->bev == NULL || c->timer == NULL || c->staging == NULL) {
        if (c->bev == NULL) {
            evutil_closesocket(fd);
        } else {
            bufferevent_free(c->bev);
        }
        if (c->timer != NULL) {
            event_free(c->timer);
        }
        if (c->staging != NULL) {
            evbuffer_free(c->staging);
        }
        free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    w->n_conns++;
    atomic_fetch_add(&srv->connections, 1);
    c->state = CONN_IDLE;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, AW_HTTP_OUTPUT_CAP / 4, 0);
    /* Reading pauses when this much waits unparsed: one whole request at its limits, plus
     * the start of the next. */
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             srv->cfg.limits.max_header_bytes + srv->cfg.limits.max_body_bytes +
                                 AW_HTTP_OUTPUT_CAP);
    bufferevent_enable(c->bev, EV_READ);
    /* The TLS handshake and the first request share the header deadline. */
    set_deadline(c, srv->cfg.limits.header_timeout_ms);
}

/* ---- workers ----------------------------------------------------------------------- */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    worker *w = arg;
    w->draining = true;
    if (w->listener != NULL) {
        evconnlistener_free(w->listener);
        w->listener = NULL;
    }
    /* Idle keep-alive connections go now; requests in progress get the grace period. */
    aw_http_conn *c = w->conns;
    while (c != NULL) {
        aw_http_conn *next = c->next;
        if (c->state == CONN_IDLE) {
            conn_free(c);
        }
        c = next;
    }
    if (w->n_conns == 0) {
        event_base_loopbreak(w->base);
        return;
    }
    struct timeval tv = {w->srv->grace_ms / 1000, (w->srv->grace_ms % 1000) * 1000};
    event_base_loopexit(w->base, &tv);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    aw_http_server *srv = w->srv;
    if (srv->cfg.worker_init != NULL) {
        w->user = srv->cfg.worker_init(w->index, w->base, srv->cfg.arg);
    }
    event_base_dispatch(w->base);
    while (w->conns != NULL) {
        conn_free(w->conns);
    }
    if (srv->cfg.worker_fini != NULL) {
        srv->cfg.worker_fini(w->user, srv->cfg.arg);
    }
    return NULL;
}

static aw_result bind_listener(worker *w, struct sockaddr_storage *ss, int sslen)
{
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT;
    w->listener =
        evconnlistener_new_bind(w->base, accept_cb, w, flags, 1024, (struct sockaddr *)ss, sslen);
    return w->listener != NULL ? AW_OK : AW_E_IO;
}

/* "HOST:PORT" or "[V6]:PORT"; libevent's parser refuses port 0, which asks the kernel to
 * pick one, so a 0 is parsed as 1 and then cleared. */
static aw_result parse_listen(const char *listen, struct sockaddr_storage *ss, int *sslen)
{
    char text[128];
    size_t n = strlen(listen);
    AW_ENSURE(n >= 3 && n < sizeof(text), AW_E_INVALID_ARG);
    memcpy(text, listen, n + 1);
    bool zero = strcmp(text + n - 2, ":0") == 0;
    if (zero) {
        text[n - 1] = '1';
    }
    AW_ENSURE(evutil_parse_sockaddr_port(text, (struct sockaddr *)ss, sslen) == 0,
              AW_E_INVALID_ARG);
    if (zero) {
        if (ss->ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)(void *)ss)->sin6_port = 0;
        } else {
            ((struct sockaddr_in *)(void *)ss)->sin_port = 0;
        }
    }
    return AW_OK;
}

static void server_free(aw_http_server *s)
{
    for (int i = 0; i < s->n_workers; i++) {
        worker *w = &s->workers[i];
        if (w->listener != NULL) {
            evconnlistener_free(w->listener);
        }
        if (w->stop_event != NULL) {
            event_free(w->stop_event);
        }
        if (w->base != NULL) {
            event_base_free(w->base);
        }
    }
    free(s->workers);
    free(s);
}

aw_result aw_http_server_start(const aw_http_server_config *cfg, aw_http_server **out, int *port)
{
    AW_ENSURE(cfg->workers >= 1 && cfg->workers <= 256 && cfg->handler != NULL, AW_E_INVALID_ARG);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))evthread_use_pthreads);

    struct sockaddr_storage ss;
    int sslen = (int)sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    AW_ENSURE(parse_listen(cfg->listen, &ss, &sslen) == AW_OK, AW_E_INVALID_ARG);

    aw_http_server *s = calloc(1, sizeof(*s));
    AW_ENSURE(s != NULL, AW_E_INTERNAL);
    s->cfg = *cfg;
    s->workers = calloc((size_t)cfg->workers, sizeof(worker));
    if (s->workers == NULL) {
        free(s);
        return AW_E_INTERNAL;
    }
    s->n_workers = cfg->workers;
    aw_result r = AW_OK;
    for (int i = 0; i < cfg->workers && r == AW_OK; i++) {
        worker *w = &s->workers[i];
        w->srv = s;
        w->index = i;
        w->base = event_base_new();
        w->stop_event = w->base != NULL ? event_new(w->base, -1, 0, stop_cb, w) : NULL;
        if (w->stop_event == NULL) {
            r = AW_E_INTERNAL;
            break;
        }
        r = bind_listener(w, &ss, sslen);
        if (r == AW_OK && i == 0) {
            /* Port 0: the others share the port the first one got. */
            struct sockaddr_storage bound;
            socklen_t blen = sizeof(bound);
            getsockname(evconnlistener_get_fd(w->listener), (struct sockaddr *)&bound, &blen);
            in_port_t p = bound.ss_family == AF_INET6
                              ? ((struct sockaddr_in6 *)(void *)&bound)->sin6_port
                              : ((struct sockaddr_in *)(void *)&bound)->sin_port;
            if (ss.ss_family == AF_INET6) {
                ((struct sockaddr_in6 *)(void *)&ss)->sin6_port = p;
            } else {
                ((struct sockaddr_in *)(void *)&ss)->sin_port = p;
            }
            *port = ntohs(p);
        }
    }
    for (int i = 0; i < s->n_workers && r == AW_OK; i++) {
        worker *w = &s->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            r = AW_E_INTERNAL;
            break;
        }
        w->started = true;
    }
    if (r != AW_OK) {
        int saved = errno;
        aw_http_server_stop(s, 0);
        aw_http_server_join(s);
        errno = saved;
        return r;
    }
    *out = s;
    return AW_OK;
}

void aw_http_server_stop(aw_http_server *s, int grace_ms)
{
    s->grace_ms = grace_ms;
    for (int i = 0; i < s->n_workers; i++) {
        if (s->workers[i].started) {
            event_active(s->workers[i].stop_event, 0, 0);
        }
    }
}

void aw_http_server_join(aw_http_server *s)
{
    for (int i = 0; i < s->n_workers; i++) {
        if (s->workers[i].started) {
            pthread_join(s->workers[i].thread, NULL);
        }
    }
    server_free(s);
}

size_t aw_http_server_connections(const aw_http_server *s)
{
    return atomic_load(&((aw_http_server *)s)->connections);
}
