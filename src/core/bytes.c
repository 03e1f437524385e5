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

bool aw_span_eq(aw_span a, aw_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

bool aw_span_eq_nocase(aw_span a, aw_span b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (ascii_lower(a.ptr[i]) != ascii_lower(b.ptr[i])) {
            return false;
        }
    }
    return true;
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

static int base64_value(uint8_t c, bool url)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == (url ? '-' : '+')) {
        return 62;
    }
    if (c == (url ? '_' : '/')) {
        return 63;
    }
    return -1;
}

aw_result aw_base64_decode(aw_span in, unsigned flags, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
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
    size_t need = len / 4 * 3 + (rem == 0 ? 0 : rem - 1);
    AW_ENSURE(need <= out_cap, AW_E_BUFFER_TOO_SMALL);

    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = base64_value(in.ptr[i], url);
        AW_ENSURE(v >= 0, AW_E_MALFORMED);
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits must be zero unless the caller allows otherwise (RFC 4648 Section 3.5). */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
        AW_ENSURE((flags & AW_BASE64_ALLOW_NONZERO_BITS) != 0, AW_E_MALFORMED);
    }
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
