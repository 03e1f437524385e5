/* authwire attack: the attack harness (src/attack) against a running gateway: a man in the
 * middle runs the catalogue through the user's own client and reports, per attack, what was
 * tried, what stopped it (or that it SUCCEEDED) and what an observer learned. --profile seed
 * runs the seed design's insider attack in process instead (src/attack/seed.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "cli.h"
#include "credentials.h"
#include "files.h"
#include "seed.h"
#include "store.h"

static const char attack_help[] =
    "usage: authwire attack --credentials FILE [options]\n"
    "       authwire attack --profile seed [--json FILE] [--credentials FILE --data DIR]\n"
    "       authwire attack --list\n"
    "\n"
    "Runs the attack catalogue against a running gateway: a man in the middle on 127.0.0.1\n"
    "(plain, HTTP-aware, or TLS-intercepting with a rogue CA it makes) drives the user's own\n"
    "client through itself and tampers, replays, reorders, forges and strips. One line per\n"
    "attack: what was tried, BLOCKED by which check (or SUCCEEDED), what an observer\n"
    "learned. Rows that do not apply to the target (TLS rows on plain HTTP, sequence rows for\n"
    "a timestamp user, ...) are listed as skipped, with why. The gateway's /metrics (served\n"
    "to loopback) names the exact check behind each refusal; elsewhere a row shows what the\n"
    "gateway told the sender.\n"
    "\n"
    "--profile seed runs, in process and without a gateway, the design authwire started from\n"
    "(one shared key every user knows, each user's key = HMAC(shared key, a nonce sent in the\n"
    "clear)): an insider derives another user's key from her registration and forges her\n"
    "requests (SUCCEEDED), then the same insider against authwire's enrollment and verifier\n"
    "(BLOCKED, by which check). With --credentials (and --data or --victim), the catalogue's\n"
    "insider rows (impersonate-user, tamper-keyid) also run against the live gateway.\n"
    "\n"
    "  --credentials FILE   the user the attacker sits behind (from user add or enroll);\n"
    "                       its state file (FILE.state) is used as the client uses it\n"
    "  --target URL         the gateway (default: the credential file's url)\n"
    "  --cacert FILE        the gateway's CA (default: the credential file's)\n"
    "  --only ID            run one attack\n"
    "  --json FILE          also write the report as JSON (a list of rows)\n"
    "  --list               list the catalogue and exit\n"
    "  --data DIR           the local gateway's data directory: a victim for the insider\n"
    "                       rows is picked from its users, and the enrollment rows make\n"
    "                       their invites there (attack-enroll-*; revoked when done)\n"
    "  --victim NAME        another user of the gateway, for the insider rows\n"
    "  --slow-timeout SECS  how long slow-request waits for the gateway's deadline (15)\n"
    "  --window SECS        the gateway's --skew + --max-age: replay-after-window waits\n"
    "                       this long before it replays (60, the defaults)\n"
    "  --cert FILE          mTLS: the user's client certificate (--key FILE for its key);\n"
    "                       the man in the middle presents it too, as an attacker holding\n"
    "                       the user's TLS key but not her signing key\n"
    "  --key FILE           the private key of --cert\n"
    "  --attacker-cert FILE mTLS: a certificate of the attacker's own (another user's), for\n"
    "                       mtls-relay-other-cert (--attacker-key FILE for its key)\n"
    "  --attacker-key FILE  the private key of --attacker-cert\n"
    "  --restart-cmd CMD    a shell command that restarts the gateway on the same address\n"
    "                       and returns once it started (e.g. systemctl restart authwired);\n"
    "                       without it replay-after-restart is skipped\n"
    "  --profile NAME       authwire (default): the catalogue; seed: the seed design's insider\n"
    "                       attack next to authwire's (see above)\n"
    "  -h, --help           this help\n"
    "\n"
    "exit status: 0 every attack was blocked or skipped (--profile seed: the seed design fell\n"
    "and authwire held); 1 an attack succeeded, or one could not be made (--profile seed:\n"
    "either system did otherwise); 2 usage.\n";

enum {
    OPT_CREDENTIALS = CLI_OPT_FIRST,
    OPT_TARGET,
    OPT_CACERT,
    OPT_ONLY,
    OPT_JSON,
    OPT_LIST,
    OPT_DATA,
    OPT_VICTIM,
    OPT_SLOW,
    OPT_WINDOW,
    OPT_RESTART,
    OPT_PROFILE,
    OPT_CERT,
    OPT_KEY,
    OPT_ATTACKER_CERT,
    OPT_ATTACKER_KEY,
};

static const struct option attack_options[] = {
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"target", required_argument, NULL, OPT_TARGET},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"only", required_argument, NULL, OPT_ONLY},
    {"json", required_argument, NULL, OPT_JSON},
    {"list", no_argument, NULL, OPT_LIST},
    {"data", required_argument, NULL, OPT_DATA},
    {"victim", required_argument, NULL, OPT_VICTIM},
    {"slow-timeout", required_argument, NULL, OPT_SLOW},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"restart-cmd", required_argument, NULL, OPT_RESTART},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"attacker-cert", required_argument, NULL, OPT_ATTACKER_CERT},
    {"attacker-key", required_argument, NULL, OPT_ATTACKER_KEY},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *needs_text(unsigned needs, char *buf, size_t cap)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {
        {AW_ATTACK_NEEDS_TLS, "tls"},
        {AW_ATTACK_NEEDS_TIMESTAMP, "timestamp"},
        {AW_ATTACK_NEEDS_SEQUENCE, "sequence"},
        {AW_ATTACK_NEEDS_CHALLENGE, "challenge"},
        {AW_ATTACK_NEEDS_RESTART, "restart"},
        {AW_ATTACK_NEEDS_VICTIM, "victim"},
        {AW_ATTACK_NEEDS_DATA, "data"},
        {AW_ATTACK_NEEDS_MTLS, "mtls"},
        {AW_ATTACK_NEEDS_ATTACKER_CERT, "attacker-cert"},
    };
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (needs & names[i].flag) {
            size_t n = strlen(buf);
            snprintf(buf + n, cap - n, "%s%s", n > 0 ? "," : "", names[i].name);
        }
    }
    return buf[0] != '\0' ? buf : "-";
}

static void list_catalogue(void)
{
    size_t n;
    const aw_attack *cat = aw_attack_catalogue(&n);
    printf("%-32s %-20s %s\n", "id", "needs", "what is tried / expected defence");
    for (size_t i = 0; i < n; i++) {
        char needs[96];
        printf("%-32s %-20s %s\n%-53s expected: %s\n", cat[i].id,
               needs_text(cat[i].needs, needs, sizeof(needs)), cat[i].description, "",
               cat[i].expected);
    }
}

typedef struct victim_pick {
    const char *me;
    char name[AW_USER_NAME_MAX + 1];
} victim_pick;

static aw_result pick_victim(const aw_user *u, void *arg)
{
    victim_pick *v = arg;
    if (v->name[0] == '\0' && u->revoked_at == 0 && strcmp(u->name, v->me) != 0) {
        snprintf(v->name, sizeof(v->name), "%s", u->name);
    }
    return AW_OK;
}

/* Another active user of the data directory, into v->name ("" when there is none). */
static int find_victim(const char *cmd, const char *data, const char *credentials, victim_pick *v)
{
    aw_credentials cred;
    if (cli_read_credentials(cmd, credentials, &cred) != 0) {
        return -1;
    }
    aw_store *s = cli_open_store(cmd, data);
    v->me = cred.keyid;
    aw_result r = s != NULL ? aw_store_user_list(s, pick_victim, v) : AW_E_STORE;
    aw_store_close(s);
    aw_credentials_free(&cred);
    if (r != AW_OK) {
        if (s != NULL) {
            cli_error(cmd, "cannot list the users of %s: %s", data, aw_result_reason(r));
        }
        return -1;
    }
    return 0;
}

/* ---- --profile seed -------------------------------------------------------------------- */

/* The catalogue's rows that are the seed attack's insider against a live gateway. */
static const char *const insider_ids[] = {"impersonate-user", "tamper-keyid"};
#define N_INSIDER_IDS (sizeof(insider_ids) / sizeof(insider_ids[0]))

/* The seed rows, then the live rows (when live is not NULL), as one JSON array in path. */
static aw_result write_seed_json(const char *path, const aw_seed_report *seed,
                                 const aw_attack_report *live)
{
    size_t cap = 8192 + (live != NULL ? live->n_rows * 4096 : 0);
    uint8_t *buf = malloc(cap);
    AW_ENSURE(buf != NULL, AW_E_INTERNAL);
    aw_writer w;
    aw_json_writer jw;
    aw_writer_init(&w, buf, cap);
    aw_json_writer_init(&jw, &w, true);
    aw_json_begin_array(&jw);
    aw_seed_json_rows(seed, &jw);
    if (live != NULL) {
        aw_attack_report_json_rows(live, &jw);
    }
    aw_json_end_array(&jw);
    aw_writer_cstr(&w, "\n");
    aw_result r = aw_json_writer_result(&jw);
    if (r == AW_OK) {
        r = aw_writer_result(&w);
    }
    if (r == AW_OK) {
        r = aw_file_write_atomic(path, buf, w.len, 0644, 0);
    }
    free(buf);
    return r;
}

/* The seed design's insider attack next to authwire's (in process), then, with credentials,
 * the catalogue's insider rows against the live gateway. */
static int run_seed_profile(const char *cmd, const aw_attack_config *cfg, const char *json)
{
    aw_seed_report seed;
    aw_result r = aw_seed_insider_attack(&seed);
    if (r != AW_OK) {
        cli_error(cmd, "the seed profile could not run: %s", aw_result_reason(r));
        return CLI_EXIT_FAIL;
    }
    aw_seed_print(&seed, stdout);
    int rc = aw_seed_as_expected(&seed) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    if (rc != CLI_EXIT_OK) {
        cli_error(cmd, "the seed profile did not go as the threat model predicts");
    }

    aw_attack insiders[N_INSIDER_IDS];
    aw_attack_report live = {0};
    bool have_live = false;
    if (cfg->credentials != NULL) {
        size_t n_cat, n = 0;
        const aw_attack *cat = aw_attack_catalogue(&n_cat);
        for (size_t i = 0; i < n_cat; i++) {
            for (size_t j = 0; j < N_INSIDER_IDS; j++) {
                if (strcmp(cat[i].id, insider_ids[j]) == 0) {
                    insiders[n++] = cat[i];
                }
            }
        }
        aw_attack_config c = *cfg;
        c.catalogue = insiders;
        c.catalogue_len = n;
        char why[512] = "";
        printf("\nthe same insider against the live gateway (the catalogue's insider rows):\n");
        fflush(stdout);
        r = n == N_INSIDER_IDS ? aw_attack_run(&c, &live, why, sizeof(why)) : AW_E_INTERNAL;
        if (r != AW_OK) {
            cli_error(cmd, "%s", why[0] != '\0' ? why : aw_result_reason(r));
            rc = r == AW_E_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        } else {
            have_live = true;
            aw_attack_report_print(&live, stdout);
            if (live.succeeded + live.errors > 0) {
                rc = CLI_EXIT_FAIL;
            }
            if (live.succeeded > 0) {
                cli_error(cmd, "%zu attack(s) SUCCEEDED against %s", live.succeeded, live.target);
            }
        }
    }
    fflush(stdout);
    if (json != NULL && (r = write_seed_json(json, &seed, have_live ? &live : NULL)) != AW_OK) {
        cli_error(cmd, "cannot write %s: %s", json, aw_result_reason(r));
        rc = rc == CLI_EXIT_OK ? CLI_EXIT_FAIL : rc;
    }
    aw_attack_report_free(&live);
    return rc;
}

int cli_attack(int argc, char **argv)
{
    const char *cmd = "attack", *json = NULL;
    aw_attack_config cfg = {.progress = stderr};
    bool list = false, seed = false;
    int c, rc;
    optind = 1;
    unsigned takes = CLI_TAKES(OPT_CREDENTIALS) | CLI_TAKES(OPT_TARGET) | CLI_TAKES(OPT_CACERT) |
                     CLI_TAKES(OPT_ONLY) | CLI_TAKES(OPT_JSON) | CLI_TAKES(OPT_LIST) |
                     CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_VICTIM) | CLI_TAKES(OPT_SLOW) |
                     CLI_TAKES(OPT_WINDOW) | CLI_TAKES(OPT_RESTART) | CLI_TAKES(OPT_PROFILE) |
                     CLI_TAKES(OPT_CERT) | CLI_TAKES(OPT_KEY) | CLI_TAKES(OPT_ATTACKER_CERT) |
                     CLI_TAKES(OPT_ATTACKER_KEY);
    while ((c = cli_next_option(argc, argv, cmd, attack_help, attack_options, takes, &rc)) > 0) {
        int64_t secs = 0;
        switch (c) {
        case OPT_CREDENTIALS:
            cfg.credentials = optarg;
            break;
        case OPT_TARGET:
            cfg.target = optarg;
            break;
        case OPT_CACERT:
            cfg.cacert = optarg;
            break;
        case OPT_ONLY:
            cfg.only = optarg;
            break;
        case OPT_JSON:
            json = optarg;
            break;
        case OPT_LIST:
            list = true;
            break;
        case OPT_DATA:
            cfg.data_dir = optarg;
            break;
        case OPT_VICTIM:
            cfg.victim = optarg;
            break;
        case OPT_SLOW:
            if (cli_parse_i64(optarg, &secs) != 0 || secs < 1 || secs > 600) {
                cli_error(cmd, "--slow-timeout takes 1 to 600 seconds, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            cfg.slow_timeout_ms = (int)secs * 1000;
            break;
        case OPT_WINDOW:
            if (cli_parse_i64(optarg, &secs) != 0 || secs < 1 || secs > 600) {
                cli_error(cmd, "--window takes 1 to 600 seconds, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            cfg.window_s = (int)secs;
            break;
        case OPT_RESTART:
            if (optarg[0] == '\0') {
                cli_error(cmd, "--restart-cmd needs a command");
                return CLI_EXIT_USAGE;
            }
            cfg.restart_cmd = optarg;
            break;
        case OPT_CERT:
            cfg.client_cert = optarg;
            break;
        case OPT_KEY:
            cfg.client_key = optarg;
            break;
        case OPT_ATTACKER_CERT:
            cfg.attacker_cert = optarg;
            break;
        case OPT_ATTACKER_KEY:
            cfg.attacker_key = optarg;
            break;
        case OPT_PROFILE:
            if (strcmp(optarg, "seed") != 0 && strcmp(optarg, "authwire") != 0) {
                cli_error(cmd, "unknown profile '%s': --profile takes authwire or seed", optarg);
                return CLI_EXIT_USAGE;
            }
            seed = strcmp(optarg, "seed") == 0;
            break;
        }
    }
    if (c < 0) {
        return rc;
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if ((cfg.client_key != NULL && cfg.client_cert == NULL) ||
        (cfg.attacker_key != NULL && cfg.attacker_cert == NULL)) {
        cli_error(cmd, "--key and --attacker-key go with --cert and --attacker-cert");
        return CLI_EXIT_USAGE;
    }
    if (cfg.attacker_cert != NULL && cfg.client_cert == NULL) {
        cli_error(cmd, "--attacker-cert is for mTLS targets: give the user's --cert too");
        return CLI_EXIT_USAGE;
    }
    if (list) {
        list_catalogue();
        return CLI_EXIT_OK;
    }
    if (seed && cfg.only != NULL) {
        cli_error(cmd, "--only runs one attack of the catalogue, not of --profile seed");
        return CLI_EXIT_USAGE;
    }
    if (seed && cfg.credentials == NULL &&
        (cfg.target != NULL || cfg.data_dir != NULL || cfg.victim != NULL || cfg.cacert != NULL ||
         cfg.client_cert != NULL || cfg.restart_cmd != NULL || cfg.window_s != 0 ||
         cfg.slow_timeout_ms != 0)) {
        cli_error(cmd, "--profile seed runs against a live gateway only with --credentials FILE");
        return CLI_EXIT_USAGE;
    }
    if (seed && cfg.credentials == NULL) {
        return run_seed_profile(cmd, &cfg, json);
    }
    if (cfg.credentials == NULL) {
        cli_error(cmd, "--credentials FILE is required (see --help)");
        return CLI_EXIT_USAGE;
    }
    victim_pick v = {0};
    if (cfg.victim == NULL && cfg.data_dir != NULL) {
        if (find_victim(cmd, cfg.data_dir, cfg.credentials, &v) != 0) {
            return CLI_EXIT_FAIL;
        }
        cfg.victim = v.name[0] != '\0' ? v.name : NULL;
    }
    if (cfg.victim != NULL && cli_check_user_name(cmd, cfg.victim) != 0) {
        return CLI_EXIT_USAGE;
    }
    if (seed) {
        return run_seed_profile(cmd, &cfg, json);
    }
    aw_attack_report report;
    char why[512] = "";
    aw_result r = aw_attack_run(&cfg, &report, why, sizeof(why));
    if (r != AW_OK) {
        cli_error(cmd, "%s", why[0] != '\0' ? why : aw_result_reason(r));
        return r == AW_E_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    aw_attack_report_print(&report, stdout);
    fflush(stdout);
    rc = report.succeeded + report.errors > 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    if (json != NULL && (r = aw_attack_report_json(&report, json)) != AW_OK) {
        cli_error(cmd, "cannot write %s: %s", json, aw_result_reason(r));
        rc = CLI_EXIT_FAIL;
    }
    if (report.succeeded > 0) {
        cli_error(cmd, "%zu attack(s) SUCCEEDED against %s", report.succeeded, report.target);
    }
    aw_attack_report_free(&report);
    return rc;
}
