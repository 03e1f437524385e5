/* RFC 8941 Structured Field Values: the parsing algorithms of Section 4.2, followed step by
 * step, and the canonical serialisation of Section 4.1.
 *
 * Memory: everything the result needs beyond the input (member, parameter and inner-list
 * arrays, unescaped strings, decoded byte sequences) comes from the caller's arena. Arrays
 * grow by doubling inside the arena, in place when they are the newest allocation, so a
 * result never costs more than a small constant factor of its own size. Untrusted bytes are
 * only read through an aw_cursor. Nothing recurses: RFC 8941 inner lists cannot nest, so
 * the call depth is fixed by the grammar (list -> inner list -> item -> parameters). */
#include "authwire/sf.h"

#include <stddef.h>
#include <string.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define SF_SSE2 1
#endif

/* Integers have at most 15 digits (RFC 8941 Section 3.3.1); decimals at most 12 integer
 * and 3 fractional digits (Section 3.3.2), which in thousandths is the same bound. */
#define SF_MAX_INTEGER 999999999999999LL
#define SF_MAX_DECIMAL 999999999999999LL

/* First capacity of a growing array: most fields have a few members or parameters. */
#define SF_VEC_INITIAL 4

/* Below this many entries, duplicate keys are found by a linear scan (no scratch memory);
 * above, by sorting an index so that an attacker cannot make us quadratic. The index costs
 * one size_t per entry of arena, left behind after the parse (the arena cannot free). */
#define SF_DEDUP_LINEAR_MAX 16

/* An empty string or byte sequence still gets a non-NULL pointer. */
static const uint8_t sf_empty[1];

/* ---- character classes (RFC 8941 Section 3 ABNF, RFC 5234 core rules) ----
 * One table lookup per byte: parsing and serialising signature fields is on the verify hot
 * path, where a chain of comparisons per byte costs more than the HMAC. */

enum {
    SF_DIGIT = 1 << 0,
    SF_LCALPHA = 1 << 1,
    SF_ALPHA = 1 << 2,
    SF_TOKEN_START = 1 << 3, /* ALPHA / "*" */
    SF_TOKEN_CHAR = 1 << 4,  /* tchar / ":" / "/" (Section 3.3.4) */
    SF_KEY_START = 1 << 5,   /* lcalpha / "*" */
    SF_KEY_CHAR = 1 << 6,    /* lcalpha / DIGIT / "_" / "-" / "." / "*" (Section 3.1.2) */
    SF_B64 = 1 << 7,         /* the base64 alphabet plus "=" (Section 4.2.7 step 6) */
};

/* Generated from the definitions above (tests/test_sf.c checks every entry against them). */
static const uint8_t sf_class[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 */
    0x00, 0x10, 0x00, 0x10, 0x10, 0x10, 0x10, 0x10,
    0x00, 0x00, 0x78, 0x90, 0x00, 0x50, 0x50, 0x90, /* 0x20 */
    0xd1, 0xd1, 0xd1, 0xd1, 0xd1, 0xd1, 0xd1, 0xd1,
    0xd1, 0xd1, 0x10, 0x00, 0x00, 0x80, 0x00, 0x00, /* 0x30 */
    0x00, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c,
    0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, /* 0x40 */
    0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c,
    0x9c, 0x9c, 0x9c, 0x00, 0x00, 0x00, 0x10, 0x50, /* 0x50 */
    0x10, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe,
    0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, /* 0x60 */
    0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe,
    0xfe, 0xfe, 0xfe, 0x00, 0x10, 0x00, 0x10, 0x00, /* 0x70 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x80 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x90 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xa0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xb0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xc0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xd0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xe0 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0xf0 */
};

static bool sf_is(int c, unsigned cls)
{
    return c >= 0 && (sf_class[c] & cls) != 0;
}

static bool sf_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool sf_is_token_start(int c)
{
    return sf_is(c, SF_TOKEN_START);
}

static bool sf_is_token_char(int c)
{
    return sf_is(c, SF_TOKEN_CHAR);
}

static bool sf_is_key_start(int c)
{
    return sf_is(c, SF_KEY_START);
}

static bool sf_is_key_char(int c)
{
    return sf_is(c, SF_KEY_CHAR);
}

/* ---- cursor helpers ---- */

static void sf_skip_sp(aw_cursor *c)
{
    while (aw_cursor_eat(c, ' ')) {
    }
}

/* OWS = *( SP / HTAB ) (RFC 9110 Section 5.6.3), used between list and dictionary members. */
static void sf_skip_ows(aw_cursor *c)
{
    while (aw_cursor_eat(c, ' ') || aw_cursor_eat(c, '\t')) {
    }
}

/* The bytes consumed since `mark` (a copy of the cursor taken earlier). */
static aw_span sf_consumed_since(const aw_cursor *mark, const aw_cursor *c)
{
    aw_span rest = aw_cursor_rest(mark);
    return (aw_span){rest.ptr, c->pos - mark->pos};
}

/* ---- arrays grown inside the arena ---- */

typedef struct sf_vec {
    uint8_t *data;
    size_t n;
    size_t cap;
} sf_vec;

/* aw_arena_alloc inline, for the arrays and byte sequences of a parse (one call each on the
 * verify path adds up). align is a power-of-two constant at every call site. */
static inline void *sf_alloc(aw_arena *a, size_t size, size_t align)
{
    uintptr_t base = (uintptr_t)a->buf;
    uintptr_t at = (base + a->used + (align - 1)) & ~(uintptr_t)(align - 1);
    size_t offset = (size_t)(at - base);
    if (offset > a->cap || size > a->cap - offset) {
        return NULL;
    }
    a->used = offset + size;
    return a->buf + offset;
}

/* Tries to give v room for new_cap elements: in place when v is the newest allocation of
 * the arena, otherwise by copying into a fresh block (the old one is left behind). */
static inline bool sf_vec_reserve(aw_arena *a, sf_vec *v, size_t new_cap, size_t size, size_t align)
{
    if (new_cap > SIZE_MAX / size) {
        return false;
    }
    if (v->data != NULL && v->data + v->cap * size == a->buf + a->used) {
        /* With alignment 1 the arena hands out exactly the bytes that follow v. */
        uint8_t *more = sf_alloc(a, (new_cap - v->cap) * size, 1);
        if (more == NULL) {
            return false;
        }
        v->cap = new_cap;
        return true;
    }
    uint8_t *grown = sf_alloc(a, new_cap * size, align);
    if (grown == NULL) {
        return false;
    }
    if (v->n > 0) {
        memcpy(grown, v->data, v->n * size);
    }
    v->data = grown;
    v->cap = new_cap;
    return true;
}

/* Appends one element to v and returns it for the caller to fill in place (no copy of a
 * parsed element), or NULL when the arena is exhausted. */
static inline void *sf_vec_next(aw_arena *a, sf_vec *v, size_t size, size_t align)
{
    if (v->n == v->cap) {
        /* Always double, never "whatever still fits": the sequence of allocations then
         * does not depend on the arena's size, so an input that parses in an arena parses
         * in every larger one. */
        size_t doubled = v->cap == 0 ? SF_VEC_INITIAL : v->cap * 2;
        if (!sf_vec_reserve(a, v, doubled, size, align)) {
            return NULL;
        }
    }
    return v->data + v->n++ * size;
}

/* ---- duplicate keys ---- */

/* Parameters and dictionary members both start with their key, so one routine handles
 * both; the static assertions keep that true. */
_Static_assert(offsetof(aw_sf_param, key) == 0, "aw_sf_param must start with its key");
_Static_assert(offsetof(aw_sf_member, key) == 0, "aw_sf_member must start with its key");

typedef struct sf_keyed {
    uint8_t *base;
    size_t size;
} sf_keyed;

static aw_span sf_key_at(const sf_keyed *k, size_t i)
{
    aw_span key;
    memcpy(&key, k->base + i * k->size, sizeof(key));
    return key;
}

/* Orders by key bytes, then by position, so equal keys sit together in input order. */
static bool sf_index_less(const sf_keyed *k, size_t i, size_t j)
{
    aw_span a = sf_key_at(k, i);
    aw_span b = sf_key_at(k, j);
    size_t n = a.len < b.len ? a.len : b.len;
    int cmp = memcmp(a.ptr, b.ptr, n);
    if (cmp != 0) {
        return cmp < 0;
    }
    if (a.len != b.len) {
        return a.len < b.len;
    }
    return i < j;
}

static void sf_sift_down(const sf_keyed *k, size_t *idx, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) {
            return;
        }
        if (child + 1 < n && sf_index_less(k, idx[child], idx[child + 1])) {
            child++;
        }
        if (!sf_index_less(k, idx[root], idx[child])) {
            return;
        }
        size_t t = idx[root];
        idx[root] = idx[child];
        idx[child] = t;
        root = child;
    }
}

/* Heapsort: O(n log n) worst case and no allocation (qsort may call malloc). */
static void sf_sort_indices(const sf_keyed *k, size_t *idx, size_t n)
{
    for (size_t i = n / 2; i > 0; i--) {
        sf_sift_down(k, idx, i - 1, n);
    }
    for (size_t end = n; end > 1; end--) {
        size_t t = idx[0];
        idx[0] = idx[end - 1];
        idx[end - 1] = t;
        sf_sift_down(k, idx, 0, end - 1);
    }
}

/* Applies "if the key is already present, overwrite its value" (Section 4.2.2 step 3.5 and
 * Section 4.2.3.2 step 2.7) to entries collected in input order: the last value of a key
 * wins and stays at the position of the first occurrence. With reject, any repeat fails.
 * Valid keys are never empty, so an empty key marks an entry for removal. */
/* aw_span_eq for keys, the first bytes compared before memcmp is called (keys of equal
 * length usually differ there: "nonce" and "keyid", "alg" and "tag"). */
static inline bool sf_key_eq(aw_span a, aw_span b)
{
    return a.len == b.len &&
           (a.len == 0 || (a.ptr[0] == b.ptr[0] && memcmp(a.ptr, b.ptr, a.len) == 0));
}

static aw_result sf_dedup(aw_arena *a, sf_vec *v, size_t size, bool reject)
{
    sf_keyed k = {v->data, size};
    const aw_span removed = {sf_empty, 0};
    if (v->n < 2) {
        return AW_OK;
    }
    bool any_removed = false;
    if (v->n <= SF_DEDUP_LINEAR_MAX) {
        for (size_t i = 1; i < v->n; i++) {
            aw_span key = sf_key_at(&k, i);
            for (size_t j = 0; j < i; j++) {
                if (sf_key_eq(sf_key_at(&k, j), key)) {
                    AW_ENSURE(!reject, AW_E_SF_SYNTAX);
                    memcpy(v->data + j * size, v->data + i * size, size);
                    memcpy(v->data + i * size, &removed, sizeof(removed));
                    any_removed = true;
                    break;
                }
            }
        }
    } else {
        AW_ENSURE(v->n <= SIZE_MAX / sizeof(size_t), AW_E_BUFFER_TOO_SMALL);
        size_t *idx = aw_arena_alloc(a, v->n * sizeof(size_t), _Alignof(size_t));
        AW_ENSURE(idx != NULL, AW_E_BUFFER_TOO_SMALL);
        for (size_t i = 0; i < v->n; i++) {
            idx[i] = i;
        }
        sf_sort_indices(&k, idx, v->n);
        size_t g = 0;
        while (g < v->n) {
            size_t end = g + 1;
            while (end < v->n && aw_span_eq(sf_key_at(&k, idx[g]), sf_key_at(&k, idx[end]))) {
                end++;
            }
            if (end - g > 1) {
                AW_ENSURE(!reject, AW_E_SF_SYNTAX);
                memcpy(v->data + idx[g] * size, v->data + idx[end - 1] * size, size);
                for (size_t r = g + 1; r < end; r++) {
                    memcpy(v->data + idx[r] * size, &removed, sizeof(removed));
                }
                any_removed = true;
            }
            g = end;
        }
    }
    if (!any_removed) {
        return AW_OK;
    }
    size_t out = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (sf_key_at(&k, i).len == 0) {
            continue;
        }
        if (out != i) {
            memcpy(v->data + out * size, v->data + i * size, size);
        }
        out++;
    }
    v->n = out;
    return AW_OK;
}

/* ---- parsing (RFC 8941 Section 4.2) ---- */

/* Section 4.2.3.3: Parsing a Key. The key borrows from the input. */
static aw_result sf_parse_key(aw_cursor *c, aw_span *key)
{
    /* One table lookup per character over the rest of the input, bounded by its length. */
    aw_span rest = aw_cursor_rest(c);
    AW_ENSURE(rest.len > 0 && (sf_class[rest.ptr[0]] & SF_KEY_START) != 0, AW_E_SF_SYNTAX);
    size_t n = 1;
    while (n < rest.len && (sf_class[rest.ptr[n]] & SF_KEY_CHAR) != 0) {
        n++;
    }
    *key = (aw_span){rest.ptr, n};
    c->pos += n;
    return AW_OK;
}

/* Section 4.2.4: Parsing an Integer or Decimal. Lengths count the characters of
 * input_number exactly as the RFC does (the "." included), so the limits match it. */
static aw_result sf_parse_number(aw_cursor *c, aw_sf_value *out)
{
    bool negative = aw_cursor_eat(c, '-');
    aw_span rest = aw_cursor_rest(c);
    AW_ENSURE(rest.len > 0 && sf_is_digit(rest.ptr[0]), AW_E_SF_SYNTAX);
    bool decimal = false;
    size_t len = 0;
    size_t frac_digits = 0;
    int64_t int_part = 0;
    int64_t frac_part = 0;
    /* The integer digits, at most 15 (step 7.5). */
    while (len < rest.len && sf_is_digit(rest.ptr[len])) {
        AW_ENSURE(len < 15, AW_E_SF_SYNTAX);
        int_part = int_part * 10 + (rest.ptr[len] - '0');
        len++;
    }
    if (len < rest.len && rest.ptr[len] == '.') {
        /* At most 12 integer digits before the decimal point (step 7.3.1). */
        AW_ENSURE(len <= 12, AW_E_SF_SYNTAX);
        len++;
        decimal = true;
        /* At most 16 characters with the "." (step 7.6), which keeps the sum in range. */
        while (len < rest.len && sf_is_digit(rest.ptr[len])) {
            AW_ENSURE(len < 16, AW_E_SF_SYNTAX);
            frac_part = frac_part * 10 + (rest.ptr[len] - '0');
            frac_digits++;
            len++;
        }
    }
    c->pos += len;
    if (!decimal) {
        out->type = AW_SF_INTEGER;
        out->integer = negative ? -int_part : int_part;
        return AW_OK;
    }
    /* Step 9: a trailing "." or more than three fractional digits fail. */
    AW_ENSURE(frac_digits >= 1 && frac_digits <= 3, AW_E_SF_SYNTAX);
    for (size_t i = frac_digits; i < 3; i++) {
        frac_part *= 10;
    }
    int64_t thousandths = int_part * 1000 + frac_part;
    out->type = AW_SF_DECIMAL;
    out->integer = negative ? -thousandths : thousandths;
    return AW_OK;
}

/* Whether every byte of s is visible ASCII or SP (Section 4.2.5 step 3.4). Branch-free
 * so that it vectorises: strings are most of a Signature-Input field. */
static bool sf_all_printable(const uint8_t *p, size_t n)
{
    uint8_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad |= (uint8_t)((p[i] < 0x20) | (p[i] > 0x7e));
    }
    return bad == 0;
}

#ifdef SF_SSE2
/* One bit per byte of the 16 at p that may not stand unescaped in a string. Signed
 * compares: a byte from 0x80 is negative, so it counts as below SP. */
static inline unsigned sf_string_stops(const uint8_t *p)
{
    const __m128i sp = _mm_set1_epi8(0x20);
    const __m128i del = _mm_set1_epi8(0x7f);
    const __m128i dquote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, sp), _mm_cmpeq_epi8(x, del)),
                     _mm_or_si128(_mm_cmpeq_epi8(x, dquote), _mm_cmpeq_epi8(x, backslash)));
    return (unsigned)_mm_movemask_epi8(stop);
}
#endif

/* The length of the longest prefix of p[0..n) whose bytes may stand unescaped in a string:
 * visible ASCII or SP, but neither DQUOTE nor backslash (Section 4.2.5). The caller's
 * buffer also holds the `before` bytes that precede p, which the last 16-byte load may
 * overlap (their bits are shifted out) instead of going byte by byte. */
static inline size_t sf_plain_prefix(const uint8_t *p, size_t n, size_t before)
{
    size_t i = 0;
#ifdef SF_SSE2
    /* 16 bytes at a time while the input lasts (never past its end). */
    for (; i + 16 <= n; i += 16) {
        unsigned mask = sf_string_stops(p + i);
        if (mask != 0) {
            return i + (size_t)__builtin_ctz(mask);
        }
    }
    size_t left = n - i;
    if (left > 0 && before + i >= 16 - left) {
        /* The last 16 bytes of the buffer; the first 16 - left of them were checked already
         * or precede p. */
        unsigned mask = sf_string_stops(p + n - 16) >> (16 - left);
        return mask != 0 ? i + (size_t)__builtin_ctz(mask) : n;
    }
#endif
    while (i < n && p[i] >= 0x20 && p[i] <= 0x7e && p[i] != '"' && p[i] != '\\') {
        i++;
    }
    return i;
}

/* Section 4.2.5: Parsing a String. One scan finds the end of the plain prefix: a DQUOTE
 * there ends a string without escapes (the usual case), which borrows from the input. A
 * backslash there means escapes: the RFC's loop checks the string and unescapes it into
 * exactly its arena bytes. Anything else (a control byte, DEL, the end) fails. */
static aw_result sf_parse_string(aw_cursor *c, aw_arena *a, aw_span *out)
{
    AW_ENSURE(aw_cursor_eat(c, '"'), AW_E_SF_SYNTAX);
    aw_span rest = aw_cursor_rest(c);
    size_t span = sf_plain_prefix(rest.ptr, rest.len, c->pos);
    AW_ENSURE(span < rest.len, AW_E_SF_SYNTAX); /* step 4: no closing DQUOTE */
    if (rest.ptr[span] == '"') {
        *out = span == 0 ? (aw_span){sf_empty, 0} : (aw_span){rest.ptr, span};
        c->pos += span + 1;
        return AW_OK;
    }
    AW_ENSURE(rest.ptr[span] == '\\', AW_E_SF_SYNTAX); /* step 3.4 */
    /* With escapes the first DQUOTE may be escaped: run the RFC's loop. */
    aw_cursor scan = *c;
    size_t n = 0;
    for (;;) {
        int ch = aw_cursor_next(&scan);
        AW_ENSURE(ch >= 0, AW_E_SF_SYNTAX);
        if (ch == '\\') {
            ch = aw_cursor_next(&scan);
            AW_ENSURE(ch == '"' || ch == '\\', AW_E_SF_SYNTAX);
        } else if (ch == '"') {
            break;
        } else {
            AW_ENSURE(ch >= 0x20 && ch <= 0x7e, AW_E_SF_SYNTAX);
        }
        n++;
    }
    uint8_t *buf = sf_alloc(a, n == 0 ? 1 : n, 1);
    AW_ENSURE(buf != NULL, AW_E_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < n; i++) {
        int ch = aw_cursor_next(c);
        if (ch == '\\') {
            ch = aw_cursor_next(c);
        }
        buf[i] = (uint8_t)ch;
    }
    AW_ENSURE(aw_cursor_eat(c, '"'), AW_E_INTERNAL);
    *out = (aw_span){buf, n};
    return AW_OK;
}

/* Section 4.2.6: Parsing a Token. The token borrows from the input. */
static aw_result sf_parse_token(aw_cursor *c, aw_span *out)
{
    aw_span rest = aw_cursor_rest(c);
    AW_ENSURE(rest.len > 0 && (sf_class[rest.ptr[0]] & SF_TOKEN_START) != 0, AW_E_SF_SYNTAX);
    size_t n = 1;
    while (n < rest.len && (sf_class[rest.ptr[n]] & SF_TOKEN_CHAR) != 0) {
        n++;
    }
    *out = (aw_span){rest.ptr, n};
    c->pos += n;
    return AW_OK;
}

/* Section 4.2.7: Parsing a Byte Sequence. As the RFC advises, missing "=" padding and
 * non-zero pad bits are accepted; "=" anywhere but at the end still fails in the decoder. */
static aw_result sf_parse_bytes(aw_cursor *c, aw_arena *a, aw_span *out)
{
    AW_ENSURE(aw_cursor_eat(c, ':'), AW_E_SF_SYNTAX);
    aw_span rest = aw_cursor_rest(c);
    const uint8_t *end = rest.len > 0 ? memchr(rest.ptr, ':', rest.len) : NULL;
    AW_ENSURE(end != NULL, AW_E_SF_SYNTAX); /* step 2: no closing ":" */
    aw_span b64 = {rest.ptr, (size_t)(end - rest.ptr)};
    c->pos += b64.len + 1; /* the sequence and the closing ":" */
    if (b64.len == 0) {
        *out = (aw_span){sf_empty, 0};
        return AW_OK;
    }
    size_t cap = b64.len / 4 * 3 + 3;
    const unsigned flags = AW_BASE64_ALLOW_NO_PADDING | AW_BASE64_ALLOW_NONZERO_BITS;
    size_t n = 0;
    uint8_t small[96];
    if (cap <= sizeof(small) && aw_base64_decode(b64, flags, small, sizeof(small), &n) == AW_OK) {
        /* The usual case (a signature, a digest): decoded on the stack, which checked every
         * character, then copied into the arena. */
        uint8_t *buf = sf_alloc(a, cap, 1);
        AW_ENSURE(buf != NULL, AW_E_BUFFER_TOO_SMALL);
        memcpy(buf, small, n);
        *out = (aw_span){buf, n};
        return AW_OK;
    }
    /* Step 6, branch-free over the whole sequence: the base64 alphabet and "=". */
    uint8_t ok = SF_B64;
    for (size_t i = 0; i < b64.len; i++) {
        ok &= sf_class[b64.ptr[i]];
    }
    AW_ENSURE((ok & SF_B64) != 0, AW_E_SF_SYNTAX);
    uint8_t *buf = sf_alloc(a, cap, 1);
    AW_ENSURE(buf != NULL, AW_E_BUFFER_TOO_SMALL);
    aw_result r = aw_base64_decode(b64, flags, buf, cap, &n);
    if (r == AW_E_MALFORMED) {
        return AW_E_SF_SYNTAX;
    }
    AW_GUARD(r);
    *out = (aw_span){buf, n};
    return AW_OK;
}

/* Section 4.2.8: Parsing a Boolean. */
static aw_result sf_parse_boolean(aw_cursor *c, aw_sf_value *out)
{
    AW_ENSURE(aw_cursor_eat(c, '?'), AW_E_SF_SYNTAX);
    out->type = AW_SF_BOOLEAN;
    if (aw_cursor_eat(c, '1')) {
        out->integer = 1;
        return AW_OK;
    }
    AW_ENSURE(aw_cursor_eat(c, '0'), AW_E_SF_SYNTAX);
    out->integer = 0;
    return AW_OK;
}

/* Section 4.2.3.1: Parsing a Bare Item, dispatched on the first character. */
static aw_result sf_parse_bare_item_any(aw_cursor *c, aw_arena *a, aw_sf_value *out)
{
    *out = (aw_sf_value){0};
    int ch = aw_cursor_peek(c);
    if (ch == '-' || sf_is_digit(ch)) {
        return sf_parse_number(c, out);
    }
    if (ch == '"') {
        out->type = AW_SF_STRING;
        return sf_parse_string(c, a, &out->str);
    }
    if (ch == ':') {
        out->type = AW_SF_BYTES;
        return sf_parse_bytes(c, a, &out->str);
    }
    if (ch == '?') {
        return sf_parse_boolean(c, out);
    }
    if (sf_is_token_start(ch)) {
        out->type = AW_SF_TOKEN;
        return sf_parse_token(c, &out->str);
    }
    return AW_E_SF_SYNTAX;
}

/* sf_parse_bare_item_any with its usual case inline: a string without escapes (every
 * component identifier and most signature parameters), found by one scan and borrowed from
 * the input exactly as sf_parse_string does. Anything else, escapes included, takes the
 * full dispatch, which scans the string again. */
static inline aw_result sf_parse_bare_item(aw_cursor *c, aw_arena *a, aw_sf_value *out)
{
    aw_span rest = aw_cursor_rest(c);
    if (rest.len > 1 && rest.ptr[0] == '"') {
        size_t span = sf_plain_prefix(rest.ptr + 1, rest.len - 1, c->pos + 1);
        if (span < rest.len - 1 && rest.ptr[1 + span] == '"') {
            *out =
                (aw_sf_value){AW_SF_STRING, 0,
                              span == 0 ? (aw_span){sf_empty, 0} : (aw_span){rest.ptr + 1, span}};
            c->pos += span + 2;
            return AW_OK;
        }
    }
    return sf_parse_bare_item_any(c, a, out);
}

/* Section 4.2.3.2: Parsing Parameters. */
static aw_result sf_parse_params(aw_cursor *c, unsigned flags, aw_arena *a,
                                 const aw_sf_param **params, size_t *n_params)
{
    sf_vec v = {NULL, 0, 0};
    while (aw_cursor_eat(c, ';')) {
        aw_sf_param *p = sf_vec_next(a, &v, sizeof(*p), _Alignof(aw_sf_param));
        AW_ENSURE(p != NULL, AW_E_BUFFER_TOO_SMALL);
        sf_skip_sp(c);
        AW_GUARD(sf_parse_key(c, &p->key));
        if (aw_cursor_eat(c, '=')) {
            AW_GUARD(sf_parse_bare_item(c, a, &p->value));
        } else {
            p->value = (aw_sf_value){.type = AW_SF_BOOLEAN, .integer = 1};
        }
    }
    AW_GUARD(sf_dedup(a, &v, sizeof(aw_sf_param), (flags & AW_SF_REJECT_DUPLICATE_PARAMS) != 0));
    *params = (const aw_sf_param *)(const void *)v.data;
    *n_params = v.n;
    return AW_OK;
}

/* sf_parse_params without the call when no parameter follows (most inner-list items). */
static inline aw_result sf_parse_params_if_any(aw_cursor *c, unsigned flags, aw_arena *a,
                                               const aw_sf_param **params, size_t *n_params)
{
    if (aw_cursor_peek(c) != ';') {
        *params = NULL;
        *n_params = 0;
        return AW_OK;
    }
    return sf_parse_params(c, flags, a, params, n_params);
}

/* Section 4.2.3: Parsing an Item. */
static inline aw_result sf_parse_item(aw_cursor *c, unsigned flags, aw_arena *a, aw_sf_item *out)
{
    AW_GUARD(sf_parse_bare_item(c, a, &out->value));
    return sf_parse_params_if_any(c, flags, a, &out->params, &out->n_params);
}

/* Section 4.2.1.2: Parsing an Inner List. */
static aw_result sf_parse_inner_list(aw_cursor *c, unsigned flags, aw_arena *a, aw_sf_member *out)
{
    AW_ENSURE(aw_cursor_eat(c, '('), AW_E_SF_SYNTAX);
    sf_vec v = {NULL, 0, 0};
    for (;;) {
        sf_skip_sp(c);
        AW_ENSURE(!aw_cursor_eof(c), AW_E_SF_SYNTAX); /* step 3: no closing ")" */
        if (aw_cursor_eat(c, ')')) {
            break;
        }
        aw_sf_item *item = sf_vec_next(a, &v, sizeof(*item), _Alignof(aw_sf_item));
        AW_ENSURE(item != NULL, AW_E_BUFFER_TOO_SMALL);
        AW_GUARD(sf_parse_item(c, flags, a, item));
        /* Step 2.5: items are separated by SP, or the list ends. */
        int ch = aw_cursor_peek(c);
        AW_ENSURE(ch == ' ' || ch == ')', AW_E_SF_SYNTAX);
    }
    out->item.value = (aw_sf_value){.type = AW_SF_INNER_LIST};
    out->inner = (const aw_sf_item *)(const void *)v.data;
    out->n_inner = v.n;
    return sf_parse_params(c, flags, a, &out->item.params, &out->item.n_params);
}

/* Section 4.2.1.1: Parsing an Item or Inner List. */
static aw_result sf_parse_member(aw_cursor *c, unsigned flags, aw_arena *a, aw_sf_member *out)
{
    if (aw_cursor_peek(c) == '(') {
        return sf_parse_inner_list(c, flags, a, out);
    }
    return sf_parse_item(c, flags, a, &out->item);
}

/* After a list or dictionary member (Section 4.2.1 steps 1.2-1.6, Section 4.2.2 steps
 * 1.4-1.8): sets *done at the end of input, otherwise consumes the "," separator and fails
 * on a trailing comma. */
static aw_result sf_member_separator(aw_cursor *c, bool *done)
{
    sf_skip_ows(c);
    if (aw_cursor_eof(c)) {
        *done = true;
        return AW_OK;
    }
    AW_ENSURE(aw_cursor_eat(c, ','), AW_E_SF_SYNTAX);
    sf_skip_ows(c);
    AW_ENSURE(!aw_cursor_eof(c), AW_E_SF_SYNTAX);
    *done = false;
    return AW_OK;
}

/* Section 4.2.1: Parsing a List. */
static aw_result sf_parse_list_members(aw_cursor *c, aw_arena *a, sf_vec *v)
{
    bool done = aw_cursor_eof(c);
    while (!done) {
        aw_sf_member *m = sf_vec_next(a, v, sizeof(*m), _Alignof(aw_sf_member));
        AW_ENSURE(m != NULL, AW_E_BUFFER_TOO_SMALL);
        *m = (aw_sf_member){{NULL, 0}, {{0}, NULL, 0}, NULL, 0, {NULL, 0}};
        aw_cursor mark = *c;
        AW_GUARD(sf_parse_member(c, 0, a, m));
        m->raw = sf_consumed_since(&mark, c);
        AW_GUARD(sf_member_separator(c, &done));
    }
    return AW_OK;
}

/* Section 4.2.2: Parsing a Dictionary. */
static aw_result sf_parse_dict_members(aw_cursor *c, unsigned flags, aw_arena *a, sf_vec *v)
{
    bool done = aw_cursor_eof(c);
    while (!done) {
        aw_sf_member *m = sf_vec_next(a, v, sizeof(*m), _Alignof(aw_sf_member));
        AW_ENSURE(m != NULL, AW_E_BUFFER_TOO_SMALL);
        *m = (aw_sf_member){{NULL, 0}, {{0}, NULL, 0}, NULL, 0, {NULL, 0}};
        AW_GUARD(sf_parse_key(c, &m->key));
        if (aw_cursor_eat(c, '=')) {
            aw_cursor mark = *c;
            AW_GUARD(sf_parse_member(c, flags, a, m));
            m->raw = sf_consumed_since(&mark, c);
        } else {
            /* Step 3.3: a key without "=" is Boolean true, with parameters. */
            m->item.value = (aw_sf_value){.type = AW_SF_BOOLEAN, .integer = 1};
            AW_GUARD(sf_parse_params(c, flags, a, &m->item.params, &m->item.n_params));
        }
        AW_GUARD(sf_member_separator(c, &done));
    }
    return sf_dedup(a, v, sizeof(aw_sf_member), (flags & AW_SF_REJECT_DUPLICATE_KEYS) != 0);
}

/* Section 4.2 steps 1-2: the input must be ASCII; leading SP is discarded. */
static aw_result sf_begin(aw_span input, aw_cursor *c)
{
    aw_cursor_init(c, input);
    /* An OR over every byte, not a branch per byte: 16 bytes at a time with SSE2 (the last
     * block overlapping the one before), otherwise a loop the compiler can vectorise. */
    uint8_t high = 0;
    size_t i = 0;
#ifdef SF_SSE2
    if (input.len >= 16) {
        __m128i acc = _mm_setzero_si128();
        for (; i + 16 <= input.len; i += 16) {
            acc =
                _mm_or_si128(acc, _mm_loadu_si128((const __m128i *)(const void *)(input.ptr + i)));
        }
        if (i < input.len) {
            acc = _mm_or_si128(
                acc, _mm_loadu_si128((const __m128i *)(const void *)(input.ptr + input.len - 16)));
        }
        high = _mm_movemask_epi8(acc) != 0 ? 0x80 : 0;
        i = input.len;
    }
#endif
    for (; i < input.len; i++) {
        high |= input.ptr[i];
    }
    AW_ENSURE(high < 0x80, AW_E_SF_SYNTAX);
    sf_skip_sp(c);
    return AW_OK;
}

/* Section 4.2 steps 6-7: trailing SP is discarded; anything else left over fails. */
static aw_result sf_end(aw_cursor *c)
{
    sf_skip_sp(c);
    AW_ENSURE(aw_cursor_eof(c), AW_E_SF_SYNTAX);
    return AW_OK;
}

aw_result aw_sf_parse_item(aw_span input, aw_arena *arena, aw_sf_item *out)
{
    aw_cursor c;
    *out = (aw_sf_item){.value = {0}};
    AW_ENSURE(arena != NULL && (input.ptr != NULL || input.len == 0), AW_E_INVALID_ARG);
    AW_GUARD(sf_begin(input, &c));
    AW_GUARD(sf_parse_item(&c, 0, arena, out));
    return sf_end(&c);
}

aw_result aw_sf_parse_list(aw_span input, aw_arena *arena, const aw_sf_member **members,
                           size_t *n_members)
{
    aw_cursor c;
    sf_vec v = {NULL, 0, 0};
    *members = NULL;
    *n_members = 0;
    AW_ENSURE(arena != NULL && (input.ptr != NULL || input.len == 0), AW_E_INVALID_ARG);
    AW_GUARD(sf_begin(input, &c));
    AW_GUARD(sf_parse_list_members(&c, arena, &v));
    AW_GUARD(sf_end(&c));
    *members = (const aw_sf_member *)(const void *)v.data;
    *n_members = v.n;
    return AW_OK;
}

/* The shape of nearly every Signature field: one member whose value is a non-empty byte
 * sequence, with no parameters and no spaces ("sig1=:base64:"). When the input has exactly
 * that shape and its base64 decodes, this builds the very result the general parser would,
 * with the same arena allocations in the same order (the member array, then the bytes); it
 * returns false, leaving the arena as it found it, for anything else, and the general parser
 * then decides (and reports any error) as before. A successful decode also proves what the
 * general parser checks: the sequence holds only base64 characters (no ':', no byte from
 * 0x80), so its closing ':' is the last byte and the whole input is ASCII. */
static bool sf_dict_single_bytes(aw_span in, aw_arena *a, sf_vec *v)
{
    const uint8_t *p = in.ptr;
    size_t n = in.len;
    if (n < 5 || (sf_class[p[0]] & SF_KEY_START) == 0 || p[n - 1] != ':') {
        return false;
    }
    size_t k = 1;
    while (k < n && (sf_class[p[k]] & SF_KEY_CHAR) != 0) {
        k++;
    }
    if (k + 3 >= n || p[k] != '=' || p[k + 1] != ':') {
        return false;
    }
    aw_span b64 = {p + k + 2, n - k - 3};
    size_t mark = a->used;
    aw_sf_member *m = sf_vec_next(a, v, sizeof(*m), _Alignof(aw_sf_member));
    size_t cap = b64.len / 4 * 3 + 3; /* as sf_parse_bytes sizes it */
    uint8_t *buf = m != NULL ? sf_alloc(a, cap, 1) : NULL;
    size_t len = 0;
    if (buf == NULL ||
        aw_base64_decode(b64, AW_BASE64_ALLOW_NO_PADDING | AW_BASE64_ALLOW_NONZERO_BITS, buf, cap,
                         &len) != AW_OK) {
        a->used = mark;
        *v = (sf_vec){NULL, 0, 0};
        return false;
    }
    *m = (aw_sf_member){
        {p, k}, {{AW_SF_BYTES, 0, {buf, len}}, NULL, 0}, NULL, 0, {p + k + 1, n - k - 1}};
    return true;
}

/* Scans a string without escapes starting at p[i] == '"': sets *str as the general parser
 * would and returns the index after the closing DQUOTE, or 0 when the string has escapes,
 * bad bytes or no end (the caller then gives up). */
static inline size_t sf_scan_plain_string(const uint8_t *p, size_t n, size_t i, aw_span *str)
{
    size_t span = sf_plain_prefix(p + i + 1, n - i - 1, i + 1);
    if (span >= n - i - 1 || p[i + 1 + span] != '"') {
        return 0;
    }
    *str = span == 0 ? (aw_span){sf_empty, 0} : (aw_span){p + i + 1, span};
    return i + span + 2;
}

/* The shape of nearly every Signature-Input field: one member, an inner list of strings
 * without escapes separated by one SP, then parameters each "key=" with a string without
 * escapes or an integer, no other spaces, nothing after (sig1=("@method" "@path");
 * created=1;keyid="k"). As sf_dict_single_bytes: for exactly that shape it builds the
 * general parser's result with the same arena allocations in the same order (the member
 * array, the item array, the parameter array, each grown alike); for anything else, a
 * repeated parameter included, it restores the arena and returns false, and the general
 * parser decides. Every byte it accepts is ASCII (strings stop at bytes from 0x80). */
static bool sf_dict_single_inner_list(aw_span in, aw_arena *a, sf_vec *v)
{
    const uint8_t *p = in.ptr;
    size_t n = in.len;
    if (n < 4 || (sf_class[p[0]] & SF_KEY_START) == 0) {
        return false;
    }
    size_t i = 1;
    while (i < n && (sf_class[p[i]] & SF_KEY_CHAR) != 0) {
        i++;
    }
    if (i + 2 >= n || p[i] != '=' || p[i + 1] != '(') {
        return false;
    }
    size_t mark = a->used;
    size_t key_len = i;
    size_t raw_start = i + 1;
    i += 2;
    aw_sf_member *m = sf_vec_next(a, v, sizeof(*m), _Alignof(aw_sf_member));
    if (m == NULL) {
        goto fail;
    }
    *m = (aw_sf_member){
        {p, key_len}, {{AW_SF_INNER_LIST, 0, {NULL, 0}}, NULL, 0}, NULL, 0, {NULL, 0}};
    sf_vec items = {NULL, 0, 0};
    if (p[i] == ')') {
        i++;
    } else {
        for (;;) {
            aw_span str;
            if (p[i] != '"') {
                goto fail;
            }
            aw_sf_item *item = sf_vec_next(a, &items, sizeof(*item), _Alignof(aw_sf_item));
            size_t next = sf_scan_plain_string(p, n, i, &str);
            if (item == NULL || next == 0 || next + 1 >= n) {
                goto fail;
            }
            *item = (aw_sf_item){{AW_SF_STRING, 0, str}, NULL, 0};
            i = next + 1;
            if (p[next] == ')') {
                break;
            }
            if (p[next] != ' ') {
                goto fail;
            }
        }
    }
    m->inner = (const aw_sf_item *)(const void *)items.data;
    m->n_inner = items.n;
    sf_vec params = {NULL, 0, 0};
    while (i < n && p[i] == ';') {
        i++;
        aw_sf_param *q = sf_vec_next(a, &params, sizeof(*q), _Alignof(aw_sf_param));
        if (q == NULL || i >= n || (sf_class[p[i]] & SF_KEY_START) == 0) {
            goto fail;
        }
        size_t k0 = i++;
        while (i < n && (sf_class[p[i]] & SF_KEY_CHAR) != 0) {
            i++;
        }
        q->key = (aw_span){p + k0, i - k0};
        if (i + 1 >= n || p[i] != '=') {
            goto fail;
        }
        i++;
        if (p[i] == '"') {
            aw_span str;
            size_t next = sf_scan_plain_string(p, n, i, &str);
            if (next == 0) {
                goto fail;
            }
            q->value = (aw_sf_value){AW_SF_STRING, 0, str};
            i = next;
        } else {
            bool negative = p[i] == '-';
            i += negative ? 1 : 0;
            size_t d0 = i;
            int64_t value = 0;
            while (i < n && sf_is_digit(p[i]) && i - d0 < 15) {
                value = value * 10 + (p[i] - '0');
                i++;
            }
            /* No digit, a 16th digit or a decimal point: the general parser decides. */
            if (i == d0 || (i < n && (sf_is_digit(p[i]) || p[i] == '.'))) {
                goto fail;
            }
            q->value = (aw_sf_value){AW_SF_INTEGER, negative ? -value : value, {NULL, 0}};
        }
    }
    if (i != n || params.n > SF_DEDUP_LINEAR_MAX) {
        goto fail;
    }
    for (size_t x = 1; x < params.n; x++) {
        const aw_sf_param *ps = (const aw_sf_param *)(const void *)params.data;
        for (size_t y = 0; y < x; y++) {
            if (sf_key_eq(ps[x].key, ps[y].key)) {
                goto fail;
            }
        }
    }
    m->item.params = (const aw_sf_param *)(const void *)params.data;
    m->item.n_params = params.n;
    m->raw = (aw_span){p + raw_start, n - raw_start};
    return true;
fail:
    a->used = mark;
    *v = (sf_vec){NULL, 0, 0};
    return false;
}

aw_result aw_sf_parse_dict(aw_span input, unsigned flags, aw_arena *arena,
                           const aw_sf_member **members, size_t *n_members)
{
    aw_cursor c;
    sf_vec v = {NULL, 0, 0};
    *members = NULL;
    *n_members = 0;
    AW_ENSURE(arena != NULL && (input.ptr != NULL || input.len == 0), AW_E_INVALID_ARG);
    if (sf_dict_single_bytes(input, arena, &v) || sf_dict_single_inner_list(input, arena, &v)) {
        *members = (const aw_sf_member *)(const void *)v.data;
        *n_members = 1;
        return AW_OK;
    }
    AW_GUARD(sf_begin(input, &c));
    AW_GUARD(sf_parse_dict_members(&c, flags, arena, &v));
    AW_GUARD(sf_end(&c));
    *members = (const aw_sf_member *)(const void *)v.data;
    *n_members = v.n;
    return AW_OK;
}

/* ---- serialisation (RFC 8941 Section 4.1) ---- */

/* Section 4.1.1.3: Serializing a Key. */
static aw_result sf_serialize_key(aw_span key, aw_writer *w)
{
    aw_cursor c;
    aw_cursor_init(&c, key);
    AW_ENSURE(sf_is_key_start(aw_cursor_next(&c)), AW_E_SF_SYNTAX);
    while (!aw_cursor_eof(&c)) {
        AW_ENSURE(sf_is_key_char(aw_cursor_next(&c)), AW_E_SF_SYNTAX);
    }
    aw_writer_span(w, key);
    return AW_OK;
}

/* Section 4.1.4: Serializing an Integer. */
static aw_result sf_serialize_integer(int64_t v, aw_writer *w)
{
    AW_ENSURE(v >= -SF_MAX_INTEGER && v <= SF_MAX_INTEGER, AW_E_SF_SYNTAX);
    aw_writer_i64(w, v);
    return AW_OK;
}

/* Section 4.1.5: Serializing a Decimal. The value is already rounded to thousandths; the
 * fraction is written with its trailing zeros removed but at least one digit. */
static aw_result sf_serialize_decimal(int64_t thousandths, aw_writer *w)
{
    AW_ENSURE(thousandths >= -SF_MAX_DECIMAL && thousandths <= SF_MAX_DECIMAL, AW_E_SF_SYNTAX);
    int64_t magnitude = thousandths < 0 ? -thousandths : thousandths;
    if (thousandths < 0) {
        aw_writer_byte(w, '-');
    }
    aw_writer_i64(w, magnitude / 1000);
    aw_writer_byte(w, '.');
    int64_t frac = magnitude % 1000;
    aw_writer_byte(w, (uint8_t)('0' + frac / 100));
    if (frac % 100 != 0) {
        aw_writer_byte(w, (uint8_t)('0' + frac / 10 % 10));
        if (frac % 10 != 0) {
            aw_writer_byte(w, (uint8_t)('0' + frac % 10));
        }
    }
    return AW_OK;
}

/* Section 4.1.6: Serializing a String. One pass checks the characters and counts escapes;
 * without escapes the string is copied in one go. */
static aw_result sf_serialize_string(aw_span s, aw_writer *w)
{
    AW_ENSURE(s.len == 0 || sf_all_printable(s.ptr, s.len), AW_E_SF_SYNTAX);
    bool escapes =
        s.len > 0 && (memchr(s.ptr, '"', s.len) != NULL || memchr(s.ptr, '\\', s.len) != NULL);
    aw_writer_byte(w, '"');
    if (!escapes) {
        aw_writer_span(w, s);
    } else {
        for (size_t i = 0; i < s.len; i++) {
            if (s.ptr[i] == '"' || s.ptr[i] == '\\') {
                aw_writer_byte(w, '\\');
            }
            aw_writer_byte(w, s.ptr[i]);
        }
    }
    aw_writer_byte(w, '"');
    return AW_OK;
}

/* Section 4.1.7: Serializing a Token. */
static aw_result sf_serialize_token(aw_span s, aw_writer *w)
{
    aw_cursor c;
    aw_cursor_init(&c, s);
    AW_ENSURE(sf_is_token_start(aw_cursor_next(&c)), AW_E_SF_SYNTAX);
    while (!aw_cursor_eof(&c)) {
        AW_ENSURE(sf_is_token_char(aw_cursor_next(&c)), AW_E_SF_SYNTAX);
    }
    aw_writer_span(w, s);
    return AW_OK;
}

aw_result aw_sf_serialize_value(const aw_sf_value *v, aw_writer *w)
{
    switch (v->type) {
    case AW_SF_INTEGER:
        AW_GUARD(sf_serialize_integer(v->integer, w));
        break;
    case AW_SF_DECIMAL:
        AW_GUARD(sf_serialize_decimal(v->integer, w));
        break;
    case AW_SF_STRING:
        AW_GUARD(sf_serialize_string(v->str, w));
        break;
    case AW_SF_TOKEN:
        AW_GUARD(sf_serialize_token(v->str, w));
        break;
    case AW_SF_BYTES:
        /* Section 4.1.8: base64 with padding between colons. */
        aw_writer_byte(w, ':');
        aw_writer_base64(w, v->str.ptr, v->str.len);
        aw_writer_byte(w, ':');
        break;
    case AW_SF_BOOLEAN:
        /* Section 4.1.9. */
        AW_ENSURE(v->integer == 0 || v->integer == 1, AW_E_SF_SYNTAX);
        aw_writer_cstr(w, v->integer == 1 ? "?1" : "?0");
        break;
    case AW_SF_INNER_LIST:
        /* An inner list is not a bare item; only aw_sf_serialize_member writes one. */
        return AW_E_SF_SYNTAX;
    default:
        return AW_E_SF_SYNTAX;
    }
    return aw_writer_result(w);
}

/* Section 4.1.1.2: Serializing Parameters. Boolean true is written as the bare key. */
aw_result aw_sf_serialize_params(const aw_sf_param *params, size_t n, aw_writer *w)
{
    for (size_t i = 0; i < n; i++) {
        aw_writer_byte(w, ';');
        AW_GUARD(sf_serialize_key(params[i].key, w));
        const aw_sf_value *v = &params[i].value;
        if (v->type == AW_SF_BOOLEAN && v->integer == 1) {
            continue;
        }
        aw_writer_byte(w, '=');
        AW_GUARD(aw_sf_serialize_value(v, w));
    }
    return aw_writer_result(w);
}

/* Section 4.1.3: Serializing an Item. */
aw_result aw_sf_serialize_item(const aw_sf_item *item, aw_writer *w)
{
    AW_GUARD(aw_sf_serialize_value(&item->value, w));
    return aw_sf_serialize_params(item->params, item->n_params, w);
}

/* Section 4.1.1.1: Serializing an Inner List, or Section 4.1.3 for a plain item. */
aw_result aw_sf_serialize_member(const aw_sf_member *m, aw_writer *w)
{
    if (m->item.value.type != AW_SF_INNER_LIST) {
        return aw_sf_serialize_item(&m->item, w);
    }
    aw_writer_byte(w, '(');
    for (size_t i = 0; i < m->n_inner; i++) {
        if (i > 0) {
            aw_writer_byte(w, ' ');
        }
        /* aw_sf_serialize_item refuses a nested inner list, as the grammar does. */
        AW_GUARD(aw_sf_serialize_item(&m->inner[i], w));
    }
    aw_writer_byte(w, ')');
    return aw_sf_serialize_params(m->item.params, m->item.n_params, w);
}

/* Section 4.1.1: Serializing a List. An empty list writes nothing: the RFC says the field
 * is then not sent at all, which is the caller's decision. */
aw_result aw_sf_serialize_list(const aw_sf_member *members, size_t n, aw_writer *w)
{
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            aw_writer_cstr(w, ", ");
        }
        AW_GUARD(aw_sf_serialize_member(&members[i], w));
    }
    return aw_writer_result(w);
}

/* Section 4.1.2: Serializing a Dictionary. A member whose value is Boolean true (and not an
 * inner list) is written as its key and parameters only. */
aw_result aw_sf_serialize_dict(const aw_sf_member *members, size_t n, aw_writer *w)
{
    for (size_t i = 0; i < n; i++) {
        const aw_sf_member *m = &members[i];
        if (i > 0) {
            aw_writer_cstr(w, ", ");
        }
        AW_GUARD(sf_serialize_key(m->key, w));
        if (m->item.value.type == AW_SF_BOOLEAN && m->item.value.integer == 1) {
            AW_GUARD(aw_sf_serialize_params(m->item.params, m->item.n_params, w));
        } else {
            aw_writer_byte(w, '=');
            AW_GUARD(aw_sf_serialize_member(m, w));
        }
    }
    return aw_writer_result(w);
}

const aw_sf_param *aw_sf_param_find(const aw_sf_param *params, size_t n, const char *key)
{
    if (key == NULL) {
        return NULL;
    }
    aw_span k = aw_span_cstr(key);
    for (size_t i = 0; i < n; i++) {
        if (aw_span_eq(params[i].key, k)) {
            return &params[i];
        }
    }
    return NULL;
}

const aw_sf_member *aw_sf_dict_find(const aw_sf_member *members, size_t n, aw_span key)
{
    for (size_t i = 0; i < n; i++) {
        if (aw_span_eq(members[i].key, key)) {
            return &members[i];
        }
    }
    return NULL;
}
