/*
 * fm_openapi.h — the OpenAPI 3.1 document of the running API (fm_openapi.c).
 */
#ifndef FM_OPENAPI_H
#define FM_OPENAPI_H

#include <cjson/cJSON.h>

/* Built from the routing table of the running server; caller deletes. */
cJSON *fm_openapi(void);

#endif
