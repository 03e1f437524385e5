/* Experiment 7: HMAC-SHA-256 exactly as authwire uses it (libauthwire's aw_hmac_sha256 and
 * aw_hmac_sha256_verify, 32-byte keys), under every battery of the lab:
 *
 *  - length extension (experiment 1): resume SHA-256 from the tag, every key-length guess;
 *  - splicing (experiment 3): x || (x'_1 xor z) || x'_2.. with the tag of x';
 *  - substitution by trial: the observed tag on the message with any one bit flipped;
 *  - guessing against tags truncated to t bits: the accepted fraction must be 2^-t, no
 *    better (HMAC is a PRF, so a t-bit tag is a t-bit guess). With n = 100 * 2^t guesses
 *    the count of successes is binomial with mean 100; it is accepted within 4 standard
 *    deviations. Full 256-bit tags, which authwire sends, leave 2^-256. */
#include <math.h>
#include <string.h>

#include "authwire/crypto.h"
#include "lab.h"

#define EXT_TRIALS    64
#define SPLICE_TRIALS 1000
#define FLIP_MESSAGES 32
#define MAX_T         12

static bool trunc_equal(const uint8_t *a, const uint8_t *b, unsigned t)
{
    for (unsigned i = 0; i < t; i++) {
        unsigned byte = i / 8, bit = 7 - i % 8;
        if (((a[byte] >> bit) & 1) != ((b[byte] >> bit) & 1)) {
            return false;
        }
    }
    return true;
}

static aw_result batteries(awlab_rng *rng, aw_hmac_key *k, unsigned long *tries,
                           unsigned long *accepted)
{
    uint8_t tag[32], ftag[32];
    /* Length extension. */
    static const uint8_t ext[] = "&to=mallory&amount=1000000";
    for (unsigned trial = 0; trial < EXT_TRIALS; trial++) {
        char msg[64];
        int ml = snprintf(msg, sizeof(msg), "from=alice&to=bob&n=%llu",
                          (unsigned long long)awlab_rng_next(rng));
        size_t m_len = (size_t)ml;
        AW_GUARD(aw_hmac_sha256(k, (const uint8_t *)msg, m_len, tag));
        for (size_t guess = 1; guess <= 64; guess++) {
            uint8_t forged[64 + 72 + sizeof(ext)], glue[72];
            size_t gl = awlab_sha256_padding(guess + m_len, glue);
            memcpy(forged, msg, m_len);
            memcpy(forged + m_len, glue, gl);
            memcpy(forged + m_len + gl, ext, sizeof(ext) - 1);
            awlab_sha256 c;
            awlab_sha256_resume(&c, tag, guess + m_len + gl);
            awlab_sha256_update(&c, ext, sizeof(ext) - 1);
            awlab_sha256_final(&c, ftag);
            tries[0]++;
            accepted[0] +=
                aw_hmac_sha256_verify(k, forged, m_len + gl + sizeof(ext) - 1, ftag, 32) == AW_OK;
        }
    }
    /* Splicing, in 32-byte blocks (the tag's width). */
    for (unsigned trial = 0; trial < SPLICE_TRIALS; trial++) {
        uint8_t x[96], x2[96], forged[192], z[32], z2[32];
        size_t n = 32 * (1 + (size_t)awlab_rng_below(rng, 3));
        size_t m = 32 * (1 + (size_t)awlab_rng_below(rng, 3));
        awlab_rng_bytes(rng, x, n);
        awlab_rng_bytes(rng, x2, m);
        AW_GUARD(aw_hmac_sha256(k, x, n, z));
        AW_GUARD(aw_hmac_sha256(k, x2, m, z2));
        memcpy(forged, x, n);
        memcpy(forged + n, x2, m);
        for (size_t i = 0; i < 32; i++) {
            forged[n + i] ^= z[i];
        }
        tries[1]++;
        accepted[1] += aw_hmac_sha256_verify(k, forged, n + m, z2, 32) == AW_OK;
    }
    /* Substitution: every one-bit change of a 64-byte message, with the observed tag. */
    for (unsigned trial = 0; trial < FLIP_MESSAGES; trial++) {
        uint8_t msg[64];
        awlab_rng_bytes(rng, msg, sizeof(msg));
        AW_GUARD(aw_hmac_sha256(k, msg, sizeof(msg), tag));
        for (size_t bit = 0; bit < 8 * sizeof(msg); bit++) {
            msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            tries[2]++;
            accepted[2] += aw_hmac_sha256_verify(k, msg, sizeof(msg), tag, 32) == AW_OK;
            msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
    return AW_OK;
}

aw_result awlab_exp_hmac(const awlab_config *cfg, awlab_result *res)
{
    awlab_rng rng;
    awlab_rng_seed(&rng, cfg->seed ^ 0x07);
    uint8_t key[32];
    awlab_rng_bytes(&rng, key, sizeof(key));
    aw_hmac_key *k = NULL;
    AW_GUARD(aw_hmac_key_new(key, sizeof(key), &k));
    unsigned long tries[3] = {0}, accepted[3] = {0};
    aw_result r = batteries(&rng, k, tries, accepted);
    if (r != AW_OK) {
        aw_hmac_key_free(k);
        return r;
    }
    awlab_say(cfg,
              "  length extension: %lu/%lu accepted; splicing: %lu/%lu; one-bit substitution "
              "with\n  the observed tag: %lu/%lu\n",
              accepted[0], tries[0], accepted[1], tries[1], accepted[2], tries[2]);
    awlab_add_figure(res, "length_extension_rate", (double)accepted[0] / (double)tries[0], 0, 0, 0,
                     "extended tags accepted (64 messages x 64 key-length guesses)");
    awlab_add_figure(res, "splice_rate", (double)accepted[1] / (double)tries[1], 0, 0, 0,
                     "spliced messages accepted with the second tag");
    awlab_add_figure(res, "substitution_rate", (double)accepted[2] / (double)tries[2], 0, 0, 0,
                     "one-bit-changed messages accepted with the observed tag");

    awlab_series *s = awlab_add_series(res, "HMAC-SHA-256/t, guessed tags");
    bool rates_ok = true;
    awlab_say(cfg, "  %-3s %9s %9s %12s %12s\n", "t", "guesses", "accepted", "rate", "2^-t");
    for (unsigned t = 1; t <= MAX_T; t++) {
        uint64_t n = (uint64_t)100 << t;
        uint64_t hits = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint8_t msg[16], tag[32], guess[32];
            awlab_rng_bytes(&rng, msg, sizeof(msg));
            awlab_rng_bytes(&rng, guess, 2);
            r = aw_hmac_sha256(k, msg, sizeof(msg), tag);
            if (r != AW_OK) {
                aw_hmac_key_free(k);
                return r;
            }
            hits += trunc_equal(tag, guess, t);
        }
        double q = ldexp(1.0, -(int)t);
        double rate = (double)hits / (double)n;
        double sd = sqrt(q * (1 - q) / (double)n);
        char name[48], what[112];
        snprintf(name, sizeof(name), "truncated_rate_t%u", t);
        snprintf(what, sizeof(what), "t=%u: accepted random tags / %llu guesses (+-4 std)", t,
                 (unsigned long long)n);
        rates_ok &= awlab_add_figure(res, name, rate, q, q - 4 * sd, q + 4 * sd, what)->ok;
        awlab_add_point(s, t, rate, rate - 1.96 * sd, rate + 1.96 * sd, q);
        awlab_say(cfg, "  %-3u %9llu %9llu %12.6g %12.6g\n", t, (unsigned long long)n,
                  (unsigned long long)hits, rate, q);
    }
    aw_hmac_key_free(k);
    /* The weak side here is the guessing attack on short tags: it wins at exactly 2^-t. */
    res->weak_broken = rates_ok;
    res->sound_held = accepted[0] == 0 && accepted[1] == 0 && accepted[2] == 0;
    return AW_OK;
}
