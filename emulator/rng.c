/*
 * rng.c - named, seeded random streams for the faults: FNV-1a 64 of the
 * stream name mixed into the seed, splitmix64 to fill the state, then
 * xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/, public
 * domain reference code). Deterministic on every platform: only 64-bit
 * integer arithmetic, and one double conversion of 53 bits.
 *
 * Left out on purpose: anything cryptographic (crypto.c does that), and
 * jump functions (streams are split by name instead).
 */
#include "rng.h"

#include <assert.h>

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void rng_init(struct rng *r, uint64_t seed, const char *stream_name)
{
    /*
     * Run the name's hash through splitmix64 once before mixing, so seeds
     * and names that differ in few bits still start far apart.
     */
    uint64_t h = fnv1a64(stream_name);
    uint64_t x = seed ^ splitmix64(&h);

    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* all zero is xoshiro's one fixed point */
}

uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/*
 * Lemire, "Fast Random Integer Generation in an Interval" (2019): the high
 * half of a 64x64 multiply, rejecting the few low halves that would bias
 * it. The full range [0, 2^64 - 1] needs no reduction.
 */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    uint64_t span, x;
    unsigned __int128 m;
    uint64_t low;

    if (lo > hi) {
        uint64_t t = lo;

        lo = hi;
        hi = t;
    }
    if (hi - lo == UINT64_MAX)
        return rng_next(r); /* the full range: every value is fair */
    span = hi - lo + 1;
    x = rng_next(r);
    m = (unsigned __int128)x * span;
    low = (uint64_t)m;
    if (low < span) {
        uint64_t threshold = (UINT64_MAX - span + 1) % span; /* 2^64 % span */

        while (low < threshold) {
            x = rng_next(r);
            m = (unsigned __int128)x * span;
            low = (uint64_t)m;
        }
    }
    assert((uint64_t)(m >> 64) <= hi - lo);
    return lo + (uint64_t)(m >> 64);
}

bool rng_chance(struct rng *r, double p)
{
    double u = rng_unit(r);

    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    return u < p;
}
