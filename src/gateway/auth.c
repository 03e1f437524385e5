/* Request authentication in the gateway: the order is the protocol's (docs/PROTOCOL.md,
 * Verification order), and replay state changes only after everything else passed, so a
 * forged or misbound request can neither fill nor advance it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/exchange.h"
#include "gateway.h"

/* ---- the user cache --------------------------------------------------------------- */

static size_t bucket_of(aw_span name, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a: names are not secret, buckets are small */
    for (size_t i = 0; i < name.len; i++) {
        h = (h ^ name.ptr[i]) * 1099511628211u;
    }
    return (size_t)(h % n);
}

static void user_free(gw_user *u)
{
    aw_hmac_key_free(u->key.hmac);
    aw_ed25519_free(u->key.ed25519);
    aw_hmac_key_free(u->next_key.hmac);
    aw_ed25519_free(u->next_key.ed25519);
    free(u);
}

void gw_user_hold(gw_user *u)
{
    u->refs++;
}

void gw_user_release(gw_user *u)
{
    if (u != NULL && --u->refs == 0) {
        user_free(u);
    }
}

void gw_users_free(gw_worker *w)
{
    for (size_t i = 0; i < GW_USER_BUCKETS; i++) {
        while (w->users[i] != NULL) {
            gw_user *next = w->users[i]->next;
            gw_user_release(w->users[i]);
            w->users[i] = next;
        }
    }
}

void gw_users_refresh(gw_worker *w)
{
    uint64_t gen = 0;
    if (aw_store_users_generation(w->store, &gen) != AW_OK) {
        gw_users_free(w); /* cannot tell: forget, so the next lookup reads the store */
        return;
    }
    if (gen != w->users_generation) {
        gw_users_free(w);
        w->users_generation = gen;
    }
}

/* The verifying key of a user row's key bytes. */
static aw_result key_load(aw_alg alg, const uint8_t *bytes, size_t len, aw_key *out)
{
    out->alg = alg;
    if (alg == AW_ALG_HMAC_SHA256) {
        return aw_hmac_key_new(bytes, len, &out->hmac);
    }
    AW_ENSURE(alg == AW_ALG_ED25519 && len == AW_ED25519_PUBLIC_LEN, AW_E_KEY_INVALID);
    return aw_ed25519_from_public(bytes, &out->ed25519);
}

static aw_result user_load(gw_worker *w, const char *name, gw_user **out)
{
    aw_user rec;
    aw_result r = aw_store_user_get(w->store, name, &rec);
    if (r == AW_E_NOT_FOUND) {
        return AW_E_KEY_UNKNOWN;
    }
    AW_GUARD(r);
    gw_user *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        aw_user_wipe(&rec);
        return AW_E_INTERNAL;
    }
    snprintf(u->name, sizeof(u->name), "%s", rec.name);
    u->alg = rec.alg;
    u->mode = rec.mode;
    u->revoked_at = rec.revoked_at;
    r = key_load(rec.alg, rec.key, rec.key_len, &u->key);
    if (r == AW_OK && rec.next_key_len > 0) {
        r = key_load(rec.alg, rec.next_key, rec.next_key_len, &u->next_key);
    }
    aw_user_wipe(&rec);
    if (r != AW_OK) {
        user_free(u);
        return r;
    }
    *out = u;
    return AW_OK;
}

static aw_result user_find(gw_worker *w, aw_span keyid, gw_user **out)
{
    /* A keyid that is no valid user name can name no user: refuse before touching storage. */
    char name[AW_USER_NAME_MAX + 1];
    AW_ENSURE(keyid.len >= 1 && keyid.len <= AW_USER_NAME_MAX, AW_E_KEY_UNKNOWN);
    memcpy(name, keyid.ptr, keyid.len);
    name[keyid.len] = '\0';
    AW_ENSURE(aw_user_name_valid(name), AW_E_KEY_UNKNOWN);
    size_t b = bucket_of(keyid, GW_USER_BUCKETS);
    for (gw_user *u = w->users[b]; u != NULL; u = u->next) {
        if (strcmp(u->name, name) == 0) {
            *out = u;
            return AW_OK;
        }
    }
    gw_user *u = NULL;
    AW_GUARD(user_load(w, name, &u));
    u->refs = 1;
    u->next = w->users[b];
    w->users[b] = u;
    *out = u;
    return AW_OK;
}

static aw_result lookup_key(void *ctx, aw_span keyid, const aw_key **key)
{
    gw_exchange *x = ctx;
    gw_user *u = NULL;
    aw_result r = user_find(x->w, keyid, &u);
    if (r == AW_E_STORE || r == AW_E_CORRUPT) {
        x->detail = aw_store_last_error(x->w->store);
    }
    AW_GUARD(r);
    AW_ENSURE(u->revoked_at == 0, AW_E_KEY_REVOKED);
    x->user = u;
    x->key = x->use_next ? &u->next_key : &u->key;
    *key = x->key;
    return AW_OK;
}

/* aw_verify with the user's key; when the signature does not verify and the user has a
 * pending next key (a rotation waiting for its confirmation), once more with that key. The
 * current key's path costs what it did before rotation existed. */
static aw_result verify(gw_exchange *x, const aw_policy *policy, aw_verified *out)
{
    gw_worker *w = x->w;
    aw_arena scratch;
    aw_arena_init(&scratch, w->scratch, sizeof(w->scratch));
    x->use_next = false;
    aw_result r = aw_verify(&x->req->msg, NULL, policy, gw_now(), lookup_key, x, &scratch, out);
    if (r != AW_E_SIGNATURE_INVALID || x->user == NULL || x->user->next_key.alg == AW_ALG_NONE) {
        return r;
    }
    x->use_next = true;
    aw_arena_init(&scratch, w->scratch, sizeof(w->scratch));
    r = aw_verify(&x->req->msg, NULL, policy, gw_now(), lookup_key, x, &scratch, out);
    x->use_next = false;
    return r;
}

/* The pending key signed an accepted request: it becomes the key, and the old one stops
 * working (every worker sees the users generation change on its next request). */
static aw_result promote(gw_exchange *x)
{
    aw_result r = aw_store_user_promote_next_key(x->w->store, x->user->name, gw_now());
    if (r == AW_OK) {
        atomic_fetch_add(&x->w->gw->metrics.rotations_promoted, 1);
    } else if (r == AW_E_NOT_FOUND) {
        r = AW_OK; /* another worker or gateway promoted it first */
    } else if (r != AW_E_KEY_REVOKED) {
        x->detail = aw_store_last_error(x->w->store);
    }
    return r;
}

/* ---- replay state ------------------------------------------------------------------ */

aw_result gw_replay_init(gateway *gw, aw_store *store)
{
    pthread_mutex_init(&gw->replay_lock, NULL);
    pthread_mutex_init(&gw->seq_lock, NULL);
    pthread_mutex_init(&gw->created_lock, NULL);
    size_t capacity = (size_t)gw->cfg.nonce_capacity;
    size_t bytes = aw_nonce_cache_bytes(capacity);
    AW_ENSURE(bytes != 0, AW_E_INVALID_ARG);
    gw->nonce_mem = aligned_alloc(8, (bytes + 7) & ~(size_t)7);
    AW_ENSURE(gw->nonce_mem != NULL, AW_E_INTERNAL);
    uint8_t salt[16];
    AW_GUARD(aw_random(salt, sizeof(salt)));
    /* A nonce must be remembered as long as its request can pass the time check. */
    AW_GUARD(aw_nonce_cache_init(&gw->nonces, gw->nonce_mem, bytes, capacity,
                                 gw->cfg.skew + gw->cfg.max_age, salt));
    AW_GUARD(aw_store_created_high_water(store, &gw->created_floor));
    gw->created_persisted = gw->created_floor;
    return AW_OK;
}

void gw_replay_free(gateway *gw)
{
    for (size_t i = 0; i < GW_SEQ_BUCKETS; i++) {
        while (gw->seq[i] != NULL) {
            gw_seq_entry *next = gw->seq[i]->next;
            free(gw->seq[i]);
            gw->seq[i] = next;
        }
    }
    free(gw->nonce_mem);
}

/* Timestamp mode: the nonce once per window, and nothing signed before a restart. */
static aw_result fresh_timestamp(gw_exchange *x)
{
    gateway *gw = x->w->gw;
    int64_t created = x->verified.created;
    pthread_mutex_lock(&gw->created_lock);
    int64_t floor = gw->created_floor;
    pthread_mutex_unlock(&gw->created_lock);
    if (created <= floor) {
        x->detail = "created before the gateway restarted";
        return AW_E_EXPIRED;
    }
    pthread_mutex_lock(&gw->replay_lock);
    aw_result r = aw_nonce_cache_check(&gw->nonces, x->verified.keyid, x->verified.nonce, gw_now());
    pthread_mutex_unlock(&gw->replay_lock);
    AW_GUARD(r);
    /* Durable high-water first: after a crash, nothing at or below it passes again. */
    pthread_mutex_lock(&gw->created_lock);
    if (created > gw->created_persisted) {
        r = aw_store_created_advance(x->w->store, created);
        if (r == AW_OK) {
            gw->created_persisted = created;
        } else {
            x->detail = aw_store_last_error(x->w->store);
        }
    }
    pthread_mutex_unlock(&gw->created_lock);
    AW_GUARD(r);
    pthread_mutex_lock(&gw->replay_lock);
    r = aw_nonce_cache_use(&gw->nonces, x->verified.keyid, x->verified.nonce, gw_now());
    pthread_mutex_unlock(&gw->replay_lock);
    return r;
}

/* The value of one of authwire's own request fields (all lines joined), into buf when
 * there are several. */
#define FIELD_MAX 512
static aw_result field_value(gw_exchange *x, const char *name, uint8_t buf[FIELD_MAX],
                             aw_span *value)
{
    aw_arena arena;
    aw_arena_init(&arena, buf, FIELD_MAX);
    return aw_message_field(&x->req->msg, aw_span_cstr(name), &arena, value);
}

static gw_seq_entry *seq_entry(gw_exchange *x)
{
    gateway *gw = x->w->gw;
    aw_span name = aw_span_cstr(x->user->name);
    size_t b = bucket_of(name, GW_SEQ_BUCKETS);
    for (gw_seq_entry *e = gw->seq[b]; e != NULL; e = e->next) {
        if (strcmp(e->name, x->user->name) == 0) {
            return e;
        }
    }
    aw_user rec;
    if (aw_store_user_get(x->w->store, x->user->name, &rec) != AW_OK) {
        return NULL;
    }
    uint64_t high_water = rec.seq_high_water;
    aw_user_wipe(&rec);
    gw_seq_entry *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    snprintf(e->name, sizeof(e->name), "%s", x->user->name);
    aw_seq_window_init(&e->window, high_water);
    e->persisted = high_water;
    e->next = gw->seq[b];
    gw->seq[b] = e;
    return e;
}

/* Sequence mode: each number once, in a sliding window; the high-water mark is durable
 * before a request that raises it is accepted. */
static aw_result fresh_sequence(gw_exchange *x)
{
    gateway *gw = x->w->gw;
    if (!aw_verified_covers(&x->verified, AW_FIELD_SEQ)) {
        x->detail = "sequence mode: authwire-seq not covered";
        return AW_E_COVERAGE_INSUFFICIENT;
    }
    aw_span value;
    uint8_t buf[FIELD_MAX];
    AW_GUARD(field_value(x, AW_FIELD_SEQ, buf, &value));
    AW_GUARD(aw_seq_parse(value, &x->seq));
    pthread_mutex_lock(&gw->seq_lock);
    gw_seq_entry *e = seq_entry(x);
    aw_result r = e != NULL ? aw_seq_check(&e->window, x->seq) : AW_E_STORE;
    if (r == AW_OK && x->seq > e->persisted) {
        r = aw_store_seq_advance(x->w->store, x->user->name, x->seq);
        if (r == AW_OK) {
            e->persisted = x->seq;
        } else {
            x->detail = aw_store_last_error(x->w->store);
        }
    }
    if (r == AW_OK) {
        r = aw_seq_accept(&e->window, x->seq);
    }
    pthread_mutex_unlock(&gw->seq_lock);
    return r;
}

/* Challenge mode: the nonce is a challenge this gateway issued since it started, once. */
static aw_result fresh_challenge(gw_exchange *x)
{
    gateway *gw = x->w->gw;
    pthread_mutex_lock(&gw->replay_lock);
    aw_result r = aw_challenge_redeem(x->w->challenge_key, x->verified.nonce, gw_now(),
                                      gw->cfg.challenge_ttl, &gw->nonces);
    pthread_mutex_unlock(&gw->replay_lock);
    return r;
}

static aw_result check_channel_binding(gw_exchange *x)
{
    gateway *gw = x->w->gw;
    if (!x->req->tls || gw->cfg.channel_binding == GW_CB_OFF) {
        return AW_OK;
    }
    bool covered = aw_verified_covers(&x->verified, AW_FIELD_CB);
    if (!covered) {
        if (gw->cfg.channel_binding == GW_CB_REQUIRE) {
            x->detail = "channel binding required: authwire-cb not covered";
            return AW_E_COVERAGE_INSUFFICIENT;
        }
        return AW_OK;
    }
    if (!x->req->has_exporter) {
        x->detail = "no TLS 1.3 exporter on this connection";
        return AW_E_CHANNEL_BINDING;
    }
    aw_span value;
    uint8_t buf[FIELD_MAX];
    AW_GUARD(field_value(x, AW_FIELD_CB, buf, &value));
    aw_result r = aw_cb_check(value, x->req->exporter);
    if (r != AW_OK) {
        x->detail = "TLS interception suspected: the client's TLS session is not ours";
        atomic_fetch_add(&gw->metrics.interception_suspected, 1);
    }
    return r;
}

aw_result gw_authenticate(gw_exchange *x)
{
    gw_worker *w = x->w;
    gw_users_refresh(w);
    memset(&x->verified, 0, sizeof(x->verified));
    aw_result r = verify(x, &w->gw->policy, &x->verified);
    /* The signature value is what a response binds to; the parser got that far when the
     * label was found in both fields. */
    x->has_signature = x->verified.params != NULL;
    if (r == AW_E_EXPIRED || r == AW_E_CREATED_IN_FUTURE) {
        /* Only the clock is off. If the signature is good, say so to its signer (signed
         * with its key, with our time), so the client can correct its clock; the request
         * itself stays refused. */
        aw_policy any_time = w->gw->policy;
        any_time.skew = AW_WINDOW_MAX;
        any_time.max_age = AW_WINDOW_MAX;
        aw_verified v;
        if (verify(x, &any_time, &v) == AW_OK) {
            x->verified = v;
            x->authenticated = true;
            return x->result = r;
        }
    }
    if (r != AW_OK) {
        x->user = NULL;
        x->key = NULL;
        return x->result = r;
    }
    x->authenticated = true;
    if (x->req->peer_cert_name[0] != '\0' && strcmp(x->req->peer_cert_name, x->user->name) != 0) {
        /* mTLS: the certificate and the signature must name the same user. */
        x->detail = "the client certificate names another user";
        return x->result = AW_E_FORBIDDEN;
    }
    r = check_channel_binding(x);
    if (r == AW_OK) {
        switch (x->user->mode) {
        case AW_FRESH_TIMESTAMP:
            r = fresh_timestamp(x);
            break;
        case AW_FRESH_SEQUENCE:
            r = fresh_sequence(x);
            break;
        case AW_FRESH_CHALLENGE:
            r = fresh_challenge(x);
            break;
        }
    }
    if (r == AW_OK && x->key == &x->user->next_key) {
        r = promote(x);
    }
    return x->result = r;
}
