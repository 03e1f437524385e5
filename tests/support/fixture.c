#include "fixture.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

static char g_root[256];

void aw_test_scratch(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof(g_root), "%s/%s-XXXXXX", tmp != NULL ? tmp : "/tmp", prefix);
    if (mkdtemp(g_root) == NULL) {
        fprintf(stderr, "FATAL: mkdtemp: %s\n", strerror(errno));
        exit(1);
    }
}

void aw_test_cleanup(void)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_root);
    aw_test_run(cmd);
}

const char *aw_test_path(const char *name)
{
    static char path[2][512];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof(path[which]), "%s/%s", g_root, name);
    return path[which];
}

aw_user aw_test_user(const char *name, aw_alg alg, aw_fresh_mode mode, uint8_t fill)
{
    aw_user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.name, sizeof(u.name), "%s", name);
    u.alg = alg;
    u.mode = mode;
    u.key_len = 32;
    memset(u.key, fill, u.key_len);
    u.created_at = 1700000000;
    return u;
}

void aw_test_run(const char *cmd)
{
    if (system(cmd) != 0) {
        aw_test_fail(__FILE__, __LINE__, "command failed: %s", cmd);
    }
}

static sqlite3 *db_open(const char *data_dir)
{
    char path[1024];
    sqlite3 *db = NULL;
    snprintf(path, sizeof(path), "%s/authwire.db", data_dir);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

void aw_test_db_exec(const char *data_dir, const char *sql)
{
    sqlite3 *db = db_open(data_dir);
    char *err = NULL;
    CHECK_MSG(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
}

int64_t aw_test_db_int(const char *data_dir, const char *sql)
{
    sqlite3 *db = db_open(data_dir);
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    bool row =
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    if (row) {
        v = sqlite3_column_int64(st, 0);
    }
    CHECK_MSG(row, "%s: no row: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

void aw_test_barrier_init(aw_test_barrier *b)
{
    if (pipe(b->fd) != 0) {
        fprintf(stderr, "FATAL: pipe: %s\n", strerror(errno));
        exit(1);
    }
}

void aw_test_barrier_wait(aw_test_barrier *b)
{
    char c;
    close(b->fd[1]);
    /* Blocks until every write end is closed: the parent's is the last. */
    while (read(b->fd[0], &c, 1) < 0 && errno == EINTR) {
    }
    close(b->fd[0]);
}

void aw_test_barrier_release(aw_test_barrier *b)
{
    close(b->fd[0]);
    close(b->fd[1]);
}
