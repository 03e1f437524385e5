/* Experiment 5: the 2-universal family h_(a,b)(x) = a*x + b mod p as an authentication code
 * (Stinson; Wegman and Carter). Source states and tags are Z_p (m = p tags), keys are the
 * p^2 pairs (a, b).
 *
 * Impersonation: for any (x, y) exactly p keys give a*x + b = y (b is determined by a), so
 * alpha = p / p^2 = 1/m. Substitution: after seeing (x, y), a second pair (x', y') with
 * x' != x pins (a, b) to one key of those p, so beta = 1/p = 1/m. Both meet the lower
 * bounds, and the code meets |K| >= m^2 with equality. The lab enumerates every key to get
 * these fractions exactly, estimates them by trial, and computes Simmons' entropy bound
 * alpha >= 2^-(H(K) - H(K|X,Y)) for three toy families: a*x + b (tight), x + b (tight for
 * alpha, but beta = 1: one tag reveals the key) and a*x (alpha = 1: x = 0 always has tag 0).
 *
 * One key, two tags: (y1 - y2) / (x1 - x2) = a and then b = y1 - a*x1, so the key is out and
 * every message can be forged. Run with p = 2^61 - 1: with one tag per key a forgery
 * succeeds with probability 2^-61; with two, always. */
#include <math.h>

#include "lab.h"

static const uint64_t primes[] = {2, 3, 5, 7, 11, 13, 17, 23, 31, 61};
#define N_PRIMES     (sizeof(primes) / sizeof(primes[0]))
#define MC_TRIALS    20000
#define REUSE_TRIALS 1000

static const uint64_t P61 = ((uint64_t)1 << 61) - 1;

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t p)
{
    return (uint64_t)(((unsigned __int128)a * b) % p);
}

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t p)
{
    uint64_t r = 1;
    while (e > 0) {
        if (e & 1) {
            r = mulmod(r, a, p);
        }
        a = mulmod(a, a, p);
        e >>= 1;
    }
    return r;
}

static uint64_t affine(uint64_t a, uint64_t b, uint64_t x, uint64_t p)
{
    return (mulmod(a, x, p) + b) % p;
}

aw_result awlab_exp_universal(const awlab_config *cfg, awlab_result *res)
{
    awlab_rng rng;
    awlab_rng_seed(&rng, cfg->seed ^ 0x05);
    awlab_series *sa = awlab_add_series(res, "alpha exact");
    awlab_series *sb = awlab_add_series(res, "beta exact");
    awlab_series *ea = awlab_add_series(res, "alpha by trial");
    awlab_series *eb = awlab_add_series(res, "beta by trial");
    unsigned exact_ok = 0, trial_ok = 0, keys_ok = 0;
    awlab_say(cfg, "  %-4s %-10s %-10s %-6s %10s %10s %10s\n", "p", "alpha", "beta", "|K|/m^2",
              "alpha~", "beta~", "1/p");
    for (size_t i = 0; i < N_PRIMES; i++) {
        uint64_t p = primes[i];
        awlab_code c = awlab_code_affine(p);
        awlab_code_figures f;
        AW_GUARD(awlab_code_exact(&c, &f));
        bool exact = f.alpha_num * p == f.alpha_den && f.beta_num * p == f.beta_den;
        exact_ok += exact;
        keys_ok += c.n_keys >= c.n_tags * c.n_tags;
        /* By trial: a random key; the impersonator sends a random (x, y); the substituter
         * sees (x, h(x)) and sends a random (x' != x, y'). */
        unsigned imp = 0, sub = 0;
        for (unsigned t = 0; t < MC_TRIALS; t++) {
            uint64_t a = awlab_rng_below(&rng, p), b = awlab_rng_below(&rng, p);
            uint64_t x = awlab_rng_below(&rng, p), y = awlab_rng_below(&rng, p);
            imp += affine(a, b, x, p) == y;
            uint64_t x2 = (x + 1 + awlab_rng_below(&rng, p - 1)) % p;
            uint64_t y2 = awlab_rng_below(&rng, p);
            sub += affine(a, b, x2, p) == y2;
        }
        double q = 1.0 / (double)p, sd = sqrt(q * (1 - q) / MC_TRIALS);
        double ia = (double)imp / MC_TRIALS, ib = (double)sub / MC_TRIALS;
        trial_ok += fabs(ia - q) <= 4 * sd && fabs(ib - q) <= 4 * sd;
        double xa = (double)f.alpha_num / (double)f.alpha_den;
        double xb = (double)f.beta_num / (double)f.beta_den;
        awlab_add_point(sa, (double)p, xa, xa, xa, q);
        awlab_add_point(sb, (double)p, xb, xb, xb, q);
        awlab_add_point(ea, (double)p, ia, ia - 1.96 * sd, ia + 1.96 * sd, q);
        awlab_add_point(eb, (double)p, ib, ib - 1.96 * sd, ib + 1.96 * sd, q);
        char fa[32], fb[32];
        snprintf(fa, sizeof(fa), "%llu/%llu", (unsigned long long)f.alpha_num,
                 (unsigned long long)f.alpha_den);
        snprintf(fb, sizeof(fb), "%llu/%llu", (unsigned long long)f.beta_num,
                 (unsigned long long)f.beta_den);
        awlab_say(cfg, "  %-4llu %-10s %-10s %-6.0f %10.5f %10.5f %10.5f\n", (unsigned long long)p,
                  fa, fb, (double)c.n_keys / (double)(c.n_tags * c.n_tags), ia, ib, q);
    }
    awlab_add_figure(res, "alpha_beta_exactly_1/p", exact_ok, N_PRIMES, N_PRIMES, N_PRIMES,
                     "primes p <= 61 where alpha = beta = 1/p exactly (by enumerating keys)");
    awlab_add_figure(res, "keys_at_least_m^2", keys_ok, N_PRIMES, N_PRIMES, N_PRIMES,
                     "primes where |K| = p^2 >= m^2 (equality: the bound is met)");
    awlab_add_figure(res, "trials_within_4sd", trial_ok, N_PRIMES, N_PRIMES, N_PRIMES,
                     "primes where both estimates (20000 trials) are within 4 std of 1/p");

    /* Simmons' bound for the three toy families at p = 7. */
    const awlab_code fam[] = {awlab_code_affine(7), awlab_code_shift(7), awlab_code_linear(7)};
    bool simmons = true;
    awlab_say(cfg, "  entropy bound at p = 7: %-6s %8s %8s %8s %8s %8s\n", "family", "H(K)",
              "H(K|XY)", "bound", "alpha", "beta");
    for (size_t i = 0; i < 3; i++) {
        awlab_code_figures f;
        AW_GUARD(awlab_code_exact(&fam[i], &f));
        double alpha = (double)f.alpha_num / (double)f.alpha_den;
        double beta = (double)f.beta_num / (double)f.beta_den;
        simmons &= alpha >= f.entropy_bound - 1e-12;
        awlab_say(cfg, "  %24s %-6s %8.4f %8.4f %8.4f %8.4f %8.4f\n", "", fam[i].name, f.h_k,
                  f.h_k_given_xy, f.entropy_bound, alpha, beta);
        char name[48], what[112];
        snprintf(name, sizeof(name), "alpha_%s_p7", fam[i].name);
        snprintf(what, sizeof(what), "%s, p=7: exact alpha vs 2^-(H(K)-H(K|X,Y)) = %.4f",
                 fam[i].name, f.entropy_bound);
        awlab_add_figure(res, name, alpha, f.entropy_bound, f.entropy_bound, 1, what);
        snprintf(name, sizeof(name), "beta_%s_p7", fam[i].name);
        snprintf(what, sizeof(what), "%s, p=7: exact substitution probability", fam[i].name);
        double want = i == 0 ? 1.0 / 7 : 1.0;
        awlab_add_figure(res, name, beta, want, want, want, what);
    }

    /* Key reuse, p = 2^61 - 1. */
    unsigned one_tag = 0, two_tags = 0;
    for (unsigned t = 0; t < REUSE_TRIALS; t++) {
        uint64_t a = awlab_rng_below(&rng, P61), b = awlab_rng_below(&rng, P61);
        uint64_t x1 = awlab_rng_below(&rng, P61), x2 = awlab_rng_below(&rng, P61);
        uint64_t target = awlab_rng_below(&rng, P61);
        if (x1 == x2 || target == x1 || target == x2) {
            continue;
        }
        uint64_t y1 = affine(a, b, x1, P61), y2 = affine(a, b, x2, P61);
        /* One tag: the best the attacker can do is a guess consistent with (x1, y1). */
        uint64_t ga = awlab_rng_below(&rng, P61);
        uint64_t gb = (y1 + P61 - mulmod(ga, x1, P61)) % P61;
        one_tag += affine(ga, gb, target, P61) == affine(a, b, target, P61);
        /* Two tags: solve for the key. */
        uint64_t ra =
            mulmod((y1 + P61 - y2) % P61, powmod((x1 + P61 - x2) % P61, P61 - 2, P61), P61);
        uint64_t rb = (y1 + P61 - mulmod(ra, x1, P61)) % P61;
        two_tags += affine(ra, rb, target, P61) == affine(a, b, target, P61);
    }
    awlab_say(cfg,
              "  p = 2^61-1, %u keys: forgery of a new message from one tag %u/%u (predicted "
              "2^-61 each),\n  from two tags under the same key %u/%u (the key is solved)\n",
              REUSE_TRIALS, one_tag, REUSE_TRIALS, two_tags, REUSE_TRIALS);
    awlab_add_figure(res, "forgery_rate_two_tags", (double)two_tags / REUSE_TRIALS, 1, 1, 1,
                     "key reused for two tags: (a, b) solved, any message forged");
    awlab_add_figure(res, "forgery_rate_one_tag", (double)one_tag / REUSE_TRIALS, 0, 0, 0,
                     "one tag per key (as intended): forgery by the best guess, 2^-61 each");
    res->weak_broken = two_tags == REUSE_TRIALS;
    res->sound_held = one_tag == 0 && simmons;
    return AW_OK;
}
