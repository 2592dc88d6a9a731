/* bulwark — the walker interface between input readers (src/lib/image) and scanners
 * (src/lib/scan). A reader yields entries; a visitor consumes them. Every image form (rootfs
 * directory, docker-save tarball, OCI layout, engine stream) produces the same entries, so a
 * scanner never knows where bytes came from.
 */
#ifndef BULWARK_WALK_H
#define BULWARK_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_entry_type {
	BWK_ENTRY_FILE = 0,
	BWK_ENTRY_DIR,
	BWK_ENTRY_SYMLINK,
	BWK_ENTRY_HARDLINK,
	BWK_ENTRY_CHAR,
	BWK_ENTRY_BLOCK,
	BWK_ENTRY_FIFO,
	BWK_ENTRY_SOCKET,
	BWK_ENTRY_WHITEOUT, /* ".wh.NAME": `path` is the deleted NAME */
	BWK_ENTRY_OPAQUE,   /* ".wh..wh..opq": `path` is the directory made opaque */
} bwk_entry_type;

typedef enum bwk_visibility {
	BWK_VISIBLE = 0, /* present in the final (merged) filesystem */
	BWK_HIDDEN,	 /* deleted by a later layer (whiteout, opaque or replaced parent), but
			  * still shipped */
	BWK_VIS_UNKNOWN, /* not known yet while walking; resolved after the walk */
	BWK_REPLACED,	 /* the same path is replaced by a later layer; this version still
			  * shipped (a directory's contents stay, only its own metadata goes) */
} bwk_visibility;

typedef struct bwk_entry bwk_entry;
typedef struct bwk_image_config bwk_image_config; /* bulwark/image.h */

/* Sequential content reader of a regular file: returns bytes read, 0 at end, <0 on error. */
typedef ssize_t (*bwk_entry_read_fn)(void *rctx, void *buf, size_t len, bwk_error **err);

struct bwk_entry {
	const char *path; /* normalised: relative to the root, no leading '/', no '.' or '..' */
	bwk_entry_type type;
	uint32_t mode; /* permission bits including setuid/setgid/sticky (07777 mask) */
	uint32_t uid, gid;
	uint64_t size; /* regular files: content size */
	int64_t mtime;
	const char *link;	  /* symlink target, or hardlink target path; NULL otherwise */
	int layer_index;	  /* 0-based, -1 for a plain rootfs directory */
	const char *layer_digest; /* "sha256:…" or NULL */
	bwk_visibility visibility;
	int hidden_by;		/* layer index that deletes/replaces it (HIDDEN, REPLACED) or -1 */
	unsigned worker;	/* index of the thread calling the visitor (0 … threads-1) */
	bwk_entry_read_fn read; /* NULL for non-regular entries */
	void *rctx;
};

/* Read content; valid only inside the visitor callback for this entry. */
static inline ssize_t bwk_entry_read(const bwk_entry *e, void *buf, size_t len, bwk_error **err)
{
	if (!e->read)
		return 0;
	return e->read(e->rctx, buf, len, err);
}

/* A visitor. Callbacks may be called from several threads at once (one per layer being walked,
 * identified by entry->worker); a visitor keeps per-worker state. A negative return aborts
 * the walk and the error travels up. */
typedef struct bwk_visitor {
	void *ctx;
	int (*entry)(void *ctx, const bwk_entry *e, bwk_error **err);
	/* optional: called on the walking thread before/after a layer's entries */
	int (*layer_begin)(void *ctx, unsigned worker, int layer_index, const char *digest,
			   bwk_error **err);
	int (*layer_end)(void *ctx, unsigned worker, int layer_index, bwk_error **err);
	/* optional: images only, called once before any layer with the parsed image config */
	int (*config)(void *ctx, const bwk_image_config *cfg, bwk_error **err);
	/* optional: a digest mismatch found while walking in report mode (scan). `what` names
	 * the blob ("layer 3", "config"); the walk continues. In strict mode (run, unpack) a
	 * mismatch is an error instead and this is not called. */
	int (*integrity)(void *ctx, int layer_index, const char *what, const char *expected,
			 const char *actual, bwk_error **err);
	/* optional: called once after the last layer. Entries below the top layer are delivered
	 * BWK_VIS_UNKNOWN (the layers above may not have been read yet); from here on
	 * bwk_image_visibility() gives their exact visibility (docs/design/image.md). */
	int (*walk_end)(void *ctx, bwk_error **err);
} bwk_visitor;

#ifdef __cplusplus
}
#endif
#endif
