/* The verified layers of a run of several scans (bwk_layer_memo, bulwark/image.h).
 *
 * An entry is the tar of one layer, keyed by its blob digest and its diff_id, put there by
 * the layer stream that read it only once both digests matched over the whole stream
 * (layer_stream.c); a later image of the run that names the same pair walks those bytes
 * instead of fetching, inflating and hashing the blob again. Entries are immutable once put
 * and live until the memo is freed, so a reader borrows them without a lock. Bounded in bytes,
 * per layer and in all: past that, nothing more is kept and images read their layers as they
 * would without the memo. When the run's size lookup announced the images' layers
 * (bwk_layer_memo_expect), only a layer announced more than once is kept: a layer of one
 * image only would never be read again. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/strv.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

typedef struct memo_entry {
	char *digest, *diff_id;
	unsigned char *tar;
	size_t len;
	uint64_t blob_size;
} memo_entry;

struct bwk_layer_memo {
	pthread_mutex_t lock;
	memo_entry *e;
	size_t n, cap;
	uint64_t bytes, max_bytes, max_layer;
	atomic_uint_fast64_t hits;
	/* the blob digests the size lookup announced, one per image that has it; sorted on
	 * first use (the announcements all come before the scans) */
	bwk_strv expect;
	bool sorted;
};

bwk_layer_memo *bwk_layer_memo_new(uint64_t max_bytes, uint64_t max_layer)
{
	bwk_layer_memo *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->max_bytes = max_bytes;
	m->max_layer = max_layer;
	atomic_init(&m->hits, 0);
	m->expect.max = SIZE_MAX; /* one per image and layer: bounded by --max-images */
	return m;
}

void bwk_layer_memo_free(bwk_layer_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].digest);
		free(m->e[i].diff_id);
		free(m->e[i].tar);
	}
	free(m->e);
	bwk_strv_clear(&m->expect);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

uint64_t bwk_layer_memo_hits(const bwk_layer_memo *m)
{
	return m ? atomic_load(&((bwk_layer_memo *)m)->hits) : 0;
}

void bwk_layer_memo_expect(bwk_layer_memo *m, const char *digest)
{
	if (!m || !digest)
		return;
	pthread_mutex_lock(&m->lock);
	if (bwk_strv_push(&m->expect, digest, NULL) == 0) /* fails only out of memory */
		m->sorted = false;
	pthread_mutex_unlock(&m->lock);
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether more than one image announced `digest`; the lock held. */
static bool shared(bwk_layer_memo *m, const char *digest)
{
	if (!digest)
		return false;
	char **v = m->expect.v;
	size_t n = m->expect.n;
	if (!m->sorted) {
		qsort(v, n, sizeof(*v), cmp_strp);
		m->sorted = true;
	}
	char *const *hit = n ? bsearch(&digest, v, n, sizeof(*v), cmp_strp) : NULL;
	if (!hit)
		return false;
	size_t i = (size_t)(hit - v);
	return (i > 0 && !strcmp(v[i - 1], digest)) || (i + 1 < n && !strcmp(v[i + 1], digest));
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* The entry of (digest, diff_id), or NULL; the lock held. */
static memo_entry *find(bwk_layer_memo *m, const char *digest, const char *diff_id)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->e[i].diff_id, diff_id) && !strcmp(m->e[i].digest, or_empty(digest)))
			return &m->e[i];
	return NULL;
}

bool layer_memo_get(bwk_layer_memo *m, const char *digest, const char *diff_id,
		    const unsigned char **tar, size_t *len, uint64_t *blob_size)
{
	if (!m || !diff_id)
		return false;
	pthread_mutex_lock(&m->lock);
	const memo_entry *e = find(m, digest, diff_id);
	if (e) {
		*tar = e->tar;
		*len = e->len;
		*blob_size = e->blob_size;
		atomic_fetch_add(&m->hits, 1);
	}
	pthread_mutex_unlock(&m->lock);
	return e != NULL;
}

bool layer_memo_wants(bwk_layer_memo *m, const char *digest, const char *diff_id, uint64_t len)
{
	if (!m || !diff_id || len > m->max_layer)
		return false;
	pthread_mutex_lock(&m->lock);
	bool room = m->bytes + len <= m->max_bytes && (!m->expect.n || shared(m, digest));
	pthread_mutex_unlock(&m->lock);
	return room;
}

void layer_memo_put(bwk_layer_memo *m, const char *digest, const char *diff_id, unsigned char *tar,
		    size_t len, uint64_t blob_size)
{
	if (!layer_memo_wants(m, digest, diff_id, len)) {
		free(tar);
		return;
	}
	pthread_mutex_lock(&m->lock);
	/* another worker may have put the same layer meanwhile, or the room gone */
	if (find(m, digest, diff_id) || m->bytes + len > m->max_bytes) {
		pthread_mutex_unlock(&m->lock);
		free(tar);
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
	}
	m->e[m->n++] = (memo_entry){.digest = xstrdup(or_empty(digest)),
				    .diff_id = xstrdup(diff_id),
				    .tar = tar,
				    .len = len,
				    .blob_size = blob_size};
	m->bytes += len;
	pthread_mutex_unlock(&m->lock);
}
