/*
 * bpmn_xml.c — the XML side of the BPMN model: an expat parse into a namespace-aware
 * element tree, and its serialization back to XML.
 *
 * Safety: any DOCTYPE stops the parse (so no internal or external entity is ever
 * declared, let alone expanded: billion laughs and XXE fail at the first line), and
 * input size, nesting depth and element count are bounded. Elements are matched by
 * namespace URI and local name; the prefix is kept only to write the file back the way
 * it came.
 */
#include "bpmn_int.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP '\x01'

/* ---- tree ---- */

static char *dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bpmn_node_t *bpmn_node_new(const char *ns, const char *prefix, const char *name)
{
    bpmn_node_t *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->ns = strdup(ns ? ns : "");
    n->name = strdup(name);
    n->prefix = dup(prefix);
    return n;
}

void bpmn_node_add(bpmn_node_t *p, bpmn_node_t *k)
{
    if (p->nkids == p->capkids) {
        size_t c = p->capkids ? p->capkids * 2 : 4;
        bpmn_node_t **nk = realloc(p->kids, c * sizeof(*nk));
        if (!nk)
            abort();
        p->kids = nk;
        p->capkids = c;
    }
    p->kids[p->nkids++] = k;
    k->parent = p;
}

void bpmn_node_free(bpmn_node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        bpmn_node_free(n->kids[i]);
    for (size_t i = 0; i < n->nattrs; i++) {
        free(n->attrs[i].ns);
        free(n->attrs[i].name);
        free(n->attrs[i].prefix);
        free(n->attrs[i].value);
    }
    for (size_t i = 0; i < n->ndecls; i++) {
        free(n->decls[i].prefix);
        free(n->decls[i].uri);
    }
    free(n->attrs);
    free(n->decls);
    free(n->kids);
    free(n->ns);
    free(n->name);
    free(n->prefix);
    free(n->text);
    free(n);
}

static void add_attr(bpmn_node_t *n, const char *ns, const char *prefix, const char *name,
                     const char *value)
{
    bpmn_attr_t *a = realloc(n->attrs, (n->nattrs + 1) * sizeof(*a));
    if (!a)
        abort();
    n->attrs = a;
    a[n->nattrs++] = (bpmn_attr_t){ strdup(ns ? ns : ""), strdup(name), dup(prefix), strdup(value) };
}

static void add_decl(bpmn_node_t *n, const char *prefix, const char *uri)
{
    bpmn_nsdecl_t *d = realloc(n->decls, (n->ndecls + 1) * sizeof(*d));
    if (!d)
        abort();
    n->decls = d;
    d[n->ndecls++] = (bpmn_nsdecl_t){ dup(prefix), strdup(uri ? uri : "") };
}

bpmn_node_t *bpmn_node_copy(const bpmn_node_t *n)
{
    bpmn_node_t *c = bpmn_node_new(n->ns, n->prefix, n->name);
    for (size_t i = 0; i < n->nattrs; i++)
        add_attr(c, n->attrs[i].ns, n->attrs[i].prefix, n->attrs[i].name, n->attrs[i].value);
    for (size_t i = 0; i < n->ndecls; i++)
        add_decl(c, n->decls[i].prefix, n->decls[i].uri);
    c->text = dup(n->text);
    for (size_t i = 0; i < n->nkids; i++)
        bpmn_node_add(c, bpmn_node_copy(n->kids[i]));
    return c;
}

const char *bpmn_attr(const bpmn_node_t *n, const char *name)
{
    for (size_t i = 0; n && i < n->nattrs; i++)
        if (!n->attrs[i].ns[0] && !strcmp(n->attrs[i].name, name))
            return n->attrs[i].value;
    return NULL;
}

const char *bpmn_attr_ns(const bpmn_node_t *n, const char *ns, const char *name)
{
    for (size_t i = 0; n && i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].ns, ns) && !strcmp(n->attrs[i].name, name))
            return n->attrs[i].value;
    return NULL;
}

void bpmn_set_attr(bpmn_node_t *n, const char *name, const char *value)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (!n->attrs[i].ns[0] && !strcmp(n->attrs[i].name, name)) {
            if (value) {
                free(n->attrs[i].value);
                n->attrs[i].value = strdup(value);
            } else {
                free(n->attrs[i].ns);
                free(n->attrs[i].name);
                free(n->attrs[i].prefix);
                free(n->attrs[i].value);
                memmove(&n->attrs[i], &n->attrs[i + 1], (n->nattrs - i - 1) * sizeof(*n->attrs));
                n->nattrs--;
            }
            return;
        }
    if (value)
        add_attr(n, "", NULL, name, value);
}

bool bpmn_is(const bpmn_node_t *n, const char *ns, const char *name)
{
    return n && !strcmp(n->ns, ns) && !strcmp(n->name, name);
}

bpmn_node_t *bpmn_child(const bpmn_node_t *n, const char *ns, const char *name)
{
    for (size_t i = 0; n && i < n->nkids; i++)
        if (bpmn_is(n->kids[i], ns, name))
            return n->kids[i];
    return NULL;
}

/* ---- parse ---- */

typedef struct pstate {
    XML_Parser p;
    bpmn_node_t *top;        /* synthetic document node */
    bpmn_node_t *cur;
    int depth;
    size_t nodes;
    bpmn_nsdecl_t *pending;  /* declarations seen before the next start tag */
    size_t npending;
    char *text;              /* character data of cur */
    size_t tlen, tcap;
    char err[200];
} pstate_t;

static void fail(pstate_t *s, const char *fmt, ...)
{
    if (!s->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, sizeof(s->err), fmt, ap);
        va_end(ap);
    }
    XML_StopParser(s->p, XML_FALSE);
}

/* "uri\1local\1prefix" → parts (in place). */
static void split(char *q, char **ns, char **local, char **prefix)
{
    char *a = strchr(q, SEP);
    if (!a) {
        *ns = "";
        *local = q;
        *prefix = NULL;
        return;
    }
    *a = 0;
    *ns = q;
    *local = a + 1;
    char *b = strchr(*local, SEP);
    if (b) {
        *b = 0;
        *prefix = b + 1;
    } else {
        *prefix = NULL;
    }
}

static char *trimmed(const char *s, size_t len)
{
    while (len && strchr(" \t\r\n", *s)) {
        s++;
        len--;
    }
    while (len && strchr(" \t\r\n", s[len - 1]))
        len--;
    if (!len)
        return NULL;
    char *t = malloc(len + 1);
    memcpy(t, s, len);
    t[len] = 0;
    return t;
}

static void flush_text(pstate_t *s)
{
    if (s->tlen && s->cur) {
        char *t = trimmed(s->text, s->tlen);
        if (t) {
            if (s->cur->text) {     /* mixed content: keep all text, space-joined */
                size_t a = strlen(s->cur->text), b = strlen(t);
                char *j = realloc(s->cur->text, a + b + 2);
                j[a] = ' ';
                memcpy(j + a + 1, t, b + 1);
                s->cur->text = j;
                free(t);
            } else {
                s->cur->text = t;
            }
        }
    }
    s->tlen = 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    pstate_t *s = ud;
    flush_text(s);
    if (++s->depth > BPMN_MAX_DEPTH)
        return fail(s, "elements nested deeper than %d", BPMN_MAX_DEPTH);
    if (++s->nodes > BPMN_MAX_NODES)
        return fail(s, "more than %d elements", BPMN_MAX_NODES);
    char *q = strdup(name), *ns, *local, *prefix;
    split(q, &ns, &local, &prefix);
    bpmn_node_t *n = bpmn_node_new(ns, prefix, local);
    free(q);
    for (size_t i = 0; i < s->npending; i++) {
        add_decl(n, s->pending[i].prefix, s->pending[i].uri);
        free(s->pending[i].prefix);
        free(s->pending[i].uri);
    }
    s->npending = 0;
    for (int i = 0; atts[i]; i += 2) {
        char *aq = strdup(atts[i]), *ans, *al, *ap;
        split(aq, &ans, &al, &ap);
        add_attr(n, ans, ap, al, atts[i + 1]);
        free(aq);
    }
    bpmn_node_add(s->cur, n);
    s->cur = n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    pstate_t *s = ud;
    flush_text(s);
    s->depth--;
    if (s->cur->parent)
        s->cur = s->cur->parent;
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int len)
{
    pstate_t *s = ud;
    if (s->tlen + (size_t)len + 1 > s->tcap) {
        size_t c = (s->tcap + (size_t)len + 1) * 2;
        char *nt = realloc(s->text, c);
        if (!nt)
            return fail(s, "out of memory");
        s->text = nt;
        s->tcap = c;
    }
    memcpy(s->text + s->tlen, t, (size_t)len);
    s->tlen += (size_t)len;
}

static void XMLCALL on_ns(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
    pstate_t *s = ud;
    bpmn_nsdecl_t *d = realloc(s->pending, (s->npending + 1) * sizeof(*d));
    if (!d)
        return fail(s, "out of memory");
    s->pending = d;
    d[s->npending++] = (bpmn_nsdecl_t){ dup(prefix), strdup(uri ? uri : "") };
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    fail(ud, "DOCTYPE declarations are not accepted (no entities, no external references)");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int pe, const XML_Char *value,
                              int vlen, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    fail(ud, "entity declarations are not accepted");
}

/* Parses xml into a synthetic top node whose children are the document's elements. */
bpmn_node_t *bpmn__parse_tree(const char *xml, size_t len, char *err, size_t errlen)
{
    if (len > BPMN_MAX_BYTES) {
        snprintf(err, errlen, "document of %zu bytes is larger than %u", len, BPMN_MAX_BYTES);
        return NULL;
    }
    pstate_t s;
    memset(&s, 0, sizeof(s));
    s.p = XML_ParserCreateNS(NULL, SEP);
    if (!s.p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    XML_SetReturnNSTriplet(s.p, 1);
    XML_SetUserData(s.p, &s);
    XML_SetElementHandler(s.p, on_start, on_end);
    XML_SetCharacterDataHandler(s.p, on_text);
    XML_SetStartNamespaceDeclHandler(s.p, on_ns);
    XML_SetStartDoctypeDeclHandler(s.p, on_doctype);
    XML_SetEntityDeclHandler(s.p, on_entity);
    XML_SetParamEntityParsing(s.p, XML_PARAM_ENTITY_PARSING_NEVER);
    s.top = bpmn_node_new("", NULL, "#document");
    s.cur = s.top;
    enum XML_Status st = XML_Parse(s.p, xml, (int)len, XML_TRUE);
    if (st != XML_STATUS_OK || s.err[0]) {
        snprintf(err, errlen, "XML error at line %lu, column %lu: %s",
                 (unsigned long)XML_GetCurrentLineNumber(s.p),
                 (unsigned long)XML_GetCurrentColumnNumber(s.p),
                 s.err[0] ? s.err : XML_ErrorString(XML_GetErrorCode(s.p)));
        bpmn_node_free(s.top);
        s.top = NULL;
    }
    for (size_t i = 0; i < s.npending; i++) {
        free(s.pending[i].prefix);
        free(s.pending[i].uri);
    }
    free(s.pending);
    free(s.text);
    XML_ParserFree(s.p);
    return s.top;
}

bpmn_node_t *bpmn_parse_fragment(const char *xml, char *err, size_t errlen)
{
    static const char head[] =
        "<fragment xmlns=\"" BPMN_NS "\" xmlns:bpmn=\"" BPMN_NS "\" xmlns:zeebe=\"" ZEEBE_NS "\""
        " xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\""
        " xmlns:modeler=\"http://camunda.org/schema/modeler/1.0\""
        " xmlns:xsi=\"" XSI_NS "\">";
    size_t n = strlen(xml);
    char *buf = malloc(sizeof(head) + n + 16);
    if (!buf)
        return NULL;
    memcpy(buf, head, sizeof(head) - 1);
    memcpy(buf + sizeof(head) - 1, xml, n);
    strcpy(buf + sizeof(head) - 1 + n, "</fragment>");
    bpmn_node_t *top = bpmn__parse_tree(buf, strlen(buf), err, errlen);
    free(buf);
    if (!top)
        return NULL;
    bpmn_node_t *frag = top->nkids ? top->kids[0] : NULL;
    if (frag) {
        top->nkids = 0;
        frag->parent = NULL;
        /* the wrapper's declarations are not the fragment's */
        for (size_t i = 0; i < frag->ndecls; i++) {
            free(frag->decls[i].prefix);
            free(frag->decls[i].uri);
        }
        frag->ndecls = 0;
    }
    bpmn_node_free(top);
    return frag;
}

/* ---- serialize ---- */

typedef struct scope {
    const char *prefix, *uri;   /* prefix NULL: default */
} scope_t;

typedef struct wstate {
    bpmn_buf_t *b;
    scope_t *sc;
    size_t nsc, capsc;
    bool pretty;
} wstate_t;

static void push_scope(wstate_t *w, const char *prefix, const char *uri)
{
    if (w->nsc == w->capsc) {
        w->capsc = w->capsc ? w->capsc * 2 : 32;
        w->sc = realloc(w->sc, w->capsc * sizeof(*w->sc));
        if (!w->sc)
            abort();
    }
    w->sc[w->nsc++] = (scope_t){ prefix, uri };
}

/* The URI a prefix is bound to now, or NULL. */
static const char *lookup(const wstate_t *w, const char *prefix)
{
    for (size_t i = w->nsc; i-- > 0;) {
        const char *p = w->sc[i].prefix;
        if ((!p && !prefix) || (p && prefix && !strcmp(p, prefix)))
            return w->sc[i].uri;
    }
    return NULL;
}

static const char *known_prefix(const char *uri)
{
    static const char *const map[][2] = {
        { BPMN_NS, "bpmn" }, { BPMNDI_NS, "bpmndi" }, { DC_NS, "dc" }, { DI_NS, "di" },
        { XSI_NS, "xsi" }, { ZEEBE_NS, "zeebe" }, { "http://camunda.org/schema/1.0/bpmn", "camunda" },
        { "http://camunda.org/schema/modeler/1.0", "modeler" },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i][0], uri))
            return map[i][1];
    return "ns";
}

void bpmn__esc(bpmn_buf_t *b, const char *s, bool attr)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': bpmn_buf_puts(b, "&lt;"); break;
        case '>': bpmn_buf_puts(b, "&gt;"); break;
        case '&': bpmn_buf_puts(b, "&amp;"); break;
        case '"': bpmn_buf_puts(b, attr ? "&quot;" : "\""); break;
        case '\n': bpmn_buf_puts(b, attr ? "&#10;" : "\n"); break;
        case '\r': bpmn_buf_puts(b, "&#13;"); break;
        case '\t': bpmn_buf_puts(b, attr ? "&#9;" : "\t"); break;
        default: bpmn_buf_putc(b, *s);
        }
    }
}

/* Picks the prefix to write a name in namespace uri with (preferring `want`), declaring
 * it on this element when nothing in scope binds it. For attributes the default
 * namespace never applies, so a prefix is always used for a namespaced attribute. */
static const char *bind(wstate_t *w, bpmn_node_t *n, const char *uri, const char *want,
                        bool is_attr, size_t scope_mark)
{
    if (!uri[0]) {
        if (!is_attr && lookup(w, NULL) && lookup(w, NULL)[0]) {
            push_scope(w, NULL, "");
            bpmn_buf_puts(w->b, " xmlns=\"\"");
        }
        return NULL;
    }
    if (!is_attr && !want) {
        const char *d = lookup(w, NULL);
        if (d && !strcmp(d, uri))
            return NULL;
    }
    if (want) {
        const char *u = lookup(w, want);
        if (u && !strcmp(u, uri))
            return want;
    }
    /* any prefix in scope bound to uri (and not shadowed) */
    for (size_t i = w->nsc; i-- > 0;) {
        if (w->sc[i].prefix && !strcmp(w->sc[i].uri, uri)) {
            const char *u = lookup(w, w->sc[i].prefix);
            if (u && !strcmp(u, uri))
                return w->sc[i].prefix;
        }
    }
    if (!is_attr && !want) {
        push_scope(w, NULL, uri);
        bpmn_buf_puts(w->b, " xmlns=\"");
        bpmn__esc(w->b, uri, true);
        bpmn_buf_puts(w->b, "\"");
        return NULL;
    }
    /* declare a prefix: the wanted one unless it is taken on this element */
    const char *p = want ? want : known_prefix(uri);
    static _Thread_local char gen[32];
    for (size_t i = scope_mark; i < w->nsc; i++)
        if (w->sc[i].prefix && !strcmp(w->sc[i].prefix, p) && strcmp(w->sc[i].uri, uri)) {
            snprintf(gen, sizeof(gen), "ns%zu", w->nsc);
            p = gen;
            break;
        }
    char *keep = strdup(p);
    add_decl(n, keep, uri);     /* owned by the node from now on */
    free(keep);
    p = n->decls[n->ndecls - 1].prefix;
    push_scope(w, p, n->decls[n->ndecls - 1].uri);
    bpmn_buf_puts(w->b, " xmlns:");
    bpmn_buf_puts(w->b, p);
    bpmn_buf_puts(w->b, "=\"");
    bpmn__esc(w->b, uri, true);
    bpmn_buf_puts(w->b, "\"");
    return p;
}

static void indent(wstate_t *w, int depth)
{
    if (!w->pretty)
        return;
    bpmn_buf_putc(w->b, '\n');
    for (int i = 0; i < depth; i++)
        bpmn_buf_puts(w->b, "  ");
}

static void write_node(wstate_t *w, bpmn_node_t *n, int depth)
{
    size_t mark = w->nsc;
    indent(w, depth);
    /* element name: written after the declarations are known, so build attrs apart */
    bpmn_buf_t *outer = w->b;
    bpmn_buf_t attrs = BPMN_BUF_INIT;
    w->b = &attrs;
    size_t ndecl0 = n->ndecls;
    for (size_t i = 0; i < ndecl0; i++) {
        push_scope(w, n->decls[i].prefix, n->decls[i].uri);
        if (n->decls[i].prefix) {
            bpmn_buf_puts(w->b, " xmlns:");
            bpmn_buf_puts(w->b, n->decls[i].prefix);
        } else {
            bpmn_buf_puts(w->b, " xmlns");
        }
        bpmn_buf_puts(w->b, "=\"");
        bpmn__esc(w->b, n->decls[i].uri, true);
        bpmn_buf_puts(w->b, "\"");
    }
    const char *ep = bind(w, n, n->ns, n->prefix, false, mark);
    for (size_t i = 0; i < n->nattrs; i++) {
        bpmn_attr_t *a = &n->attrs[i];
        const char *ap = bind(w, n, a->ns, a->prefix, true, mark);
        bpmn_buf_putc(w->b, ' ');
        if (ap) {
            bpmn_buf_puts(w->b, ap);
            bpmn_buf_putc(w->b, ':');
        }
        bpmn_buf_puts(w->b, a->name);
        bpmn_buf_puts(w->b, "=\"");
        bpmn__esc(w->b, a->value, true);
        bpmn_buf_putc(w->b, '"');
    }
    w->b = outer;
    bpmn_buf_putc(w->b, '<');
    if (ep) {
        bpmn_buf_puts(w->b, ep);
        bpmn_buf_putc(w->b, ':');
    }
    bpmn_buf_puts(w->b, n->name);
    bpmn_buf_add(w->b, attrs.data ? attrs.data : "", attrs.len);
    bpmn_buf_release(&attrs);
    if (!n->nkids && !n->text) {
        bpmn_buf_puts(w->b, "/>");
    } else {
        bpmn_buf_putc(w->b, '>');
        if (n->text)
            bpmn__esc(w->b, n->text, false);
        for (size_t i = 0; i < n->nkids; i++)
            write_node(w, n->kids[i], depth + 1);
        if (n->nkids)
            indent(w, depth);
        bpmn_buf_puts(w->b, "</");
        if (ep) {
            bpmn_buf_puts(w->b, ep);
            bpmn_buf_putc(w->b, ':');
        }
        bpmn_buf_puts(w->b, n->name);
        bpmn_buf_putc(w->b, '>');
    }
    w->nsc = mark;
}

char *bpmn__write(const bpmn_node_t *n, bool pretty, bool decl, size_t *len)
{
    bpmn_buf_t b = BPMN_BUF_INIT;
    wstate_t w = { &b, NULL, 0, 0, pretty };
    push_scope(&w, "xml", "http://www.w3.org/XML/1998/namespace");
    if (decl)
        bpmn_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    /* bind() may add declarations to the node: serialization works on the node as is */
    write_node(&w, (bpmn_node_t *)n, 0);
    if (pretty && decl)
        bpmn_buf_putc(&b, '\n');
    free(w.sc);
    return bpmn_buf_detach(&b, len);
}

char *bpmn_node_xml(const bpmn_node_t *n, bool pretty)
{
    /* a detached copy, so declarations the writer adds stay off the model */
    bpmn_node_t *c = bpmn_node_copy(n);
    char *s = bpmn__write(c, pretty, false, NULL);
    bpmn_node_free(c);
    return s;
}

/* ---- equality ---- */

static int attr_find(const bpmn_node_t *n, const bpmn_attr_t *a)
{
    for (size_t i = 0; i < n->nattrs; i++)
        if (!strcmp(n->attrs[i].ns, a->ns) && !strcmp(n->attrs[i].name, a->name))
            return (int)i;
    return -1;
}

bool bpmn_tree_equal(const bpmn_node_t *a, const bpmn_node_t *b, char *where, size_t wlen)
{
    const char *why = NULL;
    if (strcmp(a->ns, b->ns) || strcmp(a->name, b->name))
        why = "element";
    else if (a->nattrs != b->nattrs)
        why = "attribute count";
    else if ((a->text == NULL) != (b->text == NULL) || (a->text && strcmp(a->text, b->text)))
        why = "text";
    else if (a->nkids != b->nkids)
        why = "child count";
    for (size_t i = 0; !why && i < a->nattrs; i++) {
        int j = attr_find(b, &a->attrs[i]);
        if (j < 0 || strcmp(a->attrs[i].value, b->attrs[j].value))
            why = a->attrs[i].name;
    }
    if (why) {
        if (where) {
            const char *id = bpmn_attr(a, "id");
            snprintf(where, wlen, "%s%s%s: %s", a->name, id ? "#" : "", id ? id : "", why);
        }
        return false;
    }
    for (size_t i = 0; i < a->nkids; i++)
        if (!bpmn_tree_equal(a->kids[i], b->kids[i], where, wlen))
            return false;
    return true;
}

/* ---- buffer ---- */

void bpmn_buf_add(bpmn_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n + 1)
            c *= 2;
        char *d = realloc(b->data, c);
        if (!d)
            abort();
        b->data = d;
        b->cap = c;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void bpmn_buf_puts(bpmn_buf_t *b, const char *s)
{
    bpmn_buf_add(b, s, strlen(s));
}

void bpmn_buf_putc(bpmn_buf_t *b, char c)
{
    bpmn_buf_add(b, &c, 1);
}

void bpmn_buf_printf(bpmn_buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < (int)sizeof(tmp)) {
        bpmn_buf_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bpmn_buf_add(b, big, (size_t)n);
    free(big);
}

char *bpmn_buf_detach(bpmn_buf_t *b, size_t *len)
{
    if (!b->data)
        bpmn_buf_add(b, "", 0);
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void bpmn_buf_release(bpmn_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
