/* authwire attack: the attack harness (src/attack) against a running gateway: a man in the
 * middle runs the catalogue through the user's own client and reports, per attack, what was
 * tried, what stopped it (or that it SUCCEEDED) and what an observer learned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "cli.h"
#include "credentials.h"
#include "store.h"

static const char attack_help[] =
    "usage: authwire attack --credentials FILE [options]\n"
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
    "  -h, --help           this help\n"
    "\n"
    "exit status: 0 every attack was blocked or skipped; 1 an attack succeeded, or one could\n"
    "not be made; 2 usage.\n";

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
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *needs_text(unsigned needs, char *buf, size_t cap)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {
        {AW_ATTACK_NEEDS_TLS, "tls"},           {AW_ATTACK_NEEDS_TIMESTAMP, "timestamp"},
        {AW_ATTACK_NEEDS_SEQUENCE, "sequence"}, {AW_ATTACK_NEEDS_CHALLENGE, "challenge"},
        {AW_ATTACK_NEEDS_RESTART, "restart"},   {AW_ATTACK_NEEDS_VICTIM, "victim"},
        {AW_ATTACK_NEEDS_DATA, "data"},
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
    printf("%-28s %-20s %s\n", "id", "needs", "what is tried / expected defence");
    for (size_t i = 0; i < n; i++) {
        char needs[96];
        printf("%-28s %-20s %s\n%-49s expected: %s\n", cat[i].id,
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

int cli_attack(int argc, char **argv)
{
    const char *cmd = "attack", *json = NULL;
    aw_attack_config cfg = {.progress = stderr};
    bool list = false;
    int c, rc;
    optind = 1;
    unsigned takes = CLI_TAKES(OPT_CREDENTIALS) | CLI_TAKES(OPT_TARGET) | CLI_TAKES(OPT_CACERT) |
                     CLI_TAKES(OPT_ONLY) | CLI_TAKES(OPT_JSON) | CLI_TAKES(OPT_LIST) |
                     CLI_TAKES(OPT_DATA) | CLI_TAKES(OPT_VICTIM) | CLI_TAKES(OPT_SLOW);
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
        }
    }
    if (c < 0) {
        return rc;
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    if (list) {
        list_catalogue();
        return CLI_EXIT_OK;
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
