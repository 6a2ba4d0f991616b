/*
 * versioning.c — Process Versioning (8020): diffs between process versions, branches, merges, tags and rollback.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 5).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_GET, "/versions/{processId}/diff", NULL, 0, "process:read" },
    { FM_GET, "/versions/{processId}/branches", NULL, 0, "process:read" },
    { FM_POST, "/versions/{processId}/branches", NULL, FM_R_JSON, "process:write" },
    { FM_POST, "/versions/{processId}/branches/{branch}/merge", NULL, FM_R_JSON, "process:write" },
    { FM_POST, "/versions/{processId}/tags", NULL, FM_R_JSON, "process:write" },
    { FM_POST, "/versions/{processId}/rollback", NULL, FM_R_JSON, "process:publish" },
};

const fm_module_t fm_versioning_module = {
    "versioning", "Process Versioning", 8020, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
