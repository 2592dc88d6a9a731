/* The container's filesystem, built inside its own mount namespace: an overlay of read-only
 * lowers with a tmpfs upper (mount points, and the writes of --read-write, vanish at exit),
 * /proc with masked and read-only paths, read-only /sys, a minimal /dev, size-limited tmpfs
 * on /tmp and /run, bind mounts and secrets; then pivot_root with the old root detached.
 *
 * Every path inside the image is resolved with openat2(RESOLVE_IN_ROOT) and mounted on the
 * resulting /proc/self/fd/N, so an image symlink (/tmp -> /etc on the host) cannot redirect
 * a mount outside the root (CVE-2021-30465 class). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
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

void sbx_child_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	dprintf(2, "bulwark: %s\n", buf);
}

static int fail(const char *what, const char *path)
{
	sbx_child_error("%s %s: %s", what, path, strerror(errno));
	return -1;
}

static int openat2_in(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .mode = mode,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* mkdir -p PATH inside the root; returns an O_PATH fd to it. */
static int mkdir_in_root(int rootfd, const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = openat2_in(rootfd, buf, O_PATH | O_DIRECTORY, 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		cleanup_close int d = openat2_in(rootfd, buf, O_PATH | O_DIRECTORY, 0);
		if (d < 0 && errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			*slash = 0;
			cleanup_close int parent =
			    openat2_in(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY, 0);
			*slash = '/';
			if (parent < 0 || (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST))
				return -1;
		} else if (d < 0) {
			return -1;
		}
		*p = c;
		if (!c)
			break;
	}
	return openat2_in(rootfd, buf, O_PATH | O_DIRECTORY, 0);
}

/* An empty regular file as a mount point for a file bind mount. */
static int mkfile_in_root(int rootfd, const char *path)
{
	int fd = openat2_in(rootfd, path, O_PATH, 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = 0;
	cleanup_close int parent = mkdir_in_root(rootfd, dir[0] ? dir : "/");
	if (parent < 0)
		return -1;
	char pp[64];
	snprintf(pp, sizeof pp, "/proc/self/fd/%d", parent);
	cleanup_close int dfd = open(pp, O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int f = openat(dfd, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (f < 0 && errno != EEXIST)
		return -1;
	if (f >= 0)
		close(f);
	return openat2_in(rootfd, path, O_PATH, 0);
}

static const char *fdpath(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

static int set_attr(const char *path, uint64_t set, bool recursive)
{
	struct mount_attr a = {.attr_set = set};
	return mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a, sizeof a);
}

/* Attributes of the mount now sitting on `path` inside the root: the O_PATH fd used to mount
 * still names the covered inode, so resolve the path again. */
static int attr_in_root(int rootfd, const char *path, uint64_t set)
{
	cleanup_close int fd = openat2_in(rootfd, path, O_PATH, 0);
	if (fd < 0)
		return -1;
	struct mount_attr a = {.attr_set = set};
	return mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a);
}

static int mount_in(int rootfd, const char *dst, const char *src, const char *type,
		    unsigned long flags, const char *data)
{
	cleanup_close int t = mkdir_in_root(rootfd, dst);
	if (t < 0)
		return fail("creating mount point", dst);
	char p[64];
	if (mount(src, fdpath(p, sizeof p, t), type, flags, data) < 0)
		return fail("mounting", dst);
	return 0;
}

/* Docker's masked paths plus kernel address and page-state leaks. */
static const char *const masked[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/kallsyms",
    "/proc/kpagecount",
    "/proc/kpageflags",
    "/proc/kpagecgroup",
    "/proc/vmallocinfo",
    "/proc/config.gz",
    "/proc/kmsg",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/sys/kernel/debug",
    "/sys/kernel/security",
    "/sys/kernel/tracing",
    "/sys/fs/bpf",
};
static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
				       "/proc/sysrq-trigger"};

static int mask_path(const char *root, const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s%s", root, rel);
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0; /* absent on this kernel */
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=0,mode=0") < 0)
			return fail("masking", rel);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return fail("masking", rel);
	}
	return 0;
}

static int readonly_path(const char *root, const char *rel, bool recursive)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s%s", root, rel);
	if (access(path, F_OK) < 0)
		return 0;
	if (mount(path, path, NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0 ||
	    set_attr(path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, recursive) < 0)
		return fail("making read-only", rel);
	return 0;
}

static int setup_dev(int rootfd, const char *root)
{
	if (mount_in(rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC,
		     "mode=0755,size=512k") < 0)
		return -1;
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const unsigned minors[] = {3, 5, 7, 8, 9, 0};
	char src[64], dst[PATH_MAX];
	for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
		snprintf(src, sizeof src, "/dev/%s", nodes[i]);
		/* only the real character devices: a host whose /dev/null was replaced by a
		 * regular file must not hand that file to the container */
		struct stat st;
		if (stat(src, &st) < 0 || !S_ISCHR(st.st_mode) ||
		    major(st.st_rdev) != (i == 5 ? 5u : 1u) || minor(st.st_rdev) != minors[i]) {
			errno = EINVAL;
			return fail("host device is not the expected character device:", src);
		}
		snprintf(dst, sizeof dst, "%s/dev/%s", root, nodes[i]);
		int f = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (f < 0)
			return fail("creating", dst);
		close(f);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return fail("binding", src);
	}
	snprintf(dst, sizeof dst, "%s/dev/pts", root);
	if (mkdir(dst, 0755) < 0 ||
	    mount("devpts", dst, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666") < 0)
		return fail("mounting", "/dev/pts");
	snprintf(dst, sizeof dst, "%s/dev/shm", root);
	if (mkdir(dst, 01777) < 0)
		return fail("creating", dst);
	static const char *const links[][2] = {{"pts/ptmx", "ptmx"},
					       {"/proc/self/fd", "fd"},
					       {"/proc/self/fd/0", "stdin"},
					       {"/proc/self/fd/1", "stdout"},
					       {"/proc/self/fd/2", "stderr"}};
	for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
		snprintf(dst, sizeof dst, "%s/dev/%s", root, links[i][1]);
		if (symlink(links[i][0], dst) < 0)
			return fail("creating", dst);
	}
	return 0;
}

static int setup_binds(const sbx_ctx *ctx, const int *own, int rootfd)
{
	const bwk_container_spec *s = ctx->spec;
	for (size_t i = 0; i < s->nbinds; i++) {
		struct stat st;
		char sp[64], tp[64];
		if (fstat(ctx->bind_fds[i], &st) < 0)
			return fail("stat", s->binds[i].src);
		cleanup_close int t = S_ISDIR(st.st_mode) ? mkdir_in_root(rootfd, s->binds[i].dst)
							  : mkfile_in_root(rootfd, s->binds[i].dst);
		if (t < 0)
			return fail("creating mount point", s->binds[i].dst);
		fdpath(tp, sizeof tp, t);
		uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
		if (!s->binds[i].rw)
			attrs |= MOUNT_ATTR_RDONLY;
		struct mount_attr a = {.attr_set = attrs};
		if (ctx->detached) {
			int m = ctx->mnt_fds[ctx->nlowers + i];
			if (mount_setattr(m, "", AT_EMPTY_PATH, &a, sizeof a) < 0 ||
			    move_mount(m, "", t, "",
				       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
				return fail("attaching volume", s->binds[i].dst);
			continue;
		}
		if (mount(fdpath(sp, sizeof sp, own[ctx->nlowers + i]), tp, NULL, MS_BIND, NULL) <
		    0)
			return fail("bind mounting", ctx->bind_paths[i]);
		if (attr_in_root(rootfd, s->binds[i].dst, attrs) < 0)
			return fail("restricting bind mount", s->binds[i].dst);
	}
	return 0;
}

static int setup_secrets(const sbx_ctx *ctx, int rootfd)
{
	const bwk_container_spec *s = ctx->spec;
	if (!s->nsecrets)
		return 0;
	if (mount_in(rootfd, "/run/secrets", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "mode=0755,size=4m") < 0)
		return -1;
	cleanup_close int d = openat2_in(rootfd, "/run/secrets", O_PATH | O_DIRECTORY, 0);
	char dp[64];
	cleanup_close int dir =
	    d < 0 ? -1 : open(fdpath(dp, sizeof dp, d), O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return fail("opening", "/run/secrets");
	for (size_t i = 0; i < s->nsecrets; i++) {
		cleanup_close int f =
		    openat(dir, s->secrets[i].name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
		if (f < 0 || write(f, ctx->secret_data[i], ctx->secret_len[i]) !=
				 (ssize_t)ctx->secret_len[i])
			return fail("writing secret", s->secrets[i].name);
	}
	if (set_attr(dp, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, false) < 0)
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

int sbx_mounts_setup(const sbx_ctx *ctx)
{
	const bwk_container_spec *s = ctx->spec;
	/* nothing we mount may propagate back to the host */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("making mounts private", "/");
	/* Without detached mounts from the host side, open the sources by path now, in our
	 * namespace and before the staging tmpfs can hide them (they may live under /tmp). */
	int own[160];
	size_t nown = 0;
	for (; !ctx->detached && nown < ctx->nlowers + s->nbinds; nown++) {
		bool layer = nown < ctx->nlowers;
		const char *p =
		    layer ? ctx->lower_paths[nown] : ctx->bind_paths[nown - ctx->nlowers];
		own[nown] = open(p, O_PATH | O_CLOEXEC | (layer ? O_DIRECTORY : 0));
		if (own[nown] < 0)
			return fail("opening", p);
	}
	char stage_opts[64];
	snprintf(stage_opts, sizeof stage_opts, "mode=0700,size=%llu",
		 (unsigned long long)ctx->tmpfs_size);
	if (mount("tmpfs", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, stage_opts) < 0)
		return fail("mounting staging tmpfs on", STAGE);
	const char *root = STAGE "/root";
	bool overlay = false;
	if (mount_rootfs(ctx, own, root, &overlay) < 0)
		return -1;
	cleanup_close int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return fail("opening", root);

	char opts[128];
	if (mount_in(rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -1;
	if (s->net == BWK_NET_HOST) {
		/* sysfs of a network namespace we do not own cannot be mounted: bind the host's */
		if (mount_in(rootfd, "/sys", "/sys", NULL, MS_BIND | MS_REC, NULL) < 0)
			return -1;
	} else if (mount_in(rootfd, "/sys", "sysfs", "sysfs",
			    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		return -1;
	}
	for (size_t i = 0; i < sizeof masked / sizeof *masked; i++)
		if (mask_path(root, masked[i]) < 0)
			return -1;
	for (size_t i = 0; i < sizeof readonly / sizeof *readonly; i++)
		if (readonly_path(root, readonly[i], false) < 0)
			return -1;
	if (s->net == BWK_NET_HOST && readonly_path(root, "/sys", true) < 0)
		return -1;
	if (setup_dev(rootfd, root) < 0)
		return -1;
	snprintf(opts, sizeof opts, "mode=1777,size=%llu", (unsigned long long)ctx->tmpfs_size);
	if (mount_in(rootfd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) <
		0 ||
	    mount_in(rootfd, "/tmp", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -1;
	snprintf(opts, sizeof opts, "mode=0755,size=%llu", (unsigned long long)ctx->tmpfs_size / 4);
	if (mount_in(rootfd, "/run", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
		return -1;
	if (setup_binds(ctx, own, rootfd) < 0 || setup_secrets(ctx, rootfd) < 0)
		return -1;
	char dp[PATH_MAX];
	snprintf(dp, sizeof dp, "%s/dev", root);
	if (set_attr(dp, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false) < 0)
		return fail("making read-only", "/dev");
	if (s->net == BWK_NET_SLIRP) {
		/* slirp4netns' DNS forwarder, bound read-only over the image's file (created in
		 * the upper layer when missing); the image itself is never written */
		static const char ns[] = "nameserver 10.0.2.3\n";
		cleanup_close int f =
		    open(STAGE "/resolv.conf", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		cleanup_close int t = mkfile_in_root(rootfd, "/etc/resolv.conf");
		char tp[64];
		if (f < 0 || write(f, ns, sizeof ns - 1) != (ssize_t)(sizeof ns - 1) || t < 0 ||
		    mount(STAGE "/resolv.conf", fdpath(tp, sizeof tp, t), NULL, MS_BIND, NULL) <
			0 ||
		    attr_in_root(rootfd, "/etc/resolv.conf",
				 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) < 0)
			sbx_child_error("warning: cannot provide /etc/resolv.conf (%s): name "
					"resolution may fail",
					strerror(errno));
	}
	if (s->cwd && s->cwd[0]) {
		cleanup_close int w = mkdir_in_root(rootfd, s->cwd);
		(void)w; /* missing and uncreatable: chdir reports it after the switch */
	}
	uint64_t rattr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (!s->read_write)
		rattr |= MOUNT_ATTR_RDONLY;
	if (set_attr(root, rattr, false) < 0)
		return fail("making the root read-only", root);
	(void)overlay;

	/* pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no
	 * path to the host's filesystem. */
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return fail("pivot_root to", root);
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return fail("detaching the old root", "/");
	return 0;
}
