/*
 * bpmn.h — the one BPMN 2.0 model of FlowMaster: what design stores, views draw,
 * versioning diffs and merges, linking indexes and the execution engine will run.
 *
 * A model is the XML element tree exactly as imported (namespace URI, local name,
 * original prefix, every attribute including foreign ones, trimmed text, children in
 * order) plus a semantic index over it: every BPMN element with an id, classified by
 * kind, with its container, and the diagram interchange (BPMNDI) shapes and edges.
 * Keeping the tree is what makes export lossless: zeebe:, camunda: and every other
 * tool's extension elements and attributes are written back verbatim.
 *
 * Import (bpmn_parse) uses expat with namespace processing and refuses any DOCTYPE, so
 * entity expansion (billion laughs) and external entities never happen; input size,
 * depth and element count are bounded. The JSON form (bpmn_to_json / bpmn_from_json)
 * is documented in docs/bpmn.md. Everything here is pure and thread-safe per model.
 */
#ifndef BPMN_H
#define BPMN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define BPMN_NS "http://www.omg.org/spec/BPMN/20100524/MODEL"
#define BPMNDI_NS "http://www.omg.org/spec/BPMN/20100524/DI"
#define DC_NS "http://www.omg.org/spec/DD/20100524/DC"
#define DI_NS "http://www.omg.org/spec/DD/20100524/DI"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define ZEEBE_NS "http://camunda.org/schema/zeebe/1.0"

#define BPMN_MAX_BYTES (8u << 20)   /* larger inputs are refused before parsing */
#define BPMN_MAX_DEPTH 200
#define BPMN_MAX_NODES 400000

typedef struct bpmn_attr {
    char *ns;       /* namespace URI; "" for unqualified attributes */
    char *name;     /* local name */
    char *prefix;   /* as written, or NULL */
    char *value;
} bpmn_attr_t;

typedef struct bpmn_nsdecl {
    char *prefix;   /* NULL: default namespace */
    char *uri;
} bpmn_nsdecl_t;

typedef struct bpmn_node {
    char *ns, *name, *prefix;           /* ns "" when none */
    bpmn_attr_t *attrs;
    size_t nattrs;
    bpmn_nsdecl_t *decls;               /* xmlns declarations written on this element */
    size_t ndecls;
    char *text;                         /* character data, trimmed; NULL when none */
    struct bpmn_node **kids;
    size_t nkids, capkids;
    struct bpmn_node *parent;
} bpmn_node_t;

/* What an element with an id is, for validation, diff, views and linking. */
typedef enum {
    BPMN_K_OTHER = 0,
    BPMN_K_PROCESS, BPMN_K_COLLABORATION, BPMN_K_PARTICIPANT, BPMN_K_LANESET, BPMN_K_LANE,
    BPMN_K_EVENT, BPMN_K_TASK, BPMN_K_SUBPROCESS, BPMN_K_GATEWAY,
    BPMN_K_SEQUENCE_FLOW, BPMN_K_MESSAGE_FLOW, BPMN_K_ASSOCIATION,
    BPMN_K_DATA, BPMN_K_ARTIFACT, BPMN_K_ROOT,   /* message, signal, error, escalation... */
    BPMN_K_DI,
    BPMN_K_DATA_ASSOCIATION,    /* dataInput/OutputAssociation: drawn, part of its activity */
} bpmn_kind_t;

typedef struct bpmn_el {
    bpmn_node_t *node;
    const char *id, *type, *name;   /* type: local name ("userTask"); borrowed from node */
    bpmn_kind_t kind;
    int container;                  /* index of the process/subProcess/collaboration holding it, -1 */
    int process;                    /* index of its top-level process, -1 */
    const char *event_def;          /* events: "timer", "message", ... (first definition), or NULL */
    const char *source, *target;    /* flows and associations: sourceRef/targetRef; data
                                     * associations: the data element and the activity or
                                     * event holding the association, in flow direction */
    int nin, nout;                  /* sequence flows in and out (flow nodes) */
} bpmn_el_t;

typedef struct bpmn_bounds { double x, y, w, h; } bpmn_bounds_t;

typedef struct bpmn_shape {
    const char *element;            /* bpmnElement */
    bpmn_bounds_t b;
    bpmn_bounds_t label;            /* w == 0 when none */
    bool expanded, horizontal, has_expanded;
    int diagram;                    /* which BPMNDiagram (0-based) */
} bpmn_shape_t;

typedef struct bpmn_point { double x, y; } bpmn_point_t;

typedef struct bpmn_edge {
    const char *element;
    bpmn_point_t *pts;
    size_t npts;
    int diagram;
} bpmn_edge_t;

typedef struct bpmn_model {
    bpmn_node_t *root;              /* <definitions> */
    bpmn_el_t *els;
    size_t nels;
    struct bpmn_idx *idx;           /* id → els index */
    bpmn_shape_t *shapes;
    size_t nshapes;
    bpmn_edge_t *edges;
    size_t nedges;
    int ndiagrams;
} bpmn_model_t;

/* ---- import / export (bpmn_xml.c, bpmn_model.c) ---- */

/* Parses and indexes. On error returns NULL and writes a one-line reason (with line and
 * column) into err. Refuses DOCTYPE, non-BPMN roots, oversize, too deep. */
bpmn_model_t *bpmn_parse(const char *xml, size_t len, char *err, size_t errlen);
void bpmn_free(bpmn_model_t *m);
/* The document as UTF-8 XML (caller frees); NULL on no memory. */
char *bpmn_export(const bpmn_model_t *m, size_t *len);
/* Semantic equality of two trees: namespace URIs and local names (not prefixes),
 * attribute sets, trimmed text, children in order. On difference, where gets a path. */
bool bpmn_tree_equal(const bpmn_node_t *a, const bpmn_node_t *b, char *where, size_t wlen);

/* Tree helpers. */
const char *bpmn_attr(const bpmn_node_t *n, const char *name);     /* unqualified attribute */
const char *bpmn_attr_ns(const bpmn_node_t *n, const char *ns, const char *name);
void bpmn_set_attr(bpmn_node_t *n, const char *name, const char *value);  /* NULL removes */
bpmn_node_t *bpmn_node_new(const char *ns, const char *prefix, const char *name);
void bpmn_node_add(bpmn_node_t *parent, bpmn_node_t *kid);
void bpmn_node_free(bpmn_node_t *n);
bpmn_node_t *bpmn_node_copy(const bpmn_node_t *n);
bool bpmn_is(const bpmn_node_t *n, const char *ns, const char *name);
bpmn_node_t *bpmn_child(const bpmn_node_t *n, const char *ns, const char *name);
/* Serializes one subtree with the namespace declarations it needs (caller frees). */
char *bpmn_node_xml(const bpmn_node_t *n, bool pretty);
/* Parses a fragment of XML with the usual prefixes (bpmn, zeebe, camunda...) bound,
 * returning the children of the wrapper; NULL and err on failure. */
bpmn_node_t *bpmn_parse_fragment(const char *xml, char *err, size_t errlen);

/* Rebuilds the semantic index after the tree changed (merge, JSON import). */
int bpmn_reindex(bpmn_model_t *m);
int bpmn_find(const bpmn_model_t *m, const char *id);     /* els index or -1 */
bool bpmn_kind_is_flow_node(bpmn_kind_t k);
const char *bpmn_kind_name(bpmn_kind_t k);

/* Counts elements of the BPMN model namespace with this local name. */
size_t bpmn_count(const bpmn_model_t *m, const char *local_name);

/* ---- validation (bpmn_validate.c) ---- */

/* Appends {"id","code","severity":"error"|"warning","message"} objects to out; returns
 * the number of errors (warnings not counted). */
int bpmn_validate(const bpmn_model_t *m, cJSON *out);
/* Repeating timers (timeCycle R<n>/<duration>, n != 1) on start and boundary events whose
 * literal period is below min_ms: one error object each, as above (bpmn_timer_check.c). */
int bpmn_timer_cycles_check(const bpmn_model_t *m, long long min_ms, cJSON *out);

/* ---- JSON form (bpmn_json.c, docs/bpmn.md) ---- */

cJSON *bpmn_to_json(const bpmn_model_t *m);
/* Builds a model from the JSON form; NULL with errors[] entries appended to errs
 * ({"pointer","detail"}). */
bpmn_model_t *bpmn_from_json(const cJSON *j, cJSON *errs);
/* Process ids, names and the calledElement ids (plain or zeebe:calledElement) of a
 * model, for design's summary and linking: {"processes":[{id,name}],"calls":[ids],
 * "messageFlows":[{id,source,target,sourceProcess,targetProcess}]}. */
cJSON *bpmn_summary(const bpmn_model_t *m);

/* ---- diff and merge (bpmn_diff.c) ---- */

/* {"added":[{id,type,name}],"removed":[...],"changed":[{id,type,changes:[{field,from,to}]}],
 *  "summary":{...}}; DI changes are reported under "layout" as ids only. */
cJSON *bpmn_diff(const bpmn_model_t *a, const bpmn_model_t *b);
/* Readable lines ("+ userTask Task_1 \"Check\"") of a diff JSON (caller frees). */
char *bpmn_diff_text(const cJSON *diff);
/* Three-way merge of ours and theirs against base. Returns the merged model (NULL on
 * no memory); conflicts gets {id,type,reason} entries. On conflict the merged model
 * keeps ours for that element. */
bpmn_model_t *bpmn_merge(const bpmn_model_t *base, const bpmn_model_t *ours,
                         const bpmn_model_t *theirs, cJSON *conflicts);

/* ---- views (bpmn_svg.c) ---- */

typedef struct bpmn_highlight { const char *id; double count; } bpmn_highlight_t;

/* Computes positions: from BPMNDI when present, otherwise a layered layout. Returns the
 * view model as JSON ({width,height,layout:"di"|"auto",shapes[],edges[]}). */
cJSON *bpmn_view(const bpmn_model_t *m, const bpmn_highlight_t *hl, size_t nhl);
/* The SVG of a view model (caller frees). */
char *bpmn_svg(const cJSON *view);

#endif
