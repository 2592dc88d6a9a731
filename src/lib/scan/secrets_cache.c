/* A cache of compiled Hyperscan databases. Compiling the ~300 built-in rules in prefilter mode
 * costs about two seconds of CPU, more than scanning a large image; the result depends only on
 * the rules' text, the Hyperscan version and the CPU, so it is serialized once per user and
 * reused. The cache is trusted no more than the rules it came from: the directory and the file
 * must belong to the current user and be writable by nobody else (a database is machine code
 * tables in all but name), the key is a SHA-256 of everything that went into it, and any
 * failure to read, verify or deserialize simply means compiling again.
 *
 * Location: $BULWARK_CACHE_DIR, else $XDG_CACHE_HOME/bulwark, else $HOME/.cache/bulwark;
 * BULWARK_CACHE_DIR=off disables it. Files: hs/<sha256>.db, written atomically. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/secrets_private.h"

#define CACHE_MAGIC "BWKHSDB1"
#define CACHE_MAX   (256u << 20)

static bool dir_ok(const char *d)
{
	struct stat st;
	if (lstat(d, &st) < 0 && (errno != ENOENT || mkdir(d, 0700) < 0 || lstat(d, &st) < 0))
		return false;
	return S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 022);
}

/* The cache directory (created 0700), or NULL when there is none we can trust. */
static char *cache_dir(void)
{
	const char *env = getenv("BULWARK_CACHE_DIR");
	cleanup_free char *base = NULL;
	if (env && strcmp(env, "off") == 0)
		return NULL;
	if (env && *env)
		base = xstrdup(env);
	else {
		base = bwk_user_cache_dir();
		if (!base)
			return NULL;
		/* the parent ($XDG_CACHE_HOME or ~/.cache) may not exist yet */
		cleanup_free char *parent = xstrdup(base);
		*strrchr(parent, '/') = '\0';
		if (mkdir(parent, 0700) < 0 && errno != EEXIST)
			return NULL;
	}
	if (!dir_ok(base))
		return NULL;
	char *hs = xasprintf("%s/hs", base);
	if (!dir_ok(hs)) {
		free(hs);
		return NULL;
	}
	return hs;
}

char *sec_cache_path(const char *const *texts, const size_t *lens, size_t n)
{
	cleanup_free char *dir = cache_dir();
	if (!dir)
		return NULL;
	bwk_sha256 *h = bwk_sha256_new();
	const char *ver = hs_version();
	bwk_sha256_update(h, CACHE_MAGIC, sizeof(CACHE_MAGIC));
	bwk_sha256_update(h, ver, strlen(ver) + 1);
	/* the database is compiled for this CPU's features */
	hs_platform_info_t plat;
	memset(&plat, 0, sizeof(plat));
	if (hs_populate_platform(&plat) == HS_SUCCESS)
		bwk_sha256_update(h, &plat, sizeof(plat));
	for (size_t i = 0; i < n; i++) {
		uint64_t l = texts[i] ? lens[i] : UINT64_MAX;
		bwk_sha256_update(h, &l, sizeof(l));
		if (texts[i])
			bwk_sha256_update(h, texts[i], lens[i]);
	}
	char hex[65];
	bwk_sha256_final_hex(h, hex);
	bwk_sha256_free(h);
	return xasprintf("%s/%s.db", dir, hex);
}

static int take(const char **p, const char *end, hs_database_t **db)
{
	uint64_t len;
	if ((size_t)(end - *p) < sizeof(len))
		return -1;
	memcpy(&len, *p, sizeof(len));
	*p += sizeof(len);
	if (len > (uint64_t)(end - *p))
		return -1;
	if (len && hs_deserialize_database(*p, (size_t)len, db) != HS_SUCCESS)
		return -1;
	*p += len;
	return 0;
}

int sec_cache_load(const char *path, hs_database_t **all, hs_database_t **bypath)
{
	*all = *bypath = NULL;
	cleanup_close int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 022) || st.st_size > CACHE_MAX || st.st_size < 8)
		return -1;
	size_t n = (size_t)st.st_size;
	cleanup_free char *buf = xmalloc(n);
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	const char *p = buf, *end = buf + n;
	if (memcmp(p, CACHE_MAGIC, 8) != 0)
		return -1;
	p += 8;
	if (take(&p, end, all) < 0 || take(&p, end, bypath) < 0 || p != end) {
		if (*all)
			hs_free_database(*all);
		if (*bypath)
			hs_free_database(*bypath);
		*all = *bypath = NULL;
		return -1;
	}
	return 0;
}

void sec_cache_store(const char *path, const hs_database_t *all, const hs_database_t *bypath)
{
	char *blob[2] = {NULL, NULL};
	size_t len[2] = {0, 0};
	const hs_database_t *dbs[2] = {all, bypath};
	for (int i = 0; i < 2; i++)
		if (dbs[i] && hs_serialize_database(dbs[i], &blob[i], &len[i]) != HS_SUCCESS)
			goto out;
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, CACHE_MAX);
	bwk_strbuf_appendn(&sb, CACHE_MAGIC, 8);
	for (int i = 0; i < 2; i++) {
		uint64_t l = len[i];
		bwk_strbuf_appendn(&sb, (const char *)&l, sizeof(l));
		if (len[i])
			bwk_strbuf_appendn(&sb, blob[i], len[i]);
	}
	if (!sb.truncated) {
		cleanup_error bwk_error *err = NULL;
		/* best effort: a read-only home just means compiling next time too */
		(void)bwk_write_file_atomic(path, sb.s, sb.len, 0600, &err);
	}
	bwk_strbuf_free(&sb);
out:
	free(blob[0]);
	free(blob[1]);
}
