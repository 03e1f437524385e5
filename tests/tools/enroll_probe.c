/* aw-enroll-probe: drives authwired's enrollment and rotation endpoints for
 * tests/enroll_gateway.sh, frame by frame, so a test can stop, replay, retry or race any
 * step. A test tool, not a client: `authwire enroll` and `authwire rotate` are the client.
 *
 *   aw-enroll-probe enroll URL TOKEN [--out CRED] [--save DIR] [--stop-after welcome]
 *                   [--confirm-twice] [--retry SECONDS] [--cacert FILE]
 *                   [--relay MUTATION [--from DIR]]
 *       The whole handshake against URL (the gateway's base URL). Prints "key-sha256 HEX"
 *       (of the derived HMAC key, or of the registered Ed25519 public key) and exits 0.
 *       --save DIR writes the frames (key, hello, welcome, confirm, done) there; with
 *       --stop-after welcome the CONFIRM is made and saved but not sent (a pending session
 *       stays behind). --confirm-twice sends the CONFIRM again after DONE and fails unless
 *       the second DONE is byte for byte the first. --retry keeps re-sending the CONFIRM
 *       while the gateway cannot be reached (it is being restarted), up to SECONDS.
 *       --out writes a credential file for `authwire request`.
 *
 *       --relay MUTATION: the probe is also a man in the middle between its client core and
 *       the live gateway. HELLO and CONFIRM are changed before they are POSTed, KEY, WELCOME
 *       and DONE after they arrive and before the core reads them (--save keeps each frame
 *       as its sender wrote it, and the changed one as NAME.relayed). MUTATION:
 *         flip:FRAME:BYTE     xor 0x01 into byte BYTE of FRAME (key, hello, welcome,
 *                             confirm, done)
 *         cut:FRAME:LEN       FRAME truncated to LEN bytes
 *         swap-e:hello        the client's ephemeral key (HELLO bytes 18..49) replaced by the
 *                             public key of a key pair the relay makes
 *         swap-e:welcome      the same for the server's ephemeral key (WELCOME bytes 2..33)
 *         swap-key            the same for the server's static key in KEY (the pin must stop
 *                             the client before HELLO)
 *         replay:hello        the HELLO sent twice; the second answer counts
 *         replay:welcome      the client gets the WELCOME of the --from session instead
 *         replay:done         the client gets the DONE of the --from session instead
 *         reorder:confirm-first
 *                             the CONFIRM of the --from session is sent before any HELLO
 *       --from DIR is the --save directory of an earlier run. On a refusal the probe prints
 *       "refused-by gateway STATUS ERROR" or "refused-by client RESULT" (aw_result_name of
 *       what the core returned) and exits 1; a mutation out of the frame's reach exits 2.
 *       When the client refuses a changed DONE the gateway has committed: with
 *       --confirm-twice the genuine CONFIRM goes out again and its DONE goes to the client
 *       state as it was before ("retry: ..." and, when it verifies, "key-sha256" and --out).
 *   aw-enroll-probe rotate CRED --out NEWCRED [--save DIR]
 *       The rotation handshake in requests signed with CRED's key; the new key goes to
 *       NEWCRED (pending on the server until a request signed with it promotes it).
 *   aw-enroll-probe post URL FILE [--out FILE]
 *       POSTs FILE's bytes to URL (a full URL), prints "STATUS AUTHWIRE-ERROR" ("-" when
 *       none) and writes the answer's body to --out.
 *   aw-enroll-probe batch
 *       Runs the commands of stdin's lines (e.g. "enroll URL TOKEN --relay flip:hello:3"),
 *       one after the other in this process, each followed by "exit N" (its exit status) on
 *       stdout and on stderr.
 *
 * Exit: 0 done; 1 the gateway refused (stderr says which step, the status and
 * Authwire-Error) or, with --relay, the client core did; 2 usage; 3 the gateway could not be
 * reached. */
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

/* --relay: what the man in the middle does to the frames (see above). */
typedef enum relay_kind {
    RELAY_NONE,
    RELAY_FLIP,          /* xor 0x01 into one byte */
    RELAY_CUT,           /* truncate */
    RELAY_SWAP,          /* the relay's own X25519 public key where the frame has a key */
    RELAY_REPLAY,        /* hello: sent twice; welcome, done: the --from session's */
    RELAY_CONFIRM_FIRST, /* the --from session's CONFIRM before any HELLO */
} relay_kind;

typedef struct relay {
    relay_kind kind;
    aw_enroll_frame_type frame;
    size_t at; /* flip: the byte; cut: the length left; swap: where the key starts */
} relay;

#define KEY_AT       2                      /* the key in KEY */
#define HELLO_E_AT   (2 + AW_INVITE_ID_LEN) /* the client's ephemeral key in HELLO */
#define WELCOME_E_AT 2                      /* the server's ephemeral key in WELCOME */

typedef struct options {
    const char *out, *save, *stop_after, *cacert, *from;
    bool confirm_twice;
    double retry;
    relay relay;
} options;

typedef struct answer {
    long status;
    char error[64];
    uint8_t body[AW_ENROLL_FRAME_MAX + 1];
    size_t len;
    bool overflow;
} answer;

/* A frame as it leaves the relay. */
typedef struct hop {
    const uint8_t *data;
    size_t len;
    bool changed; /* by the relay */
} hop;

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

static aw_result make_hello(aw_enroll_client *c, const uint8_t *key, size_t key_len, uint8_t *hello,
                            size_t *hello_len)
{
    uint8_t e[AW_X25519_PRIVATE_LEN], e_pub[AW_X25519_PUBLIC_LEN];
    AW_GUARD(aw_x25519_keypair(e, e_pub));
    aw_result r = aw_enroll_client_hello(c, key, key_len, e, hello, 128, hello_len);
    aw_wipe(e, sizeof(e));
    return r;
}

/* WELCOME read: the user's key (Ed25519 invites) and CONFIRM. */
static aw_result make_confirm(aw_enroll_client *c, const uint8_t *welcome, size_t welcome_len,
                              aw_ed25519_key **user, uint8_t *confirm, size_t *confirm_len)
{
    AW_GUARD(aw_enroll_client_welcome(c, welcome, welcome_len));
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

/* ---- the relay (--relay) ------------------------------------------------------------------- */

static const char *const frame_names[] = {"key", "hello", "welcome", "confirm", "done"};

static bool frame_named(const char *name, aw_enroll_frame_type *out)
{
    for (size_t i = 0; i < sizeof(frame_names) / sizeof(frame_names[0]); i++) {
        if (strcmp(name, frame_names[i]) == 0) {
            *out = (aw_enroll_frame_type)i;
            return true;
        }
    }
    return false;
}

/* MUTATION: flip:FRAME:BYTE, cut:FRAME:LEN, or one of the fixed ones below. */
static bool relay_parse(const char *spec, relay *out)
{
    static const struct {
        const char *spec;
        relay kind;
    } fixed[] = {
        {"swap-e:hello", {RELAY_SWAP, AW_ENROLL_HELLO, HELLO_E_AT}},
        {"swap-e:welcome", {RELAY_SWAP, AW_ENROLL_WELCOME, WELCOME_E_AT}},
        {"swap-key", {RELAY_SWAP, AW_ENROLL_KEY, KEY_AT}},
        {"replay:hello", {RELAY_REPLAY, AW_ENROLL_HELLO, 0}},
        {"replay:welcome", {RELAY_REPLAY, AW_ENROLL_WELCOME, 0}},
        {"replay:done", {RELAY_REPLAY, AW_ENROLL_DONE, 0}},
        {"reorder:confirm-first", {RELAY_CONFIRM_FIRST, AW_ENROLL_CONFIRM, 0}},
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (strcmp(spec, fixed[i].spec) == 0) {
            *out = fixed[i].kind;
            return true;
        }
    }
    char verb[8], frame[16];
    unsigned long n = 0;
    int end = 0;
    if (sscanf(spec, "%7[a-z]:%15[a-z]:%lu%n", verb, frame, &n, &end) != 3 || spec[end] != '\0' ||
        !frame_named(frame, &out->frame)) {
        return false;
    }
    out->kind = strcmp(verb, "flip") == 0  ? RELAY_FLIP
                : strcmp(verb, "cut") == 0 ? RELAY_CUT
                                           : RELAY_NONE;
    out->at = n;
    return out->kind != RELAY_NONE;
}

/* FILE of the --from session (a --save directory) into buf. */
static size_t read_from(const options *o, const char *file, uint8_t *buf, size_t cap)
{
    char path[4096];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s", o->from, file);
    if (aw_file_read(path, cap, 0, &data, &len) != AW_OK) {
        fprintf(stderr, "aw-enroll-probe: --from: cannot read %s\n", path);
        exit(EXIT_USAGE);
    }
    memcpy(buf, data, len);
    aw_file_free(data, len);
    return len;
}

/* The relay's change to a frame of len bytes in buf; false when it does not fit the frame. */
static bool relay_change(const options *o, uint8_t *buf, size_t *len, size_t cap)
{
    const relay *m = &o->relay;
    uint8_t priv[AW_X25519_PRIVATE_LEN], pub[AW_X25519_PUBLIC_LEN];
    switch (m->kind) {
    case RELAY_FLIP:
        if (m->at >= *len) {
            return false;
        }
        buf[m->at] ^= 0x01;
        return true;
    case RELAY_CUT:
        if (m->at >= *len) {
            return false;
        }
        *len = m->at;
        return true;
    case RELAY_SWAP: /* a key pair of the relay's own, as a man in the middle would make */
        if (m->at + sizeof(pub) > *len || aw_x25519_keypair(priv, pub) != AW_OK) {
            return false;
        }
        aw_wipe(priv, sizeof(priv));
        memcpy(buf + m->at, pub, sizeof(pub));
        return true;
    case RELAY_REPLAY:
        *len = read_from(o, frame_names[m->frame], buf, cap);
        return true;
    default:
        return false;
    }
}

/* A frame on its way between the client core and the gateway: saved (--save) as its sender
 * wrote it, then changed when the relay's mutation is for it (saved again as NAME.relayed).
 * Returns what the other side gets. Only one frame of a run is changed: buf serves it. */
static hop through_relay(const options *o, aw_enroll_frame_type type, const uint8_t *data,
                         size_t len)
{
    static uint8_t buf[AW_ENROLL_FRAME_MAX + 1];
    const relay *m = &o->relay;
    const char *name = frame_names[type];
    save(o, name, data, len);
    if (m->frame != type || m->kind == RELAY_NONE || m->kind == RELAY_CONFIRM_FIRST ||
        (m->kind == RELAY_REPLAY && type == AW_ENROLL_HELLO)) {
        return (hop){data, len, false};
    }
    size_t n = len;
    memcpy(buf, data, len);
    if (!relay_change(o, buf, &n, sizeof(buf))) {
        fprintf(stderr, "aw-enroll-probe: --relay: the %s frame has %zu bytes: out of reach\n",
                name, len);
        exit(EXIT_USAGE);
    }
    char relayed[32];
    snprintf(relayed, sizeof(relayed), "%s.relayed", name);
    save(o, relayed, buf, n);
    return (hop){buf, n, true};
}

/* Who refused, on stdout with --relay: the gateway (its status and Authwire-Error) ... */
static int gateway_refused(const options *o, const char *step, const answer *a)
{
    if (o->relay.kind != RELAY_NONE) {
        printf("refused-by gateway %ld %s\n", a->status, a->error[0] != '\0' ? a->error : "-");
    }
    return refused(step, a);
}

/* ... or the client core (the result it returned). */
static int client_refused(const options *o, const char *step, aw_result r)
{
    if (o->relay.kind != RELAY_NONE && r != AW_E_IO) {
        printf("refused-by client %s\n", aw_result_name(r));
    }
    return failed(step, r);
}

/* reorder:confirm-first: the --from session's CONFIRM goes out before any HELLO. */
static int confirm_first(const char *url, const options *o)
{
    static uint8_t confirm[AW_ENROLL_FRAME_MAX + 1];
    static answer a;
    size_t len = read_from(o, "confirm", confirm, sizeof(confirm));
    aw_result r = http(url, o->cacert, confirm, len, &a);
    if (r != AW_OK) {
        return failed("CONFIRM before HELLO", r);
    }
    if (a.status != 200) {
        return gateway_refused(o, "CONFIRM before HELLO", &a);
    }
    printf("accepted-by gateway: the CONFIRM before any HELLO got a DONE\n");
    return 0;
}

/* ---- enrollment ------------------------------------------------------------------------------ */

/* One handshake's state, wiped by enroll. */
typedef struct run {
    const char *base, *url;
    aw_enroll_client c;
    aw_ed25519_key *user;
    uint8_t confirm[256];
    size_t confirm_len;
} run;

/* The end of a handshake whose DONE verified: the key, --out, "key-sha256". */
static int finish(run *e, const options *o)
{
    uint8_t key[AW_ENROLL_KEY_LEN];
    aw_result r = registered_key(&e->c, e->user, key);
    if (r == AW_OK && o->out != NULL) {
        r = write_credentials(o->out, e->base, &e->c, e->user, NULL);
    }
    if (r == AW_OK) {
        print_key_hash(key, sizeof(key));
    }
    aw_wipe(key, sizeof(key));
    return r == AW_OK ? 0 : failed("handshake", r);
}

/* --confirm-twice: the same CONFIRM again must get the same DONE. */
static int confirm_again(run *e, const options *o, const answer *done)
{
    static answer again;
    aw_result r = http(e->url, o->cacert, e->confirm, e->confirm_len, &again);
    if (r != AW_OK) {
        return failed("CONFIRM again", r);
    }
    if (again.status != 200 || again.len != done->len ||
        memcmp(again.body, done->body, done->len) != 0) {
        fprintf(stderr, "aw-enroll-probe: the retried CONFIRM got another answer\n");
        return refused("CONFIRM again", &again);
    }
    printf("confirm-twice: the same DONE\n");
    return 0;
}

/* --confirm-twice after the client refused a changed DONE: the genuine CONFIRM again, as
 * after a lost answer, and its DONE to the client state as it was before. */
static void retry_confirm(run *e, const options *o)
{
    static answer again;
    aw_result r = http(e->url, o->cacert, e->confirm, e->confirm_len, &again);
    if (r != AW_OK) {
        failed("CONFIRM again", r);
        return;
    }
    printf("retry: ");
    if (again.status != 200) {
        gateway_refused(o, "CONFIRM again", &again);
        return;
    }
    r = aw_enroll_client_done(&e->c, again.body, again.len);
    if (r != AW_OK) {
        client_refused(o, "DONE again", r);
        return;
    }
    printf("the genuine CONFIRM again got a DONE that verifies\n");
    finish(e, o);
}

/* A DONE the relay changed: the client core reads it in a copy of its state. When it refuses,
 * the gateway has committed all the same (see retry_confirm). */
static int relayed_done(run *e, const options *o, hop done)
{
    static aw_enroll_client trial;
    trial = e->c;
    aw_result r = aw_enroll_client_done(&trial, done.data, done.len);
    aw_enroll_client_wipe(&trial);
    if (r == AW_OK) { /* the relay's DONE verified */
        r = aw_enroll_client_done(&e->c, done.data, done.len);
        return r == AW_OK ? finish(e, o) : client_refused(o, "DONE", r);
    }
    int rc = client_refused(o, "DONE", r);
    if (o->confirm_twice) {
        retry_confirm(e, o);
    }
    return rc;
}

/* The handshake after the token: KEY, HELLO, WELCOME, CONFIRM, DONE, each frame through the
 * relay (which changes at most one of them). */
static int handshake(run *e, const options *o)
{
    static answer a_key, a_welcome, a_done;
    uint8_t hello[128];
    size_t hello_len = 0;

    aw_result r = http(e->url, o->cacert, NULL, 0, &a_key);
    if (r != AW_OK || a_key.status != 200) {
        return r != AW_OK ? failed("KEY", r) : gateway_refused(o, "KEY", &a_key);
    }
    hop key = through_relay(o, AW_ENROLL_KEY, a_key.body, a_key.len);
    if (o->relay.kind == RELAY_CONFIRM_FIRST) {
        return confirm_first(e->url, o);
    }
    r = make_hello(&e->c, key.data, key.len, hello, &hello_len);
    if (r != AW_OK) {
        return client_refused(o, "KEY", r);
    }
    hop h = through_relay(o, AW_ENROLL_HELLO, hello, hello_len);
    r = http(e->url, o->cacert, h.data, h.len, &a_welcome);
    if (r == AW_OK && a_welcome.status == 200 && o->relay.kind == RELAY_REPLAY &&
        o->relay.frame == AW_ENROLL_HELLO) {
        r = http(e->url, o->cacert, h.data, h.len, &a_welcome); /* its answer is the one */
    }
    if (r != AW_OK || a_welcome.status != 200) {
        return r != AW_OK ? failed("HELLO", r) : gateway_refused(o, "HELLO", &a_welcome);
    }
    hop w = through_relay(o, AW_ENROLL_WELCOME, a_welcome.body, a_welcome.len);
    r = make_confirm(&e->c, w.data, w.len, &e->user, e->confirm, &e->confirm_len);
    if (r != AW_OK) {
        return client_refused(o, "WELCOME", r);
    }
    hop cf = through_relay(o, AW_ENROLL_CONFIRM, e->confirm, e->confirm_len);
    if (o->stop_after != NULL) {
        printf("stopped after welcome\n");
        return 0;
    }
    r = send_confirm(e->url, o, cf.data, cf.len, &a_done);
    if (r != AW_OK || a_done.status != 200) {
        return r != AW_OK ? failed("CONFIRM", r) : gateway_refused(o, "CONFIRM", &a_done);
    }
    hop d = through_relay(o, AW_ENROLL_DONE, a_done.body, a_done.len);
    if (d.changed) {
        return relayed_done(e, o, d);
    }
    r = aw_enroll_client_done(&e->c, d.data, d.len);
    if (r != AW_OK) {
        return client_refused(o, "DONE", r);
    }
    int rc = o->confirm_twice ? confirm_again(e, o, &a_done) : 0;
    return rc == 0 ? finish(e, o) : rc;
}

static int enroll(const char *base, const char *text, const options *o)
{
    char url[2048];
    aw_enroll_token t;
    static run e;

    snprintf(url, sizeof(url), "%s%s", base, AW_ENROLL_PATH);
    aw_result r = aw_enroll_token_decode(text, strlen(text), &t);
    if (r != AW_OK) {
        return failed("token", r);
    }
    memset(&e, 0, sizeof(e));
    e.base = base;
    e.url = url;
    r = aw_enroll_client_init(&e.c, &t);
    aw_wipe(&t, sizeof(t));
    int rc = r == AW_OK ? handshake(&e, o) : failed("token", r);
    aw_ed25519_free(e.user);
    aw_wipe(e.confirm, sizeof(e.confirm));
    aw_enroll_client_wipe(&e.c);
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
        r = make_hello(&c, a_key.body, a_key.len, hello, &hello_len);
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
        r = make_confirm(&c, a_welcome.body, a_welcome.len, &user, confirm, &confirm_len);
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
                    "                       [--relay MUTATION [--from DIR]]\n"
                    "       aw-enroll-probe rotate CRED --out NEWCRED [--save DIR]\n"
                    "       aw-enroll-probe post URL FILE [--out FILE]\n"
                    "       aw-enroll-probe batch < COMMANDS\n");
    return EXIT_USAGE;
}

/* One command: argv[0] is enroll, rotate or post, the rest its arguments and options. */
static int command(int argc, char **argv)
{
    options o = {0};
    const char *pos[3] = {NULL, NULL, NULL};
    int n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--confirm-twice") == 0) {
            o.confirm_twice = true;
        } else if (strcmp(a, "--out") == 0 && has_value) {
            o.out = argv[++i];
        } else if (strcmp(a, "--save") == 0 && has_value) {
            o.save = argv[++i];
        } else if (strcmp(a, "--relay") == 0 && has_value) {
            if (!relay_parse(argv[++i], &o.relay)) {
                fprintf(stderr, "aw-enroll-probe: --relay: unknown mutation %s\n", argv[i]);
                return usage();
            }
        } else if (strcmp(a, "--from") == 0 && has_value) {
            o.from = argv[++i];
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
    bool needs_from = o.relay.kind == RELAY_CONFIRM_FIRST ||
                      (o.relay.kind == RELAY_REPLAY && o.relay.frame != AW_ENROLL_HELLO);
    if ((o.relay.kind != RELAY_NONE && (n_pos == 0 || strcmp(pos[0], "enroll") != 0)) ||
        needs_from != (o.from != NULL)) {
        return usage(); /* --relay is for enroll; --from goes with the mutations that use it */
    }
    if (n_pos == 3 && strcmp(pos[0], "enroll") == 0) {
        return enroll(pos[1], pos[2], &o);
    }
    if (n_pos == 2 && strcmp(pos[0], "rotate") == 0) {
        return rotate(pos[1], &o);
    }
    if (n_pos == 3 && strcmp(pos[0], "post") == 0) {
        return post(pos[1], pos[2], &o);
    }
    return usage();
}

/* batch: every line of stdin is one command's words (split at spaces and tabs), run in this
 * process as if it were its own run (saving a process start per run: tests run thousands),
 * each followed by "exit N" on stdout and stderr. A --relay mutation out of its frame's reach
 * or a --save that cannot be written ends the batch (exit 2). */
static int batch(void)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) >= 0) {
        char *words[32];
        int n = 0;
        for (char *w = strtok(line, " \t\n"); w != NULL && n < 32; w = strtok(NULL, " \t\n")) {
            words[n++] = w;
        }
        if (n > 0) {
            int rc = command(n, words);
            printf("exit %d\n", rc);
            fprintf(stderr, "exit %d\n", rc);
        }
    }
    free(line);
    return 0;
}

int main(int argc, char **argv)
{
    if (aw_crypto_init() != AW_OK || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return EXIT_REFUSED;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = argc == 2 && strcmp(argv[1], "batch") == 0 ? batch() : command(argc - 1, argv + 1);
    curl_global_cleanup();
    return rc;
}
