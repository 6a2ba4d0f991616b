/*
 * bpmn_svg.c — draws a view model (bpmn_view.c) as SVG 1.1: pools and lanes as
 * swimlanes, shapes per element type with their markers (task types, event
 * definitions, gateway kinds, loops, collapsed sub-processes), labels, and sequence,
 * message, association and data association edges along their waypoints. Every shape and edge is a <g>
 * with data-element-id, so a client can find and style it; highlighted elements get a
 * heat overlay and a count badge.
 */
#include "bpmn_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool flag(const cJSON *o, const char *k)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(o, k));
}

/* Centered, word-wrapped text in a box of width w. */
static void label(bpmn_buf_t *b, const char *text, double cx, double y, double w, const char *cls)
{
    if (!text || !*text)
        return;
    size_t per = (size_t)fmax(6, w / 6.5), len = strlen(text);
    bpmn_buf_printf(b, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                       "font-family=\"Arial, sans-serif\" font-size=\"11\">", cls, cx, y);
    size_t start = 0;
    int line = 0;
    while (start < len && line < 6) {
        size_t end = start + per < len ? start + per : len;
        if (end < len) {
            size_t sp = end;
            while (sp > start && text[sp] != ' ')
                sp--;
            if (sp > start)
                end = sp;
        }
        /* never split a UTF-8 sequence */
        while (end < len && ((unsigned char)text[end] & 0xC0) == 0x80)
            end++;
        char *part = strndup(text + start, end - start);
        bpmn_buf_printf(b, "<tspan x=\"%.1f\" dy=\"%s\">", cx, line ? "1.2em" : "0");
        bpmn__esc(b, part, false);
        bpmn_buf_puts(b, "</tspan>");
        free(part);
        start = end;
        while (start < len && text[start] == ' ')
            start++;
        line++;
    }
    bpmn_buf_puts(b, "</text>");
}

static void event_marker(bpmn_buf_t *b, const char *def, double cx, double cy, bool filled)
{
    const char *f = filled ? "#222" : "none";
    if (!def)
        return;
    if (!strcmp(def, "timer")) {
        bpmn_buf_printf(b, "<circle class=\"marker-timer\" cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"white\" stroke=\"#222\"/>"
                           "<path d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f\" fill=\"none\" stroke=\"#222\"/>",
                        cx, cy, cx, cy - 7, cx, cy, cx + 5, cy + 2);
    } else if (!strcmp(def, "message")) {
        bpmn_buf_printf(b, "<rect class=\"marker-message\" x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"11\" fill=\"%s\" stroke=\"%s\"/>"
                           "<path d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f\" fill=\"none\" stroke=\"%s\"/>",
                        cx - 8, cy - 5.5, f, "#222", cx - 8, cy - 5.5, cx, cy + 1, cx + 8, cy - 5.5,
                        filled ? "white" : "#222");
    } else if (!strcmp(def, "signal")) {
        bpmn_buf_printf(b, "<path class=\"marker-signal\" d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f Z\" fill=\"%s\" stroke=\"#222\"/>",
                        cx, cy - 8, cx + 8, cy + 6, cx - 8, cy + 6, f);
    } else if (!strcmp(def, "error")) {
        bpmn_buf_printf(b, "<path class=\"marker-error\" d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f Z\" fill=\"%s\" stroke=\"#222\"/>",
                        cx - 7, cy + 7, cx - 3, cy - 7, cx + 1, cy + 1, cx + 7, cy - 7, cx + 3, cy + 7,
                        cx - 1, cy - 1, f);
    } else if (!strcmp(def, "escalation")) {
        bpmn_buf_printf(b, "<path class=\"marker-escalation\" d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f Z\" fill=\"%s\" stroke=\"#222\"/>",
                        cx, cy - 8, cx + 6, cy + 7, cx, cy + 2, cx - 6, cy + 7, f);
    } else if (!strcmp(def, "terminate")) {
        bpmn_buf_printf(b, "<circle class=\"marker-terminate\" cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"#222\"/>", cx, cy);
    } else if (!strcmp(def, "conditional")) {
        bpmn_buf_printf(b, "<rect class=\"marker-conditional\" x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"14\" fill=\"none\" stroke=\"#222\"/>"
                           "<path d=\"M%.1f %.1f h8 M%.1f %.1f h8 M%.1f %.1f h8\" stroke=\"#222\"/>",
                        cx - 6, cy - 7, cx - 4, cy - 3, cx - 4, cy, cx - 4, cy + 3);
    } else if (!strcmp(def, "link")) {
        bpmn_buf_printf(b, "<path class=\"marker-link\" d=\"M%.1f %.1f h8 v-4 l6 7 l-6 7 v-4 h-8 Z\" fill=\"%s\" stroke=\"#222\"/>",
                        cx - 7, cy - 3, f);
    } else if (!strcmp(def, "compensate")) {
        bpmn_buf_printf(b, "<path class=\"marker-compensate\" d=\"M%.1f %.1f l7 -6 v12 Z M%.1f %.1f l7 -6 v12 Z\" fill=\"%s\" stroke=\"#222\"/>",
                        cx - 8, cy, cx - 1, cy, f);
    } else if (!strcmp(def, "cancel")) {
        bpmn_buf_printf(b, "<path class=\"marker-cancel\" d=\"M%.1f %.1f l12 12 M%.1f %.1f l-12 12\" stroke=\"#222\" stroke-width=\"3\"/>",
                        cx - 6, cy - 6, cx + 6, cy - 6);
    }
}

static void task_marker(bpmn_buf_t *b, const char *type, double x, double y)
{
    double cx = x + 14, cy = y + 14;
    if (!strcmp(type, "userTask"))
        bpmn_buf_printf(b, "<g class=\"marker-user\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"none\" stroke=\"#222\"/>"
                           "<path d=\"M%.1f %.1f a7 6 0 0 1 14 0 Z\" fill=\"none\" stroke=\"#222\"/></g>",
                        cx, cy - 3, cx - 7, cy + 9);
    else if (!strcmp(type, "serviceTask"))
        bpmn_buf_printf(b, "<g class=\"marker-service\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" stroke=\"#222\" stroke-dasharray=\"3 2\" stroke-width=\"3\"/>"
                           "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"none\" stroke=\"#222\"/></g>",
                        cx, cy, cx, cy);
    else if (!strcmp(type, "scriptTask"))
        bpmn_buf_printf(b, "<path class=\"marker-script\" d=\"M%.1f %.1f h10 q-4 6 0 14 h-10 q4 -8 0 -14 Z M%.1f %.1f h5 M%.1f %.1f h5\" fill=\"none\" stroke=\"#222\"/>",
                        cx - 6, cy - 7, cx - 3, cy - 2, cx - 2, cy + 3);
    else if (!strcmp(type, "businessRuleTask"))
        bpmn_buf_printf(b, "<g class=\"marker-business-rule\"><rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"12\" fill=\"none\" stroke=\"#222\"/>"
                           "<path d=\"M%.1f %.1f h16 M%.1f %.1f v8\" stroke=\"#222\"/></g>",
                        cx - 8, cy - 6, cx - 8, cy - 2, cx - 3, cy - 2);
    else if (!strcmp(type, "sendTask") || !strcmp(type, "receiveTask"))
        event_marker(b, "message", cx, cy, !strcmp(type, "sendTask"));
    else if (!strcmp(type, "manualTask"))
        bpmn_buf_printf(b, "<path class=\"marker-manual\" d=\"M%.1f %.1f h12 v8 h-12 Z M%.1f %.1f v-4 M%.1f %.1f v-5 M%.1f %.1f v-4\" fill=\"none\" stroke=\"#222\"/>",
                        cx - 6, cy - 2, cx - 3, cy - 2, cx, cy - 2, cx + 3, cy - 2);
}

static void loop_marker(bpmn_buf_t *b, const char *loop, double cx, double by)
{
    if (!loop)
        return;
    if (!strcmp(loop, "standard"))
        bpmn_buf_printf(b, "<path class=\"marker-loop\" d=\"M%.1f %.1f a6 6 0 1 1 4 0\" fill=\"none\" stroke=\"#222\"/>",
                        cx - 2, by - 6);
    else if (!strcmp(loop, "sequential"))
        bpmn_buf_printf(b, "<path class=\"marker-mi-sequential\" d=\"M%.1f %.1f h12 M%.1f %.1f h12 M%.1f %.1f h12\" stroke=\"#222\" stroke-width=\"2\"/>",
                        cx - 6, by - 14, cx - 6, by - 9, cx - 6, by - 4);
    else
        bpmn_buf_printf(b, "<path class=\"marker-mi-parallel\" d=\"M%.1f %.1f v12 M%.1f %.1f v12 M%.1f %.1f v12\" stroke=\"#222\" stroke-width=\"2\"/>",
                        cx - 5, by - 16, cx, by - 16, cx + 5, by - 16);
}

static void shape(bpmn_buf_t *b, const cJSON *s)
{
    const char *id = str(s, "id"), *type = str(s, "type"), *kind = str(s, "kind"), *name = str(s, "name");
    double x = num(s, "x"), y = num(s, "y"), w = num(s, "width"), h = num(s, "height");
    double cx = x + w / 2, cy = y + h / 2;
    bpmn_buf_puts(b, "<g class=\"shape bpmn-");
    bpmn_buf_puts(b, type);
    bpmn_buf_puts(b, "\" data-element-id=\"");
    bpmn__esc(b, id, true);
    bpmn_buf_puts(b, "\">");
    const cJSON *lab = cJSON_GetObjectItem(s, "label");
    if (!strcmp(kind, "participant") || !strcmp(kind, "lane")) {
        bool horiz = !cJSON_IsFalse(cJSON_GetObjectItem(s, "horizontal"));
        bpmn_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#222\"/>",
                        x, y, w, h, !strcmp(kind, "participant") ? "white" : "none");
        if (horiz) {
            if (!strcmp(kind, "participant"))
                bpmn_buf_printf(b, "<path d=\"M%.1f %.1f v%.1f\" stroke=\"#222\"/>", x + 30, y, h);
            if (name) {
                bpmn_buf_printf(b, "<g transform=\"rotate(-90 %.1f %.1f)\">", x + 15, cy);
                label(b, name, x + 15, cy + 4, h, "label");
                bpmn_buf_puts(b, "</g>");
            }
        } else {
            if (!strcmp(kind, "participant"))
                bpmn_buf_printf(b, "<path d=\"M%.1f %.1f h%.1f\" stroke=\"#222\"/>", x, y + 30, w);
            label(b, name, cx, y + 18, w, "label");
        }
    } else if (!strcmp(kind, "event")) {
        bool end = !strcmp(type, "endEvent");
        bool inter = !strcmp(type, "intermediateCatchEvent") || !strcmp(type, "intermediateThrowEvent") ||
                     !strcmp(type, "boundaryEvent");
        bool dashed = cJSON_IsFalse(cJSON_GetObjectItem(s, "interrupting"));
        double r = w / 2;
        bpmn_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"white\" stroke=\"#222\" stroke-width=\"%d\"%s/>",
                        cx, cy, r, end ? 4 : 2, dashed ? " stroke-dasharray=\"4 2\"" : "");
        if (inter)
            bpmn_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"none\" stroke=\"#222\"%s/>",
                            cx, cy, r - 3, dashed ? " stroke-dasharray=\"4 2\"" : "");
        event_marker(b, str(s, "eventDefinition"), cx, cy, end || !strcmp(type, "intermediateThrowEvent"));
        if (lab)
            label(b, name, num(lab, "x") + num(lab, "width") / 2, num(lab, "y") + 10, fmax(num(lab, "width"), 60), "label");
        else
            label(b, name, cx, y + h + 14, 100, "label");
    } else if (!strcmp(kind, "gateway")) {
        bpmn_buf_printf(b, "<path d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f L%.1f %.1f Z\" fill=\"white\" stroke=\"#222\" stroke-width=\"2\"/>",
                        cx, y, x + w, cy, cx, y + h, x, cy);
        double k = w / 5;
        if (!strcmp(type, "exclusiveGateway"))
            bpmn_buf_printf(b, "<path class=\"marker-exclusive\" d=\"M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f %.1f\" stroke=\"#222\" stroke-width=\"3\"/>",
                            cx - k, cy - k, cx + k, cy + k, cx + k, cy - k, cx - k, cy + k);
        else if (!strcmp(type, "parallelGateway"))
            bpmn_buf_printf(b, "<path class=\"marker-parallel\" d=\"M%.1f %.1f v%.1f M%.1f %.1f h%.1f\" stroke=\"#222\" stroke-width=\"3\"/>",
                            cx, cy - k * 1.3, k * 2.6, cx - k * 1.3, cy, k * 2.6);
        else if (!strcmp(type, "inclusiveGateway"))
            bpmn_buf_printf(b, "<circle class=\"marker-inclusive\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"none\" stroke=\"#222\" stroke-width=\"2.5\"/>",
                            cx, cy, k * 1.2);
        else if (!strcmp(type, "eventBasedGateway"))
            bpmn_buf_printf(b, "<circle class=\"marker-event-based\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"none\" stroke=\"#222\"/>"
                               "<path d=\"M%.1f %.1f l%.1f %.1f l%.1f %.1f h%.1f l%.1f %.1f Z\" fill=\"none\" stroke=\"#222\"/>",
                            cx, cy, k * 1.4, cx, cy - k * 0.8, k * 0.8, k * 0.6, -k * 0.3, k * 0.9, -k, -k * 0.3, -k * 0.9);
        else if (!strcmp(type, "complexGateway"))
            bpmn_buf_printf(b, "<path class=\"marker-complex\" d=\"M%.1f %.1f v%.1f M%.1f %.1f h%.1f M%.1f %.1f l%.1f %.1f M%.1f %.1f l%.1f %.1f\" stroke=\"#222\" stroke-width=\"3\"/>",
                            cx, cy - k, 2 * k, cx - k, cy, 2 * k, cx - k * .7, cy - k * .7, k * 1.4, k * 1.4,
                            cx + k * .7, cy - k * .7, -k * 1.4, k * 1.4);
        if (lab)
            label(b, name, num(lab, "x") + num(lab, "width") / 2, num(lab, "y") + 10, fmax(num(lab, "width"), 60), "label");
        else
            label(b, name, cx, y + h + 14, 100, "label");
    } else if (!strcmp(kind, "task") || !strcmp(kind, "subProcess")) {
        bool call = !strcmp(type, "callActivity");
        bool evsub = flag(s, "eventSubProcess");
        bool tx = !strcmp(type, "transaction");
        bpmn_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"10\" fill=\"%s\" stroke=\"#222\" stroke-width=\"%d\"%s/>",
                        x, y, w, h, !strcmp(kind, "subProcess") && flag(s, "expanded") ? "none" : "white",
                        call ? 4 : 2, evsub ? " stroke-dasharray=\"6 3\"" : "");
        if (tx)
            bpmn_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"8\" fill=\"none\" stroke=\"#222\"/>",
                            x + 3, y + 3, w - 6, h - 6);
        task_marker(b, type, x, y);
        bool collapsed = (!strcmp(kind, "subProcess") && !flag(s, "expanded")) || call;
        if (collapsed && !strcmp(kind, "subProcess"))
            bpmn_buf_printf(b, "<g class=\"marker-collapsed\"><rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"#222\"/>"
                               "<path d=\"M%.1f %.1f h8 M%.1f %.1f v8\" stroke=\"#222\"/></g>",
                            cx - 7, y + h - 16, cx - 4, y + h - 9, cx, y + h - 13);
        loop_marker(b, str(s, "loop"), collapsed && !strcmp(kind, "subProcess") ? cx + 20 : cx, y + h);
        if (!strcmp(kind, "subProcess") && flag(s, "expanded"))
            label(b, name, x + w / 2, y + 16, w - 20, "label");
        else
            label(b, name, cx, cy - 4, w - 10, "label");
    } else if (!strcmp(type, "dataStoreReference") || !strcmp(type, "dataStore")) {
        bpmn_buf_printf(b, "<path d=\"M%.1f %.1f a%.1f 6 0 0 0 %.1f 0 a%.1f 6 0 0 0 %.1f 0 v%.1f a%.1f 6 0 0 1 %.1f 0 Z\" fill=\"white\" stroke=\"#222\"/>",
                        x, y + 6, w / 2, w, w / 2, -w, h - 12, w / 2, w);
        bpmn_buf_printf(b, "<path d=\"M%.1f %.1f a%.1f 6 0 0 0 %.1f 0\" fill=\"none\" stroke=\"#222\"/>", x, y + 6, w / 2, w);
        label(b, name, cx, y + h + 14, 100, "label");
    } else if (!strcmp(kind, "data")) {
        bpmn_buf_printf(b, "<path d=\"M%.1f %.1f h%.1f l10 10 v%.1f h%.1f Z M%.1f %.1f v10 h10\" fill=\"white\" stroke=\"#222\"/>",
                        x, y, w - 10, h - 10, -w, x + w - 10, y);
        label(b, name, cx, y + h + 14, 100, "label");
    } else if (!strcmp(type, "textAnnotation")) {
        bpmn_buf_printf(b, "<path d=\"M%.1f %.1f h-15 v%.1f h15\" fill=\"none\" stroke=\"#222\"/>", x + 15, y, h);
        bpmn_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"none\"/>", x, y, w, h);
        label(b, name, cx, y + 14, w, "label");
    } else if (!strcmp(type, "group")) {
        bpmn_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"10\" fill=\"none\" stroke=\"#222\" stroke-dasharray=\"8 3 1 3\"/>",
                        x, y, w, h);
        label(b, name, cx, y + 14, w, "label");
    } else {
        bpmn_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"#222\"/>", x, y, w, h);
        label(b, name, cx, cy, w, "label");
    }
    const cJSON *heat = cJSON_GetObjectItem(s, "heat");
    if (cJSON_IsNumber(heat)) {
        double hv = heat->valuedouble;
        bpmn_buf_printf(b, "<rect class=\"highlight\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"8\" "
                           "fill=\"rgb(%d,%d,0)\" fill-opacity=\"%.2f\" stroke=\"rgb(220,40,0)\" stroke-width=\"3\"/>",
                        x - 4, y - 4, w + 8, h + 8, 255, (int)(200 - 160 * hv), 0.15 + 0.45 * hv);
        bpmn_buf_printf(b, "<g class=\"badge\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"11\" fill=\"rgb(220,40,0)\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-family=\"Arial, sans-serif\" font-size=\"10\" fill=\"white\">%g</text></g>",
                        x + w, y, x + w, y + 3.5, num(s, "count"));
    }
    bpmn_buf_puts(b, "</g>\n");
}

static void edge(bpmn_buf_t *b, const cJSON *e)
{
    const char *type = str(e, "type");
    const cJSON *pts = cJSON_GetObjectItem(e, "waypoints");
    bool msg = !strcmp(type, "messageFlow"), assoc = !strcmp(type, "association");
    bool data = !strcmp(type, "dataInputAssociation") || !strcmp(type, "dataOutputAssociation");
    bpmn_buf_puts(b, "<g class=\"edge bpmn-");
    bpmn_buf_puts(b, type);
    bpmn_buf_puts(b, "\" data-element-id=\"");
    bpmn__esc(b, str(e, "id"), true);
    bpmn_buf_puts(b, "\"><polyline points=\"");
    const cJSON *p;
    double mx = 0, my = 0;
    int np = cJSON_GetArraySize(pts), i = 0;
    cJSON_ArrayForEach(p, pts) {
        double x = cJSON_GetArrayItem(p, 0)->valuedouble, y = cJSON_GetArrayItem(p, 1)->valuedouble;
        bpmn_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", x, y);
        if (i == np / 2)
            mx = x, my = y;
        i++;
    }
    const cJSON *heat = cJSON_GetObjectItem(e, "heat");
    bool hot = cJSON_IsNumber(heat);
    bpmn_buf_printf(b, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s/>",
                    hot ? "rgb(220,40,0)" : "#222", hot ? 1.5 + 4 * heat->valuedouble : 1.5,
                    msg ? " stroke-dasharray=\"6 4\" marker-start=\"url(#msg-start)\" marker-end=\"url(#msg-end)\""
                    : assoc ? " stroke-dasharray=\"2 3\""
                    : data ? " stroke-dasharray=\"2 3\" marker-end=\"url(#data-end)\"" : " marker-end=\"url(#seq-end)\"",
                    flag(e, "default") ? " class=\"default\"" : "", "");
    if (flag(e, "default") && np >= 2) {
        const cJSON *a = cJSON_GetArrayItem(pts, 0), *c = cJSON_GetArrayItem(pts, 1);
        double ax = cJSON_GetArrayItem(a, 0)->valuedouble, ay = cJSON_GetArrayItem(a, 1)->valuedouble;
        double dx = cJSON_GetArrayItem(c, 0)->valuedouble - ax, dy = cJSON_GetArrayItem(c, 1)->valuedouble - ay;
        double l = hypot(dx, dy);
        if (l > 0) {
            double ux = dx / l, uy = dy / l, px = ax + ux * 10, py = ay + uy * 10;
            bpmn_buf_printf(b, "<path class=\"marker-default\" d=\"M%.1f %.1f L%.1f %.1f\" stroke=\"#222\" stroke-width=\"1.5\"/>",
                            px - 5 * ux - 5 * uy, py - 5 * uy + 5 * ux, px + 5 * ux + 5 * uy, py + 5 * uy - 5 * ux);
        }
    }
    if (str(e, "name") && np)
        label(b, str(e, "name"), mx, my - 6, 120, "label");
    if (hot)
        bpmn_buf_printf(b, "<text class=\"badge\" x=\"%.1f\" y=\"%.1f\" font-family=\"Arial, sans-serif\" font-size=\"10\" fill=\"rgb(220,40,0)\">%g</text>",
                        mx + 4, my + 12, num(e, "count"));
    bpmn_buf_puts(b, "</g>\n");
}

char *bpmn_svg(const cJSON *v)
{
    bpmn_buf_t b = BPMN_BUF_INIT;
    bpmn_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"%.1f %.1f %.1f %.1f\" "
                        "width=\"%.0f\" height=\"%.0f\">\n",
                    num(v, "minX"), num(v, "minY"), num(v, "width"), num(v, "height"), num(v, "width"),
                    num(v, "height"));
    bpmn_buf_puts(&b, "<defs>"
                      "<marker id=\"seq-end\" viewBox=\"0 0 20 20\" refX=\"11\" refY=\"10\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto\">"
                      "<path d=\"M 1 5 L 11 10 L 1 15 Z\" fill=\"#222\"/></marker>"
                      "<marker id=\"msg-end\" viewBox=\"0 0 20 20\" refX=\"8.5\" refY=\"5\" markerWidth=\"20\" markerHeight=\"20\" orient=\"auto\">"
                      "<path d=\"m 1 5 l 0 -3 l 7 3 l -7 3 z\" fill=\"white\" stroke=\"#222\"/></marker>"
                      "<marker id=\"msg-start\" viewBox=\"0 0 20 20\" refX=\"6\" refY=\"6\" markerWidth=\"20\" markerHeight=\"20\">"
                      "<circle cx=\"6\" cy=\"6\" r=\"3.5\" fill=\"white\" stroke=\"#222\"/></marker>"
                      "<marker id=\"data-end\" viewBox=\"0 0 20 20\" refX=\"11\" refY=\"10\" markerWidth=\"10\" markerHeight=\"10\" orient=\"auto\">"
                      "<path d=\"M 1 5 L 11 10 L 1 15\" fill=\"none\" stroke=\"#222\" stroke-width=\"1.5\"/></marker>"
                      "</defs>\n");
    bpmn_buf_printf(&b, "<rect class=\"background\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\"/>\n",
                    num(v, "minX"), num(v, "minY"), num(v, "width"), num(v, "height"));
    const cJSON *s;
    /* containers first, then edges, then the nodes on top (boundary events last) */
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "shapes")) {
        const char *k = str(s, "kind");
        if (!strcmp(k, "participant") || !strcmp(k, "lane") || (!strcmp(k, "subProcess") && flag(s, "expanded")) ||
            !strcmp(str(s, "type"), "group"))
            shape(&b, s);
    }
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "edges"))
        edge(&b, s);
    for (int pass = 0; pass < 2; pass++)
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "shapes")) {
            const char *k = str(s, "kind");
            if (!strcmp(k, "participant") || !strcmp(k, "lane") || (!strcmp(k, "subProcess") && flag(s, "expanded")) ||
                !strcmp(str(s, "type"), "group"))
                continue;
            if ((pass == 1) == !strcmp(str(s, "type"), "boundaryEvent"))
                shape(&b, s);
        }
    bpmn_buf_puts(&b, "</svg>\n");
    return bpmn_buf_detach(&b, NULL);
}
