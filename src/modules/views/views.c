/*
 * views.c — Process Views (8019): SVG and a JSON view model of a process draft or
 * published version, drawn from its BPMNDI (or laid out automatically when it has
 * none), with pools and lanes as swimlanes and optional highlighting of elements with
 * counts (?highlight=id:count,...) for heatmaps. The definition comes from Process
 * Design through fm_call (GET /processes/{id}/bpmn); this module owns no data.
 */
#include "../modules.h"

#include "../../bpmn/bpmn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HIGHLIGHT 2000

static bool id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 64 || !(strchr("-_.", s[n]) || (s[n] >= '0' && s[n] <= '9') ||
                         (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))
            return false;
    return n > 0;
}

/* Parses "id:count,id,..." into hl (ids point into buf). Returns the count or -1. */
static int parse_highlight(char *buf, bpmn_highlight_t *hl, size_t max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if ((size_t)n == max)
            return -1;
        char *colon = strrchr(t, ':');
        double count = 1;
        if (colon) {
            char *end;
            *colon = 0;
            count = strtod(colon + 1, &end);
            if (end == colon + 1 || *end || count < 0 || count > 1e15)
                return -1;
        }
        if (!*t || strlen(t) > 256)
            return -1;
        hl[n++] = (bpmn_highlight_t){ t, count };
    }
    return n;
}

/* The view model of the request's process (replies and returns NULL on any problem). */
static cJSON *view_of(fm_req_t *r)
{
    const char *pid = fm_req_param(r, "processId");
    if (!id_ok(pid)) {
        fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'", pid);
        return NULL;
    }
    char ver[32], path[200];
    const char *v = fm_req_query(r, "version", ver, sizeof(ver));
    if (v && strcmp(v, "draft")) {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 1000000000) {
            fm_reply_invalid(r, "version", "must be a version number or \"draft\"");
            return NULL;
        }
        snprintf(path, sizeof(path), "/processes/%s/bpmn?version=%ld", pid, n);
    } else {
        snprintf(path, sizeof(path), "/processes/%s/bpmn", pid);
    }
    /* on the heap: worker threads have small stacks */
    size_t hlen = 65536;
    char *hbuf = malloc(hlen);
    bpmn_highlight_t *hl = malloc(MAX_HIGHLIGHT * sizeof(*hl));
    int nhl = 0;
    if (hbuf && hl && fm_req_query(r, "highlight", hbuf, hlen)) {
        nhl = parse_highlight(hbuf, hl, MAX_HIGHLIGHT);
        if (nhl < 0) {
            free(hbuf);
            free(hl);
            fm_reply_invalid(r, "highlight", "must be id:count pairs separated by commas (at most 2000)");
            return NULL;
        }
    }
    int status = 0;
    char *out = NULL;
    int rc = fm_call(r, FM_GET, path, NULL, &status, &out);
    if (rc != FM_OK || status != 200) {
        if (status == 404)
            fm_reply_problem(r, 404, NULL, NULL, NULL, "no process '%s'%s%s", pid, v ? " version " : "",
                             v ? v : "");
        else
            fm_reply_problem(r, 502, NULL, "Bad Gateway", NULL,
                             "Process Design answered %d for the process definition", status);
        free(out);
        free(hbuf);
        free(hl);
        return NULL;
    }
    char err[300];
    bpmn_model_t *m = bpmn_parse(out, strlen(out), err, sizeof(err));
    free(out);
    if (!m) {
        free(hbuf);
        free(hl);
        fm_reply_problem(r, 502, NULL, "Bad Gateway", NULL, "the stored definition does not parse: %s", err);
        return NULL;
    }
    cJSON *view = bpmn_view(m, hl, (size_t)nhl);
    free(hbuf);
    free(hl);
    bpmn_free(m);
    cJSON_AddStringToObject(view, "processId", pid);
    cJSON_AddStringToObject(view, "version", v ? v : "draft");
    return view;
}

static int svg(fm_req_t *r)
{
    cJSON *view = view_of(r);
    if (!view)
        return FM_OK;
    char *s = bpmn_svg(view);
    cJSON_Delete(view);
    fm_reply_raw(r, 200, "image/svg+xml", s, strlen(s));
    free(s);
    return FM_OK;
}

static int model(fm_req_t *r)
{
    cJSON *view = view_of(r);
    return view ? fm_reply_json(r, 200, view) : FM_OK;
}

static const fm_route_t routes[] = {
    { FM_GET, "/views/{processId}.svg", svg, 0, "process:read" },
    { FM_GET, "/views/{processId}", model, 0, "process:read" },
};

const fm_module_t fm_views_module = {
    "views", "Process Views", 8019, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
