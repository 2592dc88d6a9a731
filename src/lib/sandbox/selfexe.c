/* CVE-2019-5736: a container process that can open the runtime's /proc/PID/exe (or exec
 * /proc/self/exe as its entrypoint and then write through the fd) can overwrite the host
 * binary. Whenever an id mapped into the container could write the binary, bulwark
 * re-executes from a copy no one can write, so /proc/PID/exe of every bulwark process is
 * immutable; pid 1 is additionally not dumpable, so its exe link cannot even be opened from
 * inside. docs/run.md and docs/oci-runtime.md have the full argument.
 *
 * The copy, cheapest first:
 * - a read-only bind of the binary itself, detached (open_tree OPEN_TREE_CLONE, then
 *   mount_setattr MOUNT_ATTR_RDONLY; needs CAP_SYS_ADMIN): never attached to any mount
 *   namespace, so no one can remount it writable (that takes a path to it, inside a
 *   namespace), and every open of /proc/PID/exe for writing resolves through that mount and
 *   fails with EROFS. Nothing is copied: the page cache of the installed binary is shared,
 *   the second execution maps it as the first did. crun does the same with a bind mount on
 *   a temporary file it unmounts at once (cloned_binary.c); the detached clone never appears
 *   in a mount table at all.
 * - else (an unprivileged user's `run`) a sealed memfd copy: F_SEAL_WRITE forbids every
 *   write.
 * A process already running from either (its exe on a read-only mount, or a fully sealed
 * memfd) is not re-executed again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* True when nothing can write the running binary through /proc/PID/exe: a fully sealed
 * memfd, or a file on a read-only mount (the detached bind below, or a binary installed on a
 * read-only filesystem: a container cannot remount a mount outside its namespace). */
static bool exe_immutable(int self)
{
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS)
		return true;
	struct statvfs vfs;
	return fstatvfs(self, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

/* A read-only detached bind of the running binary, opened for execution: the descriptor, or
 * -1 (no CAP_SYS_ADMIN, or a kernel without the mount API: the caller copies instead). */
static int ro_clone(void)
{
	cleanup_close int m =
	    open_tree(AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (m < 0)
		return -1;
	struct mount_attr a = {.attr_set =
				   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	if (mount_setattr(m, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		return -1;
	/* the same check the re-executed process makes, so that it never loops */
	if (!exe_immutable(m))
		return -1;
	return steal_fd(&m);
}

/* A sealed memfd copy of the running binary (open as `self`): the descriptor, or -1 with
 * *err set. */
static int sealed_copy(int self, off_t size, bwk_error **err)
{
	cleanup_close int mfd = memfd_create("bulwark", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "memfd_create");
	for (off_t left = size; left > 0;) {
		ssize_t n = sendfile(mfd, self, NULL, (size_t)left);
		if (n <= 0)
			return bwk_error_set(err, BWK_E_RUNTIME, n < 0 ? errno : EIO,
					     "copying the bulwark binary");
		left -= n;
	}
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "sealing the bulwark copy");
	return steal_fd(&mfd);
}

/* Re-execute from an immutable copy; `always` also when the binary is root's and run as root
 * (the OCI commands: without a user namespace the container's root is host root, see
 * oci_selfexe.c). */
int sbx_reexec_sealed(char **argv, bool always, bwk_error **err)
{
	cleanup_close int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "open /proc/self/exe");
	if (exe_immutable(self))
		return 0;
	struct stat st;
	if (fstat(self, &st) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "stat /proc/self/exe");
	/* Run as root, a binary owned by root:root and writable by nobody else cannot be
	 * written by any id mapped into a container (host root is never mapped, and
	 * capabilities in a user namespace do not apply to files of unmapped owners): the copy
	 * would buy nothing, and costs a second dynamic link. Every other case (an
	 * unprivileged user running a binary they own, a group- or world-writable file) gets
	 * the copy. */
	if (!always && geteuid() == 0 && st.st_uid == 0 && st.st_gid == 0 && !(st.st_mode & 022))
		return 0;
	cleanup_close int exe = ro_clone();
	if (exe < 0 && (exe = sealed_copy(self, st.st_size, err)) < 0)
		return -1;
	fexecve(exe, argv, environ);
	return bwk_error_set(err, BWK_E_RUNTIME, errno, "re-executing from the sealed copy");
}

int bwk_sandbox_ensure_sealed_exe(char **argv, bwk_error **err)
{
	return sbx_reexec_sealed(argv, false, err);
}
