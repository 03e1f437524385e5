/* The MAC lab (src/lab, docs/LAB.md): its primitives against published vectors, its exact
 * figures for small p, and every experiment run with fixed seeds, asserting that the attack
 * on the weak construction succeeds at the predicted cost (within the stated statistical
 * tolerance) and that the same attack on the sound construction fails.
 *
 *   rfc4493/aes_cmac-kv.txt          AES-128(K, 0), subkeys K1/K2, the four AES-CMAC examples
 *   wycheproof/aes_cmac_test.json    valid tags pass, modified tags fail, bad key sizes refused
 *   RFC 8439 2.5.2 (in this file)    the Poly1305 example
 *   FIPS 197 C.1 (in this file)      one AES-128 block
 *
 * Tolerances: a median of n birthday searches has a standard error of about
 * 0.85 * 2^(t/2) / sqrt(n); rates from n Bernoulli trials sqrt(q (1 - q) / n). The test
 * accepts 4 of those (a false alarm about once in 16000 runs per figure, but the seeds are
 * fixed, so a run either always passes or always fails). Each experiment also runs under a
 * second seed (experiments 2 and 4 once: their searches are the repetition). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "lab.h"

static uint8_t *hex(const char *s, size_t *len)
{
    return aw_test_hex(s, len);
}

/* ---- primitives --------------------------------------------------------------------- */

static void test_sha256(void)
{
    uint8_t buf[300], a[32], b[32];
    awlab_rng rng;
    awlab_rng_seed(&rng, 1);
    awlab_rng_bytes(&rng, buf, sizeof(buf));
    unsigned agree = 0;
    for (size_t len = 0; len <= sizeof(buf); len++) {
        /* Fed split at every offset, as one update and as two. */
        for (size_t split = 0; split <= len; split += (len < 80 ? 1 : 37)) {
            awlab_sha256 c;
            awlab_sha256_init(&c);
            awlab_sha256_update(&c, buf, split);
            awlab_sha256_update(&c, buf + split, len - split);
            awlab_sha256_final(&c, a);
            CHECK_OK(awlab_ossl_sha256(buf, len, b));
            agree += memcmp(a, b, 32) == 0;
            CHECK_MSG(memcmp(a, b, 32) == 0, "lab SHA-256 differs from OpenSSL at %zu/%zu", len,
                      split);
        }
    }
    printf("lab SHA-256 = OpenSSL on %u inputs\n", agree);
    /* State continuation: H(x || pad(|x|) || y) resumed from H(x). */
    for (size_t xl = 0; xl < 130; xl += 7) {
        uint8_t pad[72], whole[300], d[32], ext[32];
        size_t pl = awlab_sha256_padding(xl, pad);
        CHECK((xl + pl) % 64 == 0 && pl >= 9 && pl <= 72);
        memcpy(whole, buf, xl);
        memcpy(whole + xl, pad, pl);
        memcpy(whole + xl + pl, "tail", 4);
        CHECK_OK(awlab_ossl_sha256(buf, xl, d));
        awlab_sha256 c;
        awlab_sha256_resume(&c, d, xl + pl);
        awlab_sha256_update(&c, (const uint8_t *)"tail", 4);
        awlab_sha256_final(&c, ext);
        CHECK_OK(awlab_ossl_sha256(whole, xl + pl + 4, d));
        CHECK_MSG(memcmp(d, ext, 32) == 0, "resume after %zu bytes", xl);
        /* Tampered twin: resuming from a digest with one bit flipped must not match. */
        d[0] ^= 1;
        CHECK(memcmp(d, ext, 32) != 0);
    }
}

static void test_aes_and_cbc_mac(void)
{
    size_t n;
    uint8_t *key = hex("000102030405060708090a0b0c0d0e0f", &n);
    uint8_t *pt = hex("00112233445566778899aabbccddeeff", &n);
    uint8_t *ct = hex("69c4e0d86a7b0430d8cdb78070b4c55a", &n);
    awlab_aes *aes = NULL;
    uint8_t out[16], zero[16] = {0};
    CHECK_OK(awlab_aes_new(key, &aes));
    CHECK_OK(awlab_aes_block(aes, pt, out));
    CHECK_MSG(memcmp(out, ct, 16) == 0, "FIPS 197 C.1");
    /* CBC-MAC of one block with a zero IV is one encryption; with two, the chain. */
    CHECK_OK(awlab_cbc_mac(aes, zero, pt, 16, out));
    CHECK(memcmp(out, ct, 16) == 0);
    uint8_t two[32], chain[16];
    memcpy(two, pt, 16);
    memcpy(two + 16, pt, 16);
    for (size_t i = 0; i < 16; i++) {
        chain[i] = ct[i] ^ pt[i];
    }
    CHECK_OK(awlab_aes_block(aes, chain, chain));
    CHECK_OK(awlab_cbc_mac(aes, zero, two, 32, out));
    CHECK(memcmp(out, chain, 16) == 0);
    CHECK_RESULT(awlab_cbc_mac(aes, zero, two, 17, out), AW_E_INVALID_ARG);
    /* Length-prepended differs from raw on the same message. */
    uint8_t lp[16];
    CHECK_OK(awlab_cbc_mac_lp(aes, two, 32, lp));
    CHECK(memcmp(out, lp, 16) != 0);
    awlab_aes_free(aes);
    free(key);
    free(pt);
    free(ct);
}

/* RFC 4493 Section 4: AES-128(K, 0), the doubled subkeys, and the four examples. */
static void test_cmac_rfc4493(void)
{
    size_t len;
    char *text = (char *)aw_test_read_file(aw_test_vector_path("rfc4493/aes_cmac-kv.txt"), &len);
    uint8_t *key = NULL, *msg = NULL;
    size_t key_len = 0, msg_len = 0;
    unsigned examples = 0;
    uint8_t l_block[16] = {0};
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char name[32] = {0};
        const char *eq = strstr(line, " = ");
        if (eq == NULL || line[0] == '#' || (size_t)(eq - line) >= sizeof(name)) {
            continue;
        }
        memcpy(name, line, (size_t)(eq - line));
        if (strcmp(name, "LEN") == 0) {
            continue;
        }
        const char *value = eq + 3; /* Example 1's message is empty: "M = " */
        size_t vl;
        uint8_t *v = hex(value, &vl);
        if (strcmp(name, "K") == 0) {
            free(key);
            key = v;
            key_len = vl;
            continue;
        }
        if (strcmp(name, "M") == 0) {
            free(msg);
            msg = v;
            msg_len = vl;
            continue;
        }
        if (strcmp(name, "AES128_K_ZERO") == 0) {
            awlab_aes *aes = NULL;
            uint8_t zero[16] = {0};
            CHECK_OK(awlab_aes_new(key, &aes));
            CHECK_OK(awlab_aes_block(aes, zero, l_block));
            CHECK_MSG(memcmp(l_block, v, 16) == 0, "RFC 4493 AES-128(K, 0)");
            awlab_aes_free(aes);
        } else if (strcmp(name, "K1") == 0 || strcmp(name, "K2") == 0) {
            /* Doubling in GF(2^128): shift left, xor 0x87 when the top bit fell off. */
            uint8_t k1[16], k2[16];
            for (size_t i = 0; i < 16; i++) {
                k1[i] = (uint8_t)(l_block[i] << 1 | (i < 15 ? l_block[i + 1] >> 7 : 0));
            }
            k1[15] ^= (uint8_t)(l_block[0] & 0x80 ? 0x87 : 0);
            for (size_t i = 0; i < 16; i++) {
                k2[i] = (uint8_t)(k1[i] << 1 | (i < 15 ? k1[i + 1] >> 7 : 0));
            }
            k2[15] ^= (uint8_t)(k1[0] & 0x80 ? 0x87 : 0);
            CHECK_MSG(memcmp(name[1] == '1' ? k1 : k2, v, 16) == 0, "RFC 4493 %s", name);
        } else if (strcmp(name, "AES_CMAC") == 0) {
            awlab_cmac *c = NULL;
            uint8_t tag[16];
            CHECK_OK(awlab_cmac_new(key, key_len, &c));
            CHECK_OK(awlab_cmac_mac(c, msg, msg_len, tag));
            CHECK_MSG(memcmp(tag, v, 16) == 0, "RFC 4493 example of %zu bytes", msg_len);
            /* Tampered twin: one more byte, or one bit flipped, must change the tag. */
            uint8_t twin[80] = {0}, t2[16];
            memcpy(twin, msg, msg_len);
            size_t tl = msg_len == 0 ? 1 : msg_len;
            twin[tl - 1] ^= 1;
            CHECK_OK(awlab_cmac_mac(c, twin, tl, t2));
            CHECK(memcmp(tag, t2, 16) != 0);
            awlab_cmac_free(c);
            examples++;
        }
        free(v);
    }
    CHECK_MSG(examples == 4, "RFC 4493: %u of 4 examples found", examples);
    printf("RFC 4493 AES-CMAC: %u examples, subkeys\n", examples);
    free(key);
    free(msg);
    free(text);
}

static void test_cmac_wycheproof(void)
{
    aw_json *root = aw_json_load_vector("wycheproof/aes_cmac_test.json");
    const aw_json *groups = aw_json_get(root, "testGroups");
    unsigned valid = 0, invalid = 0, total = 0;
    CHECK(groups != NULL && groups->n > 0);
    for (size_t g = 0; groups != NULL && g < groups->n; g++) {
        const aw_json *tests = aw_json_get(groups->items[g], "tests");
        const aw_json *tag_size = aw_json_get(groups->items[g], "tagSize");
        size_t tag_bytes = tag_size != NULL ? (size_t)tag_size->number / 8 : 16;
        for (size_t i = 0; tests != NULL && i < tests->n; i++) {
            const aw_json *t = tests->items[i];
            size_t kl, ml, tl;
            uint8_t *k = hex(aw_json_get_string(t, "key"), &kl);
            uint8_t *m = hex(aw_json_get_string(t, "msg"), &ml);
            uint8_t *want = hex(aw_json_get_string(t, "tag"), &tl);
            bool expect_valid = strcmp(aw_json_get_string(t, "result"), "valid") == 0;
            awlab_cmac *c = NULL;
            bool ok = false;
            if (awlab_cmac_new(k, kl, &c) == AW_OK) {
                uint8_t tag[16];
                ok = awlab_cmac_mac(c, m, ml, tag) == AW_OK && tl == tag_bytes &&
                     awlab_equal(tag, want, tl);
                awlab_cmac_free(c);
            }
            CHECK_MSG(ok == expect_valid, "Wycheproof aes_cmac tcId %s: got %s",
                      aw_json_get(t, "tcId")->text, ok ? "valid" : "invalid");
            valid += expect_valid && ok;
            invalid += !expect_valid && !ok;
            total++;
            free(k);
            free(m);
            free(want);
        }
    }
    printf("Wycheproof AES-CMAC: %u valid accepted, %u invalid rejected, of %u\n", valid, invalid,
           total);
    CHECK(total == 311 && valid + invalid == total);
    aw_json_free(root);
}

/* RFC 8439 2.5.2. */
static void test_poly1305(void)
{
    size_t n;
    uint8_t *key = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b", &n);
    uint8_t *want = hex("a8061dc1305136c6c22b8baf0c0127a9", &n);
    static const char msg[] = "Cryptographic Forum Research Group";
    uint8_t tag[16];
    CHECK_OK(awlab_poly1305(key, (const uint8_t *)msg, sizeof(msg) - 1, tag));
    CHECK_MSG(memcmp(tag, want, 16) == 0, "RFC 8439 2.5.2 Poly1305");
    CHECK_OK(awlab_poly1305(key, (const uint8_t *)msg, sizeof(msg) - 2, tag));
    CHECK(memcmp(tag, want, 16) != 0);
    free(key);
    free(want);
}

/* ---- exact figures ------------------------------------------------------------------- */

static void test_exact_codes(void)
{
    static const uint64_t ps[] = {2, 3, 5, 7, 11, 13};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
        uint64_t p = ps[i];
        awlab_code_figures f;
        awlab_code c = awlab_code_affine(p);
        CHECK_OK(awlab_code_exact(&c, &f));
        /* alpha = p / p^2 and beta = 1/p exactly; |K| = p^2 = m^2. */
        CHECK_MSG(f.alpha_num == p && f.alpha_den == p * p, "a*x+b alpha at p=%llu",
                  (unsigned long long)p);
        CHECK_MSG(f.beta_num == 1 && f.beta_den == p, "a*x+b beta at p=%llu: %llu/%llu",
                  (unsigned long long)p, (unsigned long long)f.beta_num,
                  (unsigned long long)f.beta_den);
        CHECK(c.n_keys == c.n_tags * c.n_tags);
        /* H(K) = 2 log p, H(K|X,Y) = log p: the entropy bound is 1/p, met with equality. */
        CHECK(fabs(f.h_k - 2 * log2((double)p)) < 1e-9);
        CHECK(fabs(f.h_k_given_xy - log2((double)p)) < 1e-9);
        CHECK(fabs(f.entropy_bound - 1.0 / (double)p) < 1e-12);

        c = awlab_code_shift(p);
        CHECK_OK(awlab_code_exact(&c, &f));
        CHECK(f.alpha_num * p == f.alpha_den); /* 1/p */
        CHECK(f.beta_num == f.beta_den);       /* 1: one tag gives the key away */
        CHECK(fabs(f.entropy_bound - 1.0 / (double)p) < 1e-12);

        c = awlab_code_linear(p);
        CHECK_OK(awlab_code_exact(&c, &f));
        CHECK(f.alpha_num == f.alpha_den); /* x = 0 always has tag 0 */
        /* I(K; X,Y) = (1 - 1/p) log p. */
        CHECK(fabs(f.entropy_bound - pow((double)p, -(1.0 - 1.0 / (double)p))) < 1e-12);
        CHECK((double)f.alpha_num / (double)f.alpha_den >= f.entropy_bound);
    }
    static const uint64_t small[] = {2, 3, 5, 7};
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        uint64_t p = small[i];
        CHECK_MSG(awlab_dot_max_collisions(p) == p, "k1*x1+k2*x2 mod %llu is not universal",
                  (unsigned long long)p);
        awlab_code c = awlab_code_dot(p);
        awlab_code_figures f;
        CHECK_OK(awlab_code_exact(&c, &f));
        CHECK(f.alpha_num * p == f.alpha_den && f.beta_num * p == f.beta_den);
    }
    /* The exact birthday median: 23 people for 365 days. */
    CHECK(awlab_birthday_median_exact(365) == 23);
    CHECK(fabs(awlab_birthday_median_exact(65536) / 256 - 1.1774) < 0.01);
    /* An oversized code is refused, not enumerated for hours. */
    awlab_code big = awlab_code_affine(1009);
    awlab_code_figures f;
    CHECK_RESULT(awlab_code_exact(&big, &f), AW_E_INVALID_ARG);
}

/* ---- the experiments -------------------------------------------------------------------- */

static const awlab_experiment *find(const char *name)
{
    for (size_t i = 0; i < awlab_n_experiments; i++) {
        if (strcmp(awlab_experiments[i].name, name) == 0) {
            return &awlab_experiments[i];
        }
    }
    fprintf(stderr, "FATAL: no experiment %s\n", name);
    exit(1);
}

static double fig(const awlab_result *r, const char *name)
{
    const awlab_figure *f = awlab_find_figure(r, name);
    CHECK_MSG(f != NULL, "%s: no figure %s", r->name, name);
    return f == NULL ? NAN : f->measured;
}

/* Within rel of want. */
static bool near(double got, double want, double rel)
{
    return fabs(got - want) <= rel * want;
}

/* Experiments 2 and 4: the birthday searches, 80% of the time, run for one seed only: their
 * 3500 searches are themselves the repetition. */
static void run_birthday_experiments(uint64_t seed)
{
    awlab_config cfg = {seed, NULL};
    awlab_result *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        exit(1);
    }
    /* 2. Suffix MAC: queries to a collision at the birthday bound; the tag transfers. */
    CHECK_OK(awlab_run(find("suffix"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    /* 2740 trials: the pooled median's standard error is 0.85/sqrt(2740) = 0.016. */
    CHECK_MSG(fabs(fig(r, "pooled_median_over_2^(t/2)") - 1.1774) < 4 * 0.0163,
              "suffix: pooled median %.4f", fig(r, "pooled_median_over_2^(t/2)"));
    CHECK(near(fig(r, "pooled_mean_over_2^(t/2)"), 1.2533, 0.08));
    /* t = 16, 1000 trials: 4 standard errors are 4 * 0.85 * 256 / sqrt(1000) = 27.5. */
    CHECK(fabs(fig(r, "median_queries_t16") - 1.1774 * 256) < 27.5);
    CHECK(fig(r, "tag_transfer_rate") == 1.0);
    CHECK(fig(r, "hmac_transfer_rate") == 0.0);

    /* 4. CBC-MAC birthday forgery at 1.17 * 2^(t/2) queries; truncated CMAC: no forgery. */
    CHECK_OK(awlab_run(find("birthday"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    /* 774 trials: standard error 0.85/sqrt(774) = 0.031. */
    CHECK_MSG(fabs(fig(r, "pooled_median_over_2^(t/2)") - 1.1774) < 4 * 0.0306,
              "birthday: pooled median %.4f", fig(r, "pooled_median_over_2^(t/2)"));
    CHECK(fabs(fig(r, "median_queries_t16") - 1.1774 * 256) < 4 * 0.85 * 256 / sqrt(400.0));
    CHECK(fig(r, "cbc_forgery_rate") == 1.0);
    CHECK(fig(r, "cmac_forgery_rate") == 0.0);

    free(r);
}

static void run_experiments(uint64_t seed)
{
    awlab_config cfg = {seed, NULL};
    awlab_result *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        exit(1);
    }

    /* 1. Prefix MAC: every forgery verifies, at one verification per key byte guessed. */
    CHECK_OK(awlab_run(find("prefix"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    CHECK(fig(r, "prefix_forgery_rate") == 1.0);
    CHECK(fig(r, "hmac_forgery_rate") == 0.0);
    CHECK(fig(r, "sha256_agrees_openssl") == 512);
    CHECK(r->weak_broken && r->sound_held);

    /* 3. Raw CBC-MAC splice: always; length-prepended and CMAC: never. */
    CHECK_OK(awlab_run(find("splice"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    CHECK(fig(r, "raw_cbc_forgery_rate") == 1.0);
    CHECK(fig(r, "length_prepended_rate") == 0.0);
    CHECK(fig(r, "cmac_forgery_rate") == 0.0);

    /* 5. a*x + b: exact 1/p, trials within 4 std, reuse breaks it. */
    CHECK_OK(awlab_run(find("universal"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    CHECK(fig(r, "alpha_beta_exactly_1/p") == 10);
    CHECK(fig(r, "trials_within_4sd") == 10);
    CHECK(fig(r, "forgery_rate_two_tags") == 1.0);
    CHECK(fig(r, "forgery_rate_one_tag") == 0.0);
    CHECK(fig(r, "beta_x+b_p7") == 1.0);
    CHECK(fabs(fig(r, "alpha_a*x+b_p7") - 1.0 / 7) < 1e-12);

    /* 6. k.x + r and Poly1305: reused keys recovered, fresh keys hold. */
    CHECK_OK(awlab_run(find("poly1305"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    CHECK(fig(r, "universal_exactly_1/p") == 4);
    CHECK(fig(r, "wc_alpha_beta_1/p") == 4);
    CHECK(fig(r, "wc_reuse_forgery_rate") == 1.0);
    CHECK(fig(r, "poly1305_reuse_rate") == 1.0);
    CHECK(fig(r, "wc_fresh_forgery_rate") == 0.0);
    CHECK(fig(r, "poly1305_fresh_rate") == 0.0);

    /* 7. HMAC: every battery fails; truncated tags give way at exactly 2^-t. */
    CHECK_OK(awlab_run(find("hmac"), &cfg, r));
    CHECK(awlab_as_predicted(r));
    CHECK(fig(r, "length_extension_rate") == 0.0);
    CHECK(fig(r, "splice_rate") == 0.0);
    CHECK(fig(r, "substitution_rate") == 0.0);
    for (unsigned t = 1; t <= 12; t++) {
        char name[32];
        snprintf(name, sizeof(name), "truncated_rate_t%u", t);
        double q = ldexp(1.0, -(int)t), n = 100.0 * ldexp(1.0, (int)t);
        CHECK_MSG(fabs(fig(r, name) - q) <= 4 * sqrt(q * (1 - q) / n), "hmac: %s = %g", name,
                  fig(r, name));
    }
    free(r);
}

/* The bands must be able to fail: a figure outside its band is reported as such. */
static void test_bands_can_fail(void)
{
    awlab_result *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        exit(1);
    }
    r->weak_broken = r->sound_held = true;
    CHECK(awlab_add_figure(r, "in", 1.0, 1.0, 0.9, 1.1, "")->ok);
    CHECK(awlab_as_predicted(r));
    CHECK(!awlab_add_figure(r, "out", 1.2, 1.0, 0.9, 1.1, "")->ok);
    CHECK(!awlab_as_predicted(r));
    free(r);
}

int main(void)
{
    test_sha256();
    test_aes_and_cbc_mac();
    test_cmac_rfc4493();
    test_cmac_wycheproof();
    test_poly1305();
    test_exact_codes();
    test_bands_can_fail();
    /* The default seed of authwire lab, then a second seed: the predictions must not hold
     * for one lucky seed only. */
    run_birthday_experiments(0x61757468776972ull);
    run_experiments(0x61757468776972ull);
    run_experiments(20240607);
    return aw_test_finish("test_lab");
}
