/*
 * tasks_watch.c — the escalation timer: every [tasks] escalation_interval_ms it marks
 * open tasks whose due date has passed as escalated (once each) and publishes
 * task.escalated through the outbox. Runs on the loop thread.
 */
#include "tasks_int.h"

#include "../../bus/bus.h"
#include "../../fm_config.h"
#include "../../fm_log.h"
#include "../../fm_loop.h"

#include <stdlib.h>

static void sweep(void *arg)
{
    fm_mod_t *m = arg;
    int n = 0;
    if (tasks_escalate(m->db, fm_time_unix_ms(), &n) != FM_OK)
        fm_log_msg(FM_LOG_ERROR, "tasks: escalation sweep failed", NULL);
    else if (n) {
        fm_log_t l;
        fm_log_begin(&l, FM_LOG_INFO, "tasks: overdue tasks escalated");
        fm_log_int(&l, "count", n);
        fm_log_end(&l);
    }
}

int tasks_watch_start(fm_mod_t *m)
{
    uint64_t every = (uint64_t)fm_cfg()->tasks_escalation_interval_ms;
    fm_timer_t *t = fm_timer_start(every, every, sweep, m);
    m->state = t;
    return t ? FM_OK : FM_ENOMEM;
}

void tasks_watch_stop(fm_mod_t *m)
{
    if (m->state)
        fm_timer_stop(m->state);
    m->state = NULL;
}
