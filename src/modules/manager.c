/*
 * manager.c — Manager App (3005): the manager dashboard: escalations and agent hand-offs.
 * Serves web/manager/ (webapp.c) and the API under /api/ on the same origin.
 */
#include "modules.h"

const fm_module_t fm_manager_module = {
    "manager", "Manager App", 3005, FM_M_WEBAPP, fm_webapp_routes, 2, NULL, NULL, NULL,
};
