/* Path resolution for the container's filesystem and for the host paths handed to it.
 *
 * An image is untrusted: a symlink in it (/dev -> /var/tmp, /proc -> ../../p) must never send
 * a lookup, a mkdir or a mount to the host. Paths inside the image are resolved with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), where ".." and absolute links stop at the
 * image root; where openat2 is refused (a kernel before 5.6, or an outer seccomp filter that
 * answers ENOSYS/EPERM) the same resolution is done here one component at a time without the
 * kernel ever following a link, and the result is checked against where the fd really points.
 * Paths inside filesystems we mounted ourselves (our proc, sysfs, /dev) and host paths that
 * were canonicalised once are opened without following any symlink at all, so a name that
 * was swapped for a link between a check and its use is refused instead of followed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define MAX_LINKS 40  /* the kernel's own limit on symlinks in one lookup */
#define MAX_DEPTH 256 /* directories deep; PATH_MAX bounds it anyway */

int sbx_fd_path(int fd, char *buf, size_t len)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, buf, len);
	if (n < 0)
		return -1;
	if ((size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	buf[n] = 0;
	return 0;
}

/* Next component of *p (slashes skipped) into `out`; false at the end. */
static bool next_component(const char **p, char *out, size_t len)
{
	while (**p == '/')
		(*p)++;
	if (!**p)
		return false;
	size_t l = strcspn(*p, "/");
	if (l >= len)
		l = len - 1; /* cannot happen: callers bound paths by PATH_MAX, NAME_MAX below */
	memcpy(out, *p, l);
	out[l] = 0;
	*p += strcspn(*p, "/");
	return true;
}

static bool only_slashes(const char *p)
{
	return p[strspn(p, "/")] == 0;
}

int sbx_open_beneath(int dirfd, const char *rel, int flags)
{
	if (strlen(rel) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	cleanup_close int cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -1;
	char c[PATH_MAX];
	const char *p = rel;
	while (next_component(&p, c, sizeof c)) {
		if (!strcmp(c, ".") || !strcmp(c, "..")) {
			errno = EINVAL; /* callers pass names they built, never "." or ".." */
			return -1;
		}
		if (only_slashes(p)) {
			int fd = openat(cur, c, flags | O_NOFOLLOW | O_CLOEXEC);
			struct stat st;
			if (fd >= 0 && (flags & O_PATH) && fstat(fd, &st) == 0 &&
			    S_ISLNK(st.st_mode)) {
				close(fd);
				errno = ELOOP;
				return -1;
			}
			return fd;
		}
		/* a symlink here fails with ENOTDIR: never followed */
		int next = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return -1;
		close(cur);
		cur = next;
	}
	return openat(cur, ".", flags | O_CLOEXEC);
}

/* Is `fd` at or below `rootfd`, by the kernel's name for both? */
static bool fd_inside(int rootfd, int fd)
{
	char r[PATH_MAX], f[PATH_MAX];
	if (sbx_fd_path(rootfd, r, sizeof r) < 0 || sbx_fd_path(fd, f, sizeof f) < 0)
		return false;
	size_t rl = strlen(r);
	if (rl == 1) /* the root is "/": everything is inside */
		return true;
	return !strncmp(r, f, rl) && (f[rl] == 0 || f[rl] == '/');
}

typedef struct walk {
	int fds[MAX_DEPTH + 1]; /* fds[0] is the root, fds[depth] the current directory */
	size_t depth;
} walk;

static void walk_pop_to(walk *w, size_t depth)
{
	while (w->depth > depth)
		close(w->fds[w->depth--]);
}

/* Replace `rest` by link target + what followed the link. */
static int splice_link(int linkfd, char rest[PATH_MAX], const char *after, walk *w)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(linkfd, "", target, sizeof target);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof target) {
		errno = ENAMETOOLONG;
		return -1;
	}
	target[n] = 0;
	if (target[0] == '/')
		walk_pop_to(w, 0); /* absolute: from the image root, never the host's */
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s/%s", target, after) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(rest, tmp, strlen(tmp) + 1);
	return 0;
}

static int fallback_walk(walk *w, const char *path, int flags)
{
	char rest[PATH_MAX], c[PATH_MAX];
	if (snprintf(rest, sizeof rest, "%s", path) >= (int)sizeof rest) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unsigned links = 0;
	const char *p = rest;
	while (next_component(&p, c, sizeof c)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) { /* never openat(".."): the stack clamps at the root */
			walk_pop_to(w, w->depth ? w->depth - 1 : 0);
			continue;
		}
		bool last = only_slashes(p);
		cleanup_close int fd = openat(w->fds[w->depth], c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			return -1;
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			if (++links > MAX_LINKS) {
				errno = ELOOP;
				return -1;
			}
			char after[PATH_MAX];
			snprintf(after, sizeof after, "%s", p);
			if (splice_link(fd, rest, after, w) < 0)
				return -1;
			p = rest;
			continue;
		}
		if (last) {
			if (flags & O_PATH)
				return steal_fd(&fd);
			int real = openat(w->fds[w->depth], c, flags | O_NOFOLLOW | O_CLOEXEC);
			struct stat rs;
			if (real >= 0 && (fstat(real, &rs) < 0 || rs.st_dev != st.st_dev ||
					  rs.st_ino != st.st_ino)) {
				close(real);
				errno = EXDEV; /* changed under us */
				return -1;
			}
			return real;
		}
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		if (w->depth >= MAX_DEPTH) {
			errno = ENAMETOOLONG;
			return -1;
		}
		w->fds[++w->depth] = steal_fd(&fd);
	}
	return openat(w->fds[w->depth], ".", flags | O_CLOEXEC);
}

int sbx_open_in_root_fallback(int rootfd, const char *path, int flags)
{
	if (flags & O_CREAT) {
		errno = EINVAL;
		return -1;
	}
	walk w = {.depth = 0};
	w.fds[0] = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w.fds[0] < 0)
		return -1;
	int fd = fallback_walk(&w, path, flags);
	int saved = errno;
	walk_pop_to(&w, 0);
	/* by construction nothing above escaped; the kernel's name for the result says so */
	if (fd >= 0 && !fd_inside(w.fds[0], fd)) {
		close(fd);
		fd = -1;
		saved = EXDEV;
	}
	close(w.fds[0]);
	errno = saved;
	return fd;
}

int sbx_open_in_root(int rootfd, const char *path, int flags)
{
	int fd = bwk_openat2(rootfd, path, (uint64_t)(flags | O_CLOEXEC), 0,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
		return sbx_open_in_root_fallback(rootfd, path, flags);
	return fd;
}

int sbx_mkpath_in_root(int rootfd, const char *path, bool dir)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = sbx_open_in_root(rootfd, buf, O_PATH);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	for (char *p = buf + 1;; p++) {
		bool last = !*p;
		if (*p != '/' && !last)
			continue;
		char saved = *p;
		*p = 0;
		int cur = sbx_open_in_root(rootfd, buf, O_PATH);
		if (cur < 0 && errno == ENOENT) {
			char *slash = strrchr(buf, '/');
			*slash = 0;
			int parent =
			    sbx_open_in_root(rootfd, *buf ? buf : "/", O_PATH | O_DIRECTORY);
			*slash = '/';
			if (parent < 0)
				return -1;
			int r;
			if (last && !dir) {
				r = openat(parent, slash + 1,
					   O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
				if (r >= 0)
					close(r);
			} else
				r = mkdirat(parent, slash + 1, 0755);
			int e = errno;
			close(parent);
			if (r < 0 && e != EEXIST) {
				errno = e;
				return -1;
			}
			cur = sbx_open_in_root(rootfd, buf, O_PATH);
		}
		if (cur < 0)
			return -1;
		*p = saved;
		if (last)
			return cur;
		close(cur);
		while (p[1] == '/')
			p++;
	}
}
