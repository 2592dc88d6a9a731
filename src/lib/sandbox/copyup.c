/* tmpcopyup: a new tmpfs (/run, /tmp, an anonymous volume) starts with a copy of what the image
 * has at its mount point, as Podman's tmpcopyup and Docker's volume population do: without it
 * the tmpfs hides the image's /run/postgresql (owner postgres, mode 2775), a VOLUME's prepared
 * data directory, and the server cannot start under the read-only root.
 *
 * The image is hostile input: everything is fd-relative from the two directories (the image's,
 * opened before the tmpfs covers it, and the tmpfs's own root, before it is attached), each
 * name is opened with O_NOFOLLOW and checked to be the type lstat said, symbolic links are
 * copied as links and never followed, device nodes and sockets are left out (the tmpfs is
 * nodev; a socket is meaningless once copied), setuid and setgid bits are dropped from files,
 * and the copy is bounded: BWK_COPYUP_MAX_ENTRIES names, BWK_COPYUP_MAX_DEPTH levels, and the
 * tmpfs's own size for the bytes (ENOSPC stops it). Owners are kept where the container's user
 * namespace maps them (an unmapped owner leaves the copy to the container's root). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

typedef struct copyup {
	const char *where; /* the mount point, for messages */
	const char *skip;  /* a top-level name left out: the runtime mounts there */
	size_t entries;
	bool deep;	       /* stopped at BWK_COPYUP_MAX_DEPTH */
	char failed[PATH_MAX]; /* the name that failed, relative to `where` */
} copyup;

static void attrs(int fd, const struct stat *st, bool file)
{
	mode_t mode = st->st_mode & 07777;
	if (file)
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	/* EPERM/EINVAL: the owner is not mapped in this user namespace; root keeps it */
	(void)!fchown(fd, st->st_uid, st->st_gid);
	(void)!fchmod(fd, mode);
	const struct timespec t[2] = {st->st_atim, st->st_mtim};
	(void)futimens(fd, t);
}

static int copy_file(int src, int dst)
{
	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1u << 30, 0);
		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -1;
		break; /* across filesystems on an old kernel: read and write */
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(src, buf, sizeof buf);
		if (n <= 0)
			return (int)n;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));
			if (w < 0)
				return -1;
			off += w;
		}
	}
}

static void note_failed(copyup *c, const char *rel, const char *name)
{
	if (!c->failed[0])
		snprintf(c->failed, sizeof c->failed, "%s%s%s", rel, rel[0] ? "/" : "", name);
}

/* Copy the entries of directory `src` into the empty directory `dst`. `rel` is their path
 * below the mount point (messages only). -1 + errno after noting the failing name. */
static int copy_dir(int src, int dst, int depth, const char *rel, copyup *c)
{
	int dfd = dup(src);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		note_failed(c, rel, ".");
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		const char *n = e->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") ||
		    (!depth && c->skip && !strcmp(n, c->skip)))
			continue;
		if (++c->entries > BWK_COPYUP_MAX_ENTRIES) {
			errno = EFBIG;
			note_failed(c, rel, n);
			rc = -1;
			break;
		}
		struct stat st;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			note_failed(c, rel, n);
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth >= BWK_COPYUP_MAX_DEPTH) {
				errno = ELOOP;
				c->deep = true;
				note_failed(c, rel, n);
				rc = -1;
				break;
			}
			cleanup_close int s =
			    openat(src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			cleanup_close int t = -1;
			if (s >= 0 && mkdirat(dst, n, 0700) == 0)
				t = openat(dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (t < 0) {
				note_failed(c, rel, n);
				rc = -1;
				break;
			}
			char sub[PATH_MAX];
			snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", n);
			rc = copy_dir(s, t, depth + 1, sub, c);
			if (rc == 0)
				attrs(t, &st, false);
		} else if (S_ISREG(st.st_mode)) {
			struct stat now;
			cleanup_close int s = openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || fstat(s, &now) < 0 || !S_ISREG(now.st_mode)) {
				if (s >= 0)
					errno = ESTALE;
				note_failed(c, rel, n);
				rc = -1;
				break;
			}
			cleanup_close int t = openat(
			    dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (t < 0 || copy_file(s, t) < 0) {
				note_failed(c, rel, n);
				rc = -1;
				break;
			}
			attrs(t, &now, true);
		} else if (S_ISLNK(st.st_mode)) {
			char to[PATH_MAX];
			ssize_t l = readlinkat(src, n, to, sizeof to - 1);
			if (l < 0 || (to[l] = 0, symlinkat(to, dst, n) < 0)) {
				note_failed(c, rel, n);
				rc = -1;
				break;
			}
			(void)!fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
		} else if (S_ISFIFO(st.st_mode)) {
			if (mkfifoat(dst, n, 0600) == 0) {
				cleanup_close int t =
				    openat(dst, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
				if (t >= 0)
					(void)!fchownat(t, "", st.st_uid, st.st_gid, AT_EMPTY_PATH);
				(void)!fchmodat(dst, n, st.st_mode & 0777, 0);
			}
		}
		/* device nodes and sockets: left out (see the top) */
	}
	if (rc == 0 && errno) {
		note_failed(c, rel, ".");
		rc = -1;
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

int sbx_copyup(int src, int dst, const char *where, bool keep_root, const char *skip)
{
	copyup c = {.where = where, .skip = skip};
	cleanup_close int s = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int t = openat(dst, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (s < 0 || t < 0 || fstat(s, &st) < 0) {
		sbx_child_error("copying the image's %s into its tmpfs: %s", where,
				strerror(errno));
		return -1;
	}
	if (copy_dir(s, t, 0, "", &c) < 0) {
		int e = errno;
		if (e == ENOSPC)
			sbx_child_error(
			    "the image's content at %s does not fit in the tmpfs mounted "
			    "there (at %s/%s): give it a larger size",
			    where, where, c.failed);
		else if (c.deep)
			sbx_child_error(
			    "the image's %s nests directories deeper than %d levels: "
			    "bulwark copies at most that deep into the tmpfs mounted there",
			    where, BWK_COPYUP_MAX_DEPTH);
		else if (e == EFBIG)
			sbx_child_error(
			    "the image's %s holds more than %d names: bulwark copies at "
			    "most that many into the tmpfs mounted there",
			    where, BWK_COPYUP_MAX_ENTRIES);
		else
			sbx_child_error("copying the image's %s/%s into its tmpfs: %s", where,
					c.failed, strerror(e));
		return -1;
	}
	if (keep_root)
		attrs(t, &st, false);
	return 0;
}
