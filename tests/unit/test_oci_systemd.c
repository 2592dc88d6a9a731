/* Unit tests: --systemd-cgroup's cgroupsPath (untrusted: config.json) → the slice and the
 * transient scope's unit name, as runc's systemd driver names them (sandbox/oci_systemd.c). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

static int unit(const char *path, char *slice, char *name)
{
	bwk_error *err = NULL;
	int r = ocirt_systemd_unit(path, "c1", slice, name, &err);
	bwk_error_free(err);
	return r;
}

static void test_names(void **state)
{
	(void)state;
	char slice[OCIRT_UNIT_MAX], name[OCIRT_UNIT_MAX];
	assert_int_equal(unit("system.slice:docker:abc123", slice, name), 0);
	assert_string_equal(slice, "system.slice");
	assert_string_equal(name, "docker-abc123.scope");
	/* kubelet's: a pod slice, the cri-containerd prefix */
	assert_int_equal(unit("kubepods-besteffort-pod1.slice:cri-containerd:f00", slice, name), 0);
	assert_string_equal(slice, "kubepods-besteffort-pod1.slice");
	assert_string_equal(name, "cri-containerd-f00.scope");
	/* empty parts: system.slice, no prefix; the empty path: bulwark-ID */
	assert_int_equal(unit(":bwk:x", slice, name), 0);
	assert_string_equal(slice, "system.slice");
	assert_string_equal(name, "bwk-x.scope");
	assert_int_equal(unit("user.slice::x", slice, name), 0);
	assert_string_equal(name, "x.scope");
	assert_int_equal(unit("", slice, name), 0);
	assert_string_equal(slice, "system.slice");
	assert_string_equal(name, "bulwark-c1.scope");
	assert_int_equal(unit(NULL, slice, name), 0);
	assert_string_equal(name, "bulwark-c1.scope");
}

static void test_refused(void **state)
{
	(void)state;
	char slice[OCIRT_UNIT_MAX], name[OCIRT_UNIT_MAX];
	static const char *const bad[] = {
	    "/bulwark/x",	      /* a cgroupfs path */
	    "system.slice:a",	      /* two parts */
	    "system.slice:a:b:c",     /* four */
	    "system:a:b",	      /* not a slice */
	    "system.slice:a:",	      /* no name */
	    "system.slice:a/b:c",     /* a path in a unit name */
	    "system.slice:a:../../x", /* … */
	    "system.slice:a:b.slice", /* a slice as the container's cgroup */
	    "../x.slice:a:b",	      /* a path as the slice */
	    "system.slice:a:b c",     /* a space */
	    "system.slice:a:\\x2f",   /* an escape */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(unit(bad[i], slice, name), -1);
	/* too long for a unit name, never truncated into another */
	char longp[700];
	memset(longp, 'a', sizeof longp - 1);
	longp[sizeof longp - 1] = 0;
	memcpy(longp, "system.slice:p:", 15);
	assert_int_equal(unit(longp, slice, name), -1);
	memset(longp, 'a', sizeof longp - 1);
	memcpy(longp + 400, ".slice:p:n", 10);
	longp[410] = 0;
	assert_int_equal(unit(longp, slice, name), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_names),
					   cmocka_unit_test(test_refused)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
