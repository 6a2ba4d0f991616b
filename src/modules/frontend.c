/*
 * frontend.c — Frontend (3000): the main admin UI: processes, services, users.
 * Serves web/frontend/ (webapp.c) and the API under /api/ on the same origin.
 */
#include "modules.h"

const fm_module_t fm_frontend_module = {
    "frontend", "Frontend", 3000, FM_M_WEBAPP, fm_webapp_routes, 2, NULL, NULL, NULL,
};
