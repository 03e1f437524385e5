/* authwire: the parsed HTTP message view that signing and verification work on.
 *
 * The same view serves the gateway (filled from libevent), the client (filled from what it
 * is about to send) and the tools (filled by aw_http_parse from a raw HTTP/1.1 file). The view
 * borrows every byte; the caller keeps the underlying buffers alive. Header names keep their
 * original case; lookups are case-insensitive. */
#ifndef AUTHWIRE_MESSAGE_H
#define AUTHWIRE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "authwire/bytes.h"
#include "authwire/result.h"

typedef struct aw_header {
    aw_span name;
    aw_span value; /* without leading and trailing whitespace */
} aw_header;

typedef struct aw_message {
    bool is_response;
    /* Requests. */
    aw_span method;    /* e.g. "POST", case as sent */
    aw_span target;    /* request-target as sent: "/p?q", "http://h/p?q" or "*" */
    aw_span scheme;    /* "http" or "https": from the connection, not from the message */
    aw_span authority; /* Host, or the authority of an absolute-form target */
    /* Responses. */
    int status; /* 100..599 */
    /* Both. */
    const aw_header *headers;
    size_t n_headers;
    aw_span body;
} aw_message;

/* Parses a raw HTTP/1.1 request or response (status line decides) with LF or CRLF line
 * ends into out, using the caller's headers array (max_headers entries). The body is every
 * byte after the blank line; a Content-Length, when present, must match it. Rejects what
 * could be read two ways: obs-fold, whitespace before a colon, CR/LF/NUL in values, two Host
 * or conflicting Content-Length fields, Transfer-Encoding (files carry no chunking).
 * out->scheme is left empty (the caller knows the connection). Returns AW_OK,
 * AW_E_MALFORMED, AW_E_FIELD_INVALID, or AW_E_TOO_LARGE when there are more than max_headers
 * fields. */
aw_result aw_http_parse(aw_span raw, aw_header *headers, size_t max_headers,
                        aw_message *out) AW_MUST_CHECK;

/* The number of field lines named name (case-insensitive). */
size_t aw_message_count_field(const aw_message *m, aw_span name);

/* The combined value of every field line named name, joined with ", " in order (RFC 9110
 * Section 5.3). A single line is returned without copying; several are joined into arena.
 * AW_E_COMPONENT_MISSING when there is no such field, AW_E_BUFFER_TOO_SMALL when the arena is
 * exhausted. */
aw_result aw_message_field(const aw_message *m, aw_span name, aw_arena *arena,
                           aw_span *value) AW_MUST_CHECK;

/* Splits the target into path and query (query without '?'; has_query false when absent).
 * For absolute-form the scheme and authority are skipped. AW_E_MALFORMED for a target that
 * is neither origin-form, absolute-form nor "*". */
aw_result aw_message_target_parts(const aw_message *m, aw_span *path, aw_span *query,
                                  bool *has_query) AW_MUST_CHECK;

#endif
