/* Enrollment and rotation in authwired (docs/PROTOCOL.md, "Enrollment" and "In the gateway"):
 *
 *   GET  /.well-known/authwire/enroll   the KEY frame: the static X25519 public key
 *   POST /.well-known/authwire/enroll   HELLO -> WELCOME, CONFIRM -> DONE; no request
 *                                       signature: the Noise handshake authenticates
 *   POST /.well-known/authwire/rotate   the same frames in requests signed with the user's
 *                                       current key; DONE means the new key is pending
 *   GET  /.well-known/authwire/rotate   signed with the new key (which that promotes):
 *                                       "rotated"
 *
 * Between WELCOME and CONFIRM a handshake waits in the session table, which the workers
 * share under one mutex: --enroll-sessions slots, each expiring 60 s after its WELCOME; a
 * full table answers 503. A session id is its slot's index (4 bytes, big endian) and 12
 * random bytes, so a CONFIRM finds its slot at once; a HELLO scans the table's compact index
 * (16 bytes a slot) once, reclaiming expired slots and finding a replayed HELLO (one whose
 * ephemeral key a pending handshake has). The cryptography runs outside the lock. Every
 * secret (the PSK, ephemeral keys, session states) is wiped once it is not needed.
 *
 * The commit is the store's: aw_store_invite_redeem adds the user and consumes the invite
 * in one transaction, exactly one of concurrent redeemers wins, and the invite keeps the
 * SHA-256 of the winning CONFIRM and the DONE answered, so a CONFIRM retried after a lost
 * reply or a gateway restart is answered with the same DONE. A rotation keeps its DONE in
 * its slot until the slot expires, for the same retry. The call blocks the worker until the
 * commit is durable; the CONFIRMs of several workers in flight at once share one commit (the
 * store's group commit), so more workers make bigger batches, not more fsyncs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/enroll.h"
#include "authwire/exchange.h"
#include "datadir.h"
#include "files.h"
#include "gateway.h"

#define SESSION_TTL  60 /* seconds from WELCOME to CONFIRM */
#define HELLO_LIMIT  10 /* HELLOs per invite (or rotating user) per window */
#define HELLO_WINDOW 60 /* seconds */
#define PEM_MAX      16384

typedef enum slot_state {
    SLOT_FREE = 0,
    SLOT_RESERVED,   /* its HELLO is being answered */
    SLOT_PENDING,    /* WELCOME sent: waits for the CONFIRM */
    SLOT_CONFIRMING, /* rotation: the CONFIRM is being checked and stored */
    SLOT_DONE,       /* rotation committed: a retried CONFIRM gets the same DONE */
} slot_state;

typedef struct gw_session {
    slot_state state;
    bool rotation;
    uint8_t session[AW_ENROLL_SESSION_LEN];
    uint8_t epub[AW_X25519_PUBLIC_LEN]; /* the client's ephemeral key */
    char name[AW_USER_NAME_MAX + 1];    /* the invite's user, or the rotating user */
    aw_fresh_mode mode;
    aw_enroll_server st;
    uint8_t confirm_hash[AW_SHA256_LEN]; /* SLOT_DONE */
    uint8_t done[AW_ENROLL_DONE_MAX];
    size_t done_len;
} gw_session;

/* What a HELLO scans: one cache-friendly row per slot. */
typedef struct slot_index {
    int64_t expires; /* 0: free */
    uint64_t tag;    /* the first 8 bytes of the client's ephemeral key */
} slot_index;

/* AUTHWIRED_TEST_CRASH (tests only): where the CONFIRM handler kills its own process. */
typedef enum crash_point { CRASH_NONE, CRASH_BEFORE_COMMIT, CRASH_AFTER_COMMIT } crash_point;

struct gw_enroll {
    pthread_mutex_t lock;
    uint32_t capacity;
    gw_session *slots;
    slot_index *index;
    uint32_t *free_list;
    uint32_t n_free;

    uint8_t static_key[AW_X25519_PRIVATE_LEN];
    uint8_t key_frame[64];
    size_t key_frame_len;
    uint8_t server_public[AW_ED25519_PUBLIC_LEN]; /* what "@server" answers are signed with */
    uint8_t *ca_pem;                              /* DATA/ca.pem for the client to pin, or NULL */
    size_t ca_pem_len;
    gw_limiter hello_limits;
    crash_point crash;
};

/* ---- set-up ------------------------------------------------------------------------------ */

static aw_result read_data_file(const gateway *gw, const char *file, size_t max, unsigned flags,
                                uint8_t **out, size_t *len)
{
    char path[4096];
    AW_GUARD(aw_data_path(gw->cfg.data, file, path, sizeof(path)));
    aw_result r = aw_file_read(path, max, flags, out, len);
    if (r != AW_OK && r != AW_E_NOT_FOUND) {
        fprintf(stderr, "authwired: %s: %s\n", path, aw_result_reason(r));
    }
    return r;
}

static aw_result load_keys(gateway *gw, gw_enroll *e, uint8_t *pem, size_t pem_len)
{
    uint8_t pub[AW_X25519_PUBLIC_LEN];
    aw_ed25519_key *server = NULL;
    AW_GUARD(aw_x25519_private_from_pem((const char *)pem, pem_len, e->static_key));
    AW_GUARD(aw_x25519_public_from_private(e->static_key, pub));
    AW_GUARD(aw_enroll_key_frame(pub, e->key_frame, sizeof(e->key_frame), &e->key_frame_len));
    AW_GUARD(aw_ed25519_from_pem(gw->server_key_pem, gw->server_key_pem_len, &server));
    aw_result r = aw_ed25519_public(server, e->server_public);
    aw_ed25519_free(server);
    return r;
}

static crash_point crash_from_env(void)
{
    const char *v = getenv("AUTHWIRED_TEST_CRASH");
    if (v == NULL || v[0] == '\0') {
        return CRASH_NONE;
    }
    crash_point c = strcmp(v, "before-commit") == 0  ? CRASH_BEFORE_COMMIT
                    : strcmp(v, "after-commit") == 0 ? CRASH_AFTER_COMMIT
                                                     : CRASH_NONE;
    fprintf(stderr, "authwired: AUTHWIRED_TEST_CRASH=%s %s\n", v,
            c == CRASH_NONE ? "is unknown: ignored"
                            : "(tests only): the first enrollment commit kills this process");
    return c;
}

aw_result gw_enroll_init(gateway *gw)
{
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    aw_result r = read_data_file(gw, AW_DATA_X25519_KEY, PEM_MAX, AW_FILE_PRIVATE, &pem, &pem_len);
    if (r == AW_E_NOT_FOUND) {
        fprintf(stderr, "authwired: no %s in the data directory: enrollment is off\n",
                AW_DATA_X25519_KEY);
        return AW_OK;
    }
    AW_GUARD(r);
    gw_enroll *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        aw_file_free(pem, pem_len);
        return AW_E_INTERNAL;
    }
    gw->enroll = e; /* gw_enroll_free releases whatever follows, on every path */
    r = load_keys(gw, e, pem, pem_len);
    aw_file_free(pem, pem_len);
    AW_GUARD(r);
    r = read_data_file(gw, AW_DATA_CA_CERT, AW_ENROLL_CA_MAX, 0, &e->ca_pem, &e->ca_pem_len);
    AW_ENSURE(r == AW_OK || r == AW_E_NOT_FOUND, r);
    e->capacity = (uint32_t)gw->cfg.enroll_sessions;
    e->slots = calloc(e->capacity, sizeof(*e->slots));
    e->index = calloc(e->capacity, sizeof(*e->index));
    e->free_list = calloc(e->capacity, sizeof(*e->free_list));
    AW_ENSURE(e->slots != NULL && e->index != NULL && e->free_list != NULL, AW_E_INTERNAL);
    for (uint32_t i = 0; i < e->capacity; i++) {
        e->free_list[i] = e->capacity - 1 - i;
    }
    e->n_free = e->capacity;
    pthread_mutex_init(&e->lock, NULL);
    gw_limiter_init(&e->hello_limits, HELLO_WINDOW);
    e->crash = crash_from_env();
    return AW_OK;
}

void gw_enroll_free(gateway *gw)
{
    gw_enroll *e = gw->enroll;
    if (e == NULL) {
        return;
    }
    if (e->slots != NULL) {
        aw_wipe(e->slots, e->capacity * sizeof(*e->slots));
    }
    free(e->slots);
    free(e->index);
    free(e->free_list);
    aw_file_free(e->ca_pem, e->ca_pem_len);
    aw_wipe(e, sizeof(*e));
    free(e);
    gw->enroll = NULL;
}

/* ---- the session table (lock held where said) ---------------------------------------------- */

static uint64_t tag_of(const uint8_t *epub)
{
    uint64_t t;
    memcpy(&t, epub, sizeof(t));
    return t;
}

/* Lock held: wipes slot i and frees it. */
static void slot_free(gw_enroll *e, uint32_t i)
{
    aw_wipe(&e->slots[i], sizeof(e->slots[i]));
    e->index[i] = (slot_index){0, 0};
    e->free_list[e->n_free++] = i;
}

/* Reserves a slot for a HELLO whose client ephemeral key is epub and gives it the session id
 * index | random (the 12 random bytes come in session + 4). Reclaims expired slots on the
 * way. AW_E_REPLAY when a live session has that ephemeral key, AW_E_BUSY when none is free. */
static aw_result slot_reserve(gw_enroll *e, const uint8_t *epub, int64_t now,
                              uint8_t session[AW_ENROLL_SESSION_LEN], uint32_t *out)
{
    uint64_t tag = tag_of(epub);
    aw_result r = AW_OK;
    pthread_mutex_lock(&e->lock);
    for (uint32_t i = 0; i < e->capacity; i++) {
        const slot_index *ix = &e->index[i];
        if (ix->expires == 0) {
            continue;
        }
        if (ix->expires <= now) {
            slot_free(e, i);
        } else if (ix->tag == tag && aw_ct_equal(e->slots[i].epub, epub, AW_X25519_PUBLIC_LEN)) {
            r = AW_E_REPLAY;
        }
    }
    if (r == AW_OK && e->n_free == 0) {
        r = AW_E_BUSY;
    }
    if (r == AW_OK) {
        uint32_t i = e->free_list[--e->n_free];
        gw_session *s = &e->slots[i];
        s->state = SLOT_RESERVED;
        memcpy(s->epub, epub, AW_X25519_PUBLIC_LEN);
        session[0] = (uint8_t)(i >> 24);
        session[1] = (uint8_t)(i >> 16);
        session[2] = (uint8_t)(i >> 8);
        session[3] = (uint8_t)i;
        memcpy(s->session, session, AW_ENROLL_SESSION_LEN);
        e->index[i] = (slot_index){now + SESSION_TTL, tag};
        *out = i;
    }
    pthread_mutex_unlock(&e->lock);
    return r;
}

/* Lock held: the live slot holding session in state `state`, or NULL. */
static gw_session *slot_find(gw_enroll *e, const uint8_t *session, slot_state state, int64_t now)
{
    uint32_t i = (uint32_t)session[0] << 24 | (uint32_t)session[1] << 16 |
                 (uint32_t)session[2] << 8 | session[3];
    if (i >= e->capacity || e->index[i].expires <= now || e->slots[i].state != state ||
        memcmp(e->slots[i].session, session, AW_ENROLL_SESSION_LEN) != 0) {
        return NULL;
    }
    return &e->slots[i];
}

static uint32_t slot_number(const gw_enroll *e, const gw_session *s)
{
    return (uint32_t)(s - e->slots);
}

size_t gw_enroll_sessions_live(gateway *gw)
{
    gw_enroll *e = gw->enroll;
    size_t n = 0;
    if (e == NULL) {
        return 0;
    }
    int64_t now = gw_now();
    pthread_mutex_lock(&e->lock);
    for (uint32_t i = 0; i < e->capacity; i++) {
        n += e->index[i].expires > now && e->slots[i].state != SLOT_DONE;
    }
    pthread_mutex_unlock(&e->lock);
    return n;
}

/* ---- answers -------------------------------------------------------------------------------- */

static void refuse(gw_exchange *x, bool rotation, aw_result r, const char *detail)
{
    if (detail == NULL && (r == AW_E_STORE || r == AW_E_CORRUPT)) {
        detail = aw_store_last_error(x->w->store);
    }
    gw_metrics_enroll(x->w->gw, rotation, r);
    gw_reply_error(x, r, detail);
}

static void answer_frame(gw_exchange *x, const uint8_t *frame, size_t len)
{
    gw_reply(x, 200, AW_ENROLL_CONTENT_TYPE, (aw_span){frame, len}, NULL, 0);
}

/* AUTHWIRED_TEST_CRASH: the process dies here, as by a power cut, for the crash tests
 * (tests/enroll_gateway.sh). Unset in production: then this does nothing. */
static void crash_here(const gw_enroll *e, crash_point at)
{
    if (e->crash == at) {
        raise(SIGKILL);
    }
}

/* Answers a HELLO whose psk and parameters (name, alg, mode) the caller found: a session
 * with a fresh ephemeral key, and WELCOME. */
static void answer_hello(gw_exchange *x, const aw_enroll_frame *f, const uint8_t *psk,
                         bool rotation, const char *name, aw_alg alg, aw_fresh_mode mode)
{
    gw_enroll *e = x->w->gw->enroll;
    int64_t now = gw_now();
    uint8_t session[AW_ENROLL_SESSION_LEN];
    uint8_t eph[AW_X25519_PRIVATE_LEN], eph_pub[AW_X25519_PUBLIC_LEN];
    uint8_t out[AW_ENROLL_FRAME_MAX];
    size_t out_len = 0;
    uint32_t slot = 0;
    aw_enroll_server st;

    memset(&st, 0, sizeof(st));
    aw_result r = aw_random(session + 4, sizeof(session) - 4);
    if (r == AW_OK) {
        r = slot_reserve(e, f->body, now, session, &slot);
    }
    if (r != AW_OK) {
        refuse(x, rotation, r,
               r == AW_E_REPLAY ? "HELLO of a pending handshake replayed"
               : r == AW_E_BUSY ? "enrollment session table full"
                                : NULL);
        return;
    }
    aw_enroll_params p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "%s", name);
    p.alg = alg;
    p.mode = mode;
    memcpy(p.server_public_key, e->server_public, sizeof(p.server_public_key));
    p.server_time = now;
    p.ca_pem = e->ca_pem;
    p.ca_pem_len = e->ca_pem_len;
    r = aw_x25519_keypair(eph, eph_pub);
    if (r == AW_OK) {
        aw_enroll_server_keys keys = {e->static_key, eph, psk, rotation ? name : NULL};
        r = aw_enroll_server_welcome(&st, f, &keys, session, &p, out, sizeof(out), &out_len);
    }
    aw_wipe(eph, sizeof(eph));
    pthread_mutex_lock(&e->lock);
    gw_session *s = slot_find(e, session, SLOT_RESERVED, now);
    if (s != NULL && r == AW_OK) {
        s->st = st;
        s->rotation = rotation;
        s->mode = mode;
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->state = SLOT_PENDING;
    } else if (s != NULL) {
        slot_free(e, slot);
    } else if (r == AW_OK) {
        r = AW_E_BUSY; /* the reservation expired meanwhile (a stalled worker) */
    }
    pthread_mutex_unlock(&e->lock);
    aw_enroll_server_wipe(&st);
    if (r == AW_E_KEY_INVALID) {
        refuse(x, rotation, AW_E_HANDSHAKE, "low-order ephemeral key in HELLO");
    } else if (r != AW_OK) {
        refuse(x, rotation, r, r == AW_E_HANDSHAKE ? "HELLO does not verify" : NULL);
    } else {
        answer_frame(x, out, out_len);
    }
}

/* The invite's state at now: AW_OK while pending, else why not (the order of redeem). */
static aw_result invite_state(const aw_invite *inv, int64_t now)
{
    return inv->used_at != 0        ? AW_E_INVITE_USED
           : inv->revoked_at != 0   ? AW_E_INVITE_REVOKED
           : inv->expires_at <= now ? AW_E_INVITE_EXPIRED
                                    : AW_OK;
}

static void enroll_hello(gw_exchange *x, const aw_enroll_frame *f)
{
    gw_enroll *e = x->w->gw->enroll;
    aw_invite inv;
    memset(&inv, 0, sizeof(inv));
    aw_result r = aw_store_invite_get(x->w->store, f->id, &inv);
    if (r == AW_OK) {
        snprintf(x->enroll_user, sizeof(x->enroll_user), "%s", inv.name);
        r = invite_state(&inv, gw_now());
    }
    if (r == AW_OK && gw_limit_count(&e->hello_limits, gw_limit_key('i', f->id, AW_INVITE_ID_LEN),
                                     1) > HELLO_LIMIT) {
        r = AW_E_RATE_LIMITED;
        x->detail = "too many HELLOs for this invite";
    }
    if (r == AW_OK) {
        answer_hello(x, f, inv.psk, false, inv.name, inv.alg, inv.mode);
    } else {
        refuse(x, false, r, NULL);
    }
    aw_invite_wipe(&inv);
}

/* A CONFIRM without a pending session: when it is the very CONFIRM that committed the
 * invite (retried after a lost reply or a gateway restart), the DONE answered then;
 * otherwise `otherwise`. */
static void answer_committed(gw_exchange *x, const aw_enroll_frame *f,
                             const uint8_t hash[AW_SHA256_LEN], aw_result otherwise,
                             const char *detail)
{
    aw_invite inv;
    memset(&inv, 0, sizeof(inv));
    aw_result r = aw_store_invite_get(x->w->store, f->id, &inv);
    if (r == AW_OK && inv.used_at != 0 && inv.done_len > 0 &&
        aw_ct_equal(inv.confirm_hash, hash, AW_SHA256_LEN)) {
        snprintf(x->enroll_user, sizeof(x->enroll_user), "%s", inv.name);
        x->detail = "retried CONFIRM: the DONE of its commit again";
        answer_frame(x, inv.done, inv.done_len);
    } else if (r == AW_E_STORE || r == AW_E_CORRUPT) {
        refuse(x, false, r, NULL);
    } else {
        refuse(x, false, otherwise, detail);
    }
    aw_invite_wipe(&inv);
}

/* Lock taken here: takes the pending enrollment session of this CONFIRM out of the table
 * into *out (the caller wipes it). false when there is none. */
static bool take_session(gw_enroll *e, const aw_enroll_frame *f, int64_t now, gw_session *out)
{
    pthread_mutex_lock(&e->lock);
    gw_session *s = slot_find(e, f->session, SLOT_PENDING, now);
    bool found = s != NULL && !s->rotation && memcmp(s->st.id, f->id, AW_INVITE_ID_LEN) == 0;
    if (found) {
        *out = *s;
        slot_free(e, slot_number(e, s));
    }
    pthread_mutex_unlock(&e->lock);
    return found;
}

/* The user a confirmed handshake registers: the derived HMAC key or the Ed25519 public key
 * the CONFIRM proved possession of. */
static aw_result confirmed_key(const aw_enroll_server *st, const aw_enroll_confirmation *conf,
                               uint8_t key[AW_USER_KEY_MAX], size_t *len)
{
    if (st->alg == AW_ALG_ED25519) {
        memcpy(key, conf->ed25519_public, AW_ED25519_PUBLIC_LEN);
        *len = AW_ED25519_PUBLIC_LEN;
        return AW_OK;
    }
    *len = AW_ENROLL_KEY_LEN;
    return aw_enroll_server_user_key(st, key);
}

static void enroll_confirm(gw_exchange *x, const aw_enroll_frame *f,
                           const uint8_t hash[AW_SHA256_LEN])
{
    gw_enroll *e = x->w->gw->enroll;
    int64_t now = gw_now();
    gw_session s;
    if (!take_session(e, f, now, &s)) {
        answer_committed(x, f, hash, AW_E_SESSION_UNKNOWN,
                         "no pending handshake with that session id: start again with HELLO");
        return;
    }
    snprintf(x->enroll_user, sizeof(x->enroll_user), "%s", s.name);
    aw_enroll_confirmation conf;
    uint8_t done[AW_ENROLL_DONE_MAX];
    size_t done_len = 0;
    aw_user u;
    memset(&u, 0, sizeof(u));
    aw_result r = aw_enroll_server_confirm(&s.st, f, &conf, now, done, sizeof(done), &done_len);
    if (r == AW_OK) {
        snprintf(u.name, sizeof(u.name), "%s", s.name);
        u.alg = s.st.alg;
        u.mode = s.mode;
        u.created_at = now;
        r = confirmed_key(&s.st, &conf, u.key, &u.key_len);
    }
    if (r == AW_OK) {
        /* Before: this redeem is not queued yet; after: the transaction that carried it (with
         * the other workers' redeems of its batch) is durable. */
        crash_here(e, CRASH_BEFORE_COMMIT);
        r = aw_store_invite_redeem(x->w->store, f->id, &u, hash, done, done_len, now);
        crash_here(e, CRASH_AFTER_COMMIT);
    }
    aw_user_wipe(&u);
    aw_wipe(&conf, sizeof(conf));
    aw_wipe(&s, sizeof(s));
    if (r == AW_OK) {
        gw_metrics_enroll(x->w->gw, false, AW_OK);
        answer_frame(x, done, done_len);
    } else if (r == AW_E_INVITE_USED) {
        /* Another handshake of this invite committed first: this one lost the race. */
        answer_committed(x, f, hash, AW_E_INVITE_USED, "another enrollment used the invite first");
    } else if (r == AW_E_EXISTS) {
        refuse(x, false, AW_E_CONFLICT, "a user of the invite's name exists");
    } else {
        refuse(x, false, r, r == AW_E_HANDSHAKE ? "CONFIRM does not verify" : NULL);
    }
}

/* Parses an enrollment or rotation POST body as HELLO or CONFIRM. */
static aw_result request_frame(gw_exchange *x, bool rotation, aw_enroll_frame *f)
{
    aw_span body = x->req->msg.body;
    if (body.len > AW_ENROLL_FRAME_MAX) {
        x->detail = "frame larger than AW_ENROLL_FRAME_MAX";
        return AW_E_TOO_LARGE;
    }
    AW_GUARD(aw_enroll_frame_parse(body.ptr, body.len, f));
    if (f->type != AW_ENROLL_HELLO && f->type != AW_ENROLL_CONFIRM) {
        x->detail = "only HELLO and CONFIRM frames are requests";
        return AW_E_MALFORMED;
    }
    bool hello = f->type == AW_ENROLL_HELLO;
    x->enroll_step =
        rotation ? (hello ? "rotate-hello" : "rotate-confirm") : (hello ? "hello" : "confirm");
    return AW_OK;
}

void gw_enroll_handle(gw_exchange *x)
{
    gw_enroll *e = x->w->gw->enroll;
    const aw_message *m = &x->req->msg;
    x->reason_public = true; /* the client acts on it: used, expired, start again, ... */
    x->enroll_step = "key";
    if (e == NULL) {
        gw_reply_error(x, AW_E_NOT_ROUTED, "enrollment is off: no enrollment key");
        return;
    }
    if (aw_span_eq(m->method, AW_SPAN_LIT("GET"))) {
        answer_frame(x, e->key_frame, e->key_frame_len);
        return;
    }
    if (!aw_span_eq(m->method, AW_SPAN_LIT("POST"))) {
        gw_reply_error(x, AW_E_METHOD, "enrollment takes GET and POST");
        return;
    }
    x->enroll_step = "frame";
    aw_enroll_frame f;
    uint8_t hash[AW_SHA256_LEN];
    aw_result r = request_frame(x, false, &f);
    if (r != AW_OK) {
        refuse(x, false, r, NULL);
        return;
    }
    aw_hex_encode(f.id, AW_INVITE_ID_LEN, x->invite);
    if (f.type == AW_ENROLL_HELLO) {
        enroll_hello(x, &f);
    } else if (aw_sha256(m->body.ptr, m->body.len, hash) != AW_OK) {
        refuse(x, false, AW_E_CRYPTO, NULL);
    } else {
        enroll_confirm(x, &f, hash);
    }
}

/* ---- rotation ---------------------------------------------------------------------------------
 */

static void rotate_hello(gw_exchange *x, const aw_enroll_frame *f)
{
    gw_enroll *e = x->w->gw->enroll;
    const char *name = x->user->name;
    uint8_t psk[AW_ENROLL_KEY_LEN];
    aw_user rec;
    memset(&rec, 0, sizeof(rec));
    if (gw_limit_count(&e->hello_limits, gw_limit_key('u', name, strlen(name)), 1) > HELLO_LIMIT) {
        refuse(x, true, AW_E_RATE_LIMITED, "too many rotation HELLOs for this user");
        return;
    }
    /* The key the request verified with is the current one (a pending key that signed it was
     * promoted by now): the PSK comes from its bytes, which the store has. */
    aw_result r = aw_store_user_get(x->w->store, name, &rec);
    if (r == AW_E_NOT_FOUND) {
        r = AW_E_KEY_UNKNOWN;
    } else if (r == AW_OK && rec.revoked_at != 0) {
        r = AW_E_KEY_REVOKED;
    }
    if (r == AW_OK) {
        r = aw_enroll_rotate_psk(name, rec.key, rec.key_len, psk);
    }
    if (r == AW_OK) {
        answer_hello(x, f, psk, true, name, rec.alg, rec.mode);
    } else {
        refuse(x, true, r, NULL);
    }
    aw_wipe(psk, sizeof(psk));
    aw_user_wipe(&rec);
}

/* Lock held: how a rotation CONFIRM meets its slot. Copies the state out and marks the slot
 * confirming (*s set), or copies a stored DONE of the same CONFIRM into done (a retry). */
typedef enum rotation_slot { ROT_UNKNOWN, ROT_CONFIRM, ROT_RETRY } rotation_slot;

static rotation_slot rotation_take(gw_enroll *e, gw_exchange *x, const aw_enroll_frame *f,
                                   const uint8_t hash[AW_SHA256_LEN], int64_t now,
                                   aw_enroll_server *st, uint8_t *done, size_t *done_len)
{
    gw_session *s = slot_find(e, f->session, SLOT_PENDING, now);
    if (s == NULL) {
        s = slot_find(e, f->session, SLOT_DONE, now);
    }
    if (s == NULL || !s->rotation || strcmp(s->name, x->user->name) != 0) {
        return ROT_UNKNOWN;
    }
    if (s->state == SLOT_DONE) {
        if (!aw_ct_equal(s->confirm_hash, hash, AW_SHA256_LEN)) {
            return ROT_UNKNOWN;
        }
        memcpy(done, s->done, s->done_len);
        *done_len = s->done_len;
        return ROT_RETRY;
    }
    *st = s->st;
    s->state = SLOT_CONFIRMING;
    return ROT_CONFIRM;
}

static void rotate_confirm(gw_exchange *x, const aw_enroll_frame *f,
                           const uint8_t hash[AW_SHA256_LEN])
{
    gw_enroll *e = x->w->gw->enroll;
    int64_t now = gw_now();
    aw_enroll_server st;
    aw_enroll_confirmation conf;
    uint8_t done[AW_ENROLL_DONE_MAX], key[AW_USER_KEY_MAX];
    size_t done_len = 0, key_len = 0;

    memset(&st, 0, sizeof(st));
    pthread_mutex_lock(&e->lock);
    rotation_slot found = rotation_take(e, x, f, hash, now, &st, done, &done_len);
    pthread_mutex_unlock(&e->lock);
    if (found == ROT_UNKNOWN) {
        refuse(x, true, AW_E_SESSION_UNKNOWN,
               "no pending rotation of this user with that session id: start again with HELLO");
        return;
    }
    if (found == ROT_RETRY) {
        x->detail = "retried CONFIRM: the same DONE again";
        answer_frame(x, done, done_len);
        return;
    }
    aw_result r = aw_enroll_server_confirm(&st, f, &conf, now, done, sizeof(done), &done_len);
    if (r == AW_OK) {
        r = confirmed_key(&st, &conf, key, &key_len);
    }
    if (r == AW_OK) {
        r = aw_store_user_set_next_key(x->w->store, x->user->name, key, key_len, now);
    }
    aw_wipe(key, sizeof(key));
    aw_wipe(&conf, sizeof(conf));
    aw_enroll_server_wipe(&st);
    pthread_mutex_lock(&e->lock);
    gw_session *s = slot_find(e, f->session, SLOT_CONFIRMING, now);
    if (s != NULL && r == AW_OK) {
        aw_enroll_server_wipe(&s->st);
        memcpy(s->confirm_hash, hash, AW_SHA256_LEN);
        memcpy(s->done, done, done_len);
        s->done_len = done_len;
        s->state = SLOT_DONE;
    } else if (s != NULL) {
        slot_free(e, slot_number(e, s));
    }
    pthread_mutex_unlock(&e->lock);
    if (r == AW_OK) {
        gw_metrics_enroll(x->w->gw, true, AW_OK);
        answer_frame(x, done, done_len);
    } else {
        refuse(x, true, r, r == AW_E_HANDSHAKE ? "CONFIRM does not verify" : NULL);
    }
}

/* GET, signed with the new key: the request itself promoted it (auth.c). */
static void rotate_check(gw_exchange *x)
{
    x->enroll_step = "rotated";
    if (x->key != &x->user->next_key && x->user->next_key.alg != AW_ALG_NONE) {
        gw_reply_error(x, AW_E_CONFLICT, "signed with the old key: the new key is still pending");
        return;
    }
    gw_reply(x, 200, "text/plain", AW_SPAN_LIT("rotated"), NULL, 0);
}

void gw_rotate_handle(gw_exchange *x)
{
    gw_enroll *e = x->w->gw->enroll;
    const aw_message *m = &x->req->msg;
    x->enroll_step = "rotate";
    if (e == NULL) {
        gw_reply_error(x, AW_E_NOT_ROUTED, "enrollment is off: no enrollment key");
        return;
    }
    if (x->user == NULL) {
        gw_reply_error(x, AW_E_UNAUTHENTICATED, "rotation needs --auth true");
        return;
    }
    snprintf(x->enroll_user, sizeof(x->enroll_user), "%s", x->user->name);
    if (aw_span_eq(m->method, AW_SPAN_LIT("GET"))) {
        rotate_check(x);
        return;
    }
    if (!aw_span_eq(m->method, AW_SPAN_LIT("POST"))) {
        gw_reply_error(x, AW_E_METHOD, "rotation takes GET and POST");
        return;
    }
    static const uint8_t no_invite[AW_INVITE_ID_LEN];
    aw_enroll_frame f;
    uint8_t hash[AW_SHA256_LEN];
    aw_result r = request_frame(x, true, &f);
    if (r == AW_OK && memcmp(f.id, no_invite, sizeof(no_invite)) != 0) {
        r = AW_E_MALFORMED;
        x->detail = "a rotation frame carries no invite id (all zero)";
    }
    if (r != AW_OK) {
        refuse(x, true, r, NULL);
    } else if (f.type == AW_ENROLL_HELLO) {
        rotate_hello(x, &f);
    } else if (aw_sha256(m->body.ptr, m->body.len, hash) != AW_OK) {
        refuse(x, true, AW_E_CRYPTO, NULL);
    } else {
        rotate_confirm(x, &f, hash);
    }
}
