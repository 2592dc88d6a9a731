/* Pull one platform of an image into a new OCI image layout: the manifest as the registry
 * served it (its digest checked), the config and every layer streamed to disk and checked
 * against their digests. A failed pull removes what it wrote. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "registry/registry_private.h"

typedef struct layout {
	const char *dir;
	int dfd;    /* the layout directory */
	int blobfd; /* blobs/sha256 */
	char **written;
	size_t nwritten;
} layout;

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int create_blob(layout *l, const char *digest, bwk_error **err)
{
	const char *hex = digest + 7;
	int fd = openat(l->blobfd, hex, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == EEXIST)
		return -2; /* the same blob twice (a layer repeated): already written */
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/blobs/sha256/%s: cannot create",
				     l->dir, hex);
	l->written = xrealloc(l->written, (l->nwritten + 1) * sizeof(*l->written));
	l->written[l->nwritten++] = xstrdup(hex);
	return fd;
}

static int put_bytes(layout *l, const char *digest, const void *data, size_t len, bwk_error **err)
{
	int fd = create_blob(l, digest, err);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	if (rc < 0)
		bwk_error_set(err, BWK_E_IO, errno, "%s: writing %s", l->dir, digest);
	close(fd);
	return rc;
}

/* Through the pull stream the image sources read (so every pull exercises it). */
static int put_blob(layout *l, bwk_registry_image *img, const reg_desc *d, bwk_error **err)
{
	int fd = create_blob(l, d->digest, err);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	bwk_registry_blob *b = NULL;
	int rc = bwk_registry_blob_open(img, d->digest, d->size, &b, err);
	cleanup_free char *buf = xmalloc(1 << 16);
	long r = 0;
	while (rc == 0 && (r = bwk_registry_blob_read(b, buf, 1 << 16, err)) > 0)
		if (write_all(fd, buf, (size_t)r) < 0)
			rc = bwk_error_set(err, BWK_E_IO, errno, "%s: writing %s", l->dir,
					   d->digest);
	if (r < 0)
		rc = -1;
	bwk_registry_blob_close(b);
	if (rc == 0 && fsync(fd) < 0)
		rc = bwk_error_set(err, BWK_E_IO, errno, "%s: writing %s", l->dir, d->digest);
	close(fd);
	return rc;
}

static void layout_abort(layout *l)
{
	for (size_t i = 0; i < l->nwritten; i++)
		if (l->blobfd >= 0)
			unlinkat(l->blobfd, l->written[i], 0);
	if (l->dfd >= 0) {
		unlinkat(l->dfd, "index.json", 0);
		unlinkat(l->dfd, "oci-layout", 0);
		unlinkat(l->dfd, "blobs/sha256", AT_REMOVEDIR);
		unlinkat(l->dfd, "blobs", AT_REMOVEDIR);
	}
	rmdir(l->dir);
}

static void layout_close(layout *l)
{
	for (size_t i = 0; i < l->nwritten; i++)
		free(l->written[i]);
	free(l->written);
	if (l->blobfd >= 0)
		close(l->blobfd);
	if (l->dfd >= 0)
		close(l->dfd);
}

static int layout_open(layout *l, const char *dir, bwk_error **err)
{
	l->dir = dir;
	l->dfd = l->blobfd = -1;
	if (mkdir(dir, 0755) < 0)
		return bwk_error_set(err, errno == EEXIST ? BWK_E_USAGE : BWK_E_IO, errno,
				     "%s: cannot create the output directory%s", dir,
				     errno == EEXIST ? " (it exists: name a new one)" : "");
	l->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (l->dfd < 0 || mkdirat(l->dfd, "blobs", 0755) < 0 ||
	    mkdirat(l->dfd, "blobs/sha256", 0755) < 0 ||
	    (l->blobfd = openat(l->dfd, "blobs/sha256",
				O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		bwk_error_set(err, BWK_E_IO, errno, "%s: cannot create blobs/sha256", dir);
		layout_abort(l);
		layout_close(l);
		l->dfd = l->blobfd = -1;
		return -1;
	}
	return 0;
}

static int put_file(layout *l, const char *name, const char *text, bwk_error **err)
{
	cleanup_close int fd =
	    openat(l->dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot write", l->dir, name);
	return 0;
}

static int write_index(layout *l, const reg_manifest *m, const char *digest, size_t size,
		       const bwk_registry_ref *ref, bwk_error **err)
{
	json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", m->media_type, "digest", digest,
				 "size", (json_int_t)size);
	if (ref->tag)
		json_object_set_new(
		    desc, "annotations",
		    json_pack("{s:s}", "org.opencontainers.image.ref.name", ref->tag));
	json_t *idx = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType", MT_OCI_INDEX,
				"manifests", desc);
	cleanup_free char *text = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	if (put_file(l, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", err) < 0)
		return -1;
	return put_file(l, "index.json", text, err);
}

static int pull(bwk_registry_image *img, layout *l, bwk_error **err)
{
	const reg_manifest *m = reg_image_manifest(img);
	const bwk_registry_ref *ref = reg_image_ref(img);
	size_t len = 0;
	const char *digest = NULL;
	const char *body = bwk_registry_image_manifest(img, &len, &digest, NULL);
	int rc = put_bytes(l, digest, body, len, err);
	if (rc == 0)
		rc = put_blob(l, img, &m->config, err);
	for (size_t i = 0; rc == 0 && i < m->ndescs; i++) {
		rc = put_blob(l, img, &m->descs[i], err);
		if (rc < 0)
			bwk_error_wrap(err, "layer %zu of %s", i + 1, bwk_registry_image_name(img));
	}
	if (rc == 0)
		rc = write_index(l, m, digest, len, ref, err);
	return rc;
}

int bwk_registry_pull_layout(const char *refs, const bwk_registry_opts *o, const char *dir,
			     bwk_error **err)
{
	bwk_registry_image *img = NULL;
	if (bwk_registry_image_open(refs, o, &img, err) < 0)
		return -1;
	layout l = {.dfd = -1, .blobfd = -1};
	int rc = layout_open(&l, dir, err);
	if (rc == 0) {
		rc = pull(img, &l, err);
		if (rc < 0)
			layout_abort(&l);
		layout_close(&l);
	}
	bwk_registry_image_close(img);
	return rc;
}
