/* authwired internals: the state every worker shares, the state each worker owns, and one
 * request in flight (an exchange). The files of src/gateway:
 *   main.c     start-up, signals, shutdown
 *   config.c   the option table
 *   auth.c     request authentication: signature, freshness modes, channel binding
 *   reply.c    every response: signed and bound to its request, errors included
 *   api.c      the built-in demo API
 *   proxy.c    the reverse proxy to --upstream
 *   enroll.c   enrollment and rotation endpoints, the pending handshake sessions
 *   metrics.c  Prometheus counters and the latency histogram
 *   access_log.c  one JSON line per request, no secrets */
#ifndef AUTHWIRED_GATEWAY_H
#define AUTHWIRED_GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "authwire/crypto.h"
#include "authwire/freshness.h"
#include "authwire/signature.h"
#include "bank.h"
#include "config.h"
#include "server.h"
#include "store.h"

/* ---- metrics (metrics.c) ------------------------------------------------------------ */

#define GW_RESULT_SLOTS    800 /* aw_result codes are below 800 */
#define GW_LATENCY_BUCKETS 12

typedef struct gw_metrics {
    atomic_uint_fast64_t by_result[GW_RESULT_SLOTS]; /* requests by final result */
    atomic_uint_fast64_t latency_bucket[GW_LATENCY_BUCKETS + 1];
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t latency_count;
    atomic_uint_fast64_t interception_suspected;
    /* Handshake outcomes by result (AW_OK: committed), enrollment and rotation apart. */
    atomic_uint_fast64_t enroll_by_result[GW_RESULT_SLOTS];
    atomic_uint_fast64_t rotate_by_result[GW_RESULT_SLOTS];
    atomic_uint_fast64_t rotations_promoted; /* a pending key confirmed by its first use */
    /* When this process started (wall clock, microseconds): process_start_time_seconds, by
     * which a restart can be told from a gateway that kept running. */
    int64_t started_us;
} gw_metrics;

/* ---- shared state ------------------------------------------------------------------- */

typedef struct gw_seq_entry {
    char name[AW_USER_NAME_MAX + 1];
    aw_seq_window window;
    uint64_t persisted; /* high-water mark known durable in the store */
    struct gw_seq_entry *next;
} gw_seq_entry;

#define GW_SEQ_BUCKETS 1024

#define GW_LIMIT_SLOTS 4096

/* Events per key (a source address, an invite) in the current window of `period` seconds,
 * shared by the workers, approximate: a key probes a few slots, and when all of them are
 * taken by other keys in this window it takes over the one with the fewest counts (so a
 * heavy key, the kind a limit is for, keeps its count, and a new key never inherits one). */
typedef struct gw_limit_slot {
    uint64_t key; /* hash of the address or invite */
    int64_t window;
    int64_t count;
} gw_limit_slot;

typedef struct gw_limiter {
    pthread_mutex_t lock;
    int64_t period;
    gw_limit_slot slots[GW_LIMIT_SLOTS];
} gw_limiter;

void gw_limiter_init(gw_limiter *l, int64_t period);
/* Adds `add` events for key now and returns the key's count in the current window. */
int64_t gw_limit_count(gw_limiter *l, uint64_t key, int64_t add);
/* FNV-1a of n bytes under a one-byte domain (keys of different kinds never share a hash). */
uint64_t gw_limit_key(uint8_t domain, const void *bytes, size_t n);

typedef struct gw_enroll gw_enroll;

typedef struct gateway {
    gw_config cfg;
    struct ssl_ctx_st *tls;
    char *server_key_pem; /* each worker makes its own key object from it */
    size_t server_key_pem_len;
    uint8_t challenge_secret[32]; /* fresh at every start: old challenges die with a restart */
    aw_policy policy;

    /* Replay state, shared by all workers: a nonce seen by one is seen by all. */
    pthread_mutex_t replay_lock;
    aw_nonce_cache nonces;
    void *nonce_mem;

    pthread_mutex_t seq_lock;
    gw_seq_entry *seq[GW_SEQ_BUCKETS];

    /* Timestamp mode across restarts: requests created at or before created_floor (the
     * highest created accepted before this start) are refused; created_persisted is the
     * durable high-water mark, raised before a higher created is accepted. */
    pthread_mutex_t created_lock;
    int64_t created_floor;
    int64_t created_persisted;

    gw_limiter failure_limits; /* --rate-limit: failed authentications per source */
    gw_limiter enroll_limits;  /* --enroll-rate-limit: enrollment POSTs per source */
    gw_enroll *enroll;         /* keys and pending handshakes (enroll.c); NULL: disabled */

    gw_metrics metrics;
    int access_log_fd; /* -1: off */
    aw_http_server *server;
} gateway;

/* ---- per worker --------------------------------------------------------------------- */

typedef struct gw_user {
    char name[AW_USER_NAME_MAX + 1];
    aw_alg alg;
    aw_fresh_mode mode;
    int64_t revoked_at;
    aw_key key;
    aw_key next_key; /* rotation: the pending key (alg AW_ALG_NONE when none) */
    int refs;        /* the cache's reference plus one per exchange still waiting (proxy mode) */
    struct gw_user *next;
} gw_user;

#define GW_USER_BUCKETS 256
#define GW_SCRATCH      (96 * 1024)

typedef struct gw_proxy gw_proxy;

typedef struct gw_worker {
    gateway *gw;
    int index;
    struct event_base *base;
    aw_store *store;
    aw_bank *bank;
    aw_hmac_key *challenge_key;
    aw_ed25519_key *server_key;
    gw_user *users[GW_USER_BUCKETS];
    uint64_t users_generation;
    gw_proxy *proxy;
    uint8_t scratch[GW_SCRATCH];
} gw_worker;

/* ---- one request in flight ----------------------------------------------------------- */

typedef struct gw_exchange {
    gw_worker *w;
    aw_http_conn *conn;
    aw_http_request *req;
    aw_result result;        /* why it was refused, for the log and metrics; AW_OK otherwise */
    const char *detail;      /* more for the log (static text), or NULL */
    gw_user *user;           /* the key that signed it, once the signature verified */
    const aw_key *key;       /* user->key, or user->next_key when the pending key signed */
    bool use_next;           /* the key lookup answers with the pending key (second try) */
    bool reason_public;      /* the exact reason goes to an unauthenticated peer (enrollment) */
    const char *enroll_step; /* enrollment and rotation: the frame handled, for the log */
    char enroll_user[AW_USER_NAME_MAX + 1]; /* the invite's user or the rotating user */
    char invite[2 * AW_INVITE_ID_LEN + 1];  /* the invite id, hex ("" when none) */
    bool authenticated; /* the signature verified: answers are signed with the user's key */
    bool has_signature; /* the request carries a parsable `aw` signature to bind to */
    aw_verified verified;
    uint64_t seq;
} gw_exchange;

/* auth.c */
/* Authenticates x->req: signature under the authwire/1 policy, the user's freshness mode,
 * channel binding. On success x->user and x->authenticated are set and replay state has
 * recorded the request. Returns AW_OK or the reason (also in x->result). */
aw_result gw_authenticate(gw_exchange *x);
/* Drops cached users when the store says they changed (revocation, new users). */
void gw_users_refresh(gw_worker *w);
void gw_users_free(gw_worker *w);
/* An exchange that outlives the handler call keeps its user alive across cache flushes. */
void gw_user_hold(gw_user *u);
void gw_user_release(gw_user *u);
/* Loads per-user sequence state and the restart guard before serving. */
aw_result gw_replay_init(gateway *gw, aw_store *store);
void gw_replay_free(gateway *gw);

/* reply.c */
/* Sends a response to x, signed: with the user's key once authenticated, else with the
 * server's Ed25519 key, bound to the request as far as it can be. Extra fields (e.g. from
 * an upstream) are passed through after the signed ones. Errors (status >= 400) carry
 * Authwire-Error and Authwire-Time; 401 also a fresh challenge. Logs and counts it. */
void gw_reply(gw_exchange *x, int status, const char *content_type, aw_span body,
              const aw_http_field *extra, size_t n_extra);
/* An error response for result (status from aw_result_peer_status). */
void gw_reply_error(gw_exchange *x, aw_result result, const char *detail);
/* Writes a fresh challenge nonce (AW_CHALLENGE_TEXT_LEN + 1 bytes). */
aw_result gw_challenge(gw_worker *w, char *out) AW_MUST_CHECK;

/* api.c: the demo API for an authenticated exchange. */
void gw_api_handle(gw_exchange *x);

/* enroll.c */
/* Reads the enrollment key (DATA/server-x25519.pem) and the CA to pin (DATA/ca.pem, when
 * present) and makes the session table. A data directory without an enrollment key leaves
 * enrollment off (gw->enroll NULL; its endpoints answer 404). */
aw_result gw_enroll_init(gateway *gw) AW_MUST_CHECK;
void gw_enroll_free(gateway *gw);
/* AW_ENROLL_PATH: GET (the KEY frame) and POST (HELLO, CONFIRM), unauthenticated. */
void gw_enroll_handle(gw_exchange *x);
/* AW_ROTATE_PATH, for an authenticated exchange: POST (HELLO, CONFIRM) and the GET that
 * confirms the new key. */
void gw_rotate_handle(gw_exchange *x);
/* Handshakes waiting for their CONFIRM now (the metrics gauge). */
size_t gw_enroll_sessions_live(gateway *gw);

/* proxy.c */
aw_result gw_proxy_new(gw_worker *w, gw_proxy **out) AW_MUST_CHECK;
void gw_proxy_free(gw_proxy *p);
/* Forwards the verified request upstream and replies when the upstream answered (later, on
 * the same worker). Takes ownership of x. */
void gw_proxy_forward(gw_exchange *x);

/* metrics.c */
void gw_metrics_count(gateway *gw, aw_result result, uint64_t latency_ns);
/* One enrollment (rotation false) or rotation handshake outcome: AW_OK is "committed". */
void gw_metrics_enroll(gateway *gw, bool rotation, aw_result result);
/* Writes the Prometheus text exposition into out; the user gauges are read from store. */
void gw_metrics_render(gateway *gw, aw_store *store, aw_writer *out);

/* access_log.c */
void gw_access_log(gw_exchange *x, int status, uint64_t latency_ns);

/* Unix seconds now. */
int64_t gw_now(void);

#endif
