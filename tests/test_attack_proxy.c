/* The attack harness's man in the middle (src/attack/proxy.c, pmsg.c) and its framing and
 * exchanges (wire.c), against an upstream in this process (src/http's server): relaying,
 * request and response edits, duplicates with their swallowed answers, delays, forged
 * replies, drops, closes, TCP-mode chunks, the fallback to bytes past max_message, the
 * record of both directions, and a prompt stop with connections open. */
#define _GNU_SOURCE /* memmem */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "proxy.h"
#include "server.h"
#include "wire.h"

/* ---- framing and editable messages ----------------------------------------------------- */

static aw_frame frame(const char *text, bool response, size_t max, size_t *len)
{
    return aw_http_frame((const uint8_t *)text, strlen(text), response, max, len);
}

static void test_frame(void)
{
    size_t len = 0;
    CHECK(frame("GET / HTTP/1.1\r\nHost: a\r\n", false, 1024, &len) == AW_FRAME_MORE);
    CHECK(frame("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next", false, 1024, &len) ==
          AW_FRAME_COMPLETE);
    CHECK(len == strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK(frame("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", false, 1024, &len) ==
          AW_FRAME_MORE);
    CHECK(frame("POST / HTTP/1.1\nContent-Length: 2\n\nab", false, 1024, &len) ==
          AW_FRAME_COMPLETE);
    CHECK(len == strlen("POST / HTTP/1.1\nContent-Length: 2\n\nab"));
    CHECK(frame("HTTP/1.1 200 OK\r\n\r\nstream", true, 1024, &len) == AW_FRAME_UNTIL_CLOSE);
    CHECK(frame("HTTP/1.1 204 No Content\r\n\r\n", true, 1024, &len) == AW_FRAME_COMPLETE);
    CHECK(frame("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, 1024,
                &len) == AW_FRAME_BAD);
    CHECK(frame("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false, 1024,
                &len) == AW_FRAME_BAD);
    CHECK(frame("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", false, 1024, &len) ==
          AW_FRAME_BAD);
    CHECK(frame("HTTP/1.1 2x0 OK\r\n\r\n", true, 1024, &len) == AW_FRAME_BAD);
}

static void test_pmsg(void)
{
    static const char raw[] = "POST /a?b=1 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nx-one: 2\r\n"
                              "Content-Length: 3\r\n\r\nabc";
    aw_pmsg m;
    CHECK_OK(aw_pmsg_parse(aw_span_cstr(raw), &m));
    CHECK(m.http && !m.response && strcmp(m.method, "POST") == 0);
    CHECK(strcmp(m.target, "/a?b=1") == 0 && m.body_len == 3);
    CHECK(aw_pmsg_count(&m, "X-ONE") == 2 && strcmp(aw_pmsg_get(&m, "x-one"), "1") == 0);
    CHECK_OK(aw_pmsg_set(&m, "X-One", "one"));
    CHECK_OK(aw_pmsg_add(&m, "X-Two", "two"));
    CHECK_OK(aw_pmsg_edit(&m, "host", "h", "hh"));
    CHECK_RESULT(aw_pmsg_edit(&m, "host", "zz", "y"), AW_E_NOT_FOUND);
    CHECK(aw_pmsg_remove(&m, "x-one") == 2 && aw_pmsg_get(&m, "X-One") == NULL);
    CHECK_OK(aw_pmsg_set_body(&m, "longer body", 11));
    CHECK(!aw_pmsg_signed(&m));
    uint8_t *out = NULL;
    size_t len = 0;
    CHECK_OK(aw_pmsg_serialize(&m, &out, &len));
    static const char want[] = "POST /a?b=1 HTTP/1.1\r\nHost: hh\r\nContent-Length: 11\r\n"
                               "X-Two: two\r\n\r\nlonger body";
    CHECK_MSG(len == strlen(want) && memcmp(out, want, len) == 0, "serialized: %.*s", (int)len,
              (const char *)out);
    free(out);
    /* keep_length writes the field as it stands. */
    m.keep_length = true;
    CHECK_OK(aw_pmsg_serialize(&m, &out, &len));
    CHECK(strstr((const char *)out, "Content-Length: 3\r\n") != NULL);
    free(out);
    static const char resp[] = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}";
    CHECK_RESULT(aw_pmsg_replace(&m, aw_span_cstr(resp)), AW_E_INVALID_ARG); /* not a request */
    aw_pmsg_free(&m);
    CHECK_OK(aw_pmsg_parse(aw_span_cstr(resp), &m));
    CHECK(m.response && m.status == 401 && strcmp(m.reason, "Unauthorized") == 0);
    CHECK_OK(aw_pmsg_serialize(&m, &out, &len));
    CHECK(len == strlen(resp) && memcmp(out, resp, len) == 0);
    free(out);
    aw_pmsg_free(&m);
    CHECK(aw_pmsg_parse(aw_span_cstr("GARBAGE\r\n\r\n"), &m) != AW_OK);
    aw_pmsg_free(&m);
}

/* ---- an upstream in this process ---------------------------------------------------------- */

static atomic_int upstream_requests;

/* Answers "METHOD target|X-Test|body". */
static void upstream(aw_http_conn *conn, aw_http_request *req, aw_result result, void *worker)
{
    (void)worker;
    atomic_fetch_add(&upstream_requests, 1);
    char body[4200];
    const char *test = "-";
    size_t test_len = 1;
    for (size_t i = 0; i < req->msg.n_headers; i++) {
        if (aw_span_eq_nocase(req->msg.headers[i].name, AW_SPAN_LIT("x-test"))) {
            test = (const char *)req->msg.headers[i].value.ptr;
            test_len = req->msg.headers[i].value.len;
        }
    }
    int n = snprintf(body, sizeof(body), "%.*s %.*s|%.*s|%.*s", (int)req->msg.method.len,
                     (const char *)req->msg.method.ptr, (int)req->msg.target.len,
                     (const char *)req->msg.target.ptr, (int)test_len, test, (int)req->msg.body.len,
                     (const char *)req->msg.body.ptr);
    aw_http_response resp = {
        .status = result == AW_OK ? 200 : 400,
        .body = {(const uint8_t *)body, n > 0 && (size_t)n < sizeof(body) ? (size_t)n : 0},
        .close = result != AW_OK,
    };
    aw_http_respond(conn, &resp);
}

static aw_http_server *g_server;
static aw_endpoint g_upstream;

static void upstream_start(void)
{
    aw_http_server_config cfg = {
        .listen = "127.0.0.1:0",
        .workers = 1,
        .limits = {16384, 1 << 20, 2000, 2000, 5000, 100},
        .handler = upstream,
    };
    int port = 0;
    CHECK_OK(aw_http_server_start(&cfg, &g_server, &port));
    char url[64], why[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    CHECK_OK(aw_endpoint_from_url(url, NULL, &g_upstream, why, sizeof(why)));
}

/* ---- the proxy ------------------------------------------------------------------------------ */

typedef struct hook_state {
    const char *target; /* a request's new target, or NULL */
    int copies;         /* for requests */
    int delay_ms;       /* for responses */
    const char *reply;  /* answer requests with this instead */
    bool close;         /* close on a request */
    const char *body;   /* a response's new body */
    const char *from;   /* TCP mode: replace from by to in chunks */
    const char *to;
    int seen_requests, seen_responses;
} hook_state;

static aw_proxy_action hook(void *arg, aw_pmsg *m)
{
    hook_state *h = arg;
    if (!m->http) {
        uint8_t *at = m->body != NULL && h->from != NULL
                          ? memmem(m->body, m->body_len, h->from, strlen(h->from))
                          : NULL;
        if (at != NULL) {
            memcpy(at, h->to, strlen(h->to));
        }
        return AW_PROXY_PASS;
    }
    if (m->response) {
        h->seen_responses++;
        m->delay_ms = h->delay_ms;
        if (h->body != NULL) {
            CHECK_OK(aw_pmsg_set_body(m, h->body, strlen(h->body)));
        }
        return AW_PROXY_PASS;
    }
    h->seen_requests++;
    if (h->target != NULL) {
        CHECK_OK(aw_pmsg_set_target(m, h->target));
    }
    m->copies = h->copies;
    m->close = h->close;
    if (h->reply != NULL) {
        CHECK_OK(aw_pmsg_set_reply(m, h->reply, strlen(h->reply)));
    }
    return AW_PROXY_PASS;
}

static aw_proxy *proxy_start(aw_proxy_mode mode, hook_state *h, size_t max_message,
                             aw_endpoint *via)
{
    aw_proxy_config cfg = {.mode = mode,
                           .upstream = &g_upstream,
                           .hook = hook,
                           .hook_arg = h,
                           .max_message = max_message,
                           .timeout_ms = 5000};
    aw_proxy *p = NULL;
    int port = 0;
    CHECK_OK(aw_proxy_start(&cfg, &p, &port));
    char url[64], why[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    CHECK_OK(aw_endpoint_from_url(url, NULL, via, why, sizeof(why)));
    return p;
}

static const char get_a[] = "GET /a HTTP/1.1\r\nHost: x\r\nX-Test: t\r\nConnection: close\r\n\r\n";

/* One exchange through the proxy; the answer's body into body (NUL-terminated). */
static int exchange(const aw_endpoint *via, const char *req, char *body, size_t cap,
                    aw_wire_answer *keep)
{
    aw_wire_answer a;
    CHECK_OK(aw_wire_exchange(via, (const uint8_t *)req, strlen(req), 3000, &a));
    body[0] = '\0';
    const char *sep = a.raw != NULL ? strstr((const char *)a.raw, "\r\n\r\n") : NULL;
    if (sep != NULL) {
        snprintf(body, cap, "%s", sep + 4);
    }
    int status = a.status;
    if (keep != NULL) {
        *keep = a;
    } else {
        aw_wire_answer_free(&a);
    }
    return status;
}

static size_t records(aw_proxy *p, bool response, bool passed)
{
    size_t n = 0, total = aw_proxy_record_count(p);
    for (size_t i = 0; i < total; i++) {
        aw_proxy_record r;
        if (aw_proxy_record_get(p, i, &r) == AW_OK && r.response == response &&
            r.passed == passed) {
            n++;
        }
        aw_proxy_record_free(&r);
    }
    return n;
}

static void test_relay_and_edits(void)
{
    hook_state h = {.copies = 1};
    aw_endpoint via;
    aw_proxy *p = proxy_start(AW_PROXY_HTTP, &h, 0, &via);
    char body[512];
    CHECK(exchange(&via, get_a, body, sizeof(body), NULL) == 200);
    CHECK_MSG(strcmp(body, "GET /a|t|") == 0, "relayed: %s", body);
    CHECK(records(p, false, true) == 1 && records(p, true, true) == 1);
    aw_proxy_record r;
    CHECK_OK(aw_proxy_record_get(p, 0, &r));
    CHECK(r.http && !r.response && r.sent == NULL && r.len == strlen(get_a));
    aw_proxy_record_free(&r);
    CHECK_RESULT(aw_proxy_record_get(p, 99, &r), AW_E_NOT_FOUND);

    /* A request edit reaches the upstream; the record keeps both versions. */
    aw_proxy_lock(p);
    h.target = "/b";
    aw_proxy_unlock(p);
    CHECK(exchange(&via, get_a, body, sizeof(body), NULL) == 200);
    CHECK_MSG(strcmp(body, "GET /b|t|") == 0, "edited: %s", body);
    CHECK_OK(aw_proxy_record_get(p, 2, &r));
    CHECK(r.sent != NULL && strstr((const char *)r.sent, "GET /b ") != NULL);
    aw_proxy_record_free(&r);

    /* A response edit: the client sees the new body with its own length. */
    aw_proxy_lock(p);
    h.target = NULL;
    h.body = "forged answer";
    aw_proxy_unlock(p);
    CHECK(exchange(&via, get_a, body, sizeof(body), NULL) == 200);
    CHECK_MSG(strcmp(body, "forged answer") == 0, "response edit: %s", body);
    aw_proxy_stop(p);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_duplicate_delay_reply_close(void)
{
    hook_state h = {.copies = 2};
    aw_endpoint via;
    aw_proxy *p = proxy_start(AW_PROXY_HTTP, &h, 0, &via);
    char body[512];
    int before = atomic_load(&upstream_requests);
    static const char keep_alive[] = "GET /dup HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(exchange(&via, keep_alive, body, sizeof(body), NULL) == 200);
    /* The copy's answer is recorded, not passed on. */
    for (int i = 0; i < 200 && records(p, true, false) == 0; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    CHECK(records(p, true, false) == 1 && records(p, true, true) == 1);
    CHECK(atomic_load(&upstream_requests) == before + 2);

    aw_proxy_lock(p);
    h.copies = 1;
    h.delay_ms = 300;
    aw_proxy_unlock(p);
    double t0 = now_s();
    CHECK(exchange(&via, get_a, body, sizeof(body), NULL) == 200);
    CHECK_MSG(now_s() - t0 >= 0.29, "delayed by %.3f s", now_s() - t0);

    /* A forged reply; the request never reaches the upstream. */
    aw_proxy_lock(p);
    h.delay_ms = 0;
    h.copies = 0;
    h.reply = "HTTP/1.1 418 Teapot\r\nContent-Length: 5\r\nConnection: close\r\n\r\nforge";
    aw_proxy_unlock(p);
    before = atomic_load(&upstream_requests);
    CHECK(exchange(&via, get_a, body, sizeof(body), NULL) == 418);
    CHECK(strcmp(body, "forge") == 0);
    CHECK(atomic_load(&upstream_requests) == before);

    /* close: no answer at all. */
    aw_proxy_lock(p);
    h.reply = NULL;
    h.copies = 1;
    h.close = true;
    aw_proxy_unlock(p);
    aw_wire_answer a;
    CHECK(exchange(&via, get_a, body, sizeof(body), &a) == 0);
    CHECK(a.closed && !a.timed_out);
    aw_wire_answer_free(&a);
    aw_proxy_stop(p);
}

static void test_tcp_and_fallback(void)
{
    hook_state h = {.copies = 1, .from = "/a ", .to = "/z "};
    aw_endpoint via;
    aw_proxy *p = proxy_start(AW_PROXY_TCP, &h, 0, &via);
    char body[512];
    CHECK(exchange(&via, get_a, body, sizeof(body), NULL) == 200);
    CHECK_MSG(strcmp(body, "GET /z|t|") == 0, "TCP chunk edit: %s", body);
    CHECK(h.seen_requests == 0 && records(p, false, true) >= 1);
    aw_proxy_stop(p);

    /* Past max_message a message is relayed as bytes, unparsed but whole. */
    hook_state h2 = {.copies = 1, .target = "/never"};
    p = proxy_start(AW_PROXY_HTTP, &h2, 1024, &via);
    char big[3000];
    char filler[2048];
    memset(filler, 'q', sizeof(filler) - 1);
    filler[sizeof(filler) - 1] = '\0';
    snprintf(big, sizeof(big),
             "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
             strlen(filler), filler);
    char answer[4200];
    CHECK(exchange(&via, big, answer, sizeof(answer), NULL) == 200);
    CHECK_MSG(strncmp(answer, "POST /big|-|qqq", 15) == 0, "fallback: %.40s", answer);
    CHECK(h2.seen_requests == 0);
    aw_proxy_stop(p);
}

static void test_stop_with_open_connections(void)
{
    hook_state h = {.copies = 1};
    aw_endpoint via;
    aw_proxy *p = proxy_start(AW_PROXY_HTTP, &h, 0, &via);
    /* Half a request, then the proxy is stopped while the exchange waits. */
    aw_wire_answer a;
    static const char half[] = "GET /slow HTTP/1.1\r\nHost: x\r\n";
    CHECK_OK(aw_wire_exchange(&via, (const uint8_t *)half, strlen(half), 300, &a));
    CHECK(a.timed_out && a.status == 0);
    aw_wire_answer_free(&a);
    double t0 = now_s();
    aw_proxy_stop(p);
    CHECK(now_s() - t0 < 2.0);
    aw_proxy_stop(NULL);
}

int main(void)
{
    test_frame();
    test_pmsg();
    upstream_start();
    test_relay_and_edits();
    test_duplicate_delay_reply_close();
    test_tcp_and_fallback();
    test_stop_with_open_connections();
    aw_http_server_stop(g_server, 100);
    aw_http_server_join(g_server);
    return aw_test_finish("test_attack_proxy");
}
