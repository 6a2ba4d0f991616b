/*
 * designer.c — Process Designer (3002): the BPMN designer (bpmn-js).
 * Serves web/designer/ (webapp.c) and the API under /api/ on the same origin.
 */
#include "modules.h"

const fm_module_t fm_designer_module = {
    "designer", "Process Designer", 3002, FM_M_WEBAPP, fm_webapp_routes, 2, NULL, NULL, NULL,
};
