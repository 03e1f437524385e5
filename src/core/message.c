/* Raw HTTP/1.1 parsing into an aw_message (RFC 9112), and field lookups. Strict where a
 * lenient reading would let two parties see different messages (request smuggling). */
#include "authwire/message.h"

#include <string.h>

static bool is_tchar(int c)
{
    /* RFC 9110 Section 5.6.2 token characters. */
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Reads one line (without its LF and optional CR) into *line. AW_E_MALFORMED on a bare CR. */
static aw_result next_line(aw_cursor *c, aw_span *line)
{
    size_t start = c->pos;
    for (;;) {
        int ch = aw_cursor_next(c);
        AW_ENSURE(ch >= 0, AW_E_MALFORMED);
        if (ch == '\n') {
            size_t end = c->pos - 1;
            if (end > start && c->ptr[end - 1] == '\r') {
                end--;
            }
            *line = (aw_span){c->ptr + start, end - start};
            return AW_OK;
        }
    }
}

static bool span_has_byte(aw_span s, uint8_t b)
{
    return s.len > 0 && memchr(s.ptr, b, s.len) != NULL;
}

static aw_result parse_start_line(aw_span line, aw_message *out)
{
    aw_cursor c;
    aw_cursor_init(&c, line);
    AW_ENSURE(!span_has_byte(line, '\r'), AW_E_MALFORMED);
    if (line.len >= 9 && memcmp(line.ptr, "HTTP/1.", 7) == 0) {
        /* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
        AW_ENSURE(line.ptr[7] == '0' || line.ptr[7] == '1', AW_E_MALFORMED);
        c.pos = 8;
        AW_ENSURE(aw_cursor_eat(&c, ' '), AW_E_MALFORMED);
        int status = 0;
        for (int i = 0; i < 3; i++) {
            int d = aw_cursor_next(&c);
            AW_ENSURE(d >= '0' && d <= '9', AW_E_MALFORMED);
            status = status * 10 + (d - '0');
        }
        AW_ENSURE(aw_cursor_eof(&c) || aw_cursor_eat(&c, ' '), AW_E_MALFORMED);
        AW_ENSURE(status >= 100 && status <= 599, AW_E_MALFORMED);
        out->is_response = true;
        out->status = status;
        return AW_OK;
    }
    /* request-line = method SP request-target SP HTTP-version */
    size_t start = c.pos;
    while (is_tchar(aw_cursor_peek(&c))) {
        c.pos++;
    }
    AW_ENSURE(c.pos > start, AW_E_MALFORMED);
    out->method = (aw_span){line.ptr + start, c.pos - start};
    AW_ENSURE(aw_cursor_eat(&c, ' '), AW_E_MALFORMED);
    start = c.pos;
    for (int ch = aw_cursor_peek(&c); ch > ' ' && ch < 0x7f; ch = aw_cursor_peek(&c)) {
        c.pos++;
    }
    AW_ENSURE(c.pos > start, AW_E_MALFORMED);
    out->target = (aw_span){line.ptr + start, c.pos - start};
    AW_ENSURE(aw_cursor_eat(&c, ' '), AW_E_MALFORMED);
    aw_span version = aw_cursor_rest(&c);
    AW_ENSURE(aw_span_eq(version, AW_SPAN_LIT("HTTP/1.1")) ||
                  aw_span_eq(version, AW_SPAN_LIT("HTTP/1.0")),
              AW_E_MALFORMED);
    out->is_response = false;
    return AW_OK;
}

static aw_span trim_ows(aw_span s)
{
    while (s.len > 0 && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t')) {
        s.len--;
    }
    return s;
}

static aw_result parse_header_line(aw_span line, aw_header *h)
{
    /* obs-fold (a line starting with whitespace) is rejected, RFC 9112 Section 5.2. */
    AW_ENSURE(line.ptr[0] != ' ' && line.ptr[0] != '\t', AW_E_MALFORMED);
    size_t i = 0;
    while (i < line.len && is_tchar(line.ptr[i])) {
        i++;
    }
    /* No whitespace between name and colon, RFC 9112 Section 5.1. */
    AW_ENSURE(i > 0 && i < line.len && line.ptr[i] == ':', AW_E_MALFORMED);
    h->name = (aw_span){line.ptr, i};
    h->value = trim_ows((aw_span){line.ptr + i + 1, line.len - i - 1});
    for (size_t k = 0; k < h->value.len; k++) {
        uint8_t b = h->value.ptr[k];
        /* field-value: VCHAR, obs-text, SP, HTAB; never CR, LF, NUL or other controls. */
        AW_ENSURE(b >= 0x20 || b == '\t', AW_E_FIELD_INVALID);
        AW_ENSURE(b != 0x7f, AW_E_FIELD_INVALID);
    }
    return AW_OK;
}

static aw_result absolute_authority(aw_span target, aw_span *authority)
{
    /* Only http and https targets (RFC 9110 Section 4.2). */
    size_t start;
    if (target.len > 7 && aw_span_eq_nocase((aw_span){target.ptr, 7}, AW_SPAN_LIT("http://"))) {
        start = 7;
    } else if (target.len > 8 &&
               aw_span_eq_nocase((aw_span){target.ptr, 8}, AW_SPAN_LIT("https://"))) {
        start = 8;
    } else {
        return AW_E_MALFORMED;
    }
    size_t end = start;
    while (end < target.len && target.ptr[end] != '/' && target.ptr[end] != '?') {
        end++;
    }
    AW_ENSURE(end > start, AW_E_MALFORMED);
    *authority = (aw_span){target.ptr + start, end - start};
    return AW_OK;
}

static aw_result parse_content_length(aw_span v, size_t *out)
{
    AW_ENSURE(v.len > 0 && v.len <= 15, AW_E_MALFORMED);
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        AW_ENSURE(v.ptr[i] >= '0' && v.ptr[i] <= '9', AW_E_MALFORMED);
        n = n * 10 + (size_t)(v.ptr[i] - '0');
    }
    *out = n;
    return AW_OK;
}

aw_result aw_http_parse(aw_span raw, aw_header *headers, size_t max_headers, aw_message *out)
{
    memset(out, 0, sizeof(*out));
    aw_cursor c;
    aw_cursor_init(&c, raw);
    aw_span line;
    AW_GUARD(next_line(&c, &line));
    AW_GUARD(parse_start_line(line, out));

    size_t n = 0;
    bool have_length = false;
    size_t content_length = 0;
    bool have_host = false;
    for (;;) {
        AW_GUARD(next_line(&c, &line));
        if (line.len == 0) {
            break;
        }
        AW_ENSURE(n < max_headers, AW_E_TOO_LARGE);
        aw_header *h = &headers[n++];
        AW_GUARD(parse_header_line(line, h));
        if (aw_span_eq_nocase(h->name, AW_SPAN_LIT("content-length"))) {
            size_t len;
            AW_GUARD(parse_content_length(h->value, &len));
            AW_ENSURE(!have_length || len == content_length, AW_E_MALFORMED);
            have_length = true;
            content_length = len;
        } else if (aw_span_eq_nocase(h->name, AW_SPAN_LIT("transfer-encoding"))) {
            return AW_E_MALFORMED;
        } else if (!out->is_response && aw_span_eq_nocase(h->name, AW_SPAN_LIT("host"))) {
            AW_ENSURE(!have_host, AW_E_MALFORMED);
            have_host = true;
            out->authority = h->value;
        }
    }
    out->headers = headers;
    out->n_headers = n;
    out->body = aw_cursor_rest(&c);
    AW_ENSURE(!have_length || content_length == out->body.len, AW_E_MALFORMED);

    bool asterisk = out->target.len == 1 && out->target.ptr[0] == '*';
    if (!out->is_response && asterisk) {
        /* asterisk-form is for OPTIONS only (RFC 9112 Section 3.2.4). */
        AW_ENSURE(aw_span_eq(out->method, AW_SPAN_LIT("OPTIONS")), AW_E_MALFORMED);
    }
    if (!out->is_response && out->target.len > 0 && out->target.ptr[0] != '/' && !asterisk) {
        /* absolute-form: RFC 9112 Section 3.2.2 lets the target's authority override Host.
         * A verifier and whatever routes the request afterwards could then disagree on the
         * authority, so both must be present and equal. */
        aw_span target_authority;
        AW_GUARD(absolute_authority(out->target, &target_authority));
        AW_ENSURE(have_host && aw_span_eq_nocase(target_authority, out->authority), AW_E_MALFORMED);
    }
    if (!out->is_response) {
        aw_span path;
        aw_span query;
        bool has_query;
        AW_GUARD(aw_message_target_parts(out, &path, &query, &has_query));
        AW_ENSURE(out->authority.len > 0, AW_E_MALFORMED);
    }
    return AW_OK;
}

size_t aw_message_count_field(const aw_message *m, aw_span name)
{
    size_t count = 0;
    for (size_t i = 0; i < m->n_headers; i++) {
        if (aw_span_eq_nocase(m->headers[i].name, name)) {
            count++;
        }
    }
    return count;
}

aw_result aw_message_field(const aw_message *m, aw_span name, aw_arena *arena, aw_span *value)
{
    size_t count = 0;
    size_t total = 0;
    const aw_header *first = NULL;
    for (size_t i = 0; i < m->n_headers; i++) {
        if (aw_span_eq_nocase(m->headers[i].name, name)) {
            if (count == 0) {
                first = &m->headers[i];
            }
            count++;
            total += m->headers[i].value.len + 2;
        }
    }
    AW_ENSURE(count > 0, AW_E_COMPONENT_MISSING);
    if (count == 1) {
        *value = first->value;
        return AW_OK;
    }
    uint8_t *buf = aw_arena_alloc(arena, total, 1);
    AW_ENSURE(buf != NULL, AW_E_BUFFER_TOO_SMALL);
    aw_writer w;
    aw_writer_init(&w, buf, total);
    bool first_line = true;
    for (size_t i = 0; i < m->n_headers; i++) {
        if (aw_span_eq_nocase(m->headers[i].name, name)) {
            if (!first_line) {
                aw_writer_cstr(&w, ", ");
            }
            aw_writer_span(&w, m->headers[i].value);
            first_line = false;
        }
    }
    AW_GUARD(aw_writer_result(&w));
    *value = aw_writer_span_of(&w);
    return AW_OK;
}

aw_result aw_message_target_parts(const aw_message *m, aw_span *path, aw_span *query,
                                  bool *has_query)
{
    aw_span t = m->target;
    AW_ENSURE(t.len > 0, AW_E_MALFORMED);
    if (t.len == 1 && t.ptr[0] == '*') {
        *path = (aw_span){NULL, 0};
        *query = (aw_span){NULL, 0};
        *has_query = false;
        return AW_OK;
    }
    size_t start = 0;
    if (t.ptr[0] != '/') {
        /* absolute-form: scheme "://" authority path-abempty [ "?" query ] */
        const uint8_t *sep = NULL;
        for (size_t i = 0; i + 2 < t.len; i++) {
            if (t.ptr[i] == ':' && t.ptr[i + 1] == '/' && t.ptr[i + 2] == '/') {
                sep = t.ptr + i;
                break;
            }
        }
        AW_ENSURE(sep != NULL, AW_E_MALFORMED);
        start = (size_t)(sep - t.ptr) + 3;
        while (start < t.len && t.ptr[start] != '/' && t.ptr[start] != '?') {
            start++;
        }
    }
    const uint8_t *mark = start < t.len ? memchr(t.ptr + start, '?', t.len - start) : NULL;
    size_t q = mark != NULL ? (size_t)(mark - t.ptr) : t.len;
    AW_ENSURE(!span_has_byte((aw_span){t.ptr + start, t.len - start}, '#'), AW_E_MALFORMED);
    *path = (aw_span){t.ptr + start, q - start};
    *has_query = q < t.len;
    *query = *has_query ? (aw_span){t.ptr + q + 1, t.len - q - 1} : (aw_span){NULL, 0};
    return AW_OK;
}
