/* authwire: the one error convention of the project.
 *
 * Every function that can fail returns an aw_result: AW_OK (0) on success, otherwise a code
 * whose class (aw_result_class) says who is to blame: the peer sent something bad, the caller
 * misused the API, an internal invariant broke, I/O, the store, or the crypto backend.
 * Each code has a stable snake_case name (for logs, metrics and the Authwire-Error header)
 * and a one-line English reason. Verification failures are distinct codes for the logs;
 * aw_result_peer_status() folds them into one uniform outcome for the peer. */
#ifndef AUTHWIRE_RESULT_H
#define AUTHWIRE_RESULT_H

#if defined(__GNUC__) || defined(__clang__)
#define AW_MUST_CHECK __attribute__((warn_unused_result))
#else
#define AW_MUST_CHECK
#endif

typedef enum aw_result {
    AW_OK = 0,

    /* Peer: the message is malformed or fails verification (100..199). */
    AW_E_MALFORMED = 100,       /* HTTP message does not parse */
    AW_E_SF_SYNTAX,             /* structured field does not parse (RFC 8941) */
    AW_E_TOO_LARGE,             /* a size limit was exceeded */
    AW_E_FIELD_INVALID,         /* a field value has bytes RFC 9110 forbids */
    AW_E_SIG_MISSING,           /* no Signature-Input / Signature, or the label is absent */
    AW_E_SIG_DUPLICATE_LABEL,   /* a label appears twice */
    AW_E_SIG_UNPAIRED,          /* Signature-Input and Signature labels differ */
    AW_E_SIG_BAD_PARAMS,        /* a signature parameter has the wrong type or is unknown */
    AW_E_COMPONENT_UNKNOWN,     /* unknown derived component or parameter combination */
    AW_E_COMPONENT_DUPLICATE,   /* a component is covered twice */
    AW_E_COMPONENT_MISSING,     /* a covered component is absent from the message */
    AW_E_COVERAGE_INSUFFICIENT, /* the policy requires a component the signature omits */
    AW_E_PARAM_MISSING,         /* the policy requires created/nonce/keyid/tag/alg */
    AW_E_TAG_MISMATCH,          /* tag parameter is not the expected application tag */
    AW_E_ALG_MISMATCH,          /* alg differs from the key's own algorithm */
    AW_E_KEY_UNKNOWN,           /* no key for this keyid */
    AW_E_KEY_REVOKED,           /* the key was revoked */
    AW_E_CREATED_IN_FUTURE,     /* created is later than now + skew */
    AW_E_EXPIRED,               /* created older than max age, or expires has passed */
    AW_E_NONCE_INVALID,         /* nonce too short or malformed */
    AW_E_REPLAY,                /* nonce already seen within the window */
    AW_E_SEQ_REPLAY,            /* sequence number already accepted */
    AW_E_SEQ_TOO_OLD,           /* sequence number left of the anti-replay window */
    AW_E_CHALLENGE_INVALID,     /* challenge nonce forged, expired or already used */
    AW_E_DIGEST_MISSING,        /* Content-Digest absent */
    AW_E_DIGEST_UNSUPPORTED,    /* Content-Digest has no algorithm we accept */
    AW_E_DIGEST_MISMATCH,       /* Content-Digest does not match the body */
    AW_E_SIGNATURE_INVALID,     /* the MAC or signature does not verify */
    AW_E_CHANNEL_BINDING,       /* Authwire-CB differs from our TLS exporter */
    AW_E_RESPONSE_UNBOUND,      /* a response does not answer the request we kept */
    AW_E_UNAUTHENTICATED,       /* the uniform outcome a peer sees for any failure above */
    AW_E_FORBIDDEN,             /* authenticated, but not allowed to do this */
    AW_E_NOT_ROUTED,            /* no such resource (404) */
    AW_E_METHOD,                /* method not allowed on this resource (405) */
    AW_E_CONFLICT,              /* the request contradicts the resource's state (409) */
    AW_E_TIMEOUT,               /* the peer was too slow sending its message */
    AW_E_TOKEN_INVALID,         /* an enrollment token is mistyped (bad checksum or length) */
    AW_E_INVITE_UNKNOWN,        /* no such invite (404) */
    AW_E_INVITE_USED,           /* the invite was already used (409) */
    AW_E_INVITE_EXPIRED,        /* the invite expired (410) */
    AW_E_INVITE_REVOKED,        /* the invite was revoked by the admin (410) */
    AW_E_SERVER_KEY_MISMATCH,   /* the server's enrollment key is not the one the token pins */
    AW_E_HANDSHAKE,             /* an enrollment handshake message does not verify */
    AW_E_SESSION_UNKNOWN,       /* no enrollment handshake in progress under that id (404) */

    /* Resource: the server refuses work to stay safe (fail closed) (200..299). */
    AW_E_BUSY = 200,   /* replay state full: refuse rather than forget live nonces */
    AW_E_RATE_LIMITED, /* too many requests from one source */
    AW_E_UNAVAILABLE,  /* an upstream or backend the request needs is down (502) */

    /* Caller: API misuse (300..399). */
    AW_E_INVALID_ARG = 300, /* an argument is out of range or inconsistent */
    AW_E_BUFFER_TOO_SMALL,  /* an output buffer or arena is too small */
    AW_E_UNSUPPORTED,       /* the operation or algorithm is not supported */

    /* Internal invariant broken (400..499). */
    AW_E_INTERNAL = 400,

    /* I/O outside the core: files, sockets (500..599). */
    AW_E_IO = 500,

    /* Storage backend (600..699). */
    AW_E_STORE = 600, /* the backend failed */
    AW_E_NOT_FOUND,   /* no such record */
    AW_E_EXISTS,      /* the record or file already exists */
    AW_E_CORRUPT,     /* stored data fails its integrity check or does not unseal */

    /* Crypto backend (700..799). */
    AW_E_CRYPTO = 700, /* the backend failed (see its error queue) */
    AW_E_KEY_INVALID,  /* key material is malformed or of the wrong type */
} aw_result;

typedef enum aw_result_class {
    AW_CLASS_OK,
    AW_CLASS_PEER,
    AW_CLASS_RESOURCE,
    AW_CLASS_CALLER,
    AW_CLASS_INTERNAL,
    AW_CLASS_IO,
    AW_CLASS_STORE,
    AW_CLASS_CRYPTO,
} aw_result_class;

/* Which party a result blames. */
aw_result_class aw_result_class_of(aw_result r);

/* Stable snake_case name, e.g. "signature_invalid"; "unknown" for an unknown code. */
const char *aw_result_name(aw_result r);

/* The code whose stable name is name (the inverse of aw_result_name, for reasons that came
 * over the wire, e.g. an Authwire-Error value); fallback when no code has that name. */
aw_result aw_result_from_name(const char *name, aw_result fallback);

/* One-line English reason, e.g. "signature does not verify". Never contains secrets. */
const char *aw_result_reason(aw_result r);

/* The HTTP status a server answers with: 401 for every verification failure (one uniform
 * outcome, so a peer cannot probe which check failed), 400 for malformed messages, 403
 * forbidden, 404 not routed, 405 method, 408 timeout, 409 conflict, 413 for size limits,
 * 429 rate limited, 502 unavailable, 503 for AW_E_BUSY, 500 for everything else. 200 for
 * AW_OK. */
int aw_result_peer_status(aw_result r);

/* Guard macros (s2n style): the happy path reads straight down. */
#define AW_GUARD(expr)                                                                             \
    do {                                                                                           \
        aw_result aw_guard_result_ = (expr);                                                       \
        if (aw_guard_result_ != AW_OK) {                                                           \
            return aw_guard_result_;                                                               \
        }                                                                                          \
    } while (0)

#define AW_ENSURE(cond, err)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            return (err);                                                                          \
        }                                                                                          \
    } while (0)

#endif
