/*
 * dxg_form.c — the smart form of a task: the fields of its form (a JSON Schema's
 * top-level properties or a form-js schema's keyed components), each prefilled from
 * the best source the case has: a process variable of the same key (confidence 1), a
 * key–value pair or an entity extracted from a related document whose label or type
 * fits the field (the extractor's confidence, less for a looser fit), or the answer most
 * given in similar completed tasks (its share of them). Nothing is invented: a field
 * without a source stays empty.
 */
#include "dxg_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void norm(const char *s, char *out, size_t len)
{
    size_t o = 0;
    for (; s && *s && o + 1 < len; s++)
        if (isalnum((unsigned char)*s))
            out[o++] = (char)tolower((unsigned char)*s);
    out[o] = 0;
}

static void add_field(cJSON *fields, const char *key, const char *label, const char *type, bool required)
{
    if (!key || !*key || cJSON_GetArraySize(fields) >= DXG_MAX_FIELDS)
        return;
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "key", key);
    cJSON_AddStringToObject(f, "label", label && *label ? label : key);
    cJSON_AddStringToObject(f, "type", type ? type : "string");
    cJSON_AddBoolToObject(f, "required", required);
    cJSON_AddItemToArray(fields, f);
}

static bool in_array(const cJSON *a, const char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, a) if (cJSON_IsString(x) && !strcmp(x->valuestring, s)) return true;
    return false;
}

/* The fields of a JSON Schema (type object) or of a form-js schema (components). */
static cJSON *fields_of(const cJSON *form)
{
    cJSON *fields = cJSON_CreateArray();
    const cJSON *props = cJSON_GetObjectItem(form, "properties"), *x;
    const cJSON *req = cJSON_GetObjectItem(form, "required");
    cJSON_ArrayForEach(x, props)
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(x, "type"));
        add_field(fields, x->string, cJSON_GetStringValue(cJSON_GetObjectItem(x, "title")), t, in_array(req, x->string));
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(form, "components"))
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(x, "type"));
        const char *type = !t ? "string" : !strcmp(t, "number") ? "number" : !strcmp(t, "checkbox") ? "boolean"
                                                                          : !strcmp(t, "datetime") ? "date" : "string";
        const cJSON *v = cJSON_GetObjectItem(x, "validate");
        add_field(fields, cJSON_GetStringValue(cJSON_GetObjectItem(x, "key")),
                  cJSON_GetStringValue(cJSON_GetObjectItem(x, "label")), type,
                  cJSON_IsTrue(cJSON_GetObjectItem(v, "required")));
    }
    return fields;
}

/* The entity type whose values fit a field named like this, or NULL. */
static const char *entity_for(const char *k)
{
    static const struct { const char *part, *type; } map[] = {
        { "email", "email" }, { "mail", "email" }, { "iban", "iban" }, { "bic", "bic" }, { "swift", "bic" },
        { "vat", "vat_id" }, { "invoice", "invoice_number" }, { "order", "order_number" }, { "amount", "amount" },
        { "total", "amount" }, { "price", "amount" }, { "sum", "amount" }, { "date", "date" }, { "due", "date" },
        { "url", "url" }, { "website", "url" }, { "phone", "phone" }, { "tel", "phone" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strstr(k, map[i].part))
            return map[i].type;
    return NULL;
}

static void set(cJSON *f, cJSON *value, const char *source, double confidence, const char *detail)
{
    cJSON_AddItemToObject(f, "value", value);
    cJSON_AddStringToObject(f, "source", source);
    cJSON_AddNumberToObject(f, "confidence", (double)(int)(confidence * 100 + 0.5) / 100);
    if (detail)
        cJSON_AddStringToObject(f, "detail", detail);
}

/* From the related documents: a key–value pair whose label is the field's, else an
 * entity of the type the field's name asks for (the first, most confident). */
static bool from_documents(cJSON *f, const cJSON *docs)
{
    char fk[128], fl[128], kk[128], detail[200];
    norm(cJSON_GetStringValue(cJSON_GetObjectItem(f, "key")), fk, sizeof(fk));
    norm(cJSON_GetStringValue(cJSON_GetObjectItem(f, "label")), fl, sizeof(fl));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(f, "type"));
    const cJSON *d, *x;
    cJSON_ArrayForEach(d, docs) cJSON_ArrayForEach(x, cJSON_GetObjectItem(d, "keyValues"))
    {
        norm(cJSON_GetStringValue(cJSON_GetObjectItem(x, "key")), kk, sizeof(kk));
        if (*kk && (!strcmp(kk, fk) || !strcmp(kk, fl))) {
            snprintf(detail, sizeof(detail), "\"%s\" in document %s", cJSON_GetStringValue(cJSON_GetObjectItem(x, "key")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(d, "id")));
            set(f, cJSON_CreateString(cJSON_GetStringValue(cJSON_GetObjectItem(x, "value"))), "document",
                cJSON_GetNumberValue(cJSON_GetObjectItem(x, "confidence")), detail);
            return true;
        }
    }
    const char *want = entity_for(fk);
    if (!want)
        return false;
    const cJSON *best = NULL, *best_doc = NULL;
    cJSON_ArrayForEach(d, docs) cJSON_ArrayForEach(x, cJSON_GetObjectItem(d, "entities"))
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(x, "type"));
        if (t && !strcmp(t, want) && (!best || cJSON_GetNumberValue(cJSON_GetObjectItem(x, "confidence")) >
                                                   cJSON_GetNumberValue(cJSON_GetObjectItem(best, "confidence")))) {
            best = x;
            best_doc = d;
        }
    }
    if (!best)
        return false;
    cJSON *value;
    const cJSON *amount = cJSON_GetObjectItem(best, "amount");
    if (type && !strcmp(type, "number") && cJSON_IsNumber(amount))
        value = cJSON_CreateNumber(amount->valuedouble);
    else {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(best, "normalized"));
        value = cJSON_CreateString(n ? n : cJSON_GetStringValue(cJSON_GetObjectItem(best, "value")));
    }
    snprintf(detail, sizeof(detail), "%s found in document %s", want,
             cJSON_GetStringValue(cJSON_GetObjectItem(best_doc, "id")));
    /* a field named like the type is a looser fit than a labelled pair */
    set(f, value, "document", cJSON_GetNumberValue(cJSON_GetObjectItem(best, "confidence")) * 0.9, detail);
    return true;
}

/* From similar completed tasks: the value given most often for this key, when it is
 * at least half of the answers that have the key. */
static bool from_past(cJSON *f, const cJSON *similar)
{
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(f, "key"));
    const cJSON *t, *u;
    int n = 0, best_n = 0;
    const cJSON *best = NULL;
    cJSON_ArrayForEach(t, similar)
    {
        const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "response"), key);
        if (!v || cJSON_IsNull(v) || cJSON_IsObject(v) || cJSON_IsArray(v))
            continue;
        n++;
        int same = 0;
        cJSON_ArrayForEach(u, similar)
        {
            const cJSON *w = cJSON_GetObjectItem(cJSON_GetObjectItem(u, "response"), key);
            same += w && cJSON_Compare(v, w, true);
        }
        if (same > best_n) {
            best_n = same;
            best = v;
        }
    }
    if (!best || best_n * 2 < n)
        return false;
    char detail[120];
    snprintf(detail, sizeof(detail), "given in %d of %d similar completed tasks", best_n, n);
    set(f, cJSON_Duplicate(best, true), "history", (double)best_n / n, detail);
    return true;
}

cJSON *dxg_smart_form(const cJSON *kase)
{
    const cJSON *task = cJSON_GetObjectItem(kase, "task");
    const cJSON *vars = cJSON_GetObjectItem(kase, "variables");
    const cJSON *docs = cJSON_GetObjectItem(kase, "documents");
    const cJSON *similar = cJSON_GetObjectItem(kase, "similarTasks");
    const cJSON *form = cJSON_GetObjectItem(task, "form");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "form", form ? cJSON_Duplicate(form, true) : cJSON_CreateNull());
    cJSON *fields = fields_of(form);
    cJSON *review = cJSON_CreateArray();
    const char *focus = NULL;
    int filled = 0;
    cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(f, "key"));
        const cJSON *v = cJSON_GetObjectItem(vars, key);
        bool got = true;
        if (v && !cJSON_IsNull(v))
            set(f, cJSON_Duplicate(v, true), "variable", 1.0, "the process variable of the same name");
        else if (!from_documents(f, docs) && !from_past(f, similar))
            got = false;
        filled += got;
        if (got && cJSON_GetNumberValue(cJSON_GetObjectItem(f, "confidence")) < 0.8)
            cJSON_AddItemToArray(review, cJSON_CreateString(key));
        if (!got && !focus && cJSON_IsTrue(cJSON_GetObjectItem(f, "required")))
            focus = key;
    }
    cJSON_AddItemToObject(o, "fields", fields);
    cJSON *hints = cJSON_AddObjectToObject(o, "hints");
    /* where the person starts: the first required field nothing could fill */
    if (focus)
        cJSON_AddStringToObject(hints, "focus", focus);
    else
        cJSON_AddNullToObject(hints, "focus");
    cJSON_AddItemToObject(hints, "review", review);
    cJSON_AddNumberToObject(hints, "prefilled", filled);
    cJSON_AddNumberToObject(hints, "total", cJSON_GetArraySize(fields));
    return o;
}
