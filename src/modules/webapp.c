/*
 * webapp.c — serving the web apps (frontend 3000, engage 3001, designer 3002, manager
 * 3005) from the files under web/<module>/ embedded at build time. A path with no file
 * extension that names no file gets the app's index.html (client-side routing); the
 * API is on the same origin under /api/ (fm_http.c). Every app also serves the shared
 * web/common/ (sign-in, API helper) and web/vendor/ (the bpmn.io toolkits, vendored by
 * scripts/vendor-web.sh into versioned folders, so they may be cached for good).
 */
#include "modules.h"

#include "../fm_embed.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *ext, *type; } types[] = {
    { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
    { ".ico", "image/x-icon" }, { ".woff2", "font/woff2" }, { ".txt", "text/plain; charset=utf-8" },
};

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static int serve(fm_req_t *r)
{
    const char *app = fm_req_mod(r)->def->name;
    const char *rest = fm_req_param(r, "path");
    char path[600];
    if (rest && (strstr(rest, "..") || strlen(rest) > 400))
        return FM_ENOTFOUND;
    bool shared = rest && (!strncmp(rest, "common/", 7) || !strncmp(rest, "vendor/", 7));
    snprintf(path, sizeof(path), "%s%s%s", shared ? "" : app, shared ? "" : "/", rest ? rest : "index.html");
    const fm_asset_t *a = fm_asset_find(path);
    if (!a && rest && !strchr(strrchr(rest, '/') ? strrchr(rest, '/') : rest, '.')) {
        snprintf(path, sizeof(path), "%s/index.html", app);
        a = fm_asset_find(path);
    }
    if (!a)
        return fm_reply_problem(r, 404, NULL, NULL, NULL, "no file %s in the %s app", rest ? rest : "/", app);
    /* vendor/<package>-<version>/ never changes under its name; the apps' own files may */
    fm_reply_header(r, "Cache-Control", !strncmp(path, "vendor/", 7) ? "public, max-age=31536000, immutable" : "no-cache");
    return fm_reply_raw(r, 200, content_type(path), a->data, a->len);
}

const fm_route_t fm_webapp_routes[2] = {
    { FM_GET, "/", serve, FM_R_PUBLIC | FM_R_LOCAL, NULL },
    { FM_GET, "/{*path}", serve, FM_R_PUBLIC | FM_R_LOCAL, NULL },
};
