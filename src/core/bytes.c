/* Spans, the bounded writer and cursor, the arena, base64 and hex. */
#include "authwire/bytes.h"

#include <string.h>

aw_span aw_span_cstr(const char *s)
{
    if (s == NULL) {
        return (aw_span){NULL, 0};
    }
    return (aw_span){(const uint8_t *)s, strlen(s)};
}

void aw_writer_i64(aw_writer *w, int64_t v)
{
    char digits[24];
    size_t n = 0;
    /* Work in unsigned so INT64_MIN negates without overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + (u % 10));
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        aw_writer_byte(w, '-');
    }
    while (n > 0) {
        aw_writer_byte(w, (uint8_t)digits[--n]);
    }
}

static const char base64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void write_base64(aw_writer *w, const uint8_t *data, size_t len, const char *alphabet,
                         bool pad)
{
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        aw_writer_byte(w, (uint8_t)alphabet[v >> 18 & 63]);
        aw_writer_byte(w, (uint8_t)alphabet[v >> 12 & 63]);
        aw_writer_byte(w, (uint8_t)alphabet[v >> 6 & 63]);
        aw_writer_byte(w, (uint8_t)alphabet[v & 63]);
    }
    size_t rest = len - i;
    if (rest == 0) {
        return;
    }
    uint32_t v = (uint32_t)data[i] << 16;
    if (rest == 2) {
        v |= (uint32_t)data[i + 1] << 8;
    }
    aw_writer_byte(w, (uint8_t)alphabet[v >> 18 & 63]);
    aw_writer_byte(w, (uint8_t)alphabet[v >> 12 & 63]);
    if (rest == 2) {
        aw_writer_byte(w, (uint8_t)alphabet[v >> 6 & 63]);
    }
    if (pad) {
        aw_writer_cstr(w, rest == 2 ? "=" : "==");
    }
}

void aw_writer_base64(aw_writer *w, const uint8_t *data, size_t len)
{
    write_base64(w, data, len, base64_std, true);
}

void aw_writer_base64url(aw_writer *w, const uint8_t *data, size_t len)
{
    write_base64(w, data, len, base64_url, false);
}

void aw_arena_init(aw_arena *a, void *buf, size_t cap)
{
    a->buf = buf;
    a->cap = cap;
    a->used = 0;
}

void *aw_arena_alloc(aw_arena *a, size_t size, size_t align)
{
    if (align == 0 || (align & (align - 1)) != 0) {
        return NULL;
    }
    uintptr_t base = (uintptr_t)a->buf;
    uintptr_t at = (base + a->used + (align - 1)) & ~(uintptr_t)(align - 1);
    size_t offset = (size_t)(at - base);
    if (offset > a->cap || size > a->cap - offset) {
        return NULL;
    }
    a->used = offset + size;
    return a->buf + offset;
}

aw_result aw_arena_dup(aw_arena *a, aw_span s, aw_span *out)
{
    uint8_t *copy = aw_arena_alloc(a, s.len == 0 ? 1 : s.len, 1);
    AW_ENSURE(copy != NULL, AW_E_BUFFER_TOO_SMALL);
    if (s.len > 0) {
        memcpy(copy, s.ptr, s.len);
    }
    *out = (aw_span){copy, s.len};
    return AW_OK;
}

size_t aw_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

/* Decoding tables, one per position in a quantum of four characters: the character's 6-bit
 * value already shifted to its place in the 24 bits the quantum decodes to, or B64_BAD when
 * the character is not in the alphabet. A quantum is then four lookups ORed together, and one
 * test of the top byte of all the ORed quanta finds any bad character. Built by the
 * preprocessor from the character ranges of the alphabets above (tests/test_bytes.c checks
 * every byte at every position against those strings). */
#define B64_BAD 0xff000000u
#define B64_STD(c)                                                                                 \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                        \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                   \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == '+'               ? 62                                                               \
     : (c) == '/'               ? 63                                                               \
                                : -1)
#define B64_URL(c)         ((c) == '+' || (c) == '/' ? -1 : (c) == '-' ? 62 : (c) == '_' ? 63 : B64_STD(c))
#define B64_AT(val, shift) ((val) < 0 ? B64_BAD : (uint32_t)(val) << (shift))
#define B64_ROW(f, s, b)                                                                           \
    B64_AT(f((b) + 0), s), B64_AT(f((b) + 1), s), B64_AT(f((b) + 2), s), B64_AT(f((b) + 3), s),    \
        B64_AT(f((b) + 4), s), B64_AT(f((b) + 5), s), B64_AT(f((b) + 6), s),                       \
        B64_AT(f((b) + 7), s), B64_AT(f((b) + 8), s), B64_AT(f((b) + 9), s),                       \
        B64_AT(f((b) + 10), s), B64_AT(f((b) + 11), s), B64_AT(f((b) + 12), s),                    \
        B64_AT(f((b) + 13), s), B64_AT(f((b) + 14), s), B64_AT(f((b) + 15), s)
#define B64_TABLE(f, s)                                                                            \
    {                                                                                              \
        B64_ROW(f, s, 0x00), B64_ROW(f, s, 0x10), B64_ROW(f, s, 0x20), B64_ROW(f, s, 0x30),        \
            B64_ROW(f, s, 0x40), B64_ROW(f, s, 0x50), B64_ROW(f, s, 0x60), B64_ROW(f, s, 0x70),    \
            B64_ROW(f, s, 0x80), B64_ROW(f, s, 0x90), B64_ROW(f, s, 0xa0), B64_ROW(f, s, 0xb0),    \
            B64_ROW(f, s, 0xc0), B64_ROW(f, s, 0xd0), B64_ROW(f, s, 0xe0), B64_ROW(f, s, 0xf0)     \
    }

static const uint32_t base64_std_quad[4][256] = {
    B64_TABLE(B64_STD, 18),
    B64_TABLE(B64_STD, 12),
    B64_TABLE(B64_STD, 6),
    B64_TABLE(B64_STD, 0),
};

static const uint32_t base64_url_quad[4][256] = {
    B64_TABLE(B64_URL, 18),
    B64_TABLE(B64_URL, 12),
    B64_TABLE(B64_URL, 6),
    B64_TABLE(B64_URL, 0),
};

/* The 24 bits of the quantum p[0..4), with B64_BAD bits set when a character is bad. */
static inline uint32_t base64_quad(const uint32_t (*t)[256], const uint8_t *p)
{
    return t[0][p[0]] | t[1][p[1]] | t[2][p[2]] | t[3][p[3]];
}

aw_result aw_base64_decode(aw_span in, unsigned flags, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    const uint32_t(*t)[256] = (flags & AW_BASE64_URL) != 0 ? base64_url_quad : base64_std_quad;
    bool url = (flags & AW_BASE64_URL) != 0;
    size_t len = in.len;
    size_t pad = 0;
    while (len > 0 && in.ptr[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (url && pad != 0) {
        return AW_E_MALFORMED;
    }
    size_t rem = len % 4;
    AW_ENSURE(rem != 1, AW_E_MALFORMED);
    if (pad != 0) {
        /* Padding must complete the final quantum exactly. */
        AW_ENSURE(rem != 0 && (rem + pad) == 4, AW_E_MALFORMED);
    } else if (rem != 0 && !url) {
        AW_ENSURE((flags & AW_BASE64_ALLOW_NO_PADDING) != 0, AW_E_MALFORMED);
    }
    size_t full = len - rem;
    size_t need = full / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    const uint8_t *p = in.ptr;
    uint32_t bad = 0;
    if (need > out_cap) {
        /* Validate every character before reporting a size problem, so malformed input is
         * always called malformed. */
        for (size_t i = 0; i < len; i++) {
            bad |= t[0][p[i]];
        }
        AW_ENSURE((bad & B64_BAD) == 0, AW_E_MALFORMED);
        return AW_E_BUFFER_TOO_SMALL;
    }
    /* One pass: decode and collect the bad-character bits. On failure out holds garbage,
     * which the caller discards with the error. While a fourth byte still belongs to the
     * output (o + 4 <= need), a quantum is stored as one 4-byte word whose last byte the
     * next quantum overwrites; the bytes beyond need are never touched. */
    size_t i = 0;
    size_t o = 0;
    for (; i < full && o + 4 <= need; i += 4, o += 3) {
        uint32_t v = base64_quad(t, p + i);
        bad |= v;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint32_t word = __builtin_bswap32(v << 8);
#else
        uint8_t word[4] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v, 0};
#endif
        memcpy(out + o, &word, 4);
    }
    for (; i < full; i += 4, o += 3) {
        uint32_t v = base64_quad(t, p + i);
        bad |= v;
        out[o] = (uint8_t)(v >> 16);
        out[o + 1] = (uint8_t)(v >> 8);
        out[o + 2] = (uint8_t)v;
    }
    if (rem != 0) {
        /* rem 2 carries one byte and 4 spare bits, rem 3 two bytes and 2 spare bits: decode
         * the rest as a quantum completed with 'A' (value 0). */
        uint8_t last[4] = {p[i], p[i + 1], rem == 3 ? p[i + 2] : 'A', 'A'};
        uint32_t v = base64_quad(t, last);
        bad |= v;
        AW_ENSURE((bad & B64_BAD) == 0, AW_E_MALFORMED);
        out[o++] = (uint8_t)(v >> 16);
        if (rem == 3) {
            out[o++] = (uint8_t)(v >> 8);
        }
        /* Leftover bits must be zero unless the caller allows otherwise (RFC 4648 3.5). */
        uint32_t spare = rem == 3 ? (v & 0xffu) : (v & 0xffffu);
        if (spare != 0) {
            AW_ENSURE((flags & AW_BASE64_ALLOW_NONZERO_BITS) != 0, AW_E_MALFORMED);
        }
    }
    AW_ENSURE((bad & B64_BAD) == 0, AW_E_MALFORMED);
    *out_len = o;
    return AW_OK;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

void aw_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

aw_result aw_hex_decode(aw_span in, uint8_t *out, size_t out_cap, size_t *out_len)
{
    AW_ENSURE(in.len % 2 == 0, AW_E_MALFORMED);
    AW_ENSURE(in.len / 2 <= out_cap, AW_E_BUFFER_TOO_SMALL);
    for (size_t i = 0; i < in.len / 2; i++) {
        int hi = hex_value(in.ptr[2 * i]);
        int lo = hex_value(in.ptr[2 * i + 1]);
        AW_ENSURE(hi >= 0 && lo >= 0, AW_E_MALFORMED);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = in.len / 2;
    return AW_OK;
}
