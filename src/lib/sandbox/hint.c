/* The storage hint: a command that failed on the read-only root or a full tmpfs gets one line
 * naming the path and the setting that would allow the write (nginx's `mkdir()
 * "/var/lib/nginx/body" failed (30: Read-only file system)`, initdb's "No space left on
 * device").
 *
 * How it is detected: from the last SBX_ERR_TAIL bytes of the command's stderr, which the relay
 * copies anyway (stdio.c), and only after a non-zero exit. Knowing for sure which write failed
 * would take fanotify or tracing every write of the container (cost on every run, privileges);
 * the strerror() texts are what every libc and runtime prints for EROFS and ENOSPC, and a
 * wrong guess costs one line of advice after a failure, never a behaviour. The tail is the
 * command's own output (untrusted): the path is cut at the first delimiter, bounded and
 * reduced to printable bytes before it is shown. Under -t the tail is the terminal's output (stdout
 * and stderr are one stream there). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "bulwark/log.h"
#include "sandbox/sandbox_private.h"

#define MAX_SHOWN 120 /* the line names it up to four times and stays whole */

static const char *last_of(const char *tail, size_t len, const char *needle)
{
	const char *best = NULL;
	size_t nl = strlen(needle);
	for (const char *p = tail; p + nl <= tail + len; p++) {
		p = memchr(p, needle[0], (size_t)(tail + len - p));
		if (!p || p + nl > tail + len)
			break;
		if (!memcmp(p, needle, nl))
			best = p;
	}
	return best;
}

/* The first absolute path on the line around `at`, printable, into buf ("" when none). */
static void path_on_line(const char *tail, size_t len, const char *at, char *buf, size_t blen)
{
	const char *b = at, *e = at;
	while (b > tail && b[-1] != '\n')
		b--;
	while (e < tail + len && *e != '\n')
		e++;
	buf[0] = 0;
	for (const char *p = b; p < e; p++) {
		if (*p != '/' || (p > b && !strchr(" \t\"'`(:=[{<", p[-1])))
			continue;
		size_t n = 0;
		while (p + n < e && !strchr(" \t\"'`):,;]}>", p[n]) && n + 1 < blen &&
		       n < MAX_SHOWN)
			n++;
		for (size_t i = 0; i < n; i++)
			buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
		buf[n] = 0;
		while (n > 1 && (buf[n - 1] == '.' || buf[n - 1] == '/'))
			buf[--n] = 0;
		return;
	}
}

static bool within(const char *path, const char *top)
{
	size_t l = strlen(top);
	while (l > 1 && top[l - 1] == '/')
		l--;
	return !strncmp(path, top, l) && (path[l] == 0 || path[l] == '/');
}

bool sbx_storage_hint(const bwk_container_spec *s, const char *tail, size_t len, char *out,
		      size_t outlen)
{
	const char *rofs = last_of(tail, len, "Read-only file system");
	const char *full = last_of(tail, len, "No space left on device");
	if (!rofs && !full)
		return false;
	bool enospc = full && (!rofs || full > rofs);
	char path[MAX_SHOWN + 1] = ""; /* whole: the analyzer cannot see within() reads set bytes */
	path_on_line(tail, len, enospc ? full : rofs, path, sizeof path);
	const char *shown = path[0] ? path : "a path";

	uint64_t writable = s->writable_size; /* the spec's, set (check_spec refuses 0) */
	/* the kernel's read-only views (/proc/sys, sysfs) and /dev: no flag makes them writable */
	if (path[0] && (within(path, "/proc") || within(path, "/sys") ||
			(within(path, "/dev") && !within(path, "/dev/shm"))))
		return false;
	/* the mount the path is on: the deepest destination that contains it */
	const char *tmpfs_size = bwk_setting("tmpfs-size", "the tmpfs size");
	const char *writable_size = bwk_setting("writable-size", "the writable size");
	const char *mnt = NULL, *setting = NULL, *aside = "";
	bool ro_bind = false;
	static const char *const fixed[] = {"/tmp", "/dev/shm", "/run"};
	for (size_t i = 0; path[0] && i < sizeof fixed / sizeof *fixed; i++)
		if (within(path, fixed[i])) {
			mnt = fixed[i];
			setting = tmpfs_size;
			aside = strcmp(mnt, "/run") ? "" : " (/run has a quarter of it)";
		}
	for (size_t i = 0; path[0] && i < s->ntmpfs; i++)
		if (s->tmpfs[i].dst && within(path, s->tmpfs[i].dst) &&
		    (!mnt || strlen(s->tmpfs[i].dst) > strlen(mnt))) {
			mnt = s->tmpfs[i].dst;
			/* an anonymous volume is sized by writable_size */
			aside = "";
			setting = writable_size;
			if (s->tmpfs[i].size && s->tmpfs[i].size != writable) {
				setting = "the size= of its ";
				aside = bwk_setting("tmpfs", "tmpfs");
			}
		}
	for (size_t i = 0; path[0] && i < s->nbinds; i++)
		if (s->binds[i].dst && within(path, s->binds[i].dst) &&
		    (!mnt || strlen(s->binds[i].dst) > strlen(mnt))) {
			mnt = s->binds[i].dst;
			setting = NULL;
			ro_bind = !s->binds[i].rw;
		}

	if (enospc) {
		if (mnt && setting)
			snprintf(out, outlen,
				 "the command failed after \"No space left on device\" on %s: the "
				 "tmpfs at %s is full; raise %s%s",
				 shown, mnt, setting, aside);
		else if (mnt)
			snprintf(out, outlen,
				 "the command failed after \"No space left on device\" on %s: the "
				 "host filesystem of the volume at %s is full",
				 shown, mnt);
		else if (s->read_write)
			snprintf(out, outlen,
				 "the command failed after \"No space left on device\" on %s: the "
				 "writable root is full; raise %s",
				 shown, writable_size);
		else if (s->writable_var && path[0] && sbx_varfs_holds(path))
			snprintf(out, outlen,
				 "the command failed after \"No space left on device\" on %s: the "
				 "writable layer of /var's state directories is full; raise %s",
				 shown, writable_size);
		else
			snprintf(out, outlen,
				 "the command failed after \"No space left on device\" on %s",
				 shown);
		return true;
	}
	if (ro_bind) {
		snprintf(out, outlen,
			 "the command failed after \"Read-only file system\" on %s: the volume at "
			 "%s is read-only; give it :rw",
			 shown, mnt);
		return true;
	}
	if (mnt) /* a tmpfs is never read-only: not one of ours */
		return false;
	char dir[MAX_SHOWN + 1];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0; /* the directory the write went to */
	const char *tmpfs = bwk_setting("tmpfs", "a tmpfs at");
	const char *volume = bwk_setting("volume", "bind");
	const char *read_write = bwk_setting("read-write", "the read-write setting");
	if (s->read_write)
		snprintf(out, outlen, "the command failed after \"Read-only file system\" on %s",
			 shown);
	else if (path[0])
		snprintf(out, outlen,
			 "the command failed after \"Read-only file system\" on %s: the root "
			 "filesystem is read-only; make %s writable with %s %s or a volume "
			 "(%s DIR:%s:rw), or the whole root with %s",
			 shown, dir, tmpfs, dir, volume, dir, read_write);
	else
		snprintf(out, outlen,
			 "the command failed after \"Read-only file system\": the root filesystem "
			 "is read-only; %s DIR or a volume (%s HOSTDIR:DIR:rw) makes a "
			 "directory writable, %s the whole root",
			 tmpfs, volume, read_write);
	return true;
}
