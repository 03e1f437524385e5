/* The signing HTTP client behind `authwire request`, over libcurl with OpenSSL.
 *
 * One call sends one request: it signs it for the credential's freshness mode (a fresh
 * nonce; the next sequence number; or a challenge fetched first), covers the TLS channel
 * binding of the very connection it goes out on, then checks that the response is signed by
 * the user's key or the pinned server key and bound to this request. A response that fails
 * that check is reported as possible interference, never returned as if it were genuine. */
#ifndef AUTHWIRE_CLIENT_H
#define AUTHWIRE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authwire/result.h"
#include "credentials.h"

typedef struct aw_client_request {
    const char *method;  /* NULL: GET, or POST with a body */
    const char *url;     /* NULL: the credential's url; a path ("/api/x") is joined to it */
    const char **fields; /* extra "Name: value" lines */
    size_t n_fields;
    const uint8_t *body;
    size_t body_len;
    const char *cacert;      /* trust this CA file instead of the credential's CA */
    const char *client_cert; /* mTLS */
    const char *client_key;
    const char *state_path; /* sequence counter and clock offset; NULL: CREDENTIALS.state */
    FILE *verbose;          /* -v: what is signed and received goes here; NULL: quiet */
    long timeout;           /* seconds for the whole exchange; 0: 60 */
    /* "HOST:PORT:CONNECT-HOST:CONNECT-PORT": connect there for the URL's HOST:PORT, which
     * stays what is signed and checked in the certificate (curl's --connect-to; the attack
     * harness's man in the middle on the path). NULL: where the URL says. */
    const char *connect_to;
} aw_client_request;

typedef struct aw_client_response {
    int status;
    char *head; /* the status line and fields as received (malloc'd) */
    size_t head_len;
    uint8_t *body; /* malloc'd */
    size_t body_len;
    bool verified;        /* signature valid and bound to the request */
    aw_result why;        /* when not verified: the reason */
    char error[64];       /* the signed Authwire-Error, "" when none */
    bool interception;    /* the gateway says the TLS session is not the one it sees */
    int retries;          /* times the request was signed and sent again (clock, GET only) */
    bool clock_corrected; /* the clock offset was updated from a signed server time */
} aw_client_response;

/* Sends rq with the credentials in cred. Returns AW_OK when a response was received (look
 * at out->verified and out->status), or why none was: AW_E_IO (connection, TLS; a message
 * in *why_text), AW_E_INVALID_ARG (bad URL or field), errors loading the key. out is
 * released with aw_client_response_free. */
aw_result aw_client_send(const aw_credentials *cred, const char *credentials_path,
                         const aw_client_request *rq, aw_client_response *out, char *why_text,
                         size_t why_cap) AW_MUST_CHECK;

void aw_client_response_free(aw_client_response *r);

/* An unauthenticated exchange, for enrollment, before the client holds any key: nothing is
 * signed and nothing verified (out->verified stays false), so the answer is worth only what
 * checks its body (the enrollment frames authenticate themselves). Over https without
 * cacert the server's certificate is NOT verified: the caller's security must not depend on
 * TLS. Returns AW_OK when an answer came (any status); when none came (a message in
 * *why_text): AW_E_IO or AW_E_TIMEOUT (trying again may help), AW_E_KEY_INVALID (the TLS
 * certificate does not verify with cacert), AW_E_INVALID_ARG (the URL or its host is
 * wrong), AW_E_TOO_LARGE (the body exceeds max_body). */
typedef struct aw_client_plain_request {
    const char *method; /* NULL: GET, or POST with a body */
    const char *url;
    const char *content_type; /* sent when not NULL */
    const uint8_t *body;
    size_t body_len;
    const char *cacert; /* verify TLS with this CA file; NULL: TLS is not verified */
    long timeout;       /* seconds for the whole exchange; 0: 60 */
    size_t max_body;    /* 0: 64 MiB */
    FILE *verbose;      /* the status line of each answer; NULL: quiet */
} aw_client_plain_request;

aw_result aw_client_send_plain(const aw_client_plain_request *rq, aw_client_response *out,
                               char *why_text, size_t why_cap) AW_MUST_CHECK;

/* The value of field name in a response head (the first one; case-insensitive name, trimmed
 * value), NUL-terminated into out. false when absent or longer than cap - 1. */
bool aw_client_head_field(const char *head, const char *name, char *out, size_t cap);

/* url joined to base: a path ("/x") replaces base's path (scheme://authority is kept), a
 * whole URL is taken as it is, NULL gives base. malloc'd; NULL when out of memory. */
char *aw_client_url_join(const char *base, const char *url);

/* ---- the client state file (state.c) ------------------------------------------------ */

/* Per credential: the next sequence number and the clock offset learnt from signed server
 * times. Updated under an exclusive lock (flock on PATH.lock) and written atomically, so
 * concurrent `authwire request` runs never use one sequence number twice. */
typedef struct aw_client_state {
    uint64_t next_seq;    /* starts at 1 */
    int64_t clock_offset; /* seconds to add to the local clock */
} aw_client_state;

/* Reads the state (a missing file is the initial state). */
aw_result aw_client_state_read(const char *path, aw_client_state *out) AW_MUST_CHECK;
/* Takes the next sequence number: returns it in *seq and stores next_seq + 1, atomically
 * with respect to other processes. */
aw_result aw_client_state_take_seq(const char *path, uint64_t *seq) AW_MUST_CHECK;
/* Stores a new clock offset. */
aw_result aw_client_state_set_offset(const char *path, int64_t offset) AW_MUST_CHECK;

#endif
