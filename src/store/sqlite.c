/* The SQLite backend (the embedded default): DIR/authwire.db in WAL mode.
 *
 * Durability: in WAL mode a commit is in the WAL file when sqlite3_step returns, so it
 * survives the death of the process (kill -9) with synchronous=NORMAL; only a power loss
 * can take back the last commits, which is enough for the hot writes (sequence and created
 * high-water marks). Every admin write (adding and revoking users, rotating their keys,
 * adding and revoking invites, the enrollment commit, a schema upgrade) switches to
 * synchronous=FULL for its transaction, so those also survive a power loss.
 *
 * Concurrency: one connection per aw_store, several processes on one database. WAL lets
 * readers and one writer run together; writers wait up to BUSY_TIMEOUT_MS for each other,
 * and the read-modify-write transactions start with BEGIN IMMEDIATE so that they take the
 * write lock first instead of failing with SQLITE_BUSY when upgrading a read. Redeeming an
 * invite is decided by one conditional UPDATE (still pending, changes() == 1), so of any
 * number of connections racing for one invite exactly one commits its user. Redeems come
 * in batches (store.c's group commit): one transaction, one savepoint per redeem, one
 * fsync for all of them.
 *
 * Cache invalidation: PRAGMA data_version changes when another connection commits; only
 * then is the users generation (a counter row bumped by add, revoke, rotation and the
 * enrollment commit, not by the hot writes) read again.
 *
 * Schema: PRAGMA user_version; an older database is upgraded at open (see migrations). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backend.h"
#include "datadir.h"
#include "store_testing.h"

#define BUSY_TIMEOUT_MS   5000
#define META_GENERATION   "users_generation"
#define META_CREATED_HIGH "created_high_water"

/* Every statement the backend runs, prepared once per connection. */
typedef enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_ROLLBACK_TO,
    ST_RELEASE,
    ST_USER_INSERT,
    ST_USER_SELECT,
    ST_USER_LIST,
    ST_USER_STATE,
    ST_USER_REVOKE,
    ST_USER_SET_NEXT,
    ST_USER_PROMOTE,
    ST_SEQ_ADVANCE,
    ST_INVITE_INSERT,
    ST_INVITE_PENDING_FOR,
    ST_INVITE_SELECT,
    ST_INVITE_LIST,
    ST_INVITE_REVOKE,
    ST_INVITE_USE,
    ST_GENERATION_BUMP,
    ST_META_GET,
    ST_CREATED_ADVANCE,
    ST_DATA_VERSION,
    ST_COUNT,
} stmt_id;

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* One redeem of a batch (see sq_invite_redeem_batch). */
    [ST_SAVEPOINT] = "SAVEPOINT redeem",
    [ST_ROLLBACK_TO] = "ROLLBACK TO redeem",
    [ST_RELEASE] = "RELEASE redeem",
    [ST_USER_INSERT] = "INSERT INTO users (name, alg, mode, sealed_key, created_at, revoked_at, "
                       "seq_high_water) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_USER_SELECT] = "SELECT name, alg, mode, sealed_key, created_at, revoked_at, "
                       "seq_high_water, sealed_next_key, next_key_at, rotated_at FROM users "
                       "WHERE name = ?1",
    [ST_USER_LIST] = "SELECT name, alg, mode, NULL, created_at, revoked_at, seq_high_water, "
                     "NULL, next_key_at, rotated_at FROM users ORDER BY name",
    [ST_USER_STATE] = "SELECT revoked_at FROM users WHERE name = ?1",
    [ST_USER_REVOKE] = "UPDATE users SET revoked_at = ?2 WHERE name = ?1 AND revoked_at = 0",
    [ST_USER_SET_NEXT] = "UPDATE users SET sealed_next_key = ?2, next_key_at = ?3 WHERE "
                         "name = ?1 AND revoked_at = 0",
    [ST_USER_PROMOTE] = "UPDATE users SET sealed_key = sealed_next_key, sealed_next_key = x'', "
                        "next_key_at = 0, rotated_at = ?2 WHERE name = ?1 AND revoked_at = 0 "
                        "AND length(sealed_next_key) > 0",
    [ST_SEQ_ADVANCE] = "UPDATE users SET seq_high_water = ?2 WHERE name = ?1 AND "
                       "seq_high_water < ?2",
    [ST_GENERATION_BUMP] = "UPDATE meta SET value = value + 1 WHERE key = '" META_GENERATION "'",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_CREATED_ADVANCE] =
        "UPDATE meta SET value = ?1 WHERE key = '" META_CREATED_HIGH "' AND value < ?1",
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_INVITE_INSERT] = "INSERT INTO invites (id, name, alg, mode, sealed_psk, created_at, "
                         "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_INVITE_PENDING_FOR] = "SELECT 1 FROM invites WHERE name = ?1 AND used_at = 0 AND "
                              "revoked_at = 0 AND expires_at > ?2",
    [ST_INVITE_SELECT] = "SELECT id, name, alg, mode, sealed_psk, created_at, expires_at, "
                         "used_at, revoked_at, confirm_hash, done FROM invites WHERE id = ?1",
    [ST_INVITE_LIST] = "SELECT id, name, alg, mode, NULL, created_at, expires_at, used_at, "
                       "revoked_at, confirm_hash, done FROM invites "
                       "ORDER BY created_at DESC, id",
    [ST_INVITE_REVOKE] = "UPDATE invites SET revoked_at = ?2, sealed_psk = x'' WHERE id = ?1 "
                         "AND used_at = 0 AND revoked_at = 0",
    /* The one update that decides which of concurrent redeemers wins. */
    [ST_INVITE_USE] = "UPDATE invites SET used_at = ?2, sealed_psk = x'', confirm_hash = ?3, "
                      "done = ?4 WHERE id = ?1 AND used_at = 0 AND revoked_at = 0 AND "
                      "expires_at > ?2 AND name = ?5 AND alg = ?6 AND mode = ?7",
};

static const char schema_sql[] =
    "CREATE TABLE users ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " alg INTEGER NOT NULL,"
    " mode INTEGER NOT NULL,"
    " sealed_key BLOB NOT NULL," /* AES-256-GCM nonce | ciphertext | tag, see store.c */
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL DEFAULT 0,"
    " seq_high_water INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
    "INSERT INTO meta (key, value) VALUES ('" META_GENERATION "', 1), ('" META_CREATED_HIGH
    "', 0);";

/* migrations[i] upgrades the schema from version i + 1 to i + 2. A new database gets the
 * version-1 schema above and then every step, so new and upgraded databases are the same. */
static const char *const migrations[] = {
    /* 1 -> 2: rotation (a pending second key per user) and enrollment invites. */
    "ALTER TABLE users ADD COLUMN sealed_next_key BLOB NOT NULL DEFAULT x'';" /* sealed too */
    "ALTER TABLE users ADD COLUMN next_key_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN rotated_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE invites ("
    " id BLOB PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
    " name TEXT NOT NULL,"
    " alg INTEGER NOT NULL,"
    " mode INTEGER NOT NULL,"
    " sealed_psk BLOB NOT NULL," /* empty once used or revoked */
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " used_at INTEGER NOT NULL DEFAULT 0,"
    " revoked_at INTEGER NOT NULL DEFAULT 0,"
    " confirm_hash BLOB NOT NULL DEFAULT x''," /* SHA-256 of the CONFIRM that used it */
    " done BLOB NOT NULL DEFAULT x''"          /* the DONE frame answered then */
    ");"
    "CREATE INDEX invites_by_name ON invites (name);",
};

#define SCHEMA_VERSION ((int)(1 + sizeof(migrations) / sizeof(migrations[0])))

typedef struct sq_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    char error[256];
    bool have_generation;
    int64_t data_version;
    uint64_t generation;
} sq_store;

static aw_result sq_fail(sq_store *s, aw_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static aw_result sq_fail(sq_store *s, aw_result r, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(s->error) && s->db != NULL) {
        snprintf(s->error + n, sizeof(s->error) - (size_t)n, ": %s", sqlite3_errmsg(s->db));
    }
    return r;
}

static void sq_free(sq_store *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(s->stmt[i]);
    }
    sqlite3_close(s->db);
    free(s);
}

/* Opens a connection to an existing file with the per-connection settings. */
static aw_result sq_connect(const char *path, sq_store **out)
{
    sq_store *s = calloc(1, sizeof(*s));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    *out = NULL;
    if (s == NULL) {
        return AW_E_INTERNAL;
    }
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        sq_free(s);
        return AW_E_STORE;
    }
    *out = s;
    return AW_OK;
}

/* PRAGMA user_version: the schema version (0 for a file without schema), -1 on error. */
static int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return version;
}

/* Runs the migrations from version (>= 1) to SCHEMA_VERSION and records the new version,
 * inside the caller's transaction. SQLITE_OK or the failing step's code. */
static int migrate(sqlite3 *db, int version)
{
    char sql[64];
    int rc = SQLITE_OK;
    for (int v = version; v < SCHEMA_VERSION && rc == SQLITE_OK; v++) {
        rc = sqlite3_exec(db, migrations[v - 1], NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    return rc;
}

/* Brings an older database to SCHEMA_VERSION in one transaction (all steps or none), durable
 * on return. Another process may be upgrading the same file: the version is read again under
 * the write lock, and a database already upgraded is left alone. */
static aw_result upgrade(sq_store *s)
{
    aw_result r = AW_OK;
    int version;

    if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        return AW_E_STORE;
    }
    version = schema_version(s->db);
    if (version < 1 || version > SCHEMA_VERSION ||
        (version < SCHEMA_VERSION && migrate(s->db, version) != SQLITE_OK) ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        r = AW_E_STORE;
    }
    if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        r = AW_E_STORE;
    }
    return r;
}

static aw_result sq_create(const char *data_dir)
{
    char path[4096];
    sq_store *s = NULL;
    aw_result r = AW_E_STORE;
    int fd;

    AW_GUARD(aw_data_path(data_dir, AW_DATA_DB, path, sizeof(path)));
    /* The file is created here, 0600 and exclusively, so SQLite never creates it with the
     * umask's mode; SQLite gives the -wal and -shm files the database file's mode. */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? AW_E_EXISTS : AW_E_IO;
    }
    close(fd);
    if (sq_connect(path, &s) != AW_OK) {
        goto out;
    }
    /* WAL is a property of the file, kept across connections. */
    if (sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
        migrate(s->db, 1) != SQLITE_OK ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        goto out;
    }
    r = AW_OK;

out:
    sq_free(s);
    if (r != AW_OK) {
        unlink(path);
    }
    return r;
}

static aw_result sq_open(const char *data_dir, void **out)
{
    char path[4096];
    sq_store *s = NULL;
    int version;
    aw_result r;

    *out = NULL;
    AW_GUARD(aw_data_path(data_dir, AW_DATA_DB, path, sizeof(path)));
    if (access(path, F_OK) != 0) {
        return errno == ENOENT ? AW_E_NOT_FOUND : AW_E_IO;
    }
    AW_GUARD(sq_connect(path, &s));
    version = schema_version(s->db);
    /* Version 0: the file exists but holds no schema (a create that died half-way). A
     * later version: made by a newer authwire, whose rows we must not misread. An earlier
     * one is upgraded in place. */
    if (version == 0) {
        r = AW_E_NOT_FOUND;
        goto fail;
    }
    if (version < 0 || version > SCHEMA_VERSION) {
        r = AW_E_STORE;
        goto fail;
    }
    if (version < SCHEMA_VERSION && (r = upgrade(s)) != AW_OK) {
        goto fail;
    }
    for (size_t i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            r = AW_E_STORE;
            goto fail;
        }
    }
    *out = s;
    return AW_OK;

fail:
    sq_free(s);
    return r;
}

static void sq_close(void *b)
{
    sq_free(b);
}

static const char *sq_last_error(const void *b)
{
    const sq_store *s = b;
    return s != NULL ? s->error : "";
}

/* A statement ready for binding, and its reset when done (reset also releases the read
 * transaction an unfinished SELECT holds). */
static sqlite3_stmt *stmt_get(sq_store *s, stmt_id id)
{
    return s->stmt[id];
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static int bind_name(sqlite3_stmt *st, int col, const char *name)
{
    return sqlite3_bind_text(st, col, name, -1, SQLITE_STATIC);
}

/* Runs a statement that returns no rows; SQLITE_DONE or the error code. */
static int stmt_run(sq_store *s, stmt_id id)
{
    sqlite3_stmt *st = stmt_get(s, id);
    int rc = sqlite3_step(st);
    stmt_done(st);
    return rc;
}

/* The users generation is read again only after data_version says another connection
 * committed, or after this one changed users. */
static aw_result sq_users_generation(void *b, uint64_t *out)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_DATA_VERSION);
    int64_t version;

    s->error[0] = '\0';
    if (sqlite3_step(st) != SQLITE_ROW) {
        stmt_done(st);
        return sq_fail(s, AW_E_STORE, "reading data_version");
    }
    version = sqlite3_column_int64(st, 0);
    stmt_done(st);
    if (!s->have_generation || version != s->data_version) {
        st = stmt_get(s, ST_META_GET);
        bind_name(st, 1, META_GENERATION);
        if (sqlite3_step(st) != SQLITE_ROW) {
            stmt_done(st);
            return sq_fail(s, AW_E_STORE, "reading the users generation");
        }
        s->generation = (uint64_t)sqlite3_column_int64(st, 0);
        stmt_done(st);
        s->data_version = version;
        s->have_generation = true;
    }
    *out = s->generation;
    return AW_OK;
}

/* Runs an admin transaction with synchronous=FULL: body runs between BEGIN IMMEDIATE and
 * COMMIT and returns AW_OK to commit (changed: whether users changed, which bumps the
 * generation in the same transaction). */
typedef aw_result (*txn_body)(sq_store *s, const void *arg, bool *changed);

static aw_result sq_admin_txn(sq_store *s, txn_body body, const void *arg)
{
    aw_result r;
    bool changed = false;

    s->error[0] = '\0';
    /* A pragma takes effect when prepared, so it cannot be a cached statement. */
    if (sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        return sq_fail(s, AW_E_STORE, "setting synchronous");
    }
    if (stmt_run(s, ST_BEGIN) != SQLITE_DONE) {
        r = sq_fail(s, AW_E_STORE, "starting a transaction");
        goto out;
    }
    r = body(s, arg, &changed);
    if (r == AW_OK && changed && stmt_run(s, ST_GENERATION_BUMP) != SQLITE_DONE) {
        r = sq_fail(s, AW_E_STORE, "bumping the users generation");
    }
    if (r == AW_OK && stmt_run(s, ST_COMMIT) != SQLITE_DONE) {
        r = sq_fail(s, AW_E_STORE, "committing");
    }
    if (r != AW_OK) {
        stmt_run(s, ST_ROLLBACK);
    }
    /* Our own commits do not change data_version for us: read the generation again. */
    s->have_generation = false;

out:
    if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK &&
        r == AW_OK) {
        r = sq_fail(s, AW_E_STORE, "setting synchronous");
    }
    return r;
}

static aw_result insert_body(sq_store *s, const void *arg, bool *changed)
{
    const aw_store_row *row = arg;
    sqlite3_stmt *st = stmt_get(s, ST_USER_INSERT);
    int rc;

    bind_name(st, 1, row->name);
    sqlite3_bind_int64(st, 2, row->alg);
    sqlite3_bind_int64(st, 3, row->mode);
    sqlite3_bind_blob(st, 4, row->sealed_key, (int)row->sealed_key_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, row->created_at);
    sqlite3_bind_int64(st, 6, row->revoked_at);
    sqlite3_bind_int64(st, 7, (int64_t)row->seq_high_water);
    rc = sqlite3_step(st);
    stmt_done(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AW_E_EXISTS;
    }
    if (rc != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "adding user '%s'", row->name);
    }
    *changed = true;
    return AW_OK;
}

static aw_result sq_user_insert(void *b, const aw_store_row *row)
{
    return sq_admin_txn(b, insert_body, row);
}

/* AW_OK when the user exists (*revoked_at gets its revocation time, when not NULL),
 * AW_E_NOT_FOUND when not. */
static aw_result user_state(sq_store *s, const char *name, int64_t *revoked_at)
{
    sqlite3_stmt *st = stmt_get(s, ST_USER_STATE);
    int rc;
    bind_name(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && revoked_at != NULL) {
        *revoked_at = sqlite3_column_int64(st, 0);
    }
    stmt_done(st);
    if (rc == SQLITE_ROW) {
        return AW_OK;
    }
    return rc == SQLITE_DONE ? AW_E_NOT_FOUND : sq_fail(s, AW_E_STORE, "looking up '%s'", name);
}

static aw_result user_exists(sq_store *s, const char *name)
{
    return user_state(s, name, NULL);
}

/* Copies blob column col of st into out (cap bytes); false when it does not fit. */
static bool column_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t cap, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n > cap) {
        return false;
    }
    if (n > 0) {
        memcpy(out, p, n);
    }
    *len = n;
    return true;
}

/* Copies the current row of st (columns as in ST_USER_SELECT) into out. */
static aw_result read_row(sq_store *s, sqlite3_stmt *st, aw_store_row *out)
{
    const unsigned char *name = sqlite3_column_text(st, 0);
    size_t name_len = (size_t)sqlite3_column_bytes(st, 0);
    int64_t seq = sqlite3_column_int64(st, 6);

    memset(out, 0, sizeof(*out));
    if (name == NULL || name_len > AW_USER_NAME_MAX || seq < 0 ||
        !column_blob(st, 3, out->sealed_key, sizeof(out->sealed_key), &out->sealed_key_len) ||
        !column_blob(st, 7, out->sealed_next_key, sizeof(out->sealed_next_key),
                     &out->sealed_next_key_len)) {
        snprintf(s->error, sizeof(s->error), "a user row has out-of-range values");
        return AW_E_CORRUPT;
    }
    memcpy(out->name, name, name_len);
    out->alg = sqlite3_column_int64(st, 1);
    out->mode = sqlite3_column_int64(st, 2);
    out->created_at = sqlite3_column_int64(st, 4);
    out->revoked_at = sqlite3_column_int64(st, 5);
    out->seq_high_water = (uint64_t)seq;
    out->next_key_at = sqlite3_column_int64(st, 8);
    out->rotated_at = sqlite3_column_int64(st, 9);
    return AW_OK;
}

static aw_result sq_user_select(void *b, const char *name, aw_store_row *out)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_USER_SELECT);
    aw_result r;
    int rc;

    s->error[0] = '\0';
    bind_name(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r = read_row(s, st, out);
    } else if (rc == SQLITE_DONE) {
        r = AW_E_NOT_FOUND;
    } else {
        r = sq_fail(s, AW_E_STORE, "reading user '%s'", name);
    }
    stmt_done(st);
    return r;
}

static aw_result sq_user_each(void *b, aw_store_row_fn fn, void *arg)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_USER_LIST);
    aw_store_row row;
    aw_result r = AW_OK;
    int rc;

    s->error[0] = '\0';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = read_row(s, st, &row);
        if (r == AW_OK) {
            r = fn(&row, arg);
        }
        if (r != AW_OK) {
            break;
        }
    }
    if (r == AW_OK && rc != SQLITE_DONE) {
        r = sq_fail(s, AW_E_STORE, "listing users");
    }
    stmt_done(st);
    return r;
}

typedef struct user_time_arg {
    const char *name;
    int64_t now;
} user_time_arg;

static aw_result revoke_body(sq_store *s, const void *arg, bool *changed)
{
    const user_time_arg *a = arg;
    sqlite3_stmt *st = stmt_get(s, ST_USER_REVOKE);
    int rc;

    bind_name(st, 1, a->name);
    sqlite3_bind_int64(st, 2, a->now);
    rc = stmt_run(s, ST_USER_REVOKE);
    if (rc != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "revoking '%s'", a->name);
    }
    if (sqlite3_changes(s->db) > 0) {
        *changed = true;
        return AW_OK;
    }
    /* Nothing changed: no such user, or revoked already (the earlier time stays). */
    return user_exists(s, a->name);
}

static aw_result sq_user_revoke(void *b, const char *name, int64_t now)
{
    user_time_arg a = {name, now};
    return sq_admin_txn(b, revoke_body, &a);
}

/* Why an update of a user that must not be revoked changed nothing: AW_E_NOT_FOUND for no
 * such user, AW_E_KEY_REVOKED for a revoked one, otherwise other. */
static aw_result user_refusal(sq_store *s, const char *name, aw_result other)
{
    int64_t revoked_at = 0;
    AW_GUARD(user_state(s, name, &revoked_at));
    return revoked_at != 0 ? AW_E_KEY_REVOKED : other;
}

typedef struct next_key_arg {
    const char *name;
    const uint8_t *sealed;
    size_t sealed_len;
    int64_t now;
} next_key_arg;

static aw_result set_next_body(sq_store *s, const void *arg, bool *changed)
{
    const next_key_arg *a = arg;
    sqlite3_stmt *st = stmt_get(s, ST_USER_SET_NEXT);

    bind_name(st, 1, a->name);
    sqlite3_bind_blob(st, 2, a->sealed, (int)a->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, a->now);
    if (stmt_run(s, ST_USER_SET_NEXT) != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "storing the next key of '%s'", a->name);
    }
    if (sqlite3_changes(s->db) == 0) {
        return user_refusal(s, a->name, AW_E_STORE);
    }
    *changed = true;
    return AW_OK;
}

static aw_result sq_user_set_next_key(void *b, const char *name, const uint8_t *sealed,
                                      size_t sealed_len, int64_t now)
{
    next_key_arg a = {name, sealed, sealed_len, now};
    return sq_admin_txn(b, set_next_body, &a);
}

static aw_result promote_body(sq_store *s, const void *arg, bool *changed)
{
    const user_time_arg *a = arg;
    sqlite3_stmt *st = stmt_get(s, ST_USER_PROMOTE);

    bind_name(st, 1, a->name);
    sqlite3_bind_int64(st, 2, a->now);
    if (stmt_run(s, ST_USER_PROMOTE) != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "promoting the next key of '%s'", a->name);
    }
    if (sqlite3_changes(s->db) == 0) {
        /* No user, a revoked one, or no pending key (promoted already). */
        return user_refusal(s, a->name, AW_E_NOT_FOUND);
    }
    *changed = true;
    return AW_OK;
}

static aw_result sq_user_promote_next_key(void *b, const char *name, int64_t now)
{
    user_time_arg a = {name, now};
    return sq_admin_txn(b, promote_body, &a);
}

/* ---- invites ---- */

static int bind_id(sqlite3_stmt *st, int col, const uint8_t *id)
{
    return sqlite3_bind_blob(st, col, id, AW_INVITE_ID_LEN, SQLITE_STATIC);
}

/* Copies the current row of st (columns as in ST_INVITE_SELECT) into out. */
static aw_result read_invite(sq_store *s, sqlite3_stmt *st, aw_store_invite_row *out)
{
    const unsigned char *name = sqlite3_column_text(st, 1);
    size_t name_len = (size_t)sqlite3_column_bytes(st, 1);
    size_t id_len = 0;

    memset(out, 0, sizeof(*out));
    if (!column_blob(st, 0, out->id, sizeof(out->id), &id_len) || id_len != AW_INVITE_ID_LEN ||
        name == NULL || name_len > AW_USER_NAME_MAX ||
        !column_blob(st, 4, out->sealed_psk, sizeof(out->sealed_psk), &out->sealed_psk_len) ||
        !column_blob(st, 9, out->confirm_hash, sizeof(out->confirm_hash), &out->confirm_hash_len) ||
        !column_blob(st, 10, out->done, sizeof(out->done), &out->done_len)) {
        snprintf(s->error, sizeof(s->error), "an invite row has out-of-range values");
        return AW_E_CORRUPT;
    }
    memcpy(out->name, name, name_len);
    out->alg = sqlite3_column_int64(st, 2);
    out->mode = sqlite3_column_int64(st, 3);
    out->created_at = sqlite3_column_int64(st, 5);
    out->expires_at = sqlite3_column_int64(st, 6);
    out->used_at = sqlite3_column_int64(st, 7);
    out->revoked_at = sqlite3_column_int64(st, 8);
    return AW_OK;
}

static aw_result sq_invite_select(void *b, const uint8_t *id, aw_store_invite_row *out)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_INVITE_SELECT);
    aw_result r;
    int rc;

    s->error[0] = '\0';
    bind_id(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r = read_invite(s, st, out);
    } else if (rc == SQLITE_DONE) {
        r = AW_E_INVITE_UNKNOWN;
    } else {
        r = sq_fail(s, AW_E_STORE, "reading an invite");
    }
    stmt_done(st);
    return r;
}

/* AW_E_EXISTS when a user is named name, or an invite for name is pending at now. */
static aw_result name_free(sq_store *s, const char *name, int64_t now)
{
    aw_result r = user_exists(s, name);
    if (r != AW_E_NOT_FOUND) {
        return r == AW_OK ? AW_E_EXISTS : r;
    }
    sqlite3_stmt *st = stmt_get(s, ST_INVITE_PENDING_FOR);
    bind_name(st, 1, name);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    stmt_done(st);
    if (rc == SQLITE_ROW) {
        return AW_E_EXISTS;
    }
    return rc == SQLITE_DONE ? AW_OK : sq_fail(s, AW_E_STORE, "looking up invites for '%s'", name);
}

static aw_result invite_insert_body(sq_store *s, const void *arg, bool *changed)
{
    const aw_store_invite_row *row = arg;
    sqlite3_stmt *st = stmt_get(s, ST_INVITE_INSERT);
    int rc;

    (void)changed; /* invites are not users: the generation stays */
    AW_GUARD(name_free(s, row->name, row->created_at));
    bind_id(st, 1, row->id);
    bind_name(st, 2, row->name);
    sqlite3_bind_int64(st, 3, row->alg);
    sqlite3_bind_int64(st, 4, row->mode);
    sqlite3_bind_blob(st, 5, row->sealed_psk, (int)row->sealed_psk_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, row->created_at);
    sqlite3_bind_int64(st, 7, row->expires_at);
    rc = sqlite3_step(st);
    stmt_done(st);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AW_E_EXISTS;
    }
    return rc == SQLITE_DONE ? AW_OK
                             : sq_fail(s, AW_E_STORE, "adding an invite for '%s'", row->name);
}

static aw_result sq_invite_insert(void *b, const aw_store_invite_row *row)
{
    return sq_admin_txn(b, invite_insert_body, row);
}

static aw_result sq_invite_each(void *b, aw_store_invite_row_fn fn, void *arg)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_INVITE_LIST);
    aw_store_invite_row row;
    aw_result r = AW_OK;
    int rc;

    s->error[0] = '\0';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = read_invite(s, st, &row);
        if (r == AW_OK) {
            r = fn(&row, arg);
        }
        if (r != AW_OK) {
            break;
        }
    }
    if (r == AW_OK && rc != SQLITE_DONE) {
        r = sq_fail(s, AW_E_STORE, "listing invites");
    }
    stmt_done(st);
    return r;
}

typedef struct invite_revoke_arg {
    const uint8_t *id;
    int64_t now;
} invite_revoke_arg;

static aw_result invite_revoke_body(sq_store *s, const void *arg, bool *changed)
{
    const invite_revoke_arg *a = arg;
    sqlite3_stmt *st = stmt_get(s, ST_INVITE_REVOKE);
    aw_store_invite_row row;

    (void)changed;
    bind_id(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->now);
    if (stmt_run(s, ST_INVITE_REVOKE) != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "revoking an invite");
    }
    if (sqlite3_changes(s->db) > 0) {
        return AW_OK;
    }
    /* Nothing changed: no such invite, a used one, or revoked already (the time stays). */
    AW_GUARD(sq_invite_select(s, a->id, &row));
    return row.used_at != 0 ? AW_E_INVITE_USED : AW_OK;
}

static aw_result sq_invite_revoke(void *b, const uint8_t *id, int64_t now)
{
    invite_revoke_arg a = {id, now};
    return sq_admin_txn(b, invite_revoke_body, &a);
}

static aw_result redeem_body(sq_store *s, const void *arg, bool *changed)
{
    const aw_store_redeem *a = arg;
    sqlite3_stmt *st = stmt_get(s, ST_INVITE_USE);
    aw_store_invite_row row;

    bind_id(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->now);
    sqlite3_bind_blob(st, 3, a->confirm_hash, AW_SHA256_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, a->done, (int)a->done_len, SQLITE_STATIC);
    bind_name(st, 5, a->user->name);
    sqlite3_bind_int64(st, 6, a->user->alg);
    sqlite3_bind_int64(st, 7, a->user->mode);
    if (stmt_run(s, ST_INVITE_USE) != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "using an invite");
    }
    if (sqlite3_changes(s->db) != 1) {
        /* Lost, or never pending: say why. */
        AW_GUARD(sq_invite_select(s, a->id, &row));
        if (row.used_at != 0) {
            return AW_E_INVITE_USED;
        }
        if (row.revoked_at != 0) {
            return AW_E_INVITE_REVOKED;
        }
        return row.expires_at <= a->now ? AW_E_INVITE_EXPIRED : AW_E_INVALID_ARG;
    }
    /* The user in the same transaction: a taken name rolls the invite back too. */
    return insert_body(s, a->user, changed);
}

typedef struct redeem_batch {
    aw_store_redeem *const *items;
    size_t n;
} redeem_batch;

/* Every redeem of the batch in its own savepoint: one that fails is rolled back alone and
 * keeps its result. A failure that leaves the transaction itself in doubt (a savepoint
 * statement failing, or SQLite having rolled the whole transaction back, as it does on an
 * I/O error or a full disk) ends the batch: nothing of it commits. */
static aw_result redeem_batch_body(sq_store *s, const void *arg, bool *changed)
{
    const redeem_batch *a = arg;

    for (size_t i = 0; i < a->n; i++) {
        aw_store_redeem *it = a->items[i];
        bool item_changed = false;
        if (stmt_run(s, ST_SAVEPOINT) != SQLITE_DONE) {
            return sq_fail(s, AW_E_STORE, "starting a savepoint");
        }
        s->error[0] = '\0';
        it->result = redeem_body(s, it, &item_changed);
        snprintf(it->error, sizeof(it->error), "%s", s->error);
        if (it->result == AW_OK) {
            *changed |= item_changed;
        } else if (stmt_run(s, ST_ROLLBACK_TO) != SQLITE_DONE || sqlite3_get_autocommit(s->db)) {
            return sq_fail(s, AW_E_STORE, "rolling back one redeem of a batch");
        }
        if (stmt_run(s, ST_RELEASE) != SQLITE_DONE) {
            return sq_fail(s, AW_E_STORE, "releasing a savepoint");
        }
    }
    return AW_OK;
}

/* Tests only (store_testing.h): the COMMIT of the next batch fails, by a commit hook. */
static bool fail_next_commit;

void aw_store_test_fail_next_commit(void)
{
    __atomic_store_n(&fail_next_commit, true, __ATOMIC_RELEASE);
}

static int refuse_commit(void *arg)
{
    (void)arg;
    return 1; /* SQLite turns the COMMIT into a ROLLBACK and fails it */
}

static aw_result sq_invite_redeem_batch(void *b, aw_store_redeem *const *items, size_t n)
{
    sq_store *s = b;
    redeem_batch a = {items, n};
    bool refuse = __atomic_exchange_n(&fail_next_commit, false, __ATOMIC_ACQ_REL);

    if (refuse) {
        sqlite3_commit_hook(s->db, refuse_commit, NULL);
    }
    aw_result r = sq_admin_txn(s, redeem_batch_body, &a);
    if (refuse) {
        sqlite3_commit_hook(s->db, NULL, NULL);
    }
    if (r != AW_OK) {
        /* Nothing of the batch committed, whatever each item had found. */
        for (size_t i = 0; i < n; i++) {
            items[i]->result = AW_E_STORE;
            snprintf(items[i]->error, sizeof(items[i]->error), "%s", s->error);
        }
    }
    return r;
}

static aw_result sq_seq_advance(void *b, const char *name, uint64_t high_water)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_SEQ_ADVANCE);

    s->error[0] = '\0';
    bind_name(st, 1, name);
    sqlite3_bind_int64(st, 2, (int64_t)high_water);
    if (stmt_run(s, ST_SEQ_ADVANCE) != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "advancing the sequence of '%s'", name);
    }
    /* No row changed: the mark was already as high, or there is no such user. */
    return sqlite3_changes(s->db) > 0 ? AW_OK : user_exists(s, name);
}

static aw_result sq_created_advance(void *b, int64_t created)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_CREATED_ADVANCE);

    s->error[0] = '\0';
    sqlite3_bind_int64(st, 1, created);
    if (stmt_run(s, ST_CREATED_ADVANCE) != SQLITE_DONE) {
        return sq_fail(s, AW_E_STORE, "advancing the created high-water mark");
    }
    return AW_OK;
}

static aw_result sq_created_get(void *b, int64_t *out)
{
    sq_store *s = b;
    sqlite3_stmt *st = stmt_get(s, ST_META_GET);
    aw_result r = AW_OK;

    s->error[0] = '\0';
    bind_name(st, 1, META_CREATED_HIGH);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else {
        r = sq_fail(s, AW_E_STORE, "reading the created high-water mark");
    }
    stmt_done(st);
    return r;
}

static aw_result sq_check(void *b)
{
    sq_store *s = b;
    sqlite3_stmt *st = NULL;
    aw_result r = AW_E_STORE;
    int rc;

    s->error[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        return sq_fail(s, AW_E_STORE, "preparing the integrity check");
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *first = (const char *)sqlite3_column_text(st, 0);
        if (first != NULL && strcmp(first, "ok") == 0) {
            r = AW_OK;
        } else {
            /* The first problem found; the pragma reports up to 100. */
            snprintf(s->error, sizeof(s->error), "integrity check: %s",
                     first != NULL ? first : "(no message)");
            r = AW_E_CORRUPT;
        }
    } else {
        /* Extended codes: the primary code is the low byte. */
        r = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB ? AW_E_CORRUPT
                                                                          : AW_E_STORE;
        sq_fail(s, r, "integrity check");
    }
    sqlite3_finalize(st);
    return r;
}

const aw_store_ops aw_store_sqlite_ops = {
    .name = "sqlite",
    .create = sq_create,
    .open = sq_open,
    .close = sq_close,
    .last_error = sq_last_error,
    .user_insert = sq_user_insert,
    .user_select = sq_user_select,
    .user_each = sq_user_each,
    .user_revoke = sq_user_revoke,
    .user_set_next_key = sq_user_set_next_key,
    .user_promote_next_key = sq_user_promote_next_key,
    .seq_advance = sq_seq_advance,
    .invite_insert = sq_invite_insert,
    .invite_select = sq_invite_select,
    .invite_each = sq_invite_each,
    .invite_revoke = sq_invite_revoke,
    .invite_redeem_batch = sq_invite_redeem_batch,
    .created_advance = sq_created_advance,
    .created_get = sq_created_get,
    .users_generation = sq_users_generation,
    .check = sq_check,
};
