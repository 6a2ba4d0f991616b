/* test_bpmn.c — the BPMN model (src/bpmn/): every MIWG reference model and vendor
 * export imports with the element counts of the suite's README, round-trips through
 * export without loss, validates, and renders to well-formed SVG holding every flow
 * node; hostile and broken inputs are refused; the JSON form round-trips; diff and
 * three-way merge report and combine changes. */
#include "fm_test.h"

#include "bpmn/bpmn.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *file, *counts; } miwg[] = {
    { "reference/A.1.0.bpmn", "startEvent=1 endEvent=1 task=3 sequenceFlow=4" },
    { "reference/A.2.0.bpmn", "startEvent=1 endEvent=1 task=4 exclusiveGateway=2 sequenceFlow=9" },
    { "reference/A.2.1.bpmn", "startEvent=1 endEvent=1 task=4 exclusiveGateway=2 sequenceFlow=11 conditionExpression=5" },
    { "reference/A.3.0.bpmn", "startEvent=1 endEvent=2 task=4 messageEventDefinition=1 boundaryEvent=2 subProcess=1 sequenceFlow=8 escalationEventDefinition=1" },
    { "reference/A.4.0.bpmn", "startEvent=4 endEvent=5 task=6 subProcess=2 lane=2 participant=1 processRef=1 sequenceFlow=13 messageFlow=2" },
    { "reference/A.4.1.bpmn", "startEvent=4 endEvent=5 task=6 subProcess=2 lane=3 participant=2 processRef=2 sequenceFlow=13 messageFlow=2" },
    { "reference/B.1.0.bpmn", "startEvent=5 endEvent=6 task=4 userTask=2 serviceTask=2 exclusiveGateway=4 parallelGateway=1 timerEventDefinition=1 messageEventDefinition=2 subProcess=2 callActivity=3 lane=2 dataObject=1 textAnnotation=1 participant=2 processRef=2 sequenceFlow=26 terminateEventDefinition=1 dataObjectReference=1 dataStoreReference=1 dataInput=1 dataOutput=1 group=1 messageFlow=2" },
    { "reference/B.2.0.bpmn", "startEvent=9 endEvent=14 task=22 userTask=5 serviceTask=4 exclusiveGateway=2 parallelGateway=3 inclusiveGateway=2 eventBasedGateway=1 intermediateCatchEvent=6 timerEventDefinition=4 messageEventDefinition=8 boundaryEvent=11 subProcess=5 callActivity=3 lane=2 dataObject=1 textAnnotation=1 participant=2 processRef=2 sequenceFlow=85 sendTask=1 receiveTask=1 intermediateThrowEvent=5 signalEventDefinition=7 errorEventDefinition=2 escalationEventDefinition=4 conditionalEventDefinition=4 linkEventDefinition=2 terminateEventDefinition=1 dataObjectReference=1 dataStoreReference=1 dataInput=1 group=1 multiInstanceLoopCharacteristics=3 standardLoopCharacteristics=1 messageFlow=2" },
    { "reference/C.1.0.bpmn", "startEvent=2 endEvent=4 task=4 userTask=4 serviceTask=1 exclusiveGateway=2 eventBasedGateway=1 intermediateCatchEvent=3 timerEventDefinition=1 messageEventDefinition=4 lane=4 participant=2 processRef=2 sequenceFlow=20 conditionExpression=4 messageFlow=5" },
    { "reference/C.1.1.bpmn", "startEvent=1 endEvent=2 userTask=4 serviceTask=1 exclusiveGateway=2 dataObject=3 sequenceFlow=10 dataObjectReference=3 dataOutput=3 conditionExpression=4" },
    { "reference/C.2.0.bpmn", "startEvent=5 endEvent=7 task=11 exclusiveGateway=3 messageEventDefinition=5 boundaryEvent=1 subProcess=1 lane=2 participant=4 processRef=4 sequenceFlow=25 intermediateThrowEvent=1 errorEventDefinition=2 messageFlow=5" },
    { "reference/C.3.0.bpmn", "startEvent=1 endEvent=3 userTask=4 exclusiveGateway=3 timerEventDefinition=1 messageEventDefinition=2 boundaryEvent=2 subProcess=1 sequenceFlow=15 conditionExpression=1" },
    { "reference/C.4.0.bpmn", "startEvent=4 endEvent=4 userTask=18 serviceTask=1 exclusiveGateway=2 parallelGateway=4 intermediateCatchEvent=3 messageEventDefinition=6 lane=2 textAnnotation=1 participant=4 processRef=4 sequenceFlow=41 manualTask=3 intermediateThrowEvent=1 signalEventDefinition=4 dataStoreReference=6 dataInput=5 dataOutput=7 standardLoopCharacteristics=1" },
    { "reference/C.5.0.bpmn", "startEvent=2 endEvent=4 task=1 userTask=17 exclusiveGateway=10 parallelGateway=2 callActivity=1 lane=3 dataObject=2 participant=1 processRef=1 sequenceFlow=40 signalEventDefinition=2 dataObjectReference=6 dataStoreReference=3 dataInput=12 dataOutput=13" },
    { "reference/C.6.0.bpmn", "startEvent=3 endEvent=7 serviceTask=6 parallelGateway=4 eventBasedGateway=1 intermediateCatchEvent=3 timerEventDefinition=2 messageEventDefinition=3 boundaryEvent=5 subProcess=2 sequenceFlow=32 sendTask=6 intermediateThrowEvent=3 errorEventDefinition=2 compensateEventDefinition=6 dataInput=2 dataOutput=2" },
    { "reference/C.7.0.bpmn", "startEvent=1 endEvent=1 userTask=3 serviceTask=2 exclusiveGateway=1 parallelGateway=2 lane=2 dataObject=3 participant=1 processRef=1 sequenceFlow=12 businessRuleTask=1 dataObjectReference=3 dataInput=4 dataOutput=5 multiInstanceLoopCharacteristics=1" },
    { "reference/C.8.0.bpmn", "startEvent=1 endEvent=5 userTask=1 serviceTask=3 exclusiveGateway=2 boundaryEvent=1 dataObject=1 sequenceFlow=16 sendTask=4 businessRuleTask=1 errorEventDefinition=1 dataObjectReference=1 dataInput=6 dataOutput=5 conditionExpression=3" },
    { "reference/C.8.1.bpmn", "startEvent=1 endEvent=5 userTask=1 serviceTask=3 exclusiveGateway=2 boundaryEvent=1 dataObject=4 participant=1 processRef=1 sequenceFlow=16 sendTask=4 businessRuleTask=1 errorEventDefinition=1 dataObjectReference=1 dataInput=26 dataOutput=13 conditionExpression=3" },
    { "reference/C.9.0.bpmn", "startEvent=3 endEvent=6 userTask=1 serviceTask=6 exclusiveGateway=2 parallelGateway=1 messageEventDefinition=4 boundaryEvent=1 subProcess=2 callActivity=1 participant=1 processRef=1 sequenceFlow=21 sendTask=1 businessRuleTask=1 errorEventDefinition=2 terminateEventDefinition=1 conditionExpression=4" },
    { "reference/C.9.1.bpmn", "startEvent=1 endEvent=3 userTask=1 timerEventDefinition=2 boundaryEvent=2 participant=1 processRef=1 sequenceFlow=7 sendTask=2 receiveTask=1" },
    { "reference/C.9.2.bpmn", "startEvent=4 endEvent=6 userTask=3 exclusiveGateway=1 timerEventDefinition=2 messageEventDefinition=2 boundaryEvent=1 subProcess=3 callActivity=1 participant=1 processRef=1 sequenceFlow=12 sendTask=1 errorEventDefinition=2 multiInstanceLoopCharacteristics=1 conditionExpression=1" },
    { "vendor-exports/bpmn-io-camunda-modeler-18.6.1/B.1.0-export.bpmn", "startEvent=4 endEvent=5 task=3 userTask=2 serviceTask=2 exclusiveGateway=4 parallelGateway=1 timerEventDefinition=1 messageEventDefinition=2 subProcess=3 callActivity=2 lane=2 dataObject=1 textAnnotation=1 participant=2 processRef=2 sequenceFlow=24 terminateEventDefinition=1 dataObjectReference=1 dataStoreReference=1 group=1 messageFlow=2" },
    { "vendor-exports/sap-signavio-process-manager-19.9.0/B.1.0-export.bpmn", "startEvent=3 endEvent=4 task=2 userTask=2 serviceTask=2 exclusiveGateway=4 parallelGateway=1 timerEventDefinition=1 messageEventDefinition=2 subProcess=2 callActivity=3 lane=3 dataObject=1 textAnnotation=1 participant=2 processRef=2 sequenceFlow=23 terminateEventDefinition=1 dataObjectReference=1 dataStoreReference=1 dataOutput=1 group=1 messageFlow=2" },
    { "vendor-exports/trisotech-workflow-modeler-12.6.3/B.1.0-export.bpmn", "startEvent=4 endEvent=5 task=3 userTask=2 serviceTask=2 exclusiveGateway=4 parallelGateway=1 timerEventDefinition=1 messageEventDefinition=2 subProcess=2 callActivity=3 lane=2 dataObject=1 textAnnotation=1 participant=2 processRef=2 sequenceFlow=24 terminateEventDefinition=1 dataObjectReference=1 dataStoreReference=1 dataInput=2 dataOutput=2 group=1 messageFlow=1" },
    { "vendor-exports/aris-10.2025.07/B.1.0-export.bpmn", "startEvent=4 endEvent=5 task=3 userTask=2 serviceTask=2 exclusiveGateway=4 parallelGateway=1 timerEventDefinition=1 messageEventDefinition=2 subProcess=2 callActivity=3 lane=2 dataObject=1 textAnnotation=1 participant=2 processRef=2 sequenceFlow=24 terminateEventDefinition=1 dataObjectReference=1 dataStoreReference=1 dataInput=1 dataOutput=1 group=1 messageFlow=2" },
};
#define NMIWG (sizeof(miwg) / sizeof(miwg[0]))

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static const char *miwg_dir(void)
{
    const char *d = getenv("FM_MIWG_DIR");
    return d ? d : "../shared/conformance/bpmn-miwg";
}

static bpmn_model_t *load(const char *rel)
{
    char path[512], err[300];
    snprintf(path, sizeof(path), "%s/%s", miwg_dir(), rel);
    size_t len = 0;
    char *xml = slurp(path, &len);
    if (!xml)
        fail_msg("cannot read %s (the MIWG suite belongs at ../shared/conformance/bpmn-miwg)", path);
    bpmn_model_t *m = bpmn_parse(xml, len, err, sizeof(err));
    if (!m)
        fail_msg("%s: %s", rel, err);
    free(xml);
    return m;
}

static bpmn_model_t *parse_str(const char *xml)
{
    char err[300];
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    if (!m)
        fail_msg("parse: %s", err);
    return m;
}

static void test_miwg_counts(void **state)
{
    for (size_t i = 0; i < NMIWG; i++) {
        bpmn_model_t *m = load(miwg[i].file);
        char *spec = strdup(miwg[i].counts), *save = NULL;
        for (char *tok = strtok_r(spec, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(tok, '=');
            *eq = 0;
            size_t want = strtoul(eq + 1, NULL, 10), got = 0;
            if (!strcmp(tok, "processRef")) {   /* pools: participants with a processRef */
                for (size_t k = 0; k < m->nels; k++)
                    got += m->els[k].kind == BPMN_K_PARTICIPANT && bpmn_attr(m->els[k].node, "processRef");
            } else {
                got = bpmn_count(m, tok);
            }
            if (got != want)
                fail_msg("%s: %s = %zu, README says %zu", miwg[i].file, tok, got, want);
        }
        free(spec);
        bpmn_free(m);
    }
}

static void test_miwg_roundtrip(void **state)
{
    for (size_t i = 0; i < NMIWG; i++) {
        bpmn_model_t *m = load(miwg[i].file);
        size_t len;
        char *xml = bpmn_export(m, &len), err[300], where[300] = "";
        bpmn_model_t *m2 = bpmn_parse(xml, len, err, sizeof(err));
        if (!m2)
            fail_msg("%s: export does not re-import: %s", miwg[i].file, err);
        if (!bpmn_tree_equal(m->root, m2->root, where, sizeof(where)))
            fail_msg("%s: round trip differs at %s", miwg[i].file, where);
        /* and a second export is byte-identical to the first */
        size_t len2;
        char *xml2 = bpmn_export(m2, &len2);
        assert_int_equal(len, len2);
        assert_memory_equal(xml, xml2, len);
        cJSON *d = bpmn_diff(m, m2);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "identical")));
        cJSON_Delete(d);
        free(xml);
        free(xml2);
        bpmn_free(m2);
        bpmn_free(m);
    }
}

static void test_extensions_survive(void **state)
{
    /* C.9.1 carries zeebe: extension elements; C.1.0 foreign attributes (signavio) */
    bpmn_model_t *m = load("reference/C.9.1.bpmn");
    char *xml = bpmn_export(m, NULL);
    bpmn_model_t *m2 = parse_str(xml);
    size_t z1 = 0, z2 = 0;
    for (size_t i = 0; i < m->nels; i++) {
        bpmn_node_t *x = bpmn_child(m->els[i].node, BPMN_NS, "extensionElements");
        for (size_t k = 0; x && k < x->nkids; k++)
            z1 += !strcmp(x->kids[k]->ns, ZEEBE_NS);
    }
    for (size_t i = 0; i < m2->nels; i++) {
        bpmn_node_t *x = bpmn_child(m2->els[i].node, BPMN_NS, "extensionElements");
        for (size_t k = 0; x && k < x->nkids; k++)
            z2 += !strcmp(x->kids[k]->ns, ZEEBE_NS);
    }
    assert_true(z1 > 0);
    assert_int_equal(z1, z2);
    assert_non_null(strstr(xml, "zeebe:"));
    free(xml);
    bpmn_free(m);
    bpmn_free(m2);
    m = load("reference/C.1.0.bpmn");
    xml = bpmn_export(m, NULL);
    assert_non_null(strstr(xml, "http://www.signavio.com"));
    free(xml);
    bpmn_free(m);
}

static void test_miwg_validate(void **state)
{
    for (size_t i = 0; i < NMIWG; i++) {
        if (strstr(miwg[i].file, "signavio"))
            continue;
        bpmn_model_t *m = load(miwg[i].file);
        cJSON *p = cJSON_CreateArray();
        int errors = bpmn_validate(m, p);
        if (errors) {
            char *s = cJSON_PrintUnformatted(p);
            fail_msg("%s: %d validation errors: %.400s", miwg[i].file, errors, s);
        }
        /* every diagram edge resolves (data associations included) */
        const cJSON *it;
        cJSON_ArrayForEach(it, p)
            if (!strcmp(cJSON_GetObjectItem(it, "code")->valuestring, "broken-di-reference") &&
                strstr(cJSON_GetObjectItem(it, "message")->valuestring, "edge"))
                fail_msg("%s: %s", miwg[i].file, cJSON_GetObjectItem(it, "message")->valuestring);
        cJSON_Delete(p);
        bpmn_free(m);
    }
    /* the Signavio export really has two flows whose ends are missing */
    bpmn_model_t *m = load("vendor-exports/sap-signavio-process-manager-19.9.0/B.1.0-export.bpmn");
    cJSON *p = cJSON_CreateArray();
    assert_true(bpmn_validate(m, p) > 0);
    bool found = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, p)
        found |= !strcmp(cJSON_GetObjectItem(it, "code")->valuestring, "broken-reference") &&
                 !strcmp(cJSON_GetObjectItem(it, "id")->valuestring, "sid-E1638278-7098-4BFF-9F77-653EA156C782");
    assert_true(found);
    cJSON_Delete(p);
    bpmn_free(m);
}

/* ---- SVG: well-formed, every flow node present ---- */

typedef struct svgcheck {
    char **ids;
    size_t n;
    int depth;
    bool root_svg;
} svgcheck_t;

static void XMLCALL svg_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    svgcheck_t *c = ud;
    if (c->depth++ == 0)
        c->root_svg = !strcmp(name, "svg");
    for (int i = 0; atts[i]; i += 2)
        if (!strcmp(atts[i], "data-element-id")) {
            c->ids = realloc(c->ids, (c->n + 1) * sizeof(char *));
            c->ids[c->n++] = strdup(atts[i + 1]);
        }
}

static void XMLCALL svg_end(void *ud, const XML_Char *name)
{
    ((svgcheck_t *)ud)->depth--;
}

static void check_svg(const bpmn_model_t *m, const char *svg, const char *what)
{
    svgcheck_t c = { NULL, 0, 0, false };
    XML_Parser p = XML_ParserCreate(NULL);
    XML_SetUserData(p, &c);
    XML_SetElementHandler(p, svg_start, svg_end);
    if (XML_Parse(p, svg, (int)strlen(svg), XML_TRUE) != XML_STATUS_OK)
        fail_msg("%s: SVG is not well-formed: %s at line %lu", what,
                 XML_ErrorString(XML_GetErrorCode(p)), (unsigned long)XML_GetCurrentLineNumber(p));
    XML_ParserFree(p);
    assert_true(c.root_svg);
    for (size_t i = 0; i < m->nels; i++) {
        if (!bpmn_kind_is_flow_node(m->els[i].kind))
            continue;
        bool found = false;
        for (size_t k = 0; k < c.n && !found; k++)
            found = !strcmp(c.ids[k], m->els[i].id);
        if (!found)
            fail_msg("%s: flow node %s is not in the SVG", what, m->els[i].id);
    }
    for (size_t k = 0; k < c.n; k++)
        free(c.ids[k]);
    free(c.ids);
}

static void test_miwg_render(void **state)
{
    for (size_t i = 0; i < NMIWG; i++) {
        bpmn_model_t *m = load(miwg[i].file);
        cJSON *v = bpmn_view(m, NULL, 0);
        assert_string_equal(cJSON_GetObjectItem(v, "layout")->valuestring, "di");
        char *svg = bpmn_svg(v);
        check_svg(m, svg, miwg[i].file);
        free(svg);
        cJSON_Delete(v);
        bpmn_free(m);
    }
}

static void test_highlight(void **state)
{
    bpmn_model_t *m = load("reference/A.1.0.bpmn");
    const char *task = NULL;
    for (size_t i = 0; i < m->nels && !task; i++)
        if (m->els[i].kind == BPMN_K_TASK)
            task = m->els[i].id;
    assert_non_null(task);
    bpmn_highlight_t hl[] = { { task, 42 } };
    cJSON *v = bpmn_view(m, hl, 1);
    const cJSON *s;
    bool seen = false;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(v, "shapes"))
        if (!strcmp(cJSON_GetObjectItem(s, "id")->valuestring, task)) {
            assert_int_equal(cJSON_GetObjectItem(s, "count")->valueint, 42);
            assert_true(cJSON_GetObjectItem(s, "heat")->valuedouble == 1.0);
            seen = true;
        }
    assert_true(seen);
    char *svg = bpmn_svg(v);
    assert_non_null(strstr(svg, "class=\"highlight\""));
    assert_non_null(strstr(svg, ">42</text>"));
    free(svg);
    cJSON_Delete(v);
    bpmn_free(m);
}

/* ---- hostile and broken input ---- */

static void refused(const char *xml, const char *why)
{
    char err[300] = "";
    bpmn_model_t *m = bpmn_parse(xml, strlen(xml), err, sizeof(err));
    if (m)
        fail_msg("accepted: %.80s", xml);
    if (why && !strstr(err, why))
        fail_msg("error '%s' does not mention '%s'", err, why);
}

static void test_refuse_bad_input(void **state)
{
    refused("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
            "<definitions xmlns=\"" BPMN_NS "\">&lol2;</definitions>", "DOCTYPE");
    refused("<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
            "<definitions xmlns=\"" BPMN_NS "\"><process id=\"p\">&xxe;</process></definitions>", "DOCTYPE");
    refused("<definitions xmlns=\"" BPMN_NS "\"><process id=\"p\"></definitions>", "line 1");
    refused("<html><body/></html>", "definitions");
    refused("<definitions xmlns=\"urn:other\"/>", "BPMN 2.0");
    refused("", NULL);
    refused("<definitions xmlns=\"" BPMN_NS "\">&undefined;</definitions>", NULL);
    /* too deep */
    size_t depth = BPMN_MAX_DEPTH + 10;
    char *deep = malloc(depth * 8 + 200);
    strcpy(deep, "<definitions xmlns=\"" BPMN_NS "\">");
    for (size_t i = 0; i < depth; i++)
        strcat(deep, "<a>");
    strcat(deep, "</definitions>");
    refused(deep, "deeper");
    free(deep);
    /* too big: refused before parsing */
    char err[200];
    assert_null(bpmn_parse("<x/>", BPMN_MAX_BYTES + 1, err, sizeof(err)));
    assert_non_null(strstr(err, "larger"));
}

static void test_prefix_independent(void **state)
{
    bpmn_model_t *a = parse_str("<bpmn:definitions xmlns:bpmn=\"" BPMN_NS "\" id=\"d\"><bpmn:process id=\"p\">"
                                "<bpmn:startEvent id=\"s\"/></bpmn:process></bpmn:definitions>");
    bpmn_model_t *b = parse_str("<definitions xmlns=\"" BPMN_NS "\" id=\"d\"><process id=\"p\">"
                                "<startEvent id=\"s\"/></process></definitions>");
    assert_true(bpmn_tree_equal(a->root, b->root, NULL, 0));
    assert_int_equal(bpmn_count(a, "startEvent"), 1);
    assert_int_equal(bpmn_count(b, "startEvent"), 1);
    bpmn_free(a);
    bpmn_free(b);
}

/* ---- validation ---- */

#define DEFS_OPEN "<definitions xmlns=\"" BPMN_NS "\" id=\"d\"><process id=\"P\">"
#define DEFS_CLOSE "</process></definitions>"

static const cJSON *problem(const cJSON *arr, const char *code, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
        if (!strcmp(cJSON_GetObjectItem(it, "code")->valuestring, code) &&
            (!id || (cJSON_IsString(cJSON_GetObjectItem(it, "id")) &&
                     !strcmp(cJSON_GetObjectItem(it, "id")->valuestring, id))))
            return it;
    return NULL;
}

static const char *severity(const cJSON *arr, const char *code, const char *id)
{
    const cJSON *p = problem(arr, code, id);
    assert_non_null(p);
    return cJSON_GetObjectItem(p, "severity")->valuestring;
}

/* Data associations as Camunda Modeler writes them: the input one inside the task
 * (sourceRef the data object reference, targetRef a placeholder property), the output
 * one with only a targetRef; their diagram edges resolve and are drawn. */
static void test_data_association_edges(void **state)
{
    bpmn_model_t *m = parse_str(
        "<bpmn:definitions xmlns:bpmn=\"" BPMN_NS "\" xmlns:bpmndi=\"" BPMNDI_NS "\" "
        "xmlns:dc=\"" DC_NS "\" xmlns:di=\"" DI_NS "\" id=\"Definitions_1\">"
        "<bpmn:process id=\"Process_1\" isExecutable=\"true\">"
        "<bpmn:startEvent id=\"StartEvent_1\"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>"
        "<bpmn:task id=\"Activity_1\"><bpmn:incoming>Flow_1</bpmn:incoming>"
        "<bpmn:property id=\"Property_1\" name=\"__targetRef_placeholder\"/>"
        "<bpmn:dataInputAssociation id=\"DataInputAssociation_1\">"
        "<bpmn:sourceRef>DataObjectReference_1</bpmn:sourceRef><bpmn:targetRef>Property_1</bpmn:targetRef>"
        "</bpmn:dataInputAssociation>"
        "<bpmn:dataOutputAssociation id=\"DataOutputAssociation_1\">"
        "<bpmn:targetRef>DataStoreReference_1</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:task>"
        "<bpmn:sequenceFlow id=\"Flow_1\" sourceRef=\"StartEvent_1\" targetRef=\"Activity_1\"/>"
        "<bpmn:dataObjectReference id=\"DataObjectReference_1\" dataObjectRef=\"DataObject_1\"/>"
        "<bpmn:dataObject id=\"DataObject_1\"/><bpmn:dataStoreReference id=\"DataStoreReference_1\"/>"
        "</bpmn:process>"
        "<bpmndi:BPMNDiagram id=\"BPMNDiagram_1\"><bpmndi:BPMNPlane id=\"BPMNPlane_1\" bpmnElement=\"Process_1\">"
        "<bpmndi:BPMNShape id=\"s1\" bpmnElement=\"StartEvent_1\"><dc:Bounds x=\"179\" y=\"99\" width=\"36\" height=\"36\"/></bpmndi:BPMNShape>"
        "<bpmndi:BPMNShape id=\"s2\" bpmnElement=\"Activity_1\"><dc:Bounds x=\"270\" y=\"77\" width=\"100\" height=\"80\"/></bpmndi:BPMNShape>"
        "<bpmndi:BPMNShape id=\"s3\" bpmnElement=\"DataObjectReference_1\"><dc:Bounds x=\"172\" y=\"215\" width=\"36\" height=\"50\"/></bpmndi:BPMNShape>"
        "<bpmndi:BPMNShape id=\"s4\" bpmnElement=\"DataStoreReference_1\"><dc:Bounds x=\"405\" y=\"215\" width=\"50\" height=\"50\"/></bpmndi:BPMNShape>"
        "<bpmndi:BPMNEdge id=\"e1\" bpmnElement=\"Flow_1\"><di:waypoint x=\"215\" y=\"117\"/><di:waypoint x=\"270\" y=\"117\"/></bpmndi:BPMNEdge>"
        "<bpmndi:BPMNEdge id=\"DataInputAssociation_1_di\" bpmnElement=\"DataInputAssociation_1\">"
        "<di:waypoint x=\"208\" y=\"226\"/><di:waypoint x=\"275\" y=\"155\"/></bpmndi:BPMNEdge>"
        "<bpmndi:BPMNEdge id=\"DataOutputAssociation_1_di\" bpmnElement=\"DataOutputAssociation_1\">"
        "<di:waypoint x=\"360\" y=\"157\"/><di:waypoint x=\"420\" y=\"215\"/></bpmndi:BPMNEdge>"
        "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>");
    cJSON *p = cJSON_CreateArray();
    bpmn_validate(m, p);
    assert_null(problem(p, "broken-di-reference", NULL));
    cJSON_Delete(p);
    cJSON *v = bpmn_view(m, NULL, 0);
    const cJSON *e, *in = NULL, *out = NULL;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "edges")) {
        const char *id = cJSON_GetObjectItem(e, "id")->valuestring;
        if (!strcmp(id, "DataInputAssociation_1"))
            in = e;
        if (!strcmp(id, "DataOutputAssociation_1"))
            out = e;
    }
    assert_non_null(in);
    assert_non_null(out);
    assert_string_equal(cJSON_GetObjectItem(in, "type")->valuestring, "dataInputAssociation");
    assert_string_equal(cJSON_GetObjectItem(in, "source")->valuestring, "DataObjectReference_1");
    assert_string_equal(cJSON_GetObjectItem(in, "target")->valuestring, "Activity_1");
    assert_string_equal(cJSON_GetObjectItem(out, "source")->valuestring, "Activity_1");
    assert_string_equal(cJSON_GetObjectItem(out, "target")->valuestring, "DataStoreReference_1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(in, "waypoints")), 2);
    char *svg = bpmn_svg(v);
    assert_non_null(strstr(svg, "data-element-id=\"DataInputAssociation_1\"><polyline points=\"208.0,226.0 275.0,155.0\""));
    assert_non_null(strstr(svg, "data-element-id=\"DataOutputAssociation_1\""));
    assert_non_null(strstr(svg, "marker-end=\"url(#data-end)\""));
    free(svg);
    cJSON_Delete(v);
    /* still content of the task for diffs: dropping the output association changes
     * the task, it is not an element removed on its own */
    char *xml = bpmn_export(m, NULL);
    char *a = strstr(xml, "<bpmn:dataOutputAssociation"), *z = strstr(xml, "</bpmn:dataOutputAssociation>");
    assert_true(a && z);
    z += strlen("</bpmn:dataOutputAssociation>");
    memmove(a, z, strlen(z) + 1);
    bpmn_model_t *m2 = parse_str(xml);
    cJSON *d = bpmn_diff(m, m2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "removed")), 0);
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "changed"), 0);
    assert_non_null(ch);
    assert_string_equal(cJSON_GetObjectItem(ch, "id")->valuestring, "Activity_1");
    cJSON_Delete(d);
    bpmn_free(m2);
    free(xml);
    bpmn_free(m);
}

static void test_validate_problems(void **state)
{
    bpmn_model_t *m = parse_str(DEFS_OPEN
        "<startEvent id=\"S\"/><task id=\"A\"/><exclusiveGateway id=\"X\"/><task id=\"B\"/><task id=\"C\"/>"
        "<parallelGateway id=\"J\"/><exclusiveGateway id=\"G\"/><task id=\"Lost\"/><task id=\"A\"/>"
        "<sequenceFlow id=\"f1\" sourceRef=\"S\" targetRef=\"A\"/>"
        "<sequenceFlow id=\"f2\" sourceRef=\"A\" targetRef=\"X\"/>"
        "<sequenceFlow id=\"f3\" sourceRef=\"X\" targetRef=\"B\"/>"
        "<sequenceFlow id=\"f4\" sourceRef=\"X\" targetRef=\"C\"/>"
        "<sequenceFlow id=\"f5\" sourceRef=\"B\" targetRef=\"J\"/>"
        "<sequenceFlow id=\"f6\" sourceRef=\"C\" targetRef=\"J\"/>"
        "<sequenceFlow id=\"f7\" sourceRef=\"J\" targetRef=\"G\"/>"
        "<sequenceFlow id=\"f8\" sourceRef=\"G\" targetRef=\"Nowhere\"/>"
        "<sequenceFlow id=\"f9\" sourceRef=\"B\" targetRef=\"C\"><conditionExpression>=(a &gt; 1</conditionExpression></sequenceFlow>"
        DEFS_CLOSE);
    cJSON *p = cJSON_CreateArray();
    int errors = bpmn_validate(m, p);
    assert_true(errors >= 3);
    assert_non_null(problem(p, "broken-reference", "f8"));
    assert_non_null(problem(p, "no-end-event", "P"));
    assert_non_null(problem(p, "unreachable", "Lost"));
    assert_non_null(problem(p, "duplicate-id", "A"));
    assert_non_null(problem(p, "invalid-expression", "f9"));
    const cJSON *w = problem(p, "exclusive-gateway-unguarded", "X");
    assert_non_null(w);
    assert_string_equal(cJSON_GetObjectItem(w, "severity")->valuestring, "warning");
    assert_non_null(problem(p, "parallel-join-after-exclusive-split", "J"));
    assert_null(problem(p, "no-start-event", NULL));
    /* errors are what cannot run; an unfinished draft's gaps are warnings (Zeebe
     * deploys a process without end event: a token with no outgoing flow ends) */
    assert_string_equal(severity(p, "broken-reference", "f8"), "error");
    assert_string_equal(severity(p, "duplicate-id", "A"), "error");
    assert_string_equal(severity(p, "invalid-expression", "f9"), "error");
    assert_string_equal(severity(p, "no-end-event", "P"), "warning");
    assert_string_equal(severity(p, "unreachable", "Lost"), "warning");
    assert_int_equal(errors, 3);
    cJSON_Delete(p);
    bpmn_free(m);

    /* FEEL conditions go through the real parser: balanced but wrong is caught, with
     * line and column; a good one and a non-FEEL (no "=") one pass */
    m = parse_str(DEFS_OPEN
        "<startEvent id=\"S\"/><exclusiveGateway id=\"X\"/><endEvent id=\"E1\"/><endEvent id=\"E2\"/>"
        "<endEvent id=\"E3\"/>"
        "<sequenceFlow id=\"f0\" sourceRef=\"S\" targetRef=\"X\"/>"
        "<sequenceFlow id=\"bad\" sourceRef=\"X\" targetRef=\"E1\"><conditionExpression>=amount &gt; &gt; 1</conditionExpression></sequenceFlow>"
        "<sequenceFlow id=\"good\" sourceRef=\"X\" targetRef=\"E2\"><conditionExpression>=amount &gt; 1000 and status = \"open\"</conditionExpression></sequenceFlow>"
        "<sequenceFlow id=\"plain\" sourceRef=\"X\" targetRef=\"E3\"><conditionExpression>${amount &gt; &gt; 1}</conditionExpression></sequenceFlow>"
        DEFS_CLOSE);
    p = cJSON_CreateArray();
    bpmn_validate(m, p);
    const cJSON *bad = problem(p, "invalid-expression", "bad");
    assert_non_null(bad);
    assert_non_null(strstr(cJSON_GetObjectItem(bad, "message")->valuestring, "column"));
    assert_null(problem(p, "invalid-expression", "good"));
    assert_null(problem(p, "invalid-expression", "plain"));
    cJSON_Delete(p);
    bpmn_free(m);

    m = parse_str(DEFS_OPEN "<task id=\"T\"/><exclusiveGateway id=\"G\"/><endEvent id=\"E\"/>"
                  "<sequenceFlow id=\"f1\" sourceRef=\"T\" targetRef=\"G\"/>" DEFS_CLOSE);
    p = cJSON_CreateArray();
    bpmn_validate(m, p);
    assert_string_equal(severity(p, "no-start-event", "P"), "error");
    assert_string_equal(severity(p, "gateway-without-outgoing", "G"), "warning");
    cJSON_Delete(p);
    bpmn_free(m);

    /* a clean one: no problems at all */
    m = parse_str(DEFS_OPEN "<startEvent id=\"S\"/><exclusiveGateway id=\"X\" default=\"f3\"/><task id=\"A\"/>"
                  "<endEvent id=\"E\"/><sequenceFlow id=\"f1\" sourceRef=\"S\" targetRef=\"X\"/>"
                  "<sequenceFlow id=\"f2\" sourceRef=\"X\" targetRef=\"A\"><conditionExpression>=x &gt; 1</conditionExpression></sequenceFlow>"
                  "<sequenceFlow id=\"f3\" sourceRef=\"X\" targetRef=\"E\"/><sequenceFlow id=\"f4\" sourceRef=\"A\" targetRef=\"E\"/>"
                  DEFS_CLOSE);
    p = cJSON_CreateArray();
    assert_int_equal(bpmn_validate(m, p), 0);
    assert_int_equal(cJSON_GetArraySize(p), 0);
    cJSON_Delete(p);
    bpmn_free(m);
}

/* ---- JSON form ---- */

static const char json_model[] =
    "{\"id\":\"D1\",\"processes\":[{\"id\":\"order\",\"name\":\"Order\",\"elements\":["
    "{\"id\":\"start\",\"type\":\"startEvent\",\"name\":\"Order received\"},"
    "{\"id\":\"check\",\"type\":\"serviceTask\",\"name\":\"Check\",\"extensionElements\":"
    "\"<zeebe:taskDefinition type=\\\"check-order\\\"/>\"},"
    "{\"id\":\"gw\",\"type\":\"exclusiveGateway\",\"default\":\"f3\"},"
    "{\"id\":\"approve\",\"type\":\"userTask\",\"name\":\"Approve\"},"
    "{\"id\":\"timeout\",\"type\":\"boundaryEvent\",\"attachedTo\":\"approve\",\"eventDefinition\":\"timer\","
    "\"timer\":{\"timeDuration\":\"PT1H\"},\"cancelActivity\":false},"
    "{\"id\":\"end\",\"type\":\"endEvent\"},{\"id\":\"late\",\"type\":\"endEvent\"}],"
    "\"flows\":[{\"id\":\"f1\",\"source\":\"start\",\"target\":\"check\"},"
    "{\"id\":\"f2\",\"source\":\"check\",\"target\":\"gw\"},"
    "{\"id\":\"f3\",\"source\":\"gw\",\"target\":\"end\"},"
    "{\"id\":\"f4\",\"source\":\"gw\",\"target\":\"approve\",\"condition\":\"=amount > 1000\"},"
    "{\"id\":\"f5\",\"source\":\"approve\",\"target\":\"end\"},"
    "{\"id\":\"f6\",\"source\":\"timeout\",\"target\":\"late\"}]}]}";

static void test_json_form(void **state)
{
    cJSON *j = cJSON_Parse(json_model), *errs = cJSON_CreateArray();
    bpmn_model_t *m = bpmn_from_json(j, errs);
    assert_non_null(m);
    cJSON *p = cJSON_CreateArray();
    assert_int_equal(bpmn_validate(m, p), 0);
    cJSON_Delete(p);
    /* the zeebe extension is a real element in the zeebe namespace */
    int check = bpmn_find(m, "check");
    assert_true(check >= 0);
    bpmn_node_t *x = bpmn_child(m->els[check].node, BPMN_NS, "extensionElements");
    assert_non_null(bpmn_child(x, ZEEBE_NS, "taskDefinition"));
    assert_string_equal(bpmn_attr(bpmn_child(x, ZEEBE_NS, "taskDefinition"), "type"), "check-order");
    /* JSON → XML → model → JSON is stable */
    char *xml = bpmn_export(m, NULL);
    bpmn_model_t *m2 = parse_str(xml);
    assert_true(bpmn_tree_equal(m->root, m2->root, NULL, 0));
    cJSON *j1 = bpmn_to_json(m), *j2 = bpmn_to_json(m2);
    assert_true(cJSON_Compare(j1, j2, true));
    bpmn_model_t *m3 = bpmn_from_json(j1, errs);
    assert_non_null(m3);
    assert_true(bpmn_tree_equal(m->root, m3->root, NULL, 0));
    const cJSON *el = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j1, "processes"), 0),
                                                             "elements"), 4);
    assert_string_equal(cJSON_GetObjectItem(el, "eventDefinition")->valuestring, "timer");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(el, "timer"), "timeDuration")->valuestring, "PT1H");
    /* no DI: the view lays it out, every node is drawn */
    cJSON *v = bpmn_view(m, NULL, 0);
    assert_string_equal(cJSON_GetObjectItem(v, "layout")->valuestring, "auto");
    char *svg = bpmn_svg(v);
    check_svg(m, svg, "json model");
    free(svg);
    cJSON_Delete(v);
    cJSON_Delete(j1);
    cJSON_Delete(j2);
    free(xml);
    bpmn_free(m);
    bpmn_free(m2);
    bpmn_free(m3);
    assert_int_equal(cJSON_GetArraySize(errs), 0);
    cJSON_Delete(j);

    /* bad JSON forms: every problem with its pointer */
    j = cJSON_Parse("{\"processes\":[{\"id\":\"p\",\"elements\":[{\"id\":\"a\",\"type\":\"frobTask\"},"
                    "{\"type\":\"task\"},{\"id\":\"t\",\"type\":\"task\",\"extensionElements\":\"<unclosed\"}],"
                    "\"flows\":[{\"id\":\"f\",\"source\":\"a\"}]}]}");
    assert_null(bpmn_from_json(j, errs));
    char *s = cJSON_PrintUnformatted(errs);
    assert_non_null(strstr(s, "/processes/0/elements/0/type"));
    assert_non_null(strstr(s, "/processes/0/elements/1/id"));
    assert_non_null(strstr(s, "/processes/0/elements/2/extensionElements"));
    assert_non_null(strstr(s, "/processes/0/flows/0/target"));
    free(s);
    cJSON_Delete(j);
    cJSON_Delete(errs);
    errs = cJSON_CreateArray();
    j = cJSON_Parse("{\"processes\":[]}");
    assert_null(bpmn_from_json(j, errs));
    assert_int_equal(cJSON_GetArraySize(errs), 1);
    cJSON_Delete(j);
    cJSON_Delete(errs);
}

/* ---- diff and merge ---- */

static bpmn_model_t *from_json_text(const char *text)
{
    cJSON *j = cJSON_Parse(text), *errs = cJSON_CreateArray();
    assert_non_null(j);
    bpmn_model_t *m = bpmn_from_json(j, errs);
    if (!m) {
        char *s = cJSON_PrintUnformatted(errs);
        fail_msg("from_json: %s", s);
    }
    cJSON_Delete(j);
    cJSON_Delete(errs);
    return m;
}

/* Replaces the first occurrence of a by b in s (returns a new string). */
static char *replace(const char *s, const char *a, const char *b)
{
    const char *at = strstr(s, a);
    assert_non_null(at);
    char *out = malloc(strlen(s) + strlen(b) + 1);
    memcpy(out, s, (size_t)(at - s));
    strcpy(out + (at - s), b);
    strcat(out, at + strlen(a));
    return out;
}

static bool has_entry(const cJSON *arr, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
        if (!strcmp(cJSON_GetObjectItem(it, "id")->valuestring, id))
            return true;
    return false;
}

static void test_diff(void **state)
{
    bpmn_model_t *a = from_json_text(json_model);
    /* rename check, change a condition, remove the late end (and its flow), add a task */
    char *t1 = replace(json_model, "\"name\":\"Check\"", "\"name\":\"Check order\"");
    char *t2 = replace(t1, "=amount > 1000", "=amount > 5000");
    char *t3 = replace(t2, ",{\"id\":\"late\",\"type\":\"endEvent\"}", ",{\"id\":\"notify\",\"type\":\"sendTask\"}");
    char *t4 = replace(t3, "\"target\":\"late\"", "\"target\":\"notify\"");
    bpmn_model_t *b = from_json_text(t4);
    cJSON *d = bpmn_diff(a, b);
    assert_true(has_entry(cJSON_GetObjectItem(d, "added"), "notify"));
    assert_true(has_entry(cJSON_GetObjectItem(d, "removed"), "late"));
    assert_true(has_entry(cJSON_GetObjectItem(d, "changed"), "check"));
    assert_true(has_entry(cJSON_GetObjectItem(d, "changed"), "f4"));
    assert_true(has_entry(cJSON_GetObjectItem(d, "changed"), "f6"));
    assert_false(has_entry(cJSON_GetObjectItem(d, "changed"), "approve"));
    const cJSON *it, *ch = NULL;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(d, "changed"))
        if (!strcmp(cJSON_GetObjectItem(it, "id")->valuestring, "check"))
            ch = cJSON_GetArrayItem(cJSON_GetObjectItem(it, "changes"), 0);
    assert_string_equal(cJSON_GetObjectItem(ch, "field")->valuestring, "name");
    assert_string_equal(cJSON_GetObjectItem(ch, "from")->valuestring, "Check");
    assert_string_equal(cJSON_GetObjectItem(ch, "to")->valuestring, "Check order");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(d, "identical")));
    char *text = bpmn_diff_text(d);
    assert_non_null(strstr(text, "+ sendTask notify"));
    assert_non_null(strstr(text, "- endEvent late"));
    assert_non_null(strstr(text, "~ serviceTask check \"Check order\""));
    assert_non_null(strstr(text, "name: Check -> Check order"));
    assert_non_null(strstr(text, "conditionExpression: =amount > 1000 -> =amount > 5000"));
    free(text);
    cJSON_Delete(d);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    bpmn_free(a);
    bpmn_free(b);
}

static void test_merge(void **state)
{
    bpmn_model_t *base = from_json_text(json_model);
    /* ours renames check; theirs renames approve, adds a task on the default path */
    char *o = replace(json_model, "\"name\":\"Check\"", "\"name\":\"Check stock\"");
    char *t1 = replace(json_model, "\"name\":\"Approve\"", "\"name\":\"Approve order\"");
    char *t2 = replace(t1, "{\"id\":\"end\",\"type\":\"endEvent\"}",
                       "{\"id\":\"end\",\"type\":\"endEvent\"},{\"id\":\"archive\",\"type\":\"task\"}");
    char *t3 = replace(t2, "{\"id\":\"f3\",\"source\":\"gw\",\"target\":\"end\"}",
                       "{\"id\":\"f3\",\"source\":\"gw\",\"target\":\"archive\"},"
                       "{\"id\":\"f7\",\"source\":\"archive\",\"target\":\"end\"}");
    bpmn_model_t *ours = from_json_text(o), *theirs = from_json_text(t3);
    cJSON *conf = cJSON_CreateArray();
    bpmn_model_t *m = bpmn_merge(base, ours, theirs, conf);
    assert_non_null(m);
    assert_int_equal(cJSON_GetArraySize(conf), 0);
    assert_string_equal(m->els[bpmn_find(m, "check")].name, "Check stock");
    assert_string_equal(m->els[bpmn_find(m, "approve")].name, "Approve order");
    int f3 = bpmn_find(m, "f3");
    assert_true(bpmn_find(m, "archive") >= 0 && bpmn_find(m, "f7") >= 0 && f3 >= 0);
    assert_string_equal(m->els[f3].target, "archive");
    cJSON *p = cJSON_CreateArray();
    assert_int_equal(bpmn_validate(m, p), 0);
    cJSON_Delete(p);
    /* incoming/outgoing were rewritten from the flows */
    int ar = bpmn_find(m, "archive");
    assert_non_null(bpmn_child(m->els[ar].node, BPMN_NS, "incoming"));
    assert_string_equal(bpmn_child(m->els[ar].node, BPMN_NS, "incoming")->text, "f3");
    /* merging theirs into the merge result changes nothing */
    cJSON *d = bpmn_diff(m, theirs);
    assert_true(has_entry(cJSON_GetObjectItem(d, "changed"), "check"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "added")), 0);
    cJSON_Delete(d);
    bpmn_free(m);
    cJSON_Delete(conf);

    /* both rename check differently: a conflict, ours kept */
    char *t4 = replace(json_model, "\"name\":\"Check\"", "\"name\":\"Check credit\"");
    bpmn_model_t *theirs2 = from_json_text(t4);
    conf = cJSON_CreateArray();
    m = bpmn_merge(base, ours, theirs2, conf);
    assert_int_equal(cJSON_GetArraySize(conf), 1);
    const cJSON *c = cJSON_GetArrayItem(conf, 0);
    assert_string_equal(cJSON_GetObjectItem(c, "id")->valuestring, "check");
    assert_string_equal(cJSON_GetObjectItem(c, "reason")->valuestring, "changed on both sides");
    assert_string_equal(m->els[bpmn_find(m, "check")].name, "Check stock");
    bpmn_free(m);
    cJSON_Delete(conf);

    /* theirs deletes what ours changed: conflict; theirs deletes untouched: gone */
    char *t5 = replace(json_model, ",{\"id\":\"late\",\"type\":\"endEvent\"}", "");
    char *t6 = replace(t5, ",{\"id\":\"f6\",\"source\":\"timeout\",\"target\":\"late\"}", "");
    bpmn_model_t *theirs3 = from_json_text(t6);
    conf = cJSON_CreateArray();
    m = bpmn_merge(base, ours, theirs3, conf);
    assert_int_equal(cJSON_GetArraySize(conf), 0);
    assert_int_equal(bpmn_find(m, "late"), -1);
    assert_int_equal(bpmn_find(m, "f6"), -1);
    bpmn_free(m);
    cJSON_Delete(conf);

    free(o);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    free(t5);
    free(t6);
    bpmn_free(base);
    bpmn_free(ours);
    bpmn_free(theirs);
    bpmn_free(theirs2);
    bpmn_free(theirs3);
}

static void test_merge_miwg_di(void **state)
{
    /* theirs moves a shape of a real diagram; ours renames a task: both land */
    bpmn_model_t *base = load("reference/A.1.0.bpmn");
    char *xml = bpmn_export(base, NULL);
    bpmn_model_t *ours = parse_str(xml), *theirs = parse_str(xml);
    int t = -1;
    for (size_t i = 0; i < ours->nels && t < 0; i++)
        if (ours->els[i].kind == BPMN_K_TASK)
            t = (int)i;
    bpmn_set_attr(ours->els[t].node, "name", "Renamed");
    bpmn_reindex(ours);
    const char *tid = ours->els[t].id;
    bpmn_node_t *b = NULL;
    /* find theirs' shape for that task and move it */
    bpmn_node_t *stack[64];
    int sp = 0;
    stack[sp++] = theirs->root;
    while (sp && !b) {
        bpmn_node_t *n = stack[--sp];
        if (bpmn_is(n, BPMNDI_NS, "BPMNShape") && !strcmp(bpmn_attr(n, "bpmnElement"), tid))
            b = bpmn_child(n, DC_NS, "Bounds");
        for (size_t k = 0; k < n->nkids && sp < 64; k++)
            stack[sp++] = n->kids[k];
    }
    assert_non_null(b);
    bpmn_set_attr(b, "x", "999");
    bpmn_reindex(theirs);
    cJSON *conf = cJSON_CreateArray();
    bpmn_model_t *m = bpmn_merge(base, ours, theirs, conf);
    if (cJSON_GetArraySize(conf)) {
        char *cs = cJSON_PrintUnformatted(conf);
        fail_msg("conflicts: %s", cs);
    }
    assert_string_equal(m->els[bpmn_find(m, tid)].name, "Renamed");
    bool moved = false;
    for (size_t i = 0; i < m->nshapes; i++)
        moved |= !strcmp(m->shapes[i].element, tid) && m->shapes[i].b.x == 999;
    assert_true(moved);
    cJSON *d = bpmn_diff(base, m);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "layout")), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "changed")), 1);
    cJSON_Delete(d);
    cJSON_Delete(conf);
    bpmn_free(m);
    bpmn_free(ours);
    bpmn_free(theirs);
    bpmn_free(base);
    free(xml);
}

static double shape_y(const cJSON *view, const char *id)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(view, "shapes"))
        if (!strcmp(cJSON_GetObjectItem(s, "id")->valuestring, id))
            return cJSON_GetObjectItem(s, "y")->valuedouble + cJSON_GetObjectItem(s, "height")->valuedouble / 2;
    fail_msg("no shape %s", id);
    return 0;
}

static double shape_x(const cJSON *view, const char *id)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(view, "shapes"))
        if (!strcmp(cJSON_GetObjectItem(s, "id")->valuestring, id))
            return cJSON_GetObjectItem(s, "x")->valuedouble;
    fail_msg("no shape %s", id);
    return 0;
}

static void test_auto_layout(void **state)
{
    /* the main path stays on one row; the gateway's other branch goes below; the
     * boundary event sits on its host; a loop back does not break the layering */
    bpmn_model_t *m = from_json_text(json_model);
    cJSON *v = bpmn_view(m, NULL, 0);
    double y = shape_y(v, "start");
    assert_true(shape_y(v, "check") == y && shape_y(v, "gw") == y);
    assert_true(shape_x(v, "start") < shape_x(v, "check") && shape_x(v, "check") < shape_x(v, "gw"));
    assert_true(shape_x(v, "gw") < shape_x(v, "approve") && shape_x(v, "approve") < shape_x(v, "end"));
    assert_true(shape_y(v, "approve") > y || shape_y(v, "end") > y);
    double tx = shape_x(v, "timeout"), ax = shape_x(v, "approve");
    assert_true(tx >= ax && tx <= ax + 100);
    assert_true(shape_y(v, "late") > shape_y(v, "approve"));
    cJSON_Delete(v);
    bpmn_free(m);
    char *loop = replace(json_model, "{\"id\":\"f5\",\"source\":\"approve\",\"target\":\"end\"}",
                         "{\"id\":\"f5\",\"source\":\"approve\",\"target\":\"check\"}");
    m = from_json_text(loop);
    v = bpmn_view(m, NULL, 0);
    assert_true(shape_x(v, "check") < shape_x(v, "approve"));
    char *svg = bpmn_svg(v);
    check_svg(m, svg, "loop");
    free(svg);
    cJSON_Delete(v);
    bpmn_free(m);
    free(loop);
}

static void test_summary(void **state)
{
    bpmn_model_t *m = load("reference/B.1.0.bpmn");
    cJSON *s = bpmn_summary(m);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(s, "processes")) >= 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "messageFlows")), 2);
    const cJSON *mf = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "messageFlows"), 0);
    assert_non_null(cJSON_GetObjectItem(mf, "sourceProcess"));
    assert_non_null(cJSON_GetObjectItem(mf, "targetProcess"));
    cJSON_Delete(s);
    bpmn_free(m);
    /* zeebe:calledElement counts as a call */
    m = parse_str(DEFS_OPEN "<callActivity id=\"c\"><extensionElements>"
                  "<zeebe:calledElement xmlns:zeebe=\"" ZEEBE_NS "\" processId=\"billing\"/>"
                  "</extensionElements></callActivity>" DEFS_CLOSE);
    s = bpmn_summary(m);
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "calls"), 0);
    assert_string_equal(cJSON_GetObjectItem(c, "calledElement")->valuestring, "billing");
    cJSON_Delete(s);
    bpmn_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miwg_counts),
        cmocka_unit_test(test_miwg_roundtrip),
        cmocka_unit_test(test_extensions_survive),
        cmocka_unit_test(test_miwg_validate),
        cmocka_unit_test(test_miwg_render),
        cmocka_unit_test(test_highlight),
        cmocka_unit_test(test_refuse_bad_input),
        cmocka_unit_test(test_prefix_independent),
        cmocka_unit_test(test_validate_problems),
        cmocka_unit_test(test_data_association_edges),
        cmocka_unit_test(test_json_form),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_miwg_di),
        cmocka_unit_test(test_auto_layout),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
