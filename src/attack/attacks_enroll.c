/* Enrollment attacks: the real enrollment client (src/client/enroll.c, what `authwire enroll`
 * runs) redeems a fresh invite of the local gateway through the row's man in the middle,
 * which reads or changes the binary frames (docs/PROTOCOL.md, "Enrollment") on their way.
 *
 * Every row makes its own invite in the data directory (--data) the way `authwire invite`
 * does (aw_store_invite_issue), named attack-enroll-<random hex>, and reads the store after
 * the attack: an attacked attempt must leave no user and the invite still pending (a row
 * whose attack left a user or consumed the invite SUCCEEDED, whatever the answers said).
 * Every invite a row made is revoked when it ends, and so is any user its genuine enrollment
 * made, so the data directory keeps only revoked entries. A genuine enrollment (passive
 * capture, token replay) is the control: it must show up in the store as a user holding the
 * client's key and a used invite, and the verdicts of the attacked rows must call it a
 * success, or the row is an error (a broken check cannot pass for a blocked attack).
 *
 * stopped_by: "enroll:<reason>" when the gateway refused a frame (the reason it counted the
 * refusal under in /metrics, which every enrollment answer goes to), "enroll:client:<reason>"
 * when the enrollment client refused the server's (or what claimed to be). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attacks.h"
#include "authwire/enroll.h"
#include "authwire/exchange.h"
#include "datadir.h"
#include "enroll.h"
#include "store.h"

#define NAME_PREFIX   "attack-enroll-"
#define INVITE_TTL    600 /* seconds: longer than any row, shorter than a forgotten invite */
#define FRAME_TYPES   5   /* KEY .. DONE */
#define EXCHANGE_SECS 10  /* per exchange of the client */

static const char *const frame_names[FRAME_TYPES] = {"KEY", "HELLO", "WELCOME", "CONFIRM", "DONE"};

static const char *step_name(aw_enroll_frame_type t)
{
    return (unsigned)t < FRAME_TYPES ? frame_names[(unsigned)t] : "?";
}

/* ---- the man in the middle ------------------------------------------------------------- */

typedef enum enroll_edit {
    EDIT_NONE,
    EDIT_SWAP_KEY,       /* KEY: the attacker's X25519 key instead of the server's */
    EDIT_FORGE_HELLO,    /* HELLO: the attacker's own message 1 (its ephemeral, a guessed PSK) */
    EDIT_SWAP_E_WELCOME, /* WELCOME: the attacker's ephemeral key instead of the server's */
    EDIT_FLIP_HELLO,     /* one bit of HELLO's tag */
    EDIT_FLIP_WELCOME,   /* one bit of WELCOME's ciphertext */
    EDIT_FLIP_CONFIRM,   /* one bit of CONFIRM's ciphertext */
    EDIT_DROP_CONFIRM,   /* CONFIRM never arrives (the connection is closed on it) */
} enroll_edit;

/* One row's man in the middle: what it changes and what it saw. Written by the hook on the
 * proxy's thread under the proxy's lock; read after the client returned. */
typedef struct enroll_mitm {
    enroll_edit edit;
    uint8_t attacker_pub[AW_X25519_PUBLIC_LEN];
    int edits;
    int requests[FRAME_TYPES]; /* frames from the client, by type (KEY: the GETs) */
    int answers[FRAME_TYPES];  /* frames from the gateway (200), by type */
    size_t sizes[FRAME_TYPES]; /* the last frame of each type, bytes */
    uint8_t server_key[AW_X25519_PUBLIC_LEN];
    uint8_t invite_id[AW_INVITE_ID_LEN];
    bool have_key, have_id;
    aw_enroll_client forge; /* scratch for the forged HELLO (wiped after use) */
} enroll_mitm;

static bool is_enroll_target(const char *target)
{
    size_t n = strlen(AW_ENROLL_PATH);
    return target != NULL && strncmp(target, AW_ENROLL_PATH, n) == 0 &&
           (target[n] == '\0' || target[n] == '?');
}

/* The attacker's own HELLO for the invite the client's names: its own ephemeral key, a PSK
 * from a secret it draws (the token's is out of its reach), the server's real key (which it
 * saw in KEY). A complete, well-formed message 1: only the PSK is wrong. */
static bool forge_hello(enroll_mitm *e, aw_pmsg *m, const aw_enroll_frame *f)
{
    aw_enroll_token guess;
    uint8_t key_frame[64], eph[AW_X25519_PRIVATE_LEN], eph_pub[AW_X25519_PUBLIC_LEN];
    uint8_t hello[128];
    size_t key_len = 0, len = 0;
    memset(&guess, 0, sizeof(guess));
    memcpy(guess.invite_id, f->id, AW_INVITE_ID_LEN);
    bool ok = e->have_key && aw_random(guess.secret, sizeof(guess.secret)) == AW_OK &&
              aw_enroll_fingerprint(e->server_key, guess.fingerprint) == AW_OK &&
              aw_enroll_key_frame(e->server_key, key_frame, sizeof(key_frame), &key_len) == AW_OK &&
              aw_x25519_keypair(eph, eph_pub) == AW_OK &&
              aw_enroll_client_init(&e->forge, &guess) == AW_OK &&
              aw_enroll_client_hello(&e->forge, key_frame, key_len, eph, hello, sizeof(hello),
                                     &len) == AW_OK &&
              aw_pmsg_set_body(m, hello, len) == AW_OK;
    aw_enroll_client_wipe(&e->forge);
    aw_wipe(&guess, sizeof(guess));
    aw_wipe(eph, sizeof(eph));
    return ok;
}

/* The edit of the row on a frame of the client's; whether it changed or dropped it. */
static bool edit_request(enroll_mitm *e, aw_pmsg *m, const aw_enroll_frame *f)
{
    size_t ct = (size_t)(f->body - m->body); /* where the Noise message starts */
    switch (e->edit) {
    case EDIT_FORGE_HELLO:
        return f->type == AW_ENROLL_HELLO && forge_hello(e, m, f);
    case EDIT_FLIP_HELLO:
        if (f->type == AW_ENROLL_HELLO) {
            m->body[m->body_len - 1] ^= 0x01;
            return true;
        }
        return false;
    case EDIT_FLIP_CONFIRM:
        if (f->type == AW_ENROLL_CONFIRM && ct < m->body_len) {
            m->body[ct] ^= 0x01;
            return true;
        }
        return false;
    case EDIT_DROP_CONFIRM:
        if (f->type == AW_ENROLL_CONFIRM) {
            m->close = true;
            return true;
        }
        return false;
    default:
        return false;
    }
}

/* The edit of the row on a frame of the gateway's. */
static bool edit_answer(enroll_mitm *e, aw_pmsg *m, const aw_enroll_frame *f)
{
    size_t at = (size_t)((f->type == AW_ENROLL_KEY ? f->key : f->body) - m->body);
    switch (e->edit) {
    case EDIT_SWAP_KEY:
        if (f->type == AW_ENROLL_KEY) {
            memcpy(m->body + at, e->attacker_pub, AW_X25519_PUBLIC_LEN);
            return true;
        }
        return false;
    case EDIT_SWAP_E_WELCOME:
        if (f->type == AW_ENROLL_WELCOME && f->body_len >= AW_X25519_PUBLIC_LEN) {
            memcpy(m->body + at, e->attacker_pub, AW_X25519_PUBLIC_LEN);
            return true;
        }
        return false;
    case EDIT_FLIP_WELCOME:
        if (f->type == AW_ENROLL_WELCOME && f->body_len > AW_X25519_PUBLIC_LEN) {
            m->body[at + AW_X25519_PUBLIC_LEN] ^= 0x01; /* the first byte after e */
            return true;
        }
        return false;
    default:
        return false;
    }
}

static aw_proxy_action enroll_hook(void *arg, aw_pmsg *m)
{
    enroll_mitm *e = arg;
    aw_enroll_frame f;
    if (!m->http) {
        return AW_PROXY_PASS;
    }
    if (!m->response && strcmp(m->method, "GET") == 0 && is_enroll_target(m->target)) {
        e->requests[AW_ENROLL_KEY]++;
        return AW_PROXY_PASS;
    }
    if (m->body_len == 0 || aw_enroll_frame_parse(m->body, m->body_len, &f) != AW_OK) {
        return AW_PROXY_PASS;
    }
    unsigned t = (unsigned)f.type;
    e->sizes[t] = m->body_len;
    if (!m->response) {
        e->requests[t]++;
        if (f.id != NULL && !e->have_id) {
            memcpy(e->invite_id, f.id, AW_INVITE_ID_LEN);
            e->have_id = true;
        }
        e->edits += edit_request(e, m, &f);
        return AW_PROXY_PASS;
    }
    if (m->status != 200) {
        return AW_PROXY_PASS;
    }
    e->answers[t]++;
    if (f.type == AW_ENROLL_KEY) {
        memcpy(e->server_key, f.key, AW_X25519_PUBLIC_LEN); /* before any swap */
        e->have_key = true;
    }
    e->edits += edit_answer(e, m, &f);
    return AW_PROXY_PASS;
}

/* What the man in the middle read: the frames, their sizes, what is in the clear. */
static void observe_frames(aw_attack_ctx *ctx, const enroll_mitm *e, aw_attack_result *out)
{
    char frames[160] = "";
    for (unsigned t = 0; t < FRAME_TYPES; t++) {
        if (e->requests[t] + e->answers[t] > 0 && e->sizes[t] > 0) {
            size_t n = strlen(frames);
            snprintf(frames + n, sizeof(frames) - n, "%s%s %zu B", n > 0 ? ", " : "",
                     frame_names[t], e->sizes[t]);
        }
    }
    char clear[128] = "", hex[17];
    size_t n = 0;
    if (e->have_key) {
        aw_hex_encode(e->server_key, 8, hex);
        n += (size_t)snprintf(clear + n, sizeof(clear) - n, "the server's X25519 key %s..", hex);
    }
    if (e->have_id && n < sizeof(clear)) {
        aw_hex_encode(e->invite_id, 8, hex);
        n += (size_t)snprintf(clear + n, sizeof(clear) - n, ", the invite id %s..", hex);
    }
    bool handshake = e->sizes[AW_ENROLL_HELLO] + e->sizes[AW_ENROLL_WELCOME] > 0;
    if (handshake && n < sizeof(clear)) {
        snprintf(clear + n, sizeof(clear) - n, ", ephemeral keys; the rest is ciphertext");
    }
    aw_attack_observe(out, "%s (%s); in the clear: %s", frames[0] != '\0' ? frames : "no frame",
                      aw_attack_tls(ctx) ? "TLS intercepted" : "plain HTTP",
                      clear[0] != '\0' ? clear : "nothing");
}

/* ---- a row: its invite, its client, its store ------------------------------------------ */

typedef struct enroll_row {
    aw_attack_ctx *ctx;
    aw_store *store;
    aw_invite inv; /* id, name; PSK wiped */
    bool issued;
    char token[AW_ENROLL_TOKEN_TEXT];
    enroll_mitm *mitm;
    aw_enroll_client *client; /* the last run's state: parameters and key on success */
    aw_enroll_outcome *outcome;
    uint8_t user_key[AW_ENROLL_KEY_LEN];      /* the key a genuine run gave the client */
    uint8_t enroll_key[AW_X25519_PUBLIC_LEN]; /* the data directory's: what tokens pin */
} enroll_row;

/* Opens the store, issues the row's invite (hmac-sha256, timestamp mode) and starts the man
 * in the middle with edit. Anything but AW_OK: why in out's detail. */
static aw_result row_begin(aw_attack_ctx *ctx, enroll_row *row, enroll_edit edit,
                           aw_attack_result *out)
{
    memset(row, 0, sizeof(*row));
    row->ctx = ctx;
    row->mitm = aw_attack_alloc(ctx, sizeof(*row->mitm));
    row->client = aw_attack_alloc(ctx, sizeof(*row->client));
    row->outcome = aw_attack_alloc(ctx, sizeof(*row->outcome));
    AW_ENSURE(row->mitm != NULL && row->client != NULL && row->outcome != NULL, AW_E_INTERNAL);
    const char *data = aw_attack_data_dir(ctx);
    aw_result r = aw_store_open(data, &row->store);
    if (r != AW_OK) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "cannot open the store of %s", data);
        return r;
    }
    uint8_t pub[AW_X25519_PUBLIC_LEN], fp[AW_ENROLL_FP_LEN], rnd[6];
    r = aw_data_enroll_key(data, pub);
    if (r != AW_OK) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "no enrollment key in %s", data);
        return r;
    }
    memcpy(row->enroll_key, pub, sizeof(pub));
    AW_GUARD(aw_enroll_fingerprint(pub, fp));
    AW_GUARD(aw_random(rnd, sizeof(rnd)));
    char hex[2 * sizeof(rnd) + 1];
    aw_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(row->inv.name, sizeof(row->inv.name), NAME_PREFIX "%s", hex);
    row->inv.alg = AW_ALG_HMAC_SHA256;
    row->inv.mode = AW_FRESH_TIMESTAMP;
    row->inv.created_at = (int64_t)time(NULL);
    row->inv.expires_at = row->inv.created_at + INVITE_TTL;
    r = aw_store_invite_issue(row->store, &row->inv, fp, row->token);
    if (r != AW_OK) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "cannot issue an invite: %s",
                      r == AW_E_STORE ? aw_store_last_error(row->store) : aw_result_reason(r));
        return r;
    }
    row->issued = true;
    row->mitm->edit = edit;
    uint8_t priv[AW_X25519_PRIVATE_LEN];
    r = aw_x25519_keypair(priv, row->mitm->attacker_pub);
    aw_wipe(priv, sizeof(priv)); /* only its public half is swapped in */
    AW_GUARD(r);
    return aw_attack_mitm(ctx, AW_PROXY_HTTP, AW_ATTACK_TLS_INTERCEPT, enroll_hook, row->mitm);
}

/* Redeems the row's token with the real client through the man in the middle. sends: how
 * often a frame without an answer goes out (the client's retry). AW_OK when the run was
 * made (row->outcome says how it went); otherwise why it could not be (a token or key the
 * harness itself could not use). */
static aw_result row_enroll(enroll_row *row, int sends, aw_attack_result *out)
{
    char url[512];
    const char *cacert = aw_attack_client_url(row->ctx, "", url, sizeof(url));
    aw_enroll_http http = {url, cacert, EXCHANGE_SECS, NULL};
    aw_enroll_transport tr = {aw_enroll_http_send, &http};
    aw_enroll_options opts = {.sends = sends, .backoff_ms = 100};
    aw_enroll_token t;
    aw_ed25519_key *user_key = NULL;
    aw_result r = aw_enroll_token_decode(row->token, strlen(row->token), &t);
    if (r == AW_OK) {
        (void)aw_client_enroll(&t, &tr, &opts, row->client, &user_key, row->outcome);
    }
    aw_wipe(&t, sizeof(t));
    if (r == AW_OK && row->outcome->result == AW_OK) {
        /* The key as the credential file gets it (what `authwire enroll` writes). */
        aw_enroll_key_buf key;
        aw_credentials cred;
        memset(&cred, 0, sizeof(cred));
        r = aw_enroll_put_key(row->client, user_key, &key, &cred);
        if (r == AW_OK && (cred.secret == NULL || cred.secret_len != sizeof(row->user_key))) {
            r = AW_E_ALG_MISMATCH; /* the invites are hmac-sha256 */
        }
        if (r == AW_OK) {
            memcpy(row->user_key, cred.secret, sizeof(row->user_key));
        }
        aw_wipe(&key, sizeof(key));
    }
    aw_ed25519_free(user_key);
    aw_enroll_client_wipe(row->client);
    aw_proxy *p = aw_attack_proxy(row->ctx);
    aw_proxy_lock(p); /* the hook wrote under it: now visible */
    aw_proxy_unlock(p);
    if (r == AW_OK && row->mitm->have_key &&
        !aw_ct_equal(row->mitm->server_key, row->enroll_key, sizeof(row->enroll_key))) {
        /* The invites of --data DIR are not this gateway's: every row would be meaningless. */
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "the gateway's enrollment key is not the one in %s: is it its data "
                      "directory?",
                      aw_attack_data_dir(row->ctx));
        r = AW_E_SERVER_KEY_MISMATCH;
    }
    return r;
}

/* What the store says of the row's invite and its user. */
typedef struct store_view {
    bool pending, used;
    int64_t used_at;
    bool user, user_active;
    bool same_key; /* the user's key is row->user_key */
} store_view;

static aw_result row_view(enroll_row *row, store_view *v)
{
    memset(v, 0, sizeof(*v));
    aw_invite inv;
    aw_user u;
    memset(&inv, 0, sizeof(inv));
    memset(&u, 0, sizeof(u));
    AW_GUARD(aw_store_invite_get(row->store, row->inv.id, &inv));
    aw_invite_wipe(&inv);
    v->used = inv.used_at != 0;
    v->used_at = inv.used_at;
    v->pending = inv.used_at == 0 && inv.revoked_at == 0 && inv.expires_at > (int64_t)time(NULL);
    aw_result r = aw_store_user_get(row->store, row->inv.name, &u);
    if (r == AW_OK) {
        v->user = true;
        v->user_active = u.revoked_at == 0;
        v->same_key = u.key_len == sizeof(row->user_key) &&
                      aw_ct_equal(u.key, row->user_key, sizeof(row->user_key));
    }
    aw_user_wipe(&u);
    return r == AW_OK || r == AW_E_NOT_FOUND ? AW_OK : r;
}

/* After an attacked attempt: no user, the invite still pending; says so in the detail, or
 * turns the row into a success of the attack. */
static aw_result row_check_untouched(enroll_row *row, aw_attack_result *out)
{
    store_view v;
    aw_result r = row_view(row, &v);
    if (r != AW_OK) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "cannot read the store: %s", aw_result_reason(r));
    } else if (v.user) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the attacked enrollment left a user in the store: %s", row->inv.name);
    } else if (!v.pending) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the attacked enrollment consumed the invite of %s", row->inv.name);
    } else {
        aw_attack_detail_append(out, "; store: no user %s, the invite still pending",
                                row->inv.name);
    }
    return AW_OK;
}

/* Revokes what the row made: the invite while pending, the user while active. When that
 * fails the row is an error (the data directory would keep them). */
static void row_end(enroll_row *row, aw_attack_result *out)
{
    if (row->store != NULL && row->issued) {
        store_view v;
        int64_t now = (int64_t)time(NULL);
        aw_result r = row_view(row, &v);
        if (r == AW_OK && !v.used) {
            r = aw_store_invite_revoke(row->store, row->inv.id, now);
        }
        if (r == AW_OK && v.user_active) {
            r = aw_store_user_revoke(row->store, row->inv.name, now);
        }
        if (r != AW_OK && out->outcome == AW_ATTACK_SUCCEEDED) {
            /* The verdict stands; the leftover is said after it. */
            aw_attack_detail_append(out, "; cannot revoke the invite or user %s: %s", row->inv.name,
                                    aw_result_reason(r));
        } else if (r != AW_OK) {
            aw_attack_set(out, AW_ATTACK_ERROR, NULL, "cannot revoke the invite or user %s: %s",
                          row->inv.name, aw_result_reason(r));
        }
    }
    aw_store_close(row->store);
    row->store = NULL;
    aw_wipe(row->token, sizeof(row->token));
    aw_wipe(row->user_key, sizeof(row->user_key));
    aw_invite_wipe(&row->inv);
    if (row->client != NULL) {
        aw_enroll_client_wipe(row->client);
    }
    if (row->outcome != NULL) {
        aw_wipe(row->outcome, sizeof(*row->outcome));
    }
    if (row->mitm != NULL) {
        aw_proxy *p = aw_attack_proxy(row->ctx);
        if (p != NULL) {
            aw_proxy_lock(p);
        }
        aw_wipe(&row->mitm->forge, sizeof(row->mitm->forge));
        if (p != NULL) {
            aw_proxy_unlock(p);
        }
    }
}

/* A gateway's refusal of an enrollment frame is named "enroll:<reason>". */
static void enroll_prefix(aw_attack_result *out)
{
    if (out->outcome == AW_ATTACK_BLOCKED) {
        char by[sizeof(out->stopped_by)];
        snprintf(by, sizeof(by), "enroll:%.*s", (int)(sizeof(by) - 8), out->stopped_by);
        memcpy(out->stopped_by, by, sizeof(by));
    }
}

/* The verdict on an attacked run: the gateway refused a frame ("enroll:<reason>", from its
 * counters since the mark when it shows them), the client refused one
 * ("enroll:client:<reason>"), or the enrollment went through (the attack succeeded). */
static void judge_run(enroll_row *row, aw_attack_result *out)
{
    const aw_enroll_outcome *o = row->outcome;
    const char *step = step_name(o->step);
    char by[64];
    switch (o->failure) {
    case AW_ENROLL_SUCCESS:
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the attacked enrollment went through: the client holds a key");
        return;
    case AW_ENROLL_REFUSED:
        if (o->reply.status < 400) { /* what came was no frame at all */
            break;
        }
        aw_attack_judge_gateway(row->ctx, o->reply.status, o->reply.error, out);
        enroll_prefix(out);
        aw_attack_detail_prepend(out, "%s: ", step);
        return;
    case AW_ENROLL_INTERFERENCE:
        snprintf(by, sizeof(by), "enroll:client:%s", aw_result_name(o->result));
        aw_attack_set(out, AW_ATTACK_BLOCKED, by,
                      "the client refused the server's %s (%s) and sent nothing more", step,
                      aw_result_reason(o->result));
        return;
    case AW_ENROLL_NO_ANSWER:
    case AW_ENROLL_LOCAL:
        break;
    }
    aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the enrollment client stopped at %s: %s (%s)", step,
                  aw_result_name(o->result), o->reply.text);
}

/* A genuine run must have worked and be in the store: a user holding the client's key, the
 * invite used; and the verdicts of the attacked rows (judge_run, row_check_untouched) must
 * call it a success, so a broken verdict cannot pass for a blocked attack. false (the row an
 * error) otherwise. */
static bool row_genuine_ok(enroll_row *row, aw_attack_result *out, store_view *v)
{
    const aw_enroll_outcome *o = row->outcome;
    if (o->result != AW_OK) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the genuine enrollment failed at %s: %s",
                      step_name(o->step), aw_result_name(o->result));
        return false;
    }
    if (row_view(row, v) != AW_OK || !v->user || !v->user_active || !v->same_key || !v->used) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "the store does not show the genuine enrollment of %s (user %s, key %s, "
                      "invite %s)",
                      row->inv.name, v->user ? "present" : "absent",
                      v->same_key ? "the client's" : "another", v->used ? "used" : "not used");
        return false;
    }
    aw_attack_result control;
    memset(&control, 0, sizeof(control));
    judge_run(row, &control);
    bool seen = control.outcome == AW_ATTACK_SUCCEEDED;
    control.outcome = AW_ATTACK_BLOCKED;
    seen = seen && row_check_untouched(row, &control) == AW_OK &&
           control.outcome == AW_ATTACK_SUCCEEDED;
    if (!seen) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "the verdicts of the attacked rows do not call the genuine enrollment of %s "
                      "a success",
                      row->inv.name);
        return false;
    }
    return true;
}

/* An attacked run: the invite redeemed through edit, judged, the store checked. check(row,
 * out), when not NULL, adds what the row itself must see (e.g. that no HELLO went out). */
typedef void (*row_check_fn)(enroll_row *row, aw_attack_result *out);

static aw_result attacked_run(aw_attack_ctx *ctx, aw_attack_result *out, enroll_edit edit,
                              row_check_fn check)
{
    enroll_row *row = aw_attack_alloc(ctx, sizeof(*row));
    AW_ENSURE(row != NULL, AW_E_INTERNAL);
    aw_result r = row_begin(ctx, row, edit, out);
    if (r == AW_OK) {
        aw_attack_mark(ctx);
        r = row_enroll(row, 1, out);
    }
    if (r == AW_OK) {
        observe_frames(ctx, row->mitm, out);
        if (row->mitm->edits == 0) {
            aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the frame to change never came");
        } else {
            judge_run(row, out);
            if (check != NULL && out->outcome == AW_ATTACK_BLOCKED) {
                check(row, out);
            }
            if (out->outcome == AW_ATTACK_BLOCKED) {
                r = row_check_untouched(row, out);
            }
        }
    }
    row_end(row, out);
    return r;
}

/* ---- the rows --------------------------------------------------------------------------- */

/* Adds the invite's secret, its PSK and the token text (whole, and the characters that
 * carry only secret bits) to s. */
static void token_forms(const char *text, aw_secret_forms *s)
{
    aw_enroll_token t;
    uint8_t psk[AW_ENROLL_KEY_LEN];
    if (aw_enroll_token_decode(text, strlen(text), &t) == AW_OK &&
        aw_enroll_invite_psk(t.invite_id, t.secret, psk) == AW_OK) {
        aw_secret_forms_encodings(s, "invite secret", t.secret, sizeof(t.secret));
        aw_secret_forms_encodings(s, "invite PSK", psk, sizeof(psk));
    }
    aw_secret_forms_add(s, "token text", (const uint8_t *)text, strlen(text));
    /* base32 after "AW1": 5 bits a character; the secret is bits 136..391 of the payload
     * (after the version and the invite id), so characters 28..77 are made of it alone. */
    size_t first = 3 + (8 * (1 + AW_INVITE_ID_LEN) + 4) / 5;
    size_t last = 3 + (8 * (1 + AW_INVITE_ID_LEN + AW_INVITE_SECRET_LEN)) / 5 - 1;
    if (strlen(text) > last) {
        aw_secret_forms_add(s, "token text (the secret's base32)", (const uint8_t *)text + first,
                            last - first + 1);
    }
    aw_wipe(&t, sizeof(t));
    aw_wipe(psk, sizeof(psk));
}

static aw_result enroll_passive_capture(aw_attack_ctx *ctx, aw_attack_result *out)
{
    enroll_row *row = aw_attack_alloc(ctx, sizeof(*row));
    aw_secret_forms *s = aw_attack_alloc(ctx, sizeof(*s));
    AW_ENSURE(row != NULL && s != NULL, AW_E_INTERNAL);
    aw_result r = row_begin(ctx, row, EDIT_NONE, out);
    if (r == AW_OK) {
        r = row_enroll(row, 1, out);
    }
    store_view v;
    if (r == AW_OK && row_genuine_ok(row, out, &v)) {
        observe_frames(ctx, row->mitm, out);
        /* The secrets of the token the user typed, and the key the credential file got. */
        token_forms(row->token, s);
        aw_secret_forms_encodings(s, "user key", row->user_key, sizeof(row->user_key));
        size_t forms = s->n;
        aw_capture_scan scan, control;
        aw_attack_scan_capture(ctx, s, &scan);
        /* Control: the server's public key crosses in the clear (KEY), so a search that
         * does not find it reads nothing of the wire. */
        memset(s, 0, sizeof(*s));
        aw_secret_forms_add(s, "the server's public key", row->enroll_key, sizeof(row->enroll_key));
        aw_attack_scan_capture(ctx, s, &control);
        if (scan.found[0] != '\0') {
            aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL, "a secret crossed the wire: %s",
                          scan.found);
        } else if (scan.truncated) {
            aw_attack_set(out, AW_ATTACK_ERROR, NULL, "the capture filled up before the end");
        } else if (control.found[0] == '\0') {
            aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                          "the search does not find the server's public key, which crosses in "
                          "the clear: it cannot see the wire");
        } else {
            aw_attack_set(
                out, AW_ATTACK_BLOCKED, "keys_not_on_wire",
                "enrolled %s via the recording relay (controls: a success to the verdicts, "
                "the server's public key found); %zu messages (%zu B), both ways: no "
                "invite secret, PSK, token or user key, %zu forms (raw, hex, "
                "base64(url), base32)",
                row->inv.name, scan.messages, scan.bytes, forms);
        }
    }
    aw_wipe(s, sizeof(*s));
    row_end(row, out);
    return r;
}

static aw_result enroll_token_replay(aw_attack_ctx *ctx, aw_attack_result *out)
{
    enroll_row *row = aw_attack_alloc(ctx, sizeof(*row));
    AW_ENSURE(row != NULL, AW_E_INTERNAL);
    aw_result r = row_begin(ctx, row, EDIT_NONE, out);
    if (r == AW_OK) {
        r = row_enroll(row, 1, out);
    }
    store_view before;
    if (r == AW_OK && row_genuine_ok(row, out, &before)) {
        /* The same token again, as whoever saw it (over the user's shoulder, in a chat
         * log) would use it: the real client, through the same relay. The genuine key is
         * kept to compare: a second run overwrites row->user_key only if it succeeds. */
        aw_attack_mark(ctx);
        r = row_enroll(row, 1, out);
        observe_frames(ctx, row->mitm, out);
        store_view after;
        if (r == AW_OK) {
            judge_run(row, out);
        }
        if (r == AW_OK && out->outcome == AW_ATTACK_BLOCKED) {
            if (row_view(row, &after) != AW_OK) {
                aw_attack_set(out, AW_ATTACK_ERROR, NULL, "cannot read the store");
            } else if (!after.user_active || !after.same_key || after.used_at != before.used_at) {
                aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                              "the replayed token changed the enrollment of %s", row->inv.name);
            } else {
                aw_attack_detail_append(out,
                                        "; store: %s still holds the genuine key, the invite "
                                        "used once (by the genuine enrollment)",
                                        row->inv.name);
            }
        }
    }
    row_end(row, out);
    return r;
}

static void check_no_hello(enroll_row *row, aw_attack_result *out)
{
    if (row->mitm->requests[AW_ENROLL_HELLO] > 0) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the client sent HELLO to the substituted key (the pin did not hold)");
    } else {
        aw_attack_detail_append(out, "; no HELLO left the client");
    }
}

static void check_no_confirm(enroll_row *row, aw_attack_result *out)
{
    if (row->mitm->requests[AW_ENROLL_CONFIRM] > 0) {
        aw_attack_set(out, AW_ATTACK_SUCCEEDED, NULL,
                      "the client confirmed a WELCOME that was not the server's");
    }
}

static aw_result enroll_server_key_swap(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return attacked_run(ctx, out, EDIT_SWAP_KEY, check_no_hello);
}

static aw_result enroll_key_substitution(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return attacked_run(ctx, out, EDIT_FORGE_HELLO, NULL);
}

static aw_result enroll_key_substitution_welcome(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return attacked_run(ctx, out, EDIT_SWAP_E_WELCOME, check_no_confirm);
}

static aw_result enroll_tamper_hello(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return attacked_run(ctx, out, EDIT_FLIP_HELLO, NULL);
}

static aw_result enroll_tamper_welcome(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return attacked_run(ctx, out, EDIT_FLIP_WELCOME, check_no_confirm);
}

static aw_result enroll_tamper_confirm(aw_attack_ctx *ctx, aw_attack_result *out)
{
    return attacked_run(ctx, out, EDIT_FLIP_CONFIRM, NULL);
}

/* Whether m is a HELLO the client sent. */
static bool is_hello(const aw_pmsg *m, void *arg)
{
    (void)arg;
    aw_enroll_frame f;
    return !m->response && aw_enroll_frame_parse(m->body, m->body_len, &f) == AW_OK &&
           f.type == AW_ENROLL_HELLO;
}

/* A HELLO captured from a handshake still pending (the relay let HELLO and WELCOME pass and
 * kept the CONFIRM back), replayed on the attacker's own connection. */
static aw_result enroll_replay_hello(aw_attack_ctx *ctx, aw_attack_result *out)
{
    enroll_row *row = aw_attack_alloc(ctx, sizeof(*row));
    AW_ENSURE(row != NULL, AW_E_INTERNAL);
    aw_result r = row_begin(ctx, row, EDIT_DROP_CONFIRM, out);
    if (r == AW_OK) {
        r = row_enroll(row, 1, out);
    }
    size_t len = 0;
    uint8_t *hello = r == AW_OK ? aw_attack_captured_if(ctx, is_hello, NULL, &len) : NULL;
    if (r != AW_OK) {
        /* row_begin said why */
    } else if (hello == NULL || row->mitm->answers[AW_ENROLL_WELCOME] == 0 ||
               row->mitm->edits == 0) {
        aw_attack_set(out, AW_ATTACK_ERROR, NULL,
                      "no HELLO answered with WELCOME was captured, or the CONFIRM never came");
    } else {
        observe_frames(ctx, row->mitm, out);
        aw_attack_mark(ctx);
        int status = 0;
        char error[64];
        r = aw_attack_deliver(ctx, hello, len, &status, error, sizeof(error));
        if (r == AW_OK) {
            aw_attack_judge_gateway(ctx, status, error, out);
            enroll_prefix(out);
            if (out->outcome == AW_ATTACK_BLOCKED) {
                aw_attack_detail_prepend(out, "the HELLO of a pending handshake, replayed: ");
                r = row_check_untouched(row, out);
            }
        }
    }
    free(hello);
    row_end(row, out);
    return r;
}

#define KEY_SUBST                                                                                  \
    "key substitution during enrollment (a relay swaps in its own server key or ephemeral key)"
#define TAMPERED "tampered, truncated, reordered enrollment messages"
#define REPLAYED "stolen or replayed invite token"

static const aw_attack enroll[] = {
    {"enroll-passive-capture",
     "enroll a new user through a recording relay and search every byte for the invite "
     "secret, its PSK, the token and the new key",
     "enrollment traffic read by an observer, TLS intercepted too", "keys_not_on_wire",
     AW_ATTACK_NEEDS_DATA, enroll_passive_capture},
    {"enroll-token-replay", "enroll with a token that was already redeemed", REPLAYED,
     "enroll:invite_used", AW_ATTACK_NEEDS_DATA, enroll_token_replay},
    {"enroll-server-key-swap",
     "answer GET " AW_ENROLL_PATH " with the attacker's own X25519 key instead of the server's",
     KEY_SUBST, "enroll:client:server_key_mismatch", AW_ATTACK_NEEDS_DATA, enroll_server_key_swap},
    {"enroll-key-substitution",
     "replace the client's HELLO by the attacker's own: its ephemeral key, the same invite id, "
     "a guessed PSK",
     KEY_SUBST, "enroll:handshake_failed", AW_ATTACK_NEEDS_DATA, enroll_key_substitution},
    {"enroll-key-substitution-welcome",
     "swap the attacker's ephemeral key into the server's WELCOME", KEY_SUBST,
     "enroll:client:handshake_failed", AW_ATTACK_NEEDS_DATA, enroll_key_substitution_welcome},
    {"enroll-tamper-hello", "flip a bit of HELLO's authentication tag", TAMPERED,
     "enroll:handshake_failed", AW_ATTACK_NEEDS_DATA, enroll_tamper_hello},
    {"enroll-tamper-welcome", "flip a bit of WELCOME's ciphertext", TAMPERED,
     "enroll:client:handshake_failed", AW_ATTACK_NEEDS_DATA, enroll_tamper_welcome},
    {"enroll-tamper-confirm", "flip a bit of CONFIRM's ciphertext", TAMPERED,
     "enroll:handshake_failed", AW_ATTACK_NEEDS_DATA, enroll_tamper_confirm},
    {"enroll-replay-hello",
     "replay a captured HELLO while its handshake is pending (its CONFIRM held back)", REPLAYED,
     "enroll:replay", AW_ATTACK_NEEDS_DATA, enroll_replay_hello},
};

AW_ATTACK_FAMILY(aw_attacks_enroll, enroll);
