/* The sensitive host paths: one table for every command that judges a host path given to a
 * container (`audit` rates a workload's mounts, `run` and the OCI runtime refuse binds), so
 * that they cannot disagree on what is sensitive. */
#ifndef BWK_CORE_HOSTPATHS_H
#define BWK_CORE_HOSTPATHS_H

#include <stdbool.h>

typedef enum bwk_hostpath_class {
	BWK_HOSTPATH_NONE = 0,
	/* a container engine's socket (by name) or runtime directory: full root on the host */
	BWK_HOSTPATH_ENGINE,
	/* a listed host system directory itself, or a parent of one (/var holds /var/log) */
	BWK_HOSTPATH_SYSTEM,
	/* below /proc, /sys, /dev, /etc or /boot: every path there is a kernel interface, a
	 * device or host configuration */
	BWK_HOSTPATH_KERNEL_TREE,
	/* below another listed directory (/usr/share/x, /var/log/app): sensitive when writable */
	BWK_HOSTPATH_BELOW,
} bwk_hostpath_class;

/* Classify `path`, an absolute host path ("//" and a trailing "/" are tolerated, ".." is
 * not resolved: callers pass canonical paths, or treat ".." as suspect themselves).
 * `socket`: 1 the object is a socket, 0 it is not, -1 unknown (a configuration file names
 * it): engine socket names (docker.sock, containerd.sock …) count unless it is known not to
 * be a socket. */
bwk_hostpath_class bwk_hostpath_classify(const char *path, int socket);

#endif
