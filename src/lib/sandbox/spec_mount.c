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
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
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
