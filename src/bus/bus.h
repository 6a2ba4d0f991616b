/*
 * bus.h — the in-process event bus: CloudEvents 1.0 envelopes, dotted types
 * ("registry.service.registered"), pattern subscriptions, publish from any thread,
 * delivery on the loop thread in publish order.
 *
 * Patterns follow NATS: `*` matches exactly one segment, `>` (last segment only)
 * matches one or more. "registry.*.expired", "execution.>", ">" (everything).
 *
 * The queue is bounded (bus.queue_capacity). A publisher on a worker thread waits up
 * to bus.publish_timeout_ms for room, then gets FM_EBUSY; on the loop thread it gets
 * FM_EBUSY at once (waiting there would deadlock). If bus_publish returns an error,
 * no subscriber sees the event (libuv's rule for callbacks).
 *
 * Durable announcements go through a module's outbox (bus_outbox.c): the event row is
 * written in the same transaction as the change, the bus drains it after the commit and
 * at start, and deletes the row once every subscriber has run. A crash can therefore
 * deliver an event twice (same id), never lose it.
 */
#ifndef BUS_H
#define BUS_H

#include "fm.h"
#include "fm_db.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct bus_outbox;

struct bus_event {
    char *id, *source, *type, *subject, *tenant, *time;
    char *data;                 /* JSON text of the data member ("null" when none) */
    char *json;                 /* the whole CloudEvent as JSON text */
    struct bus_outbox *outbox;  /* where it came from, or NULL */
    int64_t outbox_id;
    struct bus_event *next;     /* queue link; private */
};

typedef void (*bus_fn)(const bus_event_t *ev, void *arg);

typedef struct bus_stats {
    uint64_t published, delivered, rejected, outbox_drained;
    uint64_t depth, capacity, subscribers;
} bus_stats_t;

/* Loop thread. publish_timeout_ms is how long a worker-thread publisher waits for room. */
int bus_init(uv_loop_t *loop, size_t capacity, int publish_timeout_ms);
/* Loop thread: delivers everything queued (and drains outboxes), then frees the bus. */
void bus_shutdown(void);
/* Loop thread: delivers everything queued and every outbox row now; for tests and stop. */
void bus_flush(void);
/* Loop thread: a few delivery rounds now (outbox rows committed so far, the queue): a
 * module that must have seen what was committed before a request posts this and waits. */
void bus_deliver_now(void);

/* Any thread. data_json is the JSON text of `data` (NULL: null); copied. */
int bus_publish(const char *source, const char *type, const char *subject,
                const char *tenant, const char *data_json);

/* Any thread: the same with the event's id and time given (NULL: made here) and, when
 * json is not NULL, that CloudEvent text delivered as ev->json (POST /events keeps the
 * attributes its publisher sent). */
int bus_publish_ce(const char *id, const char *time, const char *source, const char *type,
                   const char *subject, const char *tenant, const char *data_json, const char *json);

/* Loop thread: fn(arg) runs after every subscriber has seen a delivery batch and before
 * the outbox rows of that batch are deleted; a subscriber that buffers (the durable
 * log) makes the batch durable there. false keeps the rows for a later batch. One hook.
 * The batch's events (the bus_event_t a subscriber got) stay valid until fn returns, so
 * such a subscriber may keep pointers to them instead of copies. */
void bus_on_batch(bool (*fn)(void *arg), void *arg);

/* Any thread. Returns a subscription id (> 0) or FM_EINVAL for a bad pattern.
 * After bus_unsubscribe returns on the loop thread, fn is not called again. */
int bus_subscribe(const char *pattern, bus_fn fn, void *arg);
/* The same, leaving out the types that match `except` (a pattern; NULL: none): they are
 * not delivered to fn, and bus_wants does not count this subscription for them. */
int bus_subscribe_except(const char *pattern, const char *except, bus_fn fn, void *arg);
void bus_unsubscribe(int id);

/* Any thread: does any subscription match this type now? Modules that announce at a
 * high rate skip writing events nobody would receive (subscriptions are made at
 * start, before HTTP, so nothing later could have received them either). */
bool bus_wants(const char *type);

bool bus_type_valid(const char *type);
bool bus_pattern_valid(const char *pattern);
bool bus_pattern_match(const char *pattern, const char *type);

bus_stats_t bus_stats(void);
/* Deliveries per event type so far; fn runs under the bus's type-table lock. */
void bus_each_type(void (*fn)(const char *type, uint64_t count, void *arg), void *arg);

/* --- outbox (bus_outbox.c) --- */

/* Loop thread, after migrations: the bus drains db's fm_outbox from now on, starting
 * with what a previous run left there. `source` names the module ("registry"). */
int bus_outbox_attach(fm_db_t *db, const char *source);

/* Inside a write transaction on db (w from fm_db_write_begin): records the event; it is
 * published after the commit, and never if the transaction rolls back. */
int bus_outbox_add(fm_db_t *db, sqlite3 *w, const char *source, const char *type,
                   const char *subject, const char *tenant, const char *data_json);
/* The same inside a write begun with fm_dbq_write_begin (fm_dbq.h). */
typedef struct fm_dbc fm_dbc_t;
int bus_outbox_put(fm_dbc_t *w, const char *source, const char *type, const char *subject,
                   const char *tenant, const char *data_json);
/* The same with the event's data as a cJSON value (printed here; not taken). */
int bus_outbox_put_json(fm_dbc_t *w, const char *source, const char *type, const char *subject,
                        const char *tenant, const cJSON *data);

/* Builds the CloudEvent JSON text (caller frees); NULL on bad input or no memory. */
char *bus_event_json(const char *id, const char *source, const char *type, const char *subject,
                     const char *tenant, const char *time, const char *data_json);

#endif
