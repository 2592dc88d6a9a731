/* Source "docker-archive": `docker save` archives (manifest.json + config + layers), as a tar
 * (gzip/zstd allowed, or stdin) or as the directory one was extracted to.
 *
 * Docker ≤ 24 writes <config-hex>.json and <layer-id>/layer.tar; Docker 25+ writes an OCI-style
 * archive (index.json, blobs/sha256/…) that also carries manifest.json, whose paths point into
 * blobs/. Either way manifest.json is the docker view, and we prefer it when present because it
 * is what `docker load` reads. Blob digests are known only when a path names one
 * (blobs/sha256/HEX, HEX.json); layer.tar files are verified against the config's diff_ids. */
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

static int bid(const blob_src *src)
{
	return blob_src_exists(src, "manifest.json") ? 100 : 0;
}

/* The digest a member's name promises, if any. */
static char *digest_from_name(const char *name)
{
	char norm[BWK_MAX_PATH + 1];
	if (strlen(name) > BWK_MAX_PATH || bwk_path_normalise(name, norm) != BWK_PATH_OK)
		return NULL;
	char *d = NULL;
	if (!strncmp(norm, "blobs/sha256/", 13) && strlen(norm) == 13 + 64)
		d = xasprintf("sha256:%s", norm + 13);
	else if (strlen(norm) == 64 + 5 && bwk_str_endswith(norm, ".json"))
		d = xasprintf("sha256:%.64s", norm);
	if (d && !bwk_digest_valid(d)) {
		free(d);
		d = NULL;
	}
	return d;
}

static bool tag_matches(char **tags, const char *want)
{
	for (char **t = tags; t && *t; t++) {
		if (!strcmp(*t, want))
			return true;
		/* "busybox" means "busybox:latest", as docker does */
		size_t n = strlen(want);
		if (!strchr(want, ':') && !strncmp(*t, want, n) && !strcmp(*t + n, ":latest"))
			return true;
	}
	return false;
}

static int open_archive(bwk_image *img, const char *path, const char *refname, bwk_error **err)
{
	(void)path;
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (blob_src_read_all(&img->src, "manifest.json", BWK_MAX_JSON_SMALL, &buf, &len, err) < 0)
		return -1;
	docker_manifest *m = NULL;
	size_t n = 0;
	if (bwk_parse_docker_manifest(buf, len, &m, &n, err) < 0)
		return -1;
	ssize_t pick = -1;
	if (refname) {
		for (size_t i = 0; i < n && pick < 0; i++)
			if (tag_matches(m[i].tags, refname))
				pick = (ssize_t)i;
		if (pick < 0) {
			docker_manifests_free(m, n);
			return bwk_error_set(err, BWK_E_NOTFOUND, 0,
					     "no image tagged '%s' in the archive", refname);
		}
	} else if (n > 1) {
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 512);
		for (size_t i = 0; i < n; i++)
			bwk_strbuf_printf(&sb, "%s%s", i ? ", " : "",
					  m[i].tags[0] ? m[i].tags[0] : "(untagged)");
		cleanup_free char *list = bwk_strbuf_steal(&sb);
		docker_manifests_free(m, n);
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "the archive holds %zu images (%s): name one as PATH:TAG", n,
				     list);
	} else {
		pick = 0;
	}
	docker_manifest *e = &m[pick];
	size_t nl = 0;
	while (e->layers[nl])
		nl++;
	img->layers = xcalloc(nl ? nl : 1, sizeof(img_layer));
	img->nlayers = nl;
	for (size_t i = 0; i < nl; i++) {
		img->layers[i].blob = xstrdup(e->layers[i]);
		img->layers[i].digest = digest_from_name(e->layers[i]);
	}
	cleanup_free char *cfg = xstrdup(e->config);
	cleanup_free char *expected = digest_from_name(cfg);
	docker_manifests_free(m, n);
	return image_load_config(img, cfg, expected, err);
}

const image_source bwk_source_docker_archive = {
    .name = "docker-archive",
    .what = "a docker save archive (or the directory it was extracted to)",
    .forms = SRC_DIR | SRC_FILE,
    .bid = bid,
    .open = open_archive,
};
