/* Unit tests: the bounded YAML tree builder (anchors, aliases, merge keys, caps, errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- memory: every worst case within the caps stays within the accounted budget ---- */

typedef struct gen {
	char *buf;
	size_t len, cap;
} gen;

__attribute__((format(printf, 2, 3))) static void put(gen *g, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[512];
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	if (g->len + (size_t)n + 1 > g->cap) {
		g->cap = (g->len + (size_t)n + 1) * 2;
		g->buf = realloc(g->buf, g->cap);
		assert_non_null(g->buf);
	}
	memcpy(g->buf + g->len, tmp, (size_t)n + 1);
	g->len += (size_t)n;
}

static void put_run(gen *g, char c, size_t n)
{
	if (g->len + n + 1 > g->cap) {
		g->cap = (g->len + n + 1) * 2;
		g->buf = realloc(g->buf, g->cap);
		assert_non_null(g->buf);
	}
	memset(g->buf + g->len, c, n);
	g->len += n;
	g->buf[g->len] = 0;
}

static void expect_message(bwk_error *err, const char *needle)
{
	char *m = bwk_error_format(err);
	if (!m || !strstr(m, needle))
		fail_msg("error '%s' lacks '%s'", m ? m : "(null)", needle);
	free(m);
}

static int ignore_doc(void *ctx, const bwk_yaml_doc *d, bwk_error **err)
{
	(void)d;
	(void)err;
	(*(size_t *)ctx)++;
	return 0;
}

#define SMALL_BUDGET ((size_t)1 << 20)
#define SMALL_TOKEN  ((size_t)64 << 10)

/* Parse with a 1 MiB document budget: whatever the input, the accounted peak never passes it
 * (allocations that would are refused). */
static int parse_bounded(const gen *g, bwk_yaml_stats *st, const char *want_err)
{
	bwk_yaml_limits lim = {.max_doc_bytes = SMALL_BUDGET,
			       .max_token_bytes = SMALL_TOKEN,
			       .max_nodes = 10000000,
			       .stats = st};
	char *copy = malloc(g->len ? g->len : 1);
	memcpy(copy, g->buf, g->len);
	bwk_error *err = NULL;
	size_t ndocs = 0;
	int rc = bwk_yaml_parse("m.yaml", copy, g->len, &lim, ignore_doc, &ndocs, &err);
	free(copy);
	assert_true(st->peak_bytes <= SMALL_BUDGET);
	if (want_err) {
		assert_int_equal(rc, -1);
		assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
		expect_message(err, want_err);
		bwk_error_free(err);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(ndocs, st->docs);
	}
	return rc;
}

static void test_memory_one_huge_document(void **state)
{
	(void)state;
	gen g = {0};
	put(&g, "services:\n");
	for (int i = 0; i < 40000; i++)
		put(&g, "  svc%d: {image: registry.example.com/app%d, privileged: true}\n", i, i);
	bwk_yaml_stats st;
	parse_bounded(&g, &st, "document needs more than 1 MiB of memory");
	/* the accounting is real: the refused document had used its budget */
	assert_true(st.peak_bytes > SMALL_BUDGET / 2);
	free(g.buf);

	/* the same document within the budget passes, and costs what jansson allocated: at
	 * least 3 nodes and 2 keys per service */
	g = (gen){0};
	put(&g, "services:\n");
	for (int i = 0; i < 1000; i++)
		put(&g, "  svc%d: {image: registry.example.com/app%d, privileged: true}\n", i, i);
	parse_bounded(&g, &st, NULL);
	assert_true(st.peak_bytes > 1000 * 3 * 32);
	free(g.buf);
}

static void test_memory_many_small_documents(void **state)
{
	(void)state;
	gen g = {0};
	for (int i = 0; i < 20000; i++)
		put(&g,
		    "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  "
		    "containers: [{name: c, image: nginx}]\n",
		    i);
	bwk_yaml_stats st;
	parse_bounded(&g, &st, NULL);
	assert_int_equal(st.docs, 20000);
	/* one document at a time: the peak is one document's, not the stream's */
	assert_true(st.peak_bytes < (size_t)64 << 10);
	free(g.buf);
}

static void test_memory_deep_nesting_long_keys(void **state)
{
	(void)state;
	/* pending mapping keys hold no jansson node: 40 levels of 60 KiB keys (explicit keys: an
	 * implicit one is at most 1024 characters) are 2.4 MiB */
	gen g = {0};
	for (int d = 0; d < 40; d++) {
		put_run(&g, ' ', 2 * (size_t)d);
		put(&g, "? ");
		put_run(&g, 'k', 60 << 10);
		put(&g, "%d\n", d);
		put_run(&g, ' ', 2 * (size_t)d);
		put(&g, ":\n");
	}
	put_run(&g, ' ', 80);
	put(&g, "leaf: 1\n");
	bwk_yaml_stats st;
	parse_bounded(&g, &st, "document needs more than 1 MiB of memory");
	free(g.buf);
}

static void test_memory_long_scalars(void **state)
{
	(void)state;
	/* one scalar past the token cap: refused while libyaml is still reading it */
	gen g = {0};
	put(&g, "a: ");
	put_run(&g, 'x', 4 * SMALL_TOKEN);
	put(&g, "\n");
	bwk_yaml_stats st;
	parse_bounded(&g, &st, "bytes without a YAML node");
	free(g.buf);
	/* many scalars each under the cap: refused by the document budget */
	g = (gen){0};
	for (int i = 0; i < 40; i++) {
		put(&g, "k%d: ", i);
		put_run(&g, 'x', SMALL_TOKEN / 2);
		put(&g, "\n");
	}
	parse_bounded(&g, &st, "document needs more than 1 MiB of memory");
	free(g.buf);
	/* and a comment that long is a run without an event too */
	g = (gen){0};
	put(&g, "a: 1\n#");
	put_run(&g, 'c', 4 * SMALL_TOKEN);
	put(&g, "\nb: 2\n");
	parse_bounded(&g, &st, "bytes without a YAML node");
	free(g.buf);
}

static void test_memory_aliases_shared(void **state)
{
	(void)state;
	/* 900 aliases of a 1000-entry mapping expand to 900k nodes, which the node cap allows
	 * here; memory stays one mapping's because aliases share it */
	gen g = {0};
	put(&g, "base: &a {");
	for (int i = 0; i < 1000; i++)
		put(&g, "%sk%d: v%d", i ? ", " : "", i, i);
	put(&g, "}\nrefs:\n");
	for (int i = 0; i < 900; i++)
		put(&g, "  r%d: *a\n", i);
	bwk_yaml_stats st;
	parse_bounded(&g, &st, NULL);
	assert_true(st.peak_bytes < (size_t)512 << 10);
	free(g.buf);
	/* many anchors: each one is a table entry, accounted */
	g = (gen){0};
	for (int i = 0; i < 60000; i++)
		put(&g, "k%d: &anchor_with_a_long_name_%d v\n", i, i);
	parse_bounded(&g, &st, "document needs more than 1 MiB of memory");
	free(g.buf);
}

static void test_parse_fd(void **state)
{
	(void)state;
	char path[] = "/tmp/bwk-yaml-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	const char *text = "a: 1\n---\nb: [x, y]\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	docs c = {0};
	bwk_error *err = NULL;
	assert_int_equal(bwk_yaml_parse_fd("f.yaml", NULL, 0, fd, NULL, count_docs, &c, &err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.lines[1], 3);
	/* a file that grows past the cap while read */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	bwk_yaml_limits lim = {.max_bytes = 8};
	assert_int_equal(bwk_yaml_parse_fd("f.yaml", NULL, 0, fd, &lim, count_docs, &c, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	expect_message(err, "f.yaml: input grew past the 8-byte");
	bwk_error_free(err);
	err = NULL;
	close(fd);

	/* a pipe after bytes already read from it (the sniffed head): head first, then the
	 * pipe, with lines counted across both */
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *rest = "---\nc: 3\n";
	assert_int_equal(write(p[1], rest, strlen(rest)), (ssize_t)strlen(rest));
	close(p[1]);
	c = (docs){0};
	assert_int_equal(bwk_yaml_parse_fd("-", "\n\na: 1\n", 7, p[0], NULL, count_docs, &c, &err),
			 0);
	close(p[0]);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.lines[0], 3);
	assert_int_equal(c.lines[1], 5);
	/* and JSON the same way */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "2]", 2), 2);
	close(p[1]);
	json_t *j = bwk_json_load_fd("-", " [1,", 4, p[0], 0, 0, &err);
	close(p[0]);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 2);
	json_decref(j);
}

static void test_json_budget(void **state)
{
	(void)state;
	gen g = {0};
	put(&g, "[");
	for (int i = 0; i < 20000; i++)
		put(&g, "%s{\"Id\": \"c%d\", \"HostConfig\": {\"Privileged\": true}}", i ? "," : "",
		    i);
	put(&g, "]");
	bwk_error *err = NULL;
	json_t *j = bwk_json_load_buffer("i.json", g.buf, g.len, SMALL_BUDGET, &err);
	assert_null(j);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	expect_message(err, "i.json: document needs more than 1 MiB");
	bwk_error_free(err);
	err = NULL;
	j = bwk_json_load_buffer("i.json", g.buf, g.len, 0, &err);
	assert_non_null(j);
	assert_int_equal(json_array_size(j), 20000);
	json_decref(j);
	j = bwk_json_load_buffer("i.json", "[1,]", 4, 0, &err);
	assert_null(j);
	assert_int_equal(bwk_error_code(err), BWK_E_INPUT);
	expect_message(err, "i.json:1: invalid JSON");
	bwk_error_free(err);
	free(g.buf);
}

typedef struct elems {
	size_t n, last;
	json_int_t sum;
} elems;

static int add_elem(void *ctx, size_t index, const json_t *e, bwk_error **err)
{
	(void)err;
	elems *c = ctx;
	c->n++;
	c->last = index;
	c->sum += json_integer_value(json_object_get(e, "v")) + json_integer_value(e);
	return 0;
}

static int array_each(const char *text, size_t budget, elems *c, bwk_error **err)
{
	*c = (elems){0};
	size_t n = strlen(text), h = n / 2;
	if (n > 4096) /* more than a pipe holds: all of it as the head */
		return bwk_json_array_each("a.json", text, n, -1, 0, budget, add_elem, c, err);
	/* half of it as the sniffed head, half from a pipe */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text + h, n - h), (ssize_t)(n - h));
	close(p[1]);
	int rc = bwk_json_array_each("a.json", text, h, p[0], 0, budget, add_elem, c, err);
	close(p[0]);
	return rc;
}

static void test_json_array_each(void **state)
{
	(void)state;
	elems c;
	bwk_error *err = NULL;
	assert_int_equal(
	    array_each(" [ {\"v\": 1}, 2,\n{\"v\": \"]\\\"[\", \"w\": [3]}, [4] ]\n", 0, &c, &err),
	    0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.last, 3);
	assert_int_equal(c.sum, 3);
	assert_int_equal(array_each("[]", 0, &c, &err), 0);
	assert_int_equal(c.n, 0);
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"[1,]", "a.json:1: invalid JSON: value expected"},
	    {"[1\n,\n{\"a\": 1, \"a\": 2}]", "a.json:3: invalid JSON: duplicate object key"},
	    {"[1] x", "a.json:1: invalid JSON: end of file expected"},
	    {"[1, 2", "a.json:1: invalid JSON: ']' expected"},
	    {"[1 2]", "a.json:1: invalid JSON: end of file expected"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(array_each(bad[i].text, 0, &c, &err), -1);
		assert_int_equal(bwk_error_code(err), BWK_E_INPUT);
		expect_message(err, bad[i].msg);
		bwk_error_free(err);
		err = NULL;
	}
	/* the budget is per element: many elements pass, one too big is refused */
	gen g = {0};
	put(&g, "[");
	for (int i = 0; i < 20000; i++)
		put(&g, "%s{\"v\": 1, \"pad\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		    i ? "," : "");
	put(&g, ", {\"big\": [");
	for (int i = 0; i < 20000; i++)
		put(&g, "%s\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"", i ? "," : "");
	put(&g, "]}]");
	assert_int_equal(array_each(g.buf, SMALL_BUDGET, &c, &err), -1);
	assert_int_equal(c.n, 20000);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	expect_message(err, "a.json: [20000]: element needs more than 1 MiB of memory");
	bwk_error_free(err);
	free(g.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_anchors_and_merge),
	    cmocka_unit_test(test_billion_laughs),
	    cmocka_unit_test(test_depth_cap),
	    cmocka_unit_test(test_errors_name_line),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_memory_one_huge_document),
	    cmocka_unit_test(test_memory_many_small_documents),
	    cmocka_unit_test(test_memory_deep_nesting_long_keys),
	    cmocka_unit_test(test_memory_long_scalars),
	    cmocka_unit_test(test_memory_aliases_shared),
	    cmocka_unit_test(test_parse_fd),
	    cmocka_unit_test(test_json_budget),
	    cmocka_unit_test(test_json_array_each),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
