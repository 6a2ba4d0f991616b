/*
 * auth_policy.c — built-in roles, permission matching, ABAC conditions and password
 * hashing.
 *
 * A permission is "area:action" (process:read). A grant covers it exactly or with a
 * wildcard on either side ("process:*", "*:read", "*"). A grant may carry a condition
 * after '|': "task:work|resource.assignee == user.sub". Conditions are deliberately tiny
 * (no functions, no arithmetic): operands are resource.<attr>, user.<attr> or a quoted
 * string; operators ==, != and in (a value, or any of a list, in a list); && joins them.
 */
#include "fm_auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const admin_grants[] = { "*", NULL };
static const char *const viewer_grants[] = { "*:read", NULL };
static const char *const designer_grants[] = {
    "process:*", "rules:*", "prompt:*", "agent:*", "knowledge:*", "document:*", "dxg:use",
    "marketplace:*", "entity:read", "registry:read", "execution:read", "analytics:read",
    "task:read", "event:read", "realtime:connect", "mcp:use", NULL,
};
static const char *const operator_grants[] = {
    "execution:*", "task:*", "schedule:*", "notification:*", "integration:*", "event:*",
    "registry:*", "analytics:*", "entity:*", "process:read", "rules:read", "rules:evaluate",
    "agent:invoke", "realtime:connect", "metrics:read", "mcp:use", NULL,
};
/* A participant sees and works the tasks assigned or offered to them: by user, by one
 * of their groups, or (as before groups existed) by one of their role names. */
static const char *const participant_grants[] = {
    "task:read|resource.assignee == user.sub", "task:read|user.sub in resource.candidateUsers",
    "task:read|resource.candidateGroups in user.groups", "task:read|resource.candidateGroups in user.roles",
    "task:work|resource.assignee == user.sub", "task:work|user.sub in resource.candidateUsers",
    "task:work|resource.candidateGroups in user.groups", "task:work|resource.candidateGroups in user.roles",
    "process:read", "execution:start", "execution:read", "rules:evaluate", "document:read",
    "dxg:use", "agent:invoke", "knowledge:read", "realtime:connect", "mcp:use", NULL,
};
/* Everything but administering identities. */
static const char *const service_grants[] = {
    "process:*", "execution:*", "task:*", "rules:*", "schedule:*", "notification:*",
    "integration:*", "event:*", "registry:*", "analytics:*", "entity:*", "marketplace:*",
    "agent:*", "prompt:*", "knowledge:*", "document:*", "dxg:*", "realtime:*", "mcp:*",
    "metrics:*", NULL,
};

static const struct { const char *name; const char *const *grants; } builtin[] = {
    { "admin", admin_grants }, { "designer", designer_grants }, { "operator", operator_grants },
    { "participant", participant_grants }, { "viewer", viewer_grants }, { "service", service_grants },
};

const char *const *fm_role_builtin(const char *role)
{
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (!strcmp(builtin[i].name, role))
            return builtin[i].grants;
    return NULL;
}

/* Compares one side ("process" vs "*") of grant and permission, lengths given. */
static bool side_ok(const char *g, size_t gl, const char *p, size_t pl)
{
    return (gl == 1 && *g == '*') || (gl == pl && !memcmp(g, p, gl));
}

bool fm_grant_covers(const char *grant, const char *perm)
{
    size_t glen = strcspn(grant, "|");
    if (glen == 1 && grant[0] == '*')
        return true;
    const char *gc = memchr(grant, ':', glen), *pc = strchr(perm, ':');
    if (!gc || !pc)
        return false;
    return side_ok(grant, (size_t)(gc - grant), perm, (size_t)(pc - perm)) &&
           side_ok(gc + 1, glen - (size_t)(gc - grant) - 1, pc + 1, strlen(pc + 1));
}

fm_authz_t fm_authz_static(const fm_principal_t *p, const char *perm)
{
    fm_authz_t best = FM_AUTHZ_DENY;
    const char *g = p->perms;
    for (int i = 0; i < p->nperms; i++, g += strlen(g) + 1) {
        if (!fm_grant_covers(g, perm))
            continue;
        if (!strchr(g, '|'))
            return FM_AUTHZ_ALLOW;
        best = FM_AUTHZ_IF;
    }
    return best;
}

/* ---- conditions ---- */

typedef struct { const char *s; } lex_t;

static void skip(lex_t *l)
{
    while (*l->s == ' ' || *l->s == '\t')
        l->s++;
}

/* An operand as JSON (owned by `hold` when built here); NULL on a syntax error.
 * `missing` is set when a path names nothing. */
static const cJSON *operand(lex_t *l, const fm_principal_t *p, const cJSON *res, cJSON *hold,
                            bool *syntax_ok)
{
    skip(l);
    char word[128];
    size_t n = 0;
    if (*l->s == '\'') {
        const char *end = strchr(l->s + 1, '\'');
        if (!end || (size_t)(end - l->s - 1) >= sizeof(word)) {
            *syntax_ok = false;
            return NULL;
        }
        n = (size_t)(end - l->s - 1);
        memcpy(word, l->s + 1, n);
        word[n] = 0;
        l->s = end + 1;
        cJSON *v = cJSON_CreateString(word);
        cJSON_AddItemToArray(hold, v);
        return v;
    }
    while ((l->s[n] >= 'a' && l->s[n] <= 'z') || (l->s[n] >= 'A' && l->s[n] <= 'Z') ||
           (l->s[n] >= '0' && l->s[n] <= '9') || l->s[n] == '.' || l->s[n] == '_')
        n++;
    if (n == 0 || n >= sizeof(word)) {
        *syntax_ok = false;
        return NULL;
    }
    memcpy(word, l->s, n);
    word[n] = 0;
    l->s += n;
    if (!strncmp(word, "resource.", 9))
        return res ? cJSON_GetObjectItemCaseSensitive(res, word + 9) : NULL;
    if (strncmp(word, "user.", 5)) {
        *syntax_ok = false;
        return NULL;
    }
    const char *attr = word + 5;
    if (strcmp(attr, "sub") && strcmp(attr, "tenant") && strcmp(attr, "email") && strcmp(attr, "service") &&
        strcmp(attr, "roles") && strcmp(attr, "groups")) {
        *syntax_ok = false;     /* checked without a principal too: fm_condition_valid */
        return NULL;
    }
    if (!p)
        return NULL;
    cJSON *v = NULL;
    if (!strcmp(attr, "sub")) v = cJSON_CreateString(p->sub);
    else if (!strcmp(attr, "tenant")) v = cJSON_CreateString(p->tenant);
    else if (!strcmp(attr, "email")) v = cJSON_CreateString(p->email);
    else if (!strcmp(attr, "service")) v = cJSON_CreateString(p->service);
    else if (!strcmp(attr, "roles") || !strcmp(attr, "groups")) {
        bool roles = !strcmp(attr, "roles");
        v = cJSON_CreateArray();
        const char *r = roles ? p->roles : p->groups;
        for (int i = 0; i < (roles ? p->nroles : p->ngroups); i++, r += strlen(r) + 1)
            cJSON_AddItemToArray(v, cJSON_CreateString(r));
    } else {
        *syntax_ok = false;
        return NULL;
    }
    cJSON_AddItemToArray(hold, v);
    return v;
}

static bool scalar_eq(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return !strcmp(a->valuestring, b->valuestring);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    return false;
}

static bool in_list(const cJSON *a, const cJSON *list)
{
    if (!cJSON_IsArray(list))
        return false;
    const cJSON *x, *y;
    if (cJSON_IsArray(a)) {
        cJSON_ArrayForEach(x, a)
            cJSON_ArrayForEach(y, list)
                if (scalar_eq(x, y))
                    return true;
        return false;
    }
    cJSON_ArrayForEach(y, list)
        if (scalar_eq(a, y))
            return true;
    return false;
}

/* Evaluates cond; *syntax_ok false when it does not parse. Missing attributes are false. */
static bool eval_condition(const char *cond, const fm_principal_t *p, const cJSON *res, bool *syntax_ok)
{
    lex_t l = { cond };
    bool all = true;
    *syntax_ok = true;
    cJSON *hold = cJSON_CreateArray();
    for (;;) {
        const cJSON *a = operand(&l, p, res, hold, syntax_ok);
        if (!*syntax_ok)
            break;
        skip(&l);
        int op;
        if (!strncmp(l.s, "==", 2)) op = 0, l.s += 2;
        else if (!strncmp(l.s, "!=", 2)) op = 1, l.s += 2;
        else if (!strncmp(l.s, "in ", 3)) op = 2, l.s += 2;
        else {
            *syntax_ok = false;
            break;
        }
        const cJSON *b = operand(&l, p, res, hold, syntax_ok);
        if (!*syntax_ok)
            break;
        bool r = a && b && (op == 0 ? scalar_eq(a, b) : op == 1 ? !scalar_eq(a, b) : in_list(a, b));
        all = all && r;
        skip(&l);
        if (!*l.s)
            break;
        if (strncmp(l.s, "&&", 2)) {
            *syntax_ok = false;
            break;
        }
        l.s += 2;
    }
    cJSON_Delete(hold);
    return *syntax_ok && all;
}

bool fm_condition_valid(const char *cond)
{
    bool ok;
    eval_condition(cond, NULL, NULL, &ok);
    return ok;
}

bool fm_authz(const fm_principal_t *p, const char *perm, const cJSON *resource)
{
    const char *g = p->perms;
    for (int i = 0; i < p->nperms; i++, g += strlen(g) + 1) {
        if (!fm_grant_covers(g, perm))
            continue;
        const char *bar = strchr(g, '|');
        bool ok;
        if (!bar || eval_condition(bar + 1, p, resource, &ok))
            return true;
    }
    return false;
}

/* ---- passwords ---- */

/* argon2id with OWASP's minimum (19 MiB, t=2): ~20 ms here, and a login burst cannot
 * take the server's memory (libsodium's "interactive" preset wants 64 MiB each). */
#define PW_OPS 2
#define PW_MEM (19u << 20)

int fm_password_hash(const char *password, char out[FM_PASSWORD_HASH_MAX])
{
    _Static_assert(crypto_pwhash_STRBYTES <= FM_PASSWORD_HASH_MAX, "hash buffer");
    if (crypto_pwhash_str_alg(out, password, strlen(password), PW_OPS, PW_MEM, crypto_pwhash_ALG_ARGON2ID13))
        return FM_ENOMEM;
    return FM_OK;
}

bool fm_password_verify(const char *hash, const char *password)
{
    return hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
