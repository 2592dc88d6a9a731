/* bwk_image_walk: every layer as entries, several layers at once.
 *
 * Workers take layers bottom first from a shared counter; each streams its layer from its own
 * pread window, so N workers decompress N layers on N cores. Visibility of an entry depends on
 * the layers above it, which may not have been read yet: entries of the top layer are
 * VISIBLE, the others are delivered as BWK_VIS_UNKNOWN and settled exactly after the walk
 * with bwk_image_visibility() (visibility.c, docs/design/image.md). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

typedef struct walk_shared {
	bwk_image *img;
	const bwk_visitor *v;
	layer_budget budget;
	size_t next; /* atomic: next layer to take */
	int failed;  /* atomic */
	pthread_mutex_t lock;
	bwk_error *err; /* first error */
} walk_shared;

typedef struct walk_worker {
	walk_shared *sh;
	unsigned id;
	pthread_t th;
} walk_worker;

static ssize_t entry_read(void *rctx, void *buf, size_t len, bwk_error **err)
{
	return layer_stream_read(rctx, buf, len, err);
}

static int walk_stream(walk_shared *sh, unsigned worker, size_t index, layer_stream *ls,
		       bwk_error **err)
{
	bwk_image *img = sh->img;
	const bwk_visitor *v = sh->v;
	vis_table *vt = &img->vis[index];
	bool top = index + 1 == img->nlayers;
	layer_stream_set_budget(ls, &sh->budget);
	if (v->layer_begin &&
	    v->layer_begin(v->ctx, worker, (int)index, bwk_image_layer_digest(img, index), err) < 0)
		return -1;
	layer_entry *le = xmalloc(sizeof(*le));
	int r;
	while ((r = layer_stream_next(ls, le, err)) == 1) {
		if (__atomic_load_n(&sh->failed, __ATOMIC_RELAXED)) {
			r = 0;
			break;
		}
		if (le->hostile_whiteout)
			continue; /* a whiteout of "..", "." or "": deletes nothing in the image */
		bwk_entry *e = &le->e;
		uint8_t fl = e->type == BWK_ENTRY_WHITEOUT ? VIS_WHITEOUT
			     : e->type == BWK_ENTRY_OPAQUE ? VIS_OPAQUE
			     : e->type == BWK_ENTRY_DIR	   ? VIS_PRESENT
							   : VIS_PRESENT | VIS_NONDIR;
		vis_table_add(vt, le->path, fl);
		e->visibility = top ? BWK_VISIBLE : BWK_VIS_UNKNOWN;
		e->worker = worker;
		if (e->type == BWK_ENTRY_FILE) {
			e->read = entry_read;
			e->rctx = ls;
		}
		if (v->entry && v->entry(v->ctx, e, err) < 0) {
			r = -1;
			break;
		}
	}
	free(le);
	if (r < 0)
		return -1;
	if (!__atomic_load_n(&sh->failed, __ATOMIC_RELAXED) &&
	    layer_check_verdict(img, index, layer_stream_verdict(ls), v, err) < 0)
		return -1;
	if (v->layer_end && v->layer_end(v->ctx, worker, (int)index, err) < 0)
		return -1;
	return 0;
}

static void fail(walk_shared *sh, bwk_error *e)
{
	pthread_mutex_lock(&sh->lock);
	if (!sh->err)
		sh->err = e;
	else
		bwk_error_free(e);
	__atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&sh->lock);
}

static void *worker_main(void *p)
{
	walk_worker *w = p;
	walk_shared *sh = w->sh;
	for (;;) {
		if (__atomic_load_n(&sh->failed, __ATOMIC_RELAXED))
			break;
		size_t i = __atomic_fetch_add(&sh->next, 1, __ATOMIC_RELAXED);
		if (i >= sh->img->nlayers)
			break;
		bwk_error *e = NULL;
		layer_stream *ls = NULL;
		if (layer_stream_open(sh->img, i, NULL, NULL, &ls, &e) < 0 ||
		    walk_stream(sh, w->id, i, ls, &e) < 0) {
			if (!e)
				bwk_error_set(&e, BWK_E_INTERNAL, 0, "layer %zu failed", i + 1);
			fail(sh, e);
		}
		layer_stream_close(ls);
	}
	return NULL;
}

/* Source "dir": the tree through the directory opened once (never the path again). */
static int rootfs_walk_fd(bwk_image *img, const bwk_visitor *v, bwk_error **err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", img->rootfs_fd);
	bwk_rootfs_opts ro = {.max_entries = img->opts.max_entries};
	if (bwk_rootfs_walk(path, &ro, v, err) < 0)
		return bwk_error_wrap(err, "%s", img->ref);
	img->walked = true;
	return 0;
}

static int stream_cb(void *ctx, size_t index, layer_stream *ls, bwk_error **err)
{
	return walk_stream(ctx, 0, index, ls, err);
}

int bwk_image_walk(bwk_image *img, const bwk_visitor *v, bwk_error **err)
{
	if (img->rootfs_fd >= 0)
		return rootfs_walk_fd(img, v, err);
	if (v->config && v->config(v->ctx, &img->cfg.pub, err) < 0)
		return -1;
	for (size_t i = 0; i < img->npending; i++)
		if (v->integrity &&
		    v->integrity(v->ctx, -1, img->pending[i].what, img->pending[i].expected,
				 img->pending[i].actual, err) < 0)
			return -1;
	if (img->vis) {
		for (size_t i = 0; i < img->nlayers; i++)
			vis_table_free(&img->vis[i]);
		free(img->vis);
	}
	img->vis = xcalloc(img->nlayers ? img->nlayers : 1, sizeof(vis_table));
	img->walked = false;
	walk_shared sh = {.img = img, .v = v};
	pthread_mutex_init(&sh.lock, NULL);
	int ret = 0;
	if (img->source->stream_layers) {
		ret = img->source->stream_layers(img, false, stream_cb, &sh, err);
	} else {
		unsigned n = img->opts.threads;
		if (!n) {
			long c = sysconf(_SC_NPROCESSORS_ONLN);
			n = c > 0 ? (unsigned)c : 1;
		}
		if (img->opts.one_walk)
			n = 1;
		if (n > img->nlayers)
			n = img->nlayers ? (unsigned)img->nlayers : 1;
		if (n > 64)
			n = 64;
		walk_worker *w = xcalloc(n, sizeof(*w));
		unsigned started = 0;
		for (unsigned i = 0; i < n; i++) {
			w[i].sh = &sh;
			w[i].id = i;
			if (i == 0)
				continue; /* worker 0 is this thread */
			if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
				break;
			started = i;
		}
		worker_main(&w[0]);
		for (unsigned i = 1; i <= started; i++)
			pthread_join(w[i].th, NULL);
		free(w);
		if (sh.err) {
			*err = sh.err;
			sh.err = NULL;
			ret = -1;
		}
	}
	pthread_mutex_destroy(&sh.lock);
	if (ret < 0)
		return bwk_error_wrap(err, "%s", img->ref);
	img->walked = true;
	if (v->walk_end && v->walk_end(v->ctx, err) < 0)
		return -1;
	return 0;
}

bwk_visibility bwk_image_visibility(const bwk_image *img, int layer_index, const char *path,
				    int *hidden_by)
{
	*hidden_by = -1;
	if (!img->walked || layer_index < 0 || (size_t)layer_index >= img->nlayers)
		return layer_index < 0 ? BWK_VISIBLE : BWK_VIS_UNKNOWN;
	bool replaced = false;
	int j = vis_resolve(img->vis, img->nlayers, layer_index, path, &replaced);
	*hidden_by = j;
	return j < 0 ? BWK_VISIBLE : replaced ? BWK_REPLACED : BWK_HIDDEN;
}
