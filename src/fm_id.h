/*
 * fm_id.h — identifiers: UUIDv7 (time-ordered, for events and rows that sort by
 * creation) and short random ids with a type prefix ("svc_3kq9…"). Any thread.
 */
#ifndef FM_ID_H
#define FM_ID_H

#include <stddef.h>

void fm_uuid7(char out[37]);
/* prefix + '_' + 20 chars of Crockford base32 ([0-9a-z] without i, l, o, u);
 * out must hold strlen(prefix) + 22 bytes. */
void fm_id_random(const char *prefix, char *out, size_t outlen);

/* The same shape, from a fast per-thread generator: unique, not unpredictable. For
 * request ids and the like, never for anything an attacker must not guess. */
void fm_id_fast(const char *prefix, char *out, size_t outlen);

#endif
