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
bool aw_span_eq(aw_span a, aw_span b);
bool aw_span_eq_nocase(aw_span a, aw_span b);

/* A writer into a caller buffer. Overflow is sticky: later writes are dropped and
 * aw_writer_result() reports AW_E_BUFFER_TOO_SMALL, so callers check once at the end. */
typedef struct aw_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
} aw_writer;

void aw_writer_init(aw_writer *w, uint8_t *buf, size_t cap);
void aw_writer_bytes(aw_writer *w, const void *data, size_t len);
void aw_writer_span(aw_writer *w, aw_span s);
void aw_writer_cstr(aw_writer *w, const char *s);
void aw_writer_byte(aw_writer *w, uint8_t b);
void aw_writer_i64(aw_writer *w, int64_t v); /* decimal, with '-' when negative */
void aw_writer_base64(aw_writer *w, const uint8_t *data, size_t len);    /* RFC 4648, padded */
void aw_writer_base64url(aw_writer *w, const uint8_t *data, size_t len); /* RFC 4648 s5, no pad */
/* AW_OK, or AW_E_BUFFER_TOO_SMALL once anything was dropped. */
aw_result aw_writer_result(const aw_writer *w) AW_MUST_CHECK;
/* The bytes written so far. */
aw_span aw_writer_span_of(const aw_writer *w);

/* A read cursor over untrusted bytes. Every accessor bounds-checks. */
typedef struct aw_cursor {
    const uint8_t *ptr;
    size_t len;
    size_t pos;
} aw_cursor;

void aw_cursor_init(aw_cursor *c, aw_span s);
bool aw_cursor_eof(const aw_cursor *c);
/* The next byte, or -1 at the end. */
int aw_cursor_peek(const aw_cursor *c);
/* Consumes and returns the next byte, or -1 at the end. */
int aw_cursor_next(aw_cursor *c);
/* Consumes the byte b if it is next; returns whether it did. */
bool aw_cursor_eat(aw_cursor *c, uint8_t b);
/* The bytes not yet consumed. */
aw_span aw_cursor_rest(const aw_cursor *c);

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
 * input, AW_E_BUFFER_TOO_SMALL when out_cap is too small. */
#define AW_BASE64_ALLOW_NO_PADDING   1u
#define AW_BASE64_ALLOW_NONZERO_BITS 2u
#define AW_BASE64_URL                4u /* base64url alphabet (RFC 4648 Section 5), no padding */
aw_result aw_base64_decode(aw_span in, unsigned flags, uint8_t *out, size_t out_cap,
                           size_t *out_len) AW_MUST_CHECK;

/* Hex decode (either case, even length). Errors as aw_base64_decode. */
aw_result aw_hex_decode(aw_span in, uint8_t *out, size_t out_cap, size_t *out_len) AW_MUST_CHECK;

#endif
