/* Experiment 6: the compressing family h_k(x) = k1*x1 + k2*x2 mod p, its Wegman-Carter
 * code k1*x1 + k2*x2 + r mod p, and Poly1305 (RFC 8439) as the real-world instance. All are
 * one-time MACs.
 *
 * h_k compresses pairs to one value and is universal: for x != x' exactly p of the p^2
 * keys make them collide (collision probability 1/p), enumerated for small p. Adding a
 * one-time pad r gives a code with impersonation and substitution probability exactly 1/p,
 * enumerated over all p^3 keys and estimated by trial.
 *
 * Reusing the key breaks it: three tags of known messages under one (k1, k2, r) are three
 * linear equations in three unknowns mod p, solved by Gaussian elimination (p = 2^61 - 1).
 * Poly1305 (OpenSSL EVP_MAC "POLY1305") is the same shape over p = 2^130 - 5:
 * tag = ((c * r) mod p + s) mod 2^128 for a one-block message c = m + 2^128. Two tags under
 * one (r, s) give t1 - t2 = (c1 - c2) * r mod p up to a multiple of 2^128 (j in -4..3), so
 * r is one of 8 candidates, of which the clamping rule of r keeps few; a third tag picks the
 * right one; then s = t1 - c1 * r. With r and s any message can be MACed. When each message
 * gets a fresh key (as ChaCha20-Poly1305 derives one per nonce), the same computation yields
 * nothing that verifies. BIGNUM arithmetic is OpenSSL's. */
#include <math.h>
#include <string.h>

#include <openssl/bn.h>

#include "lab.h"

#define REUSE_TRIALS 300
#define POLY_TRIALS  200
#define MC_TRIALS    20000

static const uint64_t P61 = ((uint64_t)1 << 61) - 1;

static uint64_t mulmod(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) % P61);
}

static uint64_t invmod(uint64_t a)
{
    uint64_t r = 1, e = P61 - 2;
    while (e > 0) {
        if (e & 1) {
            r = mulmod(r, a);
        }
        a = mulmod(a, a);
        e >>= 1;
    }
    return r;
}

/* Solves A z = y mod P61 for 3x3 A; false when singular. */
static bool solve3(uint64_t a[3][3], uint64_t y[3], uint64_t z[3])
{
    for (size_t col = 0; col < 3; col++) {
        size_t piv = col;
        while (piv < 3 && a[piv][col] == 0) {
            piv++;
        }
        if (piv == 3) {
            return false;
        }
        for (size_t k = 0; k < 3; k++) {
            uint64_t tmp = a[col][k];
            a[col][k] = a[piv][k];
            a[piv][k] = tmp;
        }
        uint64_t ty = y[col];
        y[col] = y[piv];
        y[piv] = ty;
        uint64_t inv = invmod(a[col][col]);
        for (size_t k = 0; k < 3; k++) {
            a[col][k] = mulmod(a[col][k], inv);
        }
        y[col] = mulmod(y[col], inv);
        for (size_t row = 0; row < 3; row++) {
            if (row == col || a[row][col] == 0) {
                continue;
            }
            uint64_t f = a[row][col];
            for (size_t k = 0; k < 3; k++) {
                a[row][k] = (a[row][k] + P61 - mulmod(f, a[col][k])) % P61;
            }
            y[row] = (y[row] + P61 - mulmod(f, y[col])) % P61;
        }
    }
    for (size_t i = 0; i < 3; i++) {
        z[i] = y[i];
    }
    return true;
}

static uint64_t wc_tag(const uint64_t k[3], uint64_t x1, uint64_t x2)
{
    return (mulmod(k[0], x1) + mulmod(k[1], x2) + k[2]) % P61;
}

/* Three tags under keys k[0..2] (the same key three times when reusing); the attacker
 * solves for a key and forges a fourth message, checked under the key of the third tag. */
static bool wc_attack(awlab_rng *rng, const uint64_t keys[3][3])
{
    uint64_t a[3][3], y[3], z[3];
    for (size_t i = 0; i < 3; i++) {
        uint64_t x1 = awlab_rng_below(rng, P61), x2 = awlab_rng_below(rng, P61);
        a[i][0] = x1;
        a[i][1] = x2;
        a[i][2] = 1;
        y[i] = wc_tag(keys[i], x1, x2);
    }
    if (!solve3(a, y, z)) {
        return false;
    }
    uint64_t f1 = awlab_rng_below(rng, P61), f2 = awlab_rng_below(rng, P61);
    return wc_tag(z, f1, f2) == wc_tag(keys[2], f1, f2);
}

/* ---- Poly1305 ---------------------------------------------------------------------- */

typedef struct bnctx {
    BN_CTX *ctx;
    BIGNUM *p, *two128, *clamp_inv;
} bnctx;

static int bn_from_le(BIGNUM *out, const uint8_t *le, size_t len)
{
    return BN_lebin2bn(le, (int)len, out) != NULL;
}

/* Candidates (r, s) from two one-block messages under one key; the third tag picks.
 * Returns how many candidates passed the clamping rule and whether one verified t3. */
static aw_result poly_recover(bnctx *b, const uint8_t m[3][16], const uint8_t tags[3][16],
                              uint8_t key_out[32], unsigned *n_clamped, bool *found)
{
    aw_result res = AW_E_CRYPTO;
    BN_CTX_start(b->ctx);
    BIGNUM *c1 = BN_CTX_get(b->ctx), *c2 = BN_CTX_get(b->ctx), *t1 = BN_CTX_get(b->ctx);
    BIGNUM *t2 = BN_CTX_get(b->ctx), *d = BN_CTX_get(b->ctx), *dc = BN_CTX_get(b->ctx);
    BIGNUM *inv = BN_CTX_get(b->ctx), *r = BN_CTX_get(b->ctx), *s = BN_CTX_get(b->ctx);
    BIGNUM *tmp = BN_CTX_get(b->ctx);
    *n_clamped = 0;
    *found = false;
    if (tmp == NULL || !bn_from_le(c1, m[0], 16) || !bn_from_le(c2, m[1], 16) ||
        !BN_set_bit(c1, 128) || !BN_set_bit(c2, 128) || !bn_from_le(t1, tags[0], 16) ||
        !bn_from_le(t2, tags[1], 16) || !BN_mod_sub(d, t1, t2, b->two128, b->ctx) ||
        !BN_mod_sub(dc, c1, c2, b->p, b->ctx) || BN_mod_inverse(inv, dc, b->p, b->ctx) == NULL) {
        goto out;
    }
    for (int j = -4; j <= 3; j++) {
        /* a1 - a2 = d + j * 2^128, then r = (a1 - a2) / (c1 - c2) mod p. */
        if (!BN_copy(tmp, b->two128) || !BN_mul_word(tmp, (BN_ULONG)(j < 0 ? -j : j))) {
            goto out;
        }
        if (j < 0) {
            BN_set_negative(tmp, 1);
        }
        if (!BN_add(tmp, tmp, d) || !BN_mod_mul(r, tmp, inv, b->p, b->ctx)) {
            goto out;
        }
        /* Clamping (RFC 8439, 2.5): r < 2^128 with 22 fixed zero bits. */
        if (BN_num_bits(r) > 128) {
            continue;
        }
        bool clamped = true;
        for (int bit = 0; bit < 128; bit++) {
            bool must_zero = (bit % 32 >= 28) || (bit >= 32 && bit % 32 < 2);
            if (must_zero && BN_is_bit_set(r, bit)) {
                clamped = false;
                break;
            }
        }
        if (!clamped) {
            continue;
        }
        (*n_clamped)++;
        /* s = t1 - (c1 * r mod p) mod 2^128. */
        if (!BN_mod_mul(tmp, c1, r, b->p, b->ctx) || !BN_mod_sub(s, t1, tmp, b->two128, b->ctx) ||
            BN_bn2lebinpad(r, key_out, 16) != 16 || BN_bn2lebinpad(s, key_out + 16, 16) != 16) {
            goto out;
        }
        uint8_t check[16];
        if (awlab_poly1305(key_out, m[2], 16, check) != AW_OK) {
            goto out;
        }
        if (awlab_equal(check, tags[2], 16)) {
            *found = true;
            break;
        }
    }
    res = AW_OK;
out:
    BN_CTX_end(b->ctx);
    return res;
}

static aw_result poly_battery(awlab_rng *rng, bnctx *b, bool reuse, unsigned *forged,
                              double *mean_cand)
{
    static const uint8_t target[] = "transfer 1000000 EUR to mallory, authorised by alice";
    *forged = 0;
    unsigned cand_total = 0;
    for (unsigned t = 0; t < POLY_TRIALS; t++) {
        uint8_t keys[3][32], m[3][16], tags[3][16], rk[32] = {0}, ft[16], want[16];
        for (size_t i = 0; i < 3; i++) {
            if (i == 0 || !reuse) {
                awlab_rng_bytes(rng, keys[i], 32);
            } else {
                memcpy(keys[i], keys[0], 32);
            }
            awlab_rng_bytes(rng, m[i], 16);
            AW_GUARD(awlab_poly1305(keys[i], m[i], 16, tags[i]));
        }
        unsigned n = 0;
        bool found = false;
        AW_GUARD(poly_recover(b, m, tags, rk, &n, &found));
        cand_total += n;
        /* The forgery: the target message MACed with the recovered key, checked with the
         * key of the last tag. */
        AW_GUARD(awlab_poly1305(rk, target, sizeof(target) - 1, ft));
        AW_GUARD(awlab_poly1305(keys[2], target, sizeof(target) - 1, want));
        *forged += found && awlab_equal(ft, want, 16);
    }
    *mean_cand = (double)cand_total / POLY_TRIALS;
    return AW_OK;
}

aw_result awlab_exp_poly1305(const awlab_config *cfg, awlab_result *res)
{
    awlab_rng rng;
    awlab_rng_seed(&rng, cfg->seed ^ 0x06);

    /* Exact figures for small p. */
    static const uint64_t ps[] = {2, 3, 5, 7};
    unsigned universal_ok = 0, code_ok = 0, trial_ok = 0;
    awlab_series *se = awlab_add_series(res, "beta exact");
    awlab_series *st = awlab_add_series(res, "beta by trial");
    awlab_say(cfg, "  %-3s %-22s %-9s %-9s %10s\n", "p", "max collisions / keys", "alpha", "beta",
              "beta~");
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t p = ps[i];
        uint64_t coll = awlab_dot_max_collisions(p);
        universal_ok += coll == p;
        awlab_code c = awlab_code_dot(p);
        awlab_code_figures f;
        AW_GUARD(awlab_code_exact(&c, &f));
        code_ok += f.alpha_num * p == f.alpha_den && f.beta_num * p == f.beta_den;
        unsigned sub = 0;
        for (unsigned t = 0; t < MC_TRIALS; t++) {
            uint64_t key = awlab_rng_below(&rng, c.n_keys);
            uint64_t x = awlab_rng_below(&rng, c.n_src);
            uint64_t x2 = (x + 1 + awlab_rng_below(&rng, c.n_src - 1)) % c.n_src;
            sub += c.tag(p, key, x2) == awlab_rng_below(&rng, p);
        }
        double q = 1.0 / (double)p, sd = sqrt(q * (1 - q) / MC_TRIALS), e = (double)sub / MC_TRIALS;
        trial_ok += fabs(e - q) <= 4 * sd;
        double xb = (double)f.beta_num / (double)f.beta_den;
        awlab_add_point(se, (double)p, xb, xb, xb, q);
        awlab_add_point(st, (double)p, e, e - 1.96 * sd, e + 1.96 * sd, q);
        char cs[32], as[24], bs[24];
        snprintf(cs, sizeof(cs), "%llu/%llu", (unsigned long long)coll,
                 (unsigned long long)(p * p));
        snprintf(as, sizeof(as), "%llu/%llu", (unsigned long long)f.alpha_num,
                 (unsigned long long)f.alpha_den);
        snprintf(bs, sizeof(bs), "%llu/%llu", (unsigned long long)f.beta_num,
                 (unsigned long long)f.beta_den);
        awlab_say(cfg, "  %-3llu %-22s %-9s %-9s %10.5f\n", (unsigned long long)p, cs, as, bs, e);
    }
    const double np = (double)(sizeof(ps) / sizeof(ps[0]));
    awlab_add_figure(res, "universal_exactly_1/p", universal_ok, np, np, np,
                     "primes where k1*x1+k2*x2 collides for exactly p of p^2 keys (worst pair)");
    awlab_add_figure(res, "wc_alpha_beta_1/p", code_ok, np, np, np,
                     "primes where the code k.x + r has alpha = beta = 1/p exactly");
    awlab_add_figure(res, "wc_trials_within_4sd", trial_ok, np, np, np,
                     "primes where the substitution rate by trial is within 4 std of 1/p");

    /* Key reuse on the linear code, p = 2^61 - 1. */
    unsigned reuse_ok = 0, fresh_ok = 0;
    for (unsigned t = 0; t < REUSE_TRIALS; t++) {
        uint64_t keys[3][3];
        for (size_t i = 0; i < 3; i++) {
            for (size_t j = 0; j < 3; j++) {
                keys[i][j] = i == 0 ? awlab_rng_below(&rng, P61) : keys[0][j];
            }
        }
        reuse_ok += wc_attack(&rng, (const uint64_t(*)[3])keys);
        for (size_t i = 0; i < 3; i++) {
            for (size_t j = 0; j < 3; j++) {
                keys[i][j] = awlab_rng_below(&rng, P61);
            }
        }
        fresh_ok += wc_attack(&rng, (const uint64_t(*)[3])keys);
    }
    awlab_say(cfg,
              "  k.x + r mod 2^61-1, three tags then a forgery: one key reused %u/%u, a fresh "
              "key\n  per message %u/%u\n",
              reuse_ok, REUSE_TRIALS, fresh_ok, REUSE_TRIALS);

    /* Poly1305. */
    bnctx b = {BN_CTX_new(), BN_new(), BN_new(), NULL};
    aw_result r = AW_E_CRYPTO;
    unsigned poly_reuse = 0, poly_fresh = 0;
    double cand_reuse = 0, cand_fresh = 0;
    if (b.ctx == NULL || b.p == NULL || b.two128 == NULL || !BN_set_bit(b.p, 130) ||
        !BN_sub_word(b.p, 5) || !BN_set_bit(b.two128, 128)) {
        goto out;
    }
    if ((r = poly_battery(&rng, &b, true, &poly_reuse, &cand_reuse)) != AW_OK ||
        (r = poly_battery(&rng, &b, false, &poly_fresh, &cand_fresh)) != AW_OK) {
        goto out;
    }
    awlab_say(cfg,
              "  Poly1305 (OpenSSL), three one-block tags then a forged 52-byte message:\n"
              "  one (r, s) reused %u/%u (%.2f clamped candidates for r on average),\n"
              "  a fresh one-time key per message %u/%u\n",
              poly_reuse, POLY_TRIALS, cand_reuse, poly_fresh, POLY_TRIALS);
    awlab_add_figure(res, "wc_reuse_forgery_rate", (double)reuse_ok / REUSE_TRIALS, 1, 1, 1,
                     "k.x + r, key reused for 3 tags: key solved, new message forged");
    awlab_add_figure(res, "wc_fresh_forgery_rate", (double)fresh_ok / REUSE_TRIALS, 0, 0, 0,
                     "k.x + r, one key per tag: the same solve forges nothing (2^-61 each)");
    awlab_add_figure(res, "poly1305_reuse_rate", (double)poly_reuse / POLY_TRIALS, 1, 1, 1,
                     "Poly1305, (r, s) reused for 3 tags: key recovered, new message forged");
    awlab_add_figure(res, "poly1305_candidates", cand_reuse, 1, 1, 8,
                     "clamped candidates for r from two tags (at most 8, one is right)");
    awlab_add_figure(res, "poly1305_fresh_rate", (double)poly_fresh / POLY_TRIALS, 0, 0, 0,
                     "Poly1305, fresh one-time key per message: forgeries accepted");
    res->weak_broken = reuse_ok == REUSE_TRIALS && poly_reuse == POLY_TRIALS;
    res->sound_held = fresh_ok == 0 && poly_fresh == 0;
    r = AW_OK;
out:
    BN_CTX_free(b.ctx);
    BN_free(b.p);
    BN_free(b.two128);
    return r;
}
