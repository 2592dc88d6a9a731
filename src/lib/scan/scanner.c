#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "bulwark/image.h"
#include "bulwark/secrets.h"
#include "bulwark/vuln.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/inventory_private.h"
#include "scan/scan_private.h"

static int add_settled(bwk_scanner *s, const bwk_finding_spec *spec, bwk_visibility vis,
		       int layer_index, int hidden_by, bwk_error **err)
{
	cleanup_free char *msg = NULL;
	bwk_finding_spec sp = *spec;
	/* Deleted or replaced files still ship in their layer: say so, it is the point of the
	 * finding. */
	if (vis == BWK_HIDDEN)
		msg = xasprintf("%s%sremoved in layer %d, still shipped in layer %d",
				spec->message ? spec->message : "", spec->message ? "; " : "",
				hidden_by + 1, layer_index + 1);
	else if (vis == BWK_REPLACED)
		msg = xasprintf("%s%sreplaced in layer %d, this version still shipped in layer %d",
				spec->message ? spec->message : "", spec->message ? "; " : "",
				hidden_by + 1, layer_index + 1);
	if (msg)
		sp.message = msg;
	return bwk_findings_add(s->out, &sp, err);
}

static char *dup_opt(const char *p)
{
	return p ? xstrdup(p) : NULL;
}

int bwk_scan_report(bwk_scanner *s, const bwk_entry *e, const bwk_finding_spec *spec,
		    bwk_error **err)
{
	bwk_finding_spec sp = *spec;
	sp.loc.target = s->opts.target;
	sp.loc.layer = e->layer_digest;
	sp.loc.layer_index = e->layer_index;
	sp.loc.path = spec->loc.path ? spec->loc.path : e->path;
	if (e->visibility != BWK_VIS_UNKNOWN || !s->img)
		return add_settled(s, &sp, e->visibility, e->layer_index, e->hidden_by, err);
	/* A lower layer read before the layers above it: hold the finding until walk_end. */
	bwk_pending p = {.spec = sp};
	p.path = xstrdup(e->path);
	if (sp.loc.path != e->path && strcmp(sp.loc.path, e->path) != 0)
		p.display = xstrdup(sp.loc.path);
	p.layer = dup_opt(e->layer_digest);
	p.message = dup_opt(sp.message);
	p.evidence = dup_opt(sp.evidence);
	if (sp.secret) {
		p.secret = xmalloc(sp.secret_len + 1);
		memcpy(p.secret, sp.secret, sp.secret_len);
		p.secret[sp.secret_len] = '\0';
	}
	p.spec.loc.path = p.display ? p.display : p.path;
	p.spec.loc.layer = p.layer;
	p.spec.message = p.message;
	p.spec.evidence = p.evidence;
	p.spec.secret = p.secret;
	pthread_mutex_lock(&s->lock);
	if (s->npending == s->cappending) {
		s->cappending = s->cappending ? s->cappending * 2 : 64;
		s->pending = xrealloc(s->pending, s->cappending * sizeof(*s->pending));
	}
	s->pending[s->npending++] = p;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void pending_free(bwk_pending *p)
{
	free(p->path);
	free(p->display);
	free(p->layer);
	free(p->message);
	free(p->evidence);
	if (p->secret) {
		explicit_bzero(p->secret, p->spec.secret_len);
		free(p->secret);
	}
}

static int on_walk_end(void *ctx, bwk_error **err)
{
	bwk_scanner *s = ctx;
	int ret = 0;
	for (size_t i = 0; i < s->npending; i++) {
		bwk_pending *p = &s->pending[i];
		int hidden_by = -1;
		bwk_visibility vis =
		    bwk_image_visibility(s->img, p->spec.loc.layer_index, p->path, &hidden_by);
		if (ret == 0)
			ret =
			    add_settled(s, &p->spec, vis, p->spec.loc.layer_index, hidden_by, err);
		pending_free(p);
	}
	s->npending = 0;
	return ret;
}

int bwk_scan_report_entry(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			  const char *message, bwk_error **err)
{
	bwk_finding_spec spec = {.rule = rule, .message = message, .severity = -1};
	return bwk_scan_report(s, e, &spec, err);
}

int bwk_scan_report_secret(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			   const char *path, unsigned line, const char *key, const char *secret,
			   size_t secret_len, bwk_error **err)
{
	bwk_finding_spec spec = {
	    .rule = rule,
	    .loc = {.target = s->opts.target,
		    .layer_index = -1,
		    .path = path,
		    .line = line,
		    .key = key},
	    .secret = secret,
	    .secret_len = secret_len,
	    .severity = -1,
	};
	if (e)
		return bwk_scan_report(s, e, &spec, err);
	return bwk_findings_add(s->out, &spec, err);
}

static int on_integrity(void *ctx, int layer_index, const char *what, const char *expected,
			const char *actual, bwk_error **err)
{
	bwk_scanner *s = ctx;
	cleanup_free char *msg =
	    xasprintf("%s: expected %s, got %s", what, expected ? expected : "?", actual);
	bwk_finding_spec spec = {
	    .rule = &bwk_rule_layer_digest,
	    .loc = {.target = s->opts.target,
		    .layer = layer_index >= 0 && s->img
				 ? bwk_image_layer_digest(s->img, (size_t)layer_index)
				 : NULL,
		    .layer_index = layer_index},
	    .message = msg,
	    .severity = -1,
	};
	return bwk_findings_add(s->out, &spec, err);
}

typedef struct config_hit_ctx {
	bwk_scanner *s;
	const bwk_rule *rule;
} config_hit_ctx;

static int config_hit(void *hctx, const char *key, const char *message, int severity,
		      bwk_error **err)
{
	config_hit_ctx *h = hctx;
	bwk_finding_spec spec = {
	    .rule = h->rule,
	    .loc = {.target = h->s->opts.target, .layer_index = -1, .key = key},
	    .message = message,
	    .severity = severity,
	};
	return bwk_findings_add(h->s->out, &spec, err);
}

static int on_config(void *ctx, const bwk_image_config *cfg, bwk_error **err)
{
	bwk_scanner *s = ctx;
	if (s->opts.inventory_only)
		return 0;
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++) {
		config_hit_ctx h = {s, &(*r)->rule};
		if ((*r)->config && (*r)->config(cfg, config_hit, &h, err) < 0)
			return -1;
	}
	return bwk_secscan_config(s->secrets, cfg, err);
}

static int on_entry(void *ctx, const bwk_entry *e, bwk_error **err)
{
	bwk_scanner *s = ctx;
	/* the inventory reads package databases first and hands their bytes on (one read) */
	cleanup_with(inv_tee_done) inv_tee tee = {0};
	if (!s->opts.no_vuln && bwk_inv_entry(s->inv, e, &tee, &e, err) < 0)
		return -1;
	if (s->opts.inventory_only)
		return 0;
	if (bwk_cfgscan_entry(s->cfg, s, e, err) < 0)
		return -1;
	/* the config rules need account files whole: read once, replayed to what follows */
	bwk_tee ct;
	if (e->type == BWK_ENTRY_FILE && e->size && bwk_cfgscan_wants(e)) {
		if (bwk_content_read(s->content, e, e->size, &ct, err) < 0)
			return bwk_error_wrap(err, "reading %s", e->path);
		bwk_cfgscan_content(s->cfg, e, ct.buf, ct.len);
		e = &ct.e;
	}
	if (!s->mal || e->type != BWK_ENTRY_FILE || !e->size)
		return bwk_secscan_entry(s->secrets, e, err);
	/* YARA sees the bytes as they stream past the secret scan: one decompression, one copy */
	uint64_t max = s->opts.max_file_size ? s->opts.max_file_size : BWK_SCAN_MAX_FILE_SIZE;
	const bwk_entry *through;
	if (bwk_malscan_begin(s->mal, s, e, max, &through, err) < 0)
		return -1;
	int ret = bwk_secscan_entry(s->secrets, through, err);
	if (bwk_malscan_end(s->mal, e, ret == 0, ret == 0 ? err : NULL) < 0 && ret == 0)
		return bwk_error_wrap(err, "scanning %s for malware", e->path);
	return ret;
}

static int on_layer_begin(void *ctx, unsigned worker, int layer_index, const char *digest,
			  bwk_error **err)
{
	(void)worker;
	(void)digest;
	(void)err;
	bwk_scanner *s = ctx;
	if (s->secrets)
		bwk_secscan_layer(s->secrets, layer_index);
	return 0;
}

struct bwk_scan_compiled {
	bwk_secrets *sec;
	bwk_malscan *mal; /* NULL with no_malware */
};

int bwk_scan_compiled_new(const bwk_scan_opts *opts, bwk_scan_compiled **out, bwk_error **err)
{
	bwk_scan_compiled *r = xcalloc(1, sizeof(*r));
	if ((!opts->inventory_only && !opts->no_malware &&
	     bwk_malscan_new(opts->yara_dir, &r->mal, err) < 0) ||
	    (!opts->inventory_only && bwk_secrets_new(opts->rules_file, &r->sec, err) < 0)) {
		bwk_scan_compiled_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

void bwk_scan_compiled_free(bwk_scan_compiled *r)
{
	if (!r)
		return;
	bwk_secrets_free(r->sec);
	bwk_malscan_free(r->mal);
	free(r);
}

bwk_secrets *bwk_scan_compiled_secrets(const bwk_scan_compiled *r)
{
	return r ? r->sec : NULL;
}

static int mal_new(const bwk_scan_opts *opts, bwk_malscan **out, bwk_error **err)
{
	if (opts->compiled && opts->compiled->mal)
		return bwk_malscan_share(opts->compiled->mal, out, err);
	return bwk_malscan_new(opts->yara_dir, out, err);
}

int bwk_scanner_new(const bwk_scan_opts *opts, bwk_findings *out, bwk_scanner **s, bwk_error **err)
{
	bwk_scanner *x = xcalloc(1, sizeof(*x));
	x->opts = *opts;
	x->opts.no_vuln = opts->no_vuln && !opts->inventory_only; /* sbom: the inventory is all */
	x->out = out;
	x->visitor.ctx = x;
	x->visitor.entry = on_entry;
	x->visitor.config = on_config;
	x->visitor.integrity = on_integrity;
	x->visitor.walk_end = on_walk_end;
	x->visitor.layer_begin = on_layer_begin;
	pthread_mutex_init(&x->lock, NULL);
	x->inv = bwk_inv_new();
	x->cfg = bwk_cfgscan_new();
	x->content = bwk_content_new();
	/* an inventory alone (sbom) needs no compiled secret or YARA rules */
	if (!opts->inventory_only && !opts->no_malware && mal_new(opts, &x->mal, err) < 0) {
		bwk_malscan_free(x->mal);
		x->mal = NULL;
		bwk_scanner_free(x);
		return -1;
	}
	if (!opts->inventory_only && bwk_secscan_new(x, &x->secrets, err) < 0) {
		bwk_malscan_free(x->mal);
		bwk_inv_free(x->inv);
		bwk_cfgscan_free(x->cfg);
		bwk_content_free(x->content);
		pthread_mutex_destroy(&x->lock);
		free(x);
		return -1;
	}
	*s = x;
	return 0;
}

void bwk_scanner_free(bwk_scanner *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npending; i++)
		pending_free(&s->pending[i]);
	free(s->pending);
	bwk_secscan_free(s->secrets);
	bwk_malscan_free(s->mal);
	bwk_inv_free(s->inv);
	bwk_cfgscan_free(s->cfg);
	bwk_content_free(s->content);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const bwk_visitor *bwk_scanner_visitor(bwk_scanner *s)
{
	return &s->visitor;
}

/* The check behind every secret finding (they carry the secret rules' ids). */
const bwk_rule bwk_rule_secret_scan = BWK_RULE(
    "secret-scan", BWK_CAT_SECRET, BWK_SEV_HIGH, .title = "Credentials in the image",
    .description =
	"Every secret rule (the secret category of the rule list) ran over every file of every "
	"layer, "
	"deleted files and nested archives included, and over Env, Labels, Cmd/Entrypoint and the "
	"build history; each hit is reported under its own rule.",
    .remediation =
	"Remove the credential from the image (a later layer deleting it does not) and rotate it.");

static void record_malware(bwk_scanner *s)
{
	bwk_findings *f = s->out;
	if (!s->mal) {
		bwk_findings_check(f, &bwk_rule_malware_scan, BWK_CHECK_SKIP, "%s",
				   bwk_setting("no-malware", "malware scan off"));
		return;
	}
	uint64_t files, bytes, truncated;
	bwk_malscan_stats(s->mal, &files, &bytes, &truncated);
	uint64_t max = s->opts.max_file_size ? s->opts.max_file_size : BWK_SCAN_MAX_FILE_SIZE;
	cleanup_free char *how =
	    bwk_malscan_prefiltered(s->mal)
		? xasprintf("prefiltered: YARA ran over %.1f MiB around its atoms",
			    (double)bwk_malscan_spanned(s->mal) / 1048576.0)
		: xstrdup("no prefilter: YARA ran over every byte");
	bwk_findings_fact(f, "malware.scanned",
			  "%llu files, %.1f MiB, with %zu YARA rules (%s); %llu files larger than "
			  "%llu MiB scanned in their first %llu MiB",
			  (unsigned long long)files, (double)bytes / 1048576.0,
			  bwk_malscan_rule_count(s->mal), how, (unsigned long long)truncated,
			  (unsigned long long)(max >> 20), (unsigned long long)(max >> 20));
	bool hit = false;
	for (size_t i = 0; i < bwk_findings_count(f) && !hit; i++)
		hit = bwk_findings_get(f, i)->rule->category == BWK_CAT_MALWARE;
	bwk_findings_check(f, &bwk_rule_malware_scan, hit ? BWK_CHECK_FAIL : BWK_CHECK_PASS,
			   "%zu YARA rules", bwk_malscan_rule_count(s->mal));
}

/* What the scan examined and every check with its status (docs/report-schema.json). */
static void record_coverage(bwk_scanner *s, const bwk_image *img)
{
	bwk_findings *f = s->out;
	if (img) {
		const bwk_image_config *c = bwk_image_get_config(img);
		if (c)
			bwk_findings_fact(f, "image.platform", "%s/%s%s%s", c->os ? c->os : "?",
					  c->architecture ? c->architecture : "?",
					  c->variant && *c->variant ? "/" : "",
					  c->variant ? c->variant : "");
		bwk_findings_fact(f, "image.layers", "%zu", bwk_image_layer_count(img));
	} else {
		bwk_findings_fact(f, "image.layers", "0 (a root filesystem directory)");
	}
	size_t nsec = bwk_secscan_rule_count(s->secrets);
	bwk_findings_fact(f, "scan.scanners",
			  "secrets (%zu rules), malware (%zu YARA rules), file settings, %s%s",
			  nsec, bwk_malscan_rule_count(s->mal),
			  s->opts.no_vuln ? "" : "package inventory, vulnerabilities, ",
			  img ? "image config, layer digests" : "no image config or digests");
	bool secret = false;
	for (size_t i = 0; i < bwk_findings_count(f); i++)
		secret |= bwk_findings_get(f, i)->rule->category == BWK_CAT_SECRET;
	bwk_findings_check(f, &bwk_rule_secret_scan, secret ? BWK_CHECK_FAIL : BWK_CHECK_PASS,
			   "%zu rules", nsec);
	record_malware(s);
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++)
		if (img || !(*r)->config)
			bwk_findings_check(f, &(*r)->rule, BWK_CHECK_PASS, NULL);
		else
			bwk_findings_check(f, &(*r)->rule, BWK_CHECK_SKIP,
					   "a root filesystem directory has no image config");
	if (img)
		bwk_findings_check(f, &bwk_rule_layer_digest, BWK_CHECK_PASS,
				   "every blob and diff_id verified");
	else
		bwk_findings_check(f, &bwk_rule_layer_digest, BWK_CHECK_SKIP,
				   "a root filesystem directory has no digests");
}

static int inv_finish(bwk_scanner *s, const bwk_image *img, bwk_error **err)
{
	/* the SBOM's subject and the report's: with or without the inventory */
	const bwk_image_config *cfg = img ? bwk_image_get_config(img) : NULL;
	if (cfg && cfg->digest)
		bwk_findings_fact(s->out, "image.digest", "%s", cfg->digest);
	if (!s->opts.no_vuln)
		return bwk_inv_finish(s->inv, img, &s->opts, s->out, err);
	bwk_findings_check(s->out, bwk_vuln_check_rule(), BWK_CHECK_SKIP, "%s",
			   bwk_setting("no-vuln", "vulnerability matching off"));
	return 0;
}

static int scan_open_image(bwk_scanner *s, bwk_image *img, bwk_error **err)
{
	s->img = img;
	int r = bwk_image_walk(img, bwk_scanner_visitor(s), err);
	s->img = NULL;
	if (r == 0 && !s->opts.inventory_only)
		r = bwk_cfgscan_finish(s->cfg, s, bwk_image_get_config(img), err);
	if (r == 0 && !s->opts.inventory_only)
		record_coverage(s, img);
	if (r == 0)
		r = inv_finish(s, img, err);
	if (r == 0)
		bwk_scan_provenance(img, s->out);
	return r;
}

int bwk_scan_target(const char *target, const bwk_scan_opts *opts, bwk_findings *out,
		    bwk_error **err)
{
	cleanup_with(bwk_scanner_freep) bwk_scanner *s = NULL;
	if (bwk_scanner_new(opts, out, &s, err) < 0)
		return -1;
	/* What TARGET is comes from the image source table, as for every command. Images:
	 * digest mismatches become findings, the walk goes on. */
	bwk_image_opts io = {.verify = BWK_VERIFY_REPORT,
			     .threads = opts->threads,
			     .one_walk = opts->one_walk,
			     .platform = opts->platform,
			     .accept_rootfs = true,
			     .accept_document = true,
			     .registry = opts->registry,
			     .layers = opts->layers};
	cleanup_with(bwk_image_closep) bwk_image *img = NULL;
	if (bwk_image_open(target, &io, &img, err) < 0)
		return -1;
	bwk_findings_fact(out, "image.source", "%s", bwk_image_source(img));
	if (bwk_image_document_fd(img) >= 0) /* an SBOM: its packages, no filesystem */
		return inv_scan_sbom_fd(target, bwk_image_document_fd(img), &s->opts, out, err);
	if (bwk_image_rootfs_fd(img) >= 0) {
		if (bwk_image_walk(img, bwk_scanner_visitor(s), err) < 0)
			return bwk_error_wrap(err, "scanning %s", target);
		if (!s->opts.inventory_only && bwk_cfgscan_finish(s->cfg, s, NULL, err) < 0)
			return -1;
		if (!s->opts.inventory_only)
			record_coverage(s, NULL);
		return inv_finish(s, NULL, err);
	}
	return scan_open_image(s, img, err);
}

int bwk_scan_image(bwk_image *img, const bwk_scan_opts *opts, bwk_findings *out, bwk_error **err)
{
	cleanup_with(bwk_scanner_freep) bwk_scanner *s = NULL;
	if (bwk_scanner_new(opts, out, &s, err) < 0)
		return -1;
	return scan_open_image(s, img, err);
}

size_t bwk_scan_rules(const bwk_rule **out, size_t max)
{
	size_t n = 0;
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++, n++)
		if (out && n < max)
			out[n] = &(*r)->rule;
	if (out && n < max)
		out[n] = &bwk_rule_layer_digest;
	n++;
	if (out && n < max)
		out[n] = &bwk_rule_scan_incomplete;
	n++;
	if (out && n < max)
		out[n] = &bwk_rule_secret_scan;
	n++;
	if (out && n < max)
		out[n] = &bwk_rule_malware_scan;
	n++;
	if (out && n < max)
		out[n] = &bwk_rule_scan_failed;
	n++;
	/* the check that findings named by advisory ids come from (bulwark/vuln.h) */
	if (out && n < max)
		out[n] = bwk_vuln_check_rule();
	return n + 1;
}

int bwk_scan_rule_list(const char *rules_file, bwk_rule_list **out, bwk_error **err)
{
	bwk_rule_list *l = NULL;
	if (bwk_secrets_rule_list(rules_file, &l, err) < 0)
		return -1;
	const bwk_rule *fixed[64];
	size_t n = bwk_scan_rules(fixed, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		bwk_rule_list_add(l, fixed[i]);
	*out = l;
	return 0;
}

int bwk_scan_malware_rule_list(const char *yara_dir, bwk_rule_list *l, bwk_error **err)
{
	bwk_malscan *m = NULL;
	int ret = bwk_malscan_new(yara_dir, &m, err);
	for (size_t i = 0; ret == 0 && i < bwk_malscan_rule_count(m); i++)
		bwk_rule_list_add(l, bwk_malscan_rule(m, i));
	bwk_malscan_free(m);
	return ret;
}
