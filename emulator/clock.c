/*
 * clock.c - wall time plus a test-controlled offset, and monotonic time.
 * The offset lives on the loop thread like all other state.
 */
#include "clock.h"

#include <time.h>

static int64_t offset_us;

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_now_us(void)
{
    return read_clock(CLOCK_REALTIME) + offset_us;
}

int64_t clock_now_s(void)
{
    return clock_now_us() / 1000000;
}

double clock_now_epoch(void)
{
    return (double)(clock_now_us() / 1000) / 1000.0;
}

int64_t clock_mono_us(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

void clock_advance(int64_t seconds)
{
    offset_us += seconds * 1000000;
}

void clock_set(int64_t epoch_us)
{
    offset_us = epoch_us - read_clock(CLOCK_REALTIME);
}

int64_t clock_offset_s(void)
{
    return offset_us / 1000000;
}

void clock_reset(void)
{
    offset_us = 0;
}
