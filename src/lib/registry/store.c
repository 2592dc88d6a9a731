/* The registry as a blob store of the image module (bulwark/image.h, bwk_blob_store): the
 * registry row of the image source table. The store moves bytes only — the image module
 * bounds and parses the documents, selects the platform and checks every digest (in scan's
 * report mode a mismatch is a finding, as for a local archive) — so nothing here verifies
 * what it serves, except the transport bounds of the client (sizes, timeouts, stalls). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/image.h"
#include "core/cleanup.h"
#include "registry/registry_private.h"

typedef struct store_ctx {
	reg_client *c;
	bwk_registry_ref ref;
	char *name;
	/* digests an index root names: read from the manifests endpoint */
	char **manifests;
	size_t nmanifests;
	reg_cache *cache; /* run and unpack: blobs kept by digest (blobcache.c), or NULL */
	bwk_registry_manifest_cache *mc; /* the run's manifests (mcache.c), or NULL */
} store_ctx;

static void store_free(void *p)
{
	store_ctx *s = p;
	if (!s)
		return;
	reg_client_free(s->c);
	reg_cache_free(s->cache);
	bwk_registry_ref_free(&s->ref);
	free(s->name);
	for (size_t i = 0; i < s->nmanifests; i++)
		free(s->manifests[i]);
	free(s->manifests);
	free(s);
}

static int store_root(void *p, size_t max, char **doc, size_t *len, char **digest, bwk_error **err)
{
	store_ctx *s = p;
	*doc = NULL;
	*digest = NULL;
	*len = 0;
	const char *reference = s->ref.digest ? s->ref.digest : s->ref.tag;
	reg_resp r = {0};
	/* pinned by digest and pulled before: no need to ask (and it works offline); a tag is
	 * always asked again, since it may have moved */
	if (s->cache && s->ref.digest &&
	    reg_cache_read(s->cache, s->ref.digest, max, &r.body, &r.len) == 1) {
		*digest = xstrdup(s->ref.digest);
	} else if (reg_mcache_take(s->mc, s->ref.registry, s->ref.repository, reference, max, &r,
				   digest)) {
		/* fetched by the size lookup of this run (bwk_registry_image_size) */
	} else if (reg_get_manifest_ex(s->c, s->ref.repository, reference, max, false, &r, digest,
				       err) < 0) {
		reg_resp_free(&r);
		return -1;
	} else if (s->cache) {
		reg_cache_put(s->cache, r.body, r.len);
	}
	/* remember what an index names, so that read_blob asks the right endpoint */
	reg_manifest m = {0};
	bwk_error *e = NULL;
	if (reg_manifest_parse(r.body, r.len, r.content_type, &m, &e) == 0 && m.is_index) {
		s->manifests = xcalloc(m.ndescs + 1, sizeof(char *));
		for (size_t i = 0; i < m.ndescs; i++)
			s->manifests[s->nmanifests++] = xstrdup(m.descs[i].digest);
	}
	bwk_error_free(e);
	reg_manifest_free(&m);
	*len = r.len;
	*doc = steal_pointer(&r.body);
	reg_resp_free(&r);
	return 0;
}

static bool named_manifest(const store_ctx *s, const char *digest)
{
	for (size_t i = 0; i < s->nmanifests; i++)
		if (!strcmp(s->manifests[i], digest))
			return true;
	return false;
}

static int store_read(void *p, const char *digest, size_t max, char **data, size_t *len,
		      bwk_error **err)
{
	store_ctx *s = p;
	*data = NULL;
	*len = 0;
	if (!reg_digest_valid(digest))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0, "%s: digest '%.80s' is not sha256",
				     s->name, digest);
	if (s->cache && reg_cache_read(s->cache, digest, max, data, len) == 1)
		return 0; /* verified by the caller as any document */
	reg_resp r = {0};
	int rc;
	cleanup_free char *dg = NULL;
	if (named_manifest(s, digest) &&
	    reg_mcache_take(s->mc, s->ref.registry, s->ref.repository, digest, max, &r, &dg)) {
		rc = 0; /* verified by the caller as any document */
	} else if (named_manifest(s, digest)) {
		rc = reg_get_manifest_ex(s->c, s->ref.repository, digest, max, false, &r, &dg, err);
	} else {
		cleanup_free char *path = xasprintf("/v2/%s/blobs/%s", s->ref.repository, digest);
		cleanup_free char *scope = xasprintf("repository:%s:pull", s->ref.repository);
		reg_req rq = {.path = path, .max_body = max, .scope = scope};
		rc = reg_request(s->c, &rq, &r, err);
		if (rc == 0 && r.status != 200) {
			cleanup_free char *what =
			    xasprintf("blob %s of %s", digest, s->ref.repository);
			rc = reg_status_error(s->c, &r, what, err);
		}
	}
	if (rc == 0) {
		/* kept under the digest of its bytes: what other bytes a registry sent is never
		 * found under the digest asked for */
		if (s->cache)
			reg_cache_put(s->cache, r.body, r.len);
		*len = r.len;
		*data = steal_pointer(&r.body);
	}
	reg_resp_free(&r);
	return rc;
}

/* A layer: streamed from the registry, or (with the cache) read from the cached file, which is
 * downloaded or resumed first when it is not there yet. */
typedef struct store_stream {
	bwk_registry_blob *b;
	int fd;
	const char *digest;
} store_stream;

static int store_open_blob(void *p, const char *digest, uint64_t size, void **stream,
			   bwk_error **err)
{
	store_ctx *s = p;
	store_stream *ss = xcalloc(1, sizeof(*ss));
	ss->fd = -1;
	ss->digest = digest;
	int rc =
	    s->cache
		? (ss->fd = reg_cache_fetch(s->cache, s->c, s->ref.repository, digest, size, err))
		: reg_blob_open(s->c, s->ref.repository, s->name, digest, size, false, &ss->b, err);
	if (rc < 0) {
		free(ss);
		return bwk_error_wrap(err, "%s", s->name);
	}
	*stream = ss;
	return 0;
}

static ssize_t store_pull(void *stream, void *buf, size_t len, bwk_error **err)
{
	store_stream *ss = stream;
	if (ss->b)
		return bwk_registry_blob_read(ss->b, buf, len, err);
	for (;;) {
		ssize_t r = read(ss->fd, buf, len);
		if (r >= 0 || errno != EINTR)
			return r >= 0 ? r
				      : bwk_error_set(err, BWK_E_IO, errno,
						      "reading cached blob %s", ss->digest);
	}
}

/* The image module's reader stops early while its pulling thread may wait on the network. A
 * cached blob is a file: its reads never wait. */
static void store_cancel(void *stream)
{
	store_stream *ss = stream;
	if (ss->b)
		bwk_registry_blob_cancel(ss->b);
}

static void store_close_blob(void *stream)
{
	store_stream *ss = stream;
	if (ss->b)
		bwk_registry_blob_close(ss->b);
	if (ss->fd >= 0)
		close(ss->fd);
	free(ss);
}

int bwk_registry_store_open(const char *ref, const bwk_registry_opts *o,
			    struct bwk_blob_store *store, bwk_error **err)
{
	memset(store, 0, sizeof(*store));
	static const bwk_registry_opts defaults = {0};
	if (!o)
		o = &defaults;
	store_ctx *s = xcalloc(1, sizeof(*s));
	if (bwk_registry_ref_parse(ref, &s->ref, err) < 0) {
		free(s);
		return -1;
	}
	s->name = bwk_registry_ref_string(&s->ref);
	reg_creds cr = {0};
	int rc = reg_client_new(s->ref.registry, o, &s->c, err);
	if (rc == 0)
		rc = reg_creds_lookup(o, s->ref.registry, &cr, err);
	if (rc == 0)
		reg_client_set_creds(s->c, &cr);
	reg_creds_free(&cr);
	s->mc = o->manifests;
	if (rc == 0 && o->blob_cache)
		rc = reg_cache_open(o->blob_cache, o->blob_cache_max, &s->cache, err);
	if (rc < 0) {
		store_free(s);
		return -1;
	}
	store->ctx = s;
	store->root = store_root;
	store->read_blob = store_read;
	store->open_blob = store_open_blob;
	store->pull = store_pull;
	store->close_blob = store_close_blob;
	store->cancel = store_cancel;
	store->free = store_free;
	return 0;
}
