/* Exact visibility of entries across layers.
 *
 * Layers are walked in parallel, so while layer i is being read nothing is known about the
 * layers above it. Each walker records its layer's paths in a compact open-addressing set of
 * 64-bit path hashes with a few flag bits (present, non-directory, whiteout, opaque): about 16
 * bytes per entry, so a million-entry image costs ~16 MiB instead of the paths themselves.
 * After every layer was walked, (layer, path) is hidden by the lowest layer j above it that
 * has the same path (overwritten), a whiteout of it or of an ancestor, an opaque marker on an
 * ancestor, or a non-directory at an ancestor (a file or symlink replacing a directory). A
 * false "hidden" needs a 64-bit collision between two paths of the image: at 10^6 paths the
 * chance is about 10^-7 (docs/design/image.md). */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "image/image_private.h"

uint64_t bwk_path_hash(const char *path, size_t len)
{
	/* FNV-1a then a murmur3 finaliser: cheap, and well mixed in the low bits that index the
	 * table. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)path[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}

void vis_table_init(vis_table *t)
{
	memset(t, 0, sizeof(*t));
}

void vis_table_free(vis_table *t)
{
	free(t->keys);
	free(t->flags);
	memset(t, 0, sizeof(*t));
}

static void put(vis_table *t, uint64_t k, uint8_t f)
{
	size_t mask = t->cap - 1, i = (size_t)k & mask;
	while (t->keys[i] && t->keys[i] != k)
		i = (i + 1) & mask;
	if (!t->keys[i]) {
		t->keys[i] = k;
		t->flags[i] = 0;
		t->count++;
	}
	t->flags[i] |= f;
}

static void grow(vis_table *t)
{
	vis_table n = {.cap = t->cap ? t->cap * 2 : 1024};
	n.keys = xcalloc(n.cap, sizeof(uint64_t));
	n.flags = xcalloc(n.cap, 1);
	for (size_t i = 0; i < t->cap; i++)
		if (t->keys[i])
			put(&n, t->keys[i], t->flags[i]);
	vis_table_free(t);
	*t = n;
}

void vis_table_add(vis_table *t, const char *path, uint8_t flags)
{
	if ((t->count + 1) * 10 >= t->cap * 7)
		grow(t);
	put(t, bwk_path_hash(path, strlen(path)), flags);
}

uint8_t vis_table_get(const vis_table *t, const char *path, size_t len)
{
	if (!t->cap)
		return 0;
	uint64_t k = bwk_path_hash(path, len);
	size_t mask = t->cap - 1, i = (size_t)k & mask;
	while (t->keys[i]) {
		if (t->keys[i] == k)
			return t->flags[i];
		i = (i + 1) & mask;
	}
	return 0;
}

int vis_resolve(const vis_table *tables, size_t ntables, int layer, const char *path,
		bool *replaced)
{
	size_t len = strlen(path);
	*replaced = false;
	for (size_t j = layer < 0 ? 0 : (size_t)layer + 1; j < ntables; j++) {
		const vis_table *t = &tables[j];
		uint8_t f = vis_table_get(t, path, len);
		if (f & (VIS_PRESENT | VIS_WHITEOUT)) {
			*replaced = !(f & VIS_WHITEOUT);
			return (int)j;
		}
		for (size_t k = 0; k < len; k++) {
			if (path[k] != '/')
				continue;
			if (vis_table_get(t, path, k) & (VIS_WHITEOUT | VIS_OPAQUE | VIS_NONDIR))
				return (int)j;
		}
	}
	return -1;
}
