/* One mount of a spec, made the same way for `bulwark run` (an image: untrusted) and for
 * `create` (a bundle): the mount point, then the mount itself.
 *
 * The mount point's policy is the one difference between the two. An image is hostile: a
 * destination whose last component is a symbolic link in it is refused (mounting on it would
 * mount wherever it points, runc's CVE-2021-30465 class; a /proc link also switched the masks
 * off), as runc and crun refuse it for their own mounts. A bundle is the engine's: a link in
 * it is followed inside the root (an engine's /var/run → /run), as runc and crun do. Either
 * way nothing is resolved outside the root (rootpath.c) and everything after the lookup is
 * relative to the fd it returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/oci.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

/* Refusing links: the parent resolved in the root (and created), the last component opened
 * without following it and created by `dir` when missing. */
static int mountpoint_no_links(int rootfd, const char *path, bool dir, const char *role, char *why,
			       size_t len)
{
	char parent[PATH_MAX], name[NAME_MAX + 1];
	size_t l = strlen(path);
	while (l > 1 && path[l - 1] == '/')
		l--;
	if (l >= sizeof parent || path[0] != '/') {
		snprintf(why, len, "%s %s: not an absolute path of at most %d bytes", role, path,
			 PATH_MAX - 1);
		errno = EINVAL;
		return -1;
	}
	memcpy(parent, path, l);
	parent[l] = 0;
	char *slash = strrchr(parent, '/');
	if (strlen(slash + 1) >= sizeof name || !slash[1] || !strcmp(slash + 1, ".") ||
	    !strcmp(slash + 1, "..")) {
		snprintf(why, len,
			 "%s %s: not a mount point bulwark accepts (the root itself, \".\" or "
			 "\"..\" as last component)",
			 role, path);
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof name, "%s", slash + 1);
	*slash = 0;
	cleanup_close int pfd = sbx_mkpath_in_root(rootfd, parent[0] ? parent : "/", true);
	if (pfd < 0) {
		snprintf(why, len, "creating the parent directories of %s: %s", path,
			 strerror(errno));
		return -1;
	}
	int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		int f = dir ? mkdirat(pfd, name, 0755)
			    : openat(pfd, name,
				     O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f < 0 && errno != EEXIST) {
			snprintf(why, len, "creating mount point %s: %s", path, strerror(errno));
			return -1;
		}
		if (!dir && f >= 0)
			close(f);
		fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		snprintf(why, len, "opening mount point %s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		char to[PATH_MAX];
		ssize_t n = readlinkat(fd, "", to, sizeof to - 1);
		to[n < 0 ? 0 : n] = 0;
		close(fd);
		snprintf(why, len,
			 "%s %s is a symbolic link in the image (to %s): bulwark mounts on it and "
			 "never follows a link there; make it a %s in the image",
			 role, path, to, dir ? "directory" : "file");
		errno = ELOOP;
		return -1;
	}
	if (dir != S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(why, len, "%s %s is %s in the image: a %s is needed there", role, path,
			 dir ? "not a directory" : "a directory", dir ? "directory" : "file");
		errno = dir ? ENOTDIR : EISDIR;
		return -1;
	}
	return fd;
}

int sbx_mountpoint(int rootfd, const char *path, bool dir, sbx_mp_policy policy, const char *role,
		   char *why, size_t len)
{
	if (policy == SBX_MP_REFUSE_LINKS)
		return mountpoint_no_links(rootfd, path, dir, role, why, len);
	int fd = sbx_mkpath_in_root(rootfd, path, dir);
	if (fd < 0)
		snprintf(why, len, "%s %s: %s", role, path, strerror(errno));
	return fd;
}

/* ---- one spec mount ---- */

/* The per-mount attributes of MS_* flags, for fsmount and mount_setattr. The access-time
 * mode is one field (MOUNT_ATTR__ATIME): noatime wins over strictatime, relatime is 0. */
static uint64_t mount_attrs(unsigned long ms)
{
	static const struct {
		unsigned long ms;
		uint64_t attr;
	} map[] = {
	    {MS_RDONLY, MOUNT_ATTR_RDONLY},	    {MS_NOSUID, MOUNT_ATTR_NOSUID},
	    {MS_NODEV, MOUNT_ATTR_NODEV},	    {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
	    {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW},
	};
	uint64_t a = 0;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (ms & map[i].ms)
			a |= map[i].attr;
	if (ms & MS_NOATIME)
		a |= MOUNT_ATTR_NOATIME;
	else if (ms & MS_STRICTATIME)
		a |= MOUNT_ATTR_STRICTATIME;
	return a;
}

#define ATIME_FLAGS (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)

/* The spec's set and cleared flags on mount `fd` (AT_RECURSIVE when `rec`). A flag the user
 * namespace locked (nosuid, nodev … of a mount from a more privileged one) cannot be cleared:
 * it is kept, as the kernel's bind remount keeps it when asked again with it. */
static int set_flags(int fd, unsigned long set, unsigned long cleared, bool rec)
{
	struct mount_attr a = {.attr_set = mount_attrs(set),
			       .attr_clr = mount_attrs(cleared & ~(unsigned long)ATIME_FLAGS)};
	if ((set | cleared) & ATIME_FLAGS)
		a.attr_clr |= MOUNT_ATTR__ATIME;
	if (!a.attr_set && !a.attr_clr)
		return 0;
	unsigned at = AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0);
	if (mount_setattr(fd, "", at, &a, sizeof a) == 0)
		return 0;
	if (errno != EPERM || !a.attr_clr)
		return -1;
	a.attr_clr &= MOUNT_ATTR__ATIME;
	return mount_setattr(fd, "", at, &a, sizeof a);
}

static int attach(int mnt, int target)
{
	return move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

int sbx_new_fs(const char *type, const char *source, const char *data, unsigned long ms,
	       uint64_t attrs)
{
	data = data ? data : "";
	cleanup_close int fs = fsopen(type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	if (source && *source && fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return -1;
	char buf[BWK_OCI_MOUNT_DATA_MAX];
	size_t n = strlen(data);
	if (n >= sizeof buf) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf, data, n + 1);
	for (char *o = buf, *end; o && *o; o = end ? end + 1 : NULL) {
		end = strchr(o, ',');
		if (end)
			*end = 0;
		if (!*o)
			continue;
		char *eq = strchr(o, '=');
		if (eq)
			*eq = 0;
		if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, o,
			     eq ? eq + 1 : NULL, 0) < 0)
			return -1;
	}
	static const struct {
		unsigned long ms;
		const char *name;
	} sb[] = {
	    {MS_RDONLY, "ro"},
	    {MS_SYNCHRONOUS, "sync"},
	    {MS_DIRSYNC, "dirsync"},
	    {MS_MANDLOCK, "mand"},
	};
	for (size_t i = 0; i < sizeof sb / sizeof *sb; i++)
		if ((ms & sb[i].ms) && fsconfig(fs, FSCONFIG_SET_FLAG, sb[i].name, NULL, 0) < 0)
			return -1;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return -1;
	return fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)attrs);
}

/* A new filesystem for a spec mount: the superblock flags of `ms` through fsconfig and the
 * rest as mount attributes. -1 + errno where fsopen is unavailable or the filesystem refuses
 * something: the caller tries mount(2), whose answer then stands. */
static int fs_new(const char *type, const char *source, const char *data, unsigned long ms)
{
	return sbx_new_fs(type, source, data, ms, mount_attrs(ms));
}

static int say(const sbx_spec_mount_env *env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int say(const sbx_spec_mount_env *env, const char *fmt, ...)
{
	int e = errno;
	char buf[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	snprintf(env->why, env->whylen, "%s%s%s", buf, e ? ": " : "", e ? strerror(e) : "");
	errno = e;
	return -1;
}

/* A clone of the host's `path` (the whole tree when `rec`) attached on `t`, with the flags `f`
 * set on it. */
static int bind_host(const char *path, int t, bool rec, unsigned long f)
{
	cleanup_close int b = open_tree(
	    AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
	/* the flags on every mount of the clone: the host's /sys brings its cgroup hierarchies,
	 * securityfs … along, and a read-only /sys must not leave them writable */
	if (b < 0 || set_flags(b, f, 0, rec) < 0 || attach(b, t) < 0)
		return -1;
	return steal_fd(&b);
}

/* cgroup v1: a tmpfs with each hierarchy of the container's cgroup bound at DEST/CTRL, then
 * the spec's flags on the tmpfs and its binds, and the recursive r* options on the whole. */
static int cgroup_v1(int rootfd, const bwk_oci_mount *m, const bwk_oci_mount_opts *o,
		     const sbx_spec_mount_env *env)
{
	cleanup_close int t = sbx_mountpoint(rootfd, m->destination, true, env->policy, env->role,
					     env->why, env->whylen);
	if (t < 0)
		return -1;
	unsigned long f = (o->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT)) | MS_NOSUID |
			  MS_NODEV | MS_NOEXEC;
	cleanup_close int tmp =
	    fs_new("tmpfs", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (tmp < 0 || attach(tmp, t) < 0)
		return say(env, "mount tmpfs on %s", m->destination);
	for (size_t i = 0; i < env->n_cg_dirs; i++) {
		/* /sys/fs/cgroup/CTRL/… → DEST/CTRL */
		const char *d = env->cg_dirs[i] + strlen("/sys/fs/cgroup/");
		char ctrl[NAME_MAX + 1];
		snprintf(ctrl, sizeof ctrl, "%.*s", (int)strcspn(d, "/"), d);
		if (mkdirat(tmp, ctrl, 0755) < 0 && errno != EEXIST)
			return say(env, "mkdir %s/%s", m->destination, ctrl);
		cleanup_close int sub =
		    openat(tmp, ctrl, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int b = sub < 0 ? -1
					      : open_tree(AT_FDCWD, env->cg_dirs[i],
							  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (b < 0 || set_flags(b, f, 0, false) < 0 || attach(b, sub) < 0)
			return say(env, "bind %s on %s/%s", env->cg_dirs[i], m->destination, ctrl);
	}
	if (set_flags(tmp, f, o->cleared, false) < 0)
		return say(env, "remount %s", m->destination);
	return steal_fd(&tmp);
}

/* The mount's propagation and its recursive r* options, on the mount `mnt` made for it. */
static int finish(int mnt, const bwk_oci_mount *m, const bwk_oci_mount_opts *o,
		  const sbx_spec_mount_env *env)
{
	if (o->prop) {
		struct mount_attr p = {.propagation = o->prop & ~(unsigned long)MS_REC};
		if (mount_setattr(mnt, "", AT_EMPTY_PATH | (o->prop & MS_REC ? AT_RECURSIVE : 0),
				  &p, sizeof p) < 0)
			return say(env, "propagation of %s", m->destination);
	}
	/* rro, rnosuid …: the mount and every mount below it */
	struct mount_attr a = {.attr_set = o->rec_set, .attr_clr = o->rec_clr};
	if ((o->rec_set || o->rec_clr) &&
	    mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
		return say(env, "recursive options of %s%s", m->destination,
			   errno == ENOSYS ? " (mount_setattr, Linux 5.12 or later)" : "");
	return 0;
}

static int bind_mount(int rootfd, const bwk_oci_mount *m, const bwk_oci_mount_opts *o,
		      const sbx_spec_mount_env *env)
{
	const char *src = m->source ? m->source : "";
	unsigned rec = o->flags & MS_REC ? AT_RECURSIVE : 0;
	cleanup_close int own = -1;
	int tree = env->src;
	if (!env->src_is_mount) {
		own = env->src >= 0
			  ? open_tree(env->src, "",
				      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec)
			  : open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
		if (own < 0)
			return say(env, "bind mount %s on %s", src, m->destination);
		tree = own;
	}
	struct stat st;
	if (fstat(tree, &st) < 0)
		return say(env, "bind mount %s on %s", src, m->destination);
	cleanup_close int t = sbx_mountpoint(rootfd, m->destination, S_ISDIR(st.st_mode),
					     env->policy, env->role, env->why, env->whylen);
	if (t < 0)
		return -1;
	/* the flags asked for are set; one turned off by name (rw, suid, dev …) never loosens
	 * what the source has (runc and crun leave a bind of a read-only mount read-only) */
	if (set_flags(tree, o->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT), 0, false) <
	    0)
		return say(env, "remount %s", m->destination);
	if (attach(tree, t) < 0)
		return say(env, "bind mount %s on %s%s", src, m->destination,
			   env->src_is_mount ? " (idmapped)" : "");
	return own >= 0 ? steal_fd(&own) : fcntl(tree, F_DUPFD_CLOEXEC, 3);
}

static int new_mount(int rootfd, const bwk_oci_mount *m, const bwk_oci_mount_opts *o,
		     const char *type, const sbx_spec_mount_env *env)
{
	const char *src = m->source ? m->source : "";
	cleanup_close int t = sbx_mountpoint(rootfd, m->destination, true, env->policy, env->role,
					     env->why, env->whylen);
	if (t < 0)
		return -1;
	unsigned long f = o->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
	/* tmpcopyup (crun's): written before it is made read-only */
	bool copyup = o->tmpcopyup && !strcmp(type, "tmpfs");
	if (copyup)
		f &= ~(unsigned long)MS_RDONLY;
	cleanup_close int mnt = fs_new(type, src, o->data, f);
	if (mnt >= 0) {
		if (copyup && sbx_copyup(t, mnt, m->destination, env->copyup_keep_root, NULL) < 0)
			return say(env, "tmpcopyup of %s", m->destination);
		if (attach(mnt, t) < 0)
			return say(env, "mount %s (%s) on %s", src, type, m->destination);
	} else {
		/* fsopen unavailable, or refused by this filesystem: mount(2) on the mount point
		 * we opened, and its answer */
		char target[64];
		snprintf(target, sizeof target, "/proc/self/fd/%d", t);
		if (mount(src, target, type, f, o->data[0] ? o->data : NULL) == 0) {
			mnt = sbx_open_in_root(rootfd, m->destination, O_PATH);
			if (mnt < 0)
				return say(env, "reopening %s", m->destination);
			if (copyup &&
			    sbx_copyup(t, mnt, m->destination, env->copyup_keep_root, NULL) < 0)
				return say(env, "tmpcopyup of %s", m->destination);
		} else if (!strcmp(type, "sysfs") && (errno == EPERM || errno == EBUSY)) {
			/* a user namespace without its own network namespace: the host's */
			if ((mnt = bind_host("/sys", t, true, f | MS_RDONLY)) < 0)
				return say(env, "bind /sys on %s", m->destination);
		} else if (!strcmp(type, "mqueue") && errno == EPERM) {
			if ((mnt = bind_host("/dev/mqueue", t, false, f)) < 0)
				return say(env, "bind /dev/mqueue on %s", m->destination);
		} else {
			return say(env, "mount %s (%s) on %s", src, type, m->destination);
		}
	}
	if (copyup && (o->flags & MS_RDONLY) && set_flags(mnt, MS_RDONLY, 0, false) < 0)
		return say(env, "making %s read-only", m->destination);
	return steal_fd(&mnt);
}

int sbx_spec_mount(int rootfd, const bwk_oci_mount *m, const bwk_oci_mount_opts *o,
		   const sbx_spec_mount_env *env)
{
	const char *type = m->type ? m->type : "";
	if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
		if (env->cg_v1 && !o->bind) {
			cleanup_close int mnt = cgroup_v1(rootfd, m, o, env);
			if (mnt < 0 || finish(mnt, m, o, env) < 0)
				return -1;
			return steal_fd(&mnt);
		}
		type = "cgroup2";
	}
	cleanup_close int mnt = o->bind || env->src_is_mount ? bind_mount(rootfd, m, o, env)
							     : new_mount(rootfd, m, o, type, env);
	if (mnt < 0 || finish(mnt, m, o, env) < 0)
		return -1;
	return steal_fd(&mnt);
}
