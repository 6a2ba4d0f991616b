/*
 * bus_int.h — private to src/bus/: what bus.c and bus_outbox.c share.
 */
#ifndef BUS_INT_H
#define BUS_INT_H

#include "bus.h"

/* Any thread: make the loop run the delivery callback soon. */
void bus__wake(void);
/* Loop thread: free places left in the queue right now. */
size_t bus__room(void);
/* Loop thread: append an event that already has its fields (room was checked). */
void bus__enqueue_nowait(bus_event_t *ev);
void bus__event_free(bus_event_t *ev);
/* One allocation for the event and its strings (freed by bus__event_free). data: JSON
 * text of data_len bytes (NULL: null); json: the CloudEvent text, or NULL to build it.
 * NULL: no memory. */
bus_event_t *bus__event_new(const char *id, const char *source, const char *type, const char *subject,
                            const char *tenant, const char *time, const char *data, size_t data_len,
                            const char *json);
/* Any thread: a new event id (UUIDv7) and the time now (RFC 3339), cheaply. */
void bus__stamp(char id[37], char ts[32]);

/* bus_outbox.c, loop thread only. */
bool bus__outbox_drain(void);              /* enqueues pending rows; true if more wait */
void bus__outbox_delivered(const bus_event_t *ev);
/* Deletes delivered rows; unless force, at most once per 100 ms per database: returns
 * true when some wait for a later call. */
bool bus__outbox_commit_deletes(bool force);
void bus__outbox_durable(void);     /* the batch hook took what was delivered so far */
void bus__outbox_free_all(void);
uint64_t bus__outbox_drained(void);     /* any thread */

#endif
