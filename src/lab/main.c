/* authwire-lab: the MAC lab's executable, started by `authwire lab` (src/cli/lab.c), which
 * keeps these deliberately weak constructions out of the authwire binary itself. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "lab.h"

#define EXIT_USAGE   2
#define DEFAULT_SEED 0x61757468776972ull /* "authwir": any fixed value; --seed changes it */

static void usage(FILE *out)
{
    fprintf(out, "usage: authwire lab [NAME...] [--json FILE] [--plot DIR] [--seed N]\n"
                 "\n"
                 "Runs the MAC constructions of the theory and their attacks for real, and\n"
                 "compares each measured figure with the bound it is predicted by. Without\n"
                 "NAME every experiment runs. Exits 0 when every figure is within its stated\n"
                 "band, the attack on each weak construction succeeded and the same attack\n"
                 "on the sound construction failed; 1 otherwise; 2 on a usage error.\n"
                 "\n"
                 "experiments:\n");
    for (size_t i = 0; i < awlab_n_experiments; i++) {
        fprintf(out, "  %-10s %s\n", awlab_experiments[i].name, awlab_experiments[i].title);
    }
    fprintf(out,
            "\n"
            "  --json FILE   write every figure, band and series as JSON ('-': stdout)\n"
            "  --plot DIR    write PNG plots through gnuplot into DIR (8.)\n"
            "  --seed N      seed of the deterministic generator (default %llu)\n"
            "  -q, --quiet   print only the verdicts\n"
            "  -h, --help    this help\n"
            "\n"
            "docs/LAB.md explains each experiment and the argument it runs.\n",
            (unsigned long long)DEFAULT_SEED);
}

static void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "authwire: lab: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"json", required_argument, NULL, 'j'}, {"plot", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *json = NULL, *plot = NULL;
    uint64_t seed = DEFAULT_SEED;
    bool quiet = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = optarg;
            break;
        case 'p':
            plot = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (errno != 0 || *end != '\0' || *optarg == '\0' || *optarg == '-') {
                error("--seed wants a non-negative integer, not '%s'", optarg);
                return EXIT_USAGE;
            }
            seed = v;
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            error("unknown or incomplete option '%s' (see authwire lab --help)", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    bool chosen[32] = {false};
    bool any = optind < argc;
    for (int i = optind; i < argc; i++) {
        size_t e = 0;
        while (e < awlab_n_experiments && strcmp(awlab_experiments[e].name, argv[i]) != 0) {
            e++;
        }
        if (e == awlab_n_experiments) {
            error("no experiment called '%s' (see authwire lab --help)", argv[i]);
            return EXIT_USAGE;
        }
        chosen[e] = true;
    }
    if (aw_crypto_init() != AW_OK) {
        error("%s", "the crypto backend failed to start");
        return 1;
    }

    awlab_result *res = calloc(awlab_n_experiments, sizeof(*res));
    if (res == NULL) {
        error("%s", "out of memory");
        return 1;
    }
    /* With --json -, the JSON owns stdout and the narration goes to stderr. */
    FILE *say = json != NULL && strcmp(json, "-") == 0 ? stderr : stdout;
    awlab_config cfg = {seed, quiet ? NULL : say};
    size_t n = 0;
    int status = 0;
    for (size_t e = 0; e < awlab_n_experiments; e++) {
        if (any && !chosen[e]) {
            continue;
        }
        const awlab_experiment *x = &awlab_experiments[e];
        fprintf(say, "== %s\n", x->title);
        fflush(say);
        aw_result r = awlab_run(x, &cfg, &res[n]);
        if (r != AW_OK) {
            fprintf(stderr, "authwire: lab: %s: %s: %s\n", x->name, aw_result_name(r),
                    aw_result_reason(r));
            status = 1;
            continue;
        }
        awlab_print_figures(&cfg, &res[n]);
        if (quiet) {
            fprintf(say, "  %s (%.2f s)\n",
                    awlab_as_predicted(&res[n]) ? "as predicted" : "NOT AS PREDICTED",
                    res[n].seconds);
        }
        if (!awlab_as_predicted(&res[n])) {
            status = 1;
        }
        n++;
        fflush(say);
    }
    if (json != NULL) {
        bool to_stdout = strcmp(json, "-") == 0;
        FILE *f = to_stdout ? stdout : fopen(json, "w");
        if (f == NULL || awlab_write_json(f, seed, res, n) != 0 || (!to_stdout && fclose(f) != 0)) {
            error("cannot write %s", json);
            status = 1;
        }
    }
    if (plot != NULL && awlab_write_plots(plot, res, n) != 0) {
        status = 1;
    }
    free(res);
    return status;
}
