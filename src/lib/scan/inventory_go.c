/* Go binaries: the build information the Go linker (1.18+) embeds in the `.go.buildinfo`
 * section, found without executing anything and without the section table (which ELF puts at
 * the end of the file): the section starts with a 16-byte-aligned magic, so the stream of the
 * file is searched at every 16-byte boundary as it passes by (inventory.c feeds it), and from a
 * magic on the bytes are kept until the two strings behind it are complete.
 *
 *   "\xff Go buildinf:" ptrsize(1) flags(1) padding to 32, then with flags & 2 (inline strings)
 *   uvarint length + the Go version ("go1.21.3"), uvarint length + the module information:
 *   16 bytes of sentinel, lines "path\tcmd", "mod\tPATH\tVERSION\tSUM", "dep\t…", "=>\t…" (the
 *   module above is replaced), "build\tKEY=VALUE", 16 bytes of sentinel.
 *
 * Older binaries (before Go 1.18) store pointers instead of inline strings: not read (warned). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

static const unsigned char go_magic[14] = "\xff Go buildinf:";

#define GO_MAX_STR (1u << 20) /* one string: a module list of thousands of lines is ~200 KiB */
#define GO_MAX_VER 256u	      /* "go1.21.3", "devel go1.22-5f9d5ac Tue Jun 6 …" */

struct inv_gofind {
	unsigned char block[16]; /* the current 16-byte-aligned block */
	size_t nblock;
	unsigned char *cap; /* from a magic on */
	size_t ncap, want;  /* want: the bytes needed once the lengths are known, else 0 */
	size_t capsz;
	bool done, old;
};

inv_gofind *inv_gofind_new(void)
{
	return xcalloc(1, sizeof(inv_gofind));
}

void inv_gofind_free(inv_gofind *g)
{
	if (g) {
		free(g->cap);
		free(g);
	}
}

/* A uvarint at b[*at..n): false when it is incomplete (*incomplete) or over GO_MAX_STR. */
static bool uvarint(const unsigned char *b, size_t n, size_t *at, uint64_t *v, bool *incomplete)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*at >= n) {
			*incomplete = true;
			return false;
		}
		unsigned char c = b[(*at)++];
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return x <= GO_MAX_STR;
		}
	}
	return false;
}

/* How many bytes from the magic the whole blob takes: >0, 0 when more bytes are needed to
 * tell, -1 when it is not (or not an inline-string) build info. */
static long blob_len(const unsigned char *b, size_t n, bool *old)
{
	if (n < 32)
		return 0;
	if (b[14] != 4 && b[14] != 8)
		return -1;
	if (!(b[15] & 2)) {
		*old = true; /* Go < 1.18: pointers into the data segment */
		return -1;
	}
	size_t at = 32;
	uint64_t l1, l2;
	bool inc = false;
	if (!uvarint(b, n, &at, &l1, &inc))
		return inc ? 0 : -1;
	if (l1 > GO_MAX_VER)
		return -1;
	at += l1;
	if (at > n)
		return 0;
	if (!uvarint(b, n, &at, &l2, &inc))
		return inc ? 0 : -1;
	return (long)(at + l2);
}

static void capture(inv_gofind *g, const unsigned char *p, size_t n)
{
	size_t room = 32 + 2 * (10 + GO_MAX_STR) - g->ncap;
	if (n > room)
		n = room;
	if (g->ncap + n > g->capsz) {
		size_t want = g->capsz ? g->capsz : 4096;
		while (want < g->ncap + n)
			want *= 2;
		g->cap = xrealloc(g->cap, want);
		g->capsz = want;
	}
	memcpy(g->cap + g->ncap, p, n);
	g->ncap += n;
	if (!g->want) {
		long l = blob_len(g->cap, g->ncap, &g->old);
		if (l < 0) {
			/* a false magic (the string in a Go toolchain's own data): the search goes
			 * on over the bytes taken since. It is decided within the first ~300 bytes
			 * (the version string is short), so this nests at most ~20 deep. */
			unsigned char *c = g->cap;
			size_t nc = g->ncap;
			g->cap = NULL;
			g->ncap = g->capsz = 0;
			inv_gofind_feed(g, c + 16, nc - 16);
			free(c);
			return;
		}
		g->want = (size_t)l;
	}
	if (g->want && g->ncap >= g->want)
		g->done = true;
}

void inv_gofind_feed(inv_gofind *g, const unsigned char *p, size_t n)
{
	while (n && !g->done) {
		if (g->cap) {
			size_t take = g->want ? g->want - g->ncap : n < 64 ? n : 64;
			if (take > n)
				take = n;
			capture(g, p, take);
			p += take;
			n -= take;
			continue;
		}
		if (g->nblock == 0 && n >= 16) {
			/* the hot path: whole aligned blocks compared in place */
			while (n >= 16 && memcmp(p, go_magic, sizeof(go_magic)) != 0) {
				p += 16;
				n -= 16;
			}
			if (n >= 16) {
				const unsigned char *blk = p;
				p += 16;
				n -= 16;
				capture(g, blk, 16);
			}
			continue;
		}
		size_t take = 16 - g->nblock < n ? 16 - g->nblock : n;
		memcpy(g->block + g->nblock, p, take);
		g->nblock += take;
		p += take;
		n -= take;
		if (g->nblock < 16)
			continue;
		g->nblock = 0;
		if (!memcmp(g->block, go_magic, sizeof(go_magic)))
			capture(g, g->block, 16);
	}
}

bool inv_gofind_result(const inv_gofind *g, const unsigned char **blob, size_t *n, bool *old)
{
	*old = g->old;
	*blob = g->cap;
	*n = g->ncap;
	return g->done;
}

/* "go1.21.3" → "1.21.3", "go1.21" → "1.21.0", "go1.21rc2" → "1.21.0-rc.2" (the Go
 * vulnerability database's versions of the standard library); NULL for anything else. */
static char *go_version(const char *v)
{
	if (strncmp(v, "go", 2) != 0)
		return NULL;
	v += 2;
	size_t num = strspn(v, "0123456789.");
	int dots = 0;
	for (size_t i = 0; i < num; i++)
		dots += v[i] == '.';
	if (num == 0 || v[0] == '.' || v[num - 1] == '.' || dots > 2)
		return NULL;
	const char *pre = v + num;
	const char *kind = !strncmp(pre, "rc", 2) ? "rc" : !strncmp(pre, "beta", 4) ? "beta" : NULL;
	if (*pre && !kind)
		return NULL;
	const char *pn = kind ? pre + strlen(kind) : pre;
	if (kind && (!*pn || strspn(pn, "0123456789") != strlen(pn)))
		return NULL;
	return xasprintf("%.*s%s%s%s%s", (int)num, v, dots == 1 ? ".0" : "", kind ? "-" : "",
			 kind ? kind : "", kind ? "." : "");
}

static bool field_ok(const char *s, size_t n)
{
	if (n == 0 || n > INV_MAX_FIELD)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int inv_parse_gobuildinfo(const unsigned char *b, size_t len, inv_list *out, bwk_error **err)
{
	bool old = false;
	long total = blob_len(b, len, &old);
	if (total <= 0 || (size_t)total > len)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     old ? "Go build information of Go < 1.18 (pointers): not read"
					 : "truncated or malformed Go build information");
	size_t at = 32;
	uint64_t l1 = 0, l2 = 0;
	bool inc = false;
	uvarint(b, len, &at, &l1, &inc);
	const char *ver = (const char *)b + at;
	at += l1;
	uvarint(b, len, &at, &l2, &inc);
	const char *mod = (const char *)b + at;
	size_t nmod = l2;
	/* the sentinels around the module information */
	if (nmod >= 33 && mod[nmod - 17] == '\n') {
		mod += 16;
		nmod -= 32;
	}
	cleanup_free char *gv = field_ok(ver, l1) ? xstrndup(ver, l1) : NULL;
	cleanup_free char *stdv = gv ? go_version(gv) : NULL;
	if (stdv) {
		/* the standard library compiled in: the Go vulnerability database's "stdlib" */
		inv_pkg p = {.name = xstrdup("stdlib"), .version = steal_pointer(&stdv)};
		if (inv_list_take(out, &p, err) < 0)
			return -1;
	}
	inv_pkg cur = {0};
	bool have = false;
	for (size_t pos = 0; pos < nmod;) {
		const char *line = mod + pos;
		const char *nl = memchr(line, '\n', nmod - pos);
		size_t n = nl ? (size_t)(nl - line) : nmod - pos;
		pos += n + 1;
		/* KIND \t PATH \t VERSION [\t SUM] */
		const char *f[4] = {0};
		size_t fl[4] = {0}, nf = 0;
		for (size_t i = 0, s = 0; i <= n && nf < 4; i++)
			if (i == n || line[i] == '\t') {
				f[nf] = line + s;
				fl[nf++] = i - s;
				s = i + 1;
			}
		if (nf < 2)
			continue;
		bool is_mod = fl[0] == 3 && !memcmp(f[0], "mod", 3);
		bool is_dep = fl[0] == 3 && !memcmp(f[0], "dep", 3);
		bool is_rep = fl[0] == 2 && !memcmp(f[0], "=>", 2);
		if (!is_mod && !is_dep && !is_rep)
			continue;
		if (is_rep) {
			/* a replacement by another module version is what is built in; by a local
			 * directory (no version), the required version is the best name we have */
			if (have && nf >= 3 && field_ok(f[1], fl[1]) && field_ok(f[2], fl[2])) {
				free(cur.name);
				free(cur.version);
				cur.name = xstrndup(f[1], fl[1]);
				cur.version = xstrndup(f[2], fl[2]);
			}
			continue;
		}
		if (have && inv_list_take(out, &cur, err) < 0)
			return -1;
		have = false;
		if (nf < 3 || !field_ok(f[1], fl[1]) || !field_ok(f[2], fl[2])) {
			if (!is_mod) /* a main module may come without a version */
				out->skipped++;
			continue;
		}
		/* the main module of a plain `go build` is "(devel)": no version to match */
		if (fl[2] == 7 && !memcmp(f[2], "(devel)", 7))
			continue;
		cur = (inv_pkg){.name = xstrndup(f[1], fl[1]), .version = xstrndup(f[2], fl[2])};
		have = true;
	}
	if (have && inv_list_take(out, &cur, err) < 0)
		return -1;
	return 0;
}
