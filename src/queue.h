/* queue.h: an app's bounded FIFO of requests, many producers (the I/O
 * thread) and many consumers (the app's workers). Lock: q->lock guards every
 * field; it is a leaf lock (nothing else is taken while holding it). */
#ifndef SW_QUEUE_H
#define SW_QUEUE_H

#include <pthread.h>
#include <stddef.h>

#include "request.h"

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    sw_request_t *head, *tail;
    size_t count;
    size_t capacity;
    int closed;
} sw_queue_t;

int sw_queue_init(sw_queue_t *q, size_t capacity);
void sw_queue_destroy(sw_queue_t *q);   /* frees requests still queued */

/* Appends r; returns 0, or -1 when full or closed (r stays with the caller). */
int sw_queue_push(sw_queue_t *q, sw_request_t *r);

/* Blocks until a request is available; returns NULL once the queue is
 * closed AND empty (so closing drains: queued requests are still served). */
sw_request_t *sw_queue_pop(sw_queue_t *q);

/* Like sw_queue_pop for a worker of a generation: also returns NULL as soon
 * as *retired is set (read under q->lock), leaving queued requests to the
 * next generation. */
sw_request_t *sw_queue_pop_unless(sw_queue_t *q, const int *retired);

/* Sets *flag under q->lock and wakes every waiting worker. */
void sw_queue_retire(sw_queue_t *q, int *flag);

/* Takes every queued request (for answering them without Python). */
sw_request_t *sw_queue_take_all(sw_queue_t *q);

void sw_queue_close(sw_queue_t *q);
size_t sw_queue_count(sw_queue_t *q);

#endif
