/* The rpm database, read without librpm: its three forms hold the same header blobs.
 *
 *   rpmdb.sqlite  SQLite (rpm >= 4.16: RHEL 9, Fedora 33+): table Packages(hnum, blob)
 *   Packages      Berkeley DB hash (RHEL <= 8, CentOS 7, Amazon Linux 2): key = instance
 *                 number (4 bytes), value = blob, long values in chains of overflow pages
 *   Packages.db   rpm's own "ndb" (SUSE): slot pages naming (pkgidx, blkoff, blkcnt), blobs
 *                 at blkoff * 16 framed by "BlbS" … "BlbE"
 *
 * A header blob (rpm's headerImport without the 8-byte lead): il and dl (big-endian int32),
 * il index entries {tag, type, offset, count}, then dl bytes of data. Every offset, count and
 * string is checked against its bounds; the work is linear in the file (a blob or overflow
 * chain referenced twice is read at most as many bytes as the file holds in all). */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

/* ---- header blobs ------------------------------------------------------------------------ */

#define RPM_MAX_TAGS 65535u	 /* rpm's HEADER_TAGS_MAX */
#define RPM_MAX_DATA (64u << 20) /* a real header is a few hundred KiB at most */

enum {
	RPMTAG_NAME = 1000,
	RPMTAG_VERSION = 1001,
	RPMTAG_RELEASE = 1002,
	RPMTAG_EPOCH = 1003,
	RPMTAG_ARCH = 1022,
	RPMTAG_SOURCERPM = 1044,
	RPM_INT32 = 4,
	RPM_STRING = 6,
	RPM_I18NSTRING = 9,
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The NUL-terminated string at data[off..dl), or NULL (no NUL, over-long, control bytes). */
static const char *blob_str(const unsigned char *data, uint32_t dl, uint32_t off)
{
	if (off >= dl)
		return NULL;
	const unsigned char *s = data + off;
	const unsigned char *nul = memchr(s, 0, dl - off);
	if (!nul || nul == s || (size_t)(nul - s) > INV_MAX_FIELD)
		return NULL;
	for (const unsigned char *p = s; p < nul; p++)
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	return (const char *)s;
}

/* "openssl-1.1.1k-9.el8_7.src.rpm" → name "openssl", version "1.1.1k-9.el8_7". */
static void split_srpm(const char *srpm, const char *epoch, inv_pkg *p)
{
	size_t n = strlen(srpm);
	if (n > 8 && !strcmp(srpm + n - 8, ".src.rpm"))
		n -= 8;
	else if (n > 10 && !strcmp(srpm + n - 10, ".nosrc.rpm"))
		n -= 10;
	else
		return;
	const char *rel = memrchr(srpm, '-', n);
	const char *ver = rel ? memrchr(srpm, '-', (size_t)(rel - srpm)) : NULL;
	if (!ver || ver == srpm || rel == ver + 1 || (size_t)(rel - srpm) + 1 == n)
		return;
	p->source = xstrndup(srpm, (size_t)(ver - srpm));
	p->source_version =
	    epoch ? xasprintf("%s:%.*s", epoch, (int)(n - (size_t)(ver - srpm) - 1), ver + 1)
		  : xstrndup(ver + 1, n - (size_t)(ver - srpm) - 1);
}

int inv_rpm_header(const unsigned char *b, size_t len, inv_list *out, bwk_error **err)
{
	if (len < 8) {
		out->skipped++;
		return 0;
	}
	uint32_t il = be32(b), dl = be32(b + 4);
	if (il == 0 || il > RPM_MAX_TAGS || dl > RPM_MAX_DATA || (size_t)il * 16 + dl > len - 8) {
		out->skipped++;
		return 0;
	}
	const unsigned char *idx = b + 8, *data = idx + (size_t)il * 16;
	const char *name = NULL, *version = NULL, *release = NULL, *arch = NULL, *srpm = NULL;
	bool has_epoch = false, bad = false;
	uint32_t epoch = 0;
	for (uint32_t i = 0; i < il; i++) {
		const unsigned char *e = idx + (size_t)i * 16;
		uint32_t tag = be32(e), type = be32(e + 4), off = be32(e + 8), cnt = be32(e + 12);
		const char **slot = tag == RPMTAG_NAME	      ? &name
				    : tag == RPMTAG_VERSION   ? &version
				    : tag == RPMTAG_RELEASE   ? &release
				    : tag == RPMTAG_ARCH      ? &arch
				    : tag == RPMTAG_SOURCERPM ? &srpm
							      : NULL;
		if (slot) {
			if ((type != RPM_STRING && type != RPM_I18NSTRING) || cnt == 0 ||
			    !(*slot = blob_str(data, dl, off)))
				bad = true;
		} else if (tag == RPMTAG_EPOCH) {
			if (type != RPM_INT32 || cnt == 0 || off > dl || dl - off < 4)
				bad = true;
			else {
				has_epoch = true;
				epoch = be32(data + off);
			}
		}
	}
	if (bad || !name || !version || !release) {
		out->skipped++;
		return 0;
	}
	/* gpg-pubkey "packages" are the signing keys rpm imported, not software */
	if (!strcmp(name, "gpg-pubkey"))
		return 0;
	char ebuf[16];
	snprintf(ebuf, sizeof(ebuf), "%u", epoch);
	inv_pkg p = {
	    .name = xstrdup(name),
	    .version = has_epoch ? xasprintf("%u:%s-%s", epoch, version, release)
				 : xasprintf("%s-%s", version, release),
	    .arch = arch ? xstrdup(arch) : NULL,
	};
	if (srpm)
		split_srpm(srpm, has_epoch ? ebuf : NULL, &p);
	return inv_list_take(out, &p, err);
}

/* ---- Berkeley DB hash ------------------------------------------------------------------- */

enum {
	BDB_HASH_MAGIC = 0x061561,
	BDB_PAGE_HDR = 26,
	P_HASH_UNSORTED = 2,
	P_OVERFLOW = 7,
	P_HASHMETA = 8,
	P_HASH = 13,
	H_KEYDATA = 1,
	H_OFFPAGE = 3,
};

typedef struct bdb {
	const unsigned char *b;
	size_t len, pagesize, npages;
	bool swap;   /* written on a machine of the other byte order */
	size_t read; /* overflow bytes gathered so far: at most len in all */
} bdb;

static uint32_t bdb32(const bdb *d, const unsigned char *p)
{
	return d->swap ? be32(p)
		       : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			     (uint32_t)p[3] << 24;
}

static uint16_t bdb16(const bdb *d, const unsigned char *p)
{
	return d->swap ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[0] | p[1] << 8);
}

/* The value of an H_OFFPAGE item: `tlen` bytes along the overflow chain from `pgno`. NULL when
 * the chain is broken, loops or outgrows the budget. */
static unsigned char *bdb_overflow(bdb *d, uint32_t pgno, uint32_t tlen)
{
	if (tlen == 0 || tlen > RPM_MAX_DATA || tlen > d->len - d->read)
		return NULL;
	d->read += tlen;
	unsigned char *v = xmalloc(tlen);
	size_t got = 0;
	for (size_t hops = 0; got < tlen; hops++) {
		if (pgno == 0 || pgno >= d->npages || hops >= d->npages)
			break;
		const unsigned char *pg = d->b + (size_t)pgno * d->pagesize;
		size_t n = bdb16(d, pg + 22); /* hf_offset holds the bytes on an overflow page */
		if (pg[25] != P_OVERFLOW || n > d->pagesize - BDB_PAGE_HDR || n > tlen - got)
			break;
		memcpy(v + got, pg + BDB_PAGE_HDR, n);
		got += n;
		pgno = bdb32(d, pg + 16);
	}
	if (got != tlen) {
		free(v);
		return NULL;
	}
	return v;
}

static int parse_bdb(const unsigned char *b, size_t len, inv_list *out, bwk_error **err)
{
	bdb d = {.b = b, .len = len};
	if (len < 512)
		return bwk_error_set(err, BWK_E_INPUT, 0, "Berkeley DB file shorter than a page");
	uint32_t magic =
	    (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
	d.swap = magic != BDB_HASH_MAGIC;
	if (d.swap && be32(b + 12) != BDB_HASH_MAGIC)
		return bwk_error_set(err, BWK_E_INPUT, 0, "not a Berkeley DB hash database");
	d.pagesize = bdb32(&d, b + 20);
	if (d.pagesize < 512 || d.pagesize > 65536 || (d.pagesize & (d.pagesize - 1)) ||
	    b[25] != P_HASHMETA)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "Berkeley DB hash metadata page is malformed (page size %zu)",
				     d.pagesize);
	if (b[24] != 0) /* encrypt_alg */
		return bwk_error_set(err, BWK_E_INPUT, 0, "encrypted Berkeley DB: not read");
	if (b[26] & 1) /* DBMETA_CHKSUM: pages carry a checksum and a longer header */
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "Berkeley DB with page checksums: not read");
	d.npages = len / d.pagesize;
	uint32_t last = bdb32(&d, b + 32);
	if ((size_t)last + 1 < d.npages)
		d.npages = (size_t)last + 1;
	for (size_t pgno = 1; pgno < d.npages; pgno++) {
		const unsigned char *pg = b + pgno * d.pagesize;
		if (pg[25] != P_HASH && pg[25] != P_HASH_UNSORTED)
			continue;
		size_t n = bdb16(&d, pg + 20);
		if (BDB_PAGE_HDR + n * 2 > d.pagesize)
			continue;
		/* items pair up: key, value; each ends where the previous one starts */
		for (size_t i = 0; i + 1 < n; i += 2) {
			size_t ko = bdb16(&d, pg + BDB_PAGE_HDR + i * 2);
			size_t vo = bdb16(&d, pg + BDB_PAGE_HDR + (i + 1) * 2);
			size_t kend =
			    i == 0 ? d.pagesize : bdb16(&d, pg + BDB_PAGE_HDR + (i - 1) * 2);
			if (ko >= kend || kend > d.pagesize || vo >= ko ||
			    vo < BDB_PAGE_HDR + n * 2)
				continue;
			/* key 0 holds rpm's next instance number, not a package */
			if (pg[ko] == H_KEYDATA && kend - ko == 5 &&
			    !memcmp(pg + ko + 1, "\0\0\0\0", 4))
				continue;
			int rc = 0;
			if (pg[vo] == H_KEYDATA) {
				rc = inv_rpm_header(pg + vo + 1, ko - vo - 1, out, err);
			} else if (pg[vo] == H_OFFPAGE && ko - vo >= 12) {
				cleanup_free unsigned char *v = bdb_overflow(
				    &d, bdb32(&d, pg + vo + 4), bdb32(&d, pg + vo + 8));
				if (v)
					rc = inv_rpm_header(v, bdb32(&d, pg + vo + 8), out, err);
				else
					out->skipped++;
			} else {
				out->skipped++;
			}
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- ndb --------------------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int parse_ndb(const unsigned char *b, size_t len, inv_list *out, bwk_error **err)
{
	enum { HDR = 32, SLOT = 16, BLK = 16, PAGE = 4096, BLOB_HEAD = 16, BLOB_TAIL = 12 };
	if (len < HDR || le32(b + 4) != 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "ndb: unknown version %u",
				     len < HDR ? 0 : le32(b + 4));
	uint32_t slotpages = le32(b + 12);
	if (slotpages == 0 || slotpages > len / PAGE)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "ndb: %u slot pages, more than the file holds", slotpages);
	size_t budget = len; /* blob bytes parsed in all */
	for (size_t o = HDR; o < (size_t)slotpages * PAGE; o += SLOT) {
		const unsigned char *s = b + o;
		if (memcmp(s, "Slot", 4) != 0)
			return bwk_error_set(err, BWK_E_INPUT, 0, "ndb: bad slot at offset %zu", o);
		uint32_t pkgidx = le32(s + 4), blkoff = le32(s + 8), blkcnt = le32(s + 12);
		if (blkoff == 0)
			continue; /* a free slot */
		size_t at = (size_t)blkoff * BLK, room = (size_t)blkcnt * BLK;
		if (pkgidx == 0 || blkoff < (size_t)slotpages * (PAGE / BLK) || at > len ||
		    room > len - at || room < BLOB_HEAD + BLOB_TAIL) {
			out->skipped++;
			continue;
		}
		const unsigned char *blob = b + at;
		uint32_t bloblen = le32(blob + 12);
		if (memcmp(blob, "BlbS", 4) != 0 || le32(blob + 4) != pkgidx ||
		    bloblen > room - BLOB_HEAD - BLOB_TAIL || bloblen > budget) {
			out->skipped++;
			continue;
		}
		budget -= bloblen;
		if (inv_rpm_header(blob + BLOB_HEAD, bloblen, out, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- SQLite ------------------------------------------------------------------------------ */

/* A hostile database could make a query run forever (a view, a deep b-tree loop): SQLite's
 * progress handler stops it after a budget of VM steps proportional to the file. */
static int sqlite_budget(void *arg)
{
	size_t *left = arg;
	if (*left == 0)
		return 1;
	(*left)--;
	return 0;
}

static int parse_sqlite(unsigned char *b, size_t len, inv_list *out, bwk_error **err)
{
	/* rpm keeps the database in WAL mode; an in-memory copy cannot use a WAL, so the header
	 * says "rollback journal" while we read (bytes 18 and 19: write and read format) */
	unsigned char fmt[2] = {b[18], b[19]};
	b[18] = b[19] = 1;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int ret = -1, rc;
	size_t steps = 1000 + len / 64;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		bwk_error_set(err, BWK_E_IO, 0, "SQLite: cannot open an in-memory database");
		goto done;
	}
	if (sqlite3_deserialize(db, "main", b, (sqlite3_int64)len, (sqlite3_int64)len,
				SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
		bwk_error_set(err, BWK_E_INPUT, 0, "SQLite: %s", sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_progress_handler(db, 1000, sqlite_budget, &steps);
	sqlite3_exec(db, "PRAGMA trusted_schema=OFF; PRAGMA cell_size_check=ON", NULL, NULL, NULL);
	/* only a real table: a view or trigger of the file's own making is not run */
	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM sqlite_schema WHERE name = 'Packages' AND type = "
			       "'table' AND sql LIKE 'CREATE TABLE%'",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		bwk_error_set(err, BWK_E_INPUT, 0,
			      "SQLite rpm database without a Packages table%s%s", q ? "" : ": ",
			      q ? "" : sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &q, NULL) != SQLITE_OK) {
		bwk_error_set(err, BWK_E_INPUT, 0, "SQLite rpm database: %s", sqlite3_errmsg(db));
		goto done;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(q, 0);
		int n = sqlite3_column_bytes(q, 0);
		if (!blob || n <= 0) {
			out->skipped++;
			continue;
		}
		if (inv_rpm_header(blob, (size_t)n, out, err) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		bwk_error_set(err, BWK_E_INPUT, 0, "SQLite rpm database: %s",
			      rc == SQLITE_INTERRUPT ? "too much work for its size"
						     : sqlite3_errmsg(db));
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(q);
	sqlite3_close(db);
	b[18] = fmt[0];
	b[19] = fmt[1];
	return ret;
}

/* ---- SQLite's write-ahead log ------------------------------------------------------------ */

/* rpm keeps rpmdb.sqlite in WAL mode: a transaction lands in rpmdb.sqlite-wal first and reaches
 * the main file at a checkpoint (rpm's close normally does one, leaving an empty log). A log an
 * image still carries (a crash, a copy taken while rpm ran) holds committed transactions the
 * main file lacks; SQLite replays them when it opens the pair, and so do we
 * (sqlite.org/fileformat2.html#walformat): a 32-byte header, then frames of a 24-byte header
 * and one page, chained by a running checksum; frames count up to the last commit frame whose
 * salts and checksum are right, as SQLite's recovery counts them. */
#define WAL_HDR	      32u
#define WAL_FRAME_HDR 24u

static void wal_cksum(const unsigned char *p, size_t n, bool be, uint32_t s[2])
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		s[0] += (be ? be32(p + i) : le32(p + i)) + s[1];
		s[1] += (be ? be32(p + i + 4) : le32(p + i + 4)) + s[0];
	}
}

/* Walk the log's valid frames: the number of committed ones, the page size, the end of the
 * last commit frame and the database size in pages it sets. -1: not a WAL of SQLite 3.7+. */
static long wal_walk(const unsigned char *w, size_t n, uint32_t *pgsz, size_t *end, uint32_t *pages)
{
	*end = 0;
	*pages = 0;
	if (n < WAL_HDR || (be32(w) & ~1u) != 0x377f0682u || be32(w + 4) != 3007000u)
		return -1;
	bool be = be32(w) & 1u;
	uint32_t ps = be32(w + 8), s[2] = {0, 0};
	if (ps < 512 || ps > 65536 || (ps & (ps - 1)))
		return -1;
	wal_cksum(w, 24, be, s);
	if (s[0] != be32(w + 24) || s[1] != be32(w + 28))
		return -1;
	*pgsz = ps;
	long frames = 0, committed = 0;
	for (size_t off = WAL_HDR; n - off >= WAL_FRAME_HDR + ps; off += WAL_FRAME_HDR + ps) {
		const unsigned char *f = w + off;
		if (memcmp(f + 8, w + 16, 8) != 0 || be32(f) == 0)
			break; /* salts of an older log generation, or no page: the end */
		wal_cksum(f, 8, be, s);
		wal_cksum(f + WAL_FRAME_HDR, ps, be, s);
		if (s[0] != be32(f + 16) || s[1] != be32(f + 20))
			break;
		frames++;
		if (be32(f + 4)) { /* a commit frame: the database size after it */
			committed = frames;
			*end = off + WAL_FRAME_HDR + ps;
			*pages = be32(f + 4);
		}
	}
	return committed;
}

long inv_rpm_wal_commits(const unsigned char *wal, size_t len)
{
	uint32_t ps, pages;
	size_t end;
	return wal_walk(wal, len, &ps, &end, &pages);
}

int inv_rpm_wal_apply(const unsigned char *db, size_t dblen, const unsigned char *wal,
		      size_t wallen, unsigned char **out, size_t *outlen, bwk_error **err)
{
	*out = NULL;
	*outlen = 0;
	uint32_t ps, pages;
	size_t end;
	long committed = wal_walk(wal, wallen, &ps, &end, &pages);
	if (committed < 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "rpmdb.sqlite-wal: not a SQLite WAL");
	if (committed == 0)
		return 0;
	/* the main file's page size (bytes 16-17, big-endian; 1 means 65536) must be the log's */
	uint32_t dps = dblen >= 100 ? (uint32_t)db[16] << 8 | db[17] : 0;
	if (dps == 1)
		dps = 65536;
	if (dps != ps)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "rpmdb.sqlite-wal: pages of %u bytes, the database's of %u",
				     ps, dps);
	if ((uint64_t)pages * ps > INV_MAX_RPMDB_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "rpmdb.sqlite-wal: a database of %u pages of %u bytes, more "
				     "than %u MiB",
				     pages, ps, INV_MAX_RPMDB_BYTES >> 20);
	size_t size = (size_t)pages * ps;
	unsigned char *b = xcalloc(1, size);
	memcpy(b, db, dblen < size ? dblen : size);
	for (size_t off = WAL_HDR; off < end; off += WAL_FRAME_HDR + ps) {
		uint32_t pgno = be32(wal + off);
		if (pgno <= pages) /* a page past a later commit's size was truncated away */
			memcpy(b + (size_t)(pgno - 1) * ps, wal + off + WAL_FRAME_HDR, ps);
	}
	*out = b;
	*outlen = size;
	return 0;
}

int inv_parse_rpmdb(char *buf, size_t len, inv_list *out, bwk_error **err)
{
	unsigned char *b = (unsigned char *)buf;
	if (len >= 100 && !memcmp(b, "SQLite format 3", 16))
		return parse_sqlite(b, len, out, err);
	if (len >= 32 && !memcmp(b, "RpmP", 4))
		return parse_ndb(b, len, out, err);
	if (len >= 512 && (le32(b + 12) == BDB_HASH_MAGIC || be32(b + 12) == BDB_HASH_MAGIC))
		return parse_bdb(b, len, out, err);
	return bwk_error_set(err, BWK_E_INPUT, 0,
			     "not an rpm database (neither SQLite, ndb nor Berkeley DB hash)");
}
