/* JSON reader (recursive descent, RFC 8259) and writer. See json.h for the policy. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"

/* ------------------------------------------------------------------------------------------ */
/* Reader */

typedef struct json_parser {
    const char *text;
    size_t len;
    size_t pos;
    const char *error;
    aw_result code;
} json_parser;

static bool json_fail_code(json_parser *p, aw_result code, const char *why)
{
    if (p->error == NULL) {
        p->error = why;
        p->code = code;
    }
    return false;
}

static bool json_fail(json_parser *p, const char *why)
{
    return json_fail_code(p, AW_E_MALFORMED, why);
}

static void *json_alloc(json_parser *p, size_t size)
{
    void *q = calloc(1, size == 0 ? 1 : size);
    if (q == NULL) {
        json_fail_code(p, AW_E_INTERNAL, "out of memory");
    }
    return q;
}

static aw_json *json_new(json_parser *p, aw_json_type type)
{
    aw_json *j = json_alloc(p, sizeof(*j));
    if (j != NULL) {
        j->type = type;
    }
    return j;
}

static int json_peek(const json_parser *p)
{
    return p->pos < p->len ? (unsigned char)p->text[p->pos] : -1;
}

static void json_skip_ws(json_parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        p->pos++;
    }
}

static bool json_literal(json_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
        return json_fail(p, "bad literal");
    }
    p->pos += n;
    return true;
}

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 when it is not one
 * (RFC 3629 Section 4: no overlongs, no surrogates, nothing above U+10FFFF). Shared by the
 * reader (which refuses bad UTF-8) and the writer (which replaces it). */
static size_t utf8_sequence(const uint8_t *s, size_t avail)
{
    uint8_t b = s[0];
    size_t n;
    uint32_t cp;
    uint32_t min;

    if (b < 0x80) {
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        cp = b & 0x1fu;
        min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        cp = b & 0x0fu;
        min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        cp = b & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static bool json_hex4(json_parser *p, uint32_t *out)
{
    if (p->len - p->pos < 4) {
        return json_fail(p, "truncated \\u escape");
    }
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        char c = p->text[p->pos + i];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (uint32_t)(c - 'A' + 10);
        } else {
            return json_fail(p, "bad hex digit in \\u escape");
        }
        v = v << 4 | d;
    }
    p->pos += 4;
    *out = v;
    return true;
}

/* One escape after the backslash; appends its UTF-8 to out. */
static bool json_escape(json_parser *p, char *out, size_t *n)
{
    static const char simple_in[] = "\"\\/bfnrt";
    static const char simple_out[] = "\"\\/\b\f\n\r\t";
    int e = json_peek(p);
    const char *hit;
    uint32_t cp;

    if (e < 0) {
        return json_fail(p, "unterminated escape");
    }
    p->pos++;
    if (e != 'u') {
        hit = e != 0 ? strchr(simple_in, e) : NULL;
        if (hit == NULL) {
            return json_fail(p, "bad escape");
        }
        out[(*n)++] = simple_out[hit - simple_in];
        return true;
    }
    if (!json_hex4(p, &cp)) {
        return false;
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        /* A high surrogate must be followed by an escaped low surrogate. */
        uint32_t lo;
        if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u') {
            return json_fail(p, "lone high surrogate");
        }
        p->pos += 2;
        if (!json_hex4(p, &lo)) {
            return false;
        }
        if (lo < 0xdc00 || lo > 0xdfff) {
            return json_fail(p, "high surrogate without low surrogate");
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return json_fail(p, "lone low surrogate");
    }
    *n += utf8_put(out + *n, cp);
    return true;
}

/* Parses the string at p->pos (the opening quote) into one allocation: no escape expands
 * (\uXXXX is 6 bytes for at most 3, a surrogate pair 12 for 4), so the raw length bounds the
 * decoded one and a secret is never copied by a growing buffer. */
static bool json_string_raw(json_parser *p, char **out, size_t *out_len)
{
    size_t start = ++p->pos; /* after the opening quote */
    size_t end = start;
    while (end < p->len && p->text[end] != '"') {
        end += p->text[end] == '\\' ? 2 : 1;
    }
    if (end >= p->len) {
        return json_fail(p, "unterminated string");
    }
    char *buf = json_alloc(p, end - start + 1);
    size_t n = 0;
    if (buf == NULL) {
        return false;
    }
    while (p->pos < end) {
        uint8_t c = (uint8_t)p->text[p->pos];
        if (c == '\\') {
            p->pos++;
            if (!json_escape(p, buf, &n)) {
                goto fail;
            }
            continue;
        }
        if (c < 0x20) {
            json_fail(p, "control character in string");
            goto fail;
        }
        size_t seq = utf8_sequence((const uint8_t *)p->text + p->pos, end - p->pos);
        if (seq == 0) {
            json_fail(p, "string is not valid UTF-8");
            goto fail;
        }
        memcpy(buf + n, p->text + p->pos, seq);
        n += seq;
        p->pos += seq;
    }
    p->pos = end + 1;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return true;

fail:
    aw_wipe(buf, end - start + 1);
    free(buf);
    return false;
}

static bool json_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static void json_digits(json_parser *p)
{
    while (json_is_digit(json_peek(p))) {
        p->pos++;
    }
}

static aw_json *json_number(json_parser *p)
{
    size_t start = p->pos;
    if (json_peek(p) == '-') {
        p->pos++;
    }
    if (json_peek(p) == '0') {
        p->pos++;
    } else if (json_is_digit(json_peek(p))) {
        json_digits(p);
    } else {
        json_fail(p, "bad number");
        return NULL;
    }
    if (json_peek(p) == '.') {
        p->pos++;
        if (!json_is_digit(json_peek(p))) {
            json_fail(p, "bad number fraction");
            return NULL;
        }
        json_digits(p);
    }
    if (json_peek(p) == 'e' || json_peek(p) == 'E') {
        p->pos++;
        if (json_peek(p) == '+' || json_peek(p) == '-') {
            p->pos++;
        }
        if (!json_is_digit(json_peek(p))) {
            json_fail(p, "bad number exponent");
            return NULL;
        }
        json_digits(p);
    }
    aw_json *j = json_new(p, AW_JSON_NUMBER);
    size_t n = p->pos - start;
    if (j == NULL || (j->text = json_alloc(p, n + 1)) == NULL) {
        free(j);
        return NULL;
    }
    memcpy(j->text, p->text + start, n);
    j->text[n] = '\0';
    j->text_len = n;
    j->number = strtod(j->text, NULL);
    return j;
}

static aw_json *json_value(json_parser *p, int depth);

/* Appends with capacity doubling; items and keys grow together. */
static bool json_append(json_parser *p, aw_json *parent, size_t *cap, char *key, aw_json *child)
{
    if (parent->n == *cap) {
        size_t grown = *cap == 0 ? 4 : *cap * 2;
        aw_json **items = realloc(parent->items, grown * sizeof(*items));
        if (items == NULL) {
            return json_fail_code(p, AW_E_INTERNAL, "out of memory");
        }
        parent->items = items;
        if (parent->type == AW_JSON_OBJECT) {
            char **keys = realloc(parent->keys, grown * sizeof(*keys));
            if (keys == NULL) {
                return json_fail_code(p, AW_E_INTERNAL, "out of memory");
            }
            parent->keys = keys;
        }
        *cap = grown;
    }
    parent->items[parent->n] = child;
    if (parent->type == AW_JSON_OBJECT) {
        parent->keys[parent->n] = key;
    }
    parent->n++;
    return true;
}

static int json_key_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A repeated member is refused: readers differ on which copy wins (RFC 8259 Section 4), so
 * a hidden first "keyid" could be what another program reads. Sorting a copy of the names
 * keeps this O(n log n) on hostile input. */
static bool json_unique_keys(json_parser *p, const aw_json *obj)
{
    bool ok = true;
    if (obj->n < 2) {
        return true;
    }
    char **sorted = json_alloc(p, obj->n * sizeof(*sorted));
    if (sorted == NULL) {
        return false;
    }
    memcpy(sorted, obj->keys, obj->n * sizeof(*sorted));
    qsort(sorted, obj->n, sizeof(*sorted), json_key_cmp);
    for (size_t i = 1; i < obj->n && ok; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            ok = json_fail(p, "repeated member name");
        }
    }
    free(sorted);
    return ok;
}

static aw_json *json_container(json_parser *p, int depth, bool object)
{
    aw_json *j = json_new(p, object ? AW_JSON_OBJECT : AW_JSON_ARRAY);
    size_t cap = 0;
    char close = object ? '}' : ']';
    if (j == NULL) {
        return NULL;
    }
    p->pos++; /* the opening bracket */
    json_skip_ws(p);
    if (json_peek(p) == close) {
        p->pos++;
        return j;
    }
    for (;;) {
        char *key = NULL;
        if (object) {
            size_t key_len;
            json_skip_ws(p);
            if (json_peek(p) != '"') {
                json_fail(p, "expected an object key");
                goto fail;
            }
            if (!json_string_raw(p, &key, &key_len)) {
                goto fail;
            }
            if (strlen(key) != key_len) {
                free(key);
                json_fail(p, "member name contains U+0000");
                goto fail;
            }
            json_skip_ws(p);
            if (json_peek(p) != ':') {
                free(key);
                json_fail(p, "expected ':'");
                goto fail;
            }
            p->pos++;
        }
        aw_json *child = json_value(p, depth + 1);
        if (child == NULL || !json_append(p, j, &cap, key, child)) {
            aw_json_free(child);
            free(key);
            goto fail;
        }
        json_skip_ws(p);
        int c = json_peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            if (object && !json_unique_keys(p, j)) {
                goto fail;
            }
            return j;
        }
        json_fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto fail;
    }

fail:
    aw_json_free(j);
    return NULL;
}

static aw_json *json_value(json_parser *p, int depth)
{
    if (depth >= AW_JSON_MAX_DEPTH) {
        json_fail_code(p, AW_E_TOO_LARGE, "nesting too deep");
        return NULL;
    }
    json_skip_ws(p);
    int c = json_peek(p);
    aw_json *j = NULL;
    switch (c) {
    case '{':
        return json_container(p, depth, true);
    case '[':
        return json_container(p, depth, false);
    case '"':
        j = json_new(p, AW_JSON_STRING);
        if (j == NULL || !json_string_raw(p, &j->text, &j->text_len)) {
            free(j);
            return NULL;
        }
        return j;
    case 't':
    case 'f':
        if (!json_literal(p, c == 't' ? "true" : "false")) {
            return NULL;
        }
        j = json_new(p, AW_JSON_BOOL);
        if (j != NULL) {
            j->boolean = c == 't';
        }
        return j;
    case 'n':
        if (!json_literal(p, "null")) {
            return NULL;
        }
        return json_new(p, AW_JSON_NULL);
    default:
        if (c == '-' || json_is_digit(c)) {
            return json_number(p);
        }
        json_fail(p, c < 0 ? "unexpected end of input" : "unexpected character");
        return NULL;
    }
}

aw_result aw_json_parse(const char *text, size_t len, aw_json **out, const char **why,
                        size_t *where)
{
    json_parser p = {text, len, 0, NULL, AW_OK};
    aw_json *root;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(text != NULL || len == 0, AW_E_INVALID_ARG);
    root = json_value(&p, 0);
    if (root != NULL) {
        json_skip_ws(&p);
        if (p.pos != p.len) {
            json_fail(&p, "trailing data after the value");
            aw_json_free(root);
            root = NULL;
        }
    }
    if (root == NULL) {
        if (why != NULL) {
            *why = p.error != NULL ? p.error : "syntax error";
        }
        if (where != NULL) {
            *where = p.pos;
        }
        return p.code != AW_OK ? p.code : AW_E_MALFORMED;
    }
    *out = root;
    return AW_OK;
}

const aw_json *aw_json_get(const aw_json *obj, const char *key)
{
    if (obj == NULL || obj->type != AW_JSON_OBJECT) {
        return NULL;
    }
    for (size_t i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            return obj->items[i];
        }
    }
    return NULL;
}

const char *aw_json_get_string(const aw_json *obj, const char *key)
{
    const aw_json *j = aw_json_get(obj, key);
    return (j != NULL && j->type == AW_JSON_STRING) ? j->text : NULL;
}

void aw_json_free(aw_json *j)
{
    if (j == NULL) {
        return;
    }
    for (size_t i = 0; i < j->n; i++) {
        aw_json_free(j->items[i]);
        if (j->keys != NULL) {
            free(j->keys[i]);
        }
    }
    free(j->items);
    free(j->keys);
    if (j->text != NULL) {
        aw_wipe(j->text, j->text_len);
        free(j->text);
    }
    free(j);
}

/* ------------------------------------------------------------------------------------------ */
/* Writer */

void aw_json_writer_init(aw_json_writer *jw, aw_writer *out, bool pretty)
{
    memset(jw, 0, sizeof(*jw));
    jw->out = out;
    jw->pretty = pretty;
}

static void jw_newline(aw_json_writer *jw)
{
    if (jw->pretty) {
        aw_writer_byte(jw->out, '\n');
        for (unsigned i = 0; i < jw->depth; i++) {
            aw_writer_bytes(jw->out, "  ", 2);
        }
    }
}

/* Before any value: checks the shape and writes the separator. */
static bool jw_value_start(aw_json_writer *jw)
{
    if (jw->misuse) {
        return false;
    }
    if (jw->depth == 0) {
        /* One top-level value only. */
        if (jw->done) {
            jw->misuse = true;
            return false;
        }
        return true;
    }
    if (jw->open[jw->depth - 1] == '{') {
        if (!jw->have_key) {
            jw->misuse = true;
            return false;
        }
        jw->have_key = false;
        return true;
    }
    if (jw->filled[jw->depth - 1]) {
        aw_writer_byte(jw->out, ',');
    }
    jw->filled[jw->depth - 1] = true;
    jw_newline(jw);
    return true;
}

/* After a scalar or a closed container at the top level: the document is complete. */
static void jw_value_end(aw_json_writer *jw)
{
    if (jw->depth == 0) {
        jw->done = true;
    }
}

static void jw_begin(aw_json_writer *jw, char open)
{
    if (!jw_value_start(jw)) {
        return;
    }
    if (jw->depth == AW_JSON_WRITER_DEPTH) {
        jw->misuse = true;
        return;
    }
    aw_writer_byte(jw->out, (uint8_t)open);
    jw->open[jw->depth] = open;
    jw->filled[jw->depth] = false;
    jw->depth++;
}

static void jw_end(aw_json_writer *jw, char open)
{
    if (jw->misuse) {
        return;
    }
    if (jw->depth == 0 || jw->open[jw->depth - 1] != open || jw->have_key) {
        jw->misuse = true;
        return;
    }
    bool filled = jw->filled[jw->depth - 1];
    jw->depth--;
    if (filled) {
        jw_newline(jw);
    }
    aw_writer_byte(jw->out, open == '{' ? '}' : ']');
    jw_value_end(jw);
}

void aw_json_begin_object(aw_json_writer *jw)
{
    jw_begin(jw, '{');
}

void aw_json_end_object(aw_json_writer *jw)
{
    jw_end(jw, '{');
}

void aw_json_begin_array(aw_json_writer *jw)
{
    jw_begin(jw, '[');
}

void aw_json_end_array(aw_json_writer *jw)
{
    jw_end(jw, '[');
}

static void jw_escaped(aw_json_writer *jw, const uint8_t *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    aw_writer_byte(jw->out, '"');
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        /* Runs of bytes that need nothing are copied at once. */
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') {
            run++;
        }
        if (run > i) {
            aw_writer_bytes(jw->out, s + i, run - i);
            i = run;
            continue;
        }
        if (c == '"' || c == '\\') {
            aw_writer_byte(jw->out, '\\');
            aw_writer_byte(jw->out, c);
            i++;
        } else if (c < 0x20) {
            const char *named = c == '\n'   ? "\\n"
                                : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t"
                                : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f"
                                            : NULL;
            if (named != NULL) {
                aw_writer_cstr(jw->out, named);
            } else {
                uint8_t u[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
                aw_writer_bytes(jw->out, u, sizeof(u));
            }
            i++;
        } else {
            size_t seq = utf8_sequence(s + i, len - i);
            if (seq == 0) {
                aw_writer_cstr(jw->out, "\\ufffd");
                i++;
            } else {
                aw_writer_bytes(jw->out, s + i, seq);
                i += seq;
            }
        }
    }
    aw_writer_byte(jw->out, '"');
}

void aw_json_key(aw_json_writer *jw, const char *key)
{
    if (jw->misuse) {
        return;
    }
    if (key == NULL || jw->depth == 0 || jw->open[jw->depth - 1] != '{' || jw->have_key) {
        jw->misuse = true;
        return;
    }
    if (jw->filled[jw->depth - 1]) {
        aw_writer_byte(jw->out, ',');
    }
    jw->filled[jw->depth - 1] = true;
    jw_newline(jw);
    jw_escaped(jw, (const uint8_t *)key, strlen(key));
    aw_writer_cstr(jw->out, jw->pretty ? ": " : ":");
    jw->have_key = true;
}

void aw_json_string_n(aw_json_writer *jw, const uint8_t *s, size_t len)
{
    if (s == NULL && len > 0) {
        jw->misuse = true;
        return;
    }
    if (!jw_value_start(jw)) {
        return;
    }
    jw_escaped(jw, s, len);
    jw_value_end(jw);
}

void aw_json_string(aw_json_writer *jw, const char *s)
{
    if (s == NULL) {
        aw_json_null(jw);
        return;
    }
    aw_json_string_n(jw, (const uint8_t *)s, strlen(s));
}

void aw_json_int(aw_json_writer *jw, int64_t v)
{
    if (!jw_value_start(jw)) {
        return;
    }
    aw_writer_i64(jw->out, v);
    jw_value_end(jw);
}

void aw_json_uint(aw_json_writer *jw, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    if (!jw_value_start(jw)) {
        return;
    }
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) {
        aw_writer_byte(jw->out, (uint8_t)digits[--n]);
    }
    jw_value_end(jw);
}

static void jw_literal(aw_json_writer *jw, const char *word)
{
    if (!jw_value_start(jw)) {
        return;
    }
    aw_writer_cstr(jw->out, word);
    jw_value_end(jw);
}

void aw_json_bool(aw_json_writer *jw, bool v)
{
    jw_literal(jw, v ? "true" : "false");
}

void aw_json_null(aw_json_writer *jw)
{
    jw_literal(jw, "null");
}

aw_result aw_json_writer_result(const aw_json_writer *jw)
{
    if (jw->misuse || !jw->done) {
        return AW_E_INVALID_ARG;
    }
    return aw_writer_result(jw->out);
}
