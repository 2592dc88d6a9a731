/* Host ids for the containers of root: every container used to map to 100000-165535, the range
 * adduser gives the first login user, whose processes could then signal the container's and
 * who owned whatever it left on a volume. Now bulwark reserves a range of its own in
 * /etc/subuid and /etc/subgid and each running container claims one 65536-id slice of it
 * (as Podman's --userns=auto does). The claim is an open-file-description lock, which the
 * kernel drops when the last descriptor closes: a crashed or killed bulwark leaves no state. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define ID_SPACE     (1ull << 32)
#define LOCK_WAIT_MS 15000 /* as lckpwdf() */
#define LOCK_STEP_MS 20

void sbx_subid_file_free(sbx_subid_file *f)
{
	free(f->other);
	f->other = NULL;
	f->nother = f->cap = 0;
}

void sbx_subid_db_free(sbx_subid_db *db)
{
	sbx_subid_file_free(&db->uid);
	sbx_subid_file_free(&db->gid);
}

/* A number as shadow-utils reads one (strtoul, base 0: decimal, 0x hex, 0 octal, leading
 * blanks; no sign, nothing after it). Reading exactly what newuidmap honours matters: an
 * entry we misread as malformed would be one we fail to keep clear of. */
static bool parse_num(const char *s, size_t n, uint64_t *out)
{
	char buf[SBX_SUBID_MAX_FIELD + 1];
	if (n == 0 || n > SBX_SUBID_MAX_FIELD || memchr(s, '-', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return false;
	*out = v;
	return true;
}

static void printable(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i = 0;
	for (; i < n && i + 1 < cap; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = 0;
}

static int parse_line(const char *l, size_t n, unsigned lineno, sbx_subid_file *f, bwk_error **err)
{
	const char *c1 = memchr(l, ':', n);
	const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - l)) : NULL;
	/* exactly three non-empty fields, as shadow-utils and Podman require */
	if (!c1 || !c2 || c1 == l || memchr(c2 + 1, ':', n - (size_t)(c2 + 1 - l)))
		return 0;
	uint64_t start, count;
	bool ok = parse_num(c1 + 1, (size_t)(c2 - c1 - 1), &start) &&
		  parse_num(c2 + 1, n - (size_t)(c2 + 1 - l), &count);
	size_t nl = (size_t)(c1 - l);
	if (nl == strlen(SBX_SUBID_OWNER) && !memcmp(l, SBX_SUBID_OWNER, nl)) {
		if (f->has_own)
			return 0; /* the first one is ours; a later one grants only us */
		if (!ok || start == 0 || count < SBX_SUBID_SLICE || start >= UINT32_MAX ||
		    count > UINT32_MAX - start)
			return bwk_error_set(
			    err, BWK_E_INPUT, 0,
			    "%s line %u: malformed %s entry (want START:COUNT, COUNT >= %u, "
			    "START+COUNT <= 4294967295): fix or remove the line",
			    f->path, lineno, SBX_SUBID_OWNER, SBX_SUBID_SLICE);
		f->has_own = true;
		f->own_start = (uint32_t)start;
		f->own_count = (uint32_t)count;
		f->own_line = lineno;
		return 0;
	}
	if (!ok || count == 0 || start >= ID_SPACE)
		return 0; /* grants nothing any tool honours, or nothing in the 32-bit id space */
	if (f->nother >= SBX_SUBID_MAX_ENTRIES)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%s: more than %u entries: not read (is it the right file?)",
				     f->path, SBX_SUBID_MAX_ENTRIES);
	if (f->nother == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->other = xrealloc(f->other, f->cap * sizeof *f->other);
	}
	sbx_subid_entry *e = &f->other[f->nother++];
	e->start = start;
	e->end = count > ID_SPACE - start ? ID_SPACE : start + count; /* overflow: to the end */
	e->line = lineno;
	printable(e->name, sizeof e->name, l, nl);
	return 0;
}

int sbx_subid_parse(const char *data, size_t len, const char *path, sbx_subid_file *out,
		    bwk_error **err)
{
	memset(out, 0, sizeof *out);
	snprintf(out->path, sizeof out->path, "%s", path);
	if (len > SBX_SUBID_MAX_FILE)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: larger than %u bytes: not read",
				     path, SBX_SUBID_MAX_FILE);
	unsigned lineno = 0;
	for (size_t off = 0; off < len;) {
		const char *l = data + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;
		off += n + 1;
		lineno++;
		/* a NUL ends the line for C readers: what precedes it may be honoured */
		const char *z = memchr(l, 0, n);
		if (z)
			n = (size_t)(z - l);
		if (parse_line(l, n, lineno, out, err) < 0) {
			sbx_subid_file_free(out);
			return -1;
		}
	}
	return 0;
}

const sbx_subid_entry *sbx_subid_conflict(const sbx_subid_file *f, uint64_t start, uint64_t count)
{
	uint64_t end = start + count;
	for (size_t i = 0; i < f->nother; i++)
		if (f->other[i].start < end && start < f->other[i].end)
			return &f->other[i];
	return NULL;
}

static int cmp_entry(const void *a, const void *b)
{
	const sbx_subid_entry *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int sbx_subid_pick(const sbx_subid_file *a, const sbx_subid_file *b, uint32_t *start,
		   uint32_t *count)
{
	size_t n = a->nother + b->nother;
	cleanup_free sbx_subid_entry *v = xcalloc(n + 1, sizeof *v);
	if (a->nother)
		memcpy(v, a->other, a->nother * sizeof *v);
	if (b->nother)
		memcpy(v + a->nother, b->other, b->nother * sizeof *v);
	qsort(v, n, sizeof *v, cmp_entry);
	uint64_t cur = SBX_SUBID_WINDOW_LO, best = 0, best_len = 0;
	for (size_t i = 0; i <= n; i++) {
		/* the gap before entry i (or before the window's end) */
		uint64_t gap_end =
		    i < n && v[i].start < SBX_SUBID_WINDOW_HI ? v[i].start : SBX_SUBID_WINDOW_HI;
		uint64_t s = (cur + SBX_SUBID_SLICE - 1) / SBX_SUBID_SLICE * SBX_SUBID_SLICE;
		uint64_t e = gap_end / SBX_SUBID_SLICE * SBX_SUBID_SLICE;
		if (e > s && e - s > best_len) {
			best = s;
			best_len = e - s;
		}
		if (i < n && v[i].end > cur)
			cur = v[i].end;
		if (cur >= SBX_SUBID_WINDOW_HI)
			break;
	}
	if (best_len < (uint64_t)SBX_SUBID_MIN_SLICES * SBX_SUBID_SLICE)
		return -1;
	*start = (uint32_t)best;
	*count = (uint32_t)best_len;
	return 0;
}

static int conflict_error(const sbx_subid_file *f, const char *what, uint64_t start, uint64_t count,
			  const sbx_subid_entry *e, bwk_error **err)
{
	return bwk_error_set(err, BWK_E_UNSAFE, 0,
			     "%s %llu:%llu overlaps the subordinate ids of '%s' in %s (line %u, "
			     "%llu:%llu): containers would share ids with that owner",
			     what, (unsigned long long)start, (unsigned long long)count, e->name,
			     f->path, e->line, (unsigned long long)e->start,
			     (unsigned long long)(e->end - e->start));
}

int sbx_subid_check_explicit(const sbx_subid_db *db, uint32_t start, uint32_t count,
			     bwk_error **err)
{
	if (count == 0 || count > SBX_SUBID_SLICE)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "host id range %u:%u: COUNT must be 1 to %u", start, count,
				     SBX_SUBID_SLICE);
	if (start < SBX_SUBID_EXPLICIT_MIN)
		return bwk_error_set(err, BWK_E_UNSAFE, 0,
				     "host id range %u:%u: ids below %u are the host's own users "
				     "and groups: choose a START of at least %u",
				     start, count, SBX_SUBID_EXPLICIT_MIN, SBX_SUBID_EXPLICIT_MIN);
	if ((uint64_t)start + count > UINT32_MAX)
		return bwk_error_set(err, BWK_E_USAGE, 0,
				     "host id range %u:%u: ends past the last id (4294967294)",
				     start, count);
	const sbx_subid_file *fs[2] = {&db->uid, &db->gid};
	for (int i = 0; i < 2; i++) {
		const sbx_subid_file *f = fs[i];
		const sbx_subid_entry *e = sbx_subid_conflict(f, start, count);
		if (e)
			return conflict_error(f, "host id range", start, count, e, err);
		if (f->has_own && start < (uint64_t)f->own_start + f->own_count &&
		    f->own_start < (uint64_t)start + count)
			return bwk_error_set(
			    err, BWK_E_UNSAFE, 0,
			    "host id range %u:%u overlaps bulwark's own range %u:%u in %s (line "
			    "%u), whose slices go to other containers: choose ids outside it",
			    start, count, f->own_start, f->own_count, f->path, f->own_line);
	}
	return 0;
}

/* ---- files ---- */

static const char *env_dir(const char *var, const char *def)
{
	const char *e = getenv(var);
	return e && *e ? e : def;
}

/* Whoever can write these can hand our ids to anyone: only root may. */
static int check_owner(int fd, const char *path, bool dir, struct stat *st, bwk_error **err)
{
	if (fstat(fd, st) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: stat", path);
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return bwk_error_set(err, BWK_E_UNSAFE, 0, "%s: not a %s", path,
				     dir ? "directory" : "regular file");
	if (st->st_uid != 0 || (st->st_mode & 022))
		return bwk_error_set(err, BWK_E_UNSAFE, 0,
				     "%s: writable by others than root (owner %u, mode %04o): "
				     "whoever writes it can claim the containers' ids; chown root "
				     "and chmod go-w it",
				     path, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
	return 0;
}

typedef struct raw_file {
	char *data;
	size_t len;
	bool exists;
	struct stat st;
} raw_file;

static int read_db(int dfd, const char *dir, const char *name, raw_file *r, bwk_error **err)
{
	memset(r, 0, sizeof *r);
	cleanup_close int fd =
	    openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot open", dir, name);
		r->data = xstrdup("");
		return 0;
	}
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	if (check_owner(fd, path, false, &r->st, err) < 0)
		return -1;
	if (r->st.st_size > SBX_SUBID_MAX_FILE)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: larger than %u bytes: not read",
				     path, SBX_SUBID_MAX_FILE);
	/* sized by fstat (this runs at every start), grown if the file grows meanwhile */
	size_t cap = (size_t)r->st.st_size + 1, len = 0;
	cleanup_free char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap > SBX_SUBID_MAX_FILE)
				return bwk_error_set(err, BWK_E_LIMIT, 0,
						     "%s: larger than %u bytes: not read", path,
						     SBX_SUBID_MAX_FILE);
			cap = cap * 2 > SBX_SUBID_MAX_FILE + 1 ? SBX_SUBID_MAX_FILE + 1 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		size_t want = cap - len;
		ssize_t n = read(fd, buf + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: read", path);
		len += (size_t)n;
		if ((size_t)n < want)
			break; /* a regular file reads short only at its end */
	}
	buf[len] = 0;
	r->data = steal_pointer(&buf);
	r->len = len;
	r->exists = true;
	return 0;
}

/* The own range must not share an id with anyone else's. */
static int check_own(const sbx_subid_file *f, bwk_error **err)
{
	if (!f->has_own)
		return 0;
	const sbx_subid_entry *e = sbx_subid_conflict(f, f->own_start, f->own_count);
	return e ? conflict_error(f, "the " SBX_SUBID_OWNER " range", f->own_start, f->own_count, e,
				  err)
		 : 0;
}

static int load_both(int dfd, const char *dir, sbx_subid_db *db, raw_file raw[2], bwk_error **err)
{
	static const char *const names[2] = {"subuid", "subgid"};
	sbx_subid_file *fs[2] = {&db->uid, &db->gid};
	for (int i = 0; i < 2; i++) {
		if (read_db(dfd, dir, names[i], &raw[i], err) < 0)
			return -1;
		cleanup_free char *path = xasprintf("%s/%s", dir, names[i]);
		if (sbx_subid_parse(raw[i].data, raw[i].len, path, fs[i], err) < 0 ||
		    check_own(fs[i], err) < 0)
			return -1;
	}
	return 0;
}

static void raw_free(raw_file raw[2])
{
	for (int i = 0; i < 2; i++) {
		free(raw[i].data);
		raw[i].data = NULL;
	}
}

/* The password-file lock: an OFD write lock on .pwd.lock conflicts with lckpwdf()'s fcntl
 * lock, which useradd, usermod and vipw take before they rewrite /etc/subuid. */
static int lock_pwd(int dfd, const char *dir, bwk_error **err)
{
	cleanup_close int fd =
	    openat(dfd, ".pwd.lock", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/.pwd.lock: cannot open", dir);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	for (int waited = 0; fcntl(fd, F_OFD_SETLK, &fl) < 0; waited += LOCK_STEP_MS) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			return bwk_error_set(err, BWK_E_IO, errno, "%s/.pwd.lock: lock", dir);
		if (waited >= LOCK_WAIT_MS)
			return bwk_error_set(err, BWK_E_RUNTIME, 0,
					     "%s/.pwd.lock: held by another program (useradd, "
					     "vipw …) for %d s: try again",
					     dir, LOCK_WAIT_MS / 1000);
		nanosleep(&(struct timespec){0, LOCK_STEP_MS * 1000000L}, NULL);
	}
	return steal_fd(&fd);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Old content plus our line, atomically: a temporary file with the old file's owner and mode,
 * fsync, rename over it, fsync the directory. A crash leaves the old file or the new one. */
static int append_own(int dfd, const char *dir, const char *name, const raw_file *r, uint32_t start,
		      uint32_t count, bwk_error **err)
{
	cleanup_free char *tmp = xasprintf(".%s.bulwark-new", name);
	cleanup_free char *path = xasprintf("%s/%s", dir, name);
	(void)unlinkat(dfd, tmp, 0); /* a crashed run's: we hold the lock */
	cleanup_close int fd =
	    openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot create", dir, tmp);
	uid_t uid = r->exists ? r->st.st_uid : 0;
	gid_t gid = r->exists ? r->st.st_gid : 0;
	mode_t mode = r->exists ? r->st.st_mode & 07777 : 0644;
	char line[64];
	snprintf(line, sizeof line, "%s%s:%u:%u\n",
		 r->len && r->data[r->len - 1] != '\n' ? "\n" : "", SBX_SUBID_OWNER, start, count);
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0 || write_all(fd, r->data, r->len) ||
	    write_all(fd, line, strlen(line)) || fsync(fd) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		int e = errno;
		(void)unlinkat(dfd, tmp, 0);
		return bwk_error_set(err, BWK_E_IO, e, "%s: adding the %s entry", path,
				     SBX_SUBID_OWNER);
	}
	(void)fsync(dfd);
	return 0;
}

/* Under the lock: the files as they are now (another bulwark may have just added the entries),
 * then each missing entry, the other file's range when it is free here, else a new one. */
static int add_missing(int dfd, const char *dir, sbx_subid_db *db, const bwk_container_spec *note,
		       bwk_error **err)
{
	raw_file raw[2] = {0};
	sbx_subid_db_free(db);
	int rc = load_both(dfd, dir, db, raw, err);
	sbx_subid_file *fs[2] = {&db->uid, &db->gid};
	static const char *const names[2] = {"subuid", "subgid"};
	uint32_t ps = 0, pc = 0;
	bool picked = false;
	for (int i = 0; rc == 0 && i < 2; i++) {
		sbx_subid_file *f = fs[i], *o = fs[1 - i];
		if (f->has_own)
			continue;
		uint32_t s, c;
		if (o->has_own && !sbx_subid_conflict(f, o->own_start, o->own_count)) {
			s = o->own_start;
			c = o->own_count;
		} else if (picked || sbx_subid_pick(&db->uid, &db->gid, &ps, &pc) == 0) {
			picked = true;
			s = ps;
			c = pc;
		} else {
			rc = bwk_error_set(
			    err, BWK_E_RUNTIME, 0,
			    "no free range of at least %u ids between %u and %u clear of "
			    "every other line",
			    SBX_SUBID_MIN_SLICES * SBX_SUBID_SLICE, SBX_SUBID_WINDOW_LO,
			    SBX_SUBID_WINDOW_HI - 1);
			break;
		}
		rc = append_own(dfd, dir, names[i], &raw[i], s, c, err);
		if (rc == 0) {
			f->has_own = true;
			f->own_start = s;
			f->own_count = c;
			sbx_warn(note,
				 "added '%s:%u:%u' to %s/%s: root's containers get %u-id slices "
				 "of it",
				 SBX_SUBID_OWNER, s, c, dir, names[i], SBX_SUBID_SLICE);
		}
	}
	raw_free(raw);
	return rc;
}

int sbx_subid_load(sbx_subid_db *db, bool add, const bwk_container_spec *note, bwk_error **err)
{
	memset(db, 0, sizeof *db);
	const char *dir = env_dir("BWK_ETC_DIR", "/etc");
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (dfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", dir);
	if (check_owner(dfd, dir, true, &st, err) < 0)
		return -1;
	raw_file raw[2] = {0};
	int rc = load_both(dfd, dir, db, raw, err);
	raw_free(raw);
	if (rc == 0 && add && !(db->uid.has_own && db->gid.has_own)) {
		/* once per host: add our entries */
		cleanup_close int lock = lock_pwd(dfd, dir, err);
		rc = lock < 0 ? -1 : add_missing(dfd, dir, db, note, err);
		if (rc < 0)
			bwk_error_wrap(
			    err,
			    "adding bulwark's range to %s/subuid and %s/subgid (or add a "
			    "'%s:START:COUNT' line to both by hand, or give an explicit "
			    "host id range)",
			    dir, dir, SBX_SUBID_OWNER);
	}
	if (rc < 0)
		sbx_subid_db_free(db);
	return rc;
}

/* ---- claims ---- */

static int open_run_dir(const char **dirp, bwk_error **err)
{
	const char *dir = env_dir("BWK_RUN_DIR", "/run/bulwark");
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	*dirp = dir;
	cleanup_close int dfd = open(dir, flags);
	if (dfd < 0 && errno == ENOENT) { /* first run since boot */
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot create", dir);
		dfd = open(dir, flags);
	}
	struct stat st;
	if (dfd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s: cannot open", dir);
	if (check_owner(dfd, dir, true, &st, err) < 0)
		return -1;
	return steal_fd(&dfd);
}

/* Claims that outlive the process which made them: an OCI container's `create` exits while
 * the container stays. A record CLAIMS_DIR/<first uid> is a symbolic link to a file (in the
 * container's state directory) holding that same number while the container exists; `delete`
 * removes the state directory and so ends the claim, and a record whose file is gone or holds
 * another number claims nothing. */
#define CLAIMS_DIR "userns-claims"

static bool record_live(int dfd, uint32_t start)
{
	char name[16], target[PATH_MAX], num[16];
	snprintf(name, sizeof name, "%u", start);
	cleanup_close int cd =
	    openat(dfd, CLAIMS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = cd < 0 ? -1 : readlinkat(cd, name, target, sizeof target - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	cleanup_close int f = open(target, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t r = f < 0 ? -1 : read(f, num, sizeof num - 1);
	if (r <= 0)
		return false;
	num[r] = 0;
	return strtoul(num, NULL, 10) == start;
}

int sbx_subid_record(uint32_t start, const char *claim_file, bwk_error **err)
{
	const char *dir;
	cleanup_close int dfd = open_run_dir(&dir, err);
	if (dfd < 0)
		return -1;
	if (mkdirat(dfd, CLAIMS_DIR, 0700) < 0 && errno != EEXIST)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s: cannot create", dir, CLAIMS_DIR);
	cleanup_close int cd =
	    openat(dfd, CLAIMS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char name[16];
	snprintf(name, sizeof name, "%u", start);
	if (cd >= 0)
		(void)unlinkat(cd, name, 0); /* a stale one: we hold the slice's lock */
	if (cd < 0 || symlinkat(claim_file, cd, name) < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/%s/%s: cannot create", dir,
				     CLAIMS_DIR, name);
	return 0;
}

static int open_claims(int *run_dir, bwk_error **err)
{
	const char *dir;
	cleanup_close int dfd = open_run_dir(&dir, err);
	struct stat st;
	if (dfd < 0)
		return -1;
	cleanup_close int fd =
	    openat(dfd, "userns.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno, "%s/userns.lock: cannot open", dir);
	cleanup_free char *path = xasprintf("%s/userns.lock", dir);
	if (check_owner(fd, path, false, &st, err) < 0)
		return -1;
	*run_dir = steal_fd(&dfd);
	return steal_fd(&fd);
}

/* Byte b of the lock file stands for host uid b: one lock per claimed range, so an explicit
 * range and any slice that shares an id with it can never both be held. */
static int try_claim(int fd, uint32_t start, uint32_t count, bwk_error **err)
{
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = count};
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 1;
	if (errno == EAGAIN || errno == EACCES)
		return 0;
	return bwk_error_set(err, BWK_E_IO, errno, "locking host ids %u-%u", start,
			     start + (count - 1));
}

int sbx_subid_claim(const sbx_subid_db *db, uint32_t start, uint32_t count, uint32_t *uid,
		    uint32_t *gid, uint32_t *n, bwk_error **err)
{
	cleanup_close int run_dir = -1;
	cleanup_close int fd = open_claims(&run_dir, err);
	if (fd < 0)
		return -1;
	if (count) {
		int r = try_claim(fd, start, count, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return bwk_error_set(err, BWK_E_RUNTIME, 0,
					     "host ids %u-%u are in use by another running bulwark "
					     "container: choose another range",
					     start, start + (count - 1));
		*uid = *gid = start;
		*n = count;
		return steal_fd(&fd);
	}
	uint32_t cu = db->uid.own_count, cg = db->gid.own_count;
	uint32_t slices = (cu < cg ? cu : cg) / SBX_SUBID_SLICE;
	for (uint32_t i = 0; i < slices; i++) {
		uint32_t off = i * SBX_SUBID_SLICE;
		if (record_live(run_dir, db->uid.own_start + off))
			continue; /* an OCI container's, which outlives its create */
		int r = try_claim(fd, db->uid.own_start + off, SBX_SUBID_SLICE, err);
		if (r < 0)
			return -1;
		if (r) {
			*uid = db->uid.own_start + off;
			*gid = db->gid.own_start + off;
			*n = SBX_SUBID_SLICE;
			return steal_fd(&fd);
		}
	}
	return bwk_error_set(err, BWK_E_RUNTIME, 0,
			     "all %u slices of bulwark's range (%s line %u) are in use by running "
			     "containers: stop one, or widen the %s entries of %s and %s",
			     slices, db->uid.path, db->uid.own_line, SBX_SUBID_OWNER, db->uid.path,
			     db->gid.path);
}
