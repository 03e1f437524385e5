/* Tampering with the user's signed requests in transit, and insiders signing what they
 * should not: each row changes one thing and lets the gateway judge the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attacks.h"
#include "authwire/signature.h"
#include "json.h"

/* The name an attacker slips in: the victim when one is known. */
static const char *other_user(aw_attack_ctx *ctx)
{
    const char *v = aw_attack_victim(ctx);
    return v != NULL ? v : "mallory";
}

/* ---- the request line ---------------------------------------------------------------- */

static bool method_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    snprintf(m->method, sizeof(m->method), "DELETE");
    return true;
}

static aw_result tamper_method(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, method_edit, NULL, AW_PATH_NOTES);
}

static bool path_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_set_target(m, AW_PATH_NOTES) == AW_OK;
}

static aw_result tamper_path(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, path_edit, NULL, AW_PATH_BALANCE);
}

static bool query_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_set_target(m, AW_PATH_NOTES "?limit=1000") == AW_OK;
}

static aw_result tamper_query(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, query_edit, NULL, AW_PATH_NOTES "?limit=1");
}

static bool add_query_edit(aw_pmsg *m, void *arg)
{
    char target[128];
    snprintf(target, sizeof(target), "%s?user=%s", m->target, (const char *)arg);
    return aw_pmsg_set_target(m, target) == AW_OK;
}

static aw_result add_query(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, add_query_edit, (void *)other_user(ctx), AW_PATH_BALANCE);
}

static bool authority_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_set(m, "Host", "api.attacker.example") == AW_OK;
}

static aw_result tamper_authority(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, authority_edit, NULL, AW_PATH_BALANCE);
}

/* ---- fields and body ------------------------------------------------------------------ */

static bool content_type_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_set(m, "Content-Type", "application/json") == AW_OK;
}

static aw_result tamper_content_type(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_note(ctx, out, content_type_edit, NULL, "{\"amount\": 1}");
}

static const char forged_note[] = "pay 9999 to mallory";

static bool body_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_set_body(m, forged_note, strlen(forged_note)) == AW_OK;
}

static aw_result tamper_body(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_note(ctx, out, body_edit, NULL, "pay 10 to bob");
}

/* Content-Digest of body, into the field. */
static bool set_digest(aw_pmsg *m, const char *body)
{
    char digest[128];
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)digest, sizeof(digest) - 1);
    if (aw_content_digest(aw_span_cstr(body), AW_DIGEST_SHA256, &w) != AW_OK) {
        return false;
    }
    digest[w.len] = '\0';
    return aw_pmsg_set(m, "Content-Digest", digest) == AW_OK;
}

static bool body_redigest_edit(aw_pmsg *m, void *arg)
{
    return body_edit(m, arg) && set_digest(m, forged_note);
}

static aw_result tamper_body_redigest(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_note(ctx, out, body_redigest_edit, NULL, "pay 10 to bob");
}

static bool digest_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return set_digest(m, forged_note);
}

static aw_result tamper_content_digest(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_note(ctx, out, digest_edit, NULL, "pay 10 to bob");
}

static bool unsigned_body_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    static const char body[] = "to=mallory&amount=9999";
    return m->body_len == 0 && aw_pmsg_set_body(m, body, strlen(body)) == AW_OK;
}

static aw_result add_unsigned_body(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, unsigned_body_edit, NULL, AW_PATH_BALANCE);
}

static bool seq_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    const char *seq = aw_pmsg_get(m, "authwire-seq");
    char next[32];
    if (seq == NULL) {
        return false;
    }
    snprintf(next, sizeof(next), "%llu", strtoull(seq, NULL, 10) + 1000);
    return aw_pmsg_set(m, "Authwire-Seq", next) == AW_OK;
}

static aw_result tamper_seq(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, seq_edit, NULL, AW_PATH_BALANCE);
}

/* ---- the signature's parameters --------------------------------------------------------- */

/* Removes ";name=value" from the aw member of Signature-Input. */
static bool drop_param(aw_pmsg *m, const char *name)
{
    char value[128], text[160];
    if (!aw_sig_param_get(m, name, value, sizeof(value))) {
        return false;
    }
    snprintf(text, sizeof(text), ";%s=%s", name, value);
    return aw_pmsg_edit(m, "Signature-Input", text, "") == AW_OK;
}

static bool keyid_edit(aw_pmsg *m, void *arg)
{
    char keyid[96];
    snprintf(keyid, sizeof(keyid), "\"%s\"", (const char *)arg);
    /* alg goes too, so that the gateway tries the victim's key whatever its algorithm. */
    return aw_sig_param_set(m, "keyid", keyid) && drop_param(m, "alg");
}

static aw_result tamper_keyid(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, keyid_edit, (void *)aw_attack_victim(ctx),
                                AW_PATH_BALANCE);
}

static bool alg_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    char alg[64];
    if (!aw_sig_param_get(m, "alg", alg, sizeof(alg))) {
        return false;
    }
    return aw_sig_param_set(m, "alg",
                            strcmp(alg, "\"ed25519\"") == 0 ? "\"hmac-sha256\"" : "\"ed25519\"");
}

static aw_result tamper_alg(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, alg_edit, NULL, AW_PATH_BALANCE);
}

static bool downgrade_alg_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_sig_param_set(m, "alg", "\"hmac-sha1\"");
}

static aw_result downgrade_alg(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, downgrade_alg_edit, NULL, AW_PATH_BALANCE);
}

static bool created_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    char created[32], earlier[32];
    if (!aw_sig_param_get(m, "created", created, sizeof(created))) {
        return false;
    }
    snprintf(earlier, sizeof(earlier), "%lld", strtoll(created, NULL, 10) - 5);
    return aw_sig_param_set(m, "created", earlier);
}

static aw_result tamper_created(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, created_edit, NULL, AW_PATH_BALANCE);
}

static bool nonce_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    uint8_t random[32];
    char nonce[64] = "\"";
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)nonce + 1, sizeof(nonce) - 3);
    if (aw_random(random, sizeof(random)) != AW_OK) {
        return false;
    }
    aw_writer_base64url(&w, random, sizeof(random));
    nonce[1 + w.len] = '"';
    nonce[2 + w.len] = '\0';
    return aw_sig_param_set(m, "nonce", nonce);
}

static aw_result tamper_nonce(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, nonce_edit, NULL, AW_PATH_BALANCE);
}

static bool tag_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_sig_param_set(m, "tag", "\"" AW_TAG_RESPONSE "\"");
}

static aw_result tamper_tag(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, tag_edit, NULL, AW_PATH_BALANCE);
}

static bool hidden_param_edit(aw_pmsg *m, void *arg)
{
    char hidden[96];
    snprintf(hidden, sizeof(hidden), ";keyid=\"%s\";keyid=", (const char *)arg);
    return aw_pmsg_edit(m, "Signature-Input", ";keyid=", hidden) == AW_OK;
}

static aw_result hidden_duplicate_param(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, hidden_param_edit, (void *)other_user(ctx),
                                AW_PATH_BALANCE);
}

static bool strip_coverage_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_edit(m, "Signature-Input", " \"content-digest\"", "") == AW_OK;
}

static aw_result strip_coverage(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_note(ctx, out, strip_coverage_edit, NULL, "pay 10 to bob");
}

static bool no_cb_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_remove(m, "Authwire-CB") > 0 &&
           aw_pmsg_edit(m, "Signature-Input", " \"authwire-cb\"", "") == AW_OK;
}

static aw_result downgrade_no_cb(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, no_cb_edit, NULL, AW_PATH_BALANCE);
}

/* ---- the signature itself ---------------------------------------------------------------- */

static bool signature_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    const char *v = aw_pmsg_get(m, "signature");
    const char *colon = v != NULL ? strchr(v, ':') : NULL;
    if (colon == NULL || colon[1] == '\0') {
        return false;
    }
    char from[3] = {colon[0], colon[1], '\0'};
    char to[3] = {':', colon[1] == 'A' ? 'B' : 'A', '\0'};
    return aw_pmsg_edit(m, "Signature", from, to) == AW_OK;
}

static aw_result tamper_signature(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, signature_edit, NULL, AW_PATH_BALANCE);
}

static aw_result strip_signature(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, aw_edit_strip_signature, NULL, AW_PATH_BALANCE);
}

static bool duplicate_signature_edit(aw_pmsg *m, void *arg)
{
    (void)arg;
    const char *v = aw_pmsg_get(m, "signature");
    char copy[512];
    if (v == NULL || strlen(v) >= sizeof(copy)) {
        return false;
    }
    snprintf(copy, sizeof(copy), "%s", v);
    return aw_pmsg_add(m, "Signature", copy) == AW_OK;
}

static aw_result duplicate_signature(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return aw_attack_tamper_get(ctx, out, duplicate_signature_edit, NULL, AW_PATH_BALANCE);
}

/* ---- unsigned additions and insiders ------------------------------------------------------ */

static bool unsigned_header_edit(aw_pmsg *m, void *arg)
{
    return aw_pmsg_add(m, "Authwire-User", (const char *)arg) == AW_OK &&
           aw_pmsg_add(m, "X-HTTP-Method-Override", "DELETE") == AW_OK &&
           aw_pmsg_add(m, "X-Forwarded-For", "10.6.6.6") == AW_OK;
}

static aw_result add_unsigned_header(aw_attack_ctx *ctx, aw_attack_result *out)
{
    const char *who = other_user(ctx);
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, unsigned_header_edit, NULL, (void *)who);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_mark(ctx);
    aw_attack_call c;
    aw_call_get(&c, AW_PATH_WHOAMI);
    (void)aw_attack_send(ctx, &c);
    if (e->edits == 0 || e->status < 200 || e->status >= 300 || !c.resp.verified) {
        /* Refused (over TLS: the interception itself), or not even answered. */
        aw_attack_judge_gateway(ctx, e->status, e->error, out);
        aw_attack_call_free(&c);
        return AW_OK;
    }
    aw_json *j = NULL;
    const char *user = NULL;
    if (aw_json_parse((const char *)c.resp.body, c.resp.body_len, &j, NULL, NULL) == AW_OK) {
        user = aw_json_get_string(j, "user");
    }
    const char *me = aw_attack_cred(ctx)->keyid;
    if (user == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "the answer does not say whom the gateway served (not the demo API?)");
    } else if (strcmp(user, me) == 0) {
        aw_attack_set(out, AW_ATTACK_BLOCKED, "unsigned_ignored",
                      "the request passed and was served as %s: the unsigned Authwire-User: %s, "
                      "method override and X-Forwarded-For changed nothing",
                      me, who);
    } else {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the gateway served the request as %s, named by an unsigned field", user);
    }
    aw_json_free(j);
    aw_attack_call_free(&c);
    return AW_OK;
}

static aw_result impersonate_user(aw_attack_ctx *ctx, aw_attack_result *out)
{
    const char *victim = aw_attack_victim(ctx);
    aw_attack_forge f = {
        .method = "GET", .path = AW_PATH_BALANCE, .keyid = victim, .without_alg = true};
    uint8_t *req = NULL;
    size_t len = 0;
    AW_GUARD(aw_attack_forge_request(ctx, &f, &req, &len));
    aw_result r = aw_attack_attempt(ctx, req, len, out);
    free(req);
    aw_attack_observe(out, "its own request, signed with its own key under keyid \"%s\"", victim);
    return r;
}

static const aw_attack tamper[] = {
    {"tamper-method", "turn the user's signed GET /api/notes into a DELETE",
     "change method, authority, path, query", "signature_invalid", 0, tamper_method},
    {"tamper-path", "point the user's signed GET /api/balance at /api/notes",
     "change method, authority, path, query", "signature_invalid", 0, tamper_path},
    {"tamper-query", "change ?limit=1 to ?limit=1000 in a signed request",
     "change method, authority, path, query", "signature_invalid", 0, tamper_query},
    {"add-query", "add a query (?user=...) to a signed request that had none",
     "change method, authority, path, query", "signature_invalid", 0, add_query},
    {"tamper-authority", "send the user's signed request to another API (Host rewritten)",
     "change method, authority, path, query", "signature_invalid", 0, tamper_authority},
    {"tamper-content-type", "relabel a signed text/plain body as application/json",
     "reinterpret the body", "signature_invalid", 0, tamper_content_type},
    {"tamper-body", "rewrite the body of a signed POST, Content-Digest left as it was",
     "change the body", "digest_mismatch", 0, tamper_body},
    {"tamper-body-redigest", "rewrite the body of a signed POST and recompute its Content-Digest",
     "change the body", "signature_invalid", 0, tamper_body_redigest},
    {"tamper-content-digest", "replace the covered Content-Digest field (body unchanged)",
     "change the body", "signature_invalid", 0, tamper_content_digest},
    {"add-unsigned-body", "attach a body to a signed GET that had none", "change the body",
     "digest_mismatch", 0, add_unsigned_body},
    {"tamper-seq", "raise the covered Authwire-Seq of a signed request by 1000",
     "reorder / duplicate (sequence mode)", "signature_invalid", AW_ATTACK_NEEDS_SEQUENCE,
     tamper_seq},
    {"tamper-keyid", "relabel the user's signed request as another user's (keyid, alg dropped)",
     "insider acting as another user", "signature_invalid", AW_ATTACK_NEEDS_VICTIM, tamper_keyid},
    {"tamper-alg", "claim the other algorithm (hmac-sha256 <-> ed25519) in alg",
     "algorithm downgrade or confusion", "alg_mismatch", 0, tamper_alg},
    {"downgrade-alg", "claim a weaker, unregistered algorithm (alg=\"hmac-sha1\")",
     "algorithm downgrade or confusion", "alg_mismatch", 0, downgrade_alg},
    {"tamper-created", "move the signature's created parameter 5 s back", "replay after the window",
     "signature_invalid", 0, tamper_created},
    {"tamper-nonce", "replace the signature's nonce with a fresh random one",
     "replay inside the window", "signature_invalid", 0, tamper_nonce},
    {"tamper-tag", "retag the request signature as a response signature",
     "request signature reflected as a response, or the reverse", "tag_mismatch", 0, tamper_tag},
    {"tamper-signature", "flip one base64 character of the Signature value",
     "change method, authority, path, query", "signature_invalid", 0, tamper_signature},
    {"strip-signature", "remove Signature and Signature-Input from a signed request",
     "drop a component from the signature", "signature_missing", 0, strip_signature},
    {"duplicate-signature", "send the Signature field twice (two verifiers could read either)",
     "signatures with duplicate labels (two verifiers read different ones)",
     "signature_duplicate_label", 0, duplicate_signature},
    {"hidden-duplicate-param", "hide keyid=\"other\" before the real keyid in Signature-Input",
     "hidden duplicate signature parameters", "signature_bad_params", 0, hidden_duplicate_param},
    {"strip-coverage", "drop \"content-digest\" from the covered components of a signed POST",
     "drop a component from the signature", "coverage_insufficient", 0, strip_coverage},
    {"add-unsigned-header",
     "add unsigned Authwire-User: other, X-HTTP-Method-Override and X-Forwarded-For",
     "add an unsigned header", "tls=channel_binding unsigned_ignored", 0, add_unsigned_header},
    {"downgrade-no-cb", "remove Authwire-CB and its coverage (no channel binding)",
     "TLS interception", "signature_invalid", AW_ATTACK_NEEDS_TLS, downgrade_no_cb},
    {"impersonate-user", "an insider signs with his own key under another user's keyid",
     "insider acting as another user", "signature_invalid", AW_ATTACK_NEEDS_VICTIM,
     impersonate_user},
};

AW_ATTACK_FAMILY(aw_attacks_tamper, tamper);
