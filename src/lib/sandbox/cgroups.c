/* Resource limits through cgroups on v2, v1 and hybrid hosts (v1 controllers plus a cgroup2
 * mount, where crun refuses to start): the cgroup exists, with its limits, before the
 * container's first instruction runs, and is removed after the last process is gone. */
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

/* Enable what this host's v2 hierarchy offers; a controller it lacks (bound to a v1
 * hierarchy, or not delegated) means that limit cannot be enforced: say so once. */
static int enable_v2(const char *dir, bool quiet, const char *want, bool *have)
{
	cleanup_free char *avail = NULL;
	size_t len;
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
	if (bwk_read_file_at(AT_FDCWD, path, 4096, true, &avail, &len, NULL) < 0)
		return -1;
	char word[32];
	snprintf(word, sizeof word, " %s ", want);
	char padded[4200];
	snprintf(padded, sizeof padded, " %s ", avail);
	for (char *p = padded; *p; p++)
		if (*p == '\n')
			*p = ' ';
	*have = strstr(padded, word) != NULL;
	if (!*have) {
		if (!quiet)
			fprintf(
			    stderr,
			    "bulwark: warning: cgroup v2 controller '%s' is not available in %s: "
			    "its limit is not enforced\n",
			    want, dir);
		return 0;
	}
	char v[40];
	snprintf(v, sizeof v, "+%s", want);
	return write_file(dir, "cgroup.subtree_control", v, NULL) < 0 ? -1 : 0;
}

static int create_v2(sbx_cgroup *cg, const sbx_ctx *ctx, const char *name, bwk_error **err)
{
	const char *root = "/sys/fs/cgroup";
	bool quiet = ctx->spec->quiet;
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s/bulwark", root);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "mkdir %s", parent);
	static const char *const ctl[] = {"memory", "pids", "cpu"};
	bool *have[] = {&cg->has_memory, &cg->has_pids, &cg->has_cpu};
	for (size_t i = 0; i < 3; i++) {
		bool in_root = false, in_parent = false;
		if (enable_v2(root, true, ctl[i], &in_root) == 0 && in_root)
			(void)enable_v2(parent, quiet, ctl[i], &in_parent);
		else if (!quiet)
			fprintf(stderr,
				"bulwark: warning: cgroup v2 controller '%s' is not available: its "
				"limit is not enforced\n",
				ctl[i]);
		*have[i] = in_root && in_parent;
	}
	if (make_dir(cg->v2, root, name, err) < 0)
		return -1;
	char v[64];
	snprintf(v, sizeof v, "%" PRIu64, ctx->memory);
	if (cg->has_memory && ctx->memory != BWK_UNLIMITED) {
		if (write_file(cg->v2, "memory.max", v, err) < 0)
			return -1;
		(void)write_file(cg->v2, "memory.swap.max", "0", NULL); /* absent without swap */
	}
	snprintf(v, sizeof v, "%" PRIu64, ctx->pids);
	if (cg->has_pids && ctx->pids != BWK_UNLIMITED &&
	    write_file(cg->v2, "pids.max", v, err) < 0)
		return -1;
	snprintf(v, sizeof v, "%d", BWK_DEFAULT_CPU_WEIGHT);
	if (cg->has_cpu && write_file(cg->v2, "cpu.weight", v, err) < 0)
		return -1;
	if (cg->has_cpu && ctx->spec->cpus_milli) {
		snprintf(v, sizeof v, "%" PRIu64 " 100000", ctx->spec->cpus_milli * 100);
		if (write_file(cg->v2, "cpu.max", v, err) < 0)
			return -1;
	}
	return 0;
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
	return 0;
}

int sbx_cgroup_create(sbx_cgroup *cg, const sbx_ctx *ctx, bwk_error **err)
{
	memset(cg, 0, sizeof *cg);
	cg->memory_limit = ctx->memory;
	struct statfs sf;
	char name[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof name, "run-%d-%lx", (int)getpid(), (unsigned long)ts.tv_nsec);
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
	const char *dirs[] = {cg->v2, cg->memory, cg->pids, cg->cpu};
	for (size_t i = 0; i < 4; i++)
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
int sbx_cgroup_open_tasks(const sbx_cgroup *cg, int fds[3], bwk_error **err)
{
	const char *dirs[] = {cg->memory, cg->pids, cg->cpu};
	for (size_t i = 0; i < 3; i++) {
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

int sbx_cgroup_enter_self(int fds[3])
{
	int r = 0;
	for (size_t i = 0; i < 3; i++) {
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

static uint64_t read_key(const char *dir, const char *file, const char *key)
{
	if (!dir[0])
		return 0;
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, path, 1 << 16, true, &data, &len, NULL) < 0)
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
		return cg->has_memory && read_key(cg->v2, "memory.events", "oom_kill") > 0;
	if (cg->mode == SBX_CG_V1)
		return read_key(cg->memory, "memory.oom_control", "oom_kill") > 0;
	return false;
}

/* The pid namespace is gone when this runs (its init was reaped), but the kernel may take a
 * moment to release the last tasks: retry EBUSY briefly. */
void sbx_cgroup_destroy(sbx_cgroup *cg)
{
	char *dirs[] = {cg->v2, cg->memory, cg->pids, cg->cpu};
	for (size_t i = 0; i < 4; i++) {
		if (!dirs[i][0])
			continue;
		for (int tries = 0; tries < 200; tries++) {
			if (rmdir(dirs[i]) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY)
				break;
			struct timespec d = {0, 5 * 1000 * 1000};
			nanosleep(&d, NULL);
		}
		dirs[i][0] = 0;
	}
	cg->mode = SBX_CG_NONE;
}

/* A run killed with SIGKILL takes its container along (PR_SET_PDEATHSIG) but cannot remove its
 * cgroups: the next run does. A directory is stale when it is empty (rmdir refuses otherwise),
 * the bulwark process that named it (run-PID-…) is gone, and it is more than a minute old, so
 * a run just starting in another pid namespace with a colliding pid is never touched. */
void sbx_cgroup_reap_stale(const sbx_cgroup *cg)
{
	const char *dirs[] = {cg->v2, cg->memory, cg->pids, cg->cpu};
	time_t now = time(NULL);
	for (size_t i = 0; i < 4; i++) {
		if (!dirs[i][0])
			continue;
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%s", dirs[i]);
		char *slash = strrchr(parent, '/');
		if (!slash)
			continue;
		*slash = 0;
		int dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			int pid = 0, n = 0;
			struct stat st;
			if (sscanf(e->d_name, "run-%d-%*x%n", &pid, &n) != 1 || !n ||
			    e->d_name[n] || pid <= 0 || pid == (int)getpid())
				continue;
			if ((kill(pid, 0) == 0 || errno != ESRCH) ||
			    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode) || now - st.st_mtime < 60)
				continue;
			(void)unlinkat(dfd, e->d_name, AT_REMOVEDIR);
		}
		closedir(d);
	}
}
