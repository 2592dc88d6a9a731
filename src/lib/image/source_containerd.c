/* Source "containerd": containerd:NAME from containerd's content store, through its API.
 *
 * containerd speaks gRPC only; rather than carry a gRPC client, the row asks containerd's own
 * client, Debian's ctr, to export the image (`ctr images export --skip-manifest-json
 * --platform P - NAME`: an OCI archive on its stdout), which is spooled to an unlinked
 * temporary file and read by the oci-archive row: verified like any archive, ctr trusted for
 * nothing. ctr is run as /usr/bin/ctr with a fixed argv (no shell, no PATH search); the
 * endpoint and namespace are ctr's own settings, CONTAINERD_ADDRESS (default
 * /run/containerd/containerd.sock) and CONTAINERD_NAMESPACE (default "default"), passed
 * through the environment. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

#define CTR	     "/usr/bin/ctr"
#define NAME_MAX_LEN 4096

extern char **environ;

/* The first line of what ctr said on stderr (bounded), for the error message. */
static char *ctr_said(int efd)
{
	char buf[512];
	ssize_t n = pread(efd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return xstrdup("no message");
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	return xstrdup(buf);
}

static int containerd_open(bwk_image *img, const char *name, const char *refname, bwk_error **err)
{
	(void)refname;
	/* a name is an argument of ctr: it must not read as one of its options */
	if (!*name || name[0] == '-' || strlen(name) > NAME_MAX_LEN)
		return bwk_error_set(err, BWK_E_USAGE, 0, "containerd:%.64s: not an image name",
				     name);
	if (access(CTR, X_OK) < 0)
		return bwk_error_set(err, BWK_E_NOTFOUND, errno,
				     "containerd:%s: %s is needed to read containerd's store "
				     "(Debian package containerd)",
				     name, CTR);
	/* an absent socket is said at once (ctr would retry for seconds) */
	const char *addr = getenv("CONTAINERD_ADDRESS");
	if (!addr || !*addr)
		addr = "/run/containerd/containerd.sock";
	if (!strncmp(addr, "unix://", 7))
		addr += 7;
	struct stat sst;
	if (addr[0] == '/' && stat(addr, &sst) < 0)
		return bwk_error_set(err, BWK_E_NOTFOUND, errno,
				     "containerd:%s: no containerd socket at %s: is containerd "
				     "running? (set CONTAINERD_ADDRESS for another one)",
				     name, addr);
	const char *plat = img->opts.platform ? img->opts.platform : bwk_host_arch();
	const char *argv[] = {"ctr", "images", "export", "--skip-manifest-json", "--platform", plat,
			      "-",   name,     NULL};
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "pipe");
	cleanup_close int efd = memfd_create("bulwark-ctr-err", MFD_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (efd >= 0)
		posix_spawn_file_actions_adddup2(&fa, efd, 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	int r = posix_spawn(&pid, CTR, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (r != 0) {
		close(out[0]);
		return bwk_error_set(err, BWK_E_IO, r, "containerd:%s: cannot run %s", name, CTR);
	}
	cleanup_free char *what = xasprintf("containerd:%s", name);
	int tmp = bwk_decompress_to_tmp(out[0], BWK_COMP_NONE, what,
					img->opts.max_total_bytes ? img->opts.max_total_bytes
								  : BWK_DEFAULT_MAX_TOTAL,
					BWK_DEFAULT_MAX_RATIO, err);
	close(out[0]); /* over a limit: ctr gets EPIPE and ends */
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (tmp < 0) {
		if (!WIFEXITED(st) || WEXITSTATUS(st) == 0)
			return -1;
		bwk_error_free(*err);
		*err = NULL;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (tmp >= 0)
			close(tmp);
		cleanup_free char *said = efd >= 0 ? ctr_said(efd) : xstrdup("no message");
		return bwk_error_set(err, BWK_E_NOTFOUND, 0,
				     "containerd:%s: ctr could not export it (%s); is containerd "
				     "running, and are CONTAINERD_ADDRESS and CONTAINERD_NAMESPACE "
				     "right?",
				     name, said);
	}
	img->src.tarfd = tmp;
	if (tar_index_build(tmp, what, &img->src.idx, err) < 0)
		return -1;
	return bwk_source_oci_archive.open(img, what, NULL, err) < 0
		   ? bwk_error_wrap(err, "%s", what)
		   : 0;
}

const image_source bwk_source_containerd = {
    .name = "containerd",
    .what = "an image of containerd's content store",
    .forms = SRC_NAME,
    .open = containerd_open,
};
