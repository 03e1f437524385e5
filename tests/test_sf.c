/* RFC 8941 structured fields: every case of the httpwg structured-field-tests vectors
 * (parsing, canonical serialisation, serialise-only cases), then the bad-input bar: huge
 * inputs against small arenas, every arena size, integer limits, non-ASCII bytes, duplicate
 * keys (both the linear and the sorted path) and the lookup helpers.
 *
 * Every parser input is copied into a malloc'd buffer of exactly its length, so that ASan
 * catches a read one byte past the end. */
#include "authwire/sf.h"

#include "check.h"
#include "json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_SIZE (4u << 20)

static uint8_t *g_arena_buf;

/* ---- small helpers ---- */

typedef struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} buf;

static void buf_put(buf *b, const void *data, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len) {
            cap *= 2;
        }
        b->data = realloc(b->data, cap);
        if (b->data == NULL) {
            fprintf(stderr, "FATAL: out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
}

static void buf_str(buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

/* An exact-size heap copy, so that ASan sees any over-read. */
static uint8_t *exact_copy(const void *data, size_t len)
{
    uint8_t *p = malloc(len == 0 ? 1 : len);
    if (p == NULL) {
        fprintf(stderr, "FATAL: out of memory\n");
        exit(1);
    }
    if (len > 0) {
        memcpy(p, data, len);
    }
    return p;
}

/* Joins an array of JSON strings with ", ": RFC 9110 Section 5.3 field line combination. */
static void join_lines(const aw_json *lines, buf *out)
{
    out->len = 0;
    for (size_t i = 0; lines != NULL && i < lines->n; i++) {
        if (i > 0) {
            buf_str(out, ", ");
        }
        buf_put(out, lines->items[i]->text, lines->items[i]->text_len);
    }
}

static int base32_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

/* RFC 4648 Section 6 base32, as the vectors write binary values. */
static bool base32_decode(const char *in, buf *out)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    out->len = 0;
    for (const char *p = in; *p != '\0' && *p != '='; p++) {
        int v = base32_value(*p);
        if (v < 0) {
            return false;
        }
        acc = (acc << 5 | (uint32_t)v) & 0xffff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            uint8_t byte = (uint8_t)(acc >> bits);
            buf_put(out, &byte, 1);
        }
    }
    return true;
}

static bool json_is_decimal(const aw_json *j)
{
    return strpbrk(j->text, ".eE") != NULL;
}

/* The exact value of a JSON decimal literal in thousandths, rounded half to even as RFC 8941
 * Section 4.1.5 asks. Working from the literal text (not the double) matters: 0.0015 is
 * below one and a half thousandths as a double, yet must round to 0.002. */
static bool decimal_literal_to_thousandths(const char *text, int64_t *out)
{
    const char *p = text;
    bool negative = *p == '-';
    if (negative) {
        p++;
    }
    int64_t int_part = 0;
    size_t int_digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (int_digits < 16) {
            int_part = int_part * 10 + (*p - '0');
        }
        int_digits++;
        p++;
    }
    int64_t frac = 0;
    size_t frac_digits = 0;
    bool round_up = false;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && frac_digits < 3) {
            frac = frac * 10 + (*p - '0');
            frac_digits++;
            p++;
        }
        for (; frac_digits < 3; frac_digits++) {
            frac *= 10;
        }
        if (*p >= '0' && *p <= '9') {
            int first = *p - '0';
            bool rest_nonzero = false;
            for (p++; *p >= '0' && *p <= '9'; p++) {
                rest_nonzero = rest_nonzero || *p != '0';
            }
            int64_t low = (int_part * 1000 + frac) % 10;
            round_up = first > 5 || (first == 5 && (rest_nonzero || low % 2 == 1));
        }
    }
    if (*p != '\0' || int_digits == 0 || int_digits > 16) {
        return false; /* exponents do not occur in the vectors; refuse rather than guess */
    }
    int64_t v = int_part * 1000 + frac + (round_up ? 1 : 0);
    *out = negative ? -v : v;
    return true;
}

/* ---- comparing a parse with the JSON `expected` ---- */

static bool same_bytes(aw_span s, const void *data, size_t len)
{
    return s.len == len && (len == 0 || memcmp(s.ptr, data, len) == 0);
}

static bool match_value(const aw_json *e, const aw_sf_value *v)
{
    switch (e->type) {
    case AW_JSON_NUMBER: {
        if (json_is_decimal(e)) {
            int64_t t;
            return decimal_literal_to_thousandths(e->text, &t) && v->type == AW_SF_DECIMAL &&
                   v->integer == t;
        }
        return v->type == AW_SF_INTEGER && v->integer == strtoll(e->text, NULL, 10);
    }
    case AW_JSON_STRING:
        return v->type == AW_SF_STRING && same_bytes(v->str, e->text, e->text_len);
    case AW_JSON_BOOL:
        return v->type == AW_SF_BOOLEAN && v->integer == (e->boolean ? 1 : 0);
    case AW_JSON_OBJECT: {
        const char *type = aw_json_get_string(e, "__type");
        const aw_json *value = aw_json_get(e, "value");
        if (type == NULL || value == NULL) {
            return false;
        }
        if (strcmp(type, "token") == 0) {
            return value->type == AW_JSON_STRING && v->type == AW_SF_TOKEN &&
                   same_bytes(v->str, value->text, value->text_len);
        }
        if (strcmp(type, "binary") == 0) {
            buf b = {NULL, 0, 0};
            bool ok = value->type == AW_JSON_STRING && base32_decode(value->text, &b) &&
                      v->type == AW_SF_BYTES && same_bytes(v->str, b.data, b.len);
            free(b.data);
            return ok;
        }
        /* date and displaystring (RFC 9651) have no RFC 8941 counterpart. */
        return false;
    }
    case AW_JSON_NULL:
    case AW_JSON_ARRAY:
        return false;
    default:
        return false;
    }
}

static bool match_params(const aw_json *e, const aw_sf_param *params, size_t n)
{
    if (e == NULL || e->type != AW_JSON_ARRAY || e->n != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const aw_json *pair = e->items[i];
        if (pair->type != AW_JSON_ARRAY || pair->n != 2 || pair->items[0]->type != AW_JSON_STRING) {
            return false;
        }
        if (!same_bytes(params[i].key, pair->items[0]->text, pair->items[0]->text_len) ||
            !match_value(pair->items[1], &params[i].value)) {
            return false;
        }
    }
    return true;
}

static bool match_item(const aw_json *e, const aw_sf_item *item)
{
    if (e->type != AW_JSON_ARRAY || e->n != 2 || item->value.type == AW_SF_INNER_LIST) {
        return false;
    }
    return match_value(e->items[0], &item->value) &&
           match_params(e->items[1], item->params, item->n_params);
}

/* An item, or an inner list: [[items...], params]. */
static bool match_member(const aw_json *e, const aw_sf_member *m)
{
    if (e->type != AW_JSON_ARRAY || e->n != 2) {
        return false;
    }
    if (e->items[0]->type != AW_JSON_ARRAY) {
        return match_item(e, &m->item);
    }
    const aw_json *items = e->items[0];
    if (m->item.value.type != AW_SF_INNER_LIST || m->n_inner != items->n) {
        return false;
    }
    for (size_t i = 0; i < items->n; i++) {
        if (!match_item(items->items[i], &m->inner[i])) {
            return false;
        }
    }
    return match_params(e->items[1], m->item.params, m->item.n_params);
}

static bool match_list(const aw_json *e, const aw_sf_member *members, size_t n)
{
    if (e->type != AW_JSON_ARRAY || e->n != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!match_member(e->items[i], &members[i])) {
            return false;
        }
    }
    return true;
}

static bool match_dict(const aw_json *e, const aw_sf_member *members, size_t n)
{
    if (e->type != AW_JSON_ARRAY || e->n != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const aw_json *pair = e->items[i];
        if (pair->type != AW_JSON_ARRAY || pair->n != 2 || pair->items[0]->type != AW_JSON_STRING ||
            !same_bytes(members[i].key, pair->items[0]->text, pair->items[0]->text_len) ||
            !match_member(pair->items[1], &members[i])) {
            return false;
        }
    }
    return true;
}

/* ---- building aw_sf values from the JSON `expected` (for serialisation) ---- */

static bool build_value(const aw_json *e, aw_arena *a, aw_sf_value *v)
{
    *v = (aw_sf_value){.type = AW_SF_INTEGER};
    switch (e->type) {
    case AW_JSON_NUMBER:
        if (json_is_decimal(e)) {
            v->type = AW_SF_DECIMAL;
            return decimal_literal_to_thousandths(e->text, &v->integer);
        }
        v->integer = strtoll(e->text, NULL, 10);
        return true;
    case AW_JSON_STRING:
        v->type = AW_SF_STRING;
        v->str = (aw_span){(const uint8_t *)e->text, e->text_len};
        return true;
    case AW_JSON_BOOL:
        v->type = AW_SF_BOOLEAN;
        v->integer = e->boolean ? 1 : 0;
        return true;
    case AW_JSON_OBJECT: {
        const char *type = aw_json_get_string(e, "__type");
        const aw_json *value = aw_json_get(e, "value");
        if (type == NULL || value == NULL || value->type != AW_JSON_STRING) {
            return false;
        }
        if (strcmp(type, "token") == 0) {
            v->type = AW_SF_TOKEN;
            v->str = (aw_span){(const uint8_t *)value->text, value->text_len};
            return true;
        }
        if (strcmp(type, "binary") == 0) {
            buf b = {NULL, 0, 0};
            bool ok = base32_decode(value->text, &b) &&
                      aw_arena_dup(a, (aw_span){b.data, b.len}, &v->str) == AW_OK;
            free(b.data);
            v->type = AW_SF_BYTES;
            return ok;
        }
        return false;
    }
    case AW_JSON_NULL:
    case AW_JSON_ARRAY:
        return false;
    default:
        return false;
    }
}

static bool build_params(const aw_json *e, aw_arena *a, const aw_sf_param **out, size_t *n)
{
    if (e == NULL || e->type != AW_JSON_ARRAY) {
        return false;
    }
    aw_sf_param *params = aw_arena_alloc(a, (e->n + 1) * sizeof(*params), _Alignof(aw_sf_param));
    if (params == NULL) {
        return false;
    }
    for (size_t i = 0; i < e->n; i++) {
        const aw_json *pair = e->items[i];
        if (pair->type != AW_JSON_ARRAY || pair->n != 2 || pair->items[0]->type != AW_JSON_STRING) {
            return false;
        }
        params[i].key = (aw_span){(const uint8_t *)pair->items[0]->text, pair->items[0]->text_len};
        if (!build_value(pair->items[1], a, &params[i].value)) {
            return false;
        }
    }
    *out = params;
    *n = e->n;
    return true;
}

static bool build_item(const aw_json *e, aw_arena *a, aw_sf_item *item)
{
    return e->type == AW_JSON_ARRAY && e->n == 2 && build_value(e->items[0], a, &item->value) &&
           build_params(e->items[1], a, &item->params, &item->n_params);
}

static bool build_member(const aw_json *e, aw_arena *a, aw_sf_member *m)
{
    *m = (aw_sf_member){.inner = NULL};
    if (e->type != AW_JSON_ARRAY || e->n != 2) {
        return false;
    }
    if (e->items[0]->type != AW_JSON_ARRAY) {
        return build_item(e, a, &m->item);
    }
    const aw_json *items = e->items[0];
    aw_sf_item *inner = aw_arena_alloc(a, (items->n + 1) * sizeof(*inner), _Alignof(aw_sf_item));
    if (inner == NULL) {
        return false;
    }
    for (size_t i = 0; i < items->n; i++) {
        if (!build_item(items->items[i], a, &inner[i])) {
            return false;
        }
    }
    m->item.value = (aw_sf_value){.type = AW_SF_INNER_LIST};
    m->inner = inner;
    m->n_inner = items->n;
    return build_params(e->items[1], a, &m->item.params, &m->item.n_params);
}

/* Builds a list or dictionary (keys set) from `expected`. */
static bool build_members(const aw_json *e, bool dict, aw_arena *a, aw_sf_member **out, size_t *n)
{
    if (e->type != AW_JSON_ARRAY) {
        return false;
    }
    aw_sf_member *members =
        aw_arena_alloc(a, (e->n + 1) * sizeof(*members), _Alignof(aw_sf_member));
    if (members == NULL) {
        return false;
    }
    for (size_t i = 0; i < e->n; i++) {
        const aw_json *m = e->items[i];
        if (!dict) {
            if (!build_member(m, a, &members[i])) {
                return false;
            }
            continue;
        }
        if (m->type != AW_JSON_ARRAY || m->n != 2 || m->items[0]->type != AW_JSON_STRING ||
            !build_member(m->items[1], a, &members[i])) {
            return false;
        }
        members[i].key = (aw_span){(const uint8_t *)m->items[0]->text, m->items[0]->text_len};
    }
    *out = members;
    *n = e->n;
    return true;
}

/* Serialises `expected` as header_type; *built says whether the JSON could be represented. */
static aw_result serialize_expected(const char *header_type, const aw_json *expected, aw_writer *w,
                                    bool *built)
{
    aw_arena a;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    *built = false;
    if (strcmp(header_type, "item") == 0) {
        aw_sf_item item;
        if (!build_item(expected, &a, &item)) {
            return AW_E_INVALID_ARG;
        }
        *built = true;
        return aw_sf_serialize_item(&item, w);
    }
    bool dict = strcmp(header_type, "dictionary") == 0;
    aw_sf_member *members;
    size_t n;
    if (!build_members(expected, dict, &a, &members, &n)) {
        return AW_E_INVALID_ARG;
    }
    *built = true;
    return dict ? aw_sf_serialize_dict(members, n, w) : aw_sf_serialize_list(members, n, w);
}

/* ---- running one parse case ---- */

typedef struct parse_outcome {
    aw_result result;
    bool matched;   /* the parse equals `expected` */
    aw_result ser;  /* serialising the parse */
    buf serialised; /* its bytes */
} parse_outcome;

static void parse_as(const char *header_type, aw_span input, const aw_json *expected,
                     parse_outcome *o)
{
    static uint8_t out_buf[1 << 20];
    aw_arena a;
    aw_writer w;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    aw_writer_init(&w, out_buf, sizeof(out_buf));
    o->matched = false;
    o->ser = AW_E_INTERNAL;
    o->serialised.len = 0;
    if (strcmp(header_type, "item") == 0) {
        aw_sf_item item;
        o->result = aw_sf_parse_item(input, &a, &item);
        if (o->result == AW_OK) {
            o->matched = expected != NULL && match_item(expected, &item);
            o->ser = aw_sf_serialize_item(&item, &w);
        }
    } else if (strcmp(header_type, "list") == 0) {
        const aw_sf_member *m;
        size_t n;
        o->result = aw_sf_parse_list(input, &a, &m, &n);
        if (o->result == AW_OK) {
            o->matched = expected != NULL && match_list(expected, m, n);
            o->ser = aw_sf_serialize_list(m, n, &w);
        }
    } else {
        const aw_sf_member *m;
        size_t n;
        o->result = aw_sf_parse_dict(input, 0, &a, &m, &n);
        if (o->result == AW_OK) {
            o->matched = expected != NULL && match_dict(expected, m, n);
            o->ser = aw_sf_serialize_dict(m, n, &w);
        }
    }
    if (o->ser == AW_OK) {
        buf_put(&o->serialised, w.buf, w.len);
    }
}

typedef struct counts {
    unsigned cases;
    unsigned passed;       /* parsed, equal to expected */
    unsigned rejected;     /* must_fail, and did fail */
    unsigned serialised;   /* serialisation equal to canonical */
    unsigned can_fail;     /* can_fail cases we reject (allowed) */
    unsigned rfc9651;      /* RFC 9651-only cases, all rejected */
    unsigned ser_rejected; /* serialise-only must_fail cases refused */
} counts;

static counts g_total;

static void add_counts(const counts *c)
{
    g_total.cases += c->cases;
    g_total.passed += c->passed;
    g_total.rejected += c->rejected;
    g_total.serialised += c->serialised;
    g_total.can_fail += c->can_fail;
    g_total.rfc9651 += c->rfc9651;
    g_total.ser_rejected += c->ser_rejected;
}

/* Every prefix of a valid input must parse or fail cleanly: a cheap hunt for over-reads. */
static void parse_prefixes(const char *header_type, aw_span input)
{
    parse_outcome o = {.serialised = {NULL, 0, 0}};
    size_t step = input.len > 512 ? input.len / 256 : 1;
    for (size_t len = 0; len < input.len; len += step) {
        uint8_t *copy = exact_copy(input.ptr, len);
        parse_as(header_type, (aw_span){copy, len}, NULL, &o);
        CHECK_MSG(o.result == AW_OK || o.result == AW_E_SF_SYNTAX, "prefix %zu: %s", len,
                  aw_result_name(o.result));
        free(copy);
    }
    free(o.serialised.data);
}

static void run_parse_file(const char *file, bool rfc9651_only)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "structured-field-tests/%s", file);
    aw_json *root = aw_json_load_vector(rel);
    CHECK_MSG(root->type == AW_JSON_ARRAY && root->n > 0, "%s: no cases", file);
    counts c = {0};
    buf input = {NULL, 0, 0};
    buf want = {NULL, 0, 0};
    parse_outcome o = {.serialised = {NULL, 0, 0}};
    for (size_t i = 0; i < root->n; i++) {
        const aw_json *tc = root->items[i];
        const char *name = aw_json_get_string(tc, "name");
        const char *header_type = aw_json_get_string(tc, "header_type");
        const aw_json *raw = aw_json_get(tc, "raw");
        const aw_json *must_fail = aw_json_get(tc, "must_fail");
        const aw_json *can_fail = aw_json_get(tc, "can_fail");
        const aw_json *expected = aw_json_get(tc, "expected");
        const aw_json *canonical = aw_json_get(tc, "canonical");
        bool must = must_fail != NULL && must_fail->boolean;
        bool can = can_fail != NULL && can_fail->boolean;
        c.cases++;
        if (name == NULL || header_type == NULL || raw == NULL || raw->type != AW_JSON_ARRAY) {
            CHECK_MSG(false, "%s case %zu: malformed test case", file, i);
            continue;
        }
        join_lines(raw, &input);
        uint8_t *copy = exact_copy(input.data, input.len);
        aw_span in = {copy, input.len};
        parse_as(header_type, in, expected, &o);

        if (rfc9651_only) {
            /* Dates and Display Strings are RFC 9651 additions: "@" and "%" start no RFC 8941
             * bare item (Section 4.2.3.1), so an RFC 8941 parser must refuse all of them. */
            CHECK_MSG(o.result == AW_E_SF_SYNTAX, "%s: \"%s\" (RFC 9651 only) gave %s", file, name,
                      aw_result_name(o.result));
            if (o.result == AW_E_SF_SYNTAX) {
                c.rfc9651++;
            }
            free(copy);
            continue;
        }
        if (must) {
            CHECK_MSG(o.result == AW_E_SF_SYNTAX, "%s: \"%s\" must fail, got %s", file, name,
                      aw_result_name(o.result));
            if (o.result == AW_E_SF_SYNTAX) {
                c.rejected++;
            }
            free(copy);
            continue;
        }
        if (o.result != AW_OK && can) {
            CHECK_MSG(o.result == AW_E_SF_SYNTAX, "%s: \"%s\" failed with %s", file, name,
                      aw_result_name(o.result));
            c.can_fail++;
            free(copy);
            continue;
        }
        CHECK_MSG(o.result == AW_OK, "%s: \"%s\" did not parse: %s", file, name,
                  aw_result_name(o.result));
        if (o.result != AW_OK) {
            free(copy);
            continue;
        }
        CHECK_MSG(o.matched, "%s: \"%s\" parsed to something other than expected", file, name);
        if (o.matched) {
            c.passed++;
        }
        /* The canonical form: `canonical` when given, else the (combined) raw value. */
        if (canonical != NULL) {
            join_lines(canonical, &want);
        } else {
            want.len = 0;
            buf_put(&want, input.data, input.len);
        }
        bool same = o.ser == AW_OK && o.serialised.len == want.len &&
                    (want.len == 0 || memcmp(o.serialised.data, want.data, want.len) == 0);
        CHECK_MSG(same, "%s: \"%s\" serialised as \"%.*s\" (%s), want \"%.*s\"", file, name,
                  (int)o.serialised.len, o.serialised.data ? (char *)o.serialised.data : "",
                  aw_result_name(o.ser), (int)want.len, want.data ? (char *)want.data : "");
        if (same) {
            c.serialised++;
        }
        /* The JSON `expected` must serialise to the same canonical form. */
        static uint8_t out_buf[1 << 20];
        aw_writer w;
        bool built;
        aw_writer_init(&w, out_buf, sizeof(out_buf));
        aw_result r = serialize_expected(header_type, expected, &w, &built);
        CHECK_MSG(built && r == AW_OK && same_bytes(aw_writer_span_of(&w), want.data, want.len),
                  "%s: \"%s\": serialising `expected` gave %s \"%.*s\"", file, name,
                  aw_result_name(r), (int)w.len, (const char *)w.buf);
        parse_prefixes(header_type, in);
        free(copy);
    }
    printf("  %-28s %4u cases: %4u passed, %4u must_fail rejected, %4u serialisations matched",
           file, c.cases, c.passed, c.rejected, c.serialised);
    if (c.can_fail > 0) {
        printf(", %u can_fail rejected", c.can_fail);
    }
    if (rfc9651_only) {
        printf(", %u RFC 9651-only cases rejected (not applicable to RFC 8941)", c.rfc9651);
    }
    printf("\n");
    add_counts(&c);
    free(input.data);
    free(want.data);
    free(o.serialised.data);
    aw_json_free(root);
}

static void run_serialisation_file(const char *file)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "structured-field-tests/serialisation-tests/%s", file);
    aw_json *root = aw_json_load_vector(rel);
    CHECK_MSG(root->type == AW_JSON_ARRAY && root->n > 0, "%s: no cases", file);
    counts c = {0};
    buf want = {NULL, 0, 0};
    static uint8_t out_buf[1 << 16];
    for (size_t i = 0; i < root->n; i++) {
        const aw_json *tc = root->items[i];
        const char *name = aw_json_get_string(tc, "name");
        const char *header_type = aw_json_get_string(tc, "header_type");
        const aw_json *must_fail = aw_json_get(tc, "must_fail");
        const aw_json *expected = aw_json_get(tc, "expected");
        const aw_json *canonical = aw_json_get(tc, "canonical");
        bool must = must_fail != NULL && must_fail->boolean;
        c.cases++;
        if (name == NULL || header_type == NULL || expected == NULL) {
            CHECK_MSG(false, "%s case %zu: malformed test case", file, i);
            continue;
        }
        aw_writer w;
        bool built;
        aw_writer_init(&w, out_buf, sizeof(out_buf));
        aw_result r = serialize_expected(header_type, expected, &w, &built);
        CHECK_MSG(built, "%s: \"%s\": cannot represent `expected`", file, name);
        if (must) {
            CHECK_MSG(r == AW_E_SF_SYNTAX, "%s: \"%s\" must not serialise, got %s \"%.*s\"", file,
                      name, aw_result_name(r), (int)w.len, (const char *)w.buf);
            if (r == AW_E_SF_SYNTAX) {
                c.ser_rejected++;
            }
            continue;
        }
        join_lines(canonical, &want);
        bool same = r == AW_OK && same_bytes(aw_writer_span_of(&w), want.data, want.len);
        CHECK_MSG(same, "%s: \"%s\" serialised as %s \"%.*s\", want \"%.*s\"", file, name,
                  aw_result_name(r), (int)w.len, (const char *)w.buf, (int)want.len,
                  want.data ? (char *)want.data : "");
        if (same) {
            c.serialised++;
        }
    }
    printf("  serialisation-tests/%-20s %4u cases: %4u serialisations matched, %4u must_fail "
           "refused\n",
           file, c.cases, c.serialised, c.ser_rejected);
    add_counts(&c);
    free(want.data);
    aw_json_free(root);
}

static void test_vectors(void)
{
    static const char *const files[] = {
        "item.json",
        "list.json",
        "dictionary.json",
        "listlist.json",
        "param-dict.json",
        "param-list.json",
        "param-listlist.json",
        "number.json",
        "number-generated.json",
        "string.json",
        "string-generated.json",
        "token.json",
        "token-generated.json",
        "key-generated.json",
        "large-generated.json",
        "binary.json",
        "boolean.json",
        "examples.json",
    };
    static const char *const rfc9651_files[] = {"date.json", "display-string.json"};
    static const char *const serialisation_files[] = {
        "key-generated.json", "number.json", "string-generated.json", "token-generated.json"};
    printf("structured-field-tests:\n");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        run_parse_file(files[i], false);
    }
    for (size_t i = 0; i < sizeof(rfc9651_files) / sizeof(rfc9651_files[0]); i++) {
        run_parse_file(rfc9651_files[i], true);
    }
    for (size_t i = 0; i < sizeof(serialisation_files) / sizeof(serialisation_files[0]); i++) {
        run_serialisation_file(serialisation_files[i]);
    }
    printf("totals: %u cases; %u passed, %u must_fail rejected, %u serialisations matched "
           "(%u can_fail cases rejected, %u serialise-only must_fail refused, %u RFC 9651-only "
           "cases not applicable and rejected)\n",
           g_total.cases, g_total.passed, g_total.rejected, g_total.serialised, g_total.can_fail,
           g_total.ser_rejected, g_total.rfc9651);
}

/* ---- the bad-input bar ---- */

static aw_result parse_list_cstr(const char *s, aw_arena *a, const aw_sf_member **m, size_t *n)
{
    size_t len = strlen(s);
    uint8_t *copy = exact_copy(s, len);
    aw_result r = aw_sf_parse_list((aw_span){copy, len}, a, m, n);
    free(copy); /* results borrowing from the input are not used after this by callers */
    return r;
}

static aw_result parse_item_cstr(const char *s, aw_sf_item *item)
{
    aw_arena a;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    size_t len = strlen(s);
    uint8_t *copy = exact_copy(s, len);
    aw_result r = aw_sf_parse_item((aw_span){copy, len}, &a, item);
    free(copy);
    return r;
}

static void test_huge_inputs(void)
{
    const size_t mib = 1u << 20;
    static uint8_t small_arena[64 * 1024];
    aw_arena a;
    const aw_sf_member *m;
    size_t n;

    /* 1 MiB of list members: a small arena fails cleanly, a big enough one succeeds. */
    buf b = {NULL, 0, 0};
    while (b.len < mib) {
        buf_str(&b, "a, ");
    }
    buf_str(&b, "z");
    uint8_t *copy = exact_copy(b.data, b.len);
    aw_arena_init(&a, small_arena, sizeof(small_arena));
    CHECK_RESULT(aw_sf_parse_list((aw_span){copy, b.len}, &a, &m, &n), AW_E_BUFFER_TOO_SMALL);
    CHECK(a.used <= a.cap);
    CHECK(m == NULL && n == 0);
    aw_arena_init(&a, small_arena, 0);
    CHECK_RESULT(aw_sf_parse_list((aw_span){copy, b.len}, &a, &m, &n), AW_E_BUFFER_TOO_SMALL);
    size_t big_cap = 64u << 20;
    uint8_t *big = malloc(big_cap);
    CHECK(big != NULL);
    aw_arena_init(&a, big, big_cap);
    CHECK_OK(aw_sf_parse_list((aw_span){copy, b.len}, &a, &m, &n));
    CHECK(n == (b.len + 2) / 3);
    /* Growth in place keeps the arena within a small factor of the result itself. */
    CHECK_MSG(a.used <= 2 * n * sizeof(aw_sf_member) + 4096, "arena used %zu for %zu members",
              a.used, n);
    free(copy);

    /* 1 MiB string and 1 MiB byte sequence against the small arena. */
    b.len = 0;
    buf_str(&b, "\"");
    while (b.len < mib) {
        buf_str(&b, "abcdefgh\\\"");
    }
    buf_str(&b, "\"");
    copy = exact_copy(b.data, b.len);
    aw_sf_item item;
    aw_arena_init(&a, small_arena, sizeof(small_arena));
    CHECK_RESULT(aw_sf_parse_item((aw_span){copy, b.len}, &a, &item), AW_E_BUFFER_TOO_SMALL);
    aw_arena_init(&a, big, big_cap);
    CHECK_OK(aw_sf_parse_item((aw_span){copy, b.len}, &a, &item));
    CHECK(item.value.type == AW_SF_STRING && item.value.str.len == (b.len - 2) / 10 * 9);
    free(copy);
    b.len = 0;
    buf_str(&b, ":");
    while (b.len < mib) {
        buf_str(&b, "QUJD");
    }
    buf_str(&b, ":");
    copy = exact_copy(b.data, b.len);
    aw_arena_init(&a, small_arena, sizeof(small_arena));
    CHECK_RESULT(aw_sf_parse_item((aw_span){copy, b.len}, &a, &item), AW_E_BUFFER_TOO_SMALL);
    free(copy);

    /* 1 MiB of parameters on one item, many of them repeated: the sorted duplicate path
     * must stay fast and keep first positions with last values. */
    b.len = 0;
    buf_str(&b, "x");
    char tmp[32];
    size_t count = 0;
    while (b.len < mib) {
        snprintf(tmp, sizeof(tmp), ";k%zu=%zu", count % 5000, count);
        buf_str(&b, tmp);
        count++;
    }
    copy = exact_copy(b.data, b.len);
    aw_arena_init(&a, big, big_cap);
    CHECK_OK(aw_sf_parse_item((aw_span){copy, b.len}, &a, &item));
    CHECK(item.n_params == 5000);
    bool order_ok = item.n_params == 5000;
    for (size_t i = 0; order_ok && i < 5000; i++) {
        snprintf(tmp, sizeof(tmp), "k%zu", i);
        size_t last = i + (count - 1 - i) / 5000 * 5000;
        order_ok = aw_span_eq(item.params[i].key, aw_span_cstr(tmp)) &&
                   item.params[i].value.type == AW_SF_INTEGER &&
                   item.params[i].value.integer == (int64_t)last;
    }
    CHECK_MSG(order_ok, "duplicate parameters: wrong order or values");
    free(copy);

    /* 1 MiB dictionary of distinct keys, then with the reject flag and one late repeat. */
    b.len = 0;
    count = 0;
    while (b.len < mib) {
        snprintf(tmp, sizeof(tmp), "%sk%zu=%zu", count ? ", " : "", count, count);
        buf_str(&b, tmp);
        count++;
    }
    copy = exact_copy(b.data, b.len);
    aw_arena_init(&a, big, big_cap);
    CHECK_OK(aw_sf_parse_dict((aw_span){copy, b.len}, AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n));
    CHECK(n == count);
    free(copy);
    buf_str(&b, ", k7=1");
    copy = exact_copy(b.data, b.len);
    aw_arena_init(&a, big, big_cap);
    CHECK_RESULT(aw_sf_parse_dict((aw_span){copy, b.len}, AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n),
                 AW_E_SF_SYNTAX);
    aw_arena_init(&a, big, big_cap);
    CHECK_OK(aw_sf_parse_dict((aw_span){copy, b.len}, 0, &a, &m, &n));
    CHECK(n == count && aw_span_eq(m[7].key, AW_SPAN_LIT("k7")) && m[7].item.value.integer == 1);
    free(copy);

    /* 1 MiB of inner-list items. */
    b.len = 0;
    buf_str(&b, "(");
    while (b.len < mib) {
        buf_str(&b, "1 ");
    }
    buf_str(&b, ")");
    copy = exact_copy(b.data, b.len);
    aw_arena_init(&a, small_arena, sizeof(small_arena));
    CHECK_RESULT(aw_sf_parse_list((aw_span){copy, b.len}, &a, &m, &n), AW_E_BUFFER_TOO_SMALL);
    aw_arena_init(&a, big, big_cap);
    CHECK_OK(aw_sf_parse_list((aw_span){copy, b.len}, &a, &m, &n));
    CHECK(n == 1 && m[0].n_inner == (b.len - 2) / 2);
    free(copy);

    free(big);
    free(b.data);
}

/* Every arena size from 0 up: each parse either fails with AW_E_BUFFER_TOO_SMALL or succeeds
 * with the right result, and never writes past the arena. */
static void test_every_arena_size(void)
{
    static const char input[] =
        "sig1=(\"@method\" \"@authority\" \"@path\" \"content-digest\");created=1618884473;"
        "keyid=\"test-key\";nonce=\"b3k2pp5k7z\";tag=\"authwire/1\", "
        "sig2=(\"@status\" \"content-type\");alg=\"ed25519\", b=:aGVsbG8=:;x;y=?0, c=1.5";
    static const char want[] =
        "sig1=(\"@method\" \"@authority\" \"@path\" \"content-digest\");created=1618884473;"
        "keyid=\"test-key\";nonce=\"b3k2pp5k7z\";tag=\"authwire/1\", "
        "sig2=(\"@status\" \"content-type\");alg=\"ed25519\", b=:aGVsbG8=:;x;y=?0, c=1.5";
    size_t len = sizeof(input) - 1;
    uint8_t *copy = exact_copy(input, len);
    bool first_ok_seen = false;
    size_t first_ok = 0;
    for (size_t cap = 0; cap <= 8192; cap++) {
        uint8_t *mem = malloc(cap + 1);
        aw_arena a;
        aw_arena_init(&a, mem, cap);
        const aw_sf_member *m;
        size_t n;
        aw_result r = aw_sf_parse_dict((aw_span){copy, len}, 0, &a, &m, &n);
        CHECK_MSG(r == AW_OK || r == AW_E_BUFFER_TOO_SMALL, "cap %zu: %s", cap, aw_result_name(r));
        CHECK(a.used <= cap);
        if (r == AW_OK) {
            uint8_t out[512];
            aw_writer w;
            aw_writer_init(&w, out, sizeof(out));
            CHECK_OK(aw_sf_serialize_dict(m, n, &w));
            CHECK(same_bytes(aw_writer_span_of(&w), want, sizeof(want) - 1));
            if (!first_ok_seen) {
                first_ok_seen = true;
                first_ok = cap;
            }
        } else {
            CHECK_MSG(!first_ok_seen, "cap %zu fails although %zu worked", cap, first_ok);
        }
        free(mem);
    }
    CHECK(first_ok_seen);
    free(copy);
}

static void test_integer_limits(void)
{
    aw_sf_item item;
    CHECK_OK(parse_item_cstr("999999999999999", &item));
    CHECK(item.value.type == AW_SF_INTEGER && item.value.integer == 999999999999999LL);
    CHECK_OK(parse_item_cstr("-999999999999999", &item));
    CHECK(item.value.type == AW_SF_INTEGER && item.value.integer == -999999999999999LL);
    CHECK_RESULT(parse_item_cstr("1000000000000000", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("-1000000000000000", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("99999999999999999999999999", &item), AW_E_SF_SYNTAX);
    CHECK_OK(parse_item_cstr("000000000000001", &item)); /* 15 digits, leading zeros */
    CHECK(item.value.integer == 1);
    CHECK_OK(parse_item_cstr("999999999999.999", &item));
    CHECK(item.value.type == AW_SF_DECIMAL && item.value.integer == 999999999999999LL);
    CHECK_OK(parse_item_cstr("-999999999999.999", &item));
    CHECK(item.value.type == AW_SF_DECIMAL && item.value.integer == -999999999999999LL);
    CHECK_RESULT(parse_item_cstr("1000000000000.0", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("1.0000", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("-", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("-.5", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr(".5", &item), AW_E_SF_SYNTAX);
    CHECK_OK(parse_item_cstr("-0.05", &item));
    CHECK(item.value.type == AW_SF_DECIMAL && item.value.integer == -50);

    /* Serialising the limits, and just beyond them. */
    uint8_t out[64];
    aw_writer w;
    aw_sf_value v = {.type = AW_SF_INTEGER, .integer = -999999999999999LL};
    aw_writer_init(&w, out, sizeof(out));
    CHECK_OK(aw_sf_serialize_value(&v, &w));
    CHECK(same_bytes(aw_writer_span_of(&w), "-999999999999999", 16));
    v.integer = 1000000000000000LL;
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v.integer = INT64_MIN;
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v = (aw_sf_value){.type = AW_SF_DECIMAL, .integer = -999999999999999LL};
    aw_writer_init(&w, out, sizeof(out));
    CHECK_OK(aw_sf_serialize_value(&v, &w));
    CHECK(same_bytes(aw_writer_span_of(&w), "-999999999999.999", 17));
    v.integer = INT64_MIN;
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v.integer = -1;
    aw_writer_init(&w, out, sizeof(out));
    CHECK_OK(aw_sf_serialize_value(&v, &w));
    CHECK(same_bytes(aw_writer_span_of(&w), "-0.001", 6));
    v.integer = 1200;
    aw_writer_init(&w, out, sizeof(out));
    CHECK_OK(aw_sf_serialize_value(&v, &w));
    CHECK(same_bytes(aw_writer_span_of(&w), "1.2", 3));
}

static void test_non_ascii_and_bad_bytes(void)
{
    aw_sf_item item;
    CHECK_RESULT(parse_item_cstr("\"f\xc3\xbc\xc3\xbc\"", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("\"\x80\"", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("\"\xff\"", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("\"a\x7f\"", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("f\xc3\xbc", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("\xc3\xbc", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("a;k\xc3\xbc=1", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("a;k=\"\xe2\x82\xac\"", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr(":\xc3\xbc:", &item), AW_E_SF_SYNTAX);
    CHECK_RESULT(parse_item_cstr("1 \x80", &item), AW_E_SF_SYNTAX);
    /* An embedded NUL is just another bad byte, not the end of the input. */
    static const uint8_t with_nul[] = {'"', 'a', 0, 'b', '"'};
    aw_arena a;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    CHECK_RESULT(aw_sf_parse_item((aw_span){with_nul, sizeof(with_nul)}, &a, &item),
                 AW_E_SF_SYNTAX);
    static const uint8_t tok_nul[] = {'a', 0};
    CHECK_RESULT(aw_sf_parse_item((aw_span){tok_nul, sizeof(tok_nul)}, &a, &item), AW_E_SF_SYNTAX);
    const aw_sf_member *m;
    size_t n;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    CHECK_RESULT(parse_list_cstr("a, b\xc3\xbc", &a, &m, &n), AW_E_SF_SYNTAX);
    CHECK_RESULT(aw_sf_parse_dict(AW_SPAN_LIT("a=1, \xc3\xa9=2"), 0, &a, &m, &n), AW_E_SF_SYNTAX);
    /* Empty input: no item, but an empty list and an empty dictionary. */
    CHECK_RESULT(aw_sf_parse_item((aw_span){NULL, 0}, &a, &item), AW_E_SF_SYNTAX);
    CHECK_OK(aw_sf_parse_list((aw_span){NULL, 0}, &a, &m, &n));
    CHECK(n == 0);
    CHECK_OK(aw_sf_parse_dict(AW_SPAN_LIT("   "), 0, &a, &m, &n));
    CHECK(n == 0);

    /* Serialising bytes RFC 8941 cannot carry. */
    uint8_t out[64];
    aw_writer w;
    aw_writer_init(&w, out, sizeof(out));
    aw_sf_value v = {.type = AW_SF_STRING, .str = AW_SPAN_LIT("caf\xc3\xa9")};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    CHECK(w.len == 0); /* nothing half-written for a string that cannot be sent */
    v = (aw_sf_value){.type = AW_SF_TOKEN, .str = AW_SPAN_LIT("")};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v = (aw_sf_value){.type = AW_SF_TOKEN, .str = AW_SPAN_LIT("1a")};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v = (aw_sf_value){.type = AW_SF_BOOLEAN, .integer = 2};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v = (aw_sf_value){.type = AW_SF_INNER_LIST};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    v = (aw_sf_value){.type = (aw_sf_type)99};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_SF_SYNTAX);
    aw_sf_param p = {.key = AW_SPAN_LIT("Key"), .value = {.type = AW_SF_INTEGER, .integer = 1}};
    CHECK_RESULT(aw_sf_serialize_params(&p, 1, &w), AW_E_SF_SYNTAX);
    p.key = AW_SPAN_LIT("");
    CHECK_RESULT(aw_sf_serialize_params(&p, 1, &w), AW_E_SF_SYNTAX);
    /* A nested inner list cannot be written. */
    aw_sf_item nested = {.value = {.type = AW_SF_INNER_LIST}};
    aw_sf_member outer = {
        .item = {.value = {.type = AW_SF_INNER_LIST}}, .inner = &nested, .n_inner = 1};
    CHECK_RESULT(aw_sf_serialize_member(&outer, &w), AW_E_SF_SYNTAX);
    /* A writer that is too small. */
    aw_writer_init(&w, out, 3);
    v = (aw_sf_value){.type = AW_SF_STRING, .str = AW_SPAN_LIT("hello")};
    CHECK_RESULT(aw_sf_serialize_value(&v, &w), AW_E_BUFFER_TOO_SMALL);
}

/* The RFC's duplicate rule, written the obvious way, to check both implementation paths. */
static void reference_dedup(const int *keys, const int *values, size_t n, int *out_keys,
                            int *out_values, size_t *out_n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < m && out_keys[j] != keys[i]) {
            j++;
        }
        if (j == m) {
            out_keys[m] = keys[i];
            m++;
        }
        out_values[j] = values[i];
    }
    *out_n = m;
}

static void test_duplicate_keys(void)
{
    aw_arena a;
    const aw_sf_member *m;
    size_t n;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    CHECK_OK(aw_sf_parse_dict(AW_SPAN_LIT("a=1, b=2, a=3"), 0, &a, &m, &n));
    CHECK(n == 2 && aw_span_eq(m[0].key, AW_SPAN_LIT("a")) && m[0].item.value.integer == 3);
    CHECK_RESULT(
        aw_sf_parse_dict(AW_SPAN_LIT("a=1, b=2, a=3"), AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n),
        AW_E_SF_SYNTAX);
    CHECK_OK(aw_sf_parse_dict(AW_SPAN_LIT("a=1, b=2, c"), AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n));
    CHECK(n == 3);
    /* Repeated Signature-Input labels must be refused; parameters still follow last-wins. */
    CHECK_RESULT(aw_sf_parse_dict(AW_SPAN_LIT("sig1=(\"@method\");created=1, sig1=();created=2"),
                                  AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n),
                 AW_E_SF_SYNTAX);
    CHECK_OK(aw_sf_parse_dict(AW_SPAN_LIT("sig1=(\"@method\");created=1;created=2"),
                              AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n));
    CHECK(n == 1 && m[0].item.n_params == 1 && m[0].item.params[0].value.integer == 2);
    /* A later inner list replaces an earlier item, at the earlier position. */
    CHECK_OK(aw_sf_parse_dict(AW_SPAN_LIT("a=1;p, b, a=(x y);q"), 0, &a, &m, &n));
    CHECK(n == 2 && m[0].item.value.type == AW_SF_INNER_LIST && m[0].n_inner == 2 &&
          m[0].item.n_params == 1 && aw_span_eq(m[0].item.params[0].key, AW_SPAN_LIT("q")));

    /* Random dictionaries and parameter lists against the reference, sized on both sides of
     * the linear/sorted threshold. */
    uint32_t seed = 12345;
    buf b = {NULL, 0, 0};
    int keys[200];
    int values[200];
    int want_keys[200];
    int want_values[200];
    for (int round = 0; round < 400; round++) {
        size_t count = (size_t)(round % 60) + 1;
        if (round % 7 == 0) {
            count = 150 + (size_t)(round % 50);
        }
        int alphabet = (int)(round % 5) * 8 + 2;
        b.len = 0;
        for (size_t i = 0; i < count; i++) {
            seed = seed * 1103515245u + 12345u;
            keys[i] = (int)((seed >> 16) % (uint32_t)alphabet);
            values[i] = (int)i;
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "%sk%d=%d", i ? ", " : "", keys[i], values[i]);
            buf_str(&b, tmp);
        }
        size_t want_n;
        reference_dedup(keys, values, count, want_keys, want_values, &want_n);
        uint8_t *copy = exact_copy(b.data, b.len);
        aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
        CHECK_OK(aw_sf_parse_dict((aw_span){copy, b.len}, 0, &a, &m, &n));
        bool same = n == want_n;
        for (size_t i = 0; same && i < n; i++) {
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "k%d", want_keys[i]);
            same = aw_span_eq(m[i].key, aw_span_cstr(tmp)) &&
                   m[i].item.value.integer == want_values[i];
        }
        CHECK_MSG(same, "dictionary dedup round %d (%zu members) differs from the reference", round,
                  count);
        aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
        CHECK_RESULT(
            aw_sf_parse_dict((aw_span){copy, b.len}, AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n),
            want_n == count ? AW_OK : AW_E_SF_SYNTAX);
        free(copy);

        /* The same keys as parameters of one item. */
        b.len = 0;
        buf_str(&b, "t");
        for (size_t i = 0; i < count; i++) {
            char tmp[32];
            snprintf(tmp, sizeof(tmp), ";k%d=%d", keys[i], values[i]);
            buf_str(&b, tmp);
        }
        copy = exact_copy(b.data, b.len);
        aw_sf_item item;
        aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
        CHECK_OK(aw_sf_parse_item((aw_span){copy, b.len}, &a, &item));
        same = item.n_params == want_n;
        for (size_t i = 0; same && i < want_n; i++) {
            char tmp[32];
            snprintf(tmp, sizeof(tmp), "k%d", want_keys[i]);
            same = aw_span_eq(item.params[i].key, aw_span_cstr(tmp)) &&
                   item.params[i].value.integer == want_values[i];
        }
        CHECK_MSG(same, "parameter dedup round %d (%zu params) differs from the reference", round,
                  count);
        free(copy);
    }
    free(b.data);
}

static void test_find_and_signature_input(void)
{
    static const char sig_input[] =
        "sig1=(\"@method\" \"@authority\" \"content-digest\");created=1618884473;keyid=\"k\";"
        "nonce=\"abc\";tag=\"authwire/1\", sig2=(\"@status\");created=1;keyid=\"k2\"";
    aw_arena a;
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    const aw_sf_member *m;
    size_t n;
    CHECK_OK(aw_sf_parse_dict(AW_SPAN_LIT(sig_input), AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n));
    CHECK(n == 2);
    const aw_sf_member *sig1 = aw_sf_dict_find(m, n, AW_SPAN_LIT("sig1"));
    const aw_sf_member *sig2 = aw_sf_dict_find(m, n, AW_SPAN_LIT("sig2"));
    CHECK(sig1 == &m[0] && sig2 == &m[1]);
    CHECK(aw_sf_dict_find(m, n, AW_SPAN_LIT("sig")) == NULL);
    CHECK(aw_sf_dict_find(m, n, AW_SPAN_LIT("sig12")) == NULL);
    CHECK(aw_sf_dict_find(m, 0, AW_SPAN_LIT("sig1")) == NULL);
    CHECK(sig1->item.value.type == AW_SF_INNER_LIST && sig1->n_inner == 3);
    CHECK(sig1->inner[2].value.type == AW_SF_STRING &&
          aw_span_eq(sig1->inner[2].value.str, AW_SPAN_LIT("content-digest")));
    const aw_sf_param *created =
        aw_sf_param_find(sig1->item.params, sig1->item.n_params, "created");
    CHECK(created != NULL && created->value.type == AW_SF_INTEGER &&
          created->value.integer == 1618884473);
    const aw_sf_param *tag = aw_sf_param_find(sig1->item.params, sig1->item.n_params, "tag");
    CHECK(tag != NULL && aw_span_eq(tag->value.str, AW_SPAN_LIT("authwire/1")));
    CHECK(aw_sf_param_find(sig1->item.params, sig1->item.n_params, "alg") == NULL);
    CHECK(aw_sf_param_find(sig1->item.params, sig1->item.n_params, "create") == NULL);
    CHECK(aw_sf_param_find(sig1->item.params, sig1->item.n_params, NULL) == NULL);
    CHECK(aw_sf_param_find(NULL, 0, "created") == NULL);
    /* Round trip to the identical text (it is already canonical). */
    uint8_t out[512];
    aw_writer w;
    aw_writer_init(&w, out, sizeof(out));
    CHECK_OK(aw_sf_serialize_dict(m, n, &w));
    CHECK(same_bytes(aw_writer_span_of(&w), sig_input, sizeof(sig_input) - 1));
    /* One member alone, as the signature base writes "@signature-params". */
    aw_writer_init(&w, out, sizeof(out));
    CHECK_OK(aw_sf_serialize_member(sig2, &w));
    CHECK(same_bytes(aw_writer_span_of(&w), "(\"@status\");created=1;keyid=\"k2\"", 32));

    /* Content-Digest and Signature. */
    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
    CHECK_OK(aw_sf_parse_dict(
        AW_SPAN_LIT("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:YQ==:"),
        AW_SF_REJECT_DUPLICATE_KEYS, &a, &m, &n));
    const aw_sf_member *sha = aw_sf_dict_find(m, n, AW_SPAN_LIT("sha-256"));
    CHECK(sha != NULL && sha->item.value.type == AW_SF_BYTES && sha->item.value.str.len == 32 &&
          sha->item.value.str.ptr[0] == 0x5f);
}

/* The parser's character-class table against the ABNF written out independently here:
 * every byte as a token start, a token character, a key start and a key character. */
static bool abnf_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool abnf_tchar(int c)
{
    return abnf_alpha(c) || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void test_character_classes(void)
{
    for (int b = 0; b < 256; b++) {
        uint8_t out[64];
        aw_writer w;
        uint8_t two[2] = {'a', (uint8_t)b};
        uint8_t one[1] = {(uint8_t)b};
        bool lc = b >= 'a' && b <= 'z';
        bool digit = b >= '0' && b <= '9';

        aw_sf_value token = {AW_SF_TOKEN, 0, {one, 1}};
        aw_writer_init(&w, out, sizeof(out));
        CHECK_MSG((aw_sf_serialize_value(&token, &w) == AW_OK) == (abnf_alpha(b) || b == '*'),
                  "token start 0x%02x", b);
        token.str = (aw_span){two, 2};
        aw_writer_init(&w, out, sizeof(out));
        CHECK_MSG((aw_sf_serialize_value(&token, &w) == AW_OK) ==
                      (abnf_tchar(b) || b == ':' || b == '/'),
                  "token char 0x%02x", b);

        aw_sf_param key = {{one, 1}, {AW_SF_INTEGER, 1, {NULL, 0}}};
        aw_writer_init(&w, out, sizeof(out));
        CHECK_MSG((aw_sf_serialize_params(&key, 1, &w) == AW_OK) == (lc || b == '*'),
                  "key start 0x%02x", b);
        key.key = (aw_span){two, 2};
        aw_writer_init(&w, out, sizeof(out));
        CHECK_MSG((aw_sf_serialize_params(&key, 1, &w) == AW_OK) ==
                      (lc || digit || (b != 0 && strchr("_-.*", b) != NULL)),
                  "key char 0x%02x", b);

        /* Byte sequences: "AAA" plus b, padded, parse only for the base64 alphabet. */
        char text[16];
        snprintf(text, sizeof(text), ":AAA%c:", b == 0 ? 1 : b);
        aw_arena arena;
        aw_arena_init(&arena, g_arena_buf, ARENA_SIZE);
        aw_sf_item item;
        bool b64 = abnf_alpha(b) || digit || b == '+' || b == '/';
        if (b != 0 && b != '=' && b != ':') {
            CHECK_MSG((aw_sf_parse_item(aw_span_cstr(text), &arena, &item) == AW_OK) == b64,
                      "base64 char 0x%02x", b);
        }
    }
}

/* The RFC 8941 Section 4.2.5 string loop, byte by byte: the reference for the parser's
 * one-scan fast path. Returns whether text (a whole item) is one valid string; *out gets
 * the unescaped characters. */
static bool reference_string(const uint8_t *text, size_t len, uint8_t *out, size_t *out_len)
{
    if (len < 2 || text[0] != '"') {
        return false;
    }
    size_t n = 0;
    for (size_t i = 1; i < len; i++) {
        uint8_t ch = text[i];
        if (ch == '\\') {
            if (++i >= len || (text[i] != '"' && text[i] != '\\')) {
                return false;
            }
            out[n++] = text[i];
        } else if (ch == '"') {
            *out_len = n;
            return i == len - 1; /* nothing may follow the item */
        } else if (ch < 0x20 || ch > 0x7e) {
            return false;
        } else {
            out[n++] = ch;
        }
    }
    return false;
}

/* Strings of every length around the 16-byte scan, with a special byte at every position
 * (and the closing quote present or not), parse exactly as the RFC loop reads them. */
static void test_string_scan(void)
{
    static const uint8_t specials[] = {'"', '\\', 0x00, 0x1f, 0x7f, 0x80, 0xff, ' ', '~'};
    uint8_t text[64];
    uint8_t want[64];
    aw_arena a;
    for (size_t len = 0; len < 40; len++) {
        for (size_t pos = 0; pos <= len; pos++) {
            for (size_t k = 0; k < sizeof(specials); k++) {
                for (int closed = 0; closed < 2; closed++) {
                    text[0] = '"';
                    for (size_t i = 0; i < len; i++) {
                        text[1 + i] = (uint8_t)('a' + i % 26);
                    }
                    if (pos < len) {
                        text[1 + pos] = specials[k];
                    }
                    size_t n = 1 + len;
                    if (closed) {
                        text[n++] = '"';
                    }
                    size_t want_len = 0;
                    bool ok = reference_string(text, n, want, &want_len);
                    aw_arena_init(&a, g_arena_buf, ARENA_SIZE);
                    aw_sf_item item;
                    aw_result r = aw_sf_parse_item((aw_span){text, n}, &a, &item);
                    CHECK_MSG(ok ? r == AW_OK : r == AW_E_SF_SYNTAX,
                              "string of %zu with 0x%02x at %zu (closed %d): %s", len, specials[k],
                              pos, closed, aw_result_name(r));
                    if (ok && r == AW_OK) {
                        CHECK(item.value.type == AW_SF_STRING &&
                              same_bytes(item.value.str, want, want_len));
                    }
                }
            }
        }
    }
}

/* aw_sf_parse_dict takes a shortcut for a lone byte-sequence member ("sig1=:base64:", the
 * Signature field). A leading SP keeps the general parser, which discards it: so parsing X
 * and " X" must agree on the result, the members (keys, types, bytes, raw text) and the arena
 * bytes used, for random texts around that shape and for arenas of every size around what
 * the parse needs. */
static bool same_members(const aw_sf_member *a, size_t na, const aw_sf_member *b, size_t nb)
{
    if (na != nb) {
        return false;
    }
    for (size_t i = 0; i < na; i++) {
        if (!aw_span_eq(a[i].key, b[i].key) || a[i].item.value.type != b[i].item.value.type ||
            a[i].item.value.integer != b[i].item.value.integer ||
            !aw_span_eq(a[i].item.value.str, b[i].item.value.str) ||
            a[i].item.n_params != b[i].item.n_params || a[i].n_inner != b[i].n_inner ||
            !aw_span_eq(a[i].raw, b[i].raw)) {
            return false;
        }
        for (size_t k = 0; k < a[i].n_inner; k++) {
            const aw_sf_item *x = &a[i].inner[k];
            const aw_sf_item *y = &b[i].inner[k];
            if (x->value.type != y->value.type || x->value.integer != y->value.integer ||
                !aw_span_eq(x->value.str, y->value.str) || x->n_params != y->n_params) {
                return false;
            }
        }
        for (size_t k = 0; k < a[i].item.n_params; k++) {
            const aw_sf_param *x = &a[i].item.params[k];
            const aw_sf_param *y = &b[i].item.params[k];
            if (!aw_span_eq(x->key, y->key) || x->value.type != y->value.type ||
                x->value.integer != y->value.integer || !aw_span_eq(x->value.str, y->value.str)) {
                return false;
            }
        }
    }
    return true;
}

static void test_single_bytes_shortcut(void)
{
    static const char pool[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const uint8_t odd[] = {':', '=', ' ', ';',  '(',  '"', ',',
                                  '*', '-', 'A', 0x80, 0x00, '\t'};
    static uint8_t mem_a[4096], mem_b[4096];
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        uint8_t text[160];
        size_t n = 0;
        text[n++] = ' ';
        seed = seed * 1664525u + 1013904223u;
        const char *key = (seed >> 28) < 8 ? "sig1" : ((seed >> 28) < 12 ? "*k_.-9" : "aw");
        for (const char *k = key; *k != '\0'; k++) {
            text[n++] = (uint8_t)*k;
        }
        text[n++] = '=';
        text[n++] = ':';
        size_t b64 = (seed >> 8) % 120;
        for (size_t i = 0; i < b64; i++) {
            seed = seed * 1664525u + 1013904223u;
            text[n++] = (uint8_t)pool[(seed >> 16) % 64];
        }
        if (b64 > 2 && (seed & 3) == 0) {
            text[n - 1] = '=';
            if ((seed & 4) != 0) {
                text[n - 2] = '=';
            }
        }
        text[n++] = ':';
        /* Mutate up to two bytes (never the leading SP) with characters that break the shape. */
        seed = seed * 1664525u + 1013904223u;
        for (int k = 0; k < (int)((seed >> 30) % 3); k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = 1 + (seed >> 8) % (n - 1);
            text[at] = odd[(seed >> 20) % sizeof(odd)];
        }
        const aw_sf_member *ma, *mb;
        size_t na, nb;
        aw_arena a, b;
        aw_arena_init(&a, mem_a, sizeof(mem_a));
        aw_arena_init(&b, mem_b, sizeof(mem_b));
        aw_result ra =
            aw_sf_parse_dict((aw_span){text + 1, n - 1}, AW_SF_REJECT_DUPLICATE_KEYS, &a, &ma, &na);
        aw_result rb =
            aw_sf_parse_dict((aw_span){text, n}, AW_SF_REJECT_DUPLICATE_KEYS, &b, &mb, &nb);
        CHECK_MSG(ra == rb && a.used == b.used && (ra != AW_OK || same_members(ma, na, mb, nb)),
                  "round %d: %s / %s, used %zu / %zu", round, aw_result_name(ra),
                  aw_result_name(rb), a.used, b.used);
        /* Arenas too small by a little: the same answer either way. */
        size_t need = b.used;
        for (size_t cap = need > 40 ? need - 40 : 0; cap <= need + 2 && round % 20 == 0; cap++) {
            aw_arena_init(&a, mem_a, cap);
            aw_arena_init(&b, mem_b, cap);
            ra = aw_sf_parse_dict((aw_span){text + 1, n - 1}, 0, &a, &ma, &na);
            rb = aw_sf_parse_dict((aw_span){text, n}, 0, &b, &mb, &nb);
            CHECK_MSG(ra == rb && a.used == b.used, "round %d, cap %zu: %s / %s", round, cap,
                      aw_result_name(ra), aw_result_name(rb));
        }
    }
}

/* The same for the Signature-Input shortcut (one member, an inner list of plain strings,
 * string and integer parameters): random texts of that shape, then with up to three bytes
 * changed to characters that break or bend it, and with repeated parameters. */
static void test_single_inner_list_shortcut(void)
{
    static const char *const items[] = {
        "\"@method\"", "\"@authority\"", "\"@path\"",  "\"content-digest\"",
        "\"\"",        "\"a b/c\"",      "\"@query\"", "\"x-long-header-name-here\""};
    static const char *const params[] = {";created=1618884473",
                                         ";nonce=\"b3k2pp5k7z-50gnwp.yemd\"",
                                         ";keyid=\"test-key-rsa-pss\"",
                                         ";alg=\"hmac-sha256\"",
                                         ";tag=\"authwire/1\"",
                                         ";expires=-5",
                                         ";n=0",
                                         ";big=999999999999999",
                                         ";d=12"};
    static const uint8_t odd[] = {' ', ';',  '"', '\\', '.', '-', ',',  '=', '(',
                                  ')', 0x80, '9', '?',  ':', 'A', '\t', '*', 'x'};
    static uint8_t mem_a[8192], mem_b[8192];
    uint32_t seed = 777;
    for (int round = 0; round < 30000; round++) {
        char text[1024];
        size_t n = 0;
        text[n++] = ' ';
        seed = seed * 1664525u + 1013904223u;
        n += (size_t)sprintf(text + n, "%s=(", (seed >> 28) < 10 ? "sig1" : "*k_.-9");
        size_t n_items = (seed >> 8) % 9;
        for (size_t k = 0; k < n_items; k++) {
            seed = seed * 1664525u + 1013904223u;
            n += (size_t)sprintf(text + n, "%s%s", k > 0 ? " " : "", items[(seed >> 16) % 8]);
        }
        text[n++] = ')';
        seed = seed * 1664525u + 1013904223u;
        size_t n_params = (seed >> 8) % 8;
        for (size_t k = 0; k < n_params; k++) {
            seed = seed * 1664525u + 1013904223u;
            n += (size_t)sprintf(text + n, "%s", params[(seed >> 16) % 9]);
        }
        seed = seed * 1664525u + 1013904223u;
        for (int k = 0; k < (int)((seed >> 29) % 4); k++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = 1 + (seed >> 8) % (n - 1);
            text[at] = (char)odd[(seed >> 20) % sizeof(odd)];
        }
        const uint8_t *t = (const uint8_t *)text;
        unsigned flags =
            (round % 3 == 0) ? 0 : AW_SF_REJECT_DUPLICATE_KEYS | AW_SF_REJECT_DUPLICATE_PARAMS;
        const aw_sf_member *ma, *mb;
        size_t na, nb;
        aw_arena a, b;
        aw_arena_init(&a, mem_a, sizeof(mem_a));
        aw_arena_init(&b, mem_b, sizeof(mem_b));
        aw_result ra = aw_sf_parse_dict((aw_span){t + 1, n - 1}, flags, &a, &ma, &na);
        aw_result rb = aw_sf_parse_dict((aw_span){t, n}, flags, &b, &mb, &nb);
        CHECK_MSG(ra == rb && a.used == b.used && (ra != AW_OK || same_members(ma, na, mb, nb)),
                  "round %d (%.*s): %s / %s, used %zu / %zu", round, (int)n, text,
                  aw_result_name(ra), aw_result_name(rb), a.used, b.used);
        size_t need = b.used;
        for (size_t cap = need > 60 ? need - 60 : 0; cap <= need + 2 && round % 25 == 0; cap++) {
            aw_arena_init(&a, mem_a, cap);
            aw_arena_init(&b, mem_b, cap);
            ra = aw_sf_parse_dict((aw_span){t + 1, n - 1}, flags, &a, &ma, &na);
            rb = aw_sf_parse_dict((aw_span){t, n}, flags, &b, &mb, &nb);
            CHECK_MSG(ra == rb && a.used == b.used, "round %d, cap %zu: %s / %s", round, cap,
                      aw_result_name(ra), aw_result_name(rb));
        }
    }
}

int main(void)
{
    g_arena_buf = malloc(ARENA_SIZE);
    if (g_arena_buf == NULL) {
        fprintf(stderr, "FATAL: out of memory\n");
        return 1;
    }
    test_vectors();
    test_character_classes();
    test_huge_inputs();
    test_every_arena_size();
    test_integer_limits();
    test_non_ascii_and_bad_bytes();
    test_duplicate_keys();
    test_find_and_signature_input();
    test_string_scan();
    test_single_bytes_shortcut();
    test_single_inner_list_shortcut();
    free(g_arena_buf);
    return aw_test_finish("test_sf");
}
