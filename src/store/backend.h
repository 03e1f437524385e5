/* The storage ops table: what a backend (SQLite now, PostgreSQL later) implements. Private to
 * src/store. store.c does everything that does not depend on the backend (argument checks,
 * name validation, sealing with the master key, the master key file), so a backend only
 * moves rows and counters and never sees a key in clear. */
#ifndef AUTHWIRE_STORE_BACKEND_H
#define AUTHWIRE_STORE_BACKEND_H

#include "authwire/crypto.h"
#include "store.h"

/* A user as a backend stores it: alg and mode as integers, the key sealed. */
typedef struct aw_store_row {
    char name[AW_USER_NAME_MAX + 1];
    int64_t alg;
    int64_t mode;
    uint8_t sealed_key[AW_USER_KEY_MAX + AW_AEAD_OVERHEAD];
    size_t sealed_key_len;
    int64_t created_at;
    int64_t revoked_at;
    uint64_t seq_high_water;
} aw_store_row;

typedef aw_result (*aw_store_row_fn)(const aw_store_row *row, void *arg);

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
    /* Calls fn for every row in name order (sealed_key_len 0: keys are not read). */
    aw_result (*user_each)(void *b, aw_store_row_fn fn, void *arg);
    /* Sets revoked_at when it is 0 and changes the users generation, atomically. */
    aw_result (*user_revoke)(void *b, const char *name, int64_t now);
    aw_result (*seq_advance)(void *b, const char *name, uint64_t high_water);
    aw_result (*created_advance)(void *b, int64_t created);
    aw_result (*created_get)(void *b, int64_t *out);
    aw_result (*users_generation)(void *b, uint64_t *out);
    aw_result (*check)(void *b);
} aw_store_ops;

extern const aw_store_ops aw_store_sqlite_ops;

#endif
