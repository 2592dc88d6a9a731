/* Sources "oci" (an OCI image layout directory, image-spec image-layout.md) and "oci-archive"
 * (a tar of one, gzip/zstd allowed, or stdin).
 *
 * index.json may list several manifests: PATH:REF selects by the
 * org.opencontainers.image.ref.name annotation, otherwise the platform (--platform, default
 * the host's) decides. The manifest, config and every layer are verified against the digests
 * that name them. */
#include <string.h>

#include <jansson.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

/* A directory is a layout when it says so (oci-layout) or has the layout's shape (index.json
 * and blobs/); index.json alone is too common a name to take a root filesystem for an image. */
static int bid_dir(const blob_src *src)
{
	if (blob_src_exists(src, "oci-layout"))
		return 90;
	return blob_src_exists(src, "index.json") && blob_src_exists(src, "blobs") ? 50 : 0;
}

/* A tar's members need not include the directory blobs/ itself. */
static int bid_tar(const blob_src *src)
{
	if (!blob_src_exists(src, "index.json"))
		return 0;
	return blob_src_exists(src, "oci-layout") ? 90 : 50;
}

static int open_layout(bwk_image *img, const char *path, const char *refname, bwk_error **err)
{
	(void)path;
	if (blob_src_exists(&img->src, "oci-layout")) {
		cleanup_free char *buf = NULL;
		size_t len = 0;
		if (blob_src_read_all(&img->src, "oci-layout", 4096, &buf, &len, err) < 0)
			return -1;
		json_t *j = json_loadb(buf, len, 0, NULL);
		json_t *v = j ? json_object_get(j, "imageLayoutVersion") : NULL;
		bool ok = json_is_string(v) && !strncmp(json_string_value(v), "1.", 2);
		if (j)
			json_decref(j);
		if (!ok)
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "oci-layout: imageLayoutVersion 1.x expected");
	}
	return image_select_manifest(img, "index.json", refname, err);
}

const image_source bwk_source_oci = {
    .name = "oci",
    .what = "an OCI image layout directory",
    .forms = SRC_DIR,
    .bid = bid_dir,
    .open = open_layout,
};

const image_source bwk_source_oci_archive = {
    .name = "oci-archive",
    .what = "a tar of an OCI image layout",
    .forms = SRC_FILE,
    .bid = bid_tar,
    .open = open_layout,
};
