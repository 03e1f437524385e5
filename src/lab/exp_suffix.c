/* Experiment 2: the suffix MAC t = H(m || k) and the forgery from a hash collision.
 *
 * H is Merkle-Damgard: if two one-block messages m1 != m2 drive the chaining state to the
 * same value, then H(m1 || k) = H(m2 || k) for every key k, because the rest of the
 * computation (the key, the padding, the length) is identical. The collision is found
 * offline, with no key and no MAC query; one MAC query for m1 then yields a valid tag for
 * m2. To make the birthday search take seconds, H here has a t-bit chaining value: its
 * compression function is SHA-256's (the lab's, checked against OpenSSL) truncated to t bits,
 * f_t(h, B) = first t bits of SHA-256-compress(IV, h || B) with h as 8 bytes and B 56 bytes.
 *
 * The birthday bound: among q uniform t-bit values the first repeat comes, with probability
 * 1/2, by q = sqrt(2 ln 2 * 2^t) = 1.1774 * 2^(t/2) (the median; the mean is
 * sqrt(pi/2 * 2^t) = 1.2533 * 2^(t/2)). The sample median of n trials has a standard error of
 * about 0.85 * 2^(t/2) / sqrt(n) (one over twice the density at the median, over sqrt(n)),
 * so each median is accepted within 4 of those; the pooled, normalised median of all trials
 * within 4 of its own.
 *
 * The sound construction: HMAC-SHA-256 (libauthwire) under the same key on the same two
 * colliding messages gives different tags: the collision of the toy hash means nothing to a
 * 256-bit hash, whose birthday search would need about 2^128 evaluations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/crypto.h"
#include "lab.h"

#define BLOCK 56 /* message bytes per toy block; the other 8 carry the chaining value */

typedef struct toy {
    unsigned t;
} toy;

static const uint32_t sha_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint64_t f_t(unsigned t, uint64_t h, const uint8_t b[BLOCK])
{
    uint8_t block[64];
    for (size_t i = 0; i < 8; i++) {
        block[i] = (uint8_t)(h >> (56 - 8 * i));
    }
    memcpy(block + 8, b, BLOCK);
    uint32_t s[8];
    memcpy(s, sha_iv, sizeof(s));
    awlab_sha256_compress(s, block);
    uint64_t top = ((uint64_t)s[0] << 32) | s[1];
    return top >> (64 - t);
}

/* H_t(msg): Merkle-Damgard over 56-byte blocks with 0x80, zeros and a 64-bit length. */
static uint64_t h_t(unsigned t, const uint8_t *msg, size_t len)
{
    uint8_t buf[4 * BLOCK];
    size_t padded = ((len + 9 + BLOCK - 1) / BLOCK) * BLOCK;
    if (padded > sizeof(buf)) {
        return 0; /* callers stay far below */
    }
    memset(buf, 0, padded);
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (size_t i = 0; i < 8; i++) {
        buf[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    uint64_t h = 0;
    for (size_t off = 0; off < padded; off += BLOCK) {
        h = f_t(t, h, buf + off);
    }
    return h;
}

/* The i-th candidate message of a trial: readable, all distinct. */
static void candidate(uint8_t out[BLOCK], uint64_t trial_id, uint64_t i)
{
    memset(out, ' ', BLOCK);
    int n = snprintf((char *)out, BLOCK, "pay 100 EUR to bob, ref %016llx-%010llu",
                     (unsigned long long)trial_id, (unsigned long long)i);
    if (n > 0 && (size_t)n < BLOCK) {
        out[n] = ' ';
    }
}

/* Hash queries until the first collision of f_t(0, .) over distinct candidates; returns
 * the count and the two colliding indices, or 0 when the finder overflowed. */
static uint64_t search(unsigned t, awlab_finder *f, uint64_t trial_id, uint64_t *ia, uint64_t *ib)
{
    awlab_finder_reset(f, t);
    uint8_t m[BLOCK];
    for (uint32_t i = 0;; i++) {
        candidate(m, trial_id, i);
        uint32_t prev = 0;
        int hit = awlab_finder_add(f, (uint32_t)f_t(t, 0, m), i, &prev);
        if (hit < 0) {
            return 0;
        }
        if (hit > 0) {
            *ia = prev;
            *ib = i;
            return (uint64_t)i + 1;
        }
    }
}

static const struct {
    unsigned t;
    unsigned trials;
} plan[] = {{12, 1000}, {16, 1000}, {20, 400}, {24, 200}, {28, 100}, {32, 40}};

#define N_PLAN  (sizeof(plan) / sizeof(plan[0]))
#define MAX_ALL 3000

aw_result awlab_exp_suffix(const awlab_config *cfg, awlab_result *res)
{
    awlab_rng rng;
    awlab_rng_seed(&rng, cfg->seed ^ 0x02);
    awlab_finder tb;
    AW_GUARD(awlab_finder_new(&tb, 20));
    double *q = malloc(MAX_ALL * sizeof(double));
    double *all = malloc(MAX_ALL * sizeof(double));
    aw_result r = AW_E_INTERNAL;
    if (q == NULL || all == NULL) {
        goto out;
    }
    size_t n_all = 0;
    unsigned transferred = 0, searches = 0, hmac_transferred = 0;
    bool medians_ok = true;
    awlab_series *s = awlab_add_series(res, "suffix MAC, t-bit hash");
    awlab_say(cfg, "  %-4s %7s %12s %12s %12s %12s %9s\n", "t", "trials", "median", "1.17*2^t/2",
              "exact", "mean", "transfer");
    for (size_t p = 0; p < N_PLAN; p++) {
        unsigned t = plan[p].t;
        unsigned ok_here = 0;
        for (unsigned i = 0; i < plan[p].trials; i++) {
            uint64_t trial_id = awlab_rng_next(&rng), ia = 0, ib = 0;
            uint64_t queries = search(t, &tb, trial_id, &ia, &ib);
            if (queries == 0) {
                goto out; /* cannot happen within 2^(t/2+4) draws but by 2^-128 */
            }
            q[i] = (double)queries;
            all[n_all++] = (double)queries / pow(2.0, t / 2.0);
            searches++;

            /* One MAC query for m1 under a fresh key; its tag must verify for m2. */
            uint8_t m1[BLOCK + 16], m2[BLOCK + 16];
            candidate(m1, trial_id, ia);
            candidate(m2, trial_id, ib);
            uint8_t key[16];
            awlab_rng_bytes(&rng, key, sizeof(key));
            memcpy(m1 + BLOCK, key, 16);
            memcpy(m2 + BLOCK, key, 16);
            bool moved = h_t(t, m1, sizeof(m1)) == h_t(t, m2, sizeof(m2));
            ok_here += moved;
            transferred += moved;

            /* HMAC-SHA-256 on the same colliding pair: the tag must not transfer. */
            aw_hmac_key *hk = NULL;
            uint8_t ta[32];
            aw_result hr = aw_hmac_key_new(key, sizeof(key), &hk);
            if (hr == AW_OK) {
                hr = aw_hmac_sha256(hk, m1, BLOCK, ta);
            }
            if (hr == AW_OK) {
                hr = aw_hmac_sha256_verify(hk, m2, BLOCK, ta, 32);
                hmac_transferred += hr == AW_OK;
                hr = AW_OK;
            }
            aw_hmac_key_free(hk);
            if (hr != AW_OK) {
                r = hr;
                goto out;
            }
        }
        unsigned n = plan[p].trials;
        double mean = awlab_mean(q, n);
        double q25 = awlab_quantile(q, n, 0.25);
        double q75 = awlab_quantile(q, n, 0.75);
        double med = awlab_quantile(q, n, 0.5);
        double root = pow(2.0, t / 2.0);
        double bound = 1.1774 * root;
        double exact = awlab_birthday_median_exact(pow(2.0, t));
        double tol = 4 * 0.85 * root / sqrt((double)n);
        char name[48], what[112];
        snprintf(name, sizeof(name), "median_queries_t%u", t);
        snprintf(what, sizeof(what),
                 "t=%u: median hash queries to a collision over %u trials (+-4 std errors)", t, n);
        medians_ok &= awlab_add_figure(res, name, med, bound, bound - tol, bound + tol, what)->ok;
        awlab_add_point(s, t, med, q25, q75, bound);
        awlab_say(cfg, "  %-4u %7u %12.0f %12.0f %12.0f %12.0f %5u/%-3u\n", t, n, med, bound, exact,
                  mean, ok_here, n);
    }
    double pooled = awlab_quantile(all, n_all, 0.5);
    double pooled_mean = awlab_mean(all, n_all);
    double ptol = 4 * 0.85 / sqrt((double)n_all);
    awlab_add_figure(res, "pooled_median_over_2^(t/2)", pooled, 1.1774, 1.1774 - ptol,
                     1.1774 + ptol, "all trials, queries / 2^(t/2): median vs sqrt(2 ln 2)");
    awlab_add_figure(res, "pooled_mean_over_2^(t/2)", pooled_mean, 1.2533, 1.2533 - 1.5 * ptol,
                     1.2533 + 1.5 * ptol, "all trials, queries / 2^(t/2): mean vs sqrt(pi/2)");
    awlab_add_figure(res, "tag_transfer_rate", (double)transferred / searches, 1, 1, 1,
                     "tag of m1 accepted for the colliding m2 (one MAC query, predicted: all)");
    awlab_add_figure(res, "hmac_transfer_rate", (double)hmac_transferred / searches, 0, 0, 0,
                     "HMAC-SHA-256 tag of m1 accepted for m2 (predicted: none)");
    awlab_say(cfg,
              "  pooled over %zu trials: median %.4f * 2^(t/2), mean %.4f * 2^(t/2); the tag of "
              "m1\n  verified for m2 in %u/%u trials; with HMAC-SHA-256 in %u/%u\n",
              n_all, pooled, pooled_mean, transferred, searches, hmac_transferred, searches);
    res->weak_broken = transferred == searches && medians_ok;
    res->sound_held = hmac_transferred == 0;
    r = AW_OK;
out:
    awlab_finder_free(&tb);
    free(q);
    free(all);
    return r;
}
