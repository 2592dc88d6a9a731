/* Private to src/lib/image: Podman's local storage (containers/storage) read directly
 * (podman_store.c), and tar-split reassembly of a layer's original tar (tarsplit.c). */
#ifndef BWK_IMAGE_PODMAN_STORE_H
#define BWK_IMAGE_PODMAN_STORE_H
#ifndef BWK_IN_IMAGE
#error "podman_store.h is private to src/lib/image"
#endif

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/image.h"
#include "core/decomp.h"

/* ---- tar-split (tarsplit.c) ----------------------------------------------------------------
 * containers/storage keeps, per layer, `<id>.tar-split.gz`: gzip'd JSON lines, each either a
 * segment {"type":2,"payload":BASE64} of raw tar bytes (headers, padding, the end blocks) or
 * a file {"type":1,"name":NAME (or "name_raw":BASE64),"size":N,"payload":CRC64} whose N
 * content bytes are the file NAME of the layer's directory. In order, they are the layer's
 * original tar, byte for byte. */
#define TS_MAX_LINE  (16u << 20) /* one JSON line (a segment holds headers: pax can be large) */
#define TS_MAX_LINES (16u << 20) /* lines per layer */
#define TS_MAX_DEPTH 256	 /* components of a file's name */

enum { TS_FILE = 1, TS_SEGMENT = 2 };
typedef struct ts_entry {
	int type;
	char *name; /* TS_FILE: malloc'd, NUL-free, at most BWK_MAX_PATH bytes */
	uint64_t size;
	unsigned char *payload; /* TS_SEGMENT: the raw bytes, malloc'd */
	size_t plen;
} ts_entry;
/* Parse one line; 0 with *e filled (free with ts_entry_free), -1 with *err. */
int ts_parse_line(const char *line, size_t len, ts_entry *e, bwk_error **err);
void ts_entry_free(ts_entry *e);

/* Open file NAME of the layer for reading: an fd, or -1 with *err. */
typedef int (*ts_open_fn)(void *ctx, const char *name, bwk_error **err);
typedef struct ts_reader ts_reader;
/* A reader of the reassembled tar over the tar-split at fd (taken; gzip, or comp NONE). */
ts_reader *ts_reader_new(int fd, bwk_comp comp, ts_open_fn open, void *open_ctx, const char *what);
/* Up to len bytes: > 0, 0 at the end, -1 with *err. */
ssize_t ts_reader_read(ts_reader *r, void *buf, size_t len, bwk_error **err);
void ts_reader_free(ts_reader *r);

/* ---- the store (podman_store.c) ------------------------------------------------------------ */
/* Where the store is and whether it can be read: 1 readable (graphroot and driver filled,
 * malloc'd), 0 not there or not readable (*why says so, malloc'd), -1 with *err (a broken
 * storage.conf, an unsupported driver). */
int pstore_locate(char **graphroot, char **driver, char **why, bwk_error **err);
/* Fill `store` with image NAME of the store at graphroot/driver (podman's name resolution). */
int pstore_open(const char *graphroot, const char *driver, const char *name, bwk_blob_store *store,
		bwk_error **err);
/* Which image of images.json (its text) NAME means, as Podman resolves it: the index, -1
 * with *err when none or ambiguous. Pure (the fuzz target and unit tests call it). */
int pstore_resolve(const char *images_json, size_t len, const char *name, char **id,
		   char **top_layer, bwk_error **err);

#endif
