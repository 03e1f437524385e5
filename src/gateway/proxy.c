/* The reverse proxy (--upstream http://HOST:PORT). The upstream receives the request line,
 * the fields and the body exactly as they were verified, minus hop-by-hop fields and
 * sensitive fields the signature does not cover (an attacker could have added those), plus
 * Authwire-User naming the key that signed. Its answer is read whole (Content-Length,
 * chunked or until close, size-capped), then signed and bound to the request like any other
 * response. Idle upstream connections are kept per worker for reuse. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authwire/exchange.h"
#include "gateway.h"

#define PROXY_MAX_HEAD   (64 * 1024)
#define PROXY_MAX_BODY   (16 * 1024 * 1024)
#define PROXY_MAX_FIELDS 64
#define PROXY_IDLE_MAX   64

typedef struct upstream_conn upstream_conn;

/* A request on its way upstream: the exchange (copied off the handler's stack) and the
 * bytes to send, built once while the verification results were at hand. */
typedef struct proxied {
    gw_exchange x;
    struct evbuffer *request;
} proxied;

struct gw_proxy {
    gw_worker *w;
    struct sockaddr_storage addr;
    int addr_len;
    upstream_conn *idle;
    size_t n_idle;
    upstream_conn *all; /* every connection, idle or busy, so shutdown can free them all */
};

typedef enum up_state {
    UP_HEAD,
    UP_BODY_LENGTH,
    UP_CHUNK_SIZE,
    UP_CHUNK_DATA,
    UP_TRAILER,
    UP_UNTIL_CLOSE
} up_state;

struct upstream_conn {
    gw_proxy *proxy;
    struct bufferevent *bev;
    upstream_conn *next_idle;
    upstream_conn *prev_all, *next_all;
    /* The request in flight (NULL while idle). */
    proxied *x;
    up_state state;
    bool reused;
    bool received; /* the upstream sent any byte for the request in flight */
    bool keep_alive;
    int status;
    size_t remaining;
    uint8_t *head; /* the response head, kept for its fields */
    size_t head_len;
    struct evbuffer *body;
};

/* ---- which request fields go upstream ---------------------------------------------- */

static const char *const hop_by_hop[] = {
    "connection", "keep-alive",          "proxy-connection",   "te", "trailer", "transfer-encoding",
    "upgrade",    "proxy-authorization", "proxy-authenticate",
};

/* Fields that change what an upstream believes about the request; dropped unless signed. */
static const char *const sensitive[] = {
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-real-ip",
    "x-original-url",
    "x-rewrite-url",
    "authwire-user",
};

static bool name_in(aw_span name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (aw_span_eq_nocase(name, aw_span_cstr(list[i]))) {
            return true;
        }
    }
    return false;
}

static bool covered_field(const gw_exchange *x, aw_span name)
{
    char lower[64];
    if (!x->authenticated || name.len >= sizeof(lower)) {
        return false;
    }
    for (size_t i = 0; i < name.len; i++) {
        lower[i] = (char)aw_ascii_lower(name.ptr[i]);
    }
    lower[name.len] = '\0';
    return aw_verified_covers(&x->verified, lower);
}

/* Whether name, read the way CGI-style upstreams read it ('_' as '-', any case), is ours:
 * the gateway alone says who signed, whatever the request covers. */
static bool names_authwire_user(aw_span name)
{
    static const char ours[] = "authwire-user";
    if (name.len != sizeof(ours) - 1) {
        return false;
    }
    for (size_t i = 0; i < name.len; i++) {
        uint8_t b = name.ptr[i] == '_' ? '-' : aw_ascii_lower(name.ptr[i]);
        if (b != (uint8_t)ours[i]) {
            return false;
        }
    }
    return true;
}

static bool forward_field(const gw_exchange *x, aw_span name)
{
    if (name_in(name, hop_by_hop, sizeof(hop_by_hop) / sizeof(hop_by_hop[0])) ||
        names_authwire_user(name) || aw_span_eq_nocase(name, AW_SPAN_LIT("content-length"))) {
        return false; /* Content-Length is written from the body actually forwarded */
    }
    /* Underscores: some servers read Foo_Bar as Foo-Bar, a field the signer never saw. */
    bool underscore = memchr(name.ptr, '_', name.len) != NULL;
    if (underscore || name_in(name, sensitive, sizeof(sensitive) / sizeof(sensitive[0]))) {
        return covered_field(x, name);
    }
    return true;
}

static aw_result build_request(const gw_exchange *x, struct evbuffer *out)
{
    const aw_http_request *req = x->req;
    const uint8_t *raw = req->raw.ptr;
    const uint8_t *line_end = memchr(raw, '\n', req->head_len);
    AW_ENSURE(line_end != NULL, AW_E_MALFORMED);
    size_t line_len = (size_t)(line_end - raw) + 1;
    int rc = evbuffer_add(out, raw, line_len); /* the request line as verified */
    for (size_t i = 0; i < req->msg.n_headers; i++) {
        const aw_header *h = &req->msg.headers[i];
        if (!forward_field(x, h->name)) {
            continue;
        }
        rc |= evbuffer_add(out, h->name.ptr, h->name.len);
        rc |= evbuffer_add(out, ": ", 2);
        rc |= evbuffer_add(out, h->value.ptr, h->value.len);
        rc |= evbuffer_add(out, "\r\n", 2);
    }
    if (x->user != NULL) {
        rc |= evbuffer_add_printf(out, "Authwire-User: %s\r\n", x->user->name) < 0;
    }
    rc |= evbuffer_add_printf(out, "Content-Length: %zu\r\n", req->msg.body.len) < 0;
    rc |= evbuffer_add(out, "Connection: keep-alive\r\n\r\n", 26);
    rc |= evbuffer_add(out, req->msg.body.ptr, req->msg.body.len);
    return rc == 0 ? AW_OK : AW_E_INTERNAL;
}

static void proxied_free(proxied *px)
{
    if (px != NULL) {
        if (px->request != NULL) {
            evbuffer_free(px->request);
        }
        gw_user_release(px->x.user);
        free(px);
    }
}

/* ---- connections ------------------------------------------------------------------- */

static upstream_conn *up_new(gw_proxy *p)
{
    upstream_conn *u = calloc(1, sizeof(*u));
    if (u != NULL) {
        u->proxy = p;
        u->next_all = p->all;
        if (p->all != NULL) {
            p->all->prev_all = u;
        }
        p->all = u;
    }
    return u;
}

static void up_free(upstream_conn *u)
{
    gw_proxy *p = u->proxy;
    if (u->prev_all != NULL) {
        u->prev_all->next_all = u->next_all;
    } else {
        p->all = u->next_all;
    }
    if (u->next_all != NULL) {
        u->next_all->prev_all = u->prev_all;
    }
    if (u->bev != NULL) {
        bufferevent_free(u->bev);
    }
    if (u->body != NULL) {
        evbuffer_free(u->body);
    }
    free(u->head);
    free(u);
}

static void up_reset(upstream_conn *u)
{
    u->x = NULL;
    u->received = false;
    u->state = UP_HEAD;
    u->status = 0;
    u->remaining = 0;
    free(u->head);
    u->head = NULL;
    u->head_len = 0;
    evbuffer_drain(u->body, evbuffer_get_length(u->body));
}

/* The exchange is over: answer the client (when not yet), recycle or close. */
static void up_finish(upstream_conn *u, bool reusable)
{
    gw_proxy *p = u->proxy;
    up_reset(u);
    if (reusable && u->keep_alive && p->n_idle < PROXY_IDLE_MAX) {
        bufferevent_set_timeouts(u->bev, NULL, NULL);
        u->next_idle = p->idle;
        p->idle = u;
        p->n_idle++;
        return;
    }
    up_free(u);
}

static void reply_upstream(upstream_conn *u)
{
    gw_exchange *x = &u->x->x;
    aw_http_field fields[PROXY_MAX_FIELDS];
    size_t n = 0;
    char *content_type = NULL;
    /* Walk the head's fields: content-type is signed by the gateway, the rest passes. */
    char *line = strchr((char *)u->head, '\n');
    while (line != NULL && n < PROXY_MAX_FIELDS) {
        line++;
        char *end = strchr(line, '\n');
        if (end == NULL) {
            break;
        }
        *end = '\0';
        if (end > line && end[-1] == '\r') {
            end[-1] = '\0';
        }
        char *colon = strchr(line, ':');
        if (colon != NULL) {
            *colon = '\0';
            char *value = colon + 1;
            while (*value == ' ' || *value == '\t') {
                value++;
            }
            aw_span name = aw_span_cstr(line);
            if (aw_span_eq_nocase(name, AW_SPAN_LIT("content-type"))) {
                content_type = value;
            } else if (!name_in(name, hop_by_hop, sizeof(hop_by_hop) / sizeof(hop_by_hop[0])) &&
                       !aw_span_eq_nocase(name, AW_SPAN_LIT("content-length")) &&
                       !aw_span_eq_nocase(name, AW_SPAN_LIT("content-digest")) &&
                       !aw_span_eq_nocase(name, AW_SPAN_LIT("signature")) &&
                       !aw_span_eq_nocase(name, AW_SPAN_LIT("signature-input")) &&
                       !(name.len >= 9 &&
                         aw_span_eq_nocase((aw_span){name.ptr, 9}, AW_SPAN_LIT("authwire-")))) {
                fields[n++] = (aw_http_field){line, value, 0};
            }
        }
        line = end;
    }
    size_t len = evbuffer_get_length(u->body);
    const uint8_t *body = len > 0 ? evbuffer_pullup(u->body, -1) : (const uint8_t *)"";
    int status = u->status >= 200 && u->status <= 599 ? u->status : 502;
    gw_reply(x, status, content_type, (aw_span){body, len}, fields, n);
    proxied_free(u->x);
    u->x = NULL;
}

static void fail_exchange(upstream_conn *u, const char *why)
{
    proxied *px = u->x;
    u->x = NULL;
    if (px != NULL) {
        gw_reply_error(&px->x, AW_E_UNAVAILABLE, why);
        proxied_free(px);
    }
    up_free(u);
}

static bool parse_head(upstream_conn *u)
{
    const char *h = (const char *)u->head;
    if (strncmp(h, "HTTP/1.", 7) != 0 || strlen(h) < 12) {
        return false;
    }
    u->status = atoi(h + 9);
    bool http10 = h[7] == '0';
    u->keep_alive = !http10;
    bool chunked = false, has_length = false;
    size_t length = 0;
    for (const char *line = strchr(h, '\n'); line != NULL; line = strchr(line + 1, '\n')) {
        const char *l = line + 1;
        if (strncasecmp(l, "content-length:", 15) == 0) {
            char *end = NULL;
            unsigned long long v = strtoull(l + 15, &end, 10);
            if (end == l + 15 || (has_length && v != length)) {
                return false;
            }
            has_length = true;
            length = (size_t)v;
        } else if (strncasecmp(l, "transfer-encoding:", 18) == 0) {
            chunked = strstr(l, "chunked") != NULL;
        } else if (strncasecmp(l, "connection:", 11) == 0) {
            const char *e = strchr(l, '\n');
            size_t n = e != NULL ? (size_t)(e - l) : strlen(l);
            char v[128];
            snprintf(v, sizeof(v), "%.*s", (int)(n < 127 ? n : 127), l);
            if (strcasestr(v, "close") != NULL) {
                u->keep_alive = false;
            }
        }
    }
    if (u->status == 204 || u->status == 304 || (u->status >= 100 && u->status < 200) ||
        aw_span_eq(u->x->x.req->msg.method, AW_SPAN_LIT("HEAD"))) {
        u->state = UP_BODY_LENGTH;
        u->remaining = 0;
    } else if (chunked) {
        u->state = UP_CHUNK_SIZE;
    } else if (has_length) {
        if (length > PROXY_MAX_BODY) {
            return false;
        }
        u->state = UP_BODY_LENGTH;
        u->remaining = length;
    } else {
        u->state = UP_UNTIL_CLOSE;
        u->keep_alive = false;
    }
    return true;
}

/* Advances the response parser; returns false on a protocol error. Sets *done when the
 * whole response is in. */
static bool up_parse(upstream_conn *u, struct evbuffer *in, bool *done)
{
    *done = false;
    for (;;) {
        switch (u->state) {
        case UP_HEAD: {
            struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (end.pos < 0) {
                return evbuffer_get_length(in) <= PROXY_MAX_HEAD;
            }
            u->head_len = (size_t)end.pos + 4;
            if (u->head_len > PROXY_MAX_HEAD || (u->head = malloc(u->head_len + 1)) == NULL) {
                return false;
            }
            evbuffer_remove(in, u->head, u->head_len);
            u->head[u->head_len] = '\0';
            if (!parse_head(u)) {
                return false;
            }
            break;
        }
        case UP_BODY_LENGTH: {
            size_t take = evbuffer_get_length(in);
            take = take < u->remaining ? take : u->remaining;
            evbuffer_remove_buffer(in, u->body, take);
            u->remaining -= take;
            if (u->remaining == 0) {
                *done = true;
            }
            return true;
        }
        case UP_CHUNK_SIZE: {
            size_t n = 0;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (line == NULL) {
                return evbuffer_get_length(in) < 1024;
            }
            char *end = NULL;
            unsigned long long size = strtoull(line, &end, 16);
            bool ok = end != line && (*end == '\0' || *end == ';');
            free(line);
            if (!ok || size > PROXY_MAX_BODY ||
                evbuffer_get_length(u->body) + size > PROXY_MAX_BODY) {
                return false;
            }
            u->remaining = (size_t)size;
            u->state = size == 0 ? UP_TRAILER : UP_CHUNK_DATA;
            break;
        }
        case UP_CHUNK_DATA: {
            size_t avail = evbuffer_get_length(in);
            if (u->remaining > 0) {
                size_t take = avail < u->remaining ? avail : u->remaining;
                evbuffer_remove_buffer(in, u->body, take);
                u->remaining -= take;
                if (u->remaining > 0) {
                    return true;
                }
            }
            if (evbuffer_get_length(in) < 2) {
                return true;
            }
            char crlf[2];
            evbuffer_remove(in, crlf, 2);
            if (crlf[0] != '\r' || crlf[1] != '\n') {
                return false;
            }
            u->state = UP_CHUNK_SIZE;
            break;
        }
        case UP_TRAILER: {
            size_t n = 0;
            char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
            if (line == NULL) {
                return evbuffer_get_length(in) < PROXY_MAX_HEAD;
            }
            free(line);
            if (n == 0) {
                *done = true;
                return true;
            }
            break;
        }
        case UP_UNTIL_CLOSE:
            evbuffer_remove_buffer(in, u->body, evbuffer_get_length(in));
            return evbuffer_get_length(u->body) <= PROXY_MAX_BODY;
        }
    }
}

static void up_read_cb(struct bufferevent *bev, void *arg)
{
    upstream_conn *u = arg;
    if (u->x == NULL) {
        /* Bytes on an idle connection: the upstream is confused; drop it. */
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        return;
    }
    bool done = false;
    u->received = true;
    if (!up_parse(u, bufferevent_get_input(bev), &done)) {
        fail_exchange(u, "upstream sent a malformed or oversized response");
        return;
    }
    if (done) {
        reply_upstream(u);
        up_finish(u, evbuffer_get_length(bufferevent_get_input(bev)) == 0);
    }
}

static void start_exchange(upstream_conn *u);

static void up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    upstream_conn *u = arg;
    gw_proxy *p = u->proxy;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1; /* small requests and answers: no Nagle delay */
        (void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return;
    }
    if (u->x == NULL) {
        /* An idle connection closed: unlink it from the pool. */
        for (upstream_conn **pp = &p->idle; *pp != NULL; pp = &(*pp)->next_idle) {
            if (*pp == u) {
                *pp = u->next_idle;
                p->n_idle--;
                break;
            }
        }
        up_free(u);
        return;
    }
    if ((what & BEV_EVENT_EOF) && u->state == UP_UNTIL_CLOSE) {
        reply_upstream(u);
        up_free(u);
        return;
    }
    const aw_span method = u->x->x.req->msg.method;
    bool idempotent = aw_span_eq(method, AW_SPAN_LIT("GET")) ||
                      aw_span_eq(method, AW_SPAN_LIT("HEAD")) ||
                      aw_span_eq(method, AW_SPAN_LIT("OPTIONS"));
    if (u->reused && !u->received && idempotent && !(what & BEV_EVENT_TIMEOUT)) {
        /* A kept-alive connection the upstream had closed before answering a byte: retry
         * once on a new one. Only for methods that may run twice: the upstream may have
         * read the request before the connection died. */
        proxied *px = u->x;
        u->x = NULL;
        up_free(u);
        upstream_conn *fresh = up_new(p);
        if (fresh == NULL) {
            gw_reply_error(&px->x, AW_E_INTERNAL, "out of memory");
            proxied_free(px);
            return;
        }
        fresh->x = px;
        start_exchange(fresh);
        return;
    }
    fail_exchange(u,
                  what & BEV_EVENT_TIMEOUT ? "upstream timed out" : "upstream connection failed");
}

static void start_exchange(upstream_conn *u)
{
    gw_proxy *p = u->proxy;
    gateway *gw = p->w->gw;
    if (u->bev == NULL) {
        u->body = evbuffer_new();
        u->bev = bufferevent_socket_new(p->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (u->body == NULL || u->bev == NULL) {
            fail_exchange(u, "out of memory");
            return;
        }
        bufferevent_setcb(u->bev, up_read_cb, NULL, up_event_cb, u);
        if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&p->addr, p->addr_len) != 0) {
            fail_exchange(u, "upstream connect failed");
            return;
        }
        /* Once per connection: enabling EV_WRITE arms EPOLLOUT even with nothing to write,
         * so doing it per request would cost two epoll_ctl calls each time. */
        bufferevent_enable(u->bev, EV_READ | EV_WRITE);
    }
    struct timeval tv = {gw->cfg.upstream_timeout_ms / 1000,
                         (gw->cfg.upstream_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(u->bev, &tv, &tv);
    u->state = UP_HEAD;
    /* Copy, not move: a retry on a fresh connection needs the bytes again. */
    struct evbuffer *out = bufferevent_get_output(u->bev);
    if (u->reused && evbuffer_get_length(out) == 0) {
        /* A connected socket with nothing queued: write at once (one writev, no EPOLLOUT
         * round trip); only what the socket does not take waits in the bufferevent. */
        struct evbuffer *copy = evbuffer_new();
        if (copy != NULL && evbuffer_add_buffer_reference(copy, u->x->request) == 0) {
            evutil_socket_t fd = bufferevent_getfd(u->bev);
            while (evbuffer_get_length(copy) > 0 && evbuffer_write(copy, fd) > 0) {
            }
            evbuffer_add_buffer(out, copy);
        } else {
            evbuffer_add_buffer_reference(out, u->x->request);
        }
        if (copy != NULL) {
            evbuffer_free(copy);
        }
    } else {
        evbuffer_add_buffer_reference(out, u->x->request);
    }
}

void gw_proxy_forward(gw_exchange *x)
{
    gw_proxy *p = x->w->proxy;
    proxied *px = calloc(1, sizeof(*px));
    if (px == NULL || (px->request = evbuffer_new()) == NULL ||
        build_request(x, px->request) != AW_OK) {
        proxied_free(px);
        gw_reply_error(x, AW_E_INTERNAL, "out of memory");
        return;
    }
    px->x = *x;
    if (px->x.user != NULL) {
        gw_user_hold(px->x.user);
    }
    upstream_conn *u = p->idle;
    if (u != NULL) {
        p->idle = u->next_idle;
        p->n_idle--;
        u->reused = true;
    } else {
        u = up_new(p);
        if (u == NULL) {
            gw_reply_error(&px->x, AW_E_INTERNAL, "out of memory");
            proxied_free(px);
            return;
        }
    }
    u->x = px;
    start_exchange(u);
}

aw_result gw_proxy_new(gw_worker *w, gw_proxy **out)
{
    const char *url = w->gw->cfg.upstream + strlen("http://");
    char hostport[256];
    size_t n = strcspn(url, "/");
    AW_ENSURE(n > 0 && n < sizeof(hostport), AW_E_INVALID_ARG);
    memcpy(hostport, url, n);
    hostport[n] = '\0';
    gw_proxy *p = calloc(1, sizeof(*p));
    AW_ENSURE(p != NULL, AW_E_INTERNAL);
    p->w = w;
    p->addr_len = (int)sizeof(p->addr);
    if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&p->addr, &p->addr_len) != 0) {
        /* A name: resolve it once, at start-up. */
        char *colon = strrchr(hostport, ':');
        const char *port = colon != NULL ? colon + 1 : "80";
        if (colon != NULL) {
            *colon = '\0';
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
        if (getaddrinfo(hostport, port, &hints, &res) != 0 || res == NULL) {
            free(p);
            return AW_E_INVALID_ARG;
        }
        memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
        p->addr_len = (int)res->ai_addrlen;
        freeaddrinfo(res);
    }
    *out = p;
    return AW_OK;
}

void gw_proxy_free(gw_proxy *p)
{
    if (p == NULL) {
        return;
    }
    /* At shutdown the client connections are gone already: requests still waiting for
     * the upstream are dropped unanswered. */
    while (p->all != NULL) {
        upstream_conn *u = p->all;
        proxied_free(u->x);
        u->x = NULL;
        up_free(u);
    }
    free(p);
}
