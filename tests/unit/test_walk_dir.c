/* Unit tests: the rootfs directory reader and the hygiene rules through the scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/image.h"
#include "bulwark/scan.h"

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/bwk-walk-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	char cmd[512];
	snprintf(
	    cmd, sizeof(cmd),
	    "cd %s && mkdir -p bin etc tmp pub/deep && printf 'x' > bin/su && chmod 4755 bin/su"
	    " && printf 'y' > bin/nox && chmod 4644 bin/nox && chmod 1777 tmp && chmod 0777 pub"
	    " && ln -s / escape && ln -s /etc/shadow etc/link && printf 'hello' > etc/hosts",
	    root);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

typedef struct seen {
	char paths[64][128];
	int types[64];
	int n;
	char content[64];
} seen;

static int collect(void *ctx, const bwk_entry *e, bwk_error **err)
{
	seen *s = ctx;
	if (s->n < 64) {
		snprintf(s->paths[s->n], 128, "%s", e->path);
		s->types[s->n] = e->type;
		s->n++;
	}
	if (strcmp(e->path, "etc/hosts") == 0) {
		ssize_t r = bwk_entry_read(e, s->content, sizeof(s->content) - 1, err);
		if (r < 0)
			return -1;
		s->content[r] = '\0';
	}
	return 0;
}

static int find(const seen *s, const char *p)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], p) == 0)
			return i;
	return -1;
}

static void test_walk_no_follow(void **state)
{
	(void)state;
	seen s = {0};
	bwk_visitor v = {.ctx = &s, .entry = collect};
	bwk_error *err = NULL;
	assert_int_equal(bwk_rootfs_walk(root, NULL, &v, &err), 0);
	int i = find(&s, "escape");
	assert_true(i >= 0);
	assert_int_equal(s.types[i], BWK_ENTRY_SYMLINK);
	/* nothing below the symlink to / was walked */
	for (int k = 0; k < s.n; k++)
		assert_true(strncmp(s.paths[k], "escape/", 7) != 0);
	assert_true(find(&s, "pub/deep") >= 0);
	assert_string_equal(s.content, "hello");
	/* name order */
	assert_true(find(&s, "bin") < find(&s, "etc"));
}

static void test_walk_limits(void **state)
{
	(void)state;
	seen s = {0};
	bwk_visitor v = {.ctx = &s, .entry = collect};
	bwk_error *err = NULL;
	bwk_rootfs_opts o = {.max_entries = 3};
	assert_int_equal(bwk_rootfs_walk(root, &o, &v, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	err = NULL;
	bwk_rootfs_opts d = {.max_depth = 1};
	assert_int_equal(bwk_rootfs_walk(root, &d, &v, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	err = NULL;
	assert_int_equal(bwk_rootfs_walk("/nonexistent-bwk", NULL, &v, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_NOTFOUND);
	bwk_error_free(err);
}

static void test_hygiene_rules(void **state)
{
	(void)state;
	bwk_findings *f = bwk_findings_new();
	bwk_scan_opts o = {.target = root, .quiet = true};
	bwk_error *err = NULL;
	assert_int_equal(bwk_scan_target(root, &o, f, &err), 0);
	int setuid = 0, ww = 0;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (!strcmp(x->rule->id, "setuid-file")) {
			setuid++;
			assert_string_equal(x->path, "bin/su"); /* not bin/nox: no exec bit */
		}
		if (!strcmp(x->rule->id, "world-writable-dir")) {
			ww++;
			assert_string_equal(x->path, "pub"); /* not tmp: sticky */
		}
	}
	assert_int_equal(setuid, 1);
	assert_int_equal(ww, 1);
	assert_int_equal(bwk_findings_count(f), 2);
	bwk_findings_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk_no_follow),
	    cmocka_unit_test(test_walk_limits),
	    cmocka_unit_test(test_hygiene_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
