/* authwire: byte spans, a bounded writer, a bounded cursor, a bump arena and base64.
 *
 * Memory policy of the core: the caller owns every buffer. Spans borrow; writers and arenas
 * write only inside the buffer they were given and report overflow instead of growing.
 * Every parser of untrusted bytes walks an aw_cursor, never raw pointer arithmetic. */
#ifndef AUTHWIRE_BYTES_H
#define AUTHWIRE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "authwire/result.h"

/* A borrowed byte range. ptr may be NULL only when len is 0. */
typedef struct aw_span {
    const uint8_t *ptr;
    size_t len;
} aw_span;

#define AW_SPAN_LIT(s) ((aw_span){(const uint8_t *)(s), sizeof(s) - 1})

/* A span over a NUL-terminated string (not including the NUL). NULL gives an empty span. */
aw_span aw_span_cstr(const char *s);

/* Byte-wise equality, and ASCII case-insensitive equality. Not constant time: never use
 * these on secrets (use aw_ct_equal from authwire/crypto.h). */
static inline bool aw_span_eq(aw_span a, aw_span b)
{
    if (a.len != b.len) {
        return false;
    }
    size_t n = a.len;
    /* Short spans (identifiers, names, keys) as two overlapping words, without a call. */
    if (n >= 8 && n <= 16) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a.ptr, 8);
        memcpy(&a1, a.ptr + n - 8, 8);
        memcpy(&b0, b.ptr, 8);
        memcpy(&b1, b.ptr + n - 8, 8);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a.ptr, 4);
        memcpy(&a1, a.ptr + n - 4, 4);
        memcpy(&b0, b.ptr, 4);
        memcpy(&b1, b.ptr + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n >= 2 && n < 4) {
        uint16_t a0, a1, b0, b1;
        memcpy(&a0, a.ptr, 2);
        memcpy(&a1, a.ptr + n - 2, 2);
        memcpy(&b0, b.ptr, 2);
        memcpy(&b1, b.ptr + n - 2, 2);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    if (n == 1) {
        return a.ptr[0] == b.ptr[0];
    }
    return n == 0 || memcmp(a.ptr, b.ptr, n) == 0;
}

/* ASCII lower case; other bytes unchanged (HTTP names are ASCII, no locale applies). */
static inline uint8_t aw_ascii_lower(uint8_t b)
{
    return (b >= 'A' && b <= 'Z') ? (uint8_t)(b + ('a' - 'A')) : b;
}

static inline bool aw_span_eq_nocase(aw_span a, aw_span b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (aw_ascii_lower(a.ptr[i]) != aw_ascii_lower(b.ptr[i])) {
            return false;
        }
    }
    return true;
}

/* A writer into a caller buffer. Overflow is sticky: later writes are dropped and
 * aw_writer_result() reports AW_E_BUFFER_TOO_SMALL, so callers check once at the end. */
typedef struct aw_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
} aw_writer;

/* The per-byte helpers are inline: parsing and building signature bases call them for every
 * byte, and a call per byte costs more than the crypto (docs/PERFORMANCE.md). */
static inline void aw_writer_init(aw_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

static inline void aw_writer_bytes(aw_writer *w, const void *data, size_t len)
{
    if (w->overflow || len > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (len > 0) {
        memcpy(w->buf + w->len, data, len);
        w->len += len;
    }
}

static inline void aw_writer_span(aw_writer *w, aw_span s)
{
    aw_writer_bytes(w, s.ptr, s.len);
}

static inline void aw_writer_cstr(aw_writer *w, const char *s)
{
    aw_writer_bytes(w, s, strlen(s));
}

static inline void aw_writer_byte(aw_writer *w, uint8_t b)
{
    if (w->overflow || w->len == w->cap) {
        w->overflow = true;
        return;
    }
    w->buf[w->len++] = b;
}

void aw_writer_i64(aw_writer *w, int64_t v); /* decimal, with '-' when negative */
void aw_writer_base64(aw_writer *w, const uint8_t *data, size_t len);    /* RFC 4648, padded */
void aw_writer_base64url(aw_writer *w, const uint8_t *data, size_t len); /* RFC 4648 s5, no pad */
/* AW_OK, or AW_E_BUFFER_TOO_SMALL once anything was dropped. */
static inline aw_result aw_writer_result(const aw_writer *w) AW_MUST_CHECK;
static inline aw_result aw_writer_result(const aw_writer *w)
{
    return w->overflow ? AW_E_BUFFER_TOO_SMALL : AW_OK;
}

/* The bytes written so far. */
static inline aw_span aw_writer_span_of(const aw_writer *w)
{
    return (aw_span){w->buf, w->len};
}

/* A read cursor over untrusted bytes. Every accessor bounds-checks. */
typedef struct aw_cursor {
    const uint8_t *ptr;
    size_t len;
    size_t pos;
} aw_cursor;

static inline void aw_cursor_init(aw_cursor *c, aw_span s)
{
    c->ptr = s.ptr;
    c->len = s.len;
    c->pos = 0;
}

static inline bool aw_cursor_eof(const aw_cursor *c)
{
    return c->pos >= c->len;
}

/* The next byte, or -1 at the end. */
static inline int aw_cursor_peek(const aw_cursor *c)
{
    return c->pos < c->len ? c->ptr[c->pos] : -1;
}

/* Consumes and returns the next byte, or -1 at the end. */
static inline int aw_cursor_next(aw_cursor *c)
{
    return c->pos < c->len ? c->ptr[c->pos++] : -1;
}

/* Consumes the byte b if it is next; returns whether it did. */
static inline bool aw_cursor_eat(aw_cursor *c, uint8_t b)
{
    if (c->pos < c->len && c->ptr[c->pos] == b) {
        c->pos++;
        return true;
    }
    return false;
}

/* The bytes not yet consumed. */
static inline aw_span aw_cursor_rest(const aw_cursor *c)
{
    return (aw_span){c->ptr + c->pos, c->len - c->pos};
}

/* A bump allocator over a caller buffer. Allocations are never freed one by one; reset or
 * drop the whole arena. aw_arena_alloc returns NULL when the arena is exhausted. */
typedef struct aw_arena {
    uint8_t *buf;
    size_t cap;
    size_t used;
} aw_arena;

void aw_arena_init(aw_arena *a, void *buf, size_t cap);
void *aw_arena_alloc(aw_arena *a, size_t size, size_t align);
/* Copies s into the arena; on exhaustion returns AW_E_BUFFER_TOO_SMALL. */
aw_result aw_arena_dup(aw_arena *a, aw_span s, aw_span *out) AW_MUST_CHECK;

/* Length of the base64 text for len bytes (padded). */
size_t aw_base64_encoded_len(size_t len);
/* RFC 4648 base64 decode, standard alphabet, no whitespace. Strict by default ('=' padding
 * required, pad bits zero); the flags relax that where RFC 8941 Section 4.2.7 asks parsers
 * to be lenient. Writes at most out_cap bytes; *out_len gets the count. AW_E_MALFORMED on bad
 * input, AW_E_BUFFER_TOO_SMALL when out_cap is too small. After a failure out may hold part of
 * a decoding: discard (or wipe) it. */
#define AW_BASE64_ALLOW_NO_PADDING   1u
#define AW_BASE64_ALLOW_NONZERO_BITS 2u
#define AW_BASE64_URL                4u /* base64url alphabet (RFC 4648 Section 5), no padding */
aw_result aw_base64_decode(aw_span in, unsigned flags, uint8_t *out, size_t out_cap,
                           size_t *out_len) AW_MUST_CHECK;

/* Lower-case hex of len bytes into out (2 * len + 1 bytes, NUL-terminated). */
void aw_hex_encode(const uint8_t *in, size_t len, char *out);
/* Hex decode (either case, even length). Errors as aw_base64_decode. */
aw_result aw_hex_decode(aw_span in, uint8_t *out, size_t out_cap, size_t *out_len) AW_MUST_CHECK;

#endif
