/*
 * bpmn_timer_check.c — publish-time check of repeating timers: a timeCycle on a start
 * event (process or event subprocess) or a boundary event whose literal period is
 * shorter than a minimum. Such a timer would start instances or fire a non-interrupting
 * boundary faster than anyone can stop it (issue 10 item 4); Process Design refuses it
 * with the element named. Cycles given as FEEL (`=expr`) are only known at run time:
 * the Execution Engine checks those (docs/execution.md).
 */
#include "bpmn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An ISO 8601 duration (PnYnMnWnDTnHnMn.nS) in ms; -1 when it is not one. Years and
 * months count as 365 and 30 days: only compared against a small minimum. */
static double iso_ms(const char *s)
{
    if (!s || *s++ != 'P')
        return -1;
    double ms = 0;
    bool time = false, any = false;
    while (*s) {
        if (*s == 'T') {
            time = true;
            s++;
            continue;
        }
        char *end;
        double v = strtod(s, &end);
        if (end == s || v < 0)
            return -1;
        s = end;
        double unit;
        switch (*s) {
        case 'Y': unit = time ? -1 : 365 * 86400e3; break;
        case 'M': unit = time ? 60e3 : 30 * 86400e3; break;
        case 'W': unit = time ? -1 : 7 * 86400e3; break;
        case 'D': unit = time ? -1 : 86400e3; break;
        case 'H': unit = time ? 3600e3 : -1; break;
        case 'S': unit = time ? 1e3 : -1; break;
        default: unit = -1;
        }
        if (unit < 0)
            return -1;
        ms += v * unit;
        any = true;
        s++;
    }
    return any ? ms : -1;
}

int bpmn_timer_cycles_check(const bpmn_model_t *m, long long min_ms, cJSON *out)
{
    int bad = 0;
    for (size_t i = 0; i < m->nels; i++) {
        const bpmn_el_t *e = &m->els[i];
        if (e->kind != BPMN_K_EVENT || (strcmp(e->type, "startEvent") && strcmp(e->type, "boundaryEvent")))
            continue;
        const bpmn_node_t *td = bpmn_child(e->node, BPMN_NS, "timerEventDefinition");
        const bpmn_node_t *tc = td ? bpmn_child(td, BPMN_NS, "timeCycle") : NULL;
        const char *text = tc ? tc->text : NULL;
        if (!text || text[0] != 'R')
            continue;   /* none, FEEL (=…) or not a cycle: the engine says so at run time */
        const char *slash = strrchr(text, '/');
        long reps = text[1] == '/' ? -1 : strtol(text + 1, NULL, 10);
        double ms = slash ? iso_ms(slash + 1) : -1;
        if (reps == 1 || ms < 0 || ms >= (double)min_ms)
            continue;
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "timeCycle of '%s' (%.100s) repeats every %.0f ms, less than the minimum of %lld ms "
                 "(execution.timer_min_cycle_ms)", e->id, text, ms, min_ms);
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "id", e->id);
        cJSON_AddStringToObject(p, "code", "timer-cycle-too-short");
        cJSON_AddStringToObject(p, "severity", "error");
        cJSON_AddStringToObject(p, "message", msg);
        cJSON_AddItemToArray(out, p);
        bad++;
    }
    return bad;
}
