/* Podman's local storage (containers/storage) read directly, as a blob store of the image
 * module (bulwark/image.h's bwk_blob_store): podman:NAME needs no API service.
 *
 * Where: the graphroot and driver of storage.conf ($CONTAINERS_STORAGE_CONF, else
 * /etc/containers/storage.conf then /usr/share/containers/storage.conf; rootless first
 * $XDG_CONFIG_HOME/containers/storage.conf), as Podman reads them; $STORAGE_DRIVER overrides the
 * driver; defaults /var/lib/containers/storage (root) or $XDG_DATA_HOME/containers/storage.
 * What: `<driver>-images/images.json` names the image and its top layer; the config is the
 * image's big-data item "sha256:<id>" (a file in `<driver>-images/<id>/`, named by the key, or
 * "=" + base64 of it); `<driver>-layers/layers.json` chains the layers (parent) and gives each
 * one's diff digest. Each layer's original tar is reassembled from `<driver>-layers/<id>
 * .tar-split.gz` and the layer's files (overlay: overlay/<id>/diff, vfs: vfs/dir/<id>), read
 * through the layer directory's fd with RESOLVE_IN_ROOT (tarsplit.c): the bytes `podman save`
 * writes, whatever the driver.
 *
 * Trust: none. The store's root document is a manifest made here from layers.json (the layers
 * as uncompressed tars named by their diff digests, the config by the image ID); the image
 * module then verifies the config against the ID and every reassembled layer against its
 * digest and the config's diff_ids, as for any archive. A store changed under us, or a file
 * edited in a layer, is a digest mismatch, not a silent difference. The JSON files are read
 * under a shared lock on their .lock files (as containers/storage takes it). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <nettle/base64.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"
#include "image/podman_store.h"

#define PS_MAX_CONF	  (256u << 10)
#define PS_MAX_INDEX_JSON (256u << 20) /* images.json, layers.json */
#define PS_MAX_RECORDS	  200000       /* images or layers in a store */
#define PS_MAX_NAMES	  1000	       /* names, digests of one image */
#define PS_LOCK_WAIT_MS	  10000

/* ---- where the store is ------------------------------------------------------------------- */

/* A `key = "value"` of the [storage] table of a storage.conf (a TOML subset: the keys Podman
 * reads from there are basic strings). NULL: not set. */
static char *conf_get(const char *conf, const char *key)
{
	bool in_storage = false;
	size_t klen = strlen(key);
	for (const char *p = conf; *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *s = p, *e = p + n;
		p = eol ? eol + 1 : p + n;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s < e && *s == '[') {
			in_storage = (size_t)(e - s) >= 9 && !strncmp(s, "[storage]", 9);
			continue;
		}
		if (!in_storage || (size_t)(e - s) <= klen || strncmp(s, key, klen) != 0)
			continue;
		s += klen;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s == e || *s++ != '=')
			continue;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if (s == e || (*s != '"' && *s != '\''))
			continue;
		char q = *s++;
		const char *end = memchr(s, q, (size_t)(e - s));
		if (!end)
			continue;
		return xstrndup(s, (size_t)(end - s));
	}
	return NULL;
}

static char *home_path(const char *xdg_var, const char *fallback_under_home, const char *tail)
{
	const char *x = getenv(xdg_var);
	if (x && x[0] == '/')
		return xasprintf("%s/%s", x, tail);
	const char *h = getenv("HOME");
	if (h && h[0] == '/')
		return xasprintf("%s/%s/%s", h, fallback_under_home, tail);
	return NULL;
}

/* The text of the storage.conf Podman would read (NULL: none); *path names it. */
static int read_conf(char **text, char **path, bwk_error **err)
{
	*text = *path = NULL;
	const char *env = getenv("CONTAINERS_STORAGE_CONF");
	cleanup_free char *user =
	    geteuid() ? home_path("XDG_CONFIG_HOME", ".config", "containers/storage.conf") : NULL;
	const char *cands[] = {env && *env ? env : NULL, user, "/etc/containers/storage.conf",
			       "/usr/share/containers/storage.conf"};
	for (size_t i = env && *env ? 0 : 1; i < sizeof(cands) / sizeof(*cands); i++) {
		if (!cands[i] || (i > 0 && access(cands[i], F_OK) < 0 && errno == ENOENT))
			continue;
		size_t len = 0;
		if (bwk_read_file_at(AT_FDCWD, cands[i], PS_MAX_CONF, true, text, &len, err) < 0)
			return bwk_error_wrap(err,
					      "%s: cannot read this storage.conf (Podman's "
					      "storage configuration)",
					      cands[i]);
		*path = xstrdup(cands[i]);
		return 0;
	}
	return 0;
}

int pstore_locate(char **graphroot, char **driver, char **why, bwk_error **err)
{
	*graphroot = *driver = *why = NULL;
	cleanup_free char *conf = NULL, *confpath = NULL;
	if (read_conf(&conf, &confpath, err) < 0)
		return -1;
	/* rootless: graphroot of the user's own file, rootless_storage_path of the system's */
	bool system_file = confpath && (!strncmp(confpath, "/etc/containers/", 16) ||
					!strncmp(confpath, "/usr/share/containers/", 22));
	char *root = conf && (!geteuid() || !system_file) ? conf_get(conf, "graphroot") : NULL;
	if (!root && conf && geteuid())
		root = conf_get(conf, "rootless_storage_path");
	if (root && (root[0] != '/' || strchr(root, '$'))) {
		/* relative, or $HOME/$UID placeholders (not expanded here): the defaults */
		free(root);
		root = NULL;
	}
	if (!root)
		root = geteuid() ? home_path("XDG_DATA_HOME", ".local/share", "containers/storage")
				 : xstrdup("/var/lib/containers/storage");
	if (!root) {
		*why = xstrdup("no home directory for a rootless store (set XDG_DATA_HOME)");
		return 0;
	}
	const char *env = getenv("STORAGE_DRIVER");
	char *drv = env && *env ? xstrdup(env) : conf ? conf_get(conf, "driver") : NULL;
	if (drv && !*drv) {
		free(drv);
		drv = NULL;
	}
	if (!drv) {
		/* no driver configured: the one that has images in the store, as Podman picks
		 * the driver a store was made with */
		for (const char *d = "overlay\0vfs\0"; *d; d += strlen(d) + 1) {
			cleanup_free char *p = xasprintf("%s/%s-images/images.json", root, d);
			if (access(p, F_OK) == 0) {
				drv = xstrdup(d);
				break;
			}
		}
	}
	if (!drv)
		drv = xstrdup("overlay");
	if (strcmp(drv, "overlay") != 0 && strcmp(drv, "vfs") != 0) {
		int r = bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				      "Podman's store %s uses the %s driver: only overlay and vfs "
				      "are read directly (start 'podman system service' and set "
				      "CONTAINER_HOST to read it through Podman)",
				      root, drv);
		free(root);
		free(drv);
		return r;
	}
	cleanup_free char *idx = xasprintf("%s/%s-images/images.json", root, drv);
	if (access(idx, R_OK) < 0) {
		*why = xasprintf("%s: %s", idx, strerror(errno));
		free(root);
		free(drv);
		return 0;
	}
	*graphroot = root;
	*driver = drv;
	return 1;
}

/* ---- the store's index files --------------------------------------------------------------- */

/* A shared lock on dirfd/name (containers/storage's lock files), waited for a bounded time;
 * the fd holds it (-1: no lock file, read without). */
static int lock_shared(int dirfd, const char *name, const char *what, bwk_error **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	for (int waited = 0; fcntl(fd, F_OFD_SETLK, &fl) < 0; waited += 50) {
		if ((errno != EAGAIN && errno != EACCES) || waited >= PS_LOCK_WAIT_MS) {
			close(fd);
			return bwk_error_set(err, BWK_E_IO, errno,
					     "%s: Podman holds its store locked (%s)", what, name);
		}
		nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
	}
	return fd;
}

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* ---- name resolution ---------------------------------------------------------------------- */

/* NAME split as a reference: repository (with its domain as given), tag, digest. */
typedef struct pref {
	char *repo, *tag, *digest;
} pref;

static void pref_free(pref *r)
{
	free(r->repo);
	free(r->tag);
	free(r->digest);
}

static void pref_parse(const char *name, pref *r)
{
	memset(r, 0, sizeof(*r));
	const char *at = strchr(name, '@');
	size_t n = at ? (size_t)(at - name) : strlen(name);
	if (at)
		r->digest = xstrdup(at + 1);
	const char *slash = memrchr(name, '/', n);
	const char *colon =
	    memrchr(slash ? slash : name, ':', n - (size_t)(slash ? slash - name : 0));
	if (colon) {
		r->tag = xstrndup(colon + 1, n - (size_t)(colon + 1 - name));
		n = (size_t)(colon - name);
	}
	r->repo = xstrndup(name, n);
}

/* Whether the first component of a repository is a registry's host. */
static bool has_domain(const char *repo)
{
	const char *s = strchr(repo, '/');
	if (!s)
		return false;
	size_t n = (size_t)(s - repo);
	return memchr(repo, '.', n) || memchr(repo, ':', n) ||
	       (n == 9 && !strncmp(repo, "localhost", 9));
}

/* Does the stored name `stored` ("REPO:TAG" or "REPO@DIGEST") name repository `repo` with tag
 * `tag` (NULL: any)? */
static bool name_is(const char *stored, const char *repo, const char *tag)
{
	size_t rl = strlen(repo);
	if (strncmp(stored, repo, rl) != 0)
		return false;
	if (!tag)
		return stored[rl] == ':' || stored[rl] == '@' || !stored[rl];
	return stored[rl] == ':' && !strcmp(stored + rl + 1, tag);
}

static bool image_has_digest(json_t *im, const char *digest)
{
	json_t *d = json_object_get(im, "digest");
	if (json_is_string(d) && !strcmp(json_string_value(d), digest))
		return true;
	json_t *ds = json_object_get(im, "digests");
	size_t i;
	json_t *v;
	json_array_foreach(ds, i, v)
	{
		if (i >= PS_MAX_NAMES)
			break;
		if (json_is_string(v) && !strcmp(json_string_value(v), digest))
			return true;
	}
	return false;
}

/* The images whose names hold repo (and tag, or digest): -1 none, -2 several, else index. */
static long find_by_repo(json_t *imgs, const char *repo, const pref *r)
{
	long found = -1;
	size_t i;
	json_t *im;
	json_array_foreach(imgs, i, im)
	{
		json_t *names = json_object_get(im, "names");
		size_t k;
		json_t *nm;
		bool hit = false;
		json_array_foreach(names, k, nm)
		{
			if (k >= PS_MAX_NAMES)
				break;
			if (!json_is_string(nm))
				continue;
			if (r->digest
				? name_is(json_string_value(nm), repo, NULL) &&
				      image_has_digest(im, r->digest)
				: name_is(json_string_value(nm), repo, r->tag ? r->tag : "latest"))
				hit = true;
		}
		if (hit) {
			if (found >= 0 && found != (long)i)
				return -2;
			found = (long)i;
		}
	}
	return found;
}

/* A short name's repository in each image's names, whatever the registry ("alpine" is
 * quay.io/x/alpine's too when searched that way): unique or nothing. */
static long find_short_anywhere(json_t *imgs, const pref *r)
{
	long found = -1;
	size_t i;
	json_t *im;
	json_array_foreach(imgs, i, im)
	{
		json_t *names = json_object_get(im, "names");
		size_t k;
		json_t *nm;
		json_array_foreach(names, k, nm)
		{
			if (k >= PS_MAX_NAMES || !json_is_string(nm))
				continue;
			const char *s = json_string_value(nm), *sl = strchr(s, '/');
			if (!sl)
				continue;
			bool hit = r->digest ? name_is(sl + 1, r->repo, NULL) &&
						   image_has_digest(im, r->digest)
					     : name_is(sl + 1, r->repo, r->tag ? r->tag : "latest");
			if (hit) {
				if (found >= 0 && found != (long)i)
					return -2;
				found = (long)i;
			}
		}
	}
	return found;
}

static long find_by_id(json_t *imgs, const char *name)
{
	const char *hex = !strncmp(name, "sha256:", 7) ? name + 7 : name;
	size_t n = strlen(hex);
	if (n < 3 || n > 64 || strspn(hex, "0123456789abcdef") != n)
		return -1;
	long found = -1;
	size_t i;
	json_t *im;
	json_array_foreach(imgs, i, im)
	{
		json_t *id = json_object_get(im, "id");
		if (json_is_string(id) && !strncmp(json_string_value(id), hex, n)) {
			if (found >= 0)
				return -2;
			found = (long)i;
		}
	}
	return found;
}

int pstore_resolve(const char *images_json, size_t len, const char *name, char **id,
		   char **top_layer, bwk_error **err)
{
	*id = *top_layer = NULL;
	json_error_t je;
	json_t *imgs = json_loadb(images_json, len, 0, &je);
	if (!imgs || !json_is_array(imgs)) {
		if (imgs)
			json_decref(imgs);
		return bwk_error_set(err, BWK_E_INPUT, 0, "images.json: not a JSON array (%s)",
				     imgs ? "another value" : je.text);
	}
	int ret = -1;
	pref r;
	pref_parse(name, &r);
	long idx = -1;
	json_t *im, *jid, *jl;
	if (json_array_size(imgs) > PS_MAX_RECORDS) {
		bwk_error_set(err, BWK_E_LIMIT, 0, "images.json: more than %d images",
			      PS_MAX_RECORDS);
		goto out;
	}
	if (!*r.repo || (r.digest && !bwk_digest_valid(r.digest))) {
		bwk_error_set(err, BWK_E_USAGE, 0, "podman:%.200s: not an image name", name);
		goto out;
	}
	/* as Podman: sha256:ID, a full name, else an ID (prefix), else a short name's
	 * candidates */
	if (!strncmp(name, "sha256:", 7)) {
		idx = find_by_id(imgs, name);
	} else if (has_domain(r.repo)) {
		/* docker.io/NAME is docker.io/library/NAME, as the reference library says */
		cleanup_free char *hub =
		    !strncmp(r.repo, "docker.io/", 10) && !strchr(r.repo + 10, '/')
			? xasprintf("docker.io/library/%s", r.repo + 10)
			: NULL;
		idx = find_by_repo(imgs, hub ? hub : r.repo, &r);
	} else {
		idx = r.tag || r.digest ? -1 : find_by_id(imgs, name);
		if (idx == -1) {
			cleanup_free char *local = xasprintf("localhost/%s", r.repo);
			cleanup_free char *hub = strchr(r.repo, '/')
						     ? xasprintf("docker.io/%s", r.repo)
						     : xasprintf("docker.io/library/%s", r.repo);
			idx = find_by_repo(imgs, local, &r);
			if (idx == -1)
				idx = find_by_repo(imgs, hub, &r);
			if (idx == -1)
				idx = find_short_anywhere(imgs, &r);
		}
	}
	if (idx == -2) {
		bwk_error_set(err, BWK_E_USAGE, 0,
			      "podman:%.200s: more than one image in Podman's store answers to it: "
			      "give the full name (REGISTRY/REPO:TAG) or the image ID",
			      name);
		goto out;
	}
	if (idx < 0) {
		bwk_error_set(err, BWK_E_NOTFOUND, 0,
			      "podman:%.200s: no such image in Podman's store ('podman images' "
			      "lists them)",
			      name);
		goto out;
	}
	im = json_array_get(imgs, (size_t)idx);
	jid = json_object_get(im, "id");
	jl = json_object_get(im, "layer");
	if (!json_is_string(jid) || !hex64(json_string_value(jid)) ||
	    (jl && !json_is_null(jl) && (!json_is_string(jl) || !hex64(json_string_value(jl))))) {
		bwk_error_set(err, BWK_E_INPUT, 0,
			      "images.json: image %ld has a malformed \"id\" or \"layer\"", idx);
		goto out;
	}
	*id = xstrdup(json_string_value(jid));
	*top_layer = json_is_string(jl) ? xstrdup(json_string_value(jl)) : NULL;
	ret = 0;
out:
	pref_free(&r);
	json_decref(imgs);
	return ret;
}

/* ---- the blob store ------------------------------------------------------------------------ */

typedef struct ps_layer {
	char id[65];
	char diff[72]; /* "sha256:…" */
	uint64_t size;
} ps_layer;

typedef struct pstore {
	int driverfd, imagesfd, layersfd;
	char *driver;
	char *name;
	char id[65];
	ps_layer *layers; /* bottom first */
	size_t nlayers;
	char *config;
	size_t config_len;
} pstore;

static void pstore_free(void *p)
{
	pstore *s = p;
	if (!s)
		return;
	if (s->driverfd >= 0)
		close(s->driverfd);
	if (s->imagesfd >= 0)
		close(s->imagesfd);
	if (s->layersfd >= 0)
		close(s->layersfd);
	free(s->driver);
	free(s->name);
	free(s->layers);
	free(s->config);
	free(s);
}

/* A big-data item's file name (containers/storage's makeBigDataBaseName). */
static char *bigdata_name(const char *key)
{
	if (strspn(key, ".0123456789abcdefghijklmnopqrstuvwxyz") == strlen(key))
		return xstrdup(key);
	size_t n = strlen(key);
	char *out = xmalloc(BASE64_ENCODE_RAW_LENGTH(n) + 2);
	out[0] = '=';
	base64_encode_raw(out + 1, n, (const uint8_t *)key);
	out[1 + BASE64_ENCODE_RAW_LENGTH(n)] = '\0';
	return out;
}

/* layers.json → the chain under `top`, bottom first. */
static int load_chain(pstore *s, const char *buf, size_t len, const char *top, bwk_error **err)
{
	json_error_t je;
	json_t *ls = json_loadb(buf, len, 0, &je);
	if (!ls || !json_is_array(ls) || json_array_size(ls) > PS_MAX_RECORDS) {
		if (ls)
			json_decref(ls);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "layers.json: not a JSON array of at most %d layers (%s)",
				     PS_MAX_RECORDS, ls ? "too many" : je.text);
	}
	int ret = -1;
	ps_layer *chain = xcalloc(BWK_MAX_LAYERS, sizeof(*chain));
	size_t n = 0;
	char want[65];
	snprintf(want, sizeof(want), "%s", top);
	while (*want) {
		if (n == BWK_MAX_LAYERS) {
			bwk_error_set(err, BWK_E_LIMIT, 0, "layers.json: more than %d layers",
				      BWK_MAX_LAYERS);
			goto out;
		}
		json_t *hit = NULL, *l;
		size_t i;
		json_array_foreach(ls, i, l)
		{
			json_t *id = json_object_get(l, "id");
			if (json_is_string(id) && !strcmp(json_string_value(id), want)) {
				hit = l;
				break;
			}
		}
		json_t *dd = hit ? json_object_get(hit, "diff-digest") : NULL;
		json_t *par = hit ? json_object_get(hit, "parent") : NULL;
		json_t *sz = hit ? json_object_get(hit, "diff-size") : NULL;
		if (!hit || !json_is_string(dd) || !bwk_digest_valid(json_string_value(dd)) ||
		    (par && !json_is_null(par) &&
		     (!json_is_string(par) || !hex64(json_string_value(par)))) ||
		    (sz && !json_is_integer(sz))) {
			bwk_error_set(err, BWK_E_INPUT, 0, "layers.json: layer %.64s is %s", want,
				      hit ? "malformed (its diff-digest, parent or diff-size)"
					  : "missing (is an image being pulled or removed?)");
			goto out;
		}
		ps_layer *pl = &chain[n++];
		snprintf(pl->id, sizeof(pl->id), "%s", want);
		snprintf(pl->diff, sizeof(pl->diff), "%s", json_string_value(dd));
		pl->size = json_is_integer(sz) && json_integer_value(sz) > 0
			       ? (uint64_t)json_integer_value(sz)
			       : 0;
		snprintf(want, sizeof(want), "%s",
			 json_is_string(par) ? json_string_value(par) : "");
		for (size_t k = 0; k + 1 < n && *want; k++)
			if (!strcmp(chain[k].id, want)) {
				bwk_error_set(err, BWK_E_INPUT, 0, "layers.json: a parent loop");
				goto out;
			}
	}
	s->layers = xcalloc(n ? n : 1, sizeof(*s->layers));
	for (size_t i = 0; i < n; i++)
		s->layers[i] = chain[n - 1 - i];
	s->nlayers = n;
	ret = 0;
out:
	free(chain);
	json_decref(ls);
	return ret;
}

static int ps_root(void *ctx, size_t max, char **doc, size_t *len, char **digest, bwk_error **err)
{
	pstore *s = ctx;
	*digest = NULL;
	json_t *layers = json_array();
	for (size_t i = 0; i < s->nlayers; i++)
		json_array_append_new(layers, json_pack("{s:s,s:s,s:I}", "mediaType",
							"application/vnd.oci.image.layer.v1.tar",
							"digest", s->layers[i].diff, "size",
							(json_int_t)s->layers[i].size));
	cleanup_free char *cfg = xasprintf("sha256:%s", s->id);
	json_t *m = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:o}", "schemaVersion", 2, "mediaType",
			      "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
			      "application/vnd.oci.image.config.v1+json", "digest", cfg, "size",
			      (json_int_t)s->config_len, "layers", layers);
	*doc = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	*len = strlen(*doc);
	if (*len > max)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "podman:%s: manifest over %zu bytes",
				     s->name, max);
	return 0;
}

static int ps_read_blob(void *ctx, const char *digest, size_t max, char **data, size_t *len,
			bwk_error **err)
{
	pstore *s = ctx;
	if (strncmp(digest, "sha256:", 7) != 0 || strcmp(digest + 7, s->id) != 0)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0,
				     "podman:%s: no blob %.80s in the store", s->name, digest);
	if (s->config_len > max)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "podman:%s: config over %zu bytes",
				     s->name, max);
	*data = xmalloc(s->config_len + 1);
	memcpy(*data, s->config, s->config_len);
	(*data)[s->config_len] = '\0';
	*len = s->config_len;
	return 0;
}

typedef struct ps_stream {
	int layerfd;
	char what[128];
	ts_reader *r;
} ps_stream;

static int ps_open_file(void *ctx, const char *name, bwk_error **err)
{
	ps_stream *st = ctx;
	int fd = bwk_openat2(st->layerfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0,
			     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
	if (fd < 0)
		return bwk_error_set(err, errno == EACCES ? BWK_E_PERM : BWK_E_IO, errno,
				     "%s: %.200s: cannot open the layer's file%s", st->what, name,
				     errno == EACCES ? " (a rootless store's files are readable "
						       "inside 'podman unshare')"
						     : "");
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: %.200s: not a regular file in the layer's directory",
				     st->what, name);
	}
	return fd;
}

static int ps_open_blob(void *ctx, const char *digest, uint64_t size, void **stream,
			bwk_error **err)
{
	(void)size;
	pstore *s = ctx;
	const ps_layer *l = NULL;
	for (size_t i = 0; i < s->nlayers && !l; i++)
		if (!strcmp(s->layers[i].diff, digest))
			l = &s->layers[i];
	if (!l)
		return bwk_error_set(err, BWK_E_NOTFOUND, 0, "podman:%s: no layer %.80s", s->name,
				     digest);
	cleanup_free char *dir =
	    !strcmp(s->driver, "vfs") ? xasprintf("dir/%s", l->id) : xasprintf("%s/diff", l->id);
	cleanup_free char *tsname = xasprintf("%s.tar-split.gz", l->id);
	cleanup_close int lfd = bwk_openat2(s->driverfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
					    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (lfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno,
				     "podman:%s: layer %.12s: cannot open its directory %s/%s",
				     s->name, l->id, s->driver, dir);
	int tfd = openat(s->layersfd, tsname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno,
				     "podman:%s: layer %.12s: no %s-layers/%s (a layer stored "
				     "without tar-split cannot be read directly: use the API "
				     "service, CONTAINER_HOST)",
				     s->name, l->id, s->driver, tsname);
	ps_stream *st = xcalloc(1, sizeof(*st));
	st->layerfd = steal_fd(&lfd);
	snprintf(st->what, sizeof(st->what), "podman:%.60s: layer %.12s", s->name, l->id);
	st->r = ts_reader_new(tfd, BWK_COMP_GZIP, ps_open_file, st, st->what);
	*stream = st;
	return 0;
}

static ssize_t ps_pull(void *stream, void *buf, size_t len, bwk_error **err)
{
	ps_stream *st = stream;
	return ts_reader_read(st->r, buf, len, err);
}

static void ps_close_blob(void *stream)
{
	ps_stream *st = stream;
	if (!st)
		return;
	ts_reader_free(st->r);
	close(st->layerfd);
	free(st);
}

int pstore_open(const char *graphroot, const char *driver, const char *name, bwk_blob_store *store,
		bwk_error **err)
{
	pstore *s = xcalloc(1, sizeof(*s));
	s->driverfd = s->imagesfd = s->layersfd = -1;
	s->driver = xstrdup(driver);
	s->name = xstrdup(name);
	int ret = -1;
	cleanup_close int rootfd = open(graphroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *imgs_dir = xasprintf("%s-images", driver);
	cleanup_free char *lay_dir = xasprintf("%s-layers", driver);
	cleanup_free char *ibuf = NULL, *lbuf = NULL, *id = NULL, *top = NULL, *cfgname = NULL;
	size_t ilen = 0, llen = 0;
	if (rootfd < 0) {
		bwk_error_set(err, BWK_E_IO, errno, "podman:%s: %s: cannot open Podman's store",
			      name, graphroot);
		goto out;
	}
	s->imagesfd = bwk_openat2(rootfd, imgs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
				  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	s->layersfd = bwk_openat2(rootfd, lay_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
				  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	s->driverfd = bwk_openat2(rootfd, driver, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
				  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (s->imagesfd < 0 || s->layersfd < 0 || s->driverfd < 0) {
		bwk_error_set(err, BWK_E_IO, errno,
			      "podman:%s: %s: Podman's store lacks %s, %s or %s", name, graphroot,
			      imgs_dir, lay_dir, driver);
		goto out;
	}
	{
		/* images.json then layers.json, each under containers/storage's shared lock */
		cleanup_close int il = lock_shared(s->imagesfd, "images.lock", name, err);
		if (il < 0 && *err)
			goto out;
		if (bwk_read_file_at(s->imagesfd, "images.json", PS_MAX_INDEX_JSON, false, &ibuf,
				     &ilen, err) < 0 ||
		    pstore_resolve(ibuf, ilen, name, &id, &top, err) < 0)
			goto out;
		snprintf(s->id, sizeof(s->id), "%s", id);
		cleanup_free char *key = xasprintf("sha256:%s", id);
		cleanup_free char *base = bigdata_name(key);
		cfgname = xasprintf("%s/%s", id, base);
		if (bwk_read_file_at(s->imagesfd, cfgname, BWK_MAX_JSON_CONFIG, false, &s->config,
				     &s->config_len, err) < 0) {
			bwk_error_wrap(err,
				       "podman:%s: image %.12s: its config (big-data %s) is not in "
				       "the store",
				       name, id, key);
			goto out;
		}
	}
	if (top) {
		cleanup_close int ll = lock_shared(s->layersfd, "layers.lock", name, err);
		if (ll < 0 && *err)
			goto out;
		if (bwk_read_file_at(s->layersfd, "layers.json", PS_MAX_INDEX_JSON, false, &lbuf,
				     &llen, err) < 0 ||
		    load_chain(s, lbuf, llen, top, err) < 0) {
			bwk_error_wrap(err, "podman:%s: %s/%s", name, graphroot, lay_dir);
			goto out;
		}
	}
	*store = (bwk_blob_store){.ctx = s,
				  .root = ps_root,
				  .read_blob = ps_read_blob,
				  .open_blob = ps_open_blob,
				  .pull = ps_pull,
				  .close_blob = ps_close_blob,
				  .free = pstore_free};
	s = NULL;
	ret = 0;
out:
	pstore_free(s);
	return ret;
}
