/*
 * rng.h - seeded, splittable pseudo-random numbers for the faults only
 * (STYLE.md: each fault its own stream, so unrelated traffic does not
 * change a replay). Never for secrets, keys, tokens or ids: those come
 * from crypto.c.
 *
 * A stream is named: rng_init(&r, seed, "events/0/12/sub-1") mixes the
 * seed with a hash of the name (FNV-1a 64), expands it with splitmix64
 * and then runs xoshiro256** (Blackman and Vigna). The same seed and name
 * always give the same sequence, on every platform; different names give
 * unrelated sequences.
 *
 * Pure: no globals, no I/O. A struct rng is a small value type; its state
 * is private by note.
 */
#ifndef KAERI_RNG_H
#define KAERI_RNG_H

#include <stdbool.h>
#include <stdint.h>

struct rng {
    uint64_t s[4]; /* xoshiro256** state, never all zero */
};

/* Seed 'r' from 'seed' and the stream name 'stream_name' (NULL = ""). */
void rng_init(struct rng *r, uint64_t seed, const char *stream_name);
/* The next 64 random bits. */
uint64_t rng_next(struct rng *r);
/* A double in [0, 1), 53 random bits. */
double rng_unit(struct rng *r);
/*
 * A uniform integer in [lo, hi], both inclusive, without modulo bias
 * (Lemire's multiply-and-reject). lo > hi is swapped. Draws one or more
 * numbers.
 */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);
/*
 * True with probability 'p' (<= 0: never, >= 1: always). Always draws
 * exactly one number, so a changed probability does not shift the rest
 * of the stream.
 */
bool rng_chance(struct rng *r, double p);

#endif
