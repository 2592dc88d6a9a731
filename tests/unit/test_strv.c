/* Unit tests: the string vector (bulwark/strv.h) — growth keeps it NULL-terminated, the bound
 * is an error and not a crash, a hand-allocated empty list grows, and the cleanups free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/strv.h"
#include "core/cleanup.h"
#include "core/util.h"

static void test_push_copies_and_terminates(void **state)
{
	(void)state;
	bwk_strv v = {0};
	char buf[16];
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof buf, "s%d", i);
		assert_int_equal(bwk_strv_push(&v, buf, NULL), 0);
		buf[0] = 'x'; /* a copy was pushed */
		assert_int_equal(v.n, (size_t)i + 1);
		assert_null(v.v[v.n]);
		assert_true(v.cap >= v.n + 1);
	}
	assert_string_equal(v.v[0], "s0");
	assert_string_equal(v.v[99], "s99");
	assert_true(bwk_strv_has(&v, "s42"));
	assert_false(bwk_strv_has(&v, "s100"));
	bwk_strv_clear(&v);
	assert_null(v.v);
	assert_int_equal(v.n, 0);
	assert_int_equal(v.cap, 0);
	bwk_strv_clear(&v); /* twice is fine */
}

static void test_take_owns(void **state)
{
	(void)state;
	bwk_strv v = {0};
	assert_int_equal(bwk_strv_take(&v, xstrdup("a=b"), NULL), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.v[0], "a=b");
	bwk_strv_clear(&v); /* ASan: no leak, no double free */
}

/* The OCI model allocates an empty list by hand ({NULL}, cap 0) to tell it from no list. */
static void test_hand_allocated_empty_grows(void **state)
{
	(void)state;
	bwk_strv v = {.v = xcalloc(1, sizeof(char *))};
	assert_false(bwk_strv_has(&v, "x"));
	for (int i = 0; i < 20; i++)
		assert_int_equal(bwk_strv_push(&v, "x", NULL), 0);
	assert_int_equal(v.n, 20);
	assert_null(v.v[20]);
	bwk_strv_clear(&v);
}

static void test_bound_is_an_error(void **state)
{
	(void)state;
	bwk_strv v = {0};
	for (int i = 0; i < BWK_STRV_MAX; i++)
		assert_int_equal(bwk_strv_push(&v, "", NULL), 0);
	bwk_error *err = NULL;
	assert_int_equal(bwk_strv_push(&v, "one more", &err), -1);
	assert_non_null(err);
	assert_int_equal(err->code, BWK_E_LIMIT);
	assert_non_null(strstr(err->msg, "65536"));
	bwk_error_free(err);
	err = NULL;
	/* take frees what it cannot keep (ASan would report the leak) */
	assert_int_equal(bwk_strv_take(&v, xstrdup("lost"), &err), -1);
	bwk_error_free(err);
	assert_int_equal(v.n, BWK_STRV_MAX);
	assert_null(v.v[v.n]);
	bwk_strv_clear(&v);
}

/* A vector with a bound of its own: larger than the default (a directory's entries), or
 * smaller; clearing gives the default back. */
static void test_own_bound(void **state)
{
	(void)state;
	bwk_strv v = {.max = BWK_STRV_MAX + 10};
	for (int i = 0; i < BWK_STRV_MAX + 10; i++)
		assert_int_equal(bwk_strv_push(&v, "", NULL), 0);
	bwk_error *err = NULL;
	assert_int_equal(bwk_strv_push(&v, "one more", &err), -1);
	assert_non_null(err);
	assert_int_equal(err->code, BWK_E_LIMIT);
	assert_non_null(strstr(err->msg, "65546"));
	bwk_error_free(err);
	bwk_strv_clear(&v);
	assert_int_equal(v.max, 0);

	bwk_strv small = {.max = 2};
	assert_int_equal(bwk_strv_push(&small, "a", NULL), 0);
	assert_int_equal(bwk_strv_push(&small, "b", NULL), 0);
	assert_int_equal(bwk_strv_push(&small, "c", NULL), -1);
	assert_int_equal(small.n, 2);
	assert_null(small.v[2]);
	bwk_strv_clear(&small);
}

static void fill_and_return(void)
{
	cleanup_strv_clear bwk_strv v = {0};
	assert_int_equal(bwk_strv_push(&v, "freed on return", NULL), 0);
}

static void test_cleanups(void **state)
{
	(void)state;
	fill_and_return(); /* ASan's leak check fails the test if the cleanup did not run */
	{
		cleanup_strv char **v = xcalloc(3, sizeof(char *));
		v[0] = xstrdup("a");
		v[1] = xstrdup("b");
	}
	{
		cleanup_strv char **none = NULL; /* NULL: nothing to free */
		(void)none;
	}
	bwk_strv s = {0};
	assert_int_equal(bwk_strv_push(&s, "given away", NULL), 0);
	char **given = steal_pointer(&s.v);
	bwk_strv_free(given);
	bwk_strv_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push_copies_and_terminates),
	    cmocka_unit_test(test_take_owns),
	    cmocka_unit_test(test_hand_allocated_empty_grows),
	    cmocka_unit_test(test_bound_is_an_error),
	    cmocka_unit_test(test_own_bound),
	    cmocka_unit_test(test_cleanups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
