/* Source "podman": podman:NAME[:TAG|@DIGEST|ID] from Podman's local storage, or its API
 * service.
 *
 * Podman has no daemon: by default podman:NAME reads its store directly (podman_store.c,
 * containers/storage's files, found from storage.conf as Podman finds them): no service, no
 * export. The API service is used when CONTAINER_HOST is set (the explicit choice, as
 * `podman --remote` makes it), and when there is no readable store (a rootless user's store
 * not yet made, another user's store): it speaks the Docker Engine API (GET
 * /images/{name}/get streams a docker save archive, /images/{name}/json gives the image ID),
 * and the engine row's machinery does the rest, verification and caching included.
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
#include "image/podman_store.h"

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

static int podman_api_open(bwk_image *img, const char *name, const char *why, bwk_error **err)
{
	cleanup_free char *host = podman_host();
	struct stat st;
	/* an absent socket is the usual case (no service running): say how to start one,
	 * not that dockerd is missing */
	if (!strncmp(host, "unix://", 7) && stat(host + 7, &st) < 0)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0,
				     "podman:%s: %s%sno Podman API socket at %s: start it with "
				     "'podman system service' (or 'systemctl --user start "
				     "podman.socket'), or set CONTAINER_HOST",
				     name, why ? why : "", why ? "; " : "", host + 7);
	return engine_open_at(img, host, name, err);
}

static int podman_open(bwk_image *img, const char *name, const char *refname, bwk_error **err);

/* The row an image read from the store ends up with (not in the table: the table's row is
 * bwk_source_podman, whose open picks). */
static const image_source podman_store_row = {
    .name = "podman",
    .what = "an image of Podman's local storage",
    .forms = SRC_NAME,
    .open = podman_open,
};

static int podman_open(bwk_image *img, const char *name, const char *refname, bwk_error **err)
{
	(void)refname;
	const char *ch = getenv("CONTAINER_HOST");
	if (ch && *ch)
		return podman_api_open(img, name, NULL, err);
	cleanup_free char *root = NULL, *driver = NULL, *why = NULL;
	int r = pstore_locate(&root, &driver, &why, err);
	if (r < 0)
		return bwk_error_wrap(err, "podman:%s", name);
	if (r == 0) {
		cleanup_free char *msg = xasprintf("no readable Podman store (%s)", why);
		return podman_api_open(img, name, msg, err);
	}
	bwk_blob_store store;
	if (pstore_open(root, driver, name, &store, err) < 0)
		return -1;
	/* layers come from the store at random, not as the engine's one stream */
	img->source = &podman_store_row;
	return image_open_store(img, &store, err);
}

const image_source bwk_source_podman = {
    .name = "podman",
    .what = "an image of Podman (its local storage, or its API service)",
    .forms = SRC_NAME,
    .open = podman_open,
    .stream_layers = engine_stream_layers,
    .close = engine_close,
};
