/*
 * fm_db.h — one SQLite file per module (<data-dir>/<module>.db), in WAL mode.
 *
 * Writes go through one writer connection behind a mutex, each inside BEGIN IMMEDIATE
 * (racing writers on one file stall for seconds in SQLite; DESIGN.md). Readers borrow a
 * connection from a small pool, so a burst of reads never opens one connection per
 * worker thread. Any thread may call any of these.
 *
 *   sqlite3 *w = fm_db_write_begin(db);      // NULL: error, nothing held
 *   ... statements on w, bus_outbox_add(db, w, ...) ...
 *   rc = fm_db_write_end(db, rc);            // commits when rc == FM_OK, else rolls back
 */
#ifndef FM_DB_H
#define FM_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fm_db fm_db_t;

typedef struct fm_db_opts {
    bool full_sync;     /* synchronous=FULL instead of NORMAL */
    int cache_kib;      /* page cache of the writer; readers get a quarter */
    bool background_checkpoint;  /* no checkpoint inside commits: the owner calls
                                    fm_db_checkpoint off the request path */
    int64_t wal_truncate_bytes;  /* fm_db_checkpoint truncates a WAL larger than this;
                                    0: FM_DB_WAL_TRUNCATE_BYTES */
} fm_db_opts_t;

/* A WAL is only reused from its start after a checkpoint, never shrunk: one burst (or
 * a long reader holding checkpoints back) leaves the file at its largest for good. Past
 * this size fm_db_checkpoint runs a TRUNCATE checkpoint, which waits for readers and
 * the writer (busy timeout) and leaves the WAL empty. */
#define FM_DB_WAL_TRUNCATE_BYTES (64LL << 20)

/* Opens (creating) path; err gets a one-line reason on failure. */
int fm_db_open(fm_db_t **out, const char *path, const fm_db_opts_t *opts, char *err, size_t errlen);
void fm_db_close(fm_db_t *db);

sqlite3 *fm_db_write_begin(fm_db_t *db);
int fm_db_write_end(fm_db_t *db, int rc);

/* Inside a write transaction: a statement on the writer, prepared once and kept until
 * the database closes (reset, bindings cleared). `sql` must be a static string: it
 * is cached by its address. NULL when it does not prepare (logged). */
sqlite3_stmt *fm_db_stmt(fm_db_t *db, const char *sql);

sqlite3 *fm_db_reader(fm_db_t *db);             /* NULL on error */
void fm_db_reader_done(fm_db_t *db, sqlite3 *c);
/* Readers borrowed and not given back yet (tests check that a store returns them all). */
int fm_db_readers_lent(fm_db_t *db);

/* Closes pooled readers idle for idle_s seconds or more: a module nobody reads from
 * keeps only its writer open (each connection costs ~100 KiB resident). */
void fm_db_trim(fm_db_t *db, double idle_s);

/* Bytes in the write-ahead log, and a PASSIVE checkpoint of it (TRUNCATE when the WAL
 * is past wal_truncate_bytes). A commit that
 * checkpoints must fsync the database, which under I/O pressure stalls that request
 * for seconds; `serve` therefore checkpoints from libuv's thread pool instead.
 * fm_db_checkpoint: any one thread at a time. */
int64_t fm_db_wal_size(const fm_db_t *db);
int fm_db_checkpoint(fm_db_t *db);

const char *fm_db_path(const fm_db_t *db);
int64_t fm_db_size(const fm_db_t *db);          /* bytes of the file plus its WAL */

/* After a commit in which fm_db_outbox_touched() was called, fn(arg) runs on the
 * committing thread (the bus uses it to drain the outbox). */
void fm_db_on_outbox_commit(fm_db_t *db, void (*fn)(void *arg), void *arg);
void fm_db_outbox_touched(fm_db_t *db);

/* Convenience: exec SQL on the writer connection outside a transaction (migrations). */
int fm_db_exec(sqlite3 *c, const char *sql, char *err, size_t errlen);

#endif
