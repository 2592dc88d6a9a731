/* `bulwark audit containers`: every (running) container of the live engine, read from the same
 * inspect data `docker inspect` prints and checked with the workload rule table. */
#define _GNU_SOURCE
#include <string.h>

#include "audit/audit_private.h"
#include "bulwark/oci.h"
#include "bulwark/secrets.h"
#include "core/cleanup.h"

/* Which OCI runtime runs the container (HostConfig.Runtime, whose path and runtimeArgs the
 * daemon's /info lists), and whether it is bulwark with its hardening policy: --harden in the
 * runtime's arguments or the container's annotation org.bulwark.harden=true. */
static void runtime_fact(const bwk_audit_opts *o, bwk_findings *out, const json_t *runtimes,
			 const json_t *ins, const char *name, size_t *n_bulwark, size_t *n_hardened)
{
	const char *rt = aud_js_str(aud_js_path(ins, "HostConfig"), "Runtime");
	if (!rt || !*rt)
		return;
	const json_t *def = json_object_get(runtimes, rt);
	const char *path = aud_js_str(def, "path");
	if (!path)
		path = rt;
	cleanup_free char *key = xasprintf("containers.%s.runtime", name);
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strncmp(base, "bulwark", 7)) {
		bwk_findings_fact(out, key, "%s", rt);
		return;
	}
	bool harden = false;
	const char *args[64]; /* the daemon's configuration: a few arguments */
	size_t n = 0, i;
	const json_t *a;
	json_array_foreach(json_object_get(def, "runtimeArgs"), i, a)
	{
		const char *v = json_string_value(a);
		if (v && n < sizeof args / sizeof *args)
			args[n++] = v;
		harden |= v && !strcmp(v, "--harden");
	}
	if (o && o->runtime_harden)
		harden = o->runtime_harden(args, n);
	const char *ann =
	    aud_js_str(aud_js_path(ins, "HostConfig.Annotations"), BWK_OCI_ANN_HARDEN);
	bool by_ann = ann && !strcmp(ann, "true");
	(*n_bulwark)++;
	*n_hardened += harden || by_ann;
	bwk_findings_fact(out, key, "%s (bulwark, %s)", rt,
			  harden   ? "hardened: --harden"
			  : by_ann ? "hardened: annotation org.bulwark.harden"
				   : "not hardened unless " BWK_OCI_RUNTIME_CONF " says so");
}

/* The engine answers with one entry per container; this bounds the work on a huge host. */
#define MAX_CONTAINERS 10000

int bwk_audit_containers(const bwk_audit_opts *o, bwk_findings *out, bwk_error **err)
{
	cleanup_with(aud_engine_close) aud_engine eng = {0};
	if (aud_engine_open(o, &eng, err) < 0)
		return -1;
	json_auto_t *list = NULL;
	if (aud_engine_get_json(&eng, o && o->all ? "/containers/json?all=1" : "/containers/json",
				&list, err) < 0)
		return -1;
	if (!json_is_array(list))
		return bwk_error_set(err, BWK_E_INPUT, 0, "engine %s: /containers/json: not a list",
				     eng.host);
	if (json_array_size(list) > MAX_CONTAINERS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "engine %s: more than %d containers: audit them in batches "
				     "with `docker inspect … | bulwark audit -`",
				     eng.host, MAX_CONTAINERS);
	cleanup_with(bwk_secrets_freep) bwk_secrets *sec = NULL;
	bool want = !(o && (o->no_secrets || o->secrets));
	if (want && bwk_secrets_new(NULL, &sec, err) < 0)
		return bwk_error_wrap(err, "loading the secret rules");
	wl_ctx wl = {.target = eng.host,
		     .out = out,
		     .opts = o,
		     .secrets = o && o->secrets ? o->secrets : sec};
	reader_ctx r = {.wl = &wl, .name = eng.host};
	bwk_findings_fact(out, "containers.endpoint", "%s", eng.host);
	bwk_findings_fact(out, "containers.listed", "%zu %s", json_array_size(list),
			  o && o->all ? "(all, stopped too)" : "(running)");
	json_auto_t *info = NULL;
	bwk_error *ie = NULL;
	if (aud_engine_get_json(&eng, "/info", &info, &ie) < 0)
		bwk_error_free(ie); /* the runtimes' definitions only: their names still show */
	const json_t *runtimes = json_object_get(info, "Runtimes");
	size_t n_bulwark = 0, n_hardened = 0;
	size_t i;
	const json_t *c;
	json_array_foreach(list, i, c)
	{
		const char *id = aud_js_str(c, "Id");
		if (!id || strspn(id, "0123456789abcdef") != strlen(id))
			continue;
		cleanup_free char *path = xasprintf("/containers/%s/json", id);
		json_auto_t *ins = NULL;
		bwk_error *e = NULL;
		if (aud_engine_get_json(&eng, path, &ins, &e) < 0) {
			/* removed between the list and the inspect: not an error */
			if (bwk_error_code(e) == BWK_E_NOTFOUND) {
				bwk_error_free(e);
				continue;
			}
			*err = e;
			return -1;
		}
		const char *name = aud_js_str(ins, "Name");
		name = name && *name == '/' ? name + 1 : id;
		runtime_fact(o, out, runtimes, ins, name, &n_bulwark, &n_hardened);
		if (aud_read_inspect_one(&r, ins, name, err) < 0)
			return -1;
	}
	bwk_findings_fact(out, "containers.bulwark", "%zu under bulwark, %zu of them hardened",
			  n_bulwark, n_hardened);
	return 0;
}
