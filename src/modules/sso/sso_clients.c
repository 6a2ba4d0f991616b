/*
 * sso_clients.c — the client registry (admin API, permission auth:admin): register,
 * list, read and delete the OIDC clients of the caller's tenant. A confidential
 * client's secret is shown once, in the 201, and stored only as its SHA-256 (it is 32
 * random bytes, so a slow hash would add nothing).
 */
#include "sso_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REDIRECT_URIS 20

static fm_db_t *db_of(fm_req_t *r)
{
    return fm_req_mod(r)->db;
}

static const fm_field_t create_fields[] = {
    { "name", FM_F_STRING, true, 1, 128, NULL },
    { "redirectUris", FM_F_ARRAY, true, 0, 0, NULL },
    { "confidential", FM_F_BOOL, false, 0, 0, NULL },
};

int sso_clients_create(fm_req_t *r)
{
    if (fm_req_check(r, create_fields, sizeof(create_fields) / sizeof(create_fields[0])))
        return FM_OK;
    const cJSON *j = fm_req_json(r);
    const cJSON *uris = cJSON_GetObjectItemCaseSensitive(j, "redirectUris");
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(j, "confidential");
    int n = cJSON_GetArraySize(uris);
    if (n < 1 || n > MAX_REDIRECT_URIS)
        return fm_reply_invalid(r, "redirectUris", "must hold 1 to 20 redirect URIs");
    const cJSON *u;
    int i = 0;
    cJSON_ArrayForEach(u, uris) {
        char field[48];
        const char *why = NULL;
        snprintf(field, sizeof(field), "redirectUris/%d", i++);
        if (!cJSON_IsString(u))
            return fm_reply_invalid(r, field, "must be a string");
        if (!sso_redirect_uri_ok(u->valuestring, &why))
            return fm_reply_invalid(r, field, why);
    }
    bool confidential = cJSON_IsTrue(conf);
    char secret[44] = "", hash[65];
    if (confidential) {
        sso_random_token(secret);
        sso_sha256_hex(secret, hash);
    }
    sso_client_t c;
    int rc = sso_client_insert(db_of(r), fm_req_tenant(r), cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring,
                               uris, confidential ? hash : NULL, &c);
    if (rc != FM_OK)
        return rc;
    cJSON *o = sso_client_json(&c);
    if (confidential)
        cJSON_AddStringToObject(o, "clientSecret", secret);
    char loc[96];
    snprintf(loc, sizeof(loc), "/sso/clients/%s", c.id);
    sso_client_release(&c);
    fm_reply_header(r, "Location", loc);
    return fm_reply_json(r, 201, o);
}

int sso_clients_list(fm_req_t *r)
{
    int limit, offset, total = 0;
    if (fm_req_page_offset(r, 100, &limit, &offset))
        return FM_OK;
    cJSON *items = cJSON_CreateArray();
    int rc = sso_client_list(db_of(r), fm_req_tenant(r), offset, limit, items, &total);
    if (rc != FM_OK) {
        cJSON_Delete(items);
        return rc;
    }
    return fm_reply_page(r, items, offset, total);
}

int sso_clients_get(fm_req_t *r)
{
    sso_client_t c;
    int rc = sso_client_get(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"), &c);
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no client '%s'", fm_req_param(r, "id"));
    if (rc != FM_OK)
        return rc;
    cJSON *o = sso_client_json(&c);
    sso_client_release(&c);
    return fm_reply_json(r, 200, o);
}

int sso_clients_delete(fm_req_t *r)
{
    int rc = sso_client_delete(db_of(r), fm_req_tenant(r), fm_req_param(r, "id"));
    if (rc == FM_ENOTFOUND)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no client '%s'", fm_req_param(r, "id"));
    return rc == FM_OK ? fm_reply_status(r, 204) : rc;
}
