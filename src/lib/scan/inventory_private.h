/* The package inventory: parsers of package databases (inventory_parse.c) and the collector
 * that feeds them from the layer walk and settles whiteouts (inventory.c). */
#ifndef BWK_INVENTORY_PRIVATE_H
#define BWK_INVENTORY_PRIVATE_H
#ifndef BWK_IN_SCAN
#error "inventory_private.h is private to src/lib/scan"

/* What every inventory adds to a scan (facts, the vulnerability match) and hands on to
 * opts->inventory (else frees it). */
int inv_report(bwk_inventory *res, const bwk_scan_opts *opts, bwk_findings *out, bwk_error **err);

/* Building an inventory from another source (an SBOM, inventory_sbomin.c): strings copied. */
bwk_inventory *inv_inventory_new(void);
void inv_inventory_add(bwk_inventory *inv, const bwk_package *p);
void inv_inventory_set_os(bwk_inventory *inv, const char *id, const char *version_id);
void inv_inventory_warn(bwk_inventory *inv, char *msg); /* takes msg */
#endif
#include <stddef.h>

#include "bulwark/image.h"
#include "bulwark/inventory.h"
#include "bulwark/scan.h"

/* Limits on what an image may make us hold. A real dpkg status of a large image is a few MiB
 * (this machine's, 834 packages: 1 MiB); Python METADATA is read only as far as its header. */
#define INV_MAX_DB_BYTES    (64u << 20)	 /* dpkg status, apk installed */
#define INV_MAX_RPMDB_BYTES (128u << 20) /* rpmdb: a full Fedora install's is ~100 MiB */
#define INV_MAX_BIN_BYTES   (1ull << 30) /* an executable searched for Go build info */
#define INV_MAX_JAR_BYTES   (64u << 20)	 /* a Java archive read into memory */
#define INV_MAX_META_BYTES  (256u << 10) /* METADATA / PKG-INFO prefix, package.json, os-release */
#define INV_MAX_LOCK_BYTES  (16u << 20)	 /* package-lock.json (a 2,000-package one: ~2 MiB) */
#define INV_MAX_PKGS_FILE   200000u	 /* packages in one database file */
#define INV_MAX_PKGS	    1000000u	 /* packages in one image */
#define INV_MAX_FIELD	    512u	 /* a name, version or architecture */

typedef enum inv_kind {
	INV_NONE = 0,
	INV_DPKG,
	INV_APK,
	INV_PYTHON,
	INV_NPM,
	INV_OSREL,
	INV_RPM,
	INV_GOBIN,   /* an ELF executable with Go build information (read as it streams by) */
	INV_JAVA,    /* .jar, .war, .ear */
	INV_RUSTBIN, /* an ELF executable with cargo-auditable's crate list */
	INV_RPMWAL,  /* rpmdb.sqlite-wal: replayed into rpmdb.sqlite when the inventory settles */
	INV_NPMLOCK, /* package-lock.json (v2, v3): what node_modules beside it does not show */
} inv_kind;

/* Which database a walker path is (no leading '/'), or INV_NONE. Cheap: called on every entry. */
inv_kind inv_kind_of(const char *path);

/* A parsed package, fields owned (NULL when absent). */
typedef struct inv_pkg {
	char *name, *version, *source, *source_version, *arch;
	char *loc; /* package-lock.json: the install location ("node_modules/a/node_modules/b") */
} inv_pkg;

typedef struct inv_list {
	inv_pkg *v;
	size_t n, cap;
	size_t skipped; /* stanzas without a name/version or with an over-long field */
	bool limited;	/* a bound stopped the reading (nested Java archives) */
} inv_list;

void inv_list_free(inv_list *l);

/* Parsers of untrusted bytes `buf[0..len)` (need not be NUL-terminated). They append to `out`
 * and fail (negative, *err set) only on a limit; malformed records are skipped and counted. */
int inv_parse_dpkg(const char *buf, size_t len, inv_list *out, bwk_error **err);
int inv_parse_apk(const char *buf, size_t len, inv_list *out, bwk_error **err);
/* METADATA / PKG-INFO: the RFC 822 header up to the first blank line. */
int inv_parse_python(const char *buf, size_t len, inv_list *out, bwk_error **err);
int inv_parse_npm(const char *buf, size_t len, inv_list *out, bwk_error **err);
/* package-lock.json, lockfileVersion 2 or 3: every `packages` entry installed under a
 * node_modules (links, and the project itself, are not packages); v1 (npm < 7) is not read. */
int inv_parse_npm_lock(const char *buf, size_t len, inv_list *out, bwk_error **err);
/* An rpm database in any of its forms (SQLite, Berkeley DB hash, ndb: told by its first
 * bytes; inventory_rpm.c). `buf` is writable: two bytes of a SQLite header are changed while
 * it is read and restored before it returns. */
int inv_parse_rpmdb(char *buf, size_t len, inv_list *out, bwk_error **err);
/* SQLite's write-ahead log of rpmdb.sqlite (rpmdb.sqlite-wal): the number of committed
 * frames (0: nothing for the database; -1: not a WAL), and the database `db` with them
 * replayed as SQLite would (*out NULL when there are none; the caller frees it); an error
 * names what is wrong (a page size unlike the database's, a result over
 * INV_MAX_RPMDB_BYTES). */
long inv_rpm_wal_commits(const unsigned char *wal, size_t len);
int inv_rpm_wal_apply(const unsigned char *db, size_t dblen, const unsigned char *wal,
		      size_t wallen, unsigned char **out, size_t *outlen, bwk_error **err);
/* One rpm header blob (il, dl, index, data); a malformed one is counted in out->skipped. */
int inv_rpm_header(const unsigned char *b, size_t len, inv_list *out, bwk_error **err);
/* A Java archive's Maven coordinates (inventory_java.c): pom.properties, else the manifest;
 * nested archives within bounds (out->limited when one was not read). */
int inv_parse_java(const char *buf, size_t len, inv_list *out, bwk_error **err);

/* Go build information: a finder fed the bytes of a file as they stream by, and the parser
 * of what it found (inventory_go.c): "stdlib" at the Go version, the main module when it has
 * a version, every dependency (a replacement by another module version in its place). */
typedef struct inv_gofind inv_gofind;
inv_gofind *inv_gofind_new(void);
void inv_gofind_free(inv_gofind *g);
void inv_gofind_feed(inv_gofind *g, const unsigned char *p, size_t n);
/* Whether a complete blob was found (then *blob, *n: it, from the magic on); *old when only a
 * Go < 1.18 one (pointers instead of strings) was. */
bool inv_gofind_result(const inv_gofind *g, const unsigned char **blob, size_t *n, bool *old);
int inv_parse_gobuildinfo(const unsigned char *b, size_t len, inv_list *out, bwk_error **err);

/* cargo-auditable's `.dep-v0` (inventory_rust.c): a finder of its zlib stream fed like the Go
 * one, and the parser of the JSON it inflates to (crates.io runtime crates). */
typedef struct inv_rustfind inv_rustfind;
inv_rustfind *inv_rustfind_new(void);
void inv_rustfind_free(inv_rustfind *r);
void inv_rustfind_feed(inv_rustfind *r, const unsigned char *p, size_t n);
bool inv_rustfind_result(const inv_rustfind *r, const char **json, size_t *n);
int inv_parse_cargo_auditable(const char *json, size_t len, inv_list *out, bwk_error **err);

/* Take `p` into `out` when it has a name and a version (clears p either way); fails on
 * INV_MAX_PKGS_FILE. */
int inv_list_take(inv_list *out, inv_pkg *p, bwk_error **err);

typedef struct inv_osrel {
	char *id, *version_id, *version_codename, *pretty_name;
} inv_osrel;
int inv_parse_os_release(const char *buf, size_t len, inv_osrel *out, bwk_error **err);
void inv_osrel_free(inv_osrel *o);

/* ---- the collector (inventory.c) ---- */
typedef struct bwk_inv bwk_inv;
bwk_inv *bwk_inv_new(void);
void bwk_inv_free(bwk_inv *inv);

/* A regular file the inventory read in full: handed to the next scanner from memory, so the
 * layer is still decompressed once. */
typedef struct inv_tee {
	bwk_entry e;
	const bwk_entry *under;
	char *buf;
	size_t len, off;
	/* an ELF executable: every byte read is shown to `go`, and inv_tee_done reads what
	 * the next scanner left before recording what it found in `inv` */
	bwk_inv *inv;
	inv_gofind *go;
	inv_rustfind *rust;
} inv_tee;
void inv_tee_done(inv_tee *t);

/* Look at a walker entry (thread-safe). When it is a package database, read and parse it and
 * point *use at an entry that serves the same content again (from `tee`, which the caller
 * finishes with inv_tee_done); otherwise *use = e and nothing is read. */
int bwk_inv_entry(bwk_inv *inv, const bwk_entry *e, inv_tee *tee, const bwk_entry **use,
		  bwk_error **err);

/* After the walk: keep the databases visible in the merged filesystem (`img` settles the
 * entries of lower layers; NULL for a root filesystem directory) and build the inventory.
 * The collector is emptied. */
bwk_inventory *bwk_inv_settle(bwk_inv *inv, const bwk_image *img);

/* The end of a scan: settle the inventory, record what it found as facts of `out`, hand it
 * to opts->inventory when asked. */
int bwk_inv_finish(bwk_inv *inv, const bwk_image *img, const bwk_scan_opts *opts, bwk_findings *out,
		   bwk_error **err);

/* What every inventory adds to a scan (facts, the vulnerability match) and hands on to
 * opts->inventory (else frees it). */
int inv_report(bwk_inventory *res, const bwk_scan_opts *opts, bwk_findings *out, bwk_error **err);
/* A target the image source table opened as an SBOM (source "sbom"): its inventory read from
 * fd, then reported as any inventory (inventory_sbomin.c). */
int inv_scan_sbom_fd(const char *name, int fd, const bwk_scan_opts *opts, bwk_findings *out,
		     bwk_error **err);

/* Building an inventory from another source (an SBOM, inventory_sbomin.c): strings copied. */
bwk_inventory *inv_inventory_new(void);
void inv_inventory_add(bwk_inventory *inv, const bwk_package *p);
void inv_inventory_set_os(bwk_inventory *inv, const char *id, const char *version_id);
void inv_inventory_warn(bwk_inventory *inv, char *msg); /* takes msg */
#endif
