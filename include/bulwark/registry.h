/* bulwark — images in registries: a client of the OCI distribution API (docs/registry.md) and
 * `bulwark audit registry`.
 *
 * References are spelled as the docker CLI spells them: REGISTRY/REPO:TAG, REPO@sha256:…, and
 * Docker Hub short names ("alpine:3.19" is docker.io/library/alpine:3.19). The client speaks
 * HTTPS with verification (plain HTTP only to loopback or a host named in insecure_hosts),
 * authenticates anonymously, with basic auth or with bearer tokens obtained through the
 * WWW-Authenticate challenge, and takes credentials from the caller or ~/.docker/config.json
 * (auths, credHelpers, credsStore). Credentials never appear in messages, findings or reports.
 * Every response is bounded (manifests, JSON, tokens), every request has a timeout, and every
 * blob is checked against its digest while it streams.
 */
#ifndef BULWARK_REGISTRY_H
#define BULWARK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits (one number per limit) -------------------------------------------------------- */
#define BWK_REG_MAX_REF		512	   /* bytes in a reference */
#define BWK_REG_MAX_MANIFEST	(4u << 20) /* a manifest or index (the OCI spec's 4 MiB) */
#define BWK_REG_MAX_JSON	(1u << 20) /* token, catalog, tag list, error bodies */
#define BWK_REG_MAX_CHALLENGE	4096	   /* bytes in a WWW-Authenticate header */
#define BWK_REG_MAX_REDIRECTS	5
#define BWK_REG_MAX_RETRIES	3	      /* on 429 and 5xx, with backoff */
#define BWK_REG_MAX_RETRY_AFTER 30	      /* seconds: a longer Retry-After is an error */
#define BWK_REG_CACHE_MAX	(20ULL << 30) /* bytes kept in the blob cache by default */

/* A parsed reference. `registry` is the host as written ("docker.io" for Docker Hub),
 * `repository` the full path ("library/alpine"); `tag` is NULL when only a digest was given;
 * `digest` ("sha256:<64 hex>") is NULL when none was given. */
typedef struct bwk_registry_ref {
	char *registry;
	char *repository;
	char *tag;
	char *digest;
} bwk_registry_ref;

/* Parse `s` (without a "registry:" prefix) like the docker CLI: a first component holding a
 * '.' or ':' or spelled "localhost" is the registry, else Docker Hub (with "library/" for
 * one-component names); "latest" when neither tag nor digest is given. BWK_E_INPUT naming the
 * reference and what is wrong with it. */
int bwk_registry_ref_parse(const char *s, bwk_registry_ref *out, bwk_error **err);
void bwk_registry_ref_free(bwk_registry_ref *r);
/* held by value, it is its own cleanup: cleanup_with(bwk_registry_ref_free) bwk_registry_ref r */
/* True when `s` is a valid reference that names its registry explicitly
 * ("HOST.DOMAIN/REPO…", "HOST:PORT/REPO…", "localhost/REPO…"): what an IMAGE argument that is
 * not an existing path may be taken for without a "registry:" prefix. Short Docker Hub names
 * ("alpine:3.19") are not: they need the prefix. */
bool bwk_registry_ref_is_explicit(const char *s);
/* "registry/repository:tag", "…@digest" (caller frees). */
char *bwk_registry_ref_string(const bwk_registry_ref *r);

/* The manifests of one run, fetched once: what bwk_registry_image_size fetched, the store
 * (bwk_registry_store_open) of the same reference takes instead of asking again. Each entry is
 * taken once; at most max_entries documents and max_bytes bytes are kept (past that, the store
 * asks the registry as without the cache). Safe to share between threads. */
typedef struct bwk_registry_manifest_cache bwk_registry_manifest_cache;
bwk_registry_manifest_cache *bwk_registry_manifest_cache_new(size_t max_entries, size_t max_bytes);
void bwk_registry_manifest_cache_free(bwk_registry_manifest_cache *mc);

typedef struct bwk_registry_opts {
	const char *username;	     /* with password: overrides the docker config */
	const char *password;	     /* wiped by the caller; never copied into messages */
	const char *docker_config;   /* config.json; NULL: $DOCKER_CONFIG/config.json, else
					~/.docker/config.json */
	const char *ca_cert;	     /* PEM bundle trusted in addition to the system roots */
	const char *const *insecure; /* hosts ("host" or "host:port") allowed over plain HTTP;
					NULL-terminated, may be NULL */
	const char *platform;	     /* "os/arch[/variant]"; NULL: linux and the host's arch */
	int timeout_ms;		     /* per request (manifests, tokens, API calls) and the stall
					limit of blob downloads; 0 = 30000 */
	bool quiet;		     /* no warnings on stderr */
	/* The blob cache of run and unpack: an existing directory where blobs are kept by
	 * digest (verified, atomic, resumable, shared between images), and where a reference
	 * by digest is opened without the network when it was pulled before. NULL: blobs
	 * stream and nothing is kept (scan). */
	const char *blob_cache;
	uint64_t blob_cache_max; /* bytes kept there; 0: BWK_REG_CACHE_MAX */
	const char *data_dir;	 /* audit: registry-cves.yaml from here (--data; NULL: env
				    BWK_DATA_DIR, else built in) */
	bwk_registry_manifest_cache *manifests; /* NULL: every open asks the registry */
} bwk_registry_opts;

/* The size of `ref`'s image for scheduling (largest first): the sum of its layers' sizes
 * (compressed, as the manifest's layers[].size say) in the manifest of o->platform (the
 * host's when NULL) when the reference names an index. One bounded manifest fetch (two for an
 * index), digests checked; the manifests are left in o->manifests when set. */
int bwk_registry_image_size(const char *ref, const bwk_registry_opts *o, uint64_t *size,
			    bwk_error **err);
struct bwk_layer_memo; /* bulwark/image.h */
/* The same, and each layer's blob digest announced to `expect` (bwk_layer_memo_expect, for a
 * run of scans that shares the layers several images have; NULL: none). */
int bwk_registry_image_size_expect(const char *ref, const bwk_registry_opts *o,
				   struct bwk_layer_memo *expect, uint64_t *size, bwk_error **err);

/* Pull `ref` (one platform of it) into a new OCI image layout at `dir` (created; must not
 * exist): oci-layout, index.json naming the manifest with the tag as its ref name, and every
 * blob under blobs/sha256, each verified against its digest while it is written. */
int bwk_registry_pull_layout(const char *ref, const bwk_registry_opts *o, const char *dir,
			     bwk_error **err);

/* ---- the registry row of the image source table ----------------------------------------
 *
 * Fill `store` (bulwark/image.h's bwk_blob_store) for `ref`: the root is the manifest or index
 * the reference names, blobs are read by digest (a manifest an index names from the manifests
 * endpoint, anything else from the blobs endpoint), layers are streamed as they download.
 * The store moves bytes only; the image module bounds, parses, selects the platform and
 * verifies every digest. Credentials are looked up once here. `o` may be NULL (defaults). */
struct bwk_blob_store;
int bwk_registry_store_open(const char *ref, const bwk_registry_opts *o,
			    struct bwk_blob_store *store, bwk_error **err);

/* `bulwark audit registry URL`: what the registry at `url` ("https://host[:port]",
 * "http://…" or "host[:port]", HTTPS tried first) exposes: anonymous catalog, pull and push
 * (an upload session that is cancelled at once, never leaving a blob), plain HTTP, TLS
 * problems, a token endpoint over plain HTTP, its version against known CVEs. With
 * credentials in `o`, push is tried as that user too. Transport failures that stop every
 * check are errors; everything else is a finding or a recorded check. */
int bwk_audit_registry(const char *url, const bwk_registry_opts *o, bwk_findings *out,
		       bwk_error **err);

/* `audit registry URL --scan-all`: the images the registry at `url` lists, as references
 * "host/repository:tag" — every tag of every repository of /v2/_catalog, or of the repository
 * the URL names and the `named` ones ("NAME" or "NAME:TAG", NULL-terminated, may be NULL;
 * the catalog is then not asked), both lists paginated, at most `max` references (*truncated
 * then says more were listed). With credentials (o or the docker config) the lists are asked
 * as that user. A repository whose tags cannot be listed is warned about and counted in
 * `unlisted`. When `findings` is given, a catalog that cannot be listed (401, 404, malformed)
 * and a certificate that does not verify are one finding each there (rule
 * registry-images-not-listed: why, and what to do) with no image listed, not errors; without
 * it they are errors naming the registry. A malformed `named` entry is BWK_E_USAGE. */
#define BWK_REG_MAX_IMAGES 10000 /* the largest --max-images */
typedef struct bwk_registry_images {
	char **refs;
	size_t n;
	bool truncated;
	size_t unlisted;
} bwk_registry_images;
int bwk_registry_list_images(const char *url, const bwk_registry_opts *o, const char *const *named,
			     size_t max, bwk_registry_images *out, bwk_findings *findings,
			     bwk_error **err);
void bwk_registry_images_free(bwk_registry_images *l);

/* The rules the registry audit can report: up to `max` pointers into `out` (may be NULL);
 * returns the total count. */
size_t bwk_registry_rules(const bwk_rule **out, size_t max);

#ifdef __cplusplus
}
#endif
#endif
