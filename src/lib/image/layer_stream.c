/* One layer as a stream of entries.
 *
 * Bytes flow: blob (pread window or pulled from the engine's stream) → sha256 of the blob →
 * our decompressor → sha256 of the tar (diff_id) and the size/ratio guards → libarchive's tar
 * reader. Nothing but fixed 256 KiB buffers is held, whatever the layer size, and every byte is
 * hashed even when the consumer skips file contents (libarchive reads skipped data through the
 * same callback). The digests are compared once the stream has been read to its end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"

/* With two cores or more (threads != 1) every layer larger than the ring (PIPE_MIN_BLOB) is
 * read in a pipeline, whatever its
 * source (a pread window, a blob store's stream such as a registry download, the engine's
 * save stream): a thread of the stream's own reads, hashes (blob and diff_id) and decompresses
 * into a ring of PIPE_SLOTS buffers while the walking thread parses the tar and runs the
 * scanners, so that receiving, hashing and inflating overlap the walk. The ring bounds the
 * memory (PIPE_SLOTS * BWK_STREAM_BUF per layer), the consumer sees the bytes in the same
 * order (same entries, same findings), and the size and ratio guards run on the consumer's
 * side with the counts of each block as it was produced. The digests are still compared only
 * once the whole blob went through: what the walk saw is judged as before.
 *
 * The producer owns the source while it runs (the pull and its context are touched by no
 * other thread until it is joined). A consumer that stops early (an error, a layer the cache
 * already holds) sets `stop`; a producer blocked in a store's pull (a stalled download) is
 * woken by the store's cancel, so that closing never waits for the network. */
#define PIPE_SLOTS 4

typedef struct pipe_slot {
	unsigned char *buf;
	size_t len;
	uint64_t tin, tout; /* the stream's counts once this block was produced */
	bool end;	    /* the last slot: the clean end, or err */
	bwk_error *err;
} pipe_slot;

typedef struct layer_pipe {
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pipe_slot slot[PIPE_SLOTS];
	unsigned rd, filled, held; /* next to take, filled from rd, held by libarchive (0/1) */
	bool stop, running, ended;
} layer_pipe;

struct layer_stream {
	bwk_image *img;
	size_t index;
	blob_window w;
	bool own_fd;
	bwk_pull_fn pull;
	void *pull_ctx;
	void *store_blob; /* a stream opened from img->src.store: closed with the layer */
	decomp *d;
	bool sniffed;
	bwk_sha256 *hb, *hd;
	bool plain; /* an uncompressed blob: its digest is its diff_id, hashed once */
	unsigned char *in, *out;
	size_t inlen, inpos;
	bool in_eof, out_eof;
	uint64_t tin, tout;	    /* produced (the producer's, once pipelined) */
	uint64_t seen_in, seen_out; /* as far as the consumer has taken them: for the guards */
	layer_pipe *pipe;	    /* NULL: produced on the walking thread as read */
	struct archive *a;
	bwk_error *cb_err;
	layer_verdict vd;
	bool finished;
	layer_budget *budget;
	uint64_t max_total, max_ratio, max_entries;
	uint64_t holes; /* bytes of this layer's sparse files that are holes (not in the stream) */
	/* the current regular file: its logical size, the end of the last data block handed
	 * out, and the rest of that block for layer_stream_read */
	uint64_t cur_size, cur_end;
	const char *blk;
	size_t blk_len;
	bool blk_eof;
	char what[96];
	/* the run's memo (bwk_layer_memo): this layer's tar read from there (no blob, no
	 * hashing), or the tar kept as it is produced, for the memo once both digests match */
	const unsigned char *memo_tar;
	size_t memo_len, memo_pos;
	bool from_memo;
	unsigned char *tee;
	size_t tee_len, tee_cap;
};

/* Keep P more tar bytes for the memo, unless the layer grew past what it keeps. */
static void tee_add(layer_stream *ls, const unsigned char *p, size_t n)
{
	if (!ls->tee)
		return;
	const img_layer *l = &ls->img->layers[ls->index];
	if (!layer_memo_wants(ls->img->opts.layers, l->digest, l->diff_id,
			      (uint64_t)ls->tee_len + n)) {
		free(ls->tee);
		ls->tee = NULL;
		return;
	}
	if (ls->tee_len + n > ls->tee_cap) {
		ls->tee_cap = ls->tee_len + n > 2 * ls->tee_cap ? ls->tee_len + n : 2 * ls->tee_cap;
		ls->tee = xrealloc(ls->tee, ls->tee_cap);
	}
	memcpy(ls->tee + ls->tee_len, p, n);
	ls->tee_len += n;
}

static int fill_input(layer_stream *ls, bwk_error **err)
{
	ssize_t r;
	if (ls->pull) {
		r = ls->pull(ls->pull_ctx, ls->in, BWK_STREAM_BUF, err);
		if (r < 0)
			return -1;
	} else {
		uint64_t left = ls->w.len - ls->w.pos;
		size_t want = left < BWK_STREAM_BUF ? (size_t)left : BWK_STREAM_BUF;
		do
			r = want ? pread(ls->w.fd, ls->in, want, (off_t)(ls->w.off + ls->w.pos))
				 : 0;
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "read failed");
		if (r == 0 && want)
			return bwk_error_set(err, BWK_E_INPUT, 0, "blob is shorter than expected");
		ls->w.pos += (uint64_t)r;
	}
	ls->inlen = (size_t)r;
	ls->inpos = 0;
	ls->in_eof = r == 0;
	if (r > 0) {
		bwk_sha256_update(ls->hb, ls->in, (size_t)r);
		ls->tin += (uint64_t)r;
	}
	if (!ls->sniffed) {
		ls->sniffed = true;
		bwk_comp comp = bwk_sniff_comp(ls->in, ls->inlen);
		ls->plain = comp == BWK_COMP_NONE;
		ls->d = decomp_new(comp);
	}
	return 0;
}

/* The size and bomb-ratio guards on P more bytes taken by the consumer. */
static int guard(layer_stream *ls, size_t p, bwk_error **err)
{
	uint64_t total = p;
	if (ls->budget)
		total = __atomic_add_fetch(&ls->budget->bytes, p, __ATOMIC_RELAXED);
	else
		total = ls->seen_out + ls->holes;
	if (total > ls->max_total)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "the image unpacks to more than %llu bytes "
				     "(the size limit)",
				     (unsigned long long)ls->max_total);
	if (ls->seen_out > BWK_RATIO_FLOOR &&
	    ls->seen_out / (ls->seen_in ? ls->seen_in : 1) > ls->max_ratio)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "decompresses to more than %llu times its "
				     "compressed size (a decompression bomb?)",
				     (unsigned long long)ls->max_ratio);
	return 0;
}

/* Produce the next run of tar bytes into OUT (BWK_STREAM_BUF): >0 bytes, 0 at the clean end,
 * -1 on error. */
static ssize_t produce_raw(layer_stream *ls, unsigned char *out, bwk_error **err)
{
	if (ls->out_eof)
		return 0;
	if (ls->from_memo) {
		size_t p = ls->memo_len - ls->memo_pos;
		if (p > BWK_STREAM_BUF)
			p = BWK_STREAM_BUF;
		if (!p) {
			ls->out_eof = true;
			return 0;
		}
		memcpy(out, ls->memo_tar + ls->memo_pos, p);
		ls->memo_pos += p;
		ls->tout += p;
		return (ssize_t)p;
	}
	for (;;) {
		if (ls->inpos == ls->inlen && !ls->in_eof && fill_input(ls, err) < 0)
			return -1;
		size_t c, p;
		if (decomp_run(ls->d, ls->in + ls->inpos, ls->inlen - ls->inpos, &c, out,
			       BWK_STREAM_BUF, &p, err) < 0)
			return -1;
		ls->inpos += c;
		if (!c && !p && ls->inpos < ls->inlen)
			/* the decoder refuses input it was given: never spin on it */
			return bwk_error_set(
			    err, BWK_E_INPUT, 0, "corrupt compressed data at byte %llu",
			    (unsigned long long)(ls->tin - (ls->inlen - ls->inpos)));
		if (p) {
			if (!ls->plain)
				bwk_sha256_update(ls->hd, out, p);
			tee_add(ls, out, p);
			ls->tout += p;
			return (ssize_t)p;
		}
		if (ls->in_eof && ls->inpos == ls->inlen) {
			if (!decomp_at_boundary(ls->d))
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "unexpected end of compressed data (truncated "
						     "layer?)");
			ls->out_eof = true;
			return 0;
		}
	}
}

/* Produced here, on the walking thread: the next run of tar bytes in ls->out. */
static ssize_t produce(layer_stream *ls, bwk_error **err)
{
	ssize_t r = produce_raw(ls, ls->out, err);
	if (r <= 0)
		return r;
	ls->seen_in = ls->tin;
	ls->seen_out = ls->tout;
	return guard(ls, (size_t)r, err) < 0 ? -1 : r;
}

/* The rest of the blob after the compressed stream: nothing but its end. */
static int check_trailing(layer_stream *ls, bwk_error **err)
{
	while (!ls->in_eof || ls->inpos < ls->inlen) {
		if (ls->inpos < ls->inlen)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "data after the end of the compressed stream");
		if (fill_input(ls, err) < 0)
			return -1;
	}
	return 0;
}

static void *producer_main(void *arg)
{
	layer_stream *ls = arg;
	layer_pipe *pp = ls->pipe;
	for (;;) {
		pthread_mutex_lock(&pp->lock);
		while (pp->filled + pp->held == PIPE_SLOTS && !pp->stop)
			pthread_cond_wait(&pp->cv, &pp->lock);
		bool stop = pp->stop;
		pipe_slot *s = &pp->slot[(pp->rd + pp->filled) % PIPE_SLOTS];
		pthread_mutex_unlock(&pp->lock);
		if (stop)
			break;
		/* the slot is this thread's until `filled` counts it */
		bwk_error *e = NULL;
		ssize_t r = produce_raw(ls, s->buf, &e);
		if (r == 0 && check_trailing(ls, &e) < 0)
			r = -1;
		if (r < 0 && !e)
			bwk_error_set(&e, BWK_E_INTERNAL, 0, "layer read failed");
		s->len = r > 0 ? (size_t)r : 0;
		s->tin = ls->tin;
		s->tout = ls->tout;
		s->end = r <= 0;
		s->err = r < 0 ? e : NULL;
		pthread_mutex_lock(&pp->lock);
		pp->filled++;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->lock);
		if (r <= 0)
			break;
	}
	return NULL;
}

/* A blob of at most this many bytes (the ring's size) is read on the walking thread: it is
 * read and inflated in a few milliseconds, about what starting the thread and touching the
 * ring's fresh megabyte cost, so the pipeline would overlap next to nothing with the walk and
 * add CPU time — for the layers of small images above all, such as the many images of
 * `audit registry --scan-all`, which already keep every core busy with images at once. */
#define PIPE_MIN_BLOB ((uint64_t)PIPE_SLOTS * BWK_STREAM_BUF)

static bool pipe_wanted(const layer_stream *ls)
{
	/* the blob's size: the pread window's, else the manifest's (0: not known) */
	uint64_t size = ls->pull ? ls->img->layers[ls->index].size : ls->w.len;
	if (size && size <= PIPE_MIN_BLOB)
		return false;
	unsigned n = ls->img->opts.threads;
	if (!n) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (unsigned)c : 1;
	}
	return n > 1;
}

static void pipe_start(layer_stream *ls)
{
	layer_pipe *pp = xcalloc(1, sizeof(*pp));
	pthread_mutex_init(&pp->lock, NULL);
	pthread_cond_init(&pp->cv, NULL);
	for (unsigned i = 0; i < PIPE_SLOTS; i++)
		pp->slot[i].buf = xmalloc(BWK_STREAM_BUF);
	ls->pipe = pp;
	if (pthread_create(&pp->th, NULL, producer_main, ls) == 0) {
		pp->running = true;
		return;
	}
	for (unsigned i = 0; i < PIPE_SLOTS; i++)
		free(pp->slot[i].buf);
	pthread_cond_destroy(&pp->cv);
	pthread_mutex_destroy(&pp->lock);
	free(pp);
	ls->pipe = NULL; /* no thread: read on this one */
}

static void pipe_stop(layer_stream *ls)
{
	layer_pipe *pp = ls->pipe;
	if (!pp)
		return;
	if (pp->running) {
		pthread_mutex_lock(&pp->lock);
		pp->stop = true;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->lock);
		const bwk_blob_store *st = ls->img->src.store;
		if (ls->store_blob && st->cancel)
			st->cancel(ls->store_blob); /* a pull blocked on the network returns */
		pthread_join(pp->th, NULL);
	}
	for (unsigned i = 0; i < PIPE_SLOTS; i++) {
		free(pp->slot[i].buf);
		bwk_error_free(pp->slot[i].err);
	}
	pthread_cond_destroy(&pp->cv);
	pthread_mutex_destroy(&pp->lock);
	free(pp);
	ls->pipe = NULL;
}

/* The consumer's side: the next block (the one before goes back to the producer), its bytes
 * guarded as produce() does. >0 bytes in *buf, 0 at the end, -1 on error. */
static ssize_t pipe_take(layer_stream *ls, const void **buf, bwk_error **err)
{
	layer_pipe *pp = ls->pipe;
	if (pp->ended)
		return 0; /* asked again after the end (or its error): the end, as produce() says */
	pthread_mutex_lock(&pp->lock);
	pp->held = 0;
	pthread_cond_broadcast(&pp->cv);
	while (!pp->filled)
		pthread_cond_wait(&pp->cv, &pp->lock);
	pipe_slot *s = &pp->slot[pp->rd];
	pp->rd = (pp->rd + 1) % PIPE_SLOTS;
	pp->filled--;
	pp->held = 1;
	pthread_mutex_unlock(&pp->lock);
	if (s->end) {
		pp->ended = true;
		pthread_join(pp->th, NULL); /* it has nothing left to do */
		pp->running = false;
		if (s->err) {
			*err = s->err;
			s->err = NULL;
			return -1;
		}
		return 0;
	}
	ls->seen_in = s->tin;
	ls->seen_out = s->tout;
	if (guard(ls, s->len, err) < 0)
		return -1;
	*buf = s->buf;
	return (ssize_t)s->len;
}

static la_ssize_t cb_read(struct archive *a, void *ud, const void **buf)
{
	layer_stream *ls = ud;
	if (!ls->pipe && !ls->from_memo && !ls->out_eof && !ls->tin && pipe_wanted(ls))
		pipe_start(ls);
	ssize_t r;
	if (ls->pipe) {
		r = pipe_take(ls, buf, &ls->cb_err);
	} else {
		r = produce(ls, &ls->cb_err);
		*buf = ls->out;
	}
	if (r < 0) {
		archive_set_error(a, EIO, "bulwark read error");
		return -1;
	}
	return r;
}

int layer_stream_open(bwk_image *img, size_t index, bwk_pull_fn pull, void *pull_ctx,
		      layer_stream **out, bwk_error **err)
{
	const img_layer *l = &img->layers[index];
	layer_stream *ls = xcalloc(1, sizeof(*ls));
	ls->img = img;
	ls->index = index;
	const char *dg = l->digest ? l->digest : l->diff_id;
	snprintf(ls->what, sizeof(ls->what), "layer %zu (%.19s…)", index + 1, dg ? dg : "?");
	ls->max_total =
	    img->opts.max_total_bytes ? img->opts.max_total_bytes : BWK_DEFAULT_MAX_TOTAL;
	ls->max_ratio = img->opts.max_ratio ? img->opts.max_ratio : BWK_DEFAULT_MAX_RATIO;
	ls->max_entries = img->opts.max_entries ? img->opts.max_entries : BWK_DEFAULT_MAX_ENTRIES;
	const bwk_blob_store *st = img->src.store;
	bwk_layer_memo *memo = img->opts.layers;
	uint64_t blob_size = 0;
	if (!pull &&
	    layer_memo_get(memo, l->digest, l->diff_id, &ls->memo_tar, &ls->memo_len, &blob_size)) {
		/* verified by an image of this run before: the same bytes, from memory */
		ls->from_memo = true;
		ls->sniffed = true;
		ls->in_eof = true;
		ls->tin = blob_size;
	} else if (pull) {
		ls->pull = pull;
		ls->pull_ctx = pull_ctx;
	} else if (st) {
		/* the digest is what the store is asked for and what the bytes are checked
		 * against below: a store cannot hand over another blob unnoticed */
		if (!l->digest ||
		    st->open_blob(st->ctx, l->digest, l->size, &ls->store_blob, err) < 0) {
			free(ls);
			if (!l->digest)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "layer %zu: no digest to fetch it by",
						     index + 1);
			return bwk_error_wrap(err, "layer %zu", index + 1);
		}
		ls->pull = st->pull;
		ls->pull_ctx = ls->store_blob;
	} else if (blob_src_open(&img->src, l->blob, &ls->w, err) < 0) {
		free(ls);
		return bwk_error_wrap(err, "layer %zu", index + 1);
	} else {
		ls->own_fd = img->src.tarfd < 0;
		posix_fadvise(ls->w.fd, (off_t)ls->w.off, (off_t)ls->w.len, POSIX_FADV_SEQUENTIAL);
	}
	if (!ls->from_memo && !pull &&
	    layer_memo_wants(memo, l->digest, l->diff_id, st ? l->size : ls->w.len))
		ls->tee = xmalloc(1); /* grown by tee_add */
	ls->hb = bwk_sha256_new();
	ls->hd = bwk_sha256_new();
	ls->in = xmalloc(BWK_STREAM_BUF);
	ls->out = xmalloc(BWK_STREAM_BUF);
	ls->a = archive_read_new();
	if (!ls->a)
		abort();
	archive_read_support_format_tar(ls->a);
	archive_read_support_format_empty(ls->a);
	if (archive_read_open2(ls->a, ls, NULL, cb_read, NULL, NULL) != ARCHIVE_OK) {
		bwk_error **e = err;
		if (ls->cb_err) {
			*e = ls->cb_err;
			ls->cb_err = NULL;
		} else {
			bwk_error_set(e, BWK_E_INPUT, 0, "not a tar archive: %s",
				      archive_error_string(ls->a));
		}
		bwk_error_wrap(err, "%s", ls->what);
		layer_stream_close(ls);
		return -1;
	}
	*out = ls;
	return 0;
}

void layer_stream_set_budget(layer_stream *ls, layer_budget *b)
{
	ls->budget = b;
}

void layer_stream_close(layer_stream *ls)
{
	if (!ls)
		return;
	if (ls->a)
		archive_read_free(ls->a);
	pipe_stop(ls); /* before what its thread uses is freed */
	decomp_free(ls->d);
	bwk_sha256_free(ls->hb);
	bwk_sha256_free(ls->hd);
	free(ls->in);
	free(ls->out);
	free(ls->tee);
	if (ls->own_fd)
		close(ls->w.fd);
	if (ls->store_blob)
		ls->img->src.store->close_blob(ls->store_blob);
	bwk_error_free(ls->cb_err);
	free(ls);
}

static int archive_fail(layer_stream *ls, bwk_error **err, const char *doing)
{
	if (ls->cb_err) {
		*err = ls->cb_err;
		ls->cb_err = NULL;
	} else {
		const char *m = archive_error_string(ls->a);
		bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s", doing, m ? m : "malformed tar");
	}
	return bwk_error_wrap(err, "%s", ls->what);
}

static int finish(layer_stream *ls, bwk_error **err)
{
	/* Hash what libarchive did not need (padding after the end-of-archive blocks): the
	 * digest covers the whole blob. */
	if (ls->pipe) {
		/* the producer checks what follows the compressed stream itself */
		while (!ls->pipe->ended) {
			const void *b;
			if (pipe_take(ls, &b, err) < 0)
				return bwk_error_wrap(err, "%s", ls->what);
		}
	} else {
		for (;;) {
			ssize_t r = produce(ls, err);
			if (r < 0)
				return bwk_error_wrap(err, "%s", ls->what);
			if (r == 0)
				break;
		}
		/* a blob with bytes after the compressed stream */
		if (check_trailing(ls, err) < 0)
			return bwk_error_wrap(err, "%s", ls->what);
	}
	char hex[65];
	const img_layer *l = &ls->img->layers[ls->index];
	ls->vd.bytes_in = ls->tin;
	ls->vd.bytes_out = ls->tout;
	ls->finished = true;
	if (ls->from_memo) {
		/* both digests matched these bytes when they were kept */
		snprintf(ls->vd.blob_actual, sizeof(ls->vd.blob_actual), "%s",
			 l->digest ? l->digest : "");
		snprintf(ls->vd.diff_actual, sizeof(ls->vd.diff_actual), "%s", l->diff_id);
		ls->vd.blob_ok = ls->vd.diff_ok = true;
		return 0;
	}
	bwk_sha256_final_hex(ls->hb, hex);
	snprintf(ls->vd.blob_actual, sizeof(ls->vd.blob_actual), "sha256:%s", hex);
	if (!ls->plain)
		bwk_sha256_final_hex(ls->hd, hex);
	snprintf(ls->vd.diff_actual, sizeof(ls->vd.diff_actual), "sha256:%s", hex);
	ls->vd.blob_ok = !l->digest || !strcmp(l->digest, ls->vd.blob_actual);
	ls->vd.diff_ok = !l->diff_id || !strcmp(l->diff_id, ls->vd.diff_actual);
	if (ls->tee && ls->vd.blob_ok && ls->vd.diff_ok && l->diff_id) {
		layer_memo_put(ls->img->opts.layers, l->digest, l->diff_id, ls->tee, ls->tee_len,
			       ls->tin);
		ls->tee = NULL;
	}
	return 0;
}

static bwk_entry_type type_of(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return BWK_ENTRY_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFDIR:
		return BWK_ENTRY_DIR;
	case AE_IFLNK:
		return BWK_ENTRY_SYMLINK;
	case AE_IFCHR:
		return BWK_ENTRY_CHAR;
	case AE_IFBLK:
		return BWK_ENTRY_BLOCK;
	case AE_IFIFO:
		return BWK_ENTRY_FIFO;
	case AE_IFSOCK:
		return BWK_ENTRY_SOCKET;
	default:
		return BWK_ENTRY_FILE;
	}
}

/* Count what a regular file expands to, before any of it is written. A sparse member (GNU or
 * pax sparse) stores only its data runs: a 10 KiB layer can hold a file of 1 TiB of holes, so
 * counting the tar stream alone would let it past --max-size and the bomb ratio. Its holes are
 * charged to the same budget as the stream bytes, and the check covers the whole entry
 * (data not streamed yet included) so that nothing of a refused entry reaches the disk. */
static int charge_entry(layer_stream *ls, struct archive_entry *ae, const char *path, uint64_t size,
			bwk_error **err)
{
	uint64_t data = size;
	if (archive_entry_sparse_reset(ae) > 0) {
		la_int64_t o, l;
		data = 0;
		while (archive_entry_sparse_next(ae, &o, &l) == ARCHIVE_OK)
			if (l > 0 && (uint64_t)l <= size - data)
				data += (uint64_t)l;
			else if (l > 0)
				data = size; /* overlapping runs: no holes left to count */
	}
	uint64_t holes = size - data;
	ls->holes += holes;
	uint64_t so_far = ls->budget
			      ? __atomic_add_fetch(&ls->budget->bytes, holes, __ATOMIC_RELAXED)
			      : ls->seen_out + ls->holes;
	if (so_far > ls->max_total || data > ls->max_total - so_far)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: '%s' expands to %llu bytes%s: the image unpacks to more "
				     "than %llu bytes (the size limit)",
				     ls->what, path, (unsigned long long)size,
				     holes ? " (a sparse file)" : "",
				     (unsigned long long)ls->max_total);
	if (!holes)
		return 0; /* stream bytes: produce() guards their ratio as they come */
	/* Holes cost no input at all: judge them against the whole compressed layer when its
	 * size is known (a pread window), so that a legitimate sparse file early in a big layer
	 * is not taken for a bomb. */
	uint64_t out = ls->seen_out + ls->holes;
	uint64_t in = !ls->pull && ls->w.len > ls->seen_in ? ls->w.len : ls->seen_in;
	if (out > BWK_RATIO_FLOOR && out / (in ? in : 1) > ls->max_ratio)
		return bwk_error_set(
		    err, BWK_E_LIMIT, 0,
		    "%s: '%s' is a sparse file of %llu bytes: the layer expands to "
		    "more than %llu times its compressed size (a decompression "
		    "bomb?)",
		    ls->what, path, (unsigned long long)size, (unsigned long long)ls->max_ratio);
	return 0;
}

int layer_stream_next(layer_stream *ls, layer_entry *le, bwk_error **err)
{
	if (ls->finished)
		return 0;
	for (;;) {
		struct archive_entry *ae;
		int r = archive_read_next_header(ls->a, &ae);
		if (r == ARCHIVE_EOF)
			return finish(ls, err) < 0 ? -1 : 0;
		if (r < ARCHIVE_WARN)
			return archive_fail(ls, err, "reading the tar");
		if (ls->budget) {
			uint64_t n = __atomic_add_fetch(&ls->budget->entries, 1, __ATOMIC_RELAXED);
			if (n > ls->max_entries)
				return bwk_error_set(err, BWK_E_LIMIT, 0,
						     "%s: the image has more than %llu entries "
						     "(the entry limit)",
						     ls->what, (unsigned long long)ls->max_entries);
		}
		const char *name = archive_entry_pathname(ae);
		if (!name)
			return bwk_error_set(err, BWK_E_INPUT, 0, "%s: an entry without a name",
					     ls->what);
		memset(&le->e, 0, sizeof(le->e));
		le->dotdot = le->hostile_whiteout = false;
		le->link[0] = '\0';
		bwk_path_status ps = strlen(name) > BWK_MAX_PATH
					 ? BWK_PATH_TOOLONG
					 : bwk_path_normalise(name, le->path);
		if (ps == BWK_PATH_TOOLONG)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s: entry path longer than %d bytes ('%.60s…')",
					     ls->what, BWK_MAX_PATH, name);
		if (ps == BWK_PATH_ROOT)
			continue; /* "./": the root directory itself */
		le->dotdot = ps == BWK_PATH_DOTDOT;
		bwk_entry *e = &le->e;
		e->type = type_of(ae);
		char wh[BWK_MAX_PATH + 1];
		int w = bwk_whiteout_split(le->path, wh);
		if (w == -2) {
			le->hostile_whiteout = true;
		} else if (w >= 0) {
			e->type = (bwk_entry_type)w;
			memcpy(le->path, wh, strlen(wh) + 1);
			if (!le->path[0] && w == BWK_ENTRY_WHITEOUT)
				le->hostile_whiteout = true;
		}
		e->path = le->path;
		e->mode = (uint32_t)archive_entry_mode(ae) & 07777;
		e->uid = (uint32_t)archive_entry_uid(ae);
		e->gid = (uint32_t)archive_entry_gid(ae);
		e->mtime = archive_entry_mtime(ae);
		e->size = e->type == BWK_ENTRY_FILE ? (uint64_t)archive_entry_size(ae) : 0;
		e->layer_index = (int)ls->index;
		e->layer_digest = ls->img->layers[ls->index].digest
				      ? ls->img->layers[ls->index].digest
				      : ls->img->layers[ls->index].diff_id;
		e->visibility = BWK_VIS_UNKNOWN;
		e->hidden_by = -1;
		if (e->type == BWK_ENTRY_SYMLINK) {
			const char *t = archive_entry_symlink(ae);
			if (!t || strlen(t) > BWK_MAX_PATH)
				return bwk_error_set(err, BWK_E_LIMIT, 0,
						     "%s: %s: symlink target missing or longer "
						     "than %d bytes",
						     ls->what, le->path, BWK_MAX_PATH);
			memcpy(le->link, t, strlen(t) + 1);
			e->link = le->link;
		} else if (e->type == BWK_ENTRY_HARDLINK) {
			const char *t = archive_entry_hardlink(ae);
			bwk_path_status ls2 = strlen(t) > BWK_MAX_PATH
						  ? BWK_PATH_TOOLONG
						  : bwk_path_normalise(t, le->link);
			if (ls2 == BWK_PATH_TOOLONG || ls2 == BWK_PATH_ROOT)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "%s: %s: bad hardlink target '%.100s'",
						     ls->what, le->path, t);
			if (ls2 == BWK_PATH_DOTDOT)
				le->dotdot = true;
			e->link = le->link;
		}
		le->devmajor = (uint32_t)archive_entry_rdevmajor(ae);
		le->devminor = (uint32_t)archive_entry_rdevminor(ae);
		ls->cur_size = e->size;
		ls->cur_end = 0;
		ls->blk = NULL;
		ls->blk_len = 0;
		ls->blk_eof = false;
		if (e->type == BWK_ENTRY_FILE && charge_entry(ls, ae, le->path, e->size, err) < 0)
			return -1;
		return 1;
	}
}

int layer_stream_read_block(layer_stream *ls, const void **buf, size_t *len, uint64_t *off,
			    bwk_error **err)
{
	const void *b;
	size_t n;
	la_int64_t o;
	int r = archive_read_data_block(ls->a, &b, &n, &o);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN)
		return archive_fail(ls, err, "reading file data");
	/* A hostile sparse map may put data before what was already written or past the size
	 * the entry declared (and was charged for): neither is a file. */
	if (o < 0 || (uint64_t)o < ls->cur_end || (uint64_t)o > ls->cur_size ||
	    n > ls->cur_size - (uint64_t)o)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: malformed sparse map (data at offset %lld, outside the "
				     "%llu-byte file or out of order)",
				     ls->what, (long long)o, (unsigned long long)ls->cur_size);
	ls->cur_end = (uint64_t)o + n;
	*buf = b;
	*len = n;
	*off = (uint64_t)o;
	return 1;
}

ssize_t layer_stream_read(layer_stream *ls, void *buf, size_t len, bwk_error **err)
{
	while (len) {
		if (ls->blk_len) {
			size_t k = ls->blk_len < len ? ls->blk_len : len;
			memcpy(buf, ls->blk, k);
			ls->blk += k;
			ls->blk_len -= k;
			return (ssize_t)k;
		}
		if (ls->blk_eof)
			return 0;
		uint64_t prev = ls->cur_end, off = 0;
		const void *b = NULL;
		size_t n = 0;
		int r = layer_stream_read_block(ls, &b, &n, &off, err);
		if (r < 0)
			return -1;
		if (r == 1) {
			ls->blk = b;
			ls->blk_len = n;
		} else {
			ls->blk_eof = true;
			off = ls->cur_size; /* a trailing hole */
			ls->cur_end = off;
		}
		if (off > prev) {
			/* A hole reads as one NUL byte: the same tokens, lines and binary-ness as
			 * the zeros it stands for, without making a reader wade through them. */
			*(char *)buf = '\0';
			return 1;
		}
	}
	return 0;
}

const layer_verdict *layer_stream_verdict(const layer_stream *ls)
{
	return &ls->vd;
}

int layer_check_verdict(bwk_image *img, size_t index, const layer_verdict *vd, const bwk_visitor *v,
			bwk_error **err)
{
	const img_layer *l = &img->layers[index];
	struct {
		bool ok;
		const char *what, *expected, *actual;
	} checks[] = {{vd->blob_ok, "blob", l->digest, vd->blob_actual},
		      {vd->diff_ok, "uncompressed (diff_id)", l->diff_id, vd->diff_actual}};
	for (size_t i = 0; i < 2; i++) {
		if (checks[i].ok)
			continue;
		if (img->opts.verify == BWK_VERIFY_STRICT)
			return bwk_error_set(
			    err, BWK_E_INTEGRITY, 0,
			    "layer %zu (%s): %s digest mismatch (expected %s, got %s): the "
			    "archive is corrupt or was tampered with",
			    index + 1, l->blob ? l->blob : "stream", checks[i].what,
			    checks[i].expected, checks[i].actual);
		if (v && v->integrity) {
			char what[160];
			snprintf(what, sizeof(what), "layer %zu %s", index + 1,
				 i == 0 ? "blob" : "diff_id");
			if (v->integrity(v->ctx, (int)index, what, checks[i].expected,
					 checks[i].actual, err) < 0)
				return -1;
		}
	}
	return 0;
}
