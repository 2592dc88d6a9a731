/* Source "registry": registry:REF, and HOST.DOMAIN/REPO:TAG or HOST:PORT/REPO:TAG that name no
 * path, through the OCI distribution API. The registry module (src/lib/registry,
 * bulwark/registry.h: HTTPS, authentication, bounds, retries) fills a blob store; the image
 * module parses, selects the platform and verifies as for any archive (image_open_store).
 * Layers stream from the registry into the walker: nothing of the image is written to disk. */
#include "bulwark/registry.h"
#include "image/image_private.h"

static int registry_open(bwk_image *img, const char *ref, const char *refname, bwk_error **err)
{
	(void)refname;
	bwk_blob_store store;
	if (bwk_registry_store_open(ref, img->opts.registry, &store, err) < 0)
		return -1;
	return image_open_store(img, &store, err);
}

const image_source bwk_source_registry = {
    .name = "registry",
    .what = "an image in a registry (OCI distribution API)",
    .forms = SRC_NAME,
    .open = registry_open,
};
