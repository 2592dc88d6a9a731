/* What every source shares once it is open: manifest selection out of an OCI index (by ref
 * name or platform), the verified config, and the image handle's accessors and cleanup. Which
 * source opens an input is decided in source.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

const char *bwk_host_arch(void)
{
#if defined(__x86_64__)
	return "linux/amd64";
#elif defined(__aarch64__)
	return "linux/arm64";
#elif defined(__arm__)
	return "linux/arm/v7";
#elif defined(__i386__)
	return "linux/386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "linux/ppc64le";
#elif defined(__s390x__)
	return "linux/s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "linux/riscv64";
#else
	return "linux/unknown";
#endif
}

int image_doc_mismatch(bwk_image *img, const char *what, const char *expected, const char *actual,
		       bwk_error **err)
{
	if (img->opts.verify == BWK_VERIFY_STRICT)
		return bwk_error_set(err, BWK_E_INTEGRITY, 0,
				     "%s: digest mismatch (expected %s, got %s): the archive is "
				     "corrupt or was tampered with",
				     what, expected, actual);
	if (img->npending < sizeof(img->pending) / sizeof(img->pending[0])) {
		img->pending[img->npending].what = xstrdup(what);
		img->pending[img->npending].expected = xstrdup(expected);
		img->pending[img->npending].actual = xstrdup(actual);
		img->npending++;
	}
	return 0;
}

int image_load_config(bwk_image *img, const char *blob, const char *expected, bwk_error **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (blob_src_read_all(&img->src, blob, BWK_MAX_JSON_CONFIG, &buf, &len, err) < 0)
		return bwk_error_wrap(err, "image config");
	char hex[65];
	bwk_sha256_hex(buf, len, hex);
	img->config_actual = xasprintf("sha256:%s", hex);
	if (expected) {
		img->config_expected = xstrdup(expected);
		if (strcmp(expected, img->config_actual) != 0 &&
		    image_doc_mismatch(img, "image config", expected, img->config_actual, err) < 0)
			return -1;
	}
	if (bwk_parse_config(buf, len, &img->cfg, err) < 0)
		return -1;
	img->cfg.pub.digest = img->config_actual;
	size_t nd = 0;
	while (img->cfg.pub.diff_ids[nd])
		nd++;
	if (nd != img->nlayers)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "the manifest lists %zu layers but the config has %zu "
				     "diff_ids: the image is inconsistent",
				     img->nlayers, nd);
	for (size_t i = 0; i < nd; i++)
		img->layers[i].diff_id = xstrdup(img->cfg.pub.diff_ids[i]);
	return 0;
}

static bool platform_match(const img_desc *d, const char *want)
{
	char os[64] = "", arch[64] = "", var[64] = "";
	if (sscanf(want, "%63[^/]/%63[^/]/%63s", os, arch, var) < 2)
		return false;
	if (!d->os || !d->arch || strcmp(d->os, os) || strcmp(d->arch, arch))
		return false;
	return !var[0] || (d->variant && !strcmp(d->variant, var));
}

static bool is_index(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/* Read a small blob by digest and verify it. */
static int read_blob_verified(bwk_image *img, const char *digest, const char *what, char **buf,
			      size_t *len, bwk_error **err)
{
	cleanup_free char *name = xasprintf("blobs/sha256/%s", digest + 7);
	if (blob_src_read_all(&img->src, name, BWK_MAX_JSON_SMALL, buf, len, err) < 0)
		return bwk_error_wrap(err, "%s", what);
	char hex[65], actual[72];
	bwk_sha256_hex(*buf, *len, hex);
	snprintf(actual, sizeof(actual), "sha256:%s", hex);
	if (strcmp(actual, digest) != 0 && image_doc_mismatch(img, what, digest, actual, err) < 0) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

static int select_from(bwk_image *img, img_desc *m, size_t n, const char *refname,
		       const char *where, img_desc *out, bwk_error **err)
{
	const char *want = img->opts.platform ? img->opts.platform : bwk_host_arch();
	ssize_t pick = -1;
	if (refname) {
		for (size_t i = 0; i < n; i++)
			if (m[i].ref_name && !strcmp(m[i].ref_name, refname)) {
				pick = (ssize_t)i;
				break;
			}
		if (pick < 0)
			return bwk_error_set(err, BWK_E_NOTFOUND, 0,
					     "%s: no manifest named '%s' "
					     "(org.opencontainers.image.ref.name)",
					     where, refname);
	} else if (n == 1 && (!m[0].os || img->opts.platform == NULL)) {
		pick = 0;
	}
	if (pick < 0) {
		for (size_t i = 0; i < n; i++)
			if (platform_match(&m[i], want)) {
				pick = (ssize_t)i;
				break;
			}
	}
	if (pick < 0 && n == 1 && !m[0].os)
		pick = 0;
	if (pick < 0) {
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 512);
		for (size_t i = 0; i < n; i++)
			bwk_strbuf_printf(&sb, "%s%s/%s%s%s", i ? ", " : "",
					  m[i].os ? m[i].os : "?", m[i].arch ? m[i].arch : "?",
					  m[i].variant ? "/" : "",
					  m[i].variant ? m[i].variant : "");
		cleanup_free char *list = bwk_strbuf_steal(&sb);
		return bwk_error_set(err, BWK_E_NOTFOUND, 0,
				     "%s: no manifest for platform %s (available: %s); pick one "
				     "with %s",
				     where, want, list[0] ? list : "none",
				     bwk_setting("platform", "the platform"));
	}
	*out = m[pick];
	memset(&m[pick], 0, sizeof(m[pick]));
	return 0;
}

/* The manifest an index names for us (ref name, else platform), through one level of nested
 * index (multi-platform images saved by containerd-backed Docker). */
static void record_platforms(bwk_image *img, const img_desc *m, size_t n)
{
	if (img->platforms)
		return; /* the top-level index's, not a nested one's */
	img->platforms = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0, k = 0; i < n; i++) {
		if (!m[i].os || !m[i].arch)
			continue; /* no platform given (attestations, single-manifest layouts) */
		img->platforms[k++] =
		    xasprintf("%s/%s%s%s", m[i].os, m[i].arch, m[i].variant ? "/" : "",
			      m[i].variant ? m[i].variant : "");
	}
}

static int pick_from_index(bwk_image *img, const char *buf, size_t len, const char *refname,
			   const char *where, img_desc *pick, bwk_error **err)
{
	img_desc *m = NULL;
	size_t n = 0;
	if (bwk_parse_oci_index(buf, len, &m, &n, err) < 0)
		return -1;
	record_platforms(img, m, n);
	int r = select_from(img, m, n, refname, where, pick, err);
	img_descs_free(m, n);
	if (r < 0 || !is_index(pick->media_type))
		return r;
	cleanup_free char *nested = NULL;
	size_t nlen = 0;
	r = read_blob_verified(img, pick->digest, "nested image index", &nested, &nlen, err);
	img_desc_free(pick);
	if (r < 0 || bwk_parse_oci_index(nested, nlen, &m, &n, err) < 0)
		return -1;
	r = select_from(img, m, n, NULL, "nested image index", pick, err);
	img_descs_free(m, n);
	return r;
}

/* Layers and config out of an image manifest (already verified). */
static int load_manifest(bwk_image *img, const char *buf, size_t len, bwk_error **err)
{
	img_desc cfg = {0};
	img_desc *layers = NULL;
	size_t nl = 0;
	if (bwk_parse_oci_manifest(buf, len, &cfg, &layers, &nl, err) < 0)
		return -1;
	img->layers = xcalloc(nl ? nl : 1, sizeof(img_layer));
	img->nlayers = nl;
	for (size_t i = 0; i < nl; i++) {
		img->layers[i].blob = xasprintf("blobs/sha256/%s", layers[i].digest + 7);
		img->layers[i].digest = xstrdup(layers[i].digest);
		img->layers[i].media_type =
		    layers[i].media_type ? xstrdup(layers[i].media_type) : NULL;
		img->layers[i].size = layers[i].size;
	}
	img_descs_free(layers, nl);
	cleanup_free char *cfgblob = xasprintf("blobs/sha256/%s", cfg.digest + 7);
	int r = image_load_config(img, cfgblob, cfg.digest, err);
	img_desc_free(&cfg);
	return r;
}

static int load_picked(bwk_image *img, img_desc *pick, bwk_error **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	int r = read_blob_verified(img, pick->digest, "image manifest", &buf, &len, err);
	img_desc_free(pick);
	return r < 0 ? -1 : load_manifest(img, buf, len, err);
}

int image_select_manifest(bwk_image *img, const char *index_name, const char *refname,
			  bwk_error **err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	if (blob_src_read_all(&img->src, index_name, BWK_MAX_JSON_SMALL, &buf, &len, err) < 0)
		return -1;
	img_desc pick = {0};
	if (pick_from_index(img, buf, len, refname, index_name, &pick, err) < 0)
		return -1;
	return load_picked(img, &pick, err);
}

/* An index or a manifest? By its mediaType, else by its shape (the field is optional). */
static bool doc_is_index(const char *buf, size_t len)
{
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return false;
	json_t *mt = json_object_get(j, "mediaType");
	bool idx = json_is_string(mt) ? is_index(json_string_value(mt))
				      : json_is_array(json_object_get(j, "manifests"));
	json_decref(j);
	return idx;
}

int image_open_store(bwk_image *img, const bwk_blob_store *store, bwk_error **err)
{
	img->src.store = xmalloc(sizeof(*store));
	*img->src.store = *store;
	cleanup_free char *buf = NULL, *digest = NULL;
	size_t len = 0;
	if (store->root(store->ctx, BWK_MAX_JSON_SMALL, &buf, &len, &digest, err) < 0)
		return -1;
	return image_open_root_doc(img, buf, len, digest, err);
}

int image_open_root_doc(bwk_image *img, const char *buf, size_t len, const char *digest,
			bwk_error **err)
{
	if (len > BWK_MAX_JSON_SMALL)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "the image's manifest or index: %zu bytes, over the %u-byte "
				     "limit",
				     len, BWK_MAX_JSON_SMALL);
	if (digest) {
		char hex[65], actual[72];
		bwk_sha256_hex(buf, len, hex);
		snprintf(actual, sizeof(actual), "sha256:%s", hex);
		if (strcmp(actual, digest) != 0 &&
		    image_doc_mismatch(img, "the manifest or index", digest, actual, err) < 0)
			return -1;
	}
	if (!doc_is_index(buf, len))
		return load_manifest(img, buf, len, err);
	img_desc pick = {0};
	if (pick_from_index(img, buf, len, NULL, "image index", &pick, err) < 0)
		return -1;
	return load_picked(img, &pick, err);
}

void bwk_image_close(bwk_image *img)
{
	if (!img)
		return;
	if (img->src.dirfd >= 0)
		close(img->src.dirfd);
	if (img->src.tarfd >= 0)
		close(img->src.tarfd);
	if (img->rootfs_fd >= 0)
		close(img->rootfs_fd);
	if (img->doc_fd >= 0)
		close(img->doc_fd);
	tar_index_free(&img->src.idx);
	for (size_t i = 0; i < img->nlayers; i++) {
		free(img->layers[i].blob);
		free(img->layers[i].digest);
		free(img->layers[i].diff_id);
		free(img->layers[i].media_type);
	}
	free(img->layers);
	bwk_strv_free(img->platforms);
	if (img->vis) {
		for (size_t i = 0; i < img->nlayers; i++)
			vis_table_free(&img->vis[i]);
		free(img->vis);
	}
	for (size_t i = 0; i < img->npending; i++) {
		free(img->pending[i].what);
		free(img->pending[i].expected);
		free(img->pending[i].actual);
	}
	img_config_free(&img->cfg);
	free(img->config_expected);
	free(img->config_actual);
	if (img->source && img->source->close)
		img->source->close(img);
	if (img->src.store) {
		if (img->src.store->free)
			img->src.store->free(img->src.store->ctx);
		free(img->src.store);
	}
	free(img->ref);
	free(img);
}

const bwk_image_config *bwk_image_get_config(const bwk_image *img)
{
	if (img->rootfs_fd >= 0)
		return NULL;
	return &img->cfg.pub;
}

const char *const *bwk_image_platforms(const bwk_image *img)
{
	static const char *const none[] = {NULL};
	return img->platforms ? (const char *const *)img->platforms : none;
}

size_t bwk_image_layer_count(const bwk_image *img)
{
	return img->nlayers;
}

const char *bwk_image_layer_digest(const bwk_image *img, size_t i)
{
	if (i >= img->nlayers)
		return NULL;
	return img->layers[i].digest ? img->layers[i].digest : img->layers[i].diff_id;
}
