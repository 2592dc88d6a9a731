/* Unit tests: version matching against the CVE data semantics (docs/data.md), input detection
 * and error handling of bwk_audit_buffer, rule metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bulwark/audit.h"

static void test_versions(void **state)
{
	(void)state;
	/* Dirty Pipe: introduced 5.8, fixed 5.10.102, 5.15.25, 5.16.11, mainline 5.17 */
	const char *const dp[] = {"5.10.102", "5.15.25", "5.16.11", "5.17"};
	struct {
		const char *v;
		int want;
	} cases[] = {
	    {"5.10.101", 1},	     {"5.10.102", 0}, {"5.4.250", 0},  {"5.12.19", 1},
	    {"5.16.10", 1},	     {"5.17.0", 0},   {"6.1.0", 0},    {"5.17.0-rc5", 1},
	    {"5.10.101-1-amd64", 1}, {"v5.15.24", 1}, {"5.15.25+", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (bwk_version_affected(cases[i].v, "5.8", dp, 4) != cases[i].want)
			fail_msg("Dirty Pipe %s: want %d", cases[i].v, cases[i].want);
	/* runc CVE-2024-21626: introduced 1.0.0-rc93, fixed 1.1.12 */
	const char *const runc[] = {"1.1.12"};
	assert_int_equal(bwk_version_affected("1.1.11", "1.0.0-rc93", runc, 1), 1);
	assert_int_equal(bwk_version_affected("1.1.12", "1.0.0-rc93", runc, 1), 0);
	assert_int_equal(bwk_version_affected("1.0.3", "1.0.0-rc93", runc, 1), 1);
	assert_int_equal(bwk_version_affected("1.0.0-rc92", "1.0.0-rc93", runc, 1), 0);
	assert_int_equal(bwk_version_affected("1.2.0", "1.0.0-rc93", runc, 1), 0);
	/* Debian package spellings: only the upstream part counts */
	assert_int_equal(bwk_version_affected("1.1.5+ds1", "1.0.0-rc93", runc, 1), 1);
	assert_int_equal(bwk_version_affected("1:1.1.12~ds1-1", "1.0.0-rc93", runc, 1), 0);
	assert_int_equal(bwk_version_affected("1.0.0~rc92", "1.0.0-rc93", runc, 1), 0);
	assert_int_equal(bwk_version_affected("1.0.0~rc95", "1.0.0-rc93", runc, 1), 1);
	const char *const moby[] = {"23.0.15", "26.1.5", "27.1.1"};
	assert_int_equal(bwk_version_affected("20.10.24+dfsg1", "0", moby, 3), 1);
	assert_int_equal(bwk_version_affected("27.1.1", "0", moby, 3), 0);
	assert_int_equal(bwk_version_affected("26.1.4", "0", moby, 3), 1);
	assert_int_equal(bwk_version_affected("28.0.0", "0", moby, 3), 0);
	/* no fix yet: everything from introduced on */
	assert_int_equal(bwk_version_affected("9.9", "1.0", NULL, 0), 1);
	assert_int_equal(bwk_version_affected("garbage", "1.0", runc, 1), -1);
}

static int audit(const char *text, bwk_workload_kind kind, bwk_findings **f, bwk_error **err)
{
	size_t n = strlen(text);
	char *buf = malloc(n ? n : 1);
	memcpy(buf, text, n);
	*f = bwk_findings_new();
	int rc = bwk_audit_buffer("in", buf, n, kind, NULL, *f, err);
	free(buf);
	return rc;
}

static bool has_rule(const bwk_findings *f, const char *id)
{
	for (size_t i = 0; i < bwk_findings_count(f); i++)
		if (!strcmp(bwk_findings_get(f, i)->rule->id, id))
			return true;
	return false;
}

static void expect_fail(const char *text, bwk_workload_kind kind, bwk_code code, const char *needle)
{
	bwk_findings *f = NULL;
	bwk_error *err = NULL;
	assert_int_equal(audit(text, kind, &f, &err), -1);
	assert_int_equal(bwk_error_code(err), code);
	char *m = bwk_error_format(err);
	if (!strstr(m, needle))
		fail_msg("error '%s' lacks '%s'", m, needle);
	free(m);
	bwk_error_free(err);
	bwk_findings_free(f);
}

static void test_detection(void **state)
{
	(void)state;
	bwk_findings *f = NULL;
	bwk_error *err = NULL;
	/* Compose in JSON, Kubernetes in JSON, compose in YAML with a privileged service */
	assert_int_equal(
	    audit("{\"services\": {\"a\": {\"privileged\": true}}}", BWK_WL_AUTO, &f, &err), 0);
	assert_true(has_rule(f, "privileged-container"));
	bwk_findings_free(f);
	assert_int_equal(audit("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": "
			       "{\"hostPID\": true, \"containers\": [{\"name\": \"c\"}]}}",
			       BWK_WL_AUTO, &f, &err),
			 0);
	assert_true(has_rule(f, "host-pid"));
	assert_false(has_rule(f, "no-pids-limit")); /* Kubernetes cannot express it */
	bwk_findings_free(f);
	/* an empty inspect array is valid: no containers */
	assert_int_equal(audit("[]", BWK_WL_AUTO, &f, &err), 0);
	assert_int_equal(bwk_findings_count(f), 0);
	bwk_findings_free(f);
	/* other Kubernetes kinds are skipped, not errors */
	assert_int_equal(
	    audit("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", BWK_WL_AUTO, &f, &err), 0);
	assert_int_equal(bwk_findings_count(f), 0);
	bwk_findings_free(f);
}

static void test_errors(void **state)
{
	(void)state;
	expect_fail("just: a mapping\n", BWK_WL_AUTO, BWK_E_INPUT, "unknown input");
	expect_fail("{\"a\": 1,}", BWK_WL_AUTO, BWK_E_INPUT, "in:1: invalid JSON");
	expect_fail("", BWK_WL_AUTO, BWK_E_INPUT, "empty input");
	expect_fail("services: {a: {}}\n---\nservices: {b: {}}\n", BWK_WL_AUTO, BWK_E_INPUT,
		    "in:3: a compose file has one document");
	expect_fail("apiVersion: v1\nkind: Pod\n---\nfoo: bar\n", BWK_WL_AUTO, BWK_E_INPUT,
		    "in:4: document: not a Kubernetes object");
	expect_fail("services: [a, b]\n", BWK_WL_COMPOSE, BWK_E_INPUT, "not a mapping");
	expect_fail("{\"Config\": {}}", BWK_WL_INSPECT, BWK_E_INPUT, "no Config/HostConfig");
	expect_fail("{\"process\": {}}", BWK_WL_OCI, BWK_E_INPUT, "no ociVersion");
	expect_fail("apiVersion: v1\nkind: Pod\nspec: [1]\n", BWK_WL_AUTO, BWK_E_INPUT,
		    "is not a mapping");
}

static void test_rules_meta(void **state)
{
	(void)state;
	size_t n = bwk_audit_rules(NULL, 0);
	assert_true(n >= 50);
	const bwk_rule **r = calloc(n, sizeof(*r));
	assert_int_equal(bwk_audit_rules(r, n), n);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(r[i]->id);
		assert_true(strlen(r[i]->description) > 20);
		assert_true(strlen(r[i]->remediation) > 10);
		assert_non_null(r[i]->references);
		assert_non_null(r[i]->references[0]);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r[i]->id, r[j]->id))
				fail_msg("duplicate rule id %s", r[i]->id);
	}
	free(r);
}

/* bwk_audit_rule_list: the fixed rules plus one rule per CVE id of both tables. */
static void test_rule_list(void **state)
{
	(void)state;
	bwk_rule_list *l = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_audit_rule_list(NULL, &l, &err), 0);
	size_t n = bwk_audit_rules(NULL, 0);
	const bwk_rule **r = calloc(n, sizeof(*r));
	bwk_audit_rules(r, n);
	for (size_t i = 0; i < n; i++)
		assert_non_null(bwk_rule_list_find(l, r[i]->id));
	free(r);
	assert_true(bwk_rule_list_count(l) >= n + 80);
	const bwk_rule *c = bwk_rule_list_find(l, "CVE-2019-5736");
	assert_non_null(c);
	assert_int_equal(c->category, BWK_CAT_DAEMON);
	assert_int_equal(c->severity, BWK_SEV_HIGH);
	assert_non_null(strstr(c->title, " in runc"));
	assert_true(strlen(c->remediation) > 10);
	/* listed for two components: one rule naming both */
	c = bwk_rule_list_find(l, "CVE-2022-24769");
	assert_non_null(c);
	assert_non_null(strstr(c->title, "containerd"));
	assert_non_null(strstr(c->title, "docker"));
	size_t seen = 0;
	for (size_t i = 0; i < bwk_rule_list_count(l); i++)
		seen += !strcmp(bwk_rule_list_get(l, i)->id, "CVE-2022-24769");
	assert_int_equal(seen, 1);
	c = bwk_rule_list_find(l, "CVE-2016-5195");
	assert_non_null(c);
	assert_int_equal(c->category, BWK_CAT_HOST);
	bwk_rule_list_free(l);
	l = NULL;
	assert_int_equal(bwk_audit_rule_list("/nonexistent-data-dir", &l, &err), -1);
	assert_null(l);
	bwk_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_versions),  cmocka_unit_test(test_detection),
	    cmocka_unit_test(test_errors),    cmocka_unit_test(test_rules_meta),
	    cmocka_unit_test(test_rule_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
