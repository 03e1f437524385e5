/* Every response of the gateway is signed (docs/PROTOCOL.md, Response signature): with the
 * user's HMAC key once the request authenticated, otherwise (and for Ed25519 users, whose
 * private key the gateway never holds) with the server's Ed25519 key under keyid "@server",
 * which the client pinned at enrollment. Either way the signature binds the
 * response to the request's method, authority, path, query and signature whenever the
 * request had them, so a response cannot be replayed, swapped or forged. */
#include <stdio.h>
#include <string.h>

#include "authwire/exchange.h"
#include "gateway.h"
#include "json.h"

aw_result gw_challenge(gw_worker *w, char *out)
{
    uint8_t random[16];
    AW_GUARD(aw_random(random, sizeof(random)));
    return aw_challenge_issue(w->challenge_key, gw_now(), random, out);
}

typedef struct reply_buffers {
    uint8_t digest[128];
    uint8_t sig_input[2048];
    uint8_t signature[256];
    uint8_t components[512];
    char time[24];
    char challenge[AW_CHALLENGE_TEXT_LEN + 1];
} reply_buffers;

/* Signs msg (a response to x's request) into sig_input and signature. */
static aw_result sign_response(gw_exchange *x, const aw_message *msg, bool error, bool bound,
                               reply_buffers *b, aw_writer *sig_input, aw_writer *signature)
{
    gw_worker *w = x->w;
    aw_key server_key = {.alg = AW_ALG_ED25519, .ed25519 = w->server_key};
    /* The gateway holds only the public half of an Ed25519 user's key: it answers those users
     * with its own key, which they pinned, as it answers requests it could not authenticate. */
    /* x->key: the key that verified the request (the pending one during a rotation). */
    bool user_key = x->authenticated && x->key != NULL && x->key->hmac != NULL;
    const aw_key *key = user_key ? x->key : &server_key;
    aw_writer comp;
    aw_writer_init(&comp, b->components, sizeof(b->components) - 1);
    bool content_type = aw_message_count_field(msg, AW_SPAN_LIT("content-type")) > 0;
    aw_response_components(bound, content_type, error, &comp);
    AW_GUARD(aw_writer_result(&comp));
    b->components[comp.len] = '\0';
    aw_sign_params params = {
        .label = AW_LABEL,
        .components = (const char *)b->components,
        .has_created = true,
        .created = gw_now(),
        .keyid = aw_span_cstr(user_key ? x->user->name : AW_SERVER_KEYID),
        .tag = AW_SPAN_LIT(AW_TAG_RESPONSE),
        .with_alg = true,
    };
    aw_arena scratch;
    aw_arena_init(&scratch, w->scratch, sizeof(w->scratch));
    return aw_sign(msg, bound ? &x->req->msg : NULL, key, &params, &scratch, sig_input, signature,
                   NULL);
}

void gw_reply(gw_exchange *x, int status, const char *content_type, aw_span body,
              const aw_http_field *extra, size_t n_extra)
{
    reply_buffers b;
    aw_http_field fields[48];
    size_t n = 0;
    bool error = status >= 400;

    aw_writer digest;
    aw_writer_init(&digest, b.digest, sizeof(b.digest) - 1);
    if (aw_content_digest(body, AW_DIGEST_SHA256, &digest) != AW_OK) {
        digest.overflow = true;
    }
    b.digest[digest.len] = '\0';
    if (content_type != NULL) {
        fields[n++] = (aw_http_field){"Content-Type", content_type, 0};
    }
    fields[n++] = (aw_http_field){"Content-Digest", (const char *)b.digest, 0};
    if (error) {
        /* Peers that did not authenticate learn only that they did not (the log has why),
         * except on the enrollment endpoint, where the reason is what the client acts on. */
        aw_result shown =
            x->authenticated || x->reason_public || aw_result_class_of(x->result) != AW_CLASS_PEER
                ? x->result
                : AW_E_UNAUTHENTICATED;
        fields[n++] = (aw_http_field){"Authwire-Error", aw_result_name(shown), 0};
        snprintf(b.time, sizeof(b.time), "%lld", (long long)gw_now());
        fields[n++] = (aw_http_field){"Authwire-Time", b.time, 0};
    }
    size_t signed_fields = n;

    /* The message view of what we are about to send, for the signature base. */
    aw_header headers[8];
    for (size_t i = 0; i < signed_fields; i++) {
        headers[i].name = aw_span_cstr(fields[i].name);
        headers[i].value = aw_span_cstr(fields[i].value);
    }
    aw_message msg = {.is_response = true,
                      .status = status,
                      .headers = headers,
                      .n_headers = signed_fields,
                      .body = body};

    aw_writer sig_input, signature;
    aw_writer_init(&sig_input, b.sig_input, sizeof(b.sig_input) - 1);
    aw_writer_init(&signature, b.signature, sizeof(b.signature) - 1);
    bool bound = x->has_signature && x->req->msg.method.len > 0;
    bool sign = x->w->gw->cfg.auth; /* --auth false (benchmarks) signs nothing either */
    aw_result r = !sign ? AW_OK
                  : digest.overflow
                      ? AW_E_INTERNAL
                      : sign_response(x, &msg, error, bound, &b, &sig_input, &signature);
    if (sign && r != AW_OK && bound) {
        /* The request's pieces did not make a base (e.g. its signature field is garbage):
         * sign what is ours alone; the client will see the response is not bound. */
        aw_writer_init(&sig_input, b.sig_input, sizeof(b.sig_input) - 1);
        aw_writer_init(&signature, b.signature, sizeof(b.signature) - 1);
        r = sign_response(x, &msg, error, false, &b, &sig_input, &signature);
    }
    if (sign && r == AW_OK) {
        b.sig_input[sig_input.len] = '\0';
        b.signature[signature.len] = '\0';
        fields[n++] = (aw_http_field){"Signature-Input", (const char *)b.sig_input, 0};
        fields[n++] = (aw_http_field){"Signature", (const char *)b.signature, 0};
    } else if (sign) {
        fprintf(stderr, "authwired: cannot sign a response: %s\n", aw_result_reason(r));
    }
    if (status == 401 && gw_challenge(x->w, b.challenge) == AW_OK) {
        fields[n++] = (aw_http_field){"Authwire-Challenge", b.challenge, 0};
    }
    for (size_t i = 0; i < n_extra && n < sizeof(fields) / sizeof(fields[0]); i++) {
        fields[n++] = extra[i];
    }
    uint64_t latency = aw_http_now_ns() - x->req->started_ns;
    gw_metrics_count(x->w->gw, x->result, latency);
    gw_access_log(x, status, latency);
    aw_http_response resp = {
        .status = status,
        .fields = fields,
        .n_fields = n,
        .body = body,
        /* After a malformed or oversized request the stream cannot be trusted to resync. */
        .close =
            !x->authenticated && (x->result == AW_E_MALFORMED || x->result == AW_E_TOO_LARGE ||
                                  x->result == AW_E_TIMEOUT || x->result == AW_E_FIELD_INVALID ||
                                  x->result == AW_E_RATE_LIMITED),
    };
    aw_http_respond(x->conn, &resp);
}

void gw_reply_error(gw_exchange *x, aw_result result, const char *detail)
{
    x->result = result;
    if (detail != NULL) {
        x->detail = detail;
    }
    int status = aw_result_peer_status(result);
    /* One uniform body per status: the reason is in Authwire-Error (when the peer may know
     * it) and in the log, never in prose a client might parse. */
    uint8_t buf[128];
    aw_writer out;
    aw_writer_init(&out, buf, sizeof(buf));
    aw_json_writer jw;
    aw_json_writer_init(&jw, &out, false);
    aw_json_begin_object(&jw);
    aw_json_key(&jw, "error");
    aw_json_int(&jw, status);
    aw_json_end_object(&jw);
    aw_span body =
        aw_json_writer_result(&jw) == AW_OK ? aw_writer_span_of(&out) : AW_SPAN_LIT("{}");
    gw_reply(x, status, "application/json", body, NULL, 0);
}
