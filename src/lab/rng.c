/* splitmix64 (Steele, Lea, Flood 2014): a fixed-seed generator for the lab's messages,
 * guesses and trial keys. Not a cryptographic generator, and not used as one: the lab
 * measures attacks, and a reproducible run is what its tests assert on. */
#include "lab.h"

void awlab_rng_seed(awlab_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t awlab_rng_next(awlab_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t awlab_rng_below(awlab_rng *r, uint64_t n)
{
    /* Rejection sampling: values from the incomplete last copy of [0, n) are redrawn. */
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    uint64_t v;
    do {
        v = awlab_rng_next(r);
    } while (v >= limit);
    return v % n;
}

void awlab_rng_bytes(awlab_rng *r, uint8_t *out, size_t len)
{
    while (len > 0) {
        uint64_t v = awlab_rng_next(r);
        for (size_t i = 0; i < 8 && len > 0; i++, len--) {
            *out++ = (uint8_t)(v >> (8 * i));
        }
    }
}
