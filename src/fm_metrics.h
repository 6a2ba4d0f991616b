/*
 * fm_metrics.h — lock-free counters for the Prometheus page (GET /metrics on 9000):
 * requests per route and status, a latency histogram per module. Any thread.
 */
#ifndef FM_METRICS_H
#define FM_METRICS_H

#include "fm_buf.h"

#include <stdatomic.h>
#include <stdint.h>

#define FM_STATUS_SLOTS 12      /* distinct statuses counted per route; more go to slot 0 */
#define FM_HIST_BUCKETS 12

typedef struct fm_route_stats {
    atomic_int code[FM_STATUS_SLOTS];
    atomic_uint_fast64_t count[FM_STATUS_SLOTS];
} fm_route_stats_t;

typedef struct fm_hist {
    atomic_uint_fast64_t bucket[FM_HIST_BUCKETS];   /* cumulative on render, not here */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
} fm_hist_t;

extern const double fm_hist_bounds[FM_HIST_BUCKETS];   /* seconds; last is +Inf */

void fm_route_stats_add(fm_route_stats_t *s, int status);
void fm_hist_observe(fm_hist_t *h, double seconds);

/* Appends the whole metrics page (fm_server.c knows what to walk). */
void fm_metrics_render(fm_buf_t *out);

#endif
