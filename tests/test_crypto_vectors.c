/* Known-answer tests for the crypto interface (include/authwire/crypto.h), run against the
 * published vectors in ../shared/vectors:
 *
 *   rfc4231/hmac_sha256.txt            RFC 4231 cases 1-7 (case 5 truncated to 128 bits)
 *   rfc8032/ed25519.txt, ed25519-kv.txt RFC 8032 Section 7.1, both layouts
 *   wycheproof/hmac_sha256_test.json   valid must pass, invalid must fail
 *   wycheproof/ed25519_test.json       valid must pass, invalid must fail
 *   rfc9421/...                        RFC 9421 B.2.5 (hmac-sha256) and B.2.6 (ed25519)
 *
 * Every accepted tag or signature has tampered twins (one bit of the tag, one bit of the
 * message) that must be rejected. Misuse cases at the end: key sizes, wrong PEM types,
 * wrong tag and signature lengths. This file must not include OpenSSL: it tests the
 * backend only through the authwire API. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"

#include "check.h"
#include "json.h"

/* ------------------------------------------------------------------------------------------ */
/* Per-source tallies: a vector passes when none of its checks failed. */

typedef struct tally {
    const char *name;
    unsigned pass;
    unsigned total;
    unsigned long failures_before;
} tally;

static void tally_begin(tally *t)
{
    t->failures_before = aw_test_failures;
}

static void tally_end(tally *t)
{
    t->total++;
    if (aw_test_failures == t->failures_before) {
        t->pass++;
    }
}

static void tally_print(const tally *t)
{
    printf("%s: %u/%u\n", t->name, t->pass, t->total);
}

static tally g_twins = {"tampered twins rejected", 0, 0, 0};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers. */

static uint8_t *read_vector(const char *relative, size_t *len)
{
    return aw_test_read_file(aw_test_vector_path(relative), len);
}

/* A copy of buf with bit `bit` (counted over the whole buffer) flipped; len must be > 0. */
static uint8_t *flipped(const uint8_t *buf, size_t len, size_t bit)
{
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        fprintf(stderr, "FATAL: out of memory\n");
        exit(1);
    }
    memcpy(copy, buf, len);
    bit %= len * 8;
    copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    return copy;
}

/* A message that differs from msg: one bit flipped, or one byte appended to an empty one. */
static uint8_t *tampered_message(const uint8_t *msg, size_t len, size_t bit, size_t *out_len)
{
    if (len == 0) {
        static const uint8_t zero = 0;
        *out_len = 1;
        return flipped(&zero, 1, 8); /* bit 8 % 8 = 0: the byte 0x01 */
    }
    *out_len = len;
    return flipped(msg, len, bit);
}

static void expect_hex(const uint8_t *got, size_t len, const char *want_hex, const char *what)
{
    size_t want_len = 0;
    uint8_t *want = aw_test_hex(want_hex, &want_len);
    CHECK_MSG(want_len == len && memcmp(got, want, len) == 0, "%s: wrong value", what);
    free(want);
}

/* ------------------------------------------------------------------------------------------ */
/* "[name]" blocks of "Key = value" lines (rfc4231/hmac_sha256.txt, rfc8032/ed25519-kv.txt). */

#define KV_MAX_FIELDS 16

typedef struct kv_block {
    const char *name;
    size_t n;
    const char *keys[KV_MAX_FIELDS];
    const char *vals[KV_MAX_FIELDS];
} kv_block;

typedef struct kv_file {
    char *text; /* owns every string the blocks point into */
    kv_block *blocks;
    size_t n;
} kv_file;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        s[--n] = '\0';
    }
    return s;
}

static void kv_load(const char *relative, kv_file *f)
{
    size_t len = 0;
    memset(f, 0, sizeof(*f));
    f->text = (char *)read_vector(relative, &len);
    kv_block *cur = NULL;
    char *save = NULL;
    for (char *line = strtok_r(f->text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *t = trim(line);
        if (t[0] == '\0' || t[0] == '#') {
            continue;
        }
        if (t[0] == '[') {
            char *end = strchr(t, ']');
            if (end == NULL) {
                fprintf(stderr, "FATAL: %s: bad block header %s\n", relative, t);
                exit(1);
            }
            *end = '\0';
            f->blocks = realloc(f->blocks, (f->n + 1) * sizeof(*f->blocks));
            if (f->blocks == NULL) {
                fprintf(stderr, "FATAL: out of memory\n");
                exit(1);
            }
            cur = &f->blocks[f->n++];
            memset(cur, 0, sizeof(*cur));
            cur->name = t + 1;
            continue;
        }
        char *eq = strchr(t, '=');
        if (cur == NULL || eq == NULL || cur->n == KV_MAX_FIELDS) {
            fprintf(stderr, "FATAL: %s: unexpected line %s\n", relative, t);
            exit(1);
        }
        *eq = '\0';
        cur->keys[cur->n] = trim(t);
        cur->vals[cur->n] = trim(eq + 1);
        cur->n++;
    }
}

static const char *kv_get(const kv_block *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->keys[i], key) == 0) {
            return b->vals[i];
        }
    }
    return NULL;
}

/* A required field; a missing one means the vector file changed shape. */
static const char *kv_need(const kv_block *b, const char *key)
{
    const char *v = kv_get(b, key);
    if (v == NULL) {
        fprintf(stderr, "FATAL: [%s] has no %s\n", b->name, key);
        exit(1);
    }
    return v;
}

static void kv_free(kv_file *f)
{
    free(f->blocks);
    free(f->text);
}

/* ------------------------------------------------------------------------------------------ */
/* HMAC-SHA-256 */

/* Checks one HMAC vector whose tag is the leading tag_len bytes of the MAC (32: untruncated).
 * Our API only takes full 32-byte tags, so a truncated tag is checked here by comparing the
 * prefix of the full MAC, and aw_hmac_sha256_verify must refuse the short tag. Returns
 * whether the tag matched. */
static bool hmac_matches(aw_hmac_key *key, const uint8_t *msg, size_t msg_len, const uint8_t *tag,
                         size_t tag_len)
{
    uint8_t mac[AW_HMAC_SHA256_LEN];
    bool match = false;
    CHECK_OK(aw_hmac_sha256(key, msg, msg_len, mac));
    if (tag_len == AW_HMAC_SHA256_LEN) {
        aw_result r = aw_hmac_sha256_verify(key, msg, msg_len, tag, tag_len);
        CHECK_MSG(r == AW_OK || r == AW_E_SIGNATURE_INVALID, "verify returned %s",
                  aw_result_name(r));
        match = r == AW_OK;
        CHECK(match == aw_ct_equal(mac, tag, AW_HMAC_SHA256_LEN));
    } else {
        match = tag_len > 0 && tag_len < AW_HMAC_SHA256_LEN && aw_ct_equal(mac, tag, tag_len);
        CHECK_RESULT(aw_hmac_sha256_verify(key, msg, msg_len, tag, tag_len),
                     AW_E_SIGNATURE_INVALID);
    }
    return match;
}

/* Tampered twins of an accepted (key, msg, tag): one bit of the tag, one bit of the message. */
static void hmac_twins(aw_hmac_key *key, const uint8_t *msg, size_t msg_len, const uint8_t *tag,
                       size_t tag_len, size_t seed)
{
    uint8_t *bad_tag = flipped(tag, tag_len, seed * 7 + 3);
    tally_begin(&g_twins);
    CHECK_MSG(!hmac_matches(key, msg, msg_len, bad_tag, tag_len), "tag with a flipped bit passed");
    tally_end(&g_twins);
    free(bad_tag);

    size_t bad_len = 0;
    uint8_t *bad_msg = tampered_message(msg, msg_len, seed * 13 + 5, &bad_len);
    tally_begin(&g_twins);
    CHECK_MSG(!hmac_matches(key, bad_msg, bad_len, tag, tag_len), "tampered message passed");
    tally_end(&g_twins);
    free(bad_msg);
}

static void test_rfc4231(void)
{
    tally t = {"rfc4231 hmac_sha256", 0, 0, 0};
    kv_file f;
    kv_load("rfc4231/hmac_sha256.txt", &f);
    for (size_t i = 0; i < f.n; i++) {
        const kv_block *b = &f.blocks[i];
        size_t key_len = 0, data_len = 0, mac_len = 0;
        uint8_t *key = aw_test_hex(kv_need(b, "Key"), &key_len);
        uint8_t *data = aw_test_hex(kv_need(b, "Data"), &data_len);
        uint8_t *mac = aw_test_hex(kv_need(b, "HMAC-SHA-256"), &mac_len);
        const char *trunc = kv_get(b, "Truncate_bits");
        tally_begin(&t);
        CHECK_MSG(key_len == strtoul(kv_need(b, "Key_len"), NULL, 10), "[%s] Key_len", b->name);
        CHECK_MSG(data_len == strtoul(kv_need(b, "Data_len"), NULL, 10), "[%s] Data_len", b->name);
        CHECK_MSG(mac_len == (trunc != NULL ? strtoul(trunc, NULL, 10) / 8 : 32), "[%s] tag length",
                  b->name);

        aw_hmac_key *k = NULL;
        aw_hmac_key *dup = NULL;
        CHECK_OK(aw_hmac_key_new(key, key_len, &k));
        CHECK_OK(aw_hmac_key_dup(k, &dup));
        if (k != NULL && dup != NULL) {
            CHECK_MSG(hmac_matches(k, data, data_len, mac, mac_len), "[%s] MAC differs", b->name);
            /* The duplicate carries the same keyed state. */
            CHECK_MSG(hmac_matches(dup, data, data_len, mac, mac_len), "[%s] dup differs", b->name);
            hmac_twins(k, data, data_len, mac, mac_len, i);
        }
        aw_hmac_key_free(k);
        aw_hmac_key_free(dup);
        tally_end(&t);
        free(key);
        free(data);
        free(mac);
    }
    kv_free(&f);
    CHECK(t.total == 7);
    tally_print(&t);
}

typedef enum expect { EXPECT_VALID, EXPECT_INVALID, EXPECT_EITHER } expect;

static expect wycheproof_expect(const aw_json *test)
{
    const char *result = aw_test_json_string(test, "result");
    if (strcmp(result, "valid") == 0) {
        return EXPECT_VALID;
    }
    if (strcmp(result, "invalid") == 0) {
        return EXPECT_INVALID;
    }
    /* "acceptable": either outcome is allowed; none occur in the two files used here. */
    return EXPECT_EITHER;
}

static void test_wycheproof_hmac(void)
{
    tally t = {"wycheproof hmac_sha256", 0, 0, 0};
    aw_json *root = aw_json_load_vector("wycheproof/hmac_sha256_test.json");
    const aw_json *groups = aw_test_json_array(root, "testGroups");
    unsigned valid = 0, invalid = 0;
    for (size_t g = 0; g < groups->n; g++) {
        const aw_json *group = groups->items[g];
        size_t key_bits = (size_t)aw_test_json_number(group, "keySize");
        size_t tag_bytes = (size_t)aw_test_json_number(group, "tagSize") / 8;
        const aw_json *tests = aw_test_json_array(group, "tests");
        for (size_t i = 0; i < tests->n; i++) {
            const aw_json *test = tests->items[i];
            int tc = (int)aw_test_json_number(test, "tcId");
            expect want = wycheproof_expect(test);
            size_t key_len = 0, msg_len = 0, tag_len = 0;
            uint8_t *key = aw_test_hex(aw_test_json_string(test, "key"), &key_len);
            uint8_t *msg = aw_test_hex(aw_test_json_string(test, "msg"), &msg_len);
            uint8_t *tag = aw_test_hex(aw_test_json_string(test, "tag"), &tag_len);
            tally_begin(&t);
            CHECK_MSG(key_len * 8 == key_bits, "tcId %d: key size", tc);
            aw_hmac_key *k = NULL;
            CHECK_OK(aw_hmac_key_new(key, key_len, &k));
            if (k != NULL) {
                /* The group's tagSize says how many leading MAC bytes the tag holds. */
                bool match = tag_len == tag_bytes && hmac_matches(k, msg, msg_len, tag, tag_len);
                if (want == EXPECT_VALID) {
                    CHECK_MSG(match, "tcId %d (valid) was rejected", tc);
                    hmac_twins(k, msg, msg_len, tag, tag_len, (size_t)tc);
                    valid++;
                } else if (want == EXPECT_INVALID) {
                    CHECK_MSG(!match, "tcId %d (invalid) was accepted", tc);
                    invalid++;
                }
            }
            aw_hmac_key_free(k);
            tally_end(&t);
            free(key);
            free(msg);
            free(tag);
        }
    }
    CHECK(t.total == (unsigned)aw_test_json_number(root, "numberOfTests"));
    CHECK(t.total == 174 && valid == 66 && invalid == 108);
    aw_json_free(root);
    tally_print(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* Ed25519 */

typedef struct ed_vector {
    char name[80]; /* "kv " or "rfc " plus the vector's own name (at most 63 bytes) */
    uint8_t *seed, *pub, *msg, *sig;
    size_t seed_len, pub_len, msg_len, sig_len;
    size_t declared_msg_len;
} ed_vector;

static void ed_vector_free(ed_vector *v)
{
    free(v->seed);
    free(v->pub);
    free(v->msg);
    free(v->sig);
}

/* Signature and message twins for a (key, msg, sig) that verified. */
static void ed25519_twins(aw_ed25519_key *key, const uint8_t *msg, size_t msg_len,
                          const uint8_t *sig, size_t seed)
{
    uint8_t *bad_sig = flipped(sig, AW_ED25519_SIG_LEN, seed * 11 + 1);
    tally_begin(&g_twins);
    CHECK_RESULT(aw_ed25519_verify(key, msg, msg_len, bad_sig, AW_ED25519_SIG_LEN),
                 AW_E_SIGNATURE_INVALID);
    tally_end(&g_twins);
    free(bad_sig);

    size_t bad_len = 0;
    uint8_t *bad_msg = tampered_message(msg, msg_len, seed * 17 + 2, &bad_len);
    tally_begin(&g_twins);
    CHECK_RESULT(aw_ed25519_verify(key, bad_msg, bad_len, sig, AW_ED25519_SIG_LEN),
                 AW_E_SIGNATURE_INVALID);
    tally_end(&g_twins);
    free(bad_msg);
}

/* One RFC 8032 vector: the seed derives the public key, signing reproduces the signature
 * (Ed25519 is deterministic), and both a private and a public-only key verify it. */
static void check_rfc8032_vector(const ed_vector *v, size_t index)
{
    CHECK_MSG(v->seed_len == AW_ED25519_SEED_LEN, "%s: seed length", v->name);
    CHECK_MSG(v->pub_len == AW_ED25519_PUBLIC_LEN, "%s: public key length", v->name);
    CHECK_MSG(v->sig_len == AW_ED25519_SIG_LEN, "%s: signature length", v->name);
    CHECK_MSG(v->msg_len == v->declared_msg_len, "%s: message length", v->name);
    if (v->seed_len != AW_ED25519_SEED_LEN || v->pub_len != AW_ED25519_PUBLIC_LEN ||
        v->sig_len != AW_ED25519_SIG_LEN) {
        return;
    }

    aw_ed25519_key *priv = NULL;
    aw_ed25519_key *pub = NULL;
    CHECK_OK(aw_ed25519_from_seed(v->seed, &priv));
    CHECK_OK(aw_ed25519_from_public(v->pub, &pub));
    if (priv != NULL && pub != NULL) {
        uint8_t derived[AW_ED25519_PUBLIC_LEN];
        uint8_t sig[AW_ED25519_SIG_LEN];
        CHECK(aw_ed25519_has_private(priv));
        CHECK(!aw_ed25519_has_private(pub));
        CHECK_OK(aw_ed25519_public(priv, derived));
        CHECK_MSG(memcmp(derived, v->pub, sizeof(derived)) == 0, "%s: derived public key", v->name);
        CHECK_OK(aw_ed25519_sign(priv, v->msg, v->msg_len, sig));
        CHECK_MSG(memcmp(sig, v->sig, sizeof(sig)) == 0, "%s: signature differs", v->name);
        CHECK_OK(aw_ed25519_verify(pub, v->msg, v->msg_len, v->sig, v->sig_len));
        CHECK_OK(aw_ed25519_verify(priv, v->msg, v->msg_len, v->sig, v->sig_len));
        ed25519_twins(pub, v->msg, v->msg_len, v->sig, index);
    }
    aw_ed25519_free(priv);
    aw_ed25519_free(pub);
}

static void test_rfc8032_kv(ed_vector *out, size_t cap, size_t *n_out)
{
    tally t = {"rfc8032 ed25519-kv.txt", 0, 0, 0};
    kv_file f;
    kv_load("rfc8032/ed25519-kv.txt", &f);
    *n_out = 0;
    for (size_t i = 0; i < f.n && i < cap; i++) {
        const kv_block *b = &f.blocks[i];
        ed_vector *v = &out[(*n_out)++];
        memset(v, 0, sizeof(*v));
        snprintf(v->name, sizeof(v->name), "kv %s", b->name);
        v->seed = aw_test_hex(kv_need(b, "SECRET_KEY"), &v->seed_len);
        v->pub = aw_test_hex(kv_need(b, "PUBLIC_KEY"), &v->pub_len);
        v->msg = aw_test_hex(kv_need(b, "MESSAGE"), &v->msg_len);
        v->sig = aw_test_hex(kv_need(b, "SIGNATURE"), &v->sig_len);
        v->declared_msg_len = strtoul(kv_need(b, "MESSAGE_LEN"), NULL, 10);
        tally_begin(&t);
        check_rfc8032_vector(v, i);
        tally_end(&t);
    }
    CHECK(f.n == 5 && t.total == 5);
    kv_free(&f);
    tally_print(&t);
}

/* Appends the hex digits of line to a growing string. */
static void append_hex(char **buf, size_t *len, const char *line)
{
    size_t add = strlen(line);
    *buf = realloc(*buf, *len + add + 1);
    if (*buf == NULL) {
        fprintf(stderr, "FATAL: out of memory\n");
        exit(1);
    }
    memcpy(*buf + *len, line, add + 1);
    *len += add;
}

/* RFC 8032's own layout: "-----TEST name", then "SECTION:" headers each followed by lines
 * of 32 hex digits (or the algorithm name). */
static void test_rfc8032_rfc_layout(const ed_vector *kv, size_t kv_n)
{
    enum { SEC_NONE, SEC_ALG, SEC_SK, SEC_PK, SEC_MSG, SEC_SIG, SEC_COUNT };
    tally t = {"rfc8032 ed25519.txt", 0, 0, 0};
    size_t len = 0;
    char *text = (char *)read_vector("rfc8032/ed25519.txt", &len);
    char *save = NULL;
    char *hex[SEC_COUNT] = {NULL};
    size_t hex_len[SEC_COUNT] = {0};
    char name[64] = "";
    size_t declared = 0;
    int section = SEC_NONE;
    bool in_test = false;
    size_t index = 0;

    /* One extra round with line == NULL flushes the last vector. */
    for (char *line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        char *l = line != NULL ? trim(line) : NULL;
        bool new_test = l == NULL || strncmp(l, "-----TEST ", 10) == 0;
        if (new_test && in_test) {
            ed_vector v;
            memset(&v, 0, sizeof(v));
            snprintf(v.name, sizeof(v.name), "rfc %s", name);
            v.seed = aw_test_hex(hex[SEC_SK] ? hex[SEC_SK] : "", &v.seed_len);
            v.pub = aw_test_hex(hex[SEC_PK] ? hex[SEC_PK] : "", &v.pub_len);
            v.msg = aw_test_hex(hex[SEC_MSG] ? hex[SEC_MSG] : "", &v.msg_len);
            v.sig = aw_test_hex(hex[SEC_SIG] ? hex[SEC_SIG] : "", &v.sig_len);
            v.declared_msg_len = declared;
            tally_begin(&t);
            CHECK_MSG(hex[SEC_ALG] != NULL && strcmp(hex[SEC_ALG], "Ed25519") == 0, "%s: algorithm",
                      name);
            check_rfc8032_vector(&v, index);
            /* Both layouts must carry the same bytes. */
            CHECK_MSG(index < kv_n && strcmp(name, kv[index].name + 3) == 0 &&
                          v.msg_len == kv[index].msg_len &&
                          memcmp(v.msg, kv[index].msg, v.msg_len) == 0 &&
                          memcmp(v.sig, kv[index].sig, v.sig_len) == 0,
                      "%s: ed25519.txt and ed25519-kv.txt disagree", name);
            tally_end(&t);
            ed_vector_free(&v);
            for (int s = 0; s < SEC_COUNT; s++) {
                free(hex[s]);
                hex[s] = NULL;
                hex_len[s] = 0;
            }
            index++;
        }
        if (l == NULL) {
            break;
        }
        if (new_test) {
            snprintf(name, sizeof(name), "%s", l + 5); /* "TEST 1", as in the kv file */
            in_test = true;
            section = SEC_NONE;
            declared = 0;
            continue;
        }
        if (!in_test || l[0] == '\0') {
            continue; /* the two label lines at the top, and blank lines */
        }
        size_t n = strlen(l);
        if (l[n - 1] == ':') {
            if (strcmp(l, "ALGORITHM:") == 0) {
                section = SEC_ALG;
            } else if (strcmp(l, "SECRET KEY:") == 0) {
                section = SEC_SK;
            } else if (strcmp(l, "PUBLIC KEY:") == 0) {
                section = SEC_PK;
            } else if (sscanf(l, "MESSAGE (length %zu bytes):", &declared) == 1) {
                section = SEC_MSG;
            } else if (strcmp(l, "SIGNATURE:") == 0) {
                section = SEC_SIG;
            } else {
                fprintf(stderr, "FATAL: ed25519.txt: unknown section %s\n", l);
                exit(1);
            }
            continue;
        }
        if (section == SEC_NONE) {
            fprintf(stderr, "FATAL: ed25519.txt: data outside a section: %s\n", l);
            exit(1);
        }
        append_hex(&hex[section], &hex_len[section], l);
    }
    free(text);
    CHECK(t.total == 5);
    tally_print(&t);
}

static void test_wycheproof_ed25519(void)
{
    tally t = {"wycheproof ed25519", 0, 0, 0};
    aw_json *root = aw_json_load_vector("wycheproof/ed25519_test.json");
    const aw_json *groups = aw_test_json_array(root, "testGroups");
    unsigned valid = 0, invalid = 0;
    for (size_t g = 0; g < groups->n; g++) {
        const aw_json *group = groups->items[g];
        const aw_json *pk = aw_json_get(group, "publicKey");
        const char *pem = aw_test_json_string(group, "publicKeyPem");
        size_t pub_len = 0;
        uint8_t *pub = aw_test_hex(pk != NULL ? aw_test_json_string(pk, "pk") : "", &pub_len);
        aw_ed25519_key *raw = NULL;
        aw_ed25519_key *from_pem = NULL;
        CHECK(pub_len == AW_ED25519_PUBLIC_LEN);
        if (pub_len == AW_ED25519_PUBLIC_LEN) {
            CHECK_OK(aw_ed25519_from_public(pub, &raw));
        }
        /* The same key through SPKI PEM must decode to the same bytes. */
        CHECK_OK(aw_ed25519_from_pem(pem, strlen(pem), &from_pem));
        if (from_pem != NULL) {
            uint8_t again[AW_ED25519_PUBLIC_LEN];
            CHECK(!aw_ed25519_has_private(from_pem));
            CHECK_OK(aw_ed25519_public(from_pem, again));
            CHECK(pub_len == sizeof(again) && memcmp(again, pub, sizeof(again)) == 0);
        }

        const aw_json *tests = aw_test_json_array(group, "tests");
        for (size_t i = 0; i < tests->n; i++) {
            const aw_json *test = tests->items[i];
            int tc = (int)aw_test_json_number(test, "tcId");
            expect want = wycheproof_expect(test);
            size_t msg_len = 0, sig_len = 0;
            uint8_t *msg = aw_test_hex(aw_test_json_string(test, "msg"), &msg_len);
            uint8_t *sig = aw_test_hex(aw_test_json_string(test, "sig"), &sig_len);
            tally_begin(&t);
            if (raw != NULL && from_pem != NULL) {
                aw_result r = aw_ed25519_verify(raw, msg, msg_len, sig, sig_len);
                /* A bad signature is the peer's fault: never AW_E_CRYPTO. */
                CHECK_MSG(r == AW_OK || r == AW_E_SIGNATURE_INVALID, "tcId %d: verify returned %s",
                          tc, aw_result_name(r));
                CHECK_RESULT(aw_ed25519_verify(from_pem, msg, msg_len, sig, sig_len), r);
                if (want == EXPECT_VALID) {
                    CHECK_MSG(r == AW_OK, "tcId %d (valid) was rejected", tc);
                    if (r == AW_OK) {
                        ed25519_twins(raw, msg, msg_len, sig, (size_t)tc);
                    }
                    valid++;
                } else if (want == EXPECT_INVALID) {
                    CHECK_MSG(r == AW_E_SIGNATURE_INVALID, "tcId %d (invalid) gave %s", tc,
                              aw_result_name(r));
                    invalid++;
                }
            } else {
                CHECK_MSG(false, "tcId %d: no key", tc);
            }
            tally_end(&t);
            free(msg);
            free(sig);
        }
        aw_ed25519_free(raw);
        aw_ed25519_free(from_pem);
        free(pub);
    }
    CHECK(t.total == (unsigned)aw_test_json_number(root, "numberOfTests"));
    CHECK(t.total == 151 && valid == 88 && invalid == 63);
    aw_json_free(root);
    tally_print(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* RFC 9421 Appendix B.2.5 and B.2.6 */

/* The byte sequence of label's value on the "Signature:" line of a signature-fields file,
 * e.g. "Signature: sig-b25=:pxcQ...=:" (RFC 8941 Byte Sequence, Section 3.3.5). */
static void signature_value(const char *relative, const char *label, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    size_t len = 0;
    char *text = (char *)read_vector(relative, &len);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "\nSignature: %s=:", label);
    char *start = strstr(text, prefix);
    char *end = start != NULL ? strchr(start + strlen(prefix), ':') : NULL;
    if (end == NULL) {
        fprintf(stderr, "FATAL: %s: no Signature value for %s\n", relative, label);
        exit(1);
    }
    start += strlen(prefix);
    aw_span b64 = {(const uint8_t *)start, (size_t)(end - start)};
    CHECK_OK(aw_base64_decode(b64, 0, out, cap, out_len));
    free(text);
}

static void test_rfc9421_b25(void)
{
    tally t = {"rfc9421 B.2.5 hmac-sha256", 0, 0, 0};
    size_t b64_len = 0, hex_len = 0, base_len = 0, key_len = 0, hexkey_len = 0, sig_len = 0;
    uint8_t *b64 = read_vector("rfc9421/key-shared-secret.b64", &b64_len);
    uint8_t *hex = read_vector("rfc9421/key-shared-secret.hex", &hex_len);
    uint8_t *base = read_vector("rfc9421/b2.5-signature-base.txt", &base_len);
    uint8_t key[128];
    uint8_t sig[64];
    tally_begin(&t);

    /* The key is the decoded base64 (B.1.5), not its text; the files end in one LF. */
    while (b64_len > 0 && (b64[b64_len - 1] == '\n' || b64[b64_len - 1] == '\r')) {
        b64_len--;
    }
    while (hex_len > 0 && (hex[hex_len - 1] == '\n' || hex[hex_len - 1] == '\r')) {
        hex[--hex_len] = '\0';
    }
    CHECK_OK(aw_base64_decode((aw_span){b64, b64_len}, 0, key, sizeof(key), &key_len));
    uint8_t *hexkey = aw_test_hex((const char *)hex, &hexkey_len);
    CHECK(key_len == 64 && hexkey_len == 64 && memcmp(key, hexkey, 64) == 0);
    CHECK(base_len == 200);
    signature_value("rfc9421/b2.5-signature-fields.txt", "sig-b25", sig, sizeof(sig), &sig_len);
    CHECK(sig_len == AW_HMAC_SHA256_LEN);

    aw_hmac_key *k = NULL;
    CHECK_OK(aw_hmac_key_new(key, key_len, &k));
    if (k != NULL && sig_len == AW_HMAC_SHA256_LEN) {
        uint8_t mac[AW_HMAC_SHA256_LEN];
        CHECK_OK(aw_hmac_sha256(k, base, base_len, mac));
        CHECK_MSG(memcmp(mac, sig, sizeof(mac)) == 0, "B.2.5 HMAC differs from sig-b25");
        expect_hex(mac, sizeof(mac),
                   "a71710c3a1b7023b4c0508f0a3c5f39197ff6f0b392de95b68c939ac6206b44f", "B.2.5");
        CHECK_OK(aw_hmac_sha256_verify(k, base, base_len, sig, sig_len));
        hmac_twins(k, base, base_len, sig, sig_len, 2025);
    }
    aw_hmac_key_free(k);
    aw_wipe(key, sizeof(key));
    tally_end(&t);
    free(b64);
    free(hex);
    free(hexkey);
    free(base);
    tally_print(&t);
}

static void test_rfc9421_b26(void)
{
    tally t = {"rfc9421 B.2.6 ed25519", 0, 0, 0};
    size_t priv_len = 0, pub_len = 0, base_len = 0, sig_len = 0;
    uint8_t *priv_pem = read_vector("rfc9421/key-ed25519-private.pem", &priv_len);
    uint8_t *pub_pem = read_vector("rfc9421/key-ed25519-public.pem", &pub_len);
    uint8_t *base = read_vector("rfc9421/b2.6-signature-base.txt", &base_len);
    uint8_t want[64];
    tally_begin(&t);
    CHECK(base_len == 284);
    signature_value("rfc9421/b2.6-signature-fields.txt", "sig-b26", want, sizeof(want), &sig_len);
    CHECK(sig_len == AW_ED25519_SIG_LEN);

    aw_ed25519_key *priv = NULL;
    aw_ed25519_key *pub = NULL;
    CHECK_OK(aw_ed25519_from_pem((const char *)priv_pem, priv_len, &priv));
    CHECK_OK(aw_ed25519_from_pem((const char *)pub_pem, pub_len, &pub));
    if (priv != NULL && pub != NULL && sig_len == AW_ED25519_SIG_LEN) {
        uint8_t sig[AW_ED25519_SIG_LEN];
        uint8_t a[AW_ED25519_PUBLIC_LEN], b[AW_ED25519_PUBLIC_LEN];
        CHECK(aw_ed25519_has_private(priv));
        CHECK(!aw_ed25519_has_private(pub));
        CHECK_OK(aw_ed25519_public(priv, a));
        CHECK_OK(aw_ed25519_public(pub, b));
        CHECK_MSG(memcmp(a, b, sizeof(a)) == 0, "B.1.4 private and public PEM disagree");
        /* Ed25519 is deterministic: signing reproduces the published value. */
        CHECK_OK(aw_ed25519_sign(priv, base, base_len, sig));
        CHECK_MSG(memcmp(sig, want, sizeof(sig)) == 0, "B.2.6 signature not reproduced");
        CHECK_OK(aw_ed25519_verify(pub, base, base_len, want, sig_len));
        ed25519_twins(pub, base, base_len, want, 2026);

        /* Writing the private key back out gives the B.1.4 PEM as printed. */
        char pem[512];
        size_t pem_len = 0;
        CHECK_OK(aw_ed25519_private_pem(priv, pem, sizeof(pem), &pem_len));
        CHECK_MSG(pem_len == priv_len && memcmp(pem, priv_pem, priv_len) == 0 &&
                      pem[pem_len] == '\0',
                  "private PEM round trip differs");
        aw_wipe(pem, sizeof(pem));
    }
    aw_ed25519_free(priv);
    aw_ed25519_free(pub);

    /* The JWK form (B.1.4) of the same key: d is the seed, x the public key. */
    aw_json *jwk = aw_json_load_vector("rfc9421/key-ed25519.jwk.json");
    const char *d = aw_test_json_string(jwk, "d");
    const char *x = aw_test_json_string(jwk, "x");
    uint8_t seed[64], xpub[64];
    size_t seed_len = 0, xpub_len = 0;
    CHECK_OK(aw_base64_decode(aw_span_cstr(d), AW_BASE64_URL, seed, sizeof(seed), &seed_len));
    CHECK_OK(aw_base64_decode(aw_span_cstr(x), AW_BASE64_URL, xpub, sizeof(xpub), &xpub_len));
    CHECK(seed_len == AW_ED25519_SEED_LEN && xpub_len == AW_ED25519_PUBLIC_LEN);
    aw_ed25519_key *from_seed = NULL;
    if (seed_len == AW_ED25519_SEED_LEN) {
        CHECK_OK(aw_ed25519_from_seed(seed, &from_seed));
    }
    if (from_seed != NULL) {
        uint8_t derived[AW_ED25519_PUBLIC_LEN];
        uint8_t sig[AW_ED25519_SIG_LEN];
        CHECK_OK(aw_ed25519_public(from_seed, derived));
        CHECK(memcmp(derived, xpub, sizeof(derived)) == 0);
        CHECK_OK(aw_ed25519_sign(from_seed, base, base_len, sig));
        CHECK(memcmp(sig, want, sizeof(sig)) == 0);
    }
    aw_ed25519_free(from_seed);
    aw_wipe(seed, sizeof(seed));
    aw_json_free(jwk);

    tally_end(&t);
    free(priv_pem);
    free(pub_pem);
    free(base);
    tally_print(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* Digests, random, comparison, wiping */

static void test_primitives(void)
{
    uint8_t d256[AW_SHA256_LEN];
    uint8_t d512[AW_SHA512_LEN];
    CHECK_OK(aw_sha256((const uint8_t *)"abc", 3, d256));
    expect_hex(d256, sizeof(d256),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(abc)");
    CHECK_OK(aw_sha256(NULL, 0, d256));
    expect_hex(d256, sizeof(d256),
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256()");
    /* RFC 8032's TEST SHA(abc) message is SHA-512("abc"). */
    CHECK_OK(aw_sha512((const uint8_t *)"abc", 3, d512));
    expect_hex(d512, sizeof(d512),
               "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
               "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
               "sha512(abc)");
    CHECK_RESULT(aw_sha256(NULL, 1, d256), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_sha512((const uint8_t *)"abc", 3, NULL), AW_E_INVALID_ARG);

    uint8_t r1[32] = {0}, r2[32] = {0}, zero[32] = {0};
    CHECK_OK(aw_random(r1, sizeof(r1)));
    CHECK_OK(aw_random(r2, sizeof(r2)));
    CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
    CHECK(memcmp(r1, zero, sizeof(r1)) != 0);
    CHECK_OK(aw_random(NULL, 0));
    CHECK_RESULT(aw_random(NULL, 1), AW_E_INVALID_ARG);

    CHECK(aw_ct_equal(r1, r1, sizeof(r1)));
    CHECK(!aw_ct_equal(r1, r2, sizeof(r1)));
    CHECK(aw_ct_equal(r1, r2, 0));
    uint8_t last[32];
    memcpy(last, r1, sizeof(last));
    last[31] ^= 0x80;
    CHECK(!aw_ct_equal(r1, last, sizeof(r1)));

    aw_wipe(r1, sizeof(r1));
    CHECK(memcmp(r1, zero, sizeof(r1)) == 0);
    aw_wipe(NULL, 0);

    CHECK_OK(aw_crypto_init());
    CHECK_OK(aw_crypto_init());
}

/* ------------------------------------------------------------------------------------------ */
/* Key handles: duplicates are independent; generated keys round-trip through PEM. */

static void test_hmac_dup_independent(void)
{
    static const uint8_t key[] = "authwire test key, 32 bytes long";
    static const uint8_t msg[] = "GET /resource";
    uint8_t a[AW_HMAC_SHA256_LEN], b[AW_HMAC_SHA256_LEN], c[AW_HMAC_SHA256_LEN];
    aw_hmac_key *k = NULL;
    aw_hmac_key *dup = NULL;
    CHECK_OK(aw_hmac_key_new(key, sizeof(key) - 1, &k));
    if (k == NULL) {
        return;
    }
    CHECK_OK(aw_hmac_sha256(k, msg, sizeof(msg) - 1, a));
    CHECK_OK(aw_hmac_key_dup(k, &dup));
    /* Interleave the two handles, then drop the original: the duplicate stands alone. */
    CHECK_OK(aw_hmac_sha256(dup, msg, 3, c));
    CHECK_OK(aw_hmac_sha256(k, msg, sizeof(msg) - 1, b));
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    aw_hmac_key_free(k);
    CHECK_OK(aw_hmac_sha256(dup, msg, sizeof(msg) - 1, c));
    CHECK(memcmp(a, c, sizeof(a)) == 0);
    CHECK_OK(aw_hmac_sha256_verify(dup, msg, sizeof(msg) - 1, a, sizeof(a)));
    /* (NULL, 0) is the empty message. */
    CHECK_OK(aw_hmac_sha256(dup, NULL, 0, c));
    CHECK_OK(aw_hmac_sha256_verify(dup, (const uint8_t *)"", 0, c, sizeof(c)));
    aw_hmac_key_free(dup);
}

static void test_ed25519_generate(void)
{
    aw_ed25519_key *k1 = NULL, *k2 = NULL, *back = NULL;
    CHECK_OK(aw_ed25519_generate(&k1));
    CHECK_OK(aw_ed25519_generate(&k2));
    if (k1 == NULL || k2 == NULL) {
        aw_ed25519_free(k1);
        aw_ed25519_free(k2);
        return;
    }
    uint8_t p1[AW_ED25519_PUBLIC_LEN], p2[AW_ED25519_PUBLIC_LEN], p3[AW_ED25519_PUBLIC_LEN];
    CHECK_OK(aw_ed25519_public(k1, p1));
    CHECK_OK(aw_ed25519_public(k2, p2));
    CHECK(memcmp(p1, p2, sizeof(p1)) != 0);

    static const uint8_t msg[] = "POST /enroll";
    uint8_t sig[AW_ED25519_SIG_LEN];
    CHECK_OK(aw_ed25519_sign(k1, msg, sizeof(msg) - 1, sig));
    CHECK_OK(aw_ed25519_verify(k1, msg, sizeof(msg) - 1, sig, sizeof(sig)));
    CHECK_RESULT(aw_ed25519_verify(k2, msg, sizeof(msg) - 1, sig, sizeof(sig)),
                 AW_E_SIGNATURE_INVALID);
    CHECK_OK(aw_ed25519_sign(k1, NULL, 0, sig));
    CHECK_OK(aw_ed25519_verify(k1, NULL, 0, sig, sizeof(sig)));

    char pem[512];
    size_t pem_len = 0;
    CHECK_OK(aw_ed25519_private_pem(k1, pem, sizeof(pem), &pem_len));
    CHECK(pem_len == strlen(pem) && strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    CHECK_OK(aw_ed25519_from_pem(pem, pem_len, &back));
    if (back != NULL) {
        CHECK(aw_ed25519_has_private(back));
        CHECK_OK(aw_ed25519_public(back, p3));
        CHECK(memcmp(p1, p3, sizeof(p1)) == 0);
    }
    /* Too small: nothing written but the needed length. Exactly no room for the NUL fails. */
    size_t need = 0;
    char small[16];
    CHECK_RESULT(aw_ed25519_private_pem(k1, small, sizeof(small), &need), AW_E_BUFFER_TOO_SMALL);
    CHECK(need == pem_len);
    CHECK_RESULT(aw_ed25519_private_pem(k1, pem, pem_len, &need), AW_E_BUFFER_TOO_SMALL);
    CHECK_OK(aw_ed25519_private_pem(k1, pem, pem_len + 1, &need));
    aw_wipe(pem, sizeof(pem));
    aw_ed25519_free(k1);
    aw_ed25519_free(k2);
    aw_ed25519_free(back);
}

/* ------------------------------------------------------------------------------------------ */
/* Misuse: every wrong input gets the documented error, never a crash or AW_E_CRYPTO. */

/* Other key types, generated once with the openssl CLI and pasted here (tests never include
 * OpenSSL): each parses as a key but is not Ed25519. */
static const char X25519_PRIVATE_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEIMDMh9yE+J2RkTbrZOtJ/z9ZfV3KaazSqRh7N7JmGIxI\n"
    "-----END PRIVATE KEY-----\n";
static const char X25519_PUBLIC_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VuAyEAUZ0mL0pCX5RwNia7KQjZ8WzmblMbQXo6PNYXvrLTV2s=\n"
    "-----END PUBLIC KEY-----\n";
static const char ED448_PRIVATE_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MEcCAQAwBQYDK2VxBDsEOZLcdCxipo7dmWQj8N7KC4RGES6MYmlG8fQL6SIxNdLo\n"
    "FYL2krcuEHawj/42W+rsopIpg6XBpI4sJQ==\n"
    "-----END PRIVATE KEY-----\n";
static const char P256_PRIVATE_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBLU4jG+vWIlChENS\n"
    "gP/ukSYP49OBEDQONO8Wimc0hFOhRANCAAS3eL/I+/Nj2qUmbwP76jp67Z6HSW/a\n"
    "YcCiU8EDtD4NArJ+zzaeK/F9QC/Xq5zGO59ulaLXNC9Xjcf64wctAWfk\n"
    "-----END PRIVATE KEY-----\n";
static const char P256_PUBLIC_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdzm6acK+Vp0JyRbE+X52V+msXltA\n"
    "iaXhBr1MCQaAbQprRXYnyTwa+YkRQSTcXrY9jAwbxyUO3HGmN1DS8Du4Yg==\n"
    "-----END PUBLIC KEY-----\n";
/* An Ed25519 key encrypted with a passphrase: the library must refuse it, not prompt. */
static const char ED25519_ENCRYPTED_PEM[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAj+50xI6sbSjwICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEHHZAnQhTuUhu6FPlLQeREIEQLFm\n"
    "jNJZXF1v3stdHfR77vHGlrbN0QZEFXhHhxyYyDlqZdz9fCxVOrG1WDgFUhipDNIT\n"
    "KoSg74bbzEaahleVVsc=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";
/* The B.1.4 key with one base64 character changed inside the DER length, and cut short. */
static const char ED25519_CORRUPT_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC8CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
    "-----END PRIVATE KEY-----\n";
static const char ED25519_TRUNCATED_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D\n"
    "-----END PUBLIC KEY-----\n";

static void check_pem_rejected(const char *pem, size_t len, const char *what)
{
    static int sentinel;
    /* Any non-NULL value: from_pem must reset *out to NULL when it fails. */
    aw_ed25519_key *k = (aw_ed25519_key *)(void *)&sentinel;
    aw_result r = aw_ed25519_from_pem(pem, len, &k);
    CHECK_MSG(r == AW_E_KEY_INVALID, "%s: from_pem returned %s, expected key_invalid", what,
              aw_result_name(r));
    CHECK_MSG(k == NULL, "%s: *out not cleared", what);
    if (r == AW_OK) {
        aw_ed25519_free(k);
    }
}

static void test_misuse(void)
{
    uint8_t big[AW_HMAC_KEY_MAX + 1];
    memset(big, 0x5a, sizeof(big));
    aw_hmac_key *k = NULL;

    /* HMAC key sizes. */
    CHECK_RESULT(aw_hmac_key_new(big, 0, &k), AW_E_KEY_INVALID);
    CHECK(k == NULL);
    CHECK_RESULT(aw_hmac_key_new(NULL, 0, &k), AW_E_KEY_INVALID);
    CHECK_RESULT(aw_hmac_key_new(big, AW_HMAC_KEY_MAX + 1, &k), AW_E_KEY_INVALID);
    CHECK(k == NULL);
    CHECK_RESULT(aw_hmac_key_new(big, SIZE_MAX, &k), AW_E_KEY_INVALID);
    CHECK_RESULT(aw_hmac_key_new(NULL, 32, &k), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_hmac_key_new(big, 32, NULL), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_hmac_key_dup(NULL, &k), AW_E_INVALID_ARG);
    CHECK_OK(aw_hmac_key_new(big, 1, &k));
    aw_hmac_key_free(k);
    k = NULL;
    CHECK_OK(aw_hmac_key_new(big, AW_HMAC_KEY_MAX, &k));
    aw_hmac_key_free(NULL);

    /* Tags of any length but 32 are rejected as a bad tag, not as misuse. */
    if (k != NULL) {
        uint8_t mac[64];
        static const size_t lens[] = {0, 1, 16, 31, 33, 64};
        CHECK_OK(aw_hmac_sha256(k, big, 100, mac));
        memcpy(mac + 32, mac, 32);
        CHECK_OK(aw_hmac_sha256_verify(k, big, 100, mac, 32));
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            CHECK_RESULT(aw_hmac_sha256_verify(k, big, 100, mac, lens[i]), AW_E_SIGNATURE_INVALID);
        }
        CHECK_RESULT(aw_hmac_sha256_verify(k, big, 100, NULL, 0), AW_E_SIGNATURE_INVALID);
        CHECK_RESULT(aw_hmac_sha256_verify(k, big, 100, NULL, 32), AW_E_INVALID_ARG);
        CHECK_RESULT(aw_hmac_sha256(k, NULL, 5, mac), AW_E_INVALID_ARG);
        CHECK_RESULT(aw_hmac_sha256(k, big, 5, NULL), AW_E_INVALID_ARG);
        CHECK_RESULT(aw_hmac_sha256(NULL, big, 5, mac), AW_E_INVALID_ARG);
    }
    aw_hmac_key_free(k);

    /* PEM of the wrong type or shape. */
    check_pem_rejected(X25519_PRIVATE_PEM, strlen(X25519_PRIVATE_PEM), "X25519 private");
    check_pem_rejected(X25519_PUBLIC_PEM, strlen(X25519_PUBLIC_PEM), "X25519 public");
    check_pem_rejected(ED448_PRIVATE_PEM, strlen(ED448_PRIVATE_PEM), "Ed448 private");
    check_pem_rejected(P256_PRIVATE_PEM, strlen(P256_PRIVATE_PEM), "P-256 private");
    check_pem_rejected(P256_PUBLIC_PEM, strlen(P256_PUBLIC_PEM), "P-256 public");
    check_pem_rejected(ED25519_ENCRYPTED_PEM, strlen(ED25519_ENCRYPTED_PEM), "encrypted");
    check_pem_rejected(ED25519_CORRUPT_PEM, strlen(ED25519_CORRUPT_PEM), "corrupt DER");
    check_pem_rejected(ED25519_TRUNCATED_PEM, strlen(ED25519_TRUNCATED_PEM), "truncated");
    check_pem_rejected("", 0, "empty");
    check_pem_rejected("not a key", 9, "garbage");
    /* The length bounds the read: a valid PEM cut short by len is not a key. */
    check_pem_rejected(X25519_PUBLIC_PEM, 40, "short len");

    aw_ed25519_key *e = NULL;
    CHECK_RESULT(aw_ed25519_from_pem(NULL, 10, &e), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_ed25519_from_pem("x", 1, NULL), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_ed25519_from_seed(NULL, &e), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_ed25519_from_public(NULL, &e), AW_E_INVALID_ARG);
    CHECK(!aw_ed25519_has_private(NULL));
    aw_ed25519_free(NULL);

    /* A rejected key leaves no error behind: the next operation works. */
    uint8_t seed[AW_ED25519_SEED_LEN] = {1};
    uint8_t sig[AW_ED25519_SIG_LEN + 2];
    static const uint8_t msg[] = "msg";
    CHECK_OK(aw_ed25519_from_seed(seed, &e));
    if (e != NULL) {
        uint8_t pub_bytes[AW_ED25519_PUBLIC_LEN];
        aw_ed25519_key *pub = NULL;
        CHECK_OK(aw_ed25519_sign(e, msg, 3, sig));
        CHECK_OK(aw_ed25519_public(e, pub_bytes));
        CHECK_OK(aw_ed25519_from_public(pub_bytes, &pub));
        if (pub != NULL) {
            static const size_t lens[] = {0, 32, 63, 65, 66};
            char pem[256];
            size_t pem_len = 0;
            sig[64] = sig[65] = 0;
            for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                CHECK_RESULT(aw_ed25519_verify(pub, msg, 3, sig, lens[i]), AW_E_SIGNATURE_INVALID);
            }
            CHECK_RESULT(aw_ed25519_verify(pub, msg, 3, NULL, 0), AW_E_SIGNATURE_INVALID);
            CHECK_RESULT(aw_ed25519_verify(pub, msg, 3, NULL, 64), AW_E_INVALID_ARG);
            CHECK_RESULT(aw_ed25519_verify(pub, NULL, 3, sig, 64), AW_E_INVALID_ARG);
            CHECK_OK(aw_ed25519_verify(pub, msg, 3, sig, 64));
            /* A public-only key cannot sign or export a private key. */
            CHECK_RESULT(aw_ed25519_sign(pub, msg, 3, sig), AW_E_INVALID_ARG);
            CHECK_RESULT(aw_ed25519_private_pem(pub, pem, sizeof(pem), &pem_len), AW_E_INVALID_ARG);
        }
        aw_ed25519_free(pub);
    }
    aw_ed25519_free(e);

    /* An all-zero signature under a public key that is not a curve point: invalid, not a
     * backend error (OpenSSL 3.0 accepts the key and fails the verify). */
    uint8_t not_a_point[AW_ED25519_PUBLIC_LEN];
    memset(not_a_point, 0xff, sizeof(not_a_point));
    aw_ed25519_key *odd = NULL;
    CHECK_OK(aw_ed25519_from_public(not_a_point, &odd));
    if (odd != NULL) {
        memset(sig, 0, sizeof(sig));
        CHECK_RESULT(aw_ed25519_verify(odd, msg, 3, sig, 64), AW_E_SIGNATURE_INVALID);
    }
    aw_ed25519_free(odd);
}

/* ------------------------------------------------------------------------------------------ */
/* Threads: first use of the backend from several threads at once (aw_crypto_init runs under
 * pthread_once), each thread with its own key handles. */

#define THREADS       4
#define THREAD_ROUNDS 500

static void *thread_main(void *arg)
{
    static const uint8_t key[] = "Jefe"; /* RFC 4231 case 2 */
    static const uint8_t data[] = "what do ya want for nothing?";
    static const char *want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    size_t want_len = 0;
    uint8_t *expected = aw_test_hex(want, &want_len);
    aw_hmac_key *k = NULL;
    aw_hmac_key *dup = NULL;
    uintptr_t bad = 0;
    (void)arg;
    if (aw_hmac_key_new(key, 4, &k) != AW_OK || aw_hmac_key_dup(k, &dup) != AW_OK) {
        bad++;
    }
    for (int i = 0; i < THREAD_ROUNDS && bad == 0; i++) {
        uint8_t mac[AW_HMAC_SHA256_LEN];
        aw_hmac_key *use = (i & 1) != 0 ? k : dup;
        if (aw_hmac_sha256(use, data, sizeof(data) - 1, mac) != AW_OK ||
            memcmp(mac, expected, sizeof(mac)) != 0 ||
            aw_hmac_sha256_verify(use, data, sizeof(data) - 1, mac, sizeof(mac)) != AW_OK) {
            bad++;
        }
    }
    aw_hmac_key_free(k);
    aw_hmac_key_free(dup);
    free(expected);
    return (void *)bad;
}

static void test_threads_first_use(void)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&th[i], NULL, thread_main, NULL) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *bad = NULL;
        CHECK(pthread_join(th[i], &bad) == 0);
        CHECK_MSG(bad == NULL, "thread %d saw a wrong MAC", i);
    }
}

int main(void)
{
    /* Before anything else touches the backend, so initialisation really races. */
    test_threads_first_use();

    test_primitives();
    test_rfc4231();
    test_wycheproof_hmac();

    ed_vector kv[8];
    size_t kv_n = 0;
    test_rfc8032_kv(kv, sizeof(kv) / sizeof(kv[0]), &kv_n);
    test_rfc8032_rfc_layout(kv, kv_n);
    for (size_t i = 0; i < kv_n; i++) {
        ed_vector_free(&kv[i]);
    }
    test_wycheproof_ed25519();

    test_rfc9421_b25();
    test_rfc9421_b26();

    test_hmac_dup_independent();
    test_ed25519_generate();
    test_misuse();

    tally_print(&g_twins);
    return aw_test_finish("test_crypto_vectors");
}
