/* Outer image archives (docker save, a tar of an OCI layout).
 *
 * The blobs inside are read where they lie: one pass over the tar headers (seeking over the
 * data) records each member's offset and size, then layers are read with pread windows, which
 * lets several layers stream at once from one fd and never copies the archive. A compressed
 * archive (image.tar.gz, image.tar.zst) cannot be seeked, so it is decompressed once into an
 * unlinked temporary file (O_TMPFILE under $TMPDIR) and indexed the same way; see
 * docs/design/image.md for why this beats re-decompressing per layer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

#define BLOCK 512

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : (int)done;
		done += (size_t)r;
	}
	return (int)done;
}

static int parse_num(const unsigned char *f, size_t n, uint64_t *out)
{
	if (f[0] & 0x80) { /* GNU base-256 */
		if (f[0] != 0x80)
			return -1; /* negative or absurd */
		uint64_t v = 0;
		for (size_t i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static bool checksum_ok(const unsigned char *h)
{
	uint64_t want;
	if (parse_num(h + 148, 8, &want) < 0)
		return false;
	unsigned long sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* pax records "LEN key=value\n": take path and size. */
static int parse_pax(const char *p, size_t n, char **path, uint64_t *size, bool *has_size)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i, len = 0;
		while (j < n && p[j] >= '0' && p[j] <= '9' && len < 1000000)
			len = len * 10 + (size_t)(p[j++] - '0');
		if (j >= n || p[j] != ' ' || len == 0 || len > n - i)
			return -1;
		const char *kv = p + j + 1, *end = p + i + len;
		if (end[-1] != '\n' || kv >= end)
			return -1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));
		if (!eq)
			return -1;
		size_t klen = (size_t)(eq - kv), vlen = (size_t)(end - 1 - eq - 1);
		if (klen == 4 && !memcmp(kv, "path", 4)) {
			free(*path);
			*path = xstrndup(eq + 1, vlen);
		} else if (klen == 4 && !memcmp(kv, "size", 4)) {
			char *num = xstrndup(eq + 1, vlen), *e = NULL;
			errno = 0;
			unsigned long long v = strtoull(num, &e, 10);
			bool ok = !errno && e && !*e && vlen;
			free(num);
			if (!ok)
				return -1;
			*size = v;
			*has_size = true;
		}
		i += len;
	}
	return 0;
}

void tar_index_free(tar_index *idx)
{
	for (size_t i = 0; i < idx->n; i++)
		free(idx->m[i].name);
	free(idx->m);
	idx->m = NULL;
	idx->n = 0;
}

static int index_members(int fd, const char *what, tar_index *idx, bwk_error **err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot stat", what);
	uint64_t fsize = (uint64_t)st.st_size, off = 0;
	size_t cap = 0;
	cleanup_free char *longname = NULL;
	cleanup_free char *paxpath = NULL;
	uint64_t paxsize = 0;
	bool has_paxsize = false;
	idx->m = NULL;
	idx->n = 0;
	for (;;) {
		unsigned char h[BLOCK];
		int r = pread_full(fd, h, BLOCK, off);
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", what);
		if (r == 0 && off > 0)
			break; /* no end-of-archive blocks: accepted, as GNU tar does */
		if (r < BLOCK)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: truncated tar header at offset %llu", what,
					     (unsigned long long)off);
		bool zero = true;
		for (int i = 0; i < BLOCK && zero; i++)
			zero = h[i] == 0;
		if (zero)
			break;
		if (!checksum_ok(h))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: not a tar archive (bad header checksum at offset "
					     "%llu)",
					     what, (unsigned long long)off);
		uint64_t size;
		if (parse_num(h + 124, 12, &size) < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0, "%s: bad member size at %llu",
					     what, (unsigned long long)off);
		char type = (char)h[156];
		uint64_t data = off + BLOCK;
		if (data > fsize || size > fsize - data)
			return bwk_error_set(
			    err, BWK_E_INPUT, 0,
			    "%s: truncated archive (member at offset %llu runs past "
			    "the end)",
			    what, (unsigned long long)off);
		uint64_t next = data + ((size + BLOCK - 1) / BLOCK) * BLOCK;
		if (type == 'L' || type == 'x') {
			if (size > BWK_MAX_PATH * 4)
				return bwk_error_set(err, BWK_E_LIMIT, 0,
						     "%s: extended header of %llu bytes at %llu",
						     what, (unsigned long long)size,
						     (unsigned long long)off);
			cleanup_free char *buf = xmalloc(size + 1);
			if (pread_full(fd, buf, size, data) != (int)size)
				return bwk_error_set(err, BWK_E_INPUT, 0, "%s: truncated archive",
						     what);
			buf[size] = '\0';
			if (type == 'L') {
				free(longname);
				longname = xstrndup(buf, size);
			} else if (parse_pax(buf, size, &paxpath, &paxsize, &has_paxsize) < 0) {
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "%s: malformed pax header at offset %llu",
						     what, (unsigned long long)off);
			}
			off = next;
			continue;
		}
		if (type == 'g' || type == 'K') { /* global pax, GNU long link: not needed */
			off = next;
			continue;
		}
		if (has_paxsize) {
			size = paxsize;
			if (size > fsize - data)
				return bwk_error_set(err, BWK_E_INPUT, 0, "%s: truncated archive",
						     what);
			next = data + ((size + BLOCK - 1) / BLOCK) * BLOCK;
		}
		char raw[BWK_MAX_PATH + 1];
		const char *name = paxpath ? paxpath : longname;
		if (!name) {
			size_t pl = strnlen((const char *)h + 345, 155);
			size_t nl = strnlen((const char *)h, 100);
			bool ustar = !memcmp(h + 257, "ustar", 5);
			size_t o = 0;
			if (ustar && pl) {
				memcpy(raw, h + 345, pl);
				o = pl;
				raw[o++] = '/';
			}
			memcpy(raw + o, h, nl);
			raw[o + nl] = '\0';
			name = raw;
		}
		char norm[BWK_MAX_PATH + 1];
		bwk_path_status ps =
		    strlen(name) > BWK_MAX_PATH ? BWK_PATH_TOOLONG : bwk_path_normalise(name, norm);
		if (ps == BWK_PATH_OK) {
			if (idx->n == BWK_MAX_MEMBERS) {
				tar_index_free(idx);
				return bwk_error_set(err, BWK_E_LIMIT, 0,
						     "%s: more than %u members", what,
						     BWK_MAX_MEMBERS);
			}
			if (idx->n == cap) {
				cap = cap ? cap * 2 : 64;
				idx->m = xrealloc(idx->m, cap * sizeof(*idx->m));
			}
			idx->m[idx->n++] = (tar_member){
			    .name = xstrdup(norm), .off = data, .size = size, .type = type};
		}
		free(longname);
		longname = NULL;
		free(paxpath);
		paxpath = NULL;
		has_paxsize = false;
		off = next;
	}
	return 0;
}

int tar_index_build(int fd, const char *what, tar_index *idx, bwk_error **err)
{
	if (index_members(fd, what, idx, err) < 0) {
		tar_index_free(idx);
		return -1;
	}
	return 0;
}

const tar_member *tar_index_find(const tar_index *idx, const char *name)
{
	char norm[BWK_MAX_PATH + 1];
	if (strlen(name) > BWK_MAX_PATH || bwk_path_normalise(name, norm) != BWK_PATH_OK)
		return NULL;
	/* the last member of a name wins, as when the tar is extracted */
	for (size_t i = idx->n; i-- > 0;)
		if (!strcmp(idx->m[i].name, norm))
			return &idx->m[i];
	return NULL;
}

int bwk_decompress_to_tmp(int fd, bwk_comp comp, const char *what, uint64_t max_total,
			  uint64_t max_ratio, bwk_error **err)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	cleanup_close int out = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0) {
		cleanup_free char *tmpl = xasprintf("%s/bulwark-XXXXXX", dir);
		out = mkostemp(tmpl, O_CLOEXEC);
		if (out < 0)
			return bwk_error_set(
			    err, BWK_E_IO, errno,
			    "%s: cannot create a temporary file in %s (set TMPDIR)", what, dir);
		unlink(tmpl);
	}
	decomp *d = decomp_new(comp);
	cleanup_free unsigned char *in = xmalloc(BWK_STREAM_BUF);
	cleanup_free unsigned char *ob = xmalloc(BWK_STREAM_BUF);
	uint64_t tin = 0, tout = 0;
	size_t inlen = 0, inpos = 0;
	bool eof = false;
	int ret = -1;
	for (;;) {
		if (inpos == inlen && !eof) {
			ssize_t r = read(fd, in, BWK_STREAM_BUF);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", what);
				goto out;
			}
			inlen = (size_t)r;
			inpos = 0;
			eof = r == 0;
			tin += (uint64_t)r;
		}
		size_t c, p;
		if (decomp_run(d, in + inpos, inlen - inpos, &c, ob, BWK_STREAM_BUF, &p, err) < 0) {
			bwk_error_wrap(err, "%s", what);
			goto out;
		}
		inpos += c;
		tout += p;
		if (!c && !p && inpos < inlen) {
			bwk_error_set(err, BWK_E_INPUT, 0, "%s: corrupt compressed data", what);
			goto out;
		}
		if (tout > max_total) {
			bwk_error_set(err, BWK_E_LIMIT, 0,
				      "%s: decompresses to more than %llu bytes (the size limit)",
				      what, (unsigned long long)max_total);
			goto out;
		}
		if (tout > BWK_RATIO_FLOOR && tout / (tin ? tin : 1) > max_ratio) {
			bwk_error_set(err, BWK_E_LIMIT, 0,
				      "%s: decompresses to more than %llu times its size "
				      "(a decompression bomb?)",
				      what, (unsigned long long)max_ratio);
			goto out;
		}
		for (size_t w = 0; w < p;) {
			ssize_t r = write(out, ob + w, p - w);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				bwk_error_set(err, BWK_E_IO, errno,
					      "%s: cannot write the decompressed copy in %s (set "
					      "TMPDIR to a larger filesystem)",
					      what, dir);
				goto out;
			}
			w += (size_t)r;
		}
		if (eof && inpos == inlen && p == 0) {
			if (!decomp_at_boundary(d)) {
				bwk_error_set(err, BWK_E_INPUT, 0,
					      "%s: unexpected end of compressed data (truncated?)",
					      what);
				goto out;
			}
			break;
		}
	}
	ret = steal_fd(&out);
out:
	decomp_free(d);
	return ret;
}

/* Without openat2 (kernel < 5.6, or a seccomp filter answering ENOSYS/EPERM): one component
 * at a time, each O_NOFOLLOW, the parents O_DIRECTORY, which refuses a symlink or a FIFO
 * anywhere on the way just as RESOLVE_NO_SYMLINKS does. `norm` is normalised (no "..", no
 * leading '/'). */
static int open_walk(int dirfd, const char *norm, int flags)
{
	int fd = dup(dirfd);
	const char *p = norm;
	while (fd >= 0) {
		const char *slash = strchr(p, '/');
		if (!slash)
			break;
		char comp[BWK_MAX_PATH + 1];
		memcpy(comp, p, (size_t)(slash - p));
		comp[slash - p] = '\0';
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		struct stat st;
		/* O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR: say what openat2 would */
		if (nfd < 0 && e == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		close(fd);
		errno = e;
		fd = nfd;
		p = slash + 1;
	}
	if (fd < 0)
		return -1;
	int r = openat(fd, p, flags);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* Open a part of an OCI layout directory (index.json, oci-layout, a blob) beneath the layout's
 * fd: no symlink anywhere on the path (a blobs/ -> /somewhere link would make us read, and
 * report on, files outside the image), O_NONBLOCK so that a FIFO cannot hang us before fstat
 * refuses it, and nothing but a regular file is ever read. */
static int open_in_layout(int dirfd, const char *name, uint64_t *size, bwk_error **err)
{
	char norm[BWK_MAX_PATH + 1];
	if (strlen(name) > BWK_MAX_PATH || bwk_path_normalise(name, norm) != BWK_PATH_OK)
		return bwk_error_set(err, BWK_E_UNSAFE, 0, "%s: not a path inside the layout",
				     name);
	int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
	int fd = bwk_openat2(dirfd, norm, (uint64_t)flags, 0,
			     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG || errno == EINVAL))
		fd = open_walk(dirfd, norm, flags);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP || e == EXDEV)
			return bwk_error_set(err, BWK_E_UNSAFE, 0,
					     "%s: a symlink in the OCI layout: refusing to follow "
					     "it (the layout's files must be real files inside it)",
					     name);
		if (e == ENXIO || e == ENOTDIR)
			return bwk_error_set(err, BWK_E_INPUT, e,
					     "%s: not a regular file in the OCI layout (a socket, "
					     "or a parent that is not a directory)",
					     name);
		return bwk_error_set(err, e == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, e,
				     "%s: cannot open", name);
	}
	cleanup_close int cfd = fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot stat", name);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not a regular file in the OCI layout (%s): refusing to "
				     "read it",
				     name,
				     S_ISFIFO(st.st_mode)   ? "a FIFO"
				     : S_ISDIR(st.st_mode)  ? "a directory"
				     : S_ISSOCK(st.st_mode) ? "a socket"
							    : "a device");
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: fcntl", name);
	*size = (uint64_t)st.st_size;
	return steal_fd(&cfd);
}

int blob_src_open(const blob_src *s, const char *name, blob_window *w, bwk_error **err)
{
	if (s->store) /* streams only: layer_stream_open asks the store itself */
		return bwk_error_set(err, BWK_E_INTERNAL, 0, "%s: a store has no file windows",
				     name);
	if (s->tarfd >= 0) {
		const tar_member *m = tar_index_find(&s->idx, name);
		if (!m || (m->type != '0' && m->type != '\0' && m->type != '7'))
			return bwk_error_set(err, BWK_E_NOTFOUND, 0,
					     "%s: not in the archive (incomplete image?)", name);
		*w = (blob_window){.fd = s->tarfd, .off = m->off, .len = m->size};
		return 0;
	}
	uint64_t size;
	int fd = open_in_layout(s->dirfd, name, &size, err);
	if (fd < 0)
		return -1;
	*w = (blob_window){.fd = fd, .off = 0, .len = size};
	return 0;
}

bool blob_src_exists(const blob_src *s, const char *name)
{
	if (s->store)
		return false; /* a store is never detected: its row is named by prefix */
	if (s->tarfd >= 0)
		return tar_index_find(&s->idx, name) != NULL;
	/* Present in any form: a FIFO or a symlink in its place is refused with a clear error
	 * when it is opened, not taken for "not an image". */
	struct stat st;
	return fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A store knows blobs by digest only: "blobs/sha256/HEX" is the one name form it serves. */
static int store_read(const blob_src *s, const char *name, size_t max, char **data, size_t *len,
		      bwk_error **err)
{
	char digest[72];
	if (strncmp(name, "blobs/sha256/", 13) != 0 || strlen(name) != 13 + 64)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0, "%s: not a blob of the store", name);
	snprintf(digest, sizeof(digest), "sha256:%s", name + 13);
	if (!bwk_digest_valid(digest))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a sha256 digest", name);
	*data = NULL;
	if (s->store->read_blob(s->store->ctx, digest, max, data, len, err) < 0)
		return -1;
	if (*len > max) {
		free(*data);
		*data = NULL;
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %zu bytes, over the %zu-byte limit",
				     digest, *len, max);
	}
	return 0;
}

int blob_src_read_all(const blob_src *s, const char *name, size_t max, char **data, size_t *len,
		      bwk_error **err)
{
	if (s->store)
		return store_read(s, name, max, data, len, err);
	blob_window w = {.fd = -1};
	if (blob_src_open(s, name, &w, err) < 0)
		return -1;
	int ret = -1;
	char *buf = NULL;
	if (w.len > max) {
		bwk_error_set(err, BWK_E_LIMIT, 0, "%s: %llu bytes, over the %zu-byte limit", name,
			      (unsigned long long)w.len, max);
	} else {
		buf = xmalloc(w.len + 1);
		if (pread_full(w.fd, buf, w.len, w.off) != (int)w.len) {
			free(buf);
			bwk_error_set(err, BWK_E_IO, errno, "%s: short read", name);
		} else {
			buf[w.len] = '\0';
			*data = buf;
			*len = w.len;
			ret = 0;
		}
	}
	if (s->tarfd < 0)
		close(w.fd);
	return ret;
}
