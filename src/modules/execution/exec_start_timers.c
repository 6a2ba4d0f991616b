/*
 * exec_start_timers.c — a read-only accessor for other modules: the timer start events
 * of published processes that the engine has armed (rows of `timers` of kind 'start'),
 * with their next due time. `GET /executions/start-timers` answers them; the Scheduling
 * Service lists them in `GET /schedules` as read-only entries of kind `process-timer`.
 */
#include "exec_int.h"

#include "../../fm_dbq.h"

#define START_TIMERS_MAX 1000

int ex_start_timers_list(fm_req_t *r)
{
    cJSON *items = cJSON_CreateArray();
    int rc = fm_dbq_read_array(fm_req_mod(r)->db,
                               "SELECT t.process_id AS \"processId\", coalesce(d.bpmn_id, '') AS \"bpmnProcessId\", "
                               "t.version AS \"version\", t.element AS \"elementId\", t.due_ms AS \"dueAt\", "
                               "t.repeat AS \"repeat\", t.every_ms AS \"everyMs\" FROM timers t "
                               "LEFT JOIN deployments d ON d.tenant_id = t.tenant_id AND d.process_id = t.process_id "
                               "AND d.version = t.version WHERE t.kind = 'start' AND t.tenant_id = ? "
                               "ORDER BY t.process_id, t.element, t.id LIMIT ?",
                               "ssistii", items, "si", fm_req_tenant(r), START_TIMERS_MAX);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, 0, cJSON_GetArraySize(items));
}
