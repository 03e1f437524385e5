/* The man in the middle (see proxy.h): one libevent loop in its own thread; each accepted
 * connection gets an upstream connection, and bytes or framed messages cross between the
 * two through the hook. */
#include "proxy.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#define CHUNK_MAX   (64 * 1024) /* a TCP-mode chunk handed to the hook */
#define MAX_PENDING 32          /* requests on one connection waiting for their answer */

typedef struct pconn pconn;

typedef struct side {
    pconn *c;
    struct bufferevent *bev;
    struct evbuffer *held; /* delayed output */
    struct event *release;
    bool eof;
} side;

typedef struct pending {
    char line[256];
    bool is_signed;
    bool swallow; /* the answer to a duplicate: recorded, not passed on */
} pending;

struct pconn {
    aw_proxy *p;
    int id;
    side down; /* toward the client */
    side up;   /* toward the upstream */
    bool raw;  /* framing gave up: bytes from now on */
    bool closing;
    pending pend[MAX_PENDING];
    size_t pend_head, pend_n;
    struct event *deadline;
    pconn *prev, *next;
};

struct aw_proxy {
    aw_proxy_config cfg;
    aw_endpoint upstream;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *stop;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pconn *conns;
    int next_id;
    aw_proxy_record *records;
    size_t n_records, cap_records;
    size_t captured;
    bool truncated;
};

/* ---- records ------------------------------------------------------------------------- */

static uint8_t *copy_bytes(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len + 1);
    if (p != NULL) {
        memcpy(p, data, len);
        p[len] = '\0';
    }
    return p;
}

/* Appends a record (lock held); SIZE_MAX when the capture is full. */
static size_t record_add(aw_proxy *p, int conn, bool response, bool http, const uint8_t *data,
                         size_t len)
{
    if (p->truncated || p->captured + len > p->cfg.max_capture) {
        p->truncated = true;
        return SIZE_MAX;
    }
    if (p->n_records == p->cap_records) {
        size_t cap = p->cap_records == 0 ? 64 : p->cap_records * 2;
        aw_proxy_record *r = realloc(p->records, cap * sizeof(*r));
        if (r == NULL) {
            p->truncated = true;
            return SIZE_MAX;
        }
        p->records = r;
        p->cap_records = cap;
    }
    uint8_t *copy = copy_bytes(data, len);
    if (copy == NULL) {
        p->truncated = true;
        return SIZE_MAX;
    }
    p->records[p->n_records] = (aw_proxy_record){
        .conn = conn, .response = response, .http = http, .data = copy, .len = len};
    p->captured += len;
    return p->n_records++;
}

static void record_sent(aw_proxy *p, size_t i, bool passed, const uint8_t *data, size_t len)
{
    if (i == SIZE_MAX) {
        return;
    }
    aw_proxy_record *r = &p->records[i];
    r->passed = passed;
    if (data != NULL && (len != r->len || memcmp(data, r->data, len) != 0) &&
        p->captured + len <= p->cfg.max_capture) {
        r->sent = copy_bytes(data, len);
        r->sent_len = r->sent != NULL ? len : 0;
        p->captured += r->sent_len;
    }
}

size_t aw_proxy_record_count(aw_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->n_records;
    pthread_mutex_unlock(&p->lock);
    return n;
}

aw_result aw_proxy_record_get(aw_proxy *p, size_t i, aw_proxy_record *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->lock);
    aw_result r = AW_E_NOT_FOUND;
    if (i < p->n_records) {
        *out = p->records[i];
        out->data = copy_bytes(p->records[i].data, p->records[i].len);
        out->sent = p->records[i].sent != NULL
                        ? copy_bytes(p->records[i].sent, p->records[i].sent_len)
                        : NULL;
        r = out->data != NULL && (p->records[i].sent == NULL || out->sent != NULL) ? AW_OK
                                                                                   : AW_E_INTERNAL;
        if (r != AW_OK) {
            aw_proxy_record_free(out);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

void aw_proxy_record_free(aw_proxy_record *r)
{
    free(r->data);
    free(r->sent);
    memset(r, 0, sizeof(*r));
}

bool aw_proxy_record_truncated(aw_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    bool t = p->truncated;
    pthread_mutex_unlock(&p->lock);
    return t;
}

void aw_proxy_lock(aw_proxy *p)
{
    pthread_mutex_lock(&p->lock);
}

void aw_proxy_unlock(aw_proxy *p)
{
    pthread_mutex_unlock(&p->lock);
}

/* ---- connections --------------------------------------------------------------------- */

static void side_free(side *s)
{
    if (s->bev != NULL) {
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
    if (s->release != NULL) {
        event_free(s->release);
        s->release = NULL;
    }
    if (s->held != NULL) {
        evbuffer_free(s->held);
        s->held = NULL;
    }
}

static void conn_free(pconn *c)
{
    aw_proxy *p = c->p;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        p->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    side_free(&c->down);
    side_free(&c->up);
    if (c->deadline != NULL) {
        event_free(c->deadline);
    }
    free(c);
}

static bool side_drained(const side *s)
{
    return s->bev == NULL ||
           (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0 &&
            evbuffer_get_length(s->held) == 0 && !evtimer_pending(s->release, NULL));
}

/* After a close on one side: what is owed to the other is written, then both go. */
static void conn_close_when_drained(pconn *c)
{
    c->closing = true;
    /* Answers still owed by the upstream (a duplicated request's) are waited for: they are
     * part of the record even when nobody reads them any more. */
    bool awaiting = c->up.bev != NULL && !c->up.eof && c->pend_n > 0;
    if (!awaiting && side_drained(&c->down) && side_drained(&c->up)) {
        conn_free(c);
    }
}

static void send_to(side *dst, const uint8_t *data, size_t len, int delay_ms)
{
    if (dst->bev == NULL || len == 0) {
        return;
    }
    if (delay_ms > 0 || evbuffer_get_length(dst->held) > 0 || evtimer_pending(dst->release, NULL)) {
        evbuffer_add(dst->held, data, len);
        if (!evtimer_pending(dst->release, NULL)) {
            struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
            evtimer_add(dst->release, &tv);
        }
        return;
    }
    bufferevent_write(dst->bev, data, len);
}

static void release_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    side *s = arg;
    if (s->bev != NULL) {
        bufferevent_write_buffer(s->bev, s->held);
    }
    if (s->c->closing) {
        conn_close_when_drained(s->c);
    }
}

static void request_line(const aw_pmsg *m, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s", m->method, m->target != NULL ? m->target : "");
}

/* One message or chunk: record, hook, pass on. false when the connection is gone. */
static bool handle(pconn *c, aw_pmsg *m, const uint8_t *data, size_t len)
{
    aw_proxy *p = c->p;
    side *src = m->response ? &c->up : &c->down;
    side *dst = m->response ? &c->down : &c->up;
    pthread_mutex_lock(&p->lock);
    bool swallow = false;
    if (m->response && m->http && c->pend_n > 0) {
        pending *pe = &c->pend[c->pend_head];
        snprintf(m->request_line, sizeof(m->request_line), "%s", pe->line);
        m->request_signed = pe->is_signed;
        swallow = pe->swallow;
        c->pend_head = (c->pend_head + 1) % MAX_PENDING;
        c->pend_n--;
    }
    size_t rec = record_add(p, c->id, m->response, m->http, data, len);
    bool was_signed = aw_pmsg_signed(m); /* as the client sent it, before any edit */
    aw_proxy_action act = AW_PROXY_PASS;
    if (!swallow && p->cfg.hook != NULL) {
        act = p->cfg.hook(p->cfg.hook_arg, m);
    }
    if (swallow) {
        m->copies = 0;
    }
    if (m->close) {
        act = AW_PROXY_CLOSE;
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (act == AW_PROXY_PASS && m->copies > 0 && aw_pmsg_serialize(m, &out, &out_len) != AW_OK) {
        act = AW_PROXY_CLOSE;
    }
    record_sent(p, rec, act == AW_PROXY_PASS && m->copies > 0, out, out_len);
    if (act == AW_PROXY_PASS && !m->response && m->http) {
        for (int i = 0; i < m->copies && c->pend_n < MAX_PENDING; i++) {
            pending *pe = &c->pend[(c->pend_head + c->pend_n) % MAX_PENDING];
            request_line(m, pe->line, sizeof(pe->line));
            pe->is_signed = was_signed;
            pe->swallow = i > 0;
            c->pend_n++;
        }
    }
    pthread_mutex_unlock(&p->lock);
    if (act == AW_PROXY_CLOSE) {
        free(out);
        conn_free(c);
        return false;
    }
    for (int i = 0; i < m->copies; i++) {
        send_to(dst, out, out_len, m->delay_ms);
    }
    if (m->reply != NULL) {
        send_to(src, m->reply, m->reply_len, 0);
    }
    free(out);
    return true;
}

/* Everything readable from one side. false when the connection is gone. */
static bool process(pconn *c, bool response)
{
    aw_proxy *p = c->p;
    side *src = response ? &c->up : &c->down;
    if (src->bev == NULL) {
        return true;
    }
    struct evbuffer *in = bufferevent_get_input(src->bev);
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len == 0) {
            return true;
        }
        if (p->cfg.mode == AW_PROXY_TCP || c->raw) {
            size_t n = len > CHUNK_MAX ? CHUNK_MAX : len;
            const uint8_t *data = evbuffer_pullup(in, (ev_ssize_t)n);
            aw_pmsg m = {.conn = c->id, .response = response, .copies = 1};
            bool alive =
                data != NULL && aw_pmsg_set_body(&m, data, n) == AW_OK && handle(c, &m, data, n);
            aw_pmsg_free(&m);
            if (!alive) {
                return false;
            }
            evbuffer_drain(in, n);
            continue;
        }
        size_t msg_len = 0;
        const uint8_t *buf = evbuffer_pullup(in, -1);
        aw_frame f = aw_http_frame(buf, len, response, p->cfg.max_message, &msg_len);
        if (f == AW_FRAME_MORE && !src->eof) {
            return true;
        }
        if (f == AW_FRAME_UNTIL_CLOSE && !src->eof) {
            return true;
        }
        if (f == AW_FRAME_BAD || f == AW_FRAME_MORE) {
            c->raw = true; /* relay the rest as it comes */
            continue;
        }
        aw_pmsg m;
        if (aw_pmsg_parse((aw_span){buf, msg_len}, &m) != AW_OK || m.response != response) {
            aw_pmsg_free(&m);
            c->raw = true;
            continue;
        }
        m.conn = c->id;
        bool alive = handle(c, &m, buf, msg_len);
        aw_pmsg_free(&m);
        if (!alive) {
            return false;
        }
        evbuffer_drain(in, msg_len);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    side *s = arg;
    pconn *c = s->c;
    if (process(c, s == &c->up) && c->closing) {
        conn_close_when_drained(c);
    }
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    side *s = arg;
    if (s->c->closing) {
        conn_close_when_drained(s->c);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    side *s = arg;
    pconn *c = s->c;
    if ((what & BEV_EVENT_CONNECTED) || !(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        return;
    }
    s->eof = true;
    if (!process(c, s == &c->up)) {
        return;
    }
    /* Nothing more comes from this side: it goes, the other gets what it is owed. */
    side_free(s);
    conn_close_when_drained(c);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_free(arg);
}

static bool side_init(pconn *c, side *s, struct bufferevent *bev)
{
    s->c = c;
    s->bev = bev;
    s->held = evbuffer_new();
    s->release = evtimer_new(c->p->base, release_cb, s);
    if (bev == NULL || s->held == NULL || s->release == NULL) {
        return false;
    }
    bufferevent_setcb(bev, read_cb, write_cb, event_cb, s);
    /* Reading pauses when a whole message at the limit (and a little) waits unparsed. */
    bufferevent_setwatermark(bev, EV_READ, 0, c->p->cfg.max_message + CHUNK_MAX);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return true;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    aw_proxy *p = arg;
    pconn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->p = p;
    c->id = ++p->next_id;
    struct bufferevent *down = NULL;
    if (p->cfg.client_tls != NULL) {
        struct ssl_st *ssl = aw_tls_new(p->cfg.client_tls, true, NULL);
        down = ssl == NULL
                   ? NULL
                   : bufferevent_openssl_socket_new(p->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                    BEV_OPT_CLOSE_ON_FREE);
        if (down != NULL) {
            bufferevent_openssl_set_allow_dirty_shutdown(down, 1);
        }
    } else {
        down = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (down == NULL) {
        evutil_closesocket(fd);
    }
    c->next = p->conns;
    if (p->conns != NULL) {
        p->conns->prev = c;
    }
    p->conns = c;
    c->deadline = evtimer_new(p->base, deadline_cb, c);
    bool ok = side_init(c, &c->down, down) &&
              side_init(c, &c->up, aw_endpoint_connect(&p->upstream, p->base)) &&
              c->deadline != NULL;
    if (!ok) {
        conn_free(c);
        return;
    }
    struct timeval tv = {p->cfg.timeout_ms / 1000, (p->cfg.timeout_ms % 1000) * 1000};
    evtimer_add(c->deadline, &tv);
}

/* ---- the thread ------------------------------------------------------------------------ */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

static void *proxy_main(void *arg)
{
    aw_proxy *p = arg;
    event_base_loop(p->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;

static void threads_init(void)
{
    (void)evthread_use_pthreads();
}

aw_result aw_proxy_start(const aw_proxy_config *cfg, aw_proxy **out, int *port)
{
    AW_ENSURE(cfg->upstream != NULL, AW_E_INVALID_ARG);
    pthread_once(&threads_once, threads_init);
    aw_proxy *p = calloc(1, sizeof(*p));
    AW_ENSURE(p != NULL, AW_E_INTERNAL);
    p->cfg = *cfg;
    p->upstream = *cfg->upstream;
    p->cfg.upstream = &p->upstream;
    if (p->cfg.max_message == 0) {
        p->cfg.max_message = 8u * 1024 * 1024;
    }
    if (p->cfg.max_capture == 0) {
        p->cfg.max_capture = 32u * 1024 * 1024;
    }
    if (p->cfg.timeout_ms <= 0) {
        p->cfg.timeout_ms = 20000;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&p->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->base = event_base_new();
    if (p->base != NULL) {
        p->stop = event_new(p->base, -1, 0, stop_cb, p->base);
        p->listener = evconnlistener_new_bind(p->base, accept_cb, p,
                                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1,
                                              (struct sockaddr *)&sin, sizeof(sin));
    }
    struct sockaddr_in bound;
    socklen_t bound_len = sizeof(bound);
    if (p->base == NULL || p->stop == NULL || p->listener == NULL ||
        getsockname(evconnlistener_get_fd(p->listener), (struct sockaddr *)&bound, &bound_len) !=
            0 ||
        pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
        aw_proxy_stop(p);
        return AW_E_IO;
    }
    p->thread_started = true;
    *port = ntohs(bound.sin_port);
    *out = p;
    return AW_OK;
}

void aw_proxy_stop(aw_proxy *p)
{
    if (p == NULL) {
        return;
    }
    if (p->thread_started) {
        /* An activated event is never lost, even before the loop runs (a loopbreak would be). */
        event_active(p->stop, EV_READ, 0);
        pthread_join(p->thread, NULL);
    }
    while (p->conns != NULL) {
        conn_free(p->conns);
    }
    if (p->listener != NULL) {
        evconnlistener_free(p->listener);
    }
    if (p->stop != NULL) {
        event_free(p->stop);
    }
    if (p->base != NULL) {
        /* Run out the callbacks deferred when the loop stopped: they hold references to
         * connections just freed. */
        event_base_loop(p->base, EVLOOP_NONBLOCK);
        event_base_free(p->base);
    }
    for (size_t i = 0; i < p->n_records; i++) {
        aw_proxy_record_free(&p->records[i]);
    }
    free(p->records);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
