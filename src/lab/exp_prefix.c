/* Experiment 1: the prefix MAC t = SHA-256(k || m) and the length-extension forgery.
 *
 * A Merkle-Damgard digest is the chaining state after the padded message. Knowing
 * t = SHA-256(k || m), the attacker resumes hashing from t as if he had hashed
 * k || m || pad(|k| + |m|), appends any suffix s, and obtains the tag of
 * m' = m || pad(|k| + |m|) || s without the key. He needs |k|: he guesses 1, 2, ... and
 * asks the verifier; each wrong guess costs one rejected verification.
 *
 * HMAC (RFC 2104) hashes the inner digest again under the outer key: the published tag is
 * not the state of any hash the verifier continues, so the same forgery fails. It is run
 * against libauthwire's own aw_hmac_sha256_verify, the production path. */
#include <string.h>

#include "authwire/crypto.h"
#include "lab.h"

#define TRIALS    256
#define MAX_GUESS 64
#define CHECKS    512 /* inputs on which the lab's SHA-256 is compared with OpenSSL's */

/* The lab's SHA-256 against OpenSSL's on every length 0..CHECKS-1 (random bytes). */
static aw_result check_sha256(awlab_rng *rng, unsigned *agree)
{
    uint8_t buf[CHECKS], a[32], b[32];
    awlab_rng_bytes(rng, buf, sizeof(buf));
    *agree = 0;
    for (size_t len = 0; len < CHECKS; len++) {
        awlab_sha256 c;
        awlab_sha256_init(&c);
        awlab_sha256_update(&c, buf, len);
        awlab_sha256_final(&c, a);
        AW_GUARD(awlab_ossl_sha256(buf, len, b));
        *agree += memcmp(a, b, 32) == 0;
    }
    return AW_OK;
}

/* The forgery for one guessed key length: m' = m || glue || ext and its tag from t. */
static size_t extend(const uint8_t *m, size_t m_len, const uint8_t tag[32], size_t key_guess,
                     const uint8_t *ext, size_t ext_len, uint8_t *forged, uint8_t ftag[32])
{
    uint8_t glue[72];
    size_t glue_len = awlab_sha256_padding(key_guess + m_len, glue);
    memcpy(forged, m, m_len);
    memcpy(forged + m_len, glue, glue_len);
    memcpy(forged + m_len + glue_len, ext, ext_len);
    awlab_sha256 c;
    awlab_sha256_resume(&c, tag, key_guess + m_len + glue_len);
    awlab_sha256_update(&c, ext, ext_len);
    awlab_sha256_final(&c, ftag);
    return m_len + glue_len + ext_len;
}

aw_result awlab_exp_prefix(const awlab_config *cfg, awlab_result *res)
{
    awlab_rng rng;
    awlab_rng_seed(&rng, cfg->seed ^ 0x01);
    static const uint8_t ext[] = "&to=mallory&amount=1000000";
    const size_t ext_len = sizeof(ext) - 1;

    unsigned agree;
    AW_GUARD(check_sha256(&rng, &agree));
    awlab_say(cfg,
              "  the lab's SHA-256 (padding, compression, state continuation) agrees with "
              "OpenSSL on %u/%u inputs of 0..%u bytes\n",
              agree, CHECKS, CHECKS - 1);

    unsigned forged_ok = 0, hmac_accepted = 0;
    double guesses_total = 0, keylen_total = 0;
    unsigned long hmac_tries = 0;
    for (unsigned trial = 0; trial < TRIALS; trial++) {
        uint8_t key[MAX_GUESS], km[MAX_GUESS + 128], tag[32];
        size_t key_len = 1 + (size_t)awlab_rng_below(&rng, MAX_GUESS);
        awlab_rng_bytes(&rng, key, key_len);
        char msg[96];
        int ml = snprintf(msg, sizeof(msg), "from=alice&to=bob&amount=%u&n=%llu",
                          (unsigned)awlab_rng_below(&rng, 1000),
                          (unsigned long long)awlab_rng_next(&rng));
        size_t m_len = (size_t)ml;
        /* The oracle: one MAC query for m under the prefix MAC. */
        memcpy(km, key, key_len);
        memcpy(km + key_len, msg, m_len);
        AW_GUARD(awlab_ossl_sha256(km, key_len + m_len, tag));

        uint8_t forged[MAX_GUESS + 128 + 72 + sizeof(ext)], ftag[32], check[32];
        uint8_t buf[sizeof(forged) + MAX_GUESS];
        for (size_t guess = 1; guess <= MAX_GUESS; guess++) {
            size_t f_len =
                extend((const uint8_t *)msg, m_len, tag, guess, ext, ext_len, forged, ftag);
            /* The verifier recomputes SHA-256(k || m') with OpenSSL. */
            memcpy(buf, key, key_len);
            memcpy(buf + key_len, forged, f_len);
            AW_GUARD(awlab_ossl_sha256(buf, key_len + f_len, check));
            if (awlab_equal(check, ftag, 32)) {
                forged_ok++;
                guesses_total += (double)guess;
                break;
            }
        }
        keylen_total += (double)key_len;

        /* The same battery against HMAC-SHA-256 (libauthwire), every key-length guess. */
        aw_hmac_key *hk = NULL;
        AW_GUARD(aw_hmac_key_new(key, key_len, &hk));
        aw_result r = aw_hmac_sha256(hk, (const uint8_t *)msg, m_len, tag);
        for (size_t guess = 1; r == AW_OK && guess <= MAX_GUESS; guess++) {
            size_t f_len =
                extend((const uint8_t *)msg, m_len, tag, guess, ext, ext_len, forged, ftag);
            hmac_tries++;
            hmac_accepted += aw_hmac_sha256_verify(hk, forged, f_len, ftag, 32) == AW_OK;
        }
        aw_hmac_key_free(hk);
        AW_GUARD(r);
    }
    double mean_guesses = forged_ok ? guesses_total / forged_ok : 0;
    double mean_keylen = keylen_total / TRIALS;
    awlab_say(cfg,
              "  %u keys of 1..%u random bytes, one MAC query each; the attacker appends '%s'\n"
              "  and guesses the key length: forged %u/%u, after %.2f rejected-or-accepted\n"
              "  verifications on average (the mean key length is %.2f: one guess per byte)\n",
              TRIALS, MAX_GUESS, (const char *)ext, forged_ok, TRIALS, mean_guesses, mean_keylen);
    awlab_say(cfg, "  HMAC-SHA-256 (aw_hmac_sha256_verify): %u of %lu extended tags accepted\n",
              hmac_accepted, hmac_tries);

    awlab_add_figure(res, "sha256_agrees_openssl", agree, CHECKS, CHECKS, CHECKS,
                     "inputs on which the lab's SHA-256 equals OpenSSL's");
    awlab_add_figure(res, "prefix_forgery_rate", (double)forged_ok / TRIALS, 1.0, 1.0, 1.0,
                     "forgeries accepted / trials, one MAC query each (predicted: all)");
    awlab_add_figure(res, "prefix_verifications", mean_guesses, mean_keylen, mean_keylen,
                     mean_keylen,
                     "mean verification queries per forgery = mean key length (exact)");
    awlab_add_figure(res, "hmac_forgery_rate",
                     hmac_tries ? (double)hmac_accepted / (double)hmac_tries : 1, 0, 0, 0,
                     "extended tags accepted by HMAC-SHA-256 / tries (predicted: 0)");
    res->weak_broken = forged_ok == TRIALS && agree == CHECKS;
    res->sound_held = hmac_accepted == 0 && hmac_tries == (unsigned long)TRIALS * MAX_GUESS;
    return AW_OK;
}
