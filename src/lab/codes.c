/* Exact figures of small authentication codes by enumerating every key (Stinson,
 * "Cryptography: Theory and Practice", authentication codes): the impersonation
 * probability alpha, the substitution probability beta, and the entropy bound
 * alpha >= 2^-(H(K) - H(K|X,Y)) (Simmons). Counts stay integers; only the entropy is a
 * double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

static uint64_t tag_affine(uint64_t p, uint64_t key, uint64_t x)
{
    return ((key / p) * x + key % p) % p; /* key = (a, b) */
}

static uint64_t tag_shift(uint64_t p, uint64_t key, uint64_t x)
{
    return (x + key) % p;
}

static uint64_t tag_linear(uint64_t p, uint64_t key, uint64_t x)
{
    return (key * x) % p;
}

static uint64_t tag_dot(uint64_t p, uint64_t key, uint64_t x)
{
    uint64_t k1 = key / (p * p), k2 = (key / p) % p, r = key % p; /* key = (k1, k2, r) */
    return (k1 * (x / p) + k2 * (x % p) + r) % p;                 /* x = (x1, x2) */
}

awlab_code awlab_code_affine(uint64_t p)
{
    return (awlab_code){"a*x+b", p, p * p, p, p, tag_affine};
}

awlab_code awlab_code_shift(uint64_t p)
{
    return (awlab_code){"x+b", p, p, p, p, tag_shift};
}

awlab_code awlab_code_linear(uint64_t p)
{
    return (awlab_code){"a*x", p, p, p, p, tag_linear};
}

awlab_code awlab_code_dot(uint64_t p)
{
    return (awlab_code){"k1*x1+k2*x2+r", p, p * p * p, p * p, p, tag_dot};
}

/* a/b > c/d for positive denominators. */
static bool frac_gt(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    return a * d > c * b;
}

aw_result awlab_code_exact(const awlab_code *c, awlab_code_figures *out)
{
    AW_ENSURE(c->n_keys <= 4096 && c->n_src <= 256 && c->n_tags <= 64, AW_E_INVALID_ARG);
    uint64_t nk = c->n_keys, ns = c->n_src, nt = c->n_tags;
    uint8_t *tags = malloc(nk * ns);       /* tags[x * nk + k] */
    uint64_t *cnt = calloc(ns * nt, 8);    /* cnt[x * nt + y] */
    uint64_t *joint = malloc(nt * nt * 8); /* joint[y * nt + y'] */
    aw_result r = AW_E_INTERNAL;
    if (tags == NULL || cnt == NULL || joint == NULL) {
        goto out;
    }
    for (uint64_t x = 0; x < ns; x++) {
        for (uint64_t k = 0; k < nk; k++) {
            uint64_t y = c->tag(c->p, k, x);
            tags[x * nk + k] = (uint8_t)y;
            cnt[x * nt + y]++;
        }
    }
    out->alpha_num = 0;
    out->alpha_den = nk;
    double h_cond = 0;
    for (uint64_t i = 0; i < ns * nt; i++) {
        if (cnt[i] > out->alpha_num) {
            out->alpha_num = cnt[i];
        }
        if (cnt[i] > 0) {
            h_cond += (double)cnt[i] / (double)(ns * nk) * log2((double)cnt[i]);
        }
    }
    out->beta_num = 0;
    out->beta_den = 1;
    for (uint64_t x = 0; x < ns; x++) {
        for (uint64_t x2 = 0; x2 < ns; x2++) {
            if (x2 == x) {
                continue;
            }
            memset(joint, 0, nt * nt * 8);
            for (uint64_t k = 0; k < nk; k++) {
                joint[tags[x * nk + k] * nt + tags[x2 * nk + k]]++;
            }
            for (uint64_t y = 0; y < nt; y++) {
                for (uint64_t y2 = 0; y2 < nt; y2++) {
                    uint64_t num = joint[y * nt + y2], den = cnt[x * nt + y];
                    if (den > 0 && frac_gt(num, den, out->beta_num, out->beta_den)) {
                        out->beta_num = num;
                        out->beta_den = den;
                    }
                }
            }
        }
    }
    out->h_k = log2((double)nk);
    out->h_k_given_xy = h_cond;
    out->entropy_bound = exp2(-(out->h_k - out->h_k_given_xy));
    r = AW_OK;
out:
    free(tags);
    free(cnt);
    free(joint);
    return r;
}

uint64_t awlab_dot_max_collisions(uint64_t p)
{
    uint64_t worst = 0;
    for (uint64_t x = 0; x < p * p; x++) {
        for (uint64_t x2 = 0; x2 < p * p; x2++) {
            if (x2 == x) {
                continue;
            }
            uint64_t n = 0;
            for (uint64_t k = 0; k < p * p; k++) { /* (k1, k2) */
                uint64_t k1 = k / p, k2 = k % p;
                n += (k1 * (x / p) + k2 * (x % p)) % p == (k1 * (x2 / p) + k2 * (x2 % p)) % p;
            }
            if (n > worst) {
                worst = n;
            }
        }
    }
    return worst;
}
