/* Unit tests: the order in which bwk_scan_many's workers take targets (scan_many.c): largest
 * first, equal sizes in list order, unknown sizes (0) last. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#define BWK_IN_SCAN
#include "bulwark/scan.h"
#include "scan/scan_private.h"

static void test_largest_first(void **state)
{
	(void)state;
	/* the bench's case: small images, the large one listed last */
	const uint64_t sizes[] = {1000, 1200, 900, 1200, 27000000};
	size_t order[5];
	bwk_scan_order(sizes, 5, order);
	const size_t want[] = {4, 1, 3, 0, 2};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], want[i]);
}

static void test_ties_keep_list_order(void **state)
{
	(void)state;
	/* unknown sizes (0: a failed lookup) go last, in list order, as do equal ones */
	uint64_t sizes[64];
	for (size_t i = 0; i < 64; i++)
		sizes[i] = i % 3 == 0 ? 0 : (i % 2 ? 7 : UINT64_MAX);
	size_t order[64];
	bwk_scan_order(sizes, 64, order);
	size_t k = 0;
	for (int pass = 0; pass < 3; pass++) {
		uint64_t want = pass == 0 ? UINT64_MAX : pass == 1 ? 7 : 0;
		for (size_t i = 0; i < 64; i++)
			if (sizes[i] == want)
				assert_int_equal(order[k++], i);
	}
	assert_int_equal(k, 64);
}

static void test_empty_and_one(void **state)
{
	(void)state;
	size_t order[1] = {99};
	bwk_scan_order(NULL, 0, order);
	assert_int_equal(order[0], 99);
	const uint64_t one[] = {5};
	bwk_scan_order(one, 1, order);
	assert_int_equal(order[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_largest_first),
	    cmocka_unit_test(test_ties_keep_list_order),
	    cmocka_unit_test(test_empty_and_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
