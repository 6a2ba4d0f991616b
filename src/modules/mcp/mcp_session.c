/*
 * mcp_session.c — the MCP sessions (Mcp-Session-Id) of this process: a fixed table under
 * one mutex, each bound to the tenant and subject that initialized it, forgotten after
 * MCP_SESSION_IDLE_S without use or on DELETE. Sessions do not survive a restart; a
 * client then gets 404 and initializes again, as the protocol says.
 */
#include "mcp_int.h"

#include "../../fm_id.h"
#include "../../fm_log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const char *const mcp_log_levels[] = {
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency", NULL,
};

typedef struct slot {
    mcp_session_t s;
    double last;            /* fm_time_mono of the last use; 0 = free */
} slot_t;

static slot_t slots[MCP_SESSIONS_MAX];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static bool live(const slot_t *sl, double now)
{
    return sl->last > 0 && now - sl->last < MCP_SESSION_IDLE_S;
}

int mcp_session_create(mcp_session_t *s)
{
    fm_id_random("mcp", s->id, sizeof(s->id));
    double now = fm_time_mono();
    int rc = FM_EBUSY;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < MCP_SESSIONS_MAX; i++) {
        if (!live(&slots[i], now)) {
            if (slots[i].last > 0)      /* expired: its stream and subscriptions go too */
                mcp_session_gone(slots[i].s.id);
            slots[i].s = *s;
            slots[i].last = now;
            rc = FM_OK;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static slot_t *find(const char *id, const char *tenant, const char *sub, double now)
{
    for (size_t i = 0; i < MCP_SESSIONS_MAX; i++) {
        slot_t *sl = &slots[i];
        if (sl->last > 0 && sl->s.id[4] == id[4] && !strcmp(sl->s.id, id)) {
            if (!live(sl, now)) {
                sl->last = 0;
                mcp_session_gone(sl->s.id);     /* takes the stream lock inside ours: never the other way */
                return NULL;
            }
            if (tenant && (strcmp(sl->s.tenant, tenant) || strcmp(sl->s.sub, sub)))
                return NULL;
            return sl;
        }
    }
    return NULL;
}

int mcp_session_touch(const char *id, const char *tenant, const char *sub, mcp_session_t *out)
{
    if (strlen(id) < 5 || strlen(id) >= MCP_ID_MAX)
        return FM_ENOTFOUND;
    double now = fm_time_mono();
    pthread_mutex_lock(&lock);
    slot_t *sl = find(id, tenant, sub, now);
    if (sl) {
        sl->last = now;
        *out = sl->s;
    }
    pthread_mutex_unlock(&lock);
    return sl ? FM_OK : FM_ENOTFOUND;
}

int mcp_session_set_level(const char *id, int level)
{
    pthread_mutex_lock(&lock);
    slot_t *sl = find(id, NULL, NULL, fm_time_mono());
    if (sl)
        sl->s.log_level = level;
    pthread_mutex_unlock(&lock);
    return sl ? FM_OK : FM_ENOTFOUND;
}

int mcp_session_delete(const char *id, const char *tenant, const char *sub)
{
    if (strlen(id) < 5 || strlen(id) >= MCP_ID_MAX)
        return FM_ENOTFOUND;
    pthread_mutex_lock(&lock);
    slot_t *sl = find(id, tenant, sub, fm_time_mono());
    if (sl)
        sl->last = 0;
    pthread_mutex_unlock(&lock);
    return sl ? FM_OK : FM_ENOTFOUND;
}
