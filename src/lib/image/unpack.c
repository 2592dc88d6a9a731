/* bulwark unpack and the layer cache for run.
 *
 * Unpack builds the merged filesystem in DEST.tmp-XXXXXX next to DEST, applying layers bottom
 * first (whiteouts delete, opaque markers empty directories), verifies every layer before the
 * next one, and renames into place with RENAME_NOREPLACE only when everything succeeded. On
 * any error the temporary tree is removed, and since every write is fd-relative beneath it,
 * nothing outside it was ever touched.
 *
 * The cache extracts each layer on its own into CACHE/layers/sha256/<diff_id hex>/, keeping
 * whiteouts as overlayfs markers (docs/design/image.md), under an flock per layer so that
 * concurrent bulwark processes extract a layer once and never see half of one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

typedef struct apply_ctx {
	bwk_image *img;
	fs_writer *w;
	layer_budget budget;
} apply_ctx;

static int apply_cb(void *ctx, size_t index, layer_stream *ls, bwk_error **err)
{
	apply_ctx *c = ctx;
	layer_stream_set_budget(ls, &c->budget);
	return fs_writer_apply_layer(c->w, c->img, index, ls, err);
}

static int unpack_layers(bwk_image *img, fs_writer *w, bwk_error **err)
{
	layer_budget budget = {0};
	for (size_t i = 0; i < img->nlayers; i++) {
		layer_stream *ls = NULL;
		if (layer_stream_open(img, i, NULL, NULL, &ls, err) < 0)
			return -1;
		layer_stream_set_budget(ls, &budget);
		int r = fs_writer_apply_layer(w, img, i, ls, err);
		layer_stream_close(ls);
		if (r < 0)
			return -1;
	}
	return 0;
}

int bwk_image_unpack(bwk_image *img, const bwk_unpack_opts *opts, const char *dest, bwk_error **err)
{
	struct stat st;
	if (lstat(dest, &st) == 0)
		return bwk_error_set(err, BWK_E_USAGE, EEXIST,
				     "%s: already exists (unpack creates a new directory)", dest);
	cleanup_free char *d1 = xstrdup(dest);
	cleanup_free char *d2 = xstrdup(dest);
	const char *parent = dirname(d1), *base = basename(d2);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		return bwk_error_set(err, BWK_E_USAGE, 0, "%s: not a new directory name", dest);
	cleanup_close int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open the parent directory",
				     parent);
	cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", dest);
	if (!mkdtemp(tmp))
		return bwk_error_set(err, BWK_E_IO, errno,
				     "%s: cannot create a temporary directory", tmp);
	cleanup_free char *t2 = xstrdup(tmp);
	const char *tbase = basename(t2);
	int rootfd = openat(pfd, tbase, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int ret = -1;
	if (rootfd < 0) {
		bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", tmp);
	} else {
		fs_writer w;
		fs_writer_init(&w, rootfd, opts, false);
		apply_ctx ac = {.img = img, .w = &w};
		ret = img->source->stream_layers
			  ? img->source->stream_layers(img, true, apply_cb, &ac, err)
			  : unpack_layers(img, &w, err);
		fs_writer_free(&w);
		if (ret == 0 && fchmod(rootfd, 0755) < 0)
			ret = bwk_error_set(err, BWK_E_IO, errno, "%s: chmod", tmp);
		close(rootfd);
	}
	if (ret == 0 && renameat2(pfd, tbase, pfd, base, RENAME_NOREPLACE) < 0)
		ret = bwk_error_set(err, BWK_E_IO, errno, "%s: cannot rename into place", dest);
	if (ret < 0) {
		bwk_remove_tree_at(pfd, tbase);
		return bwk_error_wrap(err, "unpacking %s", img->ref);
	}
	return 0;
}

/* ---- layer cache --------------------------------------------------------------------------------
 */

int image_mkdir_p(const char *path, mode_t mode, bwk_error **err)
{
	cleanup_free char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot create", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot create", p);
	return 0;
}

char *image_cache_root(const char *cache_dir)
{
	if (cache_dir)
		return xstrdup(cache_dir);
	if (geteuid() == 0)
		return xstrdup("/var/lib/bulwark");
	const char *x = getenv("XDG_CACHE_HOME");
	if (x && x[0] == '/')
		return xasprintf("%s/bulwark", x);
	const char *h = getenv("HOME");
	return xasprintf("%s/.cache/bulwark", h && *h ? h : "/tmp");
}

/* Extract one layer into layers/sha256/<hex> unless it is there already. */
static int cache_one(bwk_image *img, size_t i, int ldfd, const char *ldir,
		     const bwk_unpack_opts *opts, layer_budget *budget, layer_stream *ls_in,
		     bwk_error **err)
{
	const char *hex = img->layers[i].diff_id + 7;
	cleanup_free char *lockname = xasprintf("%s.lock", hex);
	cleanup_close int lk =
	    openat(ldfd, lockname, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lk < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot open the lock", ldir,
				     lockname);
	while (flock(lk, LOCK_EX) < 0)
		if (errno != EINTR)
			return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: flock", ldir, lockname);
	struct stat st;
	if (fstatat(ldfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		return 0; /* extracted (and verified) by an earlier run */
	cleanup_free char *tmpl = xasprintf("%s/%s.tmp-XXXXXX", ldir, hex);
	if (!mkdtemp(tmpl))
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot create", tmpl);
	cleanup_free char *t2 = xstrdup(tmpl);
	const char *tbase = basename(t2);
	cleanup_close int rootfd = openat(ldfd, tbase, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	fs_writer w;
	fs_writer_init(&w, rootfd, opts, true);
	cleanup_free char *wh_name = xasprintf("%s.whiteouts", hex);
	cleanup_free char *wh_tmp = xasprintf("%s.whiteouts.tmp", hex);
	int ret = 0;
	if (!w.is_root) {
		int fd = openat(ldfd, wh_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
				0644);
		w.whiteouts = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!w.whiteouts)
			ret = bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot create", ldir,
					    wh_tmp);
	}
	layer_stream *ls = ls_in;
	if (ret == 0 && !ls) {
		ret = layer_stream_open(img, i, NULL, NULL, &ls, err);
	}
	if (ret == 0) {
		layer_stream_set_budget(ls, budget);
		ret = fs_writer_apply_layer(&w, img, i, ls, err);
	}
	if (!ls_in)
		layer_stream_close(ls);
	if (w.whiteouts) {
		if (fflush(w.whiteouts) != 0 || fsync(fileno(w.whiteouts)) < 0)
			ret = ret < 0 ? ret : bwk_error_set(err, BWK_E_IO, errno, "whiteouts list");
		fclose(w.whiteouts);
		w.whiteouts = NULL;
		if (ret == 0 && renameat(ldfd, wh_tmp, ldfd, wh_name) < 0)
			ret = bwk_error_set(err, BWK_E_IO, errno, "%s/%s: rename", ldir, wh_name);
	}
	fs_writer_free(&w);
	if (ret == 0 && fchmod(rootfd, 0755) < 0)
		ret = bwk_error_set(err, BWK_E_IO, errno, "%s: chmod", tmpl);
	if (ret == 0 && renameat2(ldfd, tbase, ldfd, hex, RENAME_NOREPLACE) < 0)
		ret =
		    bwk_error_set(err, BWK_E_IO, errno, "%s/%s: rename into the cache", ldir, hex);
	if (ret < 0) {
		bwk_remove_tree_at(ldfd, tbase);
		unlinkat(ldfd, wh_tmp, 0);
		return bwk_error_wrap(err, "caching layer %zu", i + 1);
	}
	return 0;
}

typedef struct cache_cb_ctx {
	bwk_image *img;
	int ldfd;
	const char *ldir;
	const bwk_unpack_opts *opts;
	layer_budget *budget;
} cache_cb_ctx;

static int cache_cb(void *ctx, size_t index, layer_stream *ls, bwk_error **err)
{
	cache_cb_ctx *c = ctx;
	return cache_one(c->img, index, c->ldfd, c->ldir, c->opts, c->budget, ls, err);
}

int bwk_image_cache_layers(bwk_image *img, const char *cache_dir, const bwk_unpack_opts *opts,
			   char ***dirs, bwk_error **err)
{
	*dirs = NULL;
	cleanup_free char *root = image_cache_root(cache_dir);
	char real[PATH_MAX];
	cleanup_free char *ldir = NULL;
	if (image_mkdir_p(root, 0700, err) < 0 || !realpath(root, real))
		return err && *err
			   ? -1
			   : bwk_error_set(err, BWK_E_IO, errno, "%s: cannot resolve", root);
	ldir = xasprintf("%s/layers/sha256", real);
	if (image_mkdir_p(ldir, 0700, err) < 0)
		return -1;
	cleanup_close int ldfd = open(ldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (ldfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", ldir);
	int r = 0;
	/* one size budget for every layer this call extracts, as for unpack: the cache is on
	 * the host's disk (root: /var/lib) */
	layer_budget budget = {0};
	/* a source that streams the whole image (docker:) is not asked again for layers that
	 * are all extracted already: a second run of an unchanged image reads nothing */
	bool all = true;
	for (size_t i = 0; i < img->nlayers && all; i++) {
		struct stat st;
		all = fstatat(ldfd, img->layers[i].diff_id + 7, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		      S_ISDIR(st.st_mode);
	}
	if (img->source->stream_layers && !all) {
		cache_cb_ctx c = {img, ldfd, ldir, opts, &budget};
		r = img->source->stream_layers(img, false, cache_cb, &c, err);
	} else if (!img->source->stream_layers) {
		for (size_t i = 0; i < img->nlayers && r == 0; i++)
			r = cache_one(img, i, ldfd, ldir, opts, &budget, NULL, err);
	}
	if (r < 0)
		return -1;
	char **v = xcalloc(img->nlayers + 1, sizeof(char *));
	for (size_t i = 0; i < img->nlayers; i++)
		v[i] = xasprintf("%s/%s", ldir, img->layers[i].diff_id + 7);
	*dirs = v;
	return 0;
}
