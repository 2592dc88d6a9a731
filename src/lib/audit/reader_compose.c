/* docker-compose.yml / compose.yaml services -> workloads (Compose specification fields,
 * short and long syntax). Anchors and merge keys are already resolved by core/yaml_tree. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"
#include "core/yaml_tree.h"

static void long_volume(workload *w, const json_t *v, const char *key)
{
	const char *type = aud_js_str(v, "type");
	const char *src = aud_js_str(v, "source");
	bool bind = type ? !strcmp(type, "bind") : (src && src[0] == '/');
	aud_wl_add_mount(w, bind ? src : NULL, aud_js_str(v, "target"),
			 !aud_js_true(v, "read_only"),
			 aud_js_str(json_object_get(v, "bind"), "propagation"), false, key);
}

/* "[IP:]HOST:CONTAINER[/proto]", "CONTAINER", "[::1]:80:80", ranges "8000-8001:80-81" */
static void short_port(workload *w, const char *spec, const char *key)
{
	cleanup_free char *s = xstrdup(spec);
	char *slash = strchr(s, '/');
	if (slash)
		*slash = 0;
	char *ip = NULL;
	char *rest = s;
	if (s[0] == '[') {
		char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return;
		*close = 0;
		ip = s + 1;
		rest = close + 2;
	}
	char *parts[3] = {NULL, NULL, NULL};
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(rest, ":", &save); t && n < 3; t = strtok_r(NULL, ":", &save))
		parts[n++] = t;
	unsigned host = 0, cont = 0;
	if (n == 1) {
		cont = (unsigned)strtoul(parts[0], NULL, 10);
	} else if (n == 2) {
		/* "HOST:CONTAINER", or "[IPv6]:HOST:CONTAINER" with the address split off above */
		host = (unsigned)strtoul(parts[0], NULL, 10);
		cont = (unsigned)strtoul(parts[1], NULL, 10);
	} else if (n == 3) {
		ip = parts[0];
		host = (unsigned)strtoul(parts[1], NULL, 10);
		cont = (unsigned)strtoul(parts[2], NULL, 10);
	} else {
		return;
	}
	aud_wl_add_port(w, ip, host, cont, key);
}

static int read_service(reader_ctx *r, const char *name, const json_t *svc, bwk_error **err)
{
	if (!json_is_object(svc)) {
		if (json_is_null(svc))
			return 0;
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: services.%s is not a mapping",
				     r->name, name);
	}
	cleanup_free char *key = xasprintf("services.%s", name);
	unsigned line = r->doc ? bwk_yaml_node_line(r->doc, svc) : 0;
	cleanup_workload workload *w = aud_wl_new(BWK_WL_COMPOSE, name, key, line ? line : r->line);
	w->privileged = aud_js_true(svc, "privileged");
	size_t i;
	const json_t *v;
	cleanup_free char *kadd = xasprintf("%s.cap_add", key);
	cleanup_free char *kdrop = xasprintf("%s.cap_drop", key);
	aud_wl_add_caps(&w->cap_add, &w->ncap_add, json_object_get(svc, "cap_add"), kadd);
	aud_wl_add_caps(&w->cap_drop, &w->ncap_drop, json_object_get(svc, "cap_drop"), kdrop);
	w->host_net = aud_js_is_host(svc, "network_mode");
	w->host_pid = aud_js_is_host(svc, "pid");
	w->host_ipc = aud_js_is_host(svc, "ipc");
	w->host_uts = aud_js_is_host(svc, "uts");
	w->host_userns = aud_js_is_host(svc, "userns_mode");
	json_array_foreach(json_object_get(svc, "volumes"), i, v)
	{
		cleanup_free char *k = xasprintf("%s.volumes[%zu]", key, i);
		if (json_is_string(v))
			aud_wl_add_bind_spec(w, json_string_value(v), true, k);
		else if (json_is_object(v))
			long_volume(w, v, k);
	}
	json_array_foreach(json_object_get(svc, "devices"), i, v)
	{
		cleanup_free char *k = xasprintf("%s.devices[%zu]", key, i);
		const char *src =
		    json_is_string(v) ? json_string_value(v) : aud_js_str(v, "source");
		if (!src)
			continue;
		cleanup_free char *path = xstrndup(src, strcspn(src, ":"));
		aud_wl_add_device(w, path, k);
	}
	json_array_foreach(json_object_get(svc, "security_opt"), i, v)
	{
		if (json_is_string(v))
			aud_wl_security_opt(w, json_string_value(v));
	}
	const json_t *user = json_object_get(svc, "user");
	if (json_is_string(user))
		w->user = xstrdup(json_string_value(user));
	else if (json_is_integer(user))
		w->user = xasprintf("%lld", (long long)json_integer_value(user));
	w->uid = aud_wl_uid_from_user(w->user);
	w->ro_rootfs = aud_js_tri(svc, "read_only");
	const json_t *limits = aud_js_path(svc, "deploy.resources.limits");
	w->mem_limit = aud_wl_parse_size(json_object_get(svc, "mem_limit"));
	if (!w->mem_limit)
		w->mem_limit = aud_wl_parse_size(json_object_get(limits, "memory"));
	double d;
	if (aud_js_num(svc, "pids_limit", &d) || aud_js_num(limits, "pids", &d))
		w->pids_limit = aud_i64(d);
	if (aud_js_num(svc, "cpus", &d) || aud_js_num(limits, "cpus", &d))
		w->cpu_limit = d;
	else if (aud_js_num(svc, "cpu_quota", &d) && d > 0)
		w->cpu_limit = d / 100000;
	json_array_foreach(json_object_get(svc, "ports"), i, v)
	{
		cleanup_free char *k = xasprintf("%s.ports[%zu]", key, i);
		if (json_is_string(v)) {
			short_port(w, json_string_value(v), k);
		} else if (json_is_integer(v)) {
			aud_wl_add_port(w, NULL, 0, (unsigned)json_integer_value(v), k);
		} else if (json_is_object(v)) {
			double t = 0, pub = 0;
			aud_js_num(v, "target", &t);
			aud_js_num(v, "published", &pub);
			aud_wl_add_port(w, aud_js_str(v, "host_ip"), (unsigned)pub, (unsigned)t, k);
		}
	}
	const char *restart = aud_js_str(svc, "restart");
	if (restart && strcmp(restart, "no")) {
		size_t n = strcspn(restart, ":");
		w->restart = xstrndup(restart, n);
		if (restart[n])
			w->restart_max = strtoll(restart + n + 1, NULL, 10);
	} else if (!restart) {
		const json_t *rp = aud_js_path(svc, "deploy.restart_policy");
		const char *cond = aud_js_str(rp, "condition");
		if (cond && strcmp(cond, "none")) {
			w->restart = xstrdup(!strcmp(cond, "any") ? "always" : cond);
			if (aud_js_num(rp, "max_attempts", &d))
				w->restart_max = aud_i64(d);
		}
	}
	const json_t *env = json_object_get(svc, "environment");
	if (json_is_object(env)) {
		const char *n;
		json_t *ev;
		json_object_foreach((json_t *)env, n, ev)
		{
			cleanup_free char *k = xasprintf("%s.environment.%s", key, n);
			cleanup_free char *val = NULL;
			if (json_is_string(ev))
				val = xstrdup(json_string_value(ev));
			else if (json_is_number(ev) || json_is_boolean(ev))
				val = json_dumps(ev, JSON_ENCODE_ANY);
			if (val)
				aud_wl_add_env(w, n, val, k);
		}
	} else {
		cleanup_free char *env_key = xasprintf("%s.environment", key);
		aud_wl_add_env_list(w, env, env_key);
	}
	const char *img = aud_js_str(svc, "image");
	w->image = img ? xstrdup(img) : NULL;
	return aud_wl_check(r->wl, w, err);
}

int aud_read_compose(reader_ctx *r, const json_t *root, bwk_error **err)
{
	const json_t *services = json_object_get(root, "services");
	if (!json_is_object(services))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: 'services' is not a mapping of service definitions",
				     r->name);
	const char *name;
	json_t *svc;
	json_object_foreach((json_t *)services, name, svc)
	{
		if (read_service(r, name, svc, err) < 0)
			return -1;
	}
	return 0;
}
