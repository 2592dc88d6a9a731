/* Unit tests: findings model, redaction, ignore file, exit-status policy, report formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/finding.h"
#include "bulwark/report.h"

static const char *const refs[] = {"CVE-2024-0001", "https://example.invalid/fix", NULL};
static const bwk_rule rule_hi = {"test-secret", BWK_CAT_SECRET, BWK_SEV_HIGH, "Test secret",
				 "The risk.",	"The fix.",	refs};
static const bwk_rule rule_lo = {"test-config", BWK_CAT_CONFIG, BWK_SEV_LOW, "Test config",
				 "Risk two.",	"Fix two.",	NULL};

#define SECRET "AKIAIOSFODNN7REALKEY1234"

static bwk_findings *sample(void)
{
	bwk_findings *f = bwk_findings_new();
	bwk_finding_spec a = {.rule = &rule_lo,
			      .loc = {.target = "img.tar", .path = "etc/x", .layer_index = -1},
			      .evidence = "mode 0777",
			      .severity = -1};
	bwk_finding_spec b = {.rule = &rule_hi,
			      .loc = {.target = "img.tar",
				      .layer = "sha256:0123456789abcdef",
				      .layer_index = 1,
				      .path = "app/.env",
				      .line = 3},
			      .secret = SECRET,
			      .secret_len = strlen(SECRET),
			      .severity = -1};
	assert_int_equal(bwk_findings_add(f, &a, NULL), 0);
	assert_int_equal(bwk_findings_add(f, &b, NULL), 0);
	return f;
}

static void test_severity_names(void **state)
{
	(void)state;
	bwk_severity s;
	const char *names[] = {"info", "low", "medium", "high", "critical", "none"};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(bwk_severity_parse(names[i], &s), 0);
		assert_int_equal(s, i);
		assert_string_equal(bwk_severity_name(s), names[i]);
	}
	assert_int_equal(bwk_severity_parse("severe", &s), -1);
	bwk_category c;
	assert_int_equal(bwk_category_parse("workload", &c), 0);
	assert_int_equal(c, BWK_CAT_WORKLOAD);
	assert_int_equal(bwk_category_parse("nope", &c), -1);
}

static void test_redact(void **state)
{
	(void)state;
	char *r = bwk_redact(SECRET, strlen(SECRET));
	assert_string_equal(r, "AKIA…(24)…34");
	free(r);
	r = bwk_redact("hunter2", 7); /* short: nothing of it shown */
	assert_null(strstr(r, "hun"));
	assert_null(strstr(r, "r2"));
	free(r);
	r = bwk_redact("0123456789", 10);
	assert_string_equal(r, "01…(10)…");
	free(r);
	r = bwk_redact("\x1b[31mabcdefghijkl", 17); /* control bytes never reach a terminal */
	assert_null(strchr(r, '\x1b'));
	free(r);
}

static void test_add_dedupe_sort(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	assert_int_equal(bwk_findings_count(f), 2);
	/* the same occurrence twice is stored once */
	bwk_finding_spec b = {
	    .rule = &rule_hi,
	    .loc = {.target = "img.tar", .path = "app/.env", .line = 3, .layer_index = 1},
	    .secret = SECRET,
	    .secret_len = strlen(SECRET),
	    .severity = -1};
	bwk_findings_add(f, &b, NULL);
	assert_int_equal(bwk_findings_count(f), 2);
	/* a different secret at the same place is a different finding */
	b.secret = "AKIAIOSFODNN7OTHERKEY12";
	b.secret_len = strlen(b.secret);
	bwk_findings_add(f, &b, NULL);
	assert_int_equal(bwk_findings_count(f), 3);
	bwk_findings_sort(f);
	assert_string_equal(bwk_findings_get(f, 0)->rule->id, "test-secret");
	assert_string_equal(bwk_findings_get(f, 2)->rule->id, "test-config");
	assert_int_equal(bwk_findings_rule_count(f), 2);
	const bwk_finding *x = bwk_findings_get(f, 0);
	assert_int_equal(strlen(x->fingerprint), 64);
	assert_null(strstr(x->evidence, "REALKEY"));
	/* after sorting, dedupe still works */
	bwk_findings_add(f, &b, NULL);
	assert_int_equal(bwk_findings_count(f), 3);
	bwk_findings_free(f);
}

static bool keep_low(const bwk_finding *x, void *ctx)
{
	(void)ctx;
	return x->severity == BWK_SEV_LOW;
}

static void test_retain_and_suppress(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	size_t n = bwk_findings_count(f);
	assert_true(n >= 2);
	assert_int_equal(bwk_findings_retain(f, keep_low, NULL), n - 1);
	assert_int_equal(bwk_findings_count(f), 1);
	assert_int_equal(bwk_findings_get(f, 0)->severity, BWK_SEV_LOW);
	/* the fingerprint set was rebuilt: the kept finding still deduplicates, the dropped one
	 * can be added again */
	bwk_finding_spec a = {.rule = &rule_lo,
			      .loc = {.target = "img.tar", .path = "etc/x", .layer_index = -1},
			      .evidence = "mode 0777",
			      .severity = -1};
	assert_int_equal(bwk_findings_add(f, &a, NULL), 0);
	assert_int_equal(bwk_findings_count(f), 1);
	/* suppress once: the first suppression stays */
	assert_true(bwk_findings_suppress(f, 0, BWK_SUPPRESS_VEX, "VEX fixed"));
	assert_false(bwk_findings_suppress(f, 0, BWK_SUPPRESS_IGNORE, "other"));
	assert_false(bwk_findings_suppress(f, 5, BWK_SUPPRESS_VEX, NULL));
	assert_int_equal(bwk_findings_get(f, 0)->suppressed_by, BWK_SUPPRESS_VEX);
	assert_string_equal(bwk_findings_get(f, 0)->suppress_reason, "VEX fixed");
	assert_string_equal(bwk_suppression_name(BWK_SUPPRESS_VEX), "vex");
	assert_false(bwk_findings_fail(f, BWK_SEV_LOW));
	bwk_findings_free(f);
}

static void test_fingerprint_stable_and_secret_free(void **state)
{
	(void)state;
	bwk_findings *f1 = sample(), *f2 = sample();
	bwk_findings_sort(f1);
	bwk_findings_sort(f2);
	assert_string_equal(bwk_findings_get(f1, 0)->fingerprint,
			    bwk_findings_get(f2, 0)->fingerprint);
	assert_string_not_equal(bwk_findings_get(f1, 0)->fingerprint,
				bwk_findings_get(f1, 1)->fingerprint);
	bwk_findings_free(f1);
	bwk_findings_free(f2);
}

static void test_fail_policy(void **state)
{
	(void)state;
	bwk_findings *f = sample(); /* one high, one low */
	assert_true(bwk_findings_fail(f, BWK_SEV_HIGH));
	assert_true(bwk_findings_fail(f, BWK_SEV_LOW));
	assert_false(bwk_findings_fail(f, BWK_SEV_CRITICAL));
	assert_false(bwk_findings_fail(f, BWK_SEV_NONE));
	assert_int_equal(bwk_findings_max_severity(f), BWK_SEV_HIGH);
	size_t c[5];
	bwk_findings_summary(f, c);
	assert_int_equal(c[BWK_SEV_HIGH], 1);
	assert_int_equal(c[BWK_SEV_LOW], 1);
	assert_int_equal(c[BWK_SEV_CRITICAL], 0);
	bwk_findings *empty = bwk_findings_new();
	assert_false(bwk_findings_fail(empty, BWK_SEV_INFO));
	assert_int_equal(bwk_findings_max_severity(empty), -1);
	bwk_findings_free(empty);
	/* severity override */
	bwk_finding_spec s = {.rule = &rule_lo,
			      .loc = {.path = "z", .layer_index = -1},
			      .evidence = "x",
			      .severity = BWK_SEV_CRITICAL};
	bwk_findings_add(f, &s, NULL);
	assert_true(bwk_findings_fail(f, BWK_SEV_CRITICAL));
	bwk_findings_free(f);
}

static void test_ignore(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	bwk_findings_sort(f);
	const char *fp = bwk_findings_get(f, 0)->fingerprint;
	char text[256];
	snprintf(text, sizeof(text), "# accepted\n\ntest-config etc/*\n%s\n", fp);
	bwk_ignore *ig = bwk_ignore_new();
	bwk_error *err = NULL;
	assert_int_equal(bwk_ignore_parse(ig, text, strlen(text), ".bulwarkignore", 0, &err), 0);
	assert_int_equal(bwk_ignore_apply(ig, f), 2);
	assert_false(bwk_findings_fail(f, BWK_SEV_INFO));
	assert_int_equal(bwk_findings_get(f, 0)->suppressed_by, BWK_SUPPRESS_IGNORE);
	bwk_ignore_free(ig);
	/* malformed lines are errors that name the file and line */
	const char *bad = "ok-rule\nNOT A RULE\n";
	ig = bwk_ignore_new();
	assert_int_equal(bwk_ignore_parse(ig, bad, strlen(bad), "x.ignore", 0, &err), -1);
	bwk_ignore_free(ig);
	char *msg = bwk_error_format(err);
	assert_non_null(strstr(msg, "x.ignore:2"));
	free(msg);
	bwk_error_free(err);
	bwk_findings_free(f);
}

static char *render(bwk_findings *f, bwk_format fmt)
{
	bwk_findings_sort(f);
	bwk_report_opts o = {
	    .format = fmt, .command = "scan", .target = "img.tar", .fail_on = BWK_SEV_HIGH};
	char *out = NULL;
	assert_int_equal(bwk_report_render(f, &o, &out, NULL), 0);
	return out;
}

static void test_report_text(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	char *t = render(f, BWK_FORMAT_TEXT);
	assert_non_null(strstr(t, "2 findings (1 high, 1 low)"));
	assert_non_null(strstr(t, "HIGH"));
	assert_non_null(strstr(t, "/app/.env:3 (layer 2 sha256:0123456789ab)"));
	assert_non_null(strstr(t, "fix: The fix."));
	assert_null(strstr(t, "REALKEY"));
	assert_null(strchr(t, '\x1b')); /* no colour unless asked */
	/* HIGH group comes before LOW */
	assert_true(strstr(t, "HIGH") < strstr(t, "LOW"));
	free(t);
	bwk_findings_free(f);
}

static void test_report_json(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	char *t = render(f, BWK_FORMAT_JSON);
	json_error_t je;
	json_t *doc = json_loads(t, 0, &je);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "schemaVersion")), "1.0");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "tool"), "name")), "bulwark");
	json_t *fs = json_object_get(doc, "findings");
	assert_int_equal(json_array_size(fs), 2);
	json_t *first = json_array_get(fs, 0);
	assert_string_equal(json_string_value(json_object_get(first, "severity")), "high");
	assert_string_equal(json_string_value(json_object_get(first, "category")), "secret");
	json_t *loc = json_object_get(first, "location");
	assert_int_equal(json_integer_value(json_object_get(loc, "layerIndex")), 1);
	assert_int_equal(json_integer_value(json_object_get(loc, "line")), 3);
	json_t *sum = json_object_get(doc, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "high")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "total")), 2);
	assert_true(json_is_true(json_object_get(sum, "failed")));
	assert_null(strstr(t, "REALKEY"));
	json_decref(doc);
	free(t);
	bwk_findings_free(f);
}

static void test_report_sarif(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	char *t = render(f, BWK_FORMAT_SARIF);
	json_error_t je;
	json_t *doc = json_loads(t, 0, &je);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "version")), "2.1.0");
	json_t *run = json_array_get(json_object_get(doc, "runs"), 0);
	json_t *rules =
	    json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
	assert_int_equal(json_array_size(rules), 2);
	json_t *results = json_object_get(run, "results");
	assert_int_equal(json_array_size(results), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *r = json_array_get(results, i);
		const char *rid = json_string_value(json_object_get(r, "ruleId"));
		size_t idx = (size_t)json_integer_value(json_object_get(r, "ruleIndex"));
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(rules, idx), "id")), rid);
		json_t *uri = json_object_get(
		    json_object_get(
			json_object_get(json_array_get(json_object_get(r, "locations"), 0),
					"physicalLocation"),
			"artifactLocation"),
		    "uri");
		assert_non_null(uri);
		assert_true(json_string_value(uri)[0] != '/');
	}
	assert_null(strstr(t, "REALKEY"));
	json_decref(doc);
	free(t);
	bwk_findings_free(f);
}

static void test_suppressed_not_reported(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	bwk_ignore *ig = bwk_ignore_new();
	assert_int_equal(bwk_ignore_parse(ig, "test-secret\n", 12, "ig", 0, NULL), 0);
	bwk_ignore_apply(ig, f);
	bwk_ignore_free(ig);
	char *t = render(f, BWK_FORMAT_JSON);
	json_t *doc = json_loads(t, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "summary"), "suppressed")), 1);
	json_decref(doc);
	free(t);
	bwk_findings_free(f);
}

/* days since the epoch of 2026-12-07, so expiry tests do not depend on the clock */
#define DAY_2026_12_07 20794L

static void test_ignore_yaml(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	bwk_ignore *ig = bwk_ignore_new();
	bwk_error *err = NULL;
	const char *y = "# accepted risks\n"
			"- id: test-config\n  path: /etc/*\n  reason: demo file, never shipped\n"
			"  expires: 2026-12-08\n"
			"- id: test-secret\n  expires: 2026-12-07\n  reason: old\n";
	assert_int_equal(bwk_ignore_parse(ig, y, strlen(y), "a.yaml", DAY_2026_12_07, &err), 0);
	/* the second entry expired today: it no longer applies, and a warning names it */
	assert_int_equal(bwk_ignore_apply(ig, f), 1);
	const char *w = bwk_ignore_warning(ig, 0);
	assert_non_null(w);
	assert_non_null(strstr(w, "a.yaml:6"));
	assert_non_null(strstr(w, "test-secret expired on 2026-12-07"));
	assert_null(bwk_ignore_warning(ig, 1));
	bwk_findings_sort(f);
	size_t hidden = 0;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (x->suppressed) {
			hidden++;
			assert_string_equal(x->rule->id, "test-config");
			assert_string_equal(x->suppress_reason, "demo file, never shipped");
		}
	}
	assert_int_equal(hidden, 1);
	assert_true(bwk_findings_fail(f, BWK_SEV_HIGH));
	bwk_ignore_free(ig);
	bwk_findings_free(f);

	/* what must be an error, never a wider suppression than written */
	static const struct {
		const char *text, *needle;
	} bad[] = {
	    {"- id: test-config\n  paht: etc/*\n", "b.yaml:1: unknown key 'paht'"},
	    {"- id: test-config\n  expires: 2026-02-30\n", "not a date"},
	    {"- id: test-config\n  expires: 26-1-1\n", "not a date"},
	    {"- reason: no id\n", "neither 'id' nor 'fingerprint'"},
	    {"- id: Bad Rule\n", "not a rule id"},
	    {"id: test-config\n", "expected a list"},
	    {"- test-config\n", "not a mapping"},
	    {"- id: [a]\n", "must be a string"},
	    {"- id: x\n  path: a\n  fingerprint: "
	     "00000000000000000000000000000000000000000000000000000000000000ab\n",
	     "not both"},
	    {"- id: x\n---\n- id: y\n", "one YAML document"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ig = bwk_ignore_new();
		assert_int_equal(bwk_ignore_parse(ig, bad[i].text, strlen(bad[i].text), "b.yaml",
						  DAY_2026_12_07, &err),
				 -1);
		char *msg = bwk_error_format(err);
		if (!strstr(msg, bad[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, msg, bad[i].needle);
		free(msg);
		bwk_error_free(err);
		err = NULL;
		bwk_ignore_free(ig);
	}
}

static void test_baseline(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	bwk_findings_sort(f);
	/* an earlier JSON report that knew only the low finding (the other one ignored then) */
	bwk_findings *old = sample();
	bwk_ignore *ig = bwk_ignore_new();
	assert_int_equal(bwk_ignore_parse(ig, "test-secret\n", 12, "ig", 0, NULL), 0);
	bwk_ignore_apply(ig, old);
	bwk_ignore_free(ig);
	char json_path[] = "/tmp/bwk-baseline-XXXXXX";
	int fd = mkstemp(json_path);
	assert_true(fd >= 0);
	char *t = render(old, BWK_FORMAT_JSON);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	free(t);
	ig = bwk_ignore_new();
	bwk_error *err = NULL;
	assert_int_equal(bwk_ignore_load_baseline(ig, json_path, &err), 0);
	assert_int_equal(bwk_ignore_baseline_size(ig), 1);
	assert_int_equal(bwk_ignore_apply(ig, f), 1);
	for (size_t i = 0; i < 2; i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		bool low = !strcmp(x->rule->id, "test-config");
		assert_int_equal(x->suppressed, low);
		assert_int_equal(x->suppressed_by, low ? BWK_SUPPRESS_BASELINE : BWK_SUPPRESS_NONE);
	}
	bwk_ignore_free(ig);

	/* SARIF: partialFingerprints */
	t = render(f, BWK_FORMAT_SARIF); /* lists only the unsuppressed one */
	fd = open(json_path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	free(t);
	bwk_findings *g = sample();
	ig = bwk_ignore_new();
	assert_int_equal(bwk_ignore_load_baseline(ig, json_path, &err), 0);
	assert_int_equal(bwk_ignore_apply(ig, g), 1);
	bwk_ignore_free(ig);

	/* not a report, and a forged fingerprint: clear errors */
	static const char *const bad[] = {
	    "{\"x\": 1}", "[1,2]", "{\"findings\": [{\"fingerprint\": \"zz\"}]}", "not json"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		fd = open(json_path, O_WRONLY | O_TRUNC);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		ig = bwk_ignore_new();
		assert_int_equal(bwk_ignore_load_baseline(ig, json_path, &err), -1);
		bwk_error_free(err);
		err = NULL;
		bwk_ignore_free(ig);
	}
	unlink(json_path);
	bwk_findings_free(g);
	bwk_findings_free(old);
	bwk_findings_free(f);
}

static void test_facts_and_checks(void **state)
{
	(void)state;
	bwk_findings *f = sample();
	bwk_findings_fact(f, "host.kernel", "%s", "6.1.0");
	bwk_findings_fact(f, "host.os", "evil\x1b[31m\nline");
	bwk_findings_fact(f, "host.kernel", "%s", "6.18.44"); /* replaces, keeps its place */
	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	bwk_findings_fact(f, "big", "%s", big);
	const char *k, *v;
	assert_int_equal(bwk_findings_fact_count(f), 3);
	assert_true(bwk_findings_fact_get(f, 0, &k, &v));
	assert_string_equal(k, "host.kernel");
	assert_string_equal(v, "6.18.44");
	assert_true(bwk_findings_fact_get(f, 1, &k, &v));
	assert_string_equal(v, "evil\\x1b[31m\\x0aline"); /* no terminal escapes, no new lines */
	assert_true(bwk_findings_fact_get(f, 2, &k, &v));
	assert_true(strlen(v) < 600);
	assert_false(bwk_findings_fact_get(f, 3, &k, &v));

	/* a check that ran fails exactly when a finding of its rule exists */
	static const bwk_rule other = {"test-other", BWK_CAT_HOST, BWK_SEV_LOW, "Other",
				       "",	     "",	   NULL};
	bwk_findings_check(f, &rule_lo, BWK_CHECK_PASS, NULL);
	bwk_findings_check(f, &other, BWK_CHECK_PASS, "looked at %s", "x");
	bwk_findings_check(f, &rule_hi, BWK_CHECK_SKIP, "no %s", "input");
	bwk_check c;
	assert_true(bwk_findings_check_get(f, 0, &c));
	assert_string_equal(c.id, "test-config");
	assert_int_equal(c.status, BWK_CHECK_FAIL);
	assert_true(bwk_findings_check_get(f, 1, &c));
	assert_int_equal(c.status, BWK_CHECK_PASS);
	assert_string_equal(c.detail, "looked at x");
	assert_true(bwk_findings_check_get(f, 2, &c));
	assert_int_equal(c.status, BWK_CHECK_SKIP);
	assert_string_equal(c.detail, "no input");
	size_t n[3];
	bwk_findings_check_summary(f, n);
	assert_int_equal(n[BWK_CHECK_PASS], 1);
	assert_int_equal(n[BWK_CHECK_FAIL], 1);
	assert_int_equal(n[BWK_CHECK_SKIP], 1);
	/* recording again replaces */
	bwk_findings_check(f, &rule_hi, BWK_CHECK_PASS, NULL);
	assert_true(bwk_findings_check_get(f, 2, &c));
	assert_int_equal(c.status, BWK_CHECK_FAIL);
	assert_int_equal(bwk_findings_check_count(f), 3);

	char *t = render(f, BWK_FORMAT_JSON);
	json_t *doc = json_loads(t, 0, NULL);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "facts"), "host.kernel")),
	    "6.18.44");
	assert_int_equal(json_array_size(json_object_get(doc, "checks")), 3);
	json_t *sc = json_object_get(json_object_get(doc, "summary"), "checks");
	assert_int_equal(json_integer_value(json_object_get(sc, "failed")), 2);
	json_decref(doc);
	free(t);
	t = render(f, BWK_FORMAT_TEXT);
	assert_non_null(strstr(t, "  host.kernel: 6.18.44\n"));
	assert_non_null(strstr(t, "3 checks: 1 passed, 2 failed, 0 skipped"));
	free(t);
	bwk_findings_free(f);
}

static void test_rule_list(void **state)
{
	(void)state;
	bwk_rule_list *l = bwk_rule_list_new();
	assert_int_equal(bwk_rule_list_count(l), 0);
	char id[] = "test-secret", title[] = "Copied title";
	bwk_rule tmp = rule_hi;
	tmp.id = id;
	tmp.title = title;
	assert_true(bwk_rule_list_add(l, &tmp));
	assert_false(bwk_rule_list_add(l, &rule_hi)); /* same id: the first wins */
	assert_true(bwk_rule_list_add(l, &rule_lo));
	/* the list owns copies: the caller's buffers may change or go */
	memset(id, 'x', sizeof(id) - 1);
	memset(title, 'x', sizeof(title) - 1);
	assert_int_equal(bwk_rule_list_count(l), 2);
	const bwk_rule *r = bwk_rule_list_find(l, "test-secret");
	assert_non_null(r);
	assert_string_equal(r->title, "Copied title");
	assert_string_equal(r->references[1], "https://example.invalid/fix");
	assert_null(r->references[2]);
	assert_ptr_equal(bwk_rule_list_get(l, 1), bwk_rule_list_find(l, "test-config"));
	assert_non_null(bwk_rule_list_get(l, 1)->references); /* NULL refs become an empty list */
	assert_null(bwk_rule_list_get(l, 1)->references[0]);
	assert_null(bwk_rule_list_get(l, 2));
	assert_null(bwk_rule_list_find(l, "xxxx-secret"));
	bwk_rule_list_free(l);
	bwk_rule_list_free(NULL);
}

static void test_rules_json(void **state)
{
	(void)state;
	const bwk_rule *rules[] = {&rule_hi, &rule_lo};
	const char *cmds[] = {"scan", NULL};
	char *out = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_report_rules_json(rules, cmds, 2, &out, &err), 0);
	json_error_t je;
	json_t *doc = json_loads(out, 0, &je);
	assert_non_null(doc);
	assert_true(json_is_array(doc));
	assert_int_equal(json_array_size(doc), 2);
	json_t *a = json_array_get(doc, 0), *b = json_array_get(doc, 1);
	assert_string_equal(json_string_value(json_object_get(a, "id")), "test-secret");
	assert_string_equal(json_string_value(json_object_get(a, "category")), "secret");
	assert_string_equal(json_string_value(json_object_get(a, "severity")), "high");
	assert_string_equal(json_string_value(json_object_get(a, "title")), "Test secret");
	assert_string_equal(json_string_value(json_object_get(a, "description")), "The risk.");
	assert_string_equal(json_string_value(json_object_get(a, "remediation")), "The fix.");
	assert_string_equal(json_string_value(json_object_get(a, "command")), "scan");
	assert_int_equal(json_array_size(json_object_get(a, "references")), 2);
	assert_null(json_object_get(b, "command"));
	assert_int_equal(json_array_size(json_object_get(b, "references")), 0);
	assert_string_equal(json_string_value(json_object_get(b, "severity")), "low");
	json_decref(doc);
	free(out);
}

/* Merging the findings of several targets (audit registry --scan-all): the same finding in
 * two targets stays two, checks failed anywhere stay failed, and the grouped text report
 * lists each target's findings under it. */
static void test_merge_grouped(void **state)
{
	(void)state;
	bwk_findings *all = bwk_findings_new();
	const char *targets[] = {"reg/a:1", "reg/b:1"};
	for (int t = 0; t < 2; t++) {
		bwk_findings *one = bwk_findings_new();
		bwk_finding_spec s = {
		    .rule = &rule_hi,
		    .loc = {.target = targets[t], .path = "app/.env", .layer_index = 0},
		    .secret = SECRET,
		    .secret_len = strlen(SECRET),
		    .severity = -1};
		assert_int_equal(bwk_findings_add(one, &s, NULL), 0);
		bwk_findings_check(one, &rule_hi, t == 0 ? BWK_CHECK_FAIL : BWK_CHECK_PASS, NULL);
		bwk_findings_merge(all, one);
		bwk_findings_free(one);
	}
	assert_int_equal(bwk_findings_count(all), 2);
	assert_string_equal(bwk_findings_get(all, 0)->target, "reg/a:1");
	assert_string_equal(bwk_findings_get(all, 1)->target, "reg/b:1");
	bwk_check c;
	assert_true(bwk_findings_check_get(all, 0, &c));
	assert_int_equal(c.status, BWK_CHECK_FAIL);
	bwk_report_group groups[] = {
	    {"reg", NULL}, {"reg/a:1", NULL}, {"reg/b:1", NULL}, {"reg/c:1", "HTTP 404"}};
	bwk_report_opts o = {.format = BWK_FORMAT_TEXT,
			     .command = "audit registry",
			     .target = "reg",
			     .groups = groups,
			     .ngroups = 4};
	char *out = NULL;
	assert_int_equal(bwk_report_render(all, &o, &out, NULL), 0);
	const char *a = strstr(out, "== reg/a:1: 1 finding"),
		   *b = strstr(out, "== reg/b:1: 1 finding");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(strstr(out, "== reg: no findings"));
	assert_non_null(strstr(out, "== reg/c:1: NOT SCANNED (HTTP 404)"));
	/* one secret line in each section */
	const char *in_a = strstr(a, "test-secret");
	assert_true(in_a && in_a < b);
	assert_non_null(strstr(b, "test-secret"));
	free(out);
	o.format = BWK_FORMAT_JSON;
	assert_int_equal(bwk_report_render(all, &o, &out, NULL), 0);
	json_t *j = json_loads(out, 0, NULL);
	json_t *tg = json_object_get(j, "targets");
	assert_int_equal(json_array_size(tg), 4);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(json_array_get(tg, 2), "summary"), "high")),
			 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tg, 3), "error")),
			    "HTTP 404");
	json_decref(j);
	free(out);
	bwk_findings_free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_severity_names),
	    cmocka_unit_test(test_redact),
	    cmocka_unit_test(test_add_dedupe_sort),
	    cmocka_unit_test(test_fingerprint_stable_and_secret_free),
	    cmocka_unit_test(test_fail_policy),
	    cmocka_unit_test(test_retain_and_suppress),
	    cmocka_unit_test(test_ignore),
	    cmocka_unit_test(test_report_text),
	    cmocka_unit_test(test_report_json),
	    cmocka_unit_test(test_report_sarif),
	    cmocka_unit_test(test_suppressed_not_reported),
	    cmocka_unit_test(test_ignore_yaml),
	    cmocka_unit_test(test_baseline),
	    cmocka_unit_test(test_facts_and_checks),
	    cmocka_unit_test(test_rule_list),
	    cmocka_unit_test(test_rules_json),
	    cmocka_unit_test(test_merge_grouped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
