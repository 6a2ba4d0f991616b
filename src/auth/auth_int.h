/*
 * auth_int.h — private to the identity core (src/auth/) and the dispatcher.
 */
#ifndef AUTH_INT_H
#define AUTH_INT_H

#include "fm_auth.h"

/* Verifies (or finds in the cache) an access token and fills p. */
int fm_principal_from_token(const char *token, fm_principal_t *p, char *why, size_t whylen);
/* Edge checks for every request: the per-IP rate limit and CORS. FM_OK or FM_REPLIED. */
int fm__guard_edge(fm_req_t *r, const char *client_ip);
/* Route checks for a matched route: token, tenant, the tenant's rate limit, permission.
 * FM_OK or FM_REPLIED. */
int fm__guard_route(fm_req_t *r);
void fm__auth_cache_clear(void);

#endif
