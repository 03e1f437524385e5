/* The attacker's own connections to the gateway (see wire.h). */
#include "wire.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authwire/bytes.h"
#include "tls.h"

#define ANSWER_MAX (4u * 1024 * 1024) /* the gateway's answers are small; a cap all the same */

aw_result aw_endpoint_from_url(const char *url, struct ssl_ctx_st *tls_ctx, aw_endpoint *e,
                               char *why, size_t why_cap)
{
    memset(e, 0, sizeof(*e));
    const char *rest;
    if (strncmp(url, "https://", 8) == 0) {
        e->tls = true;
        rest = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        rest = url + 7;
    } else {
        snprintf(why, why_cap, "'%s' is not an http:// or https:// URL", url);
        return AW_E_INVALID_ARG;
    }
    size_t auth_len = strcspn(rest, "/?#");
    char host[256];
    const char *port = e->tls ? "443" : "80";
    char port_buf[8];
    if (auth_len == 0 || auth_len >= sizeof(e->authority)) {
        snprintf(why, why_cap, "'%s' has no usable host", url);
        return AW_E_INVALID_ARG;
    }
    memcpy(e->authority, rest, auth_len);
    e->authority[auth_len] = '\0';
    const char *a = e->authority;
    const char *host_end;
    const char *host_start = a;
    if (a[0] == '[') { /* an IPv6 literal */
        host_start = a + 1;
        host_end = strchr(a, ']');
        if (host_end == NULL) {
            snprintf(why, why_cap, "'%s': unterminated IPv6 literal", url);
            return AW_E_INVALID_ARG;
        }
    } else {
        host_end = a + strcspn(a, ":");
    }
    size_t host_len = (size_t)(host_end - host_start);
    const char *colon = strchr(host_end, ':');
    if (colon != NULL) {
        size_t n = strlen(colon + 1);
        if (n == 0 || n >= sizeof(port_buf) || strspn(colon + 1, "0123456789") != n) {
            snprintf(why, why_cap, "'%s': bad port", url);
            return AW_E_INVALID_ARG;
        }
        memcpy(port_buf, colon + 1, n + 1);
        port = port_buf;
    }
    if (host_len == 0 || host_len >= sizeof(host)) {
        snprintf(why, why_cap, "'%s' has no usable host", url);
        return AW_E_INVALID_ARG;
    }
    memcpy(host, host_start, host_len);
    host[host_len] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(why, why_cap, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return AW_E_INVALID_ARG;
    }
    memcpy(&e->addr, res->ai_addr, res->ai_addrlen);
    e->addr_len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(e->server_name, sizeof(e->server_name), "%s", host);
    e->tls_ctx = tls_ctx;
    return AW_OK;
}

struct bufferevent *aw_endpoint_connect(const aw_endpoint *e, struct event_base *base)
{
    struct bufferevent *bev;
    if (e->tls) {
        struct ssl_st *ssl = aw_tls_new(e->tls_ctx, false, e->server_name);
        if (ssl == NULL) {
            return NULL;
        }
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev != NULL) {
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        }
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (bev == NULL) {
        return NULL;
    }
    struct sockaddr_storage addr = e->addr;
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&addr, (int)e->addr_len) != 0) {
        bufferevent_free(bev);
        return NULL;
    }
    return bev;
}

/* ---- framing ------------------------------------------------------------------------ */

static bool line_is_field(const uint8_t *line, size_t len, const char *name, aw_span *value)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || !aw_span_eq_nocase((aw_span){line, n}, aw_span_cstr(name))) {
        return false;
    }
    size_t s = n + 1, t = len;
    while (s < t && (line[s] == ' ' || line[s] == '\t')) {
        s++;
    }
    while (t > s && (line[t - 1] == ' ' || line[t - 1] == '\t' || line[t - 1] == '\r')) {
        t--;
    }
    *value = (aw_span){line + s, t - s};
    return true;
}

aw_frame aw_http_frame(const uint8_t *buf, size_t len, bool response, size_t max, size_t *msg_len)
{
    /* The head ends at the first empty line (CRLF CRLF or LF LF). */
    size_t head = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') {
            head = i + 2;
            break;
        }
        if (buf[i] == '\n' && buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n') {
            head = i + 3;
            break;
        }
    }
    if (head == 0) {
        return len > max ? AW_FRAME_BAD : AW_FRAME_MORE;
    }
    bool has_length = false;
    uint64_t length = 0;
    int status = 0;
    if (response) {
        if (head < 12 || memcmp(buf, "HTTP/1.", 7) != 0) {
            return AW_FRAME_BAD;
        }
        for (int i = 9; i < 12; i++) {
            if (buf[i] < '0' || buf[i] > '9') {
                return AW_FRAME_BAD;
            }
            status = status * 10 + (buf[i] - '0');
        }
    }
    size_t pos = 0;
    while (pos < head) {
        const uint8_t *nl = memchr(buf + pos, '\n', head - pos);
        size_t end = nl != NULL ? (size_t)(nl - buf) : head;
        aw_span v;
        const uint8_t *line = buf + pos;
        size_t line_len = end - pos;
        if (line_is_field(line, line_len, "transfer-encoding", &v)) {
            return AW_FRAME_BAD;
        }
        if (line_is_field(line, line_len, "content-length", &v)) {
            uint64_t n = 0;
            if (v.len == 0 || v.len > 15) {
                return AW_FRAME_BAD;
            }
            for (size_t i = 0; i < v.len; i++) {
                if (v.ptr[i] < '0' || v.ptr[i] > '9') {
                    return AW_FRAME_BAD;
                }
                n = n * 10 + (uint64_t)(v.ptr[i] - '0');
            }
            if (has_length && n != length) {
                return AW_FRAME_BAD;
            }
            has_length = true;
            length = n;
        }
        pos = end + 1;
    }
    if (response && !has_length && !(status < 200 || status == 204 || status == 304)) {
        if (len > max) {
            return AW_FRAME_BAD;
        }
        *msg_len = len;
        return AW_FRAME_UNTIL_CLOSE;
    }
    if (length > max || head + length > max) {
        return AW_FRAME_BAD;
    }
    if (len < head + length) {
        return AW_FRAME_MORE;
    }
    *msg_len = head + (size_t)length;
    return AW_FRAME_COMPLETE;
}

/* ---- one exchange ------------------------------------------------------------------- */

#define WRITE_PIECE (16 * 1024)

typedef struct exchange {
    struct event_base *base;
    aw_wire_answer *out;
    bool done;
    const uint8_t *req; /* written a piece at a time, and no more once an answer begins: a */
    size_t len, off;    /* gateway that refuses a huge request answers and closes early */
    struct event *timer;
    bool grace; /* the write side failed: what can still be read gets a moment */
} exchange;

static void feed(struct bufferevent *bev, exchange *x)
{
    if (x->off < x->len && evbuffer_get_length(bufferevent_get_input(bev)) == 0) {
        size_t n = x->len - x->off < WRITE_PIECE ? x->len - x->off : WRITE_PIECE;
        bufferevent_write(bev, x->req + x->off, n);
        x->off += n;
    }
}

static void exchange_write(struct bufferevent *bev, void *arg)
{
    feed(bev, arg);
}

static void finish(exchange *x)
{
    x->done = true;
    event_base_loopbreak(x->base);
}

static void exchange_read(struct bufferevent *bev, void *arg)
{
    exchange *x = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    size_t msg_len = 0;
    aw_frame f = aw_http_frame(evbuffer_pullup(in, -1), len, true, ANSWER_MAX, &msg_len);
    if (f == AW_FRAME_COMPLETE || f == AW_FRAME_BAD || len > ANSWER_MAX) {
        finish(x);
    }
}

static void exchange_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    exchange *x = arg;
    if (what & BEV_EVENT_CONNECTED) {
        x->out->connected = true;
        return;
    }
    if ((what & BEV_EVENT_WRITING) && !x->grace) {
        /* The gateway closed while we were still sending (a refused oversized request): its
         * answer may still be readable. */
        x->out->closed = true;
        x->off = x->len;
        x->grace = true;
        struct timeval tv = {0, 500 * 1000};
        evtimer_add(x->timer, &tv);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        x->out->closed = true;
        finish(x);
    }
}

static void exchange_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    exchange *x = arg;
    x->out->timed_out = !x->grace;
    finish(x);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of a field in a raw head, into out ("" when absent). */
static void head_field(const uint8_t *raw, size_t len, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *nl = memchr(raw + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - raw) : len;
        if (end == pos || (end == pos + 1 && raw[pos] == '\r')) {
            return; /* the end of the head */
        }
        aw_span v;
        if (line_is_field(raw + pos, end - pos, name, &v)) {
            snprintf(out, cap, "%.*s", (int)v.len, (const char *)v.ptr);
            return;
        }
        pos = end + 1;
    }
}

aw_result aw_wire_exchange(const aw_endpoint *e, const uint8_t *req, size_t len, int timeout_ms,
                           aw_wire_answer *out)
{
    memset(out, 0, sizeof(*out));
    exchange x = {.out = out, .req = req, .len = len};
    x.base = event_base_new();
    AW_ENSURE(x.base != NULL, AW_E_INTERNAL);
    double t0 = now_seconds();
    struct bufferevent *bev = aw_endpoint_connect(e, x.base);
    struct event *timer = evtimer_new(x.base, exchange_timeout, &x);
    x.timer = timer;
    aw_result r = AW_OK;
    if (bev == NULL || timer == NULL) {
        r = AW_E_IO;
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(timer, &tv);
        bufferevent_setcb(bev, exchange_read, exchange_write, exchange_event, &x);
        feed(bev, &x);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        event_base_dispatch(x.base);
        struct evbuffer *in = bufferevent_get_input(bev);
        size_t n = evbuffer_get_length(in);
        out->raw = malloc(n + 1);
        if (out->raw == NULL) {
            r = AW_E_INTERNAL;
        } else {
            evbuffer_remove(in, out->raw, n);
            out->raw[n] = '\0';
            out->raw_len = n;
            if (n >= 12 && memcmp(out->raw, "HTTP/1.", 7) == 0) {
                out->status = atoi((const char *)out->raw + 9);
            }
            head_field(out->raw, n, "authwire-error", out->error, sizeof(out->error));
        }
        if (!out->connected) {
            r = AW_E_IO;
        }
    }
    out->seconds = now_seconds() - t0;
    if (timer != NULL) {
        event_free(timer);
    }
    if (bev != NULL) {
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        bufferevent_free(bev);
    }
    /* Callbacks deferred when the loop stopped hold references to the connection: run them
     * out, or the TLS connection is never freed. */
    event_base_loop(x.base, EVLOOP_NONBLOCK);
    event_base_free(x.base);
    return r;
}

void aw_wire_answer_free(aw_wire_answer *a)
{
    free(a->raw);
    memset(a, 0, sizeof(*a));
}

/* ---- /metrics ------------------------------------------------------------------------ */

aw_result aw_wire_counters_read(const aw_endpoint *e, aw_wire_counters *out)
{
    memset(out, 0, sizeof(*out));
    char req[512];
    int n =
        snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                 e->authority);
    AW_ENSURE(n > 0 && (size_t)n < sizeof(req), AW_E_INVALID_ARG);
    aw_wire_answer a;
    aw_result r = aw_wire_exchange(e, (const uint8_t *)req, (size_t)n, 5000, &a);
    if (r == AW_OK && a.status != 200) {
        r = AW_E_UNAVAILABLE;
    }
    static const char started[] = "\nprocess_start_time_seconds ";
    const char *s = r == AW_OK ? strstr((const char *)a.raw, started) : NULL;
    if (s != NULL) {
        s += sizeof(started) - 1;
        size_t len = strspn(s, "0123456789.");
        if (len < sizeof(out->started)) {
            memcpy(out->started, s, len);
            out->started[len] = '\0';
        }
    }
    static const char prefix[] = "authwire_requests_total{outcome=\"";
    const char *p = r == AW_OK ? (const char *)a.raw : NULL;
    while (p != NULL && (p = strstr(p, prefix)) != NULL) {
        p += sizeof(prefix) - 1;
        bool ok = strncmp(p, "ok\"", 3) == 0;
        const char *reason = strstr(p, "reason=\"");
        const char *close = reason != NULL ? strchr(reason + 8, '"') : NULL;
        if (close == NULL) {
            break;
        }
        size_t rl = (size_t)(close - (reason + 8));
        if (!ok && out->n < AW_WIRE_MAX_REASONS && rl < sizeof(out->reasons[0].reason)) {
            memcpy(out->reasons[out->n].reason, reason + 8, rl);
            out->reasons[out->n].reason[rl] = '\0';
            out->reasons[out->n].count = strtoull(close + 2, NULL, 10);
            out->n++;
        }
        p = close;
    }
    aw_wire_answer_free(&a);
    return r;
}

void aw_wire_counters_diff(const aw_wire_counters *before, const aw_wire_counters *after, char *out,
                           size_t cap)
{
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)out, cap - 1);
    for (size_t i = 0; i < after->n; i++) {
        uint64_t was = 0;
        for (size_t j = 0; j < before->n; j++) {
            if (strcmp(before->reasons[j].reason, after->reasons[i].reason) == 0) {
                was = before->reasons[j].count;
            }
        }
        if (after->reasons[i].count > was) {
            if (w.len > 0) {
                aw_writer_byte(&w, '+');
            }
            aw_writer_cstr(&w, after->reasons[i].reason);
        }
    }
    out[w.overflow ? 0 : w.len] = '\0';
}
