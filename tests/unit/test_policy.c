/* test_policy.c — permissions (src/auth/auth_policy.c): grant matching with wildcards,
 * the built-in roles, fm_authz_static's ALLOW / IF / DENY, ABAC conditions evaluated
 * against a principal and a resource, the condition syntax check, and argon2id. */
#include "fm_test.h"

#include "auth/fm_auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int group_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

/* A principal as tokens carry it: sub u-1, tenant acme, these roles and grants
 * (NULL-terminated lists). */
static void principal(fm_principal_t *p, const char *sub, const char *const *roles, const char *const *grants)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "sub", sub);
    cJSON_AddStringToObject(c, "tenant", "acme");
    cJSON_AddStringToObject(c, "email", "u@acme.test");
    cJSON *r = cJSON_AddArrayToObject(c, "roles");
    for (; roles && *roles; roles++)
        cJSON_AddItemToArray(r, cJSON_CreateString(*roles));
    cJSON *g = cJSON_AddArrayToObject(c, "perms");
    for (; grants && *grants; grants++)
        cJSON_AddItemToArray(g, cJSON_CreateString(*grants));
    assert_int_equal(fm_principal_from_claims(c, p), FM_OK);
    cJSON_Delete(c);
}

/* A principal holding exactly the grants of a built-in role. */
static void role_principal(fm_principal_t *p, const char *role)
{
    const char *const *g = fm_role_builtin(role);
    assert_non_null(g);
    const char *roles[] = { role, NULL };
    principal(p, "u-1", roles, g);
}

static void test_grant_matching(void **state)
{
    (void)state;
    struct { const char *grant, *perm; bool covers; } cases[] = {
        { "process:read", "process:read", true },
        { "process:read", "process:write", false },
        { "process:read", "processes:read", false },
        { "process:read", "proc:read", false },
        { "process:read", "process:readall", false },
        { "process:read", "process:rea", false },
        { "process:*", "process:read", true },
        { "process:*", "process:write", true },
        { "process:*", "task:read", false },
        { "process:*", "processx:read", false },
        { "*:read", "process:read", true },
        { "*:read", "task:read", true },
        { "*:read", "task:write", false },
        { "*:read", "task:reader", false },
        { "*", "auth:admin", true },
        { "*", "anything:at-all", true },
        { "*:*", "a:b", true },
        { "task:work|resource.assignee == user.sub", "task:work", true },   /* condition ignored here */
        { "task:work|x", "task:read", false },
        { "pro*:read", "process:read", false },     /* no partial wildcards */
        { "process", "process:read", false },        /* not area:action */
        { "process:read", "process", false },
        { "", "process:read", false },
        { ":", "process:read", false },
        { "PROCESS:READ", "process:read", false },  /* case matters */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (fm_grant_covers(cases[i].grant, cases[i].perm) != cases[i].covers)
            fail_msg("grant '%s' %s '%s'", cases[i].grant, cases[i].covers ? "should cover" : "must not cover",
                     cases[i].perm);
}

static void test_builtin_roles(void **state)
{
    (void)state;
    fm_principal_t p;
    role_principal(&p, "viewer");
    assert_int_equal(fm_authz_static(&p, "process:read"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "task:read"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "process:write"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "task:work"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "auth:admin"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "execution:start"), FM_AUTHZ_DENY);

    role_principal(&p, "admin");
    static const char *const all[] = { "process:read", "process:write", "auth:admin", "auth:read",
                                       "task:work", "metrics:read", "anything:else" };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        assert_int_equal(fm_authz_static(&p, all[i]), FM_AUTHZ_ALLOW);

    role_principal(&p, "service");
    assert_int_equal(fm_authz_static(&p, "auth:admin"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "auth:read"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "process:write"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "execution:start"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "task:work"), FM_AUTHZ_ALLOW);

    role_principal(&p, "designer");
    assert_int_equal(fm_authz_static(&p, "process:write"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "execution:start"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "auth:admin"), FM_AUTHZ_DENY);

    role_principal(&p, "operator");
    assert_int_equal(fm_authz_static(&p, "execution:start"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "process:read"), FM_AUTHZ_ALLOW);
    assert_int_equal(fm_authz_static(&p, "process:write"), FM_AUTHZ_DENY);
    assert_int_equal(fm_authz_static(&p, "auth:admin"), FM_AUTHZ_DENY);

    /* participant: may read and work tasks only under conditions (assigned or offered) */
    role_principal(&p, "participant");
    assert_int_equal(fm_authz_static(&p, "task:work"), FM_AUTHZ_IF);
    assert_int_equal(fm_authz_static(&p, "task:read"), FM_AUTHZ_IF);
    assert_int_equal(fm_authz_static(&p, "process:write"), FM_AUTHZ_DENY);

    /* no role at all: nothing */
    principal(&p, "u-1", NULL, NULL);
    assert_int_equal(p.nperms, 0);
    assert_int_equal(fm_authz_static(&p, "process:read"), FM_AUTHZ_DENY);
    assert_false(fm_authz(&p, "process:read", NULL));

    assert_null(fm_role_builtin("root"));
    assert_null(fm_role_builtin("Admin"));
    assert_null(fm_role_builtin(""));
}

static void test_authz_static(void **state)
{
    (void)state;
    fm_principal_t p;
    /* conditional alone: IF; plus an unconditional one (in any order): ALLOW */
    const char *cond_only[] = { "task:work|resource.assignee == user.sub", NULL };
    principal(&p, "u-1", NULL, cond_only);
    assert_int_equal(fm_authz_static(&p, "task:work"), FM_AUTHZ_IF);
    assert_int_equal(fm_authz_static(&p, "task:read"), FM_AUTHZ_DENY);
    const char *both[] = { "task:work|resource.assignee == user.sub", "task:*", NULL };
    principal(&p, "u-1", NULL, both);
    assert_int_equal(fm_authz_static(&p, "task:work"), FM_AUTHZ_ALLOW);
    const char *both_rev[] = { "task:*", "task:work|resource.assignee == user.sub", NULL };
    principal(&p, "u-1", NULL, both_rev);
    assert_int_equal(fm_authz_static(&p, "task:work"), FM_AUTHZ_ALLOW);
    /* a conditional wildcard is still only IF */
    const char *cond_wild[] = { "*|resource.owner == user.sub", NULL };
    principal(&p, "u-1", NULL, cond_wild);
    assert_int_equal(fm_authz_static(&p, "auth:admin"), FM_AUTHZ_IF);
}

/* fm_authz on a resource given as JSON text. */
static bool authz_on(const fm_principal_t *p, const char *perm, const char *resource_json)
{
    cJSON *res = resource_json ? cJSON_Parse(resource_json) : NULL;
    if (resource_json && !res)
        fail_msg("bad fixture JSON: %s", resource_json);
    bool ok = fm_authz(p, perm, res);
    cJSON_Delete(res);
    return ok;
}

static void test_abac_assignee(void **state)
{
    (void)state;
    fm_principal_t p;
    const char *g[] = { "task:work|resource.assignee == user.sub", NULL };
    principal(&p, "u-1", NULL, g);
    assert_true(authz_on(&p, "task:work", "{\"assignee\":\"u-1\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":\"u-2\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":\"u-10\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":\"\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":null}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":[\"u-1\"]}"));
    assert_false(authz_on(&p, "task:work", "{\"owner\":\"u-1\"}"));          /* missing attribute */
    assert_false(authz_on(&p, "task:work", "{}"));
    assert_false(authz_on(&p, "task:work", NULL));                          /* no resource */
    assert_false(authz_on(&p, "task:read", "{\"assignee\":\"u-1\"}"));      /* other permission */
    /* != */
    const char *ne[] = { "doc:edit|resource.lockedBy != user.sub", NULL };
    principal(&p, "u-1", NULL, ne);
    assert_true(authz_on(&p, "doc:edit", "{\"lockedBy\":\"u-2\"}"));
    assert_false(authz_on(&p, "doc:edit", "{\"lockedBy\":\"u-1\"}"));
    assert_false(authz_on(&p, "doc:edit", "{}"));                           /* missing → false, even for != */
    /* user.tenant, user.email */
    const char *t[] = { "doc:read|resource.tenant == user.tenant && resource.author == user.email", NULL };
    principal(&p, "u-1", NULL, t);
    assert_true(authz_on(&p, "doc:read", "{\"tenant\":\"acme\",\"author\":\"u@acme.test\"}"));
    assert_false(authz_on(&p, "doc:read", "{\"tenant\":\"other\",\"author\":\"u@acme.test\"}"));
}

static void test_abac_lists(void **state)
{
    (void)state;
    fm_principal_t p;
    const char *roles[] = { "clerk", "approver", NULL };
    const char *g[] = { "task:work|user.sub in resource.candidateUsers",
                        "task:work|resource.candidateGroups in user.roles", NULL };
    principal(&p, "u-1", roles, g);
    /* the user is a candidate */
    assert_true(authz_on(&p, "task:work", "{\"candidateUsers\":[\"u-9\",\"u-1\"]}"));
    assert_false(authz_on(&p, "task:work", "{\"candidateUsers\":[\"u-9\",\"u-10\"]}"));
    assert_false(authz_on(&p, "task:work", "{\"candidateUsers\":[]}"));
    assert_false(authz_on(&p, "task:work", "{\"candidateUsers\":\"u-1\"}"));     /* not a list */
    /* list in list: any of the task's groups among the user's roles */
    assert_true(authz_on(&p, "task:work", "{\"candidateGroups\":[\"managers\",\"approver\"]}"));
    assert_false(authz_on(&p, "task:work", "{\"candidateGroups\":[\"managers\",\"auditors\"]}"));
    assert_false(authz_on(&p, "task:work", "{\"candidateGroups\":[]}"));
    /* a single value in the user's roles */
    const char *one[] = { "report:read|resource.audience in user.roles", NULL };
    principal(&p, "u-1", roles, one);
    assert_true(authz_on(&p, "report:read", "{\"audience\":\"clerk\"}"));
    assert_false(authz_on(&p, "report:read", "{\"audience\":\"boss\"}"));
    /* numbers compare as numbers */
    const char *num[] = { "x:y|resource.level in resource.allowed", NULL };
    principal(&p, "u-1", roles, num);
    assert_true(authz_on(&p, "x:y", "{\"level\":2,\"allowed\":[1,2,3]}"));
    assert_false(authz_on(&p, "x:y", "{\"level\":\"2\",\"allowed\":[1,2,3]}"));
}

/* user.groups: the token's claim "groups" (issue 12: Camunda candidate groups). */
static void test_abac_groups(void **state)
{
    (void)state;
    fm_principal_t p;
    cJSON *c = cJSON_Parse("{\"sub\":\"u-1\",\"tenant\":\"acme\",\"roles\":[\"participant\"],"
                           "\"groups\":[\"finance\",\"audit\"]}");
    assert_int_equal(fm_principal_from_claims(c, &p), FM_OK);
    cJSON_Delete(c);
    assert_int_equal(p.ngroups, 2);
    assert_true(authz_on(&p, "task:read", "{\"candidateGroups\":[\"finance\"]}"));
    assert_true(authz_on(&p, "task:work", "{\"candidateGroups\":[\"hr\",\"audit\"]}"));
    assert_false(authz_on(&p, "task:read", "{\"candidateGroups\":[\"hr\"]}"));
    assert_false(authz_on(&p, "task:read", "{\"candidateGroups\":[],\"candidateUsers\":[\"u-2\"]}"));
    assert_true(authz_on(&p, "task:read", "{\"candidateUsers\":[\"u-1\"]}"));
    assert_true(authz_on(&p, "task:read", "{\"assignee\":\"u-1\"}"));
    assert_true(fm_condition_valid("resource.candidateGroups in user.groups"));
    /* without the claim: no groups */
    role_principal(&p, "participant");
    assert_int_equal(p.ngroups, 0);
    assert_false(authz_on(&p, "task:read", "{\"candidateGroups\":[\"finance\"]}"));
    /* more groups than a principal holds: the token is refused */
    c = cJSON_Parse("{\"sub\":\"u-1\",\"tenant\":\"acme\",\"roles\":[]}");
    cJSON *g = cJSON_AddArrayToObject(c, "groups");
    char name[80];
    for (int i = 0; i < FM_GROUPS_MAX + 1; i++) {
        snprintf(name, sizeof(name), "group-%02d-%s", i, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz012345");
        cJSON_AddItemToArray(g, cJSON_CreateString(name));
    }
    assert_int_equal(fm_principal_from_claims(c, &p), FM_EINVAL);
    cJSON_Delete(c);
}

static void test_abac_and_quotes(void **state)
{
    (void)state;
    fm_principal_t p;
    const char *g[] = { "task:work|resource.assignee == user.sub && resource.state == 'open'", NULL };
    principal(&p, "u-1", NULL, g);
    assert_true(authz_on(&p, "task:work", "{\"assignee\":\"u-1\",\"state\":\"open\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":\"u-1\",\"state\":\"closed\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":\"u-2\",\"state\":\"open\"}"));
    assert_false(authz_on(&p, "task:work", "{\"assignee\":\"u-1\"}"));        /* second side missing */
    /* quoted strings with spaces and operators inside */
    const char *q[] = { "x:y|resource.label == 'a && b == c'", NULL };
    principal(&p, "u-1", NULL, q);
    assert_true(authz_on(&p, "x:y", "{\"label\":\"a && b == c\"}"));
    assert_false(authz_on(&p, "x:y", "{\"label\":\"a\"}"));
    /* three clauses, extra whitespace */
    const char *three[] = { "x:y|  resource.a == 'A'&&resource.b != 'B' &&   user.sub in resource.c  ", NULL };
    principal(&p, "u-1", NULL, three);
    assert_true(authz_on(&p, "x:y", "{\"a\":\"A\",\"b\":\"C\",\"c\":[\"u-1\"]}"));
    assert_false(authz_on(&p, "x:y", "{\"a\":\"A\",\"b\":\"B\",\"c\":[\"u-1\"]}"));
    assert_false(authz_on(&p, "x:y", "{\"a\":\"A\",\"b\":\"C\",\"c\":[\"u-2\"]}"));
    /* a condition that does not parse never grants */
    const char *broken[] = { "x:y|resource.a = 'A'", NULL };
    principal(&p, "u-1", NULL, broken);
    assert_false(authz_on(&p, "x:y", "{\"a\":\"A\"}"));
    /* one good grant among failing ones is enough */
    const char *mixed[] = { "x:y|resource.a == 'no'", "x:y|resource.a == 'A'", NULL };
    principal(&p, "u-1", NULL, mixed);
    assert_true(authz_on(&p, "x:y", "{\"a\":\"A\"}"));
    /* unconditional grant: any resource, even none */
    const char *plain[] = { "x:*", NULL };
    principal(&p, "u-1", NULL, plain);
    assert_true(authz_on(&p, "x:y", NULL));
}

static void test_condition_syntax(void **state)
{
    (void)state;
    static const char *const good[] = {
        "resource.assignee == user.sub",
        "user.sub in resource.candidateUsers",
        "resource.candidateGroups in user.roles",
        "resource.a != 'x'",
        "resource.a == 'x' && resource.b == user.email && resource.c != user.tenant",
        "'fixed' == resource.kind",
        "resource.nested_name_1 == user.service",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!fm_condition_valid(good[i]))
            fail_msg("valid condition rejected: %s", good[i]);
    static const char *const bad[] = {
        "",
        "resource.a",
        "resource.a ==",
        "== user.sub",
        "resource.a = user.sub",
        "resource.a === user.sub",
        "resource.a == user.sub &&",
        "resource.a == user.sub || resource.b == user.sub",
        "resource.a == user.sub & resource.b == user.sub",
        "resource.a == user.password",          /* unknown user attribute */
        "resource.a == system.sub",             /* unknown root */
        "resource.a == sub",
        "resource.a == 'unterminated",
        "resource.a == user.sub)",
        "(resource.a == user.sub)",
        "resource.a < user.sub",
        "resource.a in",
        "resource.a == user.sub extra",
        "resource.a == f(user.sub)",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fm_condition_valid(bad[i]))
            fail_msg("invalid condition accepted: '%s'", bad[i]);
}

static void test_password_hash(void **state)
{
    (void)state;
    char h1[FM_PASSWORD_HASH_MAX], h2[FM_PASSWORD_HASH_MAX];
    assert_int_equal(fm_password_hash("correct horse battery staple", h1), FM_OK);
    assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
    assert_null(strstr(h1, "correct horse"));
    assert_true(fm_password_verify(h1, "correct horse battery staple"));
    assert_false(fm_password_verify(h1, "correct horse battery stapler"));
    assert_false(fm_password_verify(h1, "Correct horse battery staple"));
    assert_false(fm_password_verify(h1, ""));
    assert_false(fm_password_verify(NULL, "correct horse battery staple"));
    assert_false(fm_password_verify("not a hash", "x"));
    /* salted: the same password hashes differently, and each verifies */
    assert_int_equal(fm_password_hash("correct horse battery staple", h2), FM_OK);
    assert_string_not_equal(h1, h2);
    assert_true(fm_password_verify(h2, "correct horse battery staple"));
    /* non-ASCII and long passwords */
    assert_int_equal(fm_password_hash("pässwörd-\xe2\x9c\x93-0123456789", h2), FM_OK);
    assert_true(fm_password_verify(h2, "pässwörd-\xe2\x9c\x93-0123456789"));
    assert_false(fm_password_verify(h2, "passwort-\xe2\x9c\x93-0123456789"));
    /* a tampered hash does not verify */
    size_t n = strlen(h1);
    h1[n - 2] = h1[n - 2] == 'A' ? 'B' : 'A';
    assert_false(fm_password_verify(h1, "correct horse battery staple"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_matching),
        cmocka_unit_test(test_builtin_roles),
        cmocka_unit_test(test_authz_static),
        cmocka_unit_test(test_abac_assignee),
        cmocka_unit_test(test_abac_lists),
        cmocka_unit_test(test_abac_groups),
        cmocka_unit_test(test_abac_and_quotes),
        cmocka_unit_test(test_condition_syntax),
        cmocka_unit_test(test_password_hash),
    };
    return cmocka_run_group_tests_name("policy", tests, group_setup, NULL);
}
