/* The one table of result names and reasons. */
#include "authwire/result.h"

#include <stddef.h>
#include <string.h>

typedef struct result_info {
    aw_result code;
    const char *name;
    const char *reason;
} result_info;

static const result_info result_table[] = {
    {AW_OK, "ok", "success"},
    {AW_E_MALFORMED, "malformed", "HTTP message is malformed"},
    {AW_E_SF_SYNTAX, "sf_syntax", "structured field value does not parse"},
    {AW_E_TOO_LARGE, "too_large", "message exceeds a size limit"},
    {AW_E_FIELD_INVALID, "field_invalid", "field value contains forbidden bytes"},
    {AW_E_SIG_MISSING, "signature_missing", "no signature with the expected label"},
    {AW_E_SIG_DUPLICATE_LABEL, "signature_duplicate_label", "a signature label appears twice"},
    {AW_E_SIG_UNPAIRED, "signature_unpaired",
     "Signature-Input and Signature do not have the same labels"},
    {AW_E_SIG_BAD_PARAMS, "signature_bad_params",
     "a signature parameter is unknown or has the wrong type"},
    {AW_E_COMPONENT_UNKNOWN, "component_unknown", "unknown covered component or parameter"},
    {AW_E_COMPONENT_DUPLICATE, "component_duplicate", "a component is covered twice"},
    {AW_E_COMPONENT_MISSING, "component_missing", "a covered component is absent from the message"},
    {AW_E_COVERAGE_INSUFFICIENT, "coverage_insufficient",
     "the signature does not cover every component the policy requires"},
    {AW_E_PARAM_MISSING, "param_missing",
     "a signature parameter required by the policy is missing"},
    {AW_E_TAG_MISMATCH, "tag_mismatch", "signature tag is not the expected application tag"},
    {AW_E_ALG_MISMATCH, "alg_mismatch", "signature algorithm is not the key's algorithm"},
    {AW_E_KEY_UNKNOWN, "key_unknown", "no key for this keyid"},
    {AW_E_KEY_REVOKED, "key_revoked", "the key was revoked"},
    {AW_E_CREATED_IN_FUTURE, "created_in_future", "signature created too far in the future"},
    {AW_E_EXPIRED, "expired", "signature is too old or has expired"},
    {AW_E_NONCE_INVALID, "nonce_invalid", "nonce is missing, too short or malformed"},
    {AW_E_REPLAY, "replay", "nonce was already used"},
    {AW_E_SEQ_REPLAY, "seq_replay", "sequence number was already used"},
    {AW_E_SEQ_TOO_OLD, "seq_too_old", "sequence number is older than the replay window"},
    {AW_E_CHALLENGE_INVALID, "challenge_invalid", "challenge is forged, expired or already used"},
    {AW_E_DIGEST_MISSING, "digest_missing", "Content-Digest is missing"},
    {AW_E_DIGEST_UNSUPPORTED, "digest_unsupported", "Content-Digest has no supported algorithm"},
    {AW_E_DIGEST_MISMATCH, "digest_mismatch", "Content-Digest does not match the body"},
    {AW_E_SIGNATURE_INVALID, "signature_invalid", "signature does not verify"},
    {AW_E_CHANNEL_BINDING, "channel_binding",
     "channel binding differs: TLS interception suspected"},
    {AW_E_RESPONSE_UNBOUND, "response_unbound",
     "response is not bound to the request that was sent"},
    {AW_E_UNAUTHENTICATED, "unauthenticated", "request could not be authenticated"},
    {AW_E_FORBIDDEN, "forbidden", "not allowed"},
    {AW_E_NOT_ROUTED, "not_found", "no such resource"},
    {AW_E_METHOD, "method_not_allowed", "method not allowed on this resource"},
    {AW_E_CONFLICT, "conflict", "request conflicts with the current state"},
    {AW_E_TIMEOUT, "timeout", "the message was not received in time"},
    {AW_E_TOKEN_INVALID, "token_invalid",
     "enrollment token is mistyped (wrong length, character or checksum)"},
    {AW_E_INVITE_UNKNOWN, "invite_unknown", "no such invite"},
    {AW_E_INVITE_USED, "invite_used", "the invite was already used"},
    {AW_E_INVITE_EXPIRED, "invite_expired", "the invite has expired"},
    {AW_E_INVITE_REVOKED, "invite_revoked", "the invite was revoked"},
    {AW_E_SERVER_KEY_MISMATCH, "server_key_mismatch",
     "the server's enrollment key does not match the token's fingerprint"},
    {AW_E_HANDSHAKE, "handshake_failed",
     "enrollment handshake message does not verify (wrong token, tampered or substituted)"},
    {AW_E_SESSION_UNKNOWN, "session_unknown",
     "no enrollment handshake in progress under that session: start again"},
    {AW_E_BUSY, "busy", "replay state is full; request refused"},
    {AW_E_RATE_LIMITED, "rate_limited", "too many requests"},
    {AW_E_UNAVAILABLE, "unavailable", "upstream unavailable"},
    {AW_E_INVALID_ARG, "invalid_argument", "invalid argument"},
    {AW_E_BUFFER_TOO_SMALL, "buffer_too_small", "output buffer too small"},
    {AW_E_UNSUPPORTED, "unsupported", "operation or algorithm not supported"},
    {AW_E_INTERNAL, "internal", "internal error"},
    {AW_E_IO, "io", "input/output error"},
    {AW_E_STORE, "store", "storage error"},
    {AW_E_NOT_FOUND, "not_found_record", "no such record"},
    {AW_E_EXISTS, "exists", "already exists"},
    {AW_E_CORRUPT, "corrupt", "stored data is corrupt or does not unseal"},
    {AW_E_CRYPTO, "crypto", "crypto backend error"},
    {AW_E_KEY_INVALID, "key_invalid", "key material is invalid"},
};

static const result_info *lookup(aw_result r)
{
    for (size_t i = 0; i < sizeof(result_table) / sizeof(result_table[0]); i++) {
        if (result_table[i].code == r) {
            return &result_table[i];
        }
    }
    return NULL;
}

aw_result_class aw_result_class_of(aw_result r)
{
    int code = (int)r;
    if (code == 0) {
        return AW_CLASS_OK;
    }
    switch (code / 100) {
    case 1:
        return AW_CLASS_PEER;
    case 2:
        return AW_CLASS_RESOURCE;
    case 3:
        return AW_CLASS_CALLER;
    case 5:
        return AW_CLASS_IO;
    case 6:
        return AW_CLASS_STORE;
    case 7:
        return AW_CLASS_CRYPTO;
    default:
        return AW_CLASS_INTERNAL;
    }
}

const char *aw_result_name(aw_result r)
{
    const result_info *info = lookup(r);
    return info != NULL ? info->name : "unknown";
}

aw_result aw_result_from_name(const char *name, aw_result fallback)
{
    for (size_t i = 0; name != NULL && i < sizeof(result_table) / sizeof(result_table[0]); i++) {
        if (strcmp(result_table[i].name, name) == 0) {
            return result_table[i].code;
        }
    }
    return fallback;
}

const char *aw_result_reason(aw_result r)
{
    const result_info *info = lookup(r);
    return info != NULL ? info->reason : "unknown error";
}

int aw_result_peer_status(aw_result r)
{
    switch (r) {
    case AW_OK:
        return 200;
    case AW_E_MALFORMED:
    case AW_E_FIELD_INVALID:
    case AW_E_TOKEN_INVALID:
        return 400;
    case AW_E_FORBIDDEN:
        return 403;
    case AW_E_NOT_ROUTED:
    case AW_E_INVITE_UNKNOWN:
    case AW_E_SESSION_UNKNOWN:
        return 404;
    case AW_E_METHOD:
        return 405;
    case AW_E_TIMEOUT:
        return 408;
    case AW_E_CONFLICT:
    case AW_E_INVITE_USED:
        return 409;
    case AW_E_INVITE_EXPIRED:
    case AW_E_INVITE_REVOKED:
        return 410;
    case AW_E_TOO_LARGE:
        return 413;
    case AW_E_RATE_LIMITED:
        return 429;
    case AW_E_UNAVAILABLE:
        return 502;
    case AW_E_BUSY:
        return 503;
    default:
        break;
    }
    return aw_result_class_of(r) == AW_CLASS_PEER ? 401 : 500;
}
