/* CVE-2019-5736 for the OCI commands: a container without a user namespace runs as host uid 0,
 * the owner of a root-installed bulwark binary, so no ownership argument protects the binary
 * (unlike `bulwark run`, see selfexe.c). A container process that reaches bulwark's
 * /proc/PID/exe (the init before its exec, an exec'd process joining the container, or a
 * process.args of /proc/self/exe) must find an immutable copy: `create` and `exec` always run
 * from one (a read-only detached bind of the binary, as crun does with a lazily unmounted bind;
 * else a sealed memfd, as runc 1.1 does), see selfexe.c. */
#include "bulwark/oci_runtime.h"
#include "sandbox/sandbox_private.h"

int bwk_oci_sealed_exe(char **argv, bwk_error **err)
{
	return sbx_reexec_sealed(argv, true, err);
}
