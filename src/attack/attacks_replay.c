/* Replays and reordering: the attacker delivers the user's genuine signed requests again,
 * late, out of order, or with a challenge already spent; and reflects the gateway's
 * signature back at it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"
#include "authwire/exchange.h"
#include "authwire/signature.h"

/* Sends the first signed request twice, the copy right behind the original. */
static bool duplicate_once(aw_pmsg *m, void *arg)
{
    int *done = arg;
    if (*done) {
        return false;
    }
    *done = 1;
    m->copies = 2;
    return true;
}

static aw_result replay_now(aw_attack_ctx *ctx, aw_attack_result *out)
{
    int *done = aw_attack_alloc(ctx, sizeof(*done));
    AW_ENSURE(done != NULL, AW_E_INTERNAL);
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, duplicate_once, NULL, done);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_mark(ctx);
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_BALANCE);
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    int status;
    char error[64];
    aw_attack_unpassed_answer(ctx, 3000, &status, error, sizeof(error));
    aw_attack_judge_gateway(ctx, status, error, out);
    return AW_OK;
}

/* Replays the captured signed request on the attacker's own connection; the answer goes
 * to *status and error. */
static aw_result replay_captured(aw_attack_ctx *ctx, const uint8_t *req, size_t len, int *status,
                                 char *error, size_t cap)
{
    aw_wire_answer a;
    AW_GUARD(aw_attack_raw(ctx, req, len, 10000, &a));
    *status = a.status;
    snprintf(error, cap, "%s", a.error);
    aw_wire_answer_free(&a);
    return AW_OK;
}

static aw_result replay_new_connection(aw_attack_ctx *ctx, aw_attack_result *out)
{
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, NULL, NULL, NULL);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_call c;
    aw_call_note(&c, "pay 10 to bob");
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    size_t len = 0;
    uint8_t *req = aw_attack_captured(ctx, false, true, &len);
    if (req == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request was captured");
        return AW_OK;
    }
    aw_attack_mark(ctx);
    int status;
    char error[64];
    aw_result r = replay_captured(ctx, req, len, &status, error, sizeof(error));
    free(req);
    AW_GUARD(r);
    aw_attack_judge_gateway(ctx, status, error, out);
    return AW_OK;
}

static aw_result seq_replay_later(aw_attack_ctx *ctx, aw_attack_result *out)
{
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, NULL, NULL, NULL);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_call c;
    for (int i = 0; i < 4; i++) {
        aw_call_get(&c, AW_PATH_WHOAMI);
        (void)aw_attack_send(ctx, &c);
        aw_attack_call_free(&c);
    }
    size_t len = 0;
    uint8_t *req = aw_attack_captured(ctx, false, true, &len);
    if (req == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request was captured");
        return AW_OK;
    }
    aw_attack_mark(ctx);
    int status;
    char error[64];
    aw_result r = replay_captured(ctx, req, len, &status, error, sizeof(error));
    free(req);
    AW_GUARD(r);
    aw_attack_judge_gateway(ctx, status, error, out);
    return AW_OK;
}

/* Holds the first signed request back: the client sees its connection close. */
static bool hold_first(aw_pmsg *m, void *arg)
{
    int *held = arg;
    if (*held) {
        return false;
    }
    *held = 1;
    m->close = true;
    return true;
}

static aw_result seq_reorder(aw_attack_ctx *ctx, aw_attack_result *out)
{
    int *held = aw_attack_alloc(ctx, sizeof(*held));
    AW_ENSURE(held != NULL, AW_E_INTERNAL);
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, hold_first, NULL, held);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_WHOAMI); /* n: held back */
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    aw_call_get(&c, AW_PATH_WHOAMI); /* n + 1: delivered first */
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    int next_status = e->status;
    size_t len = 0;
    uint8_t *req = aw_attack_captured(ctx, false, true, &len);
    if (req == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request was captured");
        return AW_OK;
    }
    int late, again;
    char error[64];
    aw_result r = replay_captured(ctx, req, len, &late, error, sizeof(error));
    if (r == AW_OK) {
        aw_attack_mark(ctx);
        r = replay_captured(ctx, req, len, &again, error, sizeof(error));
    }
    free(req);
    AW_GUARD(r);
    aw_attack_judge_gateway(ctx, again, error, out);
    aw_attack_detail_prepend(
        out, "n+1 before n: %d, then n: %d (%s), then n again: ", next_status, late,
        late >= 200 && late < 300 ? "the window accepts reordering, by design" : "refused");
    return AW_OK;
}

typedef struct challenge_state {
    uint8_t first[8192]; /* the answer of the first challenge fetch */
    size_t first_len;
    int replaced;
    int status; /* the answer to the last signed request */
    char error[64];
} challenge_state;

/* Keeps the first challenge the gateway hands out and serves it again for later fetches. */
static aw_proxy_action challenge_hook(void *arg, aw_pmsg *m)
{
    challenge_state *st = arg;
    if (!m->http || !m->response) {
        return AW_PROXY_PASS;
    }
    if (strstr(m->request_line, AW_CHALLENGE_PATH) != NULL) {
        uint8_t *raw = NULL;
        size_t len = 0;
        if (st->first_len == 0 && aw_pmsg_serialize(m, &raw, &len) == AW_OK &&
            len <= sizeof(st->first)) {
            memcpy(st->first, raw, len);
            st->first_len = len;
        } else if (st->first_len > 0 &&
                   aw_pmsg_replace(m, (aw_span){st->first, st->first_len}) == AW_OK) {
            st->replaced++;
        }
        free(raw);
    } else if (m->request_signed) {
        st->status = m->status;
        const char *err = aw_pmsg_get(m, "authwire-error");
        snprintf(st->error, sizeof(st->error), "%s", err != NULL ? err : "");
    }
    return AW_PROXY_PASS;
}

static aw_result challenge_reuse(aw_attack_ctx *ctx, aw_attack_result *out)
{
    challenge_state *st = aw_attack_alloc(ctx, sizeof(*st));
    AW_ENSURE(st != NULL, AW_E_INTERNAL);
    AW_GUARD(aw_attack_mitm(ctx, AW_PROXY_HTTP, AW_ATTACK_TLS_INTERCEPT, challenge_hook, st));
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_WHOAMI); /* spends the first challenge */
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    int first_status = st->status;
    aw_attack_mark(ctx);
    aw_call_get(&c, AW_PATH_BALANCE); /* is handed the spent one */
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    if (st->replaced == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the client fetched no second challenge");
        return AW_OK;
    }
    aw_attack_judge_gateway(ctx, st->status, st->error, out);
    aw_attack_detail_prepend(out,
                             "the first request spent the challenge (%d); the client, handed it "
                             "again, signed with it: ",
                             first_status);
    return AW_OK;
}

static aw_result reflect_response_as_request(aw_attack_ctx *ctx, aw_attack_result *out)
{
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, NULL, NULL, NULL);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_BALANCE);
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
    size_t len = 0;
    uint8_t *raw = aw_attack_captured(ctx, true, true, &len);
    aw_pmsg m;
    if (raw == NULL || aw_pmsg_parse((aw_span){raw, len}, &m) != AW_OK) {
        free(raw);
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed answer was captured");
        return AW_OK;
    }
    free(raw);
    const char *si = aw_pmsg_get(&m, "signature-input");
    const char *sg = aw_pmsg_get(&m, "signature");
    char digest[128];
    aw_writer dw;
    aw_writer_init(&dw, (uint8_t *)digest, sizeof(digest) - 1);
    aw_result r = aw_content_digest(AW_SPAN_LIT(""), AW_DIGEST_SHA256, &dw);
    digest[dw.len] = '\0';
    char *req = malloc(4096);
    int n = -1;
    if (r == AW_OK && req != NULL && si != NULL && sg != NULL) {
        n = snprintf(req, 4096,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nContent-Digest: %s\r\nSignature-Input: "
                     "%s\r\nSignature: %s\r\nConnection: close\r\n\r\n",
                     AW_PATH_BALANCE, aw_attack_gateway(ctx)->authority, digest, si, sg);
    }
    aw_pmsg_free(&m);
    if (n < 0 || n >= 4096) {
        free(req);
        return r != AW_OK ? r : AW_E_INTERNAL;
    }
    aw_attack_mark(ctx);
    int status;
    char error[64];
    r = replay_captured(ctx, (const uint8_t *)req, (size_t)n, &status, error, sizeof(error));
    free(req);
    AW_GUARD(r);
    aw_attack_judge_gateway(ctx, status, error, out);
    return AW_OK;
}

static const aw_attack replay[] = {
    {"replay-now", "deliver the user's signed request twice, the copy right behind it",
     "replay inside the window", AW_EXPECT_REPLAY, 0, replay_now},
    {"replay-new-connection", "replay a captured signed POST on the attacker's own connection",
     "replay inside the window", AW_EXPECT_REPLAY, 0, replay_new_connection},
    {"seq-replay-later", "replay sequence number n after n+1..n+3 were accepted",
     "reorder / duplicate (sequence mode)", "tls=channel_binding seq_replay",
     AW_ATTACK_NEEDS_SEQUENCE, seq_replay_later},
    {"seq-reorder", "hold request n back, deliver n+1, then n, then n a second time",
     "reorder / duplicate (sequence mode)", "tls=channel_binding seq_replay",
     AW_ATTACK_NEEDS_SEQUENCE, seq_reorder},
    {"challenge-reuse", "hand the client a challenge that an accepted request already used",
     "clockless client", "tls=channel_binding challenge_invalid", AW_ATTACK_NEEDS_CHALLENGE,
     challenge_reuse},
    {"reflect-response-as-request", "present the gateway's response signature as a request's",
     "request signature reflected as a response, or the reverse", "param_missing", 0,
     reflect_response_as_request},
};

AW_ATTACK_FAMILY(aw_attacks_replay, replay);
