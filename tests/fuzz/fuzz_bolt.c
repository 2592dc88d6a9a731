/* libFuzzer target: the bbolt reader (containerd's meta.db): meta pages, branch, leaf,
 * overflow and inline pages, walked the way the containerd source walks them and every key
 * listed, nested buckets included (bounded). Seeds: tests/fixtures/gen_bolt.py seeds DIR. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BWK_IN_IMAGE
#include "image/bolt.h"

typedef struct walk {
	bolt_db *db;
	const bolt_bucket *b;
	unsigned depth;
	unsigned budget;
} walk;

static int each_cb(void *ctx, const unsigned char *key, size_t klen, bool is_bucket);

static void walk_bucket(bolt_db *db, const bolt_bucket *b, unsigned depth, unsigned *budget)
{
	if (depth > 6 || *budget == 0)
		return;
	walk w = {.db = db, .b = b, .depth = depth, .budget = *budget};
	bwk_error *err = NULL;
	(void)bolt_each(db, b, 64, each_cb, &w, &err);
	bwk_error_free(err);
	*budget = w.budget;
}

static int each_cb(void *ctx, const unsigned char *key, size_t klen, bool is_bucket)
{
	walk *w = ctx;
	if (w->budget == 0)
		return 1;
	w->budget--;
	char *k = strndup((const char *)key, klen);
	if (!k)
		return 1;
	bwk_error *err = NULL;
	if (is_bucket) {
		bolt_bucket sub;
		if (bolt_bucket_get(w->db, w->b, k, &sub, &err) > 0) {
			walk_bucket(w->db, &sub, w->depth + 1, &w->budget);
			bolt_bucket_free(&sub);
		}
	} else {
		char *v = NULL;
		size_t vl = 0;
		bool isb = false;
		if (bolt_get(w->db, w->b, key, klen, &v, &vl, &isb, &err) > 0)
			free(v);
	}
	bwk_error_free(err);
	free(k);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	bolt_db *db = NULL;
	bwk_error *err = NULL;
	if (bolt_open(fd, "fuzz", &db, &err) == 0) {
		bolt_bucket root;
		bolt_root(db, &root);
		unsigned budget = 2000;
		walk_bucket(db, &root, 0, &budget);
		(void)bolt_snapshot_current(db);
		bolt_close(db);
	}
	bwk_error_free(err);
	close(fd);
	return 0;
}
