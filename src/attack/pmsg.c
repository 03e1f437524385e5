/* Editable HTTP messages for the proxy's hooks (see proxy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authwire/message.h"
#include "proxy.h"

static char *dup_span(aw_span s)
{
    char *p = malloc(s.len + 1);
    if (p != NULL) {
        memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static void clear_content(aw_pmsg *m)
{
    for (size_t i = 0; i < m->n_fields; i++) {
        free(m->fields[i].name);
        free(m->fields[i].value);
    }
    free(m->target);
    free(m->body);
    m->n_fields = 0;
    m->target = NULL;
    m->body = NULL;
    m->body_len = 0;
    m->method[0] = '\0';
    m->reason[0] = '\0';
    m->status = 0;
}

void aw_pmsg_free(aw_pmsg *m)
{
    if (m == NULL) {
        return;
    }
    clear_content(m);
    free(m->reply);
    memset(m, 0, sizeof(*m));
}

/* Parses raw into m's content; on failure m's content is empty. */
static aw_result parse_into(aw_span raw, aw_pmsg *m)
{
    aw_header *headers = calloc(AW_PMSG_MAX_FIELDS, sizeof(*headers));
    AW_ENSURE(headers != NULL, AW_E_INTERNAL);
    aw_message msg;
    aw_result r = aw_http_parse(raw, headers, AW_PMSG_MAX_FIELDS, &msg);
    if (r == AW_OK) {
        m->http = true;
        m->response = msg.is_response;
        if (msg.is_response) {
            m->status = msg.status;
            /* The reason phrase: the status line after "HTTP/1.1 NNN ". */
            const uint8_t *nl = memchr(raw.ptr, '\n', raw.len);
            size_t line = nl != NULL ? (size_t)(nl - raw.ptr) : raw.len;
            if (line > 0 && raw.ptr[line - 1] == '\r') {
                line--;
            }
            if (line > 13) {
                snprintf(m->reason, sizeof(m->reason), "%.*s", (int)(line - 13),
                         (const char *)raw.ptr + 13);
            }
        } else if (msg.method.len < sizeof(m->method)) {
            memcpy(m->method, msg.method.ptr, msg.method.len);
            m->method[msg.method.len] = '\0';
            m->target = dup_span(msg.target);
            r = m->target != NULL ? AW_OK : AW_E_INTERNAL;
        } else {
            r = AW_E_MALFORMED;
        }
    }
    for (size_t i = 0; r == AW_OK && i < msg.n_headers; i++) {
        m->fields[i].name = dup_span(msg.headers[i].name);
        m->fields[i].value = dup_span(msg.headers[i].value);
        m->n_fields = i + 1;
        if (m->fields[i].name == NULL || m->fields[i].value == NULL) {
            r = AW_E_INTERNAL;
        }
    }
    if (r == AW_OK && msg.body.len > 0) {
        r = aw_pmsg_set_body(m, msg.body.ptr, msg.body.len);
    }
    free(headers);
    if (r != AW_OK) {
        clear_content(m);
    }
    return r;
}

aw_result aw_pmsg_parse(aw_span raw, aw_pmsg *m)
{
    memset(m, 0, sizeof(*m));
    m->copies = 1;
    return parse_into(raw, m);
}

aw_result aw_pmsg_replace(aw_pmsg *m, aw_span raw)
{
    bool response = m->response;
    clear_content(m);
    AW_GUARD(parse_into(raw, m));
    AW_ENSURE(m->response == response, AW_E_INVALID_ARG);
    return AW_OK;
}

/* A growing output buffer. */
typedef struct outbuf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} outbuf;

static void out_add(outbuf *o, const void *data, size_t len)
{
    if (o->failed) {
        return;
    }
    if (o->len + len + 1 > o->cap) {
        size_t cap = o->cap == 0 ? 1024 : o->cap;
        while (cap < o->len + len + 1) {
            cap *= 2;
        }
        uint8_t *p = realloc(o->p, cap);
        if (p == NULL) {
            o->failed = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, len);
    o->len += len;
    o->p[o->len] = '\0';
}

static void out_str(outbuf *o, const char *s)
{
    out_add(o, s, strlen(s));
}

aw_result aw_pmsg_serialize(const aw_pmsg *m, uint8_t **out, size_t *len)
{
    outbuf o = {0};
    if (!m->http) {
        out_add(&o, m->body != NULL ? m->body : (const uint8_t *)"", m->body_len);
    } else {
        char line[96];
        if (m->response) {
            snprintf(line, sizeof(line), "HTTP/1.1 %03d %s\r\n", m->status, m->reason);
            out_str(&o, line);
        } else {
            out_str(&o, m->method);
            out_str(&o, " ");
            out_str(&o, m->target != NULL ? m->target : "/");
            out_str(&o, " HTTP/1.1\r\n");
        }
        /* A response without Content-Length runs until the close, and stays so. */
        bool want_length = !m->keep_length && (aw_pmsg_get(m, "content-length") != NULL ||
                                               (!m->response && m->body_len > 0));
        char length[32];
        snprintf(length, sizeof(length), "%zu", m->body_len);
        bool length_written = false;
        for (size_t i = 0; i < m->n_fields; i++) {
            const char *value = m->fields[i].value;
            if (!m->keep_length && strcasecmp(m->fields[i].name, "content-length") == 0) {
                if (length_written) {
                    continue;
                }
                value = length;
                length_written = true;
            }
            out_str(&o, m->fields[i].name);
            out_str(&o, ": ");
            out_str(&o, value);
            out_str(&o, "\r\n");
        }
        if (want_length && !length_written) {
            out_str(&o, "Content-Length: ");
            out_str(&o, length);
            out_str(&o, "\r\n");
        }
        out_str(&o, "\r\n");
        if (m->body_len > 0) {
            out_add(&o, m->body, m->body_len);
        }
    }
    if (o.failed) {
        free(o.p);
        return AW_E_INTERNAL;
    }
    if (o.p == NULL) {
        out_add(&o, "", 0);
        AW_ENSURE(!o.failed, AW_E_INTERNAL);
    }
    *out = o.p;
    *len = o.len;
    return AW_OK;
}

const char *aw_pmsg_get(const aw_pmsg *m, const char *name)
{
    for (size_t i = 0; i < m->n_fields; i++) {
        if (strcasecmp(m->fields[i].name, name) == 0) {
            return m->fields[i].value;
        }
    }
    return NULL;
}

size_t aw_pmsg_count(const aw_pmsg *m, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_fields; i++) {
        n += strcasecmp(m->fields[i].name, name) == 0;
    }
    return n;
}

aw_result aw_pmsg_add(aw_pmsg *m, const char *name, const char *value)
{
    AW_ENSURE(m->n_fields < AW_PMSG_MAX_FIELDS, AW_E_TOO_LARGE);
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return AW_E_INTERNAL;
    }
    m->fields[m->n_fields++] = (aw_pfield){n, v};
    return AW_OK;
}

aw_result aw_pmsg_set(aw_pmsg *m, const char *name, const char *value)
{
    for (size_t i = 0; i < m->n_fields; i++) {
        if (strcasecmp(m->fields[i].name, name) == 0) {
            char *v = strdup(value);
            AW_ENSURE(v != NULL, AW_E_INTERNAL);
            free(m->fields[i].value);
            m->fields[i].value = v;
            return AW_OK;
        }
    }
    return aw_pmsg_add(m, name, value);
}

size_t aw_pmsg_remove(aw_pmsg *m, const char *name)
{
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < m->n_fields; i++) {
        if (strcasecmp(m->fields[i].name, name) == 0) {
            free(m->fields[i].name);
            free(m->fields[i].value);
            removed++;
        } else {
            m->fields[kept++] = m->fields[i];
        }
    }
    m->n_fields = kept;
    return removed;
}

aw_result aw_pmsg_edit(aw_pmsg *m, const char *name, const char *from, const char *to)
{
    for (size_t i = 0; i < m->n_fields; i++) {
        if (strcasecmp(m->fields[i].name, name) != 0) {
            continue;
        }
        char *old = m->fields[i].value;
        char *at = strstr(old, from);
        AW_ENSURE(at != NULL, AW_E_NOT_FOUND);
        size_t head = (size_t)(at - old), fl = strlen(from), tl = strlen(to);
        size_t n = strlen(old) - fl + tl + 1;
        char *v = malloc(n);
        AW_ENSURE(v != NULL, AW_E_INTERNAL);
        snprintf(v, n, "%.*s%s%s", (int)head, old, to, at + fl);
        free(old);
        m->fields[i].value = v;
        return AW_OK;
    }
    return AW_E_NOT_FOUND;
}

/* *dst (owned, *dst_len bytes) becomes a copy of len bytes of src (NULL when empty). */
static aw_result replace_bytes(uint8_t **dst, size_t *dst_len, const void *src, size_t len)
{
    uint8_t *b = NULL;
    if (len > 0) {
        b = malloc(len);
        AW_ENSURE(b != NULL, AW_E_INTERNAL);
        memcpy(b, src, len);
    }
    free(*dst);
    *dst = b;
    *dst_len = len;
    return AW_OK;
}

aw_result aw_pmsg_set_body(aw_pmsg *m, const void *body, size_t len)
{
    return replace_bytes(&m->body, &m->body_len, body, len);
}

aw_result aw_pmsg_set_target(aw_pmsg *m, const char *target)
{
    char *t = strdup(target);
    AW_ENSURE(t != NULL, AW_E_INTERNAL);
    free(m->target);
    m->target = t;
    return AW_OK;
}

aw_result aw_pmsg_set_reply(aw_pmsg *m, const void *bytes, size_t len)
{
    return replace_bytes(&m->reply, &m->reply_len, bytes, len);
}

bool aw_pmsg_signed(const aw_pmsg *m)
{
    return m->http && aw_pmsg_get(m, "signature-input") != NULL;
}
