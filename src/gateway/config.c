/* The configuration table of authwired (see config.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum opt_type { OPT_STRING, OPT_BOOL, OPT_INT, OPT_CB } opt_type;

typedef struct opt {
    const char *name;
    opt_type type;
    size_t offset;
    const char *def; /* default as text; NULL: unset */
    int64_t min, max;
    const char *help;
} opt;

#define F(field) offsetof(gw_config, field)

static const opt options[] = {
    {"data", OPT_STRING, F(data), NULL, 0, 0,
     "data directory made by `authwire init` (database, master key, certificates)"},
    {"listen", OPT_STRING, F(listen), "127.0.0.1:8443", 0, 0, "address and port to listen on"},
    {"demo-api", OPT_BOOL, F(demo_api), "false", 0, 0,
     "serve the built-in demo API (balances, transfers, notes)"},
    {"upstream", OPT_STRING, F(upstream), NULL, 0, 0,
     "reverse proxy verified requests to this http:// URL"},
    {"plain", OPT_BOOL, F(plain), "false", 0, 0, "plain HTTP instead of TLS 1.3"},
    {"cert", OPT_STRING, F(cert), NULL, 0, 0,
     "TLS certificate chain (PEM); default DATA/server.pem"},
    {"key", OPT_STRING, F(key), NULL, 0, 0, "TLS private key (PEM); default DATA/server.key"},
    {"client-ca", OPT_STRING, F(client_ca), NULL, 0, 0,
     "require client certificates issued by this CA (mTLS)"},
    {"channel-binding", OPT_CB, F(channel_binding), "prefer", 0, 0,
     "RFC 9266 channel binding: off | prefer (check when sent) | require"},
    {"auth", OPT_BOOL, F(auth), "true", 0, 0,
     "verify request signatures (false only for benchmarks: nothing is checked)"},
    {"skew", OPT_INT, F(skew), "30", 5, 300, "tolerated clock difference, seconds"},
    {"max-age", OPT_INT, F(max_age), "30", 5, 300, "how long a signature stays valid, seconds"},
    {"challenge-ttl", OPT_INT, F(challenge_ttl), "60", 5, 600,
     "how long a challenge nonce stays valid, seconds"},
    {"nonce-capacity", OPT_INT, F(nonce_capacity), "1000000", 1000, 100000000,
     "live nonces the replay cache holds (42 bytes each); full means 503, never forgetting"},
    {"workers", OPT_INT, F(workers), "0", 0, 256, "worker threads; 0: one per CPU"},
    {"max-header-bytes", OPT_INT, F(max_header_bytes), "16384", 1024, 1048576,
     "largest request head"},
    {"max-body-bytes", OPT_INT, F(max_body_bytes), "1048576", 0, 1073741824,
     "largest request body"},
    {"header-timeout-ms", OPT_INT, F(header_timeout_ms), "10000", 100, 600000,
     "the TLS handshake and the request head must arrive within this"},
    {"body-timeout-ms", OPT_INT, F(body_timeout_ms), "30000", 100, 600000,
     "the body must arrive within this after the head"},
    {"idle-timeout-ms", OPT_INT, F(idle_timeout_ms), "60000", 100, 3600000,
     "an idle keep-alive connection is closed after this"},
    {"upstream-timeout-ms", OPT_INT, F(upstream_timeout_ms), "30000", 100, 600000,
     "the upstream must answer within this"},
    {"max-connections", OPT_INT, F(max_connections), "10000", 1, 1000000,
     "open connections at most; more are closed at once"},
    {"rate-limit", OPT_INT, F(rate_limit), "0", 0, 1000000,
     "unauthenticated requests per second per source address before 429; 0: no limit"},
    {"enroll-sessions", OPT_INT, F(enroll_sessions), "4096", 1, 65536,
     "enrollment and rotation handshakes pending between WELCOME and CONFIRM (each expires "
     "60 s after its WELCOME); full means 503"},
    {"enroll-rate-limit", OPT_INT, F(enroll_rate_limit), "100", 0, 1000000,
     "enrollment and rotation POSTs per second per source address before 429; 0: no limit"},
    {"authority", OPT_STRING, F(authority), NULL, 0, 0,
     "comma-separated Host values this gateway answers for (e.g. api.example,api.example:8443); "
     "a request signed for another is refused, so a signature for one API cannot be replayed "
     "at another sharing the keys. Default: any"},
    {"access-log", OPT_STRING, F(access_log), "-", 0, 0,
     "JSON access log: a file, - for stdout, or off"},
    {"port-file", OPT_STRING, F(port_file), NULL, 0, 0,
     "write the bound port here once listening (for tests and scripts)"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const char *cb_names[] = {"off", "prefer", "require"};

const char *gw_cb_policy_name(gw_cb_policy p)
{
    return cb_names[p];
}

static const opt *find(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strcmp(options[i].name, name) == 0) {
            return &options[i];
        }
    }
    return NULL;
}

static int set(gw_config *cfg, const opt *o, const char *value, const char *where)
{
    void *field = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_STRING: {
        char **s = field;
        free(*s);
        *s = strdup(value);
        return *s != NULL ? 0 : -1;
    }
    case OPT_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "on") == 0 || strcmp(value, "yes") == 0) {
            *(bool *)field = true;
        } else if (strcmp(value, "false") == 0 || strcmp(value, "off") == 0 ||
                   strcmp(value, "no") == 0) {
            *(bool *)field = false;
        } else {
            fprintf(stderr, "authwired: %s: %s wants true or false, not '%s'\n", where, o->name,
                    value);
            return -1;
        }
        return 0;
    case OPT_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || v < o->min || v > o->max) {
            fprintf(stderr, "authwired: %s: %s wants an integer from %lld to %lld, not '%s'\n",
                    where, o->name, (long long)o->min, (long long)o->max, value);
            return -1;
        }
        *(int64_t *)field = v;
        return 0;
    }
    case OPT_CB:
        for (int i = 0; i < 3; i++) {
            if (strcmp(value, cb_names[i]) == 0) {
                *(gw_cb_policy *)field = (gw_cb_policy)i;
                return 0;
            }
        }
        fprintf(stderr, "authwired: %s: %s wants off, prefer or require, not '%s'\n", where,
                o->name, value);
        return -1;
    }
    return -1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: authwired --data DIR (--demo-api | --upstream URL) [options]\n\n"
            "The authwire gateway: verifies every request's signature (authwire/1, RFC 9421),\n"
            "refuses replays, and signs every response bound to its request.\n\n"
            "options (also accepted as `name = value` lines in --config FILE):\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &options[i];
        const char *arg = o->type == OPT_BOOL ? "" : o->type == OPT_INT ? " N" : " VALUE";
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s%s", o->name, arg);
        fprintf(out, "  %-28s %s", flag, o->help);
        if (o->def != NULL && o->type != OPT_BOOL) {
            fprintf(out, " (default %s)", o->def);
        }
        fprintf(out, "\n");
    }
    fprintf(out, "  %-28s %s\n", "--config FILE", "read options from FILE first");
    fprintf(out, "  %-28s %s\n", "--example-config", "print a commented example config");
    fprintf(out, "\nSIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0.\n");
}

static void example_config(FILE *out)
{
    fprintf(out, "# authwired example configuration: `name = value`, one per line.\n"
                 "# Every option is shown with its default; flags override this file.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &options[i];
        fprintf(out, "# %s\n%s%s = %s\n\n", o->help, o->def == NULL ? "# " : "", o->name,
                o->def != NULL ? o->def : "...");
    }
}

static bool is_bool_word(const char *s)
{
    static const char *const words[] = {"true", "false", "on", "off", "yes", "no"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(s, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
    return s;
}

static int load_file(gw_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "authwired: cannot read config %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *l = trim(line);
        if (*l == '\0' || *l == '#') {
            continue;
        }
        char where[512];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        char *eq = strchr(l, '=');
        if (eq == NULL) {
            fprintf(stderr, "authwired: %s: expected `name = value`\n", where);
            rc = -1;
            break;
        }
        *eq = '\0';
        const opt *o = find(trim(l));
        if (o == NULL) {
            fprintf(stderr, "authwired: %s: unknown option '%s'\n", where, trim(l));
            rc = -1;
            break;
        }
        rc = set(cfg, o, trim(eq + 1), where);
    }
    fclose(f);
    return rc;
}

int gw_config_load(gw_config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].def != NULL && set(cfg, &options[i], options[i].def, "default") != 0) {
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--example-config") == 0) {
            example_config(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc || load_file(cfg, argv[i + 1]) != 0) {
                if (i + 1 >= argc) {
                    fprintf(stderr, "authwired: --config needs a file\n");
                }
                return -1;
            }
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "authwired: unexpected argument '%s' (see --help)\n", a);
            return -1;
        }
        const char *name = a + 2;
        const char *value = NULL;
        char buf[64];
        const char *eq = strchr(name, '=');
        if (eq != NULL && (size_t)(eq - name) < sizeof(buf)) {
            memcpy(buf, name, (size_t)(eq - name));
            buf[eq - name] = '\0';
            name = buf;
            value = eq + 1;
        }
        const opt *o = find(name);
        if (o == NULL) {
            fprintf(stderr, "authwired: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        if (value == NULL) {
            if (o->type == OPT_BOOL) {
                /* --flag alone means true; --flag false (or off, no) also reads naturally. */
                value = "true";
                if (i + 1 < argc && is_bool_word(argv[i + 1])) {
                    value = argv[++i];
                }
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(stderr, "authwired: %s needs a value\n", a);
                return -1;
            }
        }
        if (set(cfg, o, value, "command line") != 0) {
            return -1;
        }
    }
    if (cfg->data == NULL) {
        fprintf(stderr, "authwired: --data DIR is required (create one with `authwire init`)\n");
        return -1;
    }
    if (cfg->demo_api == (cfg->upstream != NULL)) {
        fprintf(stderr, "authwired: choose exactly one of --demo-api and --upstream URL\n");
        return -1;
    }
    if (cfg->upstream != NULL && strncmp(cfg->upstream, "http://", 7) != 0) {
        fprintf(stderr, "authwired: --upstream must be an http:// URL\n");
        return -1;
    }
    if (cfg->plain && cfg->channel_binding == GW_CB_REQUIRE) {
        fprintf(stderr, "authwired: --channel-binding require needs TLS (drop --plain)\n");
        return -1;
    }
    if (cfg->plain && cfg->client_ca != NULL) {
        fprintf(stderr, "authwired: --client-ca needs TLS (drop --plain)\n");
        return -1;
    }
    if (cfg->challenge_ttl > cfg->skew + cfg->max_age) {
        fprintf(stderr,
                "authwired: --challenge-ttl must be at most --skew + --max-age (%lld): "
                "the replay cache forgets a used challenge after that\n",
                (long long)(cfg->skew + cfg->max_age));
        return -1;
    }
    if (cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n > 0 ? n : 1;
    }
    return 0;
}

void gw_config_free(gw_config *cfg)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (options[i].type == OPT_STRING) {
            char **s = (char **)(void *)((char *)cfg + options[i].offset);
            free(*s);
            *s = NULL;
        }
    }
}
