/* authwire: the pieces of an authwire/1 exchange that the gateway and the client share, so
 * that both sides build and read the same fields (docs/PROTOCOL.md).
 *
 * Header fields authwire/1 adds to RFC 9421:
 *   Authwire-Seq        request, sequence mode: the sequence number (RFC 8941 integer >= 1)
 *   Authwire-CB         request over TLS: the RFC 9266 tls-exporter value (byte sequence)
 *   Authwire-Error      error response: the reason's stable name (token)
 *   Authwire-Time       error response: the server's clock (integer seconds), signed, so a
 *                       client may correct its clock from it
 *   Authwire-Challenge  401 response and the challenge endpoint: a fresh challenge nonce */
#ifndef AUTHWIRE_EXCHANGE_H
#define AUTHWIRE_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/result.h"
#include "authwire/signature.h"

#define AW_FIELD_SEQ       "authwire-seq"
#define AW_FIELD_CB        "authwire-cb"
#define AW_FIELD_ERROR     "authwire-error"
#define AW_FIELD_TIME      "authwire-time"
#define AW_FIELD_CHALLENGE "authwire-challenge"

/* The keyid of responses the gateway signs with its own Ed25519 key, when it cannot
 * authenticate the request (so has no user key to answer with). No user name can spell it. */
#define AW_SERVER_KEYID "@server"

/* Where a client fetches a challenge nonce (GET, no authentication). */
#define AW_CHALLENGE_PATH "/.well-known/authwire/challenge"

/* Enrollment (docs/PROTOCOL.md, "Enrollment"): GET answers the KEY frame, POST
 * takes HELLO or CONFIRM and answers WELCOME or DONE; no request signature (the handshake
 * authenticates). Rotation: the same frames POSTed as requests signed with the current key;
 * a GET signed with the new key confirms it. Bodies of both have this content type. */
#define AW_ENROLL_PATH         "/.well-known/authwire/enroll"
#define AW_ROTATE_PATH         "/.well-known/authwire/rotate"
#define AW_ENROLL_CONTENT_TYPE "application/authwire-enroll"

/* Length of the RFC 9266 channel binding, in bytes. */
#define AW_CB_LEN 32

/* Whether the signature that aw_verify accepted covers the bare component name (e.g.
 * "authwire-seq"), without parameters. */
bool aw_verified_covers(const aw_verified *v, const char *component);

/* Appends the Authwire-CB field value for a channel binding (":base64:"). */
void aw_cb_write(const uint8_t cb[AW_CB_LEN], aw_writer *out);

/* Compares an Authwire-CB field value with our own channel binding, in constant time.
 * AW_OK when equal; AW_E_CHANNEL_BINDING when different or not a 32-byte byte sequence. */
aw_result aw_cb_check(aw_span value, const uint8_t cb[AW_CB_LEN]) AW_MUST_CHECK;

/* Parses an Authwire-Seq field value: an RFC 8941 integer from 1 up. AW_E_SEQ_TOO_OLD for 0
 * or negative, AW_E_SF_SYNTAX when it is not an integer. */
aw_result aw_seq_parse(aw_span value, uint64_t *seq) AW_MUST_CHECK;

/* Appends to out the inner-list contents a request signature covers in authwire/1: the
 * base set, then content-type, authwire-seq and authwire-cb as asked. */
void aw_request_components(bool content_type, bool seq, bool cb, aw_writer *out);

/* Appends the inner-list contents of a response signature: the binding set when the
 * request's pieces are available (bound: @method;req ... "signature";req;key="aw"), plus
 * content-type, authwire-error and authwire-time as asked. */
void aw_response_components(bool bound, bool content_type, bool error, aw_writer *out);

#endif
