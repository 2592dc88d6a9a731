/* `bulwark db update`: OSV exports downloaded over HTTPS (libcurl, loaded on first use) and
 * imported. Each source's export is kept next to the database (exports/<hash>.zip) with the
 * validators its server sent (ETag, Last-Modified); the next update asks with If-None-Match /
 * If-Modified-Since, and a 304 costs one round trip and no import.
 *
 * Atomic as a whole: new exports are downloaded to temporary files, imported together (the
 * import itself is atomic), and only then renamed over the kept ones with their validators. A
 * failed download or import leaves the database, the kept exports and their validators as
 * they were, so the next update fetches again. */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "bulwark/version.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "vuln/vuln_private.h"

#define UPDATE_MAX_BYTES (4ull << 30) /* one export (PyPI's all.zip is a few hundred MiB) */
#define UPDATE_MAX_HDR	 1024u	      /* an ETag or Last-Modified value kept */

const char *const bwk_vulndb_default_sources[] = {
    "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/AlmaLinux/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Maven/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip",
    NULL,
};

typedef struct fetch {
	const char *url;
	char *keep, *meta, *tmp; /* exports/<hash>.zip, .meta, the download */
	char *etag, *lastmod;	 /* sent by the server this time */
	int fd;
	unsigned long long got;
	bool too_big, changed;
} fetch;

static void fetch_free(fetch *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	free(f->keep);
	free(f->meta);
	free(f->tmp);
	free(f->etag);
	free(f->lastmod);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	fetch *f = arg;
	size_t len = size * n;
	if (f->got + len > UPDATE_MAX_BYTES) {
		f->too_big = true;
		return 0; /* aborts the transfer */
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(f->fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		off += (size_t)w;
	}
	f->got += len;
	return len;
}

/* "ETag: value" and "Last-Modified: value" of the final response (a redirect's are reset). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	fetch *f = arg;
	size_t len = size * n;
	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		free(f->etag);
		free(f->lastmod);
		f->etag = f->lastmod = NULL;
	}
	char **slot = len > 5 && !strncasecmp(p, "ETag:", 5)		  ? &f->etag
		      : len > 14 && !strncasecmp(p, "Last-Modified:", 14) ? &f->lastmod
									  : NULL;
	if (!slot)
		return len;
	size_t i = slot == &f->etag ? 5 : 14, e = len;
	while (i < e && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
		e--;
	free(*slot);
	*slot = NULL;
	if (e > i && e - i <= UPDATE_MAX_HDR) {
		bool ok = true;
		for (size_t k = i; k < e; k++)
			ok &= (unsigned char)p[k] >= 0x20 && p[k] != 0x7f;
		if (ok)
			*slot = xstrndup(p + i, e - i);
	}
	return len;
}

/* The validators kept with an export: "etag\nlast-modified\n" (either line may be empty). */
static void read_meta(const char *path, char **etag, char **lastmod)
{
	char *data = NULL;
	size_t len = 0;
	bwk_error *e = NULL;
	*etag = *lastmod = NULL;
	if (bwk_read_file_at(AT_FDCWD, path, 4 * UPDATE_MAX_HDR, false, &data, &len, &e) < 0) {
		bwk_error_free(e);
		return;
	}
	char *nl = strchr(data, '\n');
	if (nl) {
		*nl = '\0';
		char *nl2 = strchr(nl + 1, '\n');
		if (nl2)
			*nl2 = '\0';
		if (nl[1])
			*lastmod = xstrdup(nl + 1);
	}
	if (*data)
		*etag = xstrdup(data);
	free(data);
}

static int download(fetch *f, const bwk_vuln_update_opts *o, bwk_error **err)
{
	cleanup_free char *old_etag = NULL, *old_lm = NULL;
	struct stat st;
	if (stat(f->keep, &st) == 0)
		read_meta(f->meta, &old_etag, &old_lm);
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (f->fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot create", f->tmp);
	CURL *c = curl_easy_init();
	if (!c)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "libcurl cannot be loaded: install libcurl4");
	struct curl_slist *hdrs = NULL;
	cleanup_free char *inm = old_etag ? xasprintf("If-None-Match: %s", old_etag) : NULL;
	cleanup_free char *ims = old_lm ? xasprintf("If-Modified-Since: %s", old_lm) : NULL;
	if (inm)
		hdrs = curl_slist_append(hdrs, inm);
	if (ims)
		hdrs = curl_slist_append(hdrs, ims);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* bytes/s … */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);    /* … for a minute: stalled */
	curl_easy_setopt(c, CURLOPT_USERAGENT, "bulwark/" BWK_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (o->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (f->too_big)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: larger than %llu bytes", f->url,
				     UPDATE_MAX_BYTES);
	if (rc != CURLE_OK)
		return bwk_error_set(err, BWK_E_IO, 0, "%s: %s", f->url,
				     *errbuf ? errbuf : curl_easy_strerror(rc));
	if (code == 304)
		return 0;
	if (code != 200)
		return bwk_error_set(err, BWK_E_IO, 0, "%s: HTTP status %ld", f->url, code);
	if (fsync(f->fd) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot sync", f->tmp);
	f->changed = true;
	return 0;
}

/* exports/<first 16 hex digits of the URL's SHA-256>: stable, and no URL byte in a path. */
static char *export_base(const char *dir, const char *url)
{
	bwk_sha256 *h = bwk_sha256_new();
	bwk_sha256_update(h, url, strlen(url));
	char hex[65];
	bwk_sha256_final_hex(h, hex);
	bwk_sha256_free(h);
	return xasprintf("%s/%.16s", dir, hex);
}

int bwk_vulndb_update(const char *db, const bwk_vuln_update_opts *o, bwk_vuln_update_stats *st,
		      bwk_error **err)
{
	*st = (bwk_vuln_update_stats){0};
	if (o->nurls == 0)
		return bwk_error_set(err, BWK_E_USAGE, 0, "no source to update from");
	/* the exports live beside the database */
	const char *slash = strrchr(db, '/');
	cleanup_free char *dir =
	    slash ? xasprintf("%.*s/exports", (int)(slash - db), db) : xstrdup("exports");
	for (char *p = dir + 1; *p; p++) /* mkdir -p: $XDG_CACHE_HOME/bulwark/exports */
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	mkdir(dir, 0700);
	struct stat dst;
	if (stat(dir, &dst) < 0 || !S_ISDIR(dst.st_mode))
		return bwk_error_set(err, BWK_E_IO, errno,
				     "%s: cannot create the exports directory", dir);
	fetch *f = xcalloc(o->nurls, sizeof(*f));
	int ret = -1;
	size_t changed = 0;
	struct stat dbst;
	bool have_db;
	for (size_t i = 0; i < o->nurls; i++) {
		cleanup_free char *base = export_base(dir, o->urls[i]);
		f[i] = (fetch){.url = o->urls[i],
			       .keep = xasprintf("%s.zip", base),
			       .meta = xasprintf("%s.meta", base),
			       .tmp = xasprintf("%s.zip.tmp-%ld", base, (long)getpid()),
			       .fd = -1};
	}
	for (size_t i = 0; i < o->nurls; i++) {
		if (download(&f[i], o, err) < 0)
			goto out;
		changed += f[i].changed;
		if (!o->quiet)
			bwk_log(BWK_LOG_INFO, "%s: %s", f[i].url,
				f[i].changed ? "downloaded" : "unchanged (304)");
	}
	st->fetched = changed;
	st->unchanged = o->nurls - changed;
	have_db = stat(db, &dbst) == 0;
	if (changed || !have_db) {
		/* the new downloads, and when there is no database yet the kept ones too */
		const char **in = xcalloc(o->nurls, sizeof(char *));
		size_t nin = 0;
		for (size_t i = 0; i < o->nurls; i++)
			if (f[i].changed)
				in[nin++] = f[i].tmp;
			else if (!have_db && access(f[i].keep, F_OK) == 0)
				in[nin++] = f[i].keep;
		int r = nin ? bwk_vulndb_import(db, in, nin, &st->imported, err) : 0;
		free(in);
		if (r < 0)
			goto out;
	}
	/* imported: now the downloads are the kept exports, with their validators */
	for (size_t i = 0; i < o->nurls; i++) {
		if (!f[i].changed)
			continue;
		if (rename(f[i].tmp, f[i].keep) < 0) {
			bwk_error_set(err, BWK_E_IO, errno, "%s: cannot rename into place",
				      f[i].keep);
			goto out;
		}
		free(f[i].tmp);
		f[i].tmp = NULL;
		cleanup_free char *meta = xasprintf("%s\n%s\n", f[i].etag ? f[i].etag : "",
						    f[i].lastmod ? f[i].lastmod : "");
		if (bwk_write_file_atomic(f[i].meta, meta, strlen(meta), 0644, err) < 0)
			goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < o->nurls; i++)
		fetch_free(&f[i]);
	free(f);
	return ret;
}
