/* Byte helpers: base64 (RFC 4648 Section 10 vectors, round trips at every length, strictness
 * flags, malformed input), hex, the sticky writer, the cursor and the arena. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authwire/bytes.h"
#include "check.h"

static void test_rfc4648_vectors(void)
{
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        uint8_t buf[64];
        aw_writer w;
        aw_writer_init(&w, buf, sizeof(buf));
        aw_writer_base64(&w, (const uint8_t *)plain[i], strlen(plain[i]));
        CHECK(w.len == strlen(std[i]) && memcmp(buf, std[i], w.len) == 0);
        CHECK(aw_base64_encoded_len(strlen(plain[i])) == strlen(std[i]));
        aw_writer_init(&w, buf, sizeof(buf));
        aw_writer_base64url(&w, (const uint8_t *)plain[i], strlen(plain[i]));
        CHECK(w.len == strlen(url[i]) && memcmp(buf, url[i], w.len) == 0);

        uint8_t out[64];
        size_t n = 99;
        CHECK_OK(aw_base64_decode(aw_span_cstr(std[i]), 0, out, sizeof(out), &n));
        CHECK(n == strlen(plain[i]) && memcmp(out, plain[i], n) == 0);
        CHECK_OK(aw_base64_decode(aw_span_cstr(url[i]), AW_BASE64_URL, out, sizeof(out), &n));
        CHECK(n == strlen(plain[i]) && memcmp(out, plain[i], n) == 0);
    }
}

static void test_round_trips(void)
{
    uint32_t x = 12345;
    for (size_t len = 0; len < 300; len++) {
        uint8_t data[300];
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            data[i] = (uint8_t)(x >> 16);
        }
        for (int url = 0; url < 2; url++) {
            uint8_t text[512];
            aw_writer w;
            aw_writer_init(&w, text, sizeof(text));
            if (url) {
                aw_writer_base64url(&w, data, len);
            } else {
                aw_writer_base64(&w, data, len);
            }
            uint8_t back[300];
            size_t n;
            CHECK_OK(aw_base64_decode((aw_span){text, w.len}, url ? AW_BASE64_URL : 0, back,
                                      sizeof(back), &n));
            CHECK_MSG(n == len && memcmp(back, data, len) == 0, "round trip len %zu url %d", len,
                      url);
            /* One byte too little room is refused, never overrun. */
            if (len > 0) {
                CHECK_RESULT(aw_base64_decode((aw_span){text, w.len}, url ? AW_BASE64_URL : 0, back,
                                              len - 1, &n),
                             AW_E_BUFFER_TOO_SMALL);
            }
        }
    }
}

static void test_malformed(void)
{
    uint8_t out[64];
    size_t n;
    static const char *bad[] = {
        "Z",     "Zg=",      "Zg===", "Z===",   "Zm9v!",
        "Zm 9v", "Zg==Zg==", "=",     "Zm9v\n", "Zh==" /* non-zero pad bits */,
        "Zg" /* no pad */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_MSG(aw_base64_decode(aw_span_cstr(bad[i]), 0, out, sizeof(out), &n) == AW_E_MALFORMED,
                  "'%s' accepted", bad[i]);
    }
    /* Malformed stays malformed even when the buffer would also be too small. */
    CHECK_RESULT(aw_base64_decode(AW_SPAN_LIT("!!!!!!!!"), 0, out, 1, &n), AW_E_MALFORMED);
    /* The leniency flags of RFC 8941 Section 4.2.7. */
    CHECK_OK(aw_base64_decode(AW_SPAN_LIT("Zh=="), AW_BASE64_ALLOW_NONZERO_BITS, out, 64, &n));
    CHECK(n == 1 && out[0] == 'f');
    CHECK_OK(aw_base64_decode(AW_SPAN_LIT("Zg"), AW_BASE64_ALLOW_NO_PADDING, out, 64, &n));
    CHECK(n == 1 && out[0] == 'f');
    /* The two alphabets do not mix; base64url has no padding. */
    CHECK_RESULT(aw_base64_decode(AW_SPAN_LIT("-_-_"), 0, out, 64, &n), AW_E_MALFORMED);
    CHECK_RESULT(aw_base64_decode(AW_SPAN_LIT("+/+/"), AW_BASE64_URL, out, 64, &n), AW_E_MALFORMED);
    CHECK_RESULT(aw_base64_decode(AW_SPAN_LIT("Zg=="), AW_BASE64_URL, out, 64, &n), AW_E_MALFORMED);
    for (int b = 0; b < 256; b++) {
        uint8_t text[4] = {'Z', 'm', '9', (uint8_t)b};
        bool valid = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
                     b == '+' || b == '/'; /* "Zm9=" has non-zero pad bits */
        aw_result r = aw_base64_decode((aw_span){text, 4}, 0, out, 64, &n);
        CHECK_MSG((r == AW_OK) == valid, "byte 0x%02x: %s", b, aw_result_name(r));
    }
}

static void test_hex_writer_cursor_arena(void)
{
    uint8_t out[8];
    size_t n;
    CHECK_OK(aw_hex_decode(AW_SPAN_LIT("00fFa5"), out, sizeof(out), &n));
    CHECK(n == 3 && out[0] == 0 && out[1] == 0xff && out[2] == 0xa5);
    CHECK_RESULT(aw_hex_decode(AW_SPAN_LIT("0"), out, sizeof(out), &n), AW_E_MALFORMED);
    CHECK_RESULT(aw_hex_decode(AW_SPAN_LIT("0g"), out, sizeof(out), &n), AW_E_MALFORMED);
    CHECK_RESULT(aw_hex_decode(AW_SPAN_LIT("000000000000000000"), out, sizeof(out), &n),
                 AW_E_BUFFER_TOO_SMALL);

    uint8_t buf[8];
    aw_writer w;
    aw_writer_init(&w, buf, sizeof(buf));
    aw_writer_cstr(&w, "12345");
    CHECK_OK(aw_writer_result(&w));
    aw_writer_cstr(&w, "6789"); /* overflows: dropped, and sticky */
    aw_writer_byte(&w, 'x');
    CHECK_RESULT(aw_writer_result(&w), AW_E_BUFFER_TOO_SMALL);
    CHECK(w.len == 5);

    char num[32];
    aw_writer_init(&w, (uint8_t *)num, sizeof(num) - 1);
    aw_writer_i64(&w, INT64_MIN);
    num[w.len] = 0;
    CHECK(strcmp(num, "-9223372036854775808") == 0);
    aw_writer_init(&w, (uint8_t *)num, sizeof(num) - 1);
    aw_writer_i64(&w, 0);
    aw_writer_i64(&w, INT64_MAX);
    num[w.len] = 0;
    CHECK(strcmp(num, "09223372036854775807") == 0);

    aw_cursor c;
    aw_cursor_init(&c, AW_SPAN_LIT("ab"));
    CHECK(aw_cursor_peek(&c) == 'a');
    CHECK(aw_cursor_eat(&c, 'a') && !aw_cursor_eat(&c, 'a'));
    CHECK(aw_cursor_next(&c) == 'b' && aw_cursor_next(&c) == -1 && aw_cursor_peek(&c) == -1);
    CHECK(aw_cursor_eof(&c) && aw_cursor_rest(&c).len == 0);

    _Alignas(16) uint8_t mem[64];
    aw_arena a;
    aw_arena_init(&a, mem, sizeof(mem));
    uint8_t *p1 = aw_arena_alloc(&a, 1, 1);
    uint64_t *p8 = aw_arena_alloc(&a, 8, 8);
    CHECK(p1 != NULL && p8 != NULL && ((uintptr_t)p8 % 8) == 0);
    CHECK(aw_arena_alloc(&a, 64, 1) == NULL); /* exhausted: NULL, not a partial block */
    CHECK(aw_arena_alloc(&a, 1, 3) == NULL);  /* alignment must be a power of two */
    CHECK(aw_arena_alloc(&a, SIZE_MAX, 1) == NULL);
    aw_span dup;
    CHECK_OK(aw_arena_dup(&a, AW_SPAN_LIT("hi"), &dup));
    CHECK(aw_span_eq(dup, AW_SPAN_LIT("hi")));
    CHECK_RESULT(aw_arena_dup(&a, (aw_span){mem, 60}, &dup), AW_E_BUFFER_TOO_SMALL);

    CHECK(aw_span_eq_nocase(AW_SPAN_LIT("Content-Type"), AW_SPAN_LIT("content-type")));
    CHECK(!aw_span_eq_nocase(AW_SPAN_LIT("content-typf"), AW_SPAN_LIT("content-type")));
    CHECK(aw_span_cstr(NULL).len == 0);
}

/* The one-pass decoder against a bad character at every position of every length, with a
 * buffer large enough and one too small (malformed must win). */
static void test_decode_every_position(void)
{
    static const uint8_t bad[] = {'!', '=', '-', 0x00, 0x80, 0xff};
    uint8_t data[48];
    uint8_t text[80];
    uint8_t out[64];
    for (size_t len = 1; len <= sizeof(data); len++) {
        for (size_t i = 0; i < len; i++) {
            data[i] = (uint8_t)(i * 37 + len);
        }
        aw_writer w;
        aw_writer_init(&w, text, sizeof(text));
        aw_writer_base64(&w, data, len);
        size_t n = 0;
        CHECK_OK(aw_base64_decode((aw_span){text, w.len}, 0, out, sizeof(out), &n));
        CHECK(n == len && memcmp(out, data, len) == 0);
        size_t unpadded = w.len;
        while (text[unpadded - 1] == '=') {
            unpadded--;
        }
        for (size_t pos = 0; pos < unpadded; pos++) {
            for (size_t k = 0; k < sizeof(bad); k++) {
                if (bad[k] == '=' && pos == unpadded - 1) {
                    continue; /* "xyz=" -> "xy==" may be a valid shorter text */
                }
                uint8_t saved = text[pos];
                text[pos] = bad[k];
                CHECK_RESULT(aw_base64_decode((aw_span){text, w.len}, 0, out, sizeof(out), &n),
                             AW_E_MALFORMED);
                CHECK_RESULT(aw_base64_decode((aw_span){text, w.len}, 0, out, len - 1, &n),
                             AW_E_MALFORMED);
                text[pos] = saved;
            }
        }
        CHECK_RESULT(aw_base64_decode((aw_span){text, w.len}, 0, out, len - 1, &n),
                     AW_E_BUFFER_TOO_SMALL);
    }
}

/* A byte-at-a-time reference decoder, written straight from RFC 4648 and the flags' header
 * comment, against which the table decoder is checked. */
static aw_result ref_base64_decode(const uint8_t *in, size_t in_len, unsigned flags, uint8_t *out,
                                   size_t out_cap, size_t *out_len)
{
    bool url = (flags & AW_BASE64_URL) != 0;
    const char *alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = in_len;
    size_t pad = 0;
    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if ((url && pad != 0) || len % 4 == 1) {
        return AW_E_MALFORMED;
    }
    if (pad != 0 && len % 4 + pad != 4) {
        return AW_E_MALFORMED;
    }
    if (pad == 0 && len % 4 != 0 && !url && (flags & AW_BASE64_ALLOW_NO_PADDING) == 0) {
        return AW_E_MALFORMED;
    }
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *hit = in[i] != 0 ? strchr(alphabet, in[i]) : NULL;
        if (hit == NULL) {
            return AW_E_MALFORMED;
        }
        acc = acc << 6 | (uint32_t)(hit - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= out_cap) {
                /* malformed still wins: check the rest of the characters first */
                for (size_t k = i + 1; k < len; k++) {
                    if (in[k] == 0 || strchr(alphabet, in[k]) == NULL) {
                        return AW_E_MALFORMED;
                    }
                }
                return AW_E_BUFFER_TOO_SMALL;
            }
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0 && (flags & AW_BASE64_ALLOW_NONZERO_BITS) == 0) {
        return AW_E_MALFORMED;
    }
    *out_len = o;
    return AW_OK;
}

/* The table decoder against the reference: every byte at every position of a quantum (which
 * checks each entry of the four tables against the alphabet strings), then random texts of
 * every length up to 70 drawn mostly from the alphabet, under every combination of flags and
 * with output buffers of every size around the need. Bytes past the decoded length must stay
 * untouched. */
static void test_decoder_against_reference(void)
{
    static const unsigned flag_sets[] = {0,
                                         AW_BASE64_ALLOW_NO_PADDING,
                                         AW_BASE64_ALLOW_NONZERO_BITS,
                                         AW_BASE64_ALLOW_NO_PADDING | AW_BASE64_ALLOW_NONZERO_BITS,
                                         AW_BASE64_URL,
                                         AW_BASE64_URL | AW_BASE64_ALLOW_NONZERO_BITS};
    uint8_t out[80];
    uint8_t ref[80];
    size_t n;
    size_t ref_n;
    for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
        for (size_t pos = 0; pos < 8; pos++) {
            for (int b = 0; b < 256; b++) {
                uint8_t text[8] = {'Q', 'U', 'J', 'D', 'R', 'E', 'V', 'G'};
                text[pos] = (uint8_t)b;
                aw_result want = ref_base64_decode(text, 8, flag_sets[f], ref, sizeof(ref), &ref_n);
                aw_result got =
                    aw_base64_decode((aw_span){text, 8}, flag_sets[f], out, sizeof(out), &n);
                CHECK_MSG(got == want && (got != AW_OK || (n == ref_n && memcmp(out, ref, n) == 0)),
                          "flags %u, byte 0x%02x at %zu: %s, want %s", flag_sets[f], b, pos,
                          aw_result_name(got), aw_result_name(want));
            }
        }
    }
    static const char pool[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=A!";
    uint32_t seed = 0x9e3779b9u;
    for (int round = 0; round < 4000; round++) {
        uint8_t text[70];
        seed = seed * 1664525u + 1013904223u;
        size_t len = (seed >> 8) % sizeof(text);
        int mode = (int)((seed >> 20) % 4); /* 0: any of pool, 1-3: valid alphabet only */
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1664525u + 1013904223u;
            size_t span = mode == 0 ? sizeof(pool) - 1 : 64;
            text[i] = (uint8_t)pool[(seed >> 16) % span];
        }
        if (mode == 3 && len >= 2) {
            text[len - 1] = '=';
            if (len % 4 == 2 || (seed & 1) != 0) {
                text[len - 2] = '=';
            }
        }
        for (size_t f = 0; f < sizeof(flag_sets) / sizeof(flag_sets[0]); f++) {
            for (size_t cap = len * 3 / 4 > 3 ? len * 3 / 4 - 3 : 0; cap <= len * 3 / 4 + 4;
                 cap++) {
                memset(out, 0xa5, sizeof(out));
                aw_result want = ref_base64_decode(text, len, flag_sets[f], ref, cap, &ref_n);
                aw_result got = aw_base64_decode((aw_span){text, len}, flag_sets[f], out, cap, &n);
                bool same =
                    got == want && (got != AW_OK || (n == ref_n && memcmp(out, ref, n) == 0));
                for (size_t k = cap; k < sizeof(out); k++) {
                    same = same && out[k] == 0xa5; /* never past out_cap */
                }
                for (size_t k = n; got == AW_OK && k < sizeof(out); k++) {
                    same = same && out[k] == 0xa5; /* nor past the decoded length */
                }
                CHECK_MSG(same, "round %d, flags %u, len %zu, cap %zu: %s, want %s", round,
                          flag_sets[f], len, cap, aw_result_name(got), aw_result_name(want));
            }
        }
    }
}

int main(void)
{
    test_rfc4648_vectors();
    test_round_trips();
    test_malformed();
    test_hex_writer_cursor_arena();
    test_decode_every_position();
    test_decoder_against_reference();
    return aw_test_finish("test_bytes");
}
