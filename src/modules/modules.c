/*
 * modules.c — the module table: every service of the catalogue
 * (../shared/seed/flowmaster-backend.md), in start order; stop runs in reverse.
 * Adding a service: a file or folder here, a line in this table, its descriptor in
 * modules.h, and (if it has a database) migrations/<name>/0001_init.sql.
 */
#include "modules.h"

const fm_module_t *const fm_module_table[] = {
    /* infrastructure first: the registry and auth are what the rest lean on */
    &fm_registry_module,        /* 8001 */
    &fm_auth_module,            /* 8002 */
    &fm_sso_module,             /* 8002: /sso, /.well-known */
    &fm_eventbus_module,        /* 9013 */
    /* process design and execution */
    &fm_design_module,          /* 9003 */
    &fm_versioning_module,      /* 8020 */
    &fm_linking_module,         /* 8021 */
    &fm_views_module,           /* 8019 */
    &fm_rules_module,           /* 8018 */
    &fm_execution_module,       /* 9005 */
    &fm_tasks_module,           /* 9006 */
    &fm_scheduling_module,      /* 9008 */
    &fm_notifications_module,   /* 9009 */
    &fm_integrations_module,    /* 9015 */
    &fm_analytics_module,       /* 9014 */
    &fm_entities_module,        /* 8014 */
    &fm_marketplace_module,     /* 9016: /marketplace */
    /* AI */
    &fm_orchestration_module,   /* 9007: /agents/{id}/invoke|stream */
    &fm_agents_module,          /* 9016: /agents */
    &fm_prompts_module,         /* 8012 */
    &fm_knowledge_module,       /* 8009 */
    &fm_documents_module,       /* 9002 */
    &fm_dxg_module,             /* 9011 */
    /* edges */
    &fm_websocket_module,       /* 9010 */
    &fm_gateway_module,         /* 9000: every route */
    &fm_mcp_module,             /* 9000: /mcp */
    &fm_frontend_module,        /* 3000 */
    &fm_engage_module,          /* 3001 */
    &fm_designer_module,        /* 3002 */
    &fm_manager_module,         /* 3005 */
    NULL,
};
