/*
 * exec_store.c — the execution database: instance documents in and out of `instances`,
 * the rows that index waits (timers, msg_subs, jobs, task_links), incidents, history
 * chunks and outbox events, all written on the writer connection of the transaction
 * in progress (ex_tx_t), through the statement helper's hot path (fm_dbq_wrun/wone/weach:
 * each static statement prepared once per writer and found by its address).
 *
 * Document (instances.doc): {"n": next id, "v": root variables,
 *   "t": [[id, node, scope, wait, flow, flags, ref], ...],
 *   "s": [{"i","p","n","o","k","v","mn","md","mx","mi","mo","x"}, ...],
 *   "hm": [[kind, token, scope, element, vars], ...] messages held while paused,
 *   "cp": [[node, scope, seq, via, thrower, handler token], ...] compensation records}
 */
#include "exec_int.h"

#include "../../bus/bus.h"
#include "../../fm_id.h"
#include "../../fm_log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ids ---- */

/* prefix_ + 9 symbols of the time in ms + 11 random ones: time-ordered like a ULID,
 * so new rows land at the right edge of the id indexes instead of on random pages. */
void ex_id(const char *prefix, char *out, size_t len)
{
    static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
    char rnd[40], t[10];
    fm_id_fast("x", rnd, sizeof(rnd));
    uint64_t ms = (uint64_t)fm_time_unix_ms();
    for (int i = 8; i >= 0; i--) {
        t[i] = alphabet[ms & 31];
        ms >>= 5;
    }
    t[9] = 0;
    snprintf(out, len, "%s_%s%.11s", prefix, t, rnd + 2);
}

/* ---- transactions ---- */

int ex_tx_begin(ex_tx_t *tx, fm_db_t *db)
{
    memset(tx, 0, sizeof(*tx));
    tx->db = db;
    tx->after.min_due = INT64_MAX;
    tx->w = fm_dbq_write_begin(db);
    if (!tx->w)
        return FM_EDB;
    tx->now_ms = fm_time_unix_ms();
    fm_time_rfc3339_at(tx->now_ms, tx->now);
    return FM_OK;
}

static void stash_put(ex_inst_t *in);

int ex_tx_end(ex_tx_t *tx, int rc)
{
    for (int i = 0; i < tx->ninsts && rc == FM_OK; i++)
        if (tx->insts[i]->dirty || tx->insts[i]->is_new || cJSON_GetArraySize(tx->insts[i]->hist))
            rc = ex_store_save(tx, tx->insts[i]);
    rc = fm_dbq_write_end(tx->w, rc);
    ex_inst_t *keep = NULL;
    for (int i = 0; i < tx->ninsts; i++)
        if (rc == FM_OK && tx->insts[i]->saved_doc && tx->insts[i]->state < I_COMPLETED && !keep)
            keep = tx->insts[i];
        else
            ex_inst_free(tx->insts[i]);
    if (keep)
        stash_put(keep);
    tx->ninsts = 0;
    if (rc == FM_OK)
        ex_work_after(&tx->after);
    ex_after_free(&tx->after);
    ex_msgbuf_tx_free(tx);
    return rc;
}

void ex_after_free(ex_after_t *a)
{
    for (int i = 0; i < a->nhttp; i++)
        free(a->http_jobs[i]);
    free(a->http_jobs);
    for (int i = 0; i < a->ncancel; i++)
        free(a->cancel_tasks[i]);
    free(a->cancel_tasks);
    memset(a, 0, sizeof(*a));
    a->min_due = INT64_MAX;
}

static void after_push(char ***arr, int *n, const char *s)
{
    char **a = realloc(*arr, sizeof(char *) * (size_t)(*n + 1));
    if (!a)
        return;
    *arr = a;
    a[(*n)++] = strdup(s);
}

/* ---- documents ---- */

static char *doc_of(ex_inst_t *in)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "n", in->next_id);
    cJSON_AddItemReferenceToObject(d, "v", in->vars);
    cJSON *t = cJSON_AddArrayToObject(d, "t");
    for (int i = 0; i < in->ntoks; i++) {
        const ex_tok_t *k = &in->toks[i];
        cJSON *a = cJSON_CreateArray();
        int nums[6] = { k->id, k->node, k->scope, k->wait, k->flow, k->flags };
        for (int j = 0; j < 6; j++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(nums[j]));
        cJSON_AddItemToArray(a, cJSON_CreateString(k->ref));
        cJSON_AddItemToArray(t, a);
    }
    if (in->nscopes) {
        cJSON *s = cJSON_AddArrayToObject(d, "s");
        for (int i = 0; i < in->nscopes; i++) {
            ex_scope_t *c = &in->scopes[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "i", c->id);
            cJSON_AddNumberToObject(o, "p", c->parent);
            cJSON_AddNumberToObject(o, "n", c->node);
            cJSON_AddNumberToObject(o, "o", c->owner);
            cJSON_AddNumberToObject(o, "k", c->kind);
            cJSON_AddItemReferenceToObject(o, "v", c->vars);
            if (c->kind == S_MI_BODY) {
                cJSON_AddNumberToObject(o, "mn", c->mi_n);
                cJSON_AddNumberToObject(o, "md", c->mi_done);
                cJSON_AddNumberToObject(o, "mx", c->mi_next);
                /* the collection never changes: printed once, not at every step */
                if (c->mi_items && !c->mi_items_text)
                    c->mi_items_text = cJSON_PrintUnformatted(c->mi_items);
                if (c->mi_items_text)
                    cJSON_AddRawToObject(o, "mi", c->mi_items_text);
                else if (c->mi_items)
                    cJSON_AddItemReferenceToObject(o, "mi", c->mi_items);
                if (c->mi_out)
                    cJSON_AddItemReferenceToObject(o, "mo", c->mi_out);
            }
            if (c->interrupting)
                cJSON_AddTrueToObject(o, "x");
            cJSON_AddItemToArray(s, o);
        }
    }
    if (in->held && in->held->child)
        cJSON_AddItemReferenceToObject(d, "hm", in->held);
    if (in->comp && in->comp->child)
        cJSON_AddItemReferenceToObject(d, "cp", in->comp);
    char *text = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return text;
}

static int num(const cJSON *o, const char *k)
{
    return (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int doc_load(ex_inst_t *in, const char *text)
{
    cJSON *d = cJSON_Parse(text);
    if (!d)
        return FM_EIO;
    in->next_id = num(d, "n");
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(d, "v");
    in->vars = cJSON_IsObject(v) ? v : (cJSON_Delete(v), cJSON_CreateObject());
    cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "t");
    int nt = cJSON_GetArraySize(t);
    in->toks = calloc((size_t)nt + 1, sizeof(ex_tok_t));
    in->captoks = nt + 1;
    cJSON *a;
    cJSON_ArrayForEach(a, t)
    {
        ex_tok_t *k = &in->toks[in->ntoks++];
        k->id = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 0));
        k->node = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 1));
        k->scope = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 2));
        k->wait = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 3));
        k->flow = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 4));
        k->flags = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 5));
        const char *ref = cJSON_GetStringValue(cJSON_GetArrayItem(a, 6));
        snprintf(k->ref, sizeof(k->ref), "%s", ref ? ref : "");
    }
    cJSON *s = cJSON_GetObjectItemCaseSensitive(d, "s");
    int ns = cJSON_GetArraySize(s);
    in->scopes = calloc((size_t)ns + 1, sizeof(ex_scope_t));
    in->capscopes = ns + 1;
    cJSON_ArrayForEach(a, s)
    {
        ex_scope_t *c = &in->scopes[in->nscopes++];
        c->id = num(a, "i");
        c->parent = num(a, "p");
        c->node = num(a, "n");
        c->owner = num(a, "o");
        c->kind = num(a, "k");
        c->vars = cJSON_DetachItemFromObjectCaseSensitive(a, "v");
        if (!c->vars)
            c->vars = cJSON_CreateObject();
        c->mi_n = num(a, "mn");
        c->mi_done = num(a, "md");
        c->mi_next = num(a, "mx");
        c->mi_items = cJSON_DetachItemFromObjectCaseSensitive(a, "mi");
        c->mi_out = cJSON_DetachItemFromObjectCaseSensitive(a, "mo");
        c->interrupting = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "x"));
    }
    in->held = cJSON_DetachItemFromObjectCaseSensitive(d, "hm");
    in->comp = cJSON_DetachItemFromObjectCaseSensitive(d, "cp");
    cJSON_Delete(d);
    return FM_OK;
}

/* Fills in's row fields from st; parse_doc: its document too (else in keeps the
 * tokens, scopes and variables it has). */
static int row_fill(const fm_dbrow_t *st, ex_inst_t *in, bool parse_doc)
{
    fm_dbrow_copy(st, 0, in->id, sizeof(in->id));
    fm_dbrow_copy(st, 1, in->tenant, sizeof(in->tenant));
    fm_dbrow_copy(st, 2, in->process_id, sizeof(in->process_id));
    fm_dbrow_copy(st, 3, in->bpmn_id, sizeof(in->bpmn_id));
    in->version = (int)fm_dbrow_int(st, 4);
    free(in->business_key);
    in->business_key = fm_dbrow_dup(st, 5);
    in->state = ex_state_parse(fm_dbrow_str(st, 6));
    fm_dbrow_copy(st, 7, in->parent_id, sizeof(in->parent_id));
    in->parent_token = (int)fm_dbrow_int(st, 8);
    in->incidents = (int)fm_dbrow_int(st, 10);
    in->hist_seq = fm_dbrow_int(st, 11);
    fm_dbrow_copy(st, 12, in->created_at, sizeof(in->created_at));
    fm_dbrow_copy(st, 13, in->updated_at, sizeof(in->updated_at));
    fm_dbrow_copy(st, 14, in->ended_at, sizeof(in->ended_at));
    cJSON_Delete(in->hist);
    in->hist = cJSON_CreateArray();
    in->is_new = in->dirty = in->running = false;
    free(in->idem_key);         /* only an insert writes it */
    in->idem_key = NULL;
    int rc = parse_doc ? doc_load(in, fm_dbrow_str(st, 9)) : FM_OK;
    if (rc == FM_OK) {
        const char *field;
        char why[300];
        rc = ex_def_get(in->tenant, in->process_id, in->version, &in->def, &field, why, sizeof(why));
        if (rc != FM_OK) {
            fm_log_t l;
            fm_log_begin(&l, FM_LOG_ERROR, "execution: the definition of an instance is gone");
            fm_log_str(&l, "instance", in->id);
            fm_log_str(&l, "why", why);
            fm_log_end(&l);
            rc = FM_EIO;
        }
    }
    return rc;
}

int ex_inst_from_row(const fm_dbrow_t *st, ex_inst_t **out)
{
    ex_inst_t *in = calloc(1, sizeof(*in));
    if (!in)
        return FM_ENOMEM;
    int rc = row_fill(st, in, true);
    if (rc != FM_OK) {
        ex_inst_free(in);
        return rc;
    }
    *out = in;
    return FM_OK;
}

/* ---- the stash ----
 * A large document (a multi-instance collection in it) costs its size to parse at
 * every transaction that loads it. The last large one saved is kept parsed after its
 * commit; the next load of that instance takes it instead of parsing, when the stored
 * text is still byte for byte the one it was saved as (any other change to the
 * instance meanwhile makes the text differ, and it is parsed as usual). Row fields
 * (state, counters, times) always come from the row. Used by writers only; the mutex
 * covers the hand-over after a commit, when the writer is already released. */
#define EX_STASH_MIN (64 * 1024)

static pthread_mutex_t stash_mu = PTHREAD_MUTEX_INITIALIZER;
static ex_inst_t *stash;            /* its saved_doc is the stored text */

void ex_store_stash_clear(void)
{
    pthread_mutex_lock(&stash_mu);
    ex_inst_free(stash);
    stash = NULL;
    pthread_mutex_unlock(&stash_mu);
}

static void stash_put(ex_inst_t *in)
{
    pthread_mutex_lock(&stash_mu);
    ex_inst_t *old = stash;
    stash = in;
    pthread_mutex_unlock(&stash_mu);
    ex_inst_free(old);
}

/* The stashed instance id when its text is doc (taken: the caller owns it), else NULL. */
static ex_inst_t *stash_take(const char *id, const char *tenant, const char *doc, size_t len)
{
    ex_inst_t *got = NULL, *drop = NULL;
    pthread_mutex_lock(&stash_mu);
    if (stash && !strcmp(stash->id, id) && !strcmp(stash->tenant, tenant)) {
        if (stash->saved_doc && strlen(stash->saved_doc) == len && !memcmp(stash->saved_doc, doc, len))
            got = stash;
        else
            drop = stash;
        stash = NULL;
    }
    pthread_mutex_unlock(&stash_mu);
    ex_inst_free(drop);
    if (got) {
        free(got->saved_doc);
        got->saved_doc = NULL;
    }
    return got;
}

static const char SQL_LOAD[] = "SELECT " EX_INST_COLS " FROM instances WHERE id = ? AND tenant_id = ?";

typedef struct { const char *tenant, *id; ex_inst_t **out; } load_ctx_t;

static int load_row(const fm_dbrow_t *st, void *arg)
{
    load_ctx_t *x = arg;
    size_t len;
    const char *doc = fm_dbrow_blob(st, 9, &len);      /* the text's bytes, no copy */
    ex_inst_t *kept = stash_take(x->id, x->tenant, doc ? doc : "", len);
    if (!kept)
        return ex_inst_from_row(st, x->out);
    int rc = row_fill(st, kept, false);
    if (rc == FM_OK)
        *x->out = kept;
    else
        ex_inst_free(kept);
    return rc;
}

int ex_store_load(ex_tx_t *tx, const char *tenant, const char *id, ex_inst_t **out)
{
    load_ctx_t x = { tenant, id, out };
    return fm_dbq_wone(tx->w, SQL_LOAD, load_row, &x, "ss", id, tenant);
}

static const char SQL_INSERT[] =
    "INSERT INTO instances(id, tenant_id, process_id, bpmn_id, version, business_key, state, parent_id, "
    "parent_token, doc, incidents, idem_key, hist_seq, created_at, updated_at, ended_at, purge_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15, NULLIF(?16, 0))";
static const char SQL_UPDATE[] =
    "UPDATE instances SET state = ?1, doc = ?2, incidents = ?3, hist_seq = ?4, updated_at = ?5, "
    "ended_at = ?6, parent_token = ?7, purge_ms = NULLIF(?9, 0) WHERE id = ?8";
static const char SQL_HIST[] = "INSERT INTO history(instance_id, first_seq, entries) VALUES (?, ?, ?)";

int ex_store_save(ex_tx_t *tx, ex_inst_t *in)
{
    int nh = cJSON_GetArraySize(in->hist);
    if (nh) {
        cJSON *chunk = cJSON_CreateObject();
        cJSON_AddStringToObject(chunk, "at", tx->now);
        cJSON_AddItemReferenceToObject(chunk, "e", in->hist);
        char *h = cJSON_PrintUnformatted(chunk);
        cJSON_Delete(chunk);
        if (!h)
            return FM_ENOMEM;
        int rc = fm_dbq_wrun(tx->w, SQL_HIST, "sIs", in->id, in->hist_seq + 1, h);
        free(h);
        if (rc != FM_OK)
            return rc;
        in->hist_seq += nh;
    }
    char *doc = doc_of(in);
    if (!doc)
        return FM_ENOMEM;
    int rc;
    /* an ended instance of a process with its own historyTimeToLive: when it goes */
    int64_t purge = in->state >= I_COMPLETED && in->def && in->def->hist_ttl_ms >= 0 ? tx->now_ms + in->def->hist_ttl_ms : 0;
    if (in->is_new)
        rc = fm_dbq_wrun(tx->w, SQL_INSERT, "ssssisssisisIssI", in->id, in->tenant, in->process_id, in->bpmn_id,
                         in->version, in->business_key, ex_state_name(in->state),
                         in->parent_id[0] ? in->parent_id : NULL, in->parent_token, doc, in->incidents,
                         in->idem_key, in->hist_seq, in->created_at, in->ended_at[0] ? in->ended_at : NULL, purge);
    else
        rc = fm_dbq_wrun(tx->w, SQL_UPDATE, "ssiIssisI", ex_state_name(in->state), doc, in->incidents, in->hist_seq,
                         tx->now, in->ended_at[0] ? in->ended_at : NULL, in->parent_token, in->id, purge);
    if (rc == FM_OK && strlen(doc) >= EX_STASH_MIN) {
        free(in->saved_doc);
        in->saved_doc = doc;            /* ex_tx_end may keep the instance parsed */
        doc = NULL;
    }
    free(doc);
    if (rc == FM_OK) {
        in->is_new = false;
        in->dirty = false;
        cJSON_Delete(in->hist);
        in->hist = cJSON_CreateArray();
    }
    return rc;
}

/* ---- history and events ---- */

/* Entries are kept compact — [type, elementId, elementType, tokenId, data] — and a
 * step's chunk carries its time once: {"at": …, "e": [entries]}; seq is first_seq + i.
 * ex_hist_expand turns them back into the API's objects. */
void ex_hist(ex_tx_t *tx, ex_inst_t *in, const char *type, int node, int token, cJSON *data)
{
    (void)tx;
    cJSON *e = cJSON_CreateArray();
    cJSON_AddItemToArray(e, cJSON_CreateString(type));
    if (node >= 0 && in->def) {
        cJSON_AddItemToArray(e, cJSON_CreateString(in->def->nodes[node].id));
        cJSON_AddItemToArray(e, cJSON_CreateString(in->def->nodes[node].type));
    } else {
        cJSON_AddItemToArray(e, cJSON_CreateNull());
        cJSON_AddItemToArray(e, cJSON_CreateNull());
    }
    cJSON_AddItemToArray(e, cJSON_CreateNumber(token));
    if (data)
        cJSON_AddItemToArray(e, data);
    cJSON_AddItemToArray(in->hist, e);
}

int ex_hist_expand(const char *chunk_text, int64_t first_seq, int offset, int limit, int *total, cJSON *into)
{
    cJSON *chunk = cJSON_Parse(chunk_text);
    if (!chunk)
        return FM_EIO;
    const char *at = cJSON_GetStringValue(cJSON_GetObjectItem(chunk, "at"));
    cJSON *a;
    int i = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(chunk, "e"))
    {
        if (*total >= offset && *total < offset + limit) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "seq", (double)(first_seq + i));
            cJSON_AddStringToObject(o, "at", at ? at : "");
            cJSON_AddItemToObject(o, "type", cJSON_Duplicate(cJSON_GetArrayItem(a, 0), true));
            cJSON_AddItemToObject(o, "elementId", cJSON_Duplicate(cJSON_GetArrayItem(a, 1), true));
            cJSON_AddItemToObject(o, "elementType", cJSON_Duplicate(cJSON_GetArrayItem(a, 2), true));
            int tok = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(a, 3));
            if (tok)
                cJSON_AddNumberToObject(o, "tokenId", tok);
            else
                cJSON_AddNullToObject(o, "tokenId");
            cJSON *d = cJSON_GetArrayItem(a, 4);
            cJSON_AddItemToObject(o, "data", d ? cJSON_Duplicate(d, true) : cJSON_CreateNull());
            cJSON_AddItemToArray(into, o);
        }
        (*total)++;
        i++;
    }
    cJSON_Delete(chunk);
    return FM_OK;
}

static void json_str(char *buf, size_t len, const char *s)
{
    /* element and process ids are XML ids/NCNames: no quotes or backslashes, but be safe */
    size_t j = 0;
    for (; s && *s && j + 2 < len; s++)
        if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
            buf[j++] = *s;
    buf[j] = 0;
}

int ex_event(ex_tx_t *tx, ex_inst_t *in, const char *type, int node, int token, cJSON *extra)
{
    if (!bus_wants(type)) {     /* nobody subscribed: nobody could receive it */
        cJSON_Delete(extra);
        return FM_OK;
    }
    char data[1024], pid[200], bk[300] = "null", el[300] = "";
    json_str(pid, sizeof(pid), in->process_id);
    if (in->business_key) {
        cJSON *tmp = cJSON_CreateString(in->business_key);
        char *p = cJSON_PrintUnformatted(tmp);
        cJSON_Delete(tmp);
        snprintf(bk, sizeof(bk), "%s", p ? p : "null");
        free(p);
    }
    if (node >= 0 && in->def) {
        char id[200];
        json_str(id, sizeof(id), in->def->nodes[node].id);
        snprintf(el, sizeof(el), ",\"elementId\":\"%s\",\"elementType\":\"%s\",\"tokenId\":%d", id,
                 in->def->nodes[node].type, token);
    }
    int n = snprintf(data, sizeof(data),
                     "{\"executionId\":\"%s\",\"processId\":\"%s\",\"version\":%d,\"businessKey\":%s%s",
                     in->id, pid, in->version, bk, el);
    char *more = NULL;
    if (extra) {
        more = cJSON_PrintUnformatted(extra);
        cJSON_Delete(extra);
    }
    char *full = NULL;
    if (more && strlen(more) > 2) {
        size_t l = (size_t)n + strlen(more) + 4;
        full = malloc(l);
        if (full)
            snprintf(full, l, "%s,%s", data, more + 1);     /* "{...}" → ",...}" */
    } else if ((size_t)n + 2 < sizeof(data)) {
        data[n] = '}';
        data[n + 1] = 0;
    }
    free(more);
    int rc = bus_outbox_put(tx->w, EX_SOURCE, type, in->id, in->tenant, full ? full : data);
    free(full);
    return rc;
}

/* ---- waits ---- */

static const char SQL_TIMER_ADD[] =
    "INSERT INTO timers(tenant_id, instance_id, token_id, scope_id, element, kind, due_ms, repeat, every_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

int ex_timer_add(ex_tx_t *tx, ex_inst_t *in, int token, int scope, const char *element, const char *kind,
                 int64_t due, int repeat, int64_t every)
{
    if (due < tx->after.min_due)
        tx->after.min_due = due;
    return fm_dbq_wrun(tx->w, SQL_TIMER_ADD, "ssiissIiI", in->tenant, in->id, token, scope, element, kind, due,
                       repeat, every);
}

static const char SQL_MSG_ADD[] =
    "INSERT INTO msg_subs(tenant_id, name, corr_key, instance_id, token_id, scope_id, element, kind) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

int ex_msg_add(ex_tx_t *tx, ex_inst_t *in, int token, int scope, const char *element, const char *kind,
               const char *name, const char *key)
{
    int rc = fm_dbq_wrun(tx->w, SQL_MSG_ADD, "ssssiiss", in->tenant, name ? name : "", key ? key : "", in->id, token,
                         scope, element, kind);
    if (rc == FM_OK)
        ex_msgbuf_wish(tx, in, token, scope, element, kind, name, key);
    return rc;
}

static const char SQL_T_DROP_TOK[] = "DELETE FROM timers WHERE instance_id = ? AND token_id = ?";
static const char SQL_M_DROP_TOK[] = "DELETE FROM msg_subs WHERE instance_id = ? AND token_id = ?";
static const char SQL_T_DROP_SCOPE[] = "DELETE FROM timers WHERE instance_id = ? AND token_id = 0 AND scope_id = ?";
static const char SQL_M_DROP_SCOPE[] = "DELETE FROM msg_subs WHERE instance_id = ? AND token_id = 0 AND scope_id = ?";
static const char SQL_S_DROP_TOK[] = "DELETE FROM signal_subs WHERE instance_id = ? AND token_id = ?";
static const char SQL_S_DROP_SCOPE[] =
    "DELETE FROM signal_subs WHERE instance_id = ? AND token_id = 0 AND scope_id = ?";

int ex_waits_drop(ex_tx_t *tx, ex_inst_t *in, int token, int scope)
{
    const char *sql[3] = { token ? SQL_T_DROP_TOK : SQL_T_DROP_SCOPE, token ? SQL_M_DROP_TOK : SQL_M_DROP_SCOPE,
                           token ? SQL_S_DROP_TOK : SQL_S_DROP_SCOPE };
    int rc = FM_OK;
    for (int i = 0; i < 3; i++) {
        int one = fm_dbq_wrun(tx->w, sql[i], "si", in->id, token ? token : scope);
        if (one != FM_OK)
            rc = one;
    }
    return rc;
}

/* ---- jobs ---- */

static const char SQL_JOB_ADD[] =
    "INSERT INTO jobs(id, tenant_id, instance_id, token_id, element, type, state, retries, headers, "
    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'activatable', ?, ?, ?, ?)";

int ex_job_add(ex_tx_t *tx, ex_inst_t *in, int token, const ex_node_t *n, char *id, size_t len)
{
    ex_id("job", id, len);
    int rc = fm_dbq_wrun(tx->w, SQL_JOB_ADD, "sssississs", id, in->tenant, in->id, token, n->id, n->job_type,
                         n->retries > 0 ? n->retries : 3, n->headers ? n->headers : "{}", tx->now, tx->now);
    if (rc != FM_OK)
        return rc;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "jobId", id);
    cJSON_AddStringToObject(e, "type", n->job_type);
    cJSON_AddNumberToObject(e, "retries", n->retries > 0 ? n->retries : 3);
    cJSON *h = cJSON_Parse(n->headers ? n->headers : "{}");
    cJSON_AddItemToObject(e, "customHeaders", h ? h : cJSON_CreateObject());
    int node = ex_node_find(in->def, n->id);
    ex_event(tx, in, "execution.job.created", node, token, e);
    if (ex_job_runs_here(n->job_type))
        after_push(&tx->after.http_jobs, &tx->after.nhttp, id);
    return FM_OK;
}

static const char SQL_JOB_DROP[] =
    "DELETE FROM jobs WHERE instance_id = ? AND token_id = ? AND state != 'completed'";

int ex_job_drop(ex_tx_t *tx, ex_inst_t *in, int token)
{
    return fm_dbq_wrun(tx->w, SQL_JOB_DROP, "si", in->id, token);
}

/* ---- user tasks ---- */

static const char SQL_TASK_LINK[] =
    "INSERT OR REPLACE INTO task_links(task_id, tenant_id, instance_id, token_id) VALUES (?, ?, ?, ?)";
static const char SQL_TASK_UNLINK[] =
    "DELETE FROM task_links WHERE instance_id = ? AND token_id = ? RETURNING task_id";

int ex_task_link(ex_tx_t *tx, ex_inst_t *in, int token, const char *task_id)
{
    return fm_dbq_wrun(tx->w, SQL_TASK_LINK, "sssi", task_id, in->tenant, in->id, token);
}

typedef struct { ex_tx_t *tx; const ex_inst_t *in; bool cancel; } unlink_ctx_t;

static int unlinked_row(const fm_dbrow_t *st, void *arg)
{
    unlink_ctx_t *x = arg;
    if (x->cancel) {
        char buf[200];
        snprintf(buf, sizeof(buf), "%s\t%s", x->in->tenant, fm_dbrow_str(st, 0));
        after_push(&x->tx->after.cancel_tasks, &x->tx->after.ncancel, buf);
    }
    return FM_OK;
}

int ex_task_unlink(ex_tx_t *tx, ex_inst_t *in, int token, bool cancel_task)
{
    unlink_ctx_t x = { tx, in, cancel_task };
    return fm_dbq_weach(tx->w, SQL_TASK_UNLINK, unlinked_row, &x, "si", in->id, token);
}

/* ---- incidents ---- */

static const char SQL_INC_ADD[] =
    "INSERT INTO incidents(id, tenant_id, instance_id, token_id, element, type, message, state, job_id, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)";
static const char SQL_INC_CLOSE[] =
    "UPDATE incidents SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open'";

int ex_incident_add(ex_tx_t *tx, ex_inst_t *in, int token, const char *element, const char *type,
                    const char *msg, const char *job_id, char *id, size_t len)
{
    ex_id("inc", id, len);
    fm_log_t l;
    fm_log_begin(&l, FM_LOG_WARN, "execution: incident");
    fm_log_str(&l, "instance", in->id);
    fm_log_str(&l, "element", element);
    fm_log_str(&l, "message", msg);
    fm_log_end(&l);
    return fm_dbq_wrun(tx->w, SQL_INC_ADD, "sssisssss", id, in->tenant, in->id, token, element, type, msg, job_id,
                       tx->now);
}

int ex_incident_close(ex_tx_t *tx, ex_inst_t *in, const char *id)
{
    (void)in;
    return fm_dbq_wrun(tx->w, SQL_INC_CLOSE, "ss", tx->now, id);
}

/* ---- read side ---- */

/* Reads one instance on a pooled reader: FM_ENOTFOUND, FM_EDB, or FM_OK with *out
 * (caller frees with ex_inst_free). */
static int inst_row(const fm_dbrow_t *st, void *arg)
{
    return ex_inst_from_row(st, arg);
}

static int read_inst(fm_db_t *db, const char *tenant, const char *id, ex_inst_t **out)
{
    return fm_dbq_read_one(db, SQL_LOAD, inst_row, out, "ss", id, tenant);
}

int ex_store_token_vars(fm_db_t *db, const char *tenant, const char *id, int token, cJSON **out)
{
    ex_inst_t *in;
    int rc = read_inst(db, tenant, id, &in);
    if (rc == FM_OK) {
        *out = ex_token_vars(in, token);
        ex_inst_free(in);
    }
    return rc;
}

int ex_store_get_json(fm_db_t *db, const char *tenant, const char *id, cJSON **out)
{
    ex_inst_t *in;
    int rc = read_inst(db, tenant, id, &in);
    if (rc == FM_OK) {
        *out = ex_inst_json(in, true);
        ex_inst_free(in);
    }
    return rc;
}
