/* Freshness guards on a virtual clock: the sequence window as a numbered table (in the style
 * of WireGuard's selftest/counter.c) plus a model test, the nonce cache against a reference
 * model, and challenges with a tampered twin for every byte. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "authwire/freshness.h"

#define W AW_SEQ_WINDOW_BITS

/* xorshift64*: a fixed-seed generator, so every run replays the same operations. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static uint64_t rng_below(uint64_t n)
{
    return rng_next() % n;
}

/* ---- sequence window: the numbered table ------------------------------------------- */

typedef enum seq_op {
    OP_INIT,   /* aw_seq_window_init(seq); expect is ignored */
    OP_ACCEPT, /* aw_seq_accept(seq) == expect */
    OP_CHECK,  /* aw_seq_check(seq) == expect, and the window is unchanged */
} seq_op;

typedef struct seq_row {
    seq_op op;
    uint64_t seq;
    aw_result expect;
} seq_row;

/* One row per line reads better than what clang-format makes of brace macros. */
/* clang-format off */
#define INIT(n) {OP_INIT, (n), AW_OK}
#define T(n, r) {OP_ACCEPT, (n), (r)}
#define C(n, r) {OP_CHECK, (n), (r)}
/* clang-format on */
#define OK     AW_OK
#define REPLAY AW_E_SEQ_REPLAY
#define OLD    AW_E_SEQ_TOO_OLD
#define MAX    UINT64_MAX

/* Edge semantics under test: with top the highest accepted number, top - 8191 is inside the
 * window (OK if unseen, REPLAY if seen) and top - 8192 is TOO_OLD, whatever the alignment. */
static const seq_row seq_table[] = {
    INIT(0),
    T(0, OLD),            /*  1: 0 is never valid */
    T(1, OK),             /*  2: first packet */
    T(1, REPLAY),         /*  3: duplicate */
    T(2, OK),             /*  4: in order */
    T(3, OK),             /*  5 */
    T(2, REPLAY),         /*  6 */
    T(10, OK),            /*  7: gap */
    T(7, OK),             /*  8: reordered inside the window */
    T(7, REPLAY),         /*  9 */
    T(5, OK),             /* 10 */
    C(4, OK),             /* 11: check does not mark */
    C(4, OK),             /* 12 */
    T(4, OK),             /* 13 */
    T(4, REPLAY),         /* 14 */
    T(8192, OK),          /* 15: top = 8192, window 1..8192 */
    C(1, REPLAY),         /* 16: top - 8191, seen */
    T(6, OK),             /* 17: unseen, deep in the window */
    T(8193, OK),          /* 18: window 2..8193, 1 slides out */
    T(1, OLD),            /* 19: top - 8192 */
    T(2, REPLAY),         /* 20: top - 8191, seen */
    T(9, OK),             /* 21 */
    T(16384, OK),         /* 22: jump by 8191, window 8193..16384 */
    T(8192, OLD),         /* 23: top - 8192 */
    T(8193, REPLAY),      /* 24: top - 8191, seen; its bit survived the jump */
    T(8194, OK),          /* 25: shares bit 2 with seq 2, cleared by the jump */
    T(16383, OK),         /* 26 */
    T(24576, OK),         /* 27: jump by exactly 8192 clears everything */
    T(16384, OLD),        /* 28 */
    T(16385, OK),         /* 29: top - 8191, unseen; shares a bit with 8193 */
    T(24575, OK),         /* 30 */
    T(24576, REPLAY),     /* 31 */
    T(44576, OK),         /* 32: far jump, more than 2 windows */
    T(24576, OLD),        /* 33: jump then old */
    T(36385, OK),         /* 34: top - 8191 */
    T(36384, OLD),        /* 35: top - 8192 */
    T(44575, OK),         /* 36 */
    T(44577, OK),         /* 37: top + 1 */
    T(44576, REPLAY),     /* 38 */
    T(49150, OK),         /* 39: bit 8190 */
    T(49155, OK),         /* 40: clearing wraps round the ring (bits 8191, 0..3) */
    C(49151, OK),         /* 41 */
    C(49152, OK),         /* 42 */
    C(49154, OK),         /* 43 */
    T(49150, REPLAY),     /* 44 */
    T(49155 - 8191, OK),  /* 45: top - 8191 = 40964 */
    T(49155 - 8192, OLD), /* 46 */
    T(49215, OK),         /* 47: bit 63 */
    T(49216, OK),         /* 48: bit 64, next word */
    T(49215, REPLAY),     /* 49 */
    T(49216 + 8191, OK),  /* 50: jump by 8191 ending on a word boundary - 1 */
    T(49216, REPLAY),     /* 51: top - 8191, seen */
    T(49215, OLD),        /* 52: top - 8192 */
    T(49217, OK),         /* 53: top - 8190, unseen */
    INIT(0),              /*     fresh key, first number far away */
    T(8192, OK),          /* 55: top = 8192 */
    T(1, OK),             /* 56: top - 8191 */
    T(1, REPLAY),         /* 57 */
    INIT(0),
    T(8193, OK), /* 59 */
    T(1, OLD),   /* 60: top - 8192 */
    T(2, OK),    /* 61: top - 8191 */
    INIT(0),
    T(MAX, OK),                 /* 63: jump straight to the last number */
    T(MAX, REPLAY),             /* 64 */
    T(1, OLD),                  /* 65 */
    T(MAX - 8191, OK),          /* 66: top - 8191 */
    T(MAX - 8192, OLD),         /* 67: top - 8192 */
    T(MAX - 1, OK),             /* 68 */
    T(0, OLD),                  /* 69 */
    INIT(MAX - 10),             /*     restore near the end */
    T(MAX - 10, REPLAY),        /* 71: the high-water mark itself */
    T(MAX - 10 - 8191, REPLAY), /* 72: restored, inside the window */
    T(MAX - 10 - 8192, OLD),    /* 73 */
    T(MAX - 5, OK),             /* 74 */
    T(MAX - 7, OK),             /* 75: above the mark, reordered */
    T(MAX - 11, REPLAY),        /* 76: below the mark stays refused after the slide */
    T(MAX, OK),                 /* 77: the last number, no overflow */
    T(MAX, REPLAY),             /* 78 */
    T(MAX - 1, OK),             /* 79 */
    T(MAX - 8191, REPLAY),      /* 80: restored (below MAX - 10), top - 8191 */
    T(MAX - 8192, OLD),         /* 81 */
    T(0, OLD),                  /* 82 */
    INIT(1000),                 /*     restore with a mark inside the first window */
    T(1000, REPLAY),            /* 84 */
    T(1, REPLAY),               /* 85 */
    T(0, OLD),                  /* 86 */
    T(999, REPLAY),             /* 87 */
    T(1001, OK),                /* 88 */
    T(1001, REPLAY),            /* 89 */
    T(1003, OK),                /* 90 */
    T(1002, OK),                /* 91 */
    INIT(100000),               /*     restore far from 0 */
    T(100000 - 8191, REPLAY),   /* 93 */
    T(100000 - 8192, OLD),      /* 94 */
    T(100001, OK),              /* 95 */
    T(100000 + 8192, OK),       /* 96: top = 108192 */
    T(100001, REPLAY),          /* 97: top - 8191, seen */
    T(100000, OLD),             /* 98: top - 8192 */
    T(100002, OK),              /* 99: restored bits were cleared by the slide */
    T(108191, OK),              /* 100 */
    INIT(0),
    T(64, OK),               /* 102: exactly at a word boundary */
    T(63, OK),               /* 103 */
    T(65, OK),               /* 104 */
    T(64 + 8191, OK),        /* 105 */
    T(64, REPLAY),           /* 106: top - 8191 */
    T(63, OLD),              /* 107: top - 8192 */
    T(65, REPLAY),           /* 108 */
    T(64 + 8192 + 8192, OK), /* 109: jump by 8193 from 8255 clears everything */
    T(64 + 8192, OLD),       /* 110: top - 8192 */
    T(64 + 8193, OK),        /* 111: top - 8191, unseen */
    T(64 + 8193, REPLAY),    /* 112 */
    C(0, OLD),               /* 113 */
    C(64 + 8192 + 8193, OK), /* 114: top + 1 */
};

static void test_seq_table(void)
{
    aw_seq_window w;
    aw_seq_window_init(&w, 0);
    size_t n = sizeof(seq_table) / sizeof(seq_table[0]);
    for (size_t i = 0; i < n; i++) {
        const seq_row *row = &seq_table[i];
        aw_result got = AW_OK;
        switch (row->op) {
        case OP_INIT:
            aw_seq_window_init(&w, row->seq);
            continue;
        case OP_ACCEPT:
            got = aw_seq_accept(&w, row->seq);
            break;
        case OP_CHECK: {
            aw_seq_window before = w;
            got = aw_seq_check(&w, row->seq);
            CHECK_MSG(memcmp(&before, &w, sizeof(w)) == 0, "seq row %zu: check changed state", i);
            break;
        }
        default:
            /* A row with an unknown op is a bug in the table itself. */
            CHECK_MSG(0, "seq row %zu: unknown op", i);
            continue;
        }
        CHECK_MSG(got == row->expect, "seq row %zu (seq %llu): got %s, expected %s", i,
                  (unsigned long long)row->seq, aw_result_name(got), aw_result_name(row->expect));
    }
}

/* A zero-filled window is a fresh one; check never mutates; rejected accepts do not either. */
static void test_seq_misc(void)
{
    aw_seq_window zero;
    memset(&zero, 0, sizeof(zero));
    aw_seq_window fresh;
    aw_seq_window_init(&fresh, 0);
    CHECK(memcmp(&zero, &fresh, sizeof(zero)) == 0);

    aw_seq_window w;
    aw_seq_window_init(&w, 0);
    CHECK_OK(aw_seq_accept(&w, 20000));
    CHECK_OK(aw_seq_accept(&w, 19000));
    aw_seq_window before = w;
    for (int i = 0; i < 1000; i++) {
        uint64_t seq = rng_below(2) ? rng_next() : 20000 - rng_below(9000) + rng_below(100);
        aw_result r = aw_seq_check(&w, seq);
        CHECK(r == AW_OK || r == AW_E_SEQ_REPLAY || r == AW_E_SEQ_TOO_OLD);
    }
    CHECK(memcmp(&before, &w, sizeof(w)) == 0);
    CHECK_RESULT(aw_seq_accept(&w, 19000), AW_E_SEQ_REPLAY);
    CHECK_RESULT(aw_seq_accept(&w, 20000 - W), AW_E_SEQ_TOO_OLD);
    CHECK_RESULT(aw_seq_accept(&w, 0), AW_E_SEQ_TOO_OLD);
    CHECK(memcmp(&before, &w, sizeof(w)) == 0);
    CHECK_RESULT(aw_seq_check(NULL, 1), AW_E_INVALID_ARG);
}

/* The window against a naive model: the set of every accepted number (a chained hash set,
 * so the model has no window logic at all), the top and the restored high-water mark. */
#define SEQ_MODEL_MAX     100000
#define SEQ_MODEL_BUCKETS 65536

static uint64_t seq_model_value[SEQ_MODEL_MAX];
static uint32_t seq_model_next[SEQ_MODEL_MAX];
static uint32_t seq_model_head[SEQ_MODEL_BUCKETS]; /* index + 1, 0 for none */
static uint32_t seq_model_len;

static size_t seq_model_bucket(uint64_t seq)
{
    return (size_t)((seq * 0x9e3779b97f4a7c15u) >> 48);
}

static void seq_model_reset(void)
{
    memset(seq_model_head, 0, sizeof(seq_model_head));
    seq_model_len = 0;
}

static bool seq_model_has(uint64_t seq)
{
    for (uint32_t i = seq_model_head[seq_model_bucket(seq)]; i != 0; i = seq_model_next[i - 1]) {
        if (seq_model_value[i - 1] == seq) {
            return true;
        }
    }
    return false;
}

static void seq_model_add(uint64_t seq)
{
    size_t b = seq_model_bucket(seq);
    seq_model_value[seq_model_len] = seq;
    seq_model_next[seq_model_len] = seq_model_head[b];
    seq_model_head[b] = ++seq_model_len;
}

static aw_result seq_model_check(uint64_t top, uint64_t floor, uint64_t seq)
{
    if (seq == 0) {
        return AW_E_SEQ_TOO_OLD;
    }
    if (seq > top) {
        return AW_OK;
    }
    if (top - seq >= W) {
        return AW_E_SEQ_TOO_OLD;
    }
    if (seq <= floor || seq_model_has(seq)) {
        return AW_E_SEQ_REPLAY;
    }
    return AW_OK;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return UINT64_MAX - a > b ? a + b : UINT64_MAX;
}

static void test_seq_model(void)
{
    aw_seq_window w;
    uint64_t top = 0;
    uint64_t floor = 0;
    aw_seq_window_init(&w, 0);
    seq_model_reset();
    unsigned long counts[3] = {0, 0, 0};
    for (int i = 0; i < 100000; i++) {
        uint64_t r = rng_below(1000);
        uint64_t seq;
        if (r == 0 || seq_model_len == SEQ_MODEL_MAX) {
            /* Restore from a high-water mark, sometimes right at the end of the range. */
            floor = top = rng_below(4) == 0 ? UINT64_MAX - rng_below(20000) : rng_below(50000);
            aw_seq_window_init(&w, top);
            seq_model_reset();
            continue;
        }
        if (r < 600) {
            seq = sub_sat(top, rng_below(W + 200)); /* mostly inside, sometimes just left */
        } else if (r < 900) {
            seq = add_sat(top, rng_below(50));
        } else if (r < 990) {
            seq = add_sat(top, rng_below(3 * W));
        } else {
            seq = rng_next();
        }
        aw_result want = seq_model_check(top, floor, seq);
        CHECK_MSG(aw_seq_check(&w, seq) == want, "seq model op %d: check %llu", i,
                  (unsigned long long)seq);
        aw_result got = aw_seq_accept(&w, seq);
        CHECK_MSG(got == want, "seq model op %d: accept %llu top %llu got %s want %s", i,
                  (unsigned long long)seq, (unsigned long long)top, aw_result_name(got),
                  aw_result_name(want));
        if (want == AW_OK) {
            seq_model_add(seq);
            if (seq > top) {
                top = seq;
            }
            counts[0]++;
        } else {
            counts[want == AW_E_SEQ_REPLAY ? 1 : 2]++;
        }
        CHECK_MSG(w.top == top, "seq model op %d: top %llu, model %llu", i,
                  (unsigned long long)w.top, (unsigned long long)top);
    }
    CHECK_MSG(counts[0] > 1000 && counts[1] > 1000 && counts[2] > 1000,
              "seq model: ok %lu replay %lu old %lu", counts[0], counts[1], counts[2]);
}

/* ---- nonce cache ------------------------------------------------------------------- */

static const uint8_t salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void *cache_mem(size_t capacity, size_t *len)
{
    *len = aw_nonce_cache_bytes(capacity);
    void *mem = malloc(*len);
    if (mem == NULL) {
        fprintf(stderr, "FATAL: out of memory\n");
        exit(1);
    }
    return mem;
}

static aw_span span_of(const char *s)
{
    return aw_span_cstr(s);
}

static void test_cache_sizes(void)
{
    CHECK(aw_nonce_cache_bytes(0) == 0);
    CHECK(aw_nonce_cache_bytes(((size_t)1 << 30) + 1) == 0);
    CHECK(aw_nonce_cache_bytes(1) == 52);
    CHECK(aw_nonce_cache_bytes(2) == 104);
    CHECK(aw_nonce_cache_bytes(1000) == 42 * 1000 + 20);
    CHECK(aw_nonce_cache_bytes(1001) == 42 * 1001 + 10);
    CHECK(aw_nonce_cache_bytes_per_nonce(0) == 0.0);
    for (size_t cap = 1; cap < 5000; cap += cap < 100 ? 1 : 97) {
        double per = aw_nonce_cache_bytes_per_nonce(cap);
        CHECK_MSG(per > 42.0 && per <= 52.0, "capacity %zu: %f bytes per nonce", cap, per);
    }
    CHECK(aw_nonce_cache_bytes_per_nonce((size_t)1 << 20) < 42.001);

    aw_nonce_cache c;
    size_t len = 0;
    uint64_t *mem = cache_mem(16, &len);
    /* malloc memory is at least 8-byte aligned; +4 is not. */
    CHECK_RESULT(aw_nonce_cache_init(&c, (uint8_t *)mem + 4, len - 4, 16, 60, salt),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len - 1, 16, 60, salt), AW_E_BUFFER_TOO_SMALL);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len, 17, 60, salt), AW_E_BUFFER_TOO_SMALL);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len, 0, 60, salt), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len, ((size_t)1 << 30) + 1, 60, salt),
                 AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len, 16, 0, salt), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len, 16, -5, salt), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(&c, NULL, len, 16, 60, salt), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(&c, mem, len, 16, 60, NULL), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_init(NULL, mem, len, 16, 60, salt), AW_E_INVALID_ARG);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, 16, 60, salt));
    free(mem);
}

static void test_cache_basics(void)
{
    aw_nonce_cache c;
    size_t len = 0;
    void *mem = cache_mem(8, &len);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, 8, 60, salt));
    aw_span alice = span_of("alice");
    aw_span bob = span_of("bob");
    aw_span n1 = span_of("nonce-1-aaaaaaaaaaaaaaaa");
    aw_span n2 = span_of("nonce-2-aaaaaaaaaaaaaaaa");
    int64_t t = 1000;

    CHECK_OK(aw_nonce_cache_check(&c, alice, n1, t));
    CHECK_OK(aw_nonce_cache_use(&c, alice, n1, t));
    CHECK_RESULT(aw_nonce_cache_check(&c, alice, n1, t), AW_E_REPLAY);
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, n1, t), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_check(&c, bob, n1, t)); /* same nonce, other key */
    CHECK_OK(aw_nonce_cache_use(&c, bob, n1, t));
    CHECK_OK(aw_nonce_cache_use(&c, alice, n2, t));
    CHECK(c.live == 3);

    /* Length prefix: ("ab", "c...") and ("a", "bc...") are different entries. */
    CHECK_OK(aw_nonce_cache_use(&c, span_of("ab"), span_of("cdefghijklmnopqrstu"), t));
    CHECK_OK(aw_nonce_cache_use(&c, span_of("a"), span_of("bcdefghijklmnopqrstu"), t));
    CHECK_OK(aw_nonce_cache_use(&c, span_of(""), span_of("abcdefghijklmnopqrstu"), t));
    CHECK_RESULT(aw_nonce_cache_use(&c, span_of(""), span_of("abcdefghijklmnopqrstu"), t),
                 AW_E_REPLAY);

    /* check() never mutates, whatever it is asked. */
    aw_nonce_cache before = c;
    uint8_t *copy = malloc(len);
    CHECK(copy != NULL);
    if (copy != NULL) {
        memcpy(copy, mem, len);
        CHECK_RESULT(aw_nonce_cache_check(&c, alice, n1, t + 5000), AW_OK);
        CHECK_RESULT(aw_nonce_cache_check(&c, alice, n1, t + 60), AW_E_REPLAY);
        CHECK_RESULT(aw_nonce_cache_check(&c, span_of("zed"), n1, t), AW_OK);
        CHECK_RESULT(aw_nonce_cache_check(&c, alice, span_of(""), t), AW_E_NONCE_INVALID);
        CHECK(memcmp(&before, &c, sizeof(c)) == 0);
        CHECK(memcmp(copy, mem, len) == 0);
        free(copy);
    }

    /* Lifetime is inclusive: remembered through t + 60, free at t + 61. */
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, n1, t + 59), AW_E_REPLAY);
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, n1, t + 60), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_check(&c, alice, n1, t + 61));
    CHECK_OK(aw_nonce_cache_use(&c, alice, n1, t + 61));
    CHECK(c.live == 1); /* everything from t was reclaimed; only the renewed entry remains */
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, n1, t + 121), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_use(&c, alice, n1, t + 122));

    /* Invalid inputs change nothing. */
    before = c;
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, span_of(""), t), AW_E_NONCE_INVALID);
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, (aw_span){NULL, 0}, t), AW_E_NONCE_INVALID);
    uint8_t big[AW_NONCE_CACHE_NONCE_MAX + 1];
    memset(big, 'x', sizeof(big));
    CHECK_RESULT(aw_nonce_cache_use(&c, alice, (aw_span){big, sizeof(big)}, t), AW_E_NONCE_INVALID);
    CHECK_OK(aw_nonce_cache_check(&c, alice, (aw_span){big, sizeof(big) - 1}, t));
    CHECK_RESULT(aw_nonce_cache_use(&c, (aw_span){big, sizeof(big)}, n1, t), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_check(&c, (aw_span){NULL, 3}, n1, t), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_nonce_cache_use(NULL, alice, n1, t), AW_E_INVALID_ARG);
    CHECK(memcmp(&before, &c, sizeof(c)) == 0);

    /* Times near the ends of int64 neither wrap nor crash. */
    CHECK_OK(aw_nonce_cache_use(&c, bob, n2, INT64_MAX - 10));
    CHECK_RESULT(aw_nonce_cache_use(&c, bob, n2, INT64_MAX), AW_E_REPLAY);
    free(mem);

    mem = cache_mem(4, &len);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, 4, 60, salt));
    CHECK_OK(aw_nonce_cache_use(&c, bob, n2, INT64_MIN));
    CHECK_RESULT(aw_nonce_cache_use(&c, bob, n2, INT64_MIN + 60), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_use(&c, bob, n2, INT64_MIN + 61));
    free(mem);
}

static void nonce_name(char *buf, size_t cap, unsigned i)
{
    snprintf(buf, cap, "nonce-%08u-0123456789", i);
}

static void test_cache_full(void)
{
    enum { CAP = 100 };
    aw_nonce_cache c;
    size_t len = 0;
    void *mem = cache_mem(CAP, &len);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, CAP, 30, salt));
    aw_span key = span_of("carol");
    char name[64];
    /* One use per second: entry i expires after 1000 + i + 30. */
    for (unsigned i = 0; i < CAP; i++) {
        nonce_name(name, sizeof(name), i);
        CHECK_OK(aw_nonce_cache_use(&c, key, span_of(name), 1000 + (int64_t)(i / 4)));
    }
    CHECK(c.live == CAP);
    int64_t last = 1000 + (CAP - 1) / 4;
    nonce_name(name, sizeof(name), CAP);
    /* Full and every entry live: refuse, and stay refusing until the oldest expires. */
    CHECK_RESULT(aw_nonce_cache_use(&c, key, span_of(name), last), AW_E_BUSY);
    CHECK_RESULT(aw_nonce_cache_use(&c, key, span_of(name), 1030), AW_E_BUSY);
    CHECK_OK(aw_nonce_cache_check(&c, key, span_of(name), 1030)); /* unseen, just no room */
    nonce_name(name, sizeof(name), 0);
    CHECK_RESULT(aw_nonce_cache_use(&c, key, span_of(name), 1030), AW_E_REPLAY);
    /* At 1031 the four entries of second 1000 expired: exactly four new ones fit. */
    for (unsigned i = CAP; i < CAP + 4; i++) {
        nonce_name(name, sizeof(name), i);
        CHECK_OK(aw_nonce_cache_use(&c, key, span_of(name), 1031));
    }
    nonce_name(name, sizeof(name), CAP + 4);
    CHECK_RESULT(aw_nonce_cache_use(&c, key, span_of(name), 1031), AW_E_BUSY);
    /* The entries that were not evicted are all still remembered. */
    for (unsigned i = 4; i < CAP + 4; i++) {
        nonce_name(name, sizeof(name), i);
        CHECK_RESULT(aw_nonce_cache_check(&c, key, span_of(name), 1031), AW_E_REPLAY);
    }
    nonce_name(name, sizeof(name), 0);
    CHECK_OK(aw_nonce_cache_check(&c, key, span_of(name), 1031));
    /* Long after everything expired the whole cache is reclaimed at once. */
    nonce_name(name, sizeof(name), 5000);
    CHECK_OK(aw_nonce_cache_use(&c, key, span_of(name), 5000));
    CHECK(c.live == 1);
    free(mem);
}

static void test_cache_capacity_one(void)
{
    aw_nonce_cache c;
    size_t len = 0;
    void *mem = cache_mem(1, &len);
    CHECK(len == 52);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, 1, 10, salt));
    aw_span k = span_of("k");
    aw_span a = span_of("aaaaaaaaaaaaaaaaaaaa");
    aw_span b = span_of("bbbbbbbbbbbbbbbbbbbb");
    CHECK_OK(aw_nonce_cache_use(&c, k, a, 0));
    CHECK_RESULT(aw_nonce_cache_use(&c, k, a, 5), AW_E_REPLAY);
    CHECK_RESULT(aw_nonce_cache_use(&c, k, b, 10), AW_E_BUSY);
    CHECK_OK(aw_nonce_cache_use(&c, k, b, 11));
    CHECK_OK(aw_nonce_cache_check(&c, k, a, 11));
    CHECK_RESULT(aw_nonce_cache_use(&c, k, a, 11), AW_E_BUSY);
    CHECK_RESULT(aw_nonce_cache_use(&c, k, b, 21), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_use(&c, k, a, 22));
    CHECK_RESULT(aw_nonce_cache_check(&c, k, a, 22), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_check(&c, k, b, 22));
    free(mem);
}

static void test_cache_clock_back(void)
{
    aw_nonce_cache c;
    size_t len = 0;
    void *mem = cache_mem(2, &len);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, 2, 60, salt));
    aw_span k = span_of("dave");
    aw_span a = span_of("aaaaaaaaaaaaaaaaaaaa");
    aw_span b = span_of("bbbbbbbbbbbbbbbbbbbb");
    aw_span x = span_of("xxxxxxxxxxxxxxxxxxxx");
    CHECK_OK(aw_nonce_cache_use(&c, k, a, 1000)); /* remembered through 1060 */
    CHECK_OK(aw_nonce_cache_use(&c, k, b, 500));  /* the clock stepped back: through 560 */
    CHECK_RESULT(aw_nonce_cache_use(&c, k, a, 500), AW_E_REPLAY);
    CHECK_RESULT(aw_nonce_cache_use(&c, k, a, 0), AW_E_REPLAY);
    /* At 600 b expired, but a (live) is at the head: no eviction of a, fail closed. */
    CHECK_RESULT(aw_nonce_cache_use(&c, k, x, 600), AW_E_BUSY);
    CHECK_RESULT(aw_nonce_cache_check(&c, k, a, 600), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_check(&c, k, b, 600));
    /* b is expired but still stored: using it again renews it in place. */
    CHECK_OK(aw_nonce_cache_use(&c, k, b, 600));
    CHECK_RESULT(aw_nonce_cache_use(&c, k, b, 660), AW_E_REPLAY);
    CHECK(c.live == 2);
    /* Forward again past a's expiry: both reclaimed, x fits. */
    CHECK_RESULT(aw_nonce_cache_use(&c, k, a, 1060), AW_E_REPLAY);
    CHECK_OK(aw_nonce_cache_use(&c, k, x, 1061));
    CHECK(c.live == 1);
    free(mem);
}

/* Reference model: every key of a small universe with the expiry of its last use, or absent.
 * It holds unboundedly many keys; the cache must give the same answers. forgettable marks
 * keys that were already expired at some aw_nonce_cache_use: the cache may have reclaimed
 * them, which only matters once the clock steps back and makes them look live again. */
enum { MODEL_KEYIDS = 3, MODEL_NONCES = 60, MODEL_KEYS = MODEL_KEYIDS * MODEL_NONCES };

typedef struct model {
    bool present[MODEL_KEYS];
    bool forgettable[MODEL_KEYS];
    int64_t expiry[MODEL_KEYS];
} model;

static size_t model_live(const model *m, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < MODEL_KEYS; i++) {
        n += m->present[i] && m->expiry[i] >= now;
    }
    return n;
}

static void model_mark_expired(model *m, int64_t now)
{
    for (size_t i = 0; i < MODEL_KEYS; i++) {
        if (m->present[i] && m->expiry[i] < now) {
            m->forgettable[i] = true;
        }
    }
}

static void model_key(size_t key, char keyid[32], char nonce[48])
{
    snprintf(keyid, 32, "user%u", (unsigned)(key / MODEL_NONCES) % 1000u);
    snprintf(nonce, 48, "n%u-abcdefghijklmnop", (unsigned)(key % MODEL_NONCES) % 1000u);
}

/* monotonic: time only moves forward and every answer must agree exactly. Otherwise the
 * clock also steps back, and the properties are the safety ones: a nonce the cache cannot
 * have reclaimed is always a replay, a replay is never invented, and AW_E_BUSY only comes
 * with every slot taken. */
static void run_cache_model(bool monotonic, size_t capacity, int64_t lifetime, int ops)
{
    aw_nonce_cache c;
    size_t len = 0;
    void *mem = cache_mem(capacity, &len);
    CHECK_OK(aw_nonce_cache_init(&c, mem, len, capacity, lifetime, salt));
    model *m = calloc(1, sizeof(*m));
    CHECK(m != NULL);
    if (m == NULL) {
        free(mem);
        return;
    }
    int64_t now = 1700000000;
    unsigned long outcomes[4] = {0, 0, 0, 0}; /* ok, replay, busy, steps back */
    char keyid[32];
    char nonce[48];
    for (int i = 0; i < ops; i++) {
        uint64_t r = rng_below(64);
        if (r < 6) {
            now += (int64_t)rng_below(4);
        } else if (!monotonic && r == 6 && rng_below(16) == 0) {
            now -= (int64_t)rng_below(2 * (uint64_t)lifetime);
            outcomes[3]++;
        }
        size_t key = (size_t)rng_below(MODEL_KEYS);
        model_key(key, keyid, nonce);
        aw_span sk = span_of(keyid);
        aw_span sn = span_of(nonce);
        bool seen = m->present[key] && m->expiry[key] >= now;
        bool must = seen && !m->forgettable[key]; /* seen, and cannot have been reclaimed */

        aw_result got = aw_nonce_cache_check(&c, sk, sn, now);
        if (monotonic || must || !seen) {
            CHECK_MSG(got == (seen ? AW_E_REPLAY : AW_OK), "cache model op %d: check got %s", i,
                      aw_result_name(got));
        } else if (got == AW_OK) {
            m->present[key] = false; /* the cache reclaimed it: follow it */
            seen = false;
        }
        if (rng_below(4) == 0) {
            continue; /* check only */
        }
        got = aw_nonce_cache_use(&c, sk, sn, now);
        if (monotonic) {
            aw_result want =
                seen ? AW_E_REPLAY : (model_live(m, now) >= capacity ? AW_E_BUSY : AW_OK);
            CHECK_MSG(got == want, "cache model op %d (t=%lld key %zu): use got %s, want %s", i,
                      (long long)now, key, aw_result_name(got), aw_result_name(want));
        } else {
            CHECK_MSG(got == AW_OK || got == AW_E_REPLAY || got == AW_E_BUSY,
                      "cache model op %d: use got %s", i, aw_result_name(got));
            CHECK_MSG(!must || got == AW_E_REPLAY, "cache model op %d: live nonce forgotten", i);
            CHECK_MSG(seen || got != AW_E_REPLAY, "cache model op %d: replay invented", i);
            CHECK_MSG(got != AW_E_BUSY || c.live == capacity,
                      "cache model op %d: busy with %zu of %zu", i, c.live, capacity);
        }
        model_mark_expired(m, now);
        if (got == AW_OK) {
            m->present[key] = true;
            m->forgettable[key] = false;
            m->expiry[key] = now + lifetime;
        }
        outcomes[got == AW_OK ? 0 : got == AW_E_REPLAY ? 1 : 2]++;
        if (monotonic) {
            /* After a use, the cache holds exactly the live nonces. */
            CHECK_MSG(c.live == model_live(m, now), "cache model op %d: live %zu, model %zu", i,
                      c.live, model_live(m, now));
        }
    }
    CHECK_MSG(outcomes[0] > 10 && outcomes[1] > 10 && outcomes[2] > 10,
              "cache model: ok %lu replay %lu busy %lu", outcomes[0], outcomes[1], outcomes[2]);
    CHECK(monotonic || outcomes[3] > 10);
    free(m);
    free(mem);
}

static void test_cache_model(void)
{
    run_cache_model(true, 64, 40, 100000);
    run_cache_model(true, 1, 5, 20000);
    run_cache_model(true, 7, 20, 20000);
    run_cache_model(false, 64, 40, 100000);
}

/* ---- challenges -------------------------------------------------------------------- */

static aw_hmac_key *make_key(uint8_t fill)
{
    uint8_t raw[32];
    memset(raw, fill, sizeof(raw));
    aw_hmac_key *key = NULL;
    CHECK_OK(aw_hmac_key_new(raw, sizeof(raw), &key));
    return key;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Re-encodes raw bytes the way aw_challenge_issue does, for tampering and forging. */
static void encode_raw(const uint8_t raw[AW_CHALLENGE_RAW_LEN], char out[AW_CHALLENGE_TEXT_LEN + 1])
{
    aw_writer w;
    aw_writer_init(&w, (uint8_t *)out, AW_CHALLENGE_TEXT_LEN);
    aw_writer_base64url(&w, raw, AW_CHALLENGE_RAW_LEN);
    CHECK_OK(aw_writer_result(&w));
    out[AW_CHALLENGE_TEXT_LEN] = '\0';
}

static void decode_text(const char *text, uint8_t raw[AW_CHALLENGE_RAW_LEN])
{
    size_t n = 0;
    CHECK_OK(aw_base64_decode(span_of(text), AW_BASE64_URL, raw, AW_CHALLENGE_RAW_LEN, &n));
    CHECK(n == AW_CHALLENGE_RAW_LEN);
}

static void test_challenge(void)
{
    aw_hmac_key *key = make_key(0x42);
    aw_hmac_key *other = make_key(0x43);
    if (key == NULL || other == NULL) {
        aw_hmac_key_free(key);
        aw_hmac_key_free(other);
        return;
    }
    aw_nonce_cache used;
    size_t len = 0;
    void *mem = cache_mem(16, &len);
    CHECK_OK(aw_nonce_cache_init(&used, mem, len, 16, 300, salt));
    const int64_t max_age = 300;
    uint8_t rnd[16];
    memset(rnd, 0xa5, sizeof(rnd));
    char tok[AW_CHALLENGE_TEXT_LEN + 1];

    CHECK_OK(aw_challenge_issue(key, 1000, rnd, tok));
    CHECK(strlen(tok) == AW_CHALLENGE_TEXT_LEN);
    CHECK(strspn(tok, b64url) == AW_CHALLENGE_TEXT_LEN);
    uint8_t raw[AW_CHALLENGE_RAW_LEN];
    decode_text(tok, raw);
    CHECK(raw[0] == 0x01);
    CHECK(raw[1] == 0 && raw[7] == 0x03 && raw[8] == 0xe8); /* 1000 big endian */
    CHECK(memcmp(raw + 9, rnd, 16) == 0);
    uint8_t mac[AW_HMAC_SHA256_LEN];
    CHECK_OK(aw_hmac_sha256(key, raw, 25, mac));
    CHECK(memcmp(raw + 25, mac, 16) == 0);

    /* Tampered twins: every character of the text, every byte of the raw form. */
    char bad[AW_CHALLENGE_TEXT_LEN + 1];
    for (size_t i = 0; i < AW_CHALLENGE_TEXT_LEN; i++) {
        memcpy(bad, tok, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        CHECK_MSG(aw_challenge_redeem(key, span_of(bad), 1000, max_age, &used) ==
                      AW_E_CHALLENGE_INVALID,
                  "tampered char %zu accepted", i);
    }
    for (size_t i = 0; i < AW_CHALLENGE_RAW_LEN; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t t[AW_CHALLENGE_RAW_LEN];
            memcpy(t, raw, sizeof(t));
            t[i] ^= (uint8_t)(1u << bit);
            encode_raw(t, bad);
            CHECK_MSG(aw_challenge_redeem(key, span_of(bad), 1000, max_age, &used) ==
                          AW_E_CHALLENGE_INVALID,
                      "tampered byte %zu bit %u accepted", i, bit);
        }
    }
    CHECK(used.live == 0); /* forgeries never reached the cache */

    /* Wrong server key, malformed text, wrong lengths. */
    CHECK_RESULT(aw_challenge_redeem(other, span_of(tok), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    memcpy(bad, tok, sizeof(bad));
    bad[10] = '=';
    CHECK_RESULT(aw_challenge_redeem(key, span_of(bad), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    bad[10] = '+';
    CHECK_RESULT(aw_challenge_redeem(key, span_of(bad), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    bad[10] = '\0';
    CHECK_RESULT(
        aw_challenge_redeem(key, (aw_span){(const uint8_t *)bad, 55}, 1000, max_age, &used),
        AW_E_CHALLENGE_INVALID);
    CHECK_RESULT(
        aw_challenge_redeem(key, (aw_span){(const uint8_t *)tok, 54}, 1000, max_age, &used),
        AW_E_CHALLENGE_INVALID);
    char longer[64];
    snprintf(longer, sizeof(longer), "%sA", tok);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(longer), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(""), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    CHECK_RESULT(aw_challenge_redeem(key, (aw_span){NULL, 0}, 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    /* The last character carries 2 pad bits: a non-canonical spelling is refused. */
    memcpy(bad, tok, sizeof(bad));
    const char *pos = strchr(b64url, bad[54]);
    CHECK(pos != NULL);
    if (pos != NULL) {
        bad[54] = b64url[(size_t)(pos - b64url) ^ 1];
        CHECK_RESULT(aw_challenge_redeem(key, span_of(bad), 1000, max_age, &used),
                     AW_E_CHALLENGE_INVALID);
    }
    /* A correctly MAC'd body with another version byte. */
    uint8_t v2[AW_CHALLENGE_RAW_LEN];
    memcpy(v2, raw, sizeof(v2));
    v2[0] = 0x02;
    CHECK_OK(aw_hmac_sha256(key, v2, 25, mac));
    memcpy(v2 + 25, mac, 16);
    encode_raw(v2, bad);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(bad), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);

    /* Future-dated and expired tokens are refused and not burnt. */
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 999, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 1000 + max_age + 1, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    CHECK(used.live == 0);
    /* Misconfiguration: a cache that forgets sooner than max_age. */
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 1000, 301, &used), AW_E_INVALID_ARG);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 1000, -1, &used), AW_E_INVALID_ARG);

    /* Once, at the very edge of its age; never again, however the clock moves within it. */
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), 1000 + max_age, max_age, &used));
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 1000 + max_age, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 1000, max_age, &used),
                 AW_E_CHALLENGE_INVALID);

    /* A fresh one at its issue time (age 0), once. */
    rnd[0] ^= 1;
    CHECK_OK(aw_challenge_issue(key, 2000, rnd, tok));
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), 2000, max_age, &used));
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 2001, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    /* A user whose keyid is "challenge" cannot burn tokens through the shared cache. */
    rnd[0] ^= 2;
    CHECK_OK(aw_challenge_issue(key, 2000, rnd, tok));
    decode_text(tok, raw);
    CHECK_OK(aw_nonce_cache_use(&used, span_of("challenge"), (aw_span){raw, 25}, 2000));
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), 2000, max_age, &used));

    /* Negative and extreme issue times round-trip. */
    CHECK_OK(aw_challenge_issue(key, -5, rnd, tok));
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), 0, max_age, &used));
    CHECK_OK(aw_challenge_issue(key, INT64_MIN, rnd, tok));
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), INT64_MAX, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), INT64_MIN + max_age, max_age, &used));
    CHECK_OK(aw_challenge_issue(key, INT64_MAX, rnd, tok));
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), INT64_MAX, max_age, &used));
    CHECK_RESULT(aw_challenge_issue(NULL, 0, rnd, tok), AW_E_INVALID_ARG);
    free(mem);

    /* A full cache fails closed with AW_E_BUSY, and frees up once the first one expired. */
    mem = cache_mem(1, &len);
    CHECK_OK(aw_nonce_cache_init(&used, mem, len, 1, max_age, salt));
    CHECK_OK(aw_challenge_issue(key, 5000, rnd, tok));
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), 5000, max_age, &used));
    rnd[1] ^= 1;
    CHECK_OK(aw_challenge_issue(key, 5100, rnd, tok));
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 5101, max_age, &used), AW_E_BUSY);
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 5000 + max_age, max_age, &used), AW_E_BUSY);
    CHECK_OK(aw_challenge_redeem(key, span_of(tok), 5000 + max_age + 1, max_age, &used));
    CHECK_RESULT(aw_challenge_redeem(key, span_of(tok), 5000 + max_age + 1, max_age, &used),
                 AW_E_CHALLENGE_INVALID);
    free(mem);

    aw_hmac_key_free(key);
    aw_hmac_key_free(other);
}

int main(void)
{
    test_seq_table();
    test_seq_misc();
    test_seq_model();
    test_cache_sizes();
    test_cache_basics();
    test_cache_full();
    test_cache_capacity_one();
    test_cache_clock_back();
    test_cache_model();
    test_challenge();
    return aw_test_finish("test_freshness");
}
