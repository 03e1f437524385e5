/* Replays and reordering: the attacker delivers the user's genuine signed requests again,
 * late, out of order, or with a challenge already spent; and reflects the gateway's
 * signature back at it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacks.h"
#include "authwire/exchange.h"
#include "authwire/signature.h"

/* The copy goes right behind the original. */
static bool duplicate(aw_pmsg *m, void *arg)
{
    (void)arg;
    m->copies = 2;
    return true;
}

static aw_result replay_now(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_ENSURE(aw_attack_mitm_first(ctx, duplicate) != NULL, AW_E_IO);
    aw_attack_mark(ctx);
    aw_attack_send_get(ctx, AW_PATH_BALANCE);
    int status;
    char error[64];
    aw_attack_unpassed_answer(ctx, 3000, &status, error, sizeof(error));
    aw_attack_judge_gateway(ctx, status, error, out);
    return AW_OK;
}

static aw_result replay_new_connection(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_watch(ctx));
    aw_attack_send_note(ctx, "pay 10 to bob");
    return aw_attack_replay_captured(ctx, out);
}

/* The first signed request the row's proxy captured and its created parameter; NULL (with
 * the row an error) when there is none. The caller frees. */
static uint8_t *captured_with_created(aw_attack_ctx *ctx, aw_attack_result *out, size_t *len,
                                      int64_t *created)
{
    uint8_t *req = aw_attack_captured(ctx, false, true, len);
    aw_pmsg m;
    char value[32] = "";
    bool parsed = req != NULL && aw_pmsg_parse((aw_span){req, *len}, &m) == AW_OK;
    if (parsed) {
        (void)aw_sig_param_get(&m, "created", value, sizeof(value));
        aw_pmsg_free(&m);
    }
    char *end = NULL;
    long long v = strtoll(value, &end, 10);
    if (!parsed || value[0] == '\0' || *end != '\0') {
        free(req);
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request with a created was captured");
        return NULL;
    }
    *created = v;
    return req;
}

/* Waits until the wall clock is past until, with a progress line every 10 s. */
static void wait_until(aw_attack_ctx *ctx, int64_t until, const char *why)
{
    for (int64_t now = time(NULL); now <= until; now = time(NULL)) {
        if ((until - now) % 10 == 0 || now == until) {
            aw_attack_progress(ctx, "waiting %llds %s", (long long)(until - now + 1), why);
        }
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
    }
}

static aw_result replay_after_window(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_watch(ctx));
    aw_attack_send_note(ctx, "pay 10 to bob");
    size_t len = 0;
    int64_t created = 0;
    uint8_t *req = captured_with_created(ctx, out, &len, &created);
    if (req == NULL) {
        return AW_OK;
    }
    int window = aw_attack_window_s(ctx);
    wait_until(ctx, created + window + 1, "for the replay window (skew + max-age) to pass");
    int64_t age = time(NULL) - created;
    aw_result r = aw_attack_attempt(ctx, req, len, out);
    free(req);
    AW_GUARD(r);
    if (out->outcome == AW_ATTACK_BLOCKED && strcmp(out->stopped_by, "replay") == 0) {
        /* Still inside the window: the nonce cache answered, which is not what this row is
         * about. */
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "replayed %llds after it was signed and refused as a replay: the gateway's "
                      "window is longer than --window %d",
                      (long long)age, window);
        return AW_OK;
    }
    aw_attack_detail_prepend(out,
                             "replayed %llds after it was signed (window %ds; the nonce cache "
                             "no longer needs to remember it): ",
                             (long long)age, window);
    return AW_OK;
}

static aw_result replay_after_restart(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_watch(ctx));
    aw_attack_send_note(ctx, "pay 10 to bob");
    size_t len = 0;
    uint8_t *req = aw_attack_captured(ctx, false, true, &len);
    if (req == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request was captured");
        return AW_OK;
    }
    aw_attack_progress(ctx, "restarting the gateway (--restart-cmd)");
    char why[160];
    aw_result r = aw_attack_restart(ctx, why, sizeof(why));
    if (r != AW_OK) {
        free(req);
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "%s", why);
        return AW_OK;
    }
    r = aw_attack_attempt(ctx, req, len, out);
    free(req);
    AW_GUARD(r);
    aw_attack_detail_prepend(out, "%s; the captured request replayed: ", why);
    aw_attack_observe(out, "POST %s, signed, captured before the restart", AW_PATH_NOTES);
    return AW_OK;
}

static aw_result seq_replay_later(aw_attack_ctx *ctx, aw_attack_result *out)
{
    AW_GUARD(aw_attack_watch(ctx));
    for (int i = 0; i < 4; i++) {
        aw_attack_send_get(ctx, AW_PATH_WHOAMI); /* n, then n+1..n+3 */
    }
    return aw_attack_replay_captured(ctx, out);
}

/* Holds the request back: the client sees its connection close. */
static bool hold(aw_pmsg *m, void *arg)
{
    (void)arg;
    m->close = true;
    return true;
}

static aw_result seq_reorder(aw_attack_ctx *ctx, aw_attack_result *out)
{
    aw_attack_edit *e = aw_attack_mitm_first(ctx, hold);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_send_get(ctx, AW_PATH_WHOAMI); /* n: held back */
    aw_attack_send_get(ctx, AW_PATH_WHOAMI); /* n + 1: delivered first */
    int next_status = e->status;
    size_t len = 0;
    uint8_t *req = aw_attack_captured(ctx, false, true, &len);
    if (req == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request was captured");
        return AW_OK;
    }
    int late, again;
    char error[64];
    aw_result r = aw_attack_deliver(ctx, req, len, &late, error, sizeof(error));
    if (r == AW_OK) {
        aw_attack_mark(ctx);
        r = aw_attack_deliver(ctx, req, len, &again, error, sizeof(error));
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
    aw_attack_send_get(ctx, AW_PATH_WHOAMI); /* spends the first challenge */
    int first_status = st->status;
    aw_attack_mark(ctx);
    aw_attack_send_get(ctx, AW_PATH_BALANCE); /* is handed the spent one */
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
    AW_GUARD(aw_attack_watch(ctx));
    aw_attack_send_get(ctx, AW_PATH_BALANCE);
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
    r = aw_attack_attempt(ctx, (const uint8_t *)req, (size_t)n, out);
    free(req);
    return r;
}

static const aw_attack replay[] = {
    {"replay-now", "deliver the user's signed request twice, the copy right behind it",
     "replay inside the window", AW_EXPECT_REPLAY, 0, replay_now},
    {"replay-new-connection", "replay a captured signed POST on the attacker's own connection",
     "replay inside the window", AW_EXPECT_REPLAY, 0, replay_new_connection},
    {"replay-after-window",
     "replay a captured signed POST once the gateway's window (skew + max-age) has passed",
     "replay after the window", "expired", AW_ATTACK_NEEDS_TIMESTAMP, replay_after_window},
    {"replay-after-restart",
     "replay a captured signed POST after the gateway restarted and lost its replay cache",
     "replay after a restart or kill -9",
     "tls=channel_binding timestamp=expired sequence=seq_replay challenge=challenge_invalid",
     AW_ATTACK_NEEDS_RESTART, replay_after_restart},
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
