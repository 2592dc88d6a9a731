#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bulwark/image.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/scan_private.h"

static int report(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e, const char *path,
		  unsigned line, const char *key, const char *message, const char *secret,
		  size_t secret_len, bwk_error **err)
{
	cleanup_free char *msg = NULL;
	if (e && e->visibility == BWK_HIDDEN) {
		/* Deleted files still ship in their layer: say so, it is the point of the finding.
		 */
		msg = xasprintf("%s%sremoved in layer %d, still shipped in layer %d",
				message ? message : "", message ? "; " : "", e->hidden_by + 1,
				e->layer_index + 1);
		message = msg;
	}
	bwk_finding_spec spec = {
	    .rule = rule,
	    .loc = {.target = s->opts.target,
		    .layer = e ? e->layer_digest : NULL,
		    .layer_index = e ? e->layer_index : -1,
		    .path = path,
		    .line = line,
		    .key = key},
	    .message = message,
	    .secret = secret,
	    .secret_len = secret_len,
	    .severity = -1,
	};
	return bwk_findings_add(s->out, &spec, err);
}

int bwk_scan_report_entry(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			  const char *message, bwk_error **err)
{
	return report(s, rule, e, e->path, 0, NULL, message, NULL, 0, err);
}

int bwk_scan_report_secret(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			   const char *path, unsigned line, const char *key, const char *secret,
			   size_t secret_len, bwk_error **err)
{
	return report(s, rule, e, path, line, key, NULL, secret, secret_len, err);
}

static int on_entry(void *ctx, const bwk_entry *e, bwk_error **err)
{
	bwk_scanner *s = ctx;
	for (const bwk_entry_rule *const *r = bwk_hygiene_rules; *r; r++) {
		char *detail = NULL;
		bool owned = false;
		int hit = (*r)->check(e, &detail, &owned);
		if (hit < 0)
			return bwk_error_set(err, BWK_E_INTERNAL, 0, "rule %s failed on %s",
					     (*r)->rule->id, e->path);
		int ret = hit ? bwk_scan_report_entry(s, (*r)->rule, e, detail, err) : 0;
		if (owned)
			free(detail);
		if (ret < 0)
			return -1;
	}
	return bwk_secscan_entry(s->secrets, e, err);
}

static int on_layer_begin(void *ctx, unsigned worker, int layer_index, const char *digest,
			  bwk_error **err)
{
	(void)worker;
	(void)digest;
	(void)err;
	bwk_scanner *s = ctx;
	bwk_secscan_layer(s->secrets, layer_index);
	return 0;
}

int bwk_scanner_new(const bwk_scan_opts *opts, bwk_findings *out, bwk_scanner **s, bwk_error **err)
{
	bwk_scanner *x = xcalloc(1, sizeof(*x));
	x->opts = *opts;
	x->out = out;
	x->visitor.ctx = x;
	x->visitor.entry = on_entry;
	x->visitor.layer_begin = on_layer_begin;
	if (bwk_secscan_new(x, &x->secrets, err) < 0) {
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
	bwk_secscan_free(s->secrets);
	free(s);
}

const bwk_visitor *bwk_scanner_visitor(bwk_scanner *s)
{
	return &s->visitor;
}

static void scanner_freep(bwk_scanner **s)
{
	bwk_scanner_free(*s);
}

int bwk_scan_target(const char *target, const bwk_scan_opts *opts, bwk_findings *out,
		    bwk_error **err)
{
	struct stat st;
	if (stat(target, &st) < 0)
		return bwk_error_set(err, errno == ENOENT ? BWK_E_NOTFOUND : BWK_E_IO, errno,
				     "%s: cannot access the scan target (give an image tarball, an "
				     "OCI layout or a root filesystem directory)",
				     target);
	if (!S_ISDIR(st.st_mode))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "%s: not a directory; image archives are not supported yet",
				     target);
	__attribute__((cleanup(scanner_freep))) bwk_scanner *s = NULL;
	if (bwk_scanner_new(opts, out, &s, err) < 0)
		return -1;
	if (bwk_rootfs_walk(target, NULL, bwk_scanner_visitor(s), err) < 0)
		return bwk_error_wrap(err, "scanning %s", target);
	return 0;
}

const bwk_rule *const *bwk_scan_rules(void)
{
	static const bwk_rule *all[64];
	size_t n = 0;
	for (const bwk_entry_rule *const *r = bwk_hygiene_rules; *r && n < 63; r++)
		all[n++] = (*r)->rule;
	all[n] = NULL;
	return all;
}
