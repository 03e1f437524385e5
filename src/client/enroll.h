/* The client side of enrollment and rotation (`authwire enroll`, `authwire rotate`): the
 * core's state machine (authwire/enroll.h) driven over HTTP, with the retries a lossy
 * network needs.
 *
 * HTTP mapping (docs/PROTOCOL.md, "Enrollment over HTTP"):
 *   GET  URL/.well-known/authwire/enroll   -> 200 KEY frame
 *   POST URL/.well-known/authwire/enroll   HELLO -> 200 WELCOME, CONFIRM -> 200 DONE
 *   POST URL/.well-known/authwire/rotate   the same two, as signed requests (current key)
 *   GET  URL/.well-known/authwire/rotate   signed with the NEW key: the gateway promotes it
 * Bodies are Content-Type application/authwire-enroll. Errors are 4xx/5xx with
 * Authwire-Error: <aw_result_name>. During enrollment those answers are not authenticated
 * (the client holds no key of the server's yet); during rotation they are signed.
 *
 * The driver talks through a transport (a function and its context), so that the retry
 * logic runs in tests against the core's server side without a network. */
#ifndef AUTHWIRE_CLIENT_ENROLL_H
#define AUTHWIRE_CLIENT_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authwire/enroll.h"
#include "authwire/exchange.h"
#include "credentials.h"

/* One answer of the server, as a transport reports it. */
typedef struct aw_enroll_reply {
    int status; /* the HTTP status; 0 when no answer came (network error, timeout) */
    uint8_t body[AW_ENROLL_FRAME_MAX];
    size_t body_len;   /* a 200 answer's frame (a longer body is refused: AW_E_TOO_LARGE) */
    bool signed_reply; /* rotation: the answer's signature verified and binds it to the request */
    bool unverified;   /* rotation: an answer came but failed verification (interference) */
    bool permanent;    /* no answer, and trying again will not help (TLS, URL) */
    char error[64];    /* Authwire-Error ("" when none); signed only when signed_reply */
    char text[256];    /* the error body's first line, or why no answer came */
} aw_enroll_reply;

/* Sends one frame: type AW_ENROLL_KEY is the GET of the key (frame NULL), HELLO and CONFIRM
 * are POSTs. Returns AW_OK when the exchange happened (reply->status may be 0 or an error),
 * another code only for a local failure. */
typedef aw_result (*aw_enroll_send_fn)(void *ctx, aw_enroll_frame_type type, const uint8_t *frame,
                                       size_t len, aw_enroll_reply *reply);

typedef struct aw_enroll_transport {
    aw_enroll_send_fn send;
    void *ctx;
} aw_enroll_transport;

/* Called once the WELCOME checked out and before CONFIRM is sent (again after a restart),
 * so the key can be stored before the server commits anything. Not AW_OK: nothing is sent,
 * the run ends with AW_ENROLL_LOCAL. */
typedef aw_result (*aw_enroll_persist_fn)(void *ctx, const aw_enroll_client *c,
                                          const aw_ed25519_key *user_key, bool again);

typedef struct aw_enroll_options {
    int sends;           /* sends of KEY, HELLO or CONFIRM when no answer comes (default 5) */
    unsigned backoff_ms; /* first pause between them, doubled each time (default 500) */
    void (*sleep_ms)(unsigned ms); /* NULL: nanosleep (tests pass their own) */
    aw_enroll_persist_fn persist;  /* NULL: none */
    void *persist_ctx;
    FILE *log; /* one line per step; NULL: quiet */
} aw_enroll_options;

typedef enum aw_enroll_failure {
    AW_ENROLL_SUCCESS = 0,
    AW_ENROLL_REFUSED,      /* the server said no (reply.error) */
    AW_ENROLL_INTERFERENCE, /* the pin failed, or an answer that does not verify */
    AW_ENROLL_NO_ANSWER,    /* no answer after every send (network, timeout, 5xx) */
    AW_ENROLL_LOCAL,        /* randomness, memory, the persist callback */
} aw_enroll_failure;

typedef struct aw_enroll_outcome {
    aw_result result; /* AW_OK, or the reason (the server's name when REFUSED) */
    aw_enroll_failure failure;
    aw_enroll_frame_type step;                /* the frame that failed */
    aw_enroll_reply reply;                    /* the last answer */
    uint8_t server_key[AW_X25519_PUBLIC_LEN]; /* the pinned enrollment key (after KEY) */
    int64_t clock_offset;                     /* params.server_time - the local clock at WELCOME */
    int resends;       /* KEY, HELLO (a fresh one) and CONFIRM sent again after no answer */
    int restarts;      /* handshakes started over (session_unknown) */
    bool confirm_sent; /* a CONFIRM went out: the server may have committed */
} aw_enroll_outcome;

/* Enrolls with token t: KEY (checked against t's fingerprint before anything is sent),
 * HELLO, WELCOME, an Ed25519 key made when the invite asks for one (*user_key, the
 * caller frees it), CONFIRM, DONE. A CONFIRM without answer is sent again, the same bytes,
 * with backoff; a session_unknown answer to it (the server restarted) starts over from
 * HELLO once, with a fresh ephemeral key. A HELLO without answer is replaced by a fresh one
 * (the server refuses a replayed HELLO). On AW_OK, c holds the parameters and the key
 * (the caller wipes c); on failure c is wiped and out says why. */
aw_result aw_client_enroll(const aw_enroll_token *t, const aw_enroll_transport *tr,
                           const aw_enroll_options *o, aw_enroll_client *c,
                           aw_ed25519_key **user_key, aw_enroll_outcome *out);

/* Rotates the key of the user in cred (its enroll_key is the pin; no KEY is fetched): the
 * same handshake with the rotation PSK of the current key, through a signing transport.
 * Ed25519 users get a new key pair in *user_key. The WELCOME must name the same user and
 * algorithm. Then the caller stores the new key and confirms it (aw_rotate_confirm). */
aw_result aw_client_rotate(const aw_credentials *cred, const aw_enroll_transport *tr,
                           const aw_enroll_options *o, aw_enroll_client *c,
                           aw_ed25519_key **user_key, aw_enroll_outcome *out);

/* The new key of a finished handshake, as a credential file holds it: the derived HMAC key
 * or the Ed25519 private key (PEM). Wiped by the caller (aw_wipe of the whole struct). */
typedef struct aw_enroll_key_buf {
    uint8_t secret[AW_ENROLL_KEY_LEN];
    char pem[512];
} aw_enroll_key_buf;

/* Puts the new key into cred (alg, and secret or private_pem pointing into buf; the other
 * one NULL): from c for HMAC, from user_key for Ed25519 (c->params.alg decides). */
aw_result aw_enroll_put_key(const aw_enroll_client *c, const aw_ed25519_key *user_key,
                            aw_enroll_key_buf *buf, aw_credentials *cred) AW_MUST_CHECK;

/* ---- the HTTP transports (libcurl) --------------------------------------------------- */

/* Enrollment: unauthenticated. Over https without cacert the TLS certificate is not
 * verified (the pinned key is the security). */
typedef struct aw_enroll_http {
    const char *url;    /* the gateway; its scheme://authority is used */
    const char *cacert; /* NULL: TLS not verified */
    long timeout;       /* seconds per exchange; 0: 60 */
    FILE *verbose;
} aw_enroll_http;

aw_result aw_enroll_http_send(void *ctx, aw_enroll_frame_type type, const uint8_t *frame,
                              size_t len, aw_enroll_reply *reply);

/* Rotation: signed requests with the current credentials (aw_client_send). */
typedef struct aw_rotate_http {
    const aw_credentials *cred;
    const char *credentials_path; /* for the client state file */
    FILE *verbose;
} aw_rotate_http;

aw_result aw_rotate_http_send(void *ctx, aw_enroll_frame_type type, const uint8_t *frame,
                              size_t len, aw_enroll_reply *reply);

/* GET URL/.well-known/authwire/rotate signed with the new credentials: the gateway promotes
 * the new key (the old one stops working). *reply says what came back; AW_OK only for a
 * signed 2xx. */
aw_result aw_rotate_confirm(const aw_credentials *cred_new, const char *credentials_path,
                            FILE *verbose, aw_enroll_reply *reply);

#endif
