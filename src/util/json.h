/* authwire-util: a JSON reader (RFC 8259) and a JSON writer.
 *
 * The reader builds a malloc'd tree; it is strict where leniency would let two readers
 * disagree: a repeated member name in an object is refused (as RFC 8941 parameters are in
 * the protocol), strings must be valid UTF-8 and member names may not contain U+0000, and
 * nothing may follow the value. aw_json_free wipes every string, so a tree that held a key
 * leaves nothing behind. Bound the input size before parsing untrusted text: the tree costs
 * a few allocations per value.
 *
 * The writer appends to a caller's aw_writer (authwire/bytes.h): no allocation, overflow is
 * sticky like the writer's. Strings are escaped per RFC 8259 Section 7 (quote, backslash,
 * every control character); bytes that are not valid UTF-8 are written as U+FFFD, so the
 * output is always valid JSON even for untrusted input (log lines). */
#ifndef AUTHWIRE_UTIL_JSON_H
#define AUTHWIRE_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/result.h"

typedef enum aw_json_type {
    AW_JSON_NULL,
    AW_JSON_BOOL,
    AW_JSON_NUMBER,
    AW_JSON_STRING,
    AW_JSON_ARRAY,
    AW_JSON_OBJECT,
} aw_json_type;

typedef struct aw_json {
    aw_json_type type;
    bool boolean;
    double number;
    char *text;      /* NUMBER: the literal as written; STRING: decoded UTF-8, NUL-terminated */
    size_t text_len; /* STRING: decoded length (may contain NULs) */
    struct aw_json **items; /* ARRAY elements or OBJECT values */
    char **keys;            /* OBJECT keys, parallel to items */
    size_t n;
} aw_json;

/* The deepest nesting the reader accepts (arrays and objects), against stack exhaustion. */
#define AW_JSON_MAX_DEPTH 256

/* Parses text into *out (release with aw_json_free). AW_E_MALFORMED on a syntax error,
 * AW_E_TOO_LARGE when nested deeper than AW_JSON_MAX_DEPTH, AW_E_INTERNAL when memory runs
 * out. On error, *why (a static string) and *where (the byte offset) say what and where,
 * when not NULL. */
aw_result aw_json_parse(const char *text, size_t len, aw_json **out, const char **why,
                        size_t *where) AW_MUST_CHECK;
/* Member of an object, or NULL (also when obj is not an object). */
const aw_json *aw_json_get(const aw_json *obj, const char *key);
/* String member of an object, or NULL when absent or not a string. */
const char *aw_json_get_string(const aw_json *obj, const char *key);
/* Wipes every string and frees the tree; NULL is ignored. */
void aw_json_free(aw_json *j);

/* The writer. Calls follow the document's shape: aw_json_key before every value inside an
 * object, none inside an array. Misuse (a value without a key in an object, a key in an
 * array, unbalanced ends, nesting deeper than AW_JSON_WRITER_DEPTH) is sticky and reported
 * by aw_json_writer_result as AW_E_INVALID_ARG. */
#define AW_JSON_WRITER_DEPTH 16

typedef struct aw_json_writer {
    aw_writer *out;
    bool pretty;   /* one member per line, indented by two spaces */
    bool misuse;   /* sticky */
    bool have_key; /* a key was written and awaits its value */
    bool done;     /* the top-level value is complete */
    unsigned depth;
    char open[AW_JSON_WRITER_DEPTH];   /* '{' or '[' per open container */
    bool filled[AW_JSON_WRITER_DEPTH]; /* the container has a member already */
} aw_json_writer;

void aw_json_writer_init(aw_json_writer *jw, aw_writer *out, bool pretty);
void aw_json_begin_object(aw_json_writer *jw);
void aw_json_end_object(aw_json_writer *jw);
void aw_json_begin_array(aw_json_writer *jw);
void aw_json_end_array(aw_json_writer *jw);
void aw_json_key(aw_json_writer *jw, const char *key);
void aw_json_string(aw_json_writer *jw, const char *s); /* NULL writes null */
void aw_json_string_n(aw_json_writer *jw, const uint8_t *s, size_t len);
void aw_json_int(aw_json_writer *jw, int64_t v);
void aw_json_uint(aw_json_writer *jw, uint64_t v);
void aw_json_bool(aw_json_writer *jw, bool v);
void aw_json_null(aw_json_writer *jw);
/* AW_OK when the document is complete (every container closed) and fit the buffer;
 * AW_E_BUFFER_TOO_SMALL when the aw_writer overflowed; AW_E_INVALID_ARG on misuse or an
 * unfinished document. */
aw_result aw_json_writer_result(const aw_json_writer *jw) AW_MUST_CHECK;

#endif
