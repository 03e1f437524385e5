/* The transport: stripping or intercepting TLS, and abusing the connection itself with
 * oversized and slow requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"

typedef struct strip_state {
    size_t bytes; /* what the client sent */
    bool tls;     /* it was a TLS record (a ClientHello) */
    bool replied;
    char reply[512];
} strip_state;

/* The sslstrip move: whatever the client sends (it expects TLS) gets a plain-HTTP redirect to
 * http://; nothing reaches the gateway. */
static aw_proxy_action strip_hook(void *arg, aw_pmsg *m)
{
    strip_state *st = arg;
    if (m->response) {
        return AW_PROXY_PASS;
    }
    st->bytes += m->body_len;
    st->tls |= m->body_len > 0 && m->body[0] == 0x16;
    m->copies = 0;
    if (!st->replied) {
        st->replied = aw_pmsg_set_reply(m, st->reply, strlen(st->reply)) == AW_OK;
    }
    return AW_PROXY_PASS;
}

static aw_result tls_strip(aw_attack_ctx *ctx, aw_attack_result *out)
{
    strip_state *st = aw_attack_alloc(ctx, sizeof(*st));
    AW_ENSURE(st != NULL, AW_E_INTERNAL);
    snprintf(st->reply, sizeof(st->reply),
             "HTTP/1.1 301 Moved Permanently\r\nLocation: http://%s%s\r\nContent-Length: "
             "0\r\nConnection: close\r\n\r\n",
             aw_attack_gateway(ctx)->authority, AW_PATH_BALANCE);
    AW_GUARD(aw_attack_mitm(ctx, AW_PROXY_TCP, AW_ATTACK_TLS_STRIP, strip_hook, st));
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_BALANCE);
    aw_result r = aw_attack_send(ctx, &c);
    if (r == AW_OK) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the client took a plain-HTTP answer on its https URL (status %d)",
                      c.resp.status);
    } else {
        aw_attack_set(out, AW_ATTACK_BLOCKED, "tls:handshake",
                      "the client, answered in plain HTTP, gave up: %s", c.why);
    }
    aw_attack_observe(out, "%s (%zu bytes); no request", st->tls ? "a TLS ClientHello" : "bytes",
                      st->bytes);
    aw_attack_call_free(&c);
    return AW_OK;
}

static aw_result tls_intercept(aw_attack_ctx *ctx, aw_attack_result *out)
{
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, NULL, NULL, NULL);
    AW_ENSURE(e != NULL, AW_E_IO);
    static const char note[] = "a note the interceptor reads";
    aw_attack_mark(ctx);
    aw_attack_call c;
    aw_call_note(&c, note);
    (void)aw_attack_send(ctx, &c);
    aw_attack_judge_gateway(ctx, e->status, e->error, out);
    if (out->outcome == AW_ATTACK_BLOCKED && c.result == AW_OK && c.resp.interception) {
        aw_attack_detail_append(out, "; the client reports TLS INTERCEPTION SUSPECTED");
    }
    int shown = c.resp.body_len < 60 ? (int)c.resp.body_len : 60;
    aw_attack_observe(out,
                      "everything, TLS being terminated with the rogue CA: POST %s with body "
                      "\"%s\", and the answer %d %.*s",
                      AW_PATH_NOTES, note, e->status, shown,
                      c.resp.body != NULL ? (const char *)c.resp.body : "");
    aw_attack_call_free(&c);
    return AW_OK;
}

/* The user's signed POST relayed unchanged by a man in the middle whose connections to the
 * gateway present identity's certificate; to_attacker: she addressed the attacker. False
 * (the row an error) when it never reached the gateway. */
static bool relay_note(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_identity identity,
                       bool to_attacker)
{
    aw_attack_edit *e = aw_attack_mitm_edit_as(ctx, identity, NULL, NULL, NULL);
    if (e == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the man in the middle did not start");
        return false;
    }
    aw_attack_mark(ctx);
    aw_attack_call c;
    aw_call_note(&c, "pay 10 to bob");
    c.to_attacker = to_attacker;
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    if (e->answered == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the user's request never reached the gateway");
        return false;
    }
    aw_attack_judge_gateway(ctx, e->status, e->error, out);
    return true;
}

/* The credential relay of the MITM article: the user was sent to the attacker's look-alike
 * of the API (its own address; over https a certificate the user trusts), signs for
 * it, and the attacker relays the request unchanged to the real gateway on its own
 * connection, to be served as the user. */
static aw_result credential_relay(aw_attack_ctx *ctx, aw_attack_result *out)
{
    if (!relay_note(ctx, out, AW_ATTACK_AS_USER, true)) {
        return AW_OK;
    }
    if (out->outcome == AW_ATTACK_SUCCEEDED) {
        aw_attack_detail_append(out, " (the gateway serves any Host: --authority NAME makes it "
                                     "refuse a request signed for another name)");
    }
    aw_attack_detail_prepend(out,
                             "the user signed for the attacker's 127.0.0.1:%d, relayed unchanged: ",
                             aw_attack_proxy_port(ctx));
    return AW_OK;
}

/* mTLS: the attacker's own connection without a client certificate. The same unsigned GET
 * goes first with the user's certificate, to show the gateway answers there: the certificate
 * is the only difference. */
static aw_result mtls_no_client_cert(aw_attack_ctx *ctx, aw_attack_result *out)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     AW_PATH_WHOAMI, aw_attack_gateway(ctx)->authority);
    aw_wire_answer with, without;
    AW_GUARD(aw_attack_raw(ctx, (const uint8_t *)req, (size_t)n, 10000, &with));
    int with_status = with.status;
    aw_wire_answer_free(&with);
    if (with_status == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "the gateway did not answer even with the user's certificate");
        return AW_OK;
    }
    aw_result r = aw_attack_raw_as(ctx, AW_ATTACK_AS_ANONYMOUS, (const uint8_t *)req, (size_t)n,
                                   10000, &without);
    int status = r == AW_OK ? without.status : 0;
    bool timed_out = r == AW_OK && without.timed_out;
    if (r == AW_OK) {
        aw_wire_answer_free(&without);
    }
    if (timed_out) {
        /* A refused certificate ends the session at once; silence is something else. */
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "no answer and no refusal within 10 s without a client certificate");
    } else if (status != 0) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the gateway answered a connection without a client certificate (%d)",
                      status);
    } else {
        aw_attack_set(out, AW_ATTACK_BLOCKED, "tls:client_certificate",
                      "with the user's certificate the gateway answered %d; without one the TLS "
                      "handshake was refused (%s)",
                      with_status, r != AW_OK ? aw_result_reason(r) : "no answer");
    }
    aw_attack_observe(out, "nothing: no TLS session without a certificate");
    return AW_OK;
}

/* mTLS: the man in the middle relays the user's signed request over a connection that
 * presents the attacker's own certificate (the credential relay where TLS authenticates the
 * attacker and the signature the user). */
static aw_result mtls_relay_other_cert(aw_attack_ctx *ctx, aw_attack_result *out)
{
    if (!relay_note(ctx, out, AW_ATTACK_AS_ATTACKER, false)) {
        return AW_OK;
    }
    aw_attack_detail_prepend(out, "the user's signed POST, relayed on a TLS session with the "
                                  "attacker's certificate: ");
    return AW_OK;
}

static aw_result tls_untrusted_ca(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_mitm(ctx, AW_PROXY_HTTP, AW_ATTACK_TLS_UNTRUSTED, NULL, NULL));
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_BALANCE);
    if (aw_attack_send(ctx, &c) == AW_OK) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the client accepted a certificate from a CA it does not trust");
    } else {
        aw_attack_set(out, AW_ATTACK_BLOCKED, "tls:certificate",
                      "the client refused the rogue certificate: %s", c.why);
    }
    aw_attack_observe(out, "a TLS handshake; no request");
    aw_attack_call_free(&c);
    return AW_OK;
}

/* Sends req (len bytes) on the attacker's connection and judges the answer. */
static aw_result send_raw(aw_attack_ctx *ctx, aw_attack_result *out, const uint8_t *req, size_t len,
                          int timeout_ms)
{
    aw_attack_mark(ctx);
    aw_wire_answer a;
    AW_GUARD(aw_attack_raw(ctx, req, len, timeout_ms, &a));
    char counted[64];
    if (a.timed_out && a.status == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "no answer within %d s (the gateway's deadline may be longer: "
                      "--slow-timeout)",
                      timeout_ms / 1000);
    } else if (a.status == 0 && a.closed && aw_attack_rejections(ctx, counted, sizeof(counted)) &&
               counted[0] != '\0') {
        /* It answered and closed while the request was still coming: the close reset the
         * connection before its answer could be read. */
        aw_attack_set(out, AW_ATTACK_BLOCKED, counted,
                      "the gateway closed the connection before the whole request was sent (its "
                      "answer was lost to the reset), counted as %s",
                      counted);
    } else {
        aw_attack_judge_gateway(ctx, a.status, a.error, out);
        aw_attack_detail_append(out, ", after %.1f s", a.seconds);
    }
    aw_attack_observe(out, "only its own exchange with the gateway");
    aw_wire_answer_free(&a);
    return AW_OK;
}

static aw_result oversized_body(aw_attack_ctx *ctx, aw_attack_result *out)
{
    enum { SENT = 4096 };
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 2147483648\r\nConnection: close\r\n\r\n",
                     AW_PATH_NOTES, aw_attack_gateway(ctx)->authority);
    AW_ENSURE(n > 0 && (size_t)n < sizeof(head), AW_E_INTERNAL);
    uint8_t *req = malloc((size_t)n + SENT);
    AW_ENSURE(req != NULL, AW_E_INTERNAL);
    memcpy(req, head, (size_t)n);
    memset(req + n, 'x', SENT);
    aw_result r = send_raw(ctx, out, req, (size_t)n + SENT, 10000);
    free(req);
    return r;
}

static aw_result oversized_head(aw_attack_ctx *ctx, aw_attack_result *out)
{
    /* Past the largest head any gateway may be configured to take (1 MiB). */
    enum { PAD = 1024 * 1024 + 4096 };
    char head[512];
    int n =
        snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s\r\nX-Padding: ", AW_PATH_BALANCE,
                 aw_attack_gateway(ctx)->authority);
    AW_ENSURE(n > 0 && (size_t)n < sizeof(head), AW_E_INTERNAL);
    size_t len = (size_t)n + PAD + 4;
    uint8_t *req = malloc(len);
    AW_ENSURE(req != NULL, AW_E_INTERNAL);
    memcpy(req, head, (size_t)n);
    memset(req + n, 'a', PAD);
    memcpy(req + n + PAD, "\r\n\r\n", 4);
    aw_result r = send_raw(ctx, out, req, len, 10000);
    free(req);
    return r;
}

static aw_result slow_request(aw_attack_ctx *ctx, aw_attack_result *out)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s\r\n", AW_PATH_BALANCE,
                     aw_attack_gateway(ctx)->authority);
    AW_ENSURE(n > 0 && (size_t)n < sizeof(head), AW_E_INTERNAL);
    int patience = aw_attack_patience_ms(ctx);
    aw_attack_progress(ctx,
                       "half a request head sent; waiting up to %d s for the gateway's "
                       "deadline",
                       patience / 1000);
    return send_raw(ctx, out, (const uint8_t *)head, (size_t)n, patience);
}

static const aw_attack transport[] = {
    {"tls-strip", "answer the client's TLS handshake with a plain-HTTP redirect (sslstrip)",
     "TLS stripped", "tls:handshake", AW_ATTACK_NEEDS_TLS, tls_strip},
    {"tls-intercept",
     "terminate TLS with a certificate from a rogue CA the client trusts, relay unchanged",
     "TLS interception", "channel_binding", AW_ATTACK_NEEDS_TLS, tls_intercept},
    {"credential-relay",
     "send the user to the attacker's look-alike API and relay her signed POST to the gateway",
     "credential relay (the user signs for the attacker's server)", "tls=channel_binding forbidden",
     0, credential_relay},
    {"mtls-no-client-cert", "reach the gateway without a client certificate", "TLS interception",
     "tls:client_certificate", AW_ATTACK_NEEDS_MTLS, mtls_no_client_cert},
    {"mtls-relay-other-cert",
     "relay the user's signed request on a TLS session with the attacker's own certificate",
     "credential relay (the user signs for the attacker's server)", "forbidden",
     AW_ATTACK_NEEDS_MTLS | AW_ATTACK_NEEDS_ATTACKER_CERT, mtls_relay_other_cert},
    {"tls-untrusted-ca", "terminate TLS with a rogue CA's certificate the client does not trust",
     "TLS interception", "tls:certificate", AW_ATTACK_NEEDS_TLS, tls_untrusted_ca},
    {"oversized-body", "announce a 2 GiB body", "slow or oversized requests", "too_large", 0,
     oversized_body},
    {"oversized-head", "send a request head of more than 1 MiB", "slow or oversized requests",
     "too_large", 0, oversized_head},
    {"slow-request", "send half a request head, then nothing", "slow or oversized requests",
     "timeout", 0, slow_request},
};

AW_ATTACK_FAMILY(aw_attacks_transport, transport);
