/* The RFC 9421 signature base: one line per covered component, then @signature-params. */
#include "authwire/sigbase.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Structured types of the fields we know, needed for ;sf and ;key (RFC 9421 Section 2.1.1:
 * the verifier must know the field's type to re-serialise it). */
typedef enum field_sf_type {
    FIELD_NOT_SF,
    FIELD_SF_ITEM,
    FIELD_SF_LIST,
    FIELD_SF_DICT,
} field_sf_type;

static const struct {
    const char *name;
    field_sf_type type;
} known_sf_fields[] = {
    {"content-digest", FIELD_SF_DICT},
    {"repr-digest", FIELD_SF_DICT},
    {"want-content-digest", FIELD_SF_DICT},
    {"want-repr-digest", FIELD_SF_DICT},
    {"signature", FIELD_SF_DICT},
    {"signature-input", FIELD_SF_DICT},
    {"priority", FIELD_SF_DICT},
    {"example-dict", FIELD_SF_DICT},
    {"accept-ch", FIELD_SF_LIST},
    {"cache-status", FIELD_SF_LIST},
    {"proxy-status", FIELD_SF_LIST},
    {"authwire-seq", FIELD_SF_ITEM},
    {"authwire-cb", FIELD_SF_ITEM},
};

static field_sf_type field_type(aw_span name)
{
    for (size_t i = 0; i < sizeof(known_sf_fields) / sizeof(known_sf_fields[0]); i++) {
        if (aw_span_eq(name, aw_span_cstr(known_sf_fields[i].name))) {
            return known_sf_fields[i].type;
        }
    }
    return FIELD_NOT_SF;
}

/* The parsed parameters of one component identifier. */
typedef struct component {
    aw_span name;
    bool sf;
    bool bs;
    bool req;
    bool has_key;
    aw_span key;
    bool has_qname;
    aw_span qname;
} component;

/* Whether every byte of name is visible ASCII (0x21..0x7e) and not an upper-case letter.
 * Eight bytes at a time with the exact "has a byte less than / between" word tests of Sean
 * Anderson's bit hacks, valid once no byte has its top bit set (checked first). */
static bool name_chars_ok(aw_span name)
{
    const uint64_t ones = 0x0101010101010101u;
    const uint64_t high = 0x8080808080808080u;
    size_t n = name.len;
    if (n >= 4 && n < 8) {
        /* Two overlapping 4-byte words, the same tests on 32 bits. */
        const uint32_t ones4 = 0x01010101u;
        const uint32_t high4 = 0x80808080u;
        uint32_t w[2];
        memcpy(&w[0], name.ptr, 4);
        memcpy(&w[1], name.ptr + n - 4, 4);
        uint32_t bad = 0;
        for (int k = 0; k < 2; k++) {
            uint32_t x = w[k];
            uint32_t y = x ^ (ones4 * 0x7f);
            bad |= x & high4;
            bad |= (x - ones4 * 0x21) & ~x & high4;
            bad |= (y - ones4) & ~y & high4;
            bad |= (ones4 * (127 + 0x5b) - (x & ones4 * 127)) & ~x &
                   ((x & ones4 * 127) + ones4 * (127 - 0x40)) & high4;
        }
        return bad == 0;
    }
    if (n < 8) {
        uint8_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t b = name.ptr[i];
            bad |= (uint8_t)((b <= 0x20) | (b >= 0x7f) | ((uint8_t)(b - 'A') < 26));
        }
        return bad == 0;
    }
    for (size_t i = 0;; i += 8) {
        if (i + 8 > n) {
            i = n - 8; /* the last word overlaps the one before */
        }
        uint64_t x;
        memcpy(&x, name.ptr + i, sizeof(x));
        if ((x & high) != 0) {
            return false;
        }
        uint64_t below_0x21 = (x - ones * 0x21) & ~x & high;
        uint64_t y = x ^ (ones * 0x7f);
        uint64_t del = (y - ones) & ~y & high;
        /* Bytes strictly between 0x40 and 0x5b: 'A'..'Z'. */
        uint64_t upper = (ones * (127 + 0x5b) - (x & ones * 127)) & ~x &
                         ((x & ones * 127) + ones * (127 - 0x40)) & high;
        if ((below_0x21 | del | upper) != 0) {
            return false;
        }
        if (i + 8 == n) {
            return true;
        }
    }
}

static aw_result parse_component(const aw_sf_item *item, component *c)
{
    memset(c, 0, sizeof(*c));
    AW_ENSURE(item->value.type == AW_SF_STRING, AW_E_SIG_BAD_PARAMS);
    c->name = item->value.str;
    AW_ENSURE(c->name.len > 0, AW_E_COMPONENT_UNKNOWN);
    /* Visible ASCII, and field names in identifiers are lower case (Section 2.1). */
    AW_ENSURE(name_chars_ok(c->name), AW_E_COMPONENT_UNKNOWN);
    for (size_t i = 0; i < item->n_params; i++) {
        const aw_sf_param *p = &item->params[i];
        bool is_true = p->value.type == AW_SF_BOOLEAN && p->value.integer == 1;
        if (aw_span_eq(p->key, AW_SPAN_LIT("sf"))) {
            AW_ENSURE(is_true, AW_E_COMPONENT_UNKNOWN);
            c->sf = true;
        } else if (aw_span_eq(p->key, AW_SPAN_LIT("bs"))) {
            AW_ENSURE(is_true, AW_E_COMPONENT_UNKNOWN);
            c->bs = true;
        } else if (aw_span_eq(p->key, AW_SPAN_LIT("req"))) {
            AW_ENSURE(is_true, AW_E_COMPONENT_UNKNOWN);
            c->req = true;
        } else if (aw_span_eq(p->key, AW_SPAN_LIT("key"))) {
            AW_ENSURE(p->value.type == AW_SF_STRING, AW_E_COMPONENT_UNKNOWN);
            c->has_key = true;
            c->key = p->value.str;
        } else if (aw_span_eq(p->key, AW_SPAN_LIT("name"))) {
            AW_ENSURE(p->value.type == AW_SF_STRING, AW_E_COMPONENT_UNKNOWN);
            c->has_qname = true;
            c->qname = p->value.str;
        } else {
            /* tr (trailers) and anything unknown: refuse rather than guess. */
            return AW_E_COMPONENT_UNKNOWN;
        }
    }
    bool derived = c->name.ptr[0] == '@';
    /* bs cannot combine with sf or key (Section 2.1.3); derived components take neither. */
    AW_ENSURE(!(c->bs && (c->sf || c->has_key)), AW_E_COMPONENT_UNKNOWN);
    AW_ENSURE(!(derived && (c->sf || c->bs || c->has_key)), AW_E_COMPONENT_UNKNOWN);
    AW_ENSURE(c->has_qname == aw_span_eq(c->name, AW_SPAN_LIT("@query-param")),
              AW_E_COMPONENT_UNKNOWN);
    return AW_OK;
}

/* Covered values must be visible ASCII, SP or HTAB: the base is ASCII (Section 2.5), and
 * obs-text could be rendered differently by signer and verifier. */
#if defined(__SSE2__)
/* The bytes of x that are not visible ASCII, SP or HTAB, as 0xff. Signed compares: bytes
 * from 0x80 are negative, so "below SP" catches them. */
static inline __m128i ascii_value_bad(__m128i x)
{
    const __m128i sp = _mm_set1_epi8(0x20);
    const __m128i tab = _mm_set1_epi8('\t');
    const __m128i del = _mm_set1_epi8(0x7f);
    __m128i ctl = _mm_andnot_si128(_mm_cmpeq_epi8(x, tab), _mm_cmplt_epi8(x, sp));
    return _mm_or_si128(ctl, _mm_cmpeq_epi8(x, del));
}
#endif

static bool ascii_value_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    /* 16 bytes at a time; the last block overlaps the one before when n is not a multiple
     * of 16. */
    if (n >= 16) {
        __m128i bad = _mm_setzero_si128();
        for (; i + 16 <= n; i += 16) {
            bad = _mm_or_si128(
                bad, ascii_value_bad(_mm_loadu_si128((const __m128i *)(const void *)(p + i))));
        }
        if (i < n) {
            bad = _mm_or_si128(
                bad, ascii_value_bad(_mm_loadu_si128((const __m128i *)(const void *)(p + n - 16))));
        }
        return _mm_movemask_epi8(bad) == 0;
    }
#endif
    if (n >= 8 && n < 16) {
        /* Two overlapping words, each test exact per byte once bytes from 0x80 are out:
         * b + 0x60 has bit 7 set exactly when b >= 0x20 (no carry leaves the byte), and
         * ((y & 0x7f) + 0x7f) | y has it set exactly when y != 0. */
        const uint64_t ones = 0x0101010101010101u;
        const uint64_t low7 = ones * 0x7f;
        const uint64_t high = ones * 0x80;
        uint64_t bad = 0;
        for (int k = 0; k < 2; k++) {
            uint64_t x;
            memcpy(&x, p + (k == 0 ? 0 : n - 8), sizeof(x));
            uint64_t below_sp = ~((x & low7) + ones * 0x60) & high;
            uint64_t t = x ^ (ones * '\t');
            uint64_t is_tab = ~(((t & low7) + low7) | t) & high;
            uint64_t d = x ^ low7;
            uint64_t is_del = ~(((d & low7) + low7) | d) & high;
            bad |= (x & high) | (below_sp & ~is_tab) | is_del;
        }
        return bad == 0;
    }
    /* Branch-free so that it vectorises where SSE2 is not used. */
    uint8_t bad = 0;
    for (; i < n; i++) {
        uint8_t b = p[i];
        bad |= (uint8_t)(((b < 0x20) & (b != '\t')) | (b > 0x7e));
    }
    return bad == 0;
}

/* memcpy for the short spans of a base line (identifiers, most values): up to 16 bytes as
 * two overlapping words each way, without a call. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n > 0) {
        memcpy(dst, src, n);
    }
}

/* aw_writer_span with copy_bytes. */
static inline void write_span(aw_writer *out, aw_span s)
{
    if (out->overflow || s.len > out->cap - out->len) {
        out->overflow = true;
        return;
    }
    copy_bytes(out->buf + out->len, s.ptr, s.len);
    out->len += s.len;
}

/* The start of a base line: the identifier and ": ". */
static inline void write_line_head(aw_writer *out, aw_span ident)
{
    if (out->overflow || ident.len + 2 > out->cap - out->len || ident.len > out->cap) {
        aw_writer_span(out, ident);
        aw_writer_cstr(out, ": ");
        return;
    }
    uint8_t *dst = out->buf + out->len;
    copy_bytes(dst, ident.ptr, ident.len);
    dst[ident.len] = ':';
    dst[ident.len + 1] = ' ';
    out->len += ident.len + 2;
}

/* Checks v (ascii_value_ok) and appends it. With SSE2 and room in out, each 16-byte block
 * is checked and stored in the same pass (the last block overlapping the one before); the
 * writer's length moves only once every byte passed, so a refused value leaves the written
 * bytes as they were (only the spare room past them may have been scribbled on). */
static aw_result write_ascii_value(aw_writer *out, aw_span v)
{
#if defined(__SSE2__)
    if (v.len >= 16 && !out->overflow && v.len <= out->cap - out->len) {
        uint8_t *dst = out->buf + out->len;
        __m128i bad = _mm_setzero_si128();
        size_t i = 0;
        for (; i + 16 <= v.len; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v.ptr + i));
            bad = _mm_or_si128(bad, ascii_value_bad(x));
            _mm_storeu_si128((__m128i *)(void *)(dst + i), x);
        }
        if (i < v.len) {
            size_t last = v.len - 16;
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v.ptr + last));
            bad = _mm_or_si128(bad, ascii_value_bad(x));
            _mm_storeu_si128((__m128i *)(void *)(dst + last), x);
        }
        AW_ENSURE(_mm_movemask_epi8(bad) == 0, AW_E_FIELD_INVALID);
        out->len += v.len;
        return AW_OK;
    }
#endif
    AW_ENSURE(ascii_value_ok(v.ptr, v.len), AW_E_FIELD_INVALID);
    write_span(out, v);
    return AW_OK;
}

aw_result aw_sigbase_authority(const aw_message *req, aw_writer *out)
{
    aw_span a = req->authority;
    AW_ENSURE(a.len > 0, AW_E_COMPONENT_MISSING);
    /* Drop the scheme's default port, Section 2.2.3 with RFC 9110 Section 4.2. */
    if (aw_span_eq_nocase(req->scheme, AW_SPAN_LIT("https")) && a.len > 4 &&
        memcmp(a.ptr + a.len - 4, ":443", 4) == 0) {
        a.len -= 4;
    } else if (aw_span_eq_nocase(req->scheme, AW_SPAN_LIT("http")) && a.len > 3 &&
               memcmp(a.ptr + a.len - 3, ":80", 3) == 0) {
        a.len -= 3;
    }
    if (out->overflow || a.len > out->cap - out->len) {
        uint8_t bad = 0;
        for (size_t i = 0; i < a.len; i++) {
            bad |= (uint8_t)((a.ptr[i] <= 0x20) | (a.ptr[i] >= 0x7f));
        }
        AW_ENSURE(bad == 0, AW_E_FIELD_INVALID);
        for (size_t i = 0; i < a.len; i++) {
            aw_writer_byte(out, aw_ascii_lower(a.ptr[i])); /* sets the overflow */
        }
        return AW_OK;
    }
    /* Checked and lower-cased in one pass; the writer's length moves only when every byte
     * passed (a refused authority may leave bytes in the spare room past it, never in what
     * was written). From 8 bytes on, a word at a time with the bit tests of name_chars_ok
     * (the last word overlapping the one before: it rewrites the same lower-cased bytes). */
    uint8_t *dst = out->buf + out->len;
    if (a.len >= 8) {
        const uint64_t ones = 0x0101010101010101u;
        const uint64_t high = 0x8080808080808080u;
        uint64_t bad = 0;
        for (size_t i = 0;; i += 8) {
            if (i + 8 > a.len) {
                i = a.len - 8;
            }
            uint64_t x;
            memcpy(&x, a.ptr + i, sizeof(x));
            uint64_t y = x ^ (ones * 0x7f);
            bad |= x & high;
            bad |= (x - ones * 0x21) & ~x & high; /* below 0x21 */
            bad |= (y - ones) & ~y & high;        /* DEL */
            /* 'A'..'Z' (bytes strictly between 0x40 and 0x5b), exact per byte below 0x80;
             * bytes from 0x80 make the value refused anyway. */
            uint64_t upper = (ones * (127 + 0x5b) - (x & ones * 127)) & ~x &
                             ((x & ones * 127) + ones * (127 - 0x40)) & high;
            x |= upper >> 2;
            memcpy(dst + i, &x, sizeof(x));
            if (i + 8 == a.len) {
                break;
            }
        }
        AW_ENSURE(bad == 0, AW_E_FIELD_INVALID);
        out->len += a.len;
        return AW_OK;
    }
    uint8_t bad = 0;
    for (size_t i = 0; i < a.len; i++) {
        uint8_t b = a.ptr[i];
        bad |= (uint8_t)((b <= 0x20) | (b >= 0x7f));
        dst[i] = (uint8_t)(b | (uint8_t)(((uint8_t)(b - 'A') < 26) << 5));
    }
    AW_ENSURE(bad == 0, AW_E_FIELD_INVALID);
    out->len += a.len;
    return AW_OK;
}

static int hex_digit(uint8_t b)
{
    if (b >= '0' && b <= '9') {
        return b - '0';
    }
    b = aw_ascii_lower(b);
    if (b >= 'a' && b <= 'f') {
        return b - 'a' + 10;
    }
    return -1;
}

/* Percent-decodes an application/x-www-form-urlencoded name or value, then re-encodes it
 * with the urlencoded percent-encode set (Section 2.2.8): ALPHA DIGIT * - . _ stay, every
 * other byte becomes %XX in upper case; '+' decodes to space. */
static aw_result write_query_normalised(aw_writer *out, aw_span s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        uint8_t b = s.ptr[i];
        if (b == '%' && i + 2 < s.len && hex_digit(s.ptr[i + 1]) >= 0 &&
            hex_digit(s.ptr[i + 2]) >= 0) {
            b = (uint8_t)(hex_digit(s.ptr[i + 1]) << 4 | hex_digit(s.ptr[i + 2]));
            i += 2;
        } else if (b == '+') {
            b = ' ';
        }
        bool keep = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
                    b == '*' || b == '-' || b == '.' || b == '_';
        if (keep) {
            aw_writer_byte(out, b);
        } else {
            aw_writer_byte(out, '%');
            aw_writer_byte(out, (uint8_t)hex[b >> 4]);
            aw_writer_byte(out, (uint8_t)hex[b & 15]);
        }
    }
    return AW_OK;
}

/* Writes one line per query parameter whose normalised name equals qname. */
static aw_result write_query_params(const aw_message *src, aw_span ident, aw_span qname,
                                    aw_writer *out)
{
    aw_span path;
    aw_span query;
    bool has_query;
    AW_GUARD(aw_message_target_parts(src, &path, &query, &has_query));
    uint8_t name_buf[512];
    size_t matches = 0;
    size_t start = 0;
    while (has_query && start <= query.len) {
        size_t end = start;
        while (end < query.len && query.ptr[end] != '&') {
            end++;
        }
        size_t eq = start;
        while (eq < end && query.ptr[eq] != '=') {
            eq++;
        }
        aw_writer name_w;
        aw_writer_init(&name_w, name_buf, sizeof(name_buf));
        AW_GUARD(write_query_normalised(&name_w, (aw_span){query.ptr + start, eq - start}));
        AW_ENSURE(!name_w.overflow, AW_E_TOO_LARGE);
        if (aw_span_eq(aw_writer_span_of(&name_w), qname)) {
            aw_writer_span(out, ident);
            aw_writer_cstr(out, ": ");
            aw_span value =
                eq < end ? (aw_span){query.ptr + eq + 1, end - eq - 1} : (aw_span){NULL, 0};
            AW_GUARD(write_query_normalised(out, value));
            aw_writer_byte(out, '\n');
            matches++;
        }
        start = end + 1;
    }
    AW_ENSURE(matches > 0, AW_E_COMPONENT_MISSING);
    return AW_OK;
}

/* The scheme comes from the connection, not the peer; still, only RFC 3986 scheme
 * characters reach the base, lower-cased. */
static aw_result write_scheme(const aw_message *src, aw_writer *out)
{
    AW_ENSURE(src->scheme.len > 0, AW_E_COMPONENT_MISSING);
    for (size_t i = 0; i < src->scheme.len; i++) {
        uint8_t b = aw_ascii_lower(src->scheme.ptr[i]);
        bool ok = (b >= 'a' && b <= 'z') ||
                  (i > 0 && ((b >= '0' && b <= '9') || b == '+' || b == '-' || b == '.'));
        AW_ENSURE(ok, AW_E_FIELD_INVALID);
        aw_writer_byte(out, b);
    }
    return AW_OK;
}

typedef enum derived_id {
    D_UNKNOWN,
    D_STATUS,
    D_METHOD,
    D_AUTHORITY,
    D_SCHEME,
    D_TARGET_URI,
    D_REQUEST_TARGET,
    D_PATH,
    D_QUERY,
} derived_id;

#define NAME_IS(n, lit) ((n).len == sizeof(lit) - 1 && memcmp((n).ptr, lit, sizeof(lit) - 1) == 0)

/* Derived component names, dispatched on the length first. */
static derived_id derived_of(aw_span n)
{
    switch (n.len) {
    case 5:
        return NAME_IS(n, "@path") ? D_PATH : D_UNKNOWN;
    case 6:
        return NAME_IS(n, "@query") ? D_QUERY : D_UNKNOWN;
    case 7:
        if (NAME_IS(n, "@method")) {
            return D_METHOD;
        }
        if (NAME_IS(n, "@status")) {
            return D_STATUS;
        }
        return NAME_IS(n, "@scheme") ? D_SCHEME : D_UNKNOWN;
    case 10:
        return NAME_IS(n, "@authority") ? D_AUTHORITY : D_UNKNOWN;
    case 11:
        return NAME_IS(n, "@target-uri") ? D_TARGET_URI : D_UNKNOWN;
    case 15:
        return NAME_IS(n, "@request-target") ? D_REQUEST_TARGET : D_UNKNOWN;
    default:
        return D_UNKNOWN;
    }
}

/* aw_message_target_parts of the last message asked about, split once per base. */
typedef struct target_cache {
    const aw_message *src;
    aw_result r;
    aw_span path;
    aw_span query;
    bool has_query;
} target_cache;

static aw_result target_parts(const aw_message *src, target_cache *tc)
{
    if (tc->src != src) {
        tc->src = src;
        tc->r = aw_message_target_parts(src, &tc->path, &tc->query, &tc->has_query);
    }
    return tc->r;
}

static aw_result write_derived(const aw_message *src, const component *c, target_cache *tc,
                               aw_writer *out)
{
    derived_id id = derived_of(c->name);
    if (id == D_STATUS) {
        AW_ENSURE(src->is_response, AW_E_COMPONENT_UNKNOWN);
        aw_writer_i64(out, src->status);
        return AW_OK;
    }
    /* Every other derived component describes a request. */
    AW_ENSURE(!src->is_response, AW_E_COMPONENT_UNKNOWN);
    switch (id) {
    case D_METHOD:
        return write_ascii_value(out, src->method);
    case D_AUTHORITY:
        return aw_sigbase_authority(src, out);
    case D_SCHEME:
        return write_scheme(src, out);
    case D_TARGET_URI:
        if (src->target.len > 0 && src->target.ptr[0] != '/') {
            return write_ascii_value(out, src->target); /* already absolute-form */
        }
        AW_GUARD(write_scheme(src, out));
        aw_writer_cstr(out, "://");
        AW_GUARD(aw_sigbase_authority(src, out));
        return write_ascii_value(out, src->target);
    case D_REQUEST_TARGET:
        return write_ascii_value(out, src->target);
    default:
        break;
    }
    AW_GUARD(target_parts(src, tc));
    if (id == D_PATH) {
        /* An empty path is "/" (Section 2.2.6). */
        return write_ascii_value(out, tc->path.len > 0 ? tc->path : AW_SPAN_LIT("/"));
    }
    if (id == D_QUERY) {
        /* With no query the value is "?" (Section 2.2.7). */
        aw_writer_byte(out, '?');
        return write_ascii_value(out, tc->query);
    }
    return AW_E_COMPONENT_UNKNOWN;
}

static aw_result write_structured(aw_span value, field_sf_type type, const component *c,
                                  aw_arena *arena, aw_writer *out)
{
    const aw_sf_member *members;
    size_t n;
    if (c->has_key) {
        /* ;key selects one dictionary member (Section 2.1.2). */
        AW_ENSURE(type == FIELD_SF_DICT, AW_E_COMPONENT_UNKNOWN);
        AW_GUARD(aw_sf_parse_dict(value, 0, arena, &members, &n));
        const aw_sf_member *m = aw_sf_dict_find(members, n, c->key);
        AW_ENSURE(m != NULL, AW_E_COMPONENT_MISSING);
        return aw_sf_serialize_member(m, out);
    }
    switch (type) {
    case FIELD_SF_DICT:
        AW_GUARD(aw_sf_parse_dict(value, 0, arena, &members, &n));
        return aw_sf_serialize_dict(members, n, out);
    case FIELD_SF_LIST:
        AW_GUARD(aw_sf_parse_list(value, arena, &members, &n));
        return aw_sf_serialize_list(members, n, out);
    case FIELD_SF_ITEM: {
        aw_sf_item item;
        AW_GUARD(aw_sf_parse_item(value, arena, &item));
        return aw_sf_serialize_item(&item, out);
    }
    case FIELD_NOT_SF:
    default:
        return AW_E_COMPONENT_UNKNOWN;
    }
}

static aw_result write_field(const aw_message *src, const component *c, const aw_header *cached,
                             size_t n_cached, aw_arena *arena, aw_writer *out)
{
    if (c->bs) {
        /* ;bs wraps each field line as a byte sequence, joined with ", " (Section 2.1.3). */
        size_t count = 0;
        for (size_t i = 0; i < src->n_headers; i++) {
            if (aw_span_eq_nocase(src->headers[i].name, c->name)) {
                if (count++ > 0) {
                    aw_writer_cstr(out, ", ");
                }
                aw_writer_byte(out, ':');
                aw_writer_base64(out, src->headers[i].value.ptr, src->headers[i].value.len);
                aw_writer_byte(out, ':');
            }
        }
        AW_ENSURE(count > 0, AW_E_COMPONENT_MISSING);
        return AW_OK;
    }
    aw_span value;
    const aw_header *hit = NULL;
    for (size_t i = 0; i < n_cached; i++) {
        if (aw_span_eq(cached[i].name, c->name)) {
            hit = &cached[i];
            break;
        }
    }
    if (hit != NULL) {
        value = hit->value;
    } else {
        AW_GUARD(aw_message_field(src, c->name, arena, &value));
    }
    if (c->sf || c->has_key) {
        field_sf_type type = field_type(c->name);
        AW_ENSURE(type != FIELD_NOT_SF, AW_E_COMPONENT_UNKNOWN);
        return write_structured(value, type, c, arena, out);
    }
    return write_ascii_value(out, value);
}

aw_result aw_sigbase_build(const aw_message *msg, const aw_message *request,
                           const aw_sf_member *params, aw_arena *arena, aw_writer *out)
{
    return aw_sigbase_build_opts(msg, request, params, NULL, arena, out);
}

aw_result aw_sigbase_build_opts(const aw_message *msg, const aw_message *request,
                                const aw_sf_member *params, const aw_sigbase_opts *opts,
                                aw_arena *arena, aw_writer *out)
{
    AW_ENSURE(params->item.value.type == AW_SF_INNER_LIST, AW_E_SIG_BAD_PARAMS);
    AW_ENSURE(params->n_inner <= AW_SIGBASE_MAX_COMPONENTS, AW_E_TOO_LARGE);
    uint8_t ident_buf[AW_SIGBASE_MAX_COMPONENTS][256];
    aw_span idents[AW_SIGBASE_MAX_COMPONENTS];
    target_cache tc = {NULL, AW_OK, {NULL, 0}, {NULL, 0}, false};
    /* Bit (len % 64) is set once an identifier of that length was seen: only those can be
     * equal to a later one, so most identifiers skip the pairwise duplicate scan. */
    uint64_t lengths_seen = 0;

    for (size_t i = 0; i < params->n_inner; i++) {
        const aw_sf_item *item = &params->inner[i];
        component c;
        AW_GUARD(parse_component(item, &c));

        /* The identifier as it appears in the base: the serialised string with its
         * parameters. Two equal identifiers are a duplicate (Section 2.5). */
        if (opts != NULL && opts->identifiers != NULL) {
            idents[i] = opts->identifiers[i];
        } else {
            aw_writer ident;
            aw_writer_init(&ident, ident_buf[i], sizeof(ident_buf[i]));
            AW_GUARD(aw_sf_serialize_item(item, &ident));
            idents[i] = aw_writer_span_of(&ident);
        }
        uint64_t len_bit = (uint64_t)1 << (idents[i].len % 64);
        if ((lengths_seen & len_bit) != 0) {
            for (size_t k = 0; k < i; k++) {
                AW_ENSURE(!aw_span_eq(idents[k], idents[i]), AW_E_COMPONENT_DUPLICATE);
            }
        }
        lengths_seen |= len_bit;
        AW_ENSURE(!aw_span_eq(c.name, AW_SPAN_LIT("@signature-params")), AW_E_COMPONENT_UNKNOWN);

        const aw_message *src = msg;
        if (c.req) {
            /* ;req names the request a response answers (Section 2.4). */
            AW_ENSURE(msg->is_response, AW_E_COMPONENT_UNKNOWN);
            AW_ENSURE(request != NULL, AW_E_COMPONENT_MISSING);
            src = request;
        }
        if (c.has_qname) {
            AW_GUARD(write_query_params(src, idents[i], c.qname, out));
            continue;
        }
        write_line_head(out, idents[i]);
        if (c.name.ptr[0] == '@') {
            AW_GUARD(write_derived(src, &c, &tc, out));
        } else if (src == msg && opts != NULL) {
            AW_GUARD(write_field(src, &c, opts->fields, opts->n_fields, arena, out));
        } else {
            AW_GUARD(write_field(src, &c, NULL, 0, arena, out));
        }
        aw_writer_byte(out, '\n');
    }
    aw_writer_cstr(out, "\"@signature-params\": ");
    if (opts != NULL && opts->params_as_received && params->raw.len > 0) {
        if (opts->raw_from_parser) {
            aw_writer_span(out, params->raw);
        } else {
            AW_GUARD(write_ascii_value(out, params->raw));
        }
    } else {
        AW_GUARD(aw_sf_serialize_member(params, out));
    }
    return aw_writer_result(out);
}
