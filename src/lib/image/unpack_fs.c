/* Writing layer entries to disk without ever leaving the target directory.
 *
 * Every path comes normalised (no '/', '.' or '..' prefix games left, ".." rejected here) and
 * is resolved fd-relative from the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS): a symlink anywhere in a parent path is refused rather than followed
 * (CVE-2018-15664-style "symlink then file through it" archives), and the last component is
 * created with O_EXCL|O_NOFOLLOW so an existing symlink is never written through. Where
 * openat2 is unavailable (old kernel, or a seccomp filter returning ENOSYS/EPERM) the parent
 * is walked one component at a time with O_NOFOLLOW|O_DIRECTORY, which gives the same
 * guarantee. Symlinks are created verbatim (absolute or "../.." targets are legal in images and
 * harmless as long as nothing follows them); hardlinks may only point at entries inside. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

int bwk_remove_tree_at(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* an image directory may be 0555: make it ours to empty (we created it) */
	if ((st.st_mode & 0700) != 0700)
		fchmod(fd, 0700);
	cleanup_dir DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (bwk_remove_tree_at(dirfd(d), de->d_name) < 0)
			ret = -1;
	}
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		ret = -1;
	return ret;
}

int fs_writer_init(fs_writer *w, int rootfd, const bwk_unpack_opts *opts, bool cache_mode)
{
	static const bwk_unpack_opts none = {0};
	memset(w, 0, sizeof(*w));
	w->rootfd = rootfd;
	w->opts = opts ? opts : &none;
	w->cache_mode = cache_mode;
	w->is_root = geteuid() == 0;
	w->parentfd = -1;
	vis_table_init(&w->created);
	return 0;
}

static void drop_parent(fs_writer *w)
{
	if (w->parentfd >= 0 && w->parentfd != w->rootfd)
		close(w->parentfd);
	w->parentfd = -1;
	w->parent[0] = '\0';
}

void fs_writer_free(fs_writer *w)
{
	drop_parent(w);
	vis_table_free(&w->created);
	if (w->whiteouts)
		fclose(w->whiteouts);
	w->whiteouts = NULL;
}

void fs_writer_layer_begin(fs_writer *w)
{
	vis_table_free(&w->created);
	vis_table_init(&w->created);
	drop_parent(w);
}

/* Open directory `dir` (normalised, "" = root) beneath the root, creating missing components
 * when `create`. Returns an fd (the caller must not close rootfd), -1 with errno ENOENT when
 * absent and !create, or -1 with an error set. */
static int open_dir_walk(fs_writer *w, const char *dir, bool create, const char *entry,
			 bwk_error **err)
{
	int fd = dup(w->rootfd);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "dup");
	char comp[BWK_MAX_PATH + 1];
	const char *p = dir;
	size_t donelen = 0;
	while (*p) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		memcpy(comp, s, n);
		comp[n] = '\0';
		donelen = (size_t)(p - dir);
		if (*p == '/')
			p++;
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return bwk_error_set(err, BWK_E_IO, e, "%s: cannot create '%.*s'",
						     entry, (int)donelen, dir);
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int e = errno;
			struct stat st;
			bool lnk =
			    fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
			close(fd);
			if (e == ENOENT && !create) {
				errno = ENOENT;
				return -1;
			}
			if (lnk)
				return bwk_error_set(
				    err, BWK_E_UNSAFE, 0,
				    "'%s' is beneath the symlink '%.*s': refusing "
				    "to write through a symlink (hostile archive?)",
				    entry, (int)donelen, dir);
			return bwk_error_set(err, e == ENOTDIR ? BWK_E_INPUT : BWK_E_IO, e,
					     "'%s': cannot open the directory '%.*s'", entry,
					     (int)donelen, dir);
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

static int open_dir(fs_writer *w, const char *dir, bool create, const char *entry, bwk_error **err)
{
	if (!*dir)
		return dup(w->rootfd);
	if (!w->no_openat2) {
		long fd =
		    bwk_openat2(w->rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
				RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		if (fd >= 0)
			return (int)fd;
		if (errno == ENOSYS || errno == EPERM || errno == E2BIG || errno == EINVAL)
			w->no_openat2 = true; /* kernel < 5.6 or a seccomp filter */
		else if (errno != ENOENT && errno != ELOOP && errno != ENOTDIR && errno != EXDEV)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot open '%s'", entry,
					     dir);
		/* ENOENT: create the missing parts; ELOOP/EXDEV: find which component is
		 * the symlink to say so. Both by the component walk. */
	}
	return open_dir_walk(w, dir, create, entry, err);
}

/* The parent directory of `path` (cached: tar members come grouped by directory). */
static int parent_of(fs_writer *w, const char *path, bool create, const char **name,
		     bwk_error **err)
{
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 0;
	*name = slash ? slash + 1 : path;
	if (w->stale) {
		drop_parent(w);
		w->stale = false;
	}
	if (w->parentfd >= 0 && strlen(w->parent) == dl && !memcmp(w->parent, path, dl))
		return w->parentfd;
	drop_parent(w);
	char dir[BWK_MAX_PATH + 1];
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	int fd = open_dir(w, dir, create, path, err);
	if (fd < 0)
		return -1;
	memcpy(w->parent, dir, dl + 1);
	w->parentfd = fd;
	return fd;
}

/* Make room for a new entry of type `want_dir` at pfd/name. Returns 1 when a directory that
 * should be kept is already there. */
static int clear_slot(fs_writer *w, int pfd, const char *name, bool want_dir, const char *path,
		      bwk_error **err)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISDIR(st.st_mode) && want_dir)
		return 1;
	if (bwk_remove_tree_at(pfd, name) < 0)
		return bwk_error_set(err, BWK_E_IO, errno,
				     "'%s': cannot replace the existing entry", path);
	if (S_ISDIR(st.st_mode))
		w->stale = true; /* the cached parent fd may be below what was removed */
	return 0;
}

static int record_whiteout(fs_writer *w, int pfd, const char *name, const char *path, bool opq,
			   bwk_error **err)
{
	/* Cached layers keep whiteouts in overlayfs form so run can stack them as lowers. */
	if (w->is_root) {
		if (opq) {
			int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0 && errno == ENOENT) {
				mkdirat(pfd, name, 0755);
				fd = openat(pfd, name,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			}
			if (fd < 0 || fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0) {
				int e = errno;
				if (fd >= 0)
					close(fd);
				return bwk_error_set(err, BWK_E_IO, e,
						     "'%s': cannot mark the directory opaque",
						     path);
			}
			close(fd);
			return 0;
		}
		if (clear_slot(w, pfd, name, false, path, err) < 0)
			return -1;
		if (mknodat(pfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot create a whiteout",
					     path);
		return 0;
	}
	if (w->whiteouts)
		fprintf(w->whiteouts, "%s %s\n", opq ? "opaque" : "whiteout", path);
	return 0;
}

/* Opaque directory: drop what the lower layers put in it (not what this layer wrote). */
static int apply_opaque(fs_writer *w, const char *path, bwk_error **err)
{
	int dfd = open_dir(w, path, true, path, err);
	if (dfd < 0)
		return -1;
	cleanup_dir DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot read", path);
	}
	struct dirent *de;
	char child[BWK_MAX_PATH + 1];
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int n = path[0] ? snprintf(child, sizeof(child), "%s/%s", path, de->d_name)
				: snprintf(child, sizeof(child), "%s", de->d_name);
		if (n < 0 || (size_t)n >= sizeof(child))
			continue;
		if (vis_table_get(&w->created, child, (size_t)n) & VIS_PRESENT)
			continue;
		if (bwk_remove_tree_at(dirfd(d), de->d_name) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot remove", child);
	}
	drop_parent(w);
	return 0;
}

/* Write the file's data blocks at their offsets and leave holes as holes: a sparse member is
 * recreated sparse (lseek over a hole, ftruncate for a trailing one) instead of being written
 * out as zeros, so what lands on the disk is what the layer stored, not its logical size. */
static int copy_data(int fd, layer_stream *ls, const layer_entry *le, bwk_error **err)
{
	uint64_t end = 0;
	for (;;) {
		const void *b = NULL;
		size_t n = 0;
		uint64_t off = 0;
		int r = layer_stream_read_block(ls, &b, &n, &off, err);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (off != end && lseek(fd, (off_t)off, SEEK_SET) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': seek failed", le->path);
		for (size_t done = 0; done < n;) {
			ssize_t w = write(fd, (const char *)b + done, n - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return bwk_error_set(err, BWK_E_IO, errno, "'%s': write failed",
						     le->path);
			done += (size_t)w;
		}
		end = off + n;
	}
	if (end < le->e.size && ftruncate(fd, (off_t)le->e.size) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot set the size", le->path);
	return 0;
}

/* Takes ownership of fd (created with O_EXCL|O_NOFOLLOW). */
static int write_file(fs_writer *w, int ofd, layer_stream *ls, const layer_entry *le, mode_t mode,
		      bwk_error **err)
{
	cleanup_close int fd = ofd;
	if (le->e.size && copy_data(fd, ls, le, err) < 0)
		return -1;
	if (w->is_root && fchown(fd, le->e.uid, le->e.gid) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "'%s': chown", le->path);
	if (fchmod(fd, mode) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "'%s': chmod", le->path);
	struct timespec ts[2] = {{le->e.mtime, 0}, {le->e.mtime, 0}};
	futimens(fd, ts);
	return 0;
}

int fs_writer_apply(fs_writer *w, layer_stream *ls, layer_entry *le, bwk_error **err)
{
	const bwk_entry *e = &le->e;
	if (le->dotdot)
		return bwk_error_set(
		    err, BWK_E_UNSAFE, 0,
		    "an entry (resolved to '%s'%s%s) uses '..' to climb out of the "
		    "image root: hostile archive, refusing",
		    le->path, e->link ? ", link to " : "", e->link ? e->link : "");
	if (le->hostile_whiteout)
		return bwk_error_set(err, BWK_E_UNSAFE, 0,
				     "'%s': a whiteout of '.', '..' or an aufs-internal name: "
				     "hostile archive, refusing",
				     le->path);
	const char *name;
	bool wh = e->type == BWK_ENTRY_WHITEOUT || e->type == BWK_ENTRY_OPAQUE;
	if (e->type == BWK_ENTRY_OPAQUE && !w->cache_mode)
		return apply_opaque(w, le->path, err);
	if (e->type == BWK_ENTRY_OPAQUE && !le->path[0]) {
		if (!w->is_root && w->whiteouts)
			fprintf(w->whiteouts, "opaque .\n");
		return 0;
	}
	int pfd = parent_of(w, le->path, !wh || w->cache_mode, &name, err);
	if (pfd < 0) {
		if (wh && errno == ENOENT && !(err && *err))
			return 0; /* deleting something that is not there */
		return -1;
	}
	if (wh) {
		if (w->cache_mode)
			return record_whiteout(w, pfd, name, le->path, e->type == BWK_ENTRY_OPAQUE,
					       err);
		if (bwk_remove_tree_at(pfd, name) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot delete", le->path);
		drop_parent(w);
		return 0;
	}
	mode_t mode = e->mode & 07777;
	if ((mode & 06000) && !w->opts->keep_setuid &&
	    (e->type == BWK_ENTRY_FILE || e->type == BWK_ENTRY_HARDLINK)) {
		if (w->opts->setuid_stripped)
			__atomic_fetch_add(w->opts->setuid_stripped, 1, __ATOMIC_RELAXED);
		else
			bwk_warn(w->opts->quiet,
				 "%s: removed the setuid/setgid bits (mode %04o; %s keeps them)",
				 le->path, mode, bwk_setting("keep-setuid", "keep-setuid"));
		mode &= ~(mode_t)06000;
	}
	vis_table_add(&w->created, le->path, VIS_PRESENT);
	if (e->type == BWK_ENTRY_FILE) {
		/* the common case, a new file: one openat, no lookup before it */
		int fd =
		    openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return write_file(w, fd, ls, le, mode, err);
		if (errno != EEXIST)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot create", le->path);
	}
	int keep = clear_slot(w, pfd, name, e->type == BWK_ENTRY_DIR, le->path, err);
	if (keep < 0)
		return -1;
	switch (e->type) {
	case BWK_ENTRY_DIR: {
		if (!w->is_root)
			mode |= 0700; /* so that we can fill it and remove it */
		if (!keep && mkdirat(pfd, name, 0700) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': mkdir", le->path);
		if (w->is_root && fchownat(pfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': chown", le->path);
		if (fchmodat(pfd, name, mode, 0) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': chmod", le->path);
		return 0;
	}
	case BWK_ENTRY_FILE: {
		int fd =
		    openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': cannot create", le->path);
		return write_file(w, fd, ls, le, mode, err);
	}
	case BWK_ENTRY_SYMLINK:
		if (symlinkat(le->link, pfd, name) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': symlink", le->path);
		if (w->is_root && fchownat(pfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': chown", le->path);
		return 0;
	case BWK_ENTRY_HARDLINK: {
		char tdir[BWK_MAX_PATH + 1];
		const char *slash = strrchr(le->link, '/');
		size_t dl = slash ? (size_t)(slash - le->link) : 0;
		memcpy(tdir, le->link, dl);
		tdir[dl] = '\0';
		const char *tname = slash ? slash + 1 : le->link;
		int tfd = open_dir(w, tdir, false, le->path, err);
		if (tfd < 0) {
			if (err && *err)
				return -1;
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "'%s': hardlink to '%s', which is not in the image",
					     le->path, le->link);
		}
		struct stat st;
		int r = fstatat(tfd, tname, &st, AT_SYMLINK_NOFOLLOW);
		if (r < 0 || S_ISDIR(st.st_mode)) {
			close(tfd);
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "'%s': hardlink to '%s', which is %s", le->path,
					     le->link, r < 0 ? "not in the image" : "a directory");
		}
		r = linkat(tfd, tname, pfd, name, 0);
		int e2 = errno;
		close(tfd);
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, e2, "'%s': hardlink to '%s'", le->path,
					     le->link);
		return 0;
	}
	case BWK_ENTRY_CHAR:
	case BWK_ENTRY_BLOCK:
		if (!(w->opts->devices && w->is_root)) {
			if (w->opts->for_run && !strncmp(le->path, "dev/", 4))
				return 0; /* hidden by the runtime's own /dev */
			bwk_warn(w->opts->quiet, "%s: skipped a device node (%u:%u%s%s%s)",
				 le->path, le->devmajor, le->devminor, w->opts->for_run ? "" : "; ",
				 w->opts->for_run ? "" : bwk_setting("devices", "devices"),
				 w->opts->for_run ? "" : " as root creates it");
			return 0;
		}
		if (mknodat(pfd, name,
			    (e->type == BWK_ENTRY_CHAR ? S_IFCHR : S_IFBLK) | (mode & 0777),
			    makedev(le->devmajor, le->devminor)) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': mknod", le->path);
		if (fchownat(pfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': chown", le->path);
		return 0;
	case BWK_ENTRY_FIFO:
		if (mkfifoat(pfd, name, mode & 0777) < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "'%s': mkfifo", le->path);
		return 0;
	default:
		return 0; /* sockets cannot be shipped in a tar meaningfully */
	}
}

int fs_writer_apply_layer(fs_writer *w, bwk_image *img, size_t index, layer_stream *ls,
			  bwk_error **err)
{
	fs_writer_layer_begin(w);
	layer_entry *le = xmalloc(sizeof(*le));
	int r;
	while ((r = layer_stream_next(ls, le, err)) == 1)
		if (fs_writer_apply(w, ls, le, err) < 0) {
			r = -1;
			bwk_error_wrap(err, "layer %zu", index + 1);
			break;
		}
	free(le);
	drop_parent(w);
	if (r < 0)
		return -1;
	return layer_check_verdict(img, index, layer_stream_verdict(ls), NULL, err);
}
