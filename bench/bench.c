/* authwire-bench: the performance bars of DESIGN.md, each measured side by side with its
 * reference in the same run (make bench; docs/PERFORMANCE.md explains the method).
 *
 *   authwire-bench [--out FILE] [--js FILE | --js-unavailable REASON] [--quick]
 *   authwire-bench --profile ROW [--iters N]   (one loop only, for perf / callgrind)
 *
 * Every timed figure is ns per operation: a fixed number of iterations after a warm-up,
 * repeated RUNS times, our code and its reference alternating run by run; the value is the
 * minimum over the runs (the median is printed too). Ratios are ours / reference, so lower
 * is better; a goal is the largest ratio the bar allows. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>

#include "authwire/bytes.h"
#include "authwire/crypto.h"
#include "authwire/freshness.h"
#include "authwire/message.h"
#include "authwire/sigbase.h"
#include "authwire/signature.h"

#define RUNS       5
#define BODY_LEN   1024
#define MAX_HDRS   16
#define ARENA_CAP  (64u * 1024u)
#define CREATED    1767225600 /* 2026-01-01T00:00:00Z */
#define NOW        (CREATED + 1)
#define KEYID      "alice"
#define NONCE_CAP  1000000u /* nonce cache capacity */
#define NONCE_LIFE 60       /* seconds: 2 x the default 30 s skew */
#define NONCE_RATE 15000u   /* uses per virtual second: ~915k live nonces in steady state */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "authwire-bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void check(aw_result r, aw_result want, const char *what)
{
    if (r != want) {
        fprintf(stderr, "authwire-bench: %s: got %s, want %s\n", what, aw_result_name(r),
                aw_result_name(want));
        exit(1);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- the typical request -------------------------------------------------------------- */

typedef struct signed_msg {
    aw_header headers[MAX_HDRS];
    aw_message msg;
    uint8_t sig_input[1024];
    uint8_t signature[256];
    uint8_t base[2048];
    size_t base_len;
    uint8_t tag[AW_ED25519_SIG_LEN]; /* the decoded Signature bytes */
    size_t tag_len;
    char raw[4096]; /* the same request as raw HTTP/1.1 */
    size_t raw_len;
} signed_msg;

typedef struct bench {
    uint8_t body[BODY_LEN];
    char digest_field[128];
    char nonce[64];
    char components[256];
    aw_hmac_key *hkey;
    aw_ed25519_key *ed_priv;
    aw_ed25519_key *ed_pub;
    aw_key key_hmac;
    aw_key key_ed_sign;
    aw_key key_ed_verify;
    const aw_key *lookup_key; /* what the lookup callback answers */
    signed_msg hm;            /* HMAC-signed */
    signed_msg ed;            /* Ed25519-signed */
    aw_header sign_headers[MAX_HDRS];
    aw_message sign_msg; /* unsigned: what aw_sign starts from */
    size_t sign_digest_idx;
    aw_sign_params sign_params;
    aw_policy policy;
    uint8_t *arena_buf;
    aw_arena arena;
    /* The floor: raw OpenSSL, everything prefetched and keyed once. */
    EVP_MD *md;
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_ctx;
    EVP_PKEY *ed_pkey;
    EVP_MD_CTX *ed_ctx;
    uint8_t body_digest[AW_SHA256_LEN];
    /* Freshness state. */
    aw_nonce_cache cache;
    void *cache_mem;
    uint64_t nonce_ctr; /* nonces used so far; also drives the virtual clock */
    uint64_t fp_ctr;    /* the floor's own counter, so it leaves the cache's clock alone */
    char cache_nonce[44];
    char keyids[64][8];
    uint8_t fp_salt[16];
    aw_seq_window seq;
    uint64_t seq_base;
    uint64_t seq_i;
    uint8_t seq_perm[64];
    volatile uint64_t sink;
} bench;

static const char *const ordinary_headers[][2] = {
    {"Host", "api.example.com"},          {"User-Agent", "authwire-client/0.1 (linux; x86_64)"},
    {"Accept", "application/json"},       {"Accept-Encoding", "gzip, deflate"},
    {"Content-Type", "application/json"}, {"Content-Length", "1024"},
};
#define N_ORDINARY (sizeof(ordinary_headers) / sizeof(ordinary_headers[0]))

static aw_span cspan(const char *s)
{
    return aw_span_cstr(s);
}

/* A 1 KiB JSON transfer order, padded with a memo to exactly BODY_LEN bytes. */
static void make_body(uint8_t *body)
{
    const char *head = "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":10,\"currency\":\"EUR\","
                       "\"reference\":\"inv-2026-000417\",\"memo\":\"";
    const char *tail = "\"}";
    size_t hl = strlen(head);
    size_t tl = strlen(tail);
    memcpy(body, head, hl);
    for (size_t i = hl; i < BODY_LEN - tl; i++) {
        body[i] = (uint8_t) "abcdefghijklmnopqrstuvwxyz "[i % 27];
    }
    memcpy(body + BODY_LEN - tl, tail, tl);
}

static void base_message(aw_message *m, aw_header *h, size_t *n, const bench *b)
{
    memset(m, 0, sizeof(*m));
    m->method = cspan("POST");
    m->target = cspan("/api/transfer?to=bob&amount=10");
    m->scheme = cspan("https");
    m->authority = cspan("api.example.com");
    m->body = (aw_span){b->body, BODY_LEN};
    *n = 0;
    for (size_t i = 0; i < N_ORDINARY; i++) {
        h[(*n)++] = (aw_header){cspan(ordinary_headers[i][0]), cspan(ordinary_headers[i][1])};
    }
    h[(*n)++] = (aw_header){cspan("Content-Digest"), cspan(b->digest_field)};
    m->headers = h;
    m->n_headers = *n;
}

static void sign_into(bench *b, signed_msg *s, const aw_key *key)
{
    size_t n;
    base_message(&s->msg, s->headers, &n, b);
    aw_writer si, sg, bw;
    aw_writer_init(&si, s->sig_input, sizeof(s->sig_input));
    aw_writer_init(&sg, s->signature, sizeof(s->signature));
    aw_writer_init(&bw, s->base, sizeof(s->base));
    b->arena.used = 0;
    check(aw_sign(&s->msg, NULL, key, &b->sign_params, &b->arena, &si, &sg, &bw), AW_OK,
          "aw_sign (setup)");
    s->base_len = bw.len;
    s->headers[n++] = (aw_header){cspan("Signature-Input"), aw_writer_span_of(&si)};
    s->headers[n++] = (aw_header){cspan("Signature"), aw_writer_span_of(&sg)};
    s->msg.n_headers = n;
    /* Signature: aw=:BASE64: */
    aw_span sv = aw_writer_span_of(&sg);
    if (sv.len < 6 || memcmp(sv.ptr, "aw=:", 4) != 0 || sv.ptr[sv.len - 1] != ':') {
        die("unexpected Signature field", NULL);
    }
    check(
        aw_base64_decode((aw_span){sv.ptr + 4, sv.len - 5}, 0, s->tag, sizeof(s->tag), &s->tag_len),
        AW_OK, "decode Signature");
    /* The same request as the raw bytes a gateway would read off the socket. */
    size_t off = (size_t)snprintf(s->raw, sizeof(s->raw), "POST %.*s HTTP/1.1\r\n",
                                  (int)s->msg.target.len, (const char *)s->msg.target.ptr);
    for (size_t i = 0; i < n; i++) {
        off +=
            (size_t)snprintf(s->raw + off, sizeof(s->raw) - off, "%.*s: %.*s\r\n",
                             (int)s->headers[i].name.len, (const char *)s->headers[i].name.ptr,
                             (int)s->headers[i].value.len, (const char *)s->headers[i].value.ptr);
    }
    off += (size_t)snprintf(s->raw + off, sizeof(s->raw) - off, "\r\n");
    if (off + BODY_LEN > sizeof(s->raw)) {
        die("raw request buffer too small", NULL);
    }
    memcpy(s->raw + off, b->body, BODY_LEN);
    s->raw_len = off + BODY_LEN;
}

static aw_result lookup(void *ctx, aw_span keyid, const aw_key **key)
{
    const bench *b = ctx;
    if (!aw_span_eq(keyid, AW_SPAN_LIT(KEYID))) {
        return AW_E_KEY_UNKNOWN;
    }
    *key = b->lookup_key;
    return AW_OK;
}

static void setup_openssl_floor(bench *b)
{
    static const uint8_t secret[32] = "authwire-bench-hmac-key-32-bytes";
    b->md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    b->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (b->md == NULL || b->mac == NULL) {
        die("OpenSSL fetch failed", NULL);
    }
    b->mac_ctx = EVP_MAC_CTX_new(b->mac);
    char digest_name[] = "SHA2-256";
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (b->mac_ctx == NULL || EVP_MAC_init(b->mac_ctx, secret, sizeof(secret), params) != 1) {
        die("EVP_MAC_init failed", NULL);
    }
    b->ed_ctx = EVP_MD_CTX_new();
    if (b->ed_ctx == NULL) {
        die("EVP_MD_CTX_new failed", NULL);
    }
    check(aw_hmac_key_new(secret, sizeof(secret), &b->hkey), AW_OK, "aw_hmac_key_new");
}

static void setup(bench *b)
{
    memset(b, 0, sizeof(*b));
    check(aw_crypto_init(), AW_OK, "aw_crypto_init");
    b->arena_buf = malloc(ARENA_CAP);
    if (b->arena_buf == NULL) {
        die("out of memory", NULL);
    }
    aw_arena_init(&b->arena, b->arena_buf, ARENA_CAP);
    setup_openssl_floor(b);

    make_body(b->body);
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)b->digest_field, sizeof(b->digest_field) - 1);
    check(aw_content_digest((aw_span){b->body, BODY_LEN}, AW_DIGEST_SHA256, &w), AW_OK,
          "aw_content_digest");
    b->digest_field[w.len] = '\0';

    /* 256 bits of nonce: 43 base64url characters. */
    uint8_t raw_nonce[32];
    check(aw_random(raw_nonce, sizeof(raw_nonce)), AW_OK, "aw_random");
    aw_writer_init(&w, (uint8_t *)b->nonce, sizeof(b->nonce) - 1);
    aw_writer_base64url(&w, raw_nonce, sizeof(raw_nonce));
    b->nonce[w.len] = '\0';
    snprintf(b->components, sizeof(b->components), "%s \"content-type\"", AW_COMPONENTS_REQUEST);

    b->sign_params = (aw_sign_params){
        .label = AW_LABEL,
        .components = b->components,
        .has_created = true,
        .created = CREATED,
        .nonce = cspan(b->nonce),
        .keyid = AW_SPAN_LIT(KEYID),
        .tag = AW_SPAN_LIT(AW_TAG_REQUEST),
        .with_alg = true,
    };
    aw_policy_authwire_request(&b->policy);

    uint8_t seed[AW_ED25519_SEED_LEN];
    uint8_t pub[AW_ED25519_PUBLIC_LEN];
    memset(seed, 0x5a, sizeof(seed));
    check(aw_ed25519_from_seed(seed, &b->ed_priv), AW_OK, "aw_ed25519_from_seed");
    check(aw_ed25519_public(b->ed_priv, pub), AW_OK, "aw_ed25519_public");
    check(aw_ed25519_from_public(pub, &b->ed_pub), AW_OK, "aw_ed25519_from_public");
    b->ed_pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub, sizeof(pub));
    if (b->ed_pkey == NULL) {
        die("EVP_PKEY_new_raw_public_key_ex failed", NULL);
    }
    b->key_hmac = (aw_key){.alg = AW_ALG_HMAC_SHA256, .hmac = b->hkey};
    b->key_ed_sign = (aw_key){.alg = AW_ALG_ED25519, .ed25519 = b->ed_priv};
    b->key_ed_verify = (aw_key){.alg = AW_ALG_ED25519, .ed25519 = b->ed_pub};

    sign_into(b, &b->hm, &b->key_hmac);
    sign_into(b, &b->ed, &b->key_ed_sign);

    size_t n;
    base_message(&b->sign_msg, b->sign_headers, &n, b);
    b->sign_digest_idx = n - 1;
}

/* ---- the loops ------------------------------------------------------------------------ */

typedef void (*loop_fn)(bench *b, size_t iters);

static void verify_with(bench *b, const signed_msg *s, const aw_key *key, aw_result want)
{
    aw_verified v;
    b->lookup_key = key;
    b->arena.used = 0;
    aw_result r = aw_verify(&s->msg, NULL, &b->policy, NOW, lookup, b, &b->arena, &v);
    if (r != want) {
        check(r, want, "aw_verify");
    }
}

static void loop_verify_hmac(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        verify_with(b, &b->hm, &b->key_hmac, AW_OK);
    }
}

static void loop_verify_ed25519(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        verify_with(b, &b->ed, &b->key_ed_verify, AW_OK);
    }
}

static void loop_parse_and_verify_hmac(bench *b, size_t iters)
{
    aw_header headers[32];
    for (size_t i = 0; i < iters; i++) {
        aw_message m;
        aw_result r =
            aw_http_parse((aw_span){(const uint8_t *)b->hm.raw, b->hm.raw_len}, headers, 32, &m);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_http_parse");
        }
        m.scheme = AW_SPAN_LIT("https");
        aw_verified v;
        b->lookup_key = &b->key_hmac;
        b->arena.used = 0;
        r = aw_verify(&m, NULL, &b->policy, NOW, lookup, b, &b->arena, &v);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_verify (parsed)");
        }
    }
}

static void loop_sign_hmac(bench *b, size_t iters)
{
    uint8_t digest_buf[128], si_buf[1024], sig_buf[256];
    for (size_t i = 0; i < iters; i++) {
        aw_writer dw, si, sg;
        aw_writer_init(&dw, digest_buf, sizeof(digest_buf));
        aw_writer_init(&si, si_buf, sizeof(si_buf));
        aw_writer_init(&sg, sig_buf, sizeof(sig_buf));
        b->arena.used = 0;
        aw_result r = aw_content_digest(b->sign_msg.body, AW_DIGEST_SHA256, &dw);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_content_digest");
        }
        b->sign_headers[b->sign_digest_idx].value = aw_writer_span_of(&dw);
        r = aw_sign(&b->sign_msg, NULL, &b->key_hmac, &b->sign_params, &b->arena, &si, &sg, NULL);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_sign");
        }
    }
}

/* The floor of a verify: SHA-256 of the body (the Content-Digest check) and HMAC-SHA-256 of
 * the very same signature base bytes, with the algorithms prefetched and the MAC context
 * keyed once and restarted from its saved state, then constant-time compares. */
static void loop_floor_hmac(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        uint8_t d[AW_SHA256_LEN], mac[AW_HMAC_SHA256_LEN];
        unsigned int dl = 0;
        size_t ml = 0;
        if (EVP_Digest(b->body, BODY_LEN, d, &dl, b->md, NULL) != 1 ||
            EVP_MAC_init(b->mac_ctx, NULL, 0, NULL) != 1 ||
            EVP_MAC_update(b->mac_ctx, b->hm.base, b->hm.base_len) != 1 ||
            EVP_MAC_final(b->mac_ctx, mac, &ml, sizeof(mac)) != 1) {
            die("OpenSSL floor failed", NULL);
        }
        if (CRYPTO_memcmp(d, b->body_digest, sizeof(d)) != 0 ||
            CRYPTO_memcmp(mac, b->hm.tag, sizeof(mac)) != 0) {
            die("OpenSSL floor does not match the signed request", NULL);
        }
    }
}

static void loop_floor_ed25519(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        uint8_t d[AW_SHA256_LEN];
        unsigned int dl = 0;
        if (EVP_Digest(b->body, BODY_LEN, d, &dl, b->md, NULL) != 1 ||
            EVP_DigestVerifyInit_ex(b->ed_ctx, NULL, NULL, NULL, NULL, b->ed_pkey, NULL) != 1 ||
            EVP_DigestVerify(b->ed_ctx, b->ed.tag, b->ed.tag_len, b->ed.base, b->ed.base_len) !=
                1 ||
            CRYPTO_memcmp(d, b->body_digest, sizeof(d)) != 0) {
            die("OpenSSL Ed25519 floor failed", NULL);
        }
    }
}

/* Nonce n as 43 base64url characters: a fixed random-looking prefix, the counter at the end. */
static void next_nonce(bench *b, uint64_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 42; i >= 35; i--) {
        b->cache_nonce[i] = alphabet[n & 63];
        n >>= 6;
    }
}

static void loop_nonce_cache_use(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        next_nonce(b, b->nonce_ctr);
        int64_t now = NOW + (int64_t)(b->nonce_ctr / NONCE_RATE);
        aw_span keyid = cspan(b->keyids[b->nonce_ctr & 63]);
        aw_result r = aw_nonce_cache_use(&b->cache, keyid,
                                         (aw_span){(const uint8_t *)b->cache_nonce, 43}, now);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_nonce_cache_use");
        }
        b->nonce_ctr++;
    }
}

/* The hashing floor of a keyed-fingerprint cache: one SHA-256 of salt || len || keyid ||
 * nonce, the same input (and input generation) as the cache fingerprints, without the table. */
static void loop_floor_fingerprint(bench *b, size_t iters)
{
    uint8_t buf[16 + 2 + 8 + 43];
    memcpy(buf, b->fp_salt, 16);
    for (size_t i = 0; i < iters; i++) {
        next_nonce(b, b->fp_ctr);
        const char *kid = b->keyids[b->fp_ctr & 63];
        size_t kl = strlen(kid);
        buf[16] = 0;
        buf[17] = (uint8_t)kl;
        memcpy(buf + 18, kid, kl);
        memcpy(buf + 18 + kl, b->cache_nonce, 43);
        uint8_t d[AW_SHA256_LEN];
        unsigned int dl = 0;
        if (EVP_Digest(buf, 18 + kl + 43, d, &dl, b->md, NULL) != 1) {
            die("EVP_Digest failed", NULL);
        }
        b->sink += d[0];
        b->fp_ctr++;
    }
}

static void setup_freshness(bench *b)
{
    size_t bytes = aw_nonce_cache_bytes(NONCE_CAP);
    b->cache_mem = malloc(bytes);
    if (b->cache_mem == NULL) {
        die("out of memory for the nonce cache", NULL);
    }
    check(aw_random(b->fp_salt, sizeof(b->fp_salt)), AW_OK, "aw_random");
    check(aw_nonce_cache_init(&b->cache, b->cache_mem, bytes, NONCE_CAP, NONCE_LIFE, b->fp_salt),
          AW_OK, "aw_nonce_cache_init");
    memcpy(b->cache_nonce, b->nonce, 43);
    for (size_t i = 0; i < 64; i++) {
        snprintf(b->keyids[i], sizeof(b->keyids[i]), "user%02zu", i);
    }
    /* Sequence numbers: increasing in blocks of 64, each block locally shuffled (a swap
     * every 8 positions, up to 7 apart), as concurrent requests of one client arrive. */
    for (size_t i = 0; i < 64; i++) {
        b->seq_perm[i] = (uint8_t)i;
    }
    uint32_t x = 12345;
    for (size_t i = 0; i < 64; i += 8) {
        x = x * 1103515245u + 12345u;
        size_t j = i + (x >> 16) % 8;
        uint8_t t = b->seq_perm[i];
        b->seq_perm[i] = b->seq_perm[j];
        b->seq_perm[j] = t;
    }
    aw_seq_window_init(&b->seq, 0);
    b->seq_base = 1;
}

static void loop_seq_accept(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        uint64_t seq = b->seq_base + b->seq_perm[b->seq_i & 63];
        aw_result r = aw_seq_accept(&b->seq, seq);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_seq_accept");
        }
        if ((++b->seq_i & 63) == 0) {
            b->seq_base += 64;
        }
    }
}

/* ---- breakdown of one verify (public API steps in the order aw_verify runs them) ------- */

typedef struct parsed_sig {
    const aw_sf_member *inputs, *sigs;
    size_t n_inputs, n_sigs;
} parsed_sig;

static void parse_sig_fields(bench *b, parsed_sig *p)
{
    aw_span v;
    check(aw_message_field(&b->hm.msg, AW_SPAN_LIT("signature-input"), &b->arena, &v), AW_OK,
          "signature-input");
    check(aw_sf_parse_dict(v, AW_SF_REJECT_DUPLICATE_KEYS, &b->arena, &p->inputs, &p->n_inputs),
          AW_OK, "parse Signature-Input");
    check(aw_message_field(&b->hm.msg, AW_SPAN_LIT("signature"), &b->arena, &v), AW_OK,
          "signature");
    check(aw_sf_parse_dict(v, AW_SF_REJECT_DUPLICATE_KEYS, &b->arena, &p->sigs, &p->n_sigs), AW_OK,
          "parse Signature");
}

static void loop_step_parse_sig_fields(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        parsed_sig p;
        b->arena.used = 0;
        parse_sig_fields(b, &p);
    }
}

/* What aw_verify does for the coverage check: serialise each covered identifier once (the
 * same spans then serve the duplicate check and the base). */
static void loop_step_coverage(bench *b, size_t iters)
{
    parsed_sig p;
    b->arena.used = 0;
    parse_sig_fields(b, &p);
    const aw_sf_member *m = &p.inputs[0];
    uint8_t buf[AW_SIGBASE_MAX_COMPONENTS][128];
    for (size_t i = 0; i < iters; i++) {
        for (size_t k = 0; k < m->n_inner; k++) {
            aw_writer w;
            aw_writer_init(&w, buf[k], sizeof(buf[k]));
            check(aw_sf_serialize_item(&m->inner[k], &w), AW_OK, "aw_sf_serialize_item");
        }
    }
}

/* The base as aw_verify builds it: identifiers precomputed, @signature-params as received. */
static void loop_step_sigbase(bench *b, size_t iters)
{
    parsed_sig p;
    b->arena.used = 0;
    parse_sig_fields(b, &p);
    const aw_sf_member *m = &p.inputs[0];
    uint8_t ident_buf[AW_SIGBASE_MAX_COMPONENTS][128];
    aw_span idents[AW_SIGBASE_MAX_COMPONENTS];
    for (size_t k = 0; k < m->n_inner; k++) {
        aw_writer w;
        aw_writer_init(&w, ident_buf[k], sizeof(ident_buf[k]));
        check(aw_sf_serialize_item(&m->inner[k], &w), AW_OK, "aw_sf_serialize_item");
        idents[k] = aw_writer_span_of(&w);
    }
    /* aw_verify hands the fields it found in its one pass over the header lines (each on
     * one line here) to the builder. */
    static const char *const names[] = {"signature-input", "signature", "content-digest",
                                        "content-type"};
    aw_header fields[4];
    for (size_t k = 0; k < 4; k++) {
        fields[k].name = cspan(names[k]);
        check(aw_message_field(&b->hm.msg, fields[k].name, &b->arena, &fields[k].value), AW_OK,
              names[k]);
    }
    aw_sigbase_opts opts = {idents, true, fields, 4, true}; /* m comes from aw_sf_parse_dict */
    size_t mark = b->arena.used;
    uint8_t base[2048];
    for (size_t i = 0; i < iters; i++) {
        aw_writer w;
        aw_writer_init(&w, base, sizeof(base));
        b->arena.used = mark;
        aw_result r = aw_sigbase_build_opts(&b->hm.msg, NULL, m, &opts, &b->arena, &w);
        if (r != AW_OK || w.len != b->hm.base_len) {
            check(r, AW_OK, "aw_sigbase_build_opts");
            die("aw_sigbase_build_opts: unexpected length", NULL);
        }
    }
}

static void loop_step_hmac_verify(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        aw_result r =
            aw_hmac_sha256_verify(b->hkey, b->hm.base, b->hm.base_len, b->hm.tag, b->hm.tag_len);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_hmac_sha256_verify");
        }
    }
}

static void loop_step_digest_check(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        b->arena.used = 0;
        aw_result r = aw_content_digest_check(&b->hm.msg, &b->arena);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_content_digest_check");
        }
    }
}

static void loop_step_sha256_body(bench *b, size_t iters)
{
    for (size_t i = 0; i < iters; i++) {
        uint8_t d[AW_SHA256_LEN];
        aw_result r = aw_sha256(b->body, BODY_LEN, d);
        if (r != AW_OK) {
            check(r, AW_OK, "aw_sha256");
        }
    }
}

/* ---- measuring ------------------------------------------------------------------------ */

typedef struct stats {
    double min;
    double median;
} stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static stats summarise(double *s, size_t n)
{
    qsort(s, n, sizeof(*s), cmp_double);
    return (stats){s[0], s[n / 2]};
}

static double time_loop(loop_fn f, bench *b, size_t iters)
{
    double t0 = now_ns();
    f(b, iters);
    return (now_ns() - t0) / (double)iters;
}

/* Warms both loops up, then alternates them RUNS times (the order flips every run). */
static void measure_pair(bench *b, loop_fn ours, loop_fn ref, size_t iters, stats *o, stats *r)
{
    double so[RUNS], sr[RUNS];
    ours(b, iters / 5 + 1);
    if (ref != NULL) {
        ref(b, iters / 5 + 1);
    }
    for (size_t k = 0; k < RUNS; k++) {
        if (ref != NULL && k % 2 == 1) {
            sr[k] = time_loop(ref, b, iters);
        }
        so[k] = time_loop(ours, b, iters);
        if (ref != NULL && k % 2 == 0) {
            sr[k] = time_loop(ref, b, iters);
        }
    }
    *o = summarise(so, RUNS);
    if (ref != NULL) {
        *r = summarise(sr, RUNS);
    }
}

/* ---- results -------------------------------------------------------------------------- */

typedef struct row {
    char name[48];
    double value;
    double value_median; /* NAN when not a timing */
    const char *unit;
    char reference[160];
    double ref_value; /* NAN: null */
    double ref_median;
    double ratio; /* NAN: null */
    double goal;  /* NAN: no goal; else ratio <= goal */
    char note[256];
} row;

#define MAX_ROWS 24
static row g_rows[MAX_ROWS];
static size_t g_n_rows;

static row *add_row(const char *name, double value, const char *unit, const char *reference,
                    double ref_value, double goal)
{
    if (g_n_rows == MAX_ROWS) {
        die("too many rows", NULL);
    }
    row *r = &g_rows[g_n_rows++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->value = value;
    r->value_median = NAN;
    r->unit = unit;
    snprintf(r->reference, sizeof(r->reference), "%s", reference);
    r->ref_value = ref_value;
    r->ref_median = NAN;
    r->ratio = isnan(ref_value) || ref_value <= 0 ? NAN : value / ref_value;
    r->goal = goal;
    return r;
}

static void json_num(FILE *f, double v, int decimals)
{
    if (isnan(v)) {
        fputs("null", f);
    } else {
        fprintf(f, "%.*f", decimals, v);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fputs("[\n", f);
    for (size_t i = 0; i < g_n_rows; i++) {
        const row *r = &g_rows[i];
        fputs("  {\"name\": ", f);
        json_str(f, r->name);
        fputs(", \"value\": ", f);
        json_num(f, r->value, 1);
        fputs(", \"unit\": ", f);
        json_str(f, r->unit);
        fputs(", \"reference\": ", f);
        json_str(f, r->reference);
        fputs(", \"reference_value\": ", f);
        json_num(f, r->ref_value, 1);
        fputs(", \"ratio\": ", f);
        json_num(f, r->ratio, 4);
        if (!isnan(r->goal)) {
            fputs(", \"goal\": ", f);
            json_num(f, r->goal, 2);
        }
        fputs(i + 1 < g_n_rows ? "},\n" : "}\n", f);
    }
    fputs("]\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

static void fmt_num(char *buf, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
    } else {
        snprintf(buf, cap, "%.1f", v);
    }
}

static int print_table(void)
{
    int missed = 0;
    printf("\n%-28s %12s %-12s %12s %-52s %12s %8s %8s %s\n", "name", "value", "unit", "(median)",
           "reference", "ref value", "ratio", "goal", "met?");
    for (size_t i = 0; i < 150; i++) {
        putchar('-');
    }
    putchar('\n');
    for (size_t i = 0; i < g_n_rows; i++) {
        const row *r = &g_rows[i];
        char v[32], vm[32], rv[32], ra[32], go[32];
        const char *met;
        fmt_num(v, sizeof(v), r->value);
        if (isnan(r->value_median)) {
            snprintf(vm, sizeof(vm), "-");
        } else {
            snprintf(vm, sizeof(vm), "(%.1f)", r->value_median);
        }
        fmt_num(rv, sizeof(rv), r->ref_value);
        if (isnan(r->ratio)) {
            snprintf(ra, sizeof(ra), "-");
        } else {
            snprintf(ra, sizeof(ra), "%.3f", r->ratio);
        }
        if (isnan(r->goal)) {
            snprintf(go, sizeof(go), "-");
            met = "";
        } else {
            snprintf(go, sizeof(go), "<=%.2f", r->goal);
            if (isnan(r->ratio)) {
                met = "NOT MEASURED";
                missed++;
            } else if (r->ratio <= r->goal) {
                met = "yes";
            } else {
                met = "NO";
                missed++;
            }
        }
        printf("%-28s %12s %-12s %12s %-52.52s %12s %8s %8s %s\n", r->name, v, r->unit, vm,
               r->reference, rv, ra, go, met);
        if (r->note[0] != '\0') {
            printf("%-28s   %s\n", "", r->note);
        }
    }
    return missed;
}

/* ---- JS peers (numbers from interop/bench-js.js, via bench/run.sh) -------------------- */

typedef struct js_numbers {
    bool available;
    char why[200];
    double hms_hmac, hms_ed25519, hawk;
} js_numbers;

/* Reads "key": number from a flat JSON object; NAN when absent or not a number. */
static double json_get(const char *text, const char *key)
{
    char pat[80];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    const char *p = strstr(text, pat);
    if (p == NULL) {
        return NAN;
    }
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    if (*p != ':') {
        return NAN;
    }
    p++;
    char *end;
    double v = strtod(p, &end);
    return end == p || !(v > 0) ? NAN : v;
}

static void load_js(js_numbers *js, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(js->why, sizeof(js->why), "cannot open %s", path);
        return;
    }
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    js->hms_hmac = json_get(text, "hms_hmac_verify_ns");
    js->hms_ed25519 = json_get(text, "hms_ed25519_verify_ns");
    js->hawk = json_get(text, "hawk_verify_ns");
    js->available = true;
    if (isnan(js->hms_hmac) && isnan(js->hms_ed25519) && isnan(js->hawk)) {
        snprintf(js->why, sizeof(js->why), "%s has none of the expected keys", path);
        js->available = false;
    }
}

static void add_js_row(const char *name, double ours, double floor_ns, const js_numbers *js,
                       double theirs, const char *peer, double goal)
{
    char ref[160];
    if (js->available && !isnan(theirs)) {
        snprintf(ref, sizeof(ref), "%s (node)", peer);
        row *r = add_row(name, ours, "ns/op", ref, theirs, goal);
        snprintf(r->note, sizeof(r->note),
                 "medians (JS: of batches of 500); rates JS %.0f/s, ours %.0f/s; raw OpenSSL "
                 "floor / JS = %.3f (the best ratio any verifier of these bytes can reach)",
                 1e9 / theirs, 1e9 / ours, floor_ns / theirs);
    } else {
        snprintf(ref, sizeof(ref), "%s: NOT RUN", peer);
        row *r = add_row(name, ours, "ns/op", ref, NAN, goal);
        snprintf(r->note, sizeof(r->note), "JS peer not measured: %s",
                 js->available ? "its figure is missing from the JS output" : js->why);
    }
}

static void print_breakdown(bench *b, double verify_ns, size_t iters)
{
    static const struct {
        const char *what;
        loop_fn fn;
    } steps[] = {
        {"parse Signature-Input + Signature (aw_sf_parse_dict x2)", loop_step_parse_sig_fields},
        {"covered identifiers serialised once (coverage check)", loop_step_coverage},
        {"aw_sigbase_build_opts (as aw_verify calls it)", loop_step_sigbase},
        {"aw_hmac_sha256_verify of the base", loop_step_hmac_verify},
        {"aw_content_digest_check (parse + SHA-256 of the body)", loop_step_digest_check},
        {"  of which aw_sha256 of the 1 KiB body", loop_step_sha256_body},
    };
    printf("\nwhere verify_hmac spends its time (each step alone through the public API, "
           "min of %d runs):\n",
           RUNS);
    double sum = 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        stats o, unused;
        measure_pair(b, steps[i].fn, NULL, iters, &o, &unused);
        if (steps[i].what[0] != ' ') {
            sum += o.min;
        }
        printf("  %-64s %9.1f ns  %5.1f%%\n", steps[i].what, o.min, 100.0 * o.min / verify_ns);
    }
    printf("  %-64s %9.1f ns  %5.1f%%\n", "sum of the steps", sum, 100.0 * sum / verify_ns);
    printf("  %-64s %9.1f ns\n", "whole aw_verify (verify_hmac above)", verify_ns);
}

static void print_load(const char *when)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[128] = "";
    if (f != NULL) {
        if (fgets(buf, sizeof(buf), f) == NULL) {
            buf[0] = '\0';
        }
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("load average %s: %s\n", when, buf[0] ? buf : "unknown");
}

/* ---- main ----------------------------------------------------------------------------- */

static const struct {
    const char *name;
    loop_fn fn;
} profiles[] = {
    {"verify_hmac", loop_verify_hmac},
    {"floor_hmac", loop_floor_hmac},
    {"parse_and_verify_hmac", loop_parse_and_verify_hmac},
    {"sign_hmac", loop_sign_hmac},
    {"verify_ed25519", loop_verify_ed25519},
    {"floor_ed25519", loop_floor_ed25519},
    {"nonce_cache_use", loop_nonce_cache_use},
    {"seq_window_accept", loop_seq_accept},
    {"step_parse_sig_fields", loop_step_parse_sig_fields},
    {"step_coverage", loop_step_coverage},
    {"step_sigbase", loop_step_sigbase},
    {"step_hmac_verify", loop_step_hmac_verify},
    {"step_digest_check", loop_step_digest_check},
};

static void usage(void)
{
    fputs("usage: authwire-bench [--out FILE] [--js FILE | --js-unavailable REASON] [--quick]\n"
          "       authwire-bench --profile ROW [--iters N]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = "bench-results.json";
    const char *profile = NULL;
    size_t profile_iters = 100000;
    bool quick = false;
    js_numbers js = {.hms_hmac = NAN, .hms_ed25519 = NAN, .hawk = NAN};
    snprintf(js.why, sizeof(js.why), "not run (bench/run.sh runs it when node is present)");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--js") == 0 && i + 1 < argc) {
            load_js(&js, argv[++i]);
        } else if (strcmp(argv[i], "--js-unavailable") == 0 && i + 1 < argc) {
            snprintf(js.why, sizeof(js.why), "%s", argv[++i]);
        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            profile = argv[++i];
        } else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            profile_iters = (size_t)strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else {
            usage();
        }
    }

    static bench b;
    setup(&b);
    if (profile == NULL || strcmp(profile, "nonce_cache_use") == 0 ||
        strcmp(profile, "seq_window_accept") == 0) {
        setup_freshness(&b); /* 42 MB to fill: only when it is measured */
    }
    unsigned int dl = 0;
    if (EVP_Digest(b.body, BODY_LEN, b.body_digest, &dl, b.md, NULL) != 1) {
        die("EVP_Digest failed", NULL);
    }

    /* Sanity: the loops measure the real, successful path, and failures are caught. */
    verify_with(&b, &b.hm, &b.key_hmac, AW_OK);
    verify_with(&b, &b.ed, &b.key_ed_verify, AW_OK);
    loop_floor_hmac(&b, 1);
    loop_floor_ed25519(&b, 1);
    loop_parse_and_verify_hmac(&b, 1);
    b.hm.msg.target = cspan("/api/transfer?to=eve&amount=10");
    verify_with(&b, &b.hm, &b.key_hmac, AW_E_SIGNATURE_INVALID);
    b.hm.msg.target = cspan("/api/transfer?to=bob&amount=10");
    b.body[100] ^= 1;
    verify_with(&b, &b.hm, &b.key_hmac, AW_E_DIGEST_MISMATCH);
    b.body[100] ^= 1;

    if (profile != NULL) {
        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
            if (strcmp(profile, profiles[i].name) == 0) {
                double ns = time_loop(profiles[i].fn, &b, profile_iters);
                printf("%s: %zu iterations, %.1f ns/op\n", profile, profile_iters, ns);
                return 0;
            }
        }
        die("unknown --profile row", profile);
    }

    size_t scale = quick ? 10 : 1;
    printf("authwire-bench: %s; %d runs per figure, value = minimum ns/op over the runs"
           " (median in parentheses)\n",
           OpenSSL_version(OPENSSL_VERSION), RUNS);
    printf("typical request: POST /api/transfer?to=bob&amount=10, %zu headers, %d-byte JSON body;"
           " signature base %zu bytes (HMAC), %zu bytes (Ed25519); raw request %zu bytes\n",
           b.hm.msg.n_headers, BODY_LEN, b.hm.base_len, b.ed.base_len, b.hm.raw_len);
    print_load("at start");

    stats o, r;
    row *x;
    const char *floor_ref = "OpenSSL SHA-256(body) + HMAC-SHA-256(base) + memcmp";

    measure_pair(&b, loop_verify_hmac, loop_floor_hmac, 20000 / scale, &o, &r);
    double verify_hmac_ns = o.min;
    double verify_hmac_median = o.median;
    double floor_hmac_median = r.median;
    x = add_row("verify_hmac", o.min, "ns/op", floor_ref, r.min, 1.5);
    x->value_median = o.median;
    x->ref_median = r.median;

    measure_pair(&b, loop_parse_and_verify_hmac, loop_floor_hmac, 20000 / scale, &o, &r);
    x = add_row("parse_and_verify_hmac", o.min, "ns/op", floor_ref, r.min, NAN);
    x->value_median = o.median;
    snprintf(x->note, sizeof(x->note), "aw_http_parse of the %zu-byte raw request + aw_verify",
             b.hm.raw_len);

    measure_pair(&b, loop_sign_hmac, loop_floor_hmac, 20000 / scale, &o, &r);
    x = add_row("sign_hmac", o.min, "ns/op", floor_ref, r.min, NAN);
    x->value_median = o.median;
    snprintf(x->note, sizeof(x->note), "aw_content_digest + aw_sign (Signature-Input, Signature)");

    measure_pair(&b, loop_verify_ed25519, loop_floor_ed25519, 2000 / scale, &o, &r);
    double verify_ed_median = o.median;
    double floor_ed_median = r.median;
    x = add_row("verify_ed25519", o.min, "ns/op",
                "OpenSSL SHA-256(body) + EVP_DigestVerify Ed25519(base)", r.min, NAN);
    x->value_median = o.median;

    /* Fill the cache to its steady state (each nonce lives NONCE_LIFE + 1 virtual seconds). */
    loop_nonce_cache_use(&b, (size_t)(NONCE_LIFE + 2) * NONCE_RATE);
    measure_pair(&b, loop_nonce_cache_use, loop_floor_fingerprint, 1000000 / scale, &o, &r);
    x = add_row("nonce_cache_use", o.min, "ns/op",
                "OpenSSL SHA-256 of the fingerprint input (no table)", r.min, NAN);
    x->value_median = o.median;
    snprintf(x->note, sizeof(x->note),
             "capacity %u, %zu live nonces (steady state, %u uses per virtual second, "
             "lifetime %d s)",
             NONCE_CAP, b.cache.live, NONCE_RATE, NONCE_LIFE);
    x = add_row("nonce_cache_bytes_per_entry", aw_nonce_cache_bytes_per_nonce(NONCE_CAP),
                "bytes/entry", "DESIGN.md bar: 64 bytes per live nonce", 64.0, 1.0);
    snprintf(x->note, sizeof(x->note), "aw_nonce_cache_bytes(%u) = %zu bytes", NONCE_CAP,
             aw_nonce_cache_bytes(NONCE_CAP));

    measure_pair(&b, loop_seq_accept, NULL, 10000000 / scale, &o, &r);
    x = add_row("seq_window_accept", o.min, "ns/op", "none", NAN, NAN);
    x->value_median = o.median;
    snprintf(x->note, sizeof(x->note),
             "increasing in blocks of 64 with local swaps; every number accepted once");
    x = add_row("seq_window_bytes_per_key", (double)sizeof(aw_seq_window), "bytes/key", "none", NAN,
                NAN);
    snprintf(x->note, sizeof(x->note), "one aw_seq_window (8192-bit window + high-water mark)");

    /* bench-js.js reports the median of its batches, so these rows take our median too. */
    add_js_row("verify_hmac_vs_js_hms", verify_hmac_median, floor_hmac_median, &js, js.hms_hmac,
               "http-message-signatures hmac-sha256 verify", 0.05);
    add_js_row("verify_ed25519_vs_js_hms", verify_ed_median, floor_ed_median, &js, js.hms_ed25519,
               "http-message-signatures ed25519 verify", NAN);
    add_js_row("verify_hmac_vs_js_hawk", verify_hmac_median, floor_hmac_median, &js, js.hawk,
               "hawk authenticate (HMAC-SHA-256)", 0.05);

    print_breakdown(&b, verify_hmac_ns, 20000 / scale);
    print_load("at end");
    int missed = print_table();
    if (!js.available) {
        printf("\nJS peers: NOT MEASURED (%s)\n", js.why);
    }
    if (write_json(out) != 0) {
        die("cannot write", out);
    }
    printf("\n%s goal(s) %s; results written to %s\n", missed ? "some" : "all",
           missed ? "MISSED or NOT MEASURED (see met? above)" : "met", out);

    EVP_MD_CTX_free(b.ed_ctx);
    EVP_PKEY_free(b.ed_pkey);
    EVP_MAC_CTX_free(b.mac_ctx);
    EVP_MAC_free(b.mac);
    EVP_MD_free(b.md);
    aw_hmac_key_free(b.hkey);
    aw_ed25519_free(b.ed_priv);
    aw_ed25519_free(b.ed_pub);
    free(b.cache_mem);
    free(b.arena_buf);
    return 0;
}
