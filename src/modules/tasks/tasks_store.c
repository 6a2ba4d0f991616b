/*
 * tasks_store.c — the Human Task Service's tables (migrations/tasks/). Every query
 * filters on tenant_id except the escalation sweep, which acts for the platform. Each
 * change writes its bus event to the outbox in the same transaction, and changes to a
 * task are conditional on its version, so two racing claims cannot both win.
 */
#include "tasks_int.h"

#include "../../bus/bus.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS "id, name, description, status, assignee, owner, candidate_users, candidate_groups, " \
             "due_ms, follow_up_ms, priority, form, variables, response, process_instance_id, "   \
             "element_id, created_at, updated_at, completed_at, completed_by, escalated_at, version, tenant_id"

static const char *col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

static void add_json(cJSON *o, const char *name, const char *text, bool null_ok)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    if (v)
        cJSON_AddItemToObject(o, name, v);
    else if (null_ok)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddItemToObject(o, name, cJSON_CreateObject());
}

static void add_time(cJSON *o, const char *name, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    char at[32];
    fm_time_rfc3339_at(sqlite3_column_int64(st, i), at);
    cJSON_AddStringToObject(o, name, at);
}

static cJSON *row_item(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", col(st, 0));
    cJSON_AddStringToObject(o, "name", col(st, 1));
    add_str_or_null(o, "description", col(st, 2));
    cJSON_AddStringToObject(o, "status", col(st, 3));
    add_str_or_null(o, "assignee", col(st, 4));
    add_str_or_null(o, "owner", col(st, 5));
    cJSON *cu = cJSON_Parse(col(st, 6)), *cg = cJSON_Parse(col(st, 7));
    cJSON_AddItemToObject(o, "candidateUsers", cu ? cu : cJSON_CreateArray());
    cJSON_AddItemToObject(o, "candidateGroups", cg ? cg : cJSON_CreateArray());
    add_time(o, "dueDate", st, 8);
    add_time(o, "followUpDate", st, 9);
    cJSON_AddNumberToObject(o, "priority", sqlite3_column_int(st, 10));
    add_json(o, "form", col(st, 11), true);
    add_json(o, "variables", col(st, 12), false);
    add_json(o, "response", col(st, 13), true);
    add_str_or_null(o, "processInstanceId", col(st, 14));
    add_str_or_null(o, "elementId", col(st, 15));
    cJSON_AddStringToObject(o, "createdAt", col(st, 16));
    cJSON_AddStringToObject(o, "updatedAt", col(st, 17));
    add_str_or_null(o, "completedAt", col(st, 18));
    add_str_or_null(o, "completedBy", col(st, 19));
    cJSON_AddBoolToObject(o, "escalated", col(st, 20) != NULL);
    add_str_or_null(o, "escalatedAt", col(st, 20));
    cJSON_AddNumberToObject(o, "version", (double)sqlite3_column_int64(st, 21));
    return o;
}

/* The task as it now is on connection c; FM_ENOTFOUND when there is none. */
static int load(sqlite3 *c, const char *tenant, const char *id, cJSON **item)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT " COLS " FROM tasks WHERE tenant_id = ? AND id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return FM_EDB;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? FM_OK : step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    if (rc == FM_OK)
        *item = row_item(st);
    sqlite3_finalize(st);
    return rc;
}

/* Writes `type` with the task as its data to the outbox of the open transaction. */
static int publish(fm_db_t *db, sqlite3 *w, const char *type, const char *tenant, const cJSON *item)
{
    char *data = cJSON_PrintUnformatted(item);
    if (!data)
        return FM_ENOMEM;
    int rc = bus_outbox_add(db, w, TASKS_SOURCE, type, cJSON_GetObjectItem(item, "id")->valuestring,
                            tenant, data);
    cJSON_free(data);
    return rc;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_ms(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int tasks_insert(fm_db_t *db, const task_new_t *n, cJSON **item)
{
    char id[40], now[32];
    fm_id_random("task", id, sizeof(id));
    fm_time_rfc3339(now);
    *item = NULL;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (n->replayed)
        *n->replayed = false;
    if (n->idem_key) {      /* asked before: the task that request made */
        if (sqlite3_prepare_v2(w, "SELECT id FROM tasks WHERE tenant_id = ? AND idem_key = ?", -1, &st, NULL) !=
            SQLITE_OK)
            goto done;
        sqlite3_bind_text(st, 1, n->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, n->idem_key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(st, 0));
            rc = load(w, n->tenant, id, item);
            if (rc == FM_OK && n->replayed)
                *n->replayed = true;
            goto done;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (sqlite3_prepare_v2(w, "INSERT INTO tasks(id, tenant_id, name, description, status, assignee, "
                              "candidate_users, candidate_groups, due_ms, follow_up_ms, priority, form, "
                              "variables, process_instance_id, element_id, created_at, updated_at, idem_key) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, n->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->name, -1, SQLITE_STATIC);
    bind_opt_text(st, 4, n->description);
    sqlite3_bind_text(st, 5, n->assignee ? "assigned" : "created", -1, SQLITE_STATIC);
    bind_opt_text(st, 6, n->assignee);
    sqlite3_bind_text(st, 7, n->candidate_users_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, n->candidate_groups_json, -1, SQLITE_STATIC);
    bind_opt_ms(st, 9, n->due_ms);
    bind_opt_ms(st, 10, n->follow_up_ms);
    sqlite3_bind_int(st, 11, n->priority);
    bind_opt_text(st, 12, n->form_json);
    sqlite3_bind_text(st, 13, n->variables_json, -1, SQLITE_STATIC);
    bind_opt_text(st, 14, n->process_instance_id);
    bind_opt_text(st, 15, n->element_id);
    sqlite3_bind_text(st, 16, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 17, now, -1, SQLITE_STATIC);
    bind_opt_text(st, 18, n->idem_key);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    if ((rc = load(w, n->tenant, id, item)) != FM_OK)
        goto done;
    rc = publish(db, w, TASKS_CREATED, n->tenant, *item);
    if (rc == FM_OK && n->assignee)
        rc = publish(db, w, TASKS_ASSIGNED, n->tenant, *item);
done:
    sqlite3_finalize(st);
    if (rc != FM_OK && *item) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return fm_db_write_end(db, rc);
}

int tasks_get(fm_db_t *db, const char *tenant, const char *id, cJSON **item)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = load(c, tenant, id, item);
    fm_db_reader_done(db, c);
    return rc;
}

/* WHERE clause of a list; binds start at ?1 = tenant; ?9/?10 are a person (tasks_who_t). */
static void where_of(const task_filter_t *f, const tasks_who_t *who, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "tenant_id = ?1");
    if (f->assignee)
        n += (size_t)snprintf(out + n, len - n, " AND assignee = ?2");
    if (f->candidate_user)
        n += (size_t)snprintf(out + n, len - n,
                              " AND EXISTS (SELECT 1 FROM json_each(candidate_users) WHERE value = ?3)");
    if (f->candidate_group)
        n += (size_t)snprintf(out + n, len - n,
                              " AND EXISTS (SELECT 1 FROM json_each(candidate_groups) WHERE value = ?4)");
    if (who && who->groups_any)
        n += (size_t)snprintf(out + n, len - n,
                              " AND EXISTS (SELECT 1 FROM json_each(candidate_groups) "
                              "WHERE value IN (SELECT value FROM json_each(?10)))");
    if (who && who->involved)
        n += (size_t)snprintf(out + n, len - n,
                              " AND (assignee = ?9 OR EXISTS (SELECT 1 FROM json_each(candidate_users) WHERE value = ?9)"
                              " OR EXISTS (SELECT 1 FROM json_each(candidate_groups) "
                              "WHERE value IN (SELECT value FROM json_each(?10))))");
    if (f->status)
        n += (size_t)snprintf(out + n, len - n, " AND status = ?5");
    if (f->due_before_ms >= 0)
        snprintf(out + n, len - n, " AND due_ms IS NOT NULL AND due_ms < ?6");
}

static void bind_filter(sqlite3_stmt *st, const char *tenant, const task_filter_t *f, const tasks_who_t *who)
{
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    bind_opt_text(st, 2, f->assignee);
    bind_opt_text(st, 3, f->candidate_user);
    bind_opt_text(st, 4, f->candidate_group);
    bind_opt_text(st, 5, f->status);
    bind_opt_ms(st, 6, f->due_before_ms);
    if (who) {
        bind_opt_text(st, 9, who->sub);
        bind_opt_text(st, 10, who->names_json);
    }
}

int tasks_list(fm_db_t *db, const char *tenant, const task_filter_t *f, int offset, int limit,
               cJSON *into, int *total)
{
    return tasks_list_for(db, tenant, f, NULL, offset, limit, into, total);
}

int tasks_list_for(fm_db_t *db, const char *tenant, const task_filter_t *f, const tasks_who_t *who,
                   int offset, int limit, cJSON *into, int *total)
{
    char where[1024], sql[1536];
    where_of(f, who, where, sizeof(where));
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM tasks WHERE %s", where);
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_filter(st, tenant, f, who);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    /* Oldest first: an inbox is worked in arrival order. */
    snprintf(sql, sizeof(sql), "SELECT " COLS " FROM tasks WHERE %s ORDER BY rowid LIMIT ?7 OFFSET ?8", where);
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        goto done;
    bind_filter(st, tenant, f, who);
    sqlite3_bind_int(st, 7, limit);
    sqlite3_bind_int(st, 8, offset);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(into, row_item(st));
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int tasks_update(fm_db_t *db, const char *tenant, const char *id, int64_t version,
                 const task_change_t *ch, cJSON **item)
{
    char now[32];
    fm_time_rfc3339(now);
    *item = NULL;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "UPDATE tasks SET status = coalesce(?3, status), "
                              "assignee = CASE WHEN ?4 THEN ?5 ELSE assignee END, "
                              "owner = coalesce(?6, owner), response = coalesce(?7, response), "
                              "completed_by = coalesce(?8, completed_by), "
                              "completed_at = CASE WHEN ?7 IS NOT NULL THEN ?9 ELSE completed_at END, "
                              "updated_at = ?9, version = version + 1 "
                              "WHERE tenant_id = ?1 AND id = ?2 AND version = ?10",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    bind_opt_text(st, 3, ch->status);
    sqlite3_bind_int(st, 4, ch->set_assignee);
    bind_opt_text(st, 5, ch->assignee);
    bind_opt_text(st, 6, ch->owner);
    bind_opt_text(st, 7, ch->response_json);
    bind_opt_text(st, 8, ch->completed_by);
    sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, version);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto done;
    if (sqlite3_changes(w) == 0) {
        cJSON *cur = NULL;
        rc = load(w, tenant, id, &cur);
        cJSON_Delete(cur);
        rc = rc == FM_OK ? FM_ESTALE : rc;
        goto done;
    }
    if ((rc = load(w, tenant, id, item)) != FM_OK)
        goto done;
    if (ch->event)
        rc = publish(db, w, ch->event, tenant, *item);
done:
    sqlite3_finalize(st);
    if (rc != FM_OK && *item) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return fm_db_write_end(db, rc);
}

static cJSON *comment_item(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", col(st, 0));
    cJSON_AddStringToObject(o, "taskId", col(st, 1));
    cJSON_AddStringToObject(o, "author", col(st, 2));
    cJSON_AddStringToObject(o, "text", col(st, 3));
    cJSON_AddStringToObject(o, "createdAt", col(st, 4));
    return o;
}

int tasks_comment_add(fm_db_t *db, const char *tenant, const char *task_id, const char *author,
                      const char *text, cJSON **item)
{
    char id[40], now[32];
    fm_id_random("tcm", id, sizeof(id));
    fm_time_rfc3339(now);
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "INSERT INTO task_comments(id, tenant_id, task_id, author, text, created_at) "
                              "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS "
                              "(SELECT 1 FROM tasks WHERE tenant_id = ?2 AND id = ?3) "
                              "RETURNING id, task_id, author, text, created_at",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, task_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, author, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *item = comment_item(st);
        rc = FM_OK;
    } else {
        rc = step == SQLITE_DONE ? FM_ENOTFOUND : FM_EDB;
    }
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}

int tasks_comment_list(fm_db_t *db, const char *tenant, const char *task_id, int offset, int limit,
                       cJSON *into, int *total)
{
    sqlite3 *c = fm_db_reader(db);
    if (!c)
        return FM_EDB;
    int rc = FM_EDB, step;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT count(*) FROM task_comments WHERE tenant_id = ? AND task_id = ?", -1,
                           &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, task_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW)
        goto done;
    *total = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(c, "SELECT id, task_id, author, text, created_at FROM task_comments "
                              "WHERE tenant_id = ? AND task_id = ? ORDER BY seq LIMIT ? OFFSET ?",
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, task_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    sqlite3_bind_int(st, 4, offset);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        cJSON_AddItemToArray(into, comment_item(st));
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    fm_db_reader_done(db, c);
    return rc;
}

int tasks_escalate(fm_db_t *db, int64_t now_ms, int *escalated)
{
    char now[32];
    fm_time_rfc3339_at(now_ms, now);
    *escalated = 0;
    sqlite3 *w = fm_db_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_EDB, step;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w, "UPDATE tasks SET escalated_at = ?1, updated_at = ?1, version = version + 1 "
                              "WHERE due_ms <= ?2 AND escalated_at IS NULL AND status IN ('created', 'assigned') "
                              "RETURNING " COLS,
                           -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    /* RETURNING rows are all computed before the first is returned, so writing the
     * outbox while stepping is safe. */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *item = row_item(st);
        int orc = publish(db, w, TASKS_ESCALATED, col(st, 22), item);
        cJSON_Delete(item);
        if (orc != FM_OK) {
            rc = orc;
            goto done;
        }
        (*escalated)++;
    }
    rc = step == SQLITE_DONE ? FM_OK : FM_EDB;
done:
    sqlite3_finalize(st);
    return fm_db_write_end(db, rc);
}
