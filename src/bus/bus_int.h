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

/* bus_outbox.c, loop thread only. */
bool bus__outbox_drain(void);              /* enqueues pending rows; true if more wait */
void bus__outbox_delivered(const bus_event_t *ev);
void bus__outbox_commit_deletes(void);
void bus__outbox_free_all(void);
uint64_t bus__outbox_drained(void);     /* any thread */

#endif
