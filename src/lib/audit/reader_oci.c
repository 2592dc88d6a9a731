/* OCI runtime-spec config.json -> one workload. The spec expresses isolation by omission: a
 * namespace that is not listed is the host's, a missing seccomp section is no filter, so the
 * reader turns absences into the model's explicit flags. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"

/* Docker's default set: a config holding more than this added capabilities. */
static const char *const default_caps[] = {
    "CHOWN",  "DAC_OVERRIDE", "FSETID",	 "FOWNER",	     "MKNOD",	   "NET_RAW", "SETGID",
    "SETUID", "SETFCAP",      "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",    "AUDIT_WRITE",
    NULL};
/* `runc spec`'s minimal set: holding only these counts as "dropped". */
static const char *const minimal_caps[] = {"AUDIT_WRITE", "KILL", "NET_BIND_SERVICE", NULL};

static bool in_list(const char *const *l, const char *s)
{
	for (int i = 0; l[i]; i++)
		if (!strcmp(l[i], s))
			return true;
	return false;
}

static const char *const default_devices[] = {"/dev/null",    "/dev/zero",    "/dev/full",
					      "/dev/random",  "/dev/urandom", "/dev/tty",
					      "/dev/console", "/dev/ptmx",    NULL};

int aud_read_oci(reader_ctx *r, const json_t *root, bwk_error **err)
{
	const json_t *proc = json_object_get(root, "process");
	const json_t *linux_ = json_object_get(root, "linux");
	if (!json_is_object(root) || !aud_js_str(root, "ociVersion"))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: no ociVersion: not an OCI runtime config", r->name);
	cleanup_workload workload *w = aud_wl_new(BWK_WL_OCI, "config.json", "", r->line);

	/* capabilities: the bounding set caps everything the process can ever hold */
	const json_t *caps = json_object_get(proc, "capabilities");
	const json_t *held = json_object_get(caps, "bounding");
	const char *set = "bounding";
	if (!json_is_array(held)) {
		held = json_object_get(caps, "effective");
		set = "effective";
	}
	size_t i;
	const json_t *v;
	bool minimal = true;
	json_array_foreach(held, i, v)
	{
		if (!json_is_string(v))
			continue;
		const char *c = json_string_value(v);
		if (!strncasecmp(c, "CAP_", 4))
			c += 4;
		if (!in_list(minimal_caps, c))
			minimal = false;
		if (!in_list(default_caps, c)) {
			cleanup_free char *k = xasprintf("process.capabilities.%s[%zu]", set, i);
			aud_wl_add_cap(&w->cap_add, &w->ncap_add, c, k);
		}
	}
	if (minimal)
		aud_wl_add_cap(&w->cap_drop, &w->ncap_drop, "ALL", "process.capabilities");

	/* namespaces: absent means shared with the host; a path into PID 1's namespaces too */
	bool have[5] = {false};
	static const char *const nstypes[] = {"pid", "ipc", "network", "uts", NULL};
	json_array_foreach(json_object_get(linux_, "namespaces"), i, v)
	{
		const char *t = aud_js_str(v, "type");
		const char *p = aud_js_str(v, "path");
		for (int j = 0; t && nstypes[j]; j++)
			if (!strcmp(t, nstypes[j]))
				have[j] = !(p && !strncmp(p, "/proc/1/ns/", 11));
	}
	w->host_pid = !have[0];
	w->host_ipc = !have[1];
	w->host_net = !have[2];
	w->host_uts = !have[3];

	json_array_foreach(json_object_get(root, "mounts"), i, v)
	{
		const char *type = aud_js_str(v, "type");
		bool bind = type && !strcmp(type, "bind");
		bool rw = true;
		const char *prop = NULL;
		size_t j;
		const json_t *o;
		json_array_foreach(json_object_get(v, "options"), j, o)
		{
			const char *s = json_string_value(o);
			if (!s)
				continue;
			if (!strcmp(s, "bind") || !strcmp(s, "rbind"))
				bind = true;
			else if (!strcmp(s, "ro"))
				rw = false;
			else if (strstr(s, "shared") || strstr(s, "slave") || strstr(s, "private"))
				prop = s;
		}
		cleanup_free char *k = xasprintf("mounts[%zu]", i);
		aud_wl_add_mount(w, bind ? aud_js_str(v, "source") : NULL,
				 aud_js_str(v, "destination"), rw, prop, false, k);
	}
	json_array_foreach(json_object_get(linux_, "devices"), i, v)
	{
		const char *p = aud_js_str(v, "path");
		if (!p || in_list(default_devices, p))
			continue;
		cleanup_free char *k = xasprintf("linux.devices[%zu]", i);
		aud_wl_add_device(w, p, k);
	}
	if (json_is_object(json_object_get(linux_, "seccomp")))
		w->seccomp = xstrdup("profile");
	w->seccomp_unset_means_unconfined = true;
	const char *aa = aud_js_str(proc, "apparmorProfile");
	w->apparmor = aa ? xstrdup(aa) : NULL;
	const char *label = aud_js_str(proc, "selinuxLabel");
	w->selinux_disabled = label && strstr(label, ":spc_t:");
	w->no_new_privs = aud_js_true(proc, "noNewPrivileges") ? TRI_TRUE : TRI_FALSE;
	double d;
	const json_t *user = json_object_get(proc, "user");
	if (aud_js_num(user, "uid", &d)) {
		w->uid = aud_i64(d);
		w->user = xasprintf("%lld", (long long)d);
	} else {
		w->uid = 0; /* the runtime default is uid 0 */
		w->user = xstrdup("0");
	}
	w->ro_rootfs =
	    aud_js_true(json_object_get(root, "root"), "readonly") ? TRI_TRUE : TRI_FALSE;
	const json_t *res = json_object_get(linux_, "resources");
	if (aud_js_num(json_object_get(res, "memory"), "limit", &d) && d > 0)
		w->mem_limit = aud_i64(d);
	if (aud_js_num(json_object_get(res, "pids"), "limit", &d) && d > 0)
		w->pids_limit = aud_i64(d);
	const json_t *cpu = json_object_get(res, "cpu");
	double q, p = 100000;
	if (aud_js_num(cpu, "quota", &q) && q > 0) {
		aud_js_num(cpu, "period", &p);
		w->cpu_limit = q / (p > 0 ? p : 100000);
	}
	aud_wl_add_env_list(w, json_object_get(proc, "env"), "process.env");
	return aud_wl_check(r->wl, w, err);
}
