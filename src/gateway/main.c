/* authwired: start-up, the request handler's routing, signals and graceful shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authwire/exchange.h"
#include "files.h"
#include "gateway.h"
#include "tls.h"

int64_t gw_now(void)
{
    return (int64_t)time(NULL);
}

static void handle_metrics(gw_exchange *x)
{
    /* Operators scrape from the host itself; the rest of the world sees no counters. */
    const char *peer = x->req->peer_addr;
    if (strncmp(peer, "127.", 4) != 0 && strncmp(peer, "::1", 3) != 0) {
        gw_reply_error(x, AW_E_NOT_ROUTED, "metrics only for loopback");
        return;
    }
    static _Thread_local uint8_t buf[32768];
    aw_writer out;
    aw_writer_init(&out, buf, sizeof(buf));
    gw_metrics_render(x->w->gw, x->w->store, &out);
    gw_reply(x, 200, "text/plain; version=0.0.4", aw_writer_span_of(&out), NULL, 0);
}

static void handle_challenge(gw_exchange *x)
{
    char token[AW_CHALLENGE_TEXT_LEN + 1];
    if (gw_challenge(x->w, token) != AW_OK) {
        gw_reply_error(x, AW_E_CRYPTO, "challenge");
        return;
    }
    aw_http_field extra = {"Authwire-Challenge", token, 0};
    gw_reply(x, 200, "text/plain", aw_span_cstr(token), &extra, 1);
}

static bool path_is(const aw_message *m, const char *path)
{
    aw_span p, q;
    bool has_query = false;
    return aw_message_target_parts(m, &p, &q, &has_query) == AW_OK &&
           aw_span_eq(p, aw_span_cstr(path));
}

/* --authority: whether the request's Host is one this gateway answers for. */
static bool authority_served(const gateway *gw, const aw_message *m)
{
    const char *list = gw->cfg.authority;
    if (list == NULL) {
        return true;
    }
    while (*list != '\0') {
        size_t n = strcspn(list, ",");
        if (aw_span_eq_nocase(m->authority, (aw_span){(const uint8_t *)list, n})) {
            return true;
        }
        list += n + (list[n] == ',');
    }
    return false;
}

/* ---- rate limits ----------------------------------------------------------------------- */

#define LIMIT_PROBES 4

void gw_limiter_init(gw_limiter *l, int64_t period)
{
    memset(l->slots, 0, sizeof(l->slots));
    l->period = period;
    pthread_mutex_init(&l->lock, NULL);
}

uint64_t gw_limit_key(uint8_t domain, const void *bytes, size_t n)
{
    const uint8_t *b = bytes;
    uint64_t h = (1469598103934665603u ^ domain) * 1099511628211u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211u;
    }
    return h;
}

int64_t gw_limit_count(gw_limiter *l, uint64_t key, int64_t add)
{
    int64_t window = gw_now() / l->period + 1; /* 0 marks a slot never used */
    pthread_mutex_lock(&l->lock);
    gw_limit_slot *slot = NULL, *stale = NULL;
    for (size_t i = 0; i < LIMIT_PROBES && slot == NULL; i++) {
        gw_limit_slot *s = &l->slots[(key + i) % GW_LIMIT_SLOTS];
        if (s->key == key) {
            slot = s;
        } else if (stale == NULL && s->window != window) {
            stale = s;
        }
    }
    if (slot == NULL && stale != NULL) {
        slot = stale;
        *slot = (gw_limit_slot){.key = key, .window = window};
    } else if (slot == NULL) {
        /* Every probe is in use this window: take over the one with the fewest counts. A new
         * key starts from zero instead of inheriting another key's count (which refused
         * genuine first HELLOs once a few hundred invites a minute were in use), and the keys
         * a limit is for, those with many counts, keep theirs. */
        slot = &l->slots[key % GW_LIMIT_SLOTS];
        for (size_t i = 1; i < LIMIT_PROBES; i++) {
            gw_limit_slot *s = &l->slots[(key + i) % GW_LIMIT_SLOTS];
            if (s->count < slot->count) {
                slot = s;
            }
        }
        *slot = (gw_limit_slot){.key = key, .window = window};
    }
    if (slot->window != window) {
        slot->window = window;
        slot->count = 0;
    }
    slot->count += add;
    int64_t count = slot->count;
    pthread_mutex_unlock(&l->lock);
    return count;
}

/* The limiter key of the request's source address (the port dropped). */
static uint64_t source_key(const char *peer)
{
    const char *colon = strrchr(peer, ':');
    return gw_limit_key('s', peer, colon != NULL ? (size_t)(colon - peer) : strlen(peer));
}

/* --rate-limit: whether this source already failed too often this second; with count, one
 * more failure is recorded. */
static bool source_limited(gateway *gw, const char *peer, bool count)
{
    return gw_limit_count(&gw->failure_limits, source_key(peer), count ? 1 : 0) >=
           gw->cfg.rate_limit;
}

/* --enroll-rate-limit: counts one enrollment POST of this source; true beyond the limit. */
static bool enroll_limited(gateway *gw, const char *peer)
{
    return gw->cfg.enroll_rate_limit > 0 &&
           gw_limit_count(&gw->enroll_limits, source_key(peer), 1) > gw->cfg.enroll_rate_limit;
}

static void on_request(aw_http_conn *conn, aw_http_request *req, aw_result result, void *arg)
{
    gw_worker *w = arg;
    gw_exchange x = {.w = w, .conn = conn, .req = req, .result = result};
    if (result != AW_OK) {
        gw_reply_error(&x, result, "unreadable request");
        return;
    }
    bool get = aw_span_eq(req->msg.method, AW_SPAN_LIT("GET"));
    if (get && path_is(&req->msg, AW_CHALLENGE_PATH)) {
        handle_challenge(&x);
        return;
    }
    if (get && path_is(&req->msg, "/metrics")) {
        handle_metrics(&x);
        return;
    }
    aw_span path = {0}, query;
    bool has_query = false;
    if (aw_message_target_parts(&req->msg, &path, &query, &has_query) != AW_OK) {
        path = (aw_span){0};
    }
    bool post = aw_span_eq(req->msg.method, AW_SPAN_LIT("POST"));
    bool enroll = aw_span_eq(path, AW_SPAN_LIT(AW_ENROLL_PATH));
    bool rotate = aw_span_eq(path, AW_SPAN_LIT(AW_ROTATE_PATH));
    if (post && (enroll || rotate) && enroll_limited(w->gw, req->peer_addr)) {
        x.reason_public = true;
        gw_reply_error(&x, AW_E_RATE_LIMITED, "too many enrollment requests from this source");
        return;
    }
    if (enroll) {
        gw_enroll_handle(&x); /* no request signature: the handshake authenticates */
        return;
    }
    bool limiting = w->gw->cfg.rate_limit > 0;
    if (limiting && source_limited(w->gw, req->peer_addr, false)) {
        gw_reply_error(&x, AW_E_RATE_LIMITED, "too many failed authentications from this source");
        return;
    }
    if (!w->gw->cfg.auth) {
        /* Benchmarks only: nothing is checked or signed. */
        x.result = AW_OK;
    } else if (gw_authenticate(&x) != AW_OK) {
        if (limiting && !x.authenticated) {
            (void)source_limited(w->gw, req->peer_addr, true);
        }
        gw_reply_error(&x, x.result, NULL);
        return;
    }
    if (!authority_served(w->gw, &req->msg)) {
        gw_reply_error(&x, AW_E_FORBIDDEN, "authority not served by this gateway");
        return;
    }
    if (rotate) {
        gw_rotate_handle(&x);
    } else if (w->gw->cfg.demo_api) {
        if (x.user == NULL) {
            gw_reply_error(&x, AW_E_UNAUTHENTICATED, "demo API needs --auth true");
            return;
        }
        gw_api_handle(&x);
    } else {
        gw_proxy_forward(&x);
    }
}

static void *worker_init(int index, struct event_base *base, void *arg)
{
    gateway *gw = arg;
    gw_worker *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        fprintf(stderr, "authwired: worker %d: out of memory\n", index);
        abort();
    }
    w->gw = gw;
    w->index = index;
    w->base = base;
    aw_result r = aw_store_open(gw->cfg.data, &w->store);
    if (r == AW_OK && gw->cfg.demo_api) {
        r = aw_bank_open(gw->cfg.data, &w->bank);
    }
    if (r == AW_OK) {
        r = aw_hmac_key_new(gw->challenge_secret, sizeof(gw->challenge_secret), &w->challenge_key);
    }
    if (r == AW_OK) {
        r = aw_ed25519_from_pem(gw->server_key_pem, gw->server_key_pem_len, &w->server_key);
    }
    if (r == AW_OK && !gw->cfg.demo_api) {
        r = gw_proxy_new(w, &w->proxy);
    }
    if (r != AW_OK) {
        /* Every resource was checked once in main before the workers started. */
        fprintf(stderr, "authwired: worker %d cannot start: %s\n", index, aw_result_reason(r));
        abort();
    }
    return w;
}

static void worker_fini(void *arg, void *gw_arg)
{
    (void)gw_arg;
    gw_worker *w = arg;
    gw_users_free(w);
    gw_proxy_free(w->proxy);
    aw_bank_close(w->bank);
    aw_store_close(w->store);
    aw_hmac_key_free(w->challenge_key);
    aw_ed25519_free(w->server_key);
    free(w);
}

static int fail(const char *what, aw_result r, const char *more)
{
    fprintf(stderr, "authwired: %s: %s%s%s\n", what, aw_result_reason(r), more ? ": " : "",
            more ? more : "");
    return 1;
}

static char *data_path(const gateway *gw, const char *name)
{
    size_t n = strlen(gw->cfg.data) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL) {
        snprintf(p, n, "%s/%s", gw->cfg.data, name);
    }
    return p;
}

static int open_access_log(gateway *gw)
{
    const char *dest = gw->cfg.access_log;
    if (strcmp(dest, "off") == 0) {
        gw->access_log_fd = -1;
    } else if (strcmp(dest, "-") == 0) {
        gw->access_log_fd = STDOUT_FILENO;
    } else {
        gw->access_log_fd = open(dest, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (gw->access_log_fd < 0) {
            fprintf(stderr, "authwired: cannot open access log %s: %s\n", dest, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char text[16];
    int n = snprintf(text, sizeof(text), "%d\n", port);
    aw_result r = aw_file_write_atomic(path, text, (size_t)n, 0644, 0);
    if (r != AW_OK) {
        fprintf(stderr, "authwired: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Timestamp mode refuses requests created at or before the highest created accepted before
 * this start (docs/PROTOCOL.md, Freshness). Serving only once the clock has passed that mark
 * means a client with a correct clock is never refused by it: normally a wait of under a
 * second, at most the skew when some client signed ahead of time. */
static void wait_for_restart_guard(const gateway *gw)
{
    int64_t floor = gw->created_floor;
    if (gw_now() <= floor) {
        fprintf(stderr, "authwired: waiting %llds for the clock to pass the restart guard\n",
                (long long)(floor - gw_now() + 1));
    }
    for (int i = 0; gw_now() <= floor && i < (gw->cfg.skew + 2) * 20; i++) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static int setup(gateway *gw)
{
    struct timespec started;
    clock_gettime(CLOCK_REALTIME, &started);
    gw->metrics.started_us = (int64_t)started.tv_sec * 1000000 + started.tv_nsec / 1000;
    aw_result r = aw_crypto_init();
    if (r != AW_OK) {
        return fail("crypto", r, NULL);
    }
    aw_store *store = NULL;
    r = aw_store_open(gw->cfg.data, &store);
    if (r != AW_OK) {
        return fail("cannot open the data directory", r,
                    r == AW_E_NOT_FOUND ? "run `authwire init --data DIR` first" : gw->cfg.data);
    }
    r = gw_replay_init(gw, store);
    aw_store_close(store);
    if (r != AW_OK) {
        return fail("replay state", r, NULL);
    }
    wait_for_restart_guard(gw);
    if (gw->cfg.demo_api) {
        aw_bank *bank = NULL;
        r = aw_bank_open(gw->cfg.data, &bank);
        aw_bank_close(bank);
        if (r != AW_OK) {
            return fail("demo database", r, NULL);
        }
    }
    char *key_path = data_path(gw, "server-ed25519.pem");
    uint8_t *pem = NULL;
    r = key_path != NULL
            ? aw_file_read(key_path, 16384, AW_FILE_PRIVATE, &pem, &gw->server_key_pem_len)
            : AW_E_INTERNAL;
    if (r != AW_OK) {
        int rc = fail("server signing key", r, key_path);
        free(key_path);
        return rc;
    }
    free(key_path);
    gw->server_key_pem = (char *)pem;
    aw_ed25519_key *probe = NULL;
    r = aw_ed25519_from_pem(gw->server_key_pem, gw->server_key_pem_len, &probe);
    aw_ed25519_free(probe);
    if (r != AW_OK) {
        return fail("server signing key", r, "server-ed25519.pem");
    }
    gw_limiter_init(&gw->failure_limits, 1);
    gw_limiter_init(&gw->enroll_limits, 1);
    r = gw_enroll_init(gw);
    if (r != AW_OK) {
        return fail("enrollment", r, NULL);
    }
    r = aw_random(gw->challenge_secret, sizeof(gw->challenge_secret));
    if (r != AW_OK) {
        return fail("random", r, NULL);
    }
    aw_policy_authwire_request(&gw->policy);
    gw->policy.skew = gw->cfg.skew;
    gw->policy.max_age = gw->cfg.max_age;
    if (!gw->cfg.plain) {
        char *cert = gw->cfg.cert != NULL ? strdup(gw->cfg.cert) : data_path(gw, "server.pem");
        char *key = gw->cfg.key != NULL ? strdup(gw->cfg.key) : data_path(gw, "server.key");
        r = cert != NULL && key != NULL ? aw_tls_server_ctx(cert, key, gw->cfg.client_ca, &gw->tls)
                                        : AW_E_INTERNAL;
        int rc = r != AW_OK ? fail("TLS certificate, key or client CA", r, aw_tls_last_error()) : 0;
        free(cert);
        free(key);
        if (rc != 0) {
            return rc;
        }
    }
    return open_access_log(gw);
}

int main(int argc, char **argv)
{
    static gateway gw;
    gw.access_log_fd = -1;
    int rc = gw_config_load(&gw.cfg, argc, argv);
    if (rc != 0) {
        gw_config_free(&gw.cfg);
        return rc > 0 ? 0 : 2;
    }
    /* Block the stop signals in every thread; the main thread waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (setup(&gw) != 0) {
        gw_config_free(&gw.cfg);
        return 1;
    }
    aw_http_server_config sc = {
        .listen = gw.cfg.listen,
        .workers = (int)gw.cfg.workers,
        .tls = gw.tls,
        .limits = {.max_header_bytes = (size_t)gw.cfg.max_header_bytes,
                   .max_body_bytes = (size_t)gw.cfg.max_body_bytes,
                   .header_timeout_ms = (int)gw.cfg.header_timeout_ms,
                   .body_timeout_ms = (int)gw.cfg.body_timeout_ms,
                   .idle_timeout_ms = (int)gw.cfg.idle_timeout_ms,
                   .max_connections = (size_t)gw.cfg.max_connections},
        .handler = on_request,
        .worker_init = worker_init,
        .worker_fini = worker_fini,
        .arg = &gw,
    };
    int port = 0;
    aw_result r = aw_http_server_start(&sc, &gw.server, &port);
    if (r != AW_OK) {
        fprintf(stderr, "authwired: cannot listen on %s: %s\n", gw.cfg.listen,
                r == AW_E_IO ? strerror(errno) : aw_result_reason(r));
        return 1;
    }
    fprintf(
        stderr, "authwired: listening on %s (port %d, %s, %lld workers, %s, channel binding %s)\n",
        gw.cfg.listen, port, gw.cfg.plain ? "plain HTTP" : "TLS 1.3", (long long)gw.cfg.workers,
        gw.cfg.demo_api ? "demo API" : gw.cfg.upstream, gw_cb_policy_name(gw.cfg.channel_binding));
    if (gw.cfg.port_file != NULL && write_port_file(gw.cfg.port_file, port) != 0) {
        aw_http_server_stop(gw.server, 0);
        aw_http_server_join(gw.server);
        return 1;
    }
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "authwired: %s: finishing requests in flight\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    aw_http_server_stop(gw.server, 5000);
    aw_http_server_join(gw.server);
    gw.server = NULL;
    gw_replay_free(&gw);
    gw_enroll_free(&gw);
    aw_tls_ctx_free(gw.tls);
    aw_file_free((uint8_t *)gw.server_key_pem, gw.server_key_pem_len);
    aw_wipe(gw.challenge_secret, sizeof(gw.challenge_secret));
    if (gw.access_log_fd > STDERR_FILENO) {
        close(gw.access_log_fd);
    }
    gw_config_free(&gw.cfg);
    fprintf(stderr, "authwired: stopped\n");
    return 0;
}
