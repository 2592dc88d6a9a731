/* Reader: OCI image layouts (image-spec image-layout.md), as a directory or as a tar of one.
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

static int bid(const blob_src *src)
{
	if (!blob_src_exists(src, "index.json"))
		return 0;
	return blob_src_exists(src, "oci-layout") ? 90 : 50;
}

static int open_layout(bwk_image *img, const char *refname, bwk_error **err)
{
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

const image_reader bwk_reader_oci_layout = {"oci-layout", bid, open_layout};
