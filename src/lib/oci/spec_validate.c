/* The meaning of a spec: what the runtime-spec says MUST hold (absolute paths, known names,
 * namespaces that the id mappings and the hostname need) and what bulwark cannot honour
 * safely (a duplicate namespace or rlimit, which would make one of them silently win). The
 * first problem found is reported, naming the property. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <inttypes.h>
#include <string.h>

#include "bulwark/sandbox.h"
#include "oci/oci_private.h"

typedef struct vctx {
	const char *name;
	bwk_error **err;
} vctx;

static int bad(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(vctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return bwk_error_set(c->err, BWK_E_INPUT, 0, "%s: %s", c->name, msg);
}

static bool absolute(const char *p)
{
	return p && p[0] == '/';
}

/* "1.0.0" … "1.2.x", with an optional pre-release suffix ("1.1.0-rc.1") */
static bool version_ok(const char *v)
{
	unsigned maj, min, patch;
	int n = 0;
	if (!v || sscanf(v, "%u.%u.%u%n", &maj, &min, &patch, &n) != 3)
		return false;
	return maj == 1 && min <= 2 && (v[n] == 0 || v[n] == '-' || v[n] == '+');
}

/* process.scheduler as runc checks it: priority for the real-time policies only, runtime,
 * deadline and period for SCHED_DEADLINE only, nice within -20..19. */
static int check_sched(vctx *c, const bwk_oci_sched *s)
{
	bwk_oci_sched_attr a;
	if (bwk_oci_sched_lower(s, &a) < 0)
		return bad(c,
			   "process.scheduler: policy '%.64s' or one of its flags is unknown "
			   "(policies: SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR, "
			   "SCHED_DEADLINE; flags: SCHED_FLAG_*)",
			   s->policy);
	bool rt = a.policy == 1 || a.policy == 2, dl = a.policy == 6;
	if (s->nice.set && (s->nice.v < -20 || s->nice.v > 19))
		return bad(c, "process.scheduler.nice: %lld is outside -20..19",
			   (long long)s->nice.v);
	if (s->priority.set && (s->priority.v < 0 || s->priority.v > 99))
		return bad(c, "process.scheduler.priority: %lld is outside 0..99",
			   (long long)s->priority.v);
	if (!rt && s->priority.set && s->priority.v != 0)
		return bad(c,
			   "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a "
			   "priority, not %s",
			   s->policy);
	if (!dl && ((s->runtime.set && s->runtime.v) || (s->deadline.set && s->deadline.v) ||
		    (s->period.set && s->period.v)))
		return bad(c,
			   "process.scheduler: runtime, deadline and period are for "
			   "SCHED_DEADLINE only, not %s",
			   s->policy);
	if (dl && !(a.runtime && a.deadline && a.runtime <= a.deadline &&
		    (!a.period || a.deadline <= a.period)))
		return bad(c, "process.scheduler: SCHED_DEADLINE needs runtime <= deadline <= "
			      "period (runtime and deadline > 0)");
	return 0;
}

static int check_process(vctx *c, const bwk_oci_process *p)
{
	if (!p->args.n || !p->args.v[0][0])
		return bad(c, "process.args: empty: the process needs a program to run");
	if (!absolute(p->cwd))
		return bad(c, "process.cwd: '%.256s' is not an absolute path",
			   p->cwd ? p->cwd : "(missing)");
	if (p->user.n_additional_gids > BWK_OCI_MAX_ADDITIONAL_GIDS)
		return bad(c, "process.user.additionalGids: %zu groups, at most %d",
			   p->user.n_additional_gids, BWK_OCI_MAX_ADDITIONAL_GIDS);
	for (size_t i = 0; i < p->env.n; i++)
		if (!strchr(p->env.v[i], '=') || p->env.v[i][0] == '=')
			return bad(c, "process.env[%zu]: '%.64s' is not KEY=VALUE", i, p->env.v[i]);
	/* process.capabilities: a name unknown to bulwark or to this kernel is left out with a
	 * warning when the process starts (bwk_caps_spec_mask), as runc and crun do */
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const bwk_oci_rlimit *r = &p->rlimits[i];
		if (bwk_rlimit_from_name(r->type) < 0)
			return bad(c, "process.rlimits[%zu].type: '%.64s' is not an rlimit", i,
				   r->type);
		if (r->soft > r->hard)
			return bad(c,
				   "process.rlimits[%zu]: soft limit %llu above the hard limit "
				   "%llu",
				   i, (unsigned long long)r->soft, (unsigned long long)r->hard);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->rlimits[j].type, r->type))
				return bad(c, "process.rlimits[%zu]: %s is given twice", i,
					   r->type);
	}
	if (p->io_priority.set && bwk_oci_ioprio_lower(&p->io_priority) < 0)
		return bad(c, "process.ioPriority.class: '%.64s' is not an I/O priority class",
			   p->io_priority.class_);
	return p->scheduler.set ? check_sched(c, &p->scheduler) : 0;
}

static int check_mounts(vctx *c, const bwk_oci_spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const bwk_oci_mount *m = &s->mounts[i];
		if (!absolute(m->destination))
			return bad(c, "mounts[%zu].destination: '%.256s' is not an absolute path",
				   i, m->destination);
		bwk_oci_mount_opts o;
		if (bwk_oci_mount_opts_parse(m, i, &o, c->err) < 0)
			return -1;
		bool idmap = o.idmap || o.ridmap;
		if ((m->uid_mappings || m->gid_mappings) &&
		    (!m->n_uid_mappings || !m->n_gid_mappings))
			return bad(c,
				   "mounts[%zu]: an idmapped mount needs both uidMappings and "
				   "gidMappings",
				   i);
		if (idmap && !m->uid_mappings && !bwk_oci_spec_namespace(s, "user"))
			return bad(c,
				   "mounts[%zu]: 'idmap' needs uidMappings/gidMappings or a "
				   "user namespace",
				   i);
	}
	return 0;
}

static int check_namespaces(vctx *c, const bwk_oci_spec *s)
{
	const bwk_oci_linux *l = &s->linux_;
	for (size_t i = 0; i < l->n_namespaces; i++) {
		const bwk_oci_namespace *n = &l->namespaces[i];
		if (!oci_name_in(oci_namespace_types, n->type))
			return bad(c,
				   "linux.namespaces[%zu].type: '%.64s' is not a namespace type "
				   "(pid, network, mount, ipc, uts, user, cgroup, time)",
				   i, n->type);
		if (n->path && !absolute(n->path))
			return bad(c,
				   "linux.namespaces[%zu].path: '%.256s' is not an absolute path",
				   i, n->path);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l->namespaces[j].type, n->type))
				return bad(c,
					   "linux.namespaces[%zu]: the %s namespace is given twice",
					   i, n->type);
	}
	bool user = bwk_oci_spec_namespace(s, "user") != NULL;
	if ((l->n_uid_mappings || l->n_gid_mappings) && !user)
		return bad(c, "linux.uidMappings: id mappings need a user namespace in "
			      "linux.namespaces");
	if (user && !bwk_oci_spec_namespace(s, "user")->path &&
	    (!l->n_uid_mappings) != (!l->n_gid_mappings))
		return bad(c, "linux: uidMappings and gidMappings must be given together");
	if ((s->hostname || s->domainname) && !bwk_oci_spec_namespace(s, "uts"))
		return bad(c, "hostname: setting it needs a uts namespace in linux.namespaces");
	static const char *const clocks[] = BWK_OCI_CLOCKS;
	const bwk_oci_namespace *time = bwk_oci_spec_namespace(s, "time");
	for (size_t i = 0; i < BWK_OCI_N_CLOCKS; i++) {
		const bwk_oci_time_offset *t = &l->time_offsets[i];
		if (t->set && (!time || time->path))
			return bad(c,
				   "linux.timeOffsets.%s: offsets need a new time namespace "
				   "(linux.namespaces: {\"type\": \"time\"} without a path)",
				   clocks[i]);
		if (t->set && (t->secs > BWK_OCI_MAX_TIME_SECS || t->secs < -BWK_OCI_MAX_TIME_SECS))
			return bad(c,
				   "linux.timeOffsets.%s.secs: %" PRId64
				   " is out of range (at most "
				   "%lld either way)",
				   clocks[i], t->secs, BWK_OCI_MAX_TIME_SECS);
	}
	return 0;
}

static int check_devices(vctx *c, const bwk_oci_linux *l)
{
	for (size_t i = 0; i < l->n_devices; i++) {
		const bwk_oci_device *d = &l->devices[i];
		if (!absolute(d->path))
			return bad(c, "linux.devices[%zu].path: '%.256s' is not an absolute path",
				   i, d->path);
		if (strcmp(d->type, "c") && strcmp(d->type, "b") && strcmp(d->type, "u") &&
		    strcmp(d->type, "p"))
			return bad(c, "linux.devices[%zu].type: '%.8s' is not c, b, u or p", i,
				   d->type);
	}
	for (size_t i = 0; i < l->resources.n_devices; i++) {
		const bwk_oci_dev_rule *r = &l->resources.devices[i];
		if (r->type && strcmp(r->type, "a") && strcmp(r->type, "c") && strcmp(r->type, "b"))
			return bad(c, "linux.resources.devices[%zu].type: '%.8s' is not a, c or b",
				   i, r->type);
		if (r->access && strspn(r->access, "rwm") != strlen(r->access))
			return bad(c,
				   "linux.resources.devices[%zu].access: '%.8s' is not made of r, "
				   "w and m",
				   i, r->access);
	}
	return 0;
}

static int check_seccomp(vctx *c, const bwk_oci_seccomp *s)
{
	if (!s->set)
		return 0;
	bool notify = !strcmp(s->default_action, "SCMP_ACT_NOTIFY");
	if (!oci_name_in(oci_seccomp_actions, s->default_action))
		return bad(c, "linux.seccomp.defaultAction: '%.64s' is not a seccomp action",
			   s->default_action);
	for (size_t i = 0; i < s->architectures.n; i++)
		if (!oci_name_in(oci_seccomp_arches, s->architectures.v[i]))
			return bad(c,
				   "linux.seccomp.architectures[%zu]: '%.64s' is not a seccomp "
				   "architecture",
				   i, s->architectures.v[i]);
	for (size_t i = 0; i < s->flags.n; i++)
		if (!oci_name_in(oci_seccomp_flags, s->flags.v[i]))
			return bad(c, "linux.seccomp.flags[%zu]: '%.64s' is not a seccomp flag", i,
				   s->flags.v[i]);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const bwk_oci_syscall *sc = &s->syscalls[i];
		if (!sc->names.n)
			return bad(c, "linux.seccomp.syscalls[%zu].names: empty", i);
		if (!oci_name_in(oci_seccomp_actions, sc->action))
			return bad(c,
				   "linux.seccomp.syscalls[%zu].action: '%.64s' is not a seccomp "
				   "action",
				   i, sc->action);
		notify |= !strcmp(sc->action, "SCMP_ACT_NOTIFY");
		if (sc->n_args > 6)
			return bad(c,
				   "linux.seccomp.syscalls[%zu].args: %zu conditions (a system "
				   "call has 6 arguments)",
				   i, sc->n_args);
		for (size_t k = 0; k < sc->n_args; k++) {
			if (sc->args[k].index > 5)
				return bad(
				    c, "linux.seccomp.syscalls[%zu].args[%zu].index: %u (0 to 5)",
				    i, k, sc->args[k].index);
			if (!oci_name_in(oci_seccomp_ops, sc->args[k].op))
				return bad(c,
					   "linux.seccomp.syscalls[%zu].args[%zu].op: '%.64s' is "
					   "not a comparison",
					   i, k, sc->args[k].op);
		}
	}
	if (s->listener_metadata && !s->listener_path)
		return bad(c, "linux.seccomp.listenerMetadata: set without a listenerPath (the "
			      "metadata goes to the seccomp agent there)");
	if (notify && !s->listener_path)
		return bad(c, "linux.seccomp: SCMP_ACT_NOTIFY needs a listenerPath");
	if (s->listener_path && !absolute(s->listener_path))
		return bad(c, "linux.seccomp.listenerPath: '%.256s' is not an absolute path",
			   s->listener_path);
	return 0;
}

static int check_linux(vctx *c, const bwk_oci_spec *s)
{
	const bwk_oci_linux *l = &s->linux_;
	if (check_namespaces(c, s) < 0 || check_devices(c, l) < 0 ||
	    check_seccomp(c, &l->seccomp) < 0)
		return -1;
	if (l->rootfs_propagation && !oci_name_in(oci_propagations, l->rootfs_propagation))
		return bad(c,
			   "linux.rootfsPropagation: '%.64s' is not a propagation (shared, "
			   "slave, private, unbindable, or r… of them)",
			   l->rootfs_propagation);
	for (size_t i = 0; i < l->masked_paths.n; i++)
		if (!absolute(l->masked_paths.v[i]))
			return bad(c, "linux.maskedPaths[%zu]: '%.256s' is not an absolute path", i,
				   l->masked_paths.v[i]);
	for (size_t i = 0; i < l->readonly_paths.n; i++)
		if (!absolute(l->readonly_paths.v[i]))
			return bad(c, "linux.readonlyPaths[%zu]: '%.256s' is not an absolute path",
				   i, l->readonly_paths.v[i]);
	if (l->personality.set && strcmp(l->personality.domain, "LINUX") &&
	    strcmp(l->personality.domain, "LINUX32"))
		return bad(c, "linux.personality.domain: '%.64s' is not LINUX or LINUX32",
			   l->personality.domain);
	return 0;
}

int bwk_oci_process_validate(const char *name, const bwk_oci_process *p, bwk_error **err)
{
	vctx c = {.name = name, .err = err};
	return check_process(&c, p);
}

int bwk_oci_spec_validate(const char *name, const bwk_oci_spec *s, bwk_error **err)
{
	vctx c = {.name = name, .err = err};
	if (!version_ok(s->oci_version))
		return bad(&c,
			   "ociVersion: '%.32s' is not a runtime-spec version bulwark reads "
			   "(1.0.0 to 1.2.x)",
			   s->oci_version ? s->oci_version : "(missing)");
	if (!s->has_root || !s->root_path || !s->root_path[0])
		return bad(&c, "root.path: missing: the bundle needs a root filesystem");
	if (s->has_process && check_process(&c, &s->process) < 0)
		return -1;
	if (check_mounts(&c, s) < 0 || check_linux(&c, s) < 0)
		return -1;
	for (int k = 0; k < BWK_OCI_HOOK_KINDS; k++)
		for (size_t i = 0; i < s->hooks.n[k]; i++)
			if (!absolute(s->hooks.v[k][i].path))
				return bad(&c,
					   "hooks.%s[%zu].path: '%.256s' is not an absolute path",
					   oci_hook_keys[k], i, s->hooks.v[k][i].path);
	return 0;
}
