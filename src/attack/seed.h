/* The seed system: the original design of the API-authentication question, run in process
 * next to authwire so that `authwire attack --profile seed` can show the insider attack that
 * breaks it and the same attack failing against authwire (issue 5, item 4;
 * docs/THREAT_MODEL.md, "The seed design and why it breaks").
 *
 * NOT A PROTOCOL TO USE. It exists to be broken. The design, implemented faithfully:
 *
 *   - one shared key K (32 bytes) known to the server and to every user;
 *   - registration: the user sends its name and a fresh 16-byte nonce in the clear; both
 *     sides derive the user's private key  k_u = HMAC-SHA-256(K, nonce);
 *   - every request carries the user's nonce, a timestamp, an action, the user name and a
 *     message, and MAC = HMAC-SHA-256(k_u, nonce || timestamp || action || username ||
 *     message);
 *   - the server accepts when the MAC matches and the timestamp is within 5 seconds of its
 *     clock (either side). It keeps no nonce cache: a request replayed inside those 5 s is
 *     accepted again (that is the design too).
 *
 * The flaw: k_u is a public function of K, which every user knows, and of the nonce, which
 * crossed the network in the clear. Any user who saw another user's registration computes
 * that user's key and signs as her. authwire has no K: each key comes out of a Noise
 * handshake keyed by a one-time secret that never crosses the network.
 *
 * Byte encodings (integers big-endian, the lengths are exact: a frame with bytes left over,
 * or too few, is AW_E_MALFORMED):
 *
 *   registration  = name_len (1, 1..32) | name (ASCII [a-z0-9_-]) | nonce (16)
 *   request       = signed | mac (32)
 *   signed        = nonce (16) | timestamp (8, two's complement unix seconds)
 *                 | action_len (1, 1..32) | action | name_len (1, 1..32) | name
 *                 | message_len (2, 0..256) | message
 *   mac           = HMAC-SHA-256(k_u, signed)
 *
 * so "nonce || timestamp || action || username || message" is made unambiguous by the
 * length prefixes: the demonstration does not lean on a second flaw (with a bare
 * concatenation, "transfer" + "alice" and "transfera" + "lice" would sign alike).
 *
 * Like the core, these functions do no I/O: time comes in as an argument, randomness from
 * the crypto interface (aw_random), frames are caller-owned bytes. */
#ifndef AUTHWIRE_ATTACK_SEED_H
#define AUTHWIRE_ATTACK_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "authwire/result.h"
#include "authwire/signature.h"

#include "json.h" /* src/util */

#define AW_SEED_KEY_LEN     32 /* K and every private key */
#define AW_SEED_NONCE_LEN   16 /* the registration nonce */
#define AW_SEED_MAC_LEN     32
#define AW_SEED_WINDOW      5 /* seconds either side of the server's clock */
#define AW_SEED_NAME_MAX    32
#define AW_SEED_ACTION_MAX  32
#define AW_SEED_MESSAGE_MAX 256
#define AW_SEED_USERS_MAX   8
#define AW_SEED_REG_MAX     (1 + AW_SEED_NAME_MAX + AW_SEED_NONCE_LEN)
#define AW_SEED_REQUEST_MAX                                                                        \
    (AW_SEED_NONCE_LEN + 8 + 1 + AW_SEED_ACTION_MAX + 1 + AW_SEED_NAME_MAX + 2 +                   \
     AW_SEED_MESSAGE_MAX + AW_SEED_MAC_LEN)

/* The fixed clock aw_seed_insider_attack runs both systems on (unix seconds). */
#define AW_SEED_CLOCK 1790000000

/* ---- the seed design ------------------------------------------------------------------ */

/* One registered user, as the user and as the server hold it. */
typedef struct aw_seed_user {
    char name[AW_SEED_NAME_MAX + 1];
    uint8_t nonce[AW_SEED_NONCE_LEN];
    uint8_t key[AW_SEED_KEY_LEN]; /* k_u = HMAC-SHA-256(K, nonce) */
} aw_seed_user;

typedef struct aw_seed_server {
    uint8_t shared[AW_SEED_KEY_LEN]; /* K */
    aw_seed_user users[AW_SEED_USERS_MAX];
    size_t n_users;
} aw_seed_server;

/* A parsed request: spans point into the caller's frame. */
typedef struct aw_seed_request {
    uint8_t nonce[AW_SEED_NONCE_LEN];
    int64_t timestamp;
    aw_span action;
    aw_span name;
    aw_span message;
    aw_span signed_part; /* the bytes the MAC covers */
    const uint8_t *mac;  /* AW_SEED_MAC_LEN bytes */
} aw_seed_request;

/* The design's key derivation: out = HMAC-SHA-256(shared, nonce). Used by the user, the
 * server and, with the same right, by any other user. */
aw_result aw_seed_derive_key(const uint8_t shared[AW_SEED_KEY_LEN],
                             const uint8_t nonce[AW_SEED_NONCE_LEN],
                             uint8_t out[AW_SEED_KEY_LEN]) AW_MUST_CHECK;

/* The user's side of registration: fills *u (name, nonce, derived key) and writes the
 * registration frame into out. AW_E_INVALID_ARG for a bad name, AW_E_BUFFER_TOO_SMALL. */
aw_result aw_seed_user_register(aw_seed_user *u, const uint8_t shared[AW_SEED_KEY_LEN],
                                const char *name, const uint8_t nonce[AW_SEED_NONCE_LEN],
                                uint8_t *out, size_t cap, size_t *out_len) AW_MUST_CHECK;

/* Reads a registration frame (what the server, and any eavesdropper, sees): the name into
 * name (NUL-terminated) and the nonce. AW_E_MALFORMED. */
aw_result aw_seed_registration_parse(const uint8_t *in, size_t len, char name[AW_SEED_NAME_MAX + 1],
                                     uint8_t nonce[AW_SEED_NONCE_LEN]) AW_MUST_CHECK;

/* Starts a server with shared key K (copied). */
void aw_seed_server_init(aw_seed_server *s, const uint8_t shared[AW_SEED_KEY_LEN]);

/* The server's side of registration: derives and stores the user's key. AW_E_MALFORMED,
 * AW_E_EXISTS for a name already registered, AW_E_TOO_LARGE when the table is full. */
aw_result aw_seed_server_register(aw_seed_server *s, const uint8_t *in, size_t len) AW_MUST_CHECK;

/* Writes a request of user u at time now, MAC'd with u->key (an attacker fills u from a
 * captured registration and the key she derived). AW_E_INVALID_ARG for an empty or long
 * action, a bad name or a message over AW_SEED_MESSAGE_MAX; AW_E_BUFFER_TOO_SMALL. */
aw_result aw_seed_request_write(const aw_seed_user *u, int64_t now, const char *action,
                                const uint8_t *message, size_t message_len, uint8_t *out,
                                size_t cap, size_t *out_len) AW_MUST_CHECK;

/* Parses a request frame. AW_E_MALFORMED. */
aw_result aw_seed_request_parse(const uint8_t *in, size_t len, aw_seed_request *out) AW_MUST_CHECK;

/* The server's check at time now (AW_E_INVALID_ARG within AW_SEED_WINDOW of the int64
 * range): the frame parses (AW_E_MALFORMED), the user is registered
 * (AW_E_KEY_UNKNOWN), the timestamp is within AW_SEED_WINDOW seconds (AW_E_EXPIRED when
 * older, AW_E_CREATED_IN_FUTURE when later), the nonce is the user's registered one and the
 * MAC matches under her key, compared in constant time (AW_E_SIGNATURE_INVALID). On AW_OK,
 * *out (may be NULL) holds the accepted request. */
aw_result aw_seed_server_accept(const aw_seed_server *s, int64_t now, const uint8_t *in, size_t len,
                                aw_seed_request *out) AW_MUST_CHECK;

void aw_seed_server_wipe(aw_seed_server *s);

/* ---- the same insider against authwire ------------------------------------------------- */

/* Alice's enrollment as it crossed the network (docs/PROTOCOL.md, "Enrollment"). */
typedef struct aw_seed_frames {
    uint8_t key[64], hello[128], welcome[512], confirm[256], done[64];
    size_t key_len, hello_len, welcome_len, confirm_len, done_len;
} aw_seed_frames;

/* Two users enrolled in memory with the core (include/authwire/enroll.h), each with her own
 * one-time invite: alice, and mallory the insider. The server side keeps both keys for the
 * verifier; mallory keeps her key and her token; the network saw alice's frames. */
typedef struct aw_seed_authwire {
    aw_seed_frames alice_frames;            /* mallory's capture */
    uint8_t mallory_key[AW_ENROLL_KEY_LEN]; /* her own credential */
    aw_enroll_token mallory_token;          /* and the token she enrolled with */
    aw_key server_keys[2];                  /* the verifier's keys: alice, mallory */
} aw_seed_authwire;

#define AW_SEED_ALICE   "alice"
#define AW_SEED_MALLORY "mallory"

/* Enrolls alice and mallory (fresh server keys, invites and ephemerals) at time now.
 * Release with aw_seed_authwire_wipe, also after a failure. */
aw_result aw_seed_authwire_setup(aw_seed_authwire *w, int64_t now) AW_MUST_CHECK;

/* Signs the request "POST /api/transfer {"to": "mallory", "amount": 1000}" (authwire/1,
 * timestamp mode, created = now) under keyid with signer, and runs the gateway's verifier
 * (aw_verify with the authwire/1 request policy and the server's keys) on it: *verdict gets
 * its result (AW_OK: the gateway would accept it). Returns AW_OK when both steps ran. */
aw_result aw_seed_authwire_transfer(aw_seed_authwire *w, const char *keyid, const aw_key *signer,
                                    int64_t now, aw_result *verdict) AW_MUST_CHECK;

void aw_seed_authwire_wipe(aw_seed_authwire *w);

/* ---- the report ------------------------------------------------------------------------ */

typedef struct aw_seed_report {
    bool seed_forgery_accepted;     /* the seed server accepted mallory's request as alice */
    bool authwire_forgery_accepted; /* the authwire verifier accepted one of hers */
    char seed_detail[256];
    char authwire_detail[256];
    char seed_stopped_by[64]; /* the check that refused, "" when nothing did */
    char authwire_stopped_by[64];
} aw_seed_report;

/* Runs the insider attack against both systems on the clock AW_SEED_CLOCK: mallory, a
 * legitimate user, captures alice's registration (seed) or enrollment (authwire), derives
 * what she can and forges "transfer 1000 to mallory" as alice. Deterministic apart from the
 * random keys and nonces. Before any forgery counts, a genuine request of alice's must pass
 * each system (AW_E_INTERNAL otherwise: a verifier that refuses everything proves nothing).
 * Returns AW_OK when both runs completed; the verdicts are in *out. */
aw_result aw_seed_insider_attack(aw_seed_report *out) AW_MUST_CHECK;

/* true when the report says what the threat model predicts: the seed forgery accepted and
 * the authwire forgery refused (the CLI's exit status). */
bool aw_seed_as_expected(const aw_seed_report *r);

/* The two rows of the report as text, one per system. */
void aw_seed_print(const aw_seed_report *r, FILE *out);

/* The two rows as JSON objects appended to the array open in jw, in the shape of the attack
 * catalogue's rows (aw_attack_report_json): id, description, threat, expected and outcome
 * ("succeeded" or "blocked"), as_expected, stopped_by ("" when nothing stopped it, as in
 * the catalogue), detail. */
void aw_seed_json_rows(const aw_seed_report *r, aw_json_writer *jw);

/* A whole JSON document (an array of the two rows) to out. AW_E_IO on a write error. */
aw_result aw_seed_write_json(const aw_seed_report *r, FILE *out) AW_MUST_CHECK;

#endif
