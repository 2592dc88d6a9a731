/* Reader for a plain root filesystem directory (scan only).
 *
 * The tree may be hostile (an unpacked image): every step is fd-relative with O_NOFOLLOW, so a
 * symlink such as etc/passwd -> /etc/shadow is reported as a symlink and never followed, and a
 * directory swapped for a symlink mid-walk makes the open fail instead of leaving the tree. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/image.h"
#include "bulwark/strv.h"
#include "core/cleanup.h"
#include "core/util.h"

#define DEFAULT_MAX_ENTRIES 5000000ULL
#define DEFAULT_MAX_DEPTH   256
#define MAX_PATH_LEN	    4096
#define MAX_LINK_LEN	    4096

typedef struct walk_ctx {
	const bwk_visitor *v;
	uint64_t max_entries, count;
	unsigned max_depth;
	const char *root;
} walk_ctx;

typedef struct file_reader {
	int dirfd;
	const char *name;
	const char *path;
	struct stat st;
	int fd;
	bool failed, eof;
	off_t pos; /* where the next read() reads */
} file_reader;

/* A sparse file's holes read as one NUL byte each, as in image layers: a 1 TiB file of holes
 * in a directory must not cost a terabyte of zeros to scan. SEEK_DATA finds the next data;
 * where the filesystem cannot tell, everything is data and this is a plain read. Returns 1
 * when a hole was skipped (one NUL to hand out), 0 to read at r->pos, -1 on error. */
static int skip_hole(file_reader *r, bwk_error **err)
{
	off_t d = lseek(r->fd, r->pos, SEEK_DATA);
	if (d < 0 && errno == ENXIO) {
		if (r->pos >= r->st.st_size)
			return 0; /* the end, or a size that says nothing (procfs): read() decides
				   */
		r->pos = r->st.st_size; /* a trailing hole */
		return 1;
	}
	if (d < 0 && (errno == EINVAL || errno == EOPNOTSUPP || errno == ESPIPE))
		return 0;
	if (d < 0) {
		r->failed = true;
		return bwk_error_set(err, BWK_E_IO, errno, "%s: seek failed", r->path);
	}
	if (d == r->pos)
		return 0;
	r->pos = d;
	return 1;
}

static ssize_t file_read(void *p, void *buf, size_t len, bwk_error **err)
{
	file_reader *r = p;
	if (r->failed)
		return bwk_error_set(err, BWK_E_IO, 0, "%s: read after an error", r->path);
	if (r->fd < 0) {
		/* O_NONBLOCK: a FIFO swapped in for the file must not hang the scan. */
		r->fd = openat(r->dirfd, r->name,
			       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		struct stat st;
		if (r->fd < 0 || fstat(r->fd, &st) < 0) {
			r->failed = true;
			return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", r->path);
		}
		if (!S_ISREG(st.st_mode) || st.st_ino != r->st.st_ino ||
		    st.st_dev != r->st.st_dev) {
			r->failed = true;
			return bwk_error_set(err, BWK_E_UNSAFE, 0,
					     "%s: file was replaced while being scanned", r->path);
		}
		int fl = fcntl(r->fd, F_GETFL);
		if (fl >= 0)
			fcntl(r->fd, F_SETFL, fl & ~O_NONBLOCK);
		posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	if (r->eof || !len)
		return 0;
	int h = skip_hole(r, err);
	if (h < 0)
		return -1;
	if (h > 0) {
		*(char *)buf = '\0';
		return 1;
	}
	for (;;) {
		ssize_t n = pread(r->fd, buf, len, r->pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->failed = true;
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", r->path);
		}
		if (n == 0)
			r->eof = true;
		r->pos += n;
		return n;
	}
}

static bwk_entry_type type_of(mode_t m)
{
	if (S_ISREG(m))
		return BWK_ENTRY_FILE;
	if (S_ISDIR(m))
		return BWK_ENTRY_DIR;
	if (S_ISLNK(m))
		return BWK_ENTRY_SYMLINK;
	if (S_ISCHR(m))
		return BWK_ENTRY_CHAR;
	if (S_ISBLK(m))
		return BWK_ENTRY_BLOCK;
	if (S_ISFIFO(m))
		return BWK_ENTRY_FIFO;
	return BWK_ENTRY_SOCKET;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(walk_ctx *c, int dfd, char *path, size_t plen, unsigned depth, bwk_error **err);

static int visit(walk_ctx *c, int dfd, const char *name, char *path, size_t plen, unsigned depth,
		 bwk_error **err)
{
	size_t nlen = strlen(name);
	if (plen + nlen + 2 > MAX_PATH_LEN)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: path under '%.*s' longer than %d bytes", c->root,
				     (int)plen, path, MAX_PATH_LEN);
	size_t newlen = plen;
	if (plen)
		path[newlen++] = '/';
	memcpy(path + newlen, name, nlen + 1);
	newlen += nlen;

	if (++c->count > c->max_entries)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %llu entries", c->root,
				     (unsigned long long)c->max_entries);
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT) { /* vanished while walking: not an error for a scan */
			path[plen] = '\0';
			return 0;
		}
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot stat", c->root, path);
	}
	char link[MAX_LINK_LEN + 1];
	bwk_entry e = {
	    .path = path,
	    .type = type_of(st.st_mode),
	    .mode = st.st_mode & 07777,
	    .uid = st.st_uid,
	    .gid = st.st_gid,
	    .size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0,
	    .mtime = st.st_mtime,
	    .layer_index = -1,
	    .visibility = BWK_VISIBLE,
	    .hidden_by = -1,
	};
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dfd, name, link, MAX_LINK_LEN);
		if (n >= 0) {
			link[n] = '\0';
			e.link = link;
		}
	}
	file_reader fr = {.dirfd = dfd, .name = name, .path = path, .st = st, .fd = -1};
	if (S_ISREG(st.st_mode)) {
		e.read = file_read;
		e.rctx = &fr;
	}
	int r = c->v->entry ? c->v->entry(c->v->ctx, &e, err) : 0;
	if (fr.fd >= 0)
		close(fr.fd);
	if (r < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (depth + 1 > c->max_depth)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s/%s: directories nested deeper than %u", c->root,
					     path, c->max_depth);
		cleanup_close int sub =
		    openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno == ENOENT || errno == EACCES) {
				/* unreadable directory: skip, the entry was still seen */
				path[plen] = '\0';
				return 0;
			}
			return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot open directory",
					     c->root, path);
		}
		if (walk_dir(c, steal_fd(&sub), path, newlen, depth + 1, err) < 0)
			return -1;
	}
	path[plen] = '\0';
	return 0;
}

/* Takes ownership of dfd. */
static int walk_dir(walk_ctx *c, int dfd, char *path, size_t plen, unsigned depth, bwk_error **err)
{
	cleanup_dir DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return bwk_error_set(err, BWK_E_IO, e, "%s/%s: cannot read directory", c->root,
				     path);
	}
	/* Sorted names give reproducible reports. */
	/* a directory holding more names than the walk visits fails the walk anyway */
	cleanup_strv_clear bwk_strv names = {.max = (size_t)c->max_entries};
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (bwk_strv_push(&names, de->d_name, err) < 0)
			return bwk_error_wrap(err, "%s/%s", c->root, path);
	}
	if (errno)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot read directory", c->root,
				     path);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_names);
	int ret = 0;
	for (size_t i = 0; i < names.n && ret == 0; i++)
		ret = visit(c, dirfd(d), names.v[i], path, plen, depth, err);
	return ret;
}

int bwk_rootfs_walk(const char *root, const bwk_rootfs_opts *opts, const bwk_visitor *v,
		    bwk_error **err)
{
	walk_ctx c = {
	    .v = v,
	    .max_entries = opts && opts->max_entries ? opts->max_entries : DEFAULT_MAX_ENTRIES,
	    .max_depth = opts && opts->max_depth ? opts->max_depth : DEFAULT_MAX_DEPTH,
	    .root = root,
	};
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: cannot open directory", root);
	char path[MAX_PATH_LEN + 1] = "";
	if (v->layer_begin && v->layer_begin(v->ctx, 0, -1, NULL, err) < 0) {
		close(fd);
		return -1;
	}
	if (walk_dir(&c, fd, path, 0, 0, err) < 0)
		return -1;
	if (v->layer_end && v->layer_end(v->ctx, 0, -1, err) < 0)
		return -1;
	return 0;
}
