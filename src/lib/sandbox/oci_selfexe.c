/* CVE-2019-5736 for the OCI commands: a container without a user namespace runs as host uid 0,
 * the owner of a root-installed bulwark binary, so no ownership argument protects the binary
 * (unlike `bulwark run`, see selfexe.c). A container process that reaches bulwark's
 * /proc/PID/exe (the init before its exec, an exec'd process joining the container, or a
 * process.args of /proc/self/exe) must find an immutable copy: `create` and `exec` always run
 * from a sealed memfd, as runc does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/oci_runtime.h"
#include "core/cleanup.h"

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int bwk_oci_sealed_exe(char **argv, bwk_error **err)
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
