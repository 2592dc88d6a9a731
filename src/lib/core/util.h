/* Internal helpers shared by every module of libbulwark (not installed, not part of the API). */
#ifndef BWK_CORE_UTIL_H
#define BWK_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bulwark/error.h"

/* Allocation: out-of-memory aborts with a message (as crun's xmalloc does). Bounded inputs keep
 * every allocation small, so an OOM here is a host problem, not a recoverable input error. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable string with a hard cap: appends past `max` are truncated and set `truncated`. */
typedef struct bwk_strbuf {
	char *s;
	size_t len, cap, max;
	bool truncated;
} bwk_strbuf;
void bwk_strbuf_init(bwk_strbuf *sb, size_t max);
void bwk_strbuf_appendn(bwk_strbuf *sb, const char *s, size_t n);
void bwk_strbuf_append(bwk_strbuf *sb, const char *s);
void bwk_strbuf_printf(bwk_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *bwk_strbuf_steal(bwk_strbuf *sb); /* never NULL; resets sb */
void bwk_strbuf_free(bwk_strbuf *sb);

/* The user's cache base for bulwark, written once for every cache (secret rules, image layers
 * of a normal user, the vulnerability database): $XDG_CACHE_HOME/bulwark if absolute, else
 * $HOME/.cache/bulwark, else the passwd entry's home: services, cron jobs and CI steps often
 * run without HOME, and a cache that silently vanishes there costs every run a recompile.
 * NULL when none of them names an absolute directory. Not created. */
char *bwk_user_cache_dir(void);

/* sha256 of a buffer as 64 lowercase hex chars + NUL. */
void bwk_sha256_hex(const void *data, size_t len, char out[65]);

/* Streaming sha256 (nettle underneath). */
typedef struct bwk_sha256 bwk_sha256;
bwk_sha256 *bwk_sha256_new(void);
void bwk_sha256_update(bwk_sha256 *h, const void *data, size_t len);
void bwk_sha256_final_hex(bwk_sha256 *h, char out[65]); /* also resets for reuse */
void bwk_sha256_free(bwk_sha256 *h);

/* Read a whole regular file (at dirfd/path, O_NOFOLLOW unless follow) with a size cap.
 * Returns NUL-terminated data (len excludes the NUL). */
int bwk_read_file_at(int dirfd, const char *path, size_t max, bool follow, char **data, size_t *len,
		     bwk_error **err);

/* Write `len` bytes to `path` atomically: temp file in the same directory, fsync, rename.
 * An interrupted write leaves either the old file or nothing, never a half file. */
int bwk_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
			  bwk_error **err);
/* The same without the fsync, for files a reboot makes meaningless anyway (an OCI runtime's
 * state, a pid file): readers still see the old file or the whole new one, never a half file,
 * and the write costs no wait on the disk's journal (milliseconds on a busy disk). */
int bwk_write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
			   bwk_error **err);

/* Parse a size like "512m", "1g", "100k", "4096" into bytes. */
int bwk_parse_size(const char *s, uint64_t *out);

/* openat2(2) with `resolve` flags (RESOLVE_*), retried on EAGAIN: with RESOLVE_IN_ROOT or
 * RESOLVE_BENEATH the kernel answers EAGAIN when a rename or mount anywhere on the system raced
 * the lookup, and asks the caller to try again (a loaded machine sees it). Returns the fd, or
 * -1 with errno (ENOSYS, EPERM or E2BIG where openat2 is unavailable or filtered: the caller
 * falls back). */
int bwk_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/* One warning to the output handler (bulwark/log.h) unless `quiet`: every relaxed default, stripped
 * bit or skipped entry is said once, never silently. */
void bwk_warn(bool quiet, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if s ends with suffix. */
bool bwk_str_endswith(const char *s, const char *suffix);

/* Shannon entropy of a buffer in bits per byte. */
double bwk_entropy(const void *data, size_t len);

#endif
