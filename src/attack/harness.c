/* posix_spawn_file_actions_addclosefrom_np (glibc): the restart command inherits no socket. */
#define _GNU_SOURCE
/* The harness: sets up what every attack shares (the credential, the gateway's address and
 * CA, a rogue CA, the gateway's counters), runs the catalogue row by row and gives each
 * attack its man in the middle, its client and its verdicts (see attack.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"
#include "authwire/exchange.h"
#include "authwire/signature.h"
#include "certgen.h"
#include "files.h"
#include "tls.h"

extern char **environ; /* for posix_spawn: the restart command gets ours */

struct aw_attack_ctx {
    const aw_attack_config *cfg;
    aw_credentials cred;
    bool cred_open;
    char cred_path[4096];
    char base_url[320]; /* scheme://authority of the gateway */
    aw_endpoint gateway;
    struct ssl_ctx_st *gateway_tls;   /* a client context trusting the gateway's CA (and, for
                                       * mTLS, with the user's certificate) */
    struct ssl_ctx_st *anonymous_tls; /* mTLS: the same without a client certificate */
    struct ssl_ctx_st *attacker_tls;  /* mTLS: with the attacker's own certificate */
    struct ssl_ctx_st *rogue_tls;     /* a server context with the rogue CA's leaf */
    char tmpdir[256];
    char gateway_ca[300]; /* the credential's CA written out, "" when not needed */
    char rogue_ca[300];
    aw_proxy *proxy; /* this attack's man in the middle */
    int proxy_port;
    aw_attack_tls_mode proxy_tls;
    bool metrics; /* the gateway shows its counters to us */
    bool marked;
    aw_wire_counters mark;
    bool tty;
    size_t index, total;
    const char *current;
    struct row_block *blocks; /* aw_attack_alloc */
};

typedef struct row_block {
    struct row_block *next;
    max_align_t data[];
} row_block;

static void row_blocks_free(aw_attack_ctx *ctx)
{
    while (ctx->blocks != NULL) {
        row_block *next = ctx->blocks->next;
        free(ctx->blocks);
        ctx->blocks = next;
    }
}

/* ---- set-up --------------------------------------------------------------------------- */

static aw_result write_text(const char *path, const char *text)
{
    return aw_file_write_atomic(path, text, strlen(text), 0600, 0);
}

/* The rogue CA of the attacker and a leaf it issued for the gateway's own name (the one in
 * the target URL, as a forging CA would); the proxy presents the leaf when it intercepts
 * TLS. */
static aw_result make_rogue(aw_attack_ctx *ctx)
{
    aw_cert_pair ca = {0}, leaf = {0};
    char leaf_cert[sizeof(ctx->tmpdir) + 32], leaf_key[sizeof(ctx->tmpdir) + 32];
    snprintf(leaf_cert, sizeof(leaf_cert), "%s/rogue-leaf.pem", ctx->tmpdir);
    snprintf(leaf_key, sizeof(leaf_key), "%s/rogue-leaf.key", ctx->tmpdir);
    snprintf(ctx->rogue_ca, sizeof(ctx->rogue_ca), "%s/rogue-ca.pem", ctx->tmpdir);
    aw_result r = aw_certgen_ca(&ca);
    if (r == AW_OK) {
        r = aw_certgen_server_named(&ca, ctx->gateway.server_name, &leaf);
    }
    if (r == AW_OK) {
        r = write_text(ctx->rogue_ca, ca.cert_pem);
    }
    if (r == AW_OK) {
        r = aw_cert_pair_write(&leaf, leaf_cert, leaf_key);
    }
    if (r == AW_OK) {
        r = aw_tls_server_ctx(leaf_cert, leaf_key, NULL, &ctx->rogue_tls);
    }
    aw_cert_pair_free(&ca);
    aw_cert_pair_free(&leaf);
    return r;
}

static aw_result ctx_open(aw_attack_ctx *ctx, const aw_attack_config *cfg, char *why,
                          size_t why_cap)
{
    ctx->cfg = cfg;
    const char *bad = NULL;
    aw_result r = aw_credentials_read(cfg->credentials, &ctx->cred, &bad);
    if (r != AW_OK) {
        snprintf(why, why_cap, "%s: %s", cfg->credentials, bad != NULL ? bad : aw_result_reason(r));
        return r;
    }
    ctx->cred_open = true;
    snprintf(ctx->cred_path, sizeof(ctx->cred_path), "%s", cfg->credentials);
    const char *tmp = getenv("TMPDIR");
    snprintf(ctx->tmpdir, sizeof(ctx->tmpdir), "%s/authwire-attack-XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(ctx->tmpdir) == NULL) {
        ctx->tmpdir[0] = '\0';
        snprintf(why, why_cap, "cannot make a scratch directory");
        return AW_E_IO;
    }
    const char *url = cfg->target != NULL ? cfg->target : ctx->cred.url;
    bool https = strncmp(url, "https://", 8) == 0;
    const char *ca = cfg->cacert;
    if (https && ca == NULL && ctx->cred.ca_pem != NULL) {
        snprintf(ctx->gateway_ca, sizeof(ctx->gateway_ca), "%s/gateway-ca.pem", ctx->tmpdir);
        r = write_text(ctx->gateway_ca, ctx->cred.ca_pem);
        ca = ctx->gateway_ca;
    }
    if (!https && (cfg->client_cert != NULL || cfg->attacker_cert != NULL)) {
        snprintf(why, why_cap, "--cert and --attacker-cert need an https target");
        return AW_E_INVALID_ARG;
    }
    if (r == AW_OK && https) {
        /* With mTLS the man in the middle and the attacker's own connections present the
         * user's certificate: the attacker holds her TLS key but not her signing key, so every
         * row tests the signatures on their own. */
        r = aw_tls_client_ctx(ca, cfg->client_cert, cfg->client_key, &ctx->gateway_tls);
        if (r != AW_OK) {
            snprintf(why, why_cap, "the gateway's CA or the client certificate does not load: %s",
                     aw_tls_last_error());
            return r;
        }
    }
    if (r == AW_OK && cfg->client_cert != NULL) {
        r = aw_tls_client_ctx(ca, NULL, NULL, &ctx->anonymous_tls);
    }
    if (r == AW_OK && cfg->attacker_cert != NULL) {
        r = aw_tls_client_ctx(ca, cfg->attacker_cert, cfg->attacker_key, &ctx->attacker_tls);
        if (r != AW_OK) {
            snprintf(why, why_cap, "the attacker's certificate does not load: %s",
                     aw_tls_last_error());
            return r;
        }
    }
    if (r == AW_OK) {
        r = aw_endpoint_from_url(url, ctx->gateway_tls, &ctx->gateway, why, why_cap);
    }
    if (r == AW_OK) {
        snprintf(ctx->base_url, sizeof(ctx->base_url), "%s://%s", https ? "https" : "http",
                 ctx->gateway.authority);
    }
    if (r == AW_OK && https) {
        r = make_rogue(ctx);
        if (r != AW_OK) {
            snprintf(why, why_cap, "cannot make the rogue CA: %s", aw_result_reason(r));
        }
    }
    return r;
}

static void remove_tree(const char *dir)
{
    static const char *const files[] = {"gateway-ca.pem", "rogue-ca.pem", "rogue-leaf.pem",
                                        "rogue-leaf.key"};
    char path[512];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        (void)unlink(path);
    }
    (void)rmdir(dir);
}

static void ctx_close(aw_attack_ctx *ctx)
{
    aw_proxy_stop(ctx->proxy);
    ctx->proxy = NULL;
    row_blocks_free(ctx);
    aw_tls_ctx_free(ctx->gateway_tls);
    aw_tls_ctx_free(ctx->anonymous_tls);
    aw_tls_ctx_free(ctx->attacker_tls);
    aw_tls_ctx_free(ctx->rogue_tls);
    if (ctx->tmpdir[0] != '\0') {
        remove_tree(ctx->tmpdir);
    }
    if (ctx->cred_open) {
        aw_credentials_free(&ctx->cred);
    }
}

/* ---- what an attack may use ------------------------------------------------------------ */

const aw_credentials *aw_attack_cred(const aw_attack_ctx *ctx)
{
    return &ctx->cred;
}

const char *aw_attack_cred_path(const aw_attack_ctx *ctx)
{
    return ctx->cred_path;
}

bool aw_attack_tls(const aw_attack_ctx *ctx)
{
    return ctx->gateway.tls;
}

const char *aw_attack_victim(const aw_attack_ctx *ctx)
{
    return ctx->cfg->victim;
}

const char *aw_attack_data_dir(const aw_attack_ctx *ctx)
{
    return ctx->cfg->data_dir;
}

const aw_endpoint *aw_attack_gateway(const aw_attack_ctx *ctx)
{
    return &ctx->gateway;
}

int aw_attack_patience_ms(const aw_attack_ctx *ctx)
{
    return ctx->cfg->slow_timeout_ms > 0 ? ctx->cfg->slow_timeout_ms : 15000;
}

int aw_attack_window_s(const aw_attack_ctx *ctx)
{
    return ctx->cfg->window_s > 0 ? ctx->cfg->window_s : 60;
}

/* Whether the gateway accepts a TCP connection (TLS not needed: it listens again). */
static bool gateway_listens(const aw_attack_ctx *ctx)
{
    int fd = socket(ctx->gateway.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool up = fd >= 0 &&
              connect(fd, (const struct sockaddr *)&ctx->gateway.addr, ctx->gateway.addr_len) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return up;
}

/* The gateway's process_start_time_seconds into out ("" when it does not show it). */
static void gateway_started(const aw_attack_ctx *ctx, char *out, size_t cap)
{
    aw_wire_counters c;
    out[0] = '\0';
    if (ctx->metrics && aw_wire_counters_read(&ctx->gateway, &c) == AW_OK) {
        snprintf(out, cap, "%s", c.started);
    }
}

/* Runs the restart command: stdout dropped, no descriptor of ours inherited (the gateway it
 * starts must not hold the harness's sockets), SIGPIPE back to its default. 0 when it
 * exited 0 within two minutes (else killed); why says otherwise. */
static int run_restart_cmd(const char *cmd, char *why, size_t why_cap)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    posix_spawnattr_init(&attr);
    sigset_t none, pipe;
    sigemptyset(&none);
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        snprintf(why, why_cap, "cannot run --restart-cmd: %s", strerror(err));
        return -1;
    }
    int status = 0;
    pid_t done = 0;
    for (int i = 0; i < 2400 && done == 0; i++) { /* 120 s */
        done = waitpid(pid, &status, WNOHANG);
        if (done == 0) {
            struct timespec pause = {0, 50 * 1000 * 1000};
            nanosleep(&pause, NULL);
        } else if (done < 0 && errno == EINTR) {
            done = 0;
        }
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        (void)waitpid(pid, &status, 0);
        snprintf(why, why_cap, "--restart-cmd did not return within 120 s (killed)");
        return -1;
    }
    if (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, why_cap, "--restart-cmd failed (%s %d)",
                 done < 0            ? "waitpid"
                 : WIFEXITED(status) ? "exit"
                                     : "signal",
                 done < 0            ? errno
                 : WIFEXITED(status) ? WEXITSTATUS(status)
                                     : WTERMSIG(status));
        return -1;
    }
    return 0;
}

aw_result aw_attack_restart(aw_attack_ctx *ctx, char *why, size_t why_cap)
{
    AW_ENSURE(ctx->cfg->restart_cmd != NULL, AW_E_INVALID_ARG);
    aw_proxy_stop(ctx->proxy);
    ctx->proxy = NULL;
    char before[32], after[32];
    gateway_started(ctx, before, sizeof(before));
    if (run_restart_cmd(ctx->cfg->restart_cmd, why, why_cap) != 0) {
        return AW_E_IO;
    }
    bool up = false;
    for (int i = 0; i < 600 && !up; i++) { /* 30 s */
        up = gateway_listens(ctx);
        if (!up) {
            struct timespec pause = {0, 50 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    if (!up) {
        snprintf(why, why_cap, "the gateway did not listen again within 30 s of --restart-cmd");
        return AW_E_IO;
    }
    gateway_started(ctx, after, sizeof(after));
    if (before[0] == '\0' || after[0] == '\0') {
        snprintf(why, why_cap, "not verified: the gateway shows no process_start_time_seconds");
    } else if (strcmp(before, after) == 0) {
        snprintf(why, why_cap,
                 "the gateway was not restarted: process_start_time_seconds is still %s", after);
        return AW_E_IO;
    } else {
        snprintf(why, why_cap, "restarted: process_start_time_seconds %s -> %s", before, after);
    }
    return AW_OK;
}

void aw_attack_progress(aw_attack_ctx *ctx, const char *fmt, ...)
{
    FILE *f = ctx->cfg->progress;
    if (f == NULL) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(f, "%sauthwire: attack: [%zu/%zu] %s: %s\n", ctx->tty ? "\r\033[K" : "", ctx->index + 1,
            ctx->total, ctx->current, line);
    fflush(f);
}

/* The gateway as reached with identity's client certificate. */
static aw_endpoint endpoint_as(const aw_attack_ctx *ctx, aw_attack_identity identity)
{
    aw_endpoint e = ctx->gateway;
    if (identity == AW_ATTACK_AS_ANONYMOUS && ctx->anonymous_tls != NULL) {
        e.tls_ctx = ctx->anonymous_tls;
    } else if (identity == AW_ATTACK_AS_ATTACKER && ctx->attacker_tls != NULL) {
        e.tls_ctx = ctx->attacker_tls;
    }
    return e;
}

aw_result aw_attack_mitm(aw_attack_ctx *ctx, aw_proxy_mode mode, aw_attack_tls_mode tls,
                         aw_proxy_hook_fn hook, void *hook_arg)
{
    return aw_attack_mitm_as(ctx, mode, tls, AW_ATTACK_AS_USER, hook, hook_arg);
}

aw_result aw_attack_mitm_as(aw_attack_ctx *ctx, aw_proxy_mode mode, aw_attack_tls_mode tls,
                            aw_attack_identity identity, aw_proxy_hook_fn hook, void *hook_arg)
{
    AW_ENSURE(ctx->proxy == NULL, AW_E_INVALID_ARG);
    bool client_tls = ctx->gateway.tls && tls != AW_ATTACK_TLS_STRIP;
    aw_endpoint upstream = endpoint_as(ctx, identity);
    aw_proxy_config pc = {
        .mode = mode,
        .upstream = &upstream,
        .client_tls = client_tls ? ctx->rogue_tls : NULL,
        .hook = hook,
        .hook_arg = hook_arg,
    };
    AW_GUARD(aw_proxy_start(&pc, &ctx->proxy, &ctx->proxy_port));
    ctx->proxy_tls = tls;
    return AW_OK;
}

aw_proxy *aw_attack_proxy(aw_attack_ctx *ctx)
{
    return ctx->proxy;
}

int aw_attack_proxy_port(const aw_attack_ctx *ctx)
{
    return ctx->proxy != NULL ? ctx->proxy_port : 0;
}

void *aw_attack_alloc(aw_attack_ctx *ctx, size_t size)
{
    row_block *b = calloc(1, sizeof(*b) + size);
    if (b == NULL) {
        return NULL;
    }
    b->next = ctx->blocks;
    ctx->blocks = b;
    return b->data;
}

static aw_proxy_action edit_hook(void *arg, aw_pmsg *m)
{
    aw_attack_edit *e = arg;
    if (!m->http) {
        return AW_PROXY_PASS;
    }
    if (!m->response && aw_pmsg_signed(m) && e->request != NULL && e->request(m, e->arg)) {
        e->edits++;
    }
    if (m->response && m->request_signed) {
        e->answered++;
        e->status = m->status;
        const char *err = aw_pmsg_get(m, "authwire-error");
        snprintf(e->error, sizeof(e->error), "%s", err != NULL ? err : "");
        if (e->response != NULL && e->response(m, e->arg)) {
            e->edits++;
        }
    }
    return AW_PROXY_PASS;
}

aw_attack_edit *aw_attack_mitm_edit(aw_attack_ctx *ctx, aw_attack_edit_fn request,
                                    aw_attack_edit_fn response, void *arg)
{
    return aw_attack_mitm_edit_as(ctx, AW_ATTACK_AS_USER, request, response, arg);
}

aw_attack_edit *aw_attack_mitm_edit_as(aw_attack_ctx *ctx, aw_attack_identity identity,
                                       aw_attack_edit_fn request, aw_attack_edit_fn response,
                                       void *arg)
{
    aw_attack_edit *e = aw_attack_alloc(ctx, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    *e = (aw_attack_edit){.request = request, .response = response, .arg = arg};
    if (aw_attack_mitm_as(ctx, AW_PROXY_HTTP, AW_ATTACK_TLS_INTERCEPT, identity, edit_hook, e) !=
        AW_OK) {
        return NULL;
    }
    return e;
}

/* The URL of path addressed to the man in the middle's own address when one runs (else the
 * gateway's): for the user sent to the attacker, and for the enrollment client, which has
 * no --connect-to (enrollment signs no authority, so addressing it changes nothing tried). */
static void client_url(const aw_attack_ctx *ctx, const char *path, char *url, size_t cap)
{
    if (ctx->proxy != NULL) {
        snprintf(url, cap, "%s://127.0.0.1:%d%s", ctx->gateway.tls ? "https" : "http",
                 ctx->proxy_port, path);
    } else {
        snprintf(url, cap, "%s%s", ctx->base_url, path);
    }
}

/* Whether the user's client meets the rogue CA's leaf, and is told to trust it. */
static bool client_intercepted(const aw_attack_ctx *ctx)
{
    return ctx->proxy != NULL && ctx->gateway.tls && ctx->proxy_tls == AW_ATTACK_TLS_INTERCEPT;
}

const char *aw_attack_client_url(aw_attack_ctx *ctx, const char *path, char *url, size_t cap)
{
    client_url(ctx, path, url, cap);
    if (client_intercepted(ctx)) {
        return ctx->rogue_ca; /* the attacker's CA is trusted: TLS alone stops nothing */
    }
    if (!ctx->gateway.tls) {
        return NULL;
    }
    return ctx->cfg->cacert != NULL     ? ctx->cfg->cacert
           : ctx->gateway_ca[0] != '\0' ? ctx->gateway_ca
                                        : NULL;
}

aw_result aw_attack_send(aw_attack_ctx *ctx, aw_attack_call *call)
{
    memset(&call->resp, 0, sizeof(call->resp));
    call->why[0] = '\0';
    /* The client addresses the gateway (its name is what it signs and what the certificate
     * must carry); the network delivers to the man in the middle, or, when the user was
     * sent to the attacker's own address (call->to_attacker), the URL names that. */
    char url[2048], connect_to[32];
    bool on_path = ctx->proxy != NULL && !call->to_attacker;
    if (on_path) {
        snprintf(url, sizeof(url), "%s%s", ctx->base_url, call->path);
        snprintf(connect_to, sizeof(connect_to), "::127.0.0.1:%d", ctx->proxy_port);
    } else {
        client_url(ctx, call->path, url, sizeof(url));
    }
    char type[256];
    const char *fields[1] = {type};
    aw_client_request rq = {
        .method = call->method,
        .url = url,
        .fields = fields,
        .n_fields = 0,
        .body = (const uint8_t *)call->body,
        .body_len = call->body != NULL ? strlen(call->body) : 0,
        .cacert = ctx->cfg->cacert,
        .connect_to = on_path ? connect_to : NULL,
        .client_cert = ctx->cfg->client_cert,
        .client_key = ctx->cfg->client_key,
    };
    if (call->content_type != NULL) {
        snprintf(type, sizeof(type), "Content-Type: %s", call->content_type);
        rq.n_fields = 1;
    }
    if (client_intercepted(ctx)) {
        rq.cacert = ctx->rogue_ca; /* the attacker's CA is trusted: TLS alone stops nothing */
    }
    call->result =
        aw_client_send(&ctx->cred, ctx->cred_path, &rq, &call->resp, call->why, sizeof(call->why));
    if (ctx->proxy != NULL) {
        /* The hooks write under the proxy's lock: taking it makes what they wrote visible. */
        aw_proxy_lock(ctx->proxy);
        aw_proxy_unlock(ctx->proxy);
    }
    return call->result;
}

void aw_attack_call_free(aw_attack_call *call)
{
    aw_client_response_free(&call->resp);
}

aw_result aw_attack_raw(aw_attack_ctx *ctx, const uint8_t *req, size_t len, int timeout_ms,
                        aw_wire_answer *out)
{
    return aw_wire_exchange(&ctx->gateway, req, len, timeout_ms, out);
}

aw_result aw_attack_raw_as(aw_attack_ctx *ctx, aw_attack_identity identity, const uint8_t *req,
                           size_t len, int timeout_ms, aw_wire_answer *out)
{
    aw_endpoint e = endpoint_as(ctx, identity);
    return aw_wire_exchange(&e, req, len, timeout_ms, out);
}

aw_result aw_attack_forge_request(aw_attack_ctx *ctx, const aw_attack_forge *f, uint8_t **out,
                                  size_t *len)
{
    const char *body = f->body != NULL ? f->body : "";
    char digest[128];
    aw_writer dw;
    aw_writer_init(&dw, (uint8_t *)digest, sizeof(digest) - 1);
    AW_GUARD(aw_content_digest(aw_span_cstr(body), AW_DIGEST_SHA256, &dw));
    digest[dw.len] = '\0';
    aw_header headers[3];
    size_t n = 0;
    headers[n++] = (aw_header){AW_SPAN_LIT("Host"), aw_span_cstr(ctx->gateway.authority)};
    if (f->content_type != NULL) {
        headers[n++] = (aw_header){AW_SPAN_LIT("Content-Type"), aw_span_cstr(f->content_type)};
    }
    headers[n++] = (aw_header){AW_SPAN_LIT("Content-Digest"), aw_span_cstr(digest)};
    aw_message msg = {
        .method = aw_span_cstr(f->method),
        .target = aw_span_cstr(f->path),
        .scheme = ctx->gateway.tls ? AW_SPAN_LIT("https") : AW_SPAN_LIT("http"),
        .authority = aw_span_cstr(ctx->gateway.authority),
        .headers = headers,
        .n_headers = n,
        .body = aw_span_cstr(body),
    };
    uint8_t random[32];
    char nonce[48];
    AW_GUARD(aw_random(random, sizeof(random)));
    aw_writer nw;
    aw_writer_init(&nw, (uint8_t *)nonce, sizeof(nonce) - 1);
    aw_writer_base64url(&nw, random, sizeof(random));
    nonce[nw.len] = '\0';
    uint8_t components[256];
    aw_writer cw;
    aw_writer_init(&cw, components, sizeof(components) - 1);
    aw_request_components(f->content_type != NULL, false, false, &cw);
    AW_GUARD(aw_writer_result(&cw));
    components[cw.len] = '\0';
    aw_client_state state = {0};
    char state_path[sizeof(ctx->cred_path) + 8];
    snprintf(state_path, sizeof(state_path), "%s.state", ctx->cred_path);
    if (aw_client_state_read(state_path, &state) != AW_OK) {
        state.clock_offset = 0;
    }
    aw_sign_params params = {
        .label = AW_LABEL,
        .components = (const char *)components,
        .has_created = true,
        .created = (int64_t)time(NULL) + state.clock_offset,
        .nonce = aw_span_cstr(nonce),
        .keyid = aw_span_cstr(f->keyid != NULL ? f->keyid : ctx->cred.keyid),
        .tag = AW_SPAN_LIT(AW_TAG_REQUEST),
        .with_alg = !f->without_alg,
    };
    aw_key key;
    AW_GUARD(aw_credentials_key(&ctx->cred, &key));
    uint8_t *arena_buf = malloc(64 * 1024);
    uint8_t si_buf[2048], sg_buf[256];
    aw_writer si, sg;
    aw_writer_init(&si, si_buf, sizeof(si_buf) - 1);
    aw_writer_init(&sg, sg_buf, sizeof(sg_buf) - 1);
    aw_result r = arena_buf != NULL ? AW_OK : AW_E_INTERNAL;
    if (r == AW_OK) {
        aw_arena arena;
        aw_arena_init(&arena, arena_buf, 64 * 1024);
        r = aw_sign(&msg, NULL, &key, &params, &arena, &si, &sg, NULL);
    }
    free(arena_buf);
    aw_hmac_key_free(key.hmac);
    aw_ed25519_free(key.ed25519);
    AW_GUARD(r);
    size_t cap = strlen(f->path) + strlen(body) + si.len + sg.len + 1024;
    char *text = malloc(cap);
    AW_ENSURE(text != NULL, AW_E_INTERNAL);
    char type_line[300] = "";
    if (f->content_type != NULL) {
        snprintf(type_line, sizeof(type_line), "Content-Type: %s\r\n", f->content_type);
    }
    int w =
        snprintf(text, cap,
                 "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Digest: %s\r\nSignature-Input: "
                 "%.*s\r\nSignature: %.*s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 f->method, f->path, ctx->gateway.authority, type_line, digest, (int)si.len,
                 (const char *)si_buf, (int)sg.len, (const char *)sg_buf, strlen(body), body);
    if (w < 0 || (size_t)w >= cap) {
        free(text);
        return AW_E_INTERNAL;
    }
    *out = (uint8_t *)text;
    *len = (size_t)w;
    return AW_OK;
}

void aw_attack_mark(aw_attack_ctx *ctx)
{
    ctx->marked = ctx->metrics && aw_wire_counters_read(&ctx->gateway, &ctx->mark) == AW_OK;
}

bool aw_attack_rejections(aw_attack_ctx *ctx, char *out, size_t cap)
{
    out[0] = '\0';
    aw_wire_counters now;
    if (!ctx->marked || aw_wire_counters_read(&ctx->gateway, &now) != AW_OK) {
        return false;
    }
    aw_wire_counters_diff(&ctx->mark, &now, out, cap);
    return true;
}

__attribute__((format(printf, 3, 0))) static void vset(char *dst, size_t cap, const char *fmt,
                                                       va_list ap)
{
    vsnprintf(dst, cap, fmt, ap);
}

void aw_attack_set(aw_attack_result *out, aw_attack_outcome outcome, const char *stopped_by,
                   const char *fmt, ...)
{
    out->outcome = outcome;
    snprintf(out->stopped_by, sizeof(out->stopped_by), "%s", stopped_by != NULL ? stopped_by : "");
    va_list ap;
    va_start(ap, fmt);
    vset(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
}

void aw_attack_observe(aw_attack_result *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(out->observed, sizeof(out->observed), fmt, ap);
    va_end(ap);
}

void aw_attack_detail_append(aw_attack_result *out, const char *fmt, ...)
{
    size_t n = strlen(out->detail);
    va_list ap;
    va_start(ap, fmt);
    vset(out->detail + n, sizeof(out->detail) - n, fmt, ap);
    va_end(ap);
}

void aw_attack_detail_prepend(aw_attack_result *out, const char *fmt, ...)
{
    char was[sizeof(out->detail)];
    memcpy(was, out->detail, sizeof(was));
    va_list ap;
    va_start(ap, fmt);
    vset(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
    size_t n = strlen(out->detail);
    snprintf(out->detail + n, sizeof(out->detail) - n, "%s", was);
}

void aw_attack_judge_gateway(aw_attack_ctx *ctx, int status, const char *wire_error,
                             aw_attack_result *out)
{
    const char *shown = wire_error != NULL && wire_error[0] != '\0' ? wire_error : "none";
    if (status == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the gateway's answer never came");
        return;
    }
    if (status >= 200 && status < 300) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the gateway accepted the attacker's message (status %d)", status);
        return;
    }
    char counted[64];
    if (aw_attack_rejections(ctx, counted, sizeof(counted)) && counted[0] != '\0') {
        aw_attack_set(out, AW_ATTACK_BLOCKED, counted,
                      "the gateway refused it: status %d, Authwire-Error %s to the sender, "
                      "counted as %s",
                      status, shown, counted);
        return;
    }
    aw_attack_set(out, AW_ATTACK_BLOCKED, wire_error != NULL ? wire_error : "",
                  "the gateway refused it: status %d, Authwire-Error %s (its counters are not "
                  "readable here)",
                  status, shown);
}

void aw_attack_judge_client(const aw_attack_call *call, aw_attack_result *out)
{
    if (call->result != AW_OK) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the client got no answer: %s",
                      call->why[0] != '\0' ? call->why : aw_result_reason(call->result));
        return;
    }
    if (call->resp.verified) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the client accepted the altered answer as genuine (status %d)",
                      call->resp.status);
        return;
    }
    char by[64];
    snprintf(by, sizeof(by), "client:%s", aw_result_name(call->resp.why));
    aw_attack_set(out, AW_ATTACK_BLOCKED, by,
                  "the client refused the answer (%s) and reports possible interference",
                  aw_result_reason(call->resp.why));
}

/* ---- the run ---------------------------------------------------------------------------- */

void aw_attack_expected(const aw_attack *a, bool tls, aw_fresh_mode mode, aw_alg alg, char *out,
                        size_t cap)
{
    out[0] = '\0';
    const char *p = a->expected;
    while (*p != '\0') {
        while (*p == ' ') {
            p++;
        }
        size_t n = strcspn(p, " ");
        if (n == 0) {
            break;
        }
        const char *eq = memchr(p, '=', n);
        bool holds = true;
        const char *name = p;
        if (eq != NULL) {
            size_t cl = (size_t)(eq - p);
            struct {
                const char *cond;
                bool value;
            } conds[] = {
                {"tls", tls},
                {"plain", !tls},
                {"timestamp", mode == AW_FRESH_TIMESTAMP},
                {"sequence", mode == AW_FRESH_SEQUENCE},
                {"challenge", mode == AW_FRESH_CHALLENGE},
                {"hmac", alg == AW_ALG_HMAC_SHA256},
                {"ed25519", alg == AW_ALG_ED25519},
            };
            holds = false;
            for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
                if (strlen(conds[i].cond) == cl && memcmp(conds[i].cond, p, cl) == 0) {
                    holds = conds[i].value;
                }
            }
            name = eq + 1;
        }
        if (holds) {
            snprintf(out, cap, "%.*s", (int)(n - (size_t)(name - p)), name);
            return;
        }
        p += n;
    }
}

/* Why a row cannot run against this target, or NULL. */
static const char *skip_reason(const aw_attack_ctx *ctx, const aw_attack *a, char *buf, size_t cap)
{
    aw_fresh_mode mode = ctx->cred.mode;
    const char *mode_name = aw_fresh_mode_name(mode);
    if ((a->needs & AW_ATTACK_NEEDS_TLS) && !ctx->gateway.tls) {
        return "the target is plain HTTP: there is no TLS to attack (every row reads the "
               "traffic already)";
    }
    static const struct {
        unsigned flag;
        aw_fresh_mode mode;
        const char *what;
    } modes[] = {
        {AW_ATTACK_NEEDS_TIMESTAMP, AW_FRESH_TIMESTAMP, "a timestamp-mode user"},
        {AW_ATTACK_NEEDS_SEQUENCE, AW_FRESH_SEQUENCE, "a sequence-mode user"},
        {AW_ATTACK_NEEDS_CHALLENGE, AW_FRESH_CHALLENGE, "a challenge-mode user"},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if ((a->needs & modes[i].flag) && mode != modes[i].mode) {
            snprintf(buf, cap, "needs %s; %s is in %s mode", modes[i].what, ctx->cred.keyid,
                     mode_name);
            return buf;
        }
    }
    if ((a->needs & AW_ATTACK_NEEDS_VICTIM) && ctx->cfg->victim == NULL) {
        return "needs another user of the gateway (--victim NAME, or --data DIR to pick one)";
    }
    if ((a->needs & AW_ATTACK_NEEDS_MTLS) && ctx->cfg->client_cert == NULL) {
        return "needs an mTLS target: the user's client certificate (--cert FILE)";
    }
    if ((a->needs & AW_ATTACK_NEEDS_ATTACKER_CERT) && ctx->cfg->attacker_cert == NULL) {
        return "needs a client certificate of the attacker's own (--attacker-cert FILE)";
    }
    if ((a->needs & AW_ATTACK_NEEDS_RESTART) && ctx->cfg->restart_cmd == NULL) {
        return "needs --restart-cmd CMD to restart the gateway";
    }
    if ((a->needs & AW_ATTACK_NEEDS_DATA) && ctx->cfg->data_dir == NULL) {
        return "needs --data DIR to issue invites";
    }
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the man in the middle saw, when the attack did not say. */
static void default_observed(aw_attack_ctx *ctx, aw_attack_result *res)
{
    if (res->observed[0] != '\0') {
        return;
    }
    if (ctx->proxy == NULL) {
        aw_attack_observe(res, "only its own exchanges with the gateway");
        return;
    }
    /* "METHOD target -> status" for each exchange, requests paired with the answers on the
     * same connection in order. */
    enum { PENDING = 16, SHOWN = 3 };
    struct {
        int conn;
        char line[80];
    } pending[PENDING];
    size_t n_pending = 0, exchanges = 0, bytes = 0;
    char seen[200] = "";
    size_t n = aw_proxy_record_count(ctx->proxy);
    for (size_t i = 0; i < n; i++) {
        aw_proxy_record rec;
        aw_pmsg m = {0};
        if (aw_proxy_record_get(ctx->proxy, i, &rec) != AW_OK) {
            continue;
        }
        bytes += rec.len;
        if (rec.http && aw_pmsg_parse((aw_span){rec.data, rec.len}, &m) == AW_OK) {
            if (!m.response && n_pending < PENDING) {
                pending[n_pending].conn = rec.conn;
                snprintf(pending[n_pending].line, sizeof(pending[n_pending].line), "%s %s",
                         m.method, m.target);
                n_pending++;
            } else if (m.response) {
                for (size_t k = 0; k < n_pending; k++) {
                    if (pending[k].conn != rec.conn) {
                        continue;
                    }
                    if (exchanges < SHOWN) {
                        size_t len = strlen(seen);
                        snprintf(seen + len, sizeof(seen) - len, "%s%s -> %d",
                                 exchanges > 0 ? ", " : "", pending[k].line, m.status);
                    }
                    exchanges++;
                    memmove(&pending[k], &pending[k + 1], (n_pending - k - 1) * sizeof(pending[0]));
                    n_pending--;
                    break;
                }
            }
        }
        aw_pmsg_free(&m);
        aw_proxy_record_free(&rec);
    }
    if (exchanges == 0) {
        aw_attack_observe(res, "%zu bytes, no readable HTTP exchange", bytes);
        return;
    }
    char more[32] = "";
    if (exchanges > SHOWN) {
        snprintf(more, sizeof(more), " and %zu more", exchanges - SHOWN);
    }
    aw_attack_observe(res, "%s%s: heads, bodies and signatures in the clear (%s)", seen, more,
                      ctx->gateway.tls ? "TLS intercepted with the rogue CA" : "plain HTTP");
}

static void run_row(aw_attack_ctx *ctx, const aw_attack *a, aw_attack_row *row)
{
    row->attack = a;
    aw_attack_expected(a, ctx->gateway.tls, ctx->cred.mode, ctx->cred.alg, row->expected,
                       sizeof(row->expected));
    char buf[256];
    const char *skip = skip_reason(ctx, a, buf, sizeof(buf));
    if (skip != NULL) {
        row->skipped = true;
        snprintf(row->result.detail, sizeof(row->result.detail), "%s", skip);
        return;
    }
    double t0 = now_seconds();
    aw_attack_result *res = &row->result;
    aw_result r = a->run(ctx, res);
    if (r != AW_OK) {
        char was[sizeof(res->detail)];
        snprintf(was, sizeof(was), "%s", res->detail);
        aw_attack_set(res, AW_ATTACK_ERROR, NULL, "%s%s%s", aw_result_reason(r),
                      was[0] != '\0' ? ": " : "", was);
    }
    default_observed(ctx, res);
    aw_proxy_stop(ctx->proxy);
    ctx->proxy = NULL;
    row_blocks_free(ctx);
    ctx->marked = false;
    row->seconds = now_seconds() - t0;
    row->as_expected = res->outcome == AW_ATTACK_BLOCKED && row->expected[0] != '\0' &&
                       strcmp(res->stopped_by, row->expected) == 0;
}

/* Runs the rows, one after the other, into out. */
static void run_rows(aw_attack_ctx *ctx, const aw_attack *cat, size_t n, aw_attack_report *out)
{
    const aw_attack_config *cfg = ctx->cfg;
    ctx->tty = cfg->progress != NULL && isatty(fileno(cfg->progress));
    ctx->total = n;
    for (size_t i = 0; i < n; i++) {
        ctx->index = i;
        ctx->current = cat[i].id;
        if (ctx->tty) {
            fprintf(cfg->progress, "\r\033[K[%zu/%zu] %s", i + 1, n, cat[i].id);
            fflush(cfg->progress);
        }
        aw_attack_row *row = &out->rows[i];
        run_row(ctx, &cat[i], row);
        out->n_rows++;
        if (row->skipped) {
            out->skipped++;
        } else if (row->result.outcome == AW_ATTACK_SUCCEEDED) {
            out->succeeded++;
        } else if (row->result.outcome == AW_ATTACK_ERROR) {
            out->errors++;
        } else {
            out->blocked++;
            out->unexpected += !row->as_expected;
        }
    }
    if (ctx->tty) {
        fprintf(cfg->progress, "\r\033[K");
    }
}

aw_result aw_attack_run(const aw_attack_config *cfg, aw_attack_report *out, char *why,
                        size_t why_cap)
{
    memset(out, 0, sizeof(*out));
    size_t n = cfg->catalogue_len;
    const aw_attack *cat = cfg->catalogue;
    if (cat == NULL) {
        cat = aw_attack_catalogue(&n);
    }
    if (cfg->only != NULL) {
        size_t i = 0;
        while (i < n && strcmp(cat[i].id, cfg->only) != 0) {
            i++;
        }
        if (i == n) {
            snprintf(why, why_cap, "no attack '%s' in the catalogue (see --list)", cfg->only);
            return AW_E_INVALID_ARG;
        }
        cat += i;
        n = 1;
    }
    aw_attack_ctx *ctx = calloc(1, sizeof(*ctx));
    out->rows = calloc(n, sizeof(*out->rows));
    aw_result r = ctx != NULL && out->rows != NULL ? AW_OK : AW_E_INTERNAL;
    if (r != AW_OK) {
        snprintf(why, why_cap, "out of memory");
    } else {
        r = ctx_open(ctx, cfg, why, why_cap);
    }
    if (r == AW_OK) {
        snprintf(out->target, sizeof(out->target), "%s", ctx->base_url);
        snprintf(out->user, sizeof(out->user), "%s", ctx->cred.keyid);
        snprintf(out->mode, sizeof(out->mode), "%s", aw_fresh_mode_name(ctx->cred.mode));
        /* A peer that closes while the proxy or an oversized request still writes must give
         * EPIPE, not kill the run. */
        struct sigaction ignore = {.sa_handler = SIG_IGN}, was;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, &was);
        aw_wire_counters probe;
        r = aw_wire_counters_read(&ctx->gateway, &probe);
        if (r == AW_E_IO) {
            snprintf(why, why_cap, "cannot connect to %s%s", ctx->base_url,
                     ctx->gateway.tls ? " (or its TLS certificate does not verify)" : "");
        } else {
            ctx->metrics = r == AW_OK; /* only loopback peers see the counters */
            r = AW_OK;
            run_rows(ctx, cat, n, out);
        }
        sigaction(SIGPIPE, &was, NULL);
    }
    if (ctx != NULL) {
        ctx_close(ctx);
        free(ctx);
    }
    if (r != AW_OK) {
        aw_attack_report_free(out);
    }
    return r;
}
