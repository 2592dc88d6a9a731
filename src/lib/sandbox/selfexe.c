/* CVE-2019-5736: a container process that can open the runtime's /proc/PID/exe can overwrite
 * the host binary. bulwark never runs from the host file while a container exists: it copies
 * itself once into a sealed memfd and re-executes from that, so /proc/PID/exe of every bulwark
 * process is an immutable anonymous file (and pid 1 is additionally not dumpable). */
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

int bwk_sandbox_ensure_sealed_exe(char **argv, bwk_error **err)
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
	off_t left = st.st_size;
	while (left > 0) {
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
