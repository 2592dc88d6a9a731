/* Unit tests: version order of each ecosystem, with the published vectors: dpkg's own
 * t/t-version.c cases and Debian Policy 5.6.12's '~' example, apk-tools' test/version.data,
 * the ordering example of PEP 440 ("Summary of permitted suffixes and relative ordering") and
 * SemVer 2.0.0 section 11. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bulwark/vuln.h"

static int cmp(bwk_version_scheme s, const char *a, const char *b)
{
	int c = 99;
	if (bwk_version_compare(s, a, b, &c) < 0) {
		fprintf(stderr, "invalid: '%s' or '%s'\n", a, b);
		fail();
	}
	return c;
}

/* Every element strictly below the next, and equal to itself; checked both ways. */
static void ascending(bwk_version_scheme s, const char *const *v)
{
	for (size_t i = 0; v[i]; i++) {
		assert_int_equal(cmp(s, v[i], v[i]), 0);
		for (size_t j = i + 1; v[j]; j++) {
			if (cmp(s, v[i], v[j]) >= 0 || cmp(s, v[j], v[i]) <= 0) {
				fprintf(stderr, "expected '%s' < '%s'\n", v[i], v[j]);
				fail();
			}
		}
	}
}

static void test_dpkg(void **state)
{
	(void)state;
	/* dpkg t/t-version.c: equality, epoch, version and revision differences */
	assert_int_equal(cmp(BWK_VER_DPKG, "0:0-0", "0:0-0"), 0);
	assert_int_equal(cmp(BWK_VER_DPKG, "0:0-00", "0:00-0"), 0);
	assert_int_equal(cmp(BWK_VER_DPKG, "1:2-3", "1:2-3"), 0);
	assert_true(cmp(BWK_VER_DPKG, "0:0-0", "1:0-0") < 0);
	assert_true(cmp(BWK_VER_DPKG, "0:a-0", "0:b-0") < 0);
	assert_true(cmp(BWK_VER_DPKG, "0:0-a", "0:0-b") < 0);
	assert_true(cmp(BWK_VER_DPKG, "1:0-0", "0:0-0") > 0);
	/* an absent epoch is 0 */
	assert_int_equal(cmp(BWK_VER_DPKG, "0:1.0", "1.0"), 0);
	/* Policy 5.6.12: ~~ < ~~a < ~ < (nothing) < a */
	static const char *const policy[] = {"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", NULL};
	ascending(BWK_VER_DPKG, policy);
	static const char *const real[] = {"2.36-9+deb12u3",   "2.36-9+deb12u4",
					   "2.36-9+deb12u10",  "3.0.11-1~deb12u2",
					   "3.0.13-1~deb12u1", "3.0.13-1",
					   "3.0.13-1+b1",      "1:0.9",
					   "1:1.2.13.dfsg-1",  NULL};
	ascending(BWK_VER_DPKG, real);
	static const char *const bad[] = {"",	  "1:",	   ":1",      "x:1.0",
					  "1.0-", "1.0 1", "1.0\x01", NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_false(bwk_version_valid(BWK_VER_DPKG, bad[i]));
}

static void test_apk(void **state)
{
	(void)state;
	/* apk-tools test/version.data (a selection) */
	static const char *const v[] = {"0.1.0_alpha_pre2",
					"0.1.0_alpha",
					"0.1.0_beta",
					"0.1.0_pre",
					"0.1.0_rc1",
					"0.1.0",
					"0.1.0-r1",
					"0.1.0_p1",
					"0.1.0a",
					"0.1.0a_p2",
					"0.1.1",
					"0.1.10",
					"2.34",
					NULL};
	ascending(BWK_VER_APK, v);
	static const char *const real[] = {"1.2.4_git20230717-r3",
					   "1.2.4_git20230717-r4",
					   "3.1.4-r5",
					   "3.1.4-r6",
					   "3.1.5-r0",
					   NULL};
	ascending(BWK_VER_APK, real);
	assert_int_equal(cmp(BWK_VER_APK, "1.0-r0", "1.0-r0"), 0);
	/* zero-led components after a dot: more leading zeros sort lower */
	static const char *const zeros[] = {"1.001", "1.01", "1.1", "1.2", NULL};
	ascending(BWK_VER_APK, zeros);
	static const char *const bad[] = {"",	       "a1",   "1.0_foo", "1.0-r",
					  "1.0-r1-r2", "1..0", "1.0ab",	  NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_false(bwk_version_valid(BWK_VER_APK, bad[i]));
}

static void test_pep440(void **state)
{
	(void)state;
	static const char *const spec[] = {"1.dev0",
					   "1.0.dev456",
					   "1.0a1",
					   "1.0a2.dev456",
					   "1.0a12.dev456",
					   "1.0a12",
					   "1.0b1.dev456",
					   "1.0b2",
					   "1.0b2.post345.dev456",
					   "1.0b2.post345",
					   "1.0rc1.dev456",
					   "1.0rc1",
					   "1.0",
					   "1.0+abc.5",
					   "1.0+abc.7",
					   "1.0+5",
					   "1.0.post456.dev34",
					   "1.0.post456",
					   "1.0.15",
					   "1.1.dev1",
					   NULL};
	ascending(BWK_VER_PEP440, spec);
	/* normalisation: the same version spelled differently */
	assert_int_equal(cmp(BWK_VER_PEP440, "1.0", "1.0.0"), 0);
	assert_int_equal(cmp(BWK_VER_PEP440, "1.0alpha1", "1.0a1"), 0);
	assert_int_equal(cmp(BWK_VER_PEP440, "1.0-1", "1.0.post1"), 0);
	assert_int_equal(cmp(BWK_VER_PEP440, "1.0c1", "1.0rc1"), 0);
	assert_int_equal(cmp(BWK_VER_PEP440, "v2.0", "2.0"), 0);
	assert_true(cmp(BWK_VER_PEP440, "1!0.1", "2.0") > 0);
	assert_true(cmp(BWK_VER_PEP440, "2.19.0", "2.31.0") < 0);
	assert_false(bwk_version_valid(BWK_VER_PEP440, "1.0-beta-x"));
	assert_false(bwk_version_valid(BWK_VER_PEP440, "abc"));
}

static void test_semver(void **state)
{
	(void)state;
	static const char *const spec[] = {"1.0.0-alpha",
					   "1.0.0-alpha.1",
					   "1.0.0-alpha.beta",
					   "1.0.0-beta",
					   "1.0.0-beta.2",
					   "1.0.0-beta.11",
					   "1.0.0-rc.1",
					   "1.0.0",
					   "2.0.0",
					   "2.1.0",
					   "2.1.1",
					   "4.17.20",
					   "4.17.21",
					   NULL};
	ascending(BWK_VER_SEMVER, spec);
	assert_int_equal(cmp(BWK_VER_SEMVER, "1.0.0+build.5", "1.0.0"), 0);
	assert_int_equal(cmp(BWK_VER_SEMVER, "v1.2.3", "1.2.3"), 0);
	assert_false(bwk_version_valid(BWK_VER_SEMVER, "x1"));
	assert_false(bwk_version_valid(BWK_VER_SEMVER, "1.0.0-"));
	assert_false(bwk_version_valid(BWK_VER_SEMVER, "1.0.0 junk"));
}

static void test_bounds(void **state)
{
	(void)state;
	char big[300];
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int s = BWK_VER_DPKG; s <= BWK_VER_SEMVER; s++)
		assert_false(bwk_version_valid((bwk_version_scheme)s, big));
	/* numbers beyond 64 bits still compare by value */
	assert_true(cmp(BWK_VER_DPKG, "99999999999999999999999", "100000000000000000000000") < 0);
	assert_true(cmp(BWK_VER_SEMVER, "1.0.99999999999999999999", "1.0.100000000000000000000") <
		    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dpkg),   cmocka_unit_test(test_apk),
	    cmocka_unit_test(test_pep440), cmocka_unit_test(test_semver),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
