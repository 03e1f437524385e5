/* authwire: enrollment and key rotation, sans-I/O (docs/PROTOCOL.md, "Enrollment").
 *
 * A user enrolls with a one-time token the admin hands over out of band. The token carries
 * the invite id, a 256-bit secret and the fingerprint (SHA-256) of the server's static
 * X25519 key. Four frames cross the network, each a POST body or its answer:
 *
 *   client                                             server
 *     KEY      <-  the server's X25519 public key (GET); checked against the fingerprint
 *     HELLO    ->  invite id, Noise NKpsk0 message 1   (-> psk, e, es)
 *     WELCOME  <-  Noise message 2 (<- e, ee) carrying the session id and the parameters
 *     CONFIRM  ->  key confirmation under the split key (and an Ed25519 public key)
 *     DONE     <-  the commit, under the other split key
 *
 * Noise_NKpsk0_25519_ChaChaPoly_SHA256 with prologue "authwire/1 enroll" | invite id and
 * psk = HKDF(salt = invite id, ikm = secret, info "authwire/1 enroll psk"). After message 2
 * both sides split with a third HKDF output k3 of the chaining key; the user's HMAC key is
 * HKDF(salt = handshake hash, ikm = k3, info "authwire/1 user key"). The server commits the
 * user only after CONFIRM verifies; a retried identical CONFIRM gets the same DONE.
 *
 * Rotation runs the same frames inside requests signed with the user's current key, with
 * prologue "authwire/1 rotate" | user name and psk = HKDF(salt = user name, ikm = current
 * key, info "authwire/1 rotate psk").
 *
 * The steps and the frames they exchange are one table (enroll.c). Every state struct
 * holds secrets and is wiped by its _wipe function and on every failure; a failed state
 * stays failed (AW_E_INVALID_ARG from then on). Nothing here draws randomness: callers pass
 * ephemeral keys, session ids and invite secrets in. */
#ifndef AUTHWIRE_ENROLL_H
#define AUTHWIRE_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/crypto.h"
#include "authwire/freshness.h"
#include "authwire/noise.h"
#include "authwire/result.h"
#include "authwire/signature.h"

#define AW_ENROLL_VERSION     1
#define AW_INVITE_ID_LEN      16
#define AW_INVITE_SECRET_LEN  32
#define AW_ENROLL_FP_LEN      32 /* SHA-256 of the raw X25519 public key */
#define AW_ENROLL_SESSION_LEN 16
#define AW_ENROLL_KEY_LEN     32  /* PSKs and the derived HMAC user key */
#define AW_ENROLL_TOKEN_TEXT  160 /* buffer for a token's text, NUL included */
#define AW_ENROLL_NAME_MAX    64
#define AW_ENROLL_CA_MAX      8192  /* the CA certificate PEM inside WELCOME */
#define AW_ENROLL_FRAME_MAX   10240 /* the largest frame of either side */
#define AW_ENROLL_DONE_MAX    64    /* the largest DONE frame */

/* ---- the token ------------------------------------------------------------------------ */

typedef struct aw_enroll_token {
    uint8_t invite_id[AW_INVITE_ID_LEN];
    uint8_t secret[AW_INVITE_SECRET_LEN];
    uint8_t fingerprint[AW_ENROLL_FP_LEN];
} aw_enroll_token;

/* The token's text: "AW1" and the RFC 4648 base32 (no padding) of version | id | secret |
 * fingerprint | 4-byte checksum (SHA-256 prefix), NUL-terminated into out. */
aw_result aw_enroll_token_encode(const aw_enroll_token *t,
                                 char out[AW_ENROLL_TOKEN_TEXT]) AW_MUST_CHECK;
/* Parses a token's text; either case, and spaces and '-' between characters, are accepted
 * (people type it). AW_E_TOKEN_INVALID for anything else, a wrong length or checksum. The
 * caller wipes *out. */
aw_result aw_enroll_token_decode(const char *text, size_t len, aw_enroll_token *out) AW_MUST_CHECK;

/* SHA-256 of a raw X25519 public key: what the token pins. */
aw_result aw_enroll_fingerprint(const uint8_t pub[AW_X25519_PUBLIC_LEN],
                                uint8_t out[AW_ENROLL_FP_LEN]) AW_MUST_CHECK;
/* The invite's PSK from its id and secret (the server stores this, sealed, and never the
 * secret itself). */
aw_result aw_enroll_invite_psk(const uint8_t id[AW_INVITE_ID_LEN],
                               const uint8_t secret[AW_INVITE_SECRET_LEN],
                               uint8_t psk[AW_ENROLL_KEY_LEN]) AW_MUST_CHECK;
/* The rotation PSK of user name from the current key (HMAC secret, or Ed25519 public key). */
aw_result aw_enroll_rotate_psk(const char *name, const uint8_t *key, size_t key_len,
                               uint8_t psk[AW_ENROLL_KEY_LEN]) AW_MUST_CHECK;

/* ---- frames --------------------------------------------------------------------------- */

typedef enum aw_enroll_frame_type {
    AW_ENROLL_KEY = 0,     /* server -> client: the static X25519 public key */
    AW_ENROLL_HELLO = 1,   /* client -> server: id | Noise message 1 */
    AW_ENROLL_WELCOME = 2, /* server -> client: Noise message 2 (session | parameters) */
    AW_ENROLL_CONFIRM = 3, /* client -> server: id | session | confirmation */
    AW_ENROLL_DONE = 4,    /* server -> client: session | commit */
} aw_enroll_frame_type;

/* A parsed frame: spans point into the caller's bytes. */
typedef struct aw_enroll_frame {
    aw_enroll_frame_type type;
    const uint8_t *id;      /* HELLO, CONFIRM: AW_INVITE_ID_LEN bytes (zero for rotation) */
    const uint8_t *session; /* CONFIRM, DONE: AW_ENROLL_SESSION_LEN bytes */
    const uint8_t *key;     /* KEY: AW_X25519_PUBLIC_LEN bytes */
    const uint8_t *body;    /* the Noise or transport message */
    size_t body_len;
} aw_enroll_frame;

/* Parses any frame by the step table: version, type, exact or bounded length. Never reads
 * past len. AW_E_MALFORMED (with a wrong version or type too), AW_E_TOO_LARGE. */
aw_result aw_enroll_frame_parse(const uint8_t *in, size_t len, aw_enroll_frame *out) AW_MUST_CHECK;

/* What the server tells the client in WELCOME, authenticated by the handshake. */
typedef struct aw_enroll_params {
    char name[AW_ENROLL_NAME_MAX + 1]; /* the user name, also the keyid */
    aw_alg alg;
    aw_fresh_mode mode;
    uint8_t server_public_key[AW_ED25519_PUBLIC_LEN]; /* signs the gateway's answers */
    int64_t server_time;                              /* unix seconds */
    const uint8_t *ca_pem; /* the gateway's CA (may be absent: 0 bytes); into the frame */
    size_t ca_pem_len;
} aw_enroll_params;

/* The parameters' format (the WELCOME payload after its 16-byte session id), for the fuzz
 * target and tests: parses plaintext into out (ca_pem points into in). AW_E_MALFORMED. */
aw_result aw_enroll_params_parse(const uint8_t *in, size_t len,
                                 aw_enroll_params *out) AW_MUST_CHECK;

/* What CONFIRM carries: the algorithm and, for Ed25519, the user's public key with a
 * signature over the handshake hash (proof that the client holds the private key). */
typedef struct aw_enroll_confirmation {
    aw_alg alg;
    uint8_t ed25519_public[AW_ED25519_PUBLIC_LEN];
    uint8_t ed25519_signature[AW_ED25519_SIG_LEN];
} aw_enroll_confirmation;

/* The CONFIRM payload's format (after decryption): AW_E_MALFORMED. */
aw_result aw_enroll_confirmation_parse(const uint8_t *in, size_t len,
                                       aw_enroll_confirmation *out) AW_MUST_CHECK;

/* ---- client --------------------------------------------------------------------------- */

typedef struct aw_enroll_client {
    int step; /* index into the step table; -1 once failed */
    bool rotation;
    uint8_t id[AW_INVITE_ID_LEN];
    char name[AW_ENROLL_NAME_MAX + 1]; /* rotation: the user */
    uint8_t psk[AW_ENROLL_KEY_LEN];
    uint8_t fingerprint[AW_ENROLL_FP_LEN];
    uint8_t session[AW_ENROLL_SESSION_LEN];
    aw_noise_handshake hs;
    aw_noise_cipher send, recv;
    uint8_t h[AW_NOISE_HASH_LEN];
    uint8_t user_key[AW_ENROLL_KEY_LEN];
    aw_enroll_params params; /* from WELCOME; ca_pem points into ca */
    uint8_t ca[AW_ENROLL_CA_MAX];
    int64_t created_at; /* from DONE */
} aw_enroll_client;

/* Starts an enrollment with a decoded token. */
aw_result aw_enroll_client_init(aw_enroll_client *c, const aw_enroll_token *t) AW_MUST_CHECK;
/* Starts a rotation of user name, whose current key is key (see aw_enroll_rotate_psk),
 * against the server enrollment key pinned at enrollment (its fingerprint). */
aw_result aw_enroll_client_init_rotation(aw_enroll_client *c, const char *name, const uint8_t *key,
                                         size_t key_len,
                                         const uint8_t fingerprint[AW_ENROLL_FP_LEN]) AW_MUST_CHECK;

/* Reads the KEY frame and, only if its key matches the pinned fingerprint
 * (AW_E_SERVER_KEY_MISMATCH otherwise, and nothing is written), writes HELLO with the
 * ephemeral private key e (the caller makes it with aw_x25519_keypair and wipes it). */
aw_result aw_enroll_client_hello(aw_enroll_client *c, const uint8_t *key_frame, size_t key_len,
                                 const uint8_t e[AW_X25519_PRIVATE_LEN], uint8_t *out, size_t cap,
                                 size_t *out_len) AW_MUST_CHECK;
/* Reads WELCOME. On success the parameters are in c->params: the caller checks them (for
 * rotation: same name and algorithm) and makes an Ed25519 key if params.alg asks for one.
 * AW_E_HANDSHAKE when it does not verify, AW_E_MALFORMED. */
aw_result aw_enroll_client_welcome(aw_enroll_client *c, const uint8_t *in,
                                   size_t len) AW_MUST_CHECK;
/* Writes CONFIRM. user_key: the user's new Ed25519 key (with private part) when
 * params.alg is ed25519, NULL for HMAC. The same bytes may be re-sent when DONE is lost. */
aw_result aw_enroll_client_confirm(aw_enroll_client *c, aw_ed25519_key *user_key, uint8_t *out,
                                   size_t cap, size_t *out_len) AW_MUST_CHECK;
/* Reads DONE: the server committed. AW_E_HANDSHAKE when it does not verify. */
aw_result aw_enroll_client_done(aw_enroll_client *c, const uint8_t *in, size_t len) AW_MUST_CHECK;
/* The derived HMAC key (after WELCOME); the caller wipes its copy. */
aw_result aw_enroll_client_user_key(const aw_enroll_client *c,
                                    uint8_t out[AW_ENROLL_KEY_LEN]) AW_MUST_CHECK;
void aw_enroll_client_wipe(aw_enroll_client *c);

/* ---- server --------------------------------------------------------------------------- */

/* One pending handshake between WELCOME and CONFIRM: what the gateway keeps per session. */
typedef struct aw_enroll_server {
    int step;
    uint8_t id[AW_INVITE_ID_LEN];
    uint8_t session[AW_ENROLL_SESSION_LEN];
    aw_alg alg;
    aw_noise_cipher send, recv;
    uint8_t h[AW_NOISE_HASH_LEN];
    uint8_t user_key[AW_ENROLL_KEY_LEN];
} aw_enroll_server;

/* Writes the KEY frame for the server's static X25519 public key. */
aw_result aw_enroll_key_frame(const uint8_t pub[AW_X25519_PUBLIC_LEN], uint8_t *out, size_t cap,
                              size_t *out_len) AW_MUST_CHECK;

/* The secrets of one side of a handshake the server answers. */
typedef struct aw_enroll_server_keys {
    const uint8_t *s;          /* static X25519 private key */
    const uint8_t *e;          /* fresh ephemeral private key */
    const uint8_t *psk;        /* the invite's (or the rotation's) PSK */
    const char *rotation_name; /* NULL for an invite; the user for a rotation */
} aw_enroll_server_keys;

/* Reads HELLO (parsed by aw_enroll_frame_parse; the caller looked the invite up by
 * hello->id) and writes WELCOME carrying params under the new session id. On success srv
 * holds the session. AW_E_HANDSHAKE when message 1 does not verify (wrong secret, tampered,
 * another server key), AW_E_KEY_INVALID for a low-order ephemeral key. */
aw_result aw_enroll_server_welcome(aw_enroll_server *srv, const aw_enroll_frame *hello,
                                   const aw_enroll_server_keys *keys,
                                   const uint8_t session[AW_ENROLL_SESSION_LEN],
                                   const aw_enroll_params *params, uint8_t *out, size_t cap,
                                   size_t *out_len) AW_MUST_CHECK;
/* Reads CONFIRM (parsed; the caller found srv by confirm->session and checked confirm->id)
 * into *conf: for Ed25519 the proof of possession was checked. Then writes DONE with
 * created_at into out. The caller commits, then sends DONE, and keeps SHA-256 of the
 * CONFIRM frame and the DONE bytes to answer a retry. AW_E_HANDSHAKE, AW_E_ALG_MISMATCH. */
aw_result aw_enroll_server_confirm(aw_enroll_server *srv, const aw_enroll_frame *confirm,
                                   aw_enroll_confirmation *conf, int64_t created_at, uint8_t *out,
                                   size_t cap, size_t *out_len) AW_MUST_CHECK;
/* The derived HMAC key (after WELCOME); the caller wipes its copy. */
aw_result aw_enroll_server_user_key(const aw_enroll_server *srv,
                                    uint8_t out[AW_ENROLL_KEY_LEN]) AW_MUST_CHECK;
void aw_enroll_server_wipe(aw_enroll_server *srv);

#endif
