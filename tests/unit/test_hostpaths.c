/* Unit tests: the one table of sensitive host paths (core/hostpaths.c) shared by `audit`'s
 * sensitive-host-mount rule and `run`'s bind-mount policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bulwark/sandbox.h"
#include "core/hostpaths.h"

static void test_classes(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		int socket;
		bwk_hostpath_class want;
	} cases[] = {
	    {"/", 0, BWK_HOSTPATH_SYSTEM},
	    {"//etc/", 0, BWK_HOSTPATH_SYSTEM},
	    {"/var/log", 0, BWK_HOSTPATH_SYSTEM}, /* once only audit's, now both */
	    {"/lib64", 0, BWK_HOSTPATH_SYSTEM},	  /* once only run's, now both */
	    {"/var/lib/kubelet", 0, BWK_HOSTPATH_SYSTEM},
	    {"/var", 0, BWK_HOSTPATH_SYSTEM},	  /* a parent of /var/log */
	    {"/var/lib", 0, BWK_HOSTPATH_SYSTEM}, /* a parent of /var/lib/docker */
	    {"/etc/ssl", 0, BWK_HOSTPATH_KERNEL_TREE},
	    {"/proc/1/root", 0, BWK_HOSTPATH_KERNEL_TREE},
	    {"/dev/sda", 0, BWK_HOSTPATH_KERNEL_TREE},
	    {"/var/log/app", 0, BWK_HOSTPATH_BELOW},
	    {"/usr/share/doc", 0, BWK_HOSTPATH_BELOW},
	    {"/usr/lib64", 0, BWK_HOSTPATH_SYSTEM}, /* what /lib64 resolves to */
	    {"/run/user/1000", 0, BWK_HOSTPATH_BELOW},
	    {"/run/containerd", 0, BWK_HOSTPATH_ENGINE},
	    {"/run/containerd/x", 0, BWK_HOSTPATH_ENGINE},
	    {"/var/run/docker.sock", -1, BWK_HOSTPATH_ENGINE},
	    {"/srv/app/docker.sock", 1, BWK_HOSTPATH_ENGINE}, /* a socket by that name */
	    {"/srv/app/docker.sock", 0, BWK_HOSTPATH_NONE},   /* a file called so */
	    {"/srv/x/cri-dockerd.sock", -1, BWK_HOSTPATH_ENGINE},
	    {"/srv/docker", -1, BWK_HOSTPATH_NONE},
	    {"/etcetera", 0, BWK_HOSTPATH_NONE},
	    {"/usr2", 0, BWK_HOSTPATH_NONE},
	    {"/var/lib/app", 0, BWK_HOSTPATH_NONE},
	    {"/tmp/data", 0, BWK_HOSTPATH_NONE},
	    {"relative/etc", 0, BWK_HOSTPATH_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		if (bwk_hostpath_classify(cases[i].path, cases[i].socket) != cases[i].want)
			fail_msg("%s: class %d, want %d", cases[i].path,
				 bwk_hostpath_classify(cases[i].path, cases[i].socket),
				 cases[i].want);
}

/* run's policy follows the table: what audit rates a system directory, run refuses */
static void test_run_agrees(void **state)
{
	(void)state;
	assert_true(bwk_sandbox_sensitive_path("/var/log"));
	assert_true(bwk_sandbox_sensitive_path("/lib64"));
	assert_true(bwk_sandbox_sensitive_path("/var/lib/kubelet"));
	assert_true(bwk_sandbox_sensitive_path("/var"));
	assert_false(bwk_sandbox_sensitive_path("/var/log/app"));
	assert_false(bwk_sandbox_sensitive_path("/srv/www"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_run_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
