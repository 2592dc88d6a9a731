/* The config.json `bulwark spec` writes: the hardened defaults of a run (run_spec.c) plus
 * what another runtime needs spelled out, since bulwark's sandbox does it unasked: all the
 * standard mounts (run_spec.c's table; a run's spec lists proc, sysfs and /dev only), masked
 * and read-only paths. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "oci/oci_private.h"

/* Docker's lists; the sandbox masks a superset of its own (src/lib/sandbox/mounts.c). */
const char *const oci_docker_masked[] = {"/proc/acpi",
					 "/proc/asound",
					 "/proc/kcore",
					 "/proc/keys",
					 "/proc/latency_stats",
					 "/proc/timer_list",
					 "/proc/timer_stats",
					 "/proc/sched_debug",
					 "/proc/scsi",
					 "/proc/kallsyms",
					 "/sys/firmware",
					 "/sys/devices/virtual/powercap",
					 NULL};
const char *const oci_docker_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};

static void strv_set(bwk_strv *v, const char *const *src)
{
	size_t n = 0;
	while (src[n])
		n++;
	v->v = xcalloc(n + 1, sizeof *v->v);
	for (v->n = 0; v->n < n; v->n++)
		v->v[v->n] = xstrdup(src[v->n]);
}

static bwk_oci_idmap *one_id(uint32_t host)
{
	bwk_oci_idmap *m = xcalloc(1, sizeof *m);
	*m = (bwk_oci_idmap){.container_id = 0, .host_id = host, .size = 1};
	return m;
}

int bwk_oci_spec_default(bool rootless, uint32_t uid, uint32_t gid, bwk_oci_spec **out,
			 bwk_error **err)
{
	static const char *const args[] = {"sh", NULL};
	/* read_only: the writable-var annotation is run's alone (create ignores it), so the
	 * bundle does not carry it */
	bwk_oci_run r = {.root_path = "rootfs",
			 .args = args,
			 .tty = true,
			 .read_only = true,
			 .caps = bwk_sandbox_default_caps(),
			 .all_std_mounts = true};
	if (bwk_oci_spec_from_run(NULL, &r, out, err) < 0)
		return -1;
	bwk_oci_spec *s = *out;
	strv_set(&s->linux_.masked_paths, oci_docker_masked);
	strv_set(&s->linux_.readonly_paths, oci_docker_readonly);
	if (!rootless) {
		/* a user namespace without mappings is refused by runc; bulwark's sandbox makes
		 * one anyway, with host ids from its own subordinate range (docs/run.md) */
		bwk_oci_linux *l = &s->linux_;
		for (size_t i = 0; i < l->n_namespaces; i++)
			if (!strcmp(l->namespaces[i].type, "user")) {
				free(l->namespaces[i].type);
				free(l->namespaces[i].path);
				memmove(l->namespaces + i, l->namespaces + i + 1,
					(l->n_namespaces - i - 1) * sizeof *l->namespaces);
				l->n_namespaces--;
				break;
			}
	} else {
		/* as runc spec --rootless: the caller's own ids, and no cgroup limits (an
		 * unprivileged caller rarely has a delegated cgroup to set them in) */
		s->linux_.uid_mappings = one_id(uid);
		s->linux_.gid_mappings = one_id(gid);
		s->linux_.n_uid_mappings = s->linux_.n_gid_mappings = 1;
		s->linux_.resources.memory.limit.set = false;
		s->linux_.resources.pids_limit.set = false;
		s->linux_.resources.cpu.shares.set = false;
	}
	return 0;
}

/* runtime-spec features.md: what this runtime reads. */
char *bwk_oci_features_json(const char *status, bwk_error **err)
{
	/* what `create` applies (oci/mount_opts.c parses them, sandbox/oci_create.c do_mount
	 * mounts; tests/integration/test_oci_features.py mounts each; idmapped bind mounts:
	 * oci_mount_idmap.c); not U, which only `bulwark run` applies */
	json_t *a = json_array(), *hooks = json_array(), *ns = json_array(), *caps = json_array();
	json_t *act = json_array(), *ops = json_array(), *arch = json_array(),
	       *flags = json_array(), *supported = json_array();
	for (const char *const *p = bwk_oci_mount_options_known; *p; p++)
		json_array_append_new(a, json_string(*p));
	for (const char *const *p = oci_hook_keys; *p; p++)
		json_array_append_new(hooks, json_string(*p));
	for (const char *const *p = oci_namespace_types; *p; p++)
		json_array_append_new(ns, json_string(*p));
	for (int c = 0; bwk_cap_name(c); c++)
		json_array_append_new(caps, json_string(bwk_cap_name(c)));
	for (const char *const *p = oci_seccomp_actions; *p; p++)
		json_array_append_new(act, json_string(*p));
	for (const char *const *p = oci_seccomp_ops; *p; p++)
		json_array_append_new(ops, json_string(*p));
	for (const char *const *p = oci_seccomp_arches; *p; p++)
		json_array_append_new(arch, json_string(*p));
	/* knownFlags: what create passes to seccomp(2); supportedFlags: those this kernel
	 * takes (WAIT_KILLABLE_RECV only with an SCMP_ACT_NOTIFY listener, as the kernel) */
	for (const char *const *p = oci_seccomp_flags; *p; p++) {
		json_array_append_new(flags, json_string(*p));
		if (bwk_seccomp_filter_flag_supported(oci_seccomp_flag_bit(*p)))
			json_array_append_new(supported, json_string(*p));
	}
	/* cgroup.rdma: linux.resources.rdma is applied (refused, naming it, where the host has no
	 * rdma controller, as an AppArmor profile is); intelRdt, selinux: linux.intelRdt and
	 * SELinux labels are not applied (create refuses intelRdt); apparmor:
	 * process.apparmorProfile is (the spec's "compiled in", whatever the host has: create
	 * refuses a profile where AppArmor is off). No annotation of bulwark's weakens a container
	 * (org.bulwark.harden and org.bulwark.seccomp only add), so none is potentially unsafe. */
	json_t *doc = json_pack(
	    "{s:s,s:s,s:o,s:o,s:{s:o,s:o,s:{s:b,s:b,s:b,s:b,s:b},s:{s:b,s:o,s:o,s:o,s:o,s:o},"
	    "s:{s:b},s:{s:b},s:{s:b},s:{s:{s:b}}},s:{s:s,s:s,s:s,s:s},s:[]}",
	    "ociVersionMin", "1.0.0", "ociVersionMax", "1.2.0", "hooks", hooks, "mountOptions", a,
	    "linux", "namespaces", ns, "capabilities", caps, "cgroup", "v1", 1, "v2", 1, "systemd",
	    0, "systemdUser", 0, "rdma", 1, "seccomp", "enabled", 1, "actions", act, "operators",
	    ops, "archs", arch, "knownFlags", flags, "supportedFlags", supported, "apparmor",
	    "enabled", 1, "selinux", "enabled", 0, "intelRdt", "enabled", 0, "mountExtensions",
	    "idmap", "enabled", 1, "annotations", "org.bulwark.runtime", "bulwark",
	    "org.bulwark.status", status, BWK_OCI_ANN_HARDEN,
	    "\"true\": apply the hardening policy (docs/oci-runtime.md)", "org.bulwark.rootless",
	    "unsupported: every OCI command needs root of the host's user namespace "
	    "(docs/oci-runtime.md, Rootless)",
	    "potentiallyUnsafeConfigAnnotations");
	char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!s)
		bwk_error_set(err, BWK_E_NOMEM, 0, "features: out of memory");
	return s;
}
