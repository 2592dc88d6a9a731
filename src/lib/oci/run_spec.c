/* `bulwark run`'s settings and an image's config → a runtime spec (runc's specconv, for run):
 * Docker's semantics for the process and bulwark's hardened defaults. What the spec cannot
 * say travels in org.bulwark.* annotations (see bulwark/oci.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "oci/oci_private.h"

#define MAX_ENV	 4096
#define MAX_ARGS 4096

static void strv_push(bwk_oci_strv *v, const char *s)
{
	v->v = xrealloc(v->v, (v->n + 2) * sizeof *v->v);
	v->v[v->n++] = xstrdup(s);
	v->v[v->n] = NULL;
}

/* KEY=VALUE replaces an earlier KEY (later sources win, as in Docker). */
static void env_set(bwk_oci_strv *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, kl) && env->v[i][kl] == '=') {
			free(env->v[i]);
			env->v[i] = xstrdup(kv);
			return;
		}
	if (env->n < MAX_ENV)
		strv_push(env, kv);
}

static void map_set(bwk_oci_map *m, const char *k, const char *v)
{
	m->v = xrealloc(m->v, (m->n + 2) * sizeof *m->v);
	m->v[m->n].key = xstrdup(k);
	m->v[m->n].value = xstrdup(v);
	m->n++;
}

/* Docker: an entrypoint setting replaces the image's and drops its Cmd; arguments after the
 * image replace Cmd. */
static int process_args(const bwk_image_config *img, const bwk_oci_run *r, bwk_oci_strv *args,
			bwk_error **err)
{
	args->v = xcalloc(1, sizeof *args->v);
	if (r->entrypoint) {
		if (r->entrypoint[0])
			strv_push(args, r->entrypoint);
	} else if (img) {
		for (const char *const *e = img->entrypoint; e && *e && args->n < MAX_ARGS; e++)
			strv_push(args, *e);
	}
	if (r->args && r->args[0]) {
		for (const char *const *a = r->args; *a && args->n < MAX_ARGS; a++)
			strv_push(args, *a);
	} else if (img && !r->entrypoint) {
		for (const char *const *c = img->cmd; c && *c && args->n < MAX_ARGS; c++)
			strv_push(args, *c);
	}
	if (!args->n)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "no command given and the image has none");
	return 0;
}

static void process_env(const bwk_image_config *img, const bwk_oci_run *r, const char *hostname,
			bwk_oci_strv *env)
{
	env->v = xcalloc(1, sizeof *env->v);
	env_set(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	char *hn = xasprintf("HOSTNAME=%s", hostname);
	env_set(env, hn);
	free(hn);
	if (r->tty)
		env_set(env, "TERM=xterm");
	for (const char *const *e = img ? img->env : NULL; e && *e; e++)
		if (strchr(*e, '='))
			env_set(env, *e);
	for (const char *const *e = r->env; e && *e; e++)
		env_set(env, *e);
}

static void caps_from_mask(uint64_t mask, bwk_oci_caps *c)
{
	c->set = true;
	bwk_oci_strv *sets[] = {&c->bounding, &c->effective, &c->permitted};
	for (size_t k = 0; k < 3; k++) {
		sets[k]->v = xcalloc(1, sizeof *sets[k]->v);
		for (int i = 0; i < 64; i++)
			if ((mask & (1ull << i)) && bwk_cap_name(i))
				strv_push(sets[k], bwk_cap_name(i));
	}
	c->inheritable.v = xcalloc(1, sizeof(char *));
	c->ambient.v = xcalloc(1, sizeof(char *));
}

static void linux_part(const bwk_oci_run *r, bwk_oci_linux *l)
{
	static const char *const ns[] = {"pid", "ipc", "uts", "mount", "user", "cgroup", "network"};
	size_t nns = sizeof ns / sizeof *ns - (r->net == BWK_NET_HOST);
	l->set = true;
	l->namespaces = xcalloc(nns + 1, sizeof *l->namespaces);
	for (size_t i = 0; i < nns; i++)
		l->namespaces[l->n_namespaces++].type = xstrdup(ns[i]);
	bwk_oci_resources *res = &l->resources;
	res->set = true;
	uint64_t mem = r->memory ? r->memory : BWK_DEFAULT_MEMORY;
	res->memory.limit = (bwk_oci_i64){true, mem == BWK_UNLIMITED ? -1 : (int64_t)mem};
	uint64_t pids = r->pids ? r->pids : BWK_DEFAULT_PIDS;
	res->pids_limit = (bwk_oci_i64){true, pids == BWK_UNLIMITED ? -1 : (int64_t)pids};
	res->cpu.shares = (bwk_oci_u64){true, BWK_DEFAULT_CPU_WEIGHT * 1024 / 100};
	if (r->cpus_milli) {
		res->cpu.quota = (bwk_oci_i64){true, (int64_t)r->cpus_milli * 100};
		res->cpu.period = (bwk_oci_u64){true, 100000};
	}
	l->rootfs_propagation = xstrdup("rprivate");
}

static void mounts_part(const bwk_oci_run *r, bwk_oci_spec *s)
{
	s->mounts = xcalloc(r->nbinds + 1, sizeof *s->mounts);
	for (size_t i = 0; i < r->nbinds; i++) {
		bwk_oci_mount *m = &s->mounts[s->n_mounts++];
		m->destination = xstrdup(r->binds[i].dst);
		m->source = xstrdup(r->binds[i].src);
		m->type = xstrdup("bind");
		m->options.v = xcalloc(1, sizeof(char *));
		strv_push(&m->options, "rbind");
		strv_push(&m->options, r->binds[i].rw ? "rw" : "ro");
		strv_push(&m->options, "nosuid");
		strv_push(&m->options, "nodev");
	}
}

static int annotations(const bwk_image_config *img, const bwk_oci_run *r, bwk_oci_spec *s,
		       bwk_error **err)
{
	bwk_oci_map *a = &s->annotations;
	a->v = xcalloc(1, sizeof *a->v);
	const char *user = r->user ? r->user : (img && img->user ? img->user : "");
	if (user[0])
		map_set(a, BWK_OCI_ANN_USER, user);
	map_set(a, BWK_OCI_ANN_SECCOMP, r->seccomp ? r->seccomp : "default");
	int sig = r->stop_signal;
	if (!sig && img && img->stop_signal && img->stop_signal[0] &&
	    (sig = bwk_signal_from_name(img->stop_signal)) < 0)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "the image's StopSignal '%.32s' is not a signal",
				     img->stop_signal);
	if (sig > 0) {
		char n[16];
		snprintf(n, sizeof n, "%d", sig);
		map_set(a, BWK_OCI_ANN_STOP_SIGNAL, n);
	}
	if (r->net == BWK_NET_SLIRP)
		map_set(a, BWK_OCI_ANN_NETWORK, "slirp");
	return 0;
}

int bwk_oci_spec_from_run(const bwk_image_config *img, const bwk_oci_run *r, bwk_oci_spec **out,
			  bwk_error **err)
{
	*out = NULL;
	bwk_oci_spec *s = xcalloc(1, sizeof *s);
	/* every property written here exists since 1.0.2, which older runtimes (crun 1.8) still
	 * take: the oldest version that says it */
	s->oci_version = xstrdup("1.0.2");
	s->has_root = true;
	s->root_path = xstrdup(r->root_path ? r->root_path : "rootfs");
	s->root_readonly = !r->read_write;
	s->hostname = xstrdup(r->hostname ? r->hostname : "bulwark");
	s->has_process = true;
	bwk_oci_process *p = &s->process;
	p->terminal = r->tty;
	p->no_new_privileges = true;
	const char *cwd = r->cwd;
	if (!cwd && img && img->workdir && img->workdir[0])
		cwd = img->workdir;
	p->cwd = xstrdup(cwd ? cwd : "/");
	caps_from_mask(r->caps, &p->caps);
	process_env(img, r, s->hostname, &p->env);
	if (r->nrlimits) {
		p->rlimits = xcalloc(r->nrlimits, sizeof *p->rlimits);
		for (; p->n_rlimits < r->nrlimits; p->n_rlimits++) {
			p->rlimits[p->n_rlimits] = r->rlimits[p->n_rlimits];
			p->rlimits[p->n_rlimits].type = xstrdup(r->rlimits[p->n_rlimits].type);
		}
	}
	linux_part(r, &s->linux_);
	mounts_part(r, s);
	if (process_args(img, r, &p->args, err) < 0 || annotations(img, r, s, err) < 0) {
		bwk_oci_spec_free(s);
		return -1;
	}
	*out = s;
	return 0;
}
