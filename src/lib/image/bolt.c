/* A read-only bbolt reader (bolt.h): meta pages, branch and leaf pages, overflow pages and
 * inline buckets, as bbolt lays them out (page.go, meta.go: format version 2, little-endian as
 * on every platform containerd ships for). Nothing here trusts the file: a page reference
 * outside the file's high-water mark, a page whose header names another page, an element that
 * points past its page, a loop in the tree (depth and read counts) are errors, never reads
 * out of bounds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/bolt.h"

#define PAGE_HDR     16u
#define ELEM_SIZE    16u
#define FLAG_BRANCH  0x01u
#define FLAG_LEAF    0x02u
#define FLAG_META    0x04u
#define LEAF_BUCKET  0x01u
#define BOLT_MAGIC   0xED0CDAEDu
#define BOLT_VERSION 2u
#define META_SIZE    64u /* magic … txid, checksum: the checksum covers the first 56 bytes */

struct bolt_db {
	int fd;
	const char *what;
	uint32_t psize;
	uint64_t root, hwm, txid; /* root bucket page, high-water mark (first unused page) */
	unsigned reads;
};

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

uint64_t bolt_fnv64a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void bolt_bucket_free(bolt_bucket *b)
{
	free(b->page);
	memset(b, 0, sizeof(*b));
}

typedef struct meta {
	uint32_t psize;
	uint64_t root, hwm, txid;
} meta;

/* The meta page at `off`, if valid: page header of a meta page, magic, version, checksum,
 * sane page size and tree references. */
static bool meta_read(int fd, uint64_t off, uint64_t pgid, meta *m)
{
	unsigned char b[PAGE_HDR + META_SIZE];
	if (pread(fd, b, sizeof(b), (off_t)off) != (ssize_t)sizeof(b))
		return false;
	const unsigned char *d = b + PAGE_HDR;
	if (le64(b) != pgid || !(le16(b + 8) & FLAG_META) || le32(d) != BOLT_MAGIC ||
	    le32(d + 4) != BOLT_VERSION || bolt_fnv64a(d, 56) != le64(d + 56))
		return false;
	m->psize = le32(d + 8);
	m->root = le64(d + 16);
	m->hwm = le64(d + 40);
	m->txid = le64(d + 48);
	return m->psize >= 512 && m->psize <= BOLT_MAX_PAGE && !(m->psize & (m->psize - 1)) &&
	       m->root >= 2 && m->root < m->hwm && m->hwm <= UINT64_MAX / m->psize;
}

/* Both meta pages; the valid one with the higher txid. Meta 0 gives the page size; when it
 * is torn, meta 1 is looked for at the page sizes bbolt uses. */
static bool meta_pick(int fd, meta *out)
{
	meta m0, m1;
	bool ok0 = meta_read(fd, 0, 0, &m0), ok1 = false;
	if (ok0) {
		ok1 = meta_read(fd, m0.psize, 1, &m1) && m1.psize == m0.psize;
	} else {
		for (uint32_t ps = 4096; ps <= 65536 && !ok1; ps <<= 1)
			ok1 = meta_read(fd, ps, 1, &m1) && m1.psize == ps;
	}
	if (!ok0 && !ok1)
		return false;
	*out = ok0 && (!ok1 || m0.txid >= m1.txid) ? m0 : m1;
	return true;
}

int bolt_open(int fd, const char *what, bolt_db **out, bwk_error **err)
{
	meta m;
	if (!meta_pick(fd, &m))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not a bbolt database (no valid meta page: wrong magic, "
				     "version or checksum)",
				     what);
	bolt_db *db = xcalloc(1, sizeof(*db));
	*db = (bolt_db){
	    .fd = fd, .what = what, .psize = m.psize, .root = m.root, .hwm = m.hwm, .txid = m.txid};
	*out = db;
	return 0;
}

void bolt_close(bolt_db *db)
{
	free(db);
}

uint64_t bolt_txid(const bolt_db *db)
{
	return db->txid;
}

void bolt_root(const bolt_db *db, bolt_bucket *out)
{
	*out = (bolt_bucket){.root = db->root};
}

bool bolt_snapshot_current(const bolt_db *db)
{
	meta m;
	return meta_pick(db->fd, &m) && m.txid == db->txid && m.root == db->root &&
	       m.psize == db->psize;
}

static int corrupt(const bolt_db *db, uint64_t pgid, const char *why, bwk_error **err)
{
	return bwk_error_set(err, BWK_E_INPUT, 0, "%s: page %llu: %s (the database is corrupt)",
			     db->what, (unsigned long long)pgid, why);
}

/* Page `pgid` with its overflow pages, malloc'd: its header must name it, it must lie below
 * the high-water mark, and be a branch or a leaf. */
static int page_read(bolt_db *db, uint64_t pgid, unsigned char **buf, size_t *len, bwk_error **err)
{
	if (pgid < 2 || pgid >= db->hwm)
		return corrupt(db, pgid, "reference outside the file's pages", err);
	if (++db->reads > BOLT_MAX_READS)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: more than %u page reads (a loop in the tree?)", db->what,
				     BOLT_MAX_READS);
	unsigned char h[PAGE_HDR];
	uint64_t off = pgid * db->psize;
	ssize_t n = pread(db->fd, h, sizeof(h), (off_t)off);
	if (n < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: read failed", db->what);
	if (n != (ssize_t)sizeof(h))
		return corrupt(db, pgid, "beyond the end of the file", err);
	uint32_t ovf = le32(h + 12);
	uint16_t fl = le16(h + 8);
	if (le64(h) != pgid)
		return corrupt(db, pgid, "its header names another page", err);
	if (!(fl & (FLAG_BRANCH | FLAG_LEAF)))
		return corrupt(db, pgid, "neither a branch nor a leaf", err);
	if ((uint64_t)ovf >= db->hwm - pgid || ((uint64_t)ovf + 1) * db->psize > BOLT_MAX_SPAN)
		return corrupt(db, pgid, "overflow beyond the file or the size limit", err);
	size_t span = ((size_t)ovf + 1) * db->psize;
	unsigned char *p = xmalloc(span);
	n = pread(db->fd, p, span, (off_t)off);
	if (n != (ssize_t)span || le64(p) != pgid) {
		free(p);
		return corrupt(db, pgid, "short or changed while read", err);
	}
	*buf = p;
	*len = span;
	return 0;
}

/* A view of one node: a page (heap or inline) and its checked element table. */
typedef struct node {
	const unsigned char *p;
	size_t len;
	uint64_t pgid;
	uint16_t count;
	bool leaf;
} node;

static int node_init(const bolt_db *db, const unsigned char *p, size_t len, uint64_t pgid, node *nd,
		     bwk_error **err)
{
	if (len < PAGE_HDR)
		return corrupt(db, pgid, "shorter than a page header", err);
	uint16_t fl = le16(p + 8);
	nd->p = p;
	nd->len = len;
	nd->pgid = pgid;
	nd->count = le16(p + 10);
	nd->leaf = (fl & FLAG_LEAF) != 0;
	if (!(fl & (FLAG_BRANCH | FLAG_LEAF)) || (fl & FLAG_BRANCH && fl & FLAG_LEAF))
		return corrupt(db, pgid, "neither a branch nor a leaf", err);
	if (PAGE_HDR + (size_t)nd->count * ELEM_SIZE > len)
		return corrupt(db, pgid, "more elements than fit", err);
	if (!nd->leaf && nd->count == 0)
		return corrupt(db, pgid, "an empty branch", err);
	return 0;
}

/* Element i: its key, and (leaves) value and flags, or (branches) child page. */
typedef struct elem {
	const unsigned char *key, *val;
	size_t klen, vlen;
	uint32_t flags;
	uint64_t child;
} elem;

static int node_elem(const bolt_db *db, const node *nd, size_t i, elem *e, bwk_error **err)
{
	size_t eo = PAGE_HDR + i * ELEM_SIZE;
	const unsigned char *ep = nd->p + eo;
	uint64_t pos, klen, vlen = 0;
	if (nd->leaf) {
		e->flags = le32(ep);
		pos = le32(ep + 4);
		klen = le32(ep + 8);
		vlen = le32(ep + 12);
		e->child = 0;
	} else {
		e->flags = 0;
		pos = le32(ep);
		klen = le32(ep + 4);
		e->child = le64(ep + 8);
	}
	if (eo + pos + klen + vlen > nd->len)
		return corrupt(db, nd->pgid, "an element points past the page", err);
	e->key = ep + pos;
	e->klen = (size_t)klen;
	e->val = e->key + klen;
	e->vlen = (size_t)vlen;
	return 0;
}

static int keycmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : alen < blen ? -1 : alen > blen;
}

/* The bucket's root node: its inline page, or its root page read into *owned. */
static int bucket_node(bolt_db *db, const bolt_bucket *b, unsigned char **owned, node *nd,
		       bwk_error **err)
{
	*owned = NULL;
	if (b->page)
		return node_init(db, b->page, b->page_len, 0, nd, err);
	size_t len;
	if (page_read(db, b->root, owned, &len, err) < 0)
		return -1;
	return node_init(db, *owned, len, b->root, nd, err);
}

/* Descend from `nd` to the leaf that would hold `key`; the leaf's page is left in *owned
 * (NULL when it is the inline page). */
static int seek_leaf(bolt_db *db, node *nd, unsigned char **owned, const void *key, size_t klen,
		     bwk_error **err)
{
	for (unsigned depth = 0; !nd->leaf; depth++) {
		if (depth >= BOLT_MAX_DEPTH)
			return corrupt(db, nd->pgid, "the tree is deeper than the limit", err);
		uint64_t child = 0;
		for (size_t i = 0; i < nd->count; i++) {
			elem e;
			if (node_elem(db, nd, i, &e, err) < 0)
				return -1;
			if (i > 0 && keycmp(e.key, e.klen, key, klen) > 0)
				break;
			child = e.child;
		}
		free(*owned);
		*owned = NULL;
		size_t len;
		if (page_read(db, child, owned, &len, err) < 0 ||
		    node_init(db, *owned, len, child, nd, err) < 0)
			return -1;
	}
	return 0;
}

int bolt_get(bolt_db *db, const bolt_bucket *b, const void *key, size_t klen, char **value,
	     size_t *vlen, bool *is_bucket, bwk_error **err)
{
	cleanup_free unsigned char *owned = NULL;
	node nd;
	if (bucket_node(db, b, &owned, &nd, err) < 0 ||
	    seek_leaf(db, &nd, &owned, key, klen, err) < 0)
		return -1;
	for (size_t i = 0; i < nd.count; i++) {
		elem e;
		if (node_elem(db, &nd, i, &e, err) < 0)
			return -1;
		if (keycmp(e.key, e.klen, key, klen) != 0)
			continue;
		char *v = xmalloc(e.vlen + 1);
		memcpy(v, e.val, e.vlen);
		v[e.vlen] = '\0';
		*value = v;
		*vlen = e.vlen;
		*is_bucket = (e.flags & LEAF_BUCKET) != 0;
		return 1;
	}
	return 0;
}

int bolt_bucket_get(bolt_db *db, const bolt_bucket *b, const char *name, bolt_bucket *out,
		    bwk_error **err)
{
	memset(out, 0, sizeof(*out));
	char *v = NULL;
	size_t vlen = 0;
	bool isb = false;
	int r = bolt_get(db, b, name, strlen(name), &v, &vlen, &isb, err);
	if (r <= 0 || !isb) {
		free(v);
		return r < 0 ? -1 : 0;
	}
	cleanup_free char *val = v;
	if (vlen < 16)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: bucket '%.64s': a header shorter than 16 bytes", db->what,
				     name);
	out->root = le64((unsigned char *)val);
	if (out->root != 0)
		return 1;
	/* an inline bucket: its single leaf page follows the header */
	out->page_len = vlen - 16;
	if (out->page_len < PAGE_HDR || out->page_len > BOLT_MAX_INLINE)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: bucket '%.64s': a bad inline page",
				     db->what, name);
	out->page = xmalloc(out->page_len);
	memcpy(out->page, val + 16, out->page_len);
	if (!(le16(out->page + 8) & FLAG_LEAF)) {
		bolt_bucket_free(out);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: bucket '%.64s': an inline page that is not a leaf",
				     db->what, name);
	}
	return 1;
}

typedef struct each_state {
	bolt_each_fn cb;
	void *ctx;
	size_t max, seen;
} each_state;

static int each_node(bolt_db *db, const node *nd, unsigned depth, each_state *st, bwk_error **err)
{
	if (depth >= BOLT_MAX_DEPTH)
		return corrupt(db, nd->pgid, "the tree is deeper than the limit", err);
	for (size_t i = 0; i < nd->count; i++) {
		elem e;
		if (node_elem(db, nd, i, &e, err) < 0)
			return -1;
		if (nd->leaf) {
			if (++st->seen > st->max)
				return bwk_error_set(err, BWK_E_LIMIT, 0,
						     "%s: a bucket with more than %zu keys",
						     db->what, st->max);
			int r = st->cb(st->ctx, e.key, e.klen, (e.flags & LEAF_BUCKET) != 0);
			if (r != 0)
				return r;
			continue;
		}
		cleanup_free unsigned char *p = NULL;
		size_t len;
		node child;
		if (page_read(db, e.child, &p, &len, err) < 0 ||
		    node_init(db, p, len, e.child, &child, err) < 0)
			return -1;
		int r = each_node(db, &child, depth + 1, st, err);
		if (r != 0)
			return r;
	}
	return 0;
}

int bolt_each(bolt_db *db, const bolt_bucket *b, size_t max, bolt_each_fn cb, void *ctx,
	      bwk_error **err)
{
	cleanup_free unsigned char *owned = NULL;
	node nd;
	if (bucket_node(db, b, &owned, &nd, err) < 0)
		return -1;
	each_state st = {.cb = cb, .ctx = ctx, .max = max};
	int r = each_node(db, &nd, 0, &st, err);
	return r > 0 ? 0 : r;
}
