/* Resource limits through cgroups on v2, v1 and hybrid hosts (v1 controllers plus a cgroup2
 * mount, where crun refuses to start): the cgroup exists, with its limits, before the
 * container's first instruction runs, and is removed after the last process is gone.
 * Unprivileged, in a cgroup v2 subtree delegated to the user (cgroup_plan.c decides), as
 * crun and rootless Podman do; without one, the limits fall back to rlimits, said once. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

static int write_file(const char *dir, const char *file, const char *val, bwk_error **err)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "open %s", path);
	size_t n = strlen(val);
	if (write(fd, val, n) != (ssize_t)n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "write '%s' to %s", val, path);
	return 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The v1 directories of the container, in a fixed order ("" when absent). */
static void v1_dirs(const sbx_cgroup *cg, const char *out[SBX_CG_V1_DIRS])
{
	const char *d[SBX_CG_V1_DIRS] = {cg->memory, cg->pids, cg->cpu, cg->cpuacct, cg->cpuset};
	memcpy(out, d, sizeof d);
}

static int make_dir(char *out, const char *base, const char *name, bwk_error **err)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s/bulwark", base);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s", parent);
	if (snprintf(out, PATH_MAX, "%s/%s", parent, name) >= PATH_MAX)
		return bwk_error_set(err, BWK_E_RUNTIME, ENAMETOOLONG, "cgroup path");
	if (mkdir(out, 0755) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s", out);
	return 0;
}

/* One write to a cgroup file of the open directory `dfd`; `where` names it in errors. */
static int write_at(int dfd, const char *where, const char *file, const char *val, bwk_error **err)
{
	cleanup_close int fd = openat(dfd, file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t n = strlen(val);
	if (fd < 0 || write(fd, val, n) != (ssize_t)n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "write '%s' to %s/%s", val, where,
				     file);
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
	return line[0] ? write_at(dfd, where, "cgroup.subtree_control", line, err) : 0;
}

/* The container's cgroup bulwark/NAME under `cfd`, whose children get the controllers of
 * `line`, with every limit written before any process enters it. */
static int make_leaf(sbx_cgroup *cg, const sbx_ctx *ctx, int cfd, const char *where,
		     const char *name, bwk_error **err)
{
	char line[40];
	ctl_line(cg, line, sizeof line);
	if (mkdirat(cfd, "bulwark", 0755) < 0 && errno != EEXIST)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s/bulwark", where);
	cg->v2_parent_fd = openat(cfd, "bulwark", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	snprintf(cg->v2, sizeof cg->v2, "%s/bulwark/%s", where, name);
	if (cg->v2_parent_fd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "open %s/bulwark", where);
	if (enable_at(cg->v2_parent_fd, cg->v2, line, err) < 0)
		return -1;
	if (mkdirat(cg->v2_parent_fd, name, 0755) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s", cg->v2);
	snprintf(cg->v2_name, sizeof cg->v2_name, "%s", name);
	cg->v2_fd = openat(cg->v2_parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cg->v2_fd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "open %s", cg->v2);
	int d = cg->v2_fd;
	char v[64];
	if (cg->has_memory && ctx->memory != BWK_UNLIMITED) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->memory);
		if (write_at(d, cg->v2, "memory.max", v, err) < 0)
			return -1;
		(void)write_at(d, cg->v2, "memory.swap.max", "0", NULL); /* absent without swap */
	}
	/* one OOM kill takes the whole container: a half-killed one (its init or a worker gone,
	 * the rest running on) is worse than a clean exit 137; absent before Linux 4.19 */
	if (cg->has_memory)
		(void)write_at(d, cg->v2, "memory.oom.group", "1", NULL);
	snprintf(v, sizeof v, "%" PRIu64, ctx->pids);
	if (cg->has_pids && ctx->pids != BWK_UNLIMITED &&
	    write_at(d, cg->v2, "pids.max", v, err) < 0)
		return -1;
	snprintf(v, sizeof v, "%d", BWK_DEFAULT_CPU_WEIGHT);
	if (cg->has_cpu && write_at(d, cg->v2, "cpu.weight", v, err) < 0)
		return -1;
	if (cg->has_cpu && ctx->spec->cpus_milli) {
		snprintf(v, sizeof v, "%" PRIu64 " 100000", ctx->spec->cpus_milli * 100);
		if (write_at(d, cg->v2, "cpu.max", v, err) < 0)
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

static int create_v2(sbx_cgroup *cg, const sbx_ctx *ctx, const char *name, bwk_error **err)
{
	const char *root = "/sys/fs/cgroup";
	cleanup_close int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *avail = NULL;
	size_t len;
	if (rfd < 0 ||
	    bwk_read_file_at(rfd, "cgroup.controllers", 4096, false, &avail, &len, NULL) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "reading %s/cgroup.controllers",
				     root);
	cg->has_memory = has_words(avail, "+memory");
	cg->has_pids = has_words(avail, "+pids");
	cg->has_cpu = has_words(avail, "+cpu");
	char line[40];
	ctl_line(cg, line, sizeof line);
	/* the root cgroup is exempt from the no-internal-processes rule */
	if (enable_at(rfd, root, line, err) < 0 || make_leaf(cg, ctx, rfd, root, name, err) < 0)
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
static void create_rootless(sbx_cgroup *cg, const sbx_ctx *ctx, const char *name)
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
		    make_leaf(cg, ctx, cfd, where, name, &e) == 0) {
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
static int cpuset_inherit(const char *dir, bwk_error **err)
{
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash)
		*slash = 0;
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		char p[PATH_MAX + 32];
		cleanup_free char *mine = NULL, *theirs = NULL;
		size_t len;
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		if (bwk_read_file_at(AT_FDCWD, p, 1 << 16, false, &mine, &len, err) < 0)
			return -1;
		if (strspn(mine, " \n") < len)
			continue; /* set already (bulwark/ by an earlier run) */
		snprintf(p, sizeof p, "%s/%s", parent, files[i]);
		if (bwk_read_file_at(AT_FDCWD, p, 1 << 16, false, &theirs, &len, err) < 0 ||
		    write_file(dir, files[i], theirs, err) < 0)
			return -1;
	}
	return 0;
}

static bool remove_dir(int dfd, const char *name);

/* cpuset: bulwark/run, made once with the CPUs and memory nodes of the root and shared by
 * every `run` container. Not bulwark/ itself: the OCI containers' cgroups are made there
 * (bulwark/ID), and a view rooted at bulwark/ would show their names. */
static int shared_cpuset(char *out, const char *top, bwk_error **err)
{
	char run[PATH_MAX];
	if (snprintf(run, sizeof run, "%s/run", top) >= (int)sizeof run)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "cgroup path too long: %s", top);
	const char *const levels[] = {top, run};
	for (size_t i = 0; i < 2; i++) {
		if (mkdir(levels[i], 0755) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s", levels[i]);
		if (cpuset_inherit(levels[i], err) < 0)
			return -1;
	}
	snprintf(out, PATH_MAX, "%s", run);
	return 0;
}

/* The container's cgroup in the v1 hierarchy `ctl`, with no limit written: only its view
 * needs it (see sandbox_private.h). Skipped where the hierarchy is absent or is one already
 * used (cpuacct co-mounted with cpu); a failure is said once and leaves it out. In cpuset
 * every container shares bulwark/run, made once and kept: the same CPUs and memory nodes
 * as the host's for all, and a cgroup of its own would cost more to make and remove (a v1
 * cpuset is born empty, its CPUs and nodes written level by level) than the rest of the
 * cgroups together. Its tasks files list the reader's own pid namespace only. */
static void view_only(const sbx_ctx *ctx, char *out, const char *ctl, const char *name)
{
	char base[64];
	snprintf(base, sizeof base, "/sys/fs/cgroup/%s", ctl);
	struct stat st, used;
	if (stat(base, &st) < 0)
		return;
	static const char *const limited[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
					      "/sys/fs/cgroup/cpu"};
	for (size_t i = 0; i < sizeof limited / sizeof *limited; i++)
		if (stat(limited[i], &used) == 0 && used.st_dev == st.st_dev)
			return;
	cleanup_error bwk_error *e = NULL;
	char top[PATH_MAX];
	snprintf(top, sizeof top, "%s/bulwark", base);
	bool shared = !strcmp(ctl, "cpuset");
	if ((shared ? shared_cpuset(out, top, &e) : make_dir(out, base, name, &e)) == 0)
		return;
	if (out[0] && !shared)
		(void)remove_dir(AT_FDCWD, out);
	out[0] = 0;
	cleanup_free char *msg = bwk_error_format(e);
	sbx_warn(ctx->spec,
		 "cgroup v1 %s: %s: the container's /sys/fs/cgroup lacks it (the JVM then "
		 "ignores its limits)",
		 ctl, msg ? msg : "?");
}

static int create_v1(sbx_cgroup *cg, const sbx_ctx *ctx, const char *name, bwk_error **err)
{
	char v[64];
	if (make_dir(cg->memory, "/sys/fs/cgroup/memory", name, err) < 0)
		return -1;
	if (ctx->memory != BWK_UNLIMITED) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->memory);
		if (write_file(cg->memory, "memory.limit_in_bytes", v, err) < 0)
			return -1;
		/* no swap on top of the limit where swap accounting exists */
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/memory.memsw.limit_in_bytes", cg->memory);
		if (exists(p))
			(void)write_file(cg->memory, "memory.memsw.limit_in_bytes", v, NULL);
	}
	if (make_dir(cg->pids, "/sys/fs/cgroup/pids", name, err) < 0)
		return -1;
	if (ctx->pids != BWK_UNLIMITED) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->pids);
		if (write_file(cg->pids, "pids.max", v, err) < 0)
			return -1;
	}
	if (make_dir(cg->cpu, "/sys/fs/cgroup/cpu", name, err) < 0)
		return -1;
	snprintf(v, sizeof v, "%d", BWK_DEFAULT_CPU_WEIGHT * 1024 / 100);
	if (write_file(cg->cpu, "cpu.shares", v, err) < 0)
		return -1;
	if (ctx->spec->cpus_milli) {
		snprintf(v, sizeof v, "%" PRIu64, ctx->spec->cpus_milli * 100);
		if (write_file(cg->cpu, "cpu.cfs_period_us", "100000", err) < 0 ||
		    write_file(cg->cpu, "cpu.cfs_quota_us", v, err) < 0)
			return -1;
	}
	view_only(ctx, cg->cpuacct, "cpuacct", name);
	view_only(ctx, cg->cpuset, "cpuset", name);
	return 0;
}

int sbx_cgroup_create(sbx_cgroup *cg, const sbx_ctx *ctx, bwk_error **err)
{
	memset(cg, 0, sizeof *cg);
	cg->v2_fd = cg->v2_parent_fd = -1;
	cg->memory_limit = ctx->memory;
	struct statfs sf;
	char name[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof name, "run-%d-%lx", (int)getpid(), (unsigned long)ts.tv_nsec);
	if (!ctx->is_root) {
		create_rootless(cg, ctx, name);
		return 0;
	}
	int r;
	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		cg->mode = SBX_CG_V2;
		r = create_v2(cg, ctx, name, err);
	} else if (exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") &&
		   exists("/sys/fs/cgroup/pids/cgroup.procs") &&
		   exists("/sys/fs/cgroup/cpu/cpu.shares")) {
		cg->mode = SBX_CG_V1;
		r = create_v1(cg, ctx, name, err);
	} else {
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "no usable cgroup hierarchy under /sys/fs/cgroup");
	}
	if (r < 0) {
		sbx_cgroup_destroy(cg);
		return bwk_error_wrap(err, "creating the container's cgroup");
	}
	return 0;
}

int sbx_cgroup_attach(const sbx_cgroup *cg, pid_t pid, bwk_error **err)
{
	char v[32];
	snprintf(v, sizeof v, "%d", (int)pid);
	if (cg->mode == SBX_CG_V2 && write_at(cg->v2_fd, cg->v2, "cgroup.procs", v, err) < 0)
		return bwk_error_wrap(err, "moving the container into its cgroup");
	const char *dirs[SBX_CG_V1_DIRS];
	v1_dirs(cg, dirs);
	for (size_t i = 0; cg->mode == SBX_CG_V1 && i < SBX_CG_V1_DIRS; i++)
		if (dirs[i][0] && write_file(dirs[i], "cgroup.procs", v, err) < 0)
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
		if (cg->mode != SBX_CG_V1 || !dirs[i][0])
			continue;
		char path[PATH_MAX + 16];
		snprintf(path, sizeof path, "%s/tasks", dirs[i]);
		fds[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			int e = errno;
			while (i-- > 0)
				if (fds[i] >= 0)
					close(fds[i]);
			return bwk_error_set(err, BWK_E_RUNTIME, e, "open %s", path);
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
	if (cg->mode != SBX_CG_V1 || !cg->memory[0])
		return false;
	cleanup_close int fd = open(cg->memory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return read_key(fd, "memory.oom_control", "oom_kill") > 0;
}

/* The pid namespace is gone when this runs (its init was reaped), but the kernel may take a
 * moment to release the last tasks: retry EBUSY briefly. */
static bool remove_dir(int dfd, const char *name)
{
	for (int tries = 0; tries < 200; tries++) {
		if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return true;
		if (errno != EBUSY)
			return false;
		struct timespec d = {0, 5 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
	return false;
}

void sbx_cgroup_destroy(sbx_cgroup *cg)
{
	if (cg->mode == SBX_CG_V2) {
		if (cg->v2_fd >= 0)
			close(cg->v2_fd);
		if (cg->v2_parent_fd >= 0 && cg->v2_name[0])
			(void)remove_dir(cg->v2_parent_fd, cg->v2_name);
		if (cg->v2_parent_fd >= 0)
			close(cg->v2_parent_fd);
		cg->v2_fd = cg->v2_parent_fd = -1;
		cg->v2_name[0] = cg->v2[0] = 0;
	}
	const char *dirs[SBX_CG_V1_DIRS];
	v1_dirs(cg, dirs);
	for (size_t i = 0; cg->mode == SBX_CG_V1 && i < SBX_CG_V1_OWN; i++)
		if (dirs[i][0])
			(void)remove_dir(AT_FDCWD, dirs[i]);
	cg->memory[0] = cg->pids[0] = cg->cpu[0] = cg->cpuacct[0] = cg->cpuset[0] = 0;
	cg->mode = SBX_CG_NONE;
}

/* A run killed with SIGKILL takes its container along (PR_SET_PDEATHSIG) but cannot remove its
 * cgroups: the next run does. A directory is stale when it is empty (rmdir refuses otherwise),
 * the bulwark process that named it (run-PID-…) is gone, and it is more than a minute old, so
 * a run just starting in another pid namespace with a colliding pid is never touched. */
static void reap_in(int dfd)
{
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid = 0, n = 0;
		struct stat st;
		if (sscanf(e->d_name, "run-%d-%*x%n", &pid, &n) != 1 || !n || e->d_name[n] ||
		    pid <= 0 || pid == (int)getpid())
			continue;
		if ((kill(pid, 0) == 0 || errno != ESRCH) ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    now - st.st_mtime < 60)
			continue;
		(void)unlinkat(dfd, e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

void sbx_cgroup_reap_stale(const sbx_cgroup *cg)
{
	if (cg->mode == SBX_CG_V2 && cg->v2_parent_fd >= 0)
		reap_in(openat(cg->v2_parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	const char *dirs[SBX_CG_V1_DIRS];
	v1_dirs(cg, dirs);
	for (size_t i = 0; cg->mode == SBX_CG_V1 && i < SBX_CG_V1_OWN; i++) {
		if (!dirs[i][0])
			continue;
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", dirs[i]);
		char *slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = 0;
		reap_in(open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	}
}
