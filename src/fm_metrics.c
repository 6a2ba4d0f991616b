/*
 * fm_metrics.c — counters and the Prometheus text page (format 0.0.4). Counting is a
 * couple of atomic operations on the request path; rendering walks the routing table,
 * the running modules, the bus and the database files, only when /metrics is scraped.
 */
#include "fm_metrics.h"

#include "bus/bus.h"
#include "fm_http_int.h"
#include "fm_mod.h"

#include <string.h>

const double fm_hist_bounds[FM_HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1e300
};

void fm_route_stats_add(fm_route_stats_t *s, int status)
{
    for (int i = 1; i < FM_STATUS_SLOTS; i++) {
        int code = atomic_load(&s->code[i]);
        if (code == status) {
            atomic_fetch_add(&s->count[i], 1);
            return;
        }
        if (code == 0) {
            int zero = 0;
            if (atomic_compare_exchange_strong(&s->code[i], &zero, status) || zero == status) {
                atomic_fetch_add(&s->count[i], 1);
                return;
            }
        }
    }
    atomic_fetch_add(&s->count[0], 1);     /* ran out of slots: counted as "other" */
}

void fm_hist_observe(fm_hist_t *h, double seconds)
{
    int i = 0;
    while (i < FM_HIST_BUCKETS - 1 && seconds > fm_hist_bounds[i])
        i++;
    atomic_fetch_add(&h->bucket[i], 1);
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_us, (uint64_t)(seconds * 1e6));
}

static void render_route(fm_buf_t *out, const fm_rentry_t *e)
{
    for (int i = 0; i < FM_STATUS_SLOTS; i++) {
        uint64_t n = atomic_load(&((fm_route_stats_t *)&e->stats)->count[i]);
        if (!n)
            continue;
        int code = atomic_load(&((fm_route_stats_t *)&e->stats)->code[i]);
        fm_buf_addf(out, "fm_http_requests_total{module=\"%s\",method=\"%s\",route=\"", e->module_name,
                    fm_method_name(e->def->method));
        fm_buf_add_json_esc(out, e->def->pattern);
        if (code)
            fm_buf_addf(out, "\",status=\"%d\"} %llu\n", code, (unsigned long long)n);
        else
            fm_buf_addf(out, "\",status=\"other\"} %llu\n", (unsigned long long)n);
    }
}

static void render_type(const char *type, uint64_t count, void *arg)
{
    fm_buf_addf(arg, "fm_bus_events_by_type_total{type=\"%s\"} %llu\n", type, (unsigned long long)count);
}

void fm_metrics_render(fm_buf_t *out)
{
    const fm_routing_t *r = fm__routing();
    fm_buf_addf(out, "# HELP fm_build_info FlowMaster build.\n# TYPE fm_build_info gauge\n"
                     "fm_build_info{version=\"%s\"} 1\n", FM_VERSION);
    fm_buf_addf(out, "# HELP fm_uptime_seconds Seconds since start.\n# TYPE fm_uptime_seconds gauge\n"
                     "fm_uptime_seconds %.3f\n", fm_uptime());

    fm_buf_adds(out, "# HELP fm_http_requests_total HTTP requests by module, route and status.\n"
                     "# TYPE fm_http_requests_total counter\n");
    for (size_t i = 0; r && i < r->nentries; i++)
        render_route(out, &r->entries[i]);

    fm_buf_adds(out, "# HELP fm_http_request_duration_seconds Request latency by module.\n"
                     "# TYPE fm_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < fm_mods_count(); i++) {
        fm_mod_t *m = fm_mods_at(i);
        uint64_t cum = 0;
        for (int b = 0; b < FM_HIST_BUCKETS; b++) {
            cum += atomic_load(&m->latency.bucket[b]);
            if (b == FM_HIST_BUCKETS - 1)
                fm_buf_addf(out, "fm_http_request_duration_seconds_bucket{module=\"%s\",le=\"+Inf\"} %llu\n",
                            m->def->name, (unsigned long long)cum);
            else
                fm_buf_addf(out, "fm_http_request_duration_seconds_bucket{module=\"%s\",le=\"%g\"} %llu\n",
                            m->def->name, fm_hist_bounds[b], (unsigned long long)cum);
        }
        fm_buf_addf(out, "fm_http_request_duration_seconds_sum{module=\"%s\"} %.6f\n", m->def->name,
                    (double)atomic_load(&m->latency.sum_us) / 1e6);
        fm_buf_addf(out, "fm_http_request_duration_seconds_count{module=\"%s\"} %llu\n", m->def->name,
                    (unsigned long long)atomic_load(&m->latency.count));
    }

    bus_stats_t s = bus_stats();
    fm_buf_addf(out,
                "# HELP fm_bus_events_published_total Events accepted by the bus.\n"
                "# TYPE fm_bus_events_published_total counter\nfm_bus_events_published_total %llu\n"
                "# HELP fm_bus_events_delivered_total Events delivered to subscribers.\n"
                "# TYPE fm_bus_events_delivered_total counter\nfm_bus_events_delivered_total %llu\n"
                "# HELP fm_bus_events_rejected_total Publishes refused because the queue was full.\n"
                "# TYPE fm_bus_events_rejected_total counter\nfm_bus_events_rejected_total %llu\n"
                "# HELP fm_outbox_events_drained_total Events read from module outboxes.\n"
                "# TYPE fm_outbox_events_drained_total counter\nfm_outbox_events_drained_total %llu\n"
                "# HELP fm_bus_queue_depth Events waiting for delivery.\n"
                "# TYPE fm_bus_queue_depth gauge\nfm_bus_queue_depth %llu\n"
                "# HELP fm_bus_queue_capacity Bound of the bus queue.\n"
                "# TYPE fm_bus_queue_capacity gauge\nfm_bus_queue_capacity %llu\n"
                "# HELP fm_bus_subscribers Active subscriptions.\n"
                "# TYPE fm_bus_subscribers gauge\nfm_bus_subscribers %llu\n",
                (unsigned long long)s.published, (unsigned long long)s.delivered,
                (unsigned long long)s.rejected, (unsigned long long)s.outbox_drained,
                (unsigned long long)s.depth, (unsigned long long)s.capacity,
                (unsigned long long)s.subscribers);
    fm_buf_adds(out, "# HELP fm_bus_events_by_type_total Events delivered, by type.\n"
                     "# TYPE fm_bus_events_by_type_total counter\n");
    bus_each_type(render_type, out);

    fm_buf_adds(out, "# HELP fm_db_size_bytes Size of each module database (file + WAL).\n"
                     "# TYPE fm_db_size_bytes gauge\n");
    for (size_t i = 0; i < fm_mods_count(); i++) {
        fm_mod_t *m = fm_mods_at(i);
        if (m->db)
            fm_buf_addf(out, "fm_db_size_bytes{module=\"%s\"} %lld\n", m->def->name,
                        (long long)fm_db_size(m->db));
    }
}
