/* bulwark — image inputs. The readers (rootfs directory, docker-save tarball, OCI layout as a
 * directory or tar, Docker engine over its API) live in src/lib/image/, one file each,
 * registered in one table; every one of them yields the same walker entries (bulwark/walk.h).
 *
 * Design and limits: docs/design/image.md; user documentation: docs/image.md.
 */
#ifndef BULWARK_IMAGE_H
#define BULWARK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/error.h"
#include "bulwark/strv.h"
#include "bulwark/walk.h"

#define BWK_MAX_LAYERS 1000 /* layers of one image (a manifest with more is refused) */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plain root filesystem directory ---------------------------------------------------- */

typedef struct bwk_rootfs_opts {
	uint64_t max_entries; /* 0: default 5,000,000 */
	unsigned max_depth;   /* 0: default 256 */
} bwk_rootfs_opts;

/* Walk the tree below `root` (a directory) fd-relative: never follows a symlink, never leaves
 * the tree, does not read device contents. Entries are delivered depth-first in name order
 * from a single thread (worker 0). */
int bwk_rootfs_walk(const char *root, const bwk_rootfs_opts *opts, const bwk_visitor *v,
		    bwk_error **err);

/* ---- images ------------------------------------------------------------------------------ */

/* The image config (OCI image-spec config / Docker's container_config), strings owned by the
 * bwk_image. Arrays are NULL-terminated (never NULL themselves). */
typedef struct bwk_history_entry {
	const char *created;
	const char *created_by; /* the build step: "/bin/sh -c …", "|1 TOKEN=… /bin/sh -c …" */
	const char *comment;
	bool empty_layer;
} bwk_history_entry;

struct bwk_image_config {
	const char *os, *architecture, *variant;
	const char *user; /* "" when unset: root */
	const char *workdir;
	const char *stop_signal; /* StopSignal ("SIGQUIT", "QUIT", "3") or NULL */
	const char *const *env;	 /* "KEY=VALUE" */
	const char *const *cmd;
	const char *const *entrypoint;
	const char *const *exposed_ports; /* "80/tcp" */
	const char *const *volumes;
	const char *const *label_keys; /* label_keys[i] = label_values[i] */
	const char *const *label_values;
	const char *const *healthcheck; /* Test array, NULL-terminated; empty = none */
	bool has_healthcheck;
	const bwk_history_entry *history;
	size_t nhistory;
	const char *const *diff_ids; /* "sha256:…" per layer */
	const char *digest;	     /* "sha256:…" of the config blob */
};

typedef struct bwk_image bwk_image;

typedef enum bwk_verify_mode {
	BWK_VERIFY_STRICT = 0, /* a digest mismatch is an error (run, unpack) */
	BWK_VERIFY_REPORT, /* a mismatch goes to visitor->integrity and the walk goes on (scan) */
} bwk_verify_mode;

typedef struct bwk_image_opts {
	const char *platform; /* "linux/amd64[/variant]"; NULL: the host's */
	bwk_verify_mode verify;
	unsigned threads;	  /* parallel layer walks; 0: number of CPUs */
	uint64_t max_total_bytes; /* uncompressed, all layers; 0: default */
	uint64_t max_entries;	  /* per image; 0: default */
	uint64_t max_ratio;	  /* compression ratio guard; 0: default */
	/* one layer walked at a time whatever `threads` says; a layer larger than a few blocks
	 * is still read, hashed and inflated on a thread of its own unless threads is 1
	 * (bwk_scan_many: the images are the parallel work) */
	bool one_walk;
	/* A root filesystem directory (source "dir") opens as an image without layers or config
	 * (bwk_image_rootfs_fd, bwk_image_walk walks the tree). false: it is refused, saying
	 * what it is (unpack needs an image). */
	bool accept_rootfs;
	/* An SBOM (source "sbom": a CycloneDX or SPDX JSON file, or sbom:PATH) opens as an
	 * inventory document without layers (bwk_image_document_fd). false: it is refused, saying
	 * what it is (run, unpack and inspect need an image). */
	bool accept_document;
	/* Use the shared content cache (cache_dir, NULL: the default of bwk_image_cache_layers):
	 * a docker:NAME image's small documents are kept there by the engine's image ID, so an
	 * unchanged image is not streamed again to be opened (and bwk_image_cache_layers then
	 * streams nothing when its layers are extracted already). */
	bool cache;
	const char *cache_dir;
	/* Source "registry": credentials, CA, insecure hosts, timeout (bulwark/registry.h);
	 * NULL: the defaults (docker config credentials, the system's CAs). Borrowed. */
	const struct bwk_registry_opts *registry;
	/* Optional: the verified layers of a run of several scans (bwk_layer_memo_new): a layer
	 * whose blob digest and diff_id one image of the run already verified is read from
	 * there, not fetched, inflated or hashed again. Borrowed; NULL: none. */
	struct bwk_layer_memo *layers;
} bwk_image_opts;

/* ---- layers shared by the images of one run -----------------------------------------------
 *
 * `audit registry --scan-all` scans many images that often share their base layers. The memo
 * keeps the tar of every small layer whose blob digest and diff_id were verified over the
 * whole stream (nothing that failed a check or stopped half way), keyed by both digests; a
 * later image naming the same pair walks those bytes (content addressing: they are the bytes
 * the digests name). Every scan still walks the layer and reports its findings itself (the
 * same entries, the same findings, as without the memo); what is saved is the download, the
 * decompression and the hashing. Bounded: a layer of more than `max_layer` bytes (tar) is not
 * kept, nor anything once `max_bytes` are; thread-safe (the workers of one run share it). */
typedef struct bwk_layer_memo bwk_layer_memo;
bwk_layer_memo *bwk_layer_memo_new(uint64_t max_bytes, uint64_t max_layer);
void bwk_layer_memo_free(bwk_layer_memo *m);
/* How many layers were served from the memo (for tests and facts). */
uint64_t bwk_layer_memo_hits(const bwk_layer_memo *m);
/* An image of the run has the layer of blob digest `digest` (its manifest, read before the
 * scans: bwk_image_size_hint). Once any layer was announced, only the layers announced more
 * than once are kept (the others would be memory nobody reads again); with none announced,
 * every layer within the bounds is. Call before the scans, not during them. */
void bwk_layer_memo_expect(bwk_layer_memo *m, const char *digest);

/* ---- image sources ------------------------------------------------------------------------
 *
 * What an IMAGE argument is, is decided in one place: the source table in src/lib/image/
 * (source.c, one file per source), asked by every command. Rows, as `bulwark help images`
 * and docs/image.md list them:
 *
 *   dir:PATH              a root filesystem directory
 *   oci:PATH[:REF]        an OCI image layout directory
 *   oci-archive:PATH[:REF] a tar of an OCI image layout (gzip/zstd allowed); PATH "-": stdin
 *   docker-archive:PATH[:TAG] a `docker save` archive (tar, gzip/zstd, "-": stdin) or the
 *                         directory it was extracted to
 *   docker:NAME[:TAG]     an image of the Docker engine (Engine API; DOCKER_HOST honoured)
 *   podman:NAME[:TAG]     an image of Podman, through its API service (CONTAINER_HOST, else
 *                         the service's socket)
 *   containerd:NAME       an image of containerd's store (exported by ctr; CONTAINERD_ADDRESS,
 *                         CONTAINERD_NAMESPACE)
 *   registry:REF          an image in a registry (OCI distribution API, bulwark/registry.h):
 *                         REGISTRY/REPO:TAG, REPO@sha256:…, Docker Hub names (alpine:3.19);
 *                         without the prefix, HOST.DOMAIN/REPO… or HOST:PORT/REPO… that
 *                         names no existing path
 *
 * An explicit prefix (spelled as skopeo and Grype do) overrides detection. Without one, a
 * NAME:… whose prefix is not a row is a path; "-" is stdin (an archive); a file is
 * docker-archive when it holds manifest.json, else oci-archive when it holds index.json; a
 * directory is docker-archive when it holds manifest.json, oci when it holds oci-layout or
 * index.json with blobs/, and dir otherwise. A directory holding only manifest.json is
 * therefore an extracted docker save for every command: "dir:PATH" scans or runs it as a
 * root filesystem instead. A prefix opens the same way as detection (fd-relative, symlinks
 * inside the input never followed); it only removes the guess. */

/* Open IMAGE through the source table. Parses and bounds the manifest/index/config; does not
 * read layers yet. Errors name the input and, for a misdetected one, the prefix to use. */
int bwk_image_open(const char *ref, const bwk_image_opts *opts, bwk_image **out, bwk_error **err);
/* What `ref` weighs, known cheaply and without opening it, to schedule several scans largest
 * first: a registry image's layers as its manifest states them (compressed; the platform's
 * manifest of an index: opts->platform, the host's when NULL), a file's size; 0 when the
 * source cannot tell cheaply (a directory, an engine's image) or the lookup failed (opening
 * it then reports why). Bounded as opening is (manifest sizes, timeouts). */
uint64_t bwk_image_size_hint(const char *ref, const bwk_image_opts *opts);
/* The name of the source (table row) that opened the image: "dir", "oci", "oci-archive",
 * "docker-archive", "docker", "podman", "containerd", "registry", "sbom". */
const char *bwk_image_source(const bwk_image *img);
/* Source "dir": an fd of the root filesystem directory (owned by the image, valid until
 * bwk_image_close); every other source: -1. */
int bwk_image_rootfs_fd(const bwk_image *img);
/* Source "sbom": an fd of the document (owned by the image, positioned anywhere: read it
 * with pread from 0); every other source: -1. */
int bwk_image_document_fd(const bwk_image *img);
void bwk_image_close(bwk_image *img);
BWK_DEFINE_CLEANUP(bwk_image *, bwk_image_close)

/* ---- a source outside this module: a store of blobs by digest -----------------------------
 *
 * How a source that reads images from elsewhere (a registry, a daemon's content store) plugs
 * into the table: its row (one file src/lib/image/source_NAME.c, one line in source.c) fills a
 * bwk_blob_store and hands it to the image module (image_open_store in image_private.h). The
 * store only moves bytes; the image module does everything that makes them safe to use: it
 * bounds and parses the index/manifest/config (OCI and Docker v2 schema 2 media types), picks
 * the manifest by platform (--platform, default the host's) as for an OCI layout, verifies
 * every document against the digest that names it, and streams each layer through the same
 * decompression, blob-digest, diff_id, size, ratio and entry checks as a local archive (in
 * report mode a mismatch becomes a finding, in strict mode an error). A store never needs to
 * parse or trust what it serves, and nothing it returns is used before it was checked. */
typedef struct bwk_blob_store {
	void *ctx;
	/* The document the reference names: an image index / manifest list or an image manifest,
	 * at most `max` bytes, in a malloc'd buffer (*doc, *len). *digest: the digest it is
	 * known by ("sha256:…", malloc'd), when the reference pins one (REPO@sha256:…) or the
	 * server states one (Docker-Content-Digest); then it is verified; else NULL. */
	int (*root)(void *ctx, size_t max, char **doc, size_t *len, char **digest, bwk_error **err);
	/* A whole small blob by digest (a manifest named by an index, the config), at most
	 * `max` bytes, malloc'd. Verified by the caller. */
	int (*read_blob)(void *ctx, const char *digest, size_t max, char **data, size_t *len,
			 bwk_error **err);
	/* A layer blob as a byte stream (`size` as the manifest gives it). Must be thread-safe:
	 * several layers are streamed at once, one thread per stream. */
	int (*open_blob)(void *ctx, const char *digest, uint64_t size, void **stream,
			 bwk_error **err);
	/* Up to `len` bytes of the stream: > 0 bytes, 0 at its end, -1 with *err. */
	ssize_t (*pull)(void *stream, void *buf, size_t len, bwk_error **err);
	void (*close_blob)(void *stream);
	/* Release ctx; called once, by bwk_image_close (or when opening fails). */
	void (*free)(void *ctx);
	/* Optional (may be NULL): make a pull that another thread is blocked in, or makes next,
	 * return soon (0 or -1), e.g. a stalled download. Called from another thread than the
	 * pull's, when the reader stops before the end; close_blob follows once the pulling
	 * thread is done. */
	void (*cancel)(void *stream);
} bwk_blob_store;

/* NULL for a root filesystem directory (no config). */
const bwk_image_config *bwk_image_get_config(const bwk_image *img);
size_t bwk_image_layer_count(const bwk_image *img);
/* The platforms ("os/arch[/variant]") the image's index offered, in index order,
 * NULL-terminated; empty when the source names one image only (a docker save without an
 * index, a root filesystem). --platform picks among them. */
const char *const *bwk_image_platforms(const bwk_image *img);
const char *bwk_image_layer_digest(const bwk_image *img, size_t i); /* compressed blob digest */

/* Walk every layer (bottom first within a worker; several layers at once when threads > 1);
 * a root filesystem directory is walked as by bwk_rootfs_walk (no config callback).
 * Every blob is verified against its digest and every layer against its diff_id while it is
 * streamed. visitor->config is called first. Entry visibility is exact. */
int bwk_image_walk(bwk_image *img, const bwk_visitor *v, bwk_error **err);

/* Exact visibility of the entry at `path` (as walked) of layer `layer_index`, once
 * bwk_image_walk has read every layer (e.g. from visitor->walk_end): BWK_VISIBLE, or
 * BWK_HIDDEN or BWK_REPLACED with *hidden_by = the lowest layer above that deletes or
 * replaces it.
 * BWK_VIS_UNKNOWN before the walk finished. Thread-safe (read-only). */
bwk_visibility bwk_image_visibility(const bwk_image *img, int layer_index, const char *path,
				    int *hidden_by);

/* Options for unpacking to a directory. */
typedef struct bwk_unpack_opts {
	bool keep_setuid; /* keep setuid/setgid bits (default: strip, with a warning) */
	bool devices;	  /* create device nodes (root only; default: skip with a warning) */
	bool quiet;	  /* no warnings on stderr */
	/* For `bulwark run`, which takes neither flag: device nodes under dev/ are skipped
	 * silently (the runtime mounts its own /dev over them), other ones without naming
	 * --devices; and with setuid_stripped set, the files whose setuid/setgid bits were
	 * removed are counted there (atomically: layers extract in parallel) instead of one
	 * warning each, for the caller's one summary line. */
	bool for_run;
	size_t *setuid_stripped;
} bwk_unpack_opts;

/* Unpack the merged filesystem into a NEW directory `dest` atomically (dest.tmp-XXXX, rename at
 * the end); hostile entries never write outside it. */
int bwk_image_unpack(bwk_image *img, const bwk_unpack_opts *opts, const char *dest,
		     bwk_error **err);

/* Layer cache for run: each layer extracted once into CACHE/layers/sha256/<diff_id>/ (atomic,
 * verified, safe against concurrent bulwark processes). Fills `dirs` with one absolute path per
 * layer, bottom first (NULL-terminated, caller frees with bwk_strv_free, bulwark/strv.h).
 * `cache_dir` NULL: $XDG_CACHE_HOME/bulwark, or /var/lib/bulwark for root. */
int bwk_image_cache_layers(bwk_image *img, const char *cache_dir, const bwk_unpack_opts *opts,
			   char ***dirs, bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
