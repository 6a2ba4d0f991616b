/*
 * dmn_xml.c — builds the DOM of dmn_xml.h with expat in namespace mode. Any DOCTYPE
 * or entity declaration stops the parser at once: DMN never needs them, and refusing
 * them is what makes billion-laughs and external-entity attacks fail fast.
 */
#include "dmn_xml.h"

#include <expat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct build {
    XML_Parser p;
    xml_node_t *root, *cur;
    int depth;
    size_t nodes;
    const char *why;            /* set when we stopped the parser ourselves */
    bool oom;
} build_t;

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static void stop(build_t *b, const char *why)
{
    if (!b->why)
        b->why = why;
    XML_StopParser(b->p, XML_FALSE);
}

/* "uri local" → ns and local name */
static void split_name(const char *full, char **ns, char **local)
{
    const char *sp = strchr(full, ' ');
    if (sp) {
        *ns = dupn(full, (size_t)(sp - full));
        *local = dupn(sp + 1, strlen(sp + 1));
    } else {
        *ns = dupn("", 0);
        *local = dupn(full, strlen(full));
    }
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    build_t *b = ud;
    if (++b->depth > XML_MAX_DEPTH)
        return stop(b, "XML nested too deeply");
    if (++b->nodes > 2000000)
        return stop(b, "XML has too many elements");
    xml_node_t *n = calloc(1, sizeof(*n));
    if (!n) {
        b->oom = true;
        return stop(b, "out of memory");
    }
    split_name(name, &n->ns, &n->name);
    size_t na = 0;
    while (atts[na])
        na++;
    n->attrs = calloc(na + 1, sizeof(char *));
    n->text = dupn("", 0);
    n->line = (int)XML_GetCurrentLineNumber(b->p);
    if (!n->ns || !n->name || !n->attrs || !n->text) {
        b->oom = true;
        free(n->ns); free(n->name); free(n->attrs); free(n->text); free(n);
        return stop(b, "out of memory");
    }
    for (size_t i = 0; i < na; i += 2) {
        char *ns = NULL, *local = NULL;
        split_name(atts[i], &ns, &local);
        free(ns);
        n->attrs[i] = local;
        n->attrs[i + 1] = dupn(atts[i + 1], strlen(atts[i + 1]));
    }
    n->parent = b->cur;
    if (b->cur) {
        if (b->cur->last)
            b->cur->last->next = n;
        else
            b->cur->first = n;
        b->cur->last = n;
    } else {
        b->root = n;
    }
    b->cur = n;
}

static void on_end(void *ud, const XML_Char *name)
{
    build_t *b = ud;
    b->depth--;
    if (b->cur)
        b->cur = b->cur->parent;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    build_t *b = ud;
    xml_node_t *n = b->cur;
    if (!n || len <= 0)
        return;
    char *t = realloc(n->text, n->text_len + (size_t)len + 1);
    if (!t) {
        b->oom = true;
        return stop(b, "out of memory");
    }
    memcpy(t + n->text_len, s, (size_t)len);
    n->text_len += (size_t)len;
    t[n->text_len] = 0;
    n->text = t;
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal)
{
    stop(ud, "DOCTYPE declarations are not allowed");
}

static void on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value, int len,
                      const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                      const XML_Char *notation)
{
    stop(ud, "entity declarations are not allowed");
}

xml_node_t *xml_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    build_t b = { 0 };
    b.p = XML_ParserCreateNS(NULL, ' ');
    if (!b.p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    XML_SetUserData(b.p, &b);
    XML_SetElementHandler(b.p, on_start, on_end);
    XML_SetCharacterDataHandler(b.p, on_text);
    XML_SetStartDoctypeDeclHandler(b.p, on_doctype);
    XML_SetEntityDeclHandler(b.p, on_entity);
    XML_SetParamEntityParsing(b.p, XML_PARAM_ENTITY_PARSING_NEVER);
    if (len > (size_t)1 << 30) {
        snprintf(err, errlen, "XML too large");
        XML_ParserFree(b.p);
        return NULL;
    }
    enum XML_Status st = XML_Parse(b.p, buf, (int)len, XML_TRUE);
    if (st != XML_STATUS_OK || b.why) {
        snprintf(err, errlen, "line %lu: %s", (unsigned long)XML_GetCurrentLineNumber(b.p),
                 b.why ? b.why : XML_ErrorString(XML_GetErrorCode(b.p)));
        XML_ParserFree(b.p);
        xml_free(b.root);
        return NULL;
    }
    XML_ParserFree(b.p);
    if (!b.root)
        snprintf(err, errlen, "empty XML document");
    return b.root;
}

void xml_free(xml_node_t *n)
{
    while (n) {
        xml_node_t *next = n->next;
        xml_free(n->first);
        for (size_t i = 0; n->attrs && n->attrs[i]; i++)
            free(n->attrs[i]);
        free(n->attrs);
        free(n->ns);
        free(n->name);
        free(n->text);
        free(n);
        n = next;
    }
}

const char *xml_attr(const xml_node_t *n, const char *name)
{
    for (size_t i = 0; n->attrs[i]; i += 2)
        if (!strcmp(n->attrs[i], name))
            return n->attrs[i + 1];
    return NULL;
}

xml_node_t *xml_child(const xml_node_t *n, const char *name)
{
    for (xml_node_t *c = n->first; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

xml_node_t *xml_next(const xml_node_t *n, const char *name)
{
    for (xml_node_t *c = n->next; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

const char *xml_child_text(const xml_node_t *n, const char *name)
{
    xml_node_t *c = xml_child(n, name);
    if (!c)
        return NULL;
    char *s = c->text;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\n' || s[l - 1] == '\t' || s[l - 1] == '\r'))
        s[--l] = 0;
    return s;
}
