/* Source "docker": docker:NAME[:TAG] from a Docker engine, over its API (GET /images/{name}/get) at
 * the endpoint core/engine_client.h picks like the docker CLI (DOCKER_HOST unix:// or tcp://, TLS
 * with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; default /var/run/docker.sock), with libcurl.
 *
 * The engine sends a docker-save tar whose member order we do not control (Docker 20.10 puts
 * manifest.json last), and the image is never written whole to disk. So the archive is
 * streamed twice: the first pass keeps only the small documents (manifest.json, configs,
 * index.json: ≤ 4 MiB each, 32 MiB in all) in a memfd shaped as a tar, which the ordinary
 * docker-archive/OCI readers then parse; the second pass walks each layer as it goes by.
 * Walks and the layer cache take layers in any order; unpack needs them bottom first, so a
 * layer that arrives before its turn is spooled to an unlinked temporary file (one layer at
 * a time is the most that order ever forces; documented in docs/design/image.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>

#include "core/cleanup.h"
#include "core/engine_client.h"
#include "core/util.h"
#include "image/image_private.h"

#define KEEP_MAX_MEMBER (4u << 20)
#define KEEP_MAX_TOTAL	(32u << 20)

struct engine_ctx {
	char *name;  /* image name as the user gave it */
	char *label; /* "docker:NAME", "podman:NAME": for messages */
	bwk_endpoint ep;
};

typedef struct fetch {
	CURL *curl;
	int wfd; /* our end of the socketpair */
	long status;
	bwk_strbuf errbody;
	char curlerr[CURL_ERROR_SIZE];
	CURLcode rc;
	pthread_t th;
	bool started;
} fetch;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	fetch *f = ud;
	size_t len = sz * n;
	if (!f->status)
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &f->status);
	if (f->status >= 400) {
		bwk_strbuf_appendn(&f->errbody, p, len);
		return len;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(f->wfd, p + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0; /* the reader went away: abort the transfer */
		off += (size_t)w;
	}
	return len;
}

static void *fetch_main(void *p)
{
	fetch *f = p;
	f->rc = curl_easy_perform(f->curl);
	if (!f->status)
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &f->status);
	shutdown(f->wfd, SHUT_WR);
	close(f->wfd);
	f->wfd = -1;
	return NULL;
}

/* Start GET /images/NAME/get; returns the fd to read the tar from. */
static int fetch_start(engine_ctx *e, fetch *f, bwk_error **err)
{
	memset(f, 0, sizeof(*f));
	f->wfd = -1;
	bwk_strbuf_init(&f->errbody, 4096);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "socketpair");
	/* the name goes into the path: escape every reserved character (a tag's ':' too) */
	char *esc = curl_easy_escape(NULL, e->name, 0);
	if (!esc) {
		close(sv[0]);
		close(sv[1]);
		return bwk_error_set(err, BWK_E_NOMEM, 0, "%s: cannot escape the name", e->label);
	}
	cleanup_free char *path = xasprintf("/images/%s/get", esc);
	curl_free(esc);
	if (bwk_endpoint_curl(&e->ep, path, f->curlerr, &f->curl, err) < 0) {
		close(sv[0]);
		close(sv[1]);
		return bwk_error_wrap(err, "%s", e->label);
	}
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	f->wfd = sv[1];
	if (pthread_create(&f->th, NULL, fetch_main, f) != 0) {
		close(sv[0]);
		close(sv[1]);
		curl_easy_cleanup(f->curl);
		return bwk_error_set(err, BWK_E_IO, errno, "pthread_create");
	}
	f->started = true;
	return sv[0];
}

/* Wait for the transfer; turn HTTP/curl failures into an error (they explain an empty or
 * truncated stream better than the tar reader can). */
static int fetch_finish(engine_ctx *e, fetch *f, int rfd, bool reader_ok, bwk_error **err)
{
	if (rfd >= 0) {
		/* the tar reader stops at the end-of-archive blocks; take the record padding
		 * that follows (bounded) so that the engine sees a complete transfer */
		char buf[16384];
		size_t drained = 0;
		ssize_t n;
		while (reader_ok && drained < (1u << 20) &&
		       ((n = read(rfd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)))
			drained += n > 0 ? (size_t)n : 0;
		close(rfd);
	}
	if (f->started)
		pthread_join(f->th, NULL);
	int ret = 0;
	if (f->status >= 400) {
		cleanup_free char *body = bwk_strbuf_steal(&f->errbody);
		cleanup_free char *tls = bwk_endpoint_explain_status(&e->ep, f->status, body);
		/* the engine answers {"message":"…"}: show it as is, one line, bounded */
		int bl = (int)strcspn(body, "\r\n");
		if (tls)
			ret = bwk_error_set(err, BWK_E_INPUT, 0, "%s: engine %s: %s", e->label,
					    e->ep.host, tls);
		else
			ret = bwk_error_set(err, f->status == 404 ? BWK_E_NOTFOUND : BWK_E_IO, 0,
					    "%s: the engine answered HTTP %ld: %.*s", e->label,
					    f->status, bl > 300 ? 300 : bl, body);
	} else if (f->rc != CURLE_OK && f->rc != CURLE_WRITE_ERROR) {
		/* a write error means we stopped reading (our own error, or a stream that did
		 * not end after its tar): never the engine's fault */
		cleanup_free char *why = bwk_endpoint_explain(&e->ep, f->curl, f->rc, f->curlerr);
		ret =
		    bwk_error_set(err, BWK_E_IO, 0, "%s: engine %s: %s", e->label, e->ep.host, why);
	}
	bwk_strbuf_free(&f->errbody);
	if (f->curl)
		curl_easy_cleanup(f->curl);
	return ret;
}

static int tar_append(int fd, const char *name, const void *data, size_t len)
{
	unsigned char h[512] = {0};
	size_t nl = strlen(name);
	if (nl >= 100)
		return -1;
	/* NOLINTBEGIN(bugprone-not-null-terminated-result): fixed-width header fields */
	memcpy(h, name, nl);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)len);
	memcpy(h + 136, "00000000000", 12);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	/* NOLINTEND(bugprone-not-null-terminated-result) */
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	static const unsigned char zero[512];
	size_t pad = (512 - len % 512) % 512;
	if (write(fd, h, 512) != 512 || (len && write(fd, data, len) != (ssize_t)len) ||
	    (pad && write(fd, zero, pad) != (ssize_t)pad))
		return -1;
	return 0;
}

static struct archive *outer_open(int fd)
{
	struct archive *a = archive_read_new();
	if (!a)
		abort();
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 64 << 10) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

static bool keep_member(const char *name, int64_t size)
{
	return size >= 0 && size <= (int64_t)KEEP_MAX_MEMBER &&
	       !bwk_str_endswith(name, "layer.tar");
}

/* ---- the documents cache (#18): keyed by the engine's image ID --------------------------- */
#define ID_JSON_MAX (4u << 20)

static size_t on_json(char *p, size_t sz, size_t n, void *ud)
{
	bwk_strbuf *b = ud;
	if (b->len + sz * n > ID_JSON_MAX)
		return 0; /* over the bound: abort the transfer */
	bwk_strbuf_appendn(b, p, sz * n);
	return sz * n;
}

/* The engine's ID of NAME (GET /images/NAME/json), or NULL when it cannot say: the cache is
 * then not used, nothing fails. */
static char *engine_image_id(engine_ctx *e)
{
	char *esc = curl_easy_escape(NULL, e->name, 0);
	if (!esc)
		return NULL;
	cleanup_free char *path = xasprintf("/images/%s/json", esc);
	curl_free(esc);
	char curlerr[CURL_ERROR_SIZE];
	CURL *c = NULL;
	bwk_error *err = NULL;
	if (bwk_endpoint_curl(&e->ep, path, curlerr, &c, &err) < 0) {
		bwk_error_free(err);
		return NULL;
	}
	bwk_strbuf b;
	bwk_strbuf_init(&b, 4096);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_json);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	long status = 0;
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	cleanup_free char *body = bwk_strbuf_steal(&b);
	if (rc != CURLE_OK || status != 200)
		return NULL;
	json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
	json_t *id = j ? json_object_get(j, "Id") : NULL;
	char *out = json_is_string(id) && bwk_digest_valid(json_string_value(id))
			? xstrdup(json_string_value(id))
			: NULL;
	if (j)
		json_decref(j);
	return out;
}

/* CACHE/images/docker, opened (created 0700) without following a symlink at its end. */
static int docs_dir(const bwk_image *img, bwk_error **err)
{
	cleanup_free char *root = image_cache_root(img->opts.cache_dir);
	if (!root)
		return bwk_error_set(err, BWK_E_USAGE, 0, IMAGE_NO_CACHE_DIR);
	cleanup_free char *dir = xasprintf("%s/images/docker", root);
	if (image_mkdir_p(dir, 0700, err) < 0)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", dir);
	return fd;
}

/* The documents of image `id` as kept by an earlier run, or -1. The file is ours (written
 * atomically below into a 0700 directory); what it holds is still checked as any archive. */
static int docs_cached(int dfd, const char *id)
{
	cleanup_free char *name = xasprintf("%s.tar", id + 7);
	return openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Keep the documents tar (mfd) for image `id`: a temporary file renamed into place, so that a
 * concurrent run sees the whole file or none. Best effort: the image is open either way. */
static void docs_keep(int dfd, const char *id, int mfd)
{
	cleanup_free char *name = xasprintf("%s.tar", id + 7);
	cleanup_free char *tmp = xasprintf("%s.tmp-%d", name, (int)getpid());
	int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return;
	char buf[65536];
	off_t off = 0;
	ssize_t n;
	bool ok = true;
	while (ok && (n = pread(mfd, buf, sizeof(buf), off)) > 0) {
		ok = write(out, buf, (size_t)n) == n;
		off += n;
	}
	ok = ok && fsync(out) == 0;
	close(out);
	if (!ok || renameat(dfd, tmp, dfd, name) < 0)
		unlinkat(dfd, tmp, 0);
}

/* The engine's save is a docker-archive (Docker 25+: with an OCI layout inside). */
static int open_docs(bwk_image *img, const char *name, bwk_error **err)
{
	engine_ctx *e = img->engine;
	const image_source *rd = bwk_source_docker_archive.bid(&img->src)
				     ? &bwk_source_docker_archive
				     : &bwk_source_oci_archive;
	if (!rd->bid(&img->src))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: the engine's archive has no manifest.json", e->label);
	if (rd->open(img, name, NULL, err) < 0)
		return bwk_error_wrap(err, "%s", e->label);
	return 0;
}

int engine_open_at(bwk_image *img, const char *host, const char *name, bwk_error **err)
{
	const char *src = img->source->name;
	if (!*name)
		return bwk_error_set(err, BWK_E_USAGE, 0, "%s:NAME needs an image name", src);
	engine_ctx *e = xcalloc(1, sizeof(*e));
	img->engine = e;
	e->name = xstrdup(name);
	e->label = xasprintf("%s:%s", src, name);
	if (bwk_endpoint_open(host, &e->ep, err) < 0)
		return bwk_error_wrap(err, "%s", e->label);
	cleanup_free char *id = img->opts.cache ? engine_image_id(e) : NULL;
	cleanup_close int dfd = id ? docs_dir(img, err) : -1;
	if (id && dfd < 0)
		return -1;
	int cached = id ? docs_cached(dfd, id) : -1;
	if (cached >= 0) {
		img->src.tarfd = cached;
		if (tar_index_build(cached, name, &img->src.idx, err) < 0 ||
		    open_docs(img, name, err) < 0)
			return -1;
		if (!img->config_actual || strcmp(id, img->config_actual) != 0)
			return bwk_error_set(err, BWK_E_INTEGRITY, 0,
					     "%s: the cached documents of %s are of another "
					     "image: remove them from the cache",
					     e->label, id);
		return 0;
	}
	int mfd = memfd_create("bulwark-docs", MFD_CLOEXEC);
	if (mfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "memfd_create");
	img->src.tarfd = mfd;
	fetch f;
	int rfd = fetch_start(e, &f, err);
	if (rfd < 0)
		return -1;
	struct archive *a = outer_open(rfd);
	size_t kept = 0;
	int r = a ? 0 : -1;
	bwk_error *rerr = NULL;
	cleanup_free char *buf = xmalloc(KEEP_MAX_MEMBER);
	while (a && r == 0) {
		struct archive_entry *ae;
		int h = archive_read_next_header(a, &ae);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN) {
			r = bwk_error_set(&rerr, BWK_E_INPUT, 0, "%s: reading the stream: %s",
					  e->label, archive_error_string(a));
			break;
		}
		const char *mn = archive_entry_pathname(ae);
		int64_t sz = archive_entry_size(ae);
		if (!mn || archive_entry_filetype(ae) != AE_IFREG || !keep_member(mn, sz) ||
		    kept + (size_t)sz > KEEP_MAX_TOTAL)
			continue; /* skipped data is read through */
		la_ssize_t got = 0;
		while (got < sz) {
			la_ssize_t n = archive_read_data(a, buf + got, (size_t)(sz - got));
			if (n <= 0)
				break;
			got += n;
		}
		char norm[BWK_MAX_PATH + 1];
		if (got != sz || bwk_path_normalise(mn, norm) != BWK_PATH_OK ||
		    tar_append(mfd, norm, buf, (size_t)sz) < 0) {
			r = bwk_error_set(&rerr, BWK_E_INPUT, 0, "%s: member %s unreadable",
					  e->label, mn);
			break;
		}
		kept += (size_t)sz;
	}
	if (a)
		archive_read_free(a);
	if (fetch_finish(e, &f, rfd, r == 0 && a, err) < 0) {
		bwk_error_free(rerr);
		return -1;
	}
	if (r < 0 || !a) {
		if (rerr)
			*err = rerr;
		else
			bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a tar stream", e->label);
		return -1;
	}
	if (tar_index_build(mfd, name, &img->src.idx, err) < 0 || open_docs(img, name, err) < 0)
		return -1;
	/* kept only when the documents are those of the ID asked for (the classic image store's
	 * ID is the config digest): a tag moved between the two requests is not cached under
	 * the wrong ID. (An engine with the containerd image store names images by their
	 * manifest digest: not cached, streamed as before.) */
	if (id && img->config_actual && !strcmp(id, img->config_actual))
		docs_keep(dfd, id, mfd);
	return 0;
}

static void engine_free(engine_ctx *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->label);
	bwk_endpoint_close(&e->ep);
	free(e);
}

static ssize_t pull_archive(void *ctx, void *buf, size_t len, bwk_error **err)
{
	la_ssize_t n = archive_read_data(ctx, buf, len);
	if (n < 0)
		return bwk_error_set(err, BWK_E_IO, 0, "reading the engine stream: %s",
				     archive_error_string(ctx));
	return n;
}

/* A spooled layer: a private read offset over a shared unlinked file. */
typedef struct spool_reader {
	int fd;
	off_t off;
} spool_reader;

static ssize_t pull_spool(void *ctx, void *buf, size_t len, bwk_error **err)
{
	spool_reader *sp = ctx;
	for (;;) {
		ssize_t n = pread(sp->fd, buf, len, sp->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "reading a spooled layer");
		sp->off += n;
		return n;
	}
}

static int run_layer(bwk_image *img, size_t i, bwk_pull_fn pull, void *pctx, source_layer_cb cb,
		     void *ctx, bwk_error **err)
{
	layer_stream *ls = NULL;
	if (layer_stream_open(img, i, pull, pctx, &ls, err) < 0)
		return -1;
	int r = cb(ctx, i, ls, err);
	layer_stream_close(ls);
	return r;
}

static int spool(struct archive *a, bwk_error **err)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "cannot create a spool file in %s", dir);
	cleanup_free char *buf = xmalloc(BWK_STREAM_BUF);
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BWK_STREAM_BUF);
		if (n == 0)
			break;
		if (n < 0 || write(fd, buf, (size_t)n) != n) {
			close(fd);
			return bwk_error_set(err, BWK_E_IO, errno, "spooling a layer");
		}
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int run_spooled(bwk_image *img, size_t i, int fd, source_layer_cb cb, void *ctx,
		       bwk_error **err)
{
	spool_reader sp = {fd, 0};
	return run_layer(img, i, pull_spool, &sp, cb, ctx, err);
}

/* docker:NAME: the engine at DOCKER_HOST (default /var/run/docker.sock). */
static int engine_open(bwk_image *img, const char *name, const char *refname, bwk_error **err)
{
	(void)refname;
	return engine_open_at(img, NULL, name, err);
}

void engine_close(bwk_image *img)
{
	engine_free(img->engine);
	img->engine = NULL;
}

int engine_stream_layers(bwk_image *img, bool ordered, source_layer_cb cb, void *ctx,
			 bwk_error **err)
{
	engine_ctx *e = img->engine;
	size_t n = img->nlayers;
	bool *done = xcalloc(n + 1, sizeof(bool));
	int *spooled = xmalloc((n + 1) * sizeof(int));
	for (size_t i = 0; i < n; i++)
		spooled[i] = -1;
	size_t next = 0;
	fetch f;
	int r = 0;
	int rfd = fetch_start(e, &f, err);
	if (rfd < 0) {
		free(done);
		free(spooled);
		return -1;
	}
	struct archive *a = outer_open(rfd);
	if (!a)
		r = bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a tar stream", e->label);
	while (a && r == 0) {
		struct archive_entry *ae;
		int h = archive_read_next_header(a, &ae);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN) {
			r = bwk_error_set(err, BWK_E_INPUT, 0, "%s: reading the stream: %s",
					  e->label, archive_error_string(a));
			break;
		}
		const char *mn = archive_entry_pathname(ae);
		char norm[BWK_MAX_PATH + 1];
		if (!mn || strlen(mn) > BWK_MAX_PATH || bwk_path_normalise(mn, norm) != BWK_PATH_OK)
			continue;
		/* Which layers does this member serve? Identical layers share one blob in
		 * OCI-style archives, so there may be several. */
		size_t first = n, count = 0;
		for (size_t i = 0; i < n; i++)
			if (!done[i] && spooled[i] < 0 && !strcmp(img->layers[i].blob, norm)) {
				if (first == n)
					first = i;
				count++;
			}
		if (!count)
			continue;
		if (count == 1 && (!ordered || first == next)) {
			/* the common case: walk it straight off the stream */
			r = run_layer(img, first, pull_archive, a, cb, ctx, err);
			done[first] = true;
			if (first == next)
				next++;
		} else {
			int fd = spool(a, err);
			if (fd < 0) {
				r = -1;
				break;
			}
			for (size_t i = first; i < n; i++)
				if (!done[i] && spooled[i] < 0 &&
				    !strcmp(img->layers[i].blob, norm))
					spooled[i] = dup(fd);
			close(fd);
			/* unordered: take them now */
			for (size_t i = first; !ordered && r == 0 && i < n; i++)
				if (spooled[i] >= 0) {
					r = run_spooled(img, i, spooled[i], cb, ctx, err);
					close(spooled[i]);
					spooled[i] = -1;
					done[i] = true;
				}
		}
		/* layers that came early and are now due */
		while (ordered && r == 0 && next < n && (done[next] || spooled[next] >= 0)) {
			if (!done[next]) {
				r = run_spooled(img, next, spooled[next], cb, ctx, err);
				close(spooled[next]);
				spooled[next] = -1;
				done[next] = true;
			}
			next++;
		}
	}
	if (a)
		archive_read_free(a);
	bwk_error *ferr = NULL;
	if (fetch_finish(e, &f, rfd, r == 0, &ferr) < 0) {
		if (r == 0) {
			*err = ferr;
			ferr = NULL;
		}
		r = -1;
	}
	bwk_error_free(ferr);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (!done[i])
			r = bwk_error_set(err, BWK_E_INPUT, 0,
					  "%s: layer %zu (%s) was not in the engine's stream",
					  e->label, i + 1, img->layers[i].blob);
	for (size_t i = 0; i < n; i++)
		if (spooled[i] >= 0)
			close(spooled[i]);
	free(done);
	free(spooled);
	return r;
}

const image_source bwk_source_docker = {
    .name = "docker",
    .what = "an image of the Docker engine",
    .forms = SRC_NAME,
    .open = engine_open,
    .stream_layers = engine_stream_layers,
    .close = engine_close,
};
