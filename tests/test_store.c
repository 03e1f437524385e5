/* src/store: the storage interface on its SQLite backend, in a fresh data directory under
 * $TMPDIR: users added, read, listed and revoked; names; EXISTS / NOT_FOUND; monotonic
 * high-water marks; the users generation; sealing (a key moved to another row, a database
 * without its master key); two connections; file modes; the integrity check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authwire/crypto.h"
#include "check.h"
#include "fixture.h"
#include "store.h"

static unsigned mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffff;
}

static void test_names(void)
{
    static const char *good[] = {
        "a",     "alice", "Bob-2",
        "x.y_z", "0day",  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    static const char *bad[] = {
        "",
        "-x",
        ".x",
        "_x",
        "a b",
        "a/b",
        "a\"b",
        "a\\b",
        "é",
        "a\n",
        "a:b",
        "a,b",
        "a;b",
        "..",
        "a=b",
        "a*",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_MSG(aw_user_name_valid(good[i]), "'%s' should be valid", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_MSG(!aw_user_name_valid(bad[i]), "'%s' should be invalid", bad[i]);
    }
    CHECK(!aw_user_name_valid(NULL));
}

typedef struct listed {
    char names[8][AW_USER_NAME_MAX + 1];
    aw_user users[8];
    size_t n;
    bool key_seen;
} listed;

static aw_result collect(const aw_user *u, void *arg)
{
    listed *l = arg;
    if (l->n < 8) {
        l->users[l->n] = *u;
        memcpy(l->names[l->n], u->name, sizeof(l->names[0]));
        l->n++;
    }
    if (u->key_len != 0) {
        l->key_seen = true;
    }
    return AW_OK;
}

static aw_result stop_at_first(const aw_user *u, void *arg)
{
    (void)u;
    (*(int *)arg)++;
    return AW_E_CONFLICT;
}

static void test_users(aw_store *s)
{
    aw_user alice = aw_test_user("alice", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xa1);
    aw_user bob = aw_test_user("bob", AW_ALG_ED25519, AW_FRESH_SEQUENCE, 0xb0);
    aw_user carol = aw_test_user("carol", AW_ALG_HMAC_SHA256, AW_FRESH_CHALLENGE, 0xc0);
    aw_user got;

    CHECK_OK(aw_store_user_add(s, &bob));
    CHECK_OK(aw_store_user_add(s, &alice));
    CHECK_OK(aw_store_user_add(s, &carol));
    CHECK_RESULT(aw_store_user_add(s, &alice), AW_E_EXISTS);

    CHECK_OK(aw_store_user_get(s, "alice", &got));
    CHECK(strcmp(got.name, "alice") == 0 && got.alg == AW_ALG_HMAC_SHA256 &&
          got.mode == AW_FRESH_TIMESTAMP && got.key_len == 32 &&
          memcmp(got.key, alice.key, 32) == 0 && got.created_at == 1700000000 &&
          got.revoked_at == 0 && got.seq_high_water == 0);
    aw_user_wipe(&got);
    CHECK(got.key_len == 0 && got.key[0] == 0 && got.key[31] == 0);
    CHECK_OK(aw_store_user_get(s, "bob", &got));
    CHECK(got.alg == AW_ALG_ED25519 && got.mode == AW_FRESH_SEQUENCE && got.key_len == 32 &&
          memcmp(got.key, bob.key, 32) == 0);
    aw_user_wipe(&got);
    CHECK_RESULT(aw_store_user_get(s, "dave", &got), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_get(s, "Alice", &got), AW_E_NOT_FOUND); /* exact names */
    CHECK_RESULT(aw_store_user_get(s, "a b", &got), AW_E_NOT_FOUND);   /* impossible name */
    CHECK_RESULT(aw_store_user_get(s, NULL, &got), AW_E_NOT_FOUND);

    /* Invalid users are refused before anything is stored. */
    aw_user bad = aw_test_user("-bad", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 1);
    CHECK_RESULT(aw_store_user_add(s, &bad), AW_E_INVALID_ARG);
    bad = aw_test_user("short", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 1);
    bad.key_len = 15;
    CHECK_RESULT(aw_store_user_add(s, &bad), AW_E_INVALID_ARG);
    bad = aw_test_user("edlong", AW_ALG_ED25519, AW_FRESH_TIMESTAMP, 1);
    bad.key_len = 33;
    CHECK_RESULT(aw_store_user_add(s, &bad), AW_E_INVALID_ARG);
    bad = aw_test_user("noalg", AW_ALG_NONE, AW_FRESH_TIMESTAMP, 1);
    CHECK_RESULT(aw_store_user_add(s, &bad), AW_E_INVALID_ARG);
    bad = aw_test_user("nomode", AW_ALG_HMAC_SHA256, (aw_fresh_mode)7, 1);
    CHECK_RESULT(aw_store_user_add(s, &bad), AW_E_INVALID_ARG);
    bad = aw_test_user("bigseq", AW_ALG_HMAC_SHA256, AW_FRESH_SEQUENCE, 1);
    bad.seq_high_water = (uint64_t)INT64_MAX + 1;
    CHECK_RESULT(aw_store_user_add(s, &bad), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_store_user_get(s, "short", &got), AW_E_NOT_FOUND);

    /* List: name order, no keys. */
    listed l;
    memset(&l, 0, sizeof(l));
    CHECK_OK(aw_store_user_list(s, collect, &l));
    CHECK(l.n == 3 && strcmp(l.names[0], "alice") == 0 && strcmp(l.names[1], "bob") == 0 &&
          strcmp(l.names[2], "carol") == 0 && !l.key_seen);
    CHECK(l.users[1].alg == AW_ALG_ED25519 && l.users[1].mode == AW_FRESH_SEQUENCE);
    int calls = 0;
    CHECK_RESULT(aw_store_user_list(s, stop_at_first, &calls), AW_E_CONFLICT);
    CHECK(calls == 1);
    /* The list statement was reset: listing again sees every user. */
    memset(&l, 0, sizeof(l));
    CHECK_OK(aw_store_user_list(s, collect, &l));
    CHECK(l.n == 3);

    /* Revoke: idempotent, the first time stays; names stay taken. */
    CHECK_OK(aw_store_user_revoke(s, "carol", 1800000000));
    CHECK_OK(aw_store_user_revoke(s, "carol", 1900000000));
    CHECK_OK(aw_store_user_get(s, "carol", &got));
    CHECK(got.revoked_at == 1800000000 && got.key_len == 32);
    aw_user_wipe(&got);
    CHECK_RESULT(aw_store_user_add(s, &carol), AW_E_EXISTS);
    CHECK_RESULT(aw_store_user_revoke(s, "nobody", 1800000000), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_revoke(s, "alice", 0), AW_E_INVALID_ARG);
}

static void test_high_water(aw_store *s)
{
    aw_user got;
    int64_t created = -1;

    CHECK_OK(aw_store_seq_advance(s, "bob", 5));
    CHECK_OK(aw_store_seq_advance(s, "bob", 3)); /* never lowers */
    CHECK_OK(aw_store_seq_advance(s, "bob", 5));
    CHECK_OK(aw_store_user_get(s, "bob", &got));
    CHECK(got.seq_high_water == 5);
    aw_user_wipe(&got);
    CHECK_OK(aw_store_seq_advance(s, "bob", 999999999999999ull)); /* RFC 8941 integer max */
    CHECK_OK(aw_store_seq_advance(s, "bob", 7));
    CHECK_OK(aw_store_user_get(s, "bob", &got));
    CHECK(got.seq_high_water == 999999999999999ull);
    aw_user_wipe(&got);
    CHECK_RESULT(aw_store_seq_advance(s, "nobody", 1), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_seq_advance(s, "bob", (uint64_t)INT64_MAX + 1), AW_E_INVALID_ARG);

    CHECK_OK(aw_store_created_high_water(s, &created));
    CHECK(created == 0);
    CHECK_OK(aw_store_created_advance(s, 1700000100));
    CHECK_OK(aw_store_created_advance(s, 1700000050));
    CHECK_OK(aw_store_created_high_water(s, &created));
    CHECK(created == 1700000100);
    CHECK_OK(aw_store_created_advance(s, 1700000200));
    CHECK_OK(aw_store_created_high_water(s, &created));
    CHECK(created == 1700000200);
}

static void test_generation(aw_store *s, aw_store *other)
{
    uint64_t g0, g1, g2, g3, seen;
    aw_user dave = aw_test_user("dave", AW_ALG_HMAC_SHA256, AW_FRESH_SEQUENCE, 0xd0);

    CHECK_OK(aw_store_users_generation(s, &g0));
    CHECK_OK(aw_store_users_generation(s, &g1));
    CHECK(g0 == g1);
    /* Hot writes, from either connection, leave it alone. */
    CHECK_OK(aw_store_seq_advance(s, "bob", 1000000000000000ull));
    CHECK_OK(aw_store_seq_advance(other, "bob", 1000000000000001ull));
    CHECK_OK(aw_store_created_advance(other, 1700000300));
    CHECK_OK(aw_store_users_generation(s, &g1));
    CHECK(g1 == g0);
    /* An add on this connection, then a revoke on the other: both seen here. */
    CHECK_OK(aw_store_user_add(s, &dave));
    CHECK_OK(aw_store_users_generation(s, &g2));
    CHECK(g2 != g1);
    CHECK_OK(aw_store_users_generation(other, &seen));
    CHECK(seen == g2);
    CHECK_OK(aw_store_user_revoke(other, "dave", 1800000000));
    CHECK_OK(aw_store_users_generation(s, &g3));
    CHECK(g3 != g2);
    /* A revoke that changes nothing does not invalidate caches. */
    CHECK_OK(aw_store_user_revoke(other, "dave", 1800000001));
    CHECK_OK(aw_store_users_generation(s, &seen));
    CHECK(seen == g3);
    /* A failed add (duplicate) neither. */
    CHECK_RESULT(aw_store_user_add(other, &dave), AW_E_EXISTS);
    CHECK_OK(aw_store_users_generation(s, &seen));
    CHECK(seen == g3);
}

static void test_two_connections(aw_store *s, aw_store *other)
{
    aw_user erin = aw_test_user("erin", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xe0);
    aw_user got;
    int64_t created;

    CHECK_OK(aw_store_user_add(other, &erin));
    CHECK_OK(aw_store_user_get(s, "erin", &got));
    CHECK(memcmp(got.key, erin.key, 32) == 0);
    aw_user_wipe(&got);
    CHECK_OK(aw_store_seq_advance(s, "erin", 42));
    CHECK_OK(aw_store_user_get(other, "erin", &got));
    CHECK(got.seq_high_water == 42);
    aw_user_wipe(&got);
    CHECK_OK(aw_store_created_high_water(s, &created));
    CHECK(created == 1700000300);
    CHECK_OK(aw_store_user_revoke(s, "erin", 1800000000));
    CHECK_OK(aw_store_user_get(other, "erin", &got));
    CHECK(got.revoked_at == 1800000000);
    aw_user_wipe(&got);
}

static void test_sealing(const char *data_dir, aw_store *s)
{
    aw_user got;
    char cmd[4096];

    /* alice's sealed key copied onto bob's row: it does not open under bob's name. */
    aw_test_db_exec(data_dir, "UPDATE users SET sealed_key = (SELECT sealed_key FROM users WHERE "
                              "name = 'alice'), alg = 1 WHERE name = 'bob'");
    CHECK_RESULT(aw_store_user_get(s, "bob", &got), AW_E_CORRUPT);
    CHECK(got.key_len == 0);
    CHECK(strstr(aw_store_last_error(s), "does not unseal") != NULL);
    /* Switching a row's algorithm breaks it too (the algorithm is in the associated data). */
    aw_test_db_exec(data_dir, "UPDATE users SET alg = 2 WHERE name = 'alice'");
    CHECK_RESULT(aw_store_user_get(s, "alice", &got), AW_E_CORRUPT);
    aw_test_db_exec(data_dir, "UPDATE users SET alg = 1 WHERE name = 'alice'");
    CHECK_OK(aw_store_user_get(s, "alice", &got));
    aw_user_wipe(&got);
    CHECK(aw_store_last_error(s)[0] == '\0');
    /* One flipped byte in a sealed key. */
    aw_test_db_exec(data_dir, "UPDATE users SET sealed_key = zeroblob(44) WHERE name = 'carol'");
    CHECK_RESULT(aw_store_user_get(s, "carol", &got), AW_E_CORRUPT);
    /* Values no authwire wrote. */
    aw_test_db_exec(data_dir, "UPDATE users SET mode = 9 WHERE name = 'dave'");
    CHECK_RESULT(aw_store_user_get(s, "dave", &got), AW_E_CORRUPT);

    /* A stolen copy of the database: without master.key it does not open, and with another
     * master key no user key comes out. */
    const char *stolen = aw_test_path("stolen");
    /* The thief takes the write-ahead log too: it holds the latest commits. */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s/authwire.db' '%s/authwire.db-wal' '%s/'",
             stolen, data_dir, data_dir, stolen);
    aw_test_run(cmd);
    aw_store *t = NULL;
    CHECK_RESULT(aw_store_open(stolen, &t), AW_E_NOT_FOUND);
    CHECK(t == NULL);
    const char *fresh = aw_test_path("fresh");
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", fresh);
    aw_test_run(cmd);
    CHECK_OK(aw_store_create(fresh));
    snprintf(cmd, sizeof(cmd), "cp -p '%s/master.key' '%s/'", fresh, stolen);
    aw_test_run(cmd);
    CHECK_OK(aw_store_open(stolen, &t));
    CHECK_RESULT(aw_store_user_get(t, "alice", &got), AW_E_CORRUPT);
    CHECK_RESULT(aw_store_user_get(t, "erin", &got), AW_E_CORRUPT);
    CHECK(got.key_len == 0);
    aw_store_close(t);
}

static void test_files_and_errors(const char *data_dir)
{
    aw_store *s = NULL;
    char path[1024], cmd[8192];

    snprintf(path, sizeof(path), "%s/master.key", data_dir);
    CHECK(mode_of(path) == 0600);
    snprintf(path, sizeof(path), "%s/authwire.db", data_dir);
    CHECK(mode_of(path) == 0600);
    snprintf(path, sizeof(path), "%s/authwire.db-wal", data_dir);
    CHECK(mode_of(path) == 0600 || mode_of(path) == 0xffff);

    /* Creating again is refused and changes nothing. */
    CHECK_RESULT(aw_store_create(data_dir), AW_E_EXISTS);
    CHECK_RESULT(aw_store_create(aw_test_path("no-such-dir")), AW_E_NOT_FOUND);
    /* A directory never initialised. */
    const char *empty = aw_test_path("empty");
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", empty);
    aw_test_run(cmd);
    CHECK_RESULT(aw_store_open(empty, &s), AW_E_NOT_FOUND);
    /* A database without schema (a create that died half-way) is not initialised either. */
    snprintf(cmd, sizeof(cmd), "touch '%s/authwire.db' && chmod 600 '%s/authwire.db'", empty,
             empty);
    aw_test_run(cmd);
    CHECK_RESULT(aw_store_create(empty), AW_E_EXISTS);
    snprintf(path, sizeof(path), "%s/master.key", empty);
    CHECK(access(path, F_OK) != 0); /* the failed create left no master key */

    /* A master key others may read is refused; a damaged one is corrupt. */
    snprintf(path, sizeof(path), "%s/master.key", data_dir);
    chmod(path, 0640);
    CHECK_RESULT(aw_store_open(data_dir, &s), AW_E_FORBIDDEN);
    chmod(path, 0604);
    CHECK_RESULT(aw_store_open(data_dir, &s), AW_E_FORBIDDEN);
    chmod(path, 0600);
    const char *cut = aw_test_path("cut");
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' && cp '%s/authwire.db' '%s/' && head -c 31 '%s' > '%s/master.key' "
             "&& chmod 600 '%s/master.key'",
             cut, data_dir, cut, path, cut, cut);
    aw_test_run(cmd);
    CHECK_RESULT(aw_store_open(cut, &s), AW_E_CORRUPT);

    /* A schema from a newer authwire is not misread. */
    const char *newer = aw_test_path("newer");
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", newer);
    aw_test_run(cmd);
    CHECK_OK(aw_store_create(newer));
    aw_test_db_exec(newer, "PRAGMA user_version = 99");
    CHECK_RESULT(aw_store_open(newer, &s), AW_E_STORE);
    CHECK(s == NULL);
}

static void test_integrity(const char *data_dir)
{
    aw_store *s = NULL;
    CHECK_OK(aw_store_open(data_dir, &s));
    CHECK_OK(aw_store_check(s));
    aw_store_close(s);

    /* Garbage in the middle of a copy of the database file: the check says corrupt. */
    const char *broken = aw_test_path("broken");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' && cp -p '%s/master.key' '%s/' && sqlite3 '%s/authwire.db' "
             "\"VACUUM INTO '%s/authwire.db'\" && chmod 600 '%s/authwire.db'",
             broken, data_dir, broken, data_dir, broken, broken);
    aw_test_run(cmd);
    char path[1024];
    snprintf(path, sizeof(path), "%s/authwire.db", broken);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f != NULL) {
        /* Page 2 and beyond hold the tables; scribble over a b-tree page header. */
        uint8_t junk[64];
        memset(junk, 0x5a, sizeof(junk));
        CHECK(fseek(f, 4096, SEEK_SET) == 0 && fwrite(junk, 1, sizeof(junk), f) == sizeof(junk));
        fclose(f);
    }
    aw_result r = aw_store_open(broken, &s);
    if (r == AW_OK) {
        CHECK_RESULT(aw_store_check(s), AW_E_CORRUPT);
        CHECK(aw_store_last_error(s)[0] != '\0');
        aw_store_close(s);
    } else {
        /* Damage bad enough that the schema does not read is also a refusal. */
        CHECK(r == AW_E_STORE || r == AW_E_CORRUPT);
    }
}

int main(void)
{
    aw_test_scratch("aw-store");
    const char *data_dir = aw_test_path("data");
    char data[512];
    snprintf(data, sizeof(data), "%s", data_dir);
    CHECK(mkdir(data, 0700) == 0);

    test_names();
    CHECK_OK(aw_store_create(data));
    aw_store *s = NULL, *other = NULL;
    CHECK_OK(aw_store_open(data, &s));
    CHECK_OK(aw_store_open(data, &other));
    if (s != NULL && other != NULL) {
        test_users(s);
        test_high_water(s);
        test_generation(s, other);
        test_two_connections(s, other);
        CHECK_OK(aw_store_check(s));
        test_sealing(data, s);
    }
    aw_store_close(s);
    aw_store_close(other);
    aw_store_close(NULL);
    test_files_and_errors(data);
    test_integrity(data);

    aw_test_cleanup();
    return aw_test_finish("test_store");
}
