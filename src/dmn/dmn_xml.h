/*
 * dmn_xml.h — a tiny DOM over expat for DMN models and TCK test files: elements with
 * their namespace URI, local name, attributes and text. DOCTYPE and entity
 * declarations are refused (no entity expansion attacks), and size and depth are
 * capped. Used by dmn_import.c and the TCK runner.
 */
#ifndef DMN_XML_H
#define DMN_XML_H

#include <stddef.h>

typedef struct xml_node {
    char *ns;                   /* namespace URI or "" */
    char *name;                 /* local name */
    char **attrs;               /* local-name, value pairs, NULL-terminated */
    char *text;                 /* concatenated character data (never NULL) */
    size_t text_len;
    struct xml_node *parent, *first, *last, *next;
    int line;
} xml_node_t;

#define XML_MAX_DEPTH 256

/* NULL on error with a reason in err (line included). */
xml_node_t *xml_parse(const char *buf, size_t len, char *err, size_t errlen);
void xml_free(xml_node_t *root);

const char *xml_attr(const xml_node_t *n, const char *name);     /* local name; NULL if absent */
xml_node_t *xml_child(const xml_node_t *n, const char *name);    /* first child with local name */
xml_node_t *xml_next(const xml_node_t *n, const char *name);     /* next sibling with local name */
/* Text of the first child `name`, trimmed of surrounding whitespace, or NULL. */
const char *xml_child_text(const xml_node_t *n, const char *name);

#endif
