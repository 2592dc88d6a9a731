/* The offline vulnerability database: OSV records imported into SQLite.
 *
 * Import builds a new database file next to the old one (copying the old one's records in
 * first), commits, fsyncs and renames it into place: a crash or a bad record leaves the old
 * database exactly as it was, and importing the same export twice gives the same database
 * (records are keyed by their id). Records are streamed one at a time (a directory entry, a
 * zip member): memory stays bounded whatever the export's size. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/strv.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "vuln/vuln_private.h"

#define SCHEMA_VERSION	"1"
#define MAX_DIR_ENTRIES 4000000u

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS advisories(id TEXT PRIMARY KEY, modified TEXT, summary TEXT,"
    " aliases TEXT, severity INTEGER, score REAL, withdrawn INTEGER);"
    "CREATE TABLE IF NOT EXISTS affected(adv_id TEXT NOT NULL, ecosystem TEXT NOT NULL,"
    " name TEXT NOT NULL, data TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS affected_pkg ON affected(ecosystem, name);"
    "CREATE INDEX IF NOT EXISTS affected_adv ON affected(adv_id);"
    "CREATE TABLE IF NOT EXISTS sources(name TEXT PRIMARY KEY, imported INTEGER NOT NULL,"
    " origin TEXT);";

char *bwk_vulndb_default_path(void)
{
	cleanup_free char *base = bwk_user_cache_dir();
	return base ? xasprintf("%s/vuln.db", base) : NULL;
}

BWK_DEFINE_CLEANUP(sqlite3 *, sqlite3_close)
#define cleanup_db cleanup_with(sqlite3_closep)
BWK_DEFINE_CLEANUP(sqlite3_stmt *, sqlite3_finalize)
#define cleanup_stmt cleanup_with(sqlite3_finalizep)

static int db_fail(sqlite3 *db, const char *path, const char *what, bwk_error **err)
{
	return bwk_error_set(err, BWK_E_IO, 0, "%s: %s: %s", path, what,
			     db ? sqlite3_errmsg(db) : "cannot open");
}

static int exec(sqlite3 *db, const char *path, const char *sql, bwk_error **err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		bwk_error_set(err, BWK_E_IO, 0, "%s: %s", path, msg ? msg : "SQLite error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int bwk_vulndb_open(const char *path, sqlite3 **out, bwk_error **err)
{
	/* opened read-only and checked as a regular file first: a scan must not create it */
	struct stat st;
	if (stat(path, &st) < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: no vulnerability database: import one with `bulwark db "
				     "import`",
				     path);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a regular file", path);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		db_fail(db, path, "cannot open the vulnerability database", err);
		sqlite3_close(db);
		return -1;
	}
	cleanup_stmt sqlite3_stmt *q = NULL;
	const unsigned char *ver = NULL;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema'", -1, &q, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW || !(ver = sqlite3_column_text(q, 0)) ||
	    strcmp((const char *)ver, SCHEMA_VERSION) != 0) {
		sqlite3_close(db);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not a bulwark vulnerability database (schema %s): "
				     "import again into a new file",
				     path, SCHEMA_VERSION);
	}
	/* pages mapped rather than read: a scan touches a few index pages per package */
	sqlite3_exec(db, "PRAGMA mmap_size=268435456", NULL, NULL, NULL);
	*out = db;
	return 0;
}

/* ---- import ------------------------------------------------------------------------------ */

typedef struct importer {
	sqlite3 *db;
	const char *dbpath;
	sqlite3_stmt *del, *adv, *aff, *src;
	const char *origin; /* the PATH argument being imported */
	bwk_vuln_import_stats *st;
	char *buf; /* one record */
} importer;

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static int run(importer *im, sqlite3_stmt *s, bwk_error **err)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return db_fail(im->db, im->dbpath, "cannot store a record", err);
	return 0;
}

static int store(importer *im, const osv_record *r, bwk_error **err)
{
	bind_text(im->del, 1, r->id);
	if (run(im, im->del, err) < 0)
		return -1;
	bind_text(im->adv, 1, r->id);
	bind_text(im->adv, 2, r->modified);
	bind_text(im->adv, 3, r->summary);
	bind_text(im->adv, 4, r->aliases);
	sqlite3_bind_int64(im->adv, 5, r->severity);
	sqlite3_bind_double(im->adv, 6, r->score);
	sqlite3_bind_int64(im->adv, 7, r->withdrawn);
	if (run(im, im->adv, err) < 0)
		return -1;
	for (size_t i = 0; i < r->naff; i++) {
		bind_text(im->aff, 1, r->id);
		bind_text(im->aff, 2, r->aff[i].ecosystem);
		bind_text(im->aff, 3, r->aff[i].name);
		bind_text(im->aff, 4, r->aff[i].data);
		if (run(im, im->aff, err) < 0)
			return -1;
		/* the source is the ecosystem: "Debian:12", "PyPI" */
		bind_text(im->src, 1, r->aff[i].ecosystem);
		sqlite3_bind_int64(im->src, 2, (sqlite3_int64)time(NULL));
		bind_text(im->src, 3, im->origin);
		if (run(im, im->src, err) < 0)
			return -1;
	}
	im->st->records++;
	im->st->affected += r->naff;
	return 0;
}

static int import_buf(importer *im, const char *buf, size_t len, const char *name, bwk_error **err)
{
	if (im->st->records >= OSV_MAX_FILES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "more than %u records in one import",
				     OSV_MAX_FILES);
	osv_record r;
	if (osv_parse(buf, len, &r, err) < 0)
		return bwk_error_wrap(err, "%s", name);
	int ret = store(im, &r, err);
	osv_record_free(&r);
	return ret;
}

/* Read a whole regular file through its fd, at most OSV_MAX_RECORD bytes. */
static ssize_t read_capped(int fd, char *buf, const char *name, bwk_error **err)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, OSV_MAX_RECORD + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot read", name);
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > OSV_MAX_RECORD)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s: more than %u bytes: not one OSV record", name,
					     OSV_MAX_RECORD);
	}
	return (ssize_t)got;
}

static int import_fd(importer *im, int fd, const char *name, bwk_error **err)
{
	ssize_t n = read_capped(fd, im->buf, name, err);
	if (n < 0)
		return -1;
	return import_buf(im, im->buf, (size_t)n, name, err);
}

static int import_zip(importer *im, int fd, const char *name, bwk_error **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_zip_streamable(a);
	if (archive_read_open_fd(a, fd, 64 << 10) != ARCHIVE_OK) {
		bwk_error_set(err, BWK_E_INPUT, 0, "%s: not a zip archive: %s", name,
			      archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	struct archive_entry *e;
	int r, ret = 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		if (archive_entry_filetype(e) != AE_IFREG || !p || !bwk_str_endswith(p, ".json"))
			continue;
		cleanup_free char *ename = xasprintf("%s: %.200s", name, p);
		/* a member's declared size and its real size are both capped: a zip bomb
		 * expands into at most one record buffer */
		if (archive_entry_size_is_set(e) && archive_entry_size(e) > OSV_MAX_RECORD) {
			ret =
			    bwk_error_set(err, BWK_E_LIMIT, 0,
					  "%s: %lld bytes uncompressed, more than %u: not one "
					  "OSV record (a zip bomb?)",
					  ename, (long long)archive_entry_size(e), OSV_MAX_RECORD);
			break;
		}
		size_t got = 0;
		la_ssize_t k;
		while ((k = archive_read_data(a, im->buf + got, OSV_MAX_RECORD + 1 - got)) > 0) {
			got += (size_t)k;
			if (got > OSV_MAX_RECORD)
				break;
		}
		if (k < 0) {
			ret = bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s", ename,
					    archive_error_string(a));
			break;
		}
		if (got > OSV_MAX_RECORD) {
			ret = bwk_error_set(err, BWK_E_LIMIT, 0,
					    "%s: more than %u bytes uncompressed: not one OSV "
					    "record (a zip bomb?)",
					    ename, OSV_MAX_RECORD);
			break;
		}
		if ((ret = import_buf(im, im->buf, got, ename, err)) < 0)
			break;
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = bwk_error_set(err, BWK_E_INPUT, 0, "%s: %s", name, archive_error_string(a));
	archive_read_free(a);
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int import_dir(importer *im, int dfd, const char *name, bwk_error **err)
{
	int dfd2 = dup(dfd);
	DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
	if (!d) {
		if (dfd2 >= 0)
			close(dfd2);
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot list", name);
	}
	/* sorted: the same directory imports in the same order */
	cleanup_strv_clear bwk_strv names = {.max = MAX_DIR_ENTRIES};
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d))) {
		if (!bwk_str_endswith(de->d_name, ".json") || de->d_name[0] == '.')
			continue;
		if (names.n >= MAX_DIR_ENTRIES) {
			ret = bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u files", name,
					    MAX_DIR_ENTRIES);
			break;
		}
		ret = bwk_strv_push(&names, de->d_name, err); /* below its max: cannot fail */
		if (ret < 0)
			break;
	}
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(*names.v), name_cmp);
	for (size_t i = 0; i < names.n && ret == 0; i++) {
		cleanup_free char *ename = xasprintf("%s/%s", name, names.v[i]);
		/* fd-relative, no symlinks: a directory of records is read, not followed */
		cleanup_close int fd =
		    openat(dfd, names.v[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			ret = bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", ename);
		else if (S_ISREG(st.st_mode))
			ret = import_fd(im, fd, ename, err);
	}
	return ret;
}

static int import_path(importer *im, const char *path, bwk_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: cannot open", path);
	im->origin = path;
	if (S_ISDIR(st.st_mode))
		return import_dir(im, fd, path, err);
	if (!S_ISREG(st.st_mode))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: not a directory, a JSON file or a zip archive", path);
	char magic[4] = {0};
	ssize_t m = pread(fd, magic, sizeof(magic), 0);
	if (m == 4 && memcmp(magic, "PK\3\4", 4) == 0)
		return import_zip(im, fd, path, err);
	return import_fd(im, fd, path, err);
}

/* The directory of `path` opened (created 0700 when `create`), and the base name. */
static int open_parent(const char *path, bool create, const char **base, bwk_error **err)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!**base)
		return bwk_error_set(err, BWK_E_USAGE, 0, "%s: not a file name", path);
	cleanup_free char *dir =
	    slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup(".");
	if (create) {
		/* mkdir -p for $XDG_CACHE_HOME/bulwark */
		for (char *p = dir + 1; *p; p++)
			if (*p == '/') {
				*p = '\0';
				if (mkdir(dir, 0700) < 0 && errno != EEXIST)
					return bwk_error_set(err, BWK_E_IO, errno,
							     "cannot create %s", dir);
				*p = '/';
			}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_IO, errno, "cannot create %s", dir);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "cannot open the directory %s", dir);
	return dfd;
}

static int prepare(importer *im, bwk_error **err)
{
	struct {
		sqlite3_stmt **st;
		const char *sql;
	} q[] = {
	    {&im->del, "DELETE FROM affected WHERE adv_id = ?1"},
	    {&im->adv, "INSERT OR REPLACE INTO advisories VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
	    {&im->aff, "INSERT INTO affected VALUES(?1, ?2, ?3, ?4)"},
	    {&im->src, "INSERT OR REPLACE INTO sources VALUES(?1, ?2, ?3)"},
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		if (sqlite3_prepare_v2(im->db, q[i].sql, -1, q[i].st, NULL) != SQLITE_OK)
			return db_fail(im->db, im->dbpath, "cannot prepare", err);
	return 0;
}

static void importer_done(importer *im)
{
	sqlite3_stmt *s[] = {im->del, im->adv, im->aff, im->src};
	for (size_t i = 0; i < 4; i++)
		if (s[i])
			sqlite3_finalize(s[i]);
	if (im->db)
		sqlite3_close(im->db);
	free(im->buf);
}

static int copy_old(importer *im, const char *tmp, const char *path, bwk_error **err)
{
	/* the old database's records come first, then the new ones replace by id */
	sqlite3 *old = NULL;
	if (bwk_vulndb_open(path, &old, err) < 0) {
		if (bwk_error_code(*err) != BWK_E_NOTFOUND)
			return -1;
		bwk_error_free(*err); /* the first import */
		*err = NULL;
		return 0;
	}
	sqlite3_close(old);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(im->db, "ATTACH DATABASE ?1 AS old", -1, &st, NULL) != SQLITE_OK)
		return db_fail(im->db, tmp, "cannot attach the old database", err);
	bind_text(st, 1, path);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(im->db, path, "cannot read the old database", err);
	return exec(im->db, tmp,
		    "INSERT INTO advisories SELECT * FROM old.advisories;"
		    "INSERT INTO affected SELECT * FROM old.affected;"
		    "INSERT INTO sources SELECT * FROM old.sources;"
		    "DETACH DATABASE old;",
		    err);
}

/* Build the new database in `tmp`: schema, the old records, the inputs; committed, synced. */
static int build(importer *im, const char *tmp, const char *path, const char *const *inputs,
		 size_t n, bwk_error **err)
{
	if (sqlite3_open_v2(tmp, &im->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK)
		return db_fail(im->db, tmp, "cannot create", err);
	/* no journal: the file is private until the rename, and synced once before it */
	if (exec(im->db, tmp, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;", err) < 0 ||
	    exec(im->db, tmp, schema_sql, err) < 0 ||
	    exec(im->db, tmp, "INSERT OR REPLACE INTO meta VALUES('schema', '" SCHEMA_VERSION "');",
		 err) < 0 ||
	    copy_old(im, tmp, path, err) < 0 || exec(im->db, tmp, "BEGIN", err) < 0 ||
	    prepare(im, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (import_path(im, inputs[i], err) < 0)
			return -1;
	if (exec(im->db, tmp, "COMMIT", err) < 0)
		return -1;
	importer_done(im);
	*im = (importer){0};
	cleanup_close int fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fsync(fd) < 0 || fchmod(fd, 0644) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot sync", tmp);
	return 0;
}

int bwk_vulndb_import(const char *path, const char *const *inputs, size_t n,
		      bwk_vuln_import_stats *st, bwk_error **err)
{
	*st = (bwk_vuln_import_stats){0};
	const char *base;
	cleanup_close int dfd = open_parent(path, true, &base, err);
	if (dfd < 0)
		return -1;
	cleanup_free char *tmp = xasprintf("%s.tmp-%ld", path, (long)getpid());
	const char *tbase = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
	/* a stale temp file of an earlier crash with our pid: never reuse its content */
	unlinkat(dfd, tbase, 0);
	importer im = {.dbpath = tmp, .st = st, .buf = xmalloc(OSV_MAX_RECORD + 1)};
	int ret = build(&im, tmp, path, inputs, n, err);
	importer_done(&im);
	if (ret == 0 && renameat(dfd, tbase, dfd, base) < 0)
		ret = bwk_error_set(err, BWK_E_IO, errno, "cannot rename %s to %s", tmp, path);
	if (ret < 0) {
		unlinkat(dfd, tbase, 0);
		return -1;
	}
	fsync(dfd);
	return 0;
}

/* ---- status ------------------------------------------------------------------------------ */

int bwk_vulndb_status(const char *path, bwk_vulndb_source **out, size_t *n, long long *total,
		      bwk_error **err)
{
	*out = NULL;
	*n = 0;
	cleanup_db sqlite3 *db = NULL;
	if (bwk_vulndb_open(path, &db, err) < 0)
		return -1;
	cleanup_stmt sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT s.name, s.imported, s.origin, (SELECT COUNT(DISTINCT "
			       "adv_id) FROM affected f WHERE f.ecosystem = s.name) FROM "
			       "sources s ORDER BY s.name",
			       -1, &q, NULL) != SQLITE_OK)
		return db_fail(db, path, "cannot read", err);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		bwk_vulndb_source *s = &(*out)[(*n)++];
		const unsigned char *name = sqlite3_column_text(q, 0),
				    *origin = sqlite3_column_text(q, 2);
		s->name = xstrdup(name ? (const char *)name : "?");
		s->imported = sqlite3_column_int64(q, 1);
		s->origin = xstrdup(origin ? (const char *)origin : "");
		s->records = sqlite3_column_int64(q, 3);
	}
	if (rc != SQLITE_DONE)
		return db_fail(db, path, "cannot read", err);
	cleanup_stmt sqlite3_stmt *c = NULL;
	if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM advisories", -1, &c, NULL) != SQLITE_OK ||
	    sqlite3_step(c) != SQLITE_ROW)
		return db_fail(db, path, "cannot read", err);
	*total = sqlite3_column_int64(c, 0);
	return 0;
}

void bwk_vulndb_sources_free(bwk_vulndb_source *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].origin);
	}
	free(s);
}
