/* Source "dir": a plain root filesystem directory. It fits any directory, so it bids lowest:
 * a directory that looks like an image (source_oci.c, source_docker_archive.c) is one, and
 * "dir:PATH" says otherwise. The directory is opened once; everything after (the walk, run's
 * --scan and the container's root) goes through that fd, never the path again, so a path
 * swapped meanwhile changes nothing. Entries are read fd-relative by rootfs_dir.c, which never
 * follows a symlink inside the tree. */
#include "image/image_private.h"

static int bid(const blob_src *src)
{
	(void)src;
	return 1;
}

static int open_rootfs(bwk_image *img, const char *path, const char *refname, bwk_error **err)
{
	if (refname)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "%s: a root filesystem directory has no images to name ('%s')",
				     path, refname);
	img->rootfs_fd = img->src.dirfd;
	img->src.dirfd = -1;
	return 0;
}

const image_source bwk_source_dir = {
    .name = "dir",
    .what = "a root filesystem directory",
    .forms = SRC_DIR,
    .bid = bid,
    .open = open_rootfs,
};
