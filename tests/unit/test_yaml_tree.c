/* Unit tests: the bounded YAML tree builder (anchors, aliases, merge keys, caps, errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/yaml_tree.h"

static json_t *load(const char *text, bwk_error **err)
{
	/* exact-size copy: ASan sees any overread past the end */
	size_t n = strlen(text);
	char *buf = malloc(n ? n : 1);
	memcpy(buf, text, n);
	json_t *j = bwk_yaml_load_one("t.yaml", buf, n, NULL, err);
	free(buf);
	return j;
}

static void test_scalars(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	json_t *j = load("a: yes\nb: \"yes\"\nc: 0x1F\nd: 1.5\ne: ~\nf: 0o17\ng: -12\nh: 1e3\n"
			 "i: 12abc\nj: !!str 5\nk: Off\nl: ''\n",
			 &err);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "a")));
	assert_string_equal(json_string_value(json_object_get(j, "b")), "yes");
	assert_int_equal(json_integer_value(json_object_get(j, "c")), 31);
	assert_true(json_real_value(json_object_get(j, "d")) == 1.5);
	assert_true(json_is_null(json_object_get(j, "e")));
	assert_int_equal(json_integer_value(json_object_get(j, "f")), 15);
	assert_int_equal(json_integer_value(json_object_get(j, "g")), -12);
	assert_true(json_real_value(json_object_get(j, "h")) == 1000.0);
	assert_string_equal(json_string_value(json_object_get(j, "i")), "12abc");
	assert_string_equal(json_string_value(json_object_get(j, "j")), "5");
	assert_true(json_is_false(json_object_get(j, "k")));
	assert_string_equal(json_string_value(json_object_get(j, "l")), "");
	json_decref(j);
}

static void test_anchors_and_merge(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	json_t *j = load("base: &b {x: 1, y: 2}\n"
			 "other: &o {y: 20, z: 30}\n"
			 "svc:\n"
			 "  <<: [*b, *o]\n"
			 "  x: 100\n"
			 "list: &l [1, 2]\n"
			 "copy: *l\n",
			 &err);
	assert_non_null(j);
	const json_t *svc = json_object_get(j, "svc");
	/* explicit key wins, then the earlier merge source */
	assert_int_equal(json_integer_value(json_object_get(svc, "x")), 100);
	assert_int_equal(json_integer_value(json_object_get(svc, "y")), 2);
	assert_int_equal(json_integer_value(json_object_get(svc, "z")), 30);
	assert_null(json_object_get(svc, "<<"));
	assert_int_equal(json_array_size(json_object_get(j, "copy")), 2);
	/* a quoted "<<" is an ordinary key */
	json_decref(j);
	j = load("a: {\"<<\": 1}\n", &err);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "a"), "<<")), 1);
	json_decref(j);
}

static void expect_error(const char *text, bwk_code code, const char *needle)
{
	bwk_error *err = NULL;
	json_t *j = load(text, &err);
	assert_null(j);
	assert_non_null(err);
	assert_int_equal(bwk_error_code(err), code);
	char *m = bwk_error_format(err);
	if (!strstr(m, needle))
		fail_msg("error '%s' lacks '%s'", m, needle);
	free(m);
	bwk_error_free(err);
}

static void test_billion_laughs(void **state)
{
	(void)state;
	expect_error("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
		     BWK_E_LIMIT, "alias expansion");
}

static void test_depth_cap(void **state)
{
	(void)state;
	char buf[400];
	memset(buf, '[', 300);
	buf[300] = 0;
	expect_error(buf, BWK_E_LIMIT, "nesting deeper than 64");
}

static void test_errors_name_line(void **state)
{
	(void)state;
	expect_error("a: 1\nb: 2\na: 3\n", BWK_E_INPUT, "t.yaml:3: duplicate mapping key 'a'");
	expect_error("a: 1\nb: *nope\n", BWK_E_INPUT, "t.yaml:2: alias *nope");
	expect_error("a: &x [*x]\n", BWK_E_INPUT, "refers to no (completed) anchor");
	expect_error("? [a, b]\n: 1\n", BWK_E_INPUT, "complex mapping keys");
	expect_error("a: [1, 2\nb: 3\n", BWK_E_INPUT, "t.yaml:");
	expect_error("a:\n  - x\n  y: 1\n", BWK_E_INPUT, "t.yaml:3");
	expect_error("a: {<<: 5}\n", BWK_E_INPUT, "merge key");
}

typedef struct docs {
	unsigned n;
	unsigned lines[8];
} docs;

static int count_docs(void *ctx, const bwk_yaml_doc *d, bwk_error **err)
{
	(void)err;
	docs *c = ctx;
	if (c->n < 8)
		c->lines[c->n] = bwk_yaml_doc_line(d);
	c->n++;
	return 0;
}

static void test_stream(void **state)
{
	(void)state;
	const char *text = "a: 1\n---\nb:\n  c: 2\n---\n# only a comment\n---\n- x\n";
	docs c = {0};
	bwk_error *err = NULL;
	assert_int_equal(bwk_yaml_parse("s.yaml", text, strlen(text), NULL, count_docs, &c, &err),
			 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.lines[0], 1);
	assert_int_equal(c.lines[1], 3);
	assert_int_equal(c.lines[3], 8);
	bwk_yaml_limits lim = {.max_docs = 2};
	c.n = 0;
	assert_int_equal(bwk_yaml_parse("s.yaml", text, strlen(text), &lim, count_docs, &c, &err),
			 -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	err = NULL;
	lim = (bwk_yaml_limits){.max_bytes = 10};
	assert_int_equal(bwk_yaml_parse("s.yaml", text, strlen(text), &lim, count_docs, &c, &err),
			 -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),	     cmocka_unit_test(test_anchors_and_merge),
	    cmocka_unit_test(test_billion_laughs),   cmocka_unit_test(test_depth_cap),
	    cmocka_unit_test(test_errors_name_line), cmocka_unit_test(test_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
