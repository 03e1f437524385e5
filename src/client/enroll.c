/* Enrollment and rotation on the client (see enroll.h): one driver for both handshakes, the
 * retries, and the two HTTP transports over libcurl (client.c). Every secret (ephemeral keys,
 * the core's state, the rotation key material) is wiped on every path. */
#include "enroll.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "authwire/exchange.h"
#include "client.h"

#define DEFAULT_SENDS      5
#define DEFAULT_BACKOFF_MS 500u

static const char *frame_name(aw_enroll_frame_type t)
{
    switch (t) {
    case AW_ENROLL_KEY:
        return "KEY";
    case AW_ENROLL_HELLO:
        return "HELLO";
    case AW_ENROLL_WELCOME:
        return "WELCOME";
    case AW_ENROLL_CONFIRM:
        return "CONFIRM";
    case AW_ENROLL_DONE:
        return "DONE";
    }
    return "?";
}

static void default_sleep(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* One run of the driver: what both flows share. */
typedef struct driver {
    const aw_enroll_transport *tr;
    const aw_enroll_options *o;
    aw_enroll_outcome *out;
    int sends;
    unsigned backoff_ms;
    void (*sleep_ms)(unsigned);
} driver;

static aw_result fail(driver *d, aw_enroll_failure why, aw_enroll_frame_type step, aw_result r)
{
    d->out->failure = why;
    d->out->step = step;
    d->out->result = r;
    return r;
}

/* No answer worth waiting for: none at all, or a server error that may pass. */
static bool retryable(const aw_enroll_reply *reply)
{
    return reply->status == 0 || reply->status >= 500;
}

/* What goes out again when no answer came: NULL keeps the same bytes (CONFIRM: the server
 * answers an identical retry with the same DONE), or a function that writes a new frame
 * into the same buffer (HELLO: the server refuses a replayed one, so a fresh handshake). */
typedef aw_result (*rebuild_fn)(driver *d, void *ctx);

/* Sends frame until an answer that is not retryable comes, at most d->sends times with a
 * doubling pause. AW_OK with d->out->reply holding a 200 frame; otherwise the failure is
 * recorded. */
static aw_result exchange(driver *d, aw_enroll_frame_type type, const uint8_t *frame,
                          const size_t *len, rebuild_fn rebuild, void *ctx)
{
    aw_enroll_reply *reply = &d->out->reply;
    unsigned pause = d->backoff_ms;
    for (int n = 0; n < d->sends; n++) {
        if (n > 0) {
            if (d->o->log != NULL) {
                fprintf(d->o->log, "* no answer to %s (%s); sending %s in %u ms\n",
                        frame_name(type), reply->status != 0 ? reply->error : reply->text,
                        rebuild != NULL ? "a fresh one" : "it again", pause);
            }
            d->sleep_ms(pause);
            pause *= 2;
            d->out->resends++;
            if (rebuild != NULL) {
                AW_GUARD(rebuild(d, ctx));
            }
        }
        memset(reply, 0, sizeof(*reply));
        aw_result r = d->tr->send(d->tr->ctx, type, frame, *len, reply);
        if (r != AW_OK) {
            return fail(d, AW_ENROLL_LOCAL, type, r);
        }
        if (reply->unverified) {
            return fail(d, AW_ENROLL_INTERFERENCE, type, AW_E_SIGNATURE_INVALID);
        }
        if (reply->status == 200) {
            return AW_OK;
        }
        if (reply->status == 0 && reply->permanent) {
            break;
        }
        if (!retryable(reply)) {
            /* A refusal is never "ok": a 4xx claiming it falls back like an unknown name. */
            aw_result fallback = reply->status == 404 ? AW_E_NOT_ROUTED : AW_E_FORBIDDEN;
            aw_result named = aw_result_from_name(reply->error, fallback);
            return fail(d, AW_ENROLL_REFUSED, type, named == AW_OK ? fallback : named);
        }
    }
    return fail(d, AW_ENROLL_NO_ANSWER, type, AW_E_IO);
}

/* A frame that came back and does not verify, or is no frame. */
static aw_result answer_failed(driver *d, aw_enroll_frame_type step, aw_result r)
{
    return fail(
        d, r == AW_E_INTERNAL || r == AW_E_INVALID_ARG ? AW_ENROLL_LOCAL : AW_ENROLL_INTERFERENCE,
        step, r);
}

/* How a handshake (re)starts: enrollment from the token, rotation from the current key. */
typedef struct start {
    const aw_enroll_token *token; /* NULL for a rotation */
    const char *name;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *fingerprint;
    aw_alg alg; /* rotation: what WELCOME must say */
} start;

static aw_result init_state(const start *s, aw_enroll_client *c)
{
    return s->token != NULL
               ? aw_enroll_client_init(c, s->token)
               : aw_enroll_client_init_rotation(c, s->name, s->key, s->key_len, s->fingerprint);
}

/* A HELLO being sent: rebuilt with a fresh state and ephemeral key for every send. */
typedef struct hello_frame {
    const start *s;
    const uint8_t *key_frame;
    size_t key_frame_len;
    aw_enroll_client *c;
    uint8_t frame[128];
    size_t len;
} hello_frame;

/* Starts the handshake in h->c and writes its HELLO; the pin is checked here, before
 * anything is sent. */
static aw_result make_hello(driver *d, void *ctx)
{
    hello_frame *h = ctx;
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    aw_enroll_client_wipe(h->c);
    aw_result r = init_state(h->s, h->c);
    if (r == AW_OK) {
        r = aw_x25519_keypair(e, e_pub);
    }
    if (r != AW_OK) {
        aw_wipe(e, sizeof(e));
        return fail(d, AW_ENROLL_LOCAL, AW_ENROLL_HELLO, r);
    }
    r = aw_enroll_client_hello(h->c, h->key_frame, h->key_frame_len, e, h->frame, sizeof(h->frame),
                               &h->len);
    aw_wipe(e, sizeof(e));
    if (r == AW_E_SERVER_KEY_MISMATCH) {
        return fail(d, AW_ENROLL_INTERFERENCE, AW_ENROLL_KEY, r);
    }
    if (r != AW_OK) {
        return answer_failed(d, AW_ENROLL_KEY, r);
    }
    return AW_OK;
}

/* HELLO -> WELCOME: AW_OK with c->params checked. */
static aw_result hello(driver *d, const start *s, const uint8_t *key_frame, size_t key_frame_len,
                       aw_enroll_client *c)
{
    hello_frame h = {.s = s, .key_frame = key_frame, .key_frame_len = key_frame_len, .c = c};
    AW_GUARD(make_hello(d, &h));
    if (d->o->log != NULL) {
        fprintf(d->o->log, "* the server's enrollment key matches the pinned fingerprint\n");
    }
    AW_GUARD(exchange(d, AW_ENROLL_HELLO, h.frame, &h.len, make_hello, &h));
    aw_result r = aw_enroll_client_welcome(c, d->out->reply.body, d->out->reply.body_len);
    if (r != AW_OK) {
        return answer_failed(d, AW_ENROLL_WELCOME, r);
    }
    if (s->token == NULL && c->params.alg != s->alg) {
        return fail(d, AW_ENROLL_INTERFERENCE, AW_ENROLL_WELCOME, AW_E_ALG_MISMATCH);
    }
    d->out->clock_offset = c->params.server_time - (int64_t)time(NULL);
    if (d->o->log != NULL) {
        fprintf(d->o->log, "* WELCOME verified: user %s, %s, %s mode\n", c->params.name,
                aw_alg_name(c->params.alg), aw_fresh_mode_name(c->params.mode));
    }
    return AW_OK;
}

/* CONFIRM -> DONE. *restart is set when the server no longer knows the session. */
static aw_result confirm(driver *d, aw_enroll_client *c, aw_ed25519_key *user_key, bool *restart)
{
    uint8_t frame[256];
    size_t len = 0;
    aw_result r = aw_enroll_client_confirm(c, user_key, frame, sizeof(frame), &len);
    if (r != AW_OK) {
        return fail(d, AW_ENROLL_LOCAL, AW_ENROLL_CONFIRM, r);
    }
    d->out->confirm_sent = true;
    r = exchange(d, AW_ENROLL_CONFIRM, frame, &len, NULL, NULL);
    if (r == AW_E_SESSION_UNKNOWN && d->out->failure == AW_ENROLL_REFUSED) {
        *restart = true;
        return r;
    }
    AW_GUARD(r);
    r = aw_enroll_client_done(c, d->out->reply.body, d->out->reply.body_len);
    if (r != AW_OK) {
        return answer_failed(d, AW_ENROLL_DONE, r);
    }
    return AW_OK;
}

static aw_result run(driver *d, const start *s, const uint8_t *key_frame, size_t key_frame_len,
                     aw_enroll_client *c, aw_ed25519_key **user_key)
{
    aw_result r = AW_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool restart = false;
        r = hello(d, s, key_frame, key_frame_len, c);
        if (r == AW_OK && c->params.alg == AW_ALG_ED25519 && *user_key == NULL) {
            r = aw_ed25519_generate(user_key);
            if (r != AW_OK) {
                fail(d, AW_ENROLL_LOCAL, AW_ENROLL_CONFIRM, r);
            }
        }
        if (r == AW_OK && d->o->persist != NULL) {
            r = d->o->persist(d->o->persist_ctx, c, *user_key, attempt > 0);
            if (r != AW_OK) {
                fail(d, AW_ENROLL_LOCAL, AW_ENROLL_CONFIRM, r);
            }
        }
        if (r == AW_OK) {
            r = confirm(d, c, *user_key, &restart);
        }
        if (r == AW_OK || !restart || attempt > 0) {
            break;
        }
        d->out->restarts++;
        if (d->o->log != NULL) {
            fprintf(d->o->log, "* the server no longer knows the handshake (it restarted?): "
                               "starting over with a fresh key\n");
        }
        aw_enroll_client_wipe(c);
    }
    if (r == AW_OK) {
        d->out->failure = AW_ENROLL_SUCCESS;
        d->out->result = AW_OK;
    } else {
        aw_enroll_client_wipe(c);
        aw_ed25519_free(*user_key);
        *user_key = NULL;
    }
    return r;
}

static void driver_init(driver *d, const aw_enroll_transport *tr, const aw_enroll_options *o,
                        aw_enroll_outcome *out, aw_enroll_client *c, aw_ed25519_key **user_key)
{
    memset(out, 0, sizeof(*out));
    memset(c, 0, sizeof(*c));
    *user_key = NULL;
    d->tr = tr;
    d->o = o;
    d->out = out;
    d->sends = o->sends > 0 ? o->sends : DEFAULT_SENDS;
    d->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : DEFAULT_BACKOFF_MS;
    d->sleep_ms = o->sleep_ms != NULL ? o->sleep_ms : default_sleep;
}

aw_result aw_client_enroll(const aw_enroll_token *t, const aw_enroll_transport *tr,
                           const aw_enroll_options *o, aw_enroll_client *c,
                           aw_ed25519_key **user_key, aw_enroll_outcome *out)
{
    driver d;
    driver_init(&d, tr, o, out, c, user_key);
    /* The key frame, fetched once: a restart reuses it (the pin does not change). */
    size_t none = 0;
    AW_GUARD(exchange(&d, AW_ENROLL_KEY, NULL, &none, NULL, NULL));
    uint8_t key_frame[64];
    size_t key_frame_len = out->reply.body_len;
    aw_enroll_frame f;
    aw_result r = aw_enroll_frame_parse(out->reply.body, key_frame_len, &f);
    if (r != AW_OK || f.type != AW_ENROLL_KEY || key_frame_len > sizeof(key_frame)) {
        /* Not a key frame at all: not an authwire gateway, or a broken one. */
        return fail(&d, AW_ENROLL_REFUSED, AW_ENROLL_KEY, AW_E_MALFORMED);
    }
    memcpy(out->server_key, f.key, sizeof(out->server_key));
    memcpy(key_frame, out->reply.body, key_frame_len);
    start s = {.token = t};
    return run(&d, &s, key_frame, key_frame_len, c, user_key);
}

aw_result aw_client_rotate(const aw_credentials *cred, const aw_enroll_transport *tr,
                           const aw_enroll_options *o, aw_enroll_client *c,
                           aw_ed25519_key **user_key, aw_enroll_outcome *out)
{
    driver d;
    driver_init(&d, tr, o, out, c, user_key);
    AW_ENSURE(cred->has_enroll_key, fail(&d, AW_ENROLL_LOCAL, AW_ENROLL_KEY, AW_E_INVALID_ARG));
    /* The pinned key itself makes the key frame: nothing to fetch, nothing to substitute. */
    uint8_t key_frame[64], fp[AW_ENROLL_FP_LEN];
    size_t key_frame_len = 0;
    uint8_t ed_pub[AW_ED25519_PUBLIC_LEN];
    start s = {.name = cred->keyid, .fingerprint = fp, .alg = cred->alg};
    aw_result r =
        aw_enroll_key_frame(cred->enroll_key, key_frame, sizeof(key_frame), &key_frame_len);
    if (r == AW_OK) {
        r = aw_enroll_fingerprint(cred->enroll_key, fp);
    }
    if (r == AW_OK && cred->alg == AW_ALG_ED25519) {
        /* An Ed25519 user's rotation PSK comes from its current public key; the signed
         * requests carrying the handshake prove the private key. */
        aw_ed25519_key *k = NULL;
        r = aw_ed25519_from_pem(cred->private_pem, strlen(cred->private_pem), &k);
        if (r == AW_OK) {
            r = aw_ed25519_public(k, ed_pub);
        }
        aw_ed25519_free(k);
        s.key = ed_pub;
        s.key_len = sizeof(ed_pub);
    } else {
        s.key = cred->secret;
        s.key_len = cred->secret_len;
    }
    memcpy(out->server_key, cred->enroll_key, sizeof(out->server_key));
    if (r != AW_OK) {
        return fail(&d, AW_ENROLL_LOCAL, AW_ENROLL_HELLO, r);
    }
    return run(&d, &s, key_frame, key_frame_len, c, user_key);
}

aw_result aw_enroll_put_key(const aw_enroll_client *c, const aw_ed25519_key *user_key,
                            aw_enroll_key_buf *buf, aw_credentials *cred)
{
    size_t pem_len = 0;
    cred->alg = c->params.alg;
    cred->secret = NULL;
    cred->secret_len = 0;
    cred->private_pem = NULL;
    if (c->params.alg == AW_ALG_ED25519) {
        AW_ENSURE(user_key != NULL, AW_E_INVALID_ARG);
        AW_GUARD(aw_ed25519_private_pem(user_key, buf->pem, sizeof(buf->pem), &pem_len));
        cred->private_pem = buf->pem;
        return AW_OK;
    }
    AW_GUARD(aw_enroll_client_user_key(c, buf->secret));
    cred->secret = buf->secret;
    cred->secret_len = sizeof(buf->secret);
    return AW_OK;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

/* Fills reply from an answer: the frame of a 200, or the error's name and first line. */
static void reply_from(const aw_client_response *resp, aw_enroll_reply *reply)
{
    reply->status = resp->status;
    if (resp->status == 200) {
        if (resp->body_len > sizeof(reply->body)) {
            /* Longer than any frame: no frame. */
            reply->body_len = 0;
            return;
        }
        if (resp->body_len > 0) {
            memcpy(reply->body, resp->body, resp->body_len);
        }
        reply->body_len = resp->body_len;
        return;
    }
    if (resp->verified) {
        snprintf(reply->error, sizeof(reply->error), "%s", resp->error);
    } else if (!aw_client_head_field(resp->head, AW_FIELD_ERROR, reply->error,
                                     sizeof(reply->error))) {
        reply->error[0] = '\0';
    }
    /* The reason: the body's first line, printable ASCII only (it is shown to a person). */
    size_t n = 0;
    for (size_t i = 0; i < resp->body_len && n + 1 < sizeof(reply->text); i++) {
        uint8_t ch = resp->body[i];
        if (ch == '\n' || ch == '\r') {
            break;
        }
        reply->text[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    reply->text[n] = '\0';
}

aw_result aw_enroll_http_send(void *ctx, aw_enroll_frame_type type, const uint8_t *frame,
                              size_t len, aw_enroll_reply *reply)
{
    const aw_enroll_http *h = ctx;
    char *url = aw_client_url_join(h->url, AW_ENROLL_PATH);
    AW_ENSURE(url != NULL, AW_E_INTERNAL);
    aw_client_plain_request rq = {
        .method = type == AW_ENROLL_KEY ? "GET" : "POST",
        .url = url,
        .content_type = type == AW_ENROLL_KEY ? NULL : AW_ENROLL_CONTENT_TYPE,
        .body = frame,
        .body_len = len,
        .cacert = h->cacert,
        .timeout = h->timeout,
        .max_body = AW_ENROLL_FRAME_MAX + 1024,
        .verbose = h->verbose,
    };
    aw_client_response resp;
    aw_result r = aw_client_send_plain(&rq, &resp, reply->text, sizeof(reply->text));
    free(url);
    if (r == AW_OK) {
        reply_from(&resp, reply);
    } else {
        reply->status = 0; /* no answer: the text says why */
        reply->permanent = r == AW_E_KEY_INVALID || r == AW_E_INVALID_ARG;
    }
    aw_client_response_free(&resp);
    return r == AW_E_INTERNAL ? r : AW_OK;
}

/* One signed exchange with the rotate endpoint. */
static aw_result rotate_exchange(const aw_credentials *cred, const char *credentials_path,
                                 FILE *verbose, const uint8_t *frame, size_t len,
                                 aw_enroll_reply *reply)
{
    static const char *type_field[] = {"Content-Type: " AW_ENROLL_CONTENT_TYPE};
    aw_client_request rq = {
        .method = frame != NULL ? "POST" : "GET",
        .url = AW_ROTATE_PATH,
        .fields = frame != NULL ? type_field : NULL,
        .n_fields = frame != NULL ? 1 : 0,
        .body = frame,
        .body_len = len,
        .verbose = verbose,
    };
    aw_client_response resp;
    aw_result r = AW_OK;
    /* A signed "your clock is off" corrected the offset: one more try, now on time (safe:
     * a repeated HELLO or CONFIRM changes nothing at the server). */
    for (int n = 0; n < 2; n++) {
        r = aw_client_send(cred, credentials_path, &rq, &resp, reply->text, sizeof(reply->text));
        if (r != AW_OK || !resp.verified || !resp.clock_corrected || resp.retries > 0 || n > 0) {
            break;
        }
        aw_client_response_free(&resp);
    }
    if (r != AW_OK) {
        reply->status = 0;
        return r == AW_E_INTERNAL ? r : AW_OK;
    }
    reply_from(&resp, reply);
    reply->signed_reply = resp.verified && !resp.interception;
    reply->unverified = !reply->signed_reply;
    if (reply->unverified) {
        snprintf(reply->text, sizeof(reply->text), "%s",
                 resp.interception ? "the gateway suspects TLS interception"
                                   : aw_result_reason(resp.why));
    }
    aw_client_response_free(&resp);
    return AW_OK;
}

aw_result aw_rotate_http_send(void *ctx, aw_enroll_frame_type type, const uint8_t *frame,
                              size_t len, aw_enroll_reply *reply)
{
    const aw_rotate_http *h = ctx;
    AW_ENSURE(type != AW_ENROLL_KEY && frame != NULL, AW_E_INVALID_ARG);
    return rotate_exchange(h->cred, h->credentials_path, h->verbose, frame, len, reply);
}

aw_result aw_rotate_confirm(const aw_credentials *cred_new, const char *credentials_path,
                            FILE *verbose, aw_enroll_reply *reply)
{
    memset(reply, 0, sizeof(*reply));
    AW_GUARD(rotate_exchange(cred_new, credentials_path, verbose, NULL, 0, reply));
    if (reply->status == 0) {
        return AW_E_IO;
    }
    if (reply->unverified) {
        return AW_E_SIGNATURE_INVALID;
    }
    return reply->status >= 200 && reply->status < 300 ? AW_OK : AW_E_FORBIDDEN;
}
