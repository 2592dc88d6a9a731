/* `bulwark run`'s settings and an image's config → a runtime spec (runc's specconv, for run):
 * Docker's semantics for the process and bulwark's hardened defaults. What the spec cannot
 * say travels in org.bulwark.* annotations (see bulwark/oci.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "oci/oci_private.h"

#define MAX_ARGS 4096

/* the model's helper (spec_model.c), by its short name here */
#define map_set oci_map_set

/* Every list built here has its own smaller bound (MAX_ARGS, BWK_MAX_ENV, 64 capabilities, a
 * mount's few options), so the bounded push cannot fail. */
_Static_assert(MAX_ARGS < BWK_STRV_MAX && BWK_MAX_ENV < BWK_STRV_MAX, "a bound above the push's");
static void strv_push(bwk_strv *v, const char *s)
{
	(void)bwk_strv_push(v, s, NULL);
}

/* KEY=VALUE replaces an earlier KEY (later sources win, as in Docker). */
static void env_set(bwk_strv *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, kl) && env->v[i][kl] == '=') {
			free(env->v[i]);
			env->v[i] = xstrdup(kv);
			return;
		}
	if (env->n < BWK_MAX_ENV)
		strv_push(env, kv);
}

/* Docker: an entrypoint setting replaces the image's and drops its Cmd; arguments after the
 * image replace Cmd. */
static int process_args(const bwk_image_config *img, const bwk_oci_run *r, bwk_strv *args,
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
			bwk_strv *env)
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
	bwk_strv *sets[] = {&c->bounding, &c->effective, &c->permitted};
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

/* `path` without its trailing slashes into buf; false when it is not a clean absolute path
 * (relative, empty component, "." or ".."): such a VOLUME is not mounted anywhere. */
static bool clean_path(const char *path, char *buf, size_t len)
{
	size_t l = strlen(path);
	while (l > 1 && path[l - 1] == '/')
		l--;
	if (path[0] != '/' || l >= len || l < 2)
		return false;
	memcpy(buf, path, l);
	buf[l] = 0;
	for (const char *c = buf; c; c = strchr(c + 1, '/')) {
		const char *n = c + 1;
		size_t cl = strcspn(n, "/");
		if (cl == 0 || (cl == 1 && n[0] == '.') || (cl == 2 && !strncmp(n, "..", 2)))
			return false;
	}
	return true;
}

/* `path` is `top` or below it. */
static bool path_within(const char *path, const char *top)
{
	size_t l = strlen(top);
	while (l > 1 && top[l - 1] == '/')
		l--;
	return !strncmp(path, top, l) && (path[l] == 0 || path[l] == '/' || l == 1);
}

static void tmpfs_mount(bwk_oci_mount *m, const char *dst, uint64_t size, uint32_t mode,
			bool copyup, bool noexec)
{
	m->destination = xstrdup(dst);
	m->source = xstrdup("tmpfs");
	m->type = xstrdup("tmpfs");
	m->options.v = xcalloc(1, sizeof(char *));
	strv_push(&m->options, "nosuid");
	strv_push(&m->options, "nodev");
	strv_push(&m->options, noexec ? "noexec" : "exec");
	if (copyup)
		strv_push(&m->options, "tmpcopyup");
	char o[48];
	if (size) {
		snprintf(o, sizeof o, "size=%llu", (unsigned long long)size);
		strv_push(&m->options, o);
	}
	if (mode) {
		snprintf(o, sizeof o, "mode=%o", (unsigned)(mode & 07777));
		strv_push(&m->options, o);
	}
}

/* The image's VOLUMEs as Docker's anonymous volumes: writable under the read-only root,
 * starting with the image's content there (owner and mode kept), discarded at exit. A -v or
 * --tmpfs at or above the path replaces it; /tmp and /run are tmpfs with that content anyway;
 * and the runtime's own /proc, /sys and /dev are never covered (an image cannot hide them). */
#define MAX_IMAGE_VOLUMES 16 /* each up to writable_size, in memory */
static int image_volumes(const bwk_image_config *img, const bwk_oci_run *r, bwk_oci_spec *s,
			 bwk_error **err)
{
	static const char *const own[] = {"/proc", "/sys", "/dev", "/tmp", "/run"};
	size_t n = 0;
	for (const char *const *v = img ? img->volumes : NULL; v && *v; v++, n++) {
		char p[4096];
		if (n >= MAX_IMAGE_VOLUMES)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "the image declares more than %d VOLUMEs",
					     MAX_IMAGE_VOLUMES);
		if (!clean_path(*v, p, sizeof p))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "the image's VOLUME '%.256s' is not a clean absolute "
					     "path: bulwark does not know where to mount it",
					     *v);
		bool covered = false;
		for (size_t i = 0; i < sizeof own / sizeof *own; i++)
			covered |= path_within(p, own[i]) && (i < 3 || !strcmp(p, own[i]));
		for (size_t i = 0; i < r->nbinds && !covered; i++)
			covered = path_within(p, r->binds[i].dst);
		for (size_t i = 0; i < r->ntmpfs && !covered; i++)
			covered = r->tmpfs[i].dst && path_within(p, r->tmpfs[i].dst);
		for (size_t i = 0; i < s->n_mounts && !covered; i++)
			covered = !strcmp(s->mounts[i].destination, p);
		if (covered)
			continue;
		tmpfs_mount(&s->mounts[s->n_mounts++], p, r->writable_size, 0, true, false);
	}
	return 0;
}

static size_t count_volumes(const bwk_image_config *img)
{
	size_t n = 0;
	for (const char *const *v = img ? img->volumes : NULL; v && *v && n <= MAX_IMAGE_VOLUMES;
	     v++)
		n++;
	return n;
}

/* The standard mounts with runc's options (and /dev noexec, as run has always made it), written
 * once: `bulwark run`'s spec lists those its sandbox makes from the spec (sbx >= 0: their place
 * in bwk_container_spec.std_mounts), `bulwark spec` all of them (spec_default.c). /dev/shm
 * takes its size from the run (size_opt). */
static const struct {
	const char *dst, *type, *src, *opts[6];
	int sbx;
	bool size_opt;
} std_mounts[] = {
    {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev", NULL}, BWK_STD_PROC, false},
    {"/dev",
     "tmpfs",
     "tmpfs",
     {"nosuid", "noexec", "strictatime", "mode=755", "size=65536k", NULL},
     BWK_STD_DEV,
     false},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL},
     BWK_STD_DEVPTS,
     false},
    {"/dev/shm",
     "tmpfs",
     "shm",
     {"nosuid", "noexec", "nodev", "mode=1777", NULL},
     BWK_STD_SHM,
     true},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}, -1, false},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}, BWK_STD_SYS, false},
    {"/sys/fs/cgroup",
     "cgroup",
     "cgroup",
     {"nosuid", "noexec", "nodev", "relatime", "ro", NULL},
     -1,
     false},
};
#define N_STD_MOUNTS (sizeof std_mounts / sizeof *std_mounts)

void oci_std_mount(size_t i, uint64_t size, bwk_oci_mount *m)
{
	m->destination = xstrdup(std_mounts[i].dst);
	m->type = xstrdup(std_mounts[i].type);
	m->source = xstrdup(std_mounts[i].src);
	m->options.v = xcalloc(1, sizeof(char *));
	for (const char *const *o = std_mounts[i].opts; *o; o++)
		strv_push(&m->options, *o);
	if (std_mounts[i].size_opt) {
		size = size ? size : BWK_DEFAULT_TMPFS_SIZE;
		char o[48];
		snprintf(o, sizeof o, size % 1024 ? "size=%llu" : "size=%lluk",
			 (unsigned long long)(size % 1024 ? size : size / 1024));
		strv_push(&m->options, o);
	}
}

int oci_std_mount_sbx(const char *dst)
{
	for (size_t i = 0; i < N_STD_MOUNTS; i++)
		if (!strcmp(std_mounts[i].dst, dst))
			return std_mounts[i].sbx;
	return -1;
}

size_t oci_std_mount_of(int sbx)
{
	size_t i = 0;
	while (i < N_STD_MOUNTS - 1 && std_mounts[i].sbx != sbx)
		i++;
	return i;
}

static void mounts_part(const bwk_image_config *img, const bwk_oci_run *r, bwk_oci_spec *s)
{
	s->mounts = xcalloc(N_STD_MOUNTS + r->nbinds + r->ntmpfs + count_volumes(img) + 1,
			    sizeof *s->mounts);
	/* the sandbox's proc, sysfs and /dev first (the others' only for `bulwark spec`) */
	for (size_t i = 0; i < N_STD_MOUNTS; i++)
		if (std_mounts[i].sbx >= 0 || r->all_std_mounts)
			oci_std_mount(i, r->tmpfs_size, &s->mounts[s->n_mounts++]);
	/* tmpfs first: a bind inside one lands in it */
	for (size_t i = 0; i < r->ntmpfs; i++)
		tmpfs_mount(&s->mounts[s->n_mounts++], r->tmpfs[i].dst,
			    r->tmpfs[i].size ? r->tmpfs[i].size : r->writable_size,
			    r->tmpfs[i].mode, r->tmpfs[i].copyup, r->tmpfs[i].noexec);
	for (size_t i = 0; i < r->nbinds; i++) {
		bwk_oci_mount *m = &s->mounts[s->n_mounts++];
		m->destination = xstrdup(r->binds[i].dst);
		m->source = xstrdup(r->binds[i].src);
		m->type = xstrdup("bind");
		m->options.v = xcalloc(1, sizeof(char *));
		/* not recursive: a host mount below the source stays out (and a read-only
		 * volume has no writable mount below it) */
		strv_push(&m->options, "bind");
		strv_push(&m->options, r->binds[i].rw ? "rw" : "ro");
		strv_push(&m->options, "nosuid");
		strv_push(&m->options, "nodev");
		if (r->binds[i].chown)
			strv_push(&m->options, "U");
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
	if (!r->read_write && !r->read_only)
		map_set(a, BWK_OCI_ANN_WRITABLE_VAR, "true");
	if (r->net == BWK_NET_SLIRP)
		map_set(a, BWK_OCI_ANN_NETWORK, "slirp");
	if (r->net == BWK_NET_BRIDGE) {
		char n[64];
		snprintf(n, sizeof n, "bridge%s%.32s", r->network ? ":" : "",
			 r->network ? r->network : "");
		map_set(a, BWK_OCI_ANN_NETWORK, n);
	}
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
	mounts_part(img, r, s);
	if (process_args(img, r, &p->args, err) < 0 || annotations(img, r, s, err) < 0 ||
	    image_volumes(img, r, s, err) < 0) {
		bwk_oci_spec_free(s);
		return -1;
	}
	*out = s;
	return 0;
}
