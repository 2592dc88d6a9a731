#define _GNU_SOURCE
/* Unit tests: package database parsers and the path classifier of the inventory. Inputs are
 * copied into buffers of exactly their size (no NUL) so ASan sees any over-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define BWK_IN_SCAN
#include "core/util.h"
#include "scan/inventory_private.h"

typedef int (*parse_fn)(const char *, size_t, inv_list *, bwk_error **);

/* Parse `text` from an exactly-sized heap copy. */
static int parse_exact(parse_fn fn, const char *text, inv_list *out)
{
	size_t n = strlen(text);
	char *buf = malloc(n ? n : 1);
	memcpy(buf, text, n);
	bwk_error *err = NULL;
	int r = fn(buf, n, out, &err);
	bwk_error_free(err);
	free(buf);
	return r;
}

static void test_dpkg_status(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(parse_exact(inv_parse_dpkg,
				     "Package: libssl3\n"
				     "Status: install ok installed\n"
				     "Architecture: amd64\n"
				     "Source: openssl (3.0.11-1~deb12u2)\n"
				     "Version: 3.0.11-1~deb12u2+b1\n"
				     "Description: Secure Sockets Layer toolkit\n"
				     " long description line\n"
				     "\n"
				     "Package: removed-pkg\n"
				     "Status: deinstall ok config-files\n"
				     "Version: 1.0\n"
				     "\n"
				     "Package: zlib1g\n"
				     "Status: install ok half-configured\n"
				     "Version: 1:1.2.13.dfsg-1\n"
				     "Source: zlib\n"
				     "\n"
				     "Package: noversion\n"
				     "Status: install ok installed\n"
				     "\r\n"
				     "Package: bash\r\n"
				     "Status: install ok installed\r\n"
				     "Version: 5.2.15-2+b2",
				     &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "libssl3");
	assert_string_equal(l.v[0].version, "3.0.11-1~deb12u2+b1");
	assert_string_equal(l.v[0].source, "openssl");
	assert_string_equal(l.v[0].source_version, "3.0.11-1~deb12u2");
	assert_string_equal(l.v[0].arch, "amd64");
	assert_string_equal(l.v[1].name, "zlib1g");
	assert_string_equal(l.v[1].source, "zlib");
	assert_null(l.v[1].source_version);
	assert_string_equal(l.v[2].name, "bash");
	assert_string_equal(l.v[2].version, "5.2.15-2+b2");
	assert_int_equal(l.skipped, 1); /* noversion */
	inv_list_free(&l);
}

static void test_dpkg_distroless_and_bad_fields(void **state)
{
	(void)state;
	inv_list l = {0};
	char longname[INV_MAX_FIELD + 20];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	char *text = NULL;
	/* status.d stanzas have no Status: installed. An over-long name or a control character
	 * drops that stanza only. */
	assert_true(asprintf(&text,
			     "Package: base-files\nVersion: 12.4+deb12u5\n\n"
			     "Package: %s\nVersion: 1\n\n"
			     "Package: ctl\x01x\nVersion: 1\n\n"
			     "Package: tzdata\nVersion: 2024a-0+deb12u1\nSource: tzdata (\n",
			     longname) > 0);
	assert_int_equal(parse_exact(inv_parse_dpkg, text, &l), 0);
	free(text);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "base-files");
	assert_int_equal(l.skipped, 3);
	inv_list_free(&l);
}

static void test_apk_installed(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(parse_exact(inv_parse_apk,
				     "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\n"
				     "o:musl\nT:the musl c library\n\n"
				     "P:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n"
				     "P:broken\n\n"
				     "P:busybox\nV:1.36.1-r15\n",
				     &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1].name, "libcrypto3");
	assert_string_equal(l.v[1].source, "openssl");
	assert_string_equal(l.v[1].version, "3.1.4-r5");
	assert_string_equal(l.v[2].name, "busybox");
	assert_null(l.v[2].source);
	assert_int_equal(l.skipped, 1);
	inv_list_free(&l);
}

static void test_python_metadata(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(parse_exact(inv_parse_python,
				     "Metadata-Version: 2.1\nName: Requests\nVersion: 2.31.0\n"
				     "Summary: x\n\nName: not-this\nVersion: 9\n",
				     &l),
			 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "Requests");
	assert_string_equal(l.v[0].version, "2.31.0");
	inv_list_free(&l);
	/* the header ends at the first blank line: a Version in the body is not the version */
	assert_int_equal(parse_exact(inv_parse_python, "Name: x\n\nVersion: 1\n", &l), 0);
	assert_int_equal(l.n, 0);
	inv_list_free(&l);
}

static void test_npm_manifest(void **state)
{
	(void)state;
	inv_list l = {0};
	assert_int_equal(
	    parse_exact(inv_parse_npm, "{\"name\": \"@babel/core\", \"version\": \"7.23.2\"}", &l),
	    0);
	assert_int_equal(parse_exact(inv_parse_npm, "{\"name\": \"noversion\"}", &l), 0);
	assert_int_equal(parse_exact(inv_parse_npm, "{\"name\": 5, \"version\": \"1\"}", &l), 0);
	assert_int_equal(parse_exact(inv_parse_npm, "{\"name\": \"trunc", &l), 0);
	assert_int_equal(parse_exact(inv_parse_npm, "[1]", &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "@babel/core");
	inv_list_free(&l);
}

static void test_os_release(void **state)
{
	(void)state;
	const char *text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian\"\n"
			   "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n"
			   "ID_LIKE=ubuntu\nXID=nope\n";
	size_t n = strlen(text);
	char *buf = malloc(n);
	memcpy(buf, text, n);
	inv_osrel o = {0};
	assert_int_equal(inv_parse_os_release(buf, n, &o, NULL), 0);
	free(buf);
	assert_string_equal(o.id, "debian");
	assert_string_equal(o.version_id, "12");
	assert_string_equal(o.version_codename, "bookworm");
	assert_string_equal(o.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	inv_osrel_free(&o);
	/* Alpine: unquoted, and an unterminated quote is kept as is */
	const char *alp = "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine";
	assert_int_equal(inv_parse_os_release(alp, strlen(alp), &o, NULL), 0);
	assert_string_equal(o.id, "alpine");
	assert_string_equal(o.version_id, "3.19.1");
	assert_string_equal(o.pretty_name, "\"Alpine");
	inv_osrel_free(&o);
}

static void test_kind_of(void **state)
{
	(void)state;
	assert_int_equal(inv_kind_of("var/lib/dpkg/status"), INV_DPKG);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status-old"), INV_NONE);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status.d/libc6"), INV_DPKG);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status.d/libc6.md5sums"), INV_NONE);
	assert_int_equal(inv_kind_of("var/lib/dpkg/status.d/sub/x"), INV_NONE);
	assert_int_equal(inv_kind_of("lib/apk/db/installed"), INV_APK);
	assert_int_equal(inv_kind_of("usr/lib/apk/db/installed"), INV_NONE);
	assert_int_equal(
	    inv_kind_of("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"),
	    INV_PYTHON);
	assert_int_equal(inv_kind_of("usr/lib/python3/x.egg-info/PKG-INFO"), INV_PYTHON);
	/* distutils writes the metadata as a file named like the directory (pip lists it) */
	assert_int_equal(inv_kind_of("usr/lib/python3/dist-packages/x-1.0.egg-info"), INV_PYTHON);
	assert_int_equal(inv_kind_of("usr/lib/python3/x.egg-info/top_level.txt"), INV_NONE);
	assert_int_equal(inv_kind_of("usr/lib/python3/x.dist-info/RECORD"), INV_NONE);
	assert_int_equal(inv_kind_of("app/node_modules/lodash/package.json"), INV_NPM);
	assert_int_equal(inv_kind_of("node_modules/lodash/package.json"), INV_NPM);
	assert_int_equal(inv_kind_of("app/node_modules/@babel/core/package.json"), INV_NPM);
	assert_int_equal(inv_kind_of("app/node_modules/lodash/fp/package.json"), INV_NONE);
	assert_int_equal(inv_kind_of("app/package.json"), INV_NONE);
	assert_int_equal(inv_kind_of("app/package-lock.json"), INV_NPMLOCK);
	assert_int_equal(inv_kind_of("package-lock.json"), INV_NPMLOCK);
	assert_int_equal(inv_kind_of("app/node_modules/.package-lock.json"), INV_NONE);
	assert_int_equal(inv_kind_of("app/node_modules/x/package-lock.json"), INV_NONE);
	assert_int_equal(inv_kind_of("app/xpackage-lock.json"), INV_NONE);
	assert_int_equal(inv_kind_of("@x/package.json"), INV_NONE);
	assert_int_equal(inv_kind_of("etc/os-release"), INV_OSREL);
	assert_int_equal(inv_kind_of("usr/lib/os-release"), INV_OSREL);
	assert_int_equal(inv_kind_of("etc/os-release.bak"), INV_NONE);
}

/* An rpm header blob: il, dl, the index {tag, type, offset, count} and the data, big-endian. */
typedef struct hdr_ent {
	uint32_t tag, type;
	const char *str; /* a STRING, or NULL for the INT32 `num` */
	uint32_t num;
} hdr_ent;

static void be(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static size_t make_blob(unsigned char *b, const hdr_ent *e, size_t n)
{
	size_t dl = 0;
	unsigned char *data = b + 8 + n * 16;
	for (size_t i = 0; i < n; i++) {
		unsigned char *ix = b + 8 + i * 16;
		be(ix, e[i].tag);
		be(ix + 4, e[i].type);
		be(ix + 12, 1);
		if (e[i].str) {
			be(ix + 8, (uint32_t)dl);
			memcpy(data + dl, e[i].str, strlen(e[i].str) + 1);
			dl += strlen(e[i].str) + 1;
		} else {
			dl = (dl + 3) & ~(size_t)3;
			be(ix + 8, (uint32_t)dl);
			be(data + dl, e[i].num);
			dl += 4;
		}
	}
	be(b, (uint32_t)n);
	be(b + 4, (uint32_t)dl);
	return 8 + n * 16 + dl;
}

/* Parse the first `len` bytes of `b` from an exactly-sized copy. */
static int rpm_exact(const unsigned char *b, size_t len, inv_list *l)
{
	unsigned char *c = malloc(len ? len : 1);
	memcpy(c, b, len);
	bwk_error *err = NULL;
	int r = inv_rpm_header(c, len, l, &err);
	bwk_error_free(err);
	free(c);
	return r;
}

/* A WAL (sqlite.org/fileformat2.html#walformat) of little-endian checksums over pages of
 * 512 bytes: frames of (page number, size after commit or 0, each page filled with `fill`). */
static void wal_ck(const unsigned char *p, size_t n, uint32_t s[2])
{
	for (size_t i = 0; i < n; i += 8) {
		uint32_t a, b;
		memcpy(&a, p + i, 4); /* the test runs little-endian, as the magic says */
		memcpy(&b, p + i + 4, 4);
		s[0] += a + s[1];
		s[1] += b + s[0];
	}
}

static size_t make_wal(unsigned char *w, const uint32_t (*fr)[3], size_t nfr)
{
	uint32_t s[2] = {0, 0};
	memset(w, 0, 32);
	be(w, 0x377f0682);
	be(w + 4, 3007000);
	be(w + 8, 512);
	be(w + 16, 0x11223344);
	be(w + 20, 0x55667788);
	wal_ck(w, 24, s);
	be(w + 24, s[0]);
	be(w + 28, s[1]);
	size_t off = 32;
	for (size_t i = 0; i < nfr; i++, off += 24 + 512) {
		unsigned char *f = w + off;
		be(f, fr[i][0]);
		be(f + 4, fr[i][1]);
		memcpy(f + 8, w + 16, 8);
		memset(f + 24, (int)fr[i][2], 512);
		wal_ck(f, 8, s);
		wal_ck(f + 24, 512, s);
		be(f + 16, s[0]);
		be(f + 20, s[1]);
	}
	return off;
}

static void test_rpm_wal(void **state)
{
	(void)state;
	unsigned char db[1024] = "SQLite format 3";
	db[16] = 2; /* pages of 512 bytes */
	db[17] = 0;
	memset(db + 512, 'a', 512);
	/* page 2 rewritten and page 3 added (committed), then page 1 uncommitted */
	const uint32_t fr[][3] = {{2, 0, 'b'}, {3, 3, 'c'}, {1, 0, 'z'}};
	static unsigned char w[32 + 4 * (24 + 512)];
	size_t n = make_wal(w, fr, 3);
	assert_int_equal(inv_rpm_wal_commits(w, n), 2);
	unsigned char *out = NULL;
	size_t len = 0;
	bwk_error *err = NULL;
	assert_int_equal(inv_rpm_wal_apply(db, sizeof(db), w, n, &out, &len, &err), 0);
	assert_int_equal(len, 3 * 512);
	assert_memory_equal(out, db, 512); /* the uncommitted frame is not applied */
	assert_int_equal(out[512], 'b');
	assert_int_equal(out[1024 + 511], 'c');
	free(out);
	/* a torn commit frame (its checksum wrong): nothing committed */
	w[32 + 24 + 512 + 24 + 7] ^= 1;
	assert_int_equal(inv_rpm_wal_commits(w, n), 0);
	assert_int_equal(inv_rpm_wal_apply(db, sizeof(db), w, n, &out, &len, &err), 0);
	assert_null(out);
	/* a commit claiming a database beyond the bound: an error, not an allocation */
	const uint32_t huge[][3] = {{1, 0x7fffffff, 'x'}};
	n = make_wal(w, huge, 1);
	assert_int_equal(inv_rpm_wal_apply(db, sizeof(db), w, n, &out, &len, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	assert_null(out);
	bwk_error_free(err);
	err = NULL;
	/* pages unlike the database's */
	db[16] = 16; /* 4096 */
	n = make_wal(w, fr, 2);
	assert_int_equal(inv_rpm_wal_apply(db, sizeof(db), w, n, &out, &len, &err), -1);
	char *msg = bwk_error_format(err);
	assert_non_null(strstr(msg, "pages of 512 bytes"));
	free(msg);
	bwk_error_free(err);
	err = NULL;
	/* not a WAL; a header checksum off */
	assert_int_equal(inv_rpm_wal_commits(db, sizeof(db)), -1);
	w[25] ^= 1;
	assert_int_equal(inv_rpm_wal_commits(w, n), -1);
}

static void test_rpm_header(void **state)
{
	(void)state;
	hdr_ent e[] = {
	    {1000, 6, "openssl-libs", 0},
	    {1001, 6, "1.1.1k", 0},
	    {1002, 6, "9.el8_7", 0},
	    {1003, 4, NULL, 1},
	    {1022, 6, "x86_64", 0},
	    {1044, 6, "openssl-1.1.1k-9.el8_7.src.rpm", 0},
	    {1004, 9, "summary (an i18n string)", 0},
	};
	unsigned char b[1024];
	size_t n = make_blob(b, e, 7);
	inv_list l = {0};
	assert_int_equal(rpm_exact(b, n, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].name, "openssl-libs");
	assert_string_equal(l.v[0].version, "1:1.1.1k-9.el8_7");
	assert_string_equal(l.v[0].source, "openssl");
	assert_string_equal(l.v[0].source_version, "1:1.1.1k-9.el8_7");
	assert_string_equal(l.v[0].arch, "x86_64");
	/* cut short by one byte: the data does not fit */
	assert_int_equal(rpm_exact(b, n - 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.skipped, 1);
	/* a string offset past the data; an INT32 epoch in its last 2 bytes */
	unsigned char bad[1024];
	memcpy(bad, b, n);
	be(bad + 8 + 8, 0x7fffffff);
	assert_int_equal(rpm_exact(bad, n, &l), 0);
	assert_int_equal(l.skipped, 2);
	memcpy(bad, b, n);
	uint32_t dl = (uint32_t)(n - 8 - 7 * 16);
	be(bad + 8 + 3 * 16 + 8, dl - 2);
	assert_int_equal(rpm_exact(bad, n, &l), 0);
	assert_int_equal(l.skipped, 3);
	/* a name without its NUL (the last string of the data) */
	hdr_ent last[] = {{1001, 6, "1.0", 0}, {1002, 6, "1", 0}, {1000, 6, "zz", 0}};
	n = make_blob(b, last, 3);
	assert_int_equal(rpm_exact(b, n, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].version, "1.0-1"); /* no epoch: none written */
	assert_null(l.v[1].source);		      /* no source rpm */
	b[n - 1] = 'z';
	assert_int_equal(rpm_exact(b, n, &l), 0);
	assert_int_equal(l.skipped, 4);
	/* the signing keys rpm imports are not packages, and not malformed either */
	hdr_ent key[] = {
	    {1000, 6, "gpg-pubkey", 0}, {1001, 6, "fd431d51", 0}, {1002, 6, "4ae0493b", 0}};
	n = make_blob(b, key, 3);
	assert_int_equal(rpm_exact(b, n, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.skipped, 4);
	/* counts beyond rpm's limits */
	be(b, 0x10000);
	assert_int_equal(rpm_exact(b, n, &l), 0);
	assert_int_equal(l.skipped, 5);
	inv_list_free(&l);
	/* not a database of any form */
	char junk[600] = "neither SQLite nor ndb";
	bwk_error *err = NULL;
	assert_true(inv_parse_rpmdb(junk, sizeof(junk), &l, &err) < 0);
	char *msg = bwk_error_format(err);
	assert_non_null(strstr(msg, "not an rpm database"));
	free(msg);
	bwk_error_free(err);
	assert_int_equal(inv_kind_of("var/lib/rpm/rpmdb.sqlite"), INV_RPM);
	assert_int_equal(inv_kind_of("var/lib/rpm/Packages"), INV_RPM);
	assert_int_equal(inv_kind_of("usr/lib/sysimage/rpm/Packages.db"), INV_RPM);
	assert_int_equal(inv_kind_of("var/lib/rpm/Name"), INV_NONE);
	assert_int_equal(inv_kind_of("srv/var/lib/rpm/Packages"), INV_NONE);
}

/* Go build information as the linker writes it (Go 1.18+), preceded by decoys: the magic at
 * an unaligned offset, and an aligned one with a bad pointer size just before the real one. */
static size_t make_go(unsigned char *b, const char *mod)
{
	static const char sentinel[] = "0w\xaf\x0c\x92t\b\x02"
				       "A\xe1\xc1\a\xe6\xd6\x18\xe6";
	size_t n = 0;
	memset(b, 'x', 64);
	memcpy(b + 3, "\xff Go buildinf:\x08\x02", 16);	 /* unaligned: not looked at */
	memcpy(b + 32, "\xff Go buildinf:\x05\x02", 16); /* pointer size 5: a decoy */
	n = 48;
	memcpy(b + n, "\xff Go buildinf:\x08\x02", 16);
	memset(b + n + 16, 0, 16);
	n += 32;
	b[n++] = 8;
	memcpy(b + n, "go1.21.3", 8);
	n += 8;
	size_t ml = strlen(mod) + 32;
	b[n++] = (unsigned char)(0x80 | (ml & 0x7f));
	b[n++] = (unsigned char)(ml >> 7);
	memcpy(b + n, sentinel, 16);
	memcpy(b + n + 16, mod, strlen(mod));
	memcpy(b + n + 16 + strlen(mod),
	       "\xf9"
	       "2C1\x86\x18 r\x00\x82"
	       "B\x10"
	       "A\x16\xd8\xf2",
	       16);
	n += ml;
	memset(b + n, 'y', 40);
	return n + 40;
}

static void test_go_buildinfo(void **state)
{
	(void)state;
	const char *mod = "path\texample.com/app\n"
			  "mod\texample.com/app\t(devel)\t\n"
			  "dep\texample.com/a\tv0.1.0\th1:abc=\n"
			  "dep\texample.com/b\tv0.2.0\n"
			  "=>\texample.com/c\tv0.3.0\th1:def=\n"
			  "dep\tno-version\n"
			  "build\tCGO_ENABLED=0\n";
	unsigned char b[1024];
	size_t n = make_go(b, mod);
	/* every chunk size: the finder keeps its place across reads of any length */
	for (size_t chunk = 1; chunk <= 33; chunk += 4) {
		inv_gofind *g = inv_gofind_new();
		for (size_t at = 0; at < n; at += chunk)
			inv_gofind_feed(g, b + at, n - at < chunk ? n - at : chunk);
		const unsigned char *blob;
		size_t len;
		bool old;
		assert_true(inv_gofind_result(g, &blob, &len, &old));
		inv_list l = {0};
		bwk_error *err = NULL;
		assert_int_equal(inv_parse_gobuildinfo(blob, len, &l, &err), 0);
		assert_int_equal(l.n, 3);
		assert_string_equal(l.v[0].name, "stdlib");
		assert_string_equal(l.v[0].version, "1.21.3");
		assert_string_equal(l.v[1].name, "example.com/a");
		assert_string_equal(l.v[2].name, "example.com/c"); /* b, replaced */
		assert_string_equal(l.v[2].version, "v0.3.0");
		assert_int_equal(l.skipped, 1); /* the dep without a version */
		inv_list_free(&l);
		/* cut short: nothing is found */
		inv_gofind_free(g);
		g = inv_gofind_new();
		inv_gofind_feed(g, b, n - 60);
		assert_false(inv_gofind_result(g, &blob, &len, &old));
		inv_gofind_free(g);
	}
	/* the pointer format of Go < 1.18 is said, not read */
	b[48 + 15] = 0;
	inv_gofind *g = inv_gofind_new();
	inv_gofind_feed(g, b, n);
	const unsigned char *blob;
	size_t len;
	bool old;
	assert_false(inv_gofind_result(g, &blob, &len, &old));
	assert_true(old);
	inv_gofind_free(g);
}

/* cargo-auditable's zlib-compressed crate list among decoys: a bare zlib header, a real zlib
 * stream of other JSON right before it. */
static void test_cargo_auditable(void **state)
{
	(void)state;
	const char *json = "{\"packages\":[{\"name\":\"app\",\"version\":\"0.1.0\",\"source\":"
			   "\"local\",\"root\":true},{\"name\":\"serde\",\"version\":\"1.0.130\","
			   "\"source\":\"crates.io\"},{\"name\":\"cc\",\"version\":\"1.0.0\","
			   "\"source\":\"crates.io\",\"kind\":\"build\"},{\"name\":\"smallvec\","
			   "\"version\":\"1.6.0\",\"source\":\"crates.io\",\"kind\":\"runtime\"}]}";
	const char *other = "{\"other\":[1,2,3]}";
	unsigned char b[4096];
	size_t n = 0;
	memcpy(b,
	       "\x7f"
	       "ELF\x78\x9c\xff\xff junk \x78",
	       16);
	n = 16;
	uLongf zl = sizeof(b) - n;
	assert_int_equal(compress2(b + n, &zl, (const Bytef *)other, strlen(other), 9), Z_OK);
	n += zl;
	zl = sizeof(b) - n;
	assert_int_equal(compress2(b + n, &zl, (const Bytef *)json, strlen(json), 9), Z_OK);
	n += zl;
	memcpy(b + n, "tail bytes", 10);
	n += 10;
	for (size_t chunk = 1; chunk <= 65; chunk += 8) {
		inv_rustfind *r = inv_rustfind_new();
		for (size_t at = 0; at < n; at += chunk)
			inv_rustfind_feed(r, b + at, n - at < chunk ? n - at : chunk);
		const char *out;
		size_t len;
		assert_true(inv_rustfind_result(r, &out, &len));
		inv_list l = {0};
		bwk_error *err = NULL;
		assert_int_equal(inv_parse_cargo_auditable(out, len, &l, &err), 0);
		assert_int_equal(l.n, 2); /* not the local root, not the build dependency */
		assert_string_equal(l.v[0].name, "serde");
		assert_string_equal(l.v[1].name, "smallvec");
		inv_list_free(&l);
		inv_rustfind_free(r);
	}
	/* cut inside the stream: nothing */
	inv_rustfind *r = inv_rustfind_new();
	inv_rustfind_feed(r, b, n - 20);
	const char *out;
	size_t len;
	assert_false(inv_rustfind_result(r, &out, &len));
	inv_rustfind_free(r);
}

static ssize_t read_none(void *ctx, void *buf, size_t len, bwk_error **err)
{
	(void)ctx, (void)buf, (void)len, (void)err;
	fail_msg("an oversized database is not read");
	return -1;
}

/* Warnings about databases not read: kept in order, the first 64 only, handed over by
 * bwk_inv_settle; the inventory built by hand (an SBOM) keeps the same bound. */
static void test_warnings(void **state)
{
	(void)state;
	bwk_inv *inv = bwk_inv_new();
	for (int i = 0; i < 70; i++) {
		bwk_entry e = {.path = "var/lib/dpkg/status",
			       .type = BWK_ENTRY_FILE,
			       .size = (uint64_t)INV_MAX_DB_BYTES + 1 + (uint64_t)i,
			       .layer_index = i,
			       .read = read_none};
		inv_tee tee = {0};
		const bwk_entry *use = NULL;
		assert_int_equal(bwk_inv_entry(inv, &e, &tee, &use, NULL), 0);
		assert_ptr_equal(use, &e);
	}
	bwk_inventory *res = bwk_inv_settle(inv, NULL);
	bwk_inv_free(inv);
	assert_non_null(res);
	assert_int_equal(bwk_inventory_count(res), 0);
	assert_non_null(strstr(bwk_inventory_warning(res, 0), "var/lib/dpkg/status (layer 1): "));
	assert_non_null(strstr(bwk_inventory_warning(res, 63), "(layer 64): "));
	assert_null(bwk_inventory_warning(res, 64));
	bwk_inventory_free(res);

	bwk_inventory *sbom = inv_inventory_new();
	assert_null(bwk_inventory_warning(sbom, 0));
	for (int i = 0; i < 70; i++)
		inv_inventory_warn(sbom, xasprintf("warning %d", i));
	assert_string_equal(bwk_inventory_warning(sbom, 0), "warning 0");
	assert_string_equal(bwk_inventory_warning(sbom, 63), "warning 63");
	assert_null(bwk_inventory_warning(sbom, 64));
	assert_null(bwk_inventory_warning(NULL, 0));
	bwk_inventory_free(sbom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dpkg_status),
	    cmocka_unit_test(test_dpkg_distroless_and_bad_fields),
	    cmocka_unit_test(test_apk_installed),
	    cmocka_unit_test(test_python_metadata),
	    cmocka_unit_test(test_npm_manifest),
	    cmocka_unit_test(test_os_release),
	    cmocka_unit_test(test_kind_of),
	    cmocka_unit_test(test_rpm_header),
	    cmocka_unit_test(test_rpm_wal),
	    cmocka_unit_test(test_go_buildinfo),
	    cmocka_unit_test(test_cargo_auditable),
	    cmocka_unit_test(test_warnings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
