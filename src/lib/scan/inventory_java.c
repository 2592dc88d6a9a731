/* Java archives (.jar, .war, .ear): the Maven coordinates they carry, read from memory with
 * libarchive's seekable zip reader (the central directory, as the JVM reads it).
 *
 *   META-INF/maven/GROUP/ARTIFACT/pom.properties  groupId, artifactId, version: one package
 *        each (a fat or shaded jar carries one per library it bundles)
 *   META-INF/MANIFEST.MF  when the archive has no pom.properties: Implementation-Vendor-Id,
 *        -Title and -Version (a manifest without a vendor id names no Maven package)
 *   nested archives (WEB-INF/lib/x.jar, BOOT-INF/lib/x.jar, lib/x.jar of an ear): read the
 *        same way, up to JAVA_MAX_DEPTH levels and JAVA_MAX_NESTED bytes each
 *
 * Every member read is bounded before it is decompressed further (a zip bomb stops at the
 * bound), and so are the members visited and the nested bytes in all. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

#define JAVA_MAX_DEPTH	 3	      /* an ear's war's jar */
#define JAVA_MAX_NESTED	 (32u << 20)  /* one nested archive */
#define JAVA_MAX_TOTAL	 (256u << 20) /* nested bytes read from one top-level archive */
#define JAVA_MAX_MEMBERS 200000u      /* members visited in one archive and its nested ones */
#define JAVA_MAX_TEXT	 (64u << 10)  /* pom.properties, MANIFEST.MF */

typedef struct java_ctx {
	inv_list *out;
	size_t nested_bytes, members;
	bool limit; /* a bound was reached: said once by the caller */
} java_ctx;

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && !strcmp(s + n - t, tail);
}

/* Read the current member, at most `max` bytes (*trunc when there was more). */
static char *member(struct archive *a, size_t max, size_t *len, bool *trunc)
{
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap + 1);
	*trunc = false;
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				char probe;
				*trunc = archive_read_data(a, &probe, 1) > 0;
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		la_ssize_t r = archive_read_data(a, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The value of `key` in Java properties or manifest text (key, then '=' / ':' and optional
 * blanks); NULL when absent, empty or over-long. Continuation lines are not joined: the keys
 * read here are short. */
static char *prop_value(const char *text, size_t len, const char *key, char sep)
{
	size_t kl = strlen(key);
	for (size_t pos = 0; pos < len;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		size_t i = strspn(line, " \t");
		if (i > n || n - i <= kl || memcmp(line + i, key, kl) != 0)
			continue;
		i += kl;
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= n || (line[i] != sep && line[i] != '='))
			continue;
		i++;
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		size_t e = n;
		while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t'))
			e--;
		if (e == i || e - i > INV_MAX_FIELD)
			return NULL;
		for (size_t k = i; k < e; k++)
			if ((unsigned char)line[k] < 0x20 || line[k] == 0x7f)
				return NULL;
		return xstrndup(line + i, e - i);
	}
	return NULL;
}

static int add_gav(java_ctx *c, char *g, char *a, char *v, bwk_error **err)
{
	if (!g || !a || !v) {
		if (g || a || v)
			c->out->skipped++;
		free(g);
		free(a);
		free(v);
		return 0;
	}
	inv_pkg p = {.name = xasprintf("%s:%s", g, a), .version = v};
	free(g);
	free(a);
	return inv_list_take(c->out, &p, err);
}

static int read_archive(java_ctx *c, const char *buf, size_t len, int depth, bwk_error **err);

static int read_archive(java_ctx *c, const char *buf, size_t len, int depth, bwk_error **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_zip_seekable(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		bwk_error_set(err, BWK_E_INPUT, 0, "not a zip archive: %s",
			      archive_error_string(a) ? archive_error_string(a) : "unreadable");
		archive_read_free(a);
		return depth ? 0 : -1; /* a nested member that is no zip: not ours to judge */
	}
	size_t own = 0; /* pom.properties of this archive itself */
	cleanup_free char *manifest = NULL;
	size_t mlen = 0;
	struct archive_entry *e;
	int rc = 0;
	while (rc == 0 && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (++c->members > JAVA_MAX_MEMBERS) {
			c->limit = true;
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (!name || archive_entry_filetype(e) != AE_IFREG)
			continue;
		bool trunc;
		size_t n;
		if (!strncmp(name, "META-INF/maven/", 15) && ends_with(name, "/pom.properties")) {
			cleanup_free char *t = member(a, JAVA_MAX_TEXT, &n, &trunc);
			if (!t || trunc) {
				c->out->skipped++;
				continue;
			}
			own++;
			rc = add_gav(c, prop_value(t, n, "groupId", ':'),
				     prop_value(t, n, "artifactId", ':'),
				     prop_value(t, n, "version", ':'), err);
		} else if (!strcmp(name, "META-INF/MANIFEST.MF") && !manifest) {
			manifest = member(a, JAVA_MAX_TEXT, &mlen, &trunc);
		} else if (ends_with(name, ".jar") || ends_with(name, ".war") ||
			   ends_with(name, ".ear")) {
			if (depth + 1 >= JAVA_MAX_DEPTH) {
				c->limit = true;
				continue;
			}
			size_t room = JAVA_MAX_TOTAL - c->nested_bytes;
			size_t cap = room < JAVA_MAX_NESTED ? room : JAVA_MAX_NESTED;
			cleanup_free char *inner = cap ? member(a, cap, &n, &trunc) : NULL;
			if (!inner || trunc) {
				c->limit = true;
				continue;
			}
			c->nested_bytes += n;
			rc = read_archive(c, inner, n, depth + 1, err);
		}
	}
	archive_read_free(a);
	if (rc < 0)
		return -1;
	/* no pom.properties in this archive itself: its manifest may still name it (all three
	 * or nothing: most manifests name no Maven package, and that is not malformed) */
	if (manifest && own == 0) {
		char *g = prop_value(manifest, mlen, "Implementation-Vendor-Id", ':');
		char *t = prop_value(manifest, mlen, "Implementation-Title", ':');
		char *v = prop_value(manifest, mlen, "Implementation-Version", ':');
		if (g && t && v)
			return add_gav(c, g, t, v, err);
		free(g);
		free(t);
		free(v);
	}
	return rc;
}

int inv_parse_java(const char *buf, size_t len, inv_list *out, bwk_error **err)
{
	java_ctx c = {.out = out};
	if (read_archive(&c, buf, len, 0, err) < 0)
		return -1;
	out->limited = c.limit;
	return 0;
}
