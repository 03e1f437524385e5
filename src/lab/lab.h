/* The MAC lab (authwire lab): the MAC constructions of the theory, their attacks run for
 * real, measured against the bounds. See docs/LAB.md for the argument behind each one.
 *
 * Everything here is deliberately weak somewhere: prefix and suffix MACs, raw CBC-MAC,
 * truncated hashes, reused one-time keys. This code is built into authwire-lab-core and the
 * authwire-lab executable only; it is never linked into libauthwire, the authwire client or
 * authwired (tests/lab_isolation.sh checks the symbols). Every exported name starts with
 * awlab_ so that check can find it.
 *
 * Randomness: experiments draw their messages, guesses and (for the weak constructions)
 * keys from a splitmix64 generator seeded by the caller, so a run is reproducible and the
 * tests can assert figures with fixed seeds. Nothing here protects anything; where a sound
 * construction gets a key, that key comes from the same seeded generator too, on purpose: the
 * attacks never see it, and a reproducible key makes a failing forgery reproducible. */
#ifndef AUTHWIRE_LAB_H
#define AUTHWIRE_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "authwire/result.h"

/* ---- deterministic generator (splitmix64) ---------------------------------------------- */

typedef struct awlab_rng {
    uint64_t state;
} awlab_rng;

void awlab_rng_seed(awlab_rng *r, uint64_t seed);
uint64_t awlab_rng_next(awlab_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t awlab_rng_below(awlab_rng *r, uint64_t n);
void awlab_rng_bytes(awlab_rng *r, uint8_t *out, size_t len);

/* ---- textbook SHA-256 (FIPS 180-4), for state continuation ----------------------------- */

#define AWLAB_SHA256_BLOCK 64
#define AWLAB_SHA256_LEN   32

typedef struct awlab_sha256 {
    uint32_t h[8];
    uint8_t buf[AWLAB_SHA256_BLOCK];
    size_t buf_len;
    uint64_t total; /* bytes absorbed, including any resumed prefix */
} awlab_sha256;

void awlab_sha256_compress(uint32_t h[8], const uint8_t block[AWLAB_SHA256_BLOCK]);
void awlab_sha256_init(awlab_sha256 *c);
/* Starts from a published digest as if `done` bytes (a multiple of 64, padding included)
 * had been hashed: the length-extension step. */
void awlab_sha256_resume(awlab_sha256 *c, const uint8_t digest[AWLAB_SHA256_LEN], uint64_t done);
void awlab_sha256_update(awlab_sha256 *c, const uint8_t *data, size_t len);
void awlab_sha256_final(awlab_sha256 *c, uint8_t out[AWLAB_SHA256_LEN]);
/* The padding SHA-256 appends to a message of msg_len bytes (0x80, zeros, 64-bit length);
 * writes 9..72 bytes into out and returns how many. */
size_t awlab_sha256_padding(uint64_t msg_len, uint8_t out[72]);

/* ---- OpenSSL primitives (the real ones) --------------------------------------------------- */

aw_result awlab_ossl_sha256(const uint8_t *data, size_t len,
                            uint8_t out[AWLAB_SHA256_LEN]) AW_MUST_CHECK;

/* AES-128 as a block cipher (EVP, ECB on one block). */
typedef struct awlab_aes awlab_aes;
aw_result awlab_aes_new(const uint8_t key[16], awlab_aes **out) AW_MUST_CHECK;
aw_result awlab_aes_block(awlab_aes *k, const uint8_t in[16], uint8_t out[16]) AW_MUST_CHECK;
void awlab_aes_free(awlab_aes *k);

/* AES-CMAC (EVP_MAC "CMAC", RFC 4493) with a 16-, 24- or 32-byte key (AES-128/192/256);
 * AW_E_KEY_INVALID for any other key length. A keyed context is reused per message. */
typedef struct awlab_cmac awlab_cmac;
aw_result awlab_cmac_new(const uint8_t *key, size_t key_len, awlab_cmac **out) AW_MUST_CHECK;
aw_result awlab_cmac_mac(awlab_cmac *k, const uint8_t *msg, size_t len,
                         uint8_t out[16]) AW_MUST_CHECK;
void awlab_cmac_free(awlab_cmac *k);

/* Poly1305 (EVP_MAC "POLY1305", RFC 8439): key = r || s, 32 bytes, one-time. */
aw_result awlab_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len,
                         uint8_t out[16]) AW_MUST_CHECK;

/* Byte-string equality for the lab's verifiers (the lab is not a protected path, but its
 * verifiers compare like the real ones do). */
bool awlab_equal(const uint8_t *a, const uint8_t *b, size_t len);

/* ---- the weak constructions ----------------------------------------------------------- */

/* Raw CBC-MAC over AES-128 with a public IV; len must be a multiple of 16. */
aw_result awlab_cbc_mac(awlab_aes *k, const uint8_t iv[16], const uint8_t *msg, size_t len,
                        uint8_t out[16]) AW_MUST_CHECK;
/* CBC-MAC with the message length (bytes, 128-bit big-endian block) prepended. */
aw_result awlab_cbc_mac_lp(awlab_aes *k, const uint8_t *msg, size_t len,
                           uint8_t out[16]) AW_MUST_CHECK;

/* ---- exact authentication-code figures (experiments 5 and 6) ---------------------------- */

/* A finite authentication code: n_keys keys, n_src source states, n_tags tags, and a tag
 * function. Keys are uniform; sources uniform for the entropy bound. */
typedef struct awlab_code {
    const char *name;
    uint64_t p;
    uint64_t n_keys;
    uint64_t n_src;
    uint64_t n_tags;
    uint64_t (*tag)(uint64_t p, uint64_t key, uint64_t src);
} awlab_code;

/* alpha = max_{x,y} |{k : e_k(x) = y}| / |K|;
 * beta = max over (x,y) with some key and x' != x, y' of |{k : e_k(x)=y, e_k(x')=y'}| /
 * |{k : e_k(x) = y}|, each kept as an exact fraction. The entropy bound is log2 of
 * 2^-(H(K) - H(K|X,Y)) with X uniform: alpha >= 2^-I(K; X,Y). */
typedef struct awlab_code_figures {
    uint64_t alpha_num, alpha_den;
    uint64_t beta_num, beta_den;
    double entropy_bound; /* 2^-(H(K) - H(K|X,Y)) */
    double h_k, h_k_given_xy;
} awlab_code_figures;

aw_result awlab_code_exact(const awlab_code *c, awlab_code_figures *out) AW_MUST_CHECK;

/* The toy families: (a,b) -> a*x + b mod p; b -> x + b; a -> a*x; and the compressing
 * Wegman-Carter family (k1,k2,r) -> k1*x1 + k2*x2 + r mod p over pairs x = (x1, x2). */
awlab_code awlab_code_affine(uint64_t p);
awlab_code awlab_code_shift(uint64_t p);
awlab_code awlab_code_linear(uint64_t p);
awlab_code awlab_code_dot(uint64_t p);

/* Exact collision probability of h_k(x) = k1*x1 + k2*x2 mod p over uniform keys, as the
 * largest count over all pairs x != x' of keys that collide (out of p^2): 1/p means p. */
uint64_t awlab_dot_max_collisions(uint64_t p);

/* ---- results: figures, series, printing, JSON, plots ----------------------------------- */

#define AWLAB_MAX_FIGURES 48
#define AWLAB_MAX_SERIES  6
#define AWLAB_MAX_POINTS  16

typedef struct awlab_figure {
    char name[48];
    char what[112]; /* one line of explanation */
    double measured;
    double bound;  /* the predicted value */
    double lo, hi; /* the accepted band (stated statistical tolerance) */
    bool ok;
} awlab_figure;

typedef struct awlab_point {
    double x, y, ylo, yhi, bound;
} awlab_point;

typedef struct awlab_series {
    char name[48];
    size_t n;
    awlab_point pt[AWLAB_MAX_POINTS];
} awlab_series;

typedef struct awlab_result {
    const char *name;
    const char *title;
    bool weak_broken; /* the attack on the weak construction succeeded as predicted */
    bool sound_held;  /* the same attack on the sound construction failed */
    size_t n_figures;
    awlab_figure fig[AWLAB_MAX_FIGURES];
    size_t n_series;
    awlab_series series[AWLAB_MAX_SERIES];
    double seconds;
} awlab_result;

typedef struct awlab_config {
    uint64_t seed;
    FILE *out; /* where the experiment narrates; NULL: silent */
} awlab_config;

/* Adds a figure; ok when lo <= measured <= hi. Returns it. */
awlab_figure *awlab_add_figure(awlab_result *r, const char *name, double measured, double bound,
                               double lo, double hi, const char *what);
/* The figure called name, or NULL. */
const awlab_figure *awlab_find_figure(const awlab_result *r, const char *name);
awlab_series *awlab_add_series(awlab_result *r, const char *name);
void awlab_add_point(awlab_series *s, double x, double y, double ylo, double yhi, double bound);
/* True when every figure is within its band and both verdicts hold. */
bool awlab_as_predicted(const awlab_result *r);

void awlab_say(const awlab_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void awlab_print_figures(const awlab_config *cfg, const awlab_result *r);

/* Writes every result as one JSON document. Returns 0 or -1 (errno set). */
int awlab_write_json(FILE *f, uint64_t seed, const awlab_result *res, size_t n);
/* Writes the plots of the results that have series into dir (created if missing) through
 * gnuplot. Returns 0, or -1 after printing why to stderr. */
int awlab_write_plots(const char *dir, const awlab_result *res, size_t n);

/* ---- the experiments ------------------------------------------------------------------ */

typedef aw_result (*awlab_experiment_fn)(const awlab_config *cfg, awlab_result *res);

typedef struct awlab_experiment {
    const char *name;
    const char *title;
    awlab_experiment_fn run;
} awlab_experiment;

aw_result awlab_exp_prefix(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;
aw_result awlab_exp_suffix(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;
aw_result awlab_exp_splice(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;
aw_result awlab_exp_birthday(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;
aw_result awlab_exp_universal(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;
aw_result awlab_exp_poly1305(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;
aw_result awlab_exp_hmac(const awlab_config *cfg, awlab_result *res) AW_MUST_CHECK;

/* The table of experiments, in the order. */
extern const awlab_experiment awlab_experiments[];
extern const size_t awlab_n_experiments;

/* Runs one experiment by table entry: clears res, times it, fills name and title. */
aw_result awlab_run(const awlab_experiment *e, const awlab_config *cfg,
                    awlab_result *res) AW_MUST_CHECK;

/* ---- statistics helpers ---------------------------------------------------------------- */

/* Sorts v in place and returns the q-quantile (0..1) by nearest rank. */
double awlab_quantile(double *v, size_t n, double q);
double awlab_mean(const double *v, size_t n);

/* The number of independent uniform draws from N values after which the first repeat
 * has been seen with probability >= 1/2 (exact product formula). */
double awlab_birthday_median_exact(double n_values);

/* Finds the first repeat among a stream of values of at most 32 bits (open addressing).
 * awlab_finder_new sizes it for streams of up to 2^max_log2 values. */
typedef struct awlab_finder {
    uint32_t *key;
    uint32_t *idx; /* UINT32_MAX: empty */
    size_t cap;
    size_t mask;
    size_t count;
} awlab_finder;

aw_result awlab_finder_new(awlab_finder *f, unsigned max_log2) AW_MUST_CHECK;
/* Empties it for a stream of t-bit values: room for 2^(t/2 + 4) of them, 13 times the
 * median wait for a repeat (more would mean a broken generator: P < 2^-180). */
void awlab_finder_reset(awlab_finder *f, unsigned t);
/* Adds value y with label i. Returns 1 and the earlier label in *prev when y was seen,
 * 0 when not, -1 when full. */
int awlab_finder_add(awlab_finder *f, uint32_t y, uint32_t i, uint32_t *prev);
void awlab_finder_free(awlab_finder *f);

#endif
