/*
 * fm_loop.h — the libuv loop that owns the process: signals, timers, bus delivery and
 * outbound I/O (fm_fetch.h) all run on it, on the main thread.
 *
 * From another thread, hand work over with fm_loop_post (coalesced through one
 * uv_async; the callback takes the whole list). Timers are created and stopped on the
 * loop thread only — a module's start hook runs there.
 */
#ifndef FM_LOOP_H
#define FM_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

int fm_loop_init(void);
uv_loop_t *fm_loop(void);
bool fm_on_loop_thread(void);
/* Closes every handle still open and the loop itself (after uv_run returned). */
void fm_loop_close(void);

/* Any thread: fn(arg) runs on the loop thread soon, in posting order. */
int fm_loop_post(void (*fn)(void *arg), void *arg);

typedef struct fm_timer fm_timer_t;
/* Loop thread. Calls fn every `every_ms` (0: once) after a first delay of `first_ms`. */
fm_timer_t *fm_timer_start(uint64_t first_ms, uint64_t every_ms, void (*fn)(void *arg), void *arg);
void fm_timer_stop(fm_timer_t *t);   /* loop thread; t is freed */

#endif
