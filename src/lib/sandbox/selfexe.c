/* CVE-2019-5736: a container process that can open the runtime's /proc/PID/exe (or exec
 * /proc/self/exe as its entrypoint and then write through the fd) can overwrite the host
 * binary. Whenever an id mapped into the container could write the binary, bulwark copies
 * itself into a sealed memfd and re-executes from that, so /proc/PID/exe of every bulwark
 * process is an immutable anonymous file; pid 1 is additionally not dumpable, so its exe link
 * cannot even be opened from inside. docs/run.md has the full argument. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "sandbox/sandbox_private.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

/* Re-execute from a sealed copy; `always` also when the binary is root's and run as root (the
 * OCI commands: without a user namespace the container's root is host root, see
 * oci_selfexe.c). */
int sbx_reexec_sealed(char **argv, bool always, bwk_error **err)
{
	cleanup_close int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "open /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS)
		return 0;
	struct stat st;
	if (fstat(self, &st) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "stat /proc/self/exe");
	/* Run as root, a binary owned by root:root and writable by nobody else cannot be
	 * written by any id mapped into a container (host root is never mapped, and
	 * capabilities in a user namespace do not apply to files of unmapped owners): the copy
	 * would buy nothing, and costs a second dynamic link. Every other case (an
	 * unprivileged user running a binary they own, a group- or world-writable file) gets
	 * the sealed copy. */
	if (!always && geteuid() == 0 && st.st_uid == 0 && st.st_gid == 0 && !(st.st_mode & 022))
		return 0;
	cleanup_close int mfd = memfd_create("bulwark", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "memfd_create");
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(mfd, self, NULL, (size_t)left);
		if (n <= 0)
			return bwk_error_set(err, BWK_E_RUNTIME, n < 0 ? errno : EIO,
					     "copying the bulwark binary");
		left -= n;
	}
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno, "sealing the bulwark copy");
	fexecve(mfd, argv, environ);
	return bwk_error_set(err, BWK_E_RUNTIME, errno, "re-executing from the sealed copy");
}

int bwk_sandbox_ensure_sealed_exe(char **argv, bwk_error **err)
{
	return sbx_reexec_sealed(argv, false, err);
}
