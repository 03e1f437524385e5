/* authwire: RFC 8941 Structured Field Values, a strict parser and a canonical serialiser.
 *
 * Parsed values live in a caller-provided aw_arena (strings are unescaped and byte
 * sequences decoded into it); tokens and keys borrow from the input, so the input must
 * outlive the result. Parsing never allocates outside the arena and never reads past the
 * input. Limits follow RFC 8941: integers of at most 15 digits, decimals of at most 12
 * integer and 3 fractional digits. */
#ifndef AUTHWIRE_SF_H
#define AUTHWIRE_SF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/result.h"

typedef enum aw_sf_type {
    AW_SF_INTEGER = 1,
    AW_SF_DECIMAL,    /* value in thousandths: 1.5 is stored as 1500 */
    AW_SF_STRING,     /* str holds the unescaped characters */
    AW_SF_TOKEN,      /* str holds the token */
    AW_SF_BYTES,      /* str holds the decoded bytes */
    AW_SF_BOOLEAN,    /* integer is 0 or 1 */
    AW_SF_INNER_LIST, /* only as a list or dictionary member: see aw_sf_member */
} aw_sf_type;

/* A bare item. */
typedef struct aw_sf_value {
    aw_sf_type type;
    int64_t integer; /* INTEGER, DECIMAL (thousandths), BOOLEAN */
    aw_span str;     /* STRING, TOKEN, BYTES */
} aw_sf_value;

typedef struct aw_sf_param {
    aw_span key;
    aw_sf_value value;
} aw_sf_param;

/* An item with its parameters. */
typedef struct aw_sf_item {
    aw_sf_value value;
    const aw_sf_param *params;
    size_t n_params;
} aw_sf_item;

/* A list or dictionary member: an item, or an inner list (item.value.type ==
 * AW_SF_INNER_LIST, with the inner list's own parameters in item.params). key is set for
 * dictionary members only. */
typedef struct aw_sf_member {
    aw_span key;
    aw_sf_item item;
    const aw_sf_item *inner;
    size_t n_inner;
    aw_span raw; /* parsed members: the value with its parameters as received (no key) */
} aw_sf_member;

/* Dictionary parse flag: fail with AW_E_SF_SYNTAX on a repeated dictionary key instead of
 * letting the last one win (RFC 8941 says last wins; Signature-Input must not have duplicate
 * labels). Repeated parameter keys follow the RFC (last wins) unless the next flag is given. */
#define AW_SF_REJECT_DUPLICATE_KEYS 1u
/* Dictionary parse flag: fail with AW_E_SF_SYNTAX on a repeated parameter key anywhere in the
 * dictionary (member, inner list or inner item parameters). A signature's parameters must
 * not have a hidden first copy that another parser would read. */
#define AW_SF_REJECT_DUPLICATE_PARAMS 2u

/* Parse a whole field value as an item, list or dictionary (RFC 8941 Section 4.2). Leading
 * and trailing spaces are allowed as the RFC says; anything else left over fails.
 * Returns AW_OK, AW_E_SF_SYNTAX on any syntax error, AW_E_BUFFER_TOO_SMALL when the arena
 * is exhausted. For duplicate keys (dictionary or parameters) the last value wins, keeping
 * the first key's position, unless AW_SF_REJECT_DUPLICATE_KEYS is given. */
aw_result aw_sf_parse_item(aw_span input, aw_arena *arena, aw_sf_item *out) AW_MUST_CHECK;
aw_result aw_sf_parse_list(aw_span input, aw_arena *arena, const aw_sf_member **members,
                           size_t *n_members) AW_MUST_CHECK;
aw_result aw_sf_parse_dict(aw_span input, unsigned flags, aw_arena *arena,
                           const aw_sf_member **members, size_t *n_members) AW_MUST_CHECK;

/* Canonical serialisation (RFC 8941 Section 4.1) appended to w. Decimals are already in
 * thousandths, so callers round before building a value. On failure w may hold a partial
 * serialisation; discard it. Returns AW_E_SF_SYNTAX when
 * a value cannot be serialised (integer out of range, string with a non-printable byte,
 * invalid token or key), AW_E_BUFFER_TOO_SMALL when w overflowed. */
aw_result aw_sf_serialize_value(const aw_sf_value *v, aw_writer *w) AW_MUST_CHECK;
aw_result aw_sf_serialize_params(const aw_sf_param *params, size_t n, aw_writer *w) AW_MUST_CHECK;
aw_result aw_sf_serialize_item(const aw_sf_item *item, aw_writer *w) AW_MUST_CHECK;
/* A member alone: an item, or an inner list "(a b);p" (the key is not written). */
aw_result aw_sf_serialize_member(const aw_sf_member *m, aw_writer *w) AW_MUST_CHECK;
aw_result aw_sf_serialize_list(const aw_sf_member *members, size_t n, aw_writer *w) AW_MUST_CHECK;
aw_result aw_sf_serialize_dict(const aw_sf_member *members, size_t n, aw_writer *w) AW_MUST_CHECK;

/* Finds a parameter by key; NULL when absent. */
const aw_sf_param *aw_sf_param_find(const aw_sf_param *params, size_t n, const char *key);
/* Finds a dictionary member by key; NULL when absent. */
const aw_sf_member *aw_sf_dict_find(const aw_sf_member *members, size_t n, aw_span key);

#endif
