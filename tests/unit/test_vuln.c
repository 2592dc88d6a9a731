/* Unit tests: version order of each ecosystem, with the published vectors: dpkg's own
 * t/t-version.c cases and Debian Policy 5.6.12's '~' example, apk-tools' test/version.data,
 * the ordering example of PEP 440 ("Summary of permitted suffixes and relative ordering") and
 * SemVer 2.0.0 section 11, rpm's tests/rpmvercmp.at, Maven's ComparableVersionTest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/vuln.h"

#define BWK_IN_VULN
#include "vuln/vuln_private.h"

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

static void test_rpm(void **state)
{
	(void)state;
	/* rpm tests/rpmvercmp.at (rpm 4.18, with the caret cases), each checked against
	 * `rpm --eval '%{lua: print(rpm.vercmp(A, B))}'` of Debian's rpm 4.18 */
	static const struct {
		const char *a, *b;
		int r;
	} v[] = {
	    {"1.0", "1.0", 0},
	    {"1.0", "2.0", -1},
	    {"2.0", "1.0", 1},
	    {"2.0.1", "2.0.1", 0},
	    {"2.0", "2.0.1", -1},
	    {"2.0.1", "2.0", 1},
	    {"2.0.1a", "2.0.1a", 0},
	    {"2.0.1a", "2.0.1", 1},
	    {"2.0.1", "2.0.1a", -1},
	    {"5.5p1", "5.5p1", 0},
	    {"5.5p1", "5.5p2", -1},
	    {"5.5p2", "5.5p1", 1},
	    {"5.5p10", "5.5p10", 0},
	    {"5.5p1", "5.5p10", -1},
	    {"5.5p10", "5.5p1", 1},
	    {"10xyz", "10.1xyz", -1},
	    {"10.1xyz", "10xyz", 1},
	    {"xyz10", "xyz10", 0},
	    {"xyz10", "xyz10.1", -1},
	    {"xyz10.1", "xyz10", 1},
	    {"xyz.4", "xyz.4", 0},
	    {"xyz.4", "8", -1},
	    {"8", "xyz.4", 1},
	    {"xyz.4", "2", -1},
	    {"2", "xyz.4", 1},
	    {"5.5p2", "5.6p1", -1},
	    {"5.6p1", "5.5p2", 1},
	    {"5.6p1", "6.5p1", -1},
	    {"6.5p1", "5.6p1", 1},
	    {"6.0.rc1", "6.0", 1},
	    {"6.0", "6.0.rc1", -1},
	    {"10b2", "10a1", 1},
	    {"10a2", "10b2", -1},
	    {"1.0aa", "1.0aa", 0},
	    {"1.0a", "1.0aa", -1},
	    {"1.0aa", "1.0a", 1},
	    {"10.0001", "10.0001", 0},
	    {"10.0001", "10.1", 0},
	    {"10.1", "10.0001", 0},
	    {"10.0001", "10.0039", -1},
	    {"10.0039", "10.0001", 1},
	    {"4.999.9", "5.0", -1},
	    {"5.0", "4.999.9", 1},
	    {"20101121", "20101121", 0},
	    {"20101121", "20101122", -1},
	    {"20101122", "20101121", 1},
	    {"2_0", "2_0", 0},
	    {"2.0", "2_0", 0},
	    {"2_0", "2.0", 0},
	    {"a", "a", 0},
	    {"a+", "a+", 0},
	    {"a+", "a_", 0},
	    {"a_", "a+", 0},
	    {"+a", "+a", 0},
	    {"+a", "_a", 0},
	    {"_a", "+a", 0},
	    {"+_", "+_", 0},
	    {"_+", "+_", 0},
	    {"_+", "_+", 0},
	    {"+", "_", 0},
	    {"_", "+", 0},
	    {"1.0~rc1", "1.0~rc1", 0},
	    {"1.0~rc1", "1.0", -1},
	    {"1.0", "1.0~rc1", 1},
	    {"1.0~rc1", "1.0~rc2", -1},
	    {"1.0~rc2", "1.0~rc1", 1},
	    {"1.0~rc1~git123", "1.0~rc1~git123", 0},
	    {"1.0~rc1~git123", "1.0~rc1", -1},
	    {"1.0~rc1", "1.0~rc1~git123", 1},
	    {"1.0^", "1.0^", 0},
	    {"1.0^", "1.0", 1},
	    {"1.0", "1.0^", -1},
	    {"1.0^git1", "1.0^git1", 0},
	    {"1.0^git1", "1.0", 1},
	    {"1.0", "1.0^git1", -1},
	    {"1.0^git1", "1.0^git2", -1},
	    {"1.0^git2", "1.0^git1", 1},
	    {"1.0^git1", "1.01", -1},
	    {"1.01", "1.0^git1", 1},
	    {"1.0^20160101", "1.0^20160101", 0},
	    {"1.0^20160101", "1.0.1", -1},
	    {"1.0.1", "1.0^20160101", 1},
	    {"1.0^20160101^git1", "1.0^20160101^git1", 0},
	    {"1.0^20160102", "1.0^20160101^git1", 1},
	    {"1.0^20160101^git1", "1.0^20160102", -1},
	    {"1.0~rc1^git1", "1.0~rc1^git1", 0},
	    {"1.0~rc1^git1", "1.0~rc1", 1},
	    {"1.0~rc1", "1.0~rc1^git1", -1},
	    {"1.0^git1~pre", "1.0^git1~pre", 0},
	    {"1.0^git1", "1.0^git1~pre", 1},
	    {"1.0^git1~pre", "1.0^git1", -1},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int c = cmp(BWK_VER_RPM, v[i].a, v[i].b);
		if (c != v[i].r) {
			fprintf(stderr, "rpmvercmp(%s, %s) = %d, want %d\n", v[i].a, v[i].b, c,
				v[i].r);
			fail();
		}
	}
	/* epoch, version, release: an absent epoch is 0; a missing release is not compared */
	static const char *const evr[] = {
	    "1.1.1k-7.el8_6", "1.1.1k-9.el8_7", "1.1.1k-10.el8_7", "1.1.1l-1.el8",
	    "0:2.0-1",	      "1:0.5-1",	"2:0.1-0",	   NULL};
	ascending(BWK_VER_RPM, evr);
	assert_int_equal(cmp(BWK_VER_RPM, "0:1.0-1", "1.0-1"), 0);
	assert_int_equal(cmp(BWK_VER_RPM, "1.0", "1.0-7"), 0);
	static const char *const bad[] = {
	    "", ":1.0", "x:1.0", "1:", "1.0-", "1:2:3", "1.0 1", NULL};
	for (size_t i = 0; bad[i]; i++)
		assert_false(bwk_version_valid(BWK_VER_RPM, bad[i]));
}

static void test_maven(void **state)
{
	(void)state;
	/* maven-artifact ComparableVersionTest: VERSIONS_QUALIFIER, VERSIONS_NUMBER, the equal
	 * pairs and testVersionComparing */
	static const char *const qual[] = {"1-alpha2snapshot",
					   "1-alpha2",
					   "1-alpha-123",
					   "1-beta-2",
					   "1-beta123",
					   "1-m2",
					   "1-m11",
					   "1-rc",
					   "1-cr2",
					   "1-rc123",
					   "1-SNAPSHOT",
					   "1",
					   "1-sp",
					   "1-sp2",
					   "1-sp123",
					   "1-abc",
					   "1-def",
					   "1-pom-1",
					   "1-1-snapshot",
					   "1-1",
					   "1-2",
					   "1-123",
					   NULL};
	ascending(BWK_VER_MAVEN, qual);
	static const char *const num[] = {"2.0",   "2-1",    "2.0.a", "2.0.0.a", "2.0.2", "2.0.123",
					  "2.1.0", "2.1-a",  "2.1b",  "2.1-c",	 "2.1-1", "2.1.0.1",
					  "2.2",   "2.123",  "11.a2", "11.a11",	 "11.b2", "11.b11",
					  "11.m2", "11.m11", "11",    "11.a",	 "11b",	  "11c",
					  "11m",   NULL};
	ascending(BWK_VER_MAVEN, num);
	static const char *const eq[][2] = {
	    {"1", "1"},
	    {"1", "1.0"},
	    {"1", "1.0.0"},
	    {"1.0", "1.0.0"},
	    {"1", "1-0"},
	    {"1", "1.0-0"},
	    {"1.0", "1.0-0"},
	    {"1a", "1.a"},
	    {"1a", "1-a"},
	    {"1a", "1.0-a"},
	    {"1a", "1.0.0-a"},
	    {"1.0a", "1.0.a"},
	    {"1.0.0a", "1.0.0.a"},
	    {"1x", "1.x"},
	    {"1x", "1-x"},
	    {"1x", "1.0-x"},
	    {"1x", "1.0.0-x"},
	    {"1.0x", "1.0.x"},
	    {"1.0.0x", "1.0.0.x"},
	    {"1ga", "1"},
	    {"1final", "1"},
	    {"1cr", "1rc"},
	    {"1a1", "1alpha1"},
	    {"1b2", "1beta2"},
	    {"1m3", "1milestone3"},
	    {"1X", "1x"},
	    {"1A", "1a"},
	    {"1B", "1b"},
	    {"1M", "1m"},
	    {"1Ga", "1"},
	    {"1GA", "1"},
	    {"1Final", "1"},
	    {"1FinaL", "1"},
	    {"1FINAL", "1"},
	    {"1Cr", "1Rc"},
	    {"1cR", "1rC"},
	    {"1m3", "1Milestone3"},
	    {"1m3", "1MileStone3"},
	    {"1m3", "1MILESTONE3"},
	    {"1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	};
	for (size_t i = 0; i < sizeof(eq) / sizeof(eq[0]); i++) {
		if (cmp(BWK_VER_MAVEN, eq[i][0], eq[i][1]) != 0 ||
		    cmp(BWK_VER_MAVEN, eq[i][1], eq[i][0]) != 0) {
			fprintf(stderr, "expected %s == %s\n", eq[i][0], eq[i][1]);
			fail();
		}
	}
	static const char *const lt[][2] = {
	    {"1", "2"},
	    {"1.5", "2"},
	    {"1", "2.5"},
	    {"1.0", "1.1"},
	    {"1.1", "1.2"},
	    {"1.0.0", "1.1"},
	    {"1.0.1", "1.1"},
	    {"1.1", "1.2.0"},
	    {"1.0-alpha-1", "1.0"},
	    {"1.0-alpha-1", "1.0-alpha-2"},
	    {"1.0-alpha-1", "1.0-beta-1"},
	    {"1.0-beta-1", "1.0-SNAPSHOT"},
	    {"1.0-SNAPSHOT", "1.0"},
	    {"1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"},
	    {"1.0", "1.0-1"},
	    {"1.0-1", "1.0-2"},
	    {"1.0.0", "1.0-1"},
	    {"2.0-1", "2.0.1"},
	    {"2.0.1-klm", "2.0.1-lmn"},
	    {"2.0.1", "2.0.1-xyz"},
	    {"2.0.1", "2.0.1-123"},
	    {"2.0.1-xyz", "2.0.1-123"},
	    /* real ones: Log4Shell's fix, Spring's release trains */
	    {"2.14.1", "2.15.0"},
	    {"2.15.0-rc1", "2.15.0"},
	    {"5.3.17", "5.3.18"},
	};
	for (size_t i = 0; i < sizeof(lt) / sizeof(lt[0]); i++) {
		if (cmp(BWK_VER_MAVEN, lt[i][0], lt[i][1]) >= 0 ||
		    cmp(BWK_VER_MAVEN, lt[i][1], lt[i][0]) <= 0) {
			fprintf(stderr, "expected %s < %s\n", lt[i][0], lt[i][1]);
			fail();
		}
	}
	assert_false(bwk_version_valid(BWK_VER_MAVEN, ""));
	assert_false(bwk_version_valid(BWK_VER_MAVEN, "1.0 beta"));
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

static void test_cvss3(void **state)
{
	(void)state;
	/* scores as the FIRST calculator gives them */
	assert_true(osv_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == 9.8);
	assert_true(osv_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H") == 10.0);
	assert_true(osv_cvss3_score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N") == 6.1);
	assert_true(osv_cvss3_score("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H") == 5.5);
	assert_true(osv_cvss3_score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N") == 0);
	assert_true(osv_cvss3_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") < 0);
	assert_true(osv_cvss3_score("CVSS:2.0/AV:N") < 0);
	assert_int_equal(osv_score_severity(9.8), BWK_SEV_CRITICAL);
	assert_int_equal(osv_score_severity(7.0), BWK_SEV_HIGH);
	assert_int_equal(osv_score_severity(6.9), BWK_SEV_MEDIUM);
	assert_int_equal(osv_score_severity(3.9), BWK_SEV_LOW);
}

static bool affects(const char *data, int scheme, const char *v, const char *want_fixed)
{
	char *fixed = NULL;
	bool r = osv_affects(data, scheme, v, &fixed);
	if (want_fixed)
		assert_string_equal(fixed ? fixed : "(none)", want_fixed);
	else
		assert_null(fixed);
	free(fixed);
	return r;
}

static void test_osv_ranges(void **state)
{
	(void)state;
	/* two vulnerable spans, events out of order, as OSV allows */
	const char *two = "{\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":["
			  "{\"fixed\":\"1.2-1\"},{\"introduced\":\"0\"},"
			  "{\"introduced\":\"2.0-1\"},{\"fixed\":\"2.0-3\"}]}],\"versions\":[]}";
	assert_true(affects(two, BWK_VER_DPKG, "1.0-1", "1.2-1"));
	assert_true(affects(two, BWK_VER_DPKG, "1.2-1~rc1", "1.2-1"));
	assert_false(affects(two, BWK_VER_DPKG, "1.2-1", NULL));
	assert_false(affects(two, BWK_VER_DPKG, "1.5-1", NULL));
	assert_true(affects(two, BWK_VER_DPKG, "2.0-2", "2.0-3"));
	assert_false(affects(two, BWK_VER_DPKG, "2.0-3", NULL));
	/* last_affected is inclusive, and names no fix */
	const char *last = "{\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
			   "{\"introduced\":\"1.0.0\"},{\"last_affected\":\"1.4.2\"}]}],"
			   "\"versions\":[]}";
	assert_false(affects(last, BWK_VER_SEMVER, "0.9.9", NULL));
	assert_true(affects(last, BWK_VER_SEMVER, "1.4.2", NULL));
	assert_false(affects(last, BWK_VER_SEMVER, "1.4.3", NULL));
	assert_true(affects(last, BWK_VER_SEMVER, "1.4.2-rc.1", NULL));
	/* explicit versions */
	const char *vers = "{\"ranges\":[],\"versions\":[\"2.0\",\"2.1\"]}";
	assert_true(affects(vers, BWK_VER_PEP440, "2.1", NULL));
	assert_false(affects(vers, BWK_VER_PEP440, "2.10", NULL));
	/* malformed stored data never matches */
	assert_false(affects("{", BWK_VER_DPKG, "1.0", NULL));
}

static int parse_str(const char *json, osv_record *r, char **msg)
{
	size_t n = strlen(json);
	char *buf = malloc(n);
	memcpy(buf, json, n);
	bwk_error *err = NULL;
	int ret = osv_parse(buf, n, r, &err);
	free(buf);
	*msg = err ? bwk_error_format(err) : NULL;
	bwk_error_free(err);
	return ret;
}

static void test_osv_parse(void **state)
{
	(void)state;
	osv_record r;
	char *msg = NULL;
	assert_int_equal(
	    parse_str("{\"id\":\"GHSA-1\",\"aliases\":[\"CVE-1\",\"bad id!\",\"CVE-2\"],"
		      "\"database_specific\":{\"severity\":\"MODERATE\"},\"affected\":["
		      "{\"package\":{\"ecosystem\":\"PyPI\",\"name\":\"Foo_Bar.baz\"},"
		      "\"ranges\":[{\"type\":\"GIT\",\"repo\":\"x\",\"events\":[{\"introduced\":"
		      "\"abc\"}]},{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
		      "{\"fixed\":\"1.0.post1\"}]}]},{\"package\":{\"purl\":\"pkg:x/y\"}}]}",
		      &r, &msg),
	    0);
	assert_string_equal(r.id, "GHSA-1");
	assert_string_equal(r.aliases, "CVE-1,CVE-2");
	assert_int_equal(r.severity, BWK_SEV_MEDIUM);
	assert_int_equal(r.naff, 1);
	assert_string_equal(r.aff[0].name, "foo-bar-baz");
	/* the GIT range (commits) is dropped, the ECOSYSTEM one kept */
	assert_null(strstr(r.aff[0].data, "GIT"));
	assert_non_null(strstr(r.aff[0].data, "1.0.post1"));
	osv_record_free(&r);
	assert_int_equal(parse_str("{\"id\":\"X-1\",\"affected\":[{\"package\":{\"ecosystem\":"
				   "\"Alpine:v3.19\",\"name\":\"a\"},\"ranges\":[{\"type\":"
				   "\"ECOSYSTEM\",\"events\":[{\"fixed\":\"1.0_foo\"}]}]}]}",
				   &r, &msg),
			 -1);
	assert_non_null(strstr(msg, "X-1: Alpine:v3.19 a: fixed version '1.0_foo'"));
	free(msg);
	assert_int_equal(parse_str("[]", &r, &msg), -1);
	free(msg);
	assert_int_equal(parse_str("{\"id\":\"a/b\"}", &r, &msg), -1);
	free(msg);
}

static void test_vex_purl(void **state)
{
	(void)state;
	const char *have = "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&distro=debian-12";
	/* name only, version, qualifiers (a subset), percent-encoding, case of the type */
	assert_true(vex_purl_matches("pkg:deb/debian/libssl3", have));
	assert_true(vex_purl_matches("PKG:DEB/debian/libssl3@3.0.11-1%7Edeb12u1", have));
	assert_true(vex_purl_matches("pkg:deb/debian/libssl3?distro=debian-12", have));
	assert_true(vex_purl_matches("pkg:npm/%40babel/core@7.23.2", "pkg:npm/@babel/core@7.23.2"));
	/* near misses: another version, another qualifier value, another name or type */
	assert_false(vex_purl_matches("pkg:deb/debian/libssl3@3.0.11-1~deb12u2", have));
	assert_false(vex_purl_matches("pkg:deb/debian/libssl3?arch=arm64", have));
	assert_false(vex_purl_matches("pkg:deb/debian/libssl", have));
	assert_false(vex_purl_matches("pkg:apk/debian/libssl3", have));
	assert_false(
	    vex_purl_matches("pkg:deb/debian/libssl3@3.0.11-1~deb12u1", "pkg:deb/debian/libssl3"));
	/* malformed: no type, bad escapes, a decoded control character, no name */
	assert_false(vex_purl_matches("deb/debian/libssl3", have));
	assert_false(vex_purl_matches("pkg:deb/debian/libssl3@3%", have));
	assert_false(vex_purl_matches("pkg:deb/debian/libssl3@3%zz", have));
	assert_false(vex_purl_matches("pkg:deb/debian/lib%0assl3", have));
	assert_false(vex_purl_matches("pkg:deb/", have));
	assert_false(vex_purl_matches("pkg:deb/debian/libssl3?arch", have));
}

static int vex_str(const char *doc, char **msg)
{
	bwk_error *err = NULL;
	bwk_vex *v = NULL;
	char *copy = malloc(strlen(doc)); /* exactly sized: ASan sees an over-read */
	memcpy(copy, doc, strlen(doc));
	int ret = bwk_vex_parse(copy, strlen(doc), "v.json", &v, &err);
	free(copy);
	*msg = err ? bwk_error_format(err) : NULL;
	bwk_error_free(err);
	if (ret == 0) {
		ret = (int)bwk_vex_statement_count(v);
		bwk_vex_free(v);
	}
	return ret;
}

static void test_vex_parse(void **state)
{
	(void)state;
	char *msg = NULL;
	assert_int_equal(
	    vex_str("{\"statements\":[{\"vulnerability\":\"CVE-1\",\"products\":[\"pkg:"
		    "oci/x\"],\"status\":\"fixed\"},{\"vulnerability\":{\"name\":"
		    "\"CVE-2\",\"aliases\":[\"GHSA-1\"]},\"products\":[{\"@id\":\"pkg:"
		    "oci/x\",\"subcomponents\":[{\"@id\":\"pkg:deb/debian/a\"}]}],"
		    "\"status\":\"not_affected\",\"justification\":"
		    "\"component_not_present\"}]}",
		    &msg),
	    2);
	/* a misspelt status or justification, or not_affected without either: errors */
	assert_int_equal(vex_str("{\"statements\":[{\"vulnerability\":\"CVE-1\",\"status\":"
				 "\"notaffected\"}]}",
				 &msg),
			 -1);
	assert_non_null(strstr(msg, "v.json: statement 1: status 'notaffected'"));
	free(msg);
	assert_int_equal(vex_str("{\"statements\":[{\"vulnerability\":\"CVE-1\",\"status\":"
				 "\"not_affected\",\"justification\":\"trust_me\"}]}",
				 &msg),
			 -1);
	assert_non_null(strstr(msg, "justification 'trust_me'"));
	free(msg);
	assert_int_equal(vex_str("{\"statements\":[{\"vulnerability\":\"CVE-1\",\"status\":"
				 "\"not_affected\"}]}",
				 &msg),
			 -1);
	assert_non_null(strstr(msg, "needs a justification or an impact_statement"));
	free(msg);
	assert_int_equal(vex_str("{\"statements\":[{\"status\":\"fixed\"}]}", &msg), -1);
	assert_non_null(strstr(msg, "no vulnerability named"));
	free(msg);
	assert_int_equal(vex_str("{\"statements\":{}}", &msg), -1);
	assert_non_null(strstr(msg, "neither an OpenVEX document"));
	free(msg);
	assert_int_equal(vex_str("[1,2", &msg), -1);
	free(msg);
	/* CycloneDX VEX: a vulnerability without analysis states nothing */
	assert_int_equal(vex_str("{\"bomFormat\":\"CycloneDX\",\"vulnerabilities\":[{\"id\":"
				 "\"CVE-1\"},{\"id\":\"CVE-2\",\"analysis\":{\"state\":"
				 "\"resolved\"},\"affects\":[{\"ref\":\"pkg:deb/debian/a\"}]}]}",
				 &msg),
			 1);
	/* the limit on ids per statement */
	char big[8192];
	size_t n = (size_t)snprintf(big, sizeof(big),
				    "{\"statements\":[{\"vulnerability\":"
				    "{\"name\":\"CVE-0\",\"aliases\":[");
	for (int i = 0; i < 70; i++)
		n +=
		    (size_t)snprintf(big + n, sizeof(big) - n, "%s\"CVE-%d\"", i ? "," : "", i + 1);
	snprintf(big + n, sizeof(big) - n, "]},\"status\":\"fixed\"}]}");
	assert_int_equal(vex_str(big, &msg), -1);
	assert_non_null(strstr(msg, "more than 64 vulnerability ids"));
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dpkg),       cmocka_unit_test(test_apk),
	    cmocka_unit_test(test_pep440),     cmocka_unit_test(test_semver),
	    cmocka_unit_test(test_rpm),	       cmocka_unit_test(test_maven),
	    cmocka_unit_test(test_bounds),     cmocka_unit_test(test_cvss3),
	    cmocka_unit_test(test_osv_ranges), cmocka_unit_test(test_osv_parse),
	    cmocka_unit_test(test_vex_purl),   cmocka_unit_test(test_vex_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
