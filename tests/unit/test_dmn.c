/*
 * test_dmn.c — the DMN unit (src/dmn/): XML import and its refusals (DOCTYPE,
 * entities, unknown hit policy, requirement cycles, bad FEEL with the element id),
 * every hit policy through the JSON model, matched-rule traces, BKM invocation and
 * runaway recursion, and JSON ↔ FEEL value conversion. Models as Camunda Modeler writes
 * them: tables without inputData reading context variables, required decisions by name,
 * id, variable and output name, decisions addressed by id, placeholders without logic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dmn/dmn.h"
#include "fm.h"

#define NS "xmlns=\"https://www.omg.org/spec/DMN/20191111/MODEL/\""

static const char *table_xml(const char *hp)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "<definitions " NS " name=\"t\" id=\"defs\">"
             "<inputData id=\"i_age\" name=\"Applicant Age\"><variable name=\"Applicant Age\" typeRef=\"number\"/></inputData>"
             "<decision id=\"d1\" name=\"Risk\"><variable name=\"Risk\"/>"
             "<informationRequirement><requiredInput href=\"#i_age\"/></informationRequirement>"
             "<decisionTable id=\"dt1\" hitPolicy=\"%s\">"
             "<input id=\"in1\"><inputExpression><text>Applicant Age</text></inputExpression></input>"
             "<output id=\"o1\" name=\"r\"/>"
             "<rule id=\"r1\"><inputEntry><text>&lt; 18</text></inputEntry><outputEntry><text>\"minor\"</text></outputEntry></rule>"
             "<rule id=\"r2\"><inputEntry><text>[10..30]</text></inputEntry><outputEntry><text>\"young\"</text></outputEntry></rule>"
             "<rule id=\"r3\"><inputEntry><text>-</text></inputEntry><outputEntry><text>\"any\"</text></outputEntry></rule>"
             "</decisionTable></decision></definitions>", hp);
    return buf;
}

static feel_value_t *run_age(dmn_model_t *m, feel_eval_t *ev, int age, dmn_trace_t *tr)
{
    feel_value_t *in = feel_context(ev);
    feel_ctx_put(ev, in, "Applicant Age", feel_num_int(ev, age));
    return dmn_evaluate(m, ev, "Risk", in, tr);
}

static void test_xml_hit_policies(void **state)
{
    struct { const char *hp; int age; const char *want; } c[] = {
        { "FIRST", 15, "minor" }, { "FIRST", 40, "any" }, { "RULE ORDER", 15, "[\"minor\", \"young\", \"any\"]" },
        { "COLLECT", 25, "[\"young\", \"any\"]" }, { "UNIQUE", 40, "any" }, { "UNIQUE", 15, "null" },
        { "ANY", 15, "null" },
    };
    feel_eval_t *ev = feel_eval_new(NULL);
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        dmn_model_t *m;
        dmn_err_t err;
        const char *x = table_xml(c[i].hp);
        assert_int_equal(dmn_load_xml(x, strlen(x), &m, &err), FM_OK);
        dmn_trace_t tr;
        feel_value_t *v = run_age(m, ev, c[i].age, &tr);
        assert_string_equal(feel_to_string(ev, v), c[i].want);
        if (!strcmp(c[i].hp, "UNIQUE") && c[i].age == 15) {
            assert_int_equal(tr.nwarnings, 1);      /* a violation is reported, not a silent first match */
            assert_non_null(strstr(tr.warnings[0], "UNIQUE"));
            assert_int_equal(tr.nhits, 1);
            assert_int_equal(tr.hits[0].nrules, 3);
            assert_string_equal(tr.hits[0].rules[1], "r2");
        }
        dmn_model_free(m);
        feel_eval_reset(ev);
    }
    feel_eval_free(ev);
}

static void test_xml_refusals(void **state)
{
    dmn_model_t *m = NULL;
    dmn_err_t err;
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
                         "<definitions " NS ">&lol2;</definitions>";
    assert_int_equal(dmn_load_xml(laughs, strlen(laughs), &m, &err), FM_EINVAL);
    assert_true(err.malformed);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
    const char *bad = "<definitions " NS "><decision";
    assert_int_equal(dmn_load_xml(bad, strlen(bad), &m, &err), FM_EINVAL);
    assert_true(err.malformed);
    const char *x = table_xml("SOMETIMES");
    assert_int_equal(dmn_load_xml(x, strlen(x), &m, &err), FM_EINVAL);
    assert_false(err.malformed);
    assert_string_equal(err.element, "dt1");
    assert_non_null(strstr(err.msg, "hit policy"));
    const char *cyc = "<definitions " NS ">"
                      "<decision id=\"a\" name=\"A\"><informationRequirement><requiredDecision href=\"#b\"/></informationRequirement><literalExpression><text>B</text></literalExpression></decision>"
                      "<decision id=\"b\" name=\"B\"><informationRequirement><requiredDecision href=\"#a\"/></informationRequirement><literalExpression><text>A</text></literalExpression></decision>"
                      "</definitions>";
    assert_int_equal(dmn_load_xml(cyc, strlen(cyc), &m, &err), FM_EINVAL);
    assert_non_null(strstr(err.msg, "cycle"));
    const char *feel = "<definitions " NS "><decision id=\"a\" name=\"A\"><literalExpression id=\"le\"><text>1 +</text></literalExpression></decision></definitions>";
    assert_int_equal(dmn_load_xml(feel, strlen(feel), &m, &err), FM_EINVAL);
    assert_string_equal(err.element, "le");
    assert_non_null(strstr(err.msg, "line 1, column"));
    const char *other = "<definitions xmlns=\"urn:other\"/>";
    assert_int_equal(dmn_load_xml(other, strlen(other), &m, &err), FM_EINVAL);
}

static void test_json_model(void **state)
{
    const char *j =
        "{\"name\":\"loans\",\"inputs\":[{\"name\":\"Amount\",\"type\":\"number\"},{\"name\":\"Start\",\"type\":\"date\"}],"
        "\"bkms\":[{\"name\":\"fee of\",\"params\":[\"a\"],\"literal\":\"a * 0.01\"}],"
        "\"decisions\":["
        " {\"name\":\"Fee\",\"requires\":[\"Amount\",\"fee of\"],\"literal\":\"fee of(Amount)\"},"
        " {\"name\":\"Band\",\"requires\":[\"Amount\"],\"table\":{\"hitPolicy\":\"PRIORITY\",\"inputs\":[\"Amount\"],"
        "   \"outputs\":[{\"name\":\"band\",\"values\":\"\\\"high\\\",\\\"low\\\"\"}],"
        "   \"rules\":[{\"id\":\"low\",\"when\":[\">0\"],\"then\":[\"\\\"low\\\"\"]},{\"id\":\"high\",\"when\":[\">1000\"],\"then\":[\"\\\"high\\\"\"]}]}},"
        " {\"name\":\"Total\",\"requires\":[\"Amount\"],\"table\":{\"hitPolicy\":\"COLLECT\",\"aggregation\":\"SUM\",\"inputs\":[\"Amount\"],"
        "   \"outputs\":[\"t\"],\"rules\":[{\"when\":[\">0\"],\"then\":[\"1.1\"]},{\"when\":[\">0\"],\"then\":[\"2.2\"]}]}},"
        " {\"name\":\"Next\",\"requires\":[\"Start\"],\"literal\":\"Start + duration(\\\"P1M\\\")\"}"
        "]}";
    cJSON *doc = cJSON_Parse(j);
    assert_non_null(doc);
    dmn_model_t *m;
    dmn_err_t err;
    assert_int_equal(dmn_load_json(doc, &m, &err), FM_OK);
    feel_eval_t *ev = feel_eval_new(NULL);
    cJSON *in = cJSON_Parse("{\"Amount\": 1500.50, \"Start\": \"2024-01-31\"}");
    feel_value_t *inputs = feel_context(ev);
    cJSON *c;
    cJSON_ArrayForEach(c, in) feel_ctx_put(ev, inputs, c->string, dmn_from_json(ev, c, dmn_input_type(m, c->string)));
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Fee", inputs, NULL)), "15.005");
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Band", inputs, NULL)), "high");
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Total", inputs, NULL)), "3.3");
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Next", inputs, NULL)), "2024-02-29");
    cJSON *out = dmn_to_json(ev, dmn_evaluate(m, ev, NULL, inputs, NULL));
    char *s = cJSON_PrintUnformatted(out);
    assert_non_null(strstr(s, "\"Total\":3.3"));
    cJSON_free(s);
    cJSON_Delete(out);
    cJSON_Delete(in);
    feel_eval_free(ev);
    dmn_model_free(m);
    cJSON_Delete(doc);

    const char *bad[] = {
        "{\"decisions\":[]}",
        "{\"decisions\":[{\"name\":\"A\",\"table\":{\"hitPolicy\":\"MOST\",\"inputs\":[],\"outputs\":[\"x\"],\"rules\":[]}}]}",
        "{\"decisions\":[{\"name\":\"A\",\"requires\":[\"B\"],\"literal\":\"B\"},{\"name\":\"B\",\"requires\":[\"A\"],\"literal\":\"A\"}]}",
        "{\"decisions\":[{\"name\":\"A\",\"requires\":[\"Nope\"],\"literal\":\"1\"}]}",
        "{\"decisions\":[{\"name\":\"A\",\"literal\":\"(1 +\"}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        doc = cJSON_Parse(bad[i]);
        assert_int_equal(dmn_load_json(doc, &m, &err), FM_EINVAL);
        assert_true(err.msg[0] != 0);
        cJSON_Delete(doc);
    }
}

static void test_boxed_expressions(void **state)
{
    const char *x =
        "<definitions " NS " name=\"boxed\">"
        "<inputData id=\"i_a\" name=\"Amount\"><variable name=\"Amount\" typeRef=\"number\"/></inputData>"
        "<businessKnowledgeModel id=\"b_band\" name=\"band of\"><encapsulatedLogic>"
        " <formalParameter name=\"x\"/>"
        " <decisionTable id=\"bt\" hitPolicy=\"FIRST\">"
        "  <input><inputExpression><text>x</text></inputExpression></input><output name=\"b\"/>"
        "  <rule id=\"hi\"><inputEntry><text>&gt; 100</text></inputEntry><outputEntry><text>\"high\"</text></outputEntry></rule>"
        "  <rule id=\"lo\"><inputEntry><text>-</text></inputEntry><outputEntry><text>\"low\"</text></outputEntry></rule>"
        " </decisionTable></encapsulatedLogic></businessKnowledgeModel>"
        "<decision id=\"d_inv\" name=\"Band\">"
        " <informationRequirement><requiredInput href=\"#i_a\"/></informationRequirement>"
        " <knowledgeRequirement><requiredKnowledge href=\"#b_band\"/></knowledgeRequirement>"
        " <invocation><literalExpression><text>band of</text></literalExpression>"
        "  <binding><parameter name=\"x\"/><literalExpression><text>Amount * 2</text></literalExpression></binding>"
        " </invocation></decision>"
        "<decision id=\"d_rel\" name=\"Prices\"><relation>"
        " <column name=\"item\"/><column name=\"price\"/>"
        " <row><literalExpression><text>\"a\"</text></literalExpression><literalExpression><text>1.5</text></literalExpression></row>"
        " <row><literalExpression><text>\"b\"</text></literalExpression><literalExpression><text>2.5</text></literalExpression></row>"
        "</relation></decision>"
        "<decision id=\"d_ctx\" name=\"Total\">"
        " <informationRequirement><requiredDecision href=\"#d_rel\"/></informationRequirement>"
        " <context>"
        "  <contextEntry><variable name=\"prices\"/><list><literalExpression><text>Prices[1].price</text></literalExpression>"
        "   <literalExpression><text>Prices[item = \"b\"].price[1]</text></literalExpression></list></contextEntry>"
        "  <contextEntry><variable name=\"double\"/><functionDefinition><formalParameter name=\"v\"/>"
        "   <literalExpression><text>v * 2</text></literalExpression></functionDefinition></contextEntry>"
        "  <contextEntry><literalExpression><text>double(sum(prices))</text></literalExpression></contextEntry>"
        " </context></decision>"
        "</definitions>";
    dmn_model_t *m;
    dmn_err_t err;
    assert_int_equal(dmn_load_xml(x, strlen(x), &m, &err), FM_OK);
    feel_eval_t *ev = feel_eval_new(NULL);
    feel_value_t *in = feel_context(ev);
    feel_ctx_put(ev, in, "Amount", feel_num_int(ev, 60));
    dmn_trace_t tr;
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Band", in, &tr)), "high");
    assert_int_equal(tr.nhits, 1);              /* the BKM's table, traced under the decision */
    assert_string_equal(tr.hits[0].table, "bt");
    assert_string_equal(tr.hits[0].rules[0], "hi");
    feel_ctx_put(ev, in, "Amount", feel_num_int(ev, 10));
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Band", in, NULL)), "low");
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Prices", in, NULL)),
                        "[{item: \"a\", price: 1.5}, {item: \"b\", price: 2.5}]");
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Total", in, NULL)), "8");
    feel_eval_free(ev);
    dmn_model_free(m);
}

static void test_bkm_recursion_bounded(void **state)
{
    const char *j = "{\"bkms\":[{\"name\":\"loop\",\"params\":[\"n\"],\"requires\":[],\"literal\":\"n\"}],"
                    "\"decisions\":[{\"name\":\"R\",\"literal\":\"{f: function(n) f(n + 1), r: f(0)}.r\"}]}";
    cJSON *doc = cJSON_Parse(j);
    dmn_model_t *m;
    dmn_err_t err;
    assert_int_equal(dmn_load_json(doc, &m, &err), FM_OK);
    feel_eval_t *ev = feel_eval_new(NULL);
    dmn_trace_t tr;
    feel_value_t *v = dmn_evaluate(m, ev, "R", NULL, &tr);
    assert_int_equal(v->t, FEEL_NULL);
    assert_true(tr.nwarnings >= 1);
    assert_non_null(strstr(tr.warnings[0], "nested"));
    feel_eval_free(ev);
    dmn_model_free(m);
    cJSON_Delete(doc);
}

/* ---- Camunda Modeler models (issue 11) ---- */
#define CAMUNDA_HEAD "<definitions " NS " xmlns:camunda=\"http://camunda.org/schema/1.0/dmn\"" \
                     " xmlns:biodi=\"http://bpmn.io/schema/dmn/biodi/2.0\" id=\"Definitions_1\" name=\"DRD\">"

static dmn_model_t *load_ok(const char *x)
{
    dmn_model_t *m = NULL;
    dmn_err_t err;
    int rc = dmn_load_xml(x, strlen(x), &m, &err);
    if (rc != FM_OK)
        fail_msg("load: %s at %s", err.msg, err.element);
    return m;
}

/* Input expressions name variables of the context directly (no inputData); an
 * inputData named "Age" does not hide the variable "age"; a missing variable is null
 * and named in a warning, and a test against null matches only '-'. */
static void test_camunda_table_reads_context_variables(void **state)
{
    const char *x = CAMUNDA_HEAD
        "<inputData id=\"InputData_age\" name=\"Age\"/>"
        "<decision id=\"Decision_discount\" name=\"Discount\" camunda:versionTag=\"1.0\">"
        "<informationRequirement><requiredInput href=\"#InputData_age\"/></informationRequirement>"
        "<decisionTable id=\"DecisionTable_1\" hitPolicy=\"FIRST\">"
        "<input id=\"Input_1\" label=\"Order size\" biodi:width=\"150\"><inputExpression typeRef=\"number\"><text>orderSize</text></inputExpression></input>"
        "<input id=\"Input_2\" label=\"Age\"><inputExpression typeRef=\"number\"><text>age</text></inputExpression></input>"
        "<output id=\"Output_1\" name=\"discount\" typeRef=\"number\"/>"
        "<rule id=\"Rule_big\"><inputEntry><text>&gt;= 10</text></inputEntry><inputEntry><text>&gt;= 18</text></inputEntry><outputEntry><text>0.15</text></outputEntry></rule>"
        "<rule id=\"Rule_small\"><inputEntry><text>&lt; 10</text></inputEntry><inputEntry><text></text></inputEntry><outputEntry><text>0.05</text></outputEntry></rule>"
        "<rule id=\"Rule_else\"><inputEntry><text>-</text></inputEntry><inputEntry><text>-</text></inputEntry><outputEntry><text>0</text></outputEntry></rule>"
        "</decisionTable></decision></definitions>";
    dmn_model_t *m = load_ok(x);
    assert_string_equal(dmn_decision_id(m, 0), "Decision_discount");
    assert_string_equal(dmn_decision_version_tag(m, 0), "1.0");
    assert_string_equal(dmn_find_decision(m, "Decision_discount"), "Discount");
    assert_null(dmn_find_decision(m, "nope"));
    feel_eval_t *ev = feel_eval_new(NULL);
    dmn_trace_t tr;
    feel_value_t *in = feel_context(ev);
    feel_ctx_put(ev, in, "orderSize", feel_num_int(ev, 15));
    feel_ctx_put(ev, in, "age", feel_num_int(ev, 30));
    /* by id as well as by name */
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Decision_discount", in, &tr)), "0.15");
    assert_int_equal(tr.nwarnings, 0);
    assert_string_equal(tr.hits[0].rules[0], "Rule_big");
    feel_eval_reset(ev);
    /* orderSize missing: null; '< 10' and '>= 10' do not match null, '-' does */
    in = feel_context(ev);
    feel_ctx_put(ev, in, "age", feel_num_int(ev, 30));
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Discount", in, &tr)), "0");
    assert_int_equal(tr.nwarnings, 1);
    assert_string_equal(tr.warnings[0], "DecisionTable_1: unknown name 'orderSize' (line 1, column 1)");
    assert_string_equal(tr.hits[0].rules[0], "Rule_else");
    feel_eval_reset(ev);
    feel_eval_free(ev);
    dmn_model_free(m);
}

/* A required decision is visible by its name, its variable's name, its id and (single
 * output) its output name; a requirement's own name wins over another's alias, and
 * requirements shadow inputs of the same name. */
static void test_required_decision_aliases(void **state)
{
    const char *x = CAMUNDA_HEAD
        "<decision id=\"Decision_base\" name=\"Base Rate\">"
        "<decisionTable id=\"DecisionTable_base\"><input id=\"I1\"><inputExpression><text>amount</text></inputExpression></input>"
        "<output id=\"O1\" name=\"rate\" typeRef=\"number\"/>"
        "<rule id=\"R1\"><inputEntry><text>-</text></inputEntry><outputEntry><text>2</text></outputEntry></rule>"
        "</decisionTable></decision>"
        "<decision id=\"Decision_fee\" name=\"Fee\"><variable id=\"V_fee\" name=\"feeValue\" typeRef=\"number\"/>"
        "<literalExpression><text>amount * 0.1</text></literalExpression></decision>"
        "<decision id=\"Decision_total\" name=\"Total\">"
        "<informationRequirement><requiredDecision href=\"#Decision_base\"/></informationRequirement>"
        "<informationRequirement><requiredDecision href=\"#Decision_fee\"/></informationRequirement>"
        "<literalExpression><text>[Base Rate, rate, Decision_base, Fee, feeValue, Decision_fee]</text></literalExpression>"
        "</decision></definitions>";
    dmn_model_t *m = load_ok(x);
    feel_eval_t *ev = feel_eval_new(NULL);
    dmn_trace_t tr;
    feel_value_t *in = feel_context(ev);
    feel_ctx_put(ev, in, "amount", feel_num_int(ev, 50));
    feel_ctx_put(ev, in, "rate", feel_num_int(ev, 99));     /* shadowed by the output name */
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Total", in, &tr)), "[2, 2, 2, 5, 5, 5]");
    assert_int_equal(tr.nwarnings, 0);
    feel_eval_free(ev);
    dmn_model_free(m);
}

/* Placeholders (a BKM without encapsulatedLogic, a decision without logic) import with
 * warnings; only what needs them evaluates to null, with a warning. */
static void test_placeholders_without_logic(void **state)
{
    const char *x = CAMUNDA_HEAD
        "<businessKnowledgeModel id=\"BKM_todo\" name=\"Todo Rule\"/>"
        "<decision id=\"Decision_todo\" name=\"Later\"/>"
        "<decision id=\"Decision_ok\" name=\"Ok\">"
        "<knowledgeRequirement><requiredKnowledge href=\"#BKM_todo\"/></knowledgeRequirement>"
        "<literalExpression><text>\"fine\"</text></literalExpression></decision>"
        "<decision id=\"Decision_call\" name=\"Call\">"
        "<knowledgeRequirement><requiredKnowledge href=\"#BKM_todo\"/></knowledgeRequirement>"
        "<literalExpression><text>Todo Rule(1, 2)</text></literalExpression></decision>"
        "<decision id=\"Decision_needs\" name=\"Needs\">"
        "<informationRequirement><requiredDecision href=\"#Decision_todo\"/></informationRequirement>"
        "<literalExpression><text>Later</text></literalExpression></decision>"
        "</definitions>";
    dmn_model_t *m = load_ok(x);
    assert_int_equal(dmn_model_warning_count(m), 2);
    assert_string_equal(dmn_model_warning(m, 0),
                        "business knowledge model 'Todo Rule' (BKM_todo) has no logic: invoking it gives null");
    assert_string_equal(dmn_model_warning(m, 1),
                        "decision 'Later' (Decision_todo) has no decision logic: evaluating it gives null");
    feel_eval_t *ev = feel_eval_new(NULL);
    dmn_trace_t tr;
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Ok", NULL, &tr)), "fine");
    assert_int_equal(tr.nwarnings, 0);
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Call", NULL, &tr)), "null");
    assert_int_equal(tr.nwarnings, 1);
    assert_string_equal(tr.warnings[0], "'Todo Rule' has no logic yet: invoking it gives null");
    assert_string_equal(feel_to_string(ev, dmn_evaluate(m, ev, "Needs", NULL, &tr)), "null");
    assert_int_equal(tr.nwarnings, 1);
    assert_string_equal(tr.warnings[0], "decision 'Later' has no decision logic yet: its value is null");
    feel_eval_free(ev);
    dmn_model_free(m);
}

/* Every input is in every decision's scope; when that does not fit the arena, the
 * decision is null with a warning — never evaluated with part of its scope missing
 * (which would read a present variable as null). */
static void test_scope_over_the_arena_cap_is_null(void **state)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *decs = cJSON_AddArrayToObject(doc, "decisions");
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d%d", i);
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", name);
        cJSON_AddStringToObject(d, "literal", "if orderSize = null then \"missing\" else \"ok\"");
        cJSON_AddItemToArray(decs, d);
    }
    dmn_model_t *m;
    dmn_err_t err;
    assert_int_equal(dmn_load_json(doc, &m, &err), FM_OK);
    cJSON_Delete(doc);
    feel_limits_t lim = { 5000000, 512 * 1024, 256, 1000000 };
    feel_eval_t *ev = feel_eval_new(&lim);
    feel_value_t *in = feel_context(ev);
    for (int i = 0; i < 2000; i++) {   /* ~32 KiB of scope per decision */
        char k[16];
        snprintf(k, sizeof(k), "v%d", i);
        feel_ctx_put(ev, in, k, feel_num_int(ev, i));
    }
    feel_ctx_put(ev, in, "orderSize", feel_num_int(ev, 3));
    dmn_trace_t tr;
    feel_value_t *all = dmn_evaluate(m, ev, NULL, in, &tr);
    size_t ok = 0, nulls = 0;
    assert_int_equal(all->u.ctx.n, 40);     /* no decision silently missing from the answer */
    for (size_t i = 0; i < all->u.ctx.n; i++) {
        const feel_value_t *v = all->u.ctx.vals[i];   /* (no arena left to print it) */
        if (v->t != FEEL_NULL)
            assert_true(v->t == FEEL_STR && v->u.str.len == 2 && !memcmp(v->u.str.s, "ok", 2));
        ok += all->u.ctx.vals[i]->t != FEEL_NULL;
        nulls += all->u.ctx.vals[i]->t == FEEL_NULL;
    }
    assert_true(ok > 0 && nulls > 0);
    assert_true(tr.nwarnings > 0);
    assert_non_null(strstr(tr.warnings[0], "evaluation memory limit reached"));
    feel_eval_free(ev);
    dmn_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_hit_policies),
        cmocka_unit_test(test_xml_refusals),
        cmocka_unit_test(test_json_model),
        cmocka_unit_test(test_boxed_expressions),
        cmocka_unit_test(test_bkm_recursion_bounded),
        cmocka_unit_test(test_camunda_table_reads_context_variables),
        cmocka_unit_test(test_required_decision_aliases),
        cmocka_unit_test(test_placeholders_without_logic),
        cmocka_unit_test(test_scope_over_the_arena_cap_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
