/* bulwark — image inputs. The readers (rootfs directory today; docker-save, OCI layout and
 * engine next) live in src/lib/image/, one file each, registered in one table. */
#ifndef BULWARK_IMAGE_H
#define BULWARK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/walk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits for walking a root filesystem directory. */
typedef struct bwk_rootfs_opts {
	uint64_t max_entries; /* 0: default 5,000,000 */
	unsigned max_depth;   /* 0: default 256 */
} bwk_rootfs_opts;

/* Walk the tree below `root` (a directory) fd-relative: never follows a symlink, never leaves
 * the tree, does not cross into other filesystems' special files (device contents are not
 * read). Entries are delivered depth-first in name order from a single thread (worker 0). */
int bwk_rootfs_walk(const char *root, const bwk_rootfs_opts *opts, const bwk_visitor *v,
		    bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
