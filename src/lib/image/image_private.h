/* Private to src/lib/image: the pieces the readers, the walker, unpack and the cache share.
 * Design notes in docs/design/image.md. */
#ifndef BWK_IMAGE_PRIVATE_H
#define BWK_IMAGE_PRIVATE_H
#ifndef BWK_IN_IMAGE
#error "image_private.h is private to src/lib/image"
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/log.h"
#include "bulwark/image.h"
#include "core/decomp.h"

/* ---- limits (every outside input has a cap) ---------------------------------------------- */
#define BWK_MAX_JSON_SMALL	(1u << 20)    /* manifest.json, index.json, OCI manifest */
#define BWK_MAX_JSON_CONFIG	(8u << 20)    /* image config (history can be long) */
#define BWK_MAX_PATH		4096	      /* bytes in an entry path or link target */
#define BWK_MAX_ARRAY		10000	      /* env, labels, ports, history … */
#define BWK_MAX_MEMBERS		100000	      /* members of an outer image archive */
#define BWK_DEFAULT_MAX_TOTAL	(16ULL << 30) /* uncompressed bytes, all layers */
#define BWK_DEFAULT_MAX_ENTRIES 1000000ULL
#define BWK_DEFAULT_MAX_RATIO	200
#define BWK_RATIO_FLOOR		(32ULL << 20) /* the ratio guard starts above this output */
#define BWK_STREAM_BUF		(256u << 10)

/* ---- path normalisation (path_norm.c) ----------------------------------------------------- */
typedef enum bwk_path_status {
	BWK_PATH_OK = 0,
	BWK_PATH_ROOT,	  /* "", ".", "/", "./": the root itself */
	BWK_PATH_DOTDOT,  /* had a ".." component (out holds the lexically clamped path) */
	BWK_PATH_TOOLONG, /* longer than BWK_MAX_PATH */
} bwk_path_status;

/* Normalise an archive path: strip leading '/' and "./", collapse "//" and "/./", drop a
 * trailing '/'. ".." is resolved lexically and clamped at the root (as RESOLVE_IN_ROOT would)
 * and reported as BWK_PATH_DOTDOT so that unpack can reject it while scan neutralises it.
 * `out` must hold BWK_MAX_PATH + 1 bytes. */
bwk_path_status bwk_path_normalise(const char *in, char *out);

/* Split a whiteout: if the basename of `path` (normalised) is ".wh..wh..opq", returns
 * BWK_ENTRY_OPAQUE and writes the directory to `out`; if it is ".wh.NAME", returns
 * BWK_ENTRY_WHITEOUT and writes dir/NAME; otherwise returns -1. Returns -2 when NAME is empty,
 * "." or ".." or contains a '/' (a hostile whiteout). */
int bwk_whiteout_split(const char *path, char *out);

/* ---- per-layer path sets for exact visibility (visibility.c) ----------------------------- */
enum {
	VIS_PRESENT = 1, /* an entry at this path */
	VIS_NONDIR = 2,	 /* … that is not a directory (hides everything below it) */
	VIS_WHITEOUT = 4,
	VIS_OPAQUE = 8,
};
typedef struct vis_table {
	uint64_t *keys; /* 64-bit path hash, 0 = empty slot */
	uint8_t *flags;
	size_t cap, count;
} vis_table;
uint64_t bwk_path_hash(const char *path, size_t len);
void vis_table_init(vis_table *t);
void vis_table_free(vis_table *t);
void vis_table_add(vis_table *t, const char *path, uint8_t flags);
uint8_t vis_table_get(const vis_table *t, const char *path, size_t len);
/* Which of the layers above `layer` hides `path`? -1 when it stays visible. *replaced: that
 * layer has the same path itself (rather than deleting it or an ancestor). */
int vis_resolve(const vis_table *tables, size_t ntables, int layer, const char *path,
		bool *replaced);

/* ---- outer archives: member index over an uncompressed tar (tar_index.c) ----------------- */
typedef struct tar_member {
	char *name; /* normalised */
	uint64_t off, size;
	char type; /* '0' regular, '5' dir, … */
} tar_member;
typedef struct tar_index {
	tar_member *m;
	size_t n;
} tar_index;
/* Index the members of the tar at fd (read sequentially with lseek over data). Handles ustar
 * prefix, GNU long names and pax path records; bounded member count and name length. */
int tar_index_build(int fd, const char *what, tar_index *idx, bwk_error **err);
void tar_index_free(tar_index *idx);
const tar_member *tar_index_find(const tar_index *idx, const char *name);

/* Decompress the whole of fd (gzip or zstd) into an unlinked temporary file; returns its fd.
 * Bounded by max_total and the ratio guard. */
int bwk_decompress_to_tmp(int fd, bwk_comp comp, const char *what, uint64_t max_total,
			  uint64_t max_ratio, bwk_error **err);

/* ---- blob sources ------------------------------------------------------------------------- */
/* A window of a file read with pread (thread-safe: several layers at once share the fd). */
typedef struct blob_window {
	int fd;
	uint64_t off, len, pos;
} blob_window;

typedef struct blob_src {
	int dirfd; /* an OCI layout directory, or -1 */
	int tarfd; /* an uncompressed outer tar, or -1 */
	tar_index idx;
	/* a store of blobs by digest (bulwark/image.h), or NULL: names "blobs/sha256/HEX" are
	 * read from it by digest */
	bwk_blob_store *store;
} blob_src;
int blob_src_open(const blob_src *s, const char *name, blob_window *w, bwk_error **err);
/* Read a whole small blob (JSON) with a cap. */
int blob_src_read_all(const blob_src *s, const char *name, size_t max, char **data, size_t *len,
		      bwk_error **err);
bool blob_src_exists(const blob_src *s, const char *name);

/* ---- parsed documents (image_json.c) ------------------------------------------------------ */
typedef struct img_desc {
	char *media_type, *digest;
	uint64_t size;
	char *os, *arch, *variant; /* platform (index entries) */
	char *ref_name;		   /* org.opencontainers.image.ref.name */
} img_desc;
void img_desc_free(img_desc *d);

typedef struct docker_manifest {
	char *config;
	char **layers; /* NULL-terminated */
	char **tags;   /* NULL-terminated */
} docker_manifest;
int bwk_parse_docker_manifest(const char *buf, size_t len, docker_manifest **out, size_t *n,
			      bwk_error **err);
void docker_manifests_free(docker_manifest *m, size_t n);

int bwk_parse_oci_index(const char *buf, size_t len, img_desc **out, size_t *n, bwk_error **err);
void img_descs_free(img_desc *d, size_t n);
int bwk_parse_oci_manifest(const char *buf, size_t len, img_desc *config, img_desc **layers,
			   size_t *nlayers, bwk_error **err);

/* A parsed config: the public view plus the storage behind it. */
typedef struct img_config {
	bwk_image_config pub;
	void *json; /* json_t root that the strings point into */
	void *arena[16];
	size_t narena;
} img_config;
int bwk_parse_config(const char *buf, size_t len, img_config *out, bwk_error **err);
void img_config_free(img_config *c);

/* Media types we read as layers; returns false for anything else (foreign layers …). */
bool bwk_layer_media_type_ok(const char *mt);
bool bwk_digest_valid(const char *d); /* "sha256:" + 64 lowercase hex */

/* ---- the image ---------------------------------------------------------------------------- */
typedef struct img_layer {
	char *blob;    /* member name / path of the blob */
	char *digest;  /* expected blob digest, or NULL when the archive does not name one */
	char *diff_id; /* expected uncompressed digest (config rootfs.diff_ids) */
	char *media_type;
	uint64_t size; /* blob size from the manifest (0: unknown) */
} img_layer;

typedef struct image_source image_source;
typedef struct engine_ctx engine_ctx;

struct bwk_image {
	char *ref;
	bwk_image_opts opts;
	const image_source *source; /* the row of the source table that opened it */
	blob_src src;
	int rootfs_fd; /* source "dir": the root filesystem directory; -1 for images */
	int doc_fd;    /* source "sbom" (SRC_DOC): the document; -1 otherwise */
	img_layer *layers;
	size_t nlayers;
	img_config cfg;
	char *config_expected; /* "sha256:…" expected, NULL if unknown */
	char *config_actual;
	engine_ctx *engine; /* docker:NAME (source_engine.c) */
	struct {
		char *what, *expected, *actual;
	} pending[4]; /* report mode: manifest/config mismatches found at open */
	size_t npending;
	char **platforms; /* what the top-level index offered, "os/arch[/variant]"; NULL if none */
	vis_table *vis;	  /* per layer, filled by bwk_image_walk */
	bool walked;
};

/* ---- the source table (source.c; one file per row: source_*.c) ---------------------------
 *
 * Every input form is one row: detection, the explicit prefix and the way layers are read all
 * come from here, so `scan`, `run`, `unpack`, `inspect` and `sbom` cannot disagree on what an
 * input is. Adding a form = one row in source.c + one file. */
typedef struct layer_stream layer_stream;
typedef int (*source_layer_cb)(void *ctx, size_t index, layer_stream *ls, bwk_error **err);

enum {
	SRC_DIR = 1,  /* takes a directory (opened as img->src.dirfd) */
	SRC_FILE = 2, /* takes a file or stdin (img->src.tarfd + tar index, decompressed) */
	SRC_NAME = 4, /* takes a name, not a path (docker:NAME): only by prefix */
	SRC_DOC = 8,  /* takes a file that is a document, not a tar (an SBOM): bid_doc over its
			 first bytes, before any tar index; opened as img->doc_fd */
};

struct image_source {
	const char *name; /* the prefix ("oci" for "oci:PATH") and what bwk_image_source says */
	const char *what; /* for messages: "an OCI layout directory" */
	unsigned forms;	  /* SRC_* */
	/* Detection: how well this row fits an opened directory or file (0: not at all). The
	 * highest bid wins; NULL: the row is taken only by its prefix. */
	int (*bid)(const blob_src *src);
	/* SRC_DOC detection: how well the first bytes of a (decompressed) file fit (0: not). */
	int (*bid_doc)(const char *head, size_t len);
	/* Fill the image's layers and config. SRC_DIR/SRC_FILE: img->src is open and `arg` is
	 * the path; SRC_NAME: `arg` is the name. `refname` is PATH:REF's REF (NULL if none). */
	int (*open)(bwk_image *img, const char *arg, const char *refname, bwk_error **err);
	/* SRC_NAME: what the image weighs, cheaply (bwk_image_size_hint); NULL: unknown (0). */
	uint64_t (*size)(const char *arg, const bwk_image_opts *opts);
	/* Layers that only come as one stream (the engine's save): hand each to `cb`, bottom
	 * first when `ordered`. NULL: layers are read at random from img->src. */
	int (*stream_layers)(bwk_image *img, bool ordered, source_layer_cb cb, void *ctx,
			     bwk_error **err);
	/* Free what open left in the image beyond img->src (NULL: nothing). */
	void (*close)(bwk_image *img);
	/* A reserved prefix: the one-line error that says so (the row has no functions). */
	const char *reserved;
};
extern const image_source bwk_source_dir, bwk_source_oci, bwk_source_oci_archive,
    bwk_source_docker_archive, bwk_source_docker, bwk_source_podman, bwk_source_containerd,
    bwk_source_registry, bwk_source_sbom;

/* The table, NULL-terminated, in bid order (a tie goes to the earlier row). */
extern const image_source *const bwk_image_sources[];

/* The parse of an IMAGE argument: an explicit prefix (row, or NULL for detection), the path
 * or name after it, and PATH:REF's REF. Pure string work (the PATH:REF split needs stat). */
typedef struct source_ref {
	const image_source *prefix;
	char *arg;     /* owned */
	char *refname; /* points into arg, or NULL */
} source_ref;
int source_ref_parse(const char *ref, source_ref *out, bwk_error **err);
/* Detection: the row that bids highest on an opened directory (is_dir) or file; NULL: none. */
const image_source *source_detect(const blob_src *src, bool is_dir);
void source_ref_free(source_ref *r);

/* A digest mismatch of a document: an error in strict mode, remembered for the walk's
 * integrity callback in report mode. */
int image_doc_mismatch(bwk_image *img, const char *what, const char *expected, const char *actual,
		       bwk_error **err);
/* Shared by readers: load and verify the config blob, check layer counts. */
int image_load_config(bwk_image *img, const char *blob, const char *expected, bwk_error **err);
/* Select the manifest out of an OCI index (by ref name or platform). */
int image_select_manifest(bwk_image *img, const char *index_name, const char *refname,
			  bwk_error **err);
/* A source backed by a blob store: take ownership of *store (copied; freed by
 * bwk_image_close even when this fails), read its root document (an index: select as for an
 * OCI layout; a manifest: use it), verify, load the config. Layers stream from the store. */
int image_open_store(bwk_image *img, const bwk_blob_store *store, bwk_error **err);
/* The image a root document names (an index: select as for an OCI layout; a manifest: use
 * it), its blobs read from img->src by their digest names (blobs/sha256/HEX): verify `buf`
 * against `digest` (NULL: not known), then the manifest and config against theirs. Shared by
 * the blob-store sources and containerd's content store (a directory of blobs by digest). */
int image_open_root_doc(bwk_image *img, const char *buf, size_t len, const char *digest,
			bwk_error **err);
/* "linux/amd64" of the host; static string. */
const char *bwk_host_arch(void);

/* ---- layer streams (layer_stream.c) -------------------------------------------------------- */
typedef ssize_t (*bwk_pull_fn)(void *ctx, void *buf, size_t len, bwk_error **err);

typedef struct layer_entry {
	bwk_entry e;
	char path[BWK_MAX_PATH + 1];
	char link[BWK_MAX_PATH + 1];
	bool dotdot;	       /* path (or hardlink target) had ".." (clamped) */
	bool hostile_whiteout; /* ".wh.." and the like */
	uint32_t devmajor, devminor;
} layer_entry;

/* Open a layer: from the image's blob source, or (pull != NULL) from a byte stream. */
int layer_stream_open(bwk_image *img, size_t index, bwk_pull_fn pull, void *pull_ctx,
		      layer_stream **out, bwk_error **err);
/* Next entry: 1 with *le filled, 0 at the end (after the digests were checked), -1 on error.
 * In report mode a digest mismatch goes to `integrity` (may be NULL). */
int layer_stream_next(layer_stream *ls, layer_entry *le, bwk_error **err);
/* Content of the current regular file, holes of a sparse file read as one NUL byte each
 * (scanners need the bytes, not gigabytes of zeros). */
ssize_t layer_stream_read(layer_stream *ls, void *buf, size_t len, bwk_error **err);
/* The next data block of the current regular file at its offset *off (holes lie between
 * blocks; the last may end before the entry's size). *buf stays valid until the next call on
 * the stream. 1 with a block, 0 at the end, -1 on error (including a sparse map that leaves
 * the file or goes backwards). Don't mix with layer_stream_read on one entry. */
int layer_stream_read_block(layer_stream *ls, const void **buf, size_t *len, uint64_t *off,
			    bwk_error **err);
/* The result of the digest checks once layer_stream_next returned 0. */
typedef struct layer_verdict {
	bool blob_ok, diff_ok;
	char blob_actual[72], diff_actual[72];
	uint64_t bytes_in, bytes_out;
} layer_verdict;
const layer_verdict *layer_stream_verdict(const layer_stream *ls);
void layer_stream_close(layer_stream *ls);
/* The run's verified layers (layer_memo.c, bwk_layer_memo): the tar of (digest, diff_id),
 * borrowed until the memo is freed; whether a tar of `len` bytes would be kept; keep one
 * (takes `tar`, malloc'd) that was read whole and matched both digests. */
bool layer_memo_get(bwk_layer_memo *m, const char *digest, const char *diff_id,
		    const unsigned char **tar, size_t *len, uint64_t *blob_size);
bool layer_memo_wants(bwk_layer_memo *m, const char *digest, const char *diff_id, uint64_t len);
void layer_memo_put(bwk_layer_memo *m, const char *digest, const char *diff_id, unsigned char *tar,
		    size_t len, uint64_t blob_size);
/* Shared entry-count and size budget of one operation across threads. `bytes` is what the
 * layers expand to: the tar streams plus the holes of their sparse files. */
typedef struct layer_budget {
	uint64_t entries, bytes; /* atomics */
} layer_budget;
void layer_stream_set_budget(layer_stream *ls, layer_budget *b);

/* Strict mode: build the error for a mismatch; report mode: call v->integrity. */
int layer_check_verdict(bwk_image *img, size_t index, const layer_verdict *vd, const bwk_visitor *v,
			bwk_error **err);

/* ---- Docker Engine API image export (source_engine.c), shared by rows that speak it ------- */
/* Open NAME from the engine at `host` (bwk_endpoint_open's: NULL = DOCKER_HOST) through
 * GET /images/NAME/get; messages name it as ROW:NAME. */
int engine_open_at(bwk_image *img, const char *host, const char *name, bwk_error **err);
int engine_stream_layers(bwk_image *img, bool ordered, source_layer_cb cb, void *ctx,
			 bwk_error **err);
void engine_close(bwk_image *img);

/* ---- the shared content cache (unpack.c) --------------------------------------------------- */
/* The cache's root: cache_dir, else $XDG_CACHE_HOME/bulwark (root: /var/lib/bulwark). */
char *image_cache_root(const char *cache_dir); /* NULL: no home to put it in */
#define IMAGE_NO_CACHE_DIR                                                                         \
	"no directory for the image cache: set XDG_CACHE_HOME or HOME, or give a cache directory"
int image_mkdir_p(const char *path, mode_t mode, bwk_error **err);

/* ---- filesystem writer (unpack_fs.c) -------------------------------------------------------- */
typedef struct fs_writer {
	int rootfd;
	const bwk_unpack_opts *opts;
	bool cache_mode; /* keep whiteouts as overlayfs markers instead of applying them */
	bool is_root;
	FILE *whiteouts;   /* cache mode, rootless: sidecar list */
	vis_table created; /* paths written by the current layer (opaque handling) */
	char parent[BWK_MAX_PATH + 1];
	int parentfd; /* cached fd of `parent` */
	uint64_t warned_dev, warned_suid;
	bool no_openat2;
	bool stale; /* a directory was removed: the cached parent fd may be gone */
} fs_writer;
int fs_writer_init(fs_writer *w, int rootfd, const bwk_unpack_opts *opts, bool cache_mode);
void fs_writer_layer_begin(fs_writer *w);
int fs_writer_apply(fs_writer *w, layer_stream *ls, layer_entry *le, bwk_error **err);
void fs_writer_free(fs_writer *w);
/* Remove a tree below dirfd/name without following symlinks. */
int bwk_remove_tree_at(int dirfd, const char *name);
/* Apply every entry of one layer stream. */
int fs_writer_apply_layer(fs_writer *w, bwk_image *img, size_t index, layer_stream *ls,
			  bwk_error **err);

#endif
