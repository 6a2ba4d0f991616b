/*
 * fm_fts.h — user text as an SQLite FTS5 MATCH expression: the words of the text
 * (letters, digits and any non-ASCII byte), each double-quoted so no operator of the
 * FTS5 query syntax ever reaches SQLite from a user. Shared by the modules that search
 * with FTS5 (Marketplace, Agent Service).
 */
#ifndef FM_FTS_H
#define FM_FTS_H

#include <stdbool.h>
#include <stddef.h>

/* Writes at most max_terms words of text into out as "w1"* "w2"* (prefix) or
 * "w1" "w2", joined by spaces (every word must match) or, with `any`, by OR. Words that
 * do not fit in out are left out. Returns the number of terms written (0: out is ""). */
int fm_fts_match(const char *text, bool prefix, bool any, int max_terms, char *out, size_t len);

#endif
