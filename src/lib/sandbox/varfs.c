/* /var's state directories writable under the read-only root (issue #18): a server image
 * expects to write its logs, state and caches there (Debian's nginx opens /var/log/nginx and
 * /var/lib/nginx at start and exits without them; apache2 /var/log/apache2; dpkg, apt, cron,
 * postfix …), and Docker gives it its whole writable layer. bulwark keeps the code and the
 * configuration read-only (/usr, /bin, /lib, /etc, /var/www, /var/mail and the rest of the
 * root) and makes only these directories writable, their writes discarded at exit.
 *
 * How: the root is an overlay whose upper is already on the staging tmpfs (mounts.c), and
 * read-only only through its mount's MOUNT_ATTR_RDONLY. Each directory here becomes a clone of
 * the root mount's own subtree at that path, attached over it without that flag: writes land
 * in the same upper (overlayfs copies a file up when it is first written, O(1) at start: no
 * copy of the image's files, no second overlay), bounded by the staging tmpfs's size
 * (writable_size). A clone gives no way out of its subtree: ".." at its root leads into the
 * read-only root mount, and link() and rename() across mounts fail with EXDEV. A second
 * overlay per directory (lowerdir the root's directory) would cost a superblock each and
 * stack one level deeper than the kernel allows (FILESYSTEM_MAX_STACK_DEPTH 2) when root hands
 * the layers over as one merged overlay (run.c).
 *
 * Without an overlay root (mounts.c's fallback binds a single directory of the host as it is)
 * a writable clone would write into that host directory: nothing is made writable then. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

/* The set, once: the FHS's variable state, not its code or the data a site serves. */
static const char *const var_state[] = {
    "/var/cache", /* data an application can rebuild: apt's, fontconfig's, nginx's proxy cache */
    "/var/lib",	  /* a service's state: nginx's request bodies, dpkg's and apt's, a database's */
    "/var/log",	  /* logs, which nginx, apache2 and most daemons open at start or refuse to run */
    "/var/spool", /* queues: cron, at, mail and print jobs */
    "/var/tmp",	  /* the temporary files the FHS keeps apart from /tmp (large or longer-lived) */
};
/* Left read-only on purpose: /var/www (the site a server serves: code), /var/mail (a user's
 * mailbox, not a container's), /var/opt, /var/backups. /var/run and /var/lock are links into
 * /run in Debian's images, a tmpfs already. */

/* `path` is `top` or below it, component by component: either may repeat or end in slashes
 * (a volume's destination is the user's spelling). */
static bool within(const char *path, const char *top)
{
	for (;;) {
		while (*top == '/')
			top++;
		while (*path == '/')
			path++;
		size_t n = strcspn(top, "/"), m = strcspn(path, "/");
		if (!n)
			return true;
		if (n != m || strncmp(path, top, n))
			return false;
		top += n;
		path += m;
	}
}

bool sbx_varfs_holds(const char *path)
{
	for (size_t i = 0; path[0] == '/' && i < sizeof var_state / sizeof *var_state; i++)
		if (within(path, var_state[i]))
			return true;
	return false;
}

/* A tmpfs or bind of the spec's at `dir` or above it takes its place (mounted later, on top
 * anyway: this only spares a clone nobody would see). */
static bool replaced(const bwk_container_spec *s, const char *dir)
{
	for (size_t i = 0; i < s->ntmpfs; i++)
		if (s->tmpfs[i].dst && within(dir, s->tmpfs[i].dst))
			return true;
	for (size_t i = 0; i < s->nbinds; i++)
		if (s->binds[i].dst && within(dir, s->binds[i].dst))
			return true;
	return false;
}

/* `t`'s subtree of the root mount cloned and attached over it, writable. */
static int writable_clone(int t)
{
	cleanup_close int m = open_tree(t, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
			       .attr_clr = MOUNT_ATTR_RDONLY};
	if (m < 0 || mount_setattr(m, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		return -1;
	return move_mount(m, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int sbx_varfs_setup(const bwk_container_spec *s, int rootfd)
{
	if (!s->writable_var || s->read_write)
		return 0;
	for (size_t i = 0; i < sizeof var_state / sizeof *var_state; i++) {
		const char *dir = var_state[i];
		if (replaced(s, dir))
			continue;
		/* the image's own directory, no link followed on the way (a /var/log that is a
		 * link elsewhere stays as it is: read-only, or wherever it leads) */
		cleanup_close int t = sbx_open_beneath(rootfd, dir + 1, O_PATH | O_DIRECTORY);
		if (t < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
			continue;
		if (t < 0 || writable_clone(t) < 0) {
			sbx_child_error("making the image's %s writable: %s", dir, strerror(errno));
			return -1;
		}
	}
	return 0;
}
