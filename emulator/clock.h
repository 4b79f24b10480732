/*
 * clock.h - the only reader of time.
 *
 * Two clocks, as CONTRACT.md says: "now" (wall time plus an offset that
 * POST /_kaeri/clock moves) decides every validity question (token and
 * credential expiry, the SigV4 window, SRP timestamps); the monotonic clock
 * drives timers and durations, and no shift of "now" fires a timer.
 */
#ifndef KAERI_CLOCK_H
#define KAERI_CLOCK_H

#include <stdint.h>

/* kaeri's "now" in microseconds since the epoch, offset included. */
int64_t clock_now_us(void);
int64_t clock_now_s(void);
/* Epoch seconds with milliseconds, for AWS's JSON timestamps. */
double clock_now_epoch(void);

/* Monotonic microseconds, for timers and request durations only. */
int64_t clock_mono_us(void);

/* Shift "now" by 'seconds' (may be negative). */
void clock_advance(int64_t seconds);
/* Make "now" read 'epoch_us' from this moment on. */
void clock_set(int64_t epoch_us);
/* The current offset from wall time, in whole seconds. */
int64_t clock_offset_s(void);
/* Back to wall time. */
void clock_reset(void);

#endif
