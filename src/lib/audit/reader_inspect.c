/* `docker inspect` container JSON (one object or an array) -> workloads. The same function
 * reads the live engine's /containers/ID/json, which is what `docker inspect` prints. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"

static void read_mounts(workload *w, const json_t *c, const json_t *hc, const char *key)
{
	const json_t *mounts = json_object_get(c, "Mounts");
	size_t i;
	const json_t *m;
	if (json_is_array(mounts)) {
		/* the effective mounts of a created container */
		json_array_foreach(mounts, i, m)
		{
			const char *type = aud_js_str(m, "Type");
			if (!type || strcmp(type, "bind"))
				continue;
			cleanup_free char *k = xasprintf("%sMounts[%zu]", key, i);
			tri rw = aud_js_tri(m, "RW");
			aud_wl_add_mount(w, aud_js_str(m, "Source"), aud_js_str(m, "Destination"),
					 rw != TRI_FALSE, aud_js_str(m, "Propagation"), false, k);
		}
		return;
	}
	const json_t *binds = json_object_get(hc, "Binds");
	json_array_foreach(binds, i, m)
	{
		if (!json_is_string(m))
			continue;
		cleanup_free char *k = xasprintf("%sHostConfig.Binds[%zu]", key, i);
		aud_wl_add_bind_spec(w, json_string_value(m), false, k);
	}
	mounts = json_object_get(hc, "Mounts");
	json_array_foreach(mounts, i, m)
	{
		const char *type = aud_js_str(m, "Type");
		if (!type || strcmp(type, "bind"))
			continue;
		cleanup_free char *k = xasprintf("%sHostConfig.Mounts[%zu]", key, i);
		aud_wl_add_mount(w, aud_js_str(m, "Source"), aud_js_str(m, "Target"),
				 !aud_js_true(m, "ReadOnly"),
				 aud_js_str(json_object_get(m, "BindOptions"), "Propagation"),
				 false, k);
	}
}

static void read_ports(workload *w, const json_t *hc, const char *key)
{
	const json_t *pb = json_object_get(hc, "PortBindings");
	const char *spec;
	const json_t *list;
	json_object_foreach((json_t *)pb, spec, list)
	{
		unsigned cport = (unsigned)strtoul(spec, NULL, 10);
		size_t i;
		const json_t *b;
		json_array_foreach(list, i, b)
		{
			const char *hp = aud_js_str(b, "HostPort");
			cleanup_free char *k =
			    xasprintf("%sHostConfig.PortBindings.%s[%zu]", key, spec, i);
			aud_wl_add_port(w, aud_js_str(b, "HostIp"),
					hp ? (unsigned)strtoul(hp, NULL, 10) : 0, cport, k);
		}
	}
}

int aud_read_inspect_one(reader_ctx *r, const json_t *c, const char *key, bwk_error **err)
{
	if (!json_is_object(c))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s: not a container object", r->name,
				     *key ? key : "top level");
	const json_t *cfg = json_object_get(c, "Config");
	const json_t *hc = json_object_get(c, "HostConfig");
	if (!json_is_object(cfg) || !json_is_object(hc))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: %s: no Config/HostConfig: not `docker inspect` output "
				     "for a container",
				     r->name, *key ? key : "top level");
	const char *name = aud_js_str(c, "Name");
	if (name && *name == '/')
		name++;
	if (!name || !*name)
		name = aud_js_str(c, "Id");
	cleanup_free char *prefix = *key ? xasprintf("%s.", key) : xstrdup("");
	cleanup_workload workload *w =
	    aud_wl_new(BWK_WL_INSPECT, name ? name : "container", *key ? key : name, r->line);

	w->privileged = aud_js_true(hc, "Privileged");
	size_t i;
	const json_t *v;
	cleanup_free char *kadd = xasprintf("%sHostConfig.CapAdd", prefix);
	cleanup_free char *kdrop = xasprintf("%sHostConfig.CapDrop", prefix);
	aud_wl_add_caps(&w->cap_add, &w->ncap_add, json_object_get(hc, "CapAdd"), kadd);
	aud_wl_add_caps(&w->cap_drop, &w->ncap_drop, json_object_get(hc, "CapDrop"), kdrop);
	w->host_net = aud_js_is_host(hc, "NetworkMode");
	w->host_pid = aud_js_is_host(hc, "PidMode");
	w->host_ipc = aud_js_is_host(hc, "IpcMode");
	w->host_uts = aud_js_is_host(hc, "UTSMode");
	w->host_userns = aud_js_is_host(hc, "UsernsMode");
	read_mounts(w, c, hc, prefix);
	json_array_foreach(json_object_get(hc, "Devices"), i, v)
	{
		const char *p = aud_js_str(v, "PathOnHost");
		cleanup_free char *k = xasprintf("%sHostConfig.Devices[%zu]", prefix, i);
		if (p)
			aud_wl_add_device(w, p, k);
	}
	json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v)
	{
		if (json_is_string(v))
			aud_wl_security_opt(w, json_string_value(v));
	}
	const char *aa = aud_js_str(c, "AppArmorProfile");
	if (aa && !strcmp(aa, "unconfined") && !w->apparmor)
		w->apparmor = xstrdup(aa);
	const char *user = aud_js_str(cfg, "User");
	w->user = user ? xstrdup(user) : NULL;
	/* an empty Config.User is the image's user merged in: none means root */
	w->uid = user && *user ? aud_wl_uid_from_user(user) : 0;
	w->ro_rootfs = aud_js_true(hc, "ReadonlyRootfs") ? TRI_TRUE : TRI_FALSE;
	double d;
	if (aud_js_num(hc, "Memory", &d))
		w->mem_limit = aud_i64(d);
	if (aud_js_num(hc, "PidsLimit", &d))
		w->pids_limit = aud_i64(d);
	if (aud_js_num(hc, "NanoCpus", &d) && d > 0)
		w->cpu_limit = d / 1e9;
	double q, p = 100000;
	if (aud_js_num(hc, "CpuQuota", &q) && q > 0) {
		aud_js_num(hc, "CpuPeriod", &p);
		w->cpu_limit = q / (p > 0 ? p : 100000);
	}
	read_ports(w, hc, prefix);
	const json_t *rp = json_object_get(hc, "RestartPolicy");
	const char *rn = aud_js_str(rp, "Name");
	if (rn && *rn && strcmp(rn, "no")) {
		w->restart = xstrdup(rn);
		if (aud_js_num(rp, "MaximumRetryCount", &d))
			w->restart_max = aud_i64(d);
	}
	cleanup_free char *env_key = xasprintf("%sConfig.Env", prefix);
	aud_wl_add_env_list(w, json_object_get(cfg, "Env"), env_key);
	const char *img = aud_js_str(cfg, "Image");
	w->image = img ? xstrdup(img) : NULL;
	return aud_wl_check(r->wl, w, err);
}

int aud_read_inspect(reader_ctx *r, const json_t *root, bwk_error **err)
{
	if (json_is_object(root))
		return aud_read_inspect_one(r, root, "", err);
	size_t i;
	const json_t *c;
	json_array_foreach(root, i, c)
	{
		char key[32];
		snprintf(key, sizeof(key), "[%zu]", i);
		if (aud_read_inspect_one(r, c, key, err) < 0)
			return -1;
	}
	return 0;
}
