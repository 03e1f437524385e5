/* Attacks on the answers: the attacker forges, swaps, replays or alters what the gateway
 * says, and the user's client must refuse it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacks.h"
#include "authwire/signature.h"

/* An answer kept from one call and served for a later one. */
typedef struct kept_answer {
    uint8_t raw[65536];
    size_t len;
    int serve; /* 0: keep the next answer; 1: serve the kept one instead of the next */
} kept_answer;

static bool keep_or_serve(aw_pmsg *m, void *arg)
{
    kept_answer *k = arg;
    if (k->serve) {
        return k->len > 0 && aw_pmsg_replace(m, (aw_span){k->raw, k->len}) == AW_OK;
    }
    uint8_t *raw = NULL;
    size_t len = 0;
    if (k->len == 0 && aw_pmsg_serialize(m, &raw, &len) == AW_OK && len <= sizeof(k->raw)) {
        memcpy(k->raw, raw, len);
        k->len = len;
    }
    free(raw);
    return false;
}

/* first's answer is kept and served as the answer to second. */
static aw_result serve_other_answer(aw_attack_ctx *ctx, aw_attack_result *out, const char *first,
                                    const char *second)
{
    kept_answer *k = aw_attack_alloc(ctx, sizeof(*k));
    AW_ENSURE(k != NULL, AW_E_INTERNAL);
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, NULL, keep_or_serve, k);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_send_get(ctx, first);
    aw_proxy_lock(aw_attack_proxy(ctx));
    k->serve = 1;
    aw_proxy_unlock(aw_attack_proxy(ctx));
    aw_attack_call c;
    aw_call_get(&c, second);
    return aw_attack_tamper_answer_sent(ctx, out, e, &c);
}

static aw_result swap_response(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return serve_other_answer(ctx, out, AW_PATH_WHOAMI, AW_PATH_BALANCE);
}

static aw_result replay_old_response(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return serve_other_answer(ctx, out, AW_PATH_BALANCE, AW_PATH_BALANCE);
}

static bool forge_401_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    char forged[512];
    int n = snprintf(forged, sizeof(forged),
                     "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                     "Authwire-Error: key_revoked\r\nAuthwire-Time: %lld\r\nContent-Length: 13\r\n"
                     "\r\n{\"error\":401}",
                     (long long)time(NULL));
    return n > 0 && aw_pmsg_replace(m, (aw_span){(const uint8_t *)forged, (size_t)n}) == AW_OK;
}

static aw_result forge_401(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_answer_get(ctx, out, forge_401_edit, NULL, AW_PATH_BALANCE);
}

/* A signed-looking "your clock is a day slow": the genuine answer's signature kept, the
 * status, reason and server time forged. */
static bool forge_time_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    char when[32];
    snprintf(when, sizeof(when), "%lld", (long long)time(NULL) + 86400);
    static const char body[] = "{\"error\":401}";
    m->status = 401;
    snprintf(m->reason, sizeof(m->reason), "Unauthorized");
    return aw_pmsg_set(m, "Authwire-Error", "expired") == AW_OK &&
           aw_pmsg_set(m, "Authwire-Time", when) == AW_OK &&
           aw_pmsg_set(m, "Content-Type", "application/json") == AW_OK &&
           aw_pmsg_set_body(m, body, strlen(body)) == AW_OK;
}

static aw_result forge_server_time(aw_attack_ctx *ctx, aw_attack_result *out)
{
    char state_path[4200];
    snprintf(state_path, sizeof(state_path), "%s.state", aw_attack_cred_path(ctx));
    aw_client_state before = {0}, after = {0};
    AW_GUARD(aw_client_state_read(state_path, &before));
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_BALANCE);
    AW_GUARD(aw_attack_tamper_answer(ctx, out, forge_time_edit, NULL, &c));
    AW_GUARD(aw_client_state_read(state_path, &after));
    if (after.clock_offset != before.clock_offset) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the client moved its clock by %lld s on a forged server time",
                      (long long)(after.clock_offset - before.clock_offset));
    } else if (out->outcome == AW_ATTACK_BLOCKED) {
        aw_attack_detail_append(out, "; its clock offset stayed %lld s",
                                (long long)after.clock_offset);
    }
    return AW_OK;
}

static bool body_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    static const char body[] = "{\"user\":\"mallory\",\"balance\":99999999}";
    return aw_pmsg_set_body(m, body, strlen(body)) == AW_OK;
}

static aw_result tamper_response_body(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_answer_get(ctx, out, body_edit, NULL, AW_PATH_BALANCE);
}

static bool status_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    bool ok = m->status >= 200 && m->status < 300;
    m->status = ok ? 403 : 200;
    snprintf(m->reason, sizeof(m->reason), "%s", ok ? "Forbidden" : "OK");
    return true;
}

static aw_result tamper_response_status(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_answer_get(ctx, out, status_edit, NULL, AW_PATH_BALANCE);
}

static aw_result strip_response_signature(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_answer_get(ctx, out, aw_edit_strip_signature, NULL, AW_PATH_BALANCE);
}

/* The request's own signature, kept on its way and put on a forged answer. */
typedef struct reflected {
    char input[2048];
    char signature[512];
} reflected;

static bool keep_request_signature(aw_pmsg *m, void *arg)
{
    reflected *r = arg;
    const char *si = aw_pmsg_get(m, "signature-input");
    const char *sg = aw_pmsg_get(m, "signature");
    if (si != NULL && sg != NULL) {
        snprintf(r->input, sizeof(r->input), "%s", si);
        snprintf(r->signature, sizeof(r->signature), "%s", sg);
    }
    return false;
}

static bool reflect_edit(aw_pmsg *m, void *arg)
{
    reflected *r = arg;
    static const char body[] = "{\"balance\":99999999}";
    char digest[128];
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)digest, sizeof(digest) - 1);
    if (r->input[0] == '\0' ||
        aw_content_digest(aw_span_cstr(body), AW_DIGEST_SHA256, &w) != AW_OK) {
        return false;
    }
    digest[w.len] = '\0';
    char forged[4096];
    int n = snprintf(forged, sizeof(forged),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Digest: "
                     "%s\r\nSignature-Input: %s\r\nSignature: %s\r\nContent-Length: %zu\r\n\r\n%s",
                     digest, r->input, r->signature, strlen(body), body);
    return n > 0 && (size_t)n < sizeof(forged) &&
           aw_pmsg_replace(m, (aw_span){(const uint8_t *)forged, (size_t)n}) == AW_OK;
}

static aw_result reflect_request_as_response(aw_attack_ctx *ctx, aw_attack_result *out)
{
    reflected *r = aw_attack_alloc(ctx, sizeof(*r));
    AW_ENSURE(r != NULL, AW_E_INTERNAL);
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, keep_request_signature, reflect_edit, r);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_BALANCE);
    return aw_attack_tamper_answer_sent(ctx, out, e, &c);
}

static const aw_attack response[] = {
    {"swap-response", "answer GET /api/balance with the signed answer to GET /api/whoami",
     "response swapped between two requests, or an old one replayed", "client:signature_invalid", 0,
     swap_response},
    {"replay-old-response", "answer a GET /api/balance with the signed answer to an earlier one",
     "response swapped between two requests, or an old one replayed", "client:signature_invalid", 0,
     replay_old_response},
    {"forge-401", "answer with a forged, unsigned 401 saying the key was revoked",
     "forged or injected error response (e.g. a fake 401)", "client:signature_missing", 0,
     forge_401},
    {"forge-server-time", "turn the answer into \"expired\" with a server time a day ahead",
     "clock attack through a forged server time", "client:signature_invalid", 0, forge_server_time},
    {"tamper-response-body", "rewrite the body of the gateway's signed answer",
     "response forged, swapped or replayed", "client:digest_mismatch", 0, tamper_response_body},
    {"tamper-response-status", "flip the status of the signed answer (2xx <-> 403)",
     "response forged, swapped or replayed", "client:signature_invalid", 0, tamper_response_status},
    {"strip-response-signature", "remove Signature and Signature-Input from the answer",
     "response forged, swapped or replayed", "client:signature_missing", 0,
     strip_response_signature},
    {"reflect-request-as-response", "answer with a forged 200 carrying the request's own signature",
     "request signature reflected as a response, or the reverse", "client:tag_mismatch", 0,
     reflect_request_as_response},
};

AW_ATTACK_FAMILY(aw_attacks_response, response);
