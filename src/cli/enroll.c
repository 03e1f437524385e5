/* authwire enroll: redeem a one-time invite token and write the credential file. The HTTP
 * exchange and its retries are in src/client/enroll.c; here are the options, the file and
 * the messages. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authwire/crypto.h"
#include "authwire/enroll.h"
#include "cli.h"
#include "client.h"
#include "credentials.h"
#include "enroll.h"
#include "files.h"

static const char enroll_help[] =
    "usage: authwire enroll URL TOKEN --out FILE [--cacert FILE] [--timeout S] [--verbose]\n"
    "\n"
    "Redeems a one-time invite token (from the gateway's admin: `authwire invite`) and\n"
    "writes the credential file that `authwire request` reads. The token pins the server's\n"
    "enrollment key: the key the server presents is checked against it before anything is\n"
    "sent, and the handshake (Noise NKpsk0 keyed with the token's secret) authenticates both\n"
    "sides, so a man in the middle, even with a TLS certificate this machine trusts, can\n"
    "neither read the new key nor substitute his own. TOKEN '-' reads it from stdin (it then\n"
    "stays out of the process list).\n"
    "\n"
    "  URL             the gateway, https://HOST:PORT (or http://)\n"
    "  --out FILE      the credential file to write (JSON, 0600; never overwritten)\n"
    "  --cacert FILE   verify the gateway's TLS certificate with this CA, and pin it in\n"
    "                  FILE. Without it the certificate is NOT verified during\n"
    "                  enrollment (the pinned key is the security, not TLS); the CA the\n"
    "                  server sends inside the authenticated handshake goes into FILE\n"
    "                  instead, and later requests verify TLS with it\n"
    "  --timeout S     seconds per exchange (default 15)\n"
    "  --verbose       print each step to stderr\n"
    "  -h, --help      this help\n"
    "\n"
    "A lost answer is recovered by sending the message again (up to 5 times); the\n"
    "server's refusals (invite used, expired, revoked, unknown) cannot be verified before\n"
    "enrollment and are shown as the server's unauthenticated word.\n"
    "\n"
    "exit status: 0 enrolled; 1 refused by the server, or no answer; 2 usage, or the token\n"
    "is mistyped; 3 possible interference (the server's key does not match the token, or an\n"
    "answer that does not verify).\n";

#define DEFAULT_TIMEOUT 15

enum { OPT_OUT = CLI_OPT_FIRST, OPT_CACERT, OPT_TIMEOUT, OPT_VERBOSE };

static const struct option enroll_options[] = {
    {"out", required_argument, NULL, OPT_OUT},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the persist callback needs to write the credential file. */
typedef struct enroll_file {
    const char *out;
    const char *url;
    char *ca_pem;                 /* --cacert's contents, used when the server sends no CA; NULL */
    const aw_enroll_outcome *run; /* its server_key: the pinned enrollment key */
    bool written;
} enroll_file;

/* The credential file of an enrollment in progress: written once WELCOME checked out and
 * before CONFIRM goes out, so that a server which commits never has a user whose key this
 * client failed to store (and a disk problem stops us before the invite is used). */
static aw_result persist(void *ctx, const aw_enroll_client *c, const aw_ed25519_key *user_key,
                         bool again)
{
    enroll_file *f = ctx;
    aw_credentials cred;
    aw_enroll_key_buf key;
    char *ca = NULL;

    memset(&cred, 0, sizeof(cred));
    cred.url = (char *)f->url;
    cred.keyid = (char *)c->params.name;
    cred.mode = c->params.mode;
    memcpy(cred.server_public_key, c->params.server_public_key, sizeof(cred.server_public_key));
    cred.has_enroll_key = true;
    if (f->ca_pem != NULL) {
        cred.ca_pem = f->ca_pem; /* --cacert: the CA this very connection verified with */
    } else if (c->params.ca_pem_len > 0) {
        /* Authenticated by the handshake; stored as text, so no NUL may hide inside. */
        if (memchr(c->params.ca_pem, '\0', c->params.ca_pem_len) != NULL ||
            (ca = malloc(c->params.ca_pem_len + 1)) == NULL) {
            cli_error("enroll", "the CA certificate in the server's WELCOME is not text");
            return AW_E_MALFORMED;
        }
        memcpy(ca, c->params.ca_pem, c->params.ca_pem_len);
        ca[c->params.ca_pem_len] = '\0';
        cred.ca_pem = ca;
    }
    aw_result r = aw_enroll_put_key(c, user_key, &key, &cred);
    memcpy(cred.enroll_key, f->run->server_key, sizeof(cred.enroll_key));
    if (r == AW_OK) {
        /* A restart replaces the file this run wrote; nothing else is ever replaced. */
        r = again && f->written ? aw_credentials_replace(f->out, &cred)
                                : aw_credentials_write(f->out, &cred);
    }
    if (r == AW_OK) {
        f->written = true;
    } else {
        cli_error("enroll", "cannot write %s: %s", f->out,
                  r == AW_E_IO       ? strerror(errno)
                  : r == AW_E_EXISTS ? "it exists; refusing to overwrite it"
                                     : aw_result_reason(r));
    }
    aw_wipe(&key, sizeof(key));
    free(ca);
    return r;
}

/* A clock more than a few seconds off is corrected from the first request on: the server's
 * time came inside the authenticated WELCOME. True when the offset was stored. */
static bool store_offset(const char *out, int64_t offset)
{
    char state_path[4096];
    if (offset >= -5 && offset <= 5) {
        return false;
    }
    return snprintf(state_path, sizeof(state_path), "%s.state", out) < (int)sizeof(state_path) &&
           aw_client_state_set_offset(state_path, offset) == AW_OK;
}

/* The token: argv's copy is overwritten once read (it leaves the process list), "-" reads
 * one line from stdin. Returns 0, or prints why and returns -1 (a usage error). */
static int read_token(char *arg, aw_enroll_token *t)
{
    char line[1024];
    const char *text = arg;
    size_t len;
    if (strcmp(arg, "-") == 0) {
        if (fgets(line, sizeof(line), stdin) == NULL) {
            cli_error("enroll", "no token on stdin");
            return -1;
        }
        text = line;
    }
    len = strcspn(text, "\r\n");
    aw_result r = aw_enroll_token_decode(text, len, t);
    aw_wipe(line, sizeof(line));
    aw_wipe(arg, strlen(arg));
    if (r != AW_OK) {
        cli_error("enroll", "the token is mistyped (wrong length, character or checksum): check it "
                            "against the one you were given; nothing was sent");
        return -1;
    }
    return 0;
}

/* Reads --cacert's file as text for the credential file; NULL and a message on failure. */
static char *read_ca(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    aw_result r = aw_file_read(path, 1u << 20, 0, &data, &len);
    if (r != AW_OK) {
        cli_error("enroll", "cannot read --cacert %s: %s", path,
                  r == AW_E_IO || r == AW_E_NOT_FOUND ? strerror(errno) : aw_result_reason(r));
        return NULL;
    }
    return (char *)data;
}

/* The message and exit status for a failed run. */
static int report_failure(const aw_enroll_outcome *o, const char *out, const char *cacert)
{
    const aw_enroll_reply *reply = &o->reply;
    switch (o->failure) {
    case AW_ENROLL_INTERFERENCE:
        if (o->result == AW_E_SERVER_KEY_MISMATCH) {
            cli_error("enroll", "THE SERVER'S ENROLLMENT KEY DOES NOT MATCH THE TOKEN: possible "
                                "interception (or a token for another gateway); nothing was sent");
        } else {
            cli_error("enroll",
                      "the server's %s does not verify (%s): POSSIBLE INTERFERENCE; nothing "
                      "was stored",
                      o->step == AW_ENROLL_DONE ? "DONE" : "WELCOME", aw_result_name(o->result));
        }
        return CLI_EXIT_INTERFERENCE;
    case AW_ENROLL_REFUSED:
        if (o->step == AW_ENROLL_KEY && o->result == AW_E_MALFORMED) {
            cli_error("enroll", "the answer to GET " AW_ENROLL_PATH
                                " is not an enrollment key (is the URL an authwire gateway?)");
        } else if (reply->error[0] != '\0') {
            /* A known name is explained from our own table: the body is the server's. */
            bool known = strcmp(aw_result_name(o->result), reply->error) == 0;
            cli_error("enroll", "refused: server says: %s (%s; unauthenticated answer, status %d)",
                      reply->error, known ? aw_result_reason(o->result) : reply->text,
                      reply->status);
        } else {
            cli_error("enroll", "refused: the server answered %d to %s%s%s", reply->status,
                      o->step == AW_ENROLL_KEY ? "GET " AW_ENROLL_PATH : "the handshake",
                      reply->text[0] != '\0' ? ": " : "", reply->text);
        }
        if (o->restarts > 0 && o->result == AW_E_INVITE_USED) {
            cli_error("enroll", "the server may have committed the first attempt before it "
                                "restarted; ask the admin (`authwire user list`)");
        }
        return CLI_EXIT_FAIL;
    case AW_ENROLL_NO_ANSWER: {
        char sends[48] = "";
        if (o->resends > 0) {
            snprintf(sends, sizeof(sends), " (sent %d times)", o->resends + 1);
        }
        char why[320];
        if (reply->status != 0) {
            snprintf(why, sizeof(why), "the server answered %d %s", reply->status, reply->error);
        } else {
            snprintf(why, sizeof(why), "%s", reply->text);
        }
        cli_error("enroll", "no answer to %s%s: %s%s",
                  o->step == AW_ENROLL_KEY     ? "GET " AW_ENROLL_PATH
                  : o->step == AW_ENROLL_HELLO ? "HELLO"
                                               : "CONFIRM",
                  sends, why,
                  reply->permanent && cacert != NULL
                      ? " (is --cacert the CA of the gateway's TLS certificate?)"
                      : "");
        if (o->step == AW_ENROLL_CONFIRM) {
            cli_error("enroll",
                      "the server may or may not have enrolled you: %s was kept. Try "
                      "`authwire request --credentials %s`; if it is refused, remove %s and "
                      "enroll again with the same token",
                      out, out, out);
        }
        return CLI_EXIT_FAIL;
    }
    case AW_ENROLL_LOCAL:
    case AW_ENROLL_SUCCESS:
        break;
    }
    cli_error("enroll", "enrollment failed: %s", aw_result_reason(o->result));
    return CLI_EXIT_FAIL;
}

int cli_enroll(int argc, char **argv)
{
    const char *out = NULL, *cacert = NULL;
    long timeout = DEFAULT_TIMEOUT;
    bool verbose = false;
    int c, rc;
    optind = 1;
    while ((c = cli_next_option(argc, argv, "enroll", enroll_help, enroll_options, ~0u, &rc)) > 0) {
        switch (c) {
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_CACERT:
            cacert = optarg;
            break;
        case OPT_TIMEOUT: {
            int64_t v = 0;
            if (cli_parse_i64(optarg, &v) != 0 || v < 1 || v > 3600) {
                cli_error("enroll", "--timeout takes 1..3600 seconds, got '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            timeout = (long)v;
            break;
        }
        default: /* OPT_VERBOSE */
            verbose = true;
            break;
        }
    }
    if (c < 0) {
        return rc;
    }
    if (argc - optind != 2) {
        cli_error("enroll", "URL and TOKEN are required, and nothing else (see --help)");
        return CLI_EXIT_USAGE;
    }
    const char *url = argv[optind];
    if ((strncmp(url, "https://", 8) != 0 || url[8] == '\0') &&
        (strncmp(url, "http://", 7) != 0 || url[7] == '\0')) {
        cli_error("enroll", "URL must start with https:// or http://, got '%s'", url);
        return CLI_EXIT_USAGE;
    }
    if (out == NULL) {
        cli_error("enroll", "--out FILE is required (the credential file to write)");
        return CLI_EXIT_USAGE;
    }
    /* The token first: a mistyped one fails before any traffic. */
    aw_enroll_token token;
    if (read_token(argv[optind + 1], &token) != 0) {
        aw_wipe(&token, sizeof(token));
        return CLI_EXIT_USAGE;
    }
    if (access(out, F_OK) == 0) {
        aw_wipe(&token, sizeof(token));
        cli_error("enroll", "%s exists; refusing to overwrite it", out);
        return CLI_EXIT_FAIL;
    }
    aw_enroll_outcome outcome;
    enroll_file file = {.out = out, .url = url, .run = &outcome};
    if (cacert != NULL && (file.ca_pem = read_ca(cacert)) == NULL) {
        aw_wipe(&token, sizeof(token));
        return CLI_EXIT_FAIL;
    }
    if (verbose && cacert == NULL && strncmp(url, "https://", 8) == 0) {
        fprintf(stderr, "* TLS certificate not verified during enrollment (no --cacert): the "
                        "pinned key protects the handshake\n");
    }
    aw_enroll_http http = {url, cacert, timeout, verbose ? stderr : NULL};
    aw_enroll_transport tr = {aw_enroll_http_send, &http};
    aw_enroll_options opts = {
        .persist = persist, .persist_ctx = &file, .log = verbose ? stderr : NULL};
    aw_enroll_client state;
    aw_ed25519_key *user_key = NULL;
    aw_result r = aw_client_enroll(&token, &tr, &opts, &state, &user_key, &outcome);
    aw_wipe(&token, sizeof(token));
    aw_ed25519_free(user_key);
    free(file.ca_pem);
    rc = CLI_EXIT_OK;
    if (r != AW_OK) {
        rc = report_failure(&outcome, out, cacert);
        bool uncertain =
            outcome.failure == AW_ENROLL_NO_ANSWER && outcome.step == AW_ENROLL_CONFIRM;
        if (file.written && !uncertain) {
            unlink(out);
        }
    } else {
        printf("enrolled as %s (%s, %s mode) at %s; credentials in %s (0600)\n", state.params.name,
               aw_alg_name(state.params.alg), aw_fresh_mode_name(state.params.mode), url, out);
        bool stored = store_offset(out, outcome.clock_offset);
        printf("server clock offset: %+lld s%s\n", (long long)outcome.clock_offset,
               stored ? " (stored: requests correct for it)" : "");
        if (outcome.resends > 0 || outcome.restarts > 0) {
            printf("(%d message(s) sent again, %d handshake(s) started over)\n", outcome.resends,
                   outcome.restarts);
        }
    }
    aw_enroll_client_wipe(&state);
    return rc;
}
