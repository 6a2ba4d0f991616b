/*
 * fm_problem.c — RFC 9457 problem details: the one table from FM_E* codes to HTTP
 * status, type and title, the reason phrases, and fm_reply_problem / fm_reply_error.
 * Problem `type`s are URNs under urn:flowmaster:problem: (stable, documented in
 * docs/core.md); plain HTTP conditions use about:blank with the reason phrase.
 */
#include "fm_http_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int code, status;
    const char *type, *title;
} errors[] = {
    { FM_EINVAL, 422, "urn:flowmaster:problem:validation", "Validation Failed" },
    { FM_ENOTFOUND, 404, NULL, NULL },
    { FM_ECONFLICT, 409, NULL, NULL },
    { FM_ENOMEM, 500, NULL, NULL },
    { FM_EDB, 500, "urn:flowmaster:problem:storage", "Storage Error" },
    { FM_EBUSY, 503, NULL, NULL },
    { FM_EIO, 500, NULL, NULL },
    { FM_ESTALE, 412, NULL, NULL },
    { FM_ENOTIMPL, 501, "urn:flowmaster:problem:not-implemented", "Not Implemented" },
    { FM_ETOOBIG, 413, NULL, NULL },
};

const char *fm__reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:    /* the class names of RFC 9110 §15 */
        return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : status >= 300 ? "Redirection"
                                                                            : "Success";
    }
}

int fm_reply_problem(fm_req_t *r, int status, const char *type, const char *title, cJSON *ext,
                     const char *detail_fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", type ? type : "about:blank");
    cJSON_AddStringToObject(p, "title", title ? title : fm__reason(status));
    cJSON_AddNumberToObject(p, "status", status);
    cJSON_AddStringToObject(p, "detail", detail);
    cJSON_AddStringToObject(p, "instance", r->rid);
    if (ext) {
        cJSON *item = ext->child;
        while (item) {
            cJSON *next = item->next;
            cJSON_AddItemToObject(p, item->string, cJSON_DetachItemViaPointer(ext, item));
            item = next;
        }
        cJSON_Delete(ext);
    }
    char *text = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    int rc = text ? fm_reply_raw(r, status, "application/problem+json", text, strlen(text))
                  : fm_reply_raw(r, 500, "text/plain", "out of memory", 13);
    cJSON_free(text);
    return rc;
}

int fm_reply_error(fm_req_t *r, int code, const char *detail)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
        if (errors[i].code == code)
            return fm_reply_problem(r, errors[i].status, errors[i].type, errors[i].title, NULL,
                                    "%s", detail ? detail : fm__reason(errors[i].status));
    return fm_reply_problem(r, 500, NULL, NULL, NULL, "%s", detail ? detail : "internal error");
}
