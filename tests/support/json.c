/* A small recursive-descent JSON reader (RFC 8259) for test vectors. Tests only: it
 * mallocs freely and exits loudly on out-of-memory, because a test that cannot load its
 * vectors must not pass silently. */
#include "json.h"

#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Vector files nest a handful of levels; the bound only stops a runaway input. */
#define JSON_MAX_DEPTH 256

typedef struct json_parser {
    const char *text;
    size_t len;
    size_t pos;
    const char *error;
} json_parser;

static void *json_xmalloc(size_t size)
{
    void *p = malloc(size == 0 ? 1 : size);
    if (p == NULL) {
        fprintf(stderr, "FATAL: json: out of memory\n");
        exit(1);
    }
    return p;
}

static void *json_xrealloc(void *old, size_t size)
{
    void *p = realloc(old, size == 0 ? 1 : size);
    if (p == NULL) {
        fprintf(stderr, "FATAL: json: out of memory\n");
        exit(1);
    }
    return p;
}

static aw_json *json_new(aw_json_type type)
{
    aw_json *j = json_xmalloc(sizeof(*j));
    memset(j, 0, sizeof(*j));
    j->type = type;
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

static bool json_fail(json_parser *p, const char *why)
{
    if (p->error == NULL) {
        p->error = why;
    }
    return false;
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

/* A growable byte buffer for decoded strings. */
typedef struct json_buf {
    char *data;
    size_t len;
    size_t cap;
} json_buf;

static void json_buf_put(json_buf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->data = json_xrealloc(b->data, b->cap);
    }
    b->data[b->len++] = c;
}

static void json_buf_utf8(json_buf *b, uint32_t cp)
{
    if (cp < 0x80) {
        json_buf_put(b, (char)cp);
    } else if (cp < 0x800) {
        json_buf_put(b, (char)(0xc0 | (cp >> 6)));
        json_buf_put(b, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        json_buf_put(b, (char)(0xe0 | (cp >> 12)));
        json_buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        json_buf_put(b, (char)(0x80 | (cp & 0x3f)));
    } else {
        json_buf_put(b, (char)(0xf0 | (cp >> 18)));
        json_buf_put(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
        json_buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
        json_buf_put(b, (char)(0x80 | (cp & 0x3f)));
    }
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

/* Parses a string at p->pos (which must be at the opening quote) into a malloc'd,
 * NUL-terminated buffer; *out_len gets the decoded length. */
static bool json_string_raw(json_parser *p, char **out, size_t *out_len)
{
    json_buf b = {NULL, 0, 0};
    p->pos++; /* the opening quote */
    for (;;) {
        int c = json_peek(p);
        if (c < 0) {
            free(b.data);
            return json_fail(p, "unterminated string");
        }
        p->pos++;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            free(b.data);
            return json_fail(p, "control character in string");
        }
        if (c != '\\') {
            json_buf_put(&b, (char)c);
            continue;
        }
        int e = json_peek(p);
        if (e < 0) {
            free(b.data);
            return json_fail(p, "unterminated escape");
        }
        p->pos++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            json_buf_put(&b, (char)e);
            break;
        case 'b':
            json_buf_put(&b, '\b');
            break;
        case 'f':
            json_buf_put(&b, '\f');
            break;
        case 'n':
            json_buf_put(&b, '\n');
            break;
        case 'r':
            json_buf_put(&b, '\r');
            break;
        case 't':
            json_buf_put(&b, '\t');
            break;
        case 'u': {
            uint32_t cp;
            if (!json_hex4(p, &cp)) {
                free(b.data);
                return false;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* A high surrogate must be followed by an escaped low surrogate. */
                uint32_t lo;
                if (p->len - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u') {
                    free(b.data);
                    return json_fail(p, "lone high surrogate");
                }
                p->pos += 2;
                if (!json_hex4(p, &lo)) {
                    free(b.data);
                    return false;
                }
                if (lo < 0xdc00 || lo > 0xdfff) {
                    free(b.data);
                    return json_fail(p, "high surrogate without low surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                free(b.data);
                return json_fail(p, "lone low surrogate");
            }
            json_buf_utf8(&b, cp);
            break;
        }
        default:
            free(b.data);
            return json_fail(p, "bad escape");
        }
    }
    json_buf_put(&b, '\0');
    *out = b.data;
    *out_len = b.len - 1;
    return true;
}

static bool json_is_digit(int c)
{
    return c >= '0' && c <= '9';
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
        while (json_is_digit(json_peek(p))) {
            p->pos++;
        }
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
        while (json_is_digit(json_peek(p))) {
            p->pos++;
        }
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
        while (json_is_digit(json_peek(p))) {
            p->pos++;
        }
    }
    aw_json *j = json_new(AW_JSON_NUMBER);
    size_t n = p->pos - start;
    j->text = json_xmalloc(n + 1);
    memcpy(j->text, p->text + start, n);
    j->text[n] = '\0';
    j->text_len = n;
    j->number = strtod(j->text, NULL);
    return j;
}

static aw_json *json_value(json_parser *p, int depth);

static void json_append(aw_json *parent, char *key, aw_json *child)
{
    parent->items = json_xrealloc(parent->items, (parent->n + 1) * sizeof(*parent->items));
    parent->items[parent->n] = child;
    if (parent->type == AW_JSON_OBJECT) {
        parent->keys = json_xrealloc(parent->keys, (parent->n + 1) * sizeof(*parent->keys));
        parent->keys[parent->n] = key;
    }
    parent->n++;
}

static aw_json *json_container(json_parser *p, int depth, bool object)
{
    aw_json *j = json_new(object ? AW_JSON_OBJECT : AW_JSON_ARRAY);
    char close = object ? '}' : ']';
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
                aw_json_free(j);
                return NULL;
            }
            if (!json_string_raw(p, &key, &key_len)) {
                aw_json_free(j);
                return NULL;
            }
            json_skip_ws(p);
            if (json_peek(p) != ':') {
                free(key);
                json_fail(p, "expected ':'");
                aw_json_free(j);
                return NULL;
            }
            p->pos++;
        }
        aw_json *child = json_value(p, depth + 1);
        if (child == NULL) {
            free(key);
            aw_json_free(j);
            return NULL;
        }
        json_append(j, key, child);
        json_skip_ws(p);
        int c = json_peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == close) {
            p->pos++;
            return j;
        }
        json_fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        aw_json_free(j);
        return NULL;
    }
}

static aw_json *json_value(json_parser *p, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        json_fail(p, "nesting too deep");
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
        j = json_new(AW_JSON_STRING);
        if (!json_string_raw(p, &j->text, &j->text_len)) {
            free(j);
            return NULL;
        }
        return j;
    case 't':
    case 'f':
        if (!json_literal(p, c == 't' ? "true" : "false")) {
            return NULL;
        }
        j = json_new(AW_JSON_BOOL);
        j->boolean = c == 't';
        return j;
    case 'n':
        if (!json_literal(p, "null")) {
            return NULL;
        }
        return json_new(AW_JSON_NULL);
    default:
        if (c == '-' || json_is_digit(c)) {
            return json_number(p);
        }
        json_fail(p, "unexpected character");
        return NULL;
    }
}

aw_json *aw_json_parse(const char *text, size_t len)
{
    json_parser p = {text, len, 0, NULL};
    aw_json *root = json_value(&p, 0);
    if (root != NULL) {
        json_skip_ws(&p);
        if (p.pos != p.len) {
            json_fail(&p, "trailing data after the value");
            aw_json_free(root);
            root = NULL;
        }
    }
    if (root == NULL) {
        fprintf(stderr, "json: %s at byte %zu\n", p.error ? p.error : "syntax error", p.pos);
    }
    return root;
}

aw_json *aw_json_load_vector(const char *relative)
{
    const char *path = aw_test_vector_path(relative);
    size_t len;
    uint8_t *text = aw_test_read_file(path, &len);
    aw_json *root = aw_json_parse((const char *)text, len);
    free(text);
    if (root == NULL) {
        fprintf(stderr, "FATAL: %s is not valid JSON\n", path);
        exit(1);
    }
    return root;
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
    free(j->text);
    free(j);
}
