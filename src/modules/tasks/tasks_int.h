/*
 * tasks_int.h — private to the Human Task Service module: the store (tasks_store.c)
 * shared by the routes (tasks.c) and the escalation timer (tasks_watch.c). Bus topics
 * are below; every event's data is the task as GET /tasks/{id} shows it.
 */
#ifndef TASKS_INT_H
#define TASKS_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define TASKS_SOURCE "/flowmaster/tasks"
#define TASKS_CREATED "task.created"
#define TASKS_ASSIGNED "task.assigned"
#define TASKS_COMPLETED "task.completed"
#define TASKS_ESCALATED "task.escalated"
#define TASKS_CANCELLED "task.cancelled"

typedef struct task_new {
    const char *tenant, *name, *description, *assignee;
    const char *candidate_users_json, *candidate_groups_json;   /* JSON arrays of strings */
    int64_t due_ms, follow_up_ms;       /* -1: none */
    int priority;
    const char *form_json, *variables_json;     /* form may be NULL */
    const char *process_instance_id, *element_id;
    const char *idem_key;               /* may be NULL */
    bool *replayed;                     /* may be NULL: set when idem_key found a task */
} task_new_t;

/* A change to one task, applied only if its version is still `version` (else
 * FM_ESTALE). NULL members keep what is there. */
typedef struct task_change {
    const char *status;
    bool set_assignee;
    const char *assignee;       /* with set_assignee; NULL clears */
    const char *owner;
    const char *response_json, *completed_by;
    const char *event;          /* outbox event type, or NULL */
} task_change_t;

typedef struct task_filter {
    const char *assignee, *candidate_user, *candidate_group, *status;
    int64_t due_before_ms;      /* -1: none */
} task_filter_t;

/* A person a list is narrowed to: `involved` keeps the tasks assigned to sub, offered to
 * sub, or offered to one of names_json (a JSON array: their groups and role names);
 * `groups_any` keeps the tasks offered to one of names_json (candidateGroup=me). */
typedef struct tasks_who {
    const char *sub, *names_json;
    bool involved, groups_any;
} tasks_who_t;

/* Each returns FM_OK, FM_ENOTFOUND, FM_ESTALE or FM_EDB; items are task objects as
 * docs/tasks.md shows them (caller deletes). */
int tasks_insert(fm_db_t *db, const task_new_t *n, cJSON **item);
int tasks_get(fm_db_t *db, const char *tenant, const char *id, cJSON **item);
int tasks_list(fm_db_t *db, const char *tenant, const task_filter_t *f, int offset, int limit,
               cJSON *into, int *total);
/* tasks_list narrowed to a person (who may be NULL: no narrowing). */
int tasks_list_for(fm_db_t *db, const char *tenant, const task_filter_t *f, const tasks_who_t *who,
                   int offset, int limit, cJSON *into, int *total);
int tasks_update(fm_db_t *db, const char *tenant, const char *id, int64_t version,
                 const task_change_t *ch, cJSON **item);
int tasks_comment_add(fm_db_t *db, const char *tenant, const char *task_id, const char *author,
                      const char *text, cJSON **item);
int tasks_comment_list(fm_db_t *db, const char *tenant, const char *task_id, int offset, int limit,
                       cJSON *into, int *total);

/* Loop thread: marks open tasks due at or before now_ms as escalated, once each, and
 * publishes task.escalated for each. */
int tasks_escalate(fm_db_t *db, int64_t now_ms, int *escalated);

/* tasks_watch.c: the escalation timer. */
int tasks_watch_start(fm_mod_t *m);
void tasks_watch_stop(fm_mod_t *m);

#endif
