/*
 * registry_watch.c — the registry's loop timers: one sweeps out externals whose TTL
 * passed without a heartbeat (publishing registry.service.expired), one probes every
 * health URL over fm_fetch and records up/down. Both run on the loop thread; a probe
 * round starts only when the previous one has finished.
 */
#include "registry_int.h"

#include "../../fm_config.h"
#include "../../fm_fetch.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct watch {
    fm_mod_t *m;
    fm_timer_t *sweep, *probe;
    int in_flight;
    bool stopping;
} watch_t;

typedef struct probe_job {
    watch_t *w;
    char id[64];
} probe_job_t;

static void sweep(void *arg)
{
    watch_t *w = arg;
    int n = 0;
    if (registry_expire(w->m->db, fm_time_unix_ms(), &n) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "registry: expiry sweep failed", NULL);
    else if (n) {
        fm_log_t l;
        fm_log_begin(&l, FM_LOG_INFO, "registry: services expired");
        fm_log_int(&l, "count", n);
        fm_log_end(&l);
    }
}

static void probe_done(const fm_fetch_result_t *res, void *arg)
{
    probe_job_t *j = arg;
    watch_t *w = j->w;
    w->in_flight--;
    if (!w->stopping) {
        char detail[300];
        bool up = res->status >= 200 && res->status < 300;
        if (res->error)
            snprintf(detail, sizeof(detail), "probe failed: %s", res->error);
        else
            snprintf(detail, sizeof(detail), "HTTP %ld in %.0f ms", res->status, res->seconds * 1000);
        registry_set_health(w->m->db, j->id, up ? "up" : "down", detail);
    }
    free(j);
    if (w->stopping && w->in_flight == 0)
        free(w);    /* the last probe out after stop frees the watch */
}

static void probe_one(const char *id, const char *url, void *arg)
{
    watch_t *w = arg;
    probe_job_t *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->w = w;
    snprintf(j->id, sizeof(j->id), "%s", id);
    fm_fetch_req_t req = { "GET", url, NULL, NULL, fm_cfg()->registry_probe_timeout_ms, NULL };
    w->in_flight++;
    if (fm_fetch(&req, probe_done, j) != FM_OK) {
        w->in_flight--;
        free(j);
    }
}

static void probe_round(void *arg)
{
    watch_t *w = arg;
    if (w->in_flight == 0)
        registry_each_probe(w->m->db, probe_one, w);
}

int registry_watch_start(fm_mod_t *m)
{
    watch_t *w = calloc(1, sizeof(*w));
    if (!w)
        return FM_ENOMEM;
    const fm_config_t *c = fm_cfg();
    w->m = m;
    w->sweep = fm_timer_start((uint64_t)c->registry_sweep_interval_ms,
                              (uint64_t)c->registry_sweep_interval_ms, sweep, w);
    w->probe = fm_timer_start((uint64_t)c->registry_probe_interval_ms,
                              (uint64_t)c->registry_probe_interval_ms, probe_round, w);
    m->state = w;
    return w->sweep && w->probe ? FM_OK : FM_ENOMEM;
}

void registry_watch_stop(fm_mod_t *m)
{
    watch_t *w = m->state;
    if (!w)
        return;
    fm_timer_stop(w->sweep);
    fm_timer_stop(w->probe);
    w->stopping = true;
    /* Probes still in flight finish (or fm_fetch_shutdown aborts them) after this;
     * the last of them frees w. */
    if (w->in_flight == 0)
        free(w);
    m->state = NULL;
}
