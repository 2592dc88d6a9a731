/* The container's own cgroup at /sys/fs/cgroup, read-only, as Docker shows it. Runtimes size
 * themselves from it: the JVM takes a quarter of memory.max (v2) or memory.limit_in_bytes (v1)
 * for its heap, and a quarter of the host's RAM when it finds no limit, which the kernel then
 * OOM-kills at the container's limit; .NET, Node and Go 1.25+ read the same files for their
 * heap and CPU count.
 *
 * Mounted in the container's cgroup namespace (init.c unshares it once the container is in
 * its cgroup), so the root of every mount is the container's own cgroup: nothing above or
 * beside it shows, and /proc/self/cgroup says "/" as in Docker. Only hierarchies in which the
 * container has a cgroup of its own are mounted: on v2 the unified one; on a v1 or hybrid
 * host those holding memory, pids and cpu, each in a read-only tmpfs under its controller
 * names, as runc lays them out, and cpuacct and cpuset, where cgroups.c gives it one for this
 * view only (the other v1 hierarchies would show the host's whole tree from its root: the
 * container is in the host's root cgroup there). Without a cgroup of its own (unprivileged
 * without a delegated subtree) nothing is mounted: the runtimes see the host, as they would
 * outside. Every mount is read-only, nosuid, nodev, noexec; the container has no
 * CAP_SYS_ADMIN to remount it, and the files belong to host root anyway. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define VIEW		"sys/fs/cgroup" /* below the container's root */
#define MAX_CGROUP_FILE (64u << 10)	/* /proc/self/cgroup: a dozen short lines */
#define MAX_CTL_LIST	128u		/* "cpu,cpuacct": longer lines are not ours */

static const uint64_t view_ro =
    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

/* A new filesystem as a detached mount: `kv` key=value pairs, then `flags` (both
 * comma-separated, either may be NULL). */
static int view_fs(const char *type, const char *kv, const char *flags, uint64_t attrs)
{
	cleanup_close int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	const char *lists[2] = {kv, flags};
	for (int l = 0; l < 2; l++) {
		char buf[MAX_CTL_LIST + 1], *save = NULL;
		if (!lists[l])
			continue;
		if (snprintf(buf, sizeof buf, "%s", lists[l]) >= (int)sizeof buf) {
			errno = E2BIG;
			return -1;
		}
		for (char *o = strtok_r(buf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			char *eq = l == 0 ? strchr(o, '=') : NULL;
			if (eq)
				*eq = 0;
			if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, o,
				     eq ? eq + 1 : NULL, 0) < 0)
				return -1;
		}
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return fsmount(fs, FSMOUNT_CLOEXEC, attrs);
}

static int view_attach(int mnt, int target)
{
	return move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* Whether the comma-separated `list` names controller `c`. */
static bool names(const char *list, size_t len, const char *c)
{
	size_t cl = strlen(c);
	for (const char *p = list; p < list + len;) {
		const char *comma = memchr(p, ',', (size_t)(list + len - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(list + len - p);
		if (n == cl && !memcmp(p, c, n))
			return true;
		p += n + 1;
	}
	return false;
}

/* One v1 hierarchy, `list` its controllers ("cpu,cpuacct"), at `list` in the tmpfs `dir`,
 * with a link per controller when there are several (cpu -> cpu,cpuacct), as runc does. */
static int mount_v1(int dir, const char *list)
{
	if (mkdirat(dir, list, 0755) < 0 && errno != EEXIST)
		return -1;
	cleanup_close int t = openat(dir, list, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_close int m = t < 0 ? -1 : view_fs("cgroup", NULL, list, view_ro);
	if (m < 0 || view_attach(m, t) < 0)
		return -1;
	if (!strchr(list, ','))
		return 0;
	char buf[MAX_CTL_LIST + 1], *save = NULL;
	snprintf(buf, sizeof buf, "%s", list);
	for (char *c = strtok_r(buf, ",", &save); c; c = strtok_r(NULL, ",", &save))
		if (symlinkat(list, dir, c) < 0 && errno != EEXIST)
			return -1;
	return 0;
}

/* v1: a tmpfs with the hierarchies of the controllers the container has a cgroup in. */
static int view_v1(const sbx_cgroup *cg, int target)
{
	cleanup_free char *self = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, "/proc/self/cgroup", MAX_CGROUP_FILE, false, &self, &len,
			     NULL) < 0)
		return -1;
	cleanup_close int dir = view_fs("tmpfs", "mode=0755,size=64k,nr_inodes=64", NULL,
					MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (dir < 0 || view_attach(dir, target) < 0)
		return -1;
	/* "ID:LIST:PATH" lines; PATH is "/" in our cgroup namespace for every hierarchy */
	for (char *line = self, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (!b || b == a + 1 || (size_t)(b - a - 1) > MAX_CTL_LIST || strcmp(b + 1, "/"))
			continue; /* the v2 line ("0::/"), or not a hierarchy rooted here */
		size_t n = (size_t)(b - a - 1);
		bool ours = (cg->memory[0] && names(a + 1, n, "memory")) ||
			    (cg->pids[0] && names(a + 1, n, "pids")) ||
			    (cg->cpu[0] && names(a + 1, n, "cpu")) ||
			    (cg->cpuacct[0] && names(a + 1, n, "cpuacct")) ||
			    (cg->cpuset[0] && names(a + 1, n, "cpuset"));
		if (!ours || memchr(a + 1, '=', n)) /* never a named one (name=systemd) */
			continue;
		*b = 0;
		if (mount_v1(dir, a + 1) < 0)
			return -1;
	}
	struct mount_attr ra = {.attr_set = view_ro};
	return mount_setattr(dir, "", AT_EMPTY_PATH, &ra, sizeof ra);
}

int sbx_cgroup_view(const sbx_ctx *ctx)
{
	cleanup_close int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* the sysfs we mounted, never the image's: no link is followed on the way */
	cleanup_close int t = root < 0 ? -1 : sbx_open_beneath(root, VIEW, O_PATH | O_DIRECTORY);
	if (t < 0 && errno == ENOENT)
		return 0; /* a kernel without cgroups has no limits to show */
	if (t < 0)
		return -1;
	if (ctx->cg.mode == SBX_CG_V2) {
		cleanup_close int m = view_fs("cgroup2", NULL, NULL, view_ro);
		return m < 0 ? -1 : view_attach(m, t);
	}
	if (ctx->cg.mode == SBX_CG_V1)
		return view_v1(&ctx->cg, t);
	/* no cgroup of its own: the fresh sysfs shows an empty directory, but the host's /sys
	 * bound for `net=host` carries the host's whole cgroup tree: hidden */
	if (ctx->spec->net != BWK_NET_HOST)
		return 0;
	cleanup_close int m = view_fs("tmpfs", "mode=0755", NULL, view_ro);
	return m < 0 ? -1 : view_attach(m, t);
}
