/* authwire-enroll-bench: committed enrollments per second against a live authwired
 * (bench/enroll.sh starts it), next to two references measured in the same run:
 *
 *   enroll_http       N enrollments over HTTP/1.1 keep-alive from T threads: GET KEY, HELLO,
 *                     CONFIRM, each DONE checked by the client core (a DONE only comes after
 *                     the gateway's commit, so every counted enrollment is a committed user)
 *   handshake_core    the same handshakes in memory, both sides, no I/O (the CPU floor)
 *   store_user_add    aw_store_user_add of N users, one thread (the storage floor)
 *
 * Invites are written straight into the store first (the admin's part is not measured).
 * Answers are not signature-checked here: the figure is the gateway's capacity, and the
 * client's own verification cost is the request bench's business.
 *
 *   authwire-enroll-bench --data DIR --port P [--count N] [--threads T] [--json FILE] */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "datadir.h"
#include "files.h"
#include "store.h"

#define ENROLL_PATH "/.well-known/authwire/enroll"

typedef struct bench {
    const char *data;
    int port;
    size_t count, threads;
    aw_enroll_token *tokens;
    size_t next; /* next token to enroll, under lock */
    pthread_mutex_t lock;
    size_t committed, failed;
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, aw_result r)
{
    fprintf(stderr, "enroll-bench: %s: %s\n", what, aw_result_reason(r));
    exit(1);
}

/* ---- a minimal HTTP/1.1 keep-alive exchange (the gateway is on loopback) ---- */

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends one request and reads the answer's body into body; returns the status or -1. */
static int exchange(int fd, const char *method, const uint8_t *req, size_t req_len, uint8_t *body,
                    size_t cap, size_t *body_len)
{
    char head[512];
    static _Thread_local char buf[16384];
    size_t have = 0;
    int n = snprintf(head, sizeof(head),
                     "%s " ENROLL_PATH " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/authwire-enroll\r\nContent-Length: %zu\r\n\r\n",
                     method, req_len);
    if (write_all(fd, head, (size_t)n) != 0 || (req_len > 0 && write_all(fd, req, req_len) != 0)) {
        return -1;
    }
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (got <= 0) {
            return -1;
        }
        have += (size_t)got;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL) {
            if (have == sizeof(buf) - 1) {
                return -1;
            }
            continue;
        }
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        if (cl == NULL || cl > end) {
            return -1;
        }
        size_t len = strtoul(cl + 17, NULL, 10);
        size_t head_len = (size_t)(end + 4 - buf);
        if (len > cap || head_len + len > sizeof(buf) - 1) {
            return -1;
        }
        while (have < head_len + len) {
            got = read(fd, buf + have, head_len + len - have);
            if (got <= 0) {
                return -1;
            }
            have += (size_t)got;
        }
        memcpy(body, buf + head_len, len);
        *body_len = len;
        return atoi(buf + 9);
    }
}

/* One enrollment over fd; AW_OK once DONE verified. */
static aw_result enroll_one(int fd, const aw_enroll_token *t)
{
    aw_enroll_client c;
    uint8_t key[64], hello[128], welcome[AW_ENROLL_FRAME_MAX], confirm[256], done[64];
    size_t key_len = 0, hello_len = 0, welcome_len = 0, confirm_len = 0, done_len = 0;
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    aw_result r = aw_enroll_client_init(&c, t);

    if (r == AW_OK && exchange(fd, "GET", NULL, 0, key, sizeof(key), &key_len) != 200) {
        r = AW_E_IO;
    }
    if (r == AW_OK) {
        r = aw_x25519_keypair(e, e_pub);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_hello(&c, key, key_len, e, hello, sizeof(hello), &hello_len);
    }
    aw_wipe(e, sizeof(e));
    if (r == AW_OK &&
        exchange(fd, "POST", hello, hello_len, welcome, sizeof(welcome), &welcome_len) != 200) {
        r = AW_E_IO;
    }
    if (r == AW_OK) {
        r = aw_enroll_client_welcome(&c, welcome, welcome_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_confirm(&c, NULL, confirm, sizeof(confirm), &confirm_len);
    }
    if (r == AW_OK &&
        exchange(fd, "POST", confirm, confirm_len, done, sizeof(done), &done_len) != 200) {
        r = AW_E_IO;
    }
    if (r == AW_OK) {
        r = aw_enroll_client_done(&c, done, done_len);
    }
    aw_enroll_client_wipe(&c);
    return r;
}

static void *worker(void *arg)
{
    bench *b = arg;
    int fd = connect_loopback(b->port);
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < b->count ? b->next++ : SIZE_MAX;
        pthread_mutex_unlock(&b->lock);
        if (i == SIZE_MAX) {
            break;
        }
        aw_result r = fd >= 0 ? enroll_one(fd, &b->tokens[i]) : AW_E_IO;
        if (r == AW_E_IO && fd >= 0) { /* the gateway closed: one fresh connection, one retry */
            close(fd);
            fd = connect_loopback(b->port);
        }
        pthread_mutex_lock(&b->lock);
        if (r == AW_OK) {
            b->committed++;
        } else {
            b->failed++;
            if (b->failed <= 3) {
                fprintf(stderr, "enroll-bench: enrollment %zu: %s\n", i, aw_result_name(r));
            }
        }
        pthread_mutex_unlock(&b->lock);
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

/* ---- set-up and references ---- */

static void make_invites(bench *b, aw_store *s, const uint8_t fp[AW_ENROLL_FP_LEN])
{
    int64_t now = (int64_t)time(NULL);
    b->tokens = calloc(b->count, sizeof(*b->tokens));
    if (b->tokens == NULL) {
        die("tokens", AW_E_INTERNAL);
    }
    for (size_t i = 0; i < b->count; i++) {
        aw_invite inv;
        memset(&inv, 0, sizeof(inv));
        aw_enroll_token *t = &b->tokens[i];
        if (aw_random(t->invite_id, sizeof(t->invite_id)) != AW_OK ||
            aw_random(t->secret, sizeof(t->secret)) != AW_OK) {
            die("random", AW_E_CRYPTO);
        }
        memcpy(t->fingerprint, fp, AW_ENROLL_FP_LEN);
        memcpy(inv.id, t->invite_id, sizeof(inv.id));
        snprintf(inv.name, sizeof(inv.name), "bench-%d-%zu", (int)getpid(), i);
        inv.alg = AW_ALG_HMAC_SHA256;
        inv.mode = AW_FRESH_TIMESTAMP;
        inv.created_at = now;
        inv.expires_at = now + 3600;
        aw_result r = aw_enroll_invite_psk(t->invite_id, t->secret, inv.psk);
        if (r == AW_OK) {
            r = aw_store_invite_add(s, &inv);
        }
        aw_invite_wipe(&inv);
        if (r != AW_OK) {
            die("invite add", r);
        }
    }
}

/* Both sides of n handshakes in memory, one thread: the CPU floor per enrollment. */
static double core_handshakes(size_t n, const uint8_t s[32], const uint8_t s_pub[32])
{
    aw_enroll_token t;
    uint8_t psk[32], key[64], hello[128], welcome[1024], confirm[256], done[64];
    uint8_t e[32], e_pub[32], es[32], es_pub[32], session[16] = {0};
    size_t key_len, hello_len, welcome_len, confirm_len, done_len;
    aw_enroll_params p;
    memset(&p, 0, sizeof(p));
    strcpy(p.name, "bench");
    p.alg = AW_ALG_HMAC_SHA256;
    memset(&t, 7, sizeof(t));
    if (aw_enroll_fingerprint(s_pub, t.fingerprint) != AW_OK ||
        aw_enroll_invite_psk(t.invite_id, t.secret, psk) != AW_OK ||
        aw_enroll_key_frame(s_pub, key, sizeof(key), &key_len) != AW_OK) {
        die("core set-up", AW_E_INTERNAL);
    }
    double start = now_s();
    for (size_t i = 0; i < n; i++) {
        aw_enroll_client c;
        aw_enroll_server st;
        aw_enroll_frame f;
        aw_enroll_confirmation conf;
        aw_result r = aw_enroll_client_init(&c, &t);
        r = r == AW_OK ? aw_x25519_keypair(e, e_pub) : r;
        r = r == AW_OK
                ? aw_enroll_client_hello(&c, key, key_len, e, hello, sizeof(hello), &hello_len)
                : r;
        r = r == AW_OK ? aw_enroll_frame_parse(hello, hello_len, &f) : r;
        r = r == AW_OK ? aw_x25519_keypair(es, es_pub) : r;
        aw_enroll_server_keys keys = {s, es, psk, NULL};
        r = r == AW_OK ? aw_enroll_server_welcome(&st, &f, &keys, session, &p, welcome,
                                                  sizeof(welcome), &welcome_len)
                       : r;
        r = r == AW_OK ? aw_enroll_client_welcome(&c, welcome, welcome_len) : r;
        r = r == AW_OK ? aw_enroll_client_confirm(&c, NULL, confirm, sizeof(confirm), &confirm_len)
                       : r;
        r = r == AW_OK ? aw_enroll_frame_parse(confirm, confirm_len, &f) : r;
        r = r == AW_OK ? aw_enroll_server_confirm(&st, &f, &conf, 1, done, sizeof(done), &done_len)
                       : r;
        r = r == AW_OK ? aw_enroll_client_done(&c, done, done_len) : r;
        aw_enroll_client_wipe(&c);
        aw_enroll_server_wipe(&st);
        if (r != AW_OK) {
            die("core handshake", r);
        }
    }
    aw_wipe(e, sizeof(e));
    aw_wipe(es, sizeof(es));
    return (double)n / (now_s() - start);
}

static double store_adds(aw_store *s, size_t n)
{
    double start = now_s();
    for (size_t i = 0; i < n; i++) {
        aw_user u;
        memset(&u, 0, sizeof(u));
        snprintf(u.name, sizeof(u.name), "floor-%d-%zu", (int)getpid(), i);
        u.alg = AW_ALG_HMAC_SHA256;
        u.key_len = 32;
        u.created_at = (int64_t)time(NULL);
        aw_result r = aw_random(u.key, 32);
        r = r == AW_OK ? aw_store_user_add(s, &u) : r;
        aw_user_wipe(&u);
        if (r != AW_OK) {
            die("user add", r);
        }
    }
    return (double)n / (now_s() - start);
}

static const char usage[] =
    "usage: authwire-enroll-bench --data DIR --port P [--count N] [--threads T] [--json FILE]\n";

int main(int argc, char **argv)
{
    bench b = {.count = 2000, .threads = 8};
    const char *json = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--data") == 0) {
            b.data = argv[i + 1];
        } else if (strcmp(argv[i], "--port") == 0) {
            b.port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--count") == 0) {
            b.count = strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--threads") == 0) {
            b.threads = strtoul(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--json") == 0) {
            json = argv[i + 1];
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (b.data == NULL || b.port <= 0 || b.count == 0 || b.threads == 0 || b.threads > 256) {
        fputs(usage, stderr);
        return 2;
    }
    pthread_mutex_init(&b.lock, NULL);

    aw_store *s = NULL;
    aw_result r = aw_store_open(b.data, &s);
    if (r != AW_OK) {
        die("store open", r);
    }
    char path[4096];
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    uint8_t x_priv[32], x_pub[32], fp[AW_ENROLL_FP_LEN];
    snprintf(path, sizeof(path), "%s/%s", b.data, AW_DATA_X25519_KEY);
    r = aw_file_read(path, 16384, AW_FILE_PRIVATE, &pem, &pem_len);
    r = r == AW_OK ? aw_x25519_private_from_pem((const char *)pem, pem_len, x_priv) : r;
    r = r == AW_OK ? aw_x25519_public_from_private(x_priv, x_pub) : r;
    r = r == AW_OK ? aw_enroll_fingerprint(x_pub, fp) : r;
    aw_file_free(pem, pem_len);
    if (r != AW_OK) {
        die("server X25519 key", r);
    }

    double t0 = now_s();
    make_invites(&b, s, fp);
    double invite_rate = (double)b.count / (now_s() - t0);

    pthread_t tids[256];
    t0 = now_s();
    for (size_t i = 0; i < b.threads; i++) {
        pthread_create(&tids[i], NULL, worker, &b);
    }
    for (size_t i = 0; i < b.threads; i++) {
        pthread_join(tids[i], NULL);
    }
    double http_s = now_s() - t0;
    double http_rate = (double)b.committed / http_s;

    double core_rate = core_handshakes(b.count < 2000 ? b.count : 2000, x_priv, x_pub);
    double store_rate = store_adds(s, b.count < 1000 ? b.count : 1000);
    aw_wipe(x_priv, sizeof(x_priv));
    aw_store_close(s);

    printf("enroll-bench: %zu enrollments over HTTP from %zu threads in %.2f s: %zu committed, "
           "%zu failed\n",
           b.count, b.threads, http_s, b.committed, b.failed);
    printf("  %-16s %10.0f /s   (goal >= 1000/s)\n", "enroll_http", http_rate);
    printf("  %-16s %10.0f /s   (in memory, both sides, one thread)\n", "handshake_core",
           core_rate);
    printf("  %-16s %10.0f /s   (one thread)\n", "store_user_add", store_rate);
    printf("  %-16s %10.0f /s   (one thread, set-up)\n", "invite_add", invite_rate);
    if (json != NULL) {
        FILE *f = fopen(json, "w");
        if (f == NULL) {
            perror(json);
            return 1;
        }
        fprintf(f,
                "{\"count\": %zu, \"threads\": %zu, \"committed\": %zu, \"failed\": %zu, "
                "\"enroll_http_per_s\": %.1f, \"handshake_core_per_s\": %.1f, "
                "\"store_user_add_per_s\": %.1f, \"invite_add_per_s\": %.1f}\n",
                b.count, b.threads, b.committed, b.failed, http_rate, core_rate, store_rate,
                invite_rate);
        fclose(f);
    }
    free(b.tokens);
    return b.failed == 0 ? 0 : 1;
}
