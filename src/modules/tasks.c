/*
 * tasks.c — Human Task Service (9006): human tasks: inbox, assignment, claiming, responses validated against forms.
 * Registered with every catalogue route; not built yet, so each answers 501
 * problem+json naming the module and route (see issue 6).
 */
#include "modules.h"

static const fm_route_t routes[] = {
    { FM_POST, "/tasks", NULL, FM_R_JSON, "task:write" },
    { FM_GET, "/tasks", NULL, 0, "task:read" },
    { FM_GET, "/tasks/{id}", NULL, 0, "task:read" },
    { FM_PUT, "/tasks/{id}/assign", NULL, FM_R_JSON, "task:assign" },
    { FM_PUT, "/tasks/{id}/claim", NULL, 0, "task:work" },
    { FM_PUT, "/tasks/{id}/unclaim", NULL, 0, "task:work" },
    { FM_PUT, "/tasks/{id}/respond", NULL, FM_R_JSON, "task:work" },
};

const fm_module_t fm_tasks_module = {
    "tasks", "Human Task Service", 9006, FM_M_DB, FM_ROUTES(routes), NULL, NULL, NULL,
};
