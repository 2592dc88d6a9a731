/* A read-only reader of bbolt database files (the format of containerd's metadata store,
 * io.containerd.metadata.v1.bolt/meta.db). Private to src/lib/image.
 *
 * The file is read with pread, page by page, without taking its lock: containerd holds an
 * exclusive flock for as long as it runs, and a scan must not wait for it. bbolt writes copy
 * on write (a committed tree is never changed in place; its pages are reused only after a
 * later commit freed them), so a tree read entirely between two looks at the meta pages that
 * show the same transaction is a consistent snapshot: bolt_snapshot_current says whether it
 * still is. Every page reference, count, offset and length is bounded and checked, as the
 * file is outside input and may be changing under us. */
#ifndef BWK_IMAGE_BOLT_H
#define BWK_IMAGE_BOLT_H
#ifndef BWK_IN_IMAGE
#error "bolt.h is private to src/lib/image"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bulwark/error.h"

#define BOLT_MAX_DEPTH	64	    /* branch levels below a bucket's root */
#define BOLT_MAX_PAGE	(1u << 20)  /* bytes in one page (bbolt uses the OS page size) */
#define BOLT_MAX_SPAN	(64u << 20) /* bytes in one page with its overflow pages */
#define BOLT_MAX_READS	100000	    /* page reads in one open (a looping tree ends here) */
#define BOLT_MAX_INLINE BOLT_MAX_SPAN

typedef struct bolt_db bolt_db;

/* A bucket: its root page, or (inline buckets) its one leaf page held in `page`. */
typedef struct bolt_bucket {
	uint64_t root;
	unsigned char *page; /* inline bucket: a copy of its page (owned), else NULL */
	size_t page_len;
} bolt_bucket;
void bolt_bucket_free(bolt_bucket *b);

/* Open the database at fd (not taken over) as of its newest valid meta page (magic, version
 * 2, FNV-64a checksum; of the two the higher txid). `what` names it in messages. */
int bolt_open(int fd, const char *what, bolt_db **out, bwk_error **err);
void bolt_close(bolt_db *db);
uint64_t bolt_txid(const bolt_db *db);
/* The top-level bucket (the tree of bucket names). */
void bolt_root(const bolt_db *db, bolt_bucket *out);
/* Does the newest valid meta page still name the transaction opened? (false: a write
 * committed meanwhile; what was read may mix two trees: open again) */
bool bolt_snapshot_current(const bolt_db *db);

/* Look `key` up in bucket `b`. 1: found (*value and *vlen: a malloc'd copy, NUL-terminated beyond
 * vlen; *is_bucket when it is a nested bucket), 0: absent, -1: error. */
int bolt_get(bolt_db *db, const bolt_bucket *b, const void *key, size_t klen, char **value,
	     size_t *vlen, bool *is_bucket, bwk_error **err);
/* The nested bucket `name` of `b`: 1 found, 0 absent (or a plain key), -1 error. */
int bolt_bucket_get(bolt_db *db, const bolt_bucket *b, const char *name, bolt_bucket *out,
		    bwk_error **err);
/* Every key of `b` in order (at most `max`; more is an error): cb returns < 0 to stop with
 * that result, > 0 to stop quietly. */
typedef int (*bolt_each_fn)(void *ctx, const unsigned char *key, size_t klen, bool is_bucket);
int bolt_each(bolt_db *db, const bolt_bucket *b, size_t max, bolt_each_fn cb, void *ctx,
	      bwk_error **err);

/* FNV-64a, bbolt's meta checksum. */
uint64_t bolt_fnv64a(const void *data, size_t len);

#endif
