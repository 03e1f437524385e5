/* What the families of the catalogue share (attacks_*.c); not part of the harness's
 * interface. Each family file ends with its table; catalogue.c lists the families. */
#ifndef AUTHWIRE_ATTACK_ATTACKS_H
#define AUTHWIRE_ATTACK_ATTACKS_H

#include "attack.h"

typedef struct aw_attack_family {
    const aw_attack *rows;
    size_t n;
} aw_attack_family;

#define AW_ATTACK_FAMILY(name, table)                                                              \
    const aw_attack_family name = {table, sizeof(table) / sizeof(table[0])}

extern const aw_attack_family aw_attacks_passive;
extern const aw_attack_family aw_attacks_tamper;
extern const aw_attack_family aw_attacks_replay;
extern const aw_attack_family aw_attacks_response;
extern const aw_attack_family aw_attacks_transport;
extern const aw_attack_family aw_attacks_enroll;

/* The expected defence of a replay for each target (see aw_attack.expected). */
#define AW_EXPECT_REPLAY                                                                           \
    "tls=channel_binding timestamp=replay sequence=seq_replay challenge=challenge_invalid"

/* The demo API requests the attacks make (they reach an upstream's paths of the same names
 * in proxy mode; every refusal happens before any routing). */
#define AW_PATH_WHOAMI  "/api/whoami"
#define AW_PATH_BALANCE "/api/balance"
#define AW_PATH_NOTES   "/api/notes"
void aw_call_get(aw_attack_call *c, const char *path);
void aw_call_note(aw_attack_call *c, const char *text); /* POST /api/notes, text/plain */
/* The user sends a GET of path, or a note, and the answer is dropped (traffic for the man in
 * the middle to read). */
void aw_attack_send_get(aw_attack_ctx *ctx, const char *path);
void aw_attack_send_note(aw_attack_ctx *ctx, const char *text);

/* A man in the middle whose request edit applies to the first signed request only. */
aw_attack_edit *aw_attack_mitm_first(aw_attack_ctx *ctx, aw_attack_edit_fn request);

/* An edit: removes Signature and Signature-Input. */
bool aw_edit_strip_signature(aw_pmsg *m, void *arg);

/* A man in the middle that only reads (aw_attack_mitm_edit without edits). */
aw_result aw_attack_watch(aw_attack_ctx *ctx) AW_MUST_CHECK;

/* The user sends call through a man in the middle that changes each signed request with
 * edit(m, arg) (arg from aw_attack_alloc); the verdict is the gateway's on the changed
 * request. An edit that never applied makes the row an error. */
aw_result aw_attack_tamper(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                           void *arg, aw_attack_call *call);

/* The user sends call through a man in the middle that changes each answer to a signed
 * request with edit(m, arg); the verdict is the client's on the changed answer. */
aw_result aw_attack_tamper_answer(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                                  void *arg, aw_attack_call *call);
/* The same for a GET of path. */
aw_result aw_attack_tamper_get(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                               void *arg, const char *path);
aw_result aw_attack_tamper_note(aw_attack_ctx *ctx, aw_attack_result *out, aw_attack_edit_fn edit,
                                void *arg, const char *text);
aw_result aw_attack_tamper_answer_get(aw_attack_ctx *ctx, aw_attack_result *out,
                                      aw_attack_edit_fn edit, void *arg, const char *path);
/* The same with the edit already running (e from aw_attack_mitm_edit). */
aw_result aw_attack_tamper_answer_sent(aw_attack_ctx *ctx, aw_attack_result *out,
                                       const aw_attack_edit *e, aw_attack_call *call);

/* In the aw member of Signature-Input: replaces the value of parameter name (";name=...")
 * with value (written as given: quote strings yourself). false when it is not there. */
bool aw_sig_param_set(aw_pmsg *m, const char *name, const char *value);
/* The value of parameter name in the aw member (quotes kept) into out; false when absent. */
bool aw_sig_param_get(const aw_pmsg *m, const char *name, char *out, size_t cap);

/* req delivered on the attacker's own connection: the answer's status (0 when none came)
 * and Authwire-Error. */
aw_result aw_attack_deliver(aw_attack_ctx *ctx, const uint8_t *req, size_t len, int *status,
                            char *error, size_t cap) AW_MUST_CHECK;

/* req delivered on the attacker's own connection, judged by the gateway's answer. */
aw_result aw_attack_attempt(aw_attack_ctx *ctx, const uint8_t *req, size_t len,
                            aw_attack_result *out) AW_MUST_CHECK;

/* The first signed request the row's proxy captured, replayed on the attacker's own
 * connection and judged by the gateway's answer. */
aw_result aw_attack_replay_captured(aw_attack_ctx *ctx, aw_attack_result *out) AW_MUST_CHECK;

/* A raw copy of the first record of the row's proxy that matches: a request (response
 * false) or an answer, signed (or answering a signed request) when want_signed. NULL when
 * none; the caller frees. */
uint8_t *aw_attack_captured(aw_attack_ctx *ctx, bool response, bool want_signed, size_t *len);
/* The same for the first record (parsed into m) that match(m, arg) accepts. */
typedef bool (*aw_attack_capture_fn)(const aw_pmsg *m, void *arg);
uint8_t *aw_attack_captured_if(aw_attack_ctx *ctx, aw_attack_capture_fn match, void *arg,
                               size_t *len);

/* The first answer the row's proxy received and did not pass on (the answer to a duplicate
 * it sent itself), waiting up to wait_ms for it: its status (0 when none came) and
 * Authwire-Error. */
void aw_attack_unpassed_answer(aw_attack_ctx *ctx, int wait_ms, int *status, char *error,
                               size_t cap);

/* Passive capture (secrets.c): the forms of secrets an observer would look for. */
typedef struct aw_secret_forms {
    size_t n;
    struct {
        char what[48];
        uint8_t bytes[256];
        size_t len;
    } form[24];
} aw_secret_forms;

/* Adds bytes as one form (16 to 256 bytes; shorter ones would match by chance: ignored). */
void aw_secret_forms_add(aw_secret_forms *s, const char *what, const uint8_t *bytes, size_t len);
/* Adds key raw, in base64, base64url (both without their last group) and hex, named
 * "name (raw)" and so on. */
void aw_secret_forms_encodings(aw_secret_forms *s, const char *name, const uint8_t *key,
                               size_t len);
/* The name of the first form found in data, or NULL. */
const char *aw_secret_forms_find(const aw_secret_forms *s, const uint8_t *data, size_t len);

/* What a search of the row's capture found. */
typedef struct aw_capture_scan {
    size_t messages, bytes; /* searched */
    char found[48];         /* the first form found ("" when none) */
    bool truncated;         /* the capture filled up: later traffic was not recorded */
} aw_capture_scan;

/* Searches every record of the row's proxy, both directions, as received and as passed on. */
void aw_attack_scan_capture(aw_attack_ctx *ctx, const aw_secret_forms *s, aw_capture_scan *out);

/* The status and Authwire-Error of a raw answer (aw_wire_answer) or message. */
void aw_answer_of(const uint8_t *raw, size_t len, int *status, char *error, size_t cap);

#endif
