/* authwire: the RFC 9421 signature base (Section 2.5).
 *
 * Derived components @method, @target-uri, @authority, @scheme, @request-target, @path,
 * @query, @query-param (with name), @status; field components with the parameters sf, key,
 * bs and req; @signature-params last. Anything else (tr, unknown parameters, unknown derived
 * names, upper-case field names) is refused rather than guessed at. */
#ifndef AUTHWIRE_SIGBASE_H
#define AUTHWIRE_SIGBASE_H

#include <stddef.h>

#include "authwire/bytes.h"
#include "authwire/message.h"
#include "authwire/result.h"
#include "authwire/sf.h"

/* Most components one signature may cover; more is refused as AW_E_TOO_LARGE. */
#define AW_SIGBASE_MAX_COMPONENTS 32

/* Writes the signature base of msg for the signature whose Signature-Input member is
 * params (an inner list of component identifiers with the signature parameters) to out.
 * request is the request a response answers, needed for components with ;req (NULL for
 * requests). arena holds temporary copies (combined or re-serialised field values).
 * Returns AW_OK; AW_E_COMPONENT_UNKNOWN, AW_E_COMPONENT_DUPLICATE, AW_E_COMPONENT_MISSING,
 * AW_E_FIELD_INVALID (non-ASCII or control bytes in a covered value), AW_E_SF_SYNTAX (a
 * field covered with sf or key does not parse), AW_E_SIG_BAD_PARAMS (params is not an
 * inner list of strings), AW_E_TOO_LARGE, AW_E_BUFFER_TOO_SMALL. */
aw_result aw_sigbase_build(const aw_message *msg, const aw_message *request,
                           const aw_sf_member *params, aw_arena *arena,
                           aw_writer *out) AW_MUST_CHECK;

/* Shortcuts a verifier may take; each leaves the result unchanged or fails closed. */
typedef struct aw_sigbase_opts {
    /* The canonical serialisation of each of params->inner[i], computed already. */
    const aw_span *identifiers;
    /* Write params->raw (the Signature-Input member as received) as the @signature-params
     * value instead of re-serialising it. Equal to the canonical form for every conforming
     * signer; a verifier that gets a mismatch retries with the canonical form. */
    bool params_as_received;
    /* Fields of msg (not of request) looked up already: each name in lower case with the
     * value aw_message_field gives for it. Fields not listed are looked up in msg. */
    const aw_header *fields;
    size_t n_fields;
    /* With params_as_received: params->raw is the text aw_sf_parse_dict or aw_sf_parse_list
     * returned for this very member, which RFC 8941's grammar limits to visible ASCII and SP,
     * so it is written without checking its bytes again. Leave false for a member built in
     * memory or whose raw was set by hand. */
    bool raw_from_parser;
} aw_sigbase_opts;

/* aw_sigbase_build with shortcuts; opts may be NULL. */
aw_result aw_sigbase_build_opts(const aw_message *msg, const aw_message *request,
                                const aw_sf_member *params, const aw_sigbase_opts *opts,
                                aw_arena *arena, aw_writer *out) AW_MUST_CHECK;

/* The @authority value of a request: the authority lower-cased, without the default port
 * of its scheme (RFC 9421 Section 2.2.3). Written to out. */
aw_result aw_sigbase_authority(const aw_message *req, aw_writer *out) AW_MUST_CHECK;

#endif
