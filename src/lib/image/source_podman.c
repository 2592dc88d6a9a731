/* Source "podman": podman:NAME[:TAG] from Podman's API service, which speaks the Docker Engine
 * API (GET /images/{name}/get streams a docker save archive, /images/{name}/json gives the
 * image ID): the engine row's machinery does the rest, verification and caching included.
 *
 * The endpoint is found as podman-remote finds it: CONTAINER_HOST (unix:///… or tcp://…),
 * else the service's socket: /run/podman/podman.sock for root, $XDG_RUNTIME_DIR/podman/
 * podman.sock otherwise. Podman has no daemon by default; the socket exists once the service
 * runs ('podman system service', or the podman.socket systemd unit). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

static char *podman_host(void)
{
	const char *h = getenv("CONTAINER_HOST");
	if (h && *h)
		return xstrdup(h);
	if (geteuid() == 0)
		return xstrdup("unix:///run/podman/podman.sock");
	const char *x = getenv("XDG_RUNTIME_DIR");
	if (x && x[0] == '/')
		return xasprintf("unix://%s/podman/podman.sock", x);
	return xasprintf("unix:///run/user/%u/podman/podman.sock", (unsigned)geteuid());
}

static int podman_open(bwk_image *img, const char *name, const char *refname, bwk_error **err)
{
	(void)refname;
	cleanup_free char *host = podman_host();
	struct stat st;
	/* an absent socket is the usual case (no service running): say how to start one,
	 * not that dockerd is missing */
	if (!strncmp(host, "unix://", 7) && stat(host + 7, &st) < 0)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0,
				     "podman:%s: no Podman API socket at %s: start it with "
				     "'podman system service' (or 'systemctl --user start "
				     "podman.socket'), or set CONTAINER_HOST",
				     name, host + 7);
	return engine_open_at(img, host, name, err);
}

const image_source bwk_source_podman = {
    .name = "podman",
    .what = "an image of Podman (through its API service)",
    .forms = SRC_NAME,
    .open = podman_open,
    .stream_layers = engine_stream_layers,
    .close = engine_close,
};
