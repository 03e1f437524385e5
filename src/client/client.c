/* The signing client over libcurl (see client.h).
 *
 * Channel binding needs the TLS exporter of the connection the request goes out on, which
 * exists only once libcurl has connected. So the request is signed in libcurl's
 * pre-request callback (CURLOPT_PREREQFUNCTION), which runs after the connection is made
 * or reused and before the request is written; the signed fields are placeholders in the
 * header list until then, filled in place. */
#include "client.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authwire/exchange.h"
#include "authwire/freshness.h"
#include "authwire/signature.h"
#include "tls.h"

#define MAX_FIELDS   64
#define MAX_HEAD     (64 * 1024)
#define MAX_BODY     (64 * 1024 * 1024)
#define CLIENT_ARENA (64 * 1024)

typedef struct growbuf {
    uint8_t *ptr;
    size_t len, cap, max;
    bool overflow;
} growbuf;

static bool growbuf_add(growbuf *g, const void *data, size_t len)
{
    if (g->len + len > g->max) {
        g->overflow = true;
        return false;
    }
    if (g->len + len + 1 > g->cap) {
        size_t cap = g->cap == 0 ? 4096 : g->cap;
        while (cap < g->len + len + 1) {
            cap *= 2;
        }
        uint8_t *p = realloc(g->ptr, cap);
        if (p == NULL) {
            g->overflow = true;
            return false;
        }
        g->ptr = p;
        g->cap = cap;
    }
    memcpy(g->ptr + g->len, data, len);
    g->len += len;
    g->ptr[g->len] = '\0';
    return true;
}

/* One attempt: everything the pre-request callback needs to sign. */
typedef struct attempt {
    const aw_credentials *cred;
    const aw_client_request *rq;
    aw_key key;
    aw_ed25519_key *server_key;
    CURL *curl;
    bool tls;
    /* The request as signed (the kept copy the response is checked against). */
    char method[16];
    char *target;
    char *authority;
    aw_header headers[MAX_FIELDS + 8];
    size_t n_headers;
    char digest[128];
    char seq_text[24];
    char cb_text[64];
    char nonce[AW_CHALLENGE_TEXT_LEN + 1];
    int64_t created;
    uint64_t seq;
    bool with_seq;
    uint8_t sig_input[2048];
    size_t sig_input_len;
    uint8_t signature[256];
    size_t signature_len;
    struct curl_slist *cb_node, *input_node, *sig_node;
    struct curl_slist *connect_to; /* rq->connect_to for curl; aw_client_send frees it */
    aw_result sign_result;
    growbuf head, body;
    char *why;
    size_t why_cap;
} attempt;

__attribute__((format(printf, 2, 3))) static void say(attempt *a, const char *fmt, ...)
{
    if (a->why != NULL && a->why_cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->why, a->why_cap, fmt, ap);
        va_end(ap);
    }
}

static void set_node(struct curl_slist *node, const char *name, const char *value, size_t len)
{
    size_t n = strlen(name) + 2 + len + 1;
    char *text = malloc(n);
    if (text == NULL) {
        return; /* the placeholder stays; the server will refuse the request */
    }
    snprintf(text, n, "%s: %.*s", name, (int)len, value);
    free(node->data); /* allocated by curl_slist_append with the same malloc */
    node->data = text;
}

static aw_message request_view(attempt *a, size_t n_headers)
{
    return (aw_message){
        .method = aw_span_cstr(a->method),
        .target = aw_span_cstr(a->target),
        .scheme = a->tls ? AW_SPAN_LIT("https") : AW_SPAN_LIT("http"),
        .authority = aw_span_cstr(a->authority),
        .headers = a->headers,
        .n_headers = n_headers,
        .body = {a->rq->body, a->rq->body_len},
    };
}

static aw_result sign_now(attempt *a)
{
    size_t n = a->n_headers;
    bool content_type = false;
    for (size_t i = 0; i < n; i++) {
        content_type |= aw_span_eq_nocase(a->headers[i].name, AW_SPAN_LIT("content-type"));
    }
    bool cb = false;
    if (a->tls) {
        struct curl_tlssessioninfo *info = NULL;
        if (curl_easy_getinfo(a->curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == NULL ||
            info->backend != CURLSSLBACKEND_OPENSSL || info->internals == NULL) {
            return AW_E_UNSUPPORTED;
        }
        uint8_t exporter[AW_TLS_EXPORTER_LEN];
        AW_GUARD(aw_tls_exporter(info->internals, exporter));
        aw_writer w;
        aw_writer_init(&w, (uint8_t *)a->cb_text, sizeof(a->cb_text) - 1);
        aw_cb_write(exporter, &w);
        AW_GUARD(aw_writer_result(&w));
        a->cb_text[w.len] = '\0';
        a->headers[n++] = (aw_header){AW_SPAN_LIT("Authwire-CB"), aw_span_cstr(a->cb_text)};
        set_node(a->cb_node, "Authwire-CB", a->cb_text, w.len);
        cb = true;
    }
    uint8_t components[256];
    aw_writer cw;
    aw_writer_init(&cw, components, sizeof(components) - 1);
    aw_request_components(content_type, a->with_seq, cb, &cw);
    AW_GUARD(aw_writer_result(&cw));
    components[cw.len] = '\0';
    aw_sign_params params = {
        .label = AW_LABEL,
        .components = (const char *)components,
        .has_created = true,
        .created = a->created,
        .nonce = aw_span_cstr(a->nonce),
        .keyid = aw_span_cstr(a->cred->keyid),
        .tag = AW_SPAN_LIT(AW_TAG_REQUEST),
        .with_alg = true,
    };
    aw_message msg = request_view(a, n);
    uint8_t *arena_buf = malloc(CLIENT_ARENA);
    uint8_t *base_buf = malloc(16384);
    AW_ENSURE(arena_buf != NULL && base_buf != NULL, AW_E_INTERNAL);
    aw_arena arena;
    aw_arena_init(&arena, arena_buf, CLIENT_ARENA);
    aw_writer si, sg, base;
    aw_writer_init(&si, a->sig_input, sizeof(a->sig_input) - 1);
    aw_writer_init(&sg, a->signature, sizeof(a->signature) - 1);
    aw_writer_init(&base, base_buf, 16383);
    aw_result r = aw_sign(&msg, NULL, &a->key, &params, &arena, &si, &sg, &base);
    if (r == AW_OK && a->rq->verbose != NULL) {
        fprintf(a->rq->verbose, "* signature base:\n%.*s\n", (int)base.len, (const char *)base_buf);
    }
    free(arena_buf);
    free(base_buf);
    AW_GUARD(r);
    a->sig_input_len = si.len;
    a->signature_len = sg.len;
    a->sig_input[si.len] = '\0';
    a->signature[sg.len] = '\0';
    set_node(a->input_node, "Signature-Input", (const char *)a->sig_input, si.len);
    set_node(a->sig_node, "Signature", (const char *)a->signature, sg.len);
    /* The kept request includes its signature: the response binds to it. */
    a->headers[n++] = (aw_header){AW_SPAN_LIT("Signature-Input"), {a->sig_input, a->sig_input_len}};
    a->headers[n++] = (aw_header){AW_SPAN_LIT("Signature"), {a->signature, a->signature_len}};
    a->n_headers = n;
    return AW_OK;
}

static int prereq_cb(void *arg, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    attempt *a = arg;
    a->sign_result = sign_now(a);
    return a->sign_result == AW_OK ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    attempt *a = arg;
    size_t len = size * n;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        a->head.len = 0; /* a new response (after 1xx): keep only the last head */
    }
    return growbuf_add(&a->head, data, len) ? len : 0;
}

static size_t body_cb(char *data, size_t size, size_t n, void *arg)
{
    attempt *a = arg;
    size_t len = size * n;
    return growbuf_add(&a->body, data, len) ? len : 0;
}

static aw_result lookup_response_key(void *ctx, aw_span keyid, const aw_key **key)
{
    attempt *a = ctx;
    static _Thread_local aw_key server;
    if (aw_span_eq(keyid, aw_span_cstr(a->cred->keyid))) {
        *key = &a->key;
        return AW_OK;
    }
    if (aw_span_eq(keyid, AW_SPAN_LIT(AW_SERVER_KEYID))) {
        server = (aw_key){.alg = AW_ALG_ED25519, .ed25519 = a->server_key};
        *key = &server;
        return AW_OK;
    }
    return AW_E_KEY_UNKNOWN;
}

/* Checks the response against the request kept in a. */
static void verify_response(attempt *a, aw_client_response *out, int64_t now)
{
    growbuf raw = {.max = MAX_HEAD + MAX_BODY};
    aw_header fields[MAX_FIELDS];
    aw_message resp;
    out->verified = false;
    if (!growbuf_add(&raw, a->head.ptr, a->head.len) ||
        (a->body.len > 0 && !growbuf_add(&raw, a->body.ptr, a->body.len))) {
        out->why = AW_E_TOO_LARGE;
        free(raw.ptr);
        return;
    }
    aw_result r = aw_http_parse((aw_span){raw.ptr, raw.len}, fields, MAX_FIELDS, &resp);
    if (r == AW_OK && !resp.is_response) {
        r = AW_E_MALFORMED;
    }
    aw_message req = request_view(a, a->n_headers);
    aw_policy policy;
    aw_policy_authwire_response(&policy);
    /* The response's created is the server's clock; ours may be off by the offset we
     * learnt, and a response is only as old as the round trip. */
    policy.skew = 300;
    policy.max_age = 300;
    uint8_t *arena_buf = malloc(CLIENT_ARENA);
    aw_verified v;
    if (r == AW_OK && arena_buf == NULL) {
        r = AW_E_INTERNAL;
    }
    if (r == AW_OK) {
        aw_arena arena;
        aw_arena_init(&arena, arena_buf, CLIENT_ARENA);
        r = aw_verify(&resp, &req, &policy, now, lookup_response_key, a, &arena, &v);
    }
    aw_span error = {0};
    uint8_t small[256];
    aw_arena fa;
    aw_arena_init(&fa, small, sizeof(small));
    if (r == AW_OK && aw_message_field(&resp, AW_SPAN_LIT(AW_FIELD_ERROR), &fa, &error) == AW_OK) {
        /* An error reason counts only when the signature covers it. */
        if (!aw_verified_covers(&v, AW_FIELD_ERROR) || !aw_verified_covers(&v, AW_FIELD_TIME) ||
            error.len >= sizeof(out->error)) {
            r = AW_E_COVERAGE_INSUFFICIENT;
        } else {
            memcpy(out->error, error.ptr, error.len);
            out->error[error.len] = '\0';
        }
    }
    free(arena_buf);
    free(raw.ptr);
    out->why = r;
    out->verified = r == AW_OK;
    if (out->verified) {
        out->status = resp.status; /* the status the signature covers, not curl's reading */
    }
}

bool aw_client_head_field(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = head != NULL ? strchr(head, '\n') : NULL; line != NULL;
         line = strchr(line + 1, '\n')) {
        if (strncasecmp(line + 1, name, n) != 0 || line[1 + n] != ':') {
            continue;
        }
        const char *v = line + 2 + n;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        size_t len = strcspn(v, "\r\n");
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
            len--;
        }
        if (len >= cap) {
            return false;
        }
        memcpy(out, v, len);
        out[len] = '\0';
        return true;
    }
    return false;
}

/* The server's signed clock from a verified error response, or 0. */
static int64_t signed_server_time(const attempt *a)
{
    char text[32];
    return aw_client_head_field((const char *)a->head.ptr, AW_FIELD_TIME, text, sizeof(text))
               ? strtoll(text, NULL, 10)
               : 0;
}

static int64_t challenge_created(const char *token)
{
    /* The token carries its issue time (docs/PROTOCOL.md, Challenge): a client without a
     * clock signs with the server's. */
    uint8_t raw[AW_CHALLENGE_RAW_LEN];
    size_t len = 0;
    if (aw_base64_decode(aw_span_cstr(token), AW_BASE64_URL, raw, sizeof(raw), &len) != AW_OK ||
        len != AW_CHALLENGE_RAW_LEN) {
        return 0;
    }
    int64_t t = 0;
    for (int i = 1; i <= 8; i++) {
        t = (t << 8) | raw[i];
    }
    return t;
}

/* What every exchange sets: the URL, limits, TLS 1.3, and the callbacks filling a's buffers. */
static CURL *curl_new(attempt *a, const char *url, long timeout)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout > 0 && timeout < 10 ? timeout : 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 60L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    return c;
}

static CURL *curl_for(attempt *a, const char *url)
{
    const aw_client_request *rq = a->rq;
    CURL *c = curl_new(a, url, rq->timeout);
    if (c == NULL) {
        return NULL;
    }
    /* The CA named for this gateway is the only one trusted: without clearing CAPATH,
     * libcurl would also trust every CA of the system store. */
    if (rq->cacert != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, rq->cacert);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    } else if (a->cred->ca_pem != NULL) {
        struct curl_blob blob = {a->cred->ca_pem, strlen(a->cred->ca_pem), CURL_BLOB_COPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    }
    if (a->connect_to != NULL) {
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, a->connect_to);
    }
    if (rq->client_cert != NULL) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, rq->client_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY,
                         rq->client_key != NULL ? rq->client_key : rq->client_cert);
    }
    return c;
}

/* GET the challenge endpoint (no authentication) for a fresh challenge nonce. */
static aw_result fetch_challenge(attempt *a, const char *base_url,
                                 char out[AW_CHALLENGE_TEXT_LEN + 1])
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", base_url, AW_CHALLENGE_PATH);
    attempt probe = *a;
    probe.head = (growbuf){.max = MAX_HEAD};
    probe.body = (growbuf){.max = 1024};
    CURL *c = curl_for(&probe, url);
    AW_ENSURE(c != NULL, AW_E_INTERNAL);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    aw_result r = AW_OK;
    if (rc != CURLE_OK) {
        say(a, "cannot fetch a challenge: %s", curl_easy_strerror(rc));
        r = AW_E_IO;
    } else if (status != 200 || probe.body.len != AW_CHALLENGE_TEXT_LEN) {
        say(a, "%s", "the gateway gave no challenge");
        r = AW_E_CHALLENGE_INVALID;
    } else {
        memcpy(out, probe.body.ptr, AW_CHALLENGE_TEXT_LEN);
        out[AW_CHALLENGE_TEXT_LEN] = '\0';
    }
    free(probe.head.ptr);
    free(probe.body.ptr);
    return r;
}

/* Splits url into what the signature covers; fills a->target and a->authority. */
static aw_result parse_url(attempt *a, const char *url, char **base_url)
{
    CURLU *u = curl_url();
    AW_ENSURE(u != NULL, AW_E_INTERNAL);
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    aw_result r = AW_E_INVALID_ARG;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        a->tls = strcmp(scheme, "https") == 0;
        if (a->tls || strcmp(scheme, "http") == 0) {
            size_t n = strlen(host) + (port != NULL ? strlen(port) + 1 : 0) + 1;
            a->authority = malloc(n);
            size_t t = strlen(path) + (query != NULL ? strlen(query) + 1 : 0) + 1;
            a->target = malloc(t);
            size_t b = strlen(scheme) + 3 + n;
            *base_url = malloc(b);
            if (a->authority != NULL && a->target != NULL && *base_url != NULL) {
                snprintf(a->authority, n, "%s%s%s", host, port != NULL ? ":" : "",
                         port != NULL ? port : "");
                snprintf(a->target, t, "%s%s%s", path, query != NULL ? "?" : "",
                         query != NULL ? query : "");
                snprintf(*base_url, b, "%s://%s", scheme, a->authority);
                r = AW_OK;
            } else {
                r = AW_E_INTERNAL;
            }
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return r;
}

char *aw_client_url_join(const char *base, const char *url)
{
    if (url == NULL) {
        return strdup(base);
    }
    if (url[0] != '/') {
        return strdup(url);
    }
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') {
        bl--;
    }
    /* Keep only scheme://authority of the base. */
    const char *p = strstr(base, "://");
    if (p != NULL) {
        const char *slash = strchr(p + 3, '/');
        if (slash != NULL && (size_t)(slash - base) < bl) {
            bl = (size_t)(slash - base);
        }
    }
    size_t n = bl + strlen(url) + 1;
    char *out = malloc(n);
    if (out != NULL) {
        snprintf(out, n, "%.*s%s", (int)bl, base, url);
    }
    return out;
}

static aw_result load_key(const aw_credentials *cred, aw_key *key, aw_ed25519_key **server_key)
{
    AW_GUARD(aw_credentials_key(cred, key));
    return aw_ed25519_from_public(cred->server_public_key, server_key);
}

static void attempt_free(attempt *a)
{
    free(a->target);
    free(a->authority);
    free(a->head.ptr);
    free(a->body.ptr);
    a->target = a->authority = NULL;
    a->head.ptr = a->body.ptr = NULL;
}

/* The received head and body move from the attempt to the response. */
static void hand_over(attempt *a, aw_client_response *out)
{
    out->head = (char *)a->head.ptr;
    out->head_len = a->head.len;
    out->body = a->body.ptr;
    out->body_len = a->body.len;
    a->head.ptr = NULL;
    a->body.ptr = NULL;
}

static aw_result one_attempt(attempt *a, const char *url, const char *state_path,
                             aw_client_response *out)
{
    const aw_client_request *rq = a->rq;
    char *base_url = NULL;
    AW_GUARD(parse_url(a, url, &base_url));
    aw_client_state state;
    aw_result r = aw_client_state_read(state_path, &state);
    int64_t now = (int64_t)time(NULL) + (r == AW_OK ? state.clock_offset : 0);
    r = AW_OK;

    /* Freshness for the user's mode. */
    a->created = now;
    a->with_seq = false;
    if (a->cred->mode == AW_FRESH_CHALLENGE) {
        r = fetch_challenge(a, base_url, a->nonce);
        int64_t issued = r == AW_OK ? challenge_created(a->nonce) : 0;
        if (issued > 0) {
            a->created = issued;
        }
    } else {
        uint8_t random[32];
        r = aw_random(random, sizeof(random));
        aw_writer w;
        aw_writer_init(&w, (uint8_t *)a->nonce, sizeof(a->nonce) - 1);
        aw_writer_base64url(&w, random, sizeof(random));
        a->nonce[w.len] = '\0';
        if (r == AW_OK && a->cred->mode == AW_FRESH_SEQUENCE) {
            r = aw_client_state_take_seq(state_path, &a->seq);
            a->with_seq = true;
            snprintf(a->seq_text, sizeof(a->seq_text), "%llu", (unsigned long long)a->seq);
        }
    }
    free(base_url);
    AW_GUARD(r);

    /* The fields as signed, and the same as curl sends them. */
    struct curl_slist *list = NULL;
    size_t n = 0;
    list = curl_slist_append(list, "Expect:"); /* no 100-continue dance */
    char host_line[512];
    snprintf(host_line, sizeof(host_line), "Host: %s", a->authority);
    list = curl_slist_append(list, host_line);
    a->headers[n++] = (aw_header){AW_SPAN_LIT("Host"), aw_span_cstr(a->authority)};
    bool has_type = false;
    for (size_t i = 0; i < rq->n_fields && n < MAX_FIELDS; i++) {
        const char *f = rq->fields[i];
        const char *colon = strchr(f, ':');
        if (colon == NULL || colon == f) {
            curl_slist_free_all(list);
            say(a, "bad header '%s' (want 'Name: value')", f);
            return AW_E_INVALID_ARG;
        }
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        aw_span name = {(const uint8_t *)f, (size_t)(colon - f)};
        has_type |= aw_span_eq_nocase(name, AW_SPAN_LIT("content-type"));
        if (aw_span_eq_nocase(name, AW_SPAN_LIT("host"))) {
            continue; /* the URL decides the authority */
        }
        a->headers[n++] = (aw_header){name, aw_span_cstr(v)};
        list = curl_slist_append(list, f);
    }
    if (!has_type) {
        list = curl_slist_append(list, "Content-Type:"); /* curl would add an unsigned one */
    }
    aw_writer dw;
    aw_writer_init(&dw, (uint8_t *)a->digest, sizeof(a->digest) - 1);
    r = aw_content_digest((aw_span){rq->body, rq->body_len}, AW_DIGEST_SHA256, &dw);
    a->digest[dw.len] = '\0';
    a->headers[n++] = (aw_header){AW_SPAN_LIT("Content-Digest"), aw_span_cstr(a->digest)};
    char digest_line[160];
    snprintf(digest_line, sizeof(digest_line), "Content-Digest: %s", a->digest);
    list = curl_slist_append(list, digest_line);
    if (a->with_seq) {
        a->headers[n++] = (aw_header){AW_SPAN_LIT("Authwire-Seq"), aw_span_cstr(a->seq_text)};
        char seq_line[48];
        snprintf(seq_line, sizeof(seq_line), "Authwire-Seq: %s", a->seq_text);
        list = curl_slist_append(list, seq_line);
    }
    a->n_headers = n;
    /* Placeholders, filled by the pre-request callback once the connection exists. */
    list = curl_slist_append(list, "Authwire-CB:");
    for (struct curl_slist *s = list; s != NULL; s = s->next) {
        a->cb_node = s;
    }
    list = curl_slist_append(list, "Signature-Input: unsigned");
    a->input_node = a->cb_node->next;
    list = curl_slist_append(list, "Signature: unsigned");
    a->sig_node = a->input_node->next;
    if (r != AW_OK || list == NULL) {
        curl_slist_free_all(list);
        return r != AW_OK ? r : AW_E_INTERNAL;
    }

    a->head = (growbuf){.max = MAX_HEAD};
    a->body = (growbuf){.max = MAX_BODY};
    CURL *c = curl_for(a, url);
    if (c == NULL) {
        curl_slist_free_all(list);
        return AW_E_INTERNAL;
    }
    a->curl = c;
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, a->method);
    if (rq->body != NULL || strcmp(a->method, "POST") == 0 || strcmp(a->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body != NULL ? (const char *)rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(a->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, prereq_cb);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, a);
    a->sign_result = AW_E_INTERNAL;
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
    a->curl = NULL;
    if (rc != CURLE_OK) {
        if (rc == CURLE_ABORTED_BY_CALLBACK && a->sign_result != AW_OK) {
            say(a, "cannot sign the request: %s", aw_result_reason(a->sign_result));
            return a->sign_result;
        }
        say(a, "%s", curl_easy_strerror(rc));
        return AW_E_IO;
    }
    if (rq->verbose != NULL) {
        fprintf(rq->verbose, "* response head:\n%.*s", (int)a->head.len, (const char *)a->head.ptr);
    }
    out->status = (int)status;
    verify_response(a, out, (int64_t)time(NULL) + state.clock_offset);
    return AW_OK;
}

static aw_result curl_ready(void)
{
    static bool ready = false;
    if (!ready) {
        AW_ENSURE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, AW_E_INTERNAL);
        ready = true;
    }
    return AW_OK;
}

aw_result aw_client_send(const aw_credentials *cred, const char *credentials_path,
                         const aw_client_request *rq, aw_client_response *out, char *why_text,
                         size_t why_cap)
{
    memset(out, 0, sizeof(*out));
    AW_GUARD(curl_ready());
    attempt a = {.cred = cred, .rq = rq, .why = why_text, .why_cap = why_cap};
    const char *method = rq->method != NULL ? rq->method : rq->body != NULL ? "POST" : "GET";
    if (strlen(method) >= sizeof(a.method)) {
        say(&a, "method '%s' is too long", method);
        return AW_E_INVALID_ARG;
    }
    snprintf(a.method, sizeof(a.method), "%s", method);
    char *url = aw_client_url_join(cred->url, rq->url);
    char state_path[4096];
    if (rq->state_path != NULL) {
        snprintf(state_path, sizeof(state_path), "%s", rq->state_path);
    } else {
        snprintf(state_path, sizeof(state_path), "%s.state", credentials_path);
    }
    aw_result r = url != NULL ? load_key(cred, &a.key, &a.server_key) : AW_E_INTERNAL;
    if (r != AW_OK) {
        say(&a, "cannot load the keys: %s", aw_result_reason(r));
    }
    if (r == AW_OK && rq->connect_to != NULL) {
        a.connect_to = curl_slist_append(NULL, rq->connect_to);
        r = a.connect_to != NULL ? AW_OK : AW_E_INTERNAL;
    }
    /* A signed "your clock is off" corrects the clock offset (from the signed server time)
     * whatever the method. The request is sent again, once, only when it is safe to run
     * twice: a man in the middle can deliver a request, drop the answer and replay it late
     * to provoke exactly this refusal, and a resent transfer would then run twice. Replay
     * refusals (replay, seq_replay, challenge_invalid) are never retried, for the same
     * reason. */
    bool safe = strcmp(a.method, "GET") == 0 || strcmp(a.method, "HEAD") == 0 ||
                strcmp(a.method, "OPTIONS") == 0;
    for (int attempt_no = 0; r == AW_OK; attempt_no++) {
        r = one_attempt(&a, url, state_path, out);
        if (r != AW_OK || !out->verified) {
            break;
        }
        bool clock =
            strcmp(out->error, "expired") == 0 || strcmp(out->error, "created_in_future") == 0;
        int64_t server = clock ? signed_server_time(&a) : 0;
        if (server <= 0) {
            break;
        }
        r = aw_client_state_set_offset(state_path, server - (int64_t)time(NULL));
        out->clock_corrected = true;
        if (r != AW_OK || !safe || attempt_no >= 1) {
            break;
        }
        out->retries++;
        attempt_free(&a);
        memset(out->error, 0, sizeof(out->error));
    }
    if (r == AW_OK) {
        out->interception = strcmp(out->error, "channel_binding") == 0;
        hand_over(&a, out);
    }
    attempt_free(&a);
    curl_slist_free_all(a.connect_to);
    aw_hmac_key_free(a.key.hmac);
    aw_ed25519_free(a.key.ed25519);
    aw_ed25519_free(a.server_key);
    free(url);
    return r;
}

/* Why an unauthenticated exchange got no answer (see client.h). */
static aw_result plain_failure(CURLcode rc, bool overflow)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return AW_E_KEY_INVALID;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_COULDNT_RESOLVE_HOST:
        return AW_E_INVALID_ARG;
    case CURLE_OPERATION_TIMEDOUT:
        return AW_E_TIMEOUT;
    default:
        return overflow ? AW_E_TOO_LARGE : AW_E_IO;
    }
}

aw_result aw_client_send_plain(const aw_client_plain_request *rq, aw_client_response *out,
                               char *why_text, size_t why_cap)
{
    memset(out, 0, sizeof(*out));
    AW_GUARD(curl_ready());
    attempt a = {.why = why_text, .why_cap = why_cap};
    a.head = (growbuf){.max = MAX_HEAD};
    a.body = (growbuf){.max = rq->max_body > 0 ? rq->max_body : MAX_BODY};
    CURL *c = curl_new(&a, rq->url, rq->timeout);
    AW_ENSURE(c != NULL, AW_E_INTERNAL);
    if (rq->cacert != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, rq->cacert);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    } else {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    struct curl_slist *list = curl_slist_append(NULL, "Expect:");
    char type_line[128];
    if (rq->content_type != NULL) {
        snprintf(type_line, sizeof(type_line), "Content-Type: %s", rq->content_type);
        list = curl_slist_append(list, type_line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    const char *method = rq->method != NULL ? rq->method : rq->body != NULL ? "POST" : "GET";
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (rq->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)rq->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
    aw_result r = AW_OK;
    if (rc != CURLE_OK) {
        say(&a, "%s", a.body.overflow ? "the answer is too large" : curl_easy_strerror(rc));
        r = plain_failure(rc, a.body.overflow);
    } else {
        if (rq->verbose != NULL) {
            fprintf(rq->verbose, "* %s %s: %.*s\n", method, rq->url,
                    (int)strcspn((const char *)a.head.ptr, "\r\n"), (const char *)a.head.ptr);
        }
        out->status = (int)status;
        hand_over(&a, out);
    }
    attempt_free(&a);
    return r;
}

void aw_client_response_free(aw_client_response *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}
