/* The attack harness (`authwire attack`): a catalogue of attacks on authwire/1, run against
 * a live gateway by a man in the middle (proxy.h) that drives the real client (client.h)
 * through itself, and a report of what each attack tried, what happened and what stopped it.
 *
 * An attack is a plugin: one row of a table (id, description, the threat-model line it
 * tests, the defence expected to stop it, what it needs) and one function that makes a real
 * attempt against the gateway and says what really happened. Adding one is a row in a
 * family's table (attacks_*.c) and its function; nothing else changes.
 *
 * Vocabulary of stopped_by and expected: a reason the gateway counts a refusal under
 * (aw_result_name: "digest_mismatch", "replay", "channel_binding", ...), "client:<reason>"
 * when the client refused an answer ("client:signature_invalid"), "tls:<what>" when TLS
 * itself refused ("tls:handshake", "tls:certificate"), "enroll:<reason>" when the gateway
 * refused an enrollment frame, "enroll:client:<reason>" when the enrollment client refused
 * the server's (or what claimed to be the server's), and a few names for defences that are
 * properties rather than checks ("keys_not_on_wire", "unsigned_ignored"). */
#ifndef AUTHWIRE_ATTACK_H
#define AUTHWIRE_ATTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authwire/freshness.h"
#include "authwire/result.h"
#include "client.h"
#include "credentials.h"
#include "json.h"
#include "proxy.h"
#include "wire.h"

/* ---- the plugin interface ------------------------------------------------------------ */

typedef enum aw_attack_outcome {
    AW_ATTACK_BLOCKED,
    AW_ATTACK_SUCCEEDED,
    AW_ATTACK_ERROR, /* the attempt itself could not be made */
} aw_attack_outcome;

typedef struct aw_attack_result {
    aw_attack_outcome outcome;
    char stopped_by[64]; /* the check that stopped it (vocabulary above) */
    char observed[256];  /* what a passive observer / the attacker learned, one line */
    char detail[256];    /* what happened, one line */
} aw_attack_result;

typedef struct aw_attack_ctx aw_attack_ctx; /* the harness: target, credentials, proxy */

/* Makes the attempt and fills out. Returns AW_OK when it ran (whatever the outcome); any
 * other result makes the row an error with that reason. */
typedef aw_result (*aw_attack_run_fn)(aw_attack_ctx *ctx, aw_attack_result *out);

/* What an attack needs; a row whose needs the target does not meet is reported as skipped
 * with the reason, never dropped. */
#define AW_ATTACK_NEEDS_TLS           (1u << 0) /* an https target */
#define AW_ATTACK_NEEDS_TIMESTAMP     (1u << 1) /* the user is in timestamp mode */
#define AW_ATTACK_NEEDS_SEQUENCE      (1u << 2) /* ... in sequence mode */
#define AW_ATTACK_NEEDS_CHALLENGE     (1u << 3) /* ... in challenge mode */
#define AW_ATTACK_NEEDS_RESTART       (1u << 4) /* --restart-cmd: how to restart the gateway */
#define AW_ATTACK_NEEDS_VICTIM        (1u << 5) /* another user's name (--victim, or --data) */
#define AW_ATTACK_NEEDS_DATA          (1u << 6) /* --data: invites of the local gateway's store */
#define AW_ATTACK_NEEDS_MTLS          (1u << 7) /* an mTLS target (--cert: the user's certificate) */
#define AW_ATTACK_NEEDS_ATTACKER_CERT (1u << 8) /* a certificate of the attacker's own */

typedef struct aw_attack {
    const char *id;          /* "tamper-body": stable, kebab-case */
    const char *description; /* what is tried */
    const char *threat;      /* the line of docs/THREAT_MODEL.md it tests, quoted */
    /* The defence expected to stop it, in the vocabulary of stopped_by. When it depends on
     * the target: alternatives "COND=name", the first whose condition holds wins, a bare name
     * always holds. COND: tls, plain, timestamp, sequence, challenge, hmac, ed25519.
     * E.g. "tls=channel_binding timestamp=replay sequence=seq_replay". */
    const char *expected;
    unsigned needs; /* AW_ATTACK_NEEDS_* */
    aw_attack_run_fn run;
} aw_attack;

/* The whole catalogue, in report order. */
const aw_attack *aw_attack_catalogue(size_t *count);

/* ---- running a catalogue --------------------------------------------------------------- */

typedef struct aw_attack_config {
    const char *target;         /* gateway URL; NULL: the credential file's url */
    const char *credentials;    /* credential file of the user the attacker sits behind */
    const char *cacert;         /* the gateway's CA; NULL: the credential file's */
    const char *data_dir;       /* the local gateway's data directory, or NULL */
    const char *victim;         /* another user of the gateway, or NULL */
    const char *only;           /* run this id only, or NULL */
    const aw_attack *catalogue; /* NULL: aw_attack_catalogue() */
    size_t catalogue_len;
    int slow_timeout_ms; /* how long the slow-request attack waits (0: 15 s) */
    int window_s;        /* the gateway's skew + max-age, seconds (0: the defaults, 60) */
    /* A shell command that restarts the gateway (kill -9 or a clean stop, then a start on
     * the same address) and returns once it was started; NULL: the restart rows are
     * skipped. It runs with /bin/sh -c; its stdout is dropped. */
    const char *restart_cmd;
    /* mTLS targets: the user's client certificate and key (PEM files), which the client
     * presents; the man in the middle presents it too (the attacker holds the user's TLS
     * key, not her signing key). NULL: none. */
    const char *client_cert, *client_key;
    /* A client certificate of the attacker's own (another user's), for the mTLS relay row;
     * NULL: that row is skipped. */
    const char *attacker_cert, *attacker_key;
    FILE *progress; /* progress lines (stderr), or NULL */
} aw_attack_config;

typedef struct aw_attack_row {
    const aw_attack *attack;
    bool skipped;
    char expected[64]; /* resolved for this target */
    bool as_expected;  /* blocked, by the expected defence */
    double seconds;
    aw_attack_result result; /* detail holds the reason of a skip */
} aw_attack_row;

typedef struct aw_attack_report {
    char target[512];
    char user[72];
    char mode[16];
    aw_attack_row *rows;
    size_t n_rows;
    size_t blocked, unexpected, succeeded, errors, skipped;
} aw_attack_report;

/* Runs the catalogue (or cfg->only) against cfg->target. Returns AW_OK when it ran (look at
 * the report), or why it could not start (a reason in why): unreadable credentials, a bad
 * URL, an unknown id. */
aw_result aw_attack_run(const aw_attack_config *cfg, aw_attack_report *out, char *why,
                        size_t why_cap) AW_MUST_CHECK;
/* One line per attack, then a summary. */
void aw_attack_report_print(const aw_attack_report *r, FILE *out);
/* The report as a JSON array of rows: id, description, threat, expected, outcome
 * ("blocked", "succeeded", "skipped", "error"), as_expected, stopped_by, observed, detail
 * (for a skipped row: why), ms (how long it took). */
aw_result aw_attack_report_json(const aw_attack_report *r, const char *path) AW_MUST_CHECK;
/* The same rows appended to the JSON array open in jw (a report that joins other rows, as
 * `--profile seed` does). */
void aw_attack_report_json_rows(const aw_attack_report *r, aw_json_writer *jw);
void aw_attack_report_free(aw_attack_report *r);

/* The expected defence of a for a target (the first alternative whose condition holds);
 * "" when none does. */
void aw_attack_expected(const aw_attack *a, bool tls, aw_fresh_mode mode, aw_alg alg, char *out,
                        size_t cap);

/* ---- what an attack may use ------------------------------------------------------------ */

const aw_credentials *aw_attack_cred(const aw_attack_ctx *ctx);
const char *aw_attack_cred_path(const aw_attack_ctx *ctx); /* its file (state: PATH.state) */
bool aw_attack_tls(const aw_attack_ctx *ctx);              /* the target is https */
const char *aw_attack_victim(const aw_attack_ctx *ctx);    /* another user, or NULL */
const char *aw_attack_data_dir(const aw_attack_ctx *ctx);  /* --data DIR, or NULL */
const aw_endpoint *aw_attack_gateway(const aw_attack_ctx *ctx);
/* How long an attack may wait for one of the gateway's deadlines, in milliseconds. */
int aw_attack_patience_ms(const aw_attack_ctx *ctx);
/* The gateway's replay window (skew + max-age), in seconds. */
int aw_attack_window_s(const aw_attack_ctx *ctx);
/* Restarts the gateway with the configured command: stops the row's man in the middle first
 * (take what it captured before), runs the command, waits (up to 30 s) until the gateway
 * accepts connections again, and checks that its process_start_time_seconds (/metrics)
 * changed. AW_OK with what was checked in why ("restarted: ...", or "not verified: ..." when
 * the gateway shows no /metrics); AW_E_IO with the reason when the command fails or hangs,
 * the gateway does not come back, or it was not restarted. */
aw_result aw_attack_restart(aw_attack_ctx *ctx, char *why, size_t why_cap) AW_MUST_CHECK;
/* A progress line (long waits), on the configured stream. */
void aw_attack_progress(aw_attack_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Memory that lives until the row ends, after its man in the middle stopped (zeroed; NULL
 * when out of memory). Whatever a hook reads or writes must live there (or be static): a
 * hook may run on the proxy's thread until the harness stops the proxy. */
void *aw_attack_alloc(aw_attack_ctx *ctx, size_t size);

/* The man in the middle for this attack (stopped by the harness when the attack returned).
 * Over https it terminates TLS toward the client: */
typedef enum aw_attack_tls {
    AW_ATTACK_TLS_INTERCEPT, /* with a leaf of the harness's rogue CA, which the client is told
                              * to trust (the attacker with a CA the client trusts) */
    AW_ATTACK_TLS_UNTRUSTED, /* with the same leaf; the client trusts the gateway's CA only */
    AW_ATTACK_TLS_STRIP,     /* not at all: plain toward the client, TLS toward the gateway */
} aw_attack_tls_mode;

/* hook_arg: from aw_attack_alloc, or static. */
aw_result aw_attack_mitm(aw_attack_ctx *ctx, aw_proxy_mode mode, aw_attack_tls_mode tls,
                         aw_proxy_hook_fn hook, void *hook_arg) AW_MUST_CHECK;

/* The client certificate the attacker's connections to the gateway present (mTLS targets;
 * elsewhere all three are the same). */
typedef enum aw_attack_identity {
    AW_ATTACK_AS_USER,      /* the user's (the default) */
    AW_ATTACK_AS_ANONYMOUS, /* none */
    AW_ATTACK_AS_ATTACKER,  /* the attacker's own (--attacker-cert) */
} aw_attack_identity;

/* aw_attack_mitm with the man in the middle's connections to the gateway as identity. */
aw_result aw_attack_mitm_as(aw_attack_ctx *ctx, aw_proxy_mode mode, aw_attack_tls_mode tls,
                            aw_attack_identity identity, aw_proxy_hook_fn hook,
                            void *hook_arg) AW_MUST_CHECK;
aw_proxy *aw_attack_proxy(aw_attack_ctx *ctx);      /* the running one, or NULL */
int aw_attack_proxy_port(const aw_attack_ctx *ctx); /* its port on 127.0.0.1 (0: none) */

/* The common man in the middle: HTTP mode, TLS intercepted over https, request edits applied
 * to signed requests and response edits to the answers of signed requests. */
typedef bool (*aw_attack_edit_fn)(aw_pmsg *m, void *arg); /* whether it changed m */

typedef struct aw_attack_edit {
    aw_attack_edit_fn request;  /* NULL: requests pass */
    aw_attack_edit_fn response; /* NULL: answers pass */
    void *arg;                  /* from aw_attack_alloc, or static */
    /* Written on the proxy's thread; read them after aw_attack_send returned. */
    int edits;      /* messages changed */
    int answered;   /* answers to signed requests */
    int status;     /* the gateway's last such answer (before any response edit) */
    char error[64]; /* its Authwire-Error ("" when none) */
} aw_attack_edit;

/* Starts it; the edit state belongs to the row (NULL when the proxy does not start). */
aw_attack_edit *aw_attack_mitm_edit(aw_attack_ctx *ctx, aw_attack_edit_fn request,
                                    aw_attack_edit_fn response, void *arg);
/* The same with the man in the middle's connections to the gateway as identity. */
aw_attack_edit *aw_attack_mitm_edit_as(aw_attack_ctx *ctx, aw_attack_identity identity,
                                       aw_attack_edit_fn request, aw_attack_edit_fn response,
                                       void *arg);

/* One request of the user, by the real client (aw_client_send): through the man in the
 * middle when one runs, else straight to the gateway. When it returns, everything the hooks
 * wrote so far may be read. */
typedef struct aw_attack_call {
    const char *method;       /* NULL: GET, or POST with a body */
    const char *path;         /* "/api/balance" */
    const char *content_type; /* NULL: none */
    const char *body;         /* NULL: none */
    /* The user was sent to the attacker's own address (a look-alike of the API): the URL
     * names the man in the middle, not the gateway. */
    bool to_attacker;
    aw_result result;        /* aw_client_send's: AW_OK when an answer came back */
    char why[256];           /* why not */
    aw_client_response resp; /* the client's verdict on the answer */
} aw_attack_call;

aw_result aw_attack_send(aw_attack_ctx *ctx, aw_attack_call *call);

/* For a client of the user's other than aw_attack_send (the enrollment client): the URL of
 * path through the man in the middle when one runs (its own address) into url,
 * and returns the CA file that client must trust there: the rogue CA when the man in the
 * middle intercepts TLS, else the gateway's (NULL over plain HTTP). */
const char *aw_attack_client_url(aw_attack_ctx *ctx, const char *path, char *url, size_t cap);
void aw_attack_call_free(aw_attack_call *call);

/* The attacker's own connection: req to the gateway, one answer back (aw_wire_exchange). */
aw_result aw_attack_raw(aw_attack_ctx *ctx, const uint8_t *req, size_t len, int timeout_ms,
                        aw_wire_answer *out) AW_MUST_CHECK;
/* The same as identity. */
aw_result aw_attack_raw_as(aw_attack_ctx *ctx, aw_attack_identity identity, const uint8_t *req,
                           size_t len, int timeout_ms, aw_wire_answer *out) AW_MUST_CHECK;

/* A request signed with the credential's key by the harness itself (timestamp form: a fresh
 * nonce, created now), for insiders who sign what the client would not. */
typedef struct aw_attack_forge {
    const char *method;
    const char *path;
    const char *content_type; /* NULL: none */
    const char *body;         /* NULL: empty */
    const char *keyid;        /* NULL: the credential's */
    bool without_alg;         /* leave alg out: the gateway takes the key's */
} aw_attack_forge;

aw_result aw_attack_forge_request(aw_attack_ctx *ctx, const aw_attack_forge *f, uint8_t **out,
                                  size_t *len) AW_MUST_CHECK;

/* The gateway's account: aw_attack_mark remembers its rejection counters (/metrics);
 * aw_attack_rejections gives the reasons counted since, joined with '+' ("" when none), or
 * false when the gateway does not show its counters (not on loopback). */
void aw_attack_mark(aw_attack_ctx *ctx);
bool aw_attack_rejections(aw_attack_ctx *ctx, char *out, size_t cap);

/* Verdicts. */
void aw_attack_set(aw_attack_result *out, aw_attack_outcome outcome, const char *stopped_by,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void aw_attack_observe(aw_attack_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds to the detail a verdict wrote: after it, or before it. */
void aw_attack_detail_append(aw_attack_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void aw_attack_detail_prepend(aw_attack_result *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The gateway answered the attacked message with status (and showed wire_error): a 2xx is
 * a success; otherwise blocked by the reason it counted since the mark (without /metrics,
 * the one it showed). status 0 (no answer) is an error. */
void aw_attack_judge_gateway(aw_attack_ctx *ctx, int status, const char *wire_error,
                             aw_attack_result *out);
/* The client received an answer the attacker forged or altered: accepted as verified is a
 * success; refused is blocked by "client:<reason>"; no answer at all is an error. */
void aw_attack_judge_client(const aw_attack_call *call, aw_attack_result *out);

#endif
