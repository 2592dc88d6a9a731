/* The inventory collector: rides the scanner's layer walk (one decompression for every
 * scanner), reads each package database it meets, and after the walk keeps only those the
 * merged filesystem still has.
 *
 * Whiteouts: layers are walked in parallel and a lower layer's entries arrive before anyone
 * knows whether a later layer deletes or replaces them. So every database is parsed where it
 * is met and kept with its path and layer; at the end, bwk_image_visibility() says which
 * copies are visible. A dpkg status replaced by a later layer counts only in its last
 * version, and one deleted by a whiteout (or an opaque directory) not at all. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "bulwark/strv.h"
#include "bulwark/vuln.h"
#include "core/util.h"
#include "scan/inventory_private.h"
#include "scan/scan_private.h"

/* a hostile image could make thousands of warnings: the first ones tell */
#define MAX_WARNINGS 64

typedef struct inv_rec {
	char *path, *layer;
	int layer_index;
	bwk_visibility vis;
	inv_kind kind;
	inv_list pkgs;
	inv_osrel os;
	/* rpmdb.sqlite in WAL mode and a rpmdb.sqlite-wal with committed frames: their bytes,
	 * kept for the replay when the inventory settles (one copy a path, the highest layer) */
	unsigned char *raw;
	size_t rawlen;
} inv_rec;

struct bwk_inv {
	pthread_mutex_t lock;
	inv_rec *v;
	size_t n, cap;
	size_t npkgs;
	bwk_strv warnings; /* at most MAX_WARNINGS */
};

struct bwk_inventory {
	bwk_package *pkgs;
	size_t n;
	bwk_os_release os;
	bool has_os;
	bwk_strv warnings; /* at most MAX_WARNINGS */
};

const char *bwk_ecosystem_name(bwk_ecosystem e)
{
	switch (e) {
	case BWK_ECO_DEB:
		return "deb";
	case BWK_ECO_APK:
		return "apk";
	case BWK_ECO_PYPI:
		return "pypi";
	case BWK_ECO_NPM:
		return "npm";
	case BWK_ECO_RPM:
		return "rpm";
	case BWK_ECO_GOLANG:
		return "golang";
	case BWK_ECO_MAVEN:
		return "maven";
	case BWK_ECO_CARGO:
		return "cargo";
	}
	return "?";
}

/* ---- which files ------------------------------------------------------------------------- */

static bool is_npm_manifest(const char *path, size_t len)
{
	static const char tail[] = "/package.json";
	size_t tl = sizeof(tail) - 1;
	if (len <= tl || memcmp(path + len - tl, tail, tl) != 0)
		return false;
	/* node_modules/NAME/package.json or node_modules/@SCOPE/NAME/package.json: a package's
	 * own manifest, not one of the files it ships (node_modules/x/lib/package.json). */
	size_t end = len - tl; /* path[0..end) = ".../node_modules/[@s/]NAME" */
	const char *dir = memrchr(path, '/', end);
	if (!dir)
		return false;
	size_t pend = (size_t)(dir - path);
	const char *parent = memrchr(path, '/', pend);
	size_t pstart = parent ? (size_t)(parent - path) + 1 : 0;
	if (path[pstart] == '@') {
		if (pstart == 0)
			return false;
		pend = pstart - 1;
		parent = memrchr(path, '/', pend);
		pstart = parent ? (size_t)(parent - path) + 1 : 0;
	}
	return pend - pstart == 12 && memcmp(path + pstart, "node_modules", 12) == 0;
}

/* The rpm database in /var/lib/rpm or (Fedora 36+, SUSE) /usr/lib/sysimage/rpm, any form. */
static const char *rpmdb_file(const char *path)
{
	const char *dir = strncmp(path, "var/lib/rpm/", 12) == 0	    ? path + 12
			  : strncmp(path, "usr/lib/sysimage/rpm/", 21) == 0 ? path + 21
									    : NULL;
	return dir && (!strcmp(dir, "rpmdb.sqlite") || !strcmp(dir, "Packages") ||
		       !strcmp(dir, "Packages.db") || !strcmp(dir, "rpmdb.sqlite-wal"))
		   ? dir
		   : NULL;
}

inv_kind inv_kind_of(const char *path)
{
	size_t len = strlen(path);
	if (len < 10)
		return INV_NONE;
	switch (path[len - 1]) {
	case 'A': /* METADATA */
		return bwk_str_endswith(path, ".dist-info/METADATA") ? INV_PYTHON : INV_NONE;
	case 'O': /* PKG-INFO */
		return bwk_str_endswith(path, ".egg-info/PKG-INFO") ? INV_PYTHON : INV_NONE;
	case 'o': /* distutils' NAME-VERSION.egg-info: a file in PKG-INFO's format, which pip lists
		   */
		return bwk_str_endswith(path, ".egg-info") ? INV_PYTHON : INV_NONE;
	case 'n': /* package.json, package-lock.json (not one a package ships, nor npm's hidden
		   node_modules/.package-lock.json: node_modules itself is read) */
		if (bwk_str_endswith(path, "package-lock.json") &&
		    (len == 17 || path[len - 18] == '/'))
			return strstr(path, "node_modules/") ? INV_NONE : INV_NPMLOCK;
		return is_npm_manifest(path, len) ? INV_NPM : INV_NONE;
	case 'e':
		if (strcmp(path, "etc/os-release") == 0 || strcmp(path, "usr/lib/os-release") == 0)
			return INV_OSREL;
		break;
	case 'd':
		if (strcmp(path, "lib/apk/db/installed") == 0)
			return INV_APK;
		break;
	default:
		break;
	}
	if (strcmp(path, "var/lib/dpkg/status") == 0)
		return INV_DPKG;
	const char *rpm = rpmdb_file(path);
	if (rpm)
		return strcmp(rpm, "rpmdb.sqlite-wal") == 0 ? INV_RPMWAL : INV_RPM;
	if (bwk_str_endswith(path, ".jar") || bwk_str_endswith(path, ".war") ||
	    bwk_str_endswith(path, ".ear"))
		return INV_JAVA;
	static const char sd[] = "var/lib/dpkg/status.d/";
	if (strncmp(path, sd, sizeof(sd) - 1) == 0 && !strchr(path + sizeof(sd) - 1, '/') &&
	    !bwk_str_endswith(path, ".md5sums"))
		return INV_DPKG;
	return INV_NONE;
}

/* ---- the collector ----------------------------------------------------------------------- */

bwk_inv *bwk_inv_new(void)
{
	bwk_inv *inv = xcalloc(1, sizeof(*inv));
	pthread_mutex_init(&inv->lock, NULL);
	return inv;
}

static void rec_free(inv_rec *r)
{
	free(r->path);
	free(r->layer);
	free(r->raw);
	inv_list_free(&r->pkgs);
	inv_osrel_free(&r->os);
}

void bwk_inv_free(bwk_inv *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n; i++)
		rec_free(&inv->v[i]);
	free(inv->v);
	bwk_strv_clear(&inv->warnings);
	pthread_mutex_destroy(&inv->lock);
	free(inv);
}

/* Keep `msg` (taking it) unless `w` already holds MAX_WARNINGS. */
static void warn_add(bwk_strv *w, char *msg)
{
	if (w->n >= MAX_WARNINGS) {
		free(msg);
		return;
	}
	(void)bwk_strv_take(w, msg, NULL); /* below BWK_STRV_MAX: cannot fail */
}

static void warn_locked(bwk_inv *inv, char *msg)
{
	warn_add(&inv->warnings, msg);
}

static void inv_warn(bwk_inv *inv, const bwk_entry *e, const char *why)
{
	char *msg = e->layer_index >= 0
			? xasprintf("%s (layer %d): %s", e->path, e->layer_index + 1, why)
			: xasprintf("%s: %s", e->path, why);
	pthread_mutex_lock(&inv->lock);
	warn_locked(inv, msg);
	pthread_mutex_unlock(&inv->lock);
}

static ssize_t tee_read(void *ctx, void *buf, size_t len, bwk_error **err)
{
	inv_tee *t = ctx;
	if (t->off < t->len) {
		size_t n = t->len - t->off < len ? t->len - t->off : len;
		memcpy(buf, t->buf + t->off, n);
		t->off += n;
		return (ssize_t)n;
	}
	ssize_t got = bwk_entry_read(t->under, buf, len, err);
	if (got > 0 && t->go)
		inv_gofind_feed(t->go, buf, (size_t)got);
	if (got > 0 && t->rust)
		inv_rustfind_feed(t->rust, buf, (size_t)got);
	return got;
}

static void add_rec(bwk_inv *inv, inv_rec *r, const bwk_entry *e);

static void bin_rec(inv_tee *t, inv_kind kind, inv_list *pkgs)
{
	inv_rec r = {.layer_index = t->e.layer_index, .vis = t->e.visibility, .kind = kind};
	r.pkgs = *pkgs;
	*pkgs = (inv_list){0};
	r.path = xstrdup(t->e.path);
	r.layer = t->e.layer_digest ? xstrdup(t->e.layer_digest) : NULL;
	add_rec(t->inv, &r, &t->e);
}

/* An executable read to its end (as far as the next scanner did not): its Go modules and its
 * cargo-auditable crates. */
static void bin_done(inv_tee *t)
{
	char *buf = xmalloc(64 << 10);
	const unsigned char *blob;
	const char *json;
	size_t n;
	bool old;
	bwk_error *err = NULL;
	while (!inv_gofind_result(t->go, &blob, &n, &old) ||
	       !inv_rustfind_result(t->rust, &json, &n)) {
		ssize_t got = bwk_entry_read(t->under, buf, 64 << 10, &err);
		if (got <= 0)
			break;
		inv_gofind_feed(t->go, (unsigned char *)buf, (size_t)got);
		inv_rustfind_feed(t->rust, (unsigned char *)buf, (size_t)got);
	}
	free(buf);
	bwk_error_free(err);
	inv_list l = {0};
	cleanup_error bwk_error *perr = NULL;
	if (inv_gofind_result(t->go, &blob, &n, &old)) {
		if (inv_parse_gobuildinfo(blob, n, &l, &perr) < 0) {
			cleanup_free char *msg = bwk_error_format(perr);
			inv_warn(t->inv, &t->e, msg ? msg : "malformed Go build information");
		} else if (l.n) {
			bin_rec(t, INV_GOBIN, &l);
		}
		inv_list_free(&l);
	} else if (old) {
		inv_warn(
		    t->inv, &t->e,
		    "Go build information of Go < 1.18 is not read: its modules are not listed");
	}
	bwk_error_free(perr);
	perr = NULL;
	if (inv_rustfind_result(t->rust, &json, &n)) {
		if (inv_parse_cargo_auditable(json, n, &l, &perr) < 0) {
			cleanup_free char *msg = bwk_error_format(perr);
			inv_warn(t->inv, &t->e, msg ? msg : "malformed cargo-auditable data");
		} else if (l.n) {
			bin_rec(t, INV_RUSTBIN, &l);
		}
		inv_list_free(&l);
	}
}

void inv_tee_done(inv_tee *t)
{
	if (t->go) {
		bin_done(t);
		inv_gofind_free(t->go);
		inv_rustfind_free(t->rust);
		t->go = NULL;
		t->rust = NULL;
	}
	free(t->buf);
	t->buf = NULL;
}

static int parse(inv_kind kind, char *buf, size_t len, inv_rec *r, bwk_error **err)
{
	switch (kind) {
	case INV_RPM:
		return inv_parse_rpmdb(buf, len, &r->pkgs, err);
	case INV_DPKG:
		return inv_parse_dpkg(buf, len, &r->pkgs, err);
	case INV_APK:
		return inv_parse_apk(buf, len, &r->pkgs, err);
	case INV_PYTHON:
		return inv_parse_python(buf, len, &r->pkgs, err);
	case INV_NPM:
		return inv_parse_npm(buf, len, &r->pkgs, err);
	case INV_NPMLOCK:
		return inv_parse_npm_lock(buf, len, &r->pkgs, err);
	case INV_OSREL:
		return inv_parse_os_release(buf, len, &r->os, err);
	case INV_JAVA:
		return inv_parse_java(buf, len, &r->pkgs, err);
	case INV_RPMWAL: /* replayed when the inventory settles */
	case INV_GOBIN:	 /* bin_done: read as the file streams by */
	case INV_RUSTBIN:
	case INV_NONE:
		break;
	}
	return 0;
}

static void add_rec(bwk_inv *inv, inv_rec *r, const bwk_entry *e)
{
	pthread_mutex_lock(&inv->lock);
	if (inv->npkgs + r->pkgs.n > INV_MAX_PKGS) {
		warn_locked(inv, xasprintf("%s: more than %u packages in the image: the rest are "
					   "not listed",
					   e->path, INV_MAX_PKGS));
		rec_free(r);
	} else {
		if (inv->n == inv->cap) {
			inv->cap = inv->cap ? inv->cap * 2 : 32;
			inv->v = xrealloc(inv->v, inv->cap * sizeof(*inv->v));
		}
		inv->npkgs += r->pkgs.n;
		for (size_t i = 0; r->raw && i < inv->n; i++) {
			inv_rec *o = &inv->v[i];
			if (!o->raw || strcmp(o->path, r->path) != 0)
				continue;
			/* the same file in another layer: only the higher one can be visible */
			inv_rec *lower = o->layer_index > r->layer_index ? r : o;
			free(lower->raw);
			lower->raw = NULL;
			lower->rawlen = 0;
		}
		inv->v[inv->n++] = *r;
	}
	pthread_mutex_unlock(&inv->lock);
}

/* An executable that may be a Go binary: its first bytes are read here (and served again);
 * when it is ELF, the rest is watched as it streams by. */
static int elf_entry(bwk_inv *inv, const bwk_entry *e, inv_tee *tee, const bwk_entry **use,
		     bwk_error **err)
{
	if (!(e->mode & 0111) || e->size < 1024 || e->size > INV_MAX_BIN_BYTES)
		return 0;
	*tee = (inv_tee){.e = *e, .under = e, .buf = xmalloc(4), .inv = inv};
	while (tee->len < 4) {
		ssize_t got = bwk_entry_read(e, tee->buf + tee->len, 4 - tee->len, err);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		tee->len += (size_t)got;
	}
	tee->e.read = tee_read;
	tee->e.rctx = tee;
	*use = &tee->e;
	if (tee->len == 4 && !memcmp(tee->buf,
				     "\x7f"
				     "ELF",
				     4)) {
		tee->go = inv_gofind_new();
		inv_gofind_feed(tee->go, (unsigned char *)tee->buf, 4);
		tee->rust = inv_rustfind_new();
		inv_rustfind_feed(tee->rust, (unsigned char *)tee->buf, 4);
	}
	return 0;
}

/* Whether the bytes of an rpm database file are kept for a WAL replay: rpmdb.sqlite in WAL
 * mode (header bytes 18-19 = 2), and a rpmdb.sqlite-wal with committed frames (an empty log,
 * what rpm leaves when it closes cleanly, is not kept). */
static bool rpm_keep_raw(bwk_inv *inv, const bwk_entry *e, inv_kind kind, const char *buf,
			 size_t len)
{
	const unsigned char *b = (const unsigned char *)buf;
	if (kind == INV_RPM)
		return bwk_str_endswith(e->path, "/rpmdb.sqlite") && len >= 100 &&
		       !memcmp(b, "SQLite format 3", 16) && b[18] == 2;
	if (kind != INV_RPMWAL || len == 0)
		return false;
	long c = inv_rpm_wal_commits(b, len);
	if (c < 0)
		inv_warn(inv, e, "not a SQLite write-ahead log: not replayed into rpmdb.sqlite");
	return c > 0;
}

int bwk_inv_entry(bwk_inv *inv, const bwk_entry *e, inv_tee *tee, const bwk_entry **use,
		  bwk_error **err)
{
	*use = e;
	if (e->type != BWK_ENTRY_FILE || !e->read)
		return 0;
	inv_kind kind = inv_kind_of(e->path);
	if (kind == INV_NONE)
		return elf_entry(inv, e, tee, use, err);
	bool db = kind == INV_DPKG || kind == INV_APK || kind == INV_RPM || kind == INV_RPMWAL;
	size_t cap = kind == INV_RPM || kind == INV_RPMWAL ? INV_MAX_RPMDB_BYTES
		     : kind == INV_JAVA			   ? INV_MAX_JAR_BYTES
		     : kind == INV_NPMLOCK		   ? INV_MAX_LOCK_BYTES
		     : db				   ? INV_MAX_DB_BYTES
							   : INV_MAX_META_BYTES;
	/* METADATA's header comes first and its long description after: a prefix is enough. A
	 * database or a JSON manifest cut short is not. */
	if (e->size > cap && kind != INV_PYTHON) {
		cleanup_free char *why =
		    xasprintf("%llu bytes, more than the %zu read for an inventory: %s",
			      (unsigned long long)e->size, cap,
			      kind == INV_RPMWAL ? "not replayed into rpmdb.sqlite"
						 : "its packages are not listed");
		inv_warn(inv, e, why);
		return 0;
	}
	size_t want = e->size < cap ? (size_t)e->size : cap;
	*tee = (inv_tee){.e = *e, .under = e, .buf = xmalloc(want ? want : 1)};
	while (tee->len < want) {
		ssize_t got = bwk_entry_read(e, tee->buf + tee->len, want - tee->len, err);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		tee->len += (size_t)got;
	}
	tee->e.read = tee_read;
	tee->e.rctx = tee;
	*use = &tee->e;

	inv_rec r = {.layer_index = e->layer_index, .vis = e->visibility, .kind = kind};
	cleanup_error bwk_error *perr = NULL;
	if (parse(kind, tee->buf, tee->len, &r, &perr) < 0) {
		cleanup_free char *msg = bwk_error_format(perr);
		cleanup_free char *why =
		    xasprintf("%s: its packages are not listed", msg ? msg : "cannot be read");
		inv_warn(inv, e, why);
		rec_free(&r);
		return 0;
	}
	if (r.pkgs.skipped) {
		cleanup_free char *why =
		    xasprintf("%zu malformed record(s) skipped", r.pkgs.skipped);
		inv_warn(inv, e, why);
	}
	if (r.pkgs.limited)
		inv_warn(
		    inv, e,
		    "nested archives beyond the bounds (3 levels, 32 MiB each, 256 MiB in all, "
		    "200,000 members) not read: their packages are not listed");
	if (r.pkgs.n == 0 && !db && kind != INV_OSREL) {
		rec_free(&r);
		return 0;
	}
	if (rpm_keep_raw(inv, e, kind, tee->buf, tee->len)) {
		r.raw = xmalloc(tee->len);
		memcpy(r.raw, tee->buf, tee->len);
		r.rawlen = tee->len;
	}
	r.path = xstrdup(e->path);
	r.layer = e->layer_digest ? xstrdup(e->layer_digest) : NULL;
	add_rec(inv, &r, e);
	return 0;
}

/* ---- settling ---------------------------------------------------------------------------- */

static int rec_cmp(const void *a, const void *b)
{
	const inv_rec *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->layer_index > y->layer_index) - (x->layer_index < y->layer_index);
}

/* purl components: everything but the unreserved characters percent-encoded. */
static void purl_enc(bwk_strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_' || c == '~')
			bwk_strbuf_appendn(sb, (const char *)&c, 1);
		else
			bwk_strbuf_printf(sb, "%%%02X", c);
	}
}

static char *make_purl(bwk_ecosystem eco, const inv_pkg *p, const bwk_os_release *os)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 4 * INV_MAX_FIELD + 256);
	bwk_strbuf_printf(&sb, "pkg:%s/", bwk_ecosystem_name(eco));
	const char *distro = NULL;
	const char *version = p->version, *colon = NULL;
	if (eco == BWK_ECO_RPM) {
		/* the purl spec's rpm type: namespace the vendor, the epoch a qualifier */
		const char *id = os && os->id ? os->id : NULL;
		if (id) {
			purl_enc(&sb, !strcmp(id, "rhel") ? "redhat" : id);
			bwk_strbuf_append(&sb, "/");
		}
		purl_enc(&sb, p->name);
		distro = os ? os->version_id : NULL;
		colon = strchr(version, ':');
		if (colon)
			version = colon + 1;
	} else if (eco == BWK_ECO_MAVEN) {
		/* pkg:maven/GROUP/ARTIFACT@VERSION */
		const char *ga = strchr(p->name, ':');
		cleanup_free char *g = xstrndup(p->name, ga ? (size_t)(ga - p->name) : 0);
		purl_enc(&sb, g);
		bwk_strbuf_append(&sb, "/");
		purl_enc(&sb, ga ? ga + 1 : p->name);
	} else if (eco == BWK_ECO_GOLANG) {
		/* the module path's segments, each encoded: pkg:golang/github.com/x/y@v1.2.3 */
		for (const char *seg = p->name; *seg;) {
			size_t n = strcspn(seg, "/");
			cleanup_free char *one = xstrndup(seg, n);
			purl_enc(&sb, one);
			seg += n;
			if (*seg) {
				bwk_strbuf_append(&sb, "/");
				seg++;
			}
		}
	} else if (eco == BWK_ECO_DEB || eco == BWK_ECO_APK) {
		const char *ns = os && os->id ? os->id : eco == BWK_ECO_DEB ? "debian" : "alpine";
		purl_enc(&sb, ns);
		bwk_strbuf_append(&sb, "/");
		purl_enc(&sb, p->name);
		distro = os ? os->version_id : NULL;
	} else if (eco == BWK_ECO_PYPI) {
		cleanup_free char *norm = bwk_pypi_name(p->name);
		purl_enc(&sb, norm);
	} else {
		const char *slash = p->name[0] == '@' ? strchr(p->name, '/') : NULL;
		if (slash) {
			cleanup_free char *scope = xstrndup(p->name, (size_t)(slash - p->name));
			purl_enc(&sb, scope);
			bwk_strbuf_append(&sb, "/");
			purl_enc(&sb, slash + 1);
		} else {
			purl_enc(&sb, p->name);
		}
	}
	bwk_strbuf_append(&sb, "@");
	purl_enc(&sb, version);
	char sep = '?';
	if (p->arch) {
		bwk_strbuf_printf(&sb, "%carch=", sep);
		purl_enc(&sb, p->arch);
		sep = '&';
	}
	if (colon) {
		bwk_strbuf_printf(&sb, "%cepoch=%.*s", sep, (int)(colon - p->version), p->version);
		sep = '&';
	}
	if (distro) {
		bwk_strbuf_printf(&sb, "%cdistro=", sep);
		if ((eco == BWK_ECO_DEB || eco == BWK_ECO_RPM) && os->id) {
			purl_enc(&sb, os->id);
			bwk_strbuf_append(&sb, "-");
		}
		purl_enc(&sb, distro);
	}
	return bwk_strbuf_steal(&sb);
}

static bwk_ecosystem eco_of(inv_kind k)
{
	return k == INV_DPKG			  ? BWK_ECO_DEB
	       : k == INV_APK			  ? BWK_ECO_APK
	       : k == INV_NPM || k == INV_NPMLOCK ? BWK_ECO_NPM
	       : k == INV_RPM			  ? BWK_ECO_RPM
	       : k == INV_GOBIN			  ? BWK_ECO_GOLANG
	       : k == INV_JAVA			  ? BWK_ECO_MAVEN
	       : k == INV_RUSTBIN		  ? BWK_ECO_CARGO
						  : BWK_ECO_PYPI;
}

static bool visible(inv_rec *r, const bwk_image *img)
{
	if (r->vis == BWK_VIS_UNKNOWN && img) {
		int hb = -1;
		r->vis = bwk_image_visibility(img, r->layer_index, r->path, &hb);
	}
	return r->vis == BWK_VISIBLE || r->vis == BWK_VIS_UNKNOWN;
}

static char *dup_or(const char *a, const char *b)
{
	return xstrdup(a ? a : b);
}

/* The site directory of a Python package: "…/site-packages" of
 * "…/site-packages/x.dist-info/METADATA" and of the file "…/site-packages/x.egg-info". */
static size_t site_len(const char *path)
{
	const char *meta = strrchr(path, '/');
	if (bwk_str_endswith(path, ".egg-info"))
		return meta ? (size_t)(meta - path) : 0;
	const char *dir = meta ? memrchr(path, '/', (size_t)(meta - path)) : NULL;
	return dir ? (size_t)(dir - path) : 0;
}

static int py_cmp(const void *a, const void *b)
{
	const bwk_package *x = *(const bwk_package *const *)a, *y = *(const bwk_package *const *)b;
	size_t lx = site_len(x->path), ly = site_len(y->path);
	int c = lx != ly ? (lx < ly ? -1 : 1) : memcmp(x->path, y->path, lx);
	if (!c)
		c = strcmp(x->purl, y->purl); /* normalised name and version */
	return c ? c : strcmp(x->path, y->path);
}

static void package_free(bwk_package *p)
{
	free((char *)p->name);
	free((char *)p->version);
	free((char *)p->source);
	free((char *)p->source_version);
	free((char *)p->arch);
	free((char *)p->purl);
	free((char *)p->path);
	free((char *)p->layer);
	free((char *)p->step);
	*p = (bwk_package){0};
}

/* One Python distribution installed in one site directory is one package, even when it ships
 * both a .dist-info and an .egg-info (Debian's python3-cryptography does): pip lists it once. */
static void dedupe_python(bwk_inventory *out)
{
	size_t n = 0;
	for (size_t i = 0; i < out->n; i++)
		n += out->pkgs[i].eco == BWK_ECO_PYPI;
	if (n < 2)
		return;
	bwk_package **v = xcalloc(n, sizeof(*v));
	n = 0;
	for (size_t i = 0; i < out->n; i++)
		if (out->pkgs[i].eco == BWK_ECO_PYPI)
			v[n++] = &out->pkgs[i];
	qsort(v, n, sizeof(*v), py_cmp);
	for (size_t i = 1; i < n; i++) {
		size_t a = site_len(v[i - 1]->path), b = site_len(v[i]->path);
		if (v[i - 1]->name && a == b && !memcmp(v[i - 1]->path, v[i]->path, a) &&
		    !strcmp(v[i - 1]->purl, v[i]->purl)) {
			package_free(v[i]);
			/* keep comparing against the kept one */
			bwk_package *t = v[i];
			v[i] = v[i - 1];
			v[i - 1] = t;
		}
	}
	free(v);
	size_t w = 0;
	for (size_t i = 0; i < out->n; i++)
		if (out->pkgs[i].name)
			out->pkgs[w++] = out->pkgs[i];
	out->n = w;
}

static int rpm_rank(const inv_rec *r)
{
	return (bwk_str_endswith(r->path, "/rpmdb.sqlite")  ? 4
		: bwk_str_endswith(r->path, "/Packages.db") ? 2
							    : 0) +
	       (strncmp(r->path, "usr/", 4) == 0);
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(((const inv_rec *)a)->path, ((const inv_rec *)b)->path);
}

/* Whether a visible node_modules manifest at `path` listed a package (inv->v sorted by path). */
static bool npm_installed(bwk_inv *inv, const char *path, const bwk_image *img)
{
	inv_rec key = {.path = (char *)path};
	inv_rec *at = bsearch(&key, inv->v, inv->n, sizeof(*inv->v), path_cmp);
	if (!at)
		return false;
	while (at > inv->v && !strcmp(at[-1].path, path))
		at--;
	for (; at < inv->v + inv->n && !strcmp(at->path, path); at++)
		if (at->kind == INV_NPM && at->pkgs.n && visible(at, img))
			return true;
	return false;
}

/* A package-lock.json's packages that node_modules beside it has installed are listed from
 * their own package.json (what is there, not what was planned): dropped here. */
static void lock_dedupe(bwk_inv *inv, inv_rec *lock, const bwk_image *img)
{
	size_t dl = strlen(lock->path) - strlen("package-lock.json"), w = 0;
	for (size_t j = 0; j < lock->pkgs.n; j++) {
		inv_pkg *p = &lock->pkgs.v[j];
		cleanup_free char *want =
		    xasprintf("%.*s%s/package.json", (int)dl, lock->path, p->loc);
		if (!npm_installed(inv, want, img)) {
			lock->pkgs.v[w++] = *p;
			continue;
		}
		inv_list one = {.v = xmalloc(sizeof(*p)), .n = 1};
		one.v[0] = *p;
		inv_list_free(&one);
	}
	lock->pkgs.n = w;
}

/* rpmdb.sqlite's packages with the committed transactions of the visible rpmdb.sqlite-wal
 * beside it replayed, as rpm (SQLite) would read the pair. */
static void rpm_replay_wal(bwk_inv *inv, inv_rec *db, const bwk_image *img)
{
	inv_rec *wal = NULL;
	size_t pl = strlen(db->path);
	for (size_t i = 0; i < inv->n && !wal; i++) {
		inv_rec *r = &inv->v[i];
		if (r->kind == INV_RPMWAL && r->raw && !strncmp(r->path, db->path, pl) &&
		    !strcmp(r->path + pl, "-wal") && visible(r, img))
			wal = r;
	}
	if (!wal)
		return;
	cleanup_free unsigned char *b = NULL;
	size_t len = 0;
	cleanup_error bwk_error *err = NULL;
	inv_list l = {0};
	if (inv_rpm_wal_apply(db->raw, db->rawlen, wal->raw, wal->rawlen, &b, &len, &err) < 0 ||
	    (b && inv_parse_rpmdb((char *)b, len, &l, &err) < 0)) {
		cleanup_free char *msg = bwk_error_format(err);
		warn_locked(inv, xasprintf("%s: %s: the packages of rpmdb.sqlite alone are listed",
					   wal->path, msg ? msg : "cannot be replayed"));
		inv_list_free(&l);
		return;
	}
	if (!b)
		return;
	inv_list_free(&db->pkgs);
	db->pkgs = l;
}

bwk_inventory *bwk_inv_settle(bwk_inv *inv, const bwk_image *img)
{
	bwk_inventory *out = xcalloc(1, sizeof(*out));
	if (inv->n)
		qsort(inv->v, inv->n, sizeof(*inv->v), rec_cmp);
	/* the OS release first: deb and apk purls name the distribution */
	inv_rec *osr = NULL;
	for (size_t i = 0; i < inv->n; i++) {
		inv_rec *r = &inv->v[i];
		if (r->kind != INV_OSREL || !visible(r, img))
			continue;
		/* /etc/os-release overrides /usr/lib/os-release (os-release(5)) */
		if (!osr || strcmp(r->path, "etc/os-release") == 0)
			osr = r;
	}
	if (osr) {
		out->has_os = true;
		out->os.id = osr->os.id ? xstrdup(osr->os.id) : NULL;
		out->os.version_id = osr->os.version_id ? xstrdup(osr->os.version_id) : NULL;
		out->os.version_codename =
		    osr->os.version_codename ? xstrdup(osr->os.version_codename) : NULL;
		out->os.pretty_name = osr->os.pretty_name ? xstrdup(osr->os.pretty_name) : NULL;
	}
	/* one rpm database counts: rpm reads one, and a converted image may keep the old form
	 * next to the new (rpmdb.sqlite over Packages.db over Packages; /usr/lib/sysimage/rpm,
	 * where Fedora 36+ and SUSE keep it, over /var/lib/rpm) */
	inv_rec *rpm = NULL;
	for (size_t i = 0; i < inv->n; i++) {
		inv_rec *r = &inv->v[i];
		if (r->kind == INV_RPM && visible(r, img) && (!rpm || rpm_rank(r) > rpm_rank(rpm)))
			rpm = r;
	}
	for (size_t i = 0; i < inv->n; i++)
		if (inv->v[i].kind == INV_RPM && &inv->v[i] != rpm)
			inv->v[i].vis = BWK_HIDDEN;
	if (rpm && rpm->raw)
		rpm_replay_wal(inv, rpm, img);
	for (size_t i = 0; i < inv->n; i++)
		if (inv->v[i].kind == INV_NPMLOCK && visible(&inv->v[i], img))
			lock_dedupe(inv, &inv->v[i], img);
	size_t total = 0;
	for (size_t i = 0; i < inv->n; i++)
		if (inv->v[i].kind != INV_OSREL && visible(&inv->v[i], img))
			total += inv->v[i].pkgs.n;
	out->pkgs = xcalloc(total ? total : 1, sizeof(*out->pkgs));
	const bwk_image_config *cfg = img ? bwk_image_get_config(img) : NULL;
	for (size_t i = 0; i < inv->n; i++) {
		inv_rec *r = &inv->v[i];
		if (r->kind == INV_OSREL || !visible(r, img) || !r->pkgs.n)
			continue;
		cleanup_free char *step = bwk_provenance_step(cfg, r->layer_index);
		for (size_t j = 0; j < r->pkgs.n; j++) {
			const inv_pkg *p = &r->pkgs.v[j];
			bwk_package *q = &out->pkgs[out->n++];
			q->eco = eco_of(r->kind);
			q->name = xstrdup(p->name);
			q->version = xstrdup(p->version);
			q->source = dup_or(p->source, p->name);
			/* dpkg omits the source version when it equals the binary's */
			q->source_version = dup_or(p->source_version, p->version);
			q->arch = p->arch ? xstrdup(p->arch) : NULL;
			q->purl = make_purl(q->eco, p, out->has_os ? &out->os : NULL);
			q->path = xstrdup(r->path);
			q->layer = r->layer ? xstrdup(r->layer) : NULL;
			q->layer_index = r->layer_index;
			q->step = step ? xstrdup(step) : NULL;
		}
	}
	dedupe_python(out);
	out->warnings = inv->warnings;
	inv->warnings = (bwk_strv){0};
	for (size_t i = 0; i < inv->n; i++)
		rec_free(&inv->v[i]);
	inv->n = 0;
	inv->npkgs = 0;
	return out;
}

/* ---- inventories built from elsewhere (an SBOM) ------------------------------------------ */

bwk_inventory *inv_inventory_new(void)
{
	return xcalloc(1, sizeof(bwk_inventory));
}

void inv_inventory_add(bwk_inventory *inv, const bwk_package *p)
{
	if (inv->n % 64 == 0)
		inv->pkgs = xrealloc(inv->pkgs, (inv->n + 64) * sizeof(*inv->pkgs));
	bwk_package *q = &inv->pkgs[inv->n++];
	*q = (bwk_package){
	    .eco = p->eco,
	    .name = xstrdup(p->name),
	    .version = xstrdup(p->version),
	    .source = xstrdup(p->source ? p->source : p->name),
	    .source_version = xstrdup(p->source_version ? p->source_version : p->version),
	    .arch = p->arch ? xstrdup(p->arch) : NULL,
	    .purl = xstrdup(p->purl),
	    .path = xstrdup(p->path),
	    .layer = p->layer ? xstrdup(p->layer) : NULL,
	    .layer_index = p->layer_index,
	    .step = p->step ? xstrdup(p->step) : NULL,
	};
}

void inv_inventory_set_os(bwk_inventory *inv, const char *id, const char *version_id)
{
	free((char *)inv->os.id);
	free((char *)inv->os.version_id);
	inv->os.id = id ? xstrdup(id) : NULL;
	inv->os.version_id = version_id ? xstrdup(version_id) : NULL;
	inv->has_os = true;
}

void inv_inventory_warn(bwk_inventory *inv, char *msg)
{
	warn_add(&inv->warnings, msg);
}

/* ---- the public, read-only side ---------------------------------------------------------- */

size_t bwk_inventory_count(const bwk_inventory *inv)
{
	return inv ? inv->n : 0;
}

const bwk_package *bwk_inventory_get(const bwk_inventory *inv, size_t i)
{
	return inv && i < inv->n ? &inv->pkgs[i] : NULL;
}

const bwk_os_release *bwk_inventory_os(const bwk_inventory *inv)
{
	return inv && inv->has_os ? &inv->os : NULL;
}

const char *bwk_inventory_warning(const bwk_inventory *inv, size_t i)
{
	return inv && i < inv->warnings.n ? inv->warnings.v[i] : NULL;
}

void bwk_inventory_free(bwk_inventory *inv)
{
	if (!inv)
		return;
	for (size_t i = 0; i < inv->n; i++)
		package_free(&inv->pkgs[i]);
	free(inv->pkgs);
	free((char *)inv->os.id);
	free((char *)inv->os.version_id);
	free((char *)inv->os.version_codename);
	free((char *)inv->os.pretty_name);
	bwk_strv_clear(&inv->warnings);
	free(inv);
}

/* Known vulnerabilities of the packages found. No database is not an error: the other checks
 * of the scan still count, so it is said once and the check recorded as skipped. */
static int match_vulns(const bwk_inventory *inv, const bwk_scan_opts *opts, bwk_findings *out,
		       bwk_error **err)
{
	cleanup_free char *def = opts->vuln_db ? NULL : bwk_vulndb_default_path();
	const char *db = opts->vuln_db ? opts->vuln_db : def;
	bwk_vuln_match_opts mo = {
	    .db = db,
	    .target = opts->target,
	    .ignore_unfixed = opts->ignore_unfixed,
	    .max_age_days = opts->max_db_age_days ? opts->max_db_age_days : 7,
	    .quiet = opts->quiet,
	};
	bwk_error *e = NULL;
	if (db && bwk_vuln_match(inv, &mo, out, &e) == 0)
		return 0;
	if (db && bwk_error_code(e) != BWK_E_NOTFOUND) {
		*err = e;
		return -1;
	}
	bwk_error_free(e);
	bwk_warn(opts->quiet,
		 "%zu packages not checked for known vulnerabilities: no database at %s; import "
		 "OSV advisories with `bulwark db import`",
		 inv->n, db ? db : "$XDG_CACHE_HOME/bulwark/vuln.db");
	bwk_findings_check(out, bwk_vuln_check_rule(), BWK_CHECK_SKIP,
			   "no vulnerability database at %s", db ? db : "(no cache directory)");
	return 0;
}

int bwk_inv_finish(bwk_inv *inv, const bwk_image *img, const bwk_scan_opts *opts, bwk_findings *out,
		   bwk_error **err)
{
	bwk_inventory *res = bwk_inv_settle(inv, img);
	return inv_report(res, opts, out, err);
}

int inv_report(bwk_inventory *res, const bwk_scan_opts *opts, bwk_findings *out, bwk_error **err)
{
	const bwk_os_release *os = bwk_inventory_os(res);
	if (os)
		bwk_findings_fact(out, "inventory.os", "%s %s", os->id ? os->id : "unknown",
				  os->version_id ? os->version_id : "(no VERSION_ID)");
	if (res->n || os) {
		size_t per[BWK_ECO_CARGO + 1] = {0};
		for (size_t i = 0; i < res->n; i++)
			per[res->pkgs[i].eco]++;
		bwk_findings_fact(out, "inventory.packages",
				  "%zu (deb %zu, apk %zu, rpm %zu, pypi %zu, npm %zu, go %zu, "
				  "maven %zu, cargo %zu)",
				  res->n, per[BWK_ECO_DEB], per[BWK_ECO_APK], per[BWK_ECO_RPM],
				  per[BWK_ECO_PYPI], per[BWK_ECO_NPM], per[BWK_ECO_GOLANG],
				  per[BWK_ECO_MAVEN], per[BWK_ECO_CARGO]);
	}
	if (res->warnings.n)
		bwk_findings_fact(out, "inventory.skipped", "%zu database(s) not fully read: %s%s",
				  res->warnings.n, res->warnings.v[0],
				  res->warnings.n > 1 ? "; …" : "");
	if (!opts->inventory_only && res->n && match_vulns(res, opts, out, err) < 0) {
		bwk_inventory_free(res);
		return -1;
	}
	if (opts->inventory)
		*opts->inventory = res;
	else
		bwk_inventory_free(res);
	return 0;
}
