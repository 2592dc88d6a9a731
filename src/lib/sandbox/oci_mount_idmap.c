/* A runtime spec's idmapped mounts (config.md, "POSIX-platform Mounts": uidMappings and
 * gidMappings of a mount, options `idmap` and `ridmap`).
 *
 * A mount's maps read as a user namespace's: {containerID, hostID, size} makes a file that
 * the source's filesystem says is owned by containerID appear owned by hostID (in the host's
 * ids; inside a container user namespace, by whatever hostID is there). The create process,
 * still host root, makes a user namespace with exactly those maps, clones the bind mount's
 * source (open_tree, fd-based like idmap_mount.c's for the hardening policy) and maps it with
 * mount_setattr(MOUNT_ATTR_IDMAP); the container's init attaches the clone where the mount
 * goes (oci_create.c's do_mount). `idmap` maps the mount itself, `ridmap` its submounts too;
 * `rbind` clones the submounts. Without maps of its own a mount takes the container's user
 * namespace's (the namespace at its path, or linux.uidMappings), as runc does. Under the
 * hardening policy's own user namespace the mount's host ids are shifted into its slice, so the
 * container still sees what the bundle asked for. Only bind mounts, as in runc: a new
 * filesystem instance would need fsmount, and none of the engines asks for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/idmap_mount.h"
#include "sandbox/sandbox_private.h"

typedef struct mount_maps {
	const bwk_oci_idmap *uid, *gid;
	size_t nuid, ngid;
	uint32_t uid_shift, gid_shift; /* the hardening policy's slice, or 0 */
} mount_maps;

/* A user namespace with `mm`'s maps (shifted), written by the executors' one id-map writer. */
static int maps_userns_fd(const mount_maps *mm)
{
	sbx_idmap u[SBX_IDMAP_MAX], g[SBX_IDMAP_MAX];
	if (mm->nuid > SBX_IDMAP_MAX || mm->ngid > SBX_IDMAP_MAX) {
		errno = E2BIG;
		return -1;
	}
	for (size_t i = 0; i < mm->nuid; i++)
		u[i] = (sbx_idmap){mm->uid[i].container_id, mm->uid[i].host_id + mm->uid_shift,
				   mm->uid[i].size};
	for (size_t i = 0; i < mm->ngid; i++)
		g[i] = (sbx_idmap){mm->gid[i].container_id, mm->gid[i].host_id + mm->gid_shift,
				   mm->gid[i].size};
	sbx_idmaps m = {.uid = u, .gid = g, .nuid = mm->nuid, .ngid = mm->ngid};
	return sbx_idmap_userns_fd(&m);
}

/* `idmap` or `ridmap` (ridmap: `*rec`) among its options */
static bool idmap_option(const bwk_oci_mount *m, bool *rec)
{
	bwk_oci_mount_opts o;
	if (bwk_oci_mount_opts_parse(m, 0, &o, NULL) < 0)
		return false; /* validated before (spec_validate.c) */
	*rec = o.ridmap;
	return o.idmap || o.ridmap;
}

/* The maps' host ids must fit the hardening policy's slice they are shifted into. */
static bool fits(const bwk_oci_idmap *m, size_t n, uint32_t shift)
{
	for (size_t i = 0; shift && i < n; i++)
		if ((uint64_t)m[i].host_id + m[i].size > SBX_SUBID_SLICE)
			return false;
	return true;
}

/* The user namespace mount `i` is mapped with: its own maps, else the container's. */
static int mount_userns(const bwk_oci_spec *s, size_t i, const ocirt_userns *u, bwk_error **err)
{
	const bwk_oci_mount *m = &s->mounts[i];
	if (!m->uid_mappings) {
		const bwk_oci_namespace *ns = bwk_oci_spec_namespace(s, "user");
		if (ns && ns->path) {
			int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				return bwk_error_set(err, BWK_E_NOTFOUND, errno,
						     "mounts[%zu] (%s): the user namespace %s for "
						     "its idmap",
						     i, m->destination, ns->path);
			return fd;
		}
		mount_maps mm = {s->linux_.uid_mappings,
				 s->linux_.gid_mappings,
				 s->linux_.n_uid_mappings,
				 s->linux_.n_gid_mappings,
				 0,
				 0};
		int fd = maps_userns_fd(&mm);
		return fd >= 0 ? fd
			       : bwk_error_set(err, BWK_E_RUNTIME, errno,
					       "mounts[%zu] (%s): a user namespace with "
					       "linux.uidMappings for its idmap",
					       i, m->destination);
	}
	mount_maps mm = {m->uid_mappings,
			 m->gid_mappings,
			 m->n_uid_mappings,
			 m->n_gid_mappings,
			 u->active ? u->uid_start : 0,
			 u->active ? u->gid_start : 0};
	if (!fits(mm.uid, mm.nuid, mm.uid_shift) || !fits(mm.gid, mm.ngid, mm.gid_shift))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "mounts[%zu] (%s): its uidMappings/gidMappings reach host ids "
				     "beyond the %u the hardening policy's user namespace maps: "
				     "run it without %s, or with a user namespace of the "
				     "bundle's own",
				     i, m->destination, SBX_SUBID_SLICE,
				     bwk_setting("harden", "the hardening policy"));
	if (mm.nuid > SBX_IDMAP_MAX || mm.ngid > SBX_IDMAP_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "mounts[%zu] (%s): more than %d uidMappings/gidMappings (the "
				     "kernel's limit)",
				     i, m->destination, SBX_IDMAP_MAX);
	int fd = maps_userns_fd(&mm);
	return fd >= 0 ? fd
		       : bwk_error_set(err, BWK_E_INPUT, errno,
				       "mounts[%zu] (%s): a user namespace with its "
				       "uidMappings/gidMappings (overlapping ranges?)",
				       i, m->destination);
}

static int one_mount(const bwk_oci_spec *s, size_t i, int bundlefd, ocirt_userns *u,
		     bwk_error **err)
{
	const bwk_oci_mount *m = &s->mounts[i];
	bool rbind = false;
	if (!ocirt_mount_is_bind(m, &rbind) || !m->source)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "mounts[%zu] (%s): idmapped mounts are bind mounts only (a "
				     "source with options bind or rbind)",
				     i, m->destination);
	if (i >= OCIRT_USERNS_MAX_MOUNTS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "mounts[%zu] (%s): idmapped mounts are taken among the first "
				     "%d mounts only: move it up",
				     i, m->destination, OCIRT_USERNS_MAX_MOUNTS);
	cleanup_close int userns = mount_userns(s, i, u, err);
	if (userns < 0)
		return -1;
	char why[512];
	bool ridmap = false;
	(void)idmap_option(m, &ridmap);
	int fd = ocirt_idmapped_clone(bundlefd, m->source, rbind, ridmap, userns, why, sizeof why);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, errno, "mounts[%zu] (%s): %s", i,
				     m->destination, why);
	if (u->mount_fd[i] >= 0) /* the hardening policy's clone, mapped with its maps */
		close(u->mount_fd[i]);
	u->mount_fd[i] = fd;
	struct stat st;
	u->mount_dir[i] = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
	return 0;
}

int ocirt_mount_idmaps(const bwk_oci_spec *s, int bundlefd, ocirt_userns *u, bwk_error **err)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const bwk_oci_mount *m = &s->mounts[i];
		bool rec = false;
		if ((m->uid_mappings || idmap_option(m, &rec)) &&
		    one_mount(s, i, bundlefd, u, err) < 0)
			return -1;
	}
	return 0;
}
