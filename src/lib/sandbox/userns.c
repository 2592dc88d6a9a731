/* User namespace id maps. The map never contains host uid 0: root gives each container its own
 * 65536-id slice of bulwark's subordinate range (subid.c) or an explicit range; an
 * unprivileged user maps itself to container root plus its subordinate range through
 * newuidmap, or only itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define DEFAULT_SUB_COUNT 65536u

/* Find NAME's (or UID's) range in an /etc/subuid-format file. */
static bool sub_range(const char *file, const char *name, uid_t id, uint32_t *start,
		      uint32_t *count)
{
	cleanup_free char *data = NULL;
	size_t len;
	if (bwk_read_file_at(AT_FDCWD, file, 1 << 20, true, &data, &len, NULL) < 0)
		return false;
	char idstr[16];
	snprintf(idstr, sizeof idstr, "%u", (unsigned)id);
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = 0;
		if (strcmp(line, name) && strcmp(line, idstr))
			continue;
		char *end;
		errno = 0;
		unsigned long s = strtoul(c1 + 1, &end, 10);
		if (errno || end != c2)
			continue;
		unsigned long n = strtoul(c2 + 1, &end, 10);
		if (errno || n == 0 || s == 0 || s > UINT32_MAX || n > UINT32_MAX - s)
			continue;
		*start = (uint32_t)s;
		*count = (uint32_t)n;
		return true;
	}
	return false;
}

static bool have_helper(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mode & (S_ISUID | S_IXOTH)) == (S_ISUID | S_IXOTH);
}

/* Root: a slice no other running container and no user's subordinate range contains. */
static int plan_root(sbx_userns *u, const bwk_container_spec *s, bwk_error **err)
{
	cleanup_subid_db sbx_subid_db db = {0};
	uint32_t us, gs, n;
	/* an explicit range needs no entry of ours (so it works with a read-only /etc): a slice
	 * claimed later cannot share its ids while it runs, the claims are one lock space */
	if (sbx_subid_load(&db, !s->userns_count, s, err) < 0 ||
	    (s->userns_count &&
	     sbx_subid_check_explicit(&db, s->userns_start, s->userns_count, err) < 0))
		return bwk_error_wrap(err, "choosing the container's host ids");
	u->lock_fd = sbx_subid_claim(&db, s->userns_start, s->userns_count, &us, &gs, &n, err);
	if (u->lock_fd < 0)
		return bwk_error_wrap(err, "choosing the container's host ids");
	u->uid[0] = (sbx_idmap){0, us, n};
	u->gid[0] = (sbx_idmap){0, gs, n};
	u->nuid = u->ngid = 1;
	return 0;
}

int sbx_userns_plan(sbx_userns *u, const bwk_container_spec *s, bwk_error **err)
{
	memset(u, 0, sizeof *u);
	u->lock_fd = -1;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	uint32_t us, un, gs, gn;
	if (uid == 0)
		return plan_root(u, s, err);
	if (s->userns_count)
		return bwk_error_set(err, BWK_E_PERM, 0,
				     "an explicit host id range needs root (unprivileged, the "
				     "container gets your uid and your /etc/subuid range)");
	struct passwd *pw = getpwuid(uid);
	const char *name = pw ? pw->pw_name : "";
	u->uid[0] = (sbx_idmap){0, uid, 1};
	u->gid[0] = (sbx_idmap){0, gid, 1};
	u->nuid = u->ngid = 1;
	if (have_helper("/usr/bin/newuidmap") && have_helper("/usr/bin/newgidmap") &&
	    sub_range("/etc/subuid", name, uid, &us, &un) &&
	    sub_range("/etc/subgid", name, uid, &gs, &gn)) {
		if (un > DEFAULT_SUB_COUNT - 1)
			un = DEFAULT_SUB_COUNT - 1;
		if (gn > DEFAULT_SUB_COUNT - 1)
			gn = DEFAULT_SUB_COUNT - 1;
		u->uid[1] = (sbx_idmap){1, us, un};
		u->gid[1] = (sbx_idmap){1, gs, gn};
		u->nuid = u->ngid = 2;
		u->helper = true;
		return 0;
	}
	/* Single-id map: container root is the caller; other ids do not exist inside. */
	u->deny_setgroups = true;
	sbx_warn(s,
		 "no subordinate ids for uid %u in /etc/subuid: mapping container root to your "
		 "uid only",
		 (unsigned)uid);
	return 0;
}

void sbx_userns_release(sbx_userns *u)
{
	if (u->lock_fd >= 0)
		close(u->lock_fd);
	u->lock_fd = -1;
}

static int run_helper(const char *helper, pid_t pid, const sbx_idmap *m, size_t n, bwk_error **err)
{
	char args[7][16];
	char *argv[9];
	int k = 0;
	if (n > 2)
		return bwk_error_set(err, BWK_E_INTERNAL, 0, "%s: %zu mappings (at most 2)", helper,
				     n);
	argv[k++] = (char *)helper;
	snprintf(args[0], sizeof args[0], "%d", (int)pid);
	argv[k++] = args[0];
	for (size_t i = 0; i < n; i++) {
		snprintf(args[1 + 3 * i], 16, "%u", m[i].inside);
		snprintf(args[2 + 3 * i], 16, "%u", m[i].outside);
		snprintf(args[3 + 3 * i], 16, "%u", m[i].count);
		argv[k++] = args[1 + 3 * i];
		argv[k++] = args[2 + 3 * i];
		argv[k++] = args[3 + 3 * i];
	}
	argv[k] = NULL;
	pid_t h = fork();
	if (h < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "fork %s", helper);
	if (h == 0) {
		execv(helper, argv);
		_exit(127);
	}
	int st;
	while (waitpid(h, &st, 0) < 0)
		if (errno != EINTR)
			return bwk_error_set(err, BWK_E_RUNTIME, errno, "wait %s", helper);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return bwk_error_set(err, BWK_E_RUNTIME, 0,
				     "%s failed (status %d): check /etc/subuid and /etc/subgid",
				     helper, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

/* /proc/PID/FILE ← `data` in one write (the kernel takes an id map in one only). */
static int write_proc(pid_t pid, const char *file, const char *data, size_t n, bwk_error **err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "writing %s", path);
	return 0;
}

int sbx_idmap_format(const sbx_idmap *m, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	if (!len || n > SBX_IDMAP_MAX)
		return -1;
	buf[0] = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + off, len - off, "%u %u %u\n", m[i].inside, m[i].outside,
				 m[i].count);
		if (w < 0 || (size_t)w >= len - off)
			return -1;
		off += (size_t)w;
	}
	return (int)off;
}

static int write_map(pid_t pid, const char *file, const sbx_idmap *m, size_t n, bwk_error **err)
{
	char buf[SBX_IDMAP_BYTES];
	int len = sbx_idmap_format(m, n, buf, sizeof buf);
	if (len < 0)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: %zu mappings do not fit the kernel's one page (at most "
				     "%d lines, %d bytes)",
				     file, n, SBX_IDMAP_MAX, SBX_IDMAP_BYTES - 1);
	return write_proc(pid, file, buf, (size_t)len, err);
}

int sbx_idmap_write(pid_t pid, const sbx_idmaps *m, bwk_error **err)
{
	if (m->helper)
		return run_helper("/usr/bin/newuidmap", pid, m->uid, m->nuid, err) < 0 ||
			       run_helper("/usr/bin/newgidmap", pid, m->gid, m->ngid, err) < 0
			   ? -1
			   : 0;
	if (m->nuid && write_map(pid, "uid_map", m->uid, m->nuid, err) < 0)
		return bwk_error_wrap(err, "the uid map of the user namespace");
	if (m->deny_setgroups && write_proc(pid, "setgroups", "deny", 4, err) < 0)
		return bwk_error_wrap(err, "denying setgroups in the user namespace");
	if (m->ngid && write_map(pid, "gid_map", m->gid, m->ngid, err) < 0)
		return bwk_error_wrap(err, "the gid map of the user namespace");
	return 0;
}

/* Defence in depth: refuse any map of run's that would contain host id 0. */
static int refuse_host_root(const sbx_userns *u, sbx_idmaps *m, bwk_error **err)
{
	for (int i = 0; i < u->nuid; i++)
		if (u->uid[i].outside == 0)
			return bwk_error_set(err, BWK_E_INTERNAL, 0,
					     "uid map would contain host root");
	for (int i = 0; i < u->ngid; i++)
		if (u->gid[i].outside == 0)
			return bwk_error_set(err, BWK_E_INTERNAL, 0,
					     "gid map would contain host root");
	*m = (sbx_idmaps){.uid = u->uid,
			  .gid = u->gid,
			  .nuid = (size_t)u->nuid,
			  .ngid = (size_t)u->ngid,
			  .helper = u->helper,
			  .deny_setgroups = u->deny_setgroups};
	return 0;
}

int sbx_userns_apply(const sbx_userns *u, pid_t pid, bwk_error **err)
{
	sbx_idmaps m;
	if (refuse_host_root(u, &m, err) < 0)
		return -1;
	return sbx_idmap_write(pid, &m, err);
}

int sbx_idmap_userns_fd(const sbx_idmaps *m)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		char c = unshare(CLONE_NEWUSER) == 0;
		(void)!write(p[1], &c, 1);
		for (;;)
			pause(); /* until killed below */
	}
	close(p[1]);
	char ok = 0;
	int ns = -1, e = EPERM;
	if (pid > 0 && read(p[0], &ok, 1) == 1 && ok) {
		bwk_error *err = NULL;
		if (sbx_idmap_write(pid, m, &err) == 0) {
			char path[64];
			snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
			ns = open(path, O_RDONLY | O_CLOEXEC);
		}
		e = errno;
	} else if (pid < 0)
		e = errno;
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	errno = e;
	return ns;
}

int sbx_userns_fd(const sbx_userns *u)
{
	sbx_idmaps m;
	bwk_error *err = NULL;
	if (refuse_host_root(u, &m, &err) < 0) {
		bwk_error_free(err);
		errno = EPERM;
		return -1;
	}
	return sbx_idmap_userns_fd(&m);
}
