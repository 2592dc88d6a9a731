/* tar-split reassembly: a layer's original tar from containers/storage's `<id>.tar-split.gz`
 * and the layer's files (podman_store.h). The bytes are those Podman exports; the caller
 * checks them against the layer's diff digest, so nothing read here is trusted. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <nettle/base64.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "image/image_private.h"
#include "image/podman_store.h"

#define TS_IN_BUF (64u << 10)

void ts_entry_free(ts_entry *e)
{
	free(e->name);
	free(e->payload);
	memset(e, 0, sizeof(*e));
}

static int b64_decode(const char *s, size_t n, unsigned char **out, size_t *olen)
{
	struct base64_decode_ctx ctx;
	base64_decode_init(&ctx);
	unsigned char *buf = xmalloc(BASE64_DECODE_LENGTH(n) + 1);
	size_t got = BASE64_DECODE_LENGTH(n) + 1;
	if (!base64_decode_update(&ctx, &got, buf, n, s) || !base64_decode_final(&ctx)) {
		free(buf);
		return -1;
	}
	*out = buf;
	*olen = got;
	return 0;
}

/* A file's name: NUL-free, bounded in length and depth. */
static bool name_ok(const char *s, size_t n)
{
	if (n > BWK_MAX_PATH || memchr(s, '\0', n))
		return false;
	size_t depth = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' && ++depth > TS_MAX_DEPTH)
			return false;
	return true;
}

int ts_parse_line(const char *line, size_t len, ts_entry *e, bwk_error **err)
{
	memset(e, 0, sizeof(*e));
	json_error_t je;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!j || !json_is_object(j)) {
		if (j)
			json_decref(j);
		return bwk_error_set(err, BWK_E_INPUT, 0, "not a JSON object (%s)",
				     j ? "another value" : je.text);
	}
	int ret = -1;
	json_t *t = json_object_get(j, "type"), *pl = json_object_get(j, "payload");
	json_t *sz = json_object_get(j, "size"), *nm = json_object_get(j, "name"),
	       *raw = json_object_get(j, "name_raw");
	if (!json_is_integer(t) ||
	    (json_integer_value(t) != TS_FILE && json_integer_value(t) != TS_SEGMENT)) {
		bwk_error_set(err, BWK_E_INPUT, 0, "\"type\" must be 1 (file) or 2 (segment)");
		goto out;
	}
	e->type = (int)json_integer_value(t);
	if (e->type == TS_SEGMENT) {
		if (json_is_null(pl) || !pl) {
			ret = 0; /* an empty segment */
			goto out;
		}
		if (!json_is_string(pl) || b64_decode(json_string_value(pl), json_string_length(pl),
						      &e->payload, &e->plen) < 0) {
			bwk_error_set(err, BWK_E_INPUT, 0, "segment: \"payload\" is not base64");
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (sz && !json_is_null(sz) && (!json_is_integer(sz) || json_integer_value(sz) < 0)) {
		bwk_error_set(err, BWK_E_INPUT, 0, "file: \"size\" must be a non-negative integer");
		goto out;
	}
	e->size = json_is_integer(sz) ? (uint64_t)json_integer_value(sz) : 0;
	if (json_is_string(raw)) {
		unsigned char *n = NULL;
		size_t nl = 0;
		if (b64_decode(json_string_value(raw), json_string_length(raw), &n, &nl) < 0 ||
		    !name_ok((const char *)n, nl)) {
			free(n);
			bwk_error_set(err, BWK_E_INPUT, 0, "file: bad \"name_raw\"");
			goto out;
		}
		n[nl] = '\0';
		e->name = (char *)n;
	} else if (json_is_string(nm) && name_ok(json_string_value(nm), json_string_length(nm))) {
		e->name = xstrdup(json_string_value(nm));
	} else {
		bwk_error_set(err, BWK_E_INPUT, 0,
			      "file: \"name\" missing, too long, too deep or with a NUL");
		goto out;
	}
	ret = 0;
out:
	json_decref(j);
	if (ret < 0)
		ts_entry_free(e);
	return ret;
}

struct ts_reader {
	int fd;
	decomp *d;
	const char *what;
	ts_open_fn open;
	void *open_ctx;
	unsigned char *in, *dec; /* compressed input; decompressed bytes not yet in a line */
	size_t inpos, inlen, decpos, declen;
	bool in_eof, dec_done;
	char *line;
	size_t linelen, linecap;
	uint64_t lines;
	/* what is being handed out */
	unsigned char *seg;
	size_t segpos, seglen;
	int filefd;
	uint64_t fileleft;
	char *fname;
	bool ended;
};

ts_reader *ts_reader_new(int fd, bwk_comp comp, ts_open_fn open, void *open_ctx, const char *what)
{
	ts_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->d = decomp_new(comp);
	r->what = what;
	r->open = open;
	r->open_ctx = open_ctx;
	r->in = xmalloc(TS_IN_BUF);
	r->dec = xmalloc(TS_IN_BUF);
	r->filefd = -1;
	return r;
}

void ts_reader_free(ts_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->filefd >= 0)
		close(r->filefd);
	decomp_free(r->d);
	free(r->in);
	free(r->dec);
	free(r->line);
	free(r->seg);
	free(r->fname);
	free(r);
}

/* More decompressed bytes into r->dec: 1, 0 at the end of the tar-split, -1 on error. */
static int fill_dec(ts_reader *r, bwk_error **err)
{
	for (;;) {
		if (r->dec_done)
			return 0;
		if (r->inpos == r->inlen && !r->in_eof) {
			ssize_t n = read(r->fd, r->in, TS_IN_BUF);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return bwk_error_set(err, BWK_E_IO, errno, "tar-split: read");
			r->inpos = 0;
			r->inlen = (size_t)n;
			r->in_eof = n == 0;
		}
		size_t used = 0, made = 0;
		if (decomp_run(r->d, r->in + r->inpos, r->inlen - r->inpos, &used, r->dec,
			       TS_IN_BUF, &made, err) < 0)
			return bwk_error_wrap(err, "tar-split");
		r->inpos += used;
		r->decpos = 0;
		r->declen = made;
		if (made)
			return 1;
		if (r->in_eof && r->inpos == r->inlen) {
			if (!decomp_at_boundary(r->d))
				return bwk_error_set(err, BWK_E_INPUT, 0, "tar-split: truncated");
			r->dec_done = true;
			return 0;
		}
	}
}

/* The next line into r->line (without '\n'): 1, 0 at the end, -1 on error. */
static int next_line(ts_reader *r, bwk_error **err)
{
	r->linelen = 0;
	for (;;) {
		if (r->decpos == r->declen) {
			int f = fill_dec(r, err);
			if (f < 0)
				return -1;
			if (f == 0)
				return r->linelen ? 1 : 0;
		}
		const unsigned char *s = r->dec + r->decpos;
		size_t avail = r->declen - r->decpos;
		const unsigned char *nl = memchr(s, '\n', avail);
		size_t take = nl ? (size_t)(nl - s) : avail;
		if (r->linelen + take > TS_MAX_LINE)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "tar-split: a line over %u bytes",
					     TS_MAX_LINE);
		if (r->linelen + take + 1 > r->linecap) {
			r->linecap = (r->linelen + take + 1) * 2;
			r->line = xrealloc(r->line, r->linecap);
		}
		memcpy(r->line + r->linelen, s, take);
		r->linelen += take;
		r->decpos += take + (nl ? 1 : 0);
		if (nl)
			return 1;
	}
}

/* Load what the next entry hands out: 1, 0 at the end, -1 on error. */
static int next_entry(ts_reader *r, bwk_error **err)
{
	for (;;) {
		int l = next_line(r, err);
		if (l <= 0)
			return l;
		if (++r->lines > TS_MAX_LINES)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "tar-split: more than %u lines",
					     TS_MAX_LINES);
		if (r->linelen == 0)
			continue;
		ts_entry e;
		if (ts_parse_line(r->line, r->linelen, &e, err) < 0)
			return bwk_error_wrap(err, "tar-split line %llu",
					      (unsigned long long)r->lines);
		if (e.type == TS_SEGMENT) {
			if (!e.plen) {
				ts_entry_free(&e);
				continue;
			}
			free(r->seg);
			r->seg = e.payload;
			r->seglen = e.plen;
			r->segpos = 0;
			e.payload = NULL;
			ts_entry_free(&e);
			return 1;
		}
		if (e.size == 0) { /* a directory, a link, an empty file: all in the headers */
			ts_entry_free(&e);
			continue;
		}
		int fd = r->open(r->open_ctx, e.name, err);
		if (fd < 0) {
			ts_entry_free(&e);
			return -1;
		}
		free(r->fname);
		r->fname = e.name;
		e.name = NULL;
		r->filefd = fd;
		r->fileleft = e.size;
		ts_entry_free(&e);
		return 1;
	}
}

/* What the current segment or file has next, or the next entry's: > 0, 0 at the end, -1. */
static ssize_t read_some(ts_reader *r, void *buf, size_t len, bwk_error **err)
{
	for (;;) {
		if (r->ended || !len)
			return 0;
		if (r->segpos < r->seglen) {
			size_t n = r->seglen - r->segpos < len ? r->seglen - r->segpos : len;
			memcpy(buf, r->seg + r->segpos, n);
			r->segpos += n;
			return (ssize_t)n;
		}
		if (r->filefd >= 0) {
			size_t want = r->fileleft < len ? (size_t)r->fileleft : len;
			ssize_t n = read(r->filefd, buf, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return bwk_error_set(err, BWK_E_IO, errno, "%s: %s: read", r->what,
						     r->fname);
			if (n == 0)
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "%s: %s is shorter than its tar header says "
						     "(was the store changed under Podman?)",
						     r->what, r->fname);
			r->fileleft -= (uint64_t)n;
			if (!r->fileleft) {
				close(r->filefd);
				r->filefd = -1;
			}
			return n;
		}
		int e = next_entry(r, err);
		if (e < 0)
			return bwk_error_wrap(err, "%s", r->what);
		if (e == 0) {
			r->ended = true;
			return 0;
		}
	}
}

/* As much of len as there is: the layer reader hashes and parses in large blocks, not one
 * 512-byte header at a time. */
ssize_t ts_reader_read(ts_reader *r, void *buf, size_t len, bwk_error **err)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read_some(r, (char *)buf + got, len - got, err);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}
