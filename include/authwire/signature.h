/* authwire: signing and verifying HTTP messages (RFC 9421) under a verification policy,
 * and RFC 9530 Content-Digest.
 *
 * A verification runs every cheap check (structure, policy, time window, key and algorithm)
 * before any crypto, and changes no state: replay guards (authwire/freshness.h) are applied
 * by the caller after aw_verify returned AW_OK. Each failure is a distinct aw_result for the
 * logs; aw_result_peer_status() gives the uniform answer for the peer. */
#ifndef AUTHWIRE_SIGNATURE_H
#define AUTHWIRE_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "authwire/message.h"
#include "authwire/result.h"
#include "authwire/sf.h"

typedef enum aw_alg {
    AW_ALG_NONE = 0,
    AW_ALG_HMAC_SHA256,
    AW_ALG_ED25519,
} aw_alg;

/* RFC 9421 registry names: "hmac-sha256", "ed25519"; NULL for AW_ALG_NONE. */
const char *aw_alg_name(aw_alg alg);
/* The algorithm of a registry name; AW_ALG_NONE when unknown. */
aw_alg aw_alg_from_name(aw_span name);

/* A signing or verification key: borrowed handles, owned and freed by the caller. */
typedef struct aw_key {
    aw_alg alg;
    aw_hmac_key *hmac;       /* alg == AW_ALG_HMAC_SHA256 */
    aw_ed25519_key *ed25519; /* alg == AW_ALG_ED25519 */
} aw_key;

/* Domain-separation tags of authwire/1 (the tag signature parameter). */
#define AW_TAG_REQUEST  "authwire/1"
#define AW_TAG_RESPONSE "authwire/1-response"
/* The label authwire/1 signs requests and responses under. */
#define AW_LABEL "aw"

/* The covered components of authwire/1, as inner-list contents (content-type is added when
 * the message has one; authwire-seq and authwire-cb by the freshness mode and channel
 * binding). */
#define AW_COMPONENTS_REQUEST "\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\""
#define AW_COMPONENTS_RESPONSE                                                                     \
    "\"@status\" \"content-digest\" \"@method\";req \"@authority\";req \"@path\";req "             \
    "\"@query\";req \"signature\";req;key=\"aw\""

typedef struct aw_sign_params {
    const char *label;      /* dictionary key; AW_LABEL for authwire/1 */
    const char *components; /* inner-list contents, e.g. AW_COMPONENTS_REQUEST */
    bool has_created;
    int64_t created;
    bool has_expires;
    int64_t expires;
    aw_span nonce; /* omitted when empty */
    aw_span keyid; /* omitted when empty */
    aw_span tag;   /* omitted when empty */
    bool with_alg; /* include alg="..." */
} aw_sign_params;

/* Signs msg with key. For a response, request is the request it answers (for ;req
 * components), else NULL. Appends to sig_input the Signature-Input member
 * `label=(...);params` and to signature the Signature member `label=:...:`. When base is not
 * NULL the signature base is written to it too. scratch holds temporaries. Returns AW_OK or
 * the errors of aw_sigbase_build, AW_E_INVALID_ARG for a bad label, components or key,
 * AW_E_CRYPTO. */
aw_result aw_sign(const aw_message *msg, const aw_message *request, const aw_key *key,
                  const aw_sign_params *params, aw_arena *scratch, aw_writer *sig_input,
                  aw_writer *signature, aw_writer *base) AW_MUST_CHECK;

/* What a verifier demands beyond a valid signature. */
typedef struct aw_policy {
    const char *label;         /* label to verify; NULL: the first signature present */
    const char *required;      /* inner-list contents every signature must cover, or NULL */
    bool cover_content_type;   /* content-type must be covered when the message has one */
    bool require_created;      /* created must be present */
    bool require_nonce;        /* nonce must be present */
    bool require_keyid;        /* keyid must be present */
    const char *tag;           /* tag must be present and equal this; NULL: not checked */
    size_t min_nonce_len;      /* shortest nonce accepted, in characters */
    int64_t max_age;           /* seconds a signature stays valid after created; 0: no limit
                                * (only without a required nonce) */
    int64_t skew;              /* tolerated clock difference in seconds */
    bool check_content_digest; /* Content-Digest must be present, covered and match */
} aw_policy;

/* authwire/1 request policy: label aw, the authwire/1 components and content-type,
 * created, nonce (>= 22 chars, 128 bits in base64url), keyid, tag authwire/1, 30 s skew and
 * max age, Content-Digest checked. */
void aw_policy_authwire_request(aw_policy *p);
/* authwire/1 response policy: label aw, the response components (bound to the request's
 * signature), created, keyid, tag authwire/1-response, Content-Digest checked. */
void aw_policy_authwire_response(aw_policy *p);
/* A plain RFC 9421 verifier: whatever coverage was signed, no parameter required, expires
 * honoured when present; Content-Digest checked only when covered. */
void aw_policy_rfc9421(aw_policy *p);

/* Finds the key for keyid (empty when the signature has none). Returns AW_OK with *key set,
 * AW_E_KEY_UNKNOWN or AW_E_KEY_REVOKED. The key must stay valid until aw_verify returns. */
typedef aw_result (*aw_key_lookup_fn)(void *ctx, aw_span keyid, const aw_key **key);

/* What a successful (or partially successful) verification found. Spans point into the
 * message or the scratch arena. */
typedef struct aw_verified {
    aw_span label;
    aw_span keyid;
    aw_span nonce;
    aw_span tag;
    aw_alg alg; /* the key's algorithm */
    bool has_created;
    int64_t created;
    bool has_expires;
    int64_t expires;
    const aw_sf_member *params; /* the Signature-Input member verified */
    aw_span base;               /* the signature base rebuilt (set once it was built) */
} aw_verified;

/* Bounds on the clock and windows aw_verify accepts (AW_E_INVALID_ARG beyond them). */
#define AW_TIME_MAX   999999999999999LL /* the largest RFC 8941 integer */
#define AW_WINDOW_MAX 31536000LL        /* one year, for skew and max_age */

/* Verifies the signature policy->label of msg at time now (seconds since the epoch). For a
 * response, request is the request it answers. scratch must hold the parsed fields and the
 * signature base (64 KiB is ample for typical messages; the base alone takes 16 KiB). out
 * is filled as far as verification got, even on failure, for diagnostics. Returns AW_OK or
 * the distinct reason; AW_E_TOO_LARGE when the message does not fit in scratch;
 * AW_E_INVALID_ARG for a policy out of bounds (negative skew or max_age, or a required
 * nonce without max_age: a replay cache only remembers nonces for skew + max_age). */
aw_result aw_verify(const aw_message *msg, const aw_message *request, const aw_policy *policy,
                    int64_t now, aw_key_lookup_fn lookup, void *lookup_ctx, aw_arena *scratch,
                    aw_verified *out) AW_MUST_CHECK;

typedef enum aw_digest_alg {
    AW_DIGEST_SHA256,
    AW_DIGEST_SHA512,
} aw_digest_alg;

/* Writes the Content-Digest field value for body ("sha-256=:...:"). */
aw_result aw_content_digest(aw_span body, aw_digest_alg alg, aw_writer *out) AW_MUST_CHECK;

/* Checks msg's Content-Digest against its body: every sha-256 / sha-512 entry present must
 * match, and at least one must be present. AW_E_DIGEST_MISSING, AW_E_DIGEST_UNSUPPORTED,
 * AW_E_DIGEST_MISMATCH, AW_E_SF_SYNTAX. */
aw_result aw_content_digest_check(const aw_message *msg, aw_arena *scratch) AW_MUST_CHECK;

#endif
