/*
 * market_install.c — installing a marketplace package version into the caller's tenant.
 * The signature is checked first over the stored bytes (a package changed after it was
 * published installs nothing). Then every model goes in through the public routes of
 * Process Design (processes, forms), Rules (decisions) and Prompt Engineering (prompts:
 * POST /prompts, PUT /prompts/{id}, the production label) with the caller's identity,
 * so permissions and tenants are exactly those of a person doing it by hand. Name
 * conflicts are found before anything is created; an upgrade changes the objects the
 * earlier install created (new drafts, published again) and adds new ones.
 */
#include "market_int.h"

#include "../../fm_buf.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct call {
    int status;
    cJSON *body;
} call_t;

/* fm_call with the caller's identity; the answer parsed (NULL when not JSON). */
static call_t call(fm_req_t *r, fm_method_t m, const char *path, const cJSON *body, const char *if_match)
{
    char *txt = body ? cJSON_PrintUnformatted(body) : NULL;
    const char *hdr[] = { "If-Match", if_match, NULL };
    int status = 0;
    char *out = NULL;
    int rc = if_match ? fm_call_h(r, m, path, txt, hdr, &status, &out) : fm_call(r, m, path, txt, &status, &out);
    cJSON_free(txt);
    call_t c = { rc == FM_OK ? status : 500, out ? cJSON_Parse(out) : NULL };
    free(out);
    return c;
}

static void url_enc(fm_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch))
            fm_buf_add(b, s, 1);
        else
            fm_buf_addf(b, "%%%02X", ch);
    }
}

/* The id of the tenant's process (or rule set) named exactly `name`, or NULL. */
static char *find_named(fm_req_t *r, const char *base, const char *name)
{
    fm_buf_t p = FM_BUF_INIT;
    fm_buf_addf(&p, "%s?limit=100&q=", base);
    url_enc(&p, name);
    call_t c = call(r, FM_GET, p.data, NULL, NULL);
    fm_buf_release(&p);
    char *id = NULL;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(c.body, "items"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(x, "name"));
        const char *i = cJSON_GetStringValue(cJSON_GetObjectItem(x, "id"));
        if (n && i && !strcmp(n, name)) {
            id = strdup(i);
            break;
        }
    }
    cJSON_Delete(c.body);
    return id;
}

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static void note(cJSON *arr, const char *kind, const char *name, const char *id, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "name", name ? name : "");
    if (id)
        cJSON_AddStringToObject(o, "id", id);
    if (detail)
        cJSON_AddStringToObject(o, "detail", detail);
    cJSON_AddItemToArray(arr, o);
}

typedef struct run {
    fm_req_t *r;
    bool publish;
    cJSON *objects;     /* {"processes": {name: id}, "decisions": {name: id}, "forms": [ids],
                           "prompts": {name: id}} */
    cJSON *created, *updated, *skipped, *renamed;
    char failed[400];
} run_t;

static bool ok2xx(int s)
{
    return s >= 200 && s < 300;
}

static void fail(run_t *u, const char *what, const char *name, const call_t *c)
{
    const char *d = str(c->body, "detail");
    snprintf(u->failed, sizeof(u->failed), "%s '%s': HTTP %d%s%s", what, name ? name : "", c->status, d ? ": " : "",
             d ? d : "");
}

static bool put_process(run_t *u, const char *key, const char *id, const char *name, const char *xml, bool created)
{
    char path[200];
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "xml", xml);
    call_t c = created ? call(u->r, FM_POST, "/processes", b, NULL)
                       : (snprintf(path, sizeof(path), "/processes/%s", id), call(u->r, FM_PUT, path, b, NULL));
    cJSON_Delete(b);
    if (!ok2xx(c.status)) {
        fail(u, "process", name, &c);
        cJSON_Delete(c.body);
        return false;
    }
    const char *pid = created ? str(c.body, "id") : id;
    cJSON_AddStringToObject(cJSON_GetObjectItem(u->objects, "processes"), key, pid ? pid : "");
    note(created ? u->created : u->updated, "process", name, pid, NULL);
    if (u->publish && pid) {
        snprintf(path, sizeof(path), "/processes/%s/publish", pid);
        cJSON *empty = cJSON_CreateObject();
        call_t p = call(u->r, FM_POST, path, empty, NULL);
        cJSON_Delete(empty);
        if (!ok2xx(p.status))
            fail(u, "publishing process", name, &p);
        cJSON_Delete(p.body);
    }
    cJSON_Delete(c.body);
    return !u->failed[0];
}

static bool put_decision(run_t *u, const char *key, const char *id, const char *name, const char *dmn)
{
    char path[200], etag[120];
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", name);
    cJSON_AddStringToObject(b, "dmn", dmn);
    call_t c;
    if (!id)
        c = call(u->r, FM_POST, "/rules", b, NULL);
    else {
        snprintf(path, sizeof(path), "/rules/%s", id);
        call_t g = call(u->r, FM_GET, path, NULL, NULL);
        const cJSON *lv = cJSON_GetObjectItem(g.body, "latestVersion");
        snprintf(etag, sizeof(etag), "\"%s.v%d\"", id, cJSON_IsNumber(lv) ? lv->valueint : 0);
        cJSON_Delete(g.body);
        c = call(u->r, FM_PUT, path, b, etag);
    }
    cJSON_Delete(b);
    if (!ok2xx(c.status)) {
        fail(u, "decision", name, &c);
        cJSON_Delete(c.body);
        return false;
    }
    const char *rid = id ? id : str(c.body, "id");
    cJSON_AddStringToObject(cJSON_GetObjectItem(u->objects, "decisions"), key, rid ? rid : "");
    note(id ? u->updated : u->created, "decision", name, rid, NULL);
    cJSON_Delete(c.body);
    return true;
}

static bool put_form(run_t *u, const cJSON *schema, bool exists)
{
    const char *fid = str(schema, "id");
    char path[200];
    call_t c;
    if (!exists)
        c = call(u->r, FM_POST, "/forms", schema, NULL);
    else {
        snprintf(path, sizeof(path), "/forms/%s", fid);
        call_t g = call(u->r, FM_GET, path, NULL, NULL);
        const cJSON *rev = cJSON_GetObjectItem(g.body, "revision");
        char etag[32];
        snprintf(etag, sizeof(etag), "\"r%d\"", cJSON_IsNumber(rev) ? rev->valueint : 0);
        cJSON_Delete(g.body);
        c = call(u->r, FM_PUT, path, schema, etag);
    }
    if (!ok2xx(c.status)) {
        fail(u, "form", fid, &c);
        cJSON_Delete(c.body);
        return false;
    }
    cJSON_Delete(c.body);
    cJSON *forms = cJSON_GetObjectItem(u->objects, "forms");
    bool listed = false;
    const cJSON *x;
    cJSON_ArrayForEach(x, forms) listed = listed || !strcmp(x->valuestring, fid);
    if (!listed)
        cJSON_AddItemToArray(forms, cJSON_CreateString(fid));
    note(exists ? u->updated : u->created, "form", fid, fid, NULL);
    if (u->publish) {
        snprintf(path, sizeof(path), "/forms/%s/publish", fid);
        cJSON *empty = cJSON_CreateObject();
        call_t p = call(u->r, FM_POST, path, empty, NULL);
        cJSON_Delete(empty);
        if (!ok2xx(p.status))
            fail(u, "publishing form", fid, &p);
        cJSON_Delete(p.body);
    }
    return !u->failed[0];
}

/* The id of the tenant's prompt named exactly `name` (8012 takes a name in place of an
 * id; prompt names need no escaping), or NULL. */
static char *find_prompt(fm_req_t *r, const char *name)
{
    char path[200];
    snprintf(path, sizeof(path), "/prompts/%s", name);
    call_t c = call(r, FM_GET, path, NULL, NULL);
    const char *i = c.status == 200 ? str(c.body, "id") : NULL;
    char *id = i ? strdup(i) : NULL;
    cJSON_Delete(c.body);
    return id;
}

/* A prompt made (id NULL: POST /prompts) or given a new version (PUT /prompts/{id}) from
 * the package's members; with publish the production label points at the new version. */
static bool put_prompt(run_t *u, const char *key, const char *id, const char *name, const cJSON *src)
{
    static const char *const members[] = { "template", "variables", "partials", "outputFormat", "outputSchema",
                                           "description", NULL };
    char path[200];
    cJSON *b = cJSON_CreateObject();
    if (!id)
        cJSON_AddStringToObject(b, "name", name);
    for (const char *const *m = members; *m; m++) {
        const cJSON *v = cJSON_GetObjectItem(src, *m);
        if (v)
            cJSON_AddItemToObject(b, *m, cJSON_Duplicate(v, true));
    }
    cJSON_AddStringToObject(b, "changelog", "installed from the marketplace");
    call_t c = id ? (snprintf(path, sizeof(path), "/prompts/%s", id), call(u->r, FM_PUT, path, b, NULL))
                  : call(u->r, FM_POST, "/prompts", b, NULL);
    cJSON_Delete(b);
    if (!ok2xx(c.status)) {
        fail(u, "prompt", name, &c);
        cJSON_Delete(c.body);
        return false;
    }
    const char *pid = id ? id : str(c.body, "id");
    const cJSON *lv = cJSON_GetObjectItem(c.body, "latestVersion");
    cJSON *mine = cJSON_GetObjectItem(u->objects, "prompts");
    if (!cJSON_GetObjectItem(mine, key))
        cJSON_AddStringToObject(mine, key, pid ? pid : "");
    note(id ? u->updated : u->created, "prompt", name, pid, NULL);
    if (u->publish && pid && cJSON_IsNumber(lv)) {
        snprintf(path, sizeof(path), "/prompts/%s/labels/production", pid);
        cJSON *lb = cJSON_CreateObject();
        cJSON_AddNumberToObject(lb, "version", lv->valueint);
        call_t p = call(u->r, FM_PUT, path, lb, NULL);
        cJSON_Delete(lb);
        if (!ok2xx(p.status))
            fail(u, "labelling prompt", name, &p);
        cJSON_Delete(p.body);
    }
    cJSON_Delete(c.body);
    return !u->failed[0];
}

/* Models the tenant chose to keep at an earlier install ("skip", or a conflicting form):
 * kept again by an upgrade, without asking. */
static bool was_kept(const cJSON *kept, const char *kind, const char *name)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(kept, kind)) if (cJSON_IsString(x) && !strcmp(x->valuestring, name)) return
        true;
    return false;
}

static void keep(cJSON *kept, const char *kind, const char *name)
{
    if (was_kept(kept, kind, name))
        return;
    cJSON *a = cJSON_GetObjectItem(kept, kind);
    if (!a)
        a = cJSON_AddArrayToObject(kept, kind);
    cJSON_AddItemToArray(a, cJSON_CreateString(name));
}

static bool form_exists(fm_req_t *r, const char *fid)
{
    char path[200];
    snprintf(path, sizeof(path), "/forms/%s", fid);
    call_t g = call(r, FM_GET, path, NULL, NULL);
    cJSON_Delete(g.body);
    return g.status == 200;
}

int market_install(fm_req_t *r, const char *id, const market_version_t *v, const char *on_conflict, bool publish)
{
    if (crypto_sign_verify_detached(v->sig, (const unsigned char *)v->content, strlen(v->content), v->pk) != 0)
        return fm_reply_problem(r, 422, NULL, NULL, NULL,
                                "the signature of version %s does not verify: the package changed after it was "
                                "published; nothing was installed",
                                v->version);
    cJSON *pkg = cJSON_Parse(v->content);
    if (!pkg)
        return fm_reply_problem(r, 422, NULL, NULL, NULL, "version %s is not a readable package", v->version);
    fm_db_t *db = fm_req_mod(r)->db;
    cJSON *prev = NULL;
    char prev_version[32] = "";
    bool upgrade = market_install_get(db, fm_req_tenant(r), id, &prev, prev_version, sizeof(prev_version)) == FM_OK;
    if (upgrade) {
        char a[40], b[40];
        if (market_semver_key(v->version, a, sizeof(a)) && market_semver_key(prev_version, b, sizeof(b)) &&
            strcmp(a, b) <= 0) {
            cJSON_Delete(pkg);
            cJSON_Delete(prev);
            return fm_reply_problem(r, 409, NULL, NULL, NULL,
                                    "version %s of this package is installed; only a newer version can be installed "
                                    "over it",
                                    prev_version);
        }
    }
    run_t u = { r, publish, prev ? prev : cJSON_CreateObject(), cJSON_CreateArray(), cJSON_CreateArray(),
                cJSON_CreateArray(), cJSON_CreateArray(), "" };
    if (!cJSON_GetObjectItem(u.objects, "processes"))
        cJSON_AddObjectToObject(u.objects, "processes");
    if (!cJSON_GetObjectItem(u.objects, "decisions"))
        cJSON_AddObjectToObject(u.objects, "decisions");
    if (!cJSON_GetObjectItem(u.objects, "forms"))
        cJSON_AddArrayToObject(u.objects, "forms");
    if (!cJSON_GetObjectItem(u.objects, "prompts"))
        cJSON_AddObjectToObject(u.objects, "prompts");
    if (!cJSON_GetObjectItem(u.objects, "kept"))
        cJSON_AddObjectToObject(u.objects, "kept");
    cJSON *kept = cJSON_GetObjectItem(u.objects, "kept");
    const cJSON *procs = cJSON_GetObjectItem(pkg, "processes"), *decs = cJSON_GetObjectItem(pkg, "decisions");
    const cJSON *forms = cJSON_GetObjectItem(pkg, "forms"), *prompts = cJSON_GetObjectItem(pkg, "prompts"), *x;
    cJSON *mine_p = cJSON_GetObjectItem(u.objects, "processes"), *mine_d = cJSON_GetObjectItem(u.objects, "decisions");
    cJSON *mine_t = cJSON_GetObjectItem(u.objects, "prompts");
    cJSON *mine_f = cJSON_GetObjectItem(u.objects, "forms");

    /* 1. Conflicts: a model of the same name (or form id) that this package did not make. */
    cJSON *conflicts = cJSON_CreateArray();
    cJSON_ArrayForEach(x, procs)
    {
        const char *n = str(x, "name");
        if (cJSON_GetObjectItem(mine_p, n) || was_kept(kept, "process", n))
            continue;
        char *hit = find_named(r, "/processes", n);
        if (hit)
            note(conflicts, "process", n, hit, "a process of this name exists");
        free(hit);
    }
    cJSON_ArrayForEach(x, decs)
    {
        const char *n = str(x, "name");
        if (cJSON_GetObjectItem(mine_d, n) || was_kept(kept, "decision", n))
            continue;
        char *hit = find_named(r, "/rules", n);
        if (hit)
            note(conflicts, "decision", n, hit, "a rule set of this name exists");
        free(hit);
    }
    cJSON_ArrayForEach(x, prompts)
    {
        const char *n = str(x, "name");
        if (cJSON_GetObjectItem(mine_t, n) || was_kept(kept, "prompt", n))
            continue;
        char *hit = find_prompt(r, n);
        if (hit)
            note(conflicts, "prompt", n, hit, "a prompt of this name exists");
        free(hit);
    }
    cJSON_ArrayForEach(x, forms)
    {
        const char *fid = str(cJSON_GetObjectItem(x, "schema"), "id");
        bool ours = false;
        const cJSON *y;
        cJSON_ArrayForEach(y, mine_f) ours = ours || !strcmp(y->valuestring, fid);
        if (!ours && !was_kept(kept, "form", fid) && form_exists(r, fid))
            note(conflicts, "form", fid, fid, "a form with this id exists");
    }
    bool rename = on_conflict && !strcmp(on_conflict, "rename"), skip = on_conflict && !strcmp(on_conflict, "skip");
    if (cJSON_GetArraySize(conflicts) && !rename && !skip) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddItemToObject(ext, "conflicts", conflicts);
        cJSON_Delete(pkg);
        cJSON_Delete(u.objects);
        cJSON_Delete(u.created);
        cJSON_Delete(u.updated);
        cJSON_Delete(u.skipped);
        cJSON_Delete(u.renamed);
        return fm_reply_problem(r, 409, NULL, NULL, ext,
                                "%d model(s) of this package conflict with what the tenant has; nothing was installed. "
                                "Install again with \"onConflict\": \"rename\" or \"skip\"",
                                cJSON_GetArraySize(ext->child));
    }

    /* 2. Forms first (processes link them by id), then prompts and decisions (which
     * processes may use), then processes. */
    cJSON_ArrayForEach(x, forms)
    {
        if (u.failed[0])
            break;
        const cJSON *schema = cJSON_GetObjectItem(x, "schema");
        const char *fid = str(schema, "id");
        bool ours = false, conflict = false;
        const cJSON *y;
        cJSON_ArrayForEach(y, mine_f) ours = ours || !strcmp(y->valuestring, fid);
        cJSON_ArrayForEach(y, conflicts) conflict = conflict || (!strcmp(str(y, "kind"), "form") && !strcmp(str(y, "name"), fid));
        if (conflict || was_kept(kept, "form", fid)) {
            /* Processes name forms by id: renaming one would break them, so a
             * conflicting form is always left as the tenant has it. */
            note(u.skipped, "form", fid, fid, "the tenant's form of this id is kept (forms are linked by id)");
            keep(kept, "form", fid);
            continue;
        }
        put_form(&u, schema, ours);
    }
    cJSON_ArrayForEach(x, prompts)
    {
        if (u.failed[0])
            break;
        const char *n = str(x, "name");
        const cJSON *mine = cJSON_GetObjectItem(mine_t, n);
        if (!mine && was_kept(kept, "prompt", n)) {
            note(u.skipped, "prompt", n, NULL, "kept the tenant's prompt of this name (as at the first install)");
            continue;
        }
        char *hit = mine ? NULL : find_prompt(r, n);
        if (hit && skip) {
            note(u.skipped, "prompt", n, hit, "kept the tenant's prompt of this name");
            keep(kept, "prompt", n);
        } else if (hit) {
            /* Prompt names are letters, digits, '-', '_' and '.': "<name>.<package>"
             * (publish keeps names short enough for it). */
            char nn[300];
            snprintf(nn, sizeof(nn), "%s.%s", n, str(pkg, "name"));
            note(u.renamed, "prompt", n, NULL, nn);
            put_prompt(&u, n, NULL, nn, x);
        } else
            put_prompt(&u, n, mine ? mine->valuestring : NULL, n, x);
        free(hit);
    }
    cJSON_ArrayForEach(x, decs)
    {
        if (u.failed[0])
            break;
        const char *n = str(x, "name");
        const cJSON *mine = cJSON_GetObjectItem(mine_d, n);
        if (!mine && was_kept(kept, "decision", n)) {
            note(u.skipped, "decision", n, NULL, "kept the tenant's rule set of this name (as at the first install)");
            continue;
        }
        char *hit = mine ? NULL : find_named(r, "/rules", n);
        if (hit && skip) {
            note(u.skipped, "decision", n, hit, "kept the tenant's rule set of this name");
            keep(kept, "decision", n);
        } else if (hit) {
            char nn[300];
            snprintf(nn, sizeof(nn), "%s (%s)", n, str(pkg, "name"));
            note(u.renamed, "decision", n, NULL, nn);
            put_decision(&u, n, NULL, nn, str(x, "dmn"));
        } else
            put_decision(&u, n, mine ? mine->valuestring : NULL, n, str(x, "dmn"));
        free(hit);
    }
    cJSON_ArrayForEach(x, procs)
    {
        if (u.failed[0])
            break;
        const char *n = str(x, "name");
        const cJSON *mine = cJSON_GetObjectItem(mine_p, n);
        if (!mine && was_kept(kept, "process", n)) {
            note(u.skipped, "process", n, NULL, "kept the tenant's process of this name (as at the first install)");
            continue;
        }
        char *hit = mine ? NULL : find_named(r, "/processes", n);
        if (hit && skip) {
            note(u.skipped, "process", n, hit, "kept the tenant's process of this name");
            keep(kept, "process", n);
        } else if (hit) {
            char nn[300];
            snprintf(nn, sizeof(nn), "%s (%s)", n, str(pkg, "name"));
            note(u.renamed, "process", n, NULL, nn);
            put_process(&u, n, NULL, nn, str(x, "bpmn"), true);
        } else
            put_process(&u, n, mine ? mine->valuestring : NULL, n, str(x, "bpmn"), !mine);
        free(hit);
    }
    cJSON_Delete(conflicts);

    /* 3. What was made is recorded even when a step failed, so a retry upgrades it. */
    int rc = market_install_put(db, fm_req_tenant(r), id, u.failed[0] && !upgrade ? "0.0.0" : v->version, u.objects);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "packageId", id);
    cJSON_AddStringToObject(o, "version", v->version);
    if (upgrade)
        cJSON_AddStringToObject(o, "upgradedFrom", prev_version);
    cJSON_AddItemToObject(o, "created", u.created);
    cJSON_AddItemToObject(o, "updated", u.updated);
    cJSON_AddItemToObject(o, "skipped", u.skipped);
    cJSON_AddItemToObject(o, "renamed", u.renamed);
    cJSON_Delete(u.objects);
    cJSON_Delete(pkg);
    if (rc != FM_OK) {
        cJSON_Delete(o);
        return rc;
    }
    if (u.failed[0]) {
        cJSON *ext = cJSON_CreateObject();
        cJSON_AddItemToObject(ext, "partial", o);
        return fm_reply_problem(r, 422, NULL, NULL, ext,
                                "the install stopped at %s; what was made before is listed in 'partial' and an "
                                "install again continues it",
                                u.failed);
    }
    return fm_reply_json(r, upgrade ? 200 : 201, o);
}
