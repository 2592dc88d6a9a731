/* The hardening policy's user namespace for OCI bundles (idmap_mount.c). */
#ifndef BWK_IDMAP_MOUNT_H
#define BWK_IDMAP_MOUNT_H
#ifndef BWK_IN_SANDBOX
#error "idmap_mount.h is private to src/lib/sandbox"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/oci.h"
#include "bulwark/sandbox.h" /* BWK_MAX_LOWER_LAYERS: the overlay lower directories */

#define OCIRT_USERNS_MAX_MOUNTS 64

typedef struct ocirt_userns {
	bool active;   /* a user namespace was added to the spec */
	int userns_fd; /* the container's user namespace (to join), or -1 */
	int lock_fd;   /* the claim on its host ids while create runs, or -1 */
	uint32_t uid_start, gid_start;
	int root_fd; /* the root filesystem, cloned and idmapped (detached), or -1 */
	/* an overlay root (overlayfs itself refuses idmapping): its layers, idmapped, while the
	 * new overlay of them (root_fd) is made */
	int lower_fd[BWK_MAX_LOWER_LAYERS];
	size_t n_lower;
	int upper_parent_fd; /* the directory holding upperdir and workdir, idmapped */
	char upper_name[256], work_name[256];
	int mount_fd[OCIRT_USERNS_MAX_MOUNTS]; /* per spec mount: its bind source, idmapped */
	bool mount_dir[OCIRT_USERNS_MAX_MOUNTS];
} ocirt_userns;

void ocirt_userns_init(ocirt_userns *u);
/* Under the hardening policy, for a spec without a user namespace: claim host ids, make the
 * namespace and the idmapped clones, and add the namespace and its maps to the spec. When
 * `refusal` (bwk_oci_harden_userns_refusal) or anything here says no, the spec stays as it
 * is; either way one line goes to *changes. Only an internal failure is an error. */
int ocirt_userns_prepare(bwk_oci_spec *s, int bundlefd, const char *rootfs, const char *refusal,
			 ocirt_userns *u, bwk_strv *changes, bwk_error **err);
/* The fds the container's stage processes must keep. */
size_t ocirt_userns_fds(const ocirt_userns *u, int *fds, size_t max);
/* In the container's init (user and mount namespaces entered, cwd the bundle directory):
 * attach the prepared root over the cwd; returns an fd of the root, or -1 with *why. */
int ocirt_userns_attach_root(const ocirt_userns *u, char *why, size_t len);
/* Once the state directory exists: make the id claim last until it is removed. */
int ocirt_userns_commit(const ocirt_userns *u, int dirfd, bwk_error **err);
/* Close every fd (the fields active and uid_start stay). */
void ocirt_userns_release(ocirt_userns *u);
/* A bind mount ("bind" type or option, "rbind": *recursive)? */
bool ocirt_mount_is_bind(const bwk_oci_mount *m, bool *recursive);
/* A detached clone of `path` (relative to dirfd; its submounts with clone_rec) mapped through
 * the user namespace `userns` (the submounts too with map_rec); -1 with *why naming the path
 * and, when the kernel refuses, its filesystem. */
int ocirt_idmapped_clone(int dirfd, const char *path, bool clone_rec, bool map_rec, int userns,
			 char *why, size_t whylen);
/* oci_mount_idmap.c: the spec's idmapped mounts (mounts[] with uidMappings/gidMappings, or
 * `idmap`/`ridmap` with the container's user namespace's maps), each cloned and mapped by
 * the create process into u->mount_fd[] (replacing the hardening policy's clone: its
 * namespace's shift is added to the mount's host ids). */
int ocirt_mount_idmaps(const bwk_oci_spec *s, int bundlefd, ocirt_userns *u, bwk_error **err);

#endif
