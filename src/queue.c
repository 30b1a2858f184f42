/* queue.c: an app's bounded request FIFO (see queue.h). */
#include "queue.h"

int sw_queue_init(sw_queue_t *q, size_t capacity)
{
    q->head = q->tail = NULL;
    q->count = 0;
    q->capacity = capacity;
    q->closed = 0;
    if (pthread_mutex_init(&q->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&q->nonempty, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        return -1;
    }
    return 0;
}

void sw_queue_destroy(sw_queue_t *q)
{
    sw_request_t *r = q->head;
    while (r) {
        sw_request_t *next = r->next;
        sw_request_free(r);
        r = next;
    }
    q->head = q->tail = NULL;
    pthread_cond_destroy(&q->nonempty);
    pthread_mutex_destroy(&q->lock);
}

int sw_queue_push(sw_queue_t *q, sw_request_t *r)
{
    pthread_mutex_lock(&q->lock);
    if (q->closed || q->count >= q->capacity) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->count++;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

sw_request_t *sw_queue_pop(sw_queue_t *q)
{
    static const int never = 0;
    return sw_queue_pop_unless(q, &never);
}

sw_request_t *sw_queue_pop_unless(sw_queue_t *q, const int *retired)
{
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed && !*retired)
        pthread_cond_wait(&q->nonempty, &q->lock);
    if (*retired) {
        pthread_mutex_unlock(&q->lock);
        return NULL;
    }
    sw_request_t *r = q->head;
    if (r) {
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
        q->count--;
        r->next = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    return r;
}

void sw_queue_close(sw_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

size_t sw_queue_count(sw_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void sw_queue_retire(sw_queue_t *q, int *flag)
{
    pthread_mutex_lock(&q->lock);
    *flag = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

sw_request_t *sw_queue_take_all(sw_queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    sw_request_t *all = q->head;
    q->head = q->tail = NULL;
    q->count = 0;
    pthread_mutex_unlock(&q->lock);
    return all;
}
