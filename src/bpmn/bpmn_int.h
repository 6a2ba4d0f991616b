/*
 * bpmn_int.h — private to src/bpmn/: a growable text buffer and the tree parser and
 * writer that the model, JSON, diff and SVG files share.
 */
#ifndef BPMN_INT_H
#define BPMN_INT_H

#include "bpmn.h"

typedef struct bpmn_buf {
    char *data;
    size_t len, cap;
} bpmn_buf_t;
#define BPMN_BUF_INIT { NULL, 0, 0 }

void bpmn_buf_add(bpmn_buf_t *b, const char *s, size_t n);
void bpmn_buf_puts(bpmn_buf_t *b, const char *s);
void bpmn_buf_putc(bpmn_buf_t *b, char c);
void bpmn_buf_printf(bpmn_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *bpmn_buf_detach(bpmn_buf_t *b, size_t *len);   /* never NULL; caller frees */
void bpmn_buf_release(bpmn_buf_t *b);

/* XML escaping of text (attr: for an attribute value). */
void bpmn__esc(bpmn_buf_t *b, const char *s, bool attr);
/* A synthetic "#document" node whose children are the document's elements. */
bpmn_node_t *bpmn__parse_tree(const char *xml, size_t len, char *err, size_t errlen);
char *bpmn__write(const bpmn_node_t *n, bool pretty, bool decl, size_t *len);
/* Wraps a <definitions> tree (taken) into a model and indexes it. */
bpmn_model_t *bpmn__model_of(bpmn_node_t *defs);

/* Tracked elements: the units that diff and merge compare (flow nodes, flows,
 * processes, lanes, data, artifacts, DI shapes and edges). */
bool bpmn__tracked(const bpmn_node_t *n);

/* Warnings for Camunda 7 (camunda:) extensions the engine does not honour
 * (bpmn_camunda7.c), appended to out as bpmn_validate's entries. */
void bpmn__camunda7_warnings(const bpmn_model_t *m, cJSON *out);
/* Checks of the engine's connector tasks (bpmn_connector_check.c): warnings for inputs
 * and headers not honoured, errors (returned: how many) for what cannot run. */
int bpmn__connector_checks(const bpmn_model_t *m, cJSON *out);

#endif
