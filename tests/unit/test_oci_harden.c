/* Unit tests: the hardening policy — the runtime configuration parser, when the policy applies,
 * and what it adds to a spec (and only where the spec does not already do as much). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/oci.h"

static int conf(const char *text, bool *harden, char **msg)
{
	size_t n = strlen(text);
	char *exact = malloc(n ? n : 1);
	memcpy(exact, text, n);
	bwk_oci_runtime_conf c;
	bwk_error *err = NULL;
	int r = bwk_oci_runtime_conf_parse(exact, n, &c, &err);
	free(exact);
	*harden = c.harden;
	*msg = err ? bwk_error_format(err) : NULL;
	bwk_error_free(err);
	return r;
}

static void test_conf_parse(void **state)
{
	(void)state;
	bool h;
	char *m;
	assert_int_equal(conf("", &h, &m), 0);
	assert_false(h);
	assert_int_equal(conf("# policy\n\n  harden   =  true  # all of it\r\n", &h, &m), 0);
	assert_true(h);
	assert_int_equal(conf("harden=true\nharden=false", &h, &m), 0);
	assert_false(h);
	assert_int_equal(conf("harden = yes\n", &h, &m), -1);
	assert_non_null(strstr(m, "line 1: harden is true or false"));
	free(m);
	assert_int_equal(conf("\n\nseccomp = off\n", &h, &m), -1);
	assert_non_null(strstr(m, "line 3: unknown key 'seccomp'"));
	free(m);
	assert_int_equal(conf("harden\n", &h, &m), -1);
	assert_non_null(strstr(m, "KEY = VALUE"));
	free(m);
	char *big = malloc((64 << 10) + 2);
	memset(big, '#', (64 << 10) + 1);
	big[(64 << 10) + 1] = 0;
	assert_int_equal(conf(big, &h, &m), -1);
	assert_non_null(strstr(m, "more than"));
	free(m);
	free(big);
}

static const char weak_spec[] =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
    "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"user\":{\"uid\":0,\"gid\":0},"
    "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\",\"CAP_NET_RAW\"],"
    "\"effective\":[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\"]}},"
    "\"mounts\":[{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}],"
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"}],"
    "\"resources\":{\"pids\":{\"limit\":100}},\"maskedPaths\":[\"/proc/kcore\"]},"
    "\"annotations\":{\"org.bulwark.harden\":\"true\"}}";

static bwk_oci_spec *parse(const char *json)
{
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_parse("config.json", json, strlen(json), &s, &err), 0);
	return s;
}

static bool in(const bwk_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return true;
	return false;
}

static void test_wanted(void **state)
{
	(void)state;
	bwk_oci_spec *s = parse(weak_spec);
	bwk_error *err = NULL;
	char path[] = "/tmp/bwk-harden-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	/* the annotation asks; an empty configuration says nothing */
	assert_int_equal(bwk_oci_harden_wanted(s, false, path, &err), 1);
	bwk_oci_spec_free(s);
	s = parse("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
		  "\"annotations\":{\"org.bulwark.harden\":\"false\"}}");
	assert_int_equal(bwk_oci_harden_wanted(s, false, path, &err), 0);
	assert_int_equal(bwk_oci_harden_wanted(s, true, path, &err), 1);
	FILE *f = fopen(path, "w");
	fputs("harden = true\n", f);
	fclose(f);
	assert_int_equal(bwk_oci_harden_wanted(s, false, path, &err), 1); /* not the bundle's */
	f = fopen(path, "w");
	fputs("harden = maybe\n", f);
	fclose(f);
	assert_int_equal(bwk_oci_harden_wanted(s, false, path, &err), -1);
	char *m = bwk_error_format(err);
	assert_non_null(strstr(m, path));
	free(m);
	bwk_error_free(err);
	err = NULL;
	unlink(path);
	/* a missing file: not hardened */
	assert_int_equal(bwk_oci_harden_wanted(s, false, path, &err), 0);
	assert_null(err);
	bwk_oci_spec_free(s);
}

static void test_harden_spec(void **state)
{
	(void)state;
	bwk_oci_spec *s = parse(weak_spec);
	bwk_strv changes = {0};
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_harden(s, &changes, &err), 0);
	assert_true(s->process.no_new_privileges);
	assert_int_equal(s->process.caps.bounding.n, 1);
	assert_string_equal(s->process.caps.bounding.v[0], "CAP_CHOWN");
	assert_int_equal(s->process.caps.effective.n, 1);
	assert_string_equal(bwk_oci_spec_annotation(s, BWK_OCI_ANN_SECCOMP), "default");
	assert_string_equal(bwk_oci_spec_annotation(s, BWK_OCI_ANN_HARDENED), "true");
	assert_true(in(&s->linux_.masked_paths, "/proc/kcore"));
	assert_true(in(&s->linux_.masked_paths, "/proc/kpageflags"));
	assert_true(in(&s->linux_.masked_paths, "/sys/firmware"));
	assert_true(in(&s->linux_.readonly_paths, "/proc/sysrq-trigger"));
	assert_true(s->linux_.resources.memory.limit.set);
	assert_int_equal(s->linux_.resources.memory.limit.v, 512 << 20);
	assert_int_equal(s->linux_.resources.pids_limit.v, 100); /* the bundle's stands */
	assert_true(s->root_readonly);
	size_t tmp = 0, run = 0;
	for (size_t i = 0; i < s->n_mounts; i++) {
		tmp += !strcmp(s->mounts[i].destination, "/tmp");
		run += !strcmp(s->mounts[i].destination, "/run");
	}
	assert_int_equal(tmp, 1); /* the bundle's /tmp, not a second one */
	assert_int_equal(run, 1);
	bool dropped = false, pids = false;
	for (size_t i = 0; i < changes.n; i++) {
		dropped |= strstr(changes.v[i], "dropped: CAP_SYS_ADMIN CAP_NET_RAW") != NULL;
		pids |= strstr(changes.v[i], "pids") != NULL;
	}
	assert_true(dropped);
	assert_false(pids);
	/* the hardened spec is valid, and hardening it again changes nothing more */
	assert_int_equal(bwk_oci_spec_validate("config.json", s, &err), 0);
	bwk_strv_clear(&changes);
	assert_int_equal(bwk_oci_harden(s, &changes, &err), 0);
	assert_int_equal(changes.n, 0);
	bwk_strv_clear(&changes);
	bwk_oci_spec_free(s);
	/* no mount namespace (the spec allows it): the policy adds one */
	s = parse("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
		  "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}");
	assert_int_equal(bwk_oci_harden(s, &changes, &err), 0);
	assert_non_null(bwk_oci_spec_namespace(s, "mount"));
	assert_true(in(&changes, "harden: mount namespace added (the bundle shared the host's)"));
	bwk_strv_clear(&changes);
	bwk_oci_spec_free(s);
}

/* weak_spec with `linux` replaced */
static const char *refusal(const char *process, const char *linux_, char *buf, size_t len)
{
	char json[2048];
	snprintf(json, sizeof json,
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",%s},\"linux\":{%s}}",
		 process, linux_);
	bwk_oci_spec *s = parse(json);
	const char *r = bwk_oci_harden_userns_refusal(s, buf, len);
	bwk_oci_spec_free(s);
	return r;
}

static void test_userns_refusal(void **state)
{
	(void)state;
	char b[512];
	const char *user = "\"user\":{\"uid\":1000,\"gid\":1000}";
	const char *ns = "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\","
			 "\"path\":\"/run/netns/x\"}]";
	/* Docker's defaults: a joined network namespace, the default devices, IPC sysctls */
	char lin[1024];
	snprintf(lin, sizeof lin,
		 "%s,\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,"
		 "\"minor\":3}],\"sysctl\":{\"kernel.shmmax\":\"1\",\"fs.mqueue.msg_max\":\"9\"}",
		 ns);
	assert_null(refusal(user, lin, b, sizeof b));
	assert_null(refusal(user,
			    "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
			    "\"namespaces\":[{\"type\":\"network\"}]",
			    b, sizeof b));
	assert_non_null(refusal(user, "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}", b, sizeof b));
	assert_non_null(strstr(b, "the sysctl net.ipv4.ip_forward"));
	assert_non_null(refusal(
	    user, "\"namespaces\":[{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]", b, sizeof b));
	assert_string_equal(b, "the bundle joins the pid namespace /proc/1/ns/pid");
	assert_non_null(refusal("\"user\":{\"uid\":0,\"gid\":0},\"capabilities\":{\"bounding\":"
				"[\"CAP_CHOWN\",\"CAP_SYS_MODULE\"]}",
				ns, b, sizeof b));
	assert_non_null(strstr(b, "CAP_SYS_MODULE"));
	assert_non_null(refusal(user,
				"\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,"
				"\"minor\":229}]",
				b, sizeof b));
	assert_non_null(strstr(b, "the host device /dev/fuse (10:229)"));
	/* the host's pid namespace (Docker's --pid host): its /proc is the host's owner's */
	bwk_oci_spec *s = parse("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},"
				"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\","
				"\"source\":\"proc\"}],"
				"\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}");
	assert_non_null(bwk_oci_harden_userns_refusal(s, b, sizeof b));
	assert_non_null(strstr(b, "the host's pid namespace"));
	bwk_oci_spec_free(s);
	assert_non_null(refusal("\"user\":{\"uid\":70000,\"gid\":0}", ns, b, sizeof b));
	assert_non_null(strstr(b, "beyond 65535"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_parse),
	    cmocka_unit_test(test_wanted),
	    cmocka_unit_test(test_harden_spec),
	    cmocka_unit_test(test_userns_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
