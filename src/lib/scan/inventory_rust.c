/* Rust binaries built with cargo-auditable: the `.dep-v0` section holds the crate list as
 * zlib-compressed JSON, {"packages":[{"name","version","source","kind","root"},…]}. The
 * section table sits at the end of an ELF file, after the section itself, so the stream is
 * searched as it passes by (like the Go build information): every zlib header (0x78 then a
 * valid second byte) starts a trial inflate, kept only when its output begins with
 * `{"packages":`; then the stream is inflated to its end (at most RUST_MAX_JSON bytes) and
 * the JSON read. A failed trial hands the bytes it took back to the search, so a false start
 * hides nothing behind it. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"

#define RUST_MAX_JSON  (8u << 20) /* the crate list of a large binary is ~100 KiB */
#define RUST_MAX_TRIAL 512u	  /* raw bytes a trial may take before it must show its prefix */

static const char rust_prefix[] = "{\"packages\":";

struct inv_rustfind {
	unsigned char prev;
	bool have_prev, trial, confirmed, done;
	z_stream z;
	unsigned char raw[RUST_MAX_TRIAL]; /* the trial's input, handed back when it fails */
	size_t nraw;
	char *out;
	size_t nout, cap;
};

inv_rustfind *inv_rustfind_new(void)
{
	return xcalloc(1, sizeof(inv_rustfind));
}

static void trial_end(inv_rustfind *r)
{
	if (r->trial)
		inflateEnd(&r->z);
	r->trial = false;
}

void inv_rustfind_free(inv_rustfind *r)
{
	if (r) {
		trial_end(r);
		free(r->out);
		free(r);
	}
}

/* Inflate `n` more input bytes; false when the stream is not (or no longer) ours. */
static bool inflate_more(inv_rustfind *r, const unsigned char *p, size_t n)
{
	r->z.next_in = (unsigned char *)p;
	r->z.avail_in = (uInt)n;
	while (r->z.avail_in) {
		if (r->nout == r->cap) {
			if (r->cap >= RUST_MAX_JSON)
				return false;
			r->cap = r->cap ? r->cap * 2 : 4096;
			r->out = xrealloc(r->out, r->cap);
		}
		r->z.next_out = (unsigned char *)r->out + r->nout;
		r->z.avail_out = (uInt)(r->cap - r->nout);
		int rc = inflate(&r->z, Z_NO_FLUSH);
		r->nout = r->cap - r->z.avail_out;
		if (rc == Z_STREAM_END) {
			r->done =
			    r->confirmed || (r->nout >= sizeof(rust_prefix) - 1 &&
					     !memcmp(r->out, rust_prefix, sizeof(rust_prefix) - 1));
			return r->done;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return false;
		if (rc == Z_BUF_ERROR && r->z.avail_in == 0)
			break;
	}
	if (!r->confirmed && r->nout >= sizeof(rust_prefix) - 1) {
		if (memcmp(r->out, rust_prefix, sizeof(rust_prefix) - 1) != 0)
			return false;
		r->confirmed = true;
	}
	return true;
}

void inv_rustfind_feed(inv_rustfind *r, const unsigned char *p, size_t n);

/* A trial failed: its bytes after the header go back to the search. */
static void trial_fail(inv_rustfind *r)
{
	trial_end(r);
	size_t nb = r->nraw > 1 ? r->nraw - 1 : 0; /* from the header's second byte on */
	unsigned char *back = xmalloc(nb ? nb : 1);
	memcpy(back, r->raw + 1, nb);
	r->nraw = 0;
	r->nout = 0;
	r->confirmed = false;
	r->have_prev = false;
	/* nests once per false start within the bytes handed back (fewer each time) */
	inv_rustfind_feed(r, back, nb);
	free(back);
}

void inv_rustfind_feed(inv_rustfind *r, const unsigned char *p, size_t n)
{
	while (n && !r->done) {
		if (r->trial) {
			size_t take = n;
			if (!r->confirmed) {
				take = RUST_MAX_TRIAL - r->nraw < n ? RUST_MAX_TRIAL - r->nraw : n;
				if (take > 64)
					take = 64;
				memcpy(r->raw + r->nraw, p, take);
				r->nraw += take;
			}
			bool ok = inflate_more(r, p, take);
			p += take;
			n -= take;
			if (!ok || (!r->confirmed && !r->done && r->nraw >= RUST_MAX_TRIAL)) {
				if (r->confirmed) { /* ours, but broken or too large: give up */
					trial_end(r);
					r->confirmed = false;
					r->nout = 0;
					continue;
				}
				trial_fail(r);
			} else if (r->done) {
				trial_end(r);
			}
			continue;
		}
		if (!r->have_prev || r->prev != 0x78) {
			/* the search's hot path: straight to the next 0x78 */
			const unsigned char *x = memchr(p, 0x78, n);
			if (!x) {
				r->prev = p[n - 1];
				r->have_prev = true;
				return;
			}
			n -= (size_t)(x - p) + 1;
			p = x + 1;
			r->prev = 0x78;
			r->have_prev = true;
			continue;
		}
		unsigned char c = *p;
		/* 0x78 (deflate, 32 KiB window), then a byte that makes the header a multiple of
		 * 31 and sets no preset dictionary */
		if (r->have_prev && r->prev == 0x78 && ((0x78u << 8) | c) % 31 == 0 &&
		    !(c & 0x20)) {
			memset(&r->z, 0, sizeof(r->z));
			if (inflateInit(&r->z) == Z_OK) {
				r->trial = true;
				r->nraw = 0;
				r->nout = 0;
				unsigned char hdr[2] = {0x78, c};
				memcpy(r->raw, hdr, 2);
				r->nraw = 2;
				p++;
				n--;
				if (!inflate_more(r, hdr, 2))
					trial_fail(r);
				continue;
			}
		}
		r->prev = c;
		r->have_prev = true;
		p++;
		n--;
	}
}

bool inv_rustfind_result(const inv_rustfind *r, const char **json, size_t *n)
{
	*json = r->out;
	*n = r->nout;
	return r->done;
}

int inv_parse_cargo_auditable(const char *json, size_t len, inv_list *out, bwk_error **err)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je);
	json_t *pkgs = root ? json_object_get(root, "packages") : NULL;
	if (!json_is_array(pkgs)) {
		json_decref(root);
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "cargo-auditable data is not a package list: %s",
				     root ? "no \"packages\"" : je.text);
	}
	size_t i;
	json_t *x;
	int rc = 0;
	json_array_foreach(pkgs, i, x)
	{
		const char *name = json_string_value(json_object_get(x, "name"));
		const char *version = json_string_value(json_object_get(x, "version"));
		const char *source = json_string_value(json_object_get(x, "source"));
		const char *kind = json_string_value(json_object_get(x, "kind"));
		/* build dependencies run at build time and are not in the binary; local and git
		 * crates are not in the crates.io advisory database */
		if ((kind && strcmp(kind, "runtime") != 0) || !source ||
		    strcmp(source, "crates.io") != 0)
			continue;
		if (!name || !version || !*name || !*version || strlen(name) > INV_MAX_FIELD ||
		    strlen(version) > INV_MAX_FIELD) {
			out->skipped++;
			continue;
		}
		inv_pkg p = {.name = xstrdup(name), .version = xstrdup(version)};
		if ((rc = inv_list_take(out, &p, err)) < 0)
			break;
	}
	json_decref(root);
	return rc;
}
