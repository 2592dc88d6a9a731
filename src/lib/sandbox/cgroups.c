/* Resource limits through cgroups on v2, v1 and hybrid hosts (v1 controllers plus a cgroup2
 * mount, where crun refuses to start): the cgroup exists, with its limits, before the
 * container's first instruction runs, and is removed after the last process is gone.
 * Unprivileged, in a cgroup v2 subtree delegated to the user (cgroup_plan.c decides), as
 * crun and rootless Podman do; without one, the limits fall back to rlimits, said once.
 * No syscall takes a built path: the mount is opened once and each directory below it is
 * reached from its open parent by one name (cgroup_fd.c, shared with the OCI runtime). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_ROOT "/sys/fs/cgroup"

/* The v1 directories of the container, in a fixed order ("" when absent). */
static void v1_dirs(const sbx_cgroup *cg, const char *out[SBX_CG_V1_DIRS])
{
	const char *d[SBX_CG_V1_DIRS] = {cg->memory, cg->pids, cg->cpu, cg->cpuacct, cg->cpuset};
	memcpy(out, d, sizeof d);
}

/* The container's own cgroup bulwark/NAME below the open hierarchy root h (named base in
 * messages, which `out` gets with the name): made with nothing in it (EEXIST is an error:
 * the name is this run's), open in *fd and locked shared for the life of the run, its
 * parent open in *parent. The parent is locked shared meanwhile, so that a reaper (which
 * takes it exclusive) never sees the directory between its mkdir and its lock. `line`: the
 * controllers to enable for the parent's children first (v2), or NULL. */
static int own_dir(int h, const char *base, const char *name, const char *line, char *out,
		   int *parent, int *fd, bwk_error **err)
{
	char where[PATH_MAX];
	/* for messages only, truncated if need be */
	snprintf(where, sizeof where, "%.3900s/bulwark", base);
	snprintf(out, PATH_MAX, "%.3950s/%.64s", where, name);
	cleanup_close int p = sbx_cg_open(h, "bulwark", SBX_CG_MKDIR, where, err);
	if (p < 0)
		return -1;
	if (line && line[0] && sbx_cg_write(p, where, "cgroup.subtree_control", line, err) < 0)
		return -1;
	(void)flock(p, LOCK_SH);
	int d = sbx_cg_open(p, name, SBX_CG_MKDIR | SBX_CG_EXCL, out, err);
	if (d >= 0)
		(void)flock(d, LOCK_SH);
	(void)flock(p, LOCK_UN);
	if (d < 0) {
		(void)unlinkat(p, name, AT_REMOVEDIR); /* made, but not a usable cgroup */
		return -1;
	}
	*fd = d;
	*parent = steal_fd(&p);
	return 0;
}

static bool has_words(const char *list, const char *line)
{
	/* line is "+memory +pids …": every word must be in the space-separated list */
	char word[34];
	for (const char *p = line; *p;) {
		size_t n = strcspn(p + 1, " ");
		snprintf(word, sizeof word, " %.*s ", (int)n, p + 1);
		char padded[4200];
		snprintf(padded, sizeof padded, " %s ", list);
		for (char *q = padded; *q; q++)
			if (*q == '\n')
				*q = ' ';
		if (!strstr(padded, word))
			return false;
		p += 1 + n;
		p += *p == ' ';
	}
	return true;
}

/* "+memory +pids +cpu" for the controllers we have */
static void ctl_line(const sbx_cgroup *cg, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s", cg->has_memory ? "+memory " : "", cg->has_pids ? "+pids " : "",
		 cg->has_cpu ? "+cpu " : "");
	size_t n = strlen(out);
	if (n)
		out[n - 1] = 0;
}

static int enable_at(int dfd, const char *where, const char *line, bwk_error **err)
{
	return line[0] ? sbx_cg_write(dfd, where, "cgroup.subtree_control", line, err) : 0;
}

/* The container's cgroup bulwark/NAME under `cfd`, whose children get the controllers of
 * `line`, with every limit written before any process enters it. */
static int make_leaf(sbx_cgroup *cg, const sbx_ctx *ctx, int cfd, const char *where,
		     const char *name, bwk_error **err)
{
	char line[40];
	ctl_line(cg, line, sizeof line);
	if (own_dir(cfd, where, name, line, cg->v2, &cg->v2_parent_fd, &cg->v2_fd, err) < 0)
		return -1;
	int d = cg->v2_fd;
	char v[64];
	if (cg->has_memory && ctx->memory != BWK_UNLIMITED) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->memory);
		if (sbx_cg_write(d, cg->v2, "memory.max", v, err) < 0)
			return -1;
		(void)sbx_cg_write(d, cg->v2, "memory.swap.max", "0",
				   NULL); /* absent without swap */
	}
	/* one OOM kill takes the whole container: a half-killed one (its init or a worker gone,
	 * the rest running on) is worse than a clean exit 137; absent before Linux 4.19 */
	if (cg->has_memory)
		(void)sbx_cg_write(d, cg->v2, "memory.oom.group", "1", NULL);
	snprintf(v, sizeof v, "%" PRIu64, ctx->pids);
	if (cg->has_pids && ctx->pids != BWK_UNLIMITED &&
	    sbx_cg_write(d, cg->v2, "pids.max", v, err) < 0)
		return -1;
	snprintf(v, sizeof v, "%" PRIu32, ctx->spec->cpu_weight);
	if (cg->has_cpu && sbx_cg_write(d, cg->v2, "cpu.weight", v, err) < 0)
		return -1;
	if (cg->has_cpu && ctx->spec->cpus_milli) {
		snprintf(v, sizeof v, "%" PRIu64 " 100000", ctx->spec->cpus_milli * 100);
		if (sbx_cg_write(d, cg->v2, "cpu.max", v, err) < 0)
			return -1;
	}
	return 0;
}

/* Say once which limits are not the container's but per process or per uid, and why. */
static void warn_fallback(const sbx_ctx *ctx, const sbx_cgroup *cg, const char *why, bool hint)
{
	char what[256] = "";
	size_t n = 0;
	if (ctx->memory != BWK_UNLIMITED && !cg->has_memory)
		n += (size_t)snprintf(what + n, sizeof what - n,
				      "%s applies per process (RLIMIT_AS), ",
				      bwk_setting("memory", "the memory limit"));
	if (ctx->pids != BWK_UNLIMITED && !cg->has_pids && n < sizeof what)
		n += (size_t)snprintf(what + n, sizeof what - n, "%s %s",
				      bwk_setting("pids", "the process limit"),
				      ctx->is_root ? "counts per host uid (RLIMIT_NPROC), "
						   : "counts all your processes (RLIMIT_NPROC), ");
	if (ctx->spec->cpus_milli && !cg->has_cpu && n < sizeof what)
		n += (size_t)snprintf(what + n, sizeof what - n, "%s is not enforced, ",
				      bwk_setting("cpus", "the CPU limit"));
	if (!n || n >= sizeof what)
		return;
	what[n - 2] = 0;
	sbx_warn(ctx->spec, "%s: %s%s", why, what,
		 hint ? "; for limits on the whole container run it in a delegated cgroup "
			"(systemd-run --user --scope -p Delegate=yes bulwark run …)"
		      : "");
}

/* On the cgroup2 mount rfd (CG_ROOT). */
static int create_v2(sbx_cgroup *cg, const sbx_ctx *ctx, int rfd, bwk_error **err)
{
	const char *root = CG_ROOT;
	cleanup_free char *avail = NULL;
	size_t len;
	if (bwk_read_file_at(rfd, "cgroup.controllers", 4096, false, &avail, &len, NULL) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "reading %s/cgroup.controllers",
				     root);
	cg->has_memory = has_words(avail, "+memory");
	cg->has_pids = has_words(avail, "+pids");
	cg->has_cpu = has_words(avail, "+cpu");
	char line[40];
	ctl_line(cg, line, sizeof line);
	/* the root cgroup is exempt from the no-internal-processes rule */
	if (enable_at(rfd, root, line, err) < 0 || make_leaf(cg, ctx, rfd, root, cg->name, err) < 0)
		return -1;
	if (!cg->has_memory || !cg->has_pids || !cg->has_cpu) {
		char why[128];
		snprintf(why, sizeof why, "cgroup v2 %s offers no %s%s%s%s%s controller", root,
			 cg->has_memory ? "" : "memory",
			 !cg->has_memory && !cg->has_pids ? ", " : "", cg->has_pids ? "" : "pids",
			 (!cg->has_memory || !cg->has_pids) && !cg->has_cpu ? ", " : "",
			 cg->has_cpu ? "" : "cpu");
		warn_fallback(ctx, cg, why, false);
	}
	return 0;
}

/* Controllers can be enabled for the children of a cgroup only once no process is in it:
 * move every process found there (the caller's shell, this bulwark) into its child
 * bulwark-origin, which stays, as crun and Podman do with theirs. The limits of the cgroup
 * itself still apply to them. Bounded: a cgroup that keeps gaining processes is refused. */
static int vacate(int cfd, const char *where, const char *line, bwk_error **err)
{
	cleanup_free char *sub = NULL;
	size_t len;
	if (bwk_read_file_at(cfd, "cgroup.subtree_control", 4096, false, &sub, &len, err) < 0)
		return -1;
	if (has_words(sub, line))
		return 0; /* done by an earlier run: nothing can be in it */
	if (mkdirat(cfd, sbx_cgroup_origin, 0755) < 0 && errno != EEXIST)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s/%s", where,
				     sbx_cgroup_origin);
	cleanup_close int ofd =
	    openat(cfd, sbx_cgroup_origin, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int pfd = ofd < 0 ? -1 : openat(ofd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (pfd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "open %s/%s/cgroup.procs", where,
				     sbx_cgroup_origin);
	for (int round = 0; round < 8; round++) {
		cleanup_free char *procs = NULL;
		if (bwk_read_file_at(cfd, "cgroup.procs", 1u << 20, false, &procs, &len, err) < 0)
			return -1;
		/* one pid per write(), as the kernel wants; one that exited meanwhile is fine */
		for (char *p = procs, *nl; p && *p; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			if (n && write(pfd, p, n) < 0 && errno != ESRCH)
				return bwk_error_set(err, BWK_E_RUNTIME, errno,
						     "moving process %.*s to %s/%s", (int)n, p,
						     where, sbx_cgroup_origin);
		}
		if (enable_at(cfd, where, line, NULL) == 0)
			return 0;
		if (errno != EBUSY)
			break;
	}
	return enable_at(cfd, where, line, err);
}

/* Unprivileged: a delegated cgroup v2 subtree or rlimits, never an error. */
static void create_rootless(sbx_cgroup *cg, const sbx_ctx *ctx)
{
	cleanup_free char *self = NULL, *mi = NULL;
	size_t len;
	(void)bwk_read_file_at(AT_FDCWD, "/proc/self/cgroup", 64u << 10, true, &self, &len, NULL);
	(void)bwk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 4u << 20, true, &mi, &len, NULL);
	cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	bwk_cgroup_plan plan;
	cleanup_close int cfd =
	    bwk_cgroup_plan_rootless(root, self, mi, (uint32_t)geteuid(), &plan);
	struct statfs sf;
	cleanup_error bwk_error *e = NULL;
	if (cfd >= 0 && (plan.memory || plan.pids || plan.cpu) &&
	    (fstatfs(cfd, &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC)) {
		snprintf(plan.why, sizeof plan.why, "%.255s%.300s is not a cgroup2 filesystem",
			 plan.mount, plan.path);
	} else if (cfd >= 0 && (plan.memory || plan.pids || plan.cpu)) {
		cg->has_memory = plan.memory;
		cg->has_pids = plan.pids;
		cg->has_cpu = plan.cpu;
		char line[40], where[sizeof plan.mount + sizeof plan.path];
		ctl_line(cg, line, sizeof line);
		snprintf(where, sizeof where, "%s%s", plan.mount,
			 strcmp(plan.path, "/") ? plan.path : "");
		/* also at the root of a cgroup namespace: only the host's root cgroup is exempt
		 * from the no-internal-processes rule, and it is never delegated */
		if (vacate(cfd, where, line, &e) == 0 &&
		    make_leaf(cg, ctx, cfd, where, cg->name, &e) == 0) {
			cg->mode = SBX_CG_V2;
			if (plan.why[0])
				warn_fallback(ctx, cg, plan.why, false);
			return;
		}
		cg->mode = SBX_CG_V2; /* to remove what was made */
		sbx_cgroup_destroy(cg);
		cg->has_memory = cg->has_pids = cg->has_cpu = false;
		cleanup_free char *msg = bwk_error_format(e);
		snprintf(plan.why, sizeof plan.why,
			 "cgroup v2 %.300s is delegated but unusable: %.500s", where,
			 msg ? msg : "?");
	}
	warn_fallback(ctx, cg, plan.why, !plan.delegated && !plan.v1_memory);
}

/* A v1 cpuset has no CPUs and no memory nodes until they are written, and no task can enter
 * it before: those of its parent. */
static int cpuset_inherit(int parent, int dir, const char *where, bwk_error **err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *mine = NULL, *theirs = NULL;
		size_t len;
		if (bwk_read_file_at(dir, files[i], 1 << 16, false, &mine, &len, NULL) < 0)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: reading %s/%s",
					     where, files[i]);
		if (strspn(mine, " \n") < len)
			continue; /* set already (bulwark/ by an earlier run) */
		if (bwk_read_file_at(parent, files[i], 1 << 16, false, &theirs, &len, NULL) < 0)
			return bwk_error_set(err, BWK_E_RUNTIME, errno,
					     "cgroup: reading the %s of the parent of %s", files[i],
					     where);
		if (sbx_cg_write(dir, where, files[i], theirs, err) < 0)
			return -1;
	}
	return 0;
}

/* cpuset: bulwark/run, made once with the CPUs and memory nodes of the root and shared by
 * every `run` container. Not bulwark/ itself: the OCI containers' cgroups are made there
 * (bulwark/ID), and a view rooted at bulwark/ would show their names. */
static int shared_cpuset(sbx_cgroup *cg, int h, const char *base, bwk_error **err)
{
	char top[PATH_MAX];
	snprintf(top, sizeof top, "%.3900s/bulwark", base);
	snprintf(cg->cpuset, sizeof cg->cpuset, "%.3950s/run", top);
	cleanup_close int t = sbx_cg_open(h, "bulwark", SBX_CG_MKDIR, top, err);
	if (t < 0 || cpuset_inherit(h, t, top, err) < 0)
		return -1;
	cleanup_close int r = sbx_cg_open(t, "run", SBX_CG_MKDIR, cg->cpuset, err);
	if (r < 0 || cpuset_inherit(t, r, cg->cpuset, err) < 0)
		return -1;
	cg->v1_fd[SBX_CG_V1_DIRS - 1] = steal_fd(&r);
	return 0;
}

/* The container's cgroup in the v1 hierarchy `ctl` (slot i), with no limit written: only its
 * view needs it (see sandbox_private.h). Skipped where the hierarchy is absent or is one
 * already used (cpuacct co-mounted with cpu); a failure is said once and leaves it out. In
 * cpuset every container shares bulwark/run, made once and kept: the same CPUs and memory
 * nodes as the host's for all, and a cgroup of its own would cost more to make and remove (a
 * v1 cpuset is born empty, its CPUs and nodes written level by level) than the rest of the
 * cgroups together. Its tasks files list the reader's own pid namespace only. */
static void view_only(sbx_cgroup *cg, const sbx_ctx *ctx, int mnt, size_t i, const char *ctl)
{
	char *out = i == 3 ? cg->cpuacct : cg->cpuset;
	char real[NAME_MAX + 1], base[sizeof real + sizeof CG_ROOT];
	cleanup_close int h = sbx_cg_open_hierarchy(mnt, ctl, real, sizeof real);
	struct stat st, used;
	if (h < 0 || fstat(h, &st) < 0)
		return;
	for (size_t j = 0; j < 3; j++) /* memory, pids, cpu: the hierarchies with limits */
		if (fstat(cg->v1_fd[j], &used) == 0 && used.st_dev == st.st_dev)
			return;
	snprintf(base, sizeof base, "%s/%s", CG_ROOT, real);
	cleanup_error bwk_error *e = NULL;
	if (i == SBX_CG_V1_DIRS - 1 ? shared_cpuset(cg, h, base, &e) == 0
				    : own_dir(h, base, cg->name, NULL, out, &cg->v1_parent_fd[i],
					      &cg->v1_fd[i], &e) == 0)
		return;
	out[0] = 0;
	cleanup_free char *msg = bwk_error_format(e);
	sbx_warn(ctx->spec,
		 "cgroup v1 %s: %s: the container's /sys/fs/cgroup lacks it (the JVM then "
		 "ignores its limits)",
		 ctl, msg ? msg : "?");
}

/* The hierarchies with limits (memory, pids, cpu: slots 0-2), open in h[] when each has the
 * files bulwark writes; the tmpfs at mnt holds them. */
static bool v1_usable(int mnt, int h[3])
{
	static const char *const ctl[] = {"memory", "pids", "cpu"};
	static const char *const file[] = {"memory.limit_in_bytes", "cgroup.procs", "cpu.shares"};
	for (size_t i = 0; i < 3; i++) {
		h[i] = sbx_cg_open_hierarchy(mnt, ctl[i], NULL, 0);
		if (h[i] < 0 || faccessat(h[i], file[i], F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			return false;
	}
	return true;
}

static int create_v1(sbx_cgroup *cg, const sbx_ctx *ctx, int mnt, const int h[3], bwk_error **err)
{
	static const char *const ctl[] = {"memory", "pids", "cpu"};
	char *out[] = {cg->memory, cg->pids, cg->cpu};
	for (size_t i = 0; i < 3; i++) {
		char base[64];
		snprintf(base, sizeof base, "%s/%s", CG_ROOT, ctl[i]);
		if (own_dir(h[i], base, cg->name, NULL, out[i], &cg->v1_parent_fd[i], &cg->v1_fd[i],
			    err) < 0) {
			out[i][0] = 0;
			return -1;
		}
	}
	char v[64];
	int mem = cg->v1_fd[0], cpu = cg->v1_fd[2];
	if (ctx->memory != BWK_UNLIMITED) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->memory);
		if (sbx_cg_write(mem, cg->memory, "memory.limit_in_bytes", v, err) < 0)
			return -1;
		/* no swap on top of the limit where swap accounting exists */
		if (faccessat(mem, "memory.memsw.limit_in_bytes", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			(void)sbx_cg_write(mem, cg->memory, "memory.memsw.limit_in_bytes", v, NULL);
	}
	if (ctx->pids != BWK_UNLIMITED) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->pids);
		if (sbx_cg_write(cg->v1_fd[1], cg->pids, "pids.max", v, err) < 0)
			return -1;
	}
	snprintf(v, sizeof v, "%" PRIu32, ctx->spec->cpu_weight * 1024 / 100);
	if (sbx_cg_write(cpu, cg->cpu, "cpu.shares", v, err) < 0)
		return -1;
	if (ctx->spec->cpus_milli) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->spec->cpus_milli * 100);
		if (sbx_cg_write(cpu, cg->cpu, "cpu.cfs_period_us", "100000", err) < 0 ||
		    sbx_cg_write(cpu, cg->cpu, "cpu.cfs_quota_us", v, err) < 0)
			return -1;
	}
	view_only(cg, ctx, mnt, 3, "cpuacct");
	view_only(cg, ctx, mnt, 4, "cpuset");
	return 0;
}

int sbx_cgroup_create(sbx_cgroup *cg, const sbx_ctx *ctx, bwk_error **err)
{
	memset(cg, 0, sizeof *cg);
	cg->v2_fd = cg->v2_parent_fd = -1;
	for (size_t i = 0; i < SBX_CG_V1_DIRS; i++)
		cg->v1_fd[i] = cg->v1_parent_fd[i] = -1;
	cg->memory_limit = ctx->memory;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	/* '@' is outside the OCI id alphabet: no OCI container's default bulwark/<id> is ever
	 * taken for one of run's by the reaper (sbx_cg_reap) */
	snprintf(cg->name, sizeof cg->name, "run-%d@%lx", (int)getpid(), (unsigned long)ts.tv_nsec);
	if (!ctx->is_root) {
		create_rootless(cg, ctx);
		return 0;
	}
	bool v2 = false;
	cleanup_close int mnt = sbx_cg_open_mount(CG_ROOT, &v2, err);
	int h[3] = {-1, -1, -1};
	int r;
	if (mnt < 0) {
		r = -1;
	} else if (v2) {
		cg->mode = SBX_CG_V2;
		r = create_v2(cg, ctx, mnt, err);
	} else if (v1_usable(mnt, h)) {
		cg->mode = SBX_CG_V1;
		r = create_v1(cg, ctx, mnt, h, err);
	} else {
		r = bwk_error_set(err, BWK_E_UNSUPPORTED, 0, "no usable cgroup hierarchy under %s",
				  CG_ROOT);
	}
	for (size_t i = 0; i < 3; i++)
		if (h[i] >= 0)
			close(h[i]);
	if (r < 0 && cg->mode != SBX_CG_NONE) {
		sbx_cgroup_destroy(cg);
		return bwk_error_wrap(err, "creating the container's cgroup");
	}
	return r;
}

int sbx_cgroup_attach(const sbx_cgroup *cg, pid_t pid, bwk_error **err)
{
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	if (cg->mode == SBX_CG_V2 && sbx_cg_write(cg->v2_fd, cg->v2, "cgroup.procs", v, err) < 0)
		return bwk_error_wrap(err, "moving the container into its cgroup");
	const char *dirs[SBX_CG_V1_DIRS];
	v1_dirs(cg, dirs);
	for (size_t i = 0; cg->mode == SBX_CG_V1 && i < SBX_CG_V1_DIRS; i++)
		if (cg->v1_fd[i] >= 0 &&
		    sbx_cg_write(cg->v1_fd[i], dirs[i], "cgroup.procs", v, err) < 0)
			return bwk_error_wrap(err, "moving the container into its cgroup");
	return 0;
}

/* Moving a whole process between cgroups (a write to cgroup.procs) takes a global lock whose
 * first writer after a quiet spell waits for an RCU grace period: 6 to 14 ms on the machines
 * we measure, longer than everything else `bulwark run` does. Moving a single thread that
 * writes "0" (itself) to a v1 "tasks" file skips that lock (Linux >= 5.10): the child, still
 * single-threaded, moves itself right after clone() through descriptors the host side opened
 * (the kernel checks the credentials of the opener, host root, not the writer's). */
int sbx_cgroup_open_tasks(const sbx_cgroup *cg, int fds[SBX_CG_V1_DIRS], bwk_error **err)
{
	const char *dirs[SBX_CG_V1_DIRS];
	v1_dirs(cg, dirs);
	for (size_t i = 0; i < SBX_CG_V1_DIRS; i++) {
		fds[i] = -1;
		if (cg->mode != SBX_CG_V1 || cg->v1_fd[i] < 0)
			continue;
		fds[i] = openat(cg->v1_fd[i], "tasks", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fds[i] < 0) {
			bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: opening %s/tasks",
				      dirs[i]);
			while (i-- > 0)
				if (fds[i] >= 0)
					close(fds[i]);
			return -1;
		}
	}
	return 0;
}

int sbx_cgroup_enter_self(int fds[SBX_CG_V1_DIRS])
{
	int r = 0;
	for (size_t i = 0; i < SBX_CG_V1_DIRS; i++) {
		if (fds[i] < 0)
			continue;
		if (r == 0 && write(fds[i], "0", 1) != 1)
			r = -1;
		int e = errno;
		close(fds[i]);
		errno = e;
		fds[i] = -1;
	}
	return r;
}

static uint64_t read_key(int dfd, const char *file, const char *key)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (dfd < 0 || bwk_read_file_at(dfd, file, 1 << 16, false, &data, &len, NULL) < 0)
		return 0;
	size_t kl = strlen(key);
	for (char *p = data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

bool sbx_cgroup_oom_killed(const sbx_cgroup *cg)
{
	if (cg->mode == SBX_CG_V2)
		return cg->has_memory && read_key(cg->v2_fd, "memory.events", "oom_kill") > 0;
	return cg->mode == SBX_CG_V1 &&
	       read_key(cg->v1_fd[0], "memory.oom_control", "oom_kill") > 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The pid namespace is gone when this runs (its init was reaped), but the kernel may take a
 * moment to release the last tasks: sbx_cg_remove waits for them. Removed before the lock
 * goes with the descriptor. */
void sbx_cgroup_destroy(sbx_cgroup *cg)
{
	if (cg->mode == SBX_CG_V2) {
		if (cg->v2_parent_fd >= 0 && cg->v2_fd >= 0)
			(void)sbx_cg_remove(cg->v2_parent_fd, cg->name, false);
		close_fd(&cg->v2_fd);
		close_fd(&cg->v2_parent_fd);
		cg->v2[0] = 0;
	}
	for (size_t i = 0; cg->mode == SBX_CG_V1 && i < SBX_CG_V1_DIRS; i++) {
		if (cg->v1_parent_fd[i] >= 0 && cg->v1_fd[i] >= 0)
			(void)sbx_cg_remove(cg->v1_parent_fd[i], cg->name, false);
		close_fd(&cg->v1_fd[i]);
		close_fd(&cg->v1_parent_fd[i]);
	}
	cg->memory[0] = cg->pids[0] = cg->cpu[0] = cg->cpuacct[0] = cg->cpuset[0] = 0;
	cg->mode = SBX_CG_NONE;
}

void sbx_cgroup_reap_stale(const sbx_cgroup *cg)
{
	if (cg->mode == SBX_CG_V2)
		sbx_cg_reap(cg->v2_parent_fd);
	for (size_t i = 0; cg->mode == SBX_CG_V1 && i < SBX_CG_V1_DIRS; i++)
		sbx_cg_reap(cg->v1_parent_fd[i]);
}
