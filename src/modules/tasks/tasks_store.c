/*
 * tasks_store.c — the Human Task Service's tables (migrations/tasks/). Every query
 * filters on tenant_id except the escalation sweep, which acts for the platform. Each
 * change writes its bus event to the outbox in the same transaction, and changes to a
 * task are conditional on its version, so two racing claims cannot both win.
 */
#include "tasks_int.h"

#include "../../bus/bus.h"
#include "../../fm_dbq.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The task as docs/tasks.md shows it (TASK_HINTS, fm_dbq.h), then its tenant (left out). */
#define COLS "id, name, description, status, assignee, owner, candidate_users AS \"candidateUsers\", "       \
             "candidate_groups AS \"candidateGroups\", due_ms AS \"dueDate\", follow_up_ms AS \"followUpDate\", " \
             "priority, form, variables, response, process_instance_id AS \"processInstanceId\", "            \
             "element_id AS \"elementId\", created_at AS \"createdAt\", updated_at AS \"updatedAt\", "          \
             "completed_at AS \"completedAt\", completed_by AS \"completedBy\", "                              \
             "escalated_at IS NOT NULL AS escalated, escalated_at AS \"escalatedAt\", version, tenant_id"
#define TASK_HINTS "ssssssjjttijJjssssssbsi-"
#define COL_TENANT 23

/* The task as it now is on connection c; FM_ENOTFOUND when there is none. */
static int load(fm_dbc_t *c, const char *tenant, const char *id, cJSON **item)
{
    return fm_dbq_obj(c, "SELECT " COLS " FROM tasks WHERE tenant_id = ? AND id = ?", TASK_HINTS, item, "ss",
                      tenant, id);
}

/* Writes `type` with the task as its data to the outbox of the open transaction. */
static int publish(fm_dbc_t *w, const char *type, const char *tenant, const cJSON *item)
{
    return bus_outbox_put_json(w, TASKS_SOURCE, type, cJSON_GetObjectItem(item, "id")->valuestring, tenant, item);
}

int tasks_insert(fm_db_t *db, const task_new_t *n, cJSON **item)
{
    char id[40], now[32];
    fm_id_random("task", id, sizeof(id));
    fm_time_rfc3339(now);
    *item = NULL;
    if (n->replayed)
        *n->replayed = false;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = FM_OK;
    if (n->idem_key) {      /* asked before: the task that request made */
        char *old = NULL;
        rc = fm_dbq_str(w, "SELECT id FROM tasks WHERE tenant_id = ? AND idem_key = ?", &old, "ss", n->tenant,
                        n->idem_key);
        if (rc == FM_OK) {
            rc = load(w, n->tenant, old, item);
            free(old);
            if (rc == FM_OK && n->replayed)
                *n->replayed = true;
            goto done;
        }
        if (rc != FM_ENOTFOUND)
            goto done;
    }
    /* Times below 0 mean none (task_new_t) and are stored as NULL. */
    rc = fm_dbq_run(w, "INSERT INTO tasks(id, tenant_id, name, description, status, assignee, "
                       "candidate_users, candidate_groups, due_ms, follow_up_ms, priority, form, "
                       "variables, process_instance_id, element_id, created_at, updated_at, idem_key) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, CASE WHEN ?9 >= 0 THEN ?9 END, "
                       "CASE WHEN ?10 >= 0 THEN ?10 END, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17)",
                    "ssssssssIIissssss", id, n->tenant, n->name, n->description,
                    n->assignee ? "assigned" : "created", n->assignee, n->candidate_users_json,
                    n->candidate_groups_json, n->due_ms, n->follow_up_ms, n->priority, n->form_json,
                    n->variables_json, n->process_instance_id, n->element_id, now, n->idem_key);
    if (rc == FM_OK)
        rc = load(w, n->tenant, id, item);
    if (rc == FM_OK)
        rc = publish(w, TASKS_CREATED, n->tenant, *item);
    if (rc == FM_OK && n->assignee)
        rc = publish(w, TASKS_ASSIGNED, n->tenant, *item);
done:
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return rc;
}

int tasks_get(fm_db_t *db, const char *tenant, const char *id, cJSON **item)
{
    return fm_dbq_read_obj(db, "SELECT " COLS " FROM tasks WHERE tenant_id = ? AND id = ?", TASK_HINTS, item,
                           "ss", tenant, id);
}

/* One statement for every filter: a parameter that is NULL (or a time below 0, or a
 * flag 0) keeps every row. ?7 narrows to tasks offered to one of ?10 (candidateGroup=me),
 * ?8 to tasks assigned to ?9, offered to ?9, or offered to one of ?10 (tasks_who_t). */
#define LIST_WHERE                                                                                          \
    " WHERE tenant_id = ?1 AND (?2 IS NULL OR assignee = ?2)"                                               \
    " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM json_each(candidate_users) WHERE value = ?3))"               \
    " AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(candidate_groups) WHERE value = ?4))"              \
    " AND (?5 IS NULL OR status = ?5)"                                                                      \
    " AND (?6 < 0 OR (due_ms IS NOT NULL AND due_ms < ?6))"                                                 \
    " AND (?7 = 0 OR EXISTS (SELECT 1 FROM json_each(candidate_groups) "                                    \
    "WHERE value IN (SELECT value FROM json_each(?10))))"                                                   \
    " AND (?8 = 0 OR assignee = ?9 OR EXISTS (SELECT 1 FROM json_each(candidate_users) WHERE value = ?9)"   \
    " OR EXISTS (SELECT 1 FROM json_each(candidate_groups) WHERE value IN (SELECT value FROM json_each(?10))))"

int tasks_list(fm_db_t *db, const char *tenant, const task_filter_t *f, int offset, int limit,
               cJSON *into, int *total)
{
    return tasks_list_for(db, tenant, f, NULL, offset, limit, into, total);
}

int tasks_list_for(fm_db_t *db, const char *tenant, const task_filter_t *f, const tasks_who_t *who,
                   int offset, int limit, cJSON *into, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM tasks" LIST_WHERE,
        /* Oldest first: an inbox is worked in arrival order. */
        .rows_sql = "SELECT " COLS " FROM tasks" LIST_WHERE " ORDER BY rowid LIMIT ?11 OFFSET ?12",
        .hints = TASK_HINTS, .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "sssssIiiss", tenant, f->assignee, f->candidate_user,
                            f->candidate_group, f->status, f->due_before_ms, who && who->groups_any,
                            who && who->involved, who ? who->sub : NULL, who ? who->names_json : NULL);
}

int tasks_update(fm_db_t *db, const char *tenant, const char *id, int64_t version,
                 const task_change_t *ch, cJSON **item)
{
    char now[32];
    fm_time_rfc3339(now);
    *item = NULL;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_run(w, "UPDATE tasks SET status = coalesce(?3, status), "
                           "assignee = CASE WHEN ?4 THEN ?5 ELSE assignee END, "
                           "owner = coalesce(?6, owner), response = coalesce(?7, response), "
                           "completed_by = coalesce(?8, completed_by), "
                           "completed_at = CASE WHEN ?7 IS NOT NULL THEN ?9 ELSE completed_at END, "
                           "updated_at = ?9, version = version + 1 "
                           "WHERE tenant_id = ?1 AND id = ?2 AND version = ?10",
                        "sssisssssI", tenant, id, ch->status, (int)ch->set_assignee, ch->assignee, ch->owner,
                        ch->response_json, ch->completed_by, now, version);
    if (rc == FM_OK && fm_dbq_changes(w) == 0) {
        cJSON *cur = NULL;
        rc = load(w, tenant, id, &cur);
        cJSON_Delete(cur);
        rc = rc == FM_OK ? FM_ESTALE : rc;      /* there, but changed since `version` */
    }
    if (rc == FM_OK)
        rc = load(w, tenant, id, item);
    if (rc == FM_OK && ch->event)
        rc = publish(w, ch->event, tenant, *item);
    rc = fm_dbq_write_end(w, rc);
    if (rc != FM_OK) {
        cJSON_Delete(*item);
        *item = NULL;
    }
    return rc;
}

#define COMMENT_COLS "id, task_id AS \"taskId\", author, text, created_at AS \"createdAt\""

int tasks_comment_add(fm_db_t *db, const char *tenant, const char *task_id, const char *author,
                      const char *text, cJSON **item)
{
    char id[40], now[32];
    fm_id_random("tcm", id, sizeof(id));
    fm_time_rfc3339(now);
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    /* No row comes back when the task is not there: FM_ENOTFOUND. */
    int rc = fm_dbq_obj(w, "INSERT INTO task_comments(id, tenant_id, task_id, author, text, created_at) "
                           "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS "
                           "(SELECT 1 FROM tasks WHERE tenant_id = ?2 AND id = ?3) RETURNING " COMMENT_COLS,
                        "sssss", item, "ssssss", id, tenant, task_id, author, text, now);
    return fm_dbq_write_end(w, rc);
}

int tasks_comment_list(fm_db_t *db, const char *tenant, const char *task_id, int offset, int limit,
                       cJSON *into, int *total)
{
    fm_dbq_page_t p = {
        .count_sql = "SELECT count(*) FROM task_comments WHERE tenant_id = ? AND task_id = ?",
        .rows_sql = "SELECT " COMMENT_COLS " FROM task_comments WHERE tenant_id = ? AND task_id = ? "
                    "ORDER BY seq LIMIT ? OFFSET ?",
        .hints = "sssss", .offset = offset, .limit = limit,
    };
    return fm_dbq_read_page(db, &p, into, total, "ss", tenant, task_id);
}

typedef struct { fm_dbc_t *w; int n; } sweep_t;

static int escalate_row(const fm_dbrow_t *r, void *arg)
{
    sweep_t *s = arg;
    cJSON *item = fm_dbrow_object(r, TASK_HINTS);
    int rc = item ? publish(s->w, TASKS_ESCALATED, fm_dbrow_text(r, COL_TENANT), item) : FM_ENOMEM;
    cJSON_Delete(item);
    if (rc == FM_OK)
        s->n++;
    return rc;
}

int tasks_escalate(fm_db_t *db, int64_t now_ms, int *escalated)
{
    char now[32];
    fm_time_rfc3339_at(now_ms, now);
    *escalated = 0;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    sweep_t s = { w, 0 };
    /* RETURNING rows are all computed before the first is returned, so writing the
     * outbox while walking them is safe. */
    int rc = fm_dbq_each(w, "UPDATE tasks SET escalated_at = ?1, updated_at = ?1, version = version + 1 "
                            "WHERE due_ms <= ?2 AND escalated_at IS NULL AND status IN ('created', 'assigned') "
                            "RETURNING " COLS,
                         escalate_row, &s, "sI", now, now_ms);
    rc = fm_dbq_write_end(w, rc);
    *escalated = rc == FM_OK ? s.n : 0;
    return rc;
}
