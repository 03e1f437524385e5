/* The demo API's data in SQLite (see bank.h). */
#include "bank.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct aw_bank {
    sqlite3 *db;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS accounts(user TEXT PRIMARY KEY, balance INTEGER NOT NULL "
    "CHECK(balance >= 0));"
    "CREATE TABLE IF NOT EXISTS transfers(id INTEGER PRIMARY KEY, payer TEXT NOT NULL, payee "
    "TEXT NOT NULL, cents INTEGER NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, user TEXT NOT NULL, created "
    "INTEGER NOT NULL, body BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS notes_user ON notes(user, id);";

aw_result aw_bank_open(const char *data_dir, aw_bank **out)
{
    char path[4096];
    AW_ENSURE(snprintf(path, sizeof(path), "%s/demo.db", data_dir) < (int)sizeof(path),
              AW_E_INVALID_ARG);
    aw_bank *b = calloc(1, sizeof(*b));
    AW_ENSURE(b != NULL, AW_E_INTERNAL);
    mode_t old = umask(077);
    int rc = sqlite3_open_v2(
        path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    umask(old);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(b->db, 5000);
        rc = sqlite3_exec(b->db, schema, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        aw_bank_close(b);
        return AW_E_STORE;
    }
    *out = b;
    return AW_OK;
}

void aw_bank_close(aw_bank *b)
{
    if (b != NULL) {
        sqlite3_close(b->db);
        free(b);
    }
}

/* Runs one statement with text and integer parameters bound in order ("t" or "i" per
 * character of types) to completion. */
static aw_result run(aw_bank *b, const char *sql, const char *types, const char *t1, const char *t2,
                     int64_t i1, int64_t i2)
{
    sqlite3_stmt *st = NULL;
    AW_ENSURE(sqlite3_prepare_v2(b->db, sql, -1, &st, NULL) == SQLITE_OK, AW_E_STORE);
    const char *texts[2] = {t1, t2};
    int64_t ints[2] = {i1, i2};
    size_t nt = 0, ni = 0;
    for (int i = 0; types[i] != '\0'; i++) {
        if (types[i] == 't') {
            sqlite3_bind_text(st, i + 1, texts[nt++], -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_int64(st, i + 1, ints[ni++]);
        }
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AW_OK : AW_E_STORE;
}

aw_result aw_bank_ensure_account(aw_bank *b, const char *user)
{
    return run(b, "INSERT OR IGNORE INTO accounts(user, balance) VALUES(?1, ?2)", "ti", user, NULL,
               AW_BANK_OPENING_BALANCE, 0);
}

aw_result aw_bank_balance(aw_bank *b, const char *user, int64_t *cents)
{
    sqlite3_stmt *st = NULL;
    AW_ENSURE(sqlite3_prepare_v2(b->db, "SELECT balance FROM accounts WHERE user = ?1", -1, &st,
                                 NULL) == SQLITE_OK,
              AW_E_STORE);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    aw_result r = AW_OK;
    if (rc == SQLITE_ROW) {
        *cents = sqlite3_column_int64(st, 0);
    } else {
        r = rc == SQLITE_DONE ? AW_E_NOT_FOUND : AW_E_STORE;
    }
    sqlite3_finalize(st);
    return r;
}

aw_result aw_bank_transfer(aw_bank *b, const char *from, const char *to, int64_t cents, int64_t now,
                           int64_t *from_balance)
{
    AW_ENSURE(cents > 0 && strcmp(from, to) != 0, AW_E_INVALID_ARG);
    /* IMMEDIATE: take the write lock before reading, so two transfers cannot both see the
     * old balance. */
    AW_ENSURE(sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK, AW_E_STORE);
    int64_t payer = 0, payee = 0;
    aw_result r = aw_bank_balance(b, from, &payer);
    if (r == AW_OK) {
        r = aw_bank_balance(b, to, &payee);
    }
    if (r == AW_OK && payer < cents) {
        r = AW_E_CONFLICT;
    }
    if (r == AW_OK) {
        r = run(b, "UPDATE accounts SET balance = balance - ?2 WHERE user = ?1", "ti", from, NULL,
                cents, 0);
    }
    if (r == AW_OK) {
        r = run(b, "UPDATE accounts SET balance = balance + ?2 WHERE user = ?1", "ti", to, NULL,
                cents, 0);
    }
    if (r == AW_OK) {
        r = run(b, "INSERT INTO transfers(payer, payee, cents, at) VALUES(?1, ?2, ?3, ?4)", "ttii",
                from, to, cents, now);
    }
    if (r == AW_OK && sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        r = AW_E_STORE;
    }
    if (r != AW_OK) {
        sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    *from_balance = payer - cents;
    return AW_OK;
}

aw_result aw_bank_note_add(aw_bank *b, const char *user, const uint8_t *text, size_t len,
                           int64_t now, int64_t *id)
{
    AW_ENSURE(len >= 1 && len <= 4096, AW_E_INVALID_ARG);
    sqlite3_stmt *st = NULL;
    AW_ENSURE(sqlite3_prepare_v2(b->db, "INSERT INTO notes(user, created, body) VALUES(?1, ?2, ?3)",
                                 -1, &st, NULL) == SQLITE_OK,
              AW_E_STORE);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_blob(st, 3, text, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    AW_ENSURE(rc == SQLITE_DONE, AW_E_STORE);
    *id = sqlite3_last_insert_rowid(b->db);
    return AW_OK;
}

aw_result aw_bank_notes(aw_bank *b, const char *user, aw_bank_note_fn fn, void *arg)
{
    sqlite3_stmt *st = NULL;
    AW_ENSURE(sqlite3_prepare_v2(b->db,
                                 "SELECT id, created, body FROM notes WHERE user = ?1 ORDER BY id",
                                 -1, &st, NULL) == SQLITE_OK,
              AW_E_STORE);
    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *body = sqlite3_column_blob(st, 2);
        int len = sqlite3_column_bytes(st, 2);
        fn(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), body, (size_t)len, arg);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AW_OK : AW_E_STORE;
}
