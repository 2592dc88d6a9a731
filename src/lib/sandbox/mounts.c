/* The container's filesystem, built inside its own mount namespace: an overlay of read-only
 * lowers with a tmpfs upper (mount points, and the writes of --read-write, vanish at exit),
 * /proc with masked and read-only paths, read-only /sys, a minimal /dev, size-limited tmpfs
 * on /tmp and /run, bind mounts and secrets; then pivot_root with the old root detached.
 *
 * The image is hostile input. Every path inside it is resolved inside its root (rootpath.c:
 * openat2 RESOLVE_IN_ROOT, or a checked fallback) and everything after that is fd-relative:
 * mount points are opened without following their last component (an image whose /dev,
 * /proc, /tmp or volume destination is a symlink is refused: mounting on it would mount
 * wherever it points, CVE-2021-30465 class), new filesystems come from fsopen/fsmount so
 * that /dev is populated and /proc, /sys masked through the fd of the mount we made, and
 * binds are open_tree clones attached with move_mount. No name built from the image is ever
 * handed to a path system call. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define STAGE "/tmp" /* host /tmp, shadowed by a tmpfs in our namespace only */

/* The child between fork and exec: its stderr is the container's, the one channel left to it
 * (as runc's and crun's init), so it writes there rather than to the output handler of
 * bulwark/log.h, which belongs to the parent. */
void sbx_child_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	/* started on the line above: clang 14's analyzer loses that when it reaches this through
	 * host_sys_entries()'s recursion */
	vsnprintf(buf, sizeof buf, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	dprintf(2, "bulwark: %s\n", buf);
}

static int fail(const char *what, const char *path)
{
	sbx_child_error("%s %s: %s", what, path, strerror(errno));
	return -1;
}

static const char *fdpath(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

static int attach(int mnt, int target)
{
	return move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int set_attr_fd(int fd, uint64_t set, bool recursive)
{
	struct mount_attr a = {.attr_set = set};
	return mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

/* A new filesystem with mount attributes only (sbx_new_fs) */
static int new_fs(const char *type, const char *opts, uint64_t attrs)
{
	return sbx_new_fs(type, NULL, opts, 0, attrs);
}

int sbx_bind_fd(int src, int dst, bool recursive, uint64_t attrs)
{
	unsigned rec = recursive ? AT_RECURSIVE : 0;
	cleanup_close int m =
	    open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
	if (m < 0 || (attrs && set_attr_fd(m, attrs, recursive) < 0))
		return -1;
	return attach(m, dst);
}

/* The mount point PATH inside the root, links refused (spec_mount.c sbx_mountpoint): the
 * image is untrusted. Returns an O_PATH fd, or -1 after saying why. */
static int mountpoint(int rootfd, const char *path, bool dir, const char *role)
{
	char why[PATH_MAX + 256];
	int fd = sbx_mountpoint(rootfd, path, dir, SBX_MP_REFUSE_LINKS, role, why, sizeof why);
	if (fd < 0)
		sbx_child_error("%s", why);
	return fd;
}

/* A new filesystem on directory PATH of the root; returns the mount (see new_fs). */
static int mount_fs(int rootfd, const char *path, const char *type, const char *opts,
		    uint64_t attrs)
{
	cleanup_close int t = mountpoint(rootfd, path, true, "mount point");
	if (t < 0)
		return -1;
	cleanup_close int m = new_fs(type, opts, attrs);
	if (m < 0 || attach(m, t) < 0)
		return fail("mounting", path);
	return steal_fd(&m);
}

/* A tmpfs on directory PATH of the root, first given a copy of the image's content there when
 * `copy` (copyup.c; with `keep_root` its root also takes that directory's owner and mode), then
 * attached: the container never sees it half filled. Returns the mount. */
static int mount_tmpfs(int rootfd, const char *path, const char *opts, uint64_t attrs, bool copy,
		       bool keep_root, const char *skip)
{
	cleanup_close int t = mountpoint(rootfd, path, true, "mount point");
	if (t < 0)
		return -1;
	cleanup_close int m = new_fs("tmpfs", opts, attrs);
	if (m < 0)
		return fail("mounting", path);
	if (copy && sbx_copyup(t, m, path, keep_root, skip) < 0)
		return -1;
	if (attach(m, t) < 0)
		return fail("mounting", path);
	return steal_fd(&m);
}

/* Stage 1 of the spec's own mounts, through the builder `create` uses (spec_mount.c), with
 * the image's links refused: proc, sysfs, /dev (devpts, /dev/shm), then the spec's other tmpfs
 * mounts (anonymous volumes, --tmpfs), before the binds so that a bind inside one lands in it.
 * Returns the mount made. */
static int spec_mount(int rootfd, const bwk_oci_mount *m, const char *role, int src,
		      bool src_is_mount, bool keep_root)
{
	if (!m) {
		sbx_child_error("container spec: a mount without its spec mount "
				"(bwk_oci_spec_lower() gives it)");
		return -1;
	}
	bwk_oci_mount_opts o;
	bwk_error *e = NULL;
	if (bwk_oci_mount_opts_parse(m, 0, &o, &e) < 0) {
		sbx_child_error("%s", e->msg);
		bwk_error_free(e);
		return -1;
	}
	char why[PATH_MAX + 512];
	sbx_spec_mount_env env = {.policy = SBX_MP_REFUSE_LINKS,
				  .role = role,
				  .src = src,
				  .src_is_mount = src_is_mount,
				  .copyup_keep_root = keep_root,
				  .why = why,
				  .whylen = sizeof why};
	int fd = sbx_spec_mount(rootfd, m, &o, &env);
	if (fd < 0)
		sbx_child_error("%s", why);
	return fd;
}

static int setup_tmpfs(const sbx_ctx *ctx, int rootfd)
{
	const bwk_container_spec *s = ctx->spec;
	for (size_t i = 0; i < s->ntmpfs; i++) {
		cleanup_close int m =
		    spec_mount(rootfd, s->tmpfs[i].mount, "mount point", -1, false, true);
		if (m < 0)
			return -1;
	}
	return 0;
}

/* One of the spec's proc, sysfs or /dev mounts (bwk_container_spec.std_mounts). */
static int std_mount(const sbx_ctx *ctx, int rootfd, int k)
{
	return spec_mount(rootfd, ctx->spec->std_mounts[k], "mount point", -1, false, false);
}

/* Docker's masked paths plus kernel address and page-state leaks, relative to the proc and
 * sysfs we mount (never to a name in the image: a /proc link there once switched them off). */
static const char *const proc_masked[] = {
    "acpi",	   "asound",	  "interrupts",	 "kcore",	"keys",	    "latency_stats",
    "sched_debug", "scsi",	  "timer_list",	 "timer_stats", "kallsyms", "kpagecount",
    "kpageflags",  "kpagecgroup", "vmallocinfo", "config.gz",	"kmsg",
};
static const char *const sys_masked[] = {
    "firmware",	       "devices/virtual/powercap", "kernel/debug",
    "kernel/security", "kernel/tracing",	   "fs/bpf",
};
static const char *const proc_readonly[] = {"bus", "fs", "irq", "sys", "sysrq-trigger"};

int sbx_mask_at(int t, int devnull, int *empty)
{
	struct stat st;
	if (fstat(t, &st) < 0)
		return -1;
	const uint64_t ro =
	    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	if (S_ISDIR(st.st_mode) && *empty >= 0) {
		/* a clone of the one made for the first: one system call, no new superblock
		 * (crun's way); read-only and empty, it is never written */
		cleanup_close int m =
		    open_tree(*empty, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		return m < 0 ? -1 : attach(m, t);
	}
	if (S_ISDIR(st.st_mode)) {
		/* attached first: a detached mount cannot be cloned before Linux 6.15. Full from
		 * the start (its root is its one inode, 4 KiB): shared by every masked directory,
		 * and size=0 would mean no limit, a remount read-write must find no room */
		cleanup_close int m = new_fs("tmpfs", "size=4k,nr_inodes=1,mode=0", ro);
		if (m < 0 || attach(m, t) < 0)
			return -1;
		*empty = steal_fd(&m);
		return 0;
	}
	/* a device node on a nodev mount reads as EACCES; Docker's masks read empty */
	return sbx_bind_fd(devnull, t, false, ro & ~(uint64_t)MOUNT_ATTR_NODEV);
}

int sbx_readonly_at(int t, bool recursive)
{
	const uint64_t ro =
	    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	if (sbx_bind_fd(t, t, recursive, ro) == 0)
		return 0;
	return sbx_bind_fd(t, t, recursive, MOUNT_ATTR_RDONLY);
}

/* Hide `rel` of the filesystem mounted at `fs` (named `fsname` in messages); `empty` as for
 * sbx_mask_at. */
static int mask_in(int fs, const char *fsname, const char *rel, int devnull, int *empty)
{
	cleanup_close int t = sbx_open_beneath(fs, rel, O_PATH);
	if (t < 0 && errno == ENOENT)
		return 0; /* absent from the proc/sysfs we mounted: this kernel has none */
	if (t < 0 || sbx_mask_at(t, devnull, empty) < 0) {
		sbx_child_error("masking %s/%s: %s", fsname, rel, strerror(errno));
		return -1;
	}
	return 0;
}

static int readonly_in(int fs, const char *fsname, const char *rel)
{
	cleanup_close int t = sbx_open_beneath(fs, rel, O_PATH);
	if (t < 0 && errno == ENOENT)
		return 0;
	if (t < 0 || sbx_readonly_at(t, false) < 0) {
		sbx_child_error("making %s/%s read-only: %s", fsname, rel, strerror(errno));
		return -1;
	}
	return 0;
}

/* The spec's proc, then run's masks inside it, through its fd. */
static int mount_proc(const sbx_ctx *ctx, int rootfd, int devnull, int *empty)
{
	cleanup_close int proc = std_mount(ctx, rootfd, BWK_STD_PROC);
	if (proc < 0)
		return -1;
	for (size_t i = 0; i < sizeof proc_masked / sizeof *proc_masked; i++)
		if (mask_in(proc, "/proc", proc_masked[i], devnull, empty) < 0)
			return -1;
	for (size_t i = 0; i < sizeof proc_readonly / sizeof *proc_readonly; i++)
		if (readonly_in(proc, "/proc", proc_readonly[i]) < 0)
			return -1;
	return 0;
}

/* The entries of the host's sysfs directory `host` into the tmpfs directory `dst`, each
 * cloned alone. The host's submounts are left out, their mount points empty: above all its
 * cgroup hierarchies under /sys/fs/cgroup, which /proc/self/mountinfo would otherwise list
 * below the container's own view (cgroup_view.c) and which the JVM takes for the container's
 * (its cgroup v1 detection then fails). A directory with submounts below it cannot be cloned
 * alone (EINVAL: they are locked to it in our user namespace): its own entries are, `depth`
 * levels down (/sys/fs, /sys/kernel). */
static int host_sys_entries(int host, int dst, int depth)
{
	cleanup_dir DIR *d = fdopendir(fcntl(host, F_DUPFD_CLOEXEC, 3));
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct statx sx;
		if (statx(host, e->d_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) < 0)
			continue; /* gone meanwhile */
		bool dir = S_ISDIR(sx.stx_mode);
		if (S_ISLNK(sx.stx_mode)) {
			char to[PATH_MAX];
			ssize_t n = readlinkat(host, e->d_name, to, sizeof to - 1);
			if (n < 0)
				continue;
			to[n] = 0;
			if (symlinkat(to, dst, e->d_name) < 0)
				return -1;
			continue;
		}
		cleanup_close int f =
		    dir ? -1
			: openat(dst, e->d_name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
		if (dir ? mkdirat(dst, e->d_name, 0755) < 0 : f < 0)
			return -1;
		if (sx.stx_attributes_mask & sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)
			continue; /* a submount of the host's: left out */
		cleanup_close int t = openat(dst, e->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int m =
		    t < 0 ? -1
			  : open_tree(host, e->d_name,
				      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
		if (m >= 0) {
			if (attach(m, t) < 0)
				return -1;
			continue;
		}
		if (t < 0 || errno != EINVAL || !dir || depth == 0)
			return -1;
		cleanup_close int sub =
		    openat(host, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		cleanup_close int into =
		    openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0 || into < 0 || host_sys_entries(sub, into, depth - 1) < 0)
			return -1;
	}
	return 0;
}

static int mount_sys(const sbx_ctx *ctx, int rootfd, int devnull, int *empty)
{
	const uint64_t ro =
	    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	cleanup_close int sys = -1;
	if (ctx->spec->net == BWK_NET_HOST) {
		/* sysfs of a network namespace we do not own cannot be mounted: the host's
		 * entries (the host's /sys, not the image's), without its submounts, then made
		 * read-only. run's own: sbx_spec_mount's fallback binds the host's whole /sys,
		 * its cgroup hierarchies with it (create's, as runc's) */
		sys = mount_fs(rootfd, "/sys", "tmpfs", "mode=0755,size=64k", 0);
		cleanup_close int host =
		    sys < 0 ? -1 : open("/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (host < 0 || host_sys_entries(host, sys, 1) < 0 ||
		    set_attr_fd(sys, ro, true) < 0)
			return fail("binding the host's sysfs on", "/sys");
	} else {
		sys = std_mount(ctx, rootfd, BWK_STD_SYS);
		if (sys < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof sys_masked / sizeof *sys_masked; i++)
		if (mask_in(sys, "/sys", sys_masked[i], devnull, empty) < 0)
			return -1;
	return 0;
}

/* The spec's /dev, devpts and /dev/shm, then the usual nodes bound from the host, created
 * relative to the new tmpfs itself, whatever /dev is in the image. Returns it. */
static int setup_dev(const sbx_ctx *ctx, int rootfd)
{
	cleanup_close int dev = std_mount(ctx, rootfd, BWK_STD_DEV);
	cleanup_close int pts = dev < 0 ? -1 : std_mount(ctx, rootfd, BWK_STD_DEVPTS);
	cleanup_close int shm = pts < 0 ? -1 : std_mount(ctx, rootfd, BWK_STD_SHM);
	if (shm < 0)
		return -1;
	char why[256];
	if (sbx_dev_standard(dev, true, why, sizeof why) < 0) {
		sbx_child_error("%s", why);
		return -1;
	}
	return steal_fd(&dev);
}

static int setup_binds(const sbx_ctx *ctx, const int *own, int rootfd)
{
	const bwk_container_spec *s = ctx->spec;
	for (size_t i = 0; i < s->nbinds; i++) {
		/* the source the parent opened and checked: a detached mount it prepared, or our
		 * own fd for it (reopen_checked) */
		int src = ctx->detached ? ctx->mnt_fds[ctx->nlowers + i] : own[ctx->nlowers + i];
		/* unprivileged `chown` (U): from inside, where the caller's files are root's */
		if (s->binds[i].chown && !ctx->is_root &&
		    sbx_volume_chown_child(ctx, rootfd, i, ctx->detached ? ctx->bind_fds[i] : src) <
			0)
			return -1;
		cleanup_close int m = spec_mount(rootfd, s->binds[i].mount, "volume destination",
						 src, ctx->detached, false);
		if (m < 0)
			return -1;
	}
	return 0;
}

static int setup_secrets(const sbx_ctx *ctx, int rootfd)
{
	const bwk_container_spec *s = ctx->spec;
	if (!s->nsecrets)
		return 0;
	cleanup_close int dir = mount_fs(rootfd, "/run/secrets", "tmpfs", "mode=0755,size=4m",
					 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (dir < 0)
		return -1;
	for (size_t i = 0; i < s->nsecrets; i++) {
		cleanup_close int f =
		    openat(dir, s->secrets[i].name,
			   O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (f < 0 || write(f, ctx->secret_data[i], ctx->secret_len[i]) !=
				 (ssize_t)ctx->secret_len[i])
			return fail("writing secret", s->secrets[i].name);
	}
	if (set_attr_fd(dir, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false) < 0)
		return fail("making read-only", "/run/secrets");
	return 0;
}

static int mount_rootfs(const sbx_ctx *ctx, const int *own, const char *root, bool *overlay)
{
	const bwk_container_spec *s = ctx->spec;
	char opts[8192], p[PATH_MAX];
	size_t off = (size_t)snprintf(opts, sizeof opts, "lowerdir=");
	for (size_t i = ctx->nlowers; i-- > 0;) {
		snprintf(p, sizeof p, STAGE "/l%zu", i);
		if (mkdir(p, 0700) < 0)
			return fail("creating", p);
		char src[64];
		if (ctx->detached) {
			if (move_mount(ctx->mnt_fds[i], "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) <
			    0)
				return fail("attaching layer", p);
		} else if (mount(fdpath(src, sizeof src, own[i]), p, NULL, MS_BIND, NULL) < 0) {
			return fail("binding layer", ctx->lower_paths[i]);
		}
		off += (size_t)snprintf(opts + off, sizeof opts - off, "%s%s",
					i == ctx->nlowers - 1 ? "" : ":", p);
		if (!ctx->detached && ctx->lower_masks && ctx->lower_masks[i]) {
			/* this layer's deletions, directly below it */
			snprintf(p, sizeof p, STAGE "/m%zu", i);
			if (mkdir(p, 0755) < 0)
				return fail("creating", p);
			cleanup_close int m = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (m < 0 || sbx_mask_build(ctx->lower_masks[i], m, own, i) < 0)
				return fail("applying the whiteouts of", ctx->lower_paths[i]);
			off += (size_t)snprintf(opts + off, sizeof opts - off, ":%s", p);
		}
		if (off >= sizeof opts) {
			errno = E2BIG;
			return fail("too many layers for", "overlay");
		}
	}
	snprintf(opts + off, sizeof opts - off,
		 ",upperdir=" STAGE "/upper,workdir=" STAGE "/work,userxattr");
	if (mkdir(STAGE "/upper", 0755) < 0 || mkdir(STAGE "/work", 0700) < 0 ||
	    mkdir(root, 0755) < 0)
		return fail("creating", STAGE);
	if (mount("overlay", root, "overlay", 0, opts) == 0) {
		*overlay = true;
		return 0;
	}
	/* No overlay (nested overlayfs, old kernel): a single directory is bound read-only as it
	 * is; mount points it lacks are skipped. */
	int saved = errno;
	if (ctx->nlowers == 1 && !s->read_write) {
		snprintf(p, sizeof p, STAGE "/l0");
		if (mount(p, root, NULL, MS_BIND, NULL) == 0) {
			*overlay = false;
			return 0;
		}
	}
	errno = saved;
	return fail("mounting the overlay root at", root);
}

/* The child's own fd for a source the host side opened and checked: by the same canonical
 * name, without following any link, and only if it is still the very object the host side
 * checked (a volume path renamed to a link to /proc in between is refused, not mounted). */
static int reopen_checked(const char *path, int checked, bool dir)
{
	cleanup_close int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd =
	    slash < 0 ? -1 : sbx_open_beneath(slash, path + 1, O_PATH | (dir ? O_DIRECTORY : 0));
	struct stat a, b;
	if (fd < 0 || fstat(fd, &a) < 0 || fstat(checked, &b) < 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		return fail("opening", path);
	}
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		sbx_child_error("%s changed while the container was starting (replaced by "
				"another file or a link): refusing it",
				path);
		return -1;
	}
	return fd;
}

int sbx_mounts_setup(const sbx_ctx *ctx)
{
	const bwk_container_spec *s = ctx->spec;
	/* nothing we mount may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("making mounts private", "/");
	/* Without detached mounts from the host side, the sources are opened again here, in our
	 * namespace (a mount of the parent's cannot be cloned from this one) and before the
	 * staging tmpfs can hide them (they may live under /tmp). */
	int own[160] = {0}; /* filled below when !detached (for the analyzers: never read else) */
	size_t nown = 0;
	for (; !ctx->detached && nown < ctx->nlowers + s->nbinds; nown++) {
		bool layer = nown < ctx->nlowers;
		size_t j = layer ? nown : nown - ctx->nlowers;
		own[nown] = reopen_checked(layer ? ctx->lower_paths[j] : ctx->bind_paths[j],
					   layer ? ctx->lower_fds[j] : ctx->bind_fds[j], layer);
		if (own[nown] < 0)
			return -1;
	}
	cleanup_close int devnull = sbx_host_device("/dev/null", S_IFCHR, 1, 3);
	if (devnull < 0)
		return fail("the host's", "/dev/null");
	char stage_opts[64];
	/* the upper layer lives here: with read_write or writable_var, the container's writes
	 * (writable_size) */
	snprintf(stage_opts, sizeof stage_opts, "mode=0700,size=%llu",
		 (unsigned long long)(s->read_write || s->writable_var ? s->writable_size
								       : ctx->tmpfs_size));
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, stage_opts) < 0)
		return fail("mounting staging tmpfs on", STAGE);
	const char *root = STAGE "/root";
	bool overlay = false;
	if (mount_rootfs(ctx, own, root, &overlay) < 0)
		return -1;
	cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail("opening", root);

	/* one empty read-only tmpfs for every masked directory (sbx_mask_at) */
	cleanup_close int empty = -1;
	if (mount_proc(ctx, rootfd, devnull, &empty) < 0 ||
	    mount_sys(ctx, rootfd, devnull, &empty) < 0)
		return -1;
	cleanup_close int dev = setup_dev(ctx, rootfd);
	if (dev < 0)
		return -1;
	char opts[128];
	snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)ctx->tmpfs_size);
	/* with the image's content there (its /run/postgresql, /run/sshd …); /tmp keeps 1777 */
	cleanup_close int tmp = mount_tmpfs(
	    rootfd, "/tmp", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, true, false, NULL);
	if (tmp < 0)
		return -1;
	snprintf(opts, sizeof opts, "mode=0755,size=%llu", (unsigned long long)ctx->tmpfs_size / 4);
	cleanup_close int run = mount_tmpfs(
	    rootfd, "/run", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, true,
	    true, s->nsecrets ? "secrets" : NULL);
	if (run < 0)
		return -1;
	/* /var's state directories (varfs.c): before the tmpfs and binds, which land on them */
	if (overlay && sbx_varfs_setup(s, rootfd) < 0)
		return -1;
	if (setup_tmpfs(ctx, rootfd) < 0 || setup_binds(ctx, own, rootfd) < 0 ||
	    setup_secrets(ctx, rootfd) < 0)
		return -1;
	if (set_attr_fd(dev, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false) < 0)
		return fail("making read-only", "/dev");
	if (s->net == BWK_NET_SLIRP || s->net == BWK_NET_BRIDGE) {
		/* slirp4netns' or pasta's DNS forwarder; on a root bridge the host's servers by
		 * Docker's rules (net_dns.c). Bound read-only over the image's file (created in
		 * the upper layer when missing); the image itself is never written */
		static char ns[4096] = "nameserver 10.0.2.3\n";
		size_t nl =
		    s->net == BWK_NET_BRIDGE && ctx->is_root
			? sbx_dns_resolv_conf(SBX_HOST_RESOLV, SBX_RESOLVED_RESOLV, ns, sizeof ns)
			: strlen(ns);
		cleanup_close int stage = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);
		cleanup_close int f =
		    stage < 0 ? -1
			      : openat(stage, "resolv.conf",
				       O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		/* a link in the image is followed inside the root, as Docker does for its own
		 * files */
		cleanup_close int t = sbx_mkpath_in_root(rootfd, "/etc/resolv.conf", false);
		if (f < 0 || write(f, ns, nl) != (ssize_t)nl || t < 0 ||
		    sbx_bind_fd(f, t, false,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) < 0)
			sbx_child_error("warning: cannot provide /etc/resolv.conf (%s): name "
					"resolution may fail",
					strerror(errno));
	}
	if (s->cwd && s->cwd[0]) {
		cleanup_close int w = sbx_mkpath_in_root(rootfd, s->cwd, true);
		(void)w; /* missing and uncreatable: chdir reports it after the switch */
	}
	uint64_t rattr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (!s->read_write)
		rattr |= MOUNT_ATTR_RDONLY;
	if (set_attr_fd(rootfd, rattr, false) < 0)
		return fail("making the root read-only", root);

	const char *step = NULL;
	if (sbx_pivot(rootfd, &step) < 0)
		return fail(step, root);
	return 0;
}

int sbx_pivot(int rootfd, const char **step)
{
	/* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no
	 * path to the host's filesystem (made a slave first: an unmount never propagates back
	 * to the host's mounts it came from) */
	*step = "pivot_root to";
	if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return -1;
	*step = "detaching the old root from";
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		return -1;
	return 0;
}
