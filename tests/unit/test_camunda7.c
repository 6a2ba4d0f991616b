/*
 * test_camunda7.c — Camunda 7 models in the engine's compiler (exec_camunda7.c): the
 * node fields a camunda:-attributed model compiles into, the refusals at compile time
 * (what a start answers 422 with), and camunda:mapDecisionResult over every shape of
 * decision value (one rule, several, none; one output, several).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "modules/execution/exec_int.h"

#define DEFS_OPEN "<?xml version=\"1.0\"?><bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" " \
                  "xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\" id=\"d\" targetNamespace=\"t\">" \
                  "<bpmn:process id=\"p\" isExecutable=\"true\"><bpmn:startEvent id=\"s\"/>"
#define DEFS_CLOSE "<bpmn:endEvent id=\"e\"/></bpmn:process></bpmn:definitions>"

static ex_def_t *compile(const char *body, const char *flows, char *err, size_t errlen)
{
    char xml[8192];
    snprintf(xml, sizeof(xml), "%s%s%s%s", DEFS_OPEN, body, flows, DEFS_CLOSE);
    return ex_def_compile(xml, strlen(xml), NULL, err, errlen);
}

static const ex_node_t *node(const ex_def_t *d, const char *id)
{
    int i = ex_node_find(d, id);
    assert_true(i >= 0);
    return &d->nodes[i];
}

static void test_nodes_of_a_c7_model(void **state)
{
    (void)state;
    char err[400];
    ex_def_t *d = compile(
        "<bpmn:userTask id=\"u\" camunda:assignee=\"demo\" camunda:candidateGroups=\"${groups}\"/>"
        "<bpmn:serviceTask id=\"x\" camunda:type=\"external\" camunda:topic=\"pay\"/>"
        "<bpmn:serviceTask id=\"c\" camunda:class=\"a.B\"/>"
        "<bpmn:businessRuleTask id=\"r\" camunda:decisionRef=\"approve\" camunda:resultVariable=\"v\" "
        "camunda:mapDecisionResult=\"collectEntries\"/>"
        "<bpmn:task id=\"t\"><bpmn:extensionElements><camunda:inputOutput>"
        "<camunda:inputParameter name=\"a\">text</camunda:inputParameter>"
        "<camunda:outputParameter name=\"b\">${a}</camunda:outputParameter>"
        "</camunda:inputOutput></bpmn:extensionElements></bpmn:task>",
        "<bpmn:sequenceFlow id=\"f1\" sourceRef=\"s\" targetRef=\"u\"/>"
        "<bpmn:sequenceFlow id=\"f2\" sourceRef=\"u\" targetRef=\"x\"/>"
        "<bpmn:sequenceFlow id=\"f3\" sourceRef=\"x\" targetRef=\"c\"/>"
        "<bpmn:sequenceFlow id=\"f4\" sourceRef=\"c\" targetRef=\"r\"/>"
        "<bpmn:sequenceFlow id=\"f5\" sourceRef=\"r\" targetRef=\"t\"/>"
        "<bpmn:sequenceFlow id=\"f6\" sourceRef=\"t\" targetRef=\"e\">"
        "<bpmn:conditionExpression>${a != null}</bpmn:conditionExpression></bpmn:sequenceFlow>",
        err, sizeof(err));
    if (!d)
        fail_msg("%s", err);
    const ex_node_t *u = node(d, "u");
    assert_string_equal(u->assignee.text, "demo");
    assert_non_null(u->cand_groups.feel);
    assert_null(u->cand_groups.text);
    assert_string_equal(node(d, "x")->job_type, "pay");
    assert_int_equal(node(d, "x")->retries, 3);
    assert_int_equal(node(d, "x")->kind, N_JOB);
    assert_string_equal(node(d, "c")->job_type, "a.B");
    const ex_node_t *r = node(d, "r");
    assert_string_equal(r->decision, "approve");
    assert_string_equal(r->result_var, "v");
    assert_int_equal(r->dec_map, EX_C7_COLLECT_ENTRIES);
    const ex_node_t *t = node(d, "t");
    assert_int_equal(t->nins, 1);
    assert_int_equal(t->nouts, 1);
    assert_string_equal(t->ins[0].target, "a");
    assert_string_equal(t->outs[0].target, "b");
    assert_true(t->has_ins && t->has_outs);
    assert_non_null(d->flows[d->nflows - 1].cond);
    ex_def_free(d);
}

typedef struct { const char *body, *flows, *why; } refusal_t;

static const refusal_t refusals[] = {
    { "<bpmn:serviceTask id=\"x\" camunda:type=\"external\"/>", "", "external task 'x' has no camunda:topic" },
    { "<bpmn:serviceTask id=\"x\" camunda:type=\"mail\"/>", "",
      "serviceTask 'x': camunda:type 'mail' is not supported (only \"external\")" },
    { "<bpmn:businessRuleTask id=\"r\" camunda:decisionRef=\"d\" camunda:mapDecisionResult=\"first\"/>", "",
      "businessRuleTask 'r': camunda:mapDecisionResult 'first' is not one of singleEntry, singleResult, "
      "collectEntries, resultList" },
    { "<bpmn:businessRuleTask id=\"r\" camunda:decisionRef=\"${which}\"/>", "",
      "businessRuleTask 'r': a camunda:decisionRef given by an expression is not supported (name the decision id)" },
    { "<bpmn:userTask id=\"u\" camunda:assignee=\"${users.first()}\"/>", "",
      "camunda:assignee of 'u': JUEL cannot be translated to FEEL: method call 'users.first(…)'" },
    { "<bpmn:task id=\"t\"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name=\"a\">"
      "<camunda:script scriptFormat=\"groovy\">1</camunda:script></camunda:inputParameter></camunda:inputOutput>"
      "</bpmn:extensionElements></bpmn:task>", "",
      "camunda:inputParameter of 't': camunda:script values are not supported (no script engine)" },
    { "", "<bpmn:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"e\"><bpmn:conditionExpression "
          "language=\"groovy\">x</bpmn:conditionExpression></bpmn:sequenceFlow>",
      "'f': a groovy script condition is not supported (JUEL or FEEL only)" },
    { "", "<bpmn:sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"e\"><bpmn:conditionExpression>"
          "${execution.getVariable('x')}</bpmn:conditionExpression></bpmn:sequenceFlow>",
      "condition of 'f': JUEL cannot be translated to FEEL: 'execution' (the Camunda 7 execution object)" },
};

static void test_refusals(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        char err[400];
        ex_def_t *d = compile(refusals[i].body, refusals[i].flows, err, sizeof(err));
        if (d || strcmp(err, refusals[i].why)) {
            printf("FAIL %zu\n  want %s\n  got  %s\n", i, refusals[i].why, d ? "(compiled)" : err);
            bad++;
        }
        ex_def_free(d);
    }
    assert_int_equal(bad, 0);
}

typedef struct { int mode; const char *value, *want; } map_t;   /* want NULL: refused */

static const map_t maps[] = {
    { EX_C7_SINGLE_ENTRY, "\"high\"", "\"high\"" },
    { EX_C7_SINGLE_ENTRY, "{\"band\":\"high\"}", "\"high\"" },
    { EX_C7_SINGLE_ENTRY, "[\"high\"]", "\"high\"" },
    { EX_C7_SINGLE_ENTRY, "null", "null" },
    { EX_C7_SINGLE_ENTRY, "[]", "null" },
    { EX_C7_SINGLE_ENTRY, "[\"a\",\"b\"]", NULL },
    { EX_C7_SINGLE_ENTRY, "{\"a\":1,\"b\":2}", NULL },
    { EX_C7_SINGLE_RESULT, "{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":2}" },
    { EX_C7_SINGLE_RESULT, "[{\"a\":1,\"b\":2}]", "{\"a\":1,\"b\":2}" },
    { EX_C7_SINGLE_RESULT, "null", "null" },
    { EX_C7_SINGLE_RESULT, "\"high\"", NULL },
    { EX_C7_SINGLE_RESULT, "[{\"a\":1},{\"a\":2}]", NULL },
    { EX_C7_COLLECT_ENTRIES, "[\"a\",\"b\"]", "[\"a\",\"b\"]" },
    { EX_C7_COLLECT_ENTRIES, "\"a\"", "[\"a\"]" },
    { EX_C7_COLLECT_ENTRIES, "[{\"x\":1},{\"x\":2}]", "[1,2]" },
    { EX_C7_COLLECT_ENTRIES, "null", "[]" },
    { EX_C7_COLLECT_ENTRIES, "[{\"x\":1,\"y\":2}]", NULL },
    { EX_C7_RESULT_LIST, "[{\"x\":1,\"y\":2}]", "[{\"x\":1,\"y\":2}]" },
    { EX_C7_RESULT_LIST, "{\"x\":1,\"y\":2}", "[{\"x\":1,\"y\":2}]" },
    { EX_C7_RESULT_LIST, "null", "[]" },
    { EX_C7_RESULT_LIST, "7", NULL },
};

static void test_map_decision_result(void **state)
{
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        cJSON *v = cJSON_Parse(maps[i].value);
        char why[300] = "";
        cJSON *got = ex_c7_decision_result(maps[i].mode, v, why, sizeof(why));
        char *text = got ? cJSON_PrintUnformatted(got) : NULL;
        if (maps[i].want ? !text || strcmp(text, maps[i].want) : got != NULL || !why[0]) {
            printf("FAIL mode %d on %s\n  want %s\n  got  %s\n", maps[i].mode, maps[i].value,
                   maps[i].want ? maps[i].want : "(refused)", text ? text : why);
            bad++;
        }
        cJSON_free(text);
        cJSON_Delete(got);
        cJSON_Delete(v);
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes_of_a_c7_model),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_map_decision_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
