/* Results of the experiments: figures with their bands, series for the plots, narration,
 * the JSON document and the gnuplot plots; the experiment table; statistics helpers. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lab.h"

const awlab_experiment awlab_experiments[] = {
    {"prefix", "1. prefix MAC SHA-256(k || m): length extension", awlab_exp_prefix},
    {"suffix", "2. suffix MAC H(m || k): forgery from a t-bit hash collision", awlab_exp_suffix},
    {"splice", "3. raw CBC-MAC: splicing forgery on variable-length messages", awlab_exp_splice},
    {"birthday", "4. CBC-MAC with t-bit blocks: the birthday forgery", awlab_exp_birthday},
    {"universal", "5. a*x + b mod p: exact impersonation and substitution", awlab_exp_universal},
    {"poly1305", "6. sum k_i*x_i mod p and Poly1305: one-time keys reused", awlab_exp_poly1305},
    {"hmac", "7. HMAC-SHA-256 as authwire uses it: every battery fails", awlab_exp_hmac},
};
const size_t awlab_n_experiments = sizeof(awlab_experiments) / sizeof(awlab_experiments[0]);

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

aw_result awlab_run(const awlab_experiment *e, const awlab_config *cfg, awlab_result *res)
{
    memset(res, 0, sizeof(*res));
    res->name = e->name;
    res->title = e->title;
    double t0 = now_seconds();
    aw_result r = e->run(cfg, res);
    res->seconds = now_seconds() - t0;
    return r;
}

awlab_figure *awlab_add_figure(awlab_result *r, const char *name, double measured, double bound,
                               double lo, double hi, const char *what)
{
    static awlab_figure overflow;
    if (r->n_figures >= AWLAB_MAX_FIGURES) {
        /* A programming error in an experiment: make it visible as a failed figure. */
        r->sound_held = false;
        return &overflow;
    }
    awlab_figure *f = &r->fig[r->n_figures++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->what, sizeof(f->what), "%s", what);
    f->measured = measured;
    f->bound = bound;
    f->lo = lo;
    f->hi = hi;
    f->ok = measured >= lo && measured <= hi;
    return f;
}

const awlab_figure *awlab_find_figure(const awlab_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_figures; i++) {
        if (strcmp(r->fig[i].name, name) == 0) {
            return &r->fig[i];
        }
    }
    return NULL;
}

awlab_series *awlab_add_series(awlab_result *r, const char *name)
{
    static awlab_series overflow;
    if (r->n_series >= AWLAB_MAX_SERIES) {
        overflow.n = 0;
        return &overflow;
    }
    awlab_series *s = &r->series[r->n_series++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->n = 0;
    return s;
}

void awlab_add_point(awlab_series *s, double x, double y, double ylo, double yhi, double bound)
{
    if (s->n < AWLAB_MAX_POINTS) {
        s->pt[s->n++] = (awlab_point){x, y, ylo, yhi, bound};
    }
}

bool awlab_as_predicted(const awlab_result *r)
{
    for (size_t i = 0; i < r->n_figures; i++) {
        if (!r->fig[i].ok) {
            return false;
        }
    }
    return r->weak_broken && r->sound_held;
}

void awlab_say(const awlab_config *cfg, const char *fmt, ...)
{
    if (cfg->out == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(cfg->out, fmt, ap);
    va_end(ap);
}

void awlab_print_figures(const awlab_config *cfg, const awlab_result *r)
{
    if (cfg->out == NULL) {
        return;
    }
    fprintf(cfg->out, "  %-26s %14s %14s  %-27s %s\n", "figure", "measured", "predicted",
            "accepted band", "");
    for (size_t i = 0; i < r->n_figures; i++) {
        const awlab_figure *f = &r->fig[i];
        char band[64];
        snprintf(band, sizeof(band), "[%.4g, %.4g]", f->lo, f->hi);
        fprintf(cfg->out, "  %-26s %14.6g %14.6g  %-27s %s\n", f->name, f->measured, f->bound, band,
                f->ok ? "ok" : "OUT OF BAND");
        fprintf(cfg->out, "      %s\n", f->what);
    }
    fprintf(cfg->out, "  attack on the weak construction: %s\n",
            r->weak_broken ? "succeeded as predicted" : "DID NOT SUCCEED");
    fprintf(cfg->out, "  same attack on the sound construction: %s\n",
            r->sound_held ? "failed, as it must" : "SUCCEEDED");
    fprintf(cfg->out, "  verdict: %s (%.2f s)\n\n",
            awlab_as_predicted(r) ? "as predicted" : "NOT AS PREDICTED", r->seconds);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v)) {
        fprintf(f, "%.9g", v);
    } else {
        fputs("null", f);
    }
}

int awlab_write_json(FILE *f, uint64_t seed, const awlab_result *res, size_t n)
{
    fprintf(f, "{\n  \"tool\": \"authwire lab\",\n  \"seed\": %llu,\n  \"experiments\": [",
            (unsigned long long)seed);
    for (size_t e = 0; e < n; e++) {
        const awlab_result *r = &res[e];
        fprintf(f, "%s\n    {\n      \"name\": ", e == 0 ? "" : ",");
        json_string(f, r->name);
        fputs(",\n      \"title\": ", f);
        json_string(f, r->title);
        fprintf(f,
                ",\n      \"as_predicted\": %s,\n      \"weak_broken\": %s,\n"
                "      \"sound_held\": %s,\n      \"seconds\": ",
                awlab_as_predicted(r) ? "true" : "false", r->weak_broken ? "true" : "false",
                r->sound_held ? "true" : "false");
        json_number(f, r->seconds);
        fputs(",\n      \"figures\": [", f);
        for (size_t i = 0; i < r->n_figures; i++) {
            const awlab_figure *g = &r->fig[i];
            fprintf(f, "%s\n        {\"name\": ", i == 0 ? "" : ",");
            json_string(f, g->name);
            fputs(", \"measured\": ", f);
            json_number(f, g->measured);
            fputs(", \"predicted\": ", f);
            json_number(f, g->bound);
            fputs(", \"lo\": ", f);
            json_number(f, g->lo);
            fputs(", \"hi\": ", f);
            json_number(f, g->hi);
            fprintf(f, ", \"ok\": %s, \"what\": ", g->ok ? "true" : "false");
            json_string(f, g->what);
            fputc('}', f);
        }
        fputs("\n      ],\n      \"series\": [", f);
        for (size_t s = 0; s < r->n_series; s++) {
            const awlab_series *sr = &r->series[s];
            fprintf(f, "%s\n        {\"name\": ", s == 0 ? "" : ",");
            json_string(f, sr->name);
            fputs(", \"points\": [", f);
            for (size_t i = 0; i < sr->n; i++) {
                const awlab_point *p = &sr->pt[i];
                fputs(i == 0 ? "{\"x\": " : ", {\"x\": ", f);
                json_number(f, p->x);
                fputs(", \"y\": ", f);
                json_number(f, p->y);
                fputs(", \"ylo\": ", f);
                json_number(f, p->ylo);
                fputs(", \"yhi\": ", f);
                json_number(f, p->yhi);
                fputs(", \"predicted\": ", f);
                json_number(f, p->bound);
                fputc('}', f);
            }
            fputs("]}", f);
        }
        fputs("\n      ]\n    }", f);
    }
    fputs("\n  ]\n}\n", f);
    return ferror(f) ? -1 : 0;
}

/* ---- plots ---------------------------------------------------------------------------- */

/* How each plot reads: which experiment's series it draws and its axes. */
typedef struct plot_spec {
    const char *experiment;
    const char *file;
    const char *title;
    const char *xlabel;
    const char *ylabel;
    const char *bound_label; /* the predicted curve, drawn from the first series' bound */
    bool logx, logy;
    const char *extra; /* more gnuplot settings: key position, ranges */
} plot_spec;

static const plot_spec plots[] = {
    {"suffix", "suffix-collision", "Suffix MAC H(m||k) with a t-bit hash: queries to a collision",
     "hash bits t", "hash queries to the first collision (median, quartiles)",
     "1.17 * 2^{t/2} (50% birthday bound)", false, true,
     "set key top left box opaque\nset xrange [11:33]\nset xtics 4\nset offsets 0, 0, graph 0.08, "
     "0\n"},
    {"birthday", "cbc-birthday", "CBC-MAC with a t-bit block cipher: queries to a forgery",
     "tag (block) bits t", "MAC queries to the tag collision (median, quartiles)",
     "1.17 * 2^{t/2} (50% birthday bound)", false, true,
     "set key top left box opaque\nset xrange [15:33]\nset xtics 4\nset offsets 0, 0, graph 0.08, "
     "0\n"},
    {"universal", "universal-alpha-beta",
     "a*x + b mod p: impersonation (alpha) and substitution (beta), exact vs by trial", "p",
     "success probability", "1/p = 1/m", true, true,
     "set key bottom left box opaque\nset xrange [1.6:80]\n"
     "set xtics (2, 3, 5, 7, 11, 13, 17, 23, 31, 61)\n"},
    {"poly1305", "wegman-carter-substitution",
     "k1*x1 + k2*x2 + r mod p: substitution, exact vs by trial", "p", "success probability", "1/p",
     true, true, "set key bottom left box opaque\nset xrange [1.8:8]\nset xtics (2, 3, 5, 7)\n"},
    {"hmac", "hmac-truncated", "HMAC-SHA-256 truncated to t bits: forgery rate by guessing",
     "tag bits t", "accepted guesses / guesses (95% interval)", "2^{-t}", false, true,
     "set key top right box opaque\nset xrange [0.5:12.5]\nset xtics 1\n"},
};

static int plot_one(const char *dir, const plot_spec *ps, const awlab_result *r)
{
    char dat[4096], png[4096];
    snprintf(dat, sizeof(dat), "%s/%s.dat", dir, ps->file);
    snprintf(png, sizeof(png), "%s/%s.png", dir, ps->file);
    FILE *d = fopen(dat, "w");
    if (d == NULL) {
        fprintf(stderr, "authwire: lab: cannot write %s: %s\n", dat, strerror(errno));
        return -1;
    }
    fprintf(d, "# %s: x y ylo yhi predicted, one block per series\n", r->name);
    for (size_t s = 0; s < r->n_series; s++) {
        fprintf(d, "# series %s\n", r->series[s].name);
        for (size_t i = 0; i < r->series[s].n; i++) {
            const awlab_point *p = &r->series[s].pt[i];
            fprintf(d, "%.9g %.9g %.9g %.9g %.9g\n", p->x, p->y, p->ylo, p->yhi, p->bound);
        }
        fputs("\n\n", d);
    }
    if (fclose(d) != 0) {
        return -1;
    }
    FILE *g = popen("gnuplot", "w");
    if (g == NULL) {
        fprintf(stderr, "authwire: lab: cannot run gnuplot: %s\n", strerror(errno));
        return -1;
    }
    fprintf(g, "set terminal pngcairo size 960,640 font 'sans,11'\nset output '%s'\n", png);
    fprintf(g, "set title \"%s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n", ps->title, ps->xlabel,
            ps->ylabel);
    fprintf(g, "set grid\n%s", ps->extra);
    if (ps->logx) {
        fprintf(g, "set logscale x\n");
    }
    if (ps->logy) {
        fprintf(g, "set logscale y 2\nset format y '2^{%%L}'\n");
    }
    fprintf(g, "plot ");
    for (size_t s = 0; s < r->n_series; s++) {
        fprintf(g, "'%s' index %zu using 1:2:3:4 with yerrorlines lw 2 pt %zu ps 1.3 title '%s', ",
                dat, s, 5 + 2 * s, r->series[s].name);
    }
    fprintf(g, "'%s' index 0 using 1:5 with lines dt 2 lw 2 lc rgb 'black' title '%s'\n", dat,
            ps->bound_label);
    int rc = pclose(g);
    if (rc != 0) {
        fprintf(stderr, "authwire: lab: gnuplot failed on %s (status %d)\n", png, rc);
        return -1;
    }
    return 0;
}

int awlab_write_plots(const char *dir, const awlab_result *res, size_t n)
{
    if (strchr(dir, '\'') != NULL || strchr(dir, '"') != NULL) {
        fprintf(stderr, "authwire: lab: --plot: the folder name may not contain quotes\n");
        return -1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "authwire: lab: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (size_t p = 0; p < sizeof(plots) / sizeof(plots[0]); p++) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(res[i].name, plots[p].experiment) == 0 && res[i].n_series > 0) {
                if (plot_one(dir, &plots[p], &res[i]) != 0) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* ---- statistics ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double awlab_quantile(double *v, size_t n, double q)
{
    if (n == 0) {
        return NAN;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    size_t rank = (size_t)ceil(q * (double)n);
    return v[rank == 0 ? 0 : rank - 1];
}

double awlab_mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
    }
    return n == 0 ? NAN : s / (double)n;
}

double awlab_birthday_median_exact(double n_values)
{
    /* P(the first q draws are distinct) = prod_{i<q} (1 - i/N); the first repeat comes at
     * draw q+1 when the first q are distinct and draw q+1 is not. */
    double distinct = 1.0;
    double q = 0;
    while (distinct > 0.5) {
        distinct *= 1.0 - q / n_values;
        q += 1;
    }
    return q;
}

/* ---- first-repeat finder ---------------------------------------------------------------- */

aw_result awlab_finder_new(awlab_finder *f, unsigned max_log2)
{
    memset(f, 0, sizeof(*f));
    f->cap = (size_t)1 << (max_log2 + 1);
    f->key = malloc(f->cap * sizeof(uint32_t));
    f->idx = malloc(f->cap * sizeof(uint32_t));
    if (f->key == NULL || f->idx == NULL) {
        awlab_finder_free(f);
        return AW_E_INTERNAL;
    }
    f->mask = f->cap - 1;
    return AW_OK;
}

void awlab_finder_reset(awlab_finder *f, unsigned t)
{
    size_t need = (size_t)1 << (t / 2 + 5);
    f->mask = (need < f->cap ? need : f->cap) - 1;
    f->count = 0;
    memset(f->idx, 0xff, (f->mask + 1) * sizeof(uint32_t));
}

int awlab_finder_add(awlab_finder *f, uint32_t y, uint32_t i, uint32_t *prev)
{
    if (f->count >= (f->mask + 1) / 2) {
        return -1;
    }
    size_t slot = (size_t)(y * 0x9e3779b1u) & f->mask;
    while (f->idx[slot] != UINT32_MAX) {
        if (f->key[slot] == y) {
            *prev = f->idx[slot];
            return 1;
        }
        slot = (slot + 1) & f->mask;
    }
    f->key[slot] = y;
    f->idx[slot] = i;
    f->count++;
    return 0;
}

void awlab_finder_free(awlab_finder *f)
{
    free(f->key);
    free(f->idx);
    memset(f, 0, sizeof(*f));
}
