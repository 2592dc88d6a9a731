/* The cgroup file-system steps `bulwark run` (cgroups.c) and the OCI runtime (oci_cgroup.c)
 * share. No syscall takes a built path: the mount is opened once, and every directory below
 * it is reached from its open parent by one validated name, never following a link and
 * checked to be on a cgroup file system (a bind mount or a link planted in a delegated
 * subtree could otherwise send a limit write, or an rmdir, anywhere). Paths are built only
 * for messages. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <dirent.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

bool sbx_cg_on_fs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 &&
	       (sf.f_type == CGROUP2_SUPER_MAGIC || sf.f_type == CGROUP_SUPER_MAGIC);
}

int sbx_cg_open_mount(const char *path, bool *v2, bwk_error **err)
{
	cleanup_close int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sf;
	if (fd < 0 || fstatfs(fd, &sf) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: opening %s", path);
	*v2 = sf.f_type == CGROUP2_SUPER_MAGIC;
	return steal_fd(&fd);
}

int sbx_cg_open_hierarchy(int mnt, const char *ctl, char *name, size_t cap)
{
	/* /sys/fs/cgroup/cpu is often a link to the co-mounted cpu,cpuacct: the name of the
	 * mount beside it, never a path elsewhere */
	char real[NAME_MAX + 1];
	ssize_t l = readlinkat(mnt, ctl, real, sizeof real - 1);
	if (l > 0 && !memchr(real, '/', (size_t)l))
		real[l] = 0;
	else
		snprintf(real, sizeof real, "%s", ctl);
	if (name)
		snprintf(name, cap, "%s", real);
	cleanup_close int h = openat(mnt, real, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (h < 0)
		return -1;
	if (!sbx_cg_on_fs(h)) {
		errno = ENOTDIR;
		return -1;
	}
	return steal_fd(&h);
}

int sbx_cg_open(int parent, const char *name, int flags, const char *where, bwk_error **err)
{
	size_t len = strlen(name);
	if (!len || len > NAME_MAX || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "cgroup %s: '%s' is not a single cgroup name", where, name);
	if ((flags & SBX_CG_MKDIR) && mkdirat(parent, name, 0755) < 0 &&
	    (errno != EEXIST || (flags & SBX_CG_EXCL)))
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: mkdir %s", where);
	cleanup_close int fd =
	    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: opening %s", where);
	if (!sbx_cg_on_fs(fd))
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "cgroup: %s is not on a cgroup file system", where);
	return steal_fd(&fd);
}

int sbx_cg_write(int dfd, const char *where, const char *file, const char *val, bwk_error **err)
{
	cleanup_close int fd = openat(dfd, file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t n = strlen(val);
	if (fd < 0 || write(fd, val, n) != (ssize_t)n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "cgroup: writing '%s' to %s/%s",
				     val, where, file);
	return 0;
}

int sbx_cg_kill(int dfd, int sig)
{
	if (sig == SIGKILL && sbx_cg_write(dfd, "", "cgroup.kill", "1", NULL) == 0)
		return 1; /* v2 since Linux 5.14: the whole cgroup at once */
	int pfd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	cleanup_file FILE *f = pfd < 0 ? NULL : fdopen(pfd, "re");
	if (pfd >= 0 && !f)
		close(pfd);
	int n = 0, pid;
	while (f && fscanf(f, "%d", &pid) == 1)
		if (pid > 0 && kill(pid, sig) == 0)
			n++;
	return n;
}

/* v2: whether cgroup.events (open at ev) says processes are left in the cgroup */
static bool populated(int ev)
{
	char b[256];
	ssize_t n = pread(ev, b, sizeof b - 1, 0);
	if (n <= 0)
		return true;
	b[n] = 0;
	return !strstr(b, "populated 0");
}

bool sbx_cg_remove(int parent, const char *name, bool kill_left)
{
	if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return true;
	if (errno != EBUSY)
		return false;
	cleanup_close int fd =
	    openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	/* the last processes may still be exiting. v2 says when the cgroup empties (cgroup.events
	 * "populated 0" raises POLLPRI): an event; v1 has none, so a back-off from 100 µs to
	 * 10 ms; about 2 s in all either way */
	cleanup_close int ev = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	long ns = 100 * 1000;
	for (int t = 0; t < 200; t++) {
		if (kill_left)
			(void)sbx_cg_kill(fd, SIGKILL);
		if (ev < 0 || !populated(ev) || poll(&(struct pollfd){ev, POLLPRI, 0}, 1, 10) < 0) {
			nanosleep(&(struct timespec){0, ns}, NULL);
			ns = ns * 2 > 10 * 1000 * 1000 ? 10 * 1000 * 1000 : ns * 2;
		}
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return true;
		if (errno != EBUSY)
			return false;
	}
	return false;
}

/* A run killed with SIGKILL takes its container along (PR_SET_PDEATHSIG) but cannot remove its
 * cgroups: the next run does, at once. Only run's own names are considered, run-PID@HEX: '@'
 * is not in an OCI container id, so a stopped OCI container's bulwark/<id> (its id may well
 * be "run-1-a") is never one of them. A directory run-PID@… below bulwark/ is stale when no
 * process holds its lock (every run holds a shared flock on each of its own for its whole
 * life, and the kernel drops it with the last descriptor, however the run ended), its pid is
 * gone too (ESRCH: a live run of a bulwark without the lock, in this pid namespace), and rmdir
 * succeeds (it refuses while a process is in it). The parent, taken exclusive for the scan,
 * closes the window between a run's mkdir and its lock (own_dir holds it shared there); a run
 * in another pid namespace whose pid collides is protected by its lock. Busy: skipped. */
void sbx_cg_reap(int parent)
{
	if (parent < 0 || flock(parent, LOCK_EX | LOCK_NB) < 0)
		return;
	int dfd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_dir DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d && dfd >= 0)
		close(dfd);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int pid = 0, n = 0;
		if (sscanf(e->d_name, "run-%d@%*x%n", &pid, &n) != 1 || !n || e->d_name[n] ||
		    pid <= 0 || pid == (int)getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		cleanup_close int fd =
		    openat(parent, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && sbx_cg_on_fs(fd) && flock(fd, LOCK_EX | LOCK_NB) == 0)
			(void)unlinkat(parent, e->d_name, AT_REMOVEDIR);
	}
	(void)flock(parent, LOCK_UN);
}
