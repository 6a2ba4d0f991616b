/* fm_loop.c — the process loop, cross-thread posting and timers; see fm_loop.h. */
#include "fm_loop.h"

#include "fm.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct post {
    void (*fn)(void *);
    void *arg;
    struct post *next;
} post_t;

struct fm_timer {
    uv_timer_t h;
    void (*fn)(void *);
    void *arg;
};

static uv_loop_t loop;
static uv_async_t post_async;
static pthread_t loop_thread;
static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;
static post_t *post_head, *post_tail;
static bool inited;

static void on_post(uv_async_t *h)
{
    (void)h;
    pthread_mutex_lock(&post_lock);
    post_t *p = post_head;
    post_head = post_tail = NULL;
    pthread_mutex_unlock(&post_lock);
    while (p) {
        post_t *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
}

int fm_loop_init(void)
{
    if (uv_loop_init(&loop) < 0)
        return FM_EIO;
    loop_thread = pthread_self();
    if (uv_async_init(&loop, &post_async, on_post) < 0)
        return FM_EIO;
    inited = true;
    return FM_OK;
}

uv_loop_t *fm_loop(void)
{
    return &loop;
}

bool fm_on_loop_thread(void)
{
    return inited && pthread_equal(pthread_self(), loop_thread);
}

int fm_loop_post(void (*fn)(void *arg), void *arg)
{
    post_t *p = malloc(sizeof(*p));
    if (!p)
        return FM_ENOMEM;
    p->fn = fn;
    p->arg = arg;
    p->next = NULL;
    pthread_mutex_lock(&post_lock);
    if (!inited) {
        pthread_mutex_unlock(&post_lock);
        free(p);
        return FM_EBUSY;
    }
    if (post_tail)
        post_tail->next = p;
    else
        post_head = p;
    post_tail = p;
    pthread_mutex_unlock(&post_lock);
    uv_async_send(&post_async);
    return FM_OK;
}

static void on_timer(uv_timer_t *h)
{
    fm_timer_t *t = h->data;
    t->fn(t->arg);
}

fm_timer_t *fm_timer_start(uint64_t first_ms, uint64_t every_ms, void (*fn)(void *arg), void *arg)
{
    fm_timer_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    uv_timer_init(&loop, &t->h);
    t->h.data = t;
    uv_timer_start(&t->h, on_timer, first_ms, every_ms);
    return t;
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

void fm_timer_stop(fm_timer_t *t)
{
    if (!t)
        return;
    uv_timer_stop(&t->h);
    uv_close((uv_handle_t *)&t->h, free_on_close);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TIMER && h->data == (void *)h ? free_on_close : NULL); /* fm_timer_t: h first */
}

void fm_loop_close(void)
{
    if (!inited)
        return;
    pthread_mutex_lock(&post_lock);
    inited = false;
    post_t *p = post_head;
    post_head = post_tail = NULL;
    pthread_mutex_unlock(&post_lock);
    while (p) {         /* nothing runs after stop: drop what is left */
        post_t *next = p->next;
        free(p);
        p = next;
    }
    uv_walk(&loop, close_any, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}
