/*
 * engage.c — Engage App (3001): the employee task inbox with AI help.
 * Serves web/engage/ (webapp.c) and the API under /api/ on the same origin.
 */
#include "modules.h"

const fm_module_t fm_engage_module = {
    "engage", "Engage App", 3001, FM_M_WEBAPP, fm_webapp_routes, 2, NULL, NULL, NULL,
};
