/*
 * exec_msgbuf.c — buffered messages (docs/execution.md, "Buffered messages"; Camunda 8
 * message time-to-live). POST /messages with a timeToLive that no subscription matches
 * keeps the message in msg_buffer (per tenant, bounded by execution.message_buffer_max
 * rows and execution.message_buffer_max_kib bytes of variables). A subscription opened
 * later (an intermediate catch, receive task, boundary, event-based gateway branch or
 * event subprocess start) with the same tenant, name and correlation key takes the
 * oldest unexpired one: ex_msg_add notes the wish in the transaction (ex_msgbuf_wish),
 * and ex_run_all delivers it once the instances have stopped running
 * (ex_msgbuf_deliver), so a delivery never re-enters an instance that is on the stack.
 * A messageId makes publishing idempotent within the TTL: its row stays until it
 * expires, also when the message was correlated at once. Expired rows are dropped by the
 * engine's loop in batches (ex_msgbuf_sweep). Any thread that holds a transaction.
 */
#include "exec_int.h"

#include "../../fm_config.h"
#include "../../fm_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EX_MSGBUF_WISHES 64     /* deliveries one transaction looks for */

/* A hint, not a count: zero means no row can be waiting, so opening a subscription costs
 * no query. Raised on every insert and set from the table by each sweep. */
static atomic_llong waiting_hint = 1;

typedef struct ex_msgwish {
    char inst[48], el[200], kind[16], name[257], key[300];
    int token, scope;
} ex_msgwish_t;

static const char SQL_FIND[] =
    "SELECT id, variables FROM msg_buffer WHERE tenant_id = ? AND name = ? AND corr_key = ? AND taken_by IS NULL "
    "AND expires_ms > ? ORDER BY id LIMIT 1";
static const char SQL_TAKE[] = "UPDATE msg_buffer SET taken_by = ? WHERE id = ? AND message_id IS NOT NULL";
static const char SQL_DROP[] = "DELETE FROM msg_buffer WHERE id = ? AND message_id IS NULL";
static const char SQL_SEEN[] =
    "SELECT id FROM msg_buffer WHERE tenant_id = ? AND message_id = ? AND expires_ms > ?";
static const char SQL_USED[] =
    "SELECT count(*), coalesce(sum(size), 0) FROM msg_buffer WHERE tenant_id = ? AND taken_by IS NULL "
    "AND expires_ms > ?";
static const char SQL_ADD[] =
    "INSERT INTO msg_buffer(tenant_id, name, corr_key, message_id, variables, size, expires_ms, created_at, taken_by) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_EXPIRED[] =
    "DELETE FROM msg_buffer WHERE id IN (SELECT id FROM msg_buffer WHERE expires_ms <= ? LIMIT ?)";
static const char SQL_EXPIRED_TENANT[] =
    "DELETE FROM msg_buffer WHERE id IN (SELECT id FROM msg_buffer WHERE tenant_id = ? AND expires_ms <= ? LIMIT 100)";
static const char SQL_WAITING[] = "SELECT count(*) FROM msg_buffer WHERE taken_by IS NULL";

void ex_msgbuf_wish(ex_tx_t *tx, ex_inst_t *in, int token, int scope, const char *element, const char *kind,
                    const char *name, const char *key)
{
    if (atomic_load(&waiting_hint) <= 0 || tx->nwishes >= EX_MSGBUF_WISHES)
        return;
    if (!tx->wishes && !(tx->wishes = calloc(EX_MSGBUF_WISHES, sizeof(ex_msgwish_t))))
        return;
    ex_msgwish_t *w = &tx->wishes[tx->nwishes++];
    snprintf(w->inst, sizeof(w->inst), "%s", in->id);
    snprintf(w->el, sizeof(w->el), "%s", element);
    snprintf(w->kind, sizeof(w->kind), "%s", kind);
    snprintf(w->name, sizeof(w->name), "%s", name ? name : "");
    snprintf(w->key, sizeof(w->key), "%s", key ? key : "");
    w->token = token;
    w->scope = scope;
}

typedef struct found { int64_t id; cJSON *vars; } found_t;

static int found_row(const fm_dbrow_t *row, void *arg)
{
    found_t *f = arg;
    f->id = fm_dbrow_int(row, 0);
    f->vars = fm_dbrow_json(row, 1);
    return FM_OK;
}

/* One wish: the oldest waiting message goes to the subscription when it is still open. */
static void deliver_one(ex_tx_t *tx, const ex_msgwish_t *w, const char *tenant)
{
    found_t f = { 0, NULL };
    if (fm_dbq_wone(tx->w, SQL_FIND, found_row, &f, "sssI", tenant, w->name, w->key, tx->now_ms) != FM_OK)
        return;
    ex_inst_t *in;
    if (ex_load(tx, tenant, w->inst, &in) == FM_OK && in->state == I_ACTIVE &&
        ex_trigger(tx, in, w->kind, w->token, w->scope, w->el, cJSON_IsObject(f.vars) ? f.vars : NULL) == FM_OK) {
        fm_dbq_wrun(tx->w, SQL_TAKE, "sI", in->id, f.id);
        fm_dbq_wrun(tx->w, SQL_DROP, "I", f.id);
    }
    cJSON_Delete(f.vars);
}

void ex_msgbuf_deliver(ex_tx_t *tx)
{
    if (tx->delivering)
        return;     /* the outer call goes on with what the triggers below added */
    tx->delivering = true;
    for (int pass = 0; pass < EX_MSGBUF_WISHES && tx->nwishes; pass++) {
        bool progress = false;
        for (int i = 0; i < tx->nwishes;) {
            ex_inst_t *in = NULL;
            for (int j = 0; j < tx->ninsts; j++)
                if (!strcmp(tx->insts[j]->id, tx->wishes[i].inst))
                    in = tx->insts[j];
            if (in && in->running) {   /* later, from the ex_run_all its run returns to */
                i++;
                continue;
            }
            ex_msgwish_t w = tx->wishes[i];
            tx->wishes[i] = tx->wishes[--tx->nwishes];
            progress = true;
            if (in)
                deliver_one(tx, &w, in->tenant);
        }
        if (!progress)
            break;
    }
    tx->delivering = false;
}

void ex_msgbuf_tx_free(ex_tx_t *tx)
{
    free(tx->wishes);
    tx->wishes = NULL;
    tx->nwishes = 0;
}

int ex_msgbuf_seen(ex_tx_t *tx, const char *tenant, const char *message_id)
{
    int rc = fm_dbq_wone(tx->w, SQL_SEEN, NULL, NULL, "ssI", tenant, message_id, tx->now_ms);
    return rc == FM_OK ? FM_ECONFLICT : rc == FM_ENOTFOUND ? FM_OK : rc;
}

typedef struct used { int64_t n, bytes; } used_t;

static int used_row(const fm_dbrow_t *row, void *arg)
{
    used_t *u = arg;
    u->n = fm_dbrow_int(row, 0);
    u->bytes = fm_dbrow_int(row, 1);
    return FM_OK;
}

int ex_msgbuf_put(ex_tx_t *tx, const char *tenant, const char *name, const char *key, const char *message_id,
                  const cJSON *vars, int64_t ttl_ms, const char *taken_by, char *why, size_t wl)
{
    /* a message with an id that expired: its row goes, so the id can be used again */
    fm_dbq_wrun(tx->w, SQL_EXPIRED_TENANT, "sI", tenant, tx->now_ms);
    char *text = cJSON_PrintUnformatted(vars && cJSON_IsObject(vars) ? vars : NULL);
    const char *v = text ? text : "{}";
    int64_t size = (int64_t)strlen(v) + (int64_t)strlen(name) + (int64_t)strlen(key);
    int rc = FM_OK;
    if (!taken_by) {
        used_t u = { 0, 0 };
        const fm_config_t *c = fm_cfg();
        rc = fm_dbq_wone(tx->w, SQL_USED, used_row, &u, "sI", tenant, tx->now_ms);
        if (rc == FM_OK && (u.n + 1 > c->execution_message_buffer_max ||
                            u.bytes + size > (int64_t)c->execution_message_buffer_max_kib * 1024)) {
            snprintf(why, wl,
                     "the tenant's message buffer is full (%lld messages, %lld bytes; execution.message_buffer_max "
                     "= %d, execution.message_buffer_max_kib = %d)",
                     (long long)u.n, (long long)u.bytes, c->execution_message_buffer_max,
                     c->execution_message_buffer_max_kib);
            rc = FM_EBUSY;
        }
    }
    if (rc == FM_OK)
        rc = fm_dbq_wrun(tx->w, SQL_ADD, "sssssIIss", tenant, name, key, message_id, v, size, tx->now_ms + ttl_ms,
                         tx->now, taken_by);
    if (rc == FM_OK && !taken_by)
        atomic_fetch_add(&waiting_hint, 1);
    free(text);
    return rc;
}

int ex_msgbuf_sweep(fm_db_t *db, int batch, int *removed)
{
    *removed = 0;
    fm_dbc_t *w = fm_dbq_write_begin(db);
    if (!w)
        return FM_EDB;
    int rc = fm_dbq_wrun(w, SQL_EXPIRED, "Ii", fm_time_unix_ms(), batch);
    if (rc == FM_OK)
        *removed = (int)fm_dbq_changes(w);
    int64_t n = 0;
    if (rc == FM_OK && (rc = fm_dbq_int(w, SQL_WAITING, &n, "")) == FM_OK)
        atomic_store(&waiting_hint, n);
    return fm_dbq_write_end(w, rc);
}
