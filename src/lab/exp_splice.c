/* Experiment 3: raw CBC-MAC on variable-length messages, and the splicing forgery.
 *
 * CBC-MAC with AES-128 (OpenSSL's block cipher, chained by the lab) and a public IV:
 * y_0 = IV, y_i = E_k(y_{i-1} xor x_i), tag = y_n. Given the tags z of x = x_1..x_n and z'
 * of x' = x'_1..x'_m, the message x || (x'_1 xor IV xor z) || x'_2..x'_m has tag z': after x
 * the chain holds z, and the spliced first block turns z back into IV xor x'_1, the input
 * the chain of x' started from. Two MAC queries, one forgery, every time.
 *
 * Prepending the length (in a first block) makes the set of messages prefix-free: the
 * spliced message announces a different length, so its chain starts elsewhere, and the
 * forgery fails. CMAC (RFC 4493, OpenSSL EVP_MAC "CMAC") masks the last block with a
 * derived subkey and fails the same way; its OpenSSL implementation is checked against the
 * RFC 4493 and Wycheproof vectors in tests/test_lab.c. */
#include <string.h>

#include "lab.h"

#define TRIALS     1000
#define MAX_BLOCKS 4

aw_result awlab_exp_splice(const awlab_config *cfg, awlab_result *res)
{
    awlab_rng rng;
    awlab_rng_seed(&rng, cfg->seed ^ 0x03);
    uint8_t key[16], iv[16];
    awlab_rng_bytes(&rng, key, sizeof(key));
    awlab_rng_bytes(&rng, iv, sizeof(iv));
    awlab_aes *aes = NULL;
    awlab_cmac *cmac = NULL;
    AW_GUARD(awlab_aes_new(key, &aes));
    aw_result r = awlab_cmac_new(key, sizeof(key), &cmac);
    unsigned raw_ok = 0, lp_ok = 0, cmac_ok = 0;
    for (unsigned trial = 0; r == AW_OK && trial < TRIALS; trial++) {
        uint8_t x[16 * MAX_BLOCKS], x2[16 * MAX_BLOCKS], forged[32 * MAX_BLOCKS];
        size_t n = 16 * (1 + (size_t)awlab_rng_below(&rng, MAX_BLOCKS));
        size_t m = 16 * (1 + (size_t)awlab_rng_below(&rng, MAX_BLOCKS));
        awlab_rng_bytes(&rng, x, n);
        awlab_rng_bytes(&rng, x2, m);
        uint8_t z[16], z2[16], check[16];

        /* Raw CBC-MAC: two queries, then the splice. */
        if ((r = awlab_cbc_mac(aes, iv, x, n, z)) != AW_OK ||
            (r = awlab_cbc_mac(aes, iv, x2, m, z2)) != AW_OK) {
            break;
        }
        memcpy(forged, x, n);
        memcpy(forged + n, x2, m);
        for (size_t i = 0; i < 16; i++) {
            forged[n + i] ^= (uint8_t)(iv[i] ^ z[i]);
        }
        if ((r = awlab_cbc_mac(aes, iv, forged, n + m, check)) != AW_OK) {
            break;
        }
        raw_ok += awlab_equal(check, z2, 16);

        /* Length-prepended CBC-MAC: the same splice from its own two tags. */
        if ((r = awlab_cbc_mac_lp(aes, x, n, z)) != AW_OK ||
            (r = awlab_cbc_mac_lp(aes, x2, m, z2)) != AW_OK) {
            break;
        }
        memcpy(forged + n, x2, m);
        for (size_t i = 0; i < 16; i++) {
            forged[n + i] ^= z[i];
        }
        if ((r = awlab_cbc_mac_lp(aes, forged, n + m, check)) != AW_OK) {
            break;
        }
        lp_ok += awlab_equal(check, z2, 16);

        /* CMAC: the same splice (CMAC's chain starts from zero). */
        if ((r = awlab_cmac_mac(cmac, x, n, z)) != AW_OK ||
            (r = awlab_cmac_mac(cmac, x2, m, z2)) != AW_OK) {
            break;
        }
        memcpy(forged + n, x2, m);
        for (size_t i = 0; i < 16; i++) {
            forged[n + i] ^= z[i];
        }
        if ((r = awlab_cmac_mac(cmac, forged, n + m, check)) != AW_OK) {
            break;
        }
        cmac_ok += awlab_equal(check, z2, 16);
    }
    awlab_aes_free(aes);
    awlab_cmac_free(cmac);
    AW_GUARD(r);
    awlab_say(cfg,
              "  %u pairs of random messages of 1..%u blocks, two MAC queries per pair, one "
              "spliced\n  forgery x || (x'_1 xor IV xor z) || x'_2..: accepted by raw CBC-MAC "
              "%u/%u,\n  by length-prepended CBC-MAC %u/%u, by CMAC %u/%u\n",
              TRIALS, MAX_BLOCKS, raw_ok, TRIALS, lp_ok, TRIALS, cmac_ok, TRIALS);
    awlab_add_figure(res, "raw_cbc_forgery_rate", (double)raw_ok / TRIALS, 1, 1, 1,
                     "spliced forgeries accepted by raw CBC-MAC (predicted: all, 2 queries each)");
    awlab_add_figure(res, "length_prepended_rate", (double)lp_ok / TRIALS, 0, 0, 0,
                     "the same splice against length-prepended CBC-MAC (predicted: none)");
    awlab_add_figure(res, "cmac_forgery_rate", (double)cmac_ok / TRIALS, 0, 0, 0,
                     "the same splice against AES-CMAC (predicted: none)");
    res->weak_broken = raw_ok == TRIALS;
    res->sound_held = lp_ok == 0 && cmac_ok == 0;
    return AW_OK;
}
