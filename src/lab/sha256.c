/* Textbook SHA-256 (FIPS 180-4, Sections 4.1.2, 5.1.1, 6.2), written for the lab's
 * length-extension experiment: the digest of a message is the chaining state after its
 * padded last block, so anyone can resume hashing from it. Checked against OpenSSL in
 * tests/test_lab.c; never used to protect anything. */
#include <string.h>

#include "lab.h"

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t iv256[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void awlab_sha256_compress(uint32_t h[8], const uint8_t block[AWLAB_SHA256_BLOCK])
{
    uint32_t w[64];
    for (size_t i = 0; i < 16; i++) {
        w[i] = load_be32(block + 4 * i);
    }
    for (size_t i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (size_t i = 0; i < 64; i++) {
        uint32_t t1 =
            hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k256[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void awlab_sha256_init(awlab_sha256 *c)
{
    memcpy(c->h, iv256, sizeof(c->h));
    c->buf_len = 0;
    c->total = 0;
}

void awlab_sha256_resume(awlab_sha256 *c, const uint8_t digest[AWLAB_SHA256_LEN], uint64_t done)
{
    /* The digest is the big-endian chaining state: load it back as the state. */
    for (size_t i = 0; i < 8; i++) {
        c->h[i] = load_be32(digest + 4 * i);
    }
    c->buf_len = 0;
    c->total = done;
}

void awlab_sha256_update(awlab_sha256 *c, const uint8_t *data, size_t len)
{
    c->total += len;
    while (len > 0) {
        size_t take = AWLAB_SHA256_BLOCK - c->buf_len;
        if (take > len) {
            take = len;
        }
        memcpy(c->buf + c->buf_len, data, take);
        c->buf_len += take;
        data += take;
        len -= take;
        if (c->buf_len == AWLAB_SHA256_BLOCK) {
            awlab_sha256_compress(c->h, c->buf);
            c->buf_len = 0;
        }
    }
}

size_t awlab_sha256_padding(uint64_t msg_len, uint8_t out[72])
{
    /* 0x80, then zeros up to 56 mod 64, then the length in bits (FIPS 180-4, 5.1.1). */
    size_t zeros = (size_t)((119 - (msg_len % 64)) % 64);
    out[0] = 0x80;
    memset(out + 1, 0, zeros);
    uint64_t bits = msg_len * 8;
    for (size_t i = 0; i < 8; i++) {
        out[1 + zeros + i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    return 1 + zeros + 8;
}

void awlab_sha256_final(awlab_sha256 *c, uint8_t out[AWLAB_SHA256_LEN])
{
    uint8_t pad[72];
    size_t n = awlab_sha256_padding(c->total, pad);
    uint64_t total = c->total;
    awlab_sha256_update(c, pad, n);
    c->total = total;
    for (size_t i = 0; i < 8; i++) {
        store_be32(out + 4 * i, c->h[i]);
    }
}
