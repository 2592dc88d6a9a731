#define _GNU_SOURCE
/* Source "sbom": a CycloneDX or SPDX JSON document (as bulwark sbom, syft or Trivy write
 * them), or sbom:PATH. It holds an inventory, not a filesystem: the image has no layers, its
 * document is read by the scanner (bwk_image_document_fd, bulwark/inventory.h's SBOM reader),
 * and commands that need a filesystem refuse it (bwk_image_opts.accept_document). Detection
 * looks at the first 64 KiB: a JSON object naming bomFormat "CycloneDX" or an spdxVersion. */
#include <string.h>

#include "image/image_private.h"

static int bid_doc(const char *head, size_t len)
{
	size_t ws = 0;
	while (ws < len && strchr(" \t\r\n", head[ws]))
		ws++;
	if (ws == len || head[ws] != '{')
		return 0;
	bool cdx = memmem(head, len, "\"bomFormat\"", 11) && memmem(head, len, "\"CycloneDX\"", 11);
	return cdx || memmem(head, len, "\"spdxVersion\"", 13) ? 100 : 0;
}

static int open_sbom(bwk_image *img, const char *path, const char *refname, bwk_error **err)
{
	(void)img;
	if (refname)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "%s: an SBOM has no images to name ('%s')", path, refname);
	return 0;
}

const image_source bwk_source_sbom = {
    .name = "sbom",
    .what = "an SBOM (CycloneDX or SPDX JSON)",
    .forms = SRC_DOC,
    .bid_doc = bid_doc,
    .open = open_sbom,
};
