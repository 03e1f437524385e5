/* The catalogue: the families in report order (the rows are in attacks_*.c), and what the
 * families share. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attacks.h"

#define CATALOGUE_MAX 256

static const aw_attack_family *const families[] = {
    &aw_attacks_passive,  &aw_attacks_tamper,    &aw_attacks_replay,
    &aw_attacks_response, &aw_attacks_transport, &aw_attacks_enroll,
};

const aw_attack *aw_attack_catalogue(size_t *count)
{
    static aw_attack all[CATALOGUE_MAX];
    static size_t n;
    if (n == 0) {
        for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
            for (size_t i = 0; i < families[f]->n && n < CATALOGUE_MAX; i++) {
                all[n++] = families[f]->rows[i];
            }
        }
    }
    *count = n;
    return all;
}

void aw_call_get(aw_attack_call *c, const char *path)
{
    *c = (aw_attack_call){.method = "GET", .path = path};
}

void aw_call_note(aw_attack_call *c, const char *text)
{
    *c = (aw_attack_call){
        .method = "POST", .path = AW_PATH_NOTES, .content_type = "text/plain", .body = text};
}

void aw_attack_send_get(aw_attack_ctx *ctx, const char *path)
{
    aw_attack_call c;
    aw_call_get(&c, path);
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
}

void aw_attack_send_note(aw_attack_ctx *ctx, const char *text)
{
    aw_attack_call c;
    aw_call_note(&c, text);
    (void)aw_attack_send(ctx, &c);
    aw_attack_call_free(&c);
}

typedef struct first_only {
    aw_attack_edit_fn edit;
    bool done;
} first_only;

static bool first_only_edit(aw_pmsg *m, void *arg)
{
    first_only *f = arg;
    if (f->done) {
        return false;
    }
    f->done = true;
    return f->edit(m, NULL);
}

aw_attack_edit *aw_attack_mitm_first(aw_attack_ctx *ctx, aw_attack_edit_fn request)
{
    first_only *f = aw_attack_alloc(ctx, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->edit = request;
    return aw_attack_mitm_edit(ctx, first_only_edit, NULL, f);
}

bool aw_edit_strip_signature(aw_pmsg *m, void *arg)
{
    (void)arg;
    return aw_pmsg_remove(m, "Signature") + aw_pmsg_remove(m, "Signature-Input") > 0;
}

aw_result aw_attack_watch(aw_attack_ctx *ctx)
{
    return aw_attack_mitm_edit(ctx, NULL, NULL, NULL) != NULL ? AW_OK : AW_E_IO;
}

aw_result aw_attack_replay_captured(aw_attack_ctx *ctx, aw_attack_result *out)
{
    size_t len = 0;
    uint8_t *req = aw_attack_captured(ctx, false, true, &len);
    if (req == NULL) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no signed request was captured");
        return AW_OK;
    }
    aw_result r = aw_attack_attempt(ctx, req, len, out);
    free(req);
    return r;
}

aw_result aw_attack_attempt(aw_attack_ctx *ctx, const uint8_t *req, size_t len,
                            aw_attack_result *out)
{
    aw_attack_mark(ctx);
    int status;
    char error[64];
    AW_GUARD(aw_attack_deliver(ctx, req, len, &status, error, sizeof(error)));
    aw_attack_judge_gateway(ctx, status, error, out);
    return AW_OK;
}

aw_result aw_attack_deliver(aw_attack_ctx *ctx, const uint8_t *req, size_t len, int *status,
                            char *error, size_t cap)
{
    aw_wire_answer a;
    AW_GUARD(aw_attack_raw(ctx, req, len, 10000, &a));
    *status = a.status;
    snprintf(error, cap, "%s", a.error);
    aw_wire_answer_free(&a);
    return AW_OK;
}

aw_result aw_attack_tamper(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                           void *arg, aw_attack_call *call)
{
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, edit, NULL, arg);
    AW_ENSURE(e != NULL, AW_E_IO);
    aw_attack_mark(ctx);
    (void)aw_attack_send(ctx, call);
    aw_attack_call_free(call);
    if (e->edits == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the user's request had nothing to change");
        return AW_OK;
    }
    aw_attack_judge_gateway(ctx, e->status, e->error, out);
    return AW_OK;
}

aw_result aw_attack_tamper_get(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                               void *arg, const char *path)
{
    aw_attack_call c;
    aw_call_get(&c, path);
    return aw_attack_tamper(ctx, out, edit, arg, &c);
}

aw_result aw_attack_tamper_note(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                                void *arg, const char *text)
{
    aw_attack_call c;
    aw_call_note(&c, text);
    return aw_attack_tamper(ctx, out, edit, arg, &c);
}

aw_result aw_attack_tamper_answer_get(aw_attack_ctx *ctx, aw_attack_result *out,
                                      aw_attack_edit_fn edit, void *arg, const char *path)
{
    aw_attack_call c;
    aw_call_get(&c, path);
    return aw_attack_tamper_answer(ctx, out, edit, arg, &c);
}

aw_result aw_attack_tamper_answer(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                                  void *arg, aw_attack_call *call)
{
    aw_attack_edit *e = aw_attack_mitm_edit(ctx, NULL, edit, arg);
    AW_ENSURE(e != NULL, AW_E_IO);
    return aw_attack_tamper_answer_sent(ctx, out, e, call);
}

aw_result aw_attack_tamper_answer_sent(aw_attack_ctx *ctx, aw_attack_result *out,
                                       const aw_attack_edit *e, aw_attack_call *call)
{
    (void)aw_attack_send(ctx, call);
    if (e->edits == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the answer had nothing to change");
    } else {
        aw_attack_judge_client(call, out);
    }
    aw_attack_call_free(call);
    return AW_OK;
}

/* Where ";name=" starts in the Signature-Input value and where its value ends. */
static bool find_param(const char *v, const char *name, size_t *start, size_t *vstart, size_t *end)
{
    char pat[48];
    snprintf(pat, sizeof(pat), ";%s=", name);
    const char *at = strstr(v, pat);
    if (at == NULL) {
        return false;
    }
    size_t s = (size_t)(at - v) + strlen(pat), e = s;
    if (v[e] == '"') {
        e++;
        while (v[e] != '\0' && v[e] != '"') {
            e += v[e] == '\\' && v[e + 1] != '\0' ? 2 : 1;
        }
        e += v[e] == '"';
    } else {
        e += strcspn(v + e, ";, ");
    }
    *start = (size_t)(at - v);
    *vstart = s;
    *end = e;
    return true;
}

bool aw_sig_param_get(const aw_pmsg *m, const char *name, char *out, size_t cap)
{
    const char *v = aw_pmsg_get(m, "signature-input");
    size_t start, vs, end;
    if (v == NULL || !find_param(v, name, &start, &vs, &end) || end - vs >= cap) {
        return false;
    }
    memcpy(out, v + vs, end - vs);
    out[end - vs] = '\0';
    return true;
}

bool aw_sig_param_set(aw_pmsg *m, const char *name, const char *value)
{
    const char *v = aw_pmsg_get(m, "signature-input");
    size_t start, vs, end;
    if (v == NULL || !find_param(v, name, &start, &vs, &end)) {
        return false;
    }
    size_t n = strlen(v) - (end - vs) + strlen(value) + 1;
    char *nv = malloc(n);
    if (nv == NULL) {
        return false;
    }
    snprintf(nv, n, "%.*s%s%s", (int)vs, v, value, v + end);
    bool ok = aw_pmsg_set(m, "Signature-Input", nv) == AW_OK;
    free(nv);
    return ok;
}

uint8_t *aw_attack_captured_if(aw_attack_ctx *ctx, aw_attack_capture_fn match, void *arg,
                               size_t *len)
{
    aw_proxy *p = aw_attack_proxy(ctx);
    size_t n = p != NULL ? aw_proxy_record_count(p) : 0;
    for (size_t i = 0; i < n; i++) {
        aw_proxy_record rec;
        if (aw_proxy_record_get(p, i, &rec) != AW_OK) {
            continue;
        }
        aw_pmsg m = {0};
        bool found =
            rec.http && aw_pmsg_parse((aw_span){rec.data, rec.len}, &m) == AW_OK && match(&m, arg);
        aw_pmsg_free(&m);
        if (found) {
            uint8_t *data = rec.data;
            *len = rec.len;
            rec.data = NULL;
            aw_proxy_record_free(&rec);
            return data;
        }
        aw_proxy_record_free(&rec);
    }
    return NULL;
}

typedef struct signed_match {
    bool response, want_signed;
} signed_match;

static bool is_signed_match(const aw_pmsg *m, void *arg)
{
    const signed_match *want = arg;
    if (m->response != want->response) {
        return false;
    }
    /* An answer to a signed request is itself signed and bound: Signature-Input covering
     * "signature";req. */
    const char *si = aw_pmsg_get(m, "signature-input");
    bool bound = si != NULL && strstr(si, "\"signature\";req") != NULL;
    return !want->want_signed || (m->response ? bound : aw_pmsg_signed(m));
}

uint8_t *aw_attack_captured(aw_attack_ctx *ctx, bool response, bool want_signed, size_t *len)
{
    signed_match want = {response, want_signed};
    return aw_attack_captured_if(ctx, is_signed_match, &want, len);
}

void aw_answer_of(const uint8_t *raw, size_t len, int *status, char *error, size_t cap)
{
    aw_pmsg m;
    *status = 0;
    error[0] = '\0';
    if (aw_pmsg_parse((aw_span){raw, len}, &m) == AW_OK && m.response) {
        *status = m.status;
        const char *e = aw_pmsg_get(&m, "authwire-error");
        snprintf(error, cap, "%s", e != NULL ? e : "");
    }
    aw_pmsg_free(&m);
}

void aw_attack_unpassed_answer(aw_attack_ctx *ctx, int wait_ms, int *status, char *error,
                               size_t cap)
{
    aw_proxy *p = aw_attack_proxy(ctx);
    *status = 0;
    error[0] = '\0';
    for (int waited = 0; p != NULL && waited <= wait_ms; waited += 10) {
        size_t n = aw_proxy_record_count(p);
        for (size_t i = 0; i < n; i++) {
            aw_proxy_record rec;
            if (aw_proxy_record_get(p, i, &rec) != AW_OK) {
                continue;
            }
            bool found = rec.http && rec.response && !rec.passed;
            if (found) {
                aw_answer_of(rec.data, rec.len, status, error, cap);
            }
            aw_proxy_record_free(&rec);
            if (found) {
                return;
            }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
