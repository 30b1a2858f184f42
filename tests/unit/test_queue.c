/* test_queue.c: the bounded request queue: capacity, FIFO order, close
 * drains, and many producers/consumers losing nothing. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "queue.h"

static sw_request_t *new_request(int id)
{
    sw_request_t *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    r->fd = -1;
    r->content_length = (uint64_t)id;   /* the test's own tag */
    return r;
}

Test(queue, full_rejects_and_caller_keeps_request)
{
    sw_queue_t q;
    cr_assert_eq(sw_queue_init(&q, 2), 0);
    cr_assert_eq(sw_queue_push(&q, new_request(1)), 0);
    cr_assert_eq(sw_queue_push(&q, new_request(2)), 0);
    sw_request_t *third = new_request(3);
    cr_expect_eq(sw_queue_push(&q, third), -1);
    cr_expect_eq(sw_queue_count(&q), 2);
    sw_request_free(third);   /* still ours: no double free at destroy */
    sw_queue_destroy(&q);
}

Test(queue, fifo_and_close_drains)
{
    sw_queue_t q;
    cr_assert_eq(sw_queue_init(&q, 8), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(sw_queue_push(&q, new_request(i)), 0);
    sw_queue_close(&q);
    sw_request_t *late = new_request(99);
    cr_expect_eq(sw_queue_push(&q, late), -1, "a closed queue takes nothing");
    sw_request_free(late);
    for (int i = 0; i < 5; i++) {
        sw_request_t *r = sw_queue_pop(&q);
        cr_assert_not_null(r, "queued request %d lost at close", i);
        cr_expect_eq(r->content_length, (uint64_t)i);
        sw_request_free(r);
    }
    cr_expect_null(sw_queue_pop(&q));
    sw_queue_destroy(&q);
}

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 5000

static sw_queue_t shared;
static _Atomic long consumed_sum;
static _Atomic int consumed_count;

static void *producer(void *arg)
{
    int base = (int)(intptr_t)arg * PER_PRODUCER;
    for (int i = 0; i < PER_PRODUCER; i++) {
        sw_request_t *r = new_request(base + i);
        while (sw_queue_push(&shared, r) < 0)
            sched_yield();   /* full: try again */
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    sw_request_t *r;
    while ((r = sw_queue_pop(&shared))) {
        consumed_sum += (long)r->content_length;
        consumed_count++;
        sw_request_free(r);
    }
    return NULL;
}

Test(queue, concurrent_producers_consumers_lose_nothing)
{
    cr_assert_eq(sw_queue_init(&shared, 16), 0);
    pthread_t p[PRODUCERS], c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, NULL);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    sw_queue_close(&shared);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(c[i], NULL);
    long n = PRODUCERS * PER_PRODUCER;
    cr_expect_eq(consumed_count, n);
    cr_expect_eq(consumed_sum, n * (n - 1) / 2);
    sw_queue_destroy(&shared);
}
