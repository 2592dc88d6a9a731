/* The content-addressed blob cache of `run` and `unpack` (CACHE/blobs/sha256/<hex>): what a
 * registry served, kept by digest, so that a second run of an image downloads nothing and two
 * images that share a base layer download it once.
 *
 * Threats and failures: a registry (or the path to it) may serve other bytes than the digest
 * names, stop half way, or ignore a Range request. A download is <hex>.partial, which a later
 * run continues with "Range: bytes=N-" (an interrupted pull of a large layer is not started
 * over); it becomes <hex> only after the digest and the size were checked over the whole
 * file, by a rename (a reader sees the whole blob or none). A mismatch deletes the partial
 * file. Nothing is fsynced (an fsync per blob made a cold run wait for the writeback of the
 * whole disk on a busy host): a cached blob is checked again whenever it is read, so one torn
 * by a power loss is removed and downloaded again. Concurrent processes take an flock per
 * blob (<hex>.lock), so a blob is downloaded once. The directory is bounded: after a blob is
 * added, the least recently used blobs that the current image does not use are removed until
 * the total fits. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "registry/registry_private.h"

struct reg_cache {
	int dfd;
	char *dir;
	uint64_t max;
	pthread_mutex_t lock; /* keep */
	char **keep;	      /* digests this image uses: never evicted by its own trim */
	size_t nkeep;
};

int reg_cache_open(const char *dir, uint64_t max, reg_cache **out, bwk_error **err)
{
	*out = NULL;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open the blob cache", dir);
	reg_cache *c = xcalloc(1, sizeof(*c));
	c->dfd = dfd;
	c->dir = xstrdup(dir);
	c->max = max ? max : BWK_REG_CACHE_MAX;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void reg_cache_free(reg_cache *c)
{
	if (!c)
		return;
	close(c->dfd);
	free(c->dir);
	for (size_t i = 0; i < c->nkeep; i++)
		free(c->keep[i]);
	free(c->keep);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void keep(reg_cache *c, const char *hex)
{
	pthread_mutex_lock(&c->lock);
	c->keep = xrealloc(c->keep, (c->nkeep + 1) * sizeof(*c->keep));
	c->keep[c->nkeep++] = xstrdup(hex);
	pthread_mutex_unlock(&c->lock);
}

static bool kept(reg_cache *c, const char *name)
{
	bool k = false;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nkeep && !k; i++)
		k = !strcmp(c->keep[i], name);
	pthread_mutex_unlock(&c->lock);
	return k;
}

static bool is_hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && !s[64];
}

/* A complete blob, opened for reading and marked as used now (for the LRU order), or -1. */
int reg_cache_open_blob(reg_cache *c, const char *digest)
{
	const char *hex = digest + 7;
	int fd = openat(c->dfd, hex, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	futimens(fd, NULL);
	keep(c, hex);
	return fd;
}

int reg_cache_read(reg_cache *c, const char *digest, size_t max, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	cleanup_close int fd = reg_cache_open_blob(c, digest);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size > max)
		return 0;
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = 0;
	char hex[65];
	bwk_sha256_hex(buf, got, hex);
	if (strcmp(hex, digest + 7)) {
		/* torn (see above): forget it, the caller downloads it again */
		free(buf);
		unlinkat(c->dfd, digest + 7, 0);
		return 0;
	}
	*data = buf;
	*len = got;
	return 1;
}

static int write_all_at(int fd, const void *data, size_t len, uint64_t off)
{
	const char *p = data;
	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		off += (uint64_t)w;
		len -= (size_t)w;
	}
	return 0;
}

void reg_cache_put(reg_cache *c, const void *data, size_t len)
{
	char hex[65];
	bwk_sha256_hex(data, len, hex);
	struct stat st;
	if (fstatat(c->dfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return;
	cleanup_free char *tmp = xasprintf("%s.tmp-%d", hex, (int)getpid());
	cleanup_close int fd =
	    openat(c->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return; /* best effort: the document is in memory either way */
	if (write_all_at(fd, data, len, 0) < 0 || renameat(c->dfd, tmp, c->dfd, hex) < 0)
		unlinkat(c->dfd, tmp, 0);
	keep(c, hex);
}

/* ---- downloads, resumable ----------------------------------------------------------------- */
typedef struct dl {
	int fd;
	bwk_sha256 *h;
	uint64_t off, size;
	long status;
	bool started;
	const char *host, *digest;
	bwk_error **err;
} dl;

static int dl_sink(void *ctx, const void *data, size_t len)
{
	dl *d = ctx;
	if (!d->started) {
		d->started = true;
		/* a server that ignores Range sends the whole blob (200): start over */
		if (d->status == 200 && d->off > 0) {
			if (ftruncate(d->fd, 0) < 0)
				return bwk_error_set(d->err, BWK_E_IO, errno, "truncating blob %s",
						     d->digest);
			bwk_sha256_free(d->h);
			d->h = bwk_sha256_new();
			d->off = 0;
		}
	}
	uint64_t bound = d->size ? d->size : REG_MAX_BLOB;
	if (d->off + len > bound)
		return bwk_error_set(d->err, BWK_E_INTEGRITY, 0,
				     "registry %s: blob %s is larger than the %llu bytes %s",
				     d->host, d->digest, (unsigned long long)bound,
				     d->size ? "its manifest gives" : "allowed");
	bwk_sha256_update(d->h, data, len);
	if (write_all_at(d->fd, data, len, d->off) < 0)
		return bwk_error_set(d->err, BWK_E_IO, errno, "writing blob %s", d->digest);
	d->off += len;
	return 0;
}

/* The partial file's bytes into the hash (they were written by us, but are checked again with
 * the rest: the digest is verified over the whole file). */
static int hash_prefix(int fd, bwk_sha256 *h, uint64_t n)
{
	cleanup_free char *buf = xmalloc(1 << 16);
	uint64_t off = 0;
	while (off < n) {
		size_t want = n - off < (1 << 16) ? (size_t)(n - off) : (1 << 16);
		ssize_t r = pread(fd, buf, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		bwk_sha256_update(h, buf, (size_t)r);
		off += (uint64_t)r;
	}
	return 0;
}

static int download(reg_cache *c, reg_client *cl, const char *repo, const char *digest,
		    uint64_t size, int pfd, const char *pname, bwk_error **err)
{
	const char *host = reg_client_host(cl);
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: stat", c->dir, pname);
	dl d = {.fd = pfd,
		.h = bwk_sha256_new(),
		.off = (uint64_t)st.st_size,
		.size = size,
		.host = host,
		.digest = digest,
		.err = err};
	if ((size && d.off > size) || hash_prefix(pfd, d.h, d.off) < 0) {
		/* not a prefix of this blob: start over */
		if (ftruncate(pfd, 0) < 0) {
			bwk_sha256_free(d.h);
			return bwk_error_set(err, BWK_E_IO, errno, "%s/%s", c->dir, pname);
		}
		bwk_sha256_free(d.h);
		d.h = bwk_sha256_new();
		d.off = 0;
	}
	cleanup_free char *what = xasprintf("blob %s of %s", digest, repo);
	int rc = 0;
	if (!size || d.off < size) {
		cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", repo, digest);
		cleanup_free char *scope = xasprintf("repository:%s:pull", repo);
		reg_req rq = {.path = path,
			      .sink = dl_sink,
			      .sink_ctx = &d,
			      .sink_status = &d.status,
			      .blob = true,
			      .scope = scope,
			      .range_from = d.off};
		reg_resp r = {0};
		rc = reg_request(cl, &rq, &r, err);
		/* 416: nothing past our end (the partial file is whole): checked below */
		if (rc == 0 && r.status != 200 && r.status != 206 && r.status != 416)
			rc = reg_status_error(cl, &r, what, err);
		reg_resp_free(&r);
		if (rc < 0) {
			bwk_sha256_free(d.h);
			if (bwk_error_code(err ? *err : NULL) != BWK_E_INTEGRITY && d.off > 0)
				return bwk_error_wrap(err,
						      "%s: interrupted after %llu of %llu bytes "
						      "(kept: run again to resume)",
						      what, (unsigned long long)d.off,
						      (unsigned long long)size);
			if (bwk_error_code(err ? *err : NULL) == BWK_E_INTEGRITY)
				unlinkat(c->dfd, pname, 0);
			return -1;
		}
	}
	char hex[65];
	bwk_sha256_final_hex(d.h, hex);
	bwk_sha256_free(d.h);
	if (strcmp(hex, digest + 7) || (size && d.off != size)) {
		unlinkat(c->dfd, pname, 0);
		if (strcmp(hex, digest + 7))
			return bwk_error_set(err, BWK_E_INTEGRITY, 0,
					     "registry %s: %s does not match its digest (got "
					     "sha256:%s): the registry or something on the path "
					     "altered it; the download was deleted",
					     host, what, hex);
		return bwk_error_set(err, BWK_E_INTEGRITY, 0,
				     "registry %s: %s has %llu bytes, its manifest says %llu; the "
				     "download was deleted",
				     host, what, (unsigned long long)d.off,
				     (unsigned long long)size);
	}
	if (renameat(c->dfd, pname, c->dfd, digest + 7) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot move into the cache",
				     c->dir, pname);
	return 0;
}

/* A cached blob that still has its digest and size, or -1 (a torn one is removed). */
static int cached_whole(reg_cache *c, const char *digest, uint64_t size)
{
	int fd = reg_cache_open_blob(c, digest);
	if (fd < 0)
		return -1;
	struct stat st;
	bwk_sha256 *h = bwk_sha256_new();
	char hex[65] = "";
	bool ok = fstat(fd, &st) == 0 && (!size || (uint64_t)st.st_size == size) &&
		  hash_prefix(fd, h, (uint64_t)st.st_size) == 0;
	bwk_sha256_final_hex(h, hex);
	bwk_sha256_free(h);
	if (ok && !strcmp(hex, digest + 7))
		return fd;
	close(fd);
	unlinkat(c->dfd, digest + 7, 0);
	return -1;
}

int reg_cache_fetch(reg_cache *c, reg_client *cl, const char *repo, const char *digest,
		    uint64_t size, bwk_error **err)
{
	if (!reg_digest_valid(digest))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "blob digest '%.80s' of %s is not sha256", digest, repo);
	const char *hex = digest + 7;
	int fd = cached_whole(c, digest, size);
	if (fd >= 0)
		return fd;
	cleanup_free char *lname = xasprintf("%s.lock", hex);
	cleanup_close int lk =
	    openat(c->dfd, lname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lk < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot open the lock", c->dir,
				     lname);
	while (flock(lk, LOCK_EX) < 0)
		if (errno != EINTR)
			return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: flock", c->dir, lname);
	fd = cached_whole(c, digest, size); /* another process finished it meanwhile */
	if (fd >= 0)
		return fd;
	cleanup_free char *pname = xasprintf("%s.partial", hex);
	cleanup_close int pfd =
	    openat(c->dfd, pname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (pfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot create", c->dir, pname);
	if (download(c, cl, repo, digest, size, pfd, pname, err) < 0)
		return -1;
	fd = reg_cache_open_blob(c, digest);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot open", c->dir, hex);
	reg_cache_trim(c);
	return fd;
}

/* ---- the size bound ------------------------------------------------------------------------ */
typedef struct cached {
	char name[72];
	uint64_t size;
	struct timespec used;
} cached;

static int by_use(const void *a, const void *b)
{
	const cached *x = a, *y = b;
	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

uint64_t reg_cache_trim(reg_cache *c)
{
	int fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	cached *v = NULL;
	size_t n = 0;
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (fstatat(c->dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		total += (uint64_t)st.st_size; /* partial downloads count too */
		if (!is_hex64(de->d_name) || kept(c, de->d_name))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memcpy(v[n].name, de->d_name, 65); /* 64 hex digits and the NUL */
		v[n].size = (uint64_t)st.st_size;
		v[n].used = st.st_mtim;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), by_use);
	for (size_t i = 0; i < n && total > c->max; i++)
		if (unlinkat(c->dfd, v[i].name, 0) == 0)
			total -= v[i].size; /* its lock file stays: another process may hold it */
	free(v);
	return total;
}
