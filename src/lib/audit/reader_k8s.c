/* Kubernetes objects -> one workload per container of every pod template: Pod, Deployment,
 * StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate, and
 * List (recursively, bounded by the YAML depth cap). Other kinds carry no pod and are skipped. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "audit/audit_private.h"
#include "core/cleanup.h"
#include "core/yaml_tree.h"

/* Kubernetes quantity: "512Mi", "1G", "500m", "2", 1.5 -> value in base units */
static double quantity(const json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	char *end = NULL;
	double d = strtod(s, &end);
	if (end == s || d < 0)
		return 0;
	static const struct {
		const char *suf;
		double mul;
	} sufs[] = {{"Ki", 1024.0},
		    {"Mi", 1048576.0},
		    {"Gi", 1073741824.0},
		    {"Ti", 1099511627776.0},
		    {"Pi", 1125899906842624.0},
		    {"Ei", 1152921504606846976.0},
		    {"k", 1e3},
		    {"M", 1e6},
		    {"G", 1e9},
		    {"T", 1e12},
		    {"P", 1e15},
		    {"E", 1e18},
		    {"m", 1e-3},
		    {"", 1}};
	for (size_t i = 0; i < sizeof(sufs) / sizeof(sufs[0]); i++)
		if (!strcmp(end, sufs[i].suf))
			return d * sufs[i].mul;
	return 0;
}

/* The pod spec inside an object of `kind`, or NULL when the kind has none. */
static const json_t *pod_spec(const json_t *obj, const char *kind, const json_t **meta,
			      const char **path)
{
	const json_t *spec = json_object_get(obj, "spec");
	if (!strcmp(kind, "Pod")) {
		*meta = json_object_get(obj, "metadata");
		*path = "spec";
		return spec;
	}
	static const char *const templated[] = {"Deployment", "StatefulSet",	       "DaemonSet",
						"ReplicaSet", "ReplicationController", "Job",
						NULL};
	for (int i = 0; templated[i]; i++)
		if (!strcmp(kind, templated[i])) {
			const json_t *t = json_object_get(spec, "template");
			*meta = json_object_get(t, "metadata");
			*path = "spec.template.spec";
			return json_object_get(t, "spec");
		}
	if (!strcmp(kind, "CronJob")) {
		const json_t *t = aud_js_path(spec, "jobTemplate.spec.template");
		*meta = json_object_get(t, "metadata");
		*path = "spec.jobTemplate.spec.template.spec";
		return json_object_get(t, "spec");
	}
	if (!strcmp(kind, "PodTemplate")) {
		const json_t *t = json_object_get(obj, "template");
		*meta = json_object_get(t, "metadata");
		*path = "template.spec";
		return json_object_get(t, "spec");
	}
	return NULL;
}

static const char *profile_type(const json_t *sc, const char *field)
{
	return aud_js_str(json_object_get(sc, field), "type");
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

/* seccomp/AppArmor profile type -> model value ("unconfined", "runtime/default", name) */
static void apply_profile(char **dst, const char *type, const char *ann)
{
	if (type) {
		if (!strcmp(type, "Unconfined"))
			set_str(dst, "unconfined");
		else if (!strcmp(type, "RuntimeDefault"))
			set_str(dst, "runtime/default");
		else
			set_str(dst, "localhost");
	} else if (ann) {
		set_str(dst, ann);
	}
}

static const json_t *find_volume(const json_t *pod, const char *name)
{
	size_t i;
	const json_t *v;
	json_array_foreach(json_object_get(pod, "volumes"), i, v)
	{
		const char *n = aud_js_str(v, "name");
		if (n && !strcmp(n, name))
			return v;
	}
	return NULL;
}

static int read_container(reader_ctx *r, const json_t *pod, const json_t *meta, const json_t *cont,
			  const char *ckey, const char *wname, const char *podkey, bool first,
			  bwk_error **err)
{
	const char *cname = aud_js_str(cont, "name");
	cleanup_free char *name = xasprintf("%s:%s", wname, cname ? cname : "?");
	unsigned line = r->doc ? bwk_yaml_node_line(r->doc, cont) : 0;
	cleanup_workload workload *w = aud_wl_new(BWK_WL_K8S, name, ckey, line ? line : r->line);
	const json_t *psc = json_object_get(pod, "securityContext");
	const json_t *sc = json_object_get(cont, "securityContext");
	const json_t *ann = json_object_get(meta, "annotations");

	w->privileged = aud_js_true(sc, "privileged");
	const json_t *caps = json_object_get(sc, "capabilities");
	size_t i;
	const json_t *v;
	cleanup_free char *kadd = xasprintf("%s.securityContext.capabilities.add", ckey);
	cleanup_free char *kdrop = xasprintf("%s.securityContext.capabilities.drop", ckey);
	aud_wl_add_caps(&w->cap_add, &w->ncap_add, json_object_get(caps, "add"), kadd);
	aud_wl_add_caps(&w->cap_drop, &w->ncap_drop, json_object_get(caps, "drop"), kdrop);
	w->host_pid = aud_js_true(pod, "hostPID");
	w->host_ipc = aud_js_true(pod, "hostIPC");
	w->host_net = aud_js_true(pod, "hostNetwork");

	json_array_foreach(json_object_get(cont, "volumeMounts"), i, v)
	{
		const char *vn = aud_js_str(v, "name");
		const json_t *vol = vn ? find_volume(pod, vn) : NULL;
		const json_t *hp = json_object_get(vol, "hostPath");
		cleanup_free char *k = xasprintf("%s.volumeMounts[%zu]", ckey, i);
		aud_wl_add_mount(w, hp ? aud_js_str(hp, "path") : NULL, aud_js_str(v, "mountPath"),
				 !aud_js_true(v, "readOnly"), aud_js_str(v, "mountPropagation"),
				 hp != NULL, k);
	}

	/* pod-level settings apply unless the container overrides them */
	char annkey[320];
	snprintf(annkey, sizeof(annkey), "container.seccomp.security.alpha.kubernetes.io/%s",
		 cname ? cname : "");
	const char *sc_ann = aud_js_str(ann, annkey);
	if (!sc_ann)
		sc_ann = aud_js_str(ann, "seccomp.security.alpha.kubernetes.io/pod");
	apply_profile(&w->seccomp, profile_type(psc, "seccompProfile"), NULL);
	apply_profile(&w->seccomp, profile_type(sc, "seccompProfile"),
		      profile_type(psc, "seccompProfile") ? NULL : sc_ann);
	w->seccomp_unset_means_unconfined = true;
	snprintf(annkey, sizeof(annkey), "container.apparmor.security.beta.kubernetes.io/%s",
		 cname ? cname : "");
	apply_profile(&w->apparmor, profile_type(psc, "appArmorProfile"), NULL);
	apply_profile(&w->apparmor, profile_type(sc, "appArmorProfile"), aud_js_str(ann, annkey));
	const char *se = aud_js_str(json_object_get(sc, "seLinuxOptions"), "type");
	if (!se)
		se = aud_js_str(json_object_get(psc, "seLinuxOptions"), "type");
	w->selinux_disabled = se && !strcmp(se, "spc_t");

	if (aud_js_tri(sc, "allowPrivilegeEscalation") == TRI_FALSE)
		w->no_new_privs = TRI_TRUE;
	double d;
	if (aud_js_num(sc, "runAsUser", &d) || aud_js_num(psc, "runAsUser", &d))
		w->uid = aud_i64(d);
	w->run_as_non_root = aud_js_tri(sc, "runAsNonRoot");
	if (w->run_as_non_root == TRI_UNSET)
		w->run_as_non_root = aud_js_tri(psc, "runAsNonRoot");
	w->ro_rootfs = aud_js_tri(sc, "readOnlyRootFilesystem");

	const json_t *limits = aud_js_path(cont, "resources.limits");
	w->mem_limit = aud_i64(quantity(json_object_get(limits, "memory")));
	w->cpu_limit = quantity(json_object_get(limits, "cpu"));

	json_array_foreach(json_object_get(cont, "ports"), i, v)
	{
		double cp = 0, hp = 0;
		aud_js_num(v, "containerPort", &cp);
		aud_js_num(v, "hostPort", &hp);
		cleanup_free char *k = xasprintf("%s.ports[%zu]", ckey, i);
		/* out-of-range numbers are not ports (and casting them would be UB) */
		aud_wl_add_port(w, aud_js_str(v, "hostIP"),
				hp >= 0 && hp <= 65535 ? (unsigned)hp : 0,
				cp >= 0 && cp <= 65535 ? (unsigned)cp : 0, k);
	}
	json_array_foreach(json_object_get(cont, "env"), i, v)
	{
		const char *n = aud_js_str(v, "name");
		const char *val = aud_js_str(v, "value");
		if (!n || !val)
			continue; /* valueFrom references a Secret: the right way */
		cleanup_free char *k = xasprintf("%s.env[%zu]", ckey, i);
		aud_wl_add_env(w, n, val, k);
	}
	const char *img = aud_js_str(cont, "image");
	w->image = img ? xstrdup(img) : NULL;
	/* the token is mounted into the pod: report it once, with the first container */
	w->automount_sa_token = first ? aud_js_tri(pod, "automountServiceAccountToken") : TRI_FALSE;
	w->sa_key = xasprintf("%s.automountServiceAccountToken", podkey);
	return aud_wl_check(r->wl, w, err);
}

int aud_read_k8s(reader_ctx *r, const json_t *obj, const char *key, bwk_error **err)
{
	const char *kind = aud_js_str(obj, "kind");
	if (!json_is_object(obj) || !kind || !aud_js_str(obj, "apiVersion"))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%u: %s: not a Kubernetes object (apiVersion and kind "
				     "required)",
				     r->name, r->line, *key ? key : "document");
	if (!strcmp(kind, "List") || bwk_str_endswith(kind, "List")) {
		size_t i;
		const json_t *item;
		json_array_foreach(json_object_get(obj, "items"), i, item)
		{
			cleanup_free char *k = xasprintf("%sitems[%zu].", key, i);
			if (aud_read_k8s(r, item, k, err) < 0)
				return -1;
		}
		return 0;
	}
	const json_t *meta = NULL;
	const char *path = NULL;
	const json_t *pod = pod_spec(obj, kind, &meta, &path);
	if (!pod)
		return 0;
	if (!json_is_object(pod))
		return bwk_error_set(
		    err, BWK_E_INPUT, 0, "%s:%u: %s %s: %s is not a mapping", r->name, r->line,
		    kind, aud_js_str(json_object_get(obj, "metadata"), "name") ?: "?", path);
	const json_t *om = json_object_get(obj, "metadata");
	const char *ns = aud_js_str(om, "namespace");
	const char *oname = aud_js_str(om, "name");
	cleanup_free char *wname = ns ? xasprintf("%s/%s/%s", kind, ns, oname ? oname : "?")
				      : xasprintf("%s/%s", kind, oname ? oname : "?");
	cleanup_free char *podkey = xasprintf("%s%s", key, path);
	static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers",
					    NULL};
	bool first = true;
	for (int l = 0; lists[l]; l++) {
		size_t i;
		const json_t *c;
		json_array_foreach(json_object_get(pod, lists[l]), i, c)
		{
			if (!json_is_object(c))
				continue;
			cleanup_free char *ckey = xasprintf("%s.%s[%zu]", podkey, lists[l], i);
			if (read_container(r, pod, meta, c, ckey, wname, podkey, first, err) < 0)
				return -1;
			first = false;
		}
	}
	return 0;
}
