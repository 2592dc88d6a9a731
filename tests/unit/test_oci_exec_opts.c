/* Unit tests: runc exec's process options over a container's process, with runc's semantics
 * (sandbox/oci_exec_opts.c): what replaces, what is appended, when a capability becomes
 * ambient, and the command line's values refused. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

static bwk_oci_spec *spec(const char *caps)
{
	char doc[1024];
	snprintf(doc, sizeof doc,
		 "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":"
		 "[\"sh\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":5,"
		 "\"additionalGids\":[3]},\"capabilities\":%s}}",
		 caps);
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_parse("t", doc, strlen(doc), &s, &err), 0);
	return s;
}

static bool has(const bwk_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return true;
	return false;
}

static void test_replace_and_append(void **state)
{
	(void)state;
	bwk_oci_spec *s = spec("{\"bounding\":[\"CAP_CHOWN\"],\"effective\":[\"CAP_CHOWN\"]}");
	const char *env[] = {"A=1", "B=x=y", NULL};
	const uint32_t gids[] = {7, 8};
	bwk_oci_exec_opts o = {.cwd = "/tmp",
			       .user = "65534",
			       .env = env,
			       .additional_gids = gids,
			       .n_additional_gids = 2,
			       .no_new_privs = true,
			       .apparmor = "prof"};
	bwk_error *err = NULL;
	bwk_oci_process *p = &s->process;
	assert_int_equal(ocirt_exec_overrides(p, &o, &err), 0);
	assert_string_equal(p->cwd, "/tmp");
	assert_int_equal(p->user.uid, 65534);
	assert_int_equal(p->user.gid, 5); /* UID alone keeps the config's gid */
	assert_int_equal(p->env.n, 3);
	assert_string_equal(p->env.v[0], "PATH=/bin");
	assert_string_equal(p->env.v[2], "B=x=y");
	assert_null(p->env.v[3]);
	assert_int_equal(p->user.n_additional_gids, 3);
	assert_int_equal(p->user.additional_gids[2], 8);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "prof");
	o = (bwk_oci_exec_opts){.user = "1:2"};
	assert_int_equal(ocirt_exec_overrides(p, &o, &err), 0);
	assert_int_equal(p->user.uid, 1);
	assert_int_equal(p->user.gid, 2);
	bwk_oci_spec_free(s);
}

static void test_caps(void **state)
{
	(void)state;
	const char *caps[] = {"NET_ADMIN", "cap_sys_admin", "CAP_CHOWN", NULL};
	bwk_oci_exec_opts o = {.caps = caps};
	bwk_error *err = NULL;
	/* no inheritable capabilities: none becomes ambient (the kernel would refuse it) */
	bwk_oci_spec *s = spec("{\"bounding\":[\"CAP_CHOWN\"],\"effective\":[\"CAP_CHOWN\"]}");
	assert_int_equal(ocirt_exec_overrides(&s->process, &o, &err), 0);
	bwk_oci_caps *c = &s->process.caps;
	assert_true(has(&c->bounding, "CAP_NET_ADMIN") && has(&c->effective, "CAP_SYS_ADMIN") &&
		    has(&c->permitted, "CAP_CHOWN"));
	assert_int_equal(c->bounding.n, 3); /* CAP_CHOWN once */
	assert_int_equal(c->ambient.n, 0);
	assert_int_equal(c->inheritable.n, 0);
	bwk_oci_spec_free(s);
	s = spec("{\"inheritable\":[\"CAP_KILL\"]}");
	assert_int_equal(ocirt_exec_overrides(&s->process, &o, &err), 0);
	assert_true(has(&s->process.caps.ambient, "CAP_NET_ADMIN"));
	bwk_oci_spec_free(s);
}

/* no output handler here: the library names its settings in words (bulwark/log.h) */
static void refused(const bwk_oci_exec_opts *o, const char *what)
{
	bwk_oci_spec *s = spec("{}");
	bwk_error *err = NULL;
	assert_int_equal(ocirt_exec_overrides(&s->process, o, &err), -1);
	char *msg = bwk_error_format(err);
	assert_non_null(strstr(msg, what));
	free(msg);
	bwk_error_free(err);
	bwk_oci_spec_free(s);
}

static void test_refused(void **state)
{
	(void)state;
	const char *bad_cap[] = {"CAP_NOPE", NULL}, *all[] = {"ALL", NULL};
	const char *bad_env[] = {"NOEQUALS", NULL}, *empty_name[] = {"=v", NULL};
	refused(&(bwk_oci_exec_opts){.caps = bad_cap}, "a capability 'CAP_NOPE'");
	refused(&(bwk_oci_exec_opts){.caps = all}, "a capability 'ALL'");
	refused(&(bwk_oci_exec_opts){.env = bad_env}, "an environment variable 'NOEQUALS'");
	refused(&(bwk_oci_exec_opts){.env = empty_name}, "an environment variable '=v'");
	refused(&(bwk_oci_exec_opts){.cwd = "tmp"}, "the working directory 'tmp'");
	const char *users[] = {"bob", "1:", ":1", "4294967295", "1:4294967295", "-1", "1:2:3", ""};
	for (size_t i = 0; i < sizeof users / sizeof *users; i++)
		refused(&(bwk_oci_exec_opts){.user = users[i]}, "the user '");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replace_and_append),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
