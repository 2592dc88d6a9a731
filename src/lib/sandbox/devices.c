/* Device nodes in the container's /dev, for both executors: the standard ones every container
 * gets, its links, and a spec's own (linux.devices). A node is made with mknod where the
 * kernel lets us (root, no user namespace); elsewhere (a user namespace: no CAP_MKNOD there)
 * the host's own node is bound, and only after checking that it is that very device: a host
 * whose /dev/null was replaced by a regular file must not hand that file over. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sandbox/sandbox_private.h"

const sbx_devnode sbx_std_devices[SBX_STD_DEVICES] = {{"null", 1, 3},	 {"zero", 1, 5},
						      {"full", 1, 7},	 {"random", 1, 8},
						      {"urandom", 1, 9}, {"tty", 5, 0}};

int sbx_host_device(const char *path, mode_t kind, unsigned maj, unsigned min)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == kind &&
	    major(st.st_rdev) == maj && minor(st.st_rdev) == min)
		return fd;
	if (fd >= 0)
		close(fd);
	errno = ENODEV;
	return -1;
}

int sbx_dev_node(int dir, const char *name, const char *host, char type, unsigned maj, unsigned min,
		 mode_t perm, uid_t uid, gid_t gid, char *why, size_t len)
{
	mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
	(void)unlinkat(dir, name, 0);
	if (mknodat(dir, name, kind | perm, makedev(maj, min)) == 0) {
		/* mknod's mode went through the umask */
		if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 &&
		    fchmodat(dir, name, perm, 0) == 0)
			return 0;
		snprintf(why, len, "device %s: chown/chmod: %s", host, strerror(errno));
		return -1;
	}
	if (errno != EPERM || kind == S_IFIFO) {
		snprintf(why, len, "mknod %s: %s", host, strerror(errno));
		return -1;
	}
	cleanup_close int src = sbx_host_device(host, kind, maj, min);
	if (src < 0) {
		snprintf(why, len, "host device %s is not the expected %s device %u:%u", host,
			 kind == S_IFBLK ? "block" : "character", maj, min);
		return -1;
	}
	int f = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (f >= 0)
		close(f);
	cleanup_close int t = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (t < 0 || sbx_bind_fd(src, t, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC) < 0) {
		snprintf(why, len, "binding %s: %s", host, strerror(errno));
		return -1;
	}
	return 0;
}

int sbx_dev_standard(int dev, bool ptmx, char *why, size_t len)
{
	for (size_t i = 0; i < SBX_STD_DEVICES; i++) {
		char host[32];
		snprintf(host, sizeof host, "/dev/%s", sbx_std_devices[i].name);
		if (sbx_dev_node(dev, sbx_std_devices[i].name, host, 'c', sbx_std_devices[i].major,
				 sbx_std_devices[i].minor, 0666, 0, 0, why, len) < 0)
			return -1;
	}
	static const char *const links[][2] = {{"/proc/self/fd", "fd"},
					       {"/proc/self/fd/0", "stdin"},
					       {"/proc/self/fd/1", "stdout"},
					       {"/proc/self/fd/2", "stderr"},
					       {"pts/ptmx", "ptmx"}};
	for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
		bool is_ptmx = !strcmp(links[i][1], "ptmx");
		if (is_ptmx && !ptmx)
			continue;
		if (is_ptmx)
			(void)unlinkat(dev, "ptmx", 0);
		if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST) {
			snprintf(why, len, "creating /dev/%s: %s", links[i][1], strerror(errno));
			return -1;
		}
	}
	return 0;
}
