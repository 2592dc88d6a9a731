/* One read of a file's bytes for the checks that need them whole (account files for the config
 * rules, at most 4 MiB): the bytes are read once into a buffer of the walking thread, handed to
 * those checks, and replayed to what follows (YARA and the secret scan stream), so a layer is
 * still decompressed once. Only the first `max` bytes are buffered; the rest of a larger file
 * streams through from the layer after the replayed part. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "scan/scan_private.h"

#define MAX_WORKERS 256
#define FIRST_CAP   (256u << 10)

struct bwk_content {
	struct {
		char *buf;
		size_t cap;
	} w[MAX_WORKERS];
};

bwk_content *bwk_content_new(void)
{
	return xcalloc(1, sizeof(bwk_content));
}

void bwk_content_free(bwk_content *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < MAX_WORKERS; i++)
		free(c->w[i].buf);
	free(c);
}

static ssize_t replay_read(void *rctx, void *buf, size_t len, bwk_error **err)
{
	bwk_tee *t = rctx;
	if (t->off < t->len) {
		size_t k = t->len - t->off < len ? t->len - t->off : len;
		memcpy(buf, t->buf + t->off, k);
		t->off += k;
		return (ssize_t)k;
	}
	return t->partial ? bwk_entry_read(t->under, buf, len, err) : 0;
}

int bwk_content_read(bwk_content *c, const bwk_entry *e, uint64_t max, bwk_tee *tee,
		     bwk_error **err)
{
	if (e->worker >= MAX_WORKERS)
		return bwk_error_set(err, BWK_E_INTERNAL, 0, "worker index %u out of range",
				     e->worker);
	size_t want = e->size < max ? (size_t)e->size : (size_t)max;
	/* each slot is only ever touched by the thread whose index it is */
	if (c->w[e->worker].cap < want || !c->w[e->worker].buf) {
		size_t cap = c->w[e->worker].cap ? c->w[e->worker].cap : FIRST_CAP;
		while (cap < want)
			cap *= 2;
		free(c->w[e->worker].buf);
		c->w[e->worker].buf = xmalloc(cap);
		c->w[e->worker].cap = cap;
	}
	char *buf = c->w[e->worker].buf;
	size_t got = 0;
	while (got < want) {
		ssize_t r = bwk_entry_read(e, buf + got, want - got, err);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*tee = (bwk_tee){
	    .e = *e, .under = e, .buf = buf, .len = got, .partial = got == want && e->size > got};
	tee->e.read = replay_read;
	tee->e.rctx = tee;
	return 0;
}
