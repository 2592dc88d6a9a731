/* The workload model shared by every input kind, and small helpers for the readers. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"
#include "core/yaml_tree.h"

const char *bwk_workload_kind_name(bwk_workload_kind k)
{
	switch (k) {
	case BWK_WL_INSPECT:
		return "docker inspect";
	case BWK_WL_COMPOSE:
		return "compose";
	case BWK_WL_K8S:
		return "kubernetes";
	case BWK_WL_OCI:
		return "oci config";
	default:
		return "auto";
	}
}

uint32_t aud_wl_kind_fields(bwk_workload_kind k)
{
	const uint32_t common = WF_CAPS | WF_HOST_PID | WF_HOST_IPC | WF_HOST_NET | WF_MOUNTS |
				WF_PROPAGATION | WF_SECCOMP | WF_APPARMOR | WF_SELINUX | WF_NNP |
				WF_USER | WF_RO_ROOTFS | WF_MEM_LIMIT | WF_CPU_LIMIT | WF_ENV;
	switch (k) {
	case BWK_WL_INSPECT:
	case BWK_WL_COMPOSE:
		return common | WF_PRIVILEGED | WF_HOST_UTS | WF_HOST_USERNS | WF_DEVICES |
		       WF_PIDS_LIMIT | WF_PORTS | WF_RESTART | WF_IMAGE;
	case BWK_WL_K8S:
		/* no pids limit, no devices, no restart budget (the kubelet backs off), no UTS
		 * namespace switch; hostPath volumes and service-account tokens instead */
		return common | WF_PRIVILEGED | WF_PORTS | WF_IMAGE | WF_HOSTPATH | WF_SA_TOKEN;
	case BWK_WL_OCI:
		/* no single privileged flag, no ports, no image, no restart policy */
		return common | WF_HOST_UTS | WF_DEVICES | WF_PIDS_LIMIT;
	default:
		return 0;
	}
}

/* Keys are built from names in the input (a service name, an environment variable) and are
 * copied into every item and finding: a 2 MiB name times thousands of items would be GiBs.
 * Longer keys are cut at a character boundary and marked with an ellipsis. */
#define MAX_WL_KEY 512

static char *key_dup(const char *key)
{
	size_t n = strlen(key);
	if (n <= MAX_WL_KEY)
		return xstrdup(key);
	n = MAX_WL_KEY;
	while (n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80)
		n--;
	return xasprintf("%.*s…", (int)n, key);
}

/* Items per list beyond which a description is not a real workload (each item is a copy in
 * the model and often a finding). One more is stored so that aud_wl_bounded sees the excess. */
static bool list_full(size_t n)
{
	return n > AUD_MAX_WL_ITEMS;
}

int aud_wl_bounded(const workload *w, const char *target, bwk_error **err)
{
	static const char *const what[] = {
	    "capabilities added",   "capabilities dropped", "mounts", "devices", "ports",
	    "environment variables"};
	const size_t n[] = {w->ncap_add, w->ncap_drop, w->nmounts, w->ndevices, w->nports, w->nenv};
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (list_full(n[i]))
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s:%u: %.80s: more than %d %s: not a workload "
					     "description bulwark audits",
					     target, w->line, w->name, AUD_MAX_WL_ITEMS, what[i]);
	return 0;
}

/* The model copies strings of the document's tree: it is charged to the same budget
 * (core/yaml_tree.h), so that a document and its model together stay within it. A refusal
 * marks the budget, and the document fails when the reader returns. Each allocation also
 * costs malloc's header. */
static size_t str_cost(const char *s)
{
	return s ? strlen(s) + 1 + 16 : 0;
}

static size_t cap_cost(const wl_str *e)
{
	return sizeof(*e) + str_cost(e->s) + str_cost(e->key);
}

static size_t mount_cost(const wl_mount *m)
{
	return sizeof(*m) + str_cost(m->source) + str_cost(m->target) + str_cost(m->propagation) +
	       str_cost(m->key);
}

static size_t port_cost(const wl_port *p)
{
	return sizeof(*p) + str_cost(p->host_ip) + str_cost(p->key);
}

static size_t env_cost(const wl_env *e)
{
	return sizeof(*e) + str_cost(e->name) + str_cost(e->value) + str_cost(e->key);
}

/* What aud_wl_new and the aud_wl_add_* functions charged, item by item. */
static size_t wl_cost(const workload *w)
{
	size_t n = sizeof(*w) + str_cost(w->name) + str_cost(w->key);
	for (size_t i = 0; i < w->ncap_add; i++)
		n += cap_cost(&w->cap_add[i]);
	for (size_t i = 0; i < w->ncap_drop; i++)
		n += cap_cost(&w->cap_drop[i]);
	for (size_t i = 0; i < w->ndevices; i++)
		n += cap_cost(&w->devices[i]);
	for (size_t i = 0; i < w->nmounts; i++)
		n += mount_cost(&w->mounts[i]);
	for (size_t i = 0; i < w->nports; i++)
		n += port_cost(&w->ports[i]);
	for (size_t i = 0; i < w->nenv; i++)
		n += env_cost(&w->env[i]);
	return n;
}

workload *aud_wl_new(bwk_workload_kind kind, const char *name, const char *key, unsigned line)
{
	workload *w = xcalloc(1, sizeof(*w));
	w->kind = kind;
	w->fields = aud_wl_kind_fields(kind);
	w->name = xstrdup(name);
	w->key = key_dup(key ? key : "");
	bwk_json_budget_charge(sizeof(*w) + str_cost(w->name) + str_cost(w->key));
	w->line = line;
	w->uid = -1;
	w->restart_max = -1;
	return w;
}

static void strs_free(wl_str *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].s);
		free(v[i].key);
	}
	free(v);
}

void aud_wl_free(workload *w)
{
	if (!w)
		return;
	bwk_json_budget_uncharge(wl_cost(w));
	free(w->name);
	free(w->key);
	strs_free(w->cap_add, w->ncap_add);
	strs_free(w->cap_drop, w->ncap_drop);
	strs_free(w->devices, w->ndevices);
	for (size_t i = 0; i < w->nmounts; i++) {
		free(w->mounts[i].source);
		free(w->mounts[i].target);
		free(w->mounts[i].propagation);
		free(w->mounts[i].key);
	}
	free(w->mounts);
	for (size_t i = 0; i < w->nports; i++) {
		free(w->ports[i].host_ip);
		free(w->ports[i].key);
	}
	free(w->ports);
	for (size_t i = 0; i < w->nenv; i++) {
		free(w->env[i].name);
		free(w->env[i].value);
		free(w->env[i].key);
	}
	free(w->env);
	free(w->seccomp);
	free(w->apparmor);
	free(w->user);
	free(w->restart);
	free(w->image);
	free(w->sa_key);
	free(w);
}

#define GROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))), &(arr)[(n)++])

void aud_wl_add_cap(wl_str **v, size_t *n, const char *cap, const char *key)
{
	if (!cap)
		return;
	if (!strncasecmp(cap, "CAP_", 4))
		cap += 4;
	if (list_full(*n))
		return;
	wl_str t = {.s = xstrdup(cap), .key = key_dup(key)};
	if (!bwk_json_budget_charge(cap_cost(&t))) {
		free(t.s);
		free(t.key);
		return;
	}
	for (char *p = t.s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	*GROW(*v, *n) = t;
}

void aud_wl_add_caps(wl_str **v, size_t *n, const json_t *caps, const char *key)
{
	size_t i;
	const json_t *c;
	json_array_foreach(caps, i, c)
	{
		cleanup_free char *k = xasprintf("%s[%zu]", key, i);
		aud_wl_add_cap(v, n, json_string_value(c), k);
	}
}

bool aud_wl_has_cap(const wl_str *v, size_t n, const char *cap)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].s, cap))
			return true;
	return false;
}

void aud_wl_add_mount(workload *w, const char *source, const char *target, bool rw,
		      const char *propagation, bool hostpath, const char *key)
{
	if (list_full(w->nmounts))
		return;
	wl_mount m = {.source = source ? xstrdup(source) : NULL,
		      .target = xstrdup(target ? target : ""),
		      .rw = rw,
		      .propagation = propagation && *propagation ? xstrdup(propagation) : NULL,
		      .hostpath = hostpath,
		      .key = key_dup(key)};
	if (!bwk_json_budget_charge(mount_cost(&m))) {
		free(m.source);
		free(m.target);
		free(m.propagation);
		free(m.key);
		return;
	}
	*GROW(w->mounts, w->nmounts) = m;
}

void aud_wl_add_port(workload *w, const char *host_ip, unsigned host_port, unsigned container_port,
		     const char *key)
{
	if (list_full(w->nports))
		return;
	wl_port p = {.host_ip = host_ip ? xstrdup(host_ip) : NULL,
		     .host_port = host_port,
		     .container_port = container_port,
		     .key = key_dup(key)};
	if (!bwk_json_budget_charge(port_cost(&p))) {
		free(p.host_ip);
		free(p.key);
		return;
	}
	*GROW(w->ports, w->nports) = p;
}

void aud_wl_add_device(workload *w, const char *path, const char *key)
{
	if (list_full(w->ndevices))
		return;
	wl_str d = {.s = xstrdup(path), .key = key_dup(key)};
	if (!bwk_json_budget_charge(cap_cost(&d))) {
		free(d.s);
		free(d.key);
		return;
	}
	*GROW(w->devices, w->ndevices) = d;
}

void aud_wl_add_env(workload *w, const char *name, const char *value, const char *key)
{
	if (list_full(w->nenv))
		return;
	wl_env e = {
	    .name = xstrdup(name), .value = xstrdup(value ? value : ""), .key = key_dup(key)};
	if (!bwk_json_budget_charge(env_cost(&e))) {
		free(e.name);
		free(e.value);
		free(e.key);
		return;
	}
	*GROW(w->env, w->nenv) = e;
}

void aud_wl_add_env_list(workload *w, const json_t *list, const char *key)
{
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		const char *eq = s ? strchr(s, '=') : NULL;
		if (!eq)
			continue;
		cleanup_free char *n = xstrndup(s, (size_t)(eq - s));
		cleanup_free char *k = xasprintf("%s[%zu]", key, i);
		aud_wl_add_env(w, n, eq + 1, k);
	}
}

int64_t aud_wl_uid_from_user(const char *user)
{
	if (!user || !*user)
		return -1;
	size_t n = strcspn(user, ":");
	if (n == 4 && !strncmp(user, "root", 4))
		return 0;
	if (n == 0)
		return -1;
	char *end = NULL;
	long long v = strtoll(user, &end, 10);
	if (end == user + n && v >= 0)
		return v;
	return -1; /* a name other than root: resolved inside the image, not here */
}

/* ---- json helpers ---- */

const char *aud_js_str(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

bool aud_js_is_host(const json_t *o, const char *k)
{
	const char *v = aud_js_str(o, k);
	return v && !strcmp(v, "host");
}

bool aud_js_true(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_true(v))
		return true;
	/* Compose accepts "true" strings in some places */
	return json_is_string(v) && !strcasecmp(json_string_value(v), "true");
}

tri aud_js_tri(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_boolean(v))
		return json_is_true(v) ? TRI_TRUE : TRI_FALSE;
	if (json_is_string(v)) {
		if (!strcasecmp(json_string_value(v), "true"))
			return TRI_TRUE;
		if (!strcasecmp(json_string_value(v), "false"))
			return TRI_FALSE;
	}
	return TRI_UNSET;
}

int64_t aud_i64(double d)
{
	if (d != d)
		return 0;
	if (d >= 9223372036854775807.0)
		return INT64_MAX;
	if (d <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d;
}

bool aud_js_num(const json_t *o, const char *k, double *out)
{
	const json_t *v = json_object_get(o, k);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v)) {
		char *end = NULL;
		double d = strtod(json_string_value(v), &end);
		if (end != json_string_value(v) && !*end) {
			*out = d;
			return true;
		}
	}
	return false;
}

const json_t *aud_js_path(const json_t *o, const char *dotted)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", dotted);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ".", &save); tok && o; tok = strtok_r(NULL, ".", &save))
		o = json_object_get(o, tok);
	return o;
}

/* ---- options ---- */

const char *aud_opt_proc_root(const bwk_audit_opts *o)
{
	if (o && o->proc_root)
		return o->proc_root;
	const char *e = getenv("BULWARK_PROC_ROOT"); /* BWK_PROC_ROOT: deprecated */
	if (!e || !*e)
		e = getenv("BWK_PROC_ROOT");
	return e && *e ? e : "/proc";
}

const char *aud_opt_sys_root(const bwk_audit_opts *o)
{
	if (o && o->sys_root)
		return o->sys_root;
	const char *e = getenv("BULWARK_SYS_ROOT"); /* BWK_SYS_ROOT: deprecated */
	if (!e || !*e)
		e = getenv("BWK_SYS_ROOT");
	return e && *e ? e : "/sys";
}

const char *aud_opt_data_dir(const bwk_audit_opts *o)
{
	if (o && o->data_dir)
		return o->data_dir;
	const char *e = getenv("BULWARK_DATA_DIR"); /* BWK_DATA_DIR: deprecated */
	if (!e || !*e)
		e = getenv("BWK_DATA_DIR");
	return e && *e ? e : NULL;
}

char *aud_opt_rooted(const bwk_audit_opts *o, const char *abs)
{
	const char *root = o && o->root ? o->root : "/";
	if (!strcmp(root, "/"))
		return xstrdup(abs);
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, root, abs);
}

int aud_audit_add(bwk_findings *out, const bwk_rule *rule, int severity, const char *target,
		  const char *key, unsigned line, const char *message, const char *evidence,
		  bwk_error **err)
{
	bwk_finding_spec s = {
	    .rule = rule,
	    .loc = {.target = target, .layer_index = -1, .key = key, .line = line},
	    .message = message,
	    .evidence = evidence,
	    .severity = severity,
	};
	return bwk_findings_add(out, &s, err);
}

/* Docker/Compose --security-opt values: "seccomp=unconfined", "seccomp:unconfined",
 * "apparmor=…", "label=disable", "label:disable", "no-new-privileges[:true|=false]". */
void aud_wl_security_opt(workload *w, const char *opt)
{
	size_t n = strcspn(opt, ":=");
	const char *val = opt[n] ? opt + n + 1 : NULL;
	if (n == 7 && !strncmp(opt, "seccomp", 7) && val) {
		free(w->seccomp);
		w->seccomp = xstrdup(val);
	} else if (n == 8 && !strncmp(opt, "apparmor", 8) && val) {
		free(w->apparmor);
		w->apparmor = xstrdup(val);
	} else if (n == 5 && !strncmp(opt, "label", 5) && val && !strcmp(val, "disable")) {
		w->selinux_disabled = true;
	} else if (n == 17 && !strncmp(opt, "no-new-privileges", 17)) {
		w->no_new_privs = !val || !strcasecmp(val, "true") ? TRI_TRUE : TRI_FALSE;
	}
}

/* Docker memory sizes: 536870912, "512m", "1g", "1.5g", "512MB". */
int64_t aud_wl_parse_size(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return aud_i64(json_real_value(v));
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	char *end = NULL;
	double d = strtod(s, &end);
	if (end == s || d < 0)
		return 0;
	double mul = 1;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mul = 1024.0;
		break;
	case 'm':
		mul = 1024.0 * 1024;
		break;
	case 'g':
		mul = 1024.0 * 1024 * 1024;
		break;
	case 't':
		mul = 1024.0 * 1024 * 1024 * 1024;
		break;
	case 'b':
	case 0:
		break;
	default:
		return 0;
	}
	return aud_i64(d * mul);
}

void aud_wl_add_bind_spec(workload *w, const char *spec, bool relative_paths, const char *key)
{
	cleanup_free char *s = xstrdup(spec);
	char *dst = strchr(s, ':');
	if (!dst)
		return;
	*dst++ = 0;
	char *opts = strchr(dst, ':');
	if (opts)
		*opts++ = 0;
	bool rw = true;
	const char *prop = NULL;
	if (opts) {
		char *save = NULL;
		for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "ro"))
				rw = false;
			else if (strstr(o, "shared") || strstr(o, "slave") || strstr(o, "private"))
				prop = o;
		}
	}
	bool path = s[0] == '/' || (relative_paths && (s[0] == '.' || s[0] == '~' || s[0] == '$'));
	aud_wl_add_mount(w, path ? s : NULL, dst, rw, prop, false, key);
}
