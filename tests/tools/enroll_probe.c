/* aw-enroll-probe: drives authwired's enrollment and rotation endpoints for
 * tests/enroll_gateway.sh, frame by frame, so a test can stop, replay, retry or race any
 * step. A test tool, not a client: `authwire enroll` and `authwire rotate` are the client.
 *
 *   aw-enroll-probe enroll URL TOKEN [--out CRED] [--save DIR] [--stop-after welcome]
 *                   [--confirm-twice] [--retry SECONDS] [--cacert FILE]
 *       The whole handshake against URL (the gateway's base URL). Prints "key-sha256 HEX"
 *       (of the derived HMAC key, or of the registered Ed25519 public key) and exits 0.
 *       --save DIR writes the frames (key, hello, welcome, confirm, done) there; with
 *       --stop-after welcome the CONFIRM is made and saved but not sent (a pending session
 *       stays behind). --confirm-twice sends the CONFIRM again after DONE and fails unless
 *       the second DONE is byte for byte the first. --retry keeps re-sending the CONFIRM
 *       while the gateway cannot be reached (it is being restarted), up to SECONDS.
 *       --out writes a credential file for `authwire request`.
 *   aw-enroll-probe rotate CRED --out NEWCRED [--save DIR]
 *       The rotation handshake in requests signed with CRED's key; the new key goes to
 *       NEWCRED (pending on the server until a request signed with it promotes it).
 *   aw-enroll-probe post URL FILE [--out FILE]
 *       POSTs FILE's bytes to URL (a full URL), prints "STATUS AUTHWIRE-ERROR" ("-" when
 *       none) and writes the answer's body to --out.
 *
 * Exit: 0 done; 1 the gateway refused (stderr says which step, the status and
 * Authwire-Error); 2 usage; 3 the gateway could not be reached. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "authwire/exchange.h"
#include "client.h"
#include "credentials.h"
#include "files.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_NETWORK 3

typedef struct options {
    const char *out, *save, *stop_after, *cacert;
    bool confirm_twice;
    double retry;
} options;

typedef struct answer {
    long status;
    char error[64];
    uint8_t body[AW_ENROLL_FRAME_MAX + 1];
    size_t len;
    bool overflow;
} answer;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    if (a->len + len > sizeof(a->body)) {
        a->overflow = true;
        return 0;
    }
    memcpy(a->body + a->len, p, len);
    a->len += len;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    const char name[] = "authwire-error:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t at = sizeof(name) - 1;
        while (at < len && p[at] == ' ') {
            at++;
        }
        size_t end = len;
        while (end > at && (p[end - 1] == '\r' || p[end - 1] == '\n')) {
            end--;
        }
        snprintf(a->error, sizeof(a->error), "%.*s", (int)(end - at), p + at);
    }
    return len;
}

/* One unsigned exchange: GET when body is NULL, else POST. AW_E_IO when unreachable. */
static aw_result http(const char *url, const char *cacert, const uint8_t *body, size_t len,
                      answer *a)
{
    memset(a, 0, sizeof(*a));
    CURL *c = curl_easy_init();
    if (c == NULL) {
        return AW_E_INTERNAL;
    }
    struct curl_slist *fields = curl_slist_append(NULL, "Content-Type: " AW_ENROLL_CONTENT_TYPE);
    fields = curl_slist_append(fields, "Expect:"); /* the body at once, no 100-continue */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (cacert != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, cacert);
    }
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, fields);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(fields);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK && !a->overflow) {
        fprintf(stderr, "aw-enroll-probe: %s: %s\n", url, curl_easy_strerror(rc));
        return AW_E_IO;
    }
    return a->overflow ? AW_E_TOO_LARGE : AW_OK;
}

static int refused(const char *step, const answer *a)
{
    fprintf(stderr, "aw-enroll-probe: %s: HTTP %ld %s\n", step, a->status,
            a->error[0] != '\0' ? a->error : "-");
    return EXIT_REFUSED;
}

static int failed(const char *step, aw_result r)
{
    fprintf(stderr, "aw-enroll-probe: %s: %s (%s)\n", step, aw_result_reason(r), aw_result_name(r));
    return r == AW_E_IO ? EXIT_NETWORK : EXIT_REFUSED;
}

static void save(const options *o, const char *name, const uint8_t *data, size_t len)
{
    if (o->save == NULL) {
        return;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", o->save, name);
    if (aw_file_write_atomic(path, data, len, 0600, 0) != AW_OK) {
        fprintf(stderr, "aw-enroll-probe: cannot write %s: %s\n", path, strerror(errno));
        exit(EXIT_USAGE);
    }
}

static void print_key_hash(const uint8_t *key, size_t len)
{
    uint8_t h[AW_SHA256_LEN];
    char hex[2 * AW_SHA256_LEN + 1];
    if (aw_sha256(key, len, h) != AW_OK) {
        exit(EXIT_REFUSED);
    }
    aw_hex_encode(h, sizeof(h), hex);
    printf("key-sha256 %s\n", hex);
}

/* The credential of a finished handshake: the HMAC key, or the Ed25519 private key. */
static aw_result write_credentials(const char *path, const char *url, const aw_enroll_client *c,
                                   aw_ed25519_key *user, const aw_credentials *like)
{
    aw_credentials cred;
    uint8_t secret[AW_ENROLL_KEY_LEN];
    char pem[512];
    char *ca = NULL;
    size_t pem_len = 0;
    memset(&cred, 0, sizeof(cred));
    cred.url = (char *)url;
    cred.keyid = (char *)c->params.name;
    cred.alg = c->params.alg;
    cred.mode = c->params.mode;
    memcpy(cred.server_public_key, c->params.server_public_key, sizeof(cred.server_public_key));
    aw_result r = AW_OK;
    if (user != NULL) {
        r = aw_ed25519_private_pem(user, pem, sizeof(pem), &pem_len);
        cred.private_pem = pem;
    } else {
        r = aw_enroll_client_user_key(c, secret);
        cred.secret = secret;
        cred.secret_len = sizeof(secret);
    }
    if (like != NULL) {
        cred.ca_pem = like->ca_pem;
    } else if (c->params.ca_pem_len > 0) {
        ca = calloc(1, c->params.ca_pem_len + 1);
        r = ca != NULL ? r : AW_E_INTERNAL;
        if (ca != NULL) {
            memcpy(ca, c->params.ca_pem, c->params.ca_pem_len);
        }
        cred.ca_pem = ca;
    }
    if (r == AW_OK) {
        r = aw_credentials_write(path, &cred);
    }
    free(ca);
    aw_wipe(secret, sizeof(secret));
    aw_wipe(pem, sizeof(pem));
    return r;
}

/* The key the handshake registers: the derived HMAC key, or the Ed25519 public key. */
static aw_result registered_key(const aw_enroll_client *c, aw_ed25519_key *user,
                                uint8_t key[AW_ENROLL_KEY_LEN])
{
    return user != NULL ? aw_ed25519_public(user, key) : aw_enroll_client_user_key(c, key);
}

static aw_result make_hello(aw_enroll_client *c, const answer *key, uint8_t *hello,
                            size_t *hello_len)
{
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    AW_GUARD(aw_x25519_keypair(e, e_pub));
    aw_result r = aw_enroll_client_hello(c, key->body, key->len, e, hello, 128, hello_len);
    aw_wipe(e, sizeof(e));
    return r;
}

/* WELCOME read: the user's key (Ed25519 invites) and CONFIRM. */
static aw_result make_confirm(aw_enroll_client *c, const answer *welcome, aw_ed25519_key **user,
                              uint8_t *confirm, size_t *confirm_len)
{
    AW_GUARD(aw_enroll_client_welcome(c, welcome->body, welcome->len));
    if (c->params.alg == AW_ALG_ED25519) {
        AW_GUARD(aw_ed25519_generate(user));
    }
    return aw_enroll_client_confirm(c, *user, confirm, 256, confirm_len);
}

/* Sends CONFIRM, again while the gateway cannot be reached, up to o->retry seconds. */
static aw_result send_confirm(const char *url, const options *o, const uint8_t *confirm, size_t len,
                              answer *a)
{
    struct timespec start, now, pause = {0, 100 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        aw_result r = http(url, o->cacert, confirm, len, a);
        clock_gettime(CLOCK_MONOTONIC, &now);
        double spent =
            (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (r != AW_E_IO || spent >= o->retry) {
            return r;
        }
        nanosleep(&pause, NULL);
    }
}

static int enroll(const char *base, const char *text, const options *o)
{
    char url[2048];
    aw_enroll_token t;
    aw_enroll_client c;
    aw_ed25519_key *user = NULL;
    uint8_t hello[128], confirm[256], key[AW_ENROLL_KEY_LEN];
    size_t hello_len = 0, confirm_len = 0;
    static answer a_key, a_welcome, a_done, a_again;
    int rc = 0;

    snprintf(url, sizeof(url), "%s%s", base, AW_ENROLL_PATH);
    aw_result r = aw_enroll_token_decode(text, strlen(text), &t);
    if (r != AW_OK) {
        return failed("token", r);
    }
    r = aw_enroll_client_init(&c, &t);
    aw_wipe(&t, sizeof(t));
    if (r == AW_OK) {
        r = http(url, o->cacert, NULL, 0, &a_key);
    }
    if (r != AW_OK || a_key.status != 200) {
        aw_enroll_client_wipe(&c);
        return r != AW_OK ? failed("KEY", r) : refused("KEY", &a_key);
    }
    save(o, "key", a_key.body, a_key.len);
    r = make_hello(&c, &a_key, hello, &hello_len);
    if (r == AW_OK) {
        save(o, "hello", hello, hello_len);
        r = http(url, o->cacert, hello, hello_len, &a_welcome);
    }
    if (r != AW_OK || a_welcome.status != 200) {
        aw_enroll_client_wipe(&c);
        return r != AW_OK ? failed("HELLO", r) : refused("HELLO", &a_welcome);
    }
    save(o, "welcome", a_welcome.body, a_welcome.len);
    r = make_confirm(&c, &a_welcome, &user, confirm, &confirm_len);
    if (r == AW_OK) {
        save(o, "confirm", confirm, confirm_len);
    }
    if (r == AW_OK && o->stop_after != NULL) {
        printf("stopped after welcome\n");
    } else if (r == AW_OK) {
        r = send_confirm(url, o, confirm, confirm_len, &a_done);
        if (r == AW_OK && a_done.status != 200) {
            rc = refused("CONFIRM", &a_done);
        }
    }
    if (rc == 0 && r == AW_OK && o->stop_after == NULL) {
        save(o, "done", a_done.body, a_done.len);
        r = aw_enroll_client_done(&c, a_done.body, a_done.len);
    }
    if (rc == 0 && r == AW_OK && o->stop_after == NULL && o->confirm_twice) {
        r = http(url, o->cacert, confirm, confirm_len, &a_again);
        if (r == AW_OK && (a_again.status != 200 || a_again.len != a_done.len ||
                           memcmp(a_again.body, a_done.body, a_done.len) != 0)) {
            fprintf(stderr, "aw-enroll-probe: the retried CONFIRM got another answer\n");
            rc = refused("CONFIRM again", &a_again);
        } else if (r == AW_OK) {
            printf("confirm-twice: the same DONE\n");
        }
    }
    if (rc == 0 && r == AW_OK && o->stop_after == NULL) {
        r = registered_key(&c, user, key);
        if (r == AW_OK && o->out != NULL) {
            r = write_credentials(o->out, base, &c, user, NULL);
        }
        if (r == AW_OK) {
            print_key_hash(key, sizeof(key));
        }
    }
    if (rc == 0 && r != AW_OK) {
        rc = failed("handshake", r);
    }
    aw_wipe(key, sizeof(key));
    aw_ed25519_free(user);
    aw_enroll_client_wipe(&c);
    return rc;
}

/* ---- rotation ------------------------------------------------------------------------------ */

/* One request signed with cred, its verified answer in a. */
static aw_result signed_post(const aw_credentials *cred, const char *path, const uint8_t *body,
                             size_t len, answer *a)
{
    const char *fields[] = {"Content-Type: " AW_ENROLL_CONTENT_TYPE};
    aw_client_request rq = {.method = "POST",
                            .url = AW_ROTATE_PATH,
                            .fields = fields,
                            .n_fields = 1,
                            .body = body,
                            .body_len = len};
    aw_client_response resp;
    char why[256] = "";
    memset(a, 0, sizeof(*a));
    aw_result r = aw_client_send(cred, path, &rq, &resp, why, sizeof(why));
    if (r != AW_OK) {
        fprintf(stderr, "aw-enroll-probe: %s\n", why);
        return r;
    }
    a->status = resp.status;
    snprintf(a->error, sizeof(a->error), "%s", resp.error);
    if (!resp.verified) {
        r = resp.why;
    } else if (resp.body_len > sizeof(a->body)) {
        r = AW_E_TOO_LARGE;
    } else {
        memcpy(a->body, resp.body, resp.body_len);
        a->len = resp.body_len;
    }
    aw_client_response_free(&resp);
    return r;
}

/* The current key's bytes the rotation PSK is made from: the HMAC secret, or the Ed25519
 * public key. */
static aw_result current_key(const aw_credentials *cred, uint8_t *key, size_t *len)
{
    if (cred->alg == AW_ALG_HMAC_SHA256) {
        AW_ENSURE(cred->secret_len <= AW_ENROLL_KEY_LEN, AW_E_KEY_INVALID);
        memcpy(key, cred->secret, cred->secret_len);
        *len = cred->secret_len;
        return AW_OK;
    }
    aw_ed25519_key *k = NULL;
    AW_GUARD(aw_ed25519_from_pem(cred->private_pem, strlen(cred->private_pem), &k));
    aw_result r = aw_ed25519_public(k, key);
    aw_ed25519_free(k);
    *len = AW_ED25519_PUBLIC_LEN;
    return r;
}

static void copy_state(const char *from, const char *to)
{
    char a[4096], b[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(a, sizeof(a), "%s.state", from);
    snprintf(b, sizeof(b), "%s.state", to);
    if (aw_file_read(a, 4096, 0, &data, &len) == AW_OK) {
        if (aw_file_write_atomic(b, data, len, 0600, 0) != AW_OK) {
            fprintf(stderr, "aw-enroll-probe: cannot write %s\n", b);
        }
        aw_file_free(data, len);
    }
}

static int rotate(const char *path, const options *o)
{
    aw_credentials cred;
    const char *why = NULL;
    aw_enroll_client c;
    aw_ed25519_key *user = NULL;
    uint8_t cur[AW_ENROLL_KEY_LEN], fp[AW_ENROLL_FP_LEN], key[AW_ENROLL_KEY_LEN];
    uint8_t hello[128], confirm[256];
    size_t cur_len = 0, hello_len = 0, confirm_len = 0;
    char url[2048];
    static answer a_key, a_welcome, a_done;
    int rc = 0;

    if (o->out == NULL) {
        fprintf(stderr, "aw-enroll-probe: rotate needs --out NEWCRED\n");
        return EXIT_USAGE;
    }
    aw_result r = aw_credentials_read(path, &cred, &why);
    if (r != AW_OK) {
        fprintf(stderr, "aw-enroll-probe: %s: %s\n", path, why != NULL ? why : "unreadable");
        return EXIT_USAGE;
    }
    memset(&c, 0, sizeof(c));
    /* A test tool trusts the KEY it fetches; the real client pins it from enrollment. */
    snprintf(url, sizeof(url), "%s%s", cred.url, AW_ENROLL_PATH);
    r = http(url, NULL, NULL, 0, &a_key);
    if (r == AW_OK && a_key.status == 200 && a_key.len == 2 + AW_X25519_PUBLIC_LEN) {
        r = aw_enroll_fingerprint(a_key.body + 2, fp);
    } else if (r == AW_OK) {
        r = AW_E_MALFORMED;
    }
    if (r == AW_OK) {
        r = current_key(&cred, cur, &cur_len);
    }
    if (r == AW_OK) {
        r = aw_enroll_client_init_rotation(&c, cred.keyid, cur, cur_len, fp);
    }
    if (r == AW_OK) {
        r = make_hello(&c, &a_key, hello, &hello_len);
    }
    if (r == AW_OK) {
        save(o, "hello", hello, hello_len);
        r = signed_post(&cred, path, hello, hello_len, &a_welcome);
    }
    if (r == AW_OK && a_welcome.status != 200) {
        rc = refused("rotation HELLO", &a_welcome);
    }
    if (rc == 0 && r == AW_OK) {
        save(o, "welcome", a_welcome.body, a_welcome.len);
        r = make_confirm(&c, &a_welcome, &user, confirm, &confirm_len);
    }
    if (rc == 0 && r == AW_OK && strcmp(c.params.name, cred.keyid) != 0) {
        r = AW_E_HANDSHAKE; /* WELCOME for another user */
    }
    if (rc == 0 && r == AW_OK) {
        save(o, "confirm", confirm, confirm_len);
        r = signed_post(&cred, path, confirm, confirm_len, &a_done);
    }
    if (rc == 0 && r == AW_OK && a_done.status != 200) {
        rc = refused("rotation CONFIRM", &a_done);
    }
    if (rc == 0 && r == AW_OK) {
        save(o, "done", a_done.body, a_done.len);
        r = aw_enroll_client_done(&c, a_done.body, a_done.len);
    }
    if (rc == 0 && r == AW_OK) {
        r = registered_key(&c, user, key);
    }
    if (rc == 0 && r == AW_OK) {
        r = write_credentials(o->out, cred.url, &c, user, &cred);
    }
    if (rc == 0 && r == AW_OK) {
        copy_state(path, o->out);
        print_key_hash(key, sizeof(key));
    }
    if (rc == 0 && r != AW_OK) {
        rc = failed("rotation", r);
    }
    aw_wipe(cur, sizeof(cur));
    aw_wipe(key, sizeof(key));
    aw_ed25519_free(user);
    aw_enroll_client_wipe(&c);
    aw_credentials_free(&cred);
    return rc;
}

/* ---- raw frames ---------------------------------------------------------------------------- */

static int post(const char *url, const char *file, const options *o)
{
    uint8_t *data = NULL;
    size_t len = 0;
    static answer a;
    if (aw_file_read(file, 1 << 20, 0, &data, &len) != AW_OK) {
        fprintf(stderr, "aw-enroll-probe: cannot read %s\n", file);
        return EXIT_USAGE;
    }
    aw_result r = http(url, NULL, data, len, &a);
    aw_file_free(data, len);
    if (r != AW_OK) {
        return failed("POST", r);
    }
    printf("%ld %s\n", a.status, a.error[0] != '\0' ? a.error : "-");
    if (o->out != NULL && aw_file_write_atomic(o->out, a.body, a.len, 0600, 0) != AW_OK) {
        fprintf(stderr, "aw-enroll-probe: cannot write %s\n", o->out);
        return EXIT_USAGE;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: aw-enroll-probe enroll URL TOKEN [--out CRED] [--save DIR]\n"
                    "                       [--stop-after welcome] [--confirm-twice]\n"
                    "                       [--retry SECONDS] [--cacert FILE]\n"
                    "       aw-enroll-probe rotate CRED --out NEWCRED [--save DIR]\n"
                    "       aw-enroll-probe post URL FILE [--out FILE]\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    options o = {0};
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--confirm-twice") == 0) {
            o.confirm_twice = true;
        } else if (strcmp(a, "--out") == 0 && has_value) {
            o.out = argv[++i];
        } else if (strcmp(a, "--save") == 0 && has_value) {
            o.save = argv[++i];
        } else if (strcmp(a, "--cacert") == 0 && has_value) {
            o.cacert = argv[++i];
        } else if (strcmp(a, "--retry") == 0 && has_value) {
            o.retry = atof(argv[++i]);
        } else if (strcmp(a, "--stop-after") == 0 && has_value &&
                   strcmp(argv[i + 1], "welcome") == 0) {
            o.stop_after = argv[++i];
        } else if (a[0] == '-' || n_pos == 3) {
            return usage();
        } else {
            pos[n_pos++] = a;
        }
    }
    if (aw_crypto_init() != AW_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return EXIT_REFUSED;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = EXIT_USAGE;
    if (n_pos == 3 && strcmp(pos[0], "enroll") == 0) {
        rc = enroll(pos[1], pos[2], &o);
    } else if (n_pos == 2 && strcmp(pos[0], "rotate") == 0) {
        rc = rotate(pos[1], &o);
    } else if (n_pos == 3 && strcmp(pos[0], "post") == 0) {
        rc = post(pos[1], pos[2], &o);
    } else {
        rc = usage();
    }
    curl_global_cleanup();
    return rc;
}
