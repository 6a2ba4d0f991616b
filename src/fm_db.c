/* fm_db.c — per-module SQLite files: one locked writer, a pool of readers; see fm_db.h. */
#include "fm_db.h"
#include "fm_db_int.h"

#include "fm.h"
#include "fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READER_POOL 16  /* idle readers kept open per database (closed after READER_IDLE_S idle) */

#define FM_DB_WSTMTS 64

struct fm_db {
    char *path;
    fm_db_opts_t opts;
    sqlite3 *writer;
    pthread_mutex_t wlock;      /* held from write_begin to write_end */
    bool outbox_dirty;          /* under wlock */
    struct { const char *sql; sqlite3_stmt *st; } wstmts[FM_DB_WSTMTS];  /* under wlock */
    int nwstmts;
    void (*on_outbox)(void *);
    void *on_outbox_arg;
    struct fm_dbc wconn;        /* the writer with fm_dbq's statements: under wlock */
    pthread_mutex_t plock;      /* guards the reader pool */
    sqlite3 *ckpt;              /* checkpoint connection: threadpool only, one at a time */
    struct fm_dbc *idle[READER_POOL];   /* each with its statement cache */
    int lent;                   /* readers out of the pool */
    double idle_since[READER_POOL];
    int nidle;
};

int fm_db_exec(sqlite3 *c, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(c));
        sqlite3_free(msg);
        return FM_EDB;
    }
    return FM_OK;
}

static int open_conn(sqlite3 **out, const char *path, bool readonly, const fm_db_opts_t *o,
                     char *err, size_t errlen)
{
    int flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY
                                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3 *c = NULL;
    if (sqlite3_open_v2(path, &c, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, c ? sqlite3_errmsg(c) : "out of memory");
        sqlite3_close(c);
        return FM_EDB;
    }
    sqlite3_busy_timeout(c, 5000);
    char pragmas[256];
    int cache = readonly ? o->cache_kib / 4 : o->cache_kib;
    snprintf(pragmas, sizeof(pragmas),
             "%sPRAGMA synchronous=%s; PRAGMA cache_size=-%d; PRAGMA foreign_keys=ON;",
             readonly ? "" : o->background_checkpoint ? "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; "
                                                      : "PRAGMA journal_mode=WAL; ",
             o->full_sync ? "FULL" : "NORMAL",
             cache < 64 ? 64 : cache);
    char why[256];
    if (fm_db_exec(c, pragmas, why, sizeof(why)) != FM_OK) {
        snprintf(err, errlen, "%s: %s", path, why);
        sqlite3_close(c);
        return FM_EDB;
    }
    *out = c;
    return FM_OK;
}

/* Process-wide SQLite settings, before the first connection. SQLite's default makes
 * every connection grab ~90 KiB of page cache up front; with a writer per module and
 * pooled readers that was most of the idle memory. Pages now come as they are used. */
static void global_init(void)
{
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
    sqlite3_initialize();
}

int fm_db_open(fm_db_t **out, const char *path, const fm_db_opts_t *opts, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    fm_db_t *db = calloc(1, sizeof(*db));
    if (!db || !(db->path = strdup(path))) {
        free(db);
        snprintf(err, errlen, "out of memory");
        return FM_ENOMEM;
    }
    db->opts = *opts;
    if (open_conn(&db->writer, path, false, opts, err, errlen) != FM_OK) {
        free(db->path);
        free(db);
        return FM_EDB;
    }
    db->wconn.db = db;
    db->wconn.c = db->writer;
    db->wconn.writer = true;
    pthread_mutex_init(&db->wlock, NULL);
    pthread_mutex_init(&db->plock, NULL);
    *out = db;
    return FM_OK;
}

void fm__dbc_clear(struct fm_dbc *c)
{
    for (int i = 0; i < c->nstmts; i++)
        sqlite3_finalize(c->stmts[i].st);
    c->nstmts = 0;
    c->evict = 0;
}

static void close_reader(struct fm_dbc *r)
{
    fm__dbc_clear(r);
    sqlite3_close(r->c);
    free(r);
}

void fm_db_close(fm_db_t *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->nwstmts; i++)
        sqlite3_finalize(db->wstmts[i].st);
    fm__dbc_clear(&db->wconn);
    for (int i = 0; i < db->nidle; i++)
        close_reader(db->idle[i]);
    sqlite3_close(db->ckpt);
    sqlite3_close(db->writer);
    pthread_mutex_destroy(&db->wlock);
    pthread_mutex_destroy(&db->plock);
    free(db->path);
    free(db);
}

sqlite3_stmt *fm_db_stmt(fm_db_t *db, const char *sql)
{
    for (int i = 0; i < db->nwstmts; i++)
        if (db->wstmts[i].sql == sql) {
            sqlite3_reset(db->wstmts[i].st);
            sqlite3_clear_bindings(db->wstmts[i].st);
            return db->wstmts[i].st;
        }
    if (db->nwstmts == FM_DB_WSTMTS)
        return NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->writer, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fm_log_msg(FM_LOG_ERROR, "statement failed to prepare", sqlite3_errmsg(db->writer));
        return NULL;
    }
    db->wstmts[db->nwstmts].sql = sql;
    db->wstmts[db->nwstmts].st = st;
    db->nwstmts++;
    return st;
}

/* BEGIN/COMMIT/ROLLBACK through cached statements: parsing them costs more than a
 * small transaction's inserts. */
static int wexec(fm_db_t *db, const char *sql, char *why, size_t len)
{
    sqlite3_stmt *st = fm_db_stmt(db, sql);
    if (!st)
        return fm_db_exec(db->writer, sql, why, len);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        if (why)
            snprintf(why, len, "%s", sqlite3_errmsg(db->writer));
        return FM_EDB;
    }
    return FM_OK;
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE", SQL_COMMIT[] = "COMMIT", SQL_ROLLBACK[] = "ROLLBACK";

sqlite3 *fm_db_write_begin(fm_db_t *db)
{
    pthread_mutex_lock(&db->wlock);
    char why[256];
    if (wexec(db, SQL_BEGIN, why, sizeof(why)) != FM_OK) {
        fm_log_msg(FM_LOG_ERROR, "database begin failed", why);
        pthread_mutex_unlock(&db->wlock);
        return NULL;
    }
    db->outbox_dirty = false;
    return db->writer;
}

int fm_db_write_end(fm_db_t *db, int rc)
{
    char why[256];
    bool kick = false;
    if (rc == FM_OK) {
        if (wexec(db, SQL_COMMIT, why, sizeof(why)) != FM_OK) {
            fm_log_msg(FM_LOG_ERROR, "database commit failed", why);
            wexec(db, SQL_ROLLBACK, NULL, 0);
            rc = FM_EDB;
        } else {
            kick = db->outbox_dirty;
        }
    } else {
        wexec(db, SQL_ROLLBACK, NULL, 0);
    }
    db->outbox_dirty = false;
    void (*fn)(void *) = db->on_outbox;
    void *arg = db->on_outbox_arg;
    pthread_mutex_unlock(&db->wlock);
    if (kick && fn)
        fn(arg);
    return rc;
}

struct fm_dbc *fm__db_writer(fm_db_t *db)
{
    return &db->wconn;
}

struct fm_dbc *fm__db_reader_take(fm_db_t *db)
{
    struct fm_dbc *r = NULL;
    pthread_mutex_lock(&db->plock);
    if (db->nidle > 0)
        r = db->idle[--db->nidle];
    if (r)
        db->lent++;
    pthread_mutex_unlock(&db->plock);
    if (r)
        return r;
    char why[512];
    if (!(r = calloc(1, sizeof(*r)))) {
        fm_log_msg(FM_LOG_ERROR, "database reader open failed", "out of memory");
        return NULL;
    }
    if (open_conn(&r->c, db->path, true, &db->opts, why, sizeof(why)) != FM_OK) {
        fm_log_msg(FM_LOG_ERROR, "database reader open failed", why);
        free(r);
        return NULL;
    }
    r->db = db;
    pthread_mutex_lock(&db->plock);
    db->lent++;
    pthread_mutex_unlock(&db->plock);
    return r;
}

void fm__db_reader_give(fm_db_t *db, struct fm_dbc *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&db->plock);
    db->lent--;
    if (db->nidle < READER_POOL) {
        db->idle_since[db->nidle] = fm_time_mono();
        db->idle[db->nidle++] = r;
        r = NULL;
    }
    pthread_mutex_unlock(&db->plock);
    if (r)
        close_reader(r);
}

int fm_db_readers_lent(fm_db_t *db)
{
    pthread_mutex_lock(&db->plock);
    int n = db->lent;
    pthread_mutex_unlock(&db->plock);
    return n;
}

/* The raw-connection pair for stores not yet on fm_dbq: the connection leaves its
 * wrapper (and statement cache) while it is out. */
sqlite3 *fm_db_reader(fm_db_t *db)
{
    struct fm_dbc *r = fm__db_reader_take(db);
    if (!r)
        return NULL;
    sqlite3 *c = r->c;
    fm__dbc_clear(r);
    free(r);
    return c;
}

void fm_db_reader_done(fm_db_t *db, sqlite3 *c)
{
    if (!c)
        return;
    struct fm_dbc *r = calloc(1, sizeof(*r));
    if (!r) {
        pthread_mutex_lock(&db->plock);
        db->lent--;
        pthread_mutex_unlock(&db->plock);
        sqlite3_close(c);
        return;
    }
    r->db = db;
    r->c = c;
    fm__db_reader_give(db, r);
}

void fm_db_trim(fm_db_t *db, double idle_s)
{
    struct fm_dbc *close_v[READER_POOL];
    int n = 0;
    double now = fm_time_mono();
    pthread_mutex_lock(&db->plock);
    int keep = 0;
    for (int i = 0; i < db->nidle; i++) {   /* oldest first: the pool is a stack */
        if (now - db->idle_since[i] >= idle_s) {
            close_v[n++] = db->idle[i];
        } else {
            db->idle[keep] = db->idle[i];
            db->idle_since[keep++] = db->idle_since[i];
        }
    }
    db->nidle = keep;
    pthread_mutex_unlock(&db->plock);
    for (int i = 0; i < n; i++)
        close_reader(close_v[i]);
}

int64_t fm_db_wal_size(const fm_db_t *db)
{
    char wal[1100];
    struct stat st;
    snprintf(wal, sizeof(wal), "%s-wal", db->path);
    return stat(wal, &st) == 0 ? (int64_t)st.st_size : 0;
}

int fm_db_checkpoint(fm_db_t *db)
{
    char why[512];
    if (!db->ckpt && open_conn(&db->ckpt, db->path, false, &db->opts, why, sizeof(why)) != FM_OK) {
        fm_log_msg(FM_LOG_ERROR, "database checkpoint connection failed", why);
        return FM_EDB;
    }
    /* PASSIVE: copies what no reader still needs, never waits for or blocks anyone;
     * writers then reuse the WAL from its start. */
    int rc = sqlite3_wal_checkpoint_v2(db->ckpt, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        fm_log_msg(FM_LOG_ERROR, "database checkpoint failed", sqlite3_errmsg(db->ckpt));
        return FM_EDB;
    }
    /* A large WAL stays large (it is reused, not shrunk): TRUNCATE waits for readers
     * and the writer (busy timeout), copies the rest and empties the file. BUSY: a
     * reader outlived the timeout, the next round tries again. */
    int64_t limit = db->opts.wal_truncate_bytes > 0 ? db->opts.wal_truncate_bytes : FM_DB_WAL_TRUNCATE_BYTES;
    if (fm_db_wal_size(db) > limit) {
        rc = sqlite3_wal_checkpoint_v2(db->ckpt, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
            fm_log_msg(FM_LOG_ERROR, "database checkpoint (truncate) failed", sqlite3_errmsg(db->ckpt));
            return FM_EDB;
        }
    }
    return FM_OK;
}

const char *fm_db_path(const fm_db_t *db)
{
    return db->path;
}

int64_t fm_db_size(const fm_db_t *db)
{
    struct stat st;
    int64_t n = 0;
    char wal[1100];
    if (stat(db->path, &st) == 0)
        n += st.st_size;
    snprintf(wal, sizeof(wal), "%s-wal", db->path);
    if (stat(wal, &st) == 0)
        n += st.st_size;
    return n;
}

void fm_db_on_outbox_commit(fm_db_t *db, void (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&db->wlock);
    db->on_outbox = fn;
    db->on_outbox_arg = arg;
    pthread_mutex_unlock(&db->wlock);
}

void fm_db_outbox_touched(fm_db_t *db)
{
    db->outbox_dirty = true;    /* caller holds wlock: it is inside a write */
}
