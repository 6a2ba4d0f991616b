/*
 * tasks.c — Human Task Service (9006): tasks for people, created over HTTP or by the
 * engine; an inbox with filters; assignment, claiming, delegation; responses validated
 * against the task's form (tasks_jsonschema.c); comments (docs/tasks.md).
 *
 * Who may read a task: GET /tasks, /tasks/{id} and its comments are FM_R_ABAC routes
 * for task:read; with only conditional grants (the participant role) a list holds the
 * tasks assigned or offered to the caller, by user or by one of their groups.
 *
 * Who may work a task: claim, unclaim, respond, delegate and commenting are FM_R_ABAC
 * routes for task:work. After loading the task the handler asks fm_req_authz with the
 * task's {assignee, candidateUsers, candidateGroups}, so the participant role's
 * conditional grants decide. Unclaim, delegate and respond further need the caller to
 * be the assignee, unless an unconditional task:work grant (admin, operator, service)
 * or an internal call (the engine) stands behind the request.
 */
#include "tasks_int.h"
#include "tasks_formjs.h"
#include "tasks_jsonschema.h"

#include "../../auth/fm_auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 128
#define MAX_CANDIDATES 100

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- RFC 3339 ---- */

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "2026-11-26T10:00:00Z", with optional fraction and a ±hh:mm offset, to unix ms;
 * -1 when it is not an RFC 3339 date-time in 1970..9999. */
static int64_t parse_time(const char *s)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || sec < 0 || sec > 60)
        return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap)
        return -1;
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        int nd = 0;
        for (p++; isdigit((unsigned char)*p); p++, nd++)
            if (nd < 3)
                ms = ms * 10 + (*p - '0');
        if (nd == 0)
            return -1;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    int off = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    int64_t t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + (sec > 59 ? 59 : sec);
    t -= (int64_t)off * 60;
    return t < 0 ? -1 : t * 1000 + ms;
}

/* An optional RFC 3339 member: *ms gets -1 when absent. Replies 422 when bad. */
static int body_time(fm_req_t *r, const cJSON *j, const char *name, int64_t *ms)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    *ms = -1;
    if (!v || cJSON_IsNull(v))
        return FM_OK;
    if (!cJSON_IsString(v) || (*ms = parse_time(v->valuestring)) < 0) {
        fm_reply_invalid(r, name, "must be an RFC 3339 date-time, e.g. 2026-01-31T17:00:00Z");
        return FM_REPLIED;
    }
    return FM_OK;
}

/* An optional array of 1..128-character strings; *json gets its text ("[]" when
 * absent; caller frees with cJSON_free). Replies 422 when bad. */
static int body_names(fm_req_t *r, const cJSON *j, const char *name, char **json)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name), *x;
    *json = NULL;
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_CANDIDATES) {
            fm_reply_invalid(r, name, "must be an array of at most 100 strings");
            return FM_REPLIED;
        }
        cJSON_ArrayForEach(x, v)
            if (!cJSON_IsString(x) || !*x->valuestring || strlen(x->valuestring) > ID_MAX) {
                fm_reply_invalid(r, name, "must hold strings of 1 to 128 characters");
                return FM_REPLIED;
            }
        *json = cJSON_PrintUnformatted(v);
    }
    return FM_OK;
}

/* ---- routes ---- */

static const fm_field_t create_fields[] = {
    { "name", FM_F_STRING, true, 1, 256, NULL },
    { "description", FM_F_STRING, false, 0, 4000, NULL },
    { "assignee", FM_F_STRING, false, 1, ID_MAX, NULL },
    { "candidateUsers", FM_F_ARRAY, false, 0, 0, NULL },
    { "candidateGroups", FM_F_ARRAY, false, 0, 0, NULL },
    { "dueDate", FM_F_STRING, false, 0, 0, NULL },
    { "followUpDate", FM_F_STRING, false, 0, 0, NULL },
    { "priority", FM_F_INT, false, 0, 100, NULL },
    { "form", FM_F_OBJECT, false, 0, 0, NULL },
    { "variables", FM_F_OBJECT, false, 0, 0, NULL },
    { "processInstanceId", FM_F_STRING, false, 1, ID_MAX, NULL },
    { "elementId", FM_F_STRING, false, 1, ID_MAX, NULL },
};

static void set_etag(fm_req_t *r, const cJSON *item);

static int create(fm_req_t *r)
{
    if (fm_req_check(r, create_fields, sizeof(create_fields) / sizeof(create_fields[0])))
        return FM_OK;
    cJSON *j = fm_req_json(r);
    const cJSON *prio = cJSON_GetObjectItem(j, "priority");
    const cJSON *form = cJSON_GetObjectItem(j, "form"), *vars = cJSON_GetObjectItem(j, "variables");
    task_new_t n = {
        fm_req_tenant(r), str_of(j, "name"), str_of(j, "description"), str_of(j, "assignee"),
        NULL, NULL, -1, -1, cJSON_IsNumber(prio) ? prio->valueint : 50, NULL, NULL,
        str_of(j, "processInstanceId"), str_of(j, "elementId"), fm_req_header(r, "Idempotency-Key"), NULL,
    };
    bool replayed = false;
    n.replayed = &replayed;
    if (n.idem_key && (!*n.idem_key || strlen(n.idem_key) > 200))
        return fm_reply_problem(r, 400, NULL, NULL, NULL, "Idempotency-Key must be 1 to 200 characters");
    char *cu = NULL, *cg = NULL, *form_json = NULL, *vars_json = NULL;
    cJSON *item = NULL;
    int rc = FM_OK;
    if (body_time(r, j, "dueDate", &n.due_ms) || body_time(r, j, "followUpDate", &n.follow_up_ms) ||
        body_names(r, j, "candidateUsers", &cu) || body_names(r, j, "candidateGroups", &cg))
        goto cleanup;
    if (cJSON_IsObject(form)) {
        char why[256];
        if (tasks_formjs_is(form) ? tasks_formjs_check(form, why, sizeof(why))
                                  : tasks_schema_check(form, why, sizeof(why))) {
            fm_reply_invalid(r, "form", why);
            goto cleanup;
        }
        form_json = cJSON_PrintUnformatted(form);
    }
    vars_json = cJSON_IsObject(vars) ? cJSON_PrintUnformatted(vars) : NULL;
    n.candidate_users_json = cu ? cu : "[]";
    n.candidate_groups_json = cg ? cg : "[]";
    n.form_json = form_json;
    n.variables_json = vars_json ? vars_json : "{}";
    rc = tasks_insert(db_of(r), &n, &item);
    if (rc == FM_OK) {
        char loc[96];
        snprintf(loc, sizeof(loc), "/tasks/%s", str_of(item, "id"));
        fm_reply_header(r, "Location", loc);
        set_etag(r, item);
        rc = fm_reply_json(r, replayed ? 200 : 201, item);
    }
cleanup:
    cJSON_free(cu);
    cJSON_free(cg);
    cJSON_free(form_json);
    cJSON_free(vars_json);
    return rc;
}

static void set_etag(fm_req_t *r, const cJSON *item)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%.0f\"", cJSON_GetObjectItem(item, "version")->valuedouble);
    fm_reply_header(r, "ETag", etag);
}

/* Loads the task of the path; replies 404 (and returns FM_REPLIED) when there is none. */
static int load(fm_req_t *r, cJSON **task)
{
    *task = NULL;
    int rc = tasks_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), task);
    if (rc == FM_ENOTFOUND) {
        fm_reply_problem(r, 404, NULL, NULL, NULL, "no task with id '%s'", fm_req_param(r, "id"));
        return FM_REPLIED;
    }
    return rc;
}

static cJSON *resource_of(const cJSON *t);

/* Loads the task of the path and decides task:read on it: FM_OK with *task set, or
 * FM_REPLIED after a 404 or 403 (a participant reads only what is assigned or offered
 * to them: the role's conditional task:read grants). */
static int load_for_read(fm_req_t *r, cJSON **task)
{
    int rc = load(r, task);
    if (rc)
        return rc;
    cJSON *res = resource_of(*task);
    rc = fm_req_authz(r, "task:read", res);
    cJSON_Delete(res);
    if (rc) {
        cJSON_Delete(*task);
        *task = NULL;
    }
    return rc;
}

static int get(fm_req_t *r)
{
    cJSON *t;
    int rc = load_for_read(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    set_etag(r, t);
    return fm_reply_json(r, 200, t);
}

static const char *const statuses[] = { "created", "assigned", "completed", "cancelled", NULL };

#define VISIBLE_SCAN_MAX 10000  /* tasks involving one person a conditional list reads */

/* The caller's groups and role names as a JSON array (caller frees with cJSON_free). */
static char *names_of(const fm_principal_t *p)
{
    cJSON *a = cJSON_CreateArray();
    const char *g = p->groups;
    for (int i = 0; i < p->ngroups; i++, g += strlen(g) + 1)
        cJSON_AddItemToArray(a, cJSON_CreateString(g));
    g = p->roles;
    for (int i = 0; i < p->nroles; i++, g += strlen(g) + 1)
        cJSON_AddItemToArray(a, cJSON_CreateString(g));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* A page of the tasks involving the caller that their conditional task:read grants
 * let them read; the conditions are decided per task, so paging happens here. */
static int list_visible(fm_req_t *r, const task_filter_t *f, tasks_who_t *who, int offset, int limit)
{
    cJSON *all = cJSON_CreateArray();
    int total = 0;
    who->involved = true;
    int rc = tasks_list_for(db_of(r), fm_req_tenant(r), f, who, 0, VISIBLE_SCAN_MAX + 1, all, &total);
    if (rc != FM_OK) {
        cJSON_Delete(all);
        return rc;
    }
    if (total > VISIBLE_SCAN_MAX) {
        cJSON_Delete(all);
        return fm_reply_problem(r, 422, NULL, NULL, NULL,
                                "more than %d tasks involve you; narrow the list with status or dueBefore",
                                VISIBLE_SCAN_MAX);
    }
    cJSON *items = cJSON_CreateArray(), *t;
    int seen = 0;
    while ((t = cJSON_DetachItemFromArray(all, 0))) {
        cJSON *res = resource_of(t);
        bool ok = fm_authz(fm_req_principal(r), "task:read", res);
        cJSON_Delete(res);
        if (ok && seen >= offset && seen < offset + limit)
            cJSON_AddItemToArray(items, t);
        else
            cJSON_Delete(t);
        seen += ok;
    }
    cJSON_Delete(all);
    return fm_reply_page(r, items, offset, seen);
}

static int list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    char assignee[160], cuser[160], cgroup[160], status[32], due[64];
    task_filter_t f = {
        fm_req_query(r, "assignee", assignee, sizeof(assignee)),
        fm_req_query(r, "candidateUser", cuser, sizeof(cuser)),
        fm_req_query(r, "candidateGroup", cgroup, sizeof(cgroup)),
        fm_req_query(r, "status", status, sizeof(status)),
        -1,
    };
    /* "me" is the caller: as assignee, as candidate user, and for candidateGroup any
     * of the caller's groups (or role names). */
    const fm_principal_t *p = fm_req_principal(r);
    const char *me[] = { f.assignee, f.candidate_user, f.candidate_group };
    const char *me_field[] = { "assignee", "candidateUser", "candidateGroup" };
    for (int i = 0; i < 3; i++)
        if (me[i] && !strcmp(me[i], "me") && !p)
            return fm_reply_invalid(r, me_field[i], "'me' needs a signed-in caller");
    tasks_who_t who = { p ? p->sub : NULL, NULL, false, false };
    if (f.assignee && !strcmp(f.assignee, "me"))
        f.assignee = p->sub;
    if (f.candidate_user && !strcmp(f.candidate_user, "me"))
        f.candidate_user = p->sub;
    if (f.candidate_group && !strcmp(f.candidate_group, "me")) {
        f.candidate_group = NULL;
        who.groups_any = true;
    }
    if (f.status) {
        bool ok = false;
        for (int i = 0; statuses[i]; i++)
            ok |= !strcmp(statuses[i], f.status);
        if (!ok)
            return fm_reply_invalid(r, "status", "must be created, assigned, completed or cancelled");
    }
    const char *dues = fm_req_query(r, "dueBefore", due, sizeof(due));
    if (dues && (f.due_before_ms = parse_time(dues)) < 0)
        return fm_reply_invalid(r, "dueBefore", "must be an RFC 3339 date-time, e.g. 2026-01-31T17:00:00Z");
    bool conditional = p && fm_authz_static(p, "task:read") != FM_AUTHZ_ALLOW;
    char *names = p && (conditional || who.groups_any) ? names_of(p) : NULL;
    who.names_json = names;
    int rc;
    if (conditional) {
        rc = list_visible(r, &f, &who, offset, limit);
        cJSON_free(names);
        return rc;
    }
    cJSON *items = cJSON_CreateArray();
    rc = tasks_list_for(db_of(r), fm_req_tenant(r), &f, who.groups_any ? &who : NULL, offset, limit, items, &total);
    cJSON_free(names);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static bool is_open(const cJSON *t)
{
    const char *s = str_of(t, "status");
    return s && (!strcmp(s, "created") || !strcmp(s, "assigned"));
}

/* The attributes the participant role's conditions look at. */
static cJSON *resource_of(const cJSON *t)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *a = cJSON_GetObjectItem(t, "assignee");
    if (cJSON_IsString(a))
        cJSON_AddStringToObject(o, "assignee", a->valuestring);
    cJSON_AddItemToObject(o, "candidateUsers", cJSON_Duplicate(cJSON_GetObjectItem(t, "candidateUsers"), 1));
    cJSON_AddItemToObject(o, "candidateGroups", cJSON_Duplicate(cJSON_GetObjectItem(t, "candidateGroups"), 1));
    return o;
}

/* Loads the task and decides task:work on it: FM_OK with *task set, or FM_REPLIED
 * after a 404 or 403. */
static int load_for_work(fm_req_t *r, cJSON **task)
{
    int rc = load(r, task);
    if (rc)
        return rc;
    cJSON *res = resource_of(*task);
    rc = fm_req_authz(r, "task:work", res);
    cJSON_Delete(res);
    if (rc) {
        cJSON_Delete(*task);
        *task = NULL;
    }
    return rc;
}

/* True when the caller acts for the platform or holds task:work unconditionally. */
static bool works_any(const fm_req_t *r)
{
    const fm_principal_t *p = fm_req_principal(r);
    return !p || fm_authz_static(p, "task:work") == FM_AUTHZ_ALLOW;
}

static bool is_assignee(const fm_req_t *r, const cJSON *t)
{
    const fm_principal_t *p = fm_req_principal(r);
    const char *a = str_of(t, "assignee");
    return p && a && !strcmp(p->sub, a);
}

/* If-Match, when sent, must name the task's current version (412 otherwise). */
static int check_if_match(fm_req_t *r, const cJSON *t)
{
    const char *im;
    if (fm_req_if_match(r, &im) != FM_OK)
        return FM_REPLIED;
    if (!im || !strcmp(im, "*"))
        return FM_OK;
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%.0f\"", cJSON_GetObjectItem(t, "version")->valuedouble);
    if (strcmp(im, etag)) {
        fm_reply_problem(r, 412, NULL, NULL, NULL, "the task is at version %s", etag);
        return FM_REPLIED;
    }
    return FM_OK;
}

/* Applies ch to the loaded task t, answering 200 with the task, or 409 when it changed
 * meanwhile. Takes t. */
static int apply(fm_req_t *r, cJSON *t, const task_change_t *ch)
{
    cJSON *item = NULL;
    int64_t version = (int64_t)cJSON_GetObjectItem(t, "version")->valuedouble;
    int rc = tasks_update(db_of(r), fm_req_tenant(r), str_of(t, "id"), version, ch, &item);
    cJSON_Delete(t);
    if (rc == FM_ESTALE)
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "the task changed meanwhile; reload it and retry");
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no task with id '%s'", fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    set_etag(r, item);
    return fm_reply_json(r, 200, item);
}

static int not_open(fm_req_t *r, cJSON *t)
{
    fm_reply_problem(r, 409, NULL, NULL, NULL, "the task is %s", str_of(t, "status"));
    cJSON_Delete(t);
    return FM_OK;
}

static const fm_field_t assign_fields[] = {
    { "assignee", FM_F_STRING, true, 1, ID_MAX, NULL },
};

static int assign(fm_req_t *r)
{
    if (fm_req_check(r, assign_fields, 1))
        return FM_OK;
    cJSON *t;
    int rc = load(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (check_if_match(r, t)) {
        cJSON_Delete(t);
        return FM_OK;
    }
    if (!is_open(t))
        return not_open(r, t);
    task_change_t ch = { "assigned", true, str_of(fm_req_json(r), "assignee"), NULL, NULL, NULL, TASKS_ASSIGNED };
    return apply(r, t, &ch);
}

static int claim(fm_req_t *r)
{
    cJSON *t;
    int rc = load_for_work(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    const fm_principal_t *p = fm_req_principal(r);
    if (!p) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 422, NULL, NULL, NULL, "claiming needs a signed-in caller");
    }
    if (!is_open(t))
        return not_open(r, t);
    const char *a = str_of(t, "assignee");
    if (a && strcmp(a, p->sub)) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "the task is claimed by someone else");
    }
    if (a) {    /* already the caller's: nothing changes */
        set_etag(r, t);
        return fm_reply_json(r, 200, t);
    }
    task_change_t ch = { "assigned", true, p->sub, NULL, NULL, NULL, TASKS_ASSIGNED };
    return apply(r, t, &ch);
}

static int unclaim(fm_req_t *r)
{
    cJSON *t;
    int rc = load_for_work(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (!is_open(t))
        return not_open(r, t);
    if (!str_of(t, "assignee")) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "the task is not claimed");
    }
    if (!is_assignee(r, t) && !works_any(r)) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 403, NULL, NULL, NULL, "only the assignee may unclaim the task");
    }
    task_change_t ch = { "created", true, NULL, NULL, NULL, NULL, TASKS_ASSIGNED };
    return apply(r, t, &ch);
}

static const fm_field_t delegate_fields[] = {
    { "to", FM_F_STRING, true, 1, ID_MAX, NULL },
};

static int delegate(fm_req_t *r)
{
    if (fm_req_check(r, delegate_fields, 1))
        return FM_OK;
    cJSON *t;
    int rc = load_for_work(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (!is_open(t))
        return not_open(r, t);
    const char *a = str_of(t, "assignee");
    if (!a) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 409, NULL, NULL, NULL, "only an assigned task can be delegated; claim it first");
    }
    if (!is_assignee(r, t) && !works_any(r)) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 403, NULL, NULL, NULL, "only the assignee may delegate the task");
    }
    /* The owner is whoever held the task when it was first delegated. */
    char owner[ID_MAX + 1];
    snprintf(owner, sizeof(owner), "%s", str_of(t, "owner") ? str_of(t, "owner") : a);
    task_change_t ch = { "assigned", true, str_of(fm_req_json(r), "to"), owner, NULL, NULL, TASKS_ASSIGNED };
    return apply(r, t, &ch);
}

static int respond(fm_req_t *r)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(fm_req_json(r), "response");
    if (!cJSON_IsObject(fm_req_json(r)))
        return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", NULL,
                                "the body must be a JSON object");
    if (!cJSON_IsObject(resp))
        return fm_reply_invalid(r, "response", resp ? "must be an object" : "is required");
    cJSON *t;
    int rc = load_for_work(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (!is_open(t))
        return not_open(r, t);
    if (!is_assignee(r, t) && !works_any(r)) {
        cJSON_Delete(t);
        return fm_reply_problem(r, 403, NULL, NULL, NULL,
                                "only the assignee may respond; claim the task first");
    }
    const cJSON *form = cJSON_GetObjectItem(t, "form");
    if (cJSON_IsObject(form)) {
        cJSON *errs = cJSON_CreateArray();
        int n = tasks_formjs_is(form)
                    ? tasks_formjs_validate(form, resp, cJSON_GetObjectItem(t, "variables"), "/response", errs)
                    : tasks_schema_validate(form, resp, "/response", errs);
        if (n) {
            cJSON *ext = cJSON_CreateObject();
            cJSON_AddItemToObject(ext, "errors", errs);
            cJSON_Delete(t);
            return fm_reply_problem(r, 422, "urn:flowmaster:problem:validation", "Validation Failed", ext,
                                    "the response violates the task's form in %d place%s", n, n == 1 ? "" : "s");
        }
        cJSON_Delete(errs);
    }
    char *json = cJSON_PrintUnformatted(resp);
    if (!json) {
        cJSON_Delete(t);
        return FM_ENOMEM;
    }
    const fm_principal_t *p = fm_req_principal(r);
    task_change_t ch = { "completed", false, NULL, NULL, json, p ? p->sub : "system", TASKS_COMPLETED };
    rc = apply(r, t, &ch);
    cJSON_free(json);
    return rc;
}

/* Withdraws an open task (the engine does when its element is left another way). */
static int cancel(fm_req_t *r)
{
    cJSON *t;
    int rc = load(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    if (check_if_match(r, t)) {
        cJSON_Delete(t);
        return FM_OK;
    }
    if (!is_open(t))
        return not_open(r, t);
    task_change_t ch = { "cancelled", false, NULL, NULL, NULL, NULL, TASKS_CANCELLED };
    return apply(r, t, &ch);
}

static const fm_field_t comment_fields[] = {
    { "text", FM_F_STRING, true, 1, 4000, NULL },
};

static int comment_add(fm_req_t *r)
{
    if (fm_req_check(r, comment_fields, 1))
        return FM_OK;
    cJSON *t;
    int rc = load_for_work(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    cJSON_Delete(t);
    const fm_principal_t *p = fm_req_principal(r);
    cJSON *item = NULL;
    rc = tasks_comment_add(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), p ? p->sub : "system",
                           str_of(fm_req_json(r), "text"), &item);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no task with id '%s'", fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    return fm_reply_json(r, 201, item);
}

static int comment_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 50, &limit, &offset))
        return FM_OK;
    cJSON *t;
    int rc = load_for_read(r, &t);
    if (rc)
        return rc == FM_REPLIED ? FM_OK : rc;
    cJSON_Delete(t);
    cJSON *items = cJSON_CreateArray();
    rc = tasks_comment_list(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

static const fm_route_t routes[] = {
    { FM_POST, "/tasks", create, FM_R_JSON, "task:write" },
    { FM_GET, "/tasks", list, FM_R_ABAC, "task:read" },
    { FM_GET, "/tasks/{id}", get, FM_R_ABAC, "task:read" },
    { FM_PUT, "/tasks/{id}/assign", assign, FM_R_JSON, "task:assign" },
    { FM_PUT, "/tasks/{id}/claim", claim, FM_R_ABAC, "task:work" },
    { FM_PUT, "/tasks/{id}/unclaim", unclaim, FM_R_ABAC, "task:work" },
    { FM_PUT, "/tasks/{id}/respond", respond, FM_R_JSON | FM_R_ABAC, "task:work" },
    { FM_PUT, "/tasks/{id}/delegate", delegate, FM_R_JSON | FM_R_ABAC, "task:work" },
    { FM_PUT, "/tasks/{id}/cancel", cancel, 0, "task:write" },
    { FM_POST, "/tasks/{id}/comments", comment_add, FM_R_JSON | FM_R_ABAC, "task:work" },
    { FM_GET, "/tasks/{id}/comments", comment_list, FM_R_ABAC, "task:read" },
};

const fm_module_t fm_tasks_module = {
    "tasks", "Human Task Service", 9006, FM_M_DB, FM_ROUTES(routes), NULL,
    tasks_watch_start, tasks_watch_stop,
};
