/* libFuzzer target: a layer blob as the walker sees it (decompression sniffing, gzip/zstd,
 * libarchive's tar reader, sparse maps and their accounting, path normalisation, whiteouts,
 * digests). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_IMAGE
#include "image/image_private.h"

typedef struct src {
	const uint8_t *p;
	size_t n, off;
} src;

static ssize_t pull(void *ctx, void *buf, size_t len, bwk_error **err)
{
	(void)err;
	src *s = ctx;
	size_t k = s->n - s->off < len ? s->n - s->off : len;
	/* small reads exercise buffer boundaries in the decompressors */
	if (k > 333)
		k = 333;
	memcpy(buf, s->p + s->off, k);
	s->off += k;
	return (ssize_t)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	src s = {copy, size, 0};
	img_layer layer = {.blob = (char *)"fuzz",
			   .diff_id = (char *)"sha256:"
					      "0000000000000000000000000000000000000000000000000000"
					      "000000000000"};
	bwk_image img = {.ref = (char *)"fuzz", .layers = &layer, .nlayers = 1};
	img.opts.max_total_bytes = 64 << 20;
	img.opts.max_entries = 10000;
	img.opts.verify = BWK_VERIFY_REPORT;
	img.src.dirfd = img.src.tarfd = -1;
	layer_budget budget = {0};
	layer_stream *ls = NULL;
	bwk_error *err = NULL;
	if (layer_stream_open(&img, 0, pull, &s, &ls, &err) == 0) {
		layer_stream_set_budget(ls, &budget);
		layer_entry *le = malloc(sizeof(*le));
		char buf[4096];
		bool blocks = false; /* files alternate: the scanner's reader, then unpack's */
		while (layer_stream_next(ls, le, &err) == 1) {
			char wh[BWK_MAX_PATH + 1];
			bwk_whiteout_split(le->path, wh);
			const void *b;
			size_t n;
			uint64_t off;
			if (le->e.type == BWK_ENTRY_FILE && blocks) {
				/* blocks never leave the size that was charged: unpack relies on it
				 */
				while (layer_stream_read_block(ls, &b, &n, &off, &err) == 1)
					if (off + n > le->e.size)
						abort();
			} else if (le->e.type == BWK_ENTRY_FILE) {
				while (layer_stream_read(ls, buf, sizeof(buf), &err) > 0)
					;
			}
			blocks ^= le->e.type == BWK_ENTRY_FILE;
			if (err)
				break;
		}
		free(le);
		layer_stream_close(ls);
	}
	bwk_error_free(err);
	free(copy);
	return 0;
}
