/* The storage ops table: what a backend (SQLite now, PostgreSQL later) implements. Private to
 * src/store. store.c does everything that does not depend on the backend (argument checks,
 * name validation, sealing with the master key, the master key file), so a backend only
 * moves rows and counters and never sees a key in clear. */
#ifndef AUTHWIRE_STORE_BACKEND_H
#define AUTHWIRE_STORE_BACKEND_H

#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "store.h"

/* A user as a backend stores it: alg and mode as integers, the keys sealed (the pending
 * next key: sealed_next_key_len 0 when none). */
typedef struct aw_store_row {
    char name[AW_USER_NAME_MAX + 1];
    int64_t alg;
    int64_t mode;
    uint8_t sealed_key[AW_USER_KEY_MAX + AW_AEAD_OVERHEAD];
    size_t sealed_key_len;
    int64_t created_at;
    int64_t revoked_at;
    uint64_t seq_high_water;
    uint8_t sealed_next_key[AW_USER_KEY_MAX + AW_AEAD_OVERHEAD];
    size_t sealed_next_key_len;
    int64_t next_key_at;
    int64_t rotated_at;
} aw_store_row;

typedef aw_result (*aw_store_row_fn)(const aw_store_row *row, void *arg);

/* An invite as a backend stores it: the PSK sealed (sealed_psk_len 0 once used or revoked),
 * confirm_hash_len and done_len 0 until used. */
typedef struct aw_store_invite_row {
    uint8_t id[AW_INVITE_ID_LEN];
    char name[AW_USER_NAME_MAX + 1];
    int64_t alg;
    int64_t mode;
    uint8_t sealed_psk[AW_ENROLL_KEY_LEN + AW_AEAD_OVERHEAD];
    size_t sealed_psk_len;
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at;
    int64_t revoked_at;
    uint8_t confirm_hash[AW_SHA256_LEN];
    size_t confirm_hash_len;
    uint8_t done[AW_ENROLL_DONE_MAX];
    size_t done_len;
} aw_store_invite_row;

typedef aw_result (*aw_store_invite_row_fn)(const aw_store_invite_row *row, void *arg);

/* What marks an invite used: the user to insert with it and what a retry is answered with;
 * result and error are the backend's answer for this one redeem (error: the message for
 * aw_store_last_error when result is AW_E_STORE or AW_E_CORRUPT, "" otherwise). */
typedef struct aw_store_redeem {
    const uint8_t *id;
    const aw_store_row *user;
    const uint8_t *confirm_hash; /* AW_SHA256_LEN bytes */
    const uint8_t *done;
    size_t done_len;
    int64_t now;
    aw_result result;
    char error[256];
} aw_store_redeem;

/* Every function returns the codes store.h documents; failures of the backend itself are
 * AW_E_STORE with a message for last_error. Names reaching the backend are valid. */
typedef struct aw_store_ops {
    const char *name;
    /* Creates the database in data_dir; AW_E_EXISTS when it exists already. */
    aw_result (*create)(const char *data_dir);
    /* Opens the database; AW_E_NOT_FOUND when it does not exist. */
    aw_result (*open)(const char *data_dir, void **out);
    void (*close)(void *b);
    const char *(*last_error)(const void *b);
    /* Inserts the row and changes the users generation, atomically; AW_E_EXISTS. */
    aw_result (*user_insert)(void *b, const aw_store_row *row);
    aw_result (*user_select)(void *b, const char *name, aw_store_row *out);
    /* Calls fn for every row in name order (sealed_key_len and sealed_next_key_len 0: keys
     * are not read). */
    aw_result (*user_each)(void *b, aw_store_row_fn fn, void *arg);
    /* Sets revoked_at when it is 0 and changes the users generation, atomically. */
    aw_result (*user_revoke)(void *b, const char *name, int64_t now);
    /* Stores the sealed pending key when the user is not revoked, and changes the users
     * generation, atomically; AW_E_NOT_FOUND, AW_E_KEY_REVOKED. */
    aw_result (*user_set_next_key)(void *b, const char *name, const uint8_t *sealed,
                                   size_t sealed_len, int64_t now);
    /* Moves the sealed pending key over the key, clears it, sets rotated_at and changes the
     * users generation, atomically; AW_E_NOT_FOUND (no user, or no pending key),
     * AW_E_KEY_REVOKED. */
    aw_result (*user_promote_next_key)(void *b, const char *name, int64_t now);
    aw_result (*seq_advance)(void *b, const char *name, uint64_t high_water);
    /* Inserts the invite after checking, in the same transaction, that no user has its name
     * and no other invite for it is pending at row->created_at; AW_E_EXISTS. */
    aw_result (*invite_insert)(void *b, const aw_store_invite_row *row);
    aw_result (*invite_select)(void *b, const uint8_t *id, aw_store_invite_row *out);
    /* Calls fn for every invite, newest first (sealed_psk_len 0: PSKs are not read). */
    aw_result (*invite_each)(void *b, aw_store_invite_row_fn fn, void *arg);
    /* Sets revoked_at and erases the sealed PSK of an unused, unrevoked invite;
     * AW_E_INVITE_UNKNOWN, AW_E_INVITE_USED; AW_OK when revoked already. */
    aw_result (*invite_revoke)(void *b, const uint8_t *id, int64_t now);
    /* Redeems n invites (n >= 1; store.c's group commit gathers them from the threads of
     * one process) in ONE durable transaction, each item as aw_store_invite_redeem
     * documents it: in its own savepoint, it marks the invite used by a conditional update
     * (pending at now, name, alg and mode as the user's) that exactly one caller can win
     * and inserts the user; an item that fails is rolled back alone and gets its own result
     * (the codes of aw_store_invite_redeem) while the others go on. The users generation
     * changes when one item succeeded. Returns AW_OK when the transaction committed; when
     * it did not (the write lock not had, the COMMIT failed), nothing is committed, every
     * item's result is AW_E_STORE and that is returned. Items later in the array see the
     * effects of earlier ones (two redeems of one invite: the first wins). */
    aw_result (*invite_redeem_batch)(void *b, aw_store_redeem *const *items, size_t n);
    aw_result (*created_advance)(void *b, int64_t created);
    aw_result (*created_get)(void *b, int64_t *out);
    aw_result (*users_generation)(void *b, uint64_t *out);
    aw_result (*check)(void *b);
} aw_store_ops;

extern const aw_store_ops aw_store_sqlite_ops;

#endif
