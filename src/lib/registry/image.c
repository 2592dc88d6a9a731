/* A reference resolved to one image manifest, and its blobs as pull streams.
 *
 * A blob is downloaded by a thread that writes into one end of a socket pair while the reader
 * pulls from the other: the socket buffer is all that is held, the reader's pace throttles
 * the download, and the end of the stream is signalled only after the digest has been checked
 * (the thread verifies before it closes its end). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bulwark/image.h"
#include "bulwark/log.h"
#include "core/cleanup.h"
#include "registry/registry_private.h"

struct bwk_registry_image {
	reg_client *c;
	bwk_registry_ref ref;
	char *name;
	reg_resp man;
	char *digest;
	reg_manifest m;
};

static int select_platform(bwk_registry_image *img, const bwk_registry_opts *o, bwk_error **err)
{
	const char *want = o->platform ? o->platform : reg_host_platform();
	const reg_desc *d = reg_index_select(&img->m, want);
	if (!d) {
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 1024);
		for (size_t i = 0; i < img->m.ndescs; i++) {
			const reg_desc *x = &img->m.descs[i];
			if (x->os && x->arch)
				bwk_strbuf_printf(&sb, "%s%s/%s%s%s", sb.len ? ", " : "", x->os,
						  x->arch, x->variant ? "/" : "",
						  x->variant ? x->variant : "");
		}
		cleanup_free char *have = bwk_strbuf_steal(&sb);
		return bwk_error_set(
		    err, BWK_E_UNSUPPORTED, 0, "%s has no image for %s (it has: %s): pass %s",
		    img->name, want, *have ? have : "none", bwk_setting("platform", "a platform"));
	}
	cleanup_free char *sub = xstrdup(d->digest);
	reg_mcache_put(o->manifests, img->ref.registry, img->ref.repository,
		       img->ref.digest ? img->ref.digest : img->ref.tag, &img->man, img->digest);
	reg_manifest_free(&img->m);
	reg_resp_free(&img->man);
	free(img->digest);
	img->digest = NULL;
	if (reg_get_manifest(img->c, img->ref.repository, sub, &img->man, &img->digest, err) < 0)
		return -1;
	if (reg_manifest_parse(img->man.body, img->man.len, img->man.content_type, &img->m, err) <
	    0)
		return bwk_error_wrap(err, "%s@%s", img->name, sub);
	reg_mcache_put(o->manifests, img->ref.registry, img->ref.repository, sub, &img->man,
		       img->digest);
	if (img->m.is_index)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "%s@%s: an index inside an index is not supported", img->name,
				     sub);
	return 0;
}

int bwk_registry_image_open(const char *refs, const bwk_registry_opts *o, bwk_registry_image **out,
			    bwk_error **err)
{
	*out = NULL;
	bwk_registry_image *img = xcalloc(1, sizeof(*img));
	if (bwk_registry_ref_parse(refs, &img->ref, err) < 0) {
		free(img);
		return -1;
	}
	img->name = bwk_registry_ref_string(&img->ref);
	reg_creds cr = {0};
	int rc = reg_client_new(img->ref.registry, o, &img->c, err);
	if (rc == 0)
		rc = reg_creds_lookup(o, img->ref.registry, &cr, err);
	if (rc == 0)
		reg_client_set_creds(img->c, &cr);
	reg_creds_free(&cr);
	const char *reference = img->ref.digest ? img->ref.digest : img->ref.tag;
	if (rc == 0)
		rc = reg_get_manifest(img->c, img->ref.repository, reference, &img->man,
				      &img->digest, err);
	if (rc == 0 && reg_manifest_parse(img->man.body, img->man.len, img->man.content_type,
					  &img->m, err) < 0)
		rc = bwk_error_wrap(err, "%s", img->name);
	if (rc == 0 && img->m.is_index)
		rc = select_platform(img, o, err);
	else if (rc == 0 && o)
		reg_mcache_put(o->manifests, img->ref.registry, img->ref.repository, reference,
			       &img->man, img->digest);
	if (rc < 0) {
		bwk_registry_image_close(img);
		return -1;
	}
	*out = img;
	return 0;
}

int bwk_registry_image_size(const char *ref, const bwk_registry_opts *o, uint64_t *size,
			    bwk_error **err)
{
	return bwk_registry_image_size_expect(ref, o, NULL, size, err);
}

int bwk_registry_image_size_expect(const char *ref, const bwk_registry_opts *o,
				   struct bwk_layer_memo *expect, uint64_t *size, bwk_error **err)
{
	*size = 0;
	static const bwk_registry_opts defaults = {0};
	bwk_registry_image *img = NULL;
	if (bwk_registry_image_open(ref, o ? o : &defaults, &img, err) < 0)
		return -1;
	uint64_t sum = 0;
	for (size_t i = 0; i < img->m.ndescs; i++) {
		sum = img->m.descs[i].size > UINT64_MAX - sum ? UINT64_MAX
							      : sum + img->m.descs[i].size;
		if (expect && img->m.descs[i].digest)
			bwk_layer_memo_expect(expect, img->m.descs[i].digest);
	}
	*size = sum;
	bwk_registry_image_close(img);
	return 0;
}

void bwk_registry_image_close(bwk_registry_image *img)
{
	if (!img)
		return;
	reg_client_free(img->c);
	bwk_registry_ref_free(&img->ref);
	free(img->name);
	reg_resp_free(&img->man);
	free(img->digest);
	reg_manifest_free(&img->m);
	free(img);
}

const char *bwk_registry_image_manifest(const bwk_registry_image *img, size_t *len,
					const char **digest, const char **media_type)
{
	if (len)
		*len = img->man.len;
	if (digest)
		*digest = img->digest;
	if (media_type)
		*media_type = img->m.media_type;
	return img->man.body;
}

const char *bwk_registry_image_name(const bwk_registry_image *img)
{
	return img->name;
}

const reg_manifest *reg_image_manifest(const bwk_registry_image *img)
{
	return &img->m;
}
reg_client *reg_image_client(bwk_registry_image *img)
{
	return img->c;
}
const bwk_registry_ref *reg_image_ref(const bwk_registry_image *img)
{
	return &img->ref;
}

/* ---- blobs as pull streams ---------------------------------------------------------------- */
struct bwk_registry_blob {
	reg_client *c;
	const char *repo, *name; /* borrowed from the opener */
	bool verify;
	char *digest;
	uint64_t size;
	int rfd, wfd;
	pthread_t th;
	bool running;
	int cancel; /* set by the closer (atomic): the download aborts at once */
	int rc;
	bwk_error *err;
};

static void *blob_thread(void *arg)
{
	bwk_registry_blob *b = arg;
	b->rc = reg_get_blob_fd(b->c, b->repo, b->digest, b->size, b->wfd, b->verify, &b->cancel,
				&b->err);
	/* the end of the stream, after verification */
	close(b->wfd);
	b->wfd = -1;
	return NULL;
}

int bwk_registry_blob_open(bwk_registry_image *img, const char *digest, uint64_t size,
			   bwk_registry_blob **out, bwk_error **err)
{
	return reg_blob_open(img->c, img->ref.repository, img->name, digest, size, true, out, err);
}

int reg_blob_open(reg_client *c, const char *repo, const char *name, const char *digest,
		  uint64_t size, bool verify, bwk_registry_blob **out, bwk_error **err)
{
	*out = NULL;
	if (!reg_digest_valid(digest))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "%s: blob digest '%.80s' is not sha256", name, digest);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: socketpair", name);
	bwk_registry_blob *b = xcalloc(1, sizeof(*b));
	b->c = c;
	b->repo = repo;
	b->name = name;
	b->verify = verify;
	b->digest = xstrdup(digest);
	b->size = size;
	b->rfd = sv[0];
	b->wfd = sv[1];
	shutdown(b->rfd, SHUT_WR);
	if (pthread_create(&b->th, NULL, blob_thread, b) != 0) {
		int e = errno;
		close(b->rfd);
		close(b->wfd);
		free(b->digest);
		free(b);
		return bwk_error_set(err, BWK_E_IO, e, "%s: cannot start a download thread", name);
	}
	b->running = true;
	*out = b;
	return 0;
}

long bwk_registry_blob_read(bwk_registry_blob *b, void *buf, size_t len, bwk_error **err)
{
	for (;;) {
		ssize_t r = read(b->rfd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0)
			return (long)r;
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: reading blob %s", b->name,
					     b->digest);
		break;
	}
	if (b->running) {
		pthread_join(b->th, NULL);
		b->running = false;
	}
	if (b->rc < 0) {
		if (err) {
			*err = b->err;
			b->err = NULL;
		}
		b->rc = 0; /* reported once; rfd stays open until the close (see the cancel) */
		return -1;
	}
	return 0;
}

void bwk_registry_blob_cancel(bwk_registry_blob *b)
{
	__atomic_store_n(&b->cancel, 1, __ATOMIC_RELEASE);
	/* a read blocked on the socket returns 0 at once; rfd is not closed before the close,
	 * so this never reaches another file that took its number */
	if (b->rfd >= 0)
		shutdown(b->rfd, SHUT_RDWR);
}

void bwk_registry_blob_close(bwk_registry_blob *b)
{
	if (!b)
		return;
	__atomic_store_n(&b->cancel, 1, __ATOMIC_RELEASE);
	if (b->rfd >= 0) {
		/* the writer sees EPIPE and the transfer is aborted */
		shutdown(b->rfd, SHUT_RDWR);
		close(b->rfd);
	}
	if (b->running)
		pthread_join(b->th, NULL);
	bwk_error_free(b->err);
	free(b->digest);
	free(b);
}

int bwk_registry_blob_get(bwk_registry_image *img, const char *digest, uint64_t size, size_t max,
			  char **data, size_t *len, bwk_error **err)
{
	*data = NULL;
	*len = 0;
	if (size > max)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: blob %s has %llu bytes, more than the %zu allowed",
				     img->name, digest, (unsigned long long)size, max);
	bwk_registry_blob *b = NULL;
	if (bwk_registry_blob_open(img, digest, size, &b, err) < 0)
		return -1;
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, max);
	char buf[16384];
	long r;
	while ((r = bwk_registry_blob_read(b, buf, sizeof(buf), err)) > 0) {
		bwk_strbuf_appendn(&sb, buf, (size_t)r);
		if (sb.truncated) {
			bwk_registry_blob_close(b);
			bwk_strbuf_free(&sb);
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s: blob %s is larger than the %zu bytes allowed",
					     img->name, digest, max);
		}
	}
	bwk_registry_blob_close(b);
	if (r < 0) {
		bwk_strbuf_free(&sb);
		return -1;
	}
	*len = sb.len;
	*data = bwk_strbuf_steal(&sb);
	return 0;
}
