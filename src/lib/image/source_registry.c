/* Source "registry": registry:REF, and HOST.DOMAIN/REPO:TAG or HOST:PORT/REPO:TAG that name no
 * path, through the OCI distribution API. The registry module (src/lib/registry,
 * bulwark/registry.h: HTTPS, authentication, bounds, retries) fills a blob store; the image
 * module parses, selects the platform and verifies as for any archive (image_open_store).
 * For scan, layers stream from the registry into the walker: nothing of the image is written
 * to disk. With the shared content cache (run, unpack: opts.cache), blobs are kept in
 * CACHE/blobs/sha256 beside the extracted layers (CACHE/layers/sha256), so that a second run
 * downloads nothing and images that share layers download them once. */
#include <stdlib.h>

#include "bulwark/registry.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

static int registry_open(bwk_image *img, const char *ref, const char *refname, bwk_error **err)
{
	(void)refname;
	bwk_registry_opts o = {0};
	if (img->opts.registry)
		o = *img->opts.registry;
	cleanup_free char *dir = NULL;
	if (img->opts.cache) {
		cleanup_free char *root = image_cache_root(img->opts.cache_dir);
		if (!root)
			return bwk_error_set(err, BWK_E_USAGE, 0, IMAGE_NO_CACHE_DIR);
		dir = xasprintf("%s/blobs/sha256", root);
		if (image_mkdir_p(dir, 0700, err) < 0)
			return -1;
		o.blob_cache = dir;
	}
	bwk_blob_store store;
	if (bwk_registry_store_open(ref, &o, &store, err) < 0)
		return -1;
	return image_open_store(img, &store, err);
}

static uint64_t registry_size(const char *ref, const bwk_image_opts *opts)
{
	bwk_registry_opts o = {0};
	if (opts->registry)
		o = *opts->registry;
	if (opts->platform)
		o.platform = opts->platform;
	uint64_t size = 0;
	bwk_error *e = NULL;
	if (bwk_registry_image_size_expect(ref, &o, opts->layers, &size, &e) < 0)
		size = 0; /* the scan asks again and reports what is wrong */
	bwk_error_free(e);
	return size;
}

const image_source bwk_source_registry = {
    .name = "registry",
    .what = "an image in a registry (OCI distribution API)",
    .forms = SRC_NAME,
    .open = registry_open,
    .size = registry_size,
};
