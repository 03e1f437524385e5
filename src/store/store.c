/* The storage front end: argument checks, user names, the master key file and sealing, and
 * the group commit of invite redeems. Backends (backend.h) only ever see sealed keys. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authwire/crypto.h"
#include "backend.h"
#include "datadir.h"
#include "files.h"
#include "store_testing.h"

typedef struct group group;

struct aw_store {
    const aw_store_ops *ops;
    void *backend;
    group *group; /* the redeem group commit of this database in this process */
    /* DIR/users.changed mapped shared: a counter every process bumps after it committed a
     * change to users, so a gateway sees a revocation on its next request by reading one
     * word of memory, without a database read (and its file locks) per request. */
    uint64_t *changed;
    uint64_t changed_seen;
    uint64_t generation;
    bool have_generation;
    int64_t generation_checked; /* monotonic seconds of the last backend read */
    uint8_t master[AW_AEAD_KEY_LEN];
    char error[256]; /* set by this file; the backend's own otherwise */
};

bool aw_user_name_valid(const char *name)
{
    size_t n = 0;
    if (name == NULL) {
        return false;
    }
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (n == 0 || (c != '.' && c != '_' && c != '-'))) {
            return false;
        }
        if (n == AW_USER_NAME_MAX) {
            return false;
        }
    }
    return n > 0;
}

void aw_user_wipe(aw_user *u)
{
    if (u != NULL) {
        aw_wipe(u->key, sizeof(u->key));
        u->key_len = 0;
        aw_wipe(u->next_key, sizeof(u->next_key));
        u->next_key_len = 0;
    }
}

void aw_invite_wipe(aw_invite *inv)
{
    if (inv != NULL) {
        aw_wipe(inv->psk, sizeof(inv->psk));
    }
}

aw_result aw_store_create(const char *data_dir)
{
    const aw_store_ops *ops = &aw_store_sqlite_ops;
    char path[4096];
    uint8_t master[AW_AEAD_KEY_LEN];
    struct stat st;
    aw_result r;

    AW_ENSURE(data_dir != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_data_path(data_dir, AW_DATA_MASTER_KEY, path, sizeof(path)));
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        return AW_E_NOT_FOUND;
    }
    AW_GUARD(aw_random(master, sizeof(master)));
    r = aw_file_write_atomic(path, master, sizeof(master), 0600, AW_FILE_NO_REPLACE);
    aw_wipe(master, sizeof(master));
    AW_GUARD(r);
    r = ops->create(data_dir);
    if (r != AW_OK) {
        /* No master key without its database: a retry starts clean. */
        int saved = errno;
        unlink(path);
        errno = saved;
    }
    return r;
}

/* Maps DIR/users.changed into s->changed; *st: the file's status. */
static aw_result map_changed(aw_store *s, const char *data_dir, struct stat *st)
{
    char path[4096];
    AW_GUARD(aw_data_path(data_dir, AW_DATA_USERS_CHANGED, path, sizeof(path)));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(s->error, sizeof(s->error), "%.200s: %s", path, strerror(errno));
        return AW_E_IO;
    }
    bool ok = fstat(fd, st) == 0 &&
              (st->st_size >= (off_t)sizeof(uint64_t) || ftruncate(fd, sizeof(uint64_t)) == 0);
    void *map =
        ok ? mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(s->error, sizeof(s->error), "%.200s: %s", path, strerror(errno));
        return AW_E_IO;
    }
    s->changed = map;
    return AW_OK;
}

/* After a committed change to users: tell every process (see struct aw_store). */
static void signal_changed(aw_store *s)
{
    __atomic_add_fetch(s->changed, 1, __ATOMIC_RELEASE);
}

/* ---- group commit of invite redeems ---------------------------------------------------------
 *
 * Every redeem must be durable against a power loss on return, so each costs a commit with
 * an fsync, and one writer at a time does them: alone, a database does as many redeems a
 * second as its disk does fsyncs. So the redeems of one process on one database share their
 * transactions. A redeem is queued in the database's group (already checked and sealed:
 * the queue holds backend rows); a thread that finds no batch being committed becomes the
 * leader, takes the queue (its own redeem and whoever queued before it, at most GROUP_MAX),
 * and runs the batch on its own connection, in one transaction of one savepoint per redeem
 * (backend.h, invite_redeem_batch), without holding the group's lock. Threads arriving
 * meanwhile queue and wait; when the leader is done it marks its batch's redeems done (each
 * with its own result) and wakes everyone, and one of the threads still queued becomes the
 * next leader, for all that queued. Processes do not share groups: their redeems meet in the
 * database, where the write lock orders their transactions and the conditional update lets
 * exactly one redeemer of an invite win, as before.
 *
 * A group is found by the data directory's real path (and the backend, and the identity of
 * its users.changed file, which every open store keeps mapped, so that a directory emptied
 * and initialised again while stores of the old one are open gets a group of its own: a
 * leader of the old group would commit into the old database), in a list under
 * groups_lock, and counted by its stores. A forked child must not use its parent's groups
 * (their lock or their "committing" flag may be held by a thread that does not exist in the
 * child): groups are keyed by the process id too, so a store the child opens gets a group
 * of its own, and groups_lock is held across fork (pthread_atfork) so the child gets it free.
 * Lock order: groups_lock, then a group's lock; a leader holds neither while it commits. */

#define GROUP_MAX 64 /* redeems in one transaction at most */

/* One queued redeem: the backend's item (in: the redeem; out: result and message), on the
 * stack of the thread waiting for it. */
typedef struct group_item {
    aw_store_redeem redeem;
    bool done; /* under the group's lock */
    struct group_item *next;
} group_item;

struct group {
    group *next; /* under groups_lock, like refs */
    unsigned refs;
    pid_t pid;
    const aw_store_ops *ops;
    dev_t dev; /* of users.changed */
    ino_t ino;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a batch ended (and, when gathering, a redeem was queued) */
    bool committing;     /* a leader has taken a batch and not finished it */
    group_item *head, *tail;
    size_t queued;
    aw_store_group_stats stats;
    char path[]; /* realpath of the data directory */
};

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static group *groups;
static pthread_once_t groups_once = PTHREAD_ONCE_INIT;
static size_t test_gather; /* store_testing.h */

static void groups_fork_prepare(void)
{
    pthread_mutex_lock(&groups_lock);
}

static void groups_fork_release(void)
{
    pthread_mutex_unlock(&groups_lock);
}

static void groups_init(void)
{
    pthread_atfork(groups_fork_prepare, groups_fork_release, groups_fork_release);
}

/* A new group for path (refs 0), or NULL when out of memory. */
static group *group_new(const char *path, const struct stat *changed, const aw_store_ops *ops,
                        pid_t pid)
{
    size_t len = strlen(path) + 1;
    group *g = calloc(1, sizeof(*g) + len);
    pthread_condattr_t attr;
    if (g == NULL || pthread_condattr_init(&attr) != 0) {
        free(g);
        return NULL;
    }
    /* The monotonic clock for gather_for_test's time limit. */
    bool cond = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
                pthread_cond_init(&g->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!cond || pthread_mutex_init(&g->lock, NULL) != 0) {
        if (cond) {
            pthread_cond_destroy(&g->cond);
        }
        free(g);
        return NULL;
    }
    g->pid = pid;
    g->ops = ops;
    g->dev = changed->st_dev;
    g->ino = changed->st_ino;
    memcpy(g->path, path, len);
    return g;
}

/* The group of data_dir's database in this process, made when there is none; s->group.
 * changed: the users.changed file s maps. */
static aw_result group_join(aw_store *s, const char *data_dir, const struct stat *changed)
{
    char *path = realpath(data_dir, NULL);
    if (path == NULL) {
        snprintf(s->error, sizeof(s->error), "%.200s: %s", data_dir, strerror(errno));
        return AW_E_IO;
    }
    pthread_once(&groups_once, groups_init);
    pid_t pid = getpid();
    pthread_mutex_lock(&groups_lock);
    group *g = groups;
    while (g != NULL && (g->pid != pid || g->ops != s->ops || g->dev != changed->st_dev ||
                         g->ino != changed->st_ino || strcmp(g->path, path) != 0)) {
        g = g->next;
    }
    if (g == NULL && (g = group_new(path, changed, s->ops, pid)) != NULL) {
        g->next = groups;
        groups = g;
    }
    if (g != NULL) {
        g->refs++;
        s->group = g;
    }
    pthread_mutex_unlock(&groups_lock);
    free(path);
    return g != NULL ? AW_OK : AW_E_INTERNAL;
}

static void group_leave(group *g)
{
    if (g == NULL) {
        return;
    }
    pthread_mutex_lock(&groups_lock);
    if (--g->refs == 0) {
        group **p = &groups;
        while (*p != g) {
            p = &(*p)->next;
        }
        *p = g->next;
        /* A parent's group in a forked child (its last store closed there) may have its
         * lock held by a thread the child does not have: it is freed, never destroyed. */
        if (g->pid == getpid()) {
            pthread_mutex_destroy(&g->lock);
            pthread_cond_destroy(&g->cond);
        }
        free(g);
    }
    pthread_mutex_unlock(&groups_lock);
}

/* Tests only: a new leader waits until test_gather redeems are queued (at most 10 s). */
static void gather_for_test(group *g)
{
    size_t want = __atomic_load_n(&test_gather, __ATOMIC_ACQUIRE);
    struct timespec until;
    if (want == 0) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 10;
    while (g->queued < want && pthread_cond_timedwait(&g->cond, &g->lock, &until) == 0) {
    }
}

/* Runs me in a batch, as its leader or as a follower; returns me's result. */
static aw_result group_redeem(aw_store *s, group_item *me)
{
    group *g = s->group;
    aw_store_redeem *batch[GROUP_MAX];
    group_item *taken[GROUP_MAX];

    pthread_mutex_lock(&g->lock);
    me->done = false;
    me->next = NULL;
    if (g->tail != NULL) {
        g->tail->next = me;
    } else {
        g->head = me;
    }
    g->tail = me;
    g->queued++;
    if (__atomic_load_n(&test_gather, __ATOMIC_ACQUIRE) != 0) {
        pthread_cond_broadcast(&g->cond); /* a gathering leader counts the queue */
    }
    while (!me->done) {
        if (g->committing) {
            pthread_cond_wait(&g->cond, &g->lock);
            continue;
        }
        /* Lead: take the queue (me too, unless GROUP_MAX redeems are ahead of me). */
        g->committing = true;
        gather_for_test(g);
        size_t n = 0;
        while (g->head != NULL && n < GROUP_MAX) {
            taken[n] = g->head;
            batch[n] = &g->head->redeem;
            n++;
            g->head = g->head->next;
        }
        if (g->head == NULL) {
            g->tail = NULL;
        }
        g->queued -= n;
        pthread_mutex_unlock(&g->lock);

        /* Each item's result is set whether the transaction commits or not. */
        (void)s->ops->invite_redeem_batch(s->backend, batch, n);

        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < n; i++) {
            taken[i]->done = true;
        }
        g->stats.batches++;
        g->stats.items += n;
        g->stats.largest = n > g->stats.largest ? n : g->stats.largest;
        g->committing = false;
        pthread_cond_broadcast(&g->cond);
    }
    pthread_mutex_unlock(&g->lock);
    return me->redeem.result;
}

aw_result aw_store_test_group_stats(aw_store *s, aw_store_group_stats *out)
{
    AW_ENSURE(s != NULL && out != NULL, AW_E_INVALID_ARG);
    pthread_mutex_lock(&s->group->lock);
    *out = s->group->stats;
    out->queued = s->group->queued;
    out->committing = s->group->committing;
    pthread_mutex_unlock(&s->group->lock);
    return AW_OK;
}

void aw_store_test_gather(size_t n)
{
    __atomic_store_n(&test_gather, n, __ATOMIC_RELEASE);
}

aw_result aw_store_open(const char *data_dir, aw_store **out)
{
    const aw_store_ops *ops = &aw_store_sqlite_ops;
    char path[4096];
    uint8_t *key = NULL;
    size_t key_len = 0;
    aw_store *s;
    aw_result r;

    AW_ENSURE(out != NULL, AW_E_INVALID_ARG);
    *out = NULL;
    AW_ENSURE(data_dir != NULL, AW_E_INVALID_ARG);
    AW_GUARD(aw_data_path(data_dir, AW_DATA_MASTER_KEY, path, sizeof(path)));
    AW_GUARD(aw_crypto_init());
    /* The permission check is made on the opened file: a master key others can read is
     * refused, not used. */
    r = aw_file_read(path, 4 * AW_AEAD_KEY_LEN, AW_FILE_PRIVATE, &key, &key_len);
    if (r == AW_E_TOO_LARGE || (r == AW_OK && key_len != AW_AEAD_KEY_LEN)) {
        aw_file_free(key, key_len);
        return AW_E_CORRUPT;
    }
    AW_GUARD(r);
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        aw_file_free(key, key_len);
        return AW_E_INTERNAL;
    }
    memcpy(s->master, key, AW_AEAD_KEY_LEN);
    aw_file_free(key, key_len);
    s->ops = ops;
    r = ops->open(data_dir, &s->backend);
    struct stat changed;
    if (r == AW_OK) {
        r = map_changed(s, data_dir, &changed);
    }
    if (r == AW_OK) {
        r = group_join(s, data_dir, &changed);
    }
    if (r != AW_OK) {
        aw_store_close(s);
        return r;
    }
    *out = s;
    return AW_OK;
}

void aw_store_close(aw_store *s)
{
    if (s == NULL) {
        return;
    }
    if (s->backend != NULL) {
        s->ops->close(s->backend);
    }
    if (s->changed != NULL) {
        munmap(s->changed, sizeof(uint64_t));
    }
    group_leave(s->group);
    aw_wipe(s->master, sizeof(s->master));
    free(s);
}

const char *aw_store_last_error(const aw_store *s)
{
    if (s == NULL) {
        return "";
    }
    return s->error[0] != '\0' ? s->error : s->ops->last_error(s->backend);
}

/* Starts a call: clears this file's message (the backend clears its own). */
static void begin(aw_store *s)
{
    s->error[0] = '\0';
}

/* Associated data of a sealed user key: a domain label, the algorithm and the name. The
 * name binds the key to its row (a sealed key copied to another user does not open); the
 * algorithm stops a row's alg being switched, which would otherwise turn a stored Ed25519
 * public key into an HMAC secret that anyone knows. */
static size_t seal_aad(uint8_t *aad, size_t cap, aw_alg alg, const char *name)
{
    static const char label[] = "authwire/1 sealed user key";
    size_t name_len = strlen(name);
    size_t n = 0;
    if (sizeof(label) + 1 + name_len > cap) {
        return 0;
    }
    memcpy(aad, label, sizeof(label)); /* with its NUL, as a separator */
    n += sizeof(label);
    aad[n++] = (uint8_t)alg;
    memcpy(aad + n, name, name_len);
    return n + name_len;
}

static bool alg_valid(int64_t alg)
{
    return alg == AW_ALG_HMAC_SHA256 || alg == AW_ALG_ED25519;
}

static bool mode_valid(int64_t mode)
{
    return mode == AW_FRESH_TIMESTAMP || mode == AW_FRESH_SEQUENCE || mode == AW_FRESH_CHALLENGE;
}

/* HMAC: at least 128 bits (authwire makes 256); Ed25519: the 32-byte public key. */
static bool key_len_valid(aw_alg alg, size_t len)
{
    return alg == AW_ALG_ED25519 ? len == AW_ED25519_PUBLIC_LEN
                                 : len >= 16 && len <= AW_USER_KEY_MAX;
}

/* Checks u as a new user and seals its key into *row. */
static aw_result user_to_row(aw_store *s, const aw_user *u, aw_store_row *row)
{
    uint8_t aad[128];
    size_t aad_len;

    AW_ENSURE(aw_user_name_valid(u->name), AW_E_INVALID_ARG);
    AW_ENSURE(alg_valid(u->alg) && mode_valid(u->mode), AW_E_INVALID_ARG);
    AW_ENSURE(key_len_valid(u->alg, u->key_len), AW_E_INVALID_ARG);
    AW_ENSURE(u->created_at >= 0 && u->revoked_at >= 0, AW_E_INVALID_ARG);
    AW_ENSURE(u->seq_high_water <= (uint64_t)INT64_MAX, AW_E_INVALID_ARG);

    memset(row, 0, sizeof(*row));
    memcpy(row->name, u->name, strlen(u->name) + 1);
    row->alg = u->alg;
    row->mode = u->mode;
    row->created_at = u->created_at;
    row->revoked_at = u->revoked_at;
    row->seq_high_water = u->seq_high_water;
    aad_len = seal_aad(aad, sizeof(aad), u->alg, u->name);
    return aw_aead_seal(s->master, aad, aad_len, u->key, u->key_len, row->sealed_key,
                        sizeof(row->sealed_key), &row->sealed_key_len);
}

aw_result aw_store_user_add(aw_store *s, const aw_user *u)
{
    aw_store_row row;

    AW_ENSURE(s != NULL && u != NULL, AW_E_INVALID_ARG);
    begin(s);
    AW_GUARD(user_to_row(s, u, &row));
    AW_GUARD(s->ops->user_insert(s->backend, &row));
    signal_changed(s);
    return AW_OK;
}

/* Row to user without the key; AW_E_CORRUPT for values no authwire wrote. */
static aw_result row_to_user(aw_store *s, const aw_store_row *row, aw_user *out)
{
    memset(out, 0, sizeof(*out));
    if (!alg_valid(row->alg) || !mode_valid(row->mode) || !aw_user_name_valid(row->name)) {
        snprintf(s->error, sizeof(s->error), "user row '%.64s' has an unknown algorithm or mode",
                 row->name);
        return AW_E_CORRUPT;
    }
    memcpy(out->name, row->name, sizeof(out->name));
    out->alg = (aw_alg)row->alg;
    out->mode = (aw_fresh_mode)row->mode;
    out->created_at = row->created_at;
    out->revoked_at = row->revoked_at;
    out->seq_high_water = row->seq_high_water;
    out->next_key_at = row->next_key_at;
    out->rotated_at = row->rotated_at;
    return AW_OK;
}

/* Opens a sealed user key of row (the key or the pending one) into key / *key_len. */
static aw_result unseal_user_key(aw_store *s, const aw_store_row *row, const uint8_t *sealed,
                                 size_t sealed_len, uint8_t *key, size_t *key_len)
{
    uint8_t aad[128];
    size_t aad_len = seal_aad(aad, sizeof(aad), (aw_alg)row->alg, row->name);
    aw_result r =
        aw_aead_open(s->master, aad, aad_len, sealed, sealed_len, key, AW_USER_KEY_MAX, key_len);
    if (r != AW_OK) {
        snprintf(s->error, sizeof(s->error),
                 "the key of user '%s' does not unseal: another master.key, or the row was "
                 "altered",
                 row->name);
        return AW_E_CORRUPT;
    }
    return key_len_valid((aw_alg)row->alg, *key_len) ? AW_OK : AW_E_CORRUPT;
}

aw_result aw_store_user_get(aw_store *s, const char *name, aw_user *out)
{
    aw_store_row row;
    aw_result r;

    AW_ENSURE(s != NULL && out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    begin(s);
    /* A name that cannot exist (e.g. a keyid from the network) is simply not found. */
    if (!aw_user_name_valid(name)) {
        return AW_E_NOT_FOUND;
    }
    r = s->ops->user_select(s->backend, name, &row);
    if (r == AW_OK) {
        r = row_to_user(s, &row, out);
    }
    if (r == AW_OK) {
        r = unseal_user_key(s, &row, row.sealed_key, row.sealed_key_len, out->key, &out->key_len);
    }
    /* A pending key and its time come together, or the row was altered. */
    if (r == AW_OK && (row.sealed_next_key_len > 0) != (row.next_key_at != 0)) {
        snprintf(s->error, sizeof(s->error), "user '%s' has a pending key time without a key",
                 name);
        r = AW_E_CORRUPT;
    }
    if (r == AW_OK && row.sealed_next_key_len > 0) {
        r = unseal_user_key(s, &row, row.sealed_next_key, row.sealed_next_key_len, out->next_key,
                            &out->next_key_len);
    }
    if (r != AW_OK) {
        aw_user_wipe(out);
    }
    return r;
}

typedef struct list_ctx {
    aw_store *s;
    aw_store_user_fn fn;
    void *arg;
} list_ctx;

static aw_result list_row(const aw_store_row *row, void *arg)
{
    list_ctx *ctx = arg;
    aw_user u;
    AW_GUARD(row_to_user(ctx->s, row, &u));
    return ctx->fn(&u, ctx->arg);
}

aw_result aw_store_user_list(aw_store *s, aw_store_user_fn fn, void *arg)
{
    list_ctx ctx = {s, fn, arg};
    AW_ENSURE(s != NULL && fn != NULL, AW_E_INVALID_ARG);
    begin(s);
    return s->ops->user_each(s->backend, list_row, &ctx);
}

aw_result aw_store_user_revoke(aw_store *s, const char *name, int64_t now)
{
    AW_ENSURE(s != NULL, AW_E_INVALID_ARG);
    begin(s);
    /* 0 means "active": a revocation needs a real time. */
    AW_ENSURE(now > 0, AW_E_INVALID_ARG);
    if (!aw_user_name_valid(name)) {
        return AW_E_NOT_FOUND;
    }
    aw_result r = s->ops->user_revoke(s->backend, name, now);
    if (r == AW_OK) {
        signal_changed(s);
    }
    return r;
}

aw_result aw_store_user_set_next_key(aw_store *s, const char *name, const uint8_t *key, size_t len,
                                     int64_t now)
{
    aw_store_row row;
    uint8_t aad[128];
    size_t aad_len;

    AW_ENSURE(s != NULL && key != NULL && now > 0, AW_E_INVALID_ARG);
    begin(s);
    if (!aw_user_name_valid(name)) {
        return AW_E_NOT_FOUND;
    }
    /* The algorithm (never changed once a user exists) decides the key's length and is in
     * the associated data. */
    AW_GUARD(s->ops->user_select(s->backend, name, &row));
    if (!alg_valid(row.alg)) {
        snprintf(s->error, sizeof(s->error), "user row '%s' has an unknown algorithm", name);
        return AW_E_CORRUPT;
    }
    AW_ENSURE(key_len_valid((aw_alg)row.alg, len), AW_E_INVALID_ARG);
    aad_len = seal_aad(aad, sizeof(aad), (aw_alg)row.alg, name);
    AW_GUARD(aw_aead_seal(s->master, aad, aad_len, key, len, row.sealed_next_key,
                          sizeof(row.sealed_next_key), &row.sealed_next_key_len));
    AW_GUARD(s->ops->user_set_next_key(s->backend, name, row.sealed_next_key,
                                       row.sealed_next_key_len, now));
    signal_changed(s);
    return AW_OK;
}

aw_result aw_store_user_promote_next_key(aw_store *s, const char *name, int64_t now)
{
    AW_ENSURE(s != NULL && now > 0, AW_E_INVALID_ARG);
    begin(s);
    if (!aw_user_name_valid(name)) {
        return AW_E_NOT_FOUND;
    }
    AW_GUARD(s->ops->user_promote_next_key(s->backend, name, now));
    signal_changed(s);
    return AW_OK;
}

/* Associated data of a sealed invite PSK: a domain label and every field of the row that
 * never changes, so that none can be altered (an invite renamed, its algorithm switched or
 * its life extended) without the PSK failing to open. */
static size_t invite_aad(uint8_t *aad, size_t cap, const uint8_t *id, const char *name, int64_t alg,
                         int64_t mode, int64_t created_at, int64_t expires_at)
{
    static const char label[] = "authwire/1 sealed invite psk";
    size_t name_len = strlen(name);
    size_t n = 0;
    if (sizeof(label) + AW_INVITE_ID_LEN + 2 + 16 + name_len > cap) {
        return 0;
    }
    memcpy(aad, label, sizeof(label)); /* with its NUL, as a separator */
    n += sizeof(label);
    memcpy(aad + n, id, AW_INVITE_ID_LEN);
    n += AW_INVITE_ID_LEN;
    aad[n++] = (uint8_t)alg;
    aad[n++] = (uint8_t)mode;
    for (int i = 7; i >= 0; i--) {
        aad[n++] = (uint8_t)((uint64_t)created_at >> (8 * i));
    }
    for (int i = 7; i >= 0; i--) {
        aad[n++] = (uint8_t)((uint64_t)expires_at >> (8 * i));
    }
    memcpy(aad + n, name, name_len);
    return n + name_len;
}

static size_t invite_row_aad(uint8_t *aad, size_t cap, const aw_store_invite_row *row)
{
    return invite_aad(aad, cap, row->id, row->name, row->alg, row->mode, row->created_at,
                      row->expires_at);
}

aw_result aw_store_invite_add(aw_store *s, const aw_invite *inv)
{
    aw_store_invite_row row;
    uint8_t aad[160];
    size_t aad_len;

    AW_ENSURE(s != NULL && inv != NULL, AW_E_INVALID_ARG);
    begin(s);
    AW_ENSURE(aw_user_name_valid(inv->name), AW_E_INVALID_ARG);
    AW_ENSURE(alg_valid(inv->alg) && mode_valid(inv->mode), AW_E_INVALID_ARG);
    AW_ENSURE(inv->created_at > 0 && inv->expires_at > inv->created_at, AW_E_INVALID_ARG);
    /* A new invite is pending. */
    AW_ENSURE(inv->used_at == 0 && inv->revoked_at == 0 && inv->done_len == 0, AW_E_INVALID_ARG);

    memset(&row, 0, sizeof(row));
    memcpy(row.id, inv->id, sizeof(row.id));
    memcpy(row.name, inv->name, strlen(inv->name) + 1);
    row.alg = inv->alg;
    row.mode = inv->mode;
    row.created_at = inv->created_at;
    row.expires_at = inv->expires_at;
    aad_len = invite_row_aad(aad, sizeof(aad), &row);
    AW_GUARD(aw_aead_seal(s->master, aad, aad_len, inv->psk, sizeof(inv->psk), row.sealed_psk,
                          sizeof(row.sealed_psk), &row.sealed_psk_len));
    return s->ops->invite_insert(s->backend, &row);
}

aw_result aw_store_invite_issue(aw_store *s, aw_invite *inv, const uint8_t fp[AW_ENROLL_FP_LEN],
                                char text[AW_ENROLL_TOKEN_TEXT])
{
    aw_enroll_token token;
    AW_ENSURE(s != NULL && inv != NULL && fp != NULL && text != NULL, AW_E_INVALID_ARG);
    memset(&token, 0, sizeof(token));
    aw_result r = aw_random(inv->id, sizeof(inv->id));
    if (r == AW_OK) {
        r = aw_random(token.secret, sizeof(token.secret));
    }
    if (r == AW_OK) {
        memcpy(token.invite_id, inv->id, sizeof(inv->id));
        memcpy(token.fingerprint, fp, AW_ENROLL_FP_LEN);
        r = aw_enroll_invite_psk(inv->id, token.secret, inv->psk);
    }
    if (r == AW_OK) {
        r = aw_enroll_token_encode(&token, text);
    }
    aw_wipe(&token, sizeof(token));
    if (r == AW_OK) {
        r = aw_store_invite_add(s, inv);
    }
    aw_invite_wipe(inv); /* the PSK is sealed in the store now, or nowhere */
    if (r != AW_OK) {
        aw_wipe(text, AW_ENROLL_TOKEN_TEXT);
    }
    return r;
}

/* Row to invite without the PSK; AW_E_CORRUPT for values no authwire wrote. */
static aw_result row_to_invite(aw_store *s, const aw_store_invite_row *row, aw_invite *out)
{
    memset(out, 0, sizeof(*out));
    /* Used: with the CONFIRM hash and the DONE answered; unused: with neither. */
    bool proof = row->confirm_hash_len == AW_SHA256_LEN && row->done_len > 0;
    bool no_proof = row->confirm_hash_len == 0 && row->done_len == 0;
    if (!alg_valid(row->alg) || !mode_valid(row->mode) || !aw_user_name_valid(row->name) ||
        row->done_len > sizeof(out->done) || !(row->used_at != 0 ? proof : no_proof)) {
        snprintf(s->error, sizeof(s->error), "invite row for '%.64s' has out-of-range values",
                 row->name);
        return AW_E_CORRUPT;
    }
    memcpy(out->id, row->id, sizeof(out->id));
    memcpy(out->name, row->name, sizeof(out->name));
    out->alg = (aw_alg)row->alg;
    out->mode = (aw_fresh_mode)row->mode;
    out->created_at = row->created_at;
    out->expires_at = row->expires_at;
    out->used_at = row->used_at;
    out->revoked_at = row->revoked_at;
    if (row->used_at != 0) {
        memcpy(out->confirm_hash, row->confirm_hash, sizeof(out->confirm_hash));
        memcpy(out->done, row->done, row->done_len);
        out->done_len = row->done_len;
    }
    return AW_OK;
}

aw_result aw_store_invite_get(aw_store *s, const uint8_t id[AW_INVITE_ID_LEN], aw_invite *out)
{
    aw_store_invite_row row;
    uint8_t aad[160];
    size_t aad_len, psk_len = 0;
    aw_result r;

    AW_ENSURE(s != NULL && id != NULL && out != NULL, AW_E_INVALID_ARG);
    memset(out, 0, sizeof(*out));
    begin(s);
    AW_GUARD(s->ops->invite_select(s->backend, id, &row));
    AW_GUARD(row_to_invite(s, &row, out));
    /* A pending invite has its sealed PSK; a spent one has none left. */
    if (out->used_at != 0 || out->revoked_at != 0) {
        if (row.sealed_psk_len == 0) {
            return AW_OK;
        }
        snprintf(s->error, sizeof(s->error), "a spent invite for '%s' still holds a PSK",
                 out->name);
        return AW_E_CORRUPT;
    }
    aad_len = invite_row_aad(aad, sizeof(aad), &row);
    r = aw_aead_open(s->master, aad, aad_len, row.sealed_psk, row.sealed_psk_len, out->psk,
                     sizeof(out->psk), &psk_len);
    if (r != AW_OK || psk_len != sizeof(out->psk)) {
        aw_invite_wipe(out);
        snprintf(s->error, sizeof(s->error),
                 "the PSK of the invite for '%s' does not unseal: another master.key, or the "
                 "row was altered",
                 out->name);
        return AW_E_CORRUPT;
    }
    return AW_OK;
}

typedef struct invite_list_ctx {
    aw_store *s;
    aw_store_invite_fn fn;
    void *arg;
} invite_list_ctx;

static aw_result list_invite_row(const aw_store_invite_row *row, void *arg)
{
    invite_list_ctx *ctx = arg;
    aw_invite inv;
    AW_GUARD(row_to_invite(ctx->s, row, &inv));
    return ctx->fn(&inv, ctx->arg);
}

aw_result aw_store_invite_list(aw_store *s, aw_store_invite_fn fn, void *arg)
{
    invite_list_ctx ctx = {s, fn, arg};
    AW_ENSURE(s != NULL && fn != NULL, AW_E_INVALID_ARG);
    begin(s);
    return s->ops->invite_each(s->backend, list_invite_row, &ctx);
}

aw_result aw_store_invite_revoke(aw_store *s, const uint8_t id[AW_INVITE_ID_LEN], int64_t now)
{
    AW_ENSURE(s != NULL && id != NULL && now > 0, AW_E_INVALID_ARG);
    begin(s);
    return s->ops->invite_revoke(s->backend, id, now);
}

aw_result aw_store_invite_redeem(aw_store *s, const uint8_t id[AW_INVITE_ID_LEN], const aw_user *u,
                                 const uint8_t confirm_hash[AW_SHA256_LEN], const uint8_t *done,
                                 size_t done_len, int64_t now)
{
    aw_store_row row;
    group_item item;

    AW_ENSURE(s != NULL && id != NULL && u != NULL && confirm_hash != NULL && done != NULL,
              AW_E_INVALID_ARG);
    begin(s);
    AW_ENSURE(done_len > 0 && done_len <= AW_ENROLL_DONE_MAX && now > 0, AW_E_INVALID_ARG);
    AW_GUARD(user_to_row(s, u, &row));
    memset(&item, 0, sizeof(item));
    item.redeem = (aw_store_redeem){id, &row, confirm_hash, done, done_len, now, AW_E_STORE, ""};
    aw_result r = group_redeem(s, &item);
    if (r != AW_OK) {
        /* The leader's connection had the message, which came with the result. */
        snprintf(s->error, sizeof(s->error), "%s", item.redeem.error);
        return r;
    }
    signal_changed(s);
    return AW_OK;
}

aw_result aw_store_seq_advance(aw_store *s, const char *name, uint64_t high_water)
{
    AW_ENSURE(s != NULL, AW_E_INVALID_ARG);
    begin(s);
    AW_ENSURE(high_water <= (uint64_t)INT64_MAX, AW_E_INVALID_ARG);
    if (!aw_user_name_valid(name)) {
        return AW_E_NOT_FOUND;
    }
    return s->ops->seq_advance(s->backend, name, high_water);
}

aw_result aw_store_created_advance(aw_store *s, int64_t created)
{
    AW_ENSURE(s != NULL, AW_E_INVALID_ARG);
    begin(s);
    return s->ops->created_advance(s->backend, created);
}

aw_result aw_store_created_high_water(aw_store *s, int64_t *out)
{
    AW_ENSURE(s != NULL && out != NULL, AW_E_INVALID_ARG);
    begin(s);
    return s->ops->created_get(s->backend, out);
}

aw_result aw_store_users_generation(aw_store *s, uint64_t *out)
{
    AW_ENSURE(s != NULL && out != NULL, AW_E_INVALID_ARG);
    begin(s);
    /* The database is read when another process signalled a change, and once a second
     * anyway (a writer that died between its commit and its signal is seen that late). */
    uint64_t changed = __atomic_load_n(s->changed, __ATOMIC_ACQUIRE);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (!s->have_generation || changed != s->changed_seen || ts.tv_sec != s->generation_checked) {
        AW_GUARD(s->ops->users_generation(s->backend, &s->generation));
        s->changed_seen = changed;
        s->generation_checked = ts.tv_sec;
        s->have_generation = true;
    }
    *out = s->generation;
    return AW_OK;
}

aw_result aw_store_check(aw_store *s)
{
    AW_ENSURE(s != NULL, AW_E_INVALID_ARG);
    begin(s);
    return s->ops->check(s->backend);
}
