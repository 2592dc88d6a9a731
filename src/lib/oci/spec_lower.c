/* A runtime spec → the sandbox's container description. The sandbox knows nothing of specs,
 * images or flags; this is the one place that maps spec properties onto it, and it refuses
 * (naming the property) what the sandbox cannot execute yet instead of silently dropping it. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "core/util.h"
#include "oci/oci_private.h"

/* The mounts the sandbox always makes (proc, sysfs, a minimal /dev, tmpfs for /tmp, /run and
 * /dev/shm, cgroupfs): an engine lists them in every config.json. Those of proc, sysfs and
 * /dev (oci_std_mount_sbx) it makes from the spec's entry; the others its own way. */
static bool standard_mount(const bwk_oci_mount *m)
{
	static const char *const std[] = {"/proc",	 "/dev", "/dev/pts",	   "/dev/shm",
					  "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/tmp",
					  "/run",	 NULL};
	return oci_name_in(std, m->destination) && m->type && strcmp(m->type, "bind");
}

static int unsupported(bwk_error **err, const char *what)
{
	return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
			     "config.json: %s: not executed by bulwark's sandbox yet", what);
}

/* A size as mount(8) gives tmpfs one: bytes, or with a k, m or g suffix. */
static bool parse_size(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	if (shift)
		end++;
	if (errno || end == v || *end || v[0] == '-' || n == 0 || n > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)n << shift;
	return true;
}

/* What of a tmpfs's options the sandbox does not execute: flags other than nosuid, nodev and
 * noexec (its tmpfs are always nosuid and nodev), propagation, r*, idmap. */
static bool tmpfs_refused(const bwk_oci_mount_opts *o)
{
	const unsigned long executed = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	return (o->flags & ~executed) || (o->cleared & (MS_NOSUID | MS_NODEV)) || o->prop ||
	       o->rec_set || o->rec_clr || o->idmap || o->ridmap || o->chown;
}

/* A tmpfs mount (an anonymous volume, --tmpfs): the options the sandbox executes, the rest
 * refused by name. */
static int lower_tmpfs(const bwk_oci_mount *m, const bwk_oci_mount_opts *o, size_t i, bwk_tmpfs *t,
		       bwk_error **err)
{
	t->dst = m->destination;
	t->noexec = o->flags & MS_NOEXEC;
	t->copyup = o->tmpcopyup;
	char what[160];
	for (size_t k = 0; tmpfs_refused(o) && k < m->options.n; k++) {
		/* name the option: each parsed alone */
		char *one[] = {m->options.v[k], NULL};
		bwk_oci_mount alone = {.destination = m->destination,
				       .options = {.v = one, .n = 1}};
		bwk_oci_mount_opts ao;
		if (bwk_oci_mount_opts_parse(&alone, i, &ao, NULL) == 0 && tmpfs_refused(&ao)) {
			snprintf(what, sizeof what, "mounts[%zu] (tmpfs option '%.64s')", i,
				 one[0]);
			return unsupported(err, what);
		}
	}
	if (tmpfs_refused(o)) {
		snprintf(what, sizeof what, "mounts[%zu] (tmpfs flags)", i);
		return unsupported(err, what);
	}
	char data[BWK_OCI_MOUNT_DATA_MAX], *save = NULL;
	memcpy(data, o->data, sizeof data);
	for (char *v = strtok_r(data, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
		char *end;
		if (!strncmp(v, "size=", 5)) {
			if (!parse_size(v + 5, &t->size))
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "config.json: mounts[%zu]: bad tmpfs '%.64s'",
						     i, v);
		} else if (!strncmp(v, "mode=", 5)) {
			unsigned long mode = strtoul(v + 5, &end, 8);
			if (end == v + 5 || *end || mode > 07777)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "config.json: mounts[%zu]: bad tmpfs '%.64s'",
						     i, v);
			t->mode = (uint32_t)mode;
		} else {
			snprintf(what, sizeof what, "mounts[%zu] (tmpfs option '%.64s')", i, v);
			return unsupported(err, what);
		}
	}
	return 0;
}

/* The tmpfs mount the sandbox makes for spec mount `m`: its options with the sandbox's rules
 * made explicit — nosuid and nodev always, the size (BWK_DEFAULT_WRITABLE_SIZE when the spec
 * gives none: the sandbox picks no default) and mode 0755 when missing. */
static void explicit_tmpfs(const bwk_oci_mount *m, const bwk_tmpfs *t, bwk_oci_mount *out)
{
	*out = (bwk_oci_mount){.destination = m->destination, .type = m->type, .source = m->source};
	bwk_strv_push(&out->options, "nosuid", NULL);
	bwk_strv_push(&out->options, "nodev", NULL);
	for (size_t k = 0; k < m->options.n; k++)
		bwk_strv_push(&out->options, m->options.v[k], NULL);
	char o[48];
	if (!t->size) {
		snprintf(o, sizeof o, "size=%llu", (unsigned long long)BWK_DEFAULT_WRITABLE_SIZE);
		bwk_strv_push(&out->options, o, NULL);
	}
	if (!t->mode)
		bwk_strv_push(&out->options, "mode=0755", NULL);
}

/* A standard mount the sandbox makes from the spec (proc, sysfs, /dev, devpts, /dev/shm):
 * passed through; /dev/shm's size is also /tmp's (bwk_container_spec.tmpfs_size). */
static int std_entry(const bwk_oci_mount *m, const bwk_oci_mount_opts *o, size_t i,
		     bwk_oci_lowered *out, bwk_error **err)
{
	int k = oci_std_mount_sbx(m->destination);
	if (k < 0)
		return 0;
	out->spec.std_mounts[k] = m;
	if (k != BWK_STD_SHM || strcmp(m->type, "tmpfs"))
		return 0;
	char data[BWK_OCI_MOUNT_DATA_MAX], *save = NULL;
	memcpy(data, o->data, sizeof data);
	for (char *v = strtok_r(data, ",", &save); v; v = strtok_r(NULL, ",", &save))
		if (!strncmp(v, "size=", 5) && !parse_size(v + 5, &out->spec.tmpfs_size))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "config.json: mounts[%zu]: bad tmpfs '%.64s'", i, v);
	return 0;
}

static int lower_mounts(const bwk_oci_spec *s, bwk_oci_lowered *out, bwk_error **err)
{
	out->binds = xcalloc(s->n_mounts + 1, sizeof *out->binds);
	out->tmpfs = xcalloc(s->n_mounts + 1, sizeof *out->tmpfs);
	out->tmpfs_mounts = xcalloc(s->n_mounts + 1, sizeof *out->tmpfs_mounts);
	for (size_t i = 0; i < s->n_mounts; i++) {
		const bwk_oci_mount *m = &s->mounts[i];
		bwk_oci_mount_opts o;
		if (bwk_oci_mount_opts_parse(m, i, &o, err) < 0)
			return -1;
		bool ro = (o.flags & MS_RDONLY) || (o.rec_set & MOUNT_ATTR_RDONLY);
		/* the sandbox shows the container's cgroup read-only (sandbox/cgroup_view.c): a
		 * writable one (Docker's --privileged) is not what it would execute */
		if (!o.bind && standard_mount(m) && !strcmp(m->destination, "/sys/fs/cgroup") &&
		    !ro) {
			char what[96];
			snprintf(what, sizeof what,
				 "mounts[%zu] (cgroup at /sys/fs/cgroup) read-write", i);
			return unsupported(err, what);
		}
		if (!o.bind && standard_mount(m)) {
			if (std_entry(m, &o, i, out, err) < 0)
				return -1;
			continue;
		}
		if (!o.bind && m->type && !strcmp(m->type, "tmpfs") && !m->uid_mappings) {
			bwk_tmpfs *t = &out->tmpfs[out->spec.ntmpfs];
			if (lower_tmpfs(m, &o, i, t, err) < 0)
				return -1;
			bwk_oci_mount *em = &out->tmpfs_mounts[out->ntmpfs_mounts++];
			explicit_tmpfs(m, t, em);
			t->mount = em;
			if (!t->size)
				t->size = BWK_DEFAULT_WRITABLE_SIZE;
			if (!t->mode)
				t->mode = 0755;
			out->spec.ntmpfs++;
			continue;
		}
		if (!o.bind || m->uid_mappings || !m->source) {
			char what[320];
			snprintf(what, sizeof what, "mounts[%zu] (%.16s at %.256s)", i,
				 m->type ? m->type : "?", m->destination);
			return unsupported(err, what);
		}
		bwk_bind *b = &out->binds[out->spec.nbinds++];
		b->src = m->source;
		b->dst = m->destination;
		b->rw = !ro;
		b->chown = o.chown; /* Podman's: to the container's user */
		b->mount = m;
	}
	/* those the spec leaves out: bulwark's (the sandbox always makes them) */
	for (int k = 0; k < BWK_STD_MOUNTS; k++)
		if (!out->spec.std_mounts[k]) {
			oci_std_mount(oci_std_mount_of(k), out->spec.tmpfs_size,
				      &out->std_defaults[k]);
			out->spec.std_mounts[k] = &out->std_defaults[k];
		}
	out->spec.binds = out->binds;
	out->spec.tmpfs = out->tmpfs;
	return 0;
}

static int lower_caps(const bwk_oci_process *p, bwk_container_spec *c, bwk_error **err)
{
	if (!p->caps.set) { /* bulwark's default set: the spec carries the effective one */
		c->caps = bwk_sandbox_default_caps();
		c->caps_set = true;
		return 0;
	}
	/* an unknown name is left out, as create leaves it out: never an error */
	(void)err;
	uint64_t mask =
	    bwk_caps_spec_mask((const char *const *)p->caps.bounding.v, p->caps.bounding.n, NULL);
	c->caps = mask;
	c->caps_set = true;
	return 0;
}

static uint64_t limit_of(bwk_oci_i64 v)
{
	return !v.set || v.v <= 0 ? BWK_UNLIMITED : (uint64_t)v.v;
}

static int lower_resources(const bwk_oci_resources *r, bwk_container_spec *c)
{
	c->memory = limit_of(r->memory.limit);
	c->pids = limit_of(r->pids_limit);
	/* cpu.shares as bulwark's weight scale (weight 100 = 1024 shares, a default task); none:
	 * bulwark's default weight */
	uint64_t w = r->cpu.shares.set && r->cpu.shares.v ? r->cpu.shares.v * 100 / 1024
							  : BWK_DEFAULT_CPU_WEIGHT;
	c->cpu_weight = (uint32_t)(w < 1 ? 1 : w > 10000 ? 10000 : w);
	if (r->cpu.quota.set && r->cpu.quota.v > 0) {
		uint64_t period = r->cpu.period.set && r->cpu.period.v ? r->cpu.period.v : 100000;
		c->cpus_milli = (uint64_t)r->cpu.quota.v * 1000 / period;
		if (!c->cpus_milli)
			c->cpus_milli = 1;
	}
	return 0;
}

static int lower_annotations(const bwk_oci_spec *s, bwk_oci_lowered *out, bwk_error **err)
{
	bwk_container_spec *c = &out->spec;
	const char *user = bwk_oci_spec_annotation(s, BWK_OCI_ANN_USER);
	if (user)
		out->user = xstrdup(user);
	else if (s->process.user.uid || s->process.user.gid)
		out->user =
		    xasprintf("%" PRIu32 ":%" PRIu32, s->process.user.uid, s->process.user.gid);
	c->user = out->user;
	const char *sc = bwk_oci_spec_annotation(s, BWK_OCI_ANN_SECCOMP);
	if (s->linux_.seccomp.set && !sc)
		return unsupported(err, "linux.seccomp");
	c->seccomp = sc && strcmp(sc, "default") ? sc : NULL;
	const char *sig = bwk_oci_spec_annotation(s, BWK_OCI_ANN_STOP_SIGNAL);
	if (sig && (c->stop_signal = bwk_signal_from_name(sig)) < 0)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "config.json: annotation %s: '%.32s' is not a signal",
				     BWK_OCI_ANN_STOP_SIGNAL, sig);
	const char *var = bwk_oci_spec_annotation(s, BWK_OCI_ANN_WRITABLE_VAR);
	c->writable_var = var && !strcmp(var, "true");
	const char *net = bwk_oci_spec_annotation(s, BWK_OCI_ANN_NETWORK);
	if (net && !strcmp(net, "slirp"))
		c->net = BWK_NET_SLIRP;
	if (net && !strncmp(net, "bridge", 6) && (!net[6] || net[6] == ':')) {
		c->net = BWK_NET_BRIDGE;
		c->network = net[6] ? net + 7 : NULL;
	}
	return 0;
}

/* The namespaces the sandbox always creates; a spec must ask for them (joining one by path is
 * not executed yet). Without a network namespace the container shares the host's. */
static int lower_namespaces(const bwk_oci_spec *s, bwk_container_spec *c, bwk_error **err)
{
	for (size_t i = 0; i < s->linux_.n_namespaces; i++)
		if (s->linux_.namespaces[i].path) {
			char what[96];
			snprintf(what, sizeof what,
				 "linux.namespaces[%zu].path (joining a %.16s "
				 "namespace)",
				 i, s->linux_.namespaces[i].type);
			return unsupported(err, what);
		}
	if (!bwk_oci_spec_namespace(s, "network"))
		c->net = BWK_NET_HOST;
	if (s->linux_.n_uid_mappings || s->linux_.n_gid_mappings)
		return unsupported(err, "linux.uidMappings (the sandbox chooses the host ids)");
	return 0;
}

int bwk_oci_rlimit_lower(const bwk_oci_rlimit *r, bwk_rlimit *out)
{
	int res = bwk_rlimit_from_name(r->type);
	if (res < 0)
		return -1;
	*out = (bwk_rlimit){res, r->soft >= INT64_MAX ? RLIM_INFINITY : r->soft,
			    r->hard >= INT64_MAX ? RLIM_INFINITY : r->hard};
	return 0;
}

static int lower_rlimits(const bwk_oci_process *p, bwk_oci_lowered *out, bwk_error **err)
{
	if (p->n_rlimits > BWK_MAX_RLIMITS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "config.json: process.rlimits: %zu (at most %d)", p->n_rlimits,
				     BWK_MAX_RLIMITS);
	out->rlimits = xcalloc(p->n_rlimits + 1, sizeof *out->rlimits);
	for (size_t i = 0; i < p->n_rlimits; i++)
		if (bwk_oci_rlimit_lower(&p->rlimits[i], &out->rlimits[i]) < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "config.json: process.rlimits[%zu].type: '%.64s' is "
					     "not an rlimit",
					     i, p->rlimits[i].type);
	out->spec.rlimits = out->rlimits;
	out->spec.nrlimits = p->n_rlimits;
	return 0;
}

static bool only_docker_paths(const bwk_strv *v, const char *const *known)
{
	for (size_t i = 0; i < v->n; i++)
		if (!oci_name_in(known, v->v[i]))
			return false;
	return true;
}

/* Properties the sandbox does not execute yet: refused by name rather than ignored. */
static int not_executed(const bwk_oci_spec *s, bwk_error **err)
{
	const bwk_oci_process *p = &s->process;
	const bwk_oci_linux *l = &s->linux_;
	const bwk_oci_resources *r = &l->resources;
	bool hooks = false;
	for (int k = 0; k < BWK_OCI_HOOK_KINDS; k++)
		hooks |= s->hooks.n[k] > 0;
	bool grants = false;
	for (size_t i = 0; i < r->n_devices; i++)
		grants |= r->devices[i].allow;
	const struct {
		bool set;
		const char *what;
	} checks[] = {
	    {hooks, "hooks"},
	    {p->user.n_additional_gids > 0, "process.user.additionalGids"},
	    {p->user.umask.set, "process.user.umask"},
	    {p->caps.ambient.n > 0, "process.capabilities.ambient"},
	    {p->apparmor_profile != NULL, "process.apparmorProfile"},
	    {p->selinux_label != NULL, "process.selinuxLabel"},
	    {p->oom_score_adj.set, "process.oomScoreAdj"},
	    {p->scheduler.set, "process.scheduler"},
	    {p->io_priority.set, "process.ioPriority"},
	    {s->domainname != NULL, "domainname"},
	    {l->n_devices > 0, "linux.devices"},
	    {grants, "linux.resources.devices (a device allowed)"},
	    {l->cgroups_path != NULL, "linux.cgroupsPath"},
	    {l->sysctl.n > 0, "linux.sysctl"},
	    {l->personality.set, "linux.personality"},
	    {l->time_offsets[0].set || l->time_offsets[1].set, "linux.timeOffsets"},
	    {l->mount_label != NULL, "linux.mountLabel"},
	    {l->rootfs_propagation && strcmp(l->rootfs_propagation, "rprivate") &&
		 strcmp(l->rootfs_propagation, "private"),
	     "linux.rootfsPropagation (other than private)"},
	    {!only_docker_paths(&l->masked_paths, oci_docker_masked),
	     "linux.maskedPaths (beyond Docker's list)"},
	    {!only_docker_paths(&l->readonly_paths, oci_docker_readonly),
	     "linux.readonlyPaths (beyond Docker's list)"},
	    {r->memory.reservation.set || r->memory.swap.set || r->memory.kernel.set ||
		 r->memory.kernel_tcp.set || r->memory.swappiness.set ||
		 r->memory.disable_oom_killer,
	     "linux.resources.memory (other than limit)"},
	    {r->cpu.cpus || r->cpu.mems || r->cpu.realtime_runtime.set ||
		 r->cpu.realtime_period.set || r->cpu.burst.set || r->cpu.idle.set,
	     "linux.resources.cpu (other than shares, quota, period)"},
	    {r->block_io.weight.set || r->block_io.leaf_weight.set || r->block_io.n_weight_device ||
		 r->block_io.n_throttle[0] || r->block_io.n_throttle[1] ||
		 r->block_io.n_throttle[2] || r->block_io.n_throttle[3],
	     "linux.resources.blockIO"},
	    {r->unified.n > 0, "linux.resources.unified"},
	    {r->network.class_id.set || r->network.n_priorities > 0, "linux.resources.network"},
	    {r->n_hugepage_limits > 0, "linux.resources.hugepageLimits"},
	};
	for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
		if (checks[i].set)
			return unsupported(err, checks[i].what);
	return 0;
}

int bwk_oci_spec_lower(const bwk_oci_spec *s, bwk_oci_lowered *out, bwk_error **err)
{
	memset(out, 0, sizeof *out);
	bwk_container_spec *c = &out->spec;
	if (!s->has_process)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "config.json: process: missing: nothing to run");
	const bwk_oci_process *p = &s->process;
	c->rootfs = s->root_path;
	c->read_write = !s->root_readonly;
	c->argv = (const char *const *)p->args.v;
	c->env = (const char *const *)p->env.v;
	c->cwd = p->cwd;
	c->hostname = s->hostname;
	c->tty = p->terminal;
	/* /tmp is the sandbox's own mount: /dev/shm's size (std_entry), else bulwark's */
	c->tmpfs_size = BWK_DEFAULT_TMPFS_SIZE;
	/* what no runtime spec says, bulwark's too, which the caller may replace (run
	 * --stop-timeout, --writable-size) */
	c->stop_timeout_ms = BWK_DEFAULT_STOP_TIMEOUT_MS;
	c->writable_size = BWK_DEFAULT_WRITABLE_SIZE;
	if (not_executed(s, err) < 0 || lower_rlimits(p, out, err) < 0 ||
	    lower_namespaces(s, c, err) < 0 || lower_mounts(s, out, err) < 0 ||
	    lower_caps(p, c, err) < 0 || lower_resources(&s->linux_.resources, c) < 0 ||
	    lower_annotations(s, out, err) < 0) {
		bwk_oci_lowered_free(out);
		return -1;
	}
	return 0;
}

void bwk_oci_lowered_free(bwk_oci_lowered *l)
{
	free(l->binds);
	free(l->tmpfs);
	l->tmpfs = NULL;
	for (size_t i = 0; i < l->ntmpfs_mounts; i++)
		bwk_strv_clear(&l->tmpfs_mounts[i].options);
	free(l->tmpfs_mounts);
	l->tmpfs_mounts = NULL;
	l->ntmpfs_mounts = 0;
	for (int k = 0; k < BWK_STD_MOUNTS; k++) {
		bwk_oci_mount *m = &l->std_defaults[k];
		free(m->destination);
		free(m->type);
		free(m->source);
		bwk_strv_clear(&m->options);
		*m = (bwk_oci_mount){0};
	}
	free(l->user);
	free(l->rlimits);
	l->binds = NULL;
	l->user = NULL;
	l->rlimits = NULL;
}
