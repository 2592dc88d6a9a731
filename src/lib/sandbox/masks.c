/* Rootless images: a layer cache written without privileges keeps each layer's whiteouts and
 * opaque directories in a side list (LAYER.whiteouts: "whiteout PATH" / "opaque PATH" lines)
 * instead of overlayfs markers. For every such layer we build a "mask" directory on the
 * staging tmpfs, stacked directly below the layer: whiteout devices (0:0, which an
 * unprivileged user may create) and directories marked user.overlay.opaque, so that the
 * overlay hides exactly what the image deleted. Directories created on the way copy the mode
 * and owner of the same directory in the layers below, so the merged view keeps them.
 * The list is untrusted: paths are relative, without "." or ".." components, bounded. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define MAX_MASK_LINES 200000

static bool path_ok(const char *p)
{
	if (!p[0] || p[0] == '/' || strlen(p) >= PATH_MAX)
		return false;
	if (!strcmp(p, "."))
		return true;
	for (const char *c = p; *c;) {
		const char *slash = strchr(c, '/');
		size_t l = slash ? (size_t)(slash - c) : strlen(c);
		if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += l + (slash ? 1 : 0);
	}
	return true;
}

/* Mode and owner of directory `rel` in the highest lower layer below `layer` that has it.
 * Looked up without following any symlink, the parents included: a layer's "a -> /root" does
 * not make "a/b" a directory in the merged view, and must not copy a host directory's owner
 * and mode into the mask. */
static void lower_dir_attrs(const int *layers, size_t layer, const char *rel, struct stat *out)
{
	for (size_t j = layer; j-- > 0;) {
		struct stat st;
		cleanup_close int d = sbx_open_beneath(layers[j], rel, O_PATH | O_DIRECTORY);
		if (d >= 0 && fstat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
			*out = st;
			return;
		}
	}
	out->st_mode = S_IFDIR | 0755;
	out->st_uid = 0;
	out->st_gid = 0;
}

/* mkdir -p inside the mask (fd-relative, never following a symlink); returns a dir fd. */
static int mask_dirs(int mask, const int *layers, size_t layer, const char *rel)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", rel);
	int fd = dup(mask);
	if (fd < 0 || !strcmp(rel, "."))
		return fd;
	for (char *c = buf;;) {
		char *slash = strchr(c, '/');
		if (slash)
			*slash = 0;
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			struct stat st;
			lower_dir_attrs(layers, layer, buf, &st);
			if (mkdirat(fd, c, st.st_mode & 07777) < 0 && errno != EEXIST) {
				close(fd);
				return -1;
			}
			next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* an owner that is not mapped here keeps ours */
			if (next >= 0 && fchown(next, st.st_uid, st.st_gid) < 0)
				errno = 0;
			if (next >= 0)
				(void)fchmod(next, st.st_mode & 07777);
		}
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
		if (!slash)
			return fd;
		*slash = '/';
		c = slash + 1;
	}
}

int sbx_mask_build(const char *list, int mask, const int *layers, size_t layer)
{
	size_t lines = 0;
	for (const char *p = list; p && *p && lines < MAX_MASK_LINES; lines++) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		char line[PATH_MAX + 16];
		if (l < sizeof line) {
			memcpy(line, p, l);
			line[l] = 0;
			bool opaque = !strncmp(line, "opaque ", 7);
			bool whiteout = !strncmp(line, "whiteout ", 9);
			const char *path = opaque ? line + 7 : line + 9;
			if ((opaque || whiteout) && path_ok(path)) {
				if (opaque) {
					cleanup_close int d = mask_dirs(mask, layers, layer, path);
					if (d < 0 ||
					    fsetxattr(d, "user.overlay.opaque", "y", 1, 0) < 0)
						return -1;
				} else if (strcmp(path, ".")) {
					char dir[PATH_MAX];
					snprintf(dir, sizeof dir, "%s", path);
					char *slash = strrchr(dir, '/');
					const char *name = slash ? slash + 1 : dir;
					if (slash)
						*slash = 0;
					cleanup_close int d =
					    mask_dirs(mask, layers, layer, slash ? dir : ".");
					if (d < 0 ||
					    (mknodat(d, name, S_IFCHR | 0, makedev(0, 0)) < 0 &&
					     errno != EEXIST))
						return -1;
				}
			}
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}
