/* The secret detector in the scanner: every regular file's bytes are streamed once through the
 * engine in overlapping blocks (memory stays at a few MiB per worker whatever the file size),
 * archives inside the image (zip/jar/war/whl, tar, gzip/bzip2/xz/zstd) are opened from the
 * stream with libarchive and their members scanned the same way (bounded depth, size and
 * entry count), and the image config (Env, Labels, Cmd/Entrypoint, build history) is scanned
 * as text. Every confirmed hit becomes a finding whose evidence the findings model redacts.
 *
 * Binary files: a file whose first 8 KiB holds a NUL byte (executables, images, databases) is
 * still scanned, but only armored blocks (PEM private keys) are reported in it: a random byte
 * run in a binary looks like any token shape, a `-----BEGIN … PRIVATE KEY-----` block does not. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "bulwark/image.h"
#include "core/cleanup.h"
#include "core/decomp.h"
#include "core/util.h"
#include "scan/scan_private.h"
#include "scan/secrets_private.h"

#define BLOCK	       (2u << 20)
#define OVERLAP	       (SEC_MAX_MATCH + SEC_CONTEXT)
#define MAX_DEPTH      2	      /* archive in a file, archive in that archive */
#define MAX_FILE_BYTES (1ull << 30)   /* per file: the rest of a larger file is not scanned */
#define MAX_ARC_BYTES  (256ull << 20) /* uncompressed bytes read from one nested archive */
/* … and from all nested archives of one scan: with only the per-archive cap, 20 zips of 1 MB
 * in a 22 MB image made the scan read 5 GiB (250 times the input). Beyond it archives are
 * scanned as the bytes they are, not opened, and one scan-incomplete finding says so. */
#define MAX_SCAN_ARC_BYTES (512ull << 20)
#define MAX_ARC_ENTRIES	   20000
#define MAX_ARC_RATIO	   200 /* uncompressed/compressed beyond this is a bomb */
#define MAX_WORKERS	   256
#define BINARY_SNIFF	   8192
#define CONFIG_RULES_PATH  ".env" /* selects path-scoped rules for image config text */

/* A byte stream: the entry's reader, or a member of an archive being read. `pre` holds bytes
 * already read to sniff the format, handed out again first. */
typedef struct sec_src {
	ssize_t (*read)(void *ctx, void *buf, size_t n, bwk_error **err);
	void *ctx;
	const char *pre;
	size_t npre;
} sec_src;

typedef struct sec_wstate {
	bwk_secrets_worker *w;
	char *buf[MAX_DEPTH + 1];    /* one block buffer per nesting level */
	char *arcbuf[MAX_DEPTH + 1]; /* libarchive input buffer per level */
} sec_wstate;

struct bwk_secscan {
	bwk_scanner *scanner;
	bwk_secrets *sec;
	bool sec_borrowed; /* from opts.compiled (bwk_scan_compiled): not freed here */
	sec_wstate *ws[MAX_WORKERS];
	bool progress;
	atomic_ullong bytes;
	atomic_llong last_ns;
	atomic_int layer;
	atomic_ullong arc_bytes; /* read from nested archives, against MAX_SCAN_ARC_BYTES */
	atomic_bool arc_noted;	 /* the scan-incomplete finding was reported */
	atomic_uint keystores;	 /* opened, against SEC_MAX_SCAN_KEYSTORES */
	atomic_bool ks_noted;	 /* their scan-incomplete finding was reported */
};

size_t bwk_secscan_rule_count(const bwk_secscan *sc)
{
	return sc && sc->sec ? bwk_secrets_rule_count(sc->sec) : 0;
}

/* What a hit needs to become a finding. */
typedef struct hitctx {
	bwk_secscan *sc;
	const bwk_entry *e; /* NULL for the image config */
	const char *path;
	const char *key;
} hitctx;

static int on_hit(void *ctx, const bwk_secret_hit *h, bwk_error **err)
{
	hitctx *hc = ctx;
	return bwk_scan_report_secret(hc->sc->scanner, h->rule, hc->e, hc->path, h->line, hc->key,
				      h->secret, h->secret_len, err);
}

static void progress(bwk_secscan *sc, size_t n)
{
	unsigned long long total = atomic_fetch_add(&sc->bytes, n) + n;
	if (!sc->progress)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	long long last = atomic_load(&sc->last_ns);
	if (now - last < 250000000LL || !atomic_compare_exchange_strong(&sc->last_ns, &last, now))
		return;
	int layer = atomic_load(&sc->layer);
	size_t layers = sc->scanner->img ? bwk_image_layer_count(sc->scanner->img) : 0;
	if (layer >= 0)
		bwk_log(BWK_LOG_PROGRESS, "scanning layer %d of %zu: %.1f MiB uncompressed read",
			layer + 1, layers, (double)total / 1048576.0);
	else
		bwk_log(BWK_LOG_PROGRESS, "scanning: %.1f MiB read", (double)total / 1048576.0);
}

static ssize_t src_read(sec_src *in, char *buf, size_t n, bwk_error **err)
{
	if (in->npre) {
		size_t k = in->npre < n ? in->npre : n;
		memcpy(buf, in->pre, k);
		in->pre += k;
		in->npre -= k;
		return (ssize_t)k;
	}
	return in->read(in->ctx, buf, n, err);
}

/* Fill buf[0..want) as far as the stream allows; returns bytes read or -1. */
static ssize_t src_fill(sec_src *in, char *buf, size_t want, bwk_error **err)
{
	size_t got = 0;
	while (got < want) {
		ssize_t r = src_read(in, buf + got, want - got, err);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static bool looks_archive(const unsigned char *p, size_t n)
{
	if (n >= 4 && p[0] == 'P' && p[1] == 'K' && p[2] == 3 && p[3] == 4)
		return true; /* zip, jar, war, whl, apk … */
	if (n >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8)
		return true; /* gzip */
	if (n >= 6 && memcmp(p,
			     "\xfd"
			     "7zXZ\0",
			     6) == 0)
		return true; /* xz */
	if (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return true; /* zstd */
	if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9')
		return true; /* bzip2 */
	if (n >= 262 && memcmp(p + 257, "ustar", 5) == 0)
		return true; /* tar */
	return false;
}

static int scan_source(bwk_secscan *sc, sec_wstate *st, const bwk_entry *e, const char *path,
		       sec_src *in, int depth, bwk_error **err);

/* ---- nested archives --------------------------------------------------------------------- */

/* What libarchive reads: the nested file's bytes or, for a gzip file (a .tar.gz, a man page,
 * a changelog.gz: /usr/share alone holds thousands), their inflation by the layer reader's
 * decoder (core/decomp.h: ISA-L where installed, 2.3x the speed of libarchive's zlib filter). */
typedef struct arc_in {
	sec_src *in;
	char *buf;  /* what libarchive is handed */
	char *zbuf; /* gzip: compressed bytes read from in, zbuf[zpos..zlen) not inflated yet */
	size_t zpos, zlen;
	decomp *gz;
	bool sniffed, zeof;
	bwk_error *err; /* an error of the outer stream (not of the archive's format) */
	uint64_t bytes_in;
} arc_in;

#define ARC_BUF (64u << 10)

static ssize_t arc_fill(arc_in *ai, char *dst)
{
	ssize_t r = src_read(ai->in, dst, ARC_BUF, ai->err ? NULL : &ai->err);
	if (r > 0)
		ai->bytes_in += (uint64_t)r;
	return r;
}

/* The next inflated block of a gzip file; 0 at its end (or where it is cut short: what was
 * inflated is scanned, as libarchive's filter would have), -1 on corrupt data. */
static la_ssize_t arc_inflate(arc_in *ai, const void **out)
{
	for (;;) {
		if (ai->zpos == ai->zlen && !ai->zeof) {
			ssize_t r = arc_fill(ai, ai->zbuf);
			if (r < 0)
				return -1;
			ai->zeof = r == 0;
			ai->zpos = 0;
			ai->zlen = (size_t)r;
		}
		size_t c, p;
		bwk_error *derr = NULL;
		int rc = decomp_run(ai->gz, ai->zbuf + ai->zpos, ai->zlen - ai->zpos, &c, ai->buf,
				    ARC_BUF, &p, &derr);
		bwk_error_free(derr);
		if (rc < 0)
			return -1; /* a corrupt member: the archive ends here, the outer scan goes
				      on */
		ai->zpos += c;
		if (p) {
			*out = ai->buf;
			return (la_ssize_t)p;
		}
		if (ai->zeof && ai->zpos == ai->zlen)
			return 0;
		if (!c && ai->zpos < ai->zlen)
			return -1; /* no progress on pending input: cannot happen on sane data */
	}
}

static la_ssize_t arc_read(struct archive *a, void *ctx, const void **out)
{
	(void)a;
	arc_in *ai = ctx;
	if (ai->gz)
		return arc_inflate(ai, out);
	ssize_t r = arc_fill(ai, ai->buf);
	if (r < 0)
		return -1;
	if (!ai->sniffed) {
		ai->sniffed = true;
		if (bwk_sniff_comp((const unsigned char *)ai->buf, (size_t)r) == BWK_COMP_GZIP) {
			ai->gz = decomp_new(BWK_COMP_GZIP);
			ai->zbuf = xmalloc(ARC_BUF);
			memcpy(ai->zbuf, ai->buf, (size_t)r);
			ai->zlen = (size_t)r;
			return arc_inflate(ai, out);
		}
	}
	*out = ai->buf;
	return r;
}

static void arc_in_done(arc_in *ai)
{
	decomp_free(ai->gz);
	free(ai->zbuf);
}

typedef struct member {
	struct archive *a;
	arc_in *ai;
	uint64_t *total;
	atomic_ullong *scan_total;
	bool capped, spent;
} member;

static bool arc_budget_spent(bwk_secscan *sc)
{
	return atomic_load(&sc->arc_bytes) >= MAX_SCAN_ARC_BYTES;
}

static ssize_t member_read(void *ctx, void *buf, size_t n, bwk_error **err)
{
	(void)err;
	member *m = ctx;
	if (atomic_load(m->scan_total) >= MAX_SCAN_ARC_BYTES) {
		m->capped = m->spent = true;
		return 0;
	}
	if (*m->total >= MAX_ARC_BYTES ||
	    *m->total > (m->ai->bytes_in + (1u << 20)) * MAX_ARC_RATIO) {
		m->capped = true;
		return 0;
	}
	la_ssize_t r = archive_read_data(m->a, buf, n);
	if (r < 0)
		return 0; /* a corrupt member ends here; the outer scan goes on */
	*m->total += (uint64_t)r;
	atomic_fetch_add(m->scan_total, (unsigned long long)r);
	return (ssize_t)r;
}

/* Once per scan: nested archives stop being opened here, and the report says so rather than
 * letting a clean result claim more than was looked at. */
static int note_arc_budget(bwk_secscan *sc, const bwk_entry *e, const char *path, bwk_error **err)
{
	if (atomic_exchange(&sc->arc_noted, true))
		return 0;
	cleanup_free char *msg =
	    xasprintf("nested archives: the %llu MiB budget of one scan was spent at %s; archives "
		      "after it were scanned as plain bytes, not opened",
		      MAX_SCAN_ARC_BYTES >> 20, path);
	bwk_finding_spec spec = {.rule = &bwk_rule_scan_incomplete, .message = msg, .severity = -1};
	return bwk_scan_report(sc->scanner, e, &spec, err);
}

BWK_DEFINE_CLEANUP(struct archive *, archive_read_free)

static int scan_archive(bwk_secscan *sc, sec_wstate *st, const bwk_entry *e, const char *path,
			sec_src *in, int depth, bwk_error **err)
{
	cleanup_with(archive_read_freep) struct archive *a = archive_read_new();
	if (!a)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "libarchive");
	archive_read_support_filter_gzip(a); /* a gzip inside another compression only */
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_zip_streamable(a);
	archive_read_support_format_raw(a); /* a compressed single file: "x.gz" */
	if (!st->arcbuf[depth])
		st->arcbuf[depth] = xmalloc(ARC_BUF);
	cleanup_with(arc_in_done) arc_in ai = {.in = in, .buf = st->arcbuf[depth]};
	if (archive_read_open(a, &ai, NULL, arc_read, NULL) != ARCHIVE_OK) {
		if (ai.err) {
			*err = steal_pointer(&ai.err);
			return -1;
		}
		return 0; /* not an archive after all: nothing more to find in it */
	}
	uint64_t total = 0;
	struct archive_entry *ae;
	for (unsigned n = 0; n < MAX_ARC_ENTRIES; n++) {
		int r = archive_read_next_header(a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			break; /* corrupt archive: stop here, what was scanned stays scanned */
		if (archive_entry_filetype(ae) != AE_IFREG)
			continue;
		const char *name = archive_entry_pathname(ae);
		if (!name || !*name)
			name = "data";
		while (*name == '/' || (name[0] == '.' && name[1] == '/'))
			name += name[0] == '/' ? 1 : 2;
		cleanup_free char *sub = xasprintf("%s!/%s", path, name);
		member m = {.a = a, .ai = &ai, .total = &total, .scan_total = &sc->arc_bytes};
		sec_src msrc = {.read = member_read, .ctx = &m};
		if (scan_source(sc, st, e, sub, &msrc, depth + 1, err) < 0)
			return -1;
		if (m.spent && note_arc_budget(sc, e, sub, err) < 0)
			return -1;
		if (m.capped)
			break;
	}
	if (ai.err) {
		*err = steal_pointer(&ai.err);
		return -1;
	}
	/* the outer stream must be drained so that the image reader sees the whole layer */
	char drain[4096];
	for (;;) {
		ssize_t r = src_read(in, drain, sizeof(drain), err);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
	}
	return 0;
}

/* ---- one stream -------------------------------------------------------------------------- */

/* Once per scan: keystores stop being opened here, and the report says so. */
static int note_keystore_budget(bwk_secscan *sc, const bwk_entry *e, const char *path,
				bwk_error **err)
{
	if (atomic_exchange(&sc->ks_noted, true))
		return 0;
	cleanup_free char *note =
	    xasprintf("Keystores: the %u that one scan opens were opened before %s; it and those "
		      "after it were not checked for a weak password",
		      SEC_MAX_SCAN_KEYSTORES, path);
	bwk_finding_spec spec = {
	    .rule = &bwk_rule_scan_incomplete, .message = note, .severity = -1};
	return e ? bwk_scan_report(sc->scanner, e, &spec, err)
		 : bwk_findings_add(sc->scanner->out, &spec, err);
}

/* A PKCS#12 or Java keystore whose key opens without a password or with a well-known one; at
 * info, as a public test key, when a package ships the file (data/secrets-public-keys.txt) or it
 * is in test data. */
static int report_keystore(bwk_secscan *sc, const bwk_entry *e, const char *path, bool test_path,
			   const char *buf, size_t len, bwk_error **err)
{
	bool jks = sec_jks_sniff(buf, len);
	if ((!jks && !sec_keystore_sniff(buf, len)) || len > SEC_KEYSTORE_MAX)
		return 0;
	if (atomic_fetch_add(&sc->keystores, 1) >= SEC_MAX_SCAN_KEYSTORES)
		return note_keystore_budget(sc, e, path, err);
	sec_keystore_result r;
	if (!(jks ? sec_jks_check(buf, len, &r) : sec_keystore_check(buf, len, &r)))
		return 0;
	const char *pw = sec_keystore_password_name(r.password);
	cleanup_free char *how = r.unprotected ? xstrdup("stored without encryption")
				 : pw && *pw
				     ? xasprintf("opens with the well-known password \"%s\"", pw)
				     : xstrdup("opens with the empty password");
	cleanup_free char *msg =
	    jks ? xasprintf("Java keystore (%s) holding a private or secret key: it %s",
			    (unsigned char)buf[0] == 0xFE ? "JKS" : "JCEKS", how)
		: xasprintf("PKCS#12 keystore: %u private key%s %s", r.keys, r.keys == 1 ? "" : "s",
			    how);
	bool pub = test_path || sec_published(sc->sec, buf, len);
	bwk_finding_spec spec = {
	    .rule = jks ? (pub ? &sec_rule_java_keystore_public : &sec_rule_java_keystore)
			: (pub ? &sec_rule_keystore_public : &sec_rule_keystore),
	    .loc = {.target = sc->scanner->opts.target, .layer_index = -1, .path = path},
	    .message = msg,
	    .severity = -1,
	};
	if (e)
		return bwk_scan_report(sc->scanner, e, &spec, err);
	return bwk_findings_add(sc->scanner->out, &spec, err);
}

static int scan_source(bwk_secscan *sc, sec_wstate *st, const bwk_entry *e, const char *path,
		       sec_src *in, int depth, bwk_error **err)
{
	if (sec_path_allowed(sc->sec, path))
		return 0;
	if (!st->buf[depth])
		st->buf[depth] = xmalloc(BLOCK);
	char *buf = st->buf[depth];
	ssize_t got = src_fill(in, buf, BLOCK, err);
	if (got < 0)
		return -1;
	if (got == 0)
		return 0;
	if (depth < MAX_DEPTH && looks_archive((const unsigned char *)buf, (size_t)got) &&
	    !arc_budget_spent(sc)) {
		sec_src again = {.read = in->read, .ctx = in->ctx, .pre = buf, .npre = (size_t)got};
		/* the first block is replayed from buf, so the archive reads into other buffers */
		return scan_archive(sc, st, e, path, &again, depth, err);
	}
	bool binary = memchr(buf, '\0', (size_t)got < BINARY_SNIFF ? (size_t)got : BINARY_SNIFF);
	sec_worker_set_path(st->w, path);
	/* a whole keystore is in the first block (SEC_KEYSTORE_MAX < BLOCK) */
	if ((size_t)got < BLOCK &&
	    report_keystore(sc, e, path, sec_worker_test_path(st->w), buf, (size_t)got, err) < 0)
		return -1;
	hitctx hc = {.sc = sc, .e = e, .path = path};
	size_t len = (size_t)got;
	unsigned line = 1;
	uint64_t scanned = 0;
	bool first = true;
	for (;;) {
		bool final = len < BLOCK;
		sec_block b = {
		    .data = buf,
		    .len = len,
		    .own_start = first ? 0 : SEC_CONTEXT,
		    .own_end = final ? len : len - SEC_MAX_MATCH,
		    .line = line,
		    .binary = binary,
		};
		if (sec_scan_block(st->w, &b, on_hit, &hc, err) < 0)
			return -1;
		size_t adv = final ? len : len - OVERLAP;
		scanned += adv;
		if (depth == 0)
			progress(sc, adv);
		if (final)
			break;
		if (scanned >= MAX_FILE_BYTES) {
			/* drain without scanning: the walker needs the stream consumed */
			while ((got = src_fill(in, buf, BLOCK, err)) > 0)
				;
			return got < 0 ? -1 : 0;
		}
		line += (unsigned)sec_count_lines(buf, adv);
		memmove(buf, buf + adv, OVERLAP);
		got = src_fill(in, buf + OVERLAP, BLOCK - OVERLAP, err);
		if (got < 0)
			return -1;
		/* even at EOF the tail of the overlap is still unowned: one more (final) block */
		len = OVERLAP + (size_t)got;
		first = false;
	}
	return 0;
}

/* ---- scanner hooks ----------------------------------------------------------------------- */

static ssize_t entry_read(void *ctx, void *buf, size_t n, bwk_error **err)
{
	return bwk_entry_read(ctx, buf, n, err);
}

int bwk_secscan_new(bwk_scanner *s, bwk_secscan **out, bwk_error **err)
{
	bwk_secscan *sc = xcalloc(1, sizeof(*sc));
	sc->scanner = s;
	sc->sec = bwk_scan_compiled_secrets(s->opts.compiled);
	sc->sec_borrowed = sc->sec != NULL;
	if (!sc->sec && bwk_secrets_new(s->opts.rules_file, &sc->sec, err) < 0) {
		free(sc);
		return -1;
	}
	sc->progress = !s->opts.quiet && bwk_log_progress();
	atomic_init(&sc->bytes, 0);
	atomic_init(&sc->last_ns, 0);
	atomic_init(&sc->layer, -1);
	atomic_init(&sc->arc_bytes, 0);
	atomic_init(&sc->arc_noted, false);
	atomic_init(&sc->keystores, 0);
	atomic_init(&sc->ks_noted, false);
	*out = sc;
	return 0;
}

void bwk_secscan_free(bwk_secscan *sc)
{
	if (!sc)
		return;
	if (sc->progress && atomic_load(&sc->last_ns))
		bwk_log(BWK_LOG_PROGRESS, "%s", "");
	for (size_t i = 0; i < MAX_WORKERS; i++) {
		sec_wstate *st = sc->ws[i];
		if (!st)
			continue;
		sec_worker_give(sc->sec, st->w);
		for (int d = 0; d <= MAX_DEPTH; d++) {
			free(st->buf[d]);
			free(st->arcbuf[d]);
		}
		free(st);
	}
	if (!sc->sec_borrowed)
		bwk_secrets_free(sc->sec);
	free(sc);
}

void bwk_secscan_layer(bwk_secscan *sc, int layer_index)
{
	atomic_store(&sc->layer, layer_index);
}

int bwk_secscan_entry(bwk_secscan *sc, const bwk_entry *e, bwk_error **err)
{
	if (e->type != BWK_ENTRY_FILE || !e->read || e->size == 0)
		return 0;
	if (e->worker >= MAX_WORKERS)
		return bwk_error_set(err, BWK_E_INTERNAL, 0, "worker index %u out of range",
				     e->worker);
	/* each slot is only ever touched by the thread whose index it is */
	sec_wstate *st = sc->ws[e->worker];
	if (!st) {
		st = xcalloc(1, sizeof(*st));
		if (!(st->w = sec_worker_take(sc->sec, err))) {
			free(st);
			return -1;
		}
		sc->ws[e->worker] = st;
	}
	sec_src in = {.read = entry_read, .ctx = (void *)e};
	if (scan_source(sc, st, e, e->path, &in, 0, err) < 0)
		return bwk_error_wrap(err, "scanning %s for secrets", e->path);
	return 0;
}

static int scan_text(bwk_secscan *sc, const char *text, const char *key, bwk_error **err)
{
	if (!text || !*text)
		return 0;
	hitctx hc = {.sc = sc, .key = key};
	/* Env entries, labels and build args are KEY=VALUE lines: the rules for .env files
	 * (generic password/token assignments among them) apply to them as they would to the
	 * .env file they usually come from. */
	return sec_scan_buffer(sc->sec, CONFIG_RULES_PATH, true, text, strlen(text), on_hit, &hc,
			       err);
}

static int scan_argv(bwk_secscan *sc, const char *const *argv, const char *key, bwk_error **err)
{
	if (!argv || !argv[0])
		return 0;
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 1 << 20);
	for (size_t i = 0; argv[i]; i++)
		bwk_strbuf_printf(&sb, "%s%s", i ? " " : "", argv[i]);
	cleanup_free char *s = bwk_strbuf_steal(&sb);
	return scan_text(sc, s, key, err);
}

int bwk_secscan_config(bwk_secscan *sc, const bwk_image_config *cfg, bwk_error **err)
{
	char key[256];
	for (size_t i = 0; cfg->env && cfg->env[i]; i++) {
		snprintf(key, sizeof(key), "config.Env[%zu]", i);
		if (scan_text(sc, cfg->env[i], key, err) < 0)
			return -1;
	}
	for (size_t i = 0; cfg->label_keys && cfg->label_keys[i]; i++) {
		cleanup_free char *kv = xasprintf(
		    "%s=%s", cfg->label_keys[i],
		    cfg->label_values && cfg->label_values[i] ? cfg->label_values[i] : "");
		snprintf(key, sizeof(key), "config.Labels[%.200s]", cfg->label_keys[i]);
		if (scan_text(sc, kv, key, err) < 0)
			return -1;
	}
	if (scan_argv(sc, cfg->entrypoint, "config.Entrypoint", err) < 0 ||
	    scan_argv(sc, cfg->cmd, "config.Cmd", err) < 0)
		return -1;
	for (size_t i = 0; i < cfg->nhistory; i++) {
		snprintf(key, sizeof(key), "history[%zu].created_by", i);
		if (scan_text(sc, cfg->history[i].created_by, key, err) < 0)
			return -1;
	}
	return 0;
}
