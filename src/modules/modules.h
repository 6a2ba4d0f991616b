/*
 * modules.h — what a module file includes: the core types, the request API, and the
 * descriptors of every module (the table itself is in modules.c).
 */
#ifndef FM_MODULES_H
#define FM_MODULES_H

#include "../fm.h"
#include "../fm_mod.h"
#include "../fm_req.h"

extern const fm_module_t fm_gateway_module, fm_mcp_module, fm_registry_module, fm_auth_module,
    fm_sso_module, fm_documents_module, fm_design_module, fm_execution_module, fm_tasks_module,
    fm_orchestration_module, fm_scheduling_module, fm_notifications_module, fm_websocket_module,
    fm_dxg_module, fm_eventbus_module, fm_analytics_module, fm_integrations_module,
    fm_marketplace_module, fm_agents_module, fm_prompts_module, fm_knowledge_module,
    fm_entities_module, fm_rules_module, fm_views_module, fm_versioning_module,
    fm_linking_module, fm_frontend_module, fm_engage_module, fm_designer_module,
    fm_manager_module;

/* Web apps (webapp.c): GET / and GET /{*path} from the embedded web/<module>/ folder. */
extern const fm_route_t fm_webapp_routes[2];

#endif
