/* authwire user: add, list and revoke the users of a data directory, and issue client
 * certificates for mutual TLS from its local CA. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "certgen.h"
#include "cli.h"
#include "credentials.h"
#include "datadir.h"
#include "files.h"
#include "json.h"
#include "store.h"

#define DEFAULT_URL "https://127.0.0.1:8443"

static const char user_help[] =
    "usage: authwire user <add|list|revoke|cert> [options]\n"
    "\n"
    "Manages the users of a data directory made by 'authwire init'.\n"
    "\n"
    "  add NAME --data DIR --out FILE   create a user and write its credential file\n"
    "  list --data DIR [--json]         list users\n"
    "  revoke NAME --data DIR           revoke a user (effective on its next request)\n"
    "  cert NAME --data DIR --out-cert FILE --out-key FILE\n"
    "                                   issue an mTLS client certificate from the local CA\n"
    "\n"
    "Run 'authwire user <command> --help' for the options of one command.\n";

static const char add_help[] =
    "usage: authwire user add NAME --data DIR --out FILE [options]\n"
    "\n"
    "Creates user NAME (the keyid: 1..64 characters of A-Z a-z 0-9 . _ -, starting with a\n"
    "letter or digit; names are never reused) and writes its credential file (JSON, 0600):\n"
    "gateway URL, keyid, key, freshness mode, the pinned server public key and the CA.\n"
    "Hand the file over privately: it holds the user's secret. The server keeps the HMAC\n"
    "key sealed with the master key, or only the public half of an Ed25519 key.\n"
    "\n"
    "  --data DIR        the data directory\n"
    "  --out FILE        the credential file to write (never overwritten)\n"
    "  --alg ALG         hmac-sha256 (default) or ed25519\n"
    "  --mode MODE       timestamp (default), sequence or challenge\n"
    "  --url URL         the gateway the client talks to (default " DEFAULT_URL ")\n"
    "  -h, --help        this help\n";

static const char list_help[] = "usage: authwire user list --data DIR [--json]\n"
                                "\n"
                                "Lists every user: name, algorithm, freshness mode, creation\n"
                                "and revocation times (UTC), the key rotation state (rotating\n"
                                "since: a new key waits for confirmation; rotated: when the\n"
                                "last new key took over) and the sequence high-water mark.\n"
                                "\n"
                                "  --data DIR   the data directory\n"
                                "  --json       a JSON array instead of a table\n"
                                "  -h, --help   this help\n";

static const char revoke_help[] =
    "usage: authwire user revoke NAME --data DIR\n"
    "\n"
    "Revokes user NAME: a running gateway refuses its next request (key_revoked). The\n"
    "name stays taken. Revoking twice keeps the first time.\n"
    "\n"
    "  --data DIR   the data directory\n"
    "  -h, --help   this help\n";

static const char cert_help[] =
    "usage: authwire user cert NAME --data DIR --out-cert FILE --out-key FILE\n"
    "\n"
    "Issues a TLS client certificate (CN = NAME, 825 days) from the data directory's local\n"
    "CA, for gateways that require mutual TLS. The key is written 0600; neither file is\n"
    "ever overwritten. NAME must be an active user.\n"
    "\n"
    "  --data DIR        the data directory\n"
    "  --out-cert FILE   the certificate (PEM) to write\n"
    "  --out-key FILE    the private key (PEM, PKCS#8) to write\n"
    "  -h, --help        this help\n";

enum {
    OPT_DATA = CLI_OPT_FIRST,
    OPT_OUT,
    OPT_ALG,
    OPT_MODE,
    OPT_URL,
    OPT_JSON,
    OPT_OUT_CERT,
    OPT_OUT_KEY,
};

static const struct option user_options[] = {
    {"data", required_argument, NULL, OPT_DATA},
    {"out", required_argument, NULL, OPT_OUT},
    {"alg", required_argument, NULL, OPT_ALG},
    {"mode", required_argument, NULL, OPT_MODE},
    {"url", required_argument, NULL, OPT_URL},
    {"json", no_argument, NULL, OPT_JSON},
    {"out-cert", required_argument, NULL, OPT_OUT_CERT},
    {"out-key", required_argument, NULL, OPT_OUT_KEY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct user_opts {
    const char *cmd; /* "user add", ... for messages */
    const char *name;
    const char *data;
    const char *out;
    const char *out_cert;
    const char *out_key;
    const char *url;
    aw_alg alg;
    aw_fresh_mode mode;
    bool json;
} user_opts;

/* Parses argv for one command; returns -1 (exit now with *rc) or 0. */
static int parse(int argc, char **argv, const char *cmd, const char *help, unsigned takes,
                 bool wants_name, user_opts *o, int *rc)
{
    int c;
    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->url = DEFAULT_URL;
    o->alg = AW_ALG_HMAC_SHA256;
    o->mode = AW_FRESH_TIMESTAMP;
    optind = 1;
    while ((c = cli_next_option(argc, argv, cmd, help, user_options, takes, rc)) > 0) {
        switch (c) {
        case OPT_DATA:
            o->data = optarg;
            break;
        case OPT_OUT:
            o->out = optarg;
            break;
        case OPT_OUT_CERT:
            o->out_cert = optarg;
            break;
        case OPT_OUT_KEY:
            o->out_key = optarg;
            break;
        case OPT_URL:
            if (strncmp(optarg, "https://", 8) != 0 && strncmp(optarg, "http://", 7) != 0) {
                cli_error(cmd, "--url must start with https:// or http://, got '%s'", optarg);
                return -1;
            }
            o->url = optarg;
            break;
        case OPT_ALG:
            if (cli_parse_alg(cmd, optarg, &o->alg) != 0) {
                return -1;
            }
            break;
        case OPT_MODE:
            if (cli_parse_mode(cmd, optarg, &o->mode) != 0) {
                return -1;
            }
            break;
        case OPT_JSON:
            o->json = true;
            break;
        }
    }
    if (c < 0) {
        return -1;
    }
    return cli_operands(cmd, argc, argv, wants_name ? &o->name : NULL, o->data);
}

/* The server's raw Ed25519 public key, from DIR/server-ed25519.pem. */
static int server_public_key(const user_opts *o, uint8_t pub[AW_ED25519_PUBLIC_LEN])
{
    size_t len = 0;
    uint8_t *pem = cli_read_data_file(o->cmd, o->data, AW_DATA_SIGNING_KEY, true, &len);
    aw_ed25519_key *k = NULL;
    int rc = -1;
    if (pem == NULL) {
        return -1;
    }
    if (aw_ed25519_from_pem((const char *)pem, len, &k) != AW_OK ||
        aw_ed25519_public(k, pub) != AW_OK) {
        cli_error(o->cmd, "%s/" AW_DATA_SIGNING_KEY " is not an Ed25519 key", o->data);
    } else {
        rc = 0;
    }
    aw_ed25519_free(k);
    aw_file_free(pem, len);
    return rc;
}

/* A fresh Ed25519 pair: the private PEM for the user, the public key for the store. Checks a
 * signature with the public key alone first: OpenSSL does not validate public points, so a
 * bad one would only show as every request failing. */
static int new_ed25519(const user_opts *o, char *pem, size_t cap, uint8_t pub[32])
{
    static const uint8_t probe[] = "authwire user add: public key self-test";
    aw_ed25519_key *k = NULL, *check = NULL;
    uint8_t sig[AW_ED25519_SIG_LEN];
    size_t len = 0;
    int rc = -1;
    if (aw_ed25519_generate(&k) == AW_OK && aw_ed25519_private_pem(k, pem, cap, &len) == AW_OK &&
        aw_ed25519_public(k, pub) == AW_OK &&
        aw_ed25519_sign(k, probe, sizeof(probe), sig) == AW_OK &&
        aw_ed25519_from_public(pub, &check) == AW_OK &&
        aw_ed25519_verify(check, probe, sizeof(probe), sig, sizeof(sig)) == AW_OK) {
        rc = 0;
    } else {
        cli_error(o->cmd, "cannot generate an Ed25519 key pair that verifies");
    }
    aw_ed25519_free(k);
    aw_ed25519_free(check);
    return rc;
}

static int user_add(int argc, char **argv)
{
    user_opts o;
    int rc;
    aw_store *s = NULL;
    aw_user u;
    aw_credentials cred;
    char pem[512];
    uint8_t *ca = NULL;
    size_t ca_len = 0;
    aw_result r;

    if (parse(argc, argv, "user add", add_help,
              CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_OUT) | CLI_TAKES(OPT_ALG) | CLI_TAKES(OPT_MODE) |
                  CLI_TAKES(OPT_URL),
              true, &o, &rc) != 0) {
        return rc;
    }
    if (o.out == NULL) {
        cli_error(o.cmd, "--out FILE is required (the credential file to write)");
        return CLI_EXIT_USAGE;
    }
    memset(&u, 0, sizeof(u));
    memset(&cred, 0, sizeof(cred));
    rc = CLI_EXIT_FAIL;
    if (access(o.out, F_OK) == 0) {
        cli_error(o.cmd, "%s exists; refusing to overwrite it", o.out);
        return CLI_EXIT_FAIL;
    }
    if ((s = cli_open_store(o.cmd, o.data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    r = aw_store_user_get(s, o.name, &u);
    aw_user_wipe(&u);
    if (r == AW_OK || r == AW_E_CORRUPT) {
        cli_error(o.cmd, "user '%s' exists (names are never reused, even after revoke)", o.name);
        goto out;
    }
    if (r != AW_E_NOT_FOUND) {
        cli_error(o.cmd, "cannot read the store: %s", aw_store_last_error(s));
        goto out;
    }
    if (server_public_key(&o, cred.server_public_key) != 0 ||
        (ca = cli_read_data_file(o.cmd, o.data, AW_DATA_CA_CERT, false, &ca_len)) == NULL) {
        goto out;
    }
    /* The enrollment key too, so that `authwire rotate` can pin it. */
    if (cli_read_enroll_key(o.cmd, o.data, cred.enroll_key) != 0) {
        goto out;
    }
    cred.has_enroll_key = true;

    memcpy(u.name, o.name, strlen(o.name) + 1);
    u.alg = o.alg;
    u.mode = o.mode;
    u.created_at = (int64_t)time(NULL);
    u.key_len = 32;
    if (o.alg == AW_ALG_HMAC_SHA256) {
        if (aw_random(u.key, u.key_len) != AW_OK) {
            cli_error(o.cmd, "no randomness for the key");
            goto out;
        }
        cred.secret = u.key;
        cred.secret_len = u.key_len;
    } else {
        if (new_ed25519(&o, pem, sizeof(pem), u.key) != 0) {
            goto out;
        }
        cred.private_pem = pem;
    }
    cred.url = (char *)o.url;
    cred.keyid = u.name;
    cred.alg = o.alg;
    cred.mode = o.mode;
    cred.ca_pem = (char *)ca;

    /* The credential file first, then the user: a failure leaves no user whose key is lost,
     * and a name is taken only once its holder has the key. */
    r = aw_credentials_write(o.out, &cred);
    if (r != AW_OK) {
        cli_error(o.cmd, "cannot write %s: %s", o.out,
                  r == AW_E_IO       ? strerror(errno)
                  : r == AW_E_EXISTS ? "it exists; refusing to overwrite it"
                                     : aw_result_reason(r));
        goto out;
    }
    r = aw_store_user_add(s, &u);
    if (r != AW_OK) {
        unlink(o.out);
        cli_error(o.cmd, "cannot add user '%s': %s%s%s", o.name,
                  r == AW_E_EXISTS ? "the name was just taken" : aw_result_reason(r),
                  r == AW_E_STORE ? ": " : "", r == AW_E_STORE ? aw_store_last_error(s) : "");
        goto out;
    }
    printf("added user %s (%s, %s mode); credentials in %s (0600): hand them over privately\n",
           o.name, aw_alg_name(o.alg), aw_fresh_mode_name(o.mode), o.out);
    rc = CLI_EXIT_OK;

out:
    aw_user_wipe(&u);
    aw_wipe(pem, sizeof(pem));
    aw_file_free(ca, ca_len);
    aw_store_close(s);
    return rc;
}

typedef struct user_array {
    aw_user *items;
    size_t n;
    size_t cap;
} user_array;

static aw_result collect(const aw_user *u, void *arg)
{
    user_array *a = arg;
    if (a->n == a->cap) {
        size_t cap = a->cap == 0 ? 16 : a->cap * 2;
        aw_user *items = realloc(a->items, cap * sizeof(*items));
        if (items == NULL) {
            return AW_E_INTERNAL;
        }
        a->items = items;
        a->cap = cap;
    }
    a->items[a->n++] = *u; /* listed users carry no key */
    return AW_OK;
}

/* The rotation column: a pending key first, then the last rotation. */
static const char *rotation_state(const aw_user *u, char *buf, size_t cap)
{
    char t[32];
    if (u->next_key_at != 0) {
        snprintf(buf, cap, "rotating since %s", cli_format_time(u->next_key_at, t, sizeof(t)));
    } else if (u->rotated_at != 0) {
        snprintf(buf, cap, "rotated %s", cli_format_time(u->rotated_at, t, sizeof(t)));
    } else {
        snprintf(buf, cap, "-");
    }
    return buf;
}

static int print_json(const user_array *a)
{
    size_t cap = 256 + a->n * 768;
    uint8_t *buf = malloc(cap);
    aw_writer w;
    aw_json_writer jw;
    char t[32];
    if (buf == NULL) {
        return -1;
    }
    aw_writer_init(&w, buf, cap);
    aw_json_writer_init(&jw, &w, true);
    aw_json_begin_array(&jw);
    for (size_t i = 0; i < a->n; i++) {
        const aw_user *u = &a->items[i];
        aw_json_begin_object(&jw);
        aw_json_key(&jw, "name");
        aw_json_string(&jw, u->name);
        aw_json_key(&jw, "alg");
        aw_json_string(&jw, aw_alg_name(u->alg));
        aw_json_key(&jw, "mode");
        aw_json_string(&jw, aw_fresh_mode_name(u->mode));
        aw_json_key(&jw, "created_at");
        aw_json_int(&jw, u->created_at);
        aw_json_key(&jw, "created");
        aw_json_string(&jw, cli_format_time(u->created_at, t, sizeof(t)));
        aw_json_key(&jw, "revoked");
        aw_json_bool(&jw, u->revoked_at != 0);
        cli_json_time(&jw, "revoked_at", u->revoked_at);
        aw_json_key(&jw, "rotating");
        aw_json_bool(&jw, u->next_key_at != 0);
        cli_json_time(&jw, "next_key_at", u->next_key_at);
        cli_json_time(&jw, "rotated_at", u->rotated_at);
        aw_json_key(&jw, "seq_high_water");
        aw_json_uint(&jw, u->seq_high_water);
        aw_json_end_object(&jw);
    }
    aw_json_end_array(&jw);
    int rc = aw_json_writer_result(&jw) == AW_OK ? 0 : -1;
    if (rc == 0) {
        fwrite(buf, 1, w.len, stdout);
        fputc('\n', stdout);
    }
    free(buf);
    return rc;
}

static int user_list(int argc, char **argv)
{
    user_opts o;
    int rc;
    aw_store *s;
    user_array a = {NULL, 0, 0};
    aw_result r;

    if (parse(argc, argv, "user list", list_help, CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_JSON), false,
              &o, &rc) != 0) {
        return rc;
    }
    if ((s = cli_open_store(o.cmd, o.data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    r = aw_store_user_list(s, collect, &a);
    rc = CLI_EXIT_FAIL;
    if (r != AW_OK) {
        cli_error(o.cmd, "cannot list users: %s: %s", aw_result_reason(r), aw_store_last_error(s));
    } else if (o.json) {
        if (print_json(&a) == 0) {
            rc = CLI_EXIT_OK;
        } else {
            cli_error(o.cmd, "cannot format the list");
        }
    } else {
        char created[32], revoked[32], rotation[64];
        printf("%-24s %-12s %-10s %-21s %-21s %-35s %s\n", "NAME", "ALG", "MODE", "CREATED",
               "REVOKED", "ROTATION", "SEQ");
        for (size_t i = 0; i < a.n; i++) {
            const aw_user *u = &a.items[i];
            printf("%-24s %-12s %-10s %-21s %-21s %-35s %llu\n", u->name, aw_alg_name(u->alg),
                   aw_fresh_mode_name(u->mode),
                   cli_format_time(u->created_at, created, sizeof(created)),
                   cli_format_time(u->revoked_at, revoked, sizeof(revoked)),
                   rotation_state(u, rotation, sizeof(rotation)),
                   (unsigned long long)u->seq_high_water);
        }
        rc = CLI_EXIT_OK;
    }
    free(a.items);
    aw_store_close(s);
    return rc;
}

static int user_revoke(int argc, char **argv)
{
    user_opts o;
    int rc;
    aw_store *s;
    aw_user u;
    aw_result r;
    char t[32];

    if (parse(argc, argv, "user revoke", revoke_help, CLI_TAKES(OPT_DATA), true, &o, &rc) != 0) {
        return rc;
    }
    if ((s = cli_open_store(o.cmd, o.data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_FAIL;
    r = aw_store_user_revoke(s, o.name, (int64_t)time(NULL));
    if (r == AW_E_NOT_FOUND) {
        cli_error(o.cmd, "no user '%s'", o.name);
    } else if (r != AW_OK) {
        cli_error(o.cmd, "cannot revoke '%s': %s: %s", o.name, aw_result_reason(r),
                  aw_store_last_error(s));
    } else {
        /* Read back: a second revoke keeps the first time, and says so. */
        r = aw_store_user_get(s, o.name, &u);
        aw_user_wipe(&u);
        printf("revoked %s at %s (effective on its next request)\n", o.name,
               r == AW_OK ? cli_format_time(u.revoked_at, t, sizeof(t)) : "now");
        rc = CLI_EXIT_OK;
    }
    aw_store_close(s);
    return rc;
}

static int user_cert(int argc, char **argv)
{
    user_opts o;
    int rc;
    aw_store *s;
    aw_user u;
    aw_result r;
    aw_cert_pair ca = {NULL, NULL}, client = {NULL, NULL};
    size_t cert_len = 0, key_len = 0;
    uint8_t *cert = NULL, *key = NULL;

    if (parse(argc, argv, "user cert", cert_help,
              CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_OUT_CERT) | CLI_TAKES(OPT_OUT_KEY), true, &o,
              &rc) != 0) {
        return rc;
    }
    if (o.out_cert == NULL || o.out_key == NULL) {
        cli_error(o.cmd, "--out-cert FILE and --out-key FILE are required");
        return CLI_EXIT_USAGE;
    }
    if ((s = cli_open_store(o.cmd, o.data)) == NULL) {
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_FAIL;
    r = aw_store_user_get(s, o.name, &u);
    aw_user_wipe(&u);
    if (r == AW_E_NOT_FOUND) {
        cli_error(o.cmd, "no user '%s'", o.name);
        goto out;
    }
    if (r != AW_OK) {
        cli_error(o.cmd, "cannot read user '%s': %s", o.name, aw_store_last_error(s));
        goto out;
    }
    if (u.revoked_at != 0) {
        cli_error(o.cmd, "user '%s' is revoked", o.name);
        goto out;
    }
    if ((cert = cli_read_data_file(o.cmd, o.data, AW_DATA_CA_CERT, false, &cert_len)) == NULL ||
        (key = cli_read_data_file(o.cmd, o.data, AW_DATA_CA_KEY, true, &key_len)) == NULL) {
        goto out;
    }
    ca.cert_pem = (char *)cert;
    ca.key_pem = (char *)key;
    if (aw_certgen_client(&ca, o.name, &client) != AW_OK) {
        cli_error(o.cmd, "cannot issue the certificate (is %s/" AW_DATA_CA_KEY " the CA's key?)",
                  o.data);
        goto out;
    }
    r = aw_cert_pair_write(&client, o.out_cert, o.out_key);
    if (r != AW_OK) {
        cli_error(o.cmd, "cannot write %s and %s: %s", o.out_cert, o.out_key,
                  r == AW_E_EXISTS ? "one exists; refusing to overwrite it"
                  : r == AW_E_IO   ? strerror(errno)
                                   : aw_result_reason(r));
        goto out;
    }
    printf("issued a client certificate for %s: %s (key %s, 0600)\n", o.name, o.out_cert,
           o.out_key);
    rc = CLI_EXIT_OK;

out:
    aw_cert_pair_free(&client);
    aw_file_free(cert, cert_len);
    aw_file_free(key, key_len);
    aw_store_close(s);
    return rc;
}

static const cli_command user_commands[] = {
    {"add", "create a user and its credential file", user_add},
    {"list", "list users", user_list},
    {"revoke", "revoke a user", user_revoke},
    {"cert", "issue an mTLS client certificate", user_cert},
};

int cli_user(int argc, char **argv)
{
    if (argc < 2) {
        fputs(user_help, stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(user_help, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(user_commands) / sizeof(user_commands[0]); i++) {
        if (strcmp(user_commands[i].name, argv[1]) == 0) {
            return user_commands[i].run(argc - 1, argv + 1);
        }
    }
    cli_error("user", "unknown command '%s' (add, list, revoke or cert)", argv[1]);
    return CLI_EXIT_USAGE;
}
