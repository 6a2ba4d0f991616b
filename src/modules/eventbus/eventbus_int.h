/*
 * eventbus_int.h — private to the Event Bus module (9013): the durable log behind a
 * small interface (eventbus_log.c: append, read from an offset, ack per subscription),
 * the webhook dispatcher (eventbus_hooks.c) and the HTTP routes (eventbus.c).
 *
 * The log interface is what a later issue puts a NATS JetStream stream behind; nothing
 * outside eventbus_log.c touches the events table.
 */
#ifndef EVENTBUS_INT_H
#define EVENTBUS_INT_H

#include "../modules.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#define EVLOG_MAX_EVENT (256 * 1024)    /* bytes of one CloudEvent as JSON */

typedef struct evlog_rec {
    const char *tenant, *id, *source, *type, *subject, *time;
    const char *json;           /* the whole CloudEvent */
} evlog_rec_t;

typedef struct evlog_filter {
    const char *types;          /* bus pattern or NULL */
    const char *subject;        /* exact or NULL */
    int64_t since_ms;           /* events whose own `time` is at or after it; -1 all */
} evlog_filter_t;

/* One stored event as the reader sees it. */
typedef struct evlog_entry {
    int64_t offset, logged_ms;
    const char *type, *subject, *json;
} evlog_entry_t;

/* Any thread: appends n events in one transaction. offsets[i] gets each event's offset
 * (an event already in the log, same tenant + id + source, keeps its old offset).
 * Returns FM_OK or FM_EDB (nothing appended). */
int evlog_append(fm_db_t *db, const evlog_rec_t *recs, size_t n, int64_t *offsets);

/* Any thread: changes with every committed append (a reader at the end of the log
 * need not look again until it moves). */
uint64_t evlog_generation(void);

/* Any thread: calls fn for the tenant's events from offset `from` on (inclusive) that
 * pass the filter, at most `limit` of them, scanning at most `scan` rows. *next gets
 * the offset to read from next time. fn returns false to stop early (that event is
 * not counted as read). Returns FM_OK or FM_EDB. */
typedef bool (*evlog_fn)(const evlog_entry_t *e, void *arg);
int evlog_read(fm_db_t *db, const char *tenant, int64_t from, const evlog_filter_t *f,
               int limit, int scan, evlog_fn fn, void *arg, int64_t *next);

/* The first offset whose event's own `time` is at or after unix_ms (the next offset
 * when none). */
int evlog_offset_at(fm_db_t *db, const char *tenant, int64_t unix_ms, int64_t *offset);
/* The last offset handed out to the tenant (0 when none). */
int evlog_last(fm_db_t *db, const char *tenant, int64_t *last);
/* The event with that CloudEvents id; FM_ENOTFOUND when none. */
int evlog_get(fm_db_t *db, const char *tenant, const char *id, cJSON **item);

/* Acknowledges everything up to `offset` for the subscription (never moves back). */
int evlog_ack(fm_db_t *db, const char *tenant, const char *sub_id, int64_t offset);

/* Loop thread: deletes what retention says, frees pages incrementally. */
int evlog_retain(fm_db_t *db, int retain_days, int retain_mb, int *deleted);

/* Loop thread, at start: converts the file to auto_vacuum=INCREMENTAL when it is not. */
int evlog_prepare(fm_db_t *db);

/* The bus side of the log (eventbus_log.c): a `>` subscriber buffers every event and
 * the bus's batch hook appends the buffer in one transaction. */
int evlog_attach(fm_mod_t *m);
void evlog_detach(void);
uint64_t evlog_appended(void);

/* RFC 3339 → unix ms; -1 when not one. */
int64_t eventbus_parse_time(const char *s);

/* eventbus_hooks.c: webhook delivery on the loop. */
int hooks_start(fm_mod_t *m);
void hooks_stop(void);
void hooks_kick(bool subs_changed);  /* any thread: new events, or changed subscriptions */

#endif
