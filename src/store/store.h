/* authwire storage: users, their sealed keys and the replay state that must survive a crash,
 * behind one small ops table so that other backends (PostgreSQL) can follow SQLite.
 *
 * A data directory (authwire init --data DIR) holds the database (DIR/authwire.db, SQLite in
 * WAL mode) and the master key (DIR/master.key, 0600, kept outside the database). Every user
 * key is sealed with the master key (AES-256-GCM; associated data: a domain label, the
 * algorithm and the user name), so a stolen copy of the database (and its -wal file) alone
 * yields no usable key, a sealed key moved to another row does not open, and a row's
 * algorithm cannot be switched (an Ed25519 public key must never become an HMAC secret).
 * Ed25519 public keys are sealed too, for that integrity.
 *
 * One aw_store per thread: the SQLite backend opens one connection per aw_store. Several
 * processes and threads may use the same data directory at once. The stores of one process
 * on one data directory share a little state (the group commit of aw_store_invite_redeem),
 * per process: a child made by fork must not use its parent's stores (SQLite forbids it
 * too), and the stores it opens itself work whatever the parent's threads were doing at the
 * fork. Every function returns
 * AW_OK or an aw_result: AW_E_NOT_FOUND, AW_E_EXISTS, AW_E_STORE (the backend failed; the
 * reason is in aw_store_last_error), AW_E_CORRUPT (a sealed key does not open), AW_E_IO
 * (a file of the data directory cannot be read), AW_E_INVALID_ARG. */
#ifndef AUTHWIRE_STORE_H
#define AUTHWIRE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authwire/enroll.h"
#include "authwire/freshness.h"
#include "authwire/result.h"
#include "authwire/signature.h"

/* User names are the keyid: 1..64 characters of [A-Za-z0-9._-], starting with a letter or
 * digit (so they are RFC 8941 strings, file names and log fields without quoting). */
#define AW_USER_NAME_MAX 64
bool aw_user_name_valid(const char *name);

/* The longest key a user row holds: a 256-bit HMAC secret or a 32-byte Ed25519 public key. */
#define AW_USER_KEY_MAX 64

typedef struct aw_user {
    char name[AW_USER_NAME_MAX + 1]; /* also the keyid */
    aw_alg alg;
    aw_fresh_mode mode;
    uint8_t key[AW_USER_KEY_MAX]; /* unsealed: the HMAC secret, or the Ed25519 public key */
    size_t key_len;
    int64_t created_at;      /* unix seconds */
    int64_t revoked_at;      /* unix seconds; 0 while the user is active */
    uint64_t seq_high_water; /* highest Authwire-Seq ever accepted (sequence mode) */
    /* Rotation: the pending second key (sealed like key, same algorithm) while a re-key
     * waits for its confirmation; next_key_len and next_key_at are 0 when none. */
    uint8_t next_key[AW_USER_KEY_MAX];
    size_t next_key_len;
    int64_t next_key_at; /* unix seconds the pending key was stored; 0 when none */
    int64_t rotated_at;  /* unix seconds of the last promotion; 0 when never rotated */
} aw_user;

/* Wipes the key bytes of u, the pending next key too (call when done with a user read from
 * the store). */
void aw_user_wipe(aw_user *u);

typedef struct aw_store aw_store;

/* Creates a new data directory's storage: DIR/master.key (32 random bytes, 0600, refuses
 * to overwrite an existing one: AW_E_EXISTS) and the database schema. DIR must exist. */
aw_result aw_store_create(const char *data_dir) AW_MUST_CHECK;

/* Opens the storage of data_dir (master key and database); *out is released with
 * aw_store_close. AW_E_NOT_FOUND when the directory was never initialised (no master.key or
 * no database), AW_E_FORBIDDEN when DIR/master.key grants any permission to group or others
 * (it is refused, not used: tell the admin to chmod 600 it), AW_E_CORRUPT when master.key is
 * not 32 bytes, AW_E_STORE when the database does not open or was made by a newer authwire. */
aw_result aw_store_open(const char *data_dir, aw_store **out) AW_MUST_CHECK;
/* Closes and wipes the master key copy; NULL is ignored. */
void aw_store_close(aw_store *s);

/* The backend's last error message, for logs and the CLI ("" when none). */
const char *aw_store_last_error(const aw_store *s);

/* Adds a user (u->revoked_at and seq_high_water are stored as given, normally 0; the
 * rotation fields are not: a new user has no pending key). AW_E_EXISTS when the name is
 * taken, revoked users included (names are never reused, so a keyid always means one key). */
aw_result aw_store_user_add(aw_store *s, const aw_user *u) AW_MUST_CHECK;

/* Reads a user, key (and pending next key) unsealed, revoked ones included (check
 * revoked_at). AW_E_NOT_FOUND (also for a name that is not valid, e.g. a keyid from the
 * network); AW_E_CORRUPT when a key does not unseal (another master key, or the row was
 * altered). Wipe out with aw_user_wipe. */
aw_result aw_store_user_get(aw_store *s, const char *name, aw_user *out) AW_MUST_CHECK;

/* Calls fn for every user in name order, without the keys (key_len and next_key_len 0;
 * next_key_at and rotated_at are reported). Stops and returns
 * fn's result when it is not AW_OK. fn may call the other functions on s, but not
 * aw_store_user_list. */
typedef aw_result (*aw_store_user_fn)(const aw_user *u, void *arg);
aw_result aw_store_user_list(aw_store *s, aw_store_user_fn fn, void *arg) AW_MUST_CHECK;

/* Marks a user revoked at now (> 0; idempotent: an earlier revocation time is kept).
 * AW_E_NOT_FOUND. */
aw_result aw_store_user_revoke(aw_store *s, const char *name, int64_t now) AW_MUST_CHECK;

/* Rotation, step 1: stores key (len bytes, as user_add checks them for the user's algorithm)
 * as the user's pending next key at now (> 0), replacing an earlier pending one; the current
 * key stays in force. Sealed like the current key, so promotion moves the sealed bytes.
 * Changes the users generation. AW_E_NOT_FOUND, AW_E_KEY_REVOKED for a revoked user,
 * AW_E_INVALID_ARG. */
aw_result aw_store_user_set_next_key(aw_store *s, const char *name, const uint8_t *key, size_t len,
                                     int64_t now) AW_MUST_CHECK;

/* Rotation, step 2: the pending key becomes the key, the pending key is cleared and
 * rotated_at = now (> 0); changes the users generation; durable against a power loss.
 * AW_E_NOT_FOUND when there is no such user or no pending key: a second call for the same
 * rotation gets it, and callers treat it as "done". AW_E_KEY_REVOKED for a revoked user. */
aw_result aw_store_user_promote_next_key(aw_store *s, const char *name, int64_t now) AW_MUST_CHECK;

/* Raises the user's persisted sequence high-water mark to high_water (never lowers it;
 * at most INT64_MAX). The write is durable against a process crash (kill -9) when this
 * returns; adding and revoking users are durable against a power loss too. AW_E_NOT_FOUND. */
aw_result aw_store_seq_advance(aw_store *s, const char *name, uint64_t high_water) AW_MUST_CHECK;

/* The timestamp-mode restart guard: the highest `created` the gateway ever accepted.
 * created_advance raises it (never lowers), durable against a process crash on return;
 * created_high_water reads it (0 when never set). */
aw_result aw_store_created_advance(aw_store *s, int64_t created) AW_MUST_CHECK;
aw_result aw_store_created_high_water(aw_store *s, int64_t *out) AW_MUST_CHECK;

/* A number that changes whenever a user is added, revoked or re-keyed, by any process, so a
 * gateway can keep users cached and still see a revocation on the next request. The hot
 * writes (seq_advance, created_advance) do not change it. Cheap: the SQLite backend answers
 * from PRAGMA data_version without reading the table when no other connection committed. */
aw_result aw_store_users_generation(aw_store *s, uint64_t *out) AW_MUST_CHECK;

/* ---- invites (enrollment) -----------------------------------------------------------------
 *
 * A one-time invite to enroll a user: the server keeps the PSK the token's secret gives
 * (aw_enroll_invite_psk), never the secret itself. The PSK is sealed with the master key
 * (associated data: a domain label, id, name, alg, mode, created_at and expires_at, so none
 * of these can be altered in the row without the seal failing) and erased from the row once
 * the invite is used or revoked: a spent invite keeps no secret. An invite is pending while
 * it is neither used nor revoked and now < expires_at; expired invites stay in the table. */
typedef struct aw_invite {
    uint8_t id[AW_INVITE_ID_LEN];
    char name[AW_USER_NAME_MAX + 1]; /* the user it will create */
    aw_alg alg;
    aw_fresh_mode mode;
    uint8_t psk[AW_ENROLL_KEY_LEN];      /* unsealed; all zero once used or revoked */
    int64_t created_at;                  /* unix seconds */
    int64_t expires_at;                  /* unix seconds; expired when expires_at <= now */
    int64_t used_at;                     /* 0 while unused */
    int64_t revoked_at;                  /* 0 unless revoked */
    uint8_t confirm_hash[AW_SHA256_LEN]; /* set when used: SHA-256 of the CONFIRM that won */
    uint8_t done[AW_ENROLL_DONE_MAX];    /* set when used: the DONE frame answered then */
    size_t done_len;
} aw_invite;

/* Wipes the PSK of inv (call when done with an invite read from the store). */
void aw_invite_wipe(aw_invite *inv);

/* Adds a pending invite: inv->used_at, revoked_at and done_len must be 0, the name valid,
 * created_at > 0 and expires_at > created_at (AW_E_INVALID_ARG). AW_E_EXISTS when the id
 * exists, when a user of that name exists (revoked ones too), or when another invite for
 * that name is still pending at inv->created_at. Durable against a power loss on return. */
aw_result aw_store_invite_add(aw_store *s, const aw_invite *inv) AW_MUST_CHECK;

/* Issues an invite, as `authwire invite NAME` does: draws inv->id and a 256-bit secret,
 * derives the PSK (aw_enroll_invite_psk), stores the invite as aw_store_invite_add (inv:
 * name, alg, mode, created_at and expires_at set by the caller) and writes the token (id,
 * secret and fp, the fingerprint of the server's enrollment key: aw_data_enroll_key) into
 * text. The secret exists nowhere else: the caller hands text over and wipes it. inv->psk is
 * wiped on return. On failure text is all zero. AW_E_CRYPTO (no randomness) and the errors
 * of aw_store_invite_add. */
aw_result aw_store_invite_issue(aw_store *s, aw_invite *inv, const uint8_t fp[AW_ENROLL_FP_LEN],
                                char text[AW_ENROLL_TOKEN_TEXT]) AW_MUST_CHECK;

/* Reads an invite into *out, PSK unsealed while the invite is unused and unrevoked (all zero
 * after). AW_E_INVITE_UNKNOWN; AW_E_CORRUPT when the PSK does not unseal (another master key,
 * or the row was altered). Wipe out with aw_invite_wipe. */
aw_result aw_store_invite_get(aw_store *s, const uint8_t id[AW_INVITE_ID_LEN],
                              aw_invite *out) AW_MUST_CHECK;

/* Calls fn for every invite, newest first (created_at, then id), PSK not read (all zero).
 * Stops and returns fn's result when it is not AW_OK. fn may call the other functions on s,
 * but not aw_store_invite_list. */
typedef aw_result (*aw_store_invite_fn)(const aw_invite *inv, void *arg);
aw_result aw_store_invite_list(aw_store *s, aw_store_invite_fn fn, void *arg) AW_MUST_CHECK;

/* Revokes an invite at now (> 0) and erases its PSK; idempotent (an earlier revocation time
 * is kept); an expired invite may be revoked. AW_E_INVITE_UNKNOWN; AW_E_INVITE_USED when it
 * was used already (the user exists: revoke the user instead). */
aw_result aw_store_invite_revoke(aw_store *s, const uint8_t id[AW_INVITE_ID_LEN],
                                 int64_t now) AW_MUST_CHECK;

/* Commits an enrollment, in one transaction: the invite must be pending at now
 * (AW_E_INVITE_UNKNOWN, AW_E_INVITE_USED, AW_E_INVITE_REVOKED, AW_E_INVITE_EXPIRED when
 * expires_at <= now, checked in that order), u->name, alg and mode must be the invite's
 * (AW_E_INVALID_ARG); then user u is added as aw_store_user_add would (AW_E_EXISTS when the
 * name is taken: nothing changes, the invite stays usable) and the invite is marked used at
 * now with confirm_hash and done (1..AW_ENROLL_DONE_MAX bytes, for answering a retried
 * CONFIRM) and its PSK erased. Of any number of concurrent redeemers of one invite (threads
 * or processes, each with its own aw_store) exactly one gets AW_OK; the others get
 * AW_E_INVITE_USED. Changes the users generation; durable against a power loss on return.
 *
 * Group commit: concurrent redeems of the threads of one process on one data directory share
 * one transaction (one fsync), each in its own savepoint, so each gets exactly the result
 * above, as if it had been alone; the calling thread waits for the commit that carries its
 * redeem, which another thread may run. When that commit fails, every redeem it carried gets
 * AW_E_STORE and none of them is committed. */
aw_result aw_store_invite_redeem(aw_store *s, const uint8_t id[AW_INVITE_ID_LEN], const aw_user *u,
                                 const uint8_t confirm_hash[AW_SHA256_LEN], const uint8_t *done,
                                 size_t done_len, int64_t now) AW_MUST_CHECK;

/* Runs the backend's integrity check; AW_OK when it passes, AW_E_CORRUPT with the reason in
 * aw_store_last_error otherwise. */
aw_result aw_store_check(aw_store *s) AW_MUST_CHECK;

#endif
