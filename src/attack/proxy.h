/* The man in the middle of the attack harness: a relay on libevent, in its own thread,
 * listening on 127.0.0.1 (port picked by the system) and relaying every connection to one
 * upstream (the gateway).
 *
 * Modes:
 *  - AW_PROXY_TCP: bytes. The hook sees each chunk as it arrives, in both directions.
 *  - AW_PROXY_HTTP: messages. Each request and response is framed (Content-Length), parsed
 *    with the core's parser (aw_http_parse), handed to the hook as an editable aw_pmsg, and
 *    written out again. Anything that does not parse is relayed as bytes from then on.
 * and, independently, TLS on either side: toward the client with a server context of the
 * harness's choosing (a rogue CA's leaf: TLS interception), toward the upstream when its
 * endpoint says so. With TLS on both sides the proxy reads and can alter the plaintext.
 *
 * Every message or chunk that crosses is recorded (both directions, as received and, when
 * the hook changed it, as passed on), for passive-capture checks. Bounded: one message at
 * most max_message bytes, the record at most max_capture bytes, every connection closed
 * after timeout_ms, everything closed by aw_proxy_stop. */
#ifndef AUTHWIRE_ATTACK_PROXY_H
#define AUTHWIRE_ATTACK_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/bytes.h"
#include "authwire/result.h"
#include "wire.h"

/* ---- an editable HTTP message (pmsg.c) ----------------------------------------------- */

typedef struct aw_pfield {
    char *name; /* malloc'd, case as sent */
    char *value;
} aw_pfield;

#define AW_PMSG_MAX_FIELDS 128

typedef struct aw_pmsg {
    int conn;      /* connection number, from 1 in accept order */
    bool response; /* travelling from the upstream to the client */
    bool http;     /* a parsed message; false: a chunk of bytes in body (TCP mode or fallback) */
    char method[32];
    char *target; /* requests: as sent (malloc'd) */
    int status;   /* responses */
    char reason[64];
    aw_pfield fields[AW_PMSG_MAX_FIELDS];
    size_t n_fields;
    uint8_t *body; /* malloc'd (NULL when empty) */
    size_t body_len;
    /* Responses: the request they answer ("METHOD target") and whether it was signed. */
    char request_line[256];
    bool request_signed;

    /* What the proxy does with it; the hook may change these. */
    int copies;       /* times it is sent on: 1; 0 drops it (the connection stays); 2 sends it
                       * twice (a duplicated request's extra answer is recorded, not passed on) */
    int delay_ms;     /* hold it (and what follows it in that direction) this long */
    bool keep_length; /* write Content-Length as it is instead of the body's length */
    bool close;       /* close both sides instead of passing it on (it stays recorded) */
    uint8_t *reply;   /* bytes sent back to where the message came from (aw_pmsg_set_reply) */
    size_t reply_len;
} aw_pmsg;

/* Parses one whole raw message into m (fields and body copied). AW_E_MALFORMED and the
 * other errors of aw_http_parse. m is released with aw_pmsg_free (also after a failure). */
aw_result aw_pmsg_parse(aw_span raw, aw_pmsg *m) AW_MUST_CHECK;
void aw_pmsg_free(aw_pmsg *m);

/* The message as HTTP/1.1 bytes (malloc'd into *out). Unless keep_length, Content-Length
 * is set to the body's length (added to a request with a body; a response without one runs
 * until the close, as it came). A raw chunk is its body. */
aw_result aw_pmsg_serialize(const aw_pmsg *m, uint8_t **out, size_t *len) AW_MUST_CHECK;

/* The value of the first field named name (case-insensitive), or NULL. */
const char *aw_pmsg_get(const aw_pmsg *m, const char *name);
/* The number of fields named name. */
size_t aw_pmsg_count(const aw_pmsg *m, const char *name);
/* Replaces the value of the first field named name, or appends the field. */
aw_result aw_pmsg_set(aw_pmsg *m, const char *name, const char *value) AW_MUST_CHECK;
/* Appends a field (a second one of the same name is allowed). */
aw_result aw_pmsg_add(aw_pmsg *m, const char *name, const char *value) AW_MUST_CHECK;
/* Removes every field named name; returns how many. */
size_t aw_pmsg_remove(aw_pmsg *m, const char *name);
/* Replaces the first occurrence of from by to in the first field named name.
 * AW_E_NOT_FOUND when there is no such field or text. */
aw_result aw_pmsg_edit(aw_pmsg *m, const char *name, const char *from,
                       const char *to) AW_MUST_CHECK;
aw_result aw_pmsg_set_body(aw_pmsg *m, const void *body, size_t len) AW_MUST_CHECK;
aw_result aw_pmsg_set_target(aw_pmsg *m, const char *target) AW_MUST_CHECK;
/* Replaces the whole message by raw (parsed; conn, direction and actions are kept). */
aw_result aw_pmsg_replace(aw_pmsg *m, aw_span raw) AW_MUST_CHECK;
/* Sends these bytes back toward the message's sender (a forged answer); with copies 0 the
 * message itself never reaches the other side. */
aw_result aw_pmsg_set_reply(aw_pmsg *m, const void *bytes, size_t len) AW_MUST_CHECK;
/* Whether the message carries a signature (a Signature-Input field). */
bool aw_pmsg_signed(const aw_pmsg *m);

/* ---- the proxy (proxy.c) -------------------------------------------------------------- */

typedef enum aw_proxy_mode { AW_PROXY_HTTP, AW_PROXY_TCP } aw_proxy_mode;

typedef enum aw_proxy_action {
    AW_PROXY_PASS,  /* send it on (as edited, with its copies, delay and reply) */
    AW_PROXY_CLOSE, /* close both sides of the connection now */
} aw_proxy_action;

/* Called on the proxy's thread, with the proxy's lock held (aw_proxy_lock), for every
 * message (HTTP mode) or chunk (TCP mode) in both directions. */
typedef aw_proxy_action (*aw_proxy_hook_fn)(void *arg, aw_pmsg *m);

struct ssl_ctx_st;

typedef struct aw_proxy_config {
    aw_proxy_mode mode;
    const aw_endpoint *upstream;   /* copied */
    struct ssl_ctx_st *client_tls; /* NULL: plain toward the client; else a server
                                    * context (borrowed) to terminate TLS with */
    aw_proxy_hook_fn hook;         /* NULL: relay unchanged */
    void *hook_arg;
    size_t max_message; /* 0: 8 MiB */
    size_t max_capture; /* 0: 32 MiB */
    int timeout_ms;     /* 0: 20 s per connection */
} aw_proxy_config;

typedef struct aw_proxy aw_proxy;

/* Starts the proxy thread listening on 127.0.0.1; *port gets the port. */
aw_result aw_proxy_start(const aw_proxy_config *cfg, aw_proxy **out, int *port) AW_MUST_CHECK;

/* Closes every connection and the listener, ends the thread and frees p. NULL is ignored. */
void aw_proxy_stop(aw_proxy *p);

/* The lock the hook runs under: take it to read state a hook wrote. */
void aw_proxy_lock(aw_proxy *p);
void aw_proxy_unlock(aw_proxy *p);

/* What crossed the proxy, in arrival order. */
typedef struct aw_proxy_record {
    int conn;
    bool response;
    bool http;
    bool passed;   /* it (or its edit) went on to the other side */
    uint8_t *data; /* as received */
    size_t len;
    uint8_t *sent; /* as passed on when the hook changed it, else NULL */
    size_t sent_len;
} aw_proxy_record;

size_t aw_proxy_record_count(aw_proxy *p);
/* A copy of record i (release with aw_proxy_record_free). AW_E_NOT_FOUND past the end. */
aw_result aw_proxy_record_get(aw_proxy *p, size_t i, aw_proxy_record *out) AW_MUST_CHECK;
void aw_proxy_record_free(aw_proxy_record *r);
/* Whether the record filled up (later traffic went unrecorded). */
bool aw_proxy_record_truncated(aw_proxy *p);

#endif
