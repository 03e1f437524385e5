/* src/store, the group commit of invite redeems (store.c): concurrent aw_store_invite_redeem
 * calls of one process on one database share one transaction, and each keeps exactly the
 * result of a redeem of its own. Threads redeeming different invites (all committed, in
 * fewer transactions than redeems), threads racing for one invite (exactly one wins, also
 * within one batch), one batch holding every kind of refusal next to two successes (each
 * refused redeem rolled back alone, the invite of a taken name still usable), a batch whose
 * COMMIT fails (nothing committed, every redeem AW_E_STORE, the next batch clean), a fork
 * while a leader holds a batch (the child's own store works), forked processes of several
 * threads each racing the threads of the parent for one invite, and a data directory
 * initialised again at the same path while a store of the old one is open (no shared group).
 *
 * The hooks of store_testing.h make the batches certain where a test counts them: a leader
 * waits until the expected number of redeems is queued. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "store.h"
#include "store_testing.h"

#define T0      1700000000
#define THREADS 16

static const uint8_t confirm_hash[AW_SHA256_LEN] = {0xc0, 0xf1, 0x23, 0x45};

/* An invite for name, id and PSK from tag (two bytes, so hundreds of invites differ). */
static aw_invite make_invite(const char *name, unsigned tag, int64_t ttl)
{
    aw_invite inv;
    memset(&inv, 0, sizeof(inv));
    memset(inv.id, 0x5a, sizeof(inv.id));
    inv.id[0] = 0x6c;
    inv.id[1] = (uint8_t)(tag >> 8);
    inv.id[2] = (uint8_t)tag;
    snprintf(inv.name, sizeof(inv.name), "%s", name);
    inv.alg = AW_ALG_HMAC_SHA256;
    inv.mode = AW_FRESH_TIMESTAMP;
    for (size_t i = 0; i < sizeof(inv.psk); i++) {
        inv.psk[i] = (uint8_t)(tag + i + 1);
    }
    inv.created_at = T0;
    inv.expires_at = T0 + ttl;
    return inv;
}

/* One redeeming thread: its own store, its own user and DONE; result when joined. */
typedef struct racer {
    aw_store *s;
    uint8_t id[AW_INVITE_ID_LEN];
    aw_user user;
    uint8_t done[8];
    int64_t now;
    pthread_barrier_t *start;
    aw_result result;
    char error[256];
} racer;

static void *racer_run(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    r->result = aw_store_invite_redeem(r->s, r->id, &r->user, confirm_hash, r->done,
                                       sizeof(r->done), r->now);
    snprintf(r->error, sizeof(r->error), "%s", aw_store_last_error(r->s));
    return NULL;
}

/* Racer i redeems inv as user name (key and DONE of byte fill), at now. */
static void racer_set(racer *r, aw_store *s, const aw_invite *inv, const char *name, uint8_t fill,
                      int64_t now)
{
    memset(r, 0, sizeof(*r));
    r->s = s;
    memcpy(r->id, inv->id, sizeof(r->id));
    r->user = aw_test_user(name, AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, fill);
    r->done[0] = fill;
    r->now = now;
    r->result = AW_E_INTERNAL; /* never returned by a redeem: "did not run" */
}

/* Runs the n racers at once (each on its own thread, released together); returns how many
 * threads started. */
static size_t race(racer *r, size_t n)
{
    pthread_t tid[THREADS];
    pthread_barrier_t start;
    size_t started = 0;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        r[i].start = &start;
    }
    /* n threads wait on a barrier of n: all must start, or nobody passes it. */
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&tid[i], NULL, racer_run, &r[i]) != 0) {
            fprintf(stderr, "FATAL: pthread_create\n");
            exit(1);
        }
        started++;
    }
    for (size_t i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
    }
    pthread_barrier_destroy(&start);
    return started;
}

static void open_stores(const char *data, aw_store **s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s[i] = NULL;
        CHECK_OK(aw_store_open(data, &s[i]));
        if (s[i] == NULL) {
            fprintf(stderr, "FATAL: cannot open the store\n");
            exit(1);
        }
    }
}

static void close_stores(aw_store **s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        aw_store_close(s[i]);
        s[i] = NULL;
    }
}

static int64_t count_users(const char *data, const char *like)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM users WHERE name LIKE '%s'", like);
    return aw_test_db_int(data, sql);
}

static aw_store_group_stats stats_of(aw_store *s)
{
    aw_store_group_stats st;
    memset(&st, 0, sizeof(st));
    CHECK_OK(aw_store_test_group_stats(s, &st));
    return st;
}

/* n invites, prefix00, prefix01, ... (ids from tag0 on), added; racer i redeems invite i
 * with its own store s[i], key and DONE of byte fill0 + i, at now. */
static void set_up(aw_store *admin, aw_store **s, racer *r, aw_invite *inv, unsigned n,
                   const char *prefix, unsigned tag0, uint8_t fill0, int64_t now)
{
    char name[32];
    for (unsigned i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%02u", prefix, i);
        inv[i] = make_invite(name, tag0 + i, 100);
        CHECK_OK(aw_store_invite_add(admin, &inv[i]));
        racer_set(&r[i], s[i], &inv[i], name, (uint8_t)(fill0 + i), now);
    }
}

/* ---- 16 threads, 16 invites ---- */

static void distinct_round(const char *data, aw_store *admin, const char *prefix, unsigned tag0,
                           bool gather)
{
    aw_store *s[THREADS];
    racer r[THREADS];
    aw_invite inv[THREADS];
    open_stores(data, s, THREADS);
    set_up(admin, s, r, inv, THREADS, prefix, tag0, 0x20, T0 + 1);
    aw_store_group_stats before = stats_of(admin);
    uint64_t g0 = 0, g1 = 0;
    CHECK_OK(aw_store_users_generation(admin, &g0));
    aw_store_test_gather(gather ? THREADS : 0);
    CHECK(race(r, THREADS) == THREADS);
    aw_store_test_gather(0);
    aw_store_group_stats after = stats_of(admin);

    int ok = 0;
    for (size_t i = 0; i < THREADS; i++) {
        ok += r[i].result == AW_OK;
        CHECK_MSG(r[i].result == AW_OK, "redeem %zu: %s (%s)", i, aw_result_name(r[i].result),
                  r[i].error);
    }
    CHECK_MSG(ok == THREADS, "%d of %d redeems committed", ok, THREADS);
    char like[40];
    snprintf(like, sizeof(like), "%s%%", prefix);
    CHECK(count_users(data, like) == THREADS);
    /* Each user is the one its thread sent, and each invite keeps its own DONE. */
    for (unsigned i = 0; i < THREADS; i++) {
        aw_user u;
        aw_invite got;
        CHECK_OK(aw_store_user_get(admin, inv[i].name, &u));
        CHECK(u.key_len == 32 && u.key[0] == 0x20 + i && u.key[31] == 0x20 + i);
        aw_user_wipe(&u);
        CHECK_OK(aw_store_invite_get(admin, inv[i].id, &got));
        CHECK(got.used_at == T0 + 1 && got.done_len == 8 && got.done[0] == 0x20 + i);
    }
    CHECK_OK(aw_store_users_generation(admin, &g1));
    CHECK(g1 != g0);

    uint64_t items = after.items - before.items, batches = after.batches - before.batches;
    printf("group commit: %s %u redeems of %u invites in %llu transactions\n",
           gather ? "gathered:" : "as they came:", THREADS, THREADS, (unsigned long long)batches);
    CHECK(items == THREADS);
    CHECK(batches >= 1 && batches <= items);
    if (gather) {
        /* The leader waited for all 16: one transaction carried them. */
        CHECK_MSG(batches == 1 && after.largest == THREADS,
                  "16 gathered redeems took %llu transactions (largest %llu)",
                  (unsigned long long)batches, (unsigned long long)after.largest);
    }
    CHECK(!after.committing && after.queued == 0);
    close_stores(s, THREADS);
}

static void test_distinct(const char *data, aw_store *admin)
{
    distinct_round(data, admin, "dist", 0x100, true);
    distinct_round(data, admin, "free", 0x200, false);
}

/* ---- 16 threads, one invite ---- */

static void same_round(const char *data, aw_store *admin, const char *name, unsigned tag,
                       bool gather)
{
    aw_store *s[THREADS];
    racer r[THREADS];
    aw_invite inv = make_invite(name, tag, 100);
    open_stores(data, s, THREADS);
    CHECK_OK(aw_store_invite_add(admin, &inv));
    for (unsigned i = 0; i < THREADS; i++) {
        racer_set(&r[i], s[i], &inv, name, (uint8_t)(0x40 + i), T0 + 2);
    }
    aw_store_group_stats before = stats_of(admin);
    aw_store_test_gather(gather ? THREADS : 0);
    CHECK(race(r, THREADS) == THREADS);
    aw_store_test_gather(0);
    aw_store_group_stats after = stats_of(admin);

    int ok = 0, used = 0, other = 0;
    int winner = -1;
    for (int i = 0; i < THREADS; i++) {
        if (r[i].result == AW_OK) {
            ok++;
            winner = i;
        } else if (r[i].result == AW_E_INVITE_USED) {
            used++;
        } else {
            other++;
            fprintf(stderr, "racer %d: %s (%s)\n", i, aw_result_name(r[i].result), r[i].error);
        }
    }
    CHECK_MSG(ok == 1 && used == THREADS - 1 && other == 0, "one invite: %d won, %d used, %d other",
              ok, used, other);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM users WHERE name = '%s'", name);
    CHECK(aw_test_db_int(data, sql) == 1);
    aw_user u;
    aw_invite got;
    CHECK_OK(aw_store_user_get(admin, name, &u));
    CHECK_OK(aw_store_invite_get(admin, inv.id, &got));
    /* The row is the winner's, and the invite kept the winner's DONE. */
    CHECK(winner >= 0 && u.key[0] == 0x40 + winner && got.done[0] == 0x40 + winner);
    aw_user_wipe(&u);
    if (gather) {
        CHECK_MSG(after.batches - before.batches == 1,
                  "16 gathered redeems of one invite took %llu transactions",
                  (unsigned long long)(after.batches - before.batches));
    }
    close_stores(s, THREADS);
}

static void test_same_invite(const char *data, aw_store *admin)
{
    same_round(data, admin, "solo", 0x300, true);   /* the race inside one transaction */
    same_round(data, admin, "solo2", 0x301, false); /* across transactions */
}

/* ---- one batch, every outcome ---- */

enum { MX_OK1, MX_TAKEN, MX_UNKNOWN, MX_EXPIRED, MX_REVOKED, MX_USED, MX_WRONG, MX_OK2, MX_N };

static void test_mixed_batch(const char *data, aw_store *admin)
{
    static const char *const names[MX_N] = {"mxa",       "mxtaken", "mxunknown", "mxexpired",
                                            "mxrevoked", "mxused",  "mxwrong",   "mxh"};
    static const aw_result want[MX_N] = {AW_OK,
                                         AW_E_EXISTS,
                                         AW_E_INVITE_UNKNOWN,
                                         AW_E_INVITE_EXPIRED,
                                         AW_E_INVITE_REVOKED,
                                         AW_E_INVITE_USED,
                                         AW_E_INVALID_ARG,
                                         AW_OK};
    aw_store *s[MX_N];
    racer r[MX_N];
    aw_invite inv[MX_N];
    open_stores(data, s, MX_N);
    for (unsigned i = 0; i < MX_N; i++) {
        inv[i] = make_invite(names[i], 0x400 + i, i == MX_EXPIRED ? 5 : 100);
        if (i != MX_UNKNOWN) {
            CHECK_OK(aw_store_invite_add(admin, &inv[i]));
        }
        racer_set(&r[i], s[i], &inv[i], names[i], (uint8_t)(0x60 + i), T0 + 10);
    }
    /* The name taken after the invite was made (a user added behind its back). */
    aw_user squatter = aw_test_user("mxtaken", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0x7f);
    CHECK_OK(aw_store_user_add(admin, &squatter));
    CHECK_OK(aw_store_invite_revoke(admin, inv[MX_REVOKED].id, T0 + 3));
    aw_user first = aw_test_user("mxused", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0x7e);
    CHECK_OK(aw_store_invite_redeem(admin, inv[MX_USED].id, &first, confirm_hash,
                                    (const uint8_t *)"first", 5, T0 + 4));
    /* The user is not the invited one (the invite is for mxwrong). */
    r[MX_WRONG].user = aw_test_user("mxother", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0x66);

    uint64_t g0 = 0, g1 = 0;
    CHECK_OK(aw_store_users_generation(admin, &g0));
    aw_store_group_stats before = stats_of(admin);
    aw_store_test_gather(MX_N);
    CHECK(race(r, MX_N) == MX_N);
    aw_store_test_gather(0);
    aw_store_group_stats after = stats_of(admin);
    CHECK_MSG(after.batches - before.batches == 1 && after.items - before.items == MX_N,
              "the mixed batch: %llu transactions for %llu redeems",
              (unsigned long long)(after.batches - before.batches),
              (unsigned long long)(after.items - before.items));

    for (int i = 0; i < MX_N; i++) {
        CHECK_MSG(r[i].result == want[i], "mixed batch, %s: %s, expected %s", names[i],
                  aw_result_name(r[i].result), aw_result_name(want[i]));
    }
    /* The two successes committed, each refused redeem changed nothing. */
    aw_user u;
    aw_invite got;
    CHECK_OK(aw_store_user_get(admin, "mxa", &u));
    CHECK(u.key[0] == 0x60 + MX_OK1);
    aw_user_wipe(&u);
    CHECK_OK(aw_store_user_get(admin, "mxh", &u));
    CHECK(u.key[0] == 0x60 + MX_OK2);
    aw_user_wipe(&u);
    CHECK_OK(aw_store_users_generation(admin, &g1));
    CHECK(g1 != g0);
    CHECK_OK(aw_store_user_get(admin, "mxtaken", &u));
    CHECK(u.key[0] == 0x7f); /* the squatter's row, intact */
    aw_user_wipe(&u);
    CHECK_RESULT(aw_store_user_get(admin, "mxother", &u), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_get(admin, "mxexpired", &u), AW_E_NOT_FOUND);
    CHECK_RESULT(aw_store_user_get(admin, "mxrevoked", &u), AW_E_NOT_FOUND);
    CHECK_OK(aw_store_user_get(admin, "mxused", &u));
    CHECK(u.key[0] == 0x7e); /* the first redeemer's */
    aw_user_wipe(&u);
    CHECK_OK(aw_store_invite_get(admin, inv[MX_USED].id, &got));
    CHECK(got.done_len == 5 && memcmp(got.done, "first", 5) == 0);
    for (int i = MX_TAKEN; i < MX_N; i++) {
        if (i == MX_UNKNOWN || i == MX_USED || i == MX_OK2) {
            continue;
        }
        CHECK_OK(aw_store_invite_get(admin, inv[i].id, &got));
        CHECK_MSG(got.used_at == 0 && got.done_len == 0, "invite %s was touched", names[i]);
    }
    /* The taken name's invite kept its PSK and is used once the name is free again. */
    CHECK_OK(aw_store_invite_get(admin, inv[MX_TAKEN].id, &got));
    CHECK(memcmp(got.psk, inv[MX_TAKEN].psk, sizeof(got.psk)) == 0);
    aw_invite_wipe(&got);
    aw_test_db_exec(data, "DELETE FROM users WHERE name = 'mxtaken'");
    CHECK_OK(aw_store_invite_redeem(s[MX_TAKEN], inv[MX_TAKEN].id, &r[MX_TAKEN].user, confirm_hash,
                                    r[MX_TAKEN].done, 8, T0 + 11));
    CHECK_OK(aw_store_user_get(admin, "mxtaken", &u));
    CHECK(u.key[0] == 0x60 + MX_TAKEN);
    aw_user_wipe(&u);
    close_stores(s, MX_N);
}

/* ---- a batch whose COMMIT fails ---- */

static void test_commit_failure(const char *data, aw_store *admin)
{
    enum { N = 4 };
    aw_store *s[N];
    racer r[N];
    aw_invite inv[N];
    open_stores(data, s, N);
    set_up(admin, s, r, inv, N, "cf", 0x500, 0x90, T0 + 20);
    aw_store_test_fail_next_commit();
    aw_store_test_gather(N);
    CHECK(race(r, N) == N);
    for (int i = 0; i < N; i++) {
        CHECK_MSG(r[i].result == AW_E_STORE && strstr(r[i].error, "commit") != NULL,
                  "failed commit, redeem %d: %s (%s)", i, aw_result_name(r[i].result), r[i].error);
    }
    CHECK(count_users(data, "cf%") == 0);
    for (int i = 0; i < N; i++) {
        aw_invite got;
        CHECK_OK(aw_store_invite_get(admin, inv[i].id, &got));
        CHECK(got.used_at == 0 && memcmp(got.psk, inv[i].psk, sizeof(got.psk)) == 0);
        aw_invite_wipe(&got);
    }
    /* The next batch starts clean: the same redeems commit. */
    CHECK(race(r, N) == N);
    aw_store_test_gather(0);
    for (int i = 0; i < N; i++) {
        CHECK_MSG(r[i].result == AW_OK, "after a failed commit, redeem %d: %s (%s)", i,
                  aw_result_name(r[i].result), r[i].error);
    }
    CHECK(count_users(data, "cf%") == N);
    close_stores(s, N);
}

/* ---- fork while a leader holds a batch ---- */

static void test_fork_while_leading(const char *data, aw_store *admin)
{
    aw_store *s[2];
    racer r;
    aw_invite mine = make_invite("fkparent", 0x600, 100);
    aw_invite theirs = make_invite("fkchild", 0x601, 100);
    aw_invite last = make_invite("fklast", 0x602, 100);
    pthread_t tid;
    pthread_barrier_t start;

    open_stores(data, s, 2);
    CHECK_OK(aw_store_invite_add(admin, &mine));
    CHECK_OK(aw_store_invite_add(admin, &theirs));
    CHECK_OK(aw_store_invite_add(admin, &last));
    racer_set(&r, s[0], &mine, "fkparent", 0xa0, T0 + 30);
    pthread_barrier_init(&start, NULL, 1);
    r.start = &start;
    /* The thread leads and waits for a second redeem: committing set, one queued. */
    aw_store_test_gather(2);
    CHECK(pthread_create(&tid, NULL, racer_run, &r) == 0);
    aw_store_group_stats st = stats_of(admin);
    for (int i = 0; i < 1000 && !(st.committing && st.queued == 1); i++) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        st = stats_of(admin);
    }
    CHECK_MSG(st.committing && st.queued == 1, "the leader is not holding its batch");

    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child has the parent's group with "committing" set, and no leader: its own
         * store must not join it. */
        alarm(30);
        aw_store_test_gather(0);
        aw_store *c = NULL;
        aw_user u = aw_test_user("fkchild", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xa1);
        aw_result res = aw_store_open(data, &c);
        if (res == AW_OK) {
            res = aw_store_invite_redeem(c, theirs.id, &u, confirm_hash, (const uint8_t *)"c", 1,
                                         T0 + 30);
        }
        aw_store_group_stats cs;
        memset(&cs, 0, sizeof(cs));
        if (res == AW_OK) {
            res = aw_store_test_group_stats(c, &cs);
        }
        if (res != AW_OK || cs.batches != 1 || cs.items != 1) {
            fprintf(stderr, "fork child: %s, %llu batches: %s\n", aw_result_name(res),
                    (unsigned long long)cs.batches, c != NULL ? aw_store_last_error(c) : "");
        }
        aw_store_close(c);
        _exit(res == AW_OK && cs.batches == 1 && cs.items == 1 ? 0 : 1);
    }
    CHECK(pid > 0);
    int status = 0;
    CHECK_MSG(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0,
              "a child forked while a leader held a batch could not redeem (status %d)", status);
    aw_user u;
    CHECK_OK(aw_store_user_get(admin, "fkchild", &u));
    /* The parent's batch was not touched by the fork: the second redeem completes it. */
    aw_user lu = aw_test_user("fklast", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xa2);
    CHECK_OK(
        aw_store_invite_redeem(s[1], last.id, &lu, confirm_hash, (const uint8_t *)"l", 1, T0 + 30));
    pthread_join(tid, NULL);
    aw_store_test_gather(0);
    pthread_barrier_destroy(&start);
    CHECK_MSG(r.result == AW_OK, "the leader: %s (%s)", aw_result_name(r.result), r.error);
    CHECK_OK(aw_store_user_get(admin, "fkparent", &u));
    CHECK_OK(aw_store_user_get(admin, "fklast", &u));
    close_stores(s, 2);
}

/* ---- a data directory initialised again while a store of the old one is open ---- */

static void test_reinit(void)
{
    char dir[512], cmd[1100];
    snprintf(dir, sizeof(dir), "%s", aw_test_path("reinit"));
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_OK(aw_store_create(dir));
    aw_store *old = NULL, *fresh = NULL;
    CHECK_OK(aw_store_open(dir, &old));
    if (old == NULL) {
        return;
    }
    aw_invite inv = make_invite("reold", 0x800, 100);
    aw_user u = aw_test_user("reold", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xd0);
    CHECK_OK(aw_store_invite_add(old, &inv));
    CHECK_OK(aw_store_invite_redeem(old, inv.id, &u, confirm_hash, (const uint8_t *)"o", 1, T0));
    /* Emptied and made again at the same path: the new database's stores form a group of
     * their own (a leader of the old group would commit into the old database). */
    snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", dir);
    aw_test_run(cmd);
    CHECK_OK(aw_store_create(dir));
    CHECK_OK(aw_store_open(dir, &fresh));
    if (fresh != NULL) {
        aw_store_group_stats st = stats_of(fresh);
        CHECK_MSG(st.batches == 0, "the new database joined the old one's group (%llu batches)",
                  (unsigned long long)st.batches);
        inv = make_invite("renew", 0x801, 100);
        u = aw_test_user("renew", AW_ALG_HMAC_SHA256, AW_FRESH_TIMESTAMP, 0xd1);
        CHECK_OK(aw_store_invite_add(fresh, &inv));
        CHECK_OK(
            aw_store_invite_redeem(fresh, inv.id, &u, confirm_hash, (const uint8_t *)"n", 1, T0));
        CHECK(aw_test_db_int(dir, "SELECT count(*) FROM users WHERE name = 'renew'") == 1);
    }
    aw_store_close(fresh);
    aw_store_close(old);
}

/* ---- forked processes of several threads and the parent's threads, one invite ---- */

#define PROCS        4
#define PER_PROC     4
#define PARENT_THRDS 4

typedef struct race_group {
    racer r[PER_PROC];
    pthread_barrier_t start;
    pthread_t tid[PER_PROC];
} race_group;

static void test_fork_race(const char *data, aw_store *admin)
{
    aw_invite inv = make_invite("fkrace", 0x700, 100);
    aw_test_barrier procs;
    race_group parent;
    aw_store *s[PARENT_THRDS];
    pid_t pids[PROCS];

    CHECK_OK(aw_store_invite_add(admin, &inv));
    open_stores(data, s, PARENT_THRDS);
    /* The processes are forked before the parent starts its threads: a child of a process
     * whose threads may be inside malloc must not call malloc (POSIX; ASan's allocator does
     * deadlock there). test_fork_while_leading forks with a thread, parked in a wait. */
    aw_test_barrier_init(&procs);
    fflush(NULL);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            /* A process of PER_PROC threads, each with its own store. */
            race_group g;
            aw_store *cs[PER_PROC] = {0};
            int ok = 0, used = 0, other = 0;
            alarm(60);
            pthread_barrier_init(&g.start, NULL, PER_PROC + 1);
            for (int i = 0; i < PER_PROC; i++) {
                if (aw_store_open(data, &cs[i]) != AW_OK) {
                    _exit(99);
                }
                uint8_t fill = (uint8_t)(0xc0 + p * PER_PROC + i);
                racer_set(&g.r[i], cs[i], &inv, "fkrace", fill, T0 + 40);
                g.r[i].start = &g.start;
                if (pthread_create(&g.tid[i], NULL, racer_run, &g.r[i]) != 0) {
                    _exit(99);
                }
            }
            aw_test_barrier_wait(&procs);
            pthread_barrier_wait(&g.start);
            for (int i = 0; i < PER_PROC; i++) {
                pthread_join(g.tid[i], NULL);
                ok += g.r[i].result == AW_OK;
                used += g.r[i].result == AW_E_INVITE_USED;
                if (g.r[i].result != AW_OK && g.r[i].result != AW_E_INVITE_USED) {
                    other++;
                    fprintf(stderr, "process %d thread %d: %s (%s)\n", p, i,
                            aw_result_name(g.r[i].result), g.r[i].error);
                }
                aw_store_close(cs[i]);
            }
            _exit(other != 0 ? 98 : ok * 10 + used);
        }
        CHECK(pids[p] > 0);
    }
    /* The parent's threads wait at a barrier the main thread passes last, with the
     * processes' start. */
    pthread_barrier_init(&parent.start, NULL, PARENT_THRDS + 1);
    for (int i = 0; i < PARENT_THRDS; i++) {
        racer_set(&parent.r[i], s[i], &inv, "fkrace", (uint8_t)(0xb0 + i), T0 + 40);
        parent.r[i].start = &parent.start;
        CHECK(pthread_create(&parent.tid[i], NULL, racer_run, &parent.r[i]) == 0);
    }
    aw_test_barrier_release(&procs);
    pthread_barrier_wait(&parent.start);

    int ok = 0, used = 0, other = 0;
    for (int i = 0; i < PARENT_THRDS; i++) {
        pthread_join(parent.tid[i], NULL);
        ok += parent.r[i].result == AW_OK;
        used += parent.r[i].result == AW_E_INVITE_USED;
        other += parent.r[i].result != AW_OK && parent.r[i].result != AW_E_INVITE_USED;
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        if (pids[p] <= 0 || waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status) ||
            WEXITSTATUS(status) >= 98) {
            other++;
            continue;
        }
        ok += WEXITSTATUS(status) / 10;
        used += WEXITSTATUS(status) % 10;
    }
    pthread_barrier_destroy(&parent.start);
    int total = PARENT_THRDS + PROCS * PER_PROC;
    CHECK_MSG(ok == 1 && used == total - 1 && other == 0,
              "threads of %d processes, one invite: %d won, %d used, %d other", PROCS + 1, ok, used,
              other);
    CHECK(aw_test_db_int(data, "SELECT count(*) FROM users WHERE name = 'fkrace'") == 1);
    aw_user u;
    aw_invite got;
    CHECK_OK(aw_store_user_get(admin, "fkrace", &u));
    CHECK_OK(aw_store_invite_get(admin, inv.id, &got));
    CHECK(got.done_len == 8 && got.done[0] == u.key[0]);
    aw_user_wipe(&u);
    close_stores(s, PARENT_THRDS);
}

int main(void)
{
    aw_test_scratch("aw-group");
    char data[512];
    snprintf(data, sizeof(data), "%s", aw_test_path("data"));
    CHECK(mkdir(data, 0700) == 0);
    CHECK_OK(aw_store_create(data));

    aw_store *admin = NULL;
    CHECK_OK(aw_store_open(data, &admin));
    if (admin != NULL) {
        test_distinct(data, admin);
        test_same_invite(data, admin);
        test_mixed_batch(data, admin);
        test_commit_failure(data, admin);
        test_fork_while_leading(data, admin);
        test_fork_race(data, admin);
        test_reinit();
        CHECK_OK(aw_store_check(admin));
    }
    aw_store_close(admin);
    aw_test_cleanup();
    return aw_test_finish("test_group_commit");
}
