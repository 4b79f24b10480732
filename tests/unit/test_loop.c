/*
 * test_loop.c - timers fire in due order, can be stopped and re-armed
 * from their own callback; fds are delivered and survive an unwatch from
 * a sibling callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "loop.h"

#include <string.h>
#include <unistd.h>

struct order {
    struct loop *loop;
    int fired[16];
    int count;
};

struct tagged_timer {
    struct loop_timer t;
    struct order *order;
    int tag;
    int rearm; /* times to re-arm itself */
};

static void on_timer(void *ctx)
{
    struct tagged_timer *tt = ctx;

    tt->order->fired[tt->order->count++] = tt->tag;
    if (tt->rearm-- > 0)
        loop_timer_start(tt->order->loop, &tt->t, 0);
    if (tt->order->count >= 5)
        loop_stop(tt->order->loop);
}

static void test_timers_fire_in_due_order(void **state)
{
    struct loop *loop = loop_new();
    struct order order = {.loop = loop};
    struct tagged_timer timers[5];
    /* delays in microseconds, deliberately out of order */
    const int64_t delays[5] = {3000, 1000, 5000, 2000, 4000};

    (void)state;
    assert_non_null(loop);
    for (int i = 0; i < 5; i++) {
        timers[i] = (struct tagged_timer){.order = &order, .tag = i};
        loop_timer_init(&timers[i].t, on_timer, &timers[i]);
        loop_timer_start(loop, &timers[i].t, delays[i]);
    }
    loop_timer_stop(loop, &timers[4].t); /* never fires */
    assert_false(loop_timer_armed(&timers[4].t));
    timers[2].rearm = 1; /* the last one fires twice */
    loop_run(loop);
    assert_int_equal(order.count, 5);
    assert_int_equal(order.fired[0], 1);
    assert_int_equal(order.fired[1], 3);
    assert_int_equal(order.fired[2], 0);
    assert_int_equal(order.fired[3], 2);
    assert_int_equal(order.fired[4], 2);
    loop_free(loop);
}

struct pipes {
    struct loop *loop;
    int a[2], b[2];
    int reads;
};

/* Whichever pipe fires first unwatches the other one. */
static void on_readable(int fd, uint32_t events, void *ctx)
{
    struct pipes *p = ctx;
    char c;

    (void)events;
    assert_int_equal(read(fd, &c, 1), 1);
    p->reads++;
    loop_unwatch(p->loop, fd == p->a[0] ? p->b[0] : p->a[0]);
    loop_unwatch(p->loop, fd);
    loop_stop(p->loop);
}

static void test_unwatch_sibling_in_same_batch(void **state)
{
    struct pipes p = {0};

    (void)state;
    p.loop = loop_new();
    assert_int_equal(pipe(p.a), 0);
    assert_int_equal(pipe(p.b), 0);
    assert_int_equal(loop_watch(p.loop, p.a[0], EPOLLIN, on_readable, &p), 0);
    assert_int_equal(loop_watch(p.loop, p.b[0], EPOLLIN, on_readable, &p), 0);
    assert_int_equal(loop_watch(p.loop, p.a[0], EPOLLIN, on_readable, &p),
                     KAERI_ERR_EXISTS);
    assert_int_equal(write(p.a[1], "x", 1), 1);
    assert_int_equal(write(p.b[1], "y", 1), 1);
    loop_run(p.loop);
    assert_int_equal(p.reads, 1);
    loop_unwatch(p.loop, 999); /* unknown: ignored */
    close(p.a[0]);
    close(p.a[1]);
    close(p.b[0]);
    close(p.b[1]);
    loop_free(p.loop);
}

static int prepare_calls;

static int prepare_hook(void *ctx)
{
    (void)ctx;
    prepare_calls++;
    return 0;
}

static void test_prepare_runs_each_iteration(void **state)
{
    struct loop *loop = loop_new();

    (void)state;
    prepare_calls = 0;
    assert_int_equal(loop_add_prepare(loop, prepare_hook, NULL), 0);
    loop_run_once(loop, 0);
    loop_run_once(loop, 0);
    assert_int_equal(prepare_calls, 2);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_due_order),
        cmocka_unit_test(test_unwatch_sibling_in_same_batch),
        cmocka_unit_test(test_prepare_runs_each_iteration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
