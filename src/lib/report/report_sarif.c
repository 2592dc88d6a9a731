#include <jansson.h>
#include <limits.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/version.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "report/report_private.h"

/* GitHub code scanning ranks alerts by properties.security-severity (a CVSS-like score). */
static const char *security_severity(bwk_severity s)
{
	switch (s) {
	case BWK_SEV_CRITICAL:
		return "9.5";
	case BWK_SEV_HIGH:
		return "8.0";
	case BWK_SEV_MEDIUM:
		return "5.5";
	case BWK_SEV_LOW:
		return "3.0";
	default:
		return "1.0";
	}
}

static const char *level(bwk_severity s)
{
	if (s >= BWK_SEV_HIGH)
		return "error";
	if (s == BWK_SEV_MEDIUM)
		return "warning";
	return "note";
}

static json_t *text_obj(const char *t)
{
	return json_pack("{s:s}", "text", t ? t : "");
}

static json_t *rule_json(const bwk_rule *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(r->id));
	json_object_set_new(o, "name", json_string(r->id));
	json_object_set_new(o, "shortDescription", text_obj(r->title));
	json_object_set_new(o, "fullDescription", text_obj(r->description));
	bwk_strbuf md;
	bwk_strbuf_init(&md, 1 << 20);
	bwk_strbuf_printf(&md, "**Risk.** %s\n\n**Fix.** %s\n",
			  r->description ? r->description : "",
			  r->remediation ? r->remediation : "");
	bwk_strbuf txt;
	bwk_strbuf_init(&txt, 1 << 20);
	bwk_strbuf_printf(&txt, "Risk: %s\nFix: %s\n", r->description ? r->description : "",
			  r->remediation ? r->remediation : "");
	if (r->references && r->references[0]) {
		bwk_strbuf_append(&md, "\n**References**\n");
		for (const char *const *p = r->references; *p; p++) {
			bwk_strbuf_printf(&md, "- %s\n", *p);
			bwk_strbuf_printf(&txt, "See: %s\n", *p);
		}
	}
	char *m = bwk_strbuf_steal(&md), *t = bwk_strbuf_steal(&txt);
	json_object_set_new(o, "help", json_pack("{s:s,s:s}", "text", t, "markdown", m));
	free(m);
	free(t);
	if (r->references)
		for (const char *const *p = r->references; *p; p++)
			if (strncmp(*p, "https://", 8) == 0) {
				json_object_set_new(o, "helpUri", json_string(*p));
				break;
			}
	json_object_set_new(o, "defaultConfiguration",
			    json_pack("{s:s}", "level", level(r->severity)));
	json_t *tags = json_array();
	json_array_append_new(tags, json_string("security"));
	json_array_append_new(tags, json_string(bwk_category_name(r->category)));
	json_object_set_new(o, "properties",
			    json_pack("{s:o,s:s,s:s}", "tags", tags, "security-severity",
				      security_severity(r->severity), "precision", "high"));
	return o;
}

/* SARIF artifact URIs must be relative references; paths inside an image are already relative
 * to its root. Percent-encode what a URI may not contain raw. */
static char *uri_encode(const char *p)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 8192);
	for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("-._~/!$&'()*+,;=:@", *c))
			bwk_strbuf_appendn(&sb, (const char *)c, 1);
		else
			bwk_strbuf_printf(&sb, "%%%02X", *c);
	}
	return bwk_strbuf_steal(&sb);
}

/* Whether `path` (stored without a leading slash or "./") is the input file `target` itself,
 * as bwk_audit_file records it, rather than a path inside an image. */
static bool is_input_file(const char *target, const char *path)
{
	while (target[0] == '.' && target[1] == '/')
		target += 2;
	while (*target == '/')
		target++;
	return !strcmp(target, path);
}

/* cwd + "/" + rel with "." and ".." resolved lexically (the path is only named in a report,
 * never opened). */
static char *join_norm(const char *cwd, const char *rel)
{
	char *out = xasprintf("%s/%s", cwd, rel);
	size_t o = 0;
	for (const char *p = out; *p;) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memmove(out + o, s, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

/* Paths inside an image are relative to its root already. A host file an audit read is named
 * as the user named it: under the working directory it becomes a relative reference (what code
 * scanning resolves against the checkout); elsewhere it keeps its absolute path under the
 * HOSTROOT base (file:///), declared in run.originalUriBaseIds, instead of silently turning
 * /tmp/x/compose.yaml into the repository path tmp/x/compose.yaml. */
static json_t *artifact_location(const char *path, const char *cwd, bool *host)
{
	cleanup_free char *abs = NULL;
	if (cwd && strncmp(path, "../", 3) == 0)
		path = abs = join_norm(cwd, path);
	if (path[0] != '/') {
		while (path[0] == '.' && path[1] == '/')
			path += 2;
		cleanup_free char *uri = uri_encode(*path ? path : "bulwark-target");
		return json_pack("{s:s}", "uri", uri);
	}
	size_t n = cwd ? strlen(cwd) : 0;
	if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/' && path[n + 1]) {
		cleanup_free char *uri = uri_encode(path + n + 1);
		return json_pack("{s:s}", "uri", uri);
	}
	while (*path == '/')
		path++;
	*host = true;
	cleanup_free char *uri = uri_encode(*path ? path : ".");
	return json_pack("{s:s,s:s}", "uri", uri, "uriBaseId", "HOSTROOT");
}

/* GitHub needs a physical location on every result. For findings without a file (image
 * config, daemon settings) the target stands in. */
static const char *result_path(const bwk_finding *x)
{
	if (!x->path)
		return x->target && x->target[0] != '/' ? x->target : "bulwark-target";
	if (x->target && is_input_file(x->target, x->path))
		return x->target; /* an audited host file: the name as the user gave it */
	return x->path;
}

typedef struct sarif_ctx {
	bool grouped; /* several targets: each result names its own */
	const char *cwd;
	bool host; /* some result is under HOSTROOT */
} sarif_ctx;

static json_t *result_json(void *ctx, const bwk_findings *f, const bwk_finding *x)
{
	sarif_ctx *c = ctx;
	size_t idx = 0;
	for (size_t i = 0; i < bwk_findings_rule_count(f); i++)
		if (bwk_findings_rule(f, i) == x->rule)
			idx = i;
	json_t *o = json_object();
	json_object_set_new(o, "ruleId", json_string(x->rule->id));
	json_object_set_new(o, "ruleIndex", json_integer((json_int_t)idx));
	json_object_set_new(o, "level", json_string(level(x->severity)));

	cleanup_free char *where = bwk_report_location_text(x);
	bwk_strbuf msg;
	bwk_strbuf_init(&msg, 1 << 16);
	bwk_strbuf_append(&msg, x->rule->title);
	if (x->target)
		bwk_strbuf_printf(&msg, " in %s", x->target);
	if (*where)
		bwk_strbuf_printf(&msg, " at %s", where);
	if (x->message)
		bwk_strbuf_printf(&msg, ": %s", x->message);
	if (x->evidence)
		bwk_strbuf_printf(&msg, " [%s]", x->evidence);
	if (x->added_by)
		bwk_strbuf_printf(&msg, "; added by: %s", x->added_by);
	if (x->removed_by)
		bwk_strbuf_printf(&msg, "; removed by: %s", x->removed_by);
	char *m = bwk_strbuf_steal(&msg);
	json_object_set_new(o, "message", text_obj(m));
	free(m);

	json_t *phys = json_pack("{s:o}", "artifactLocation",
				 artifact_location(result_path(x), c->cwd, &c->host));
	if (x->line)
		json_object_set_new(phys, "region", json_pack("{s:i}", "startLine", (int)x->line));
	json_t *loc = json_pack("{s:o}", "physicalLocation", phys);
	if (x->key || x->layer || (c->grouped && x->target)) {
		json_t *logical = json_array();
		/* several images in one run: each result's image is its outermost location */
		if (c->grouped && x->target)
			json_array_append_new(logical, json_pack("{s:s,s:s}", "fullyQualifiedName",
								 x->target, "kind", "package"));
		if (x->key)
			json_array_append_new(logical, json_pack("{s:s,s:s}", "fullyQualifiedName",
								 x->key, "kind", "member"));
		if (x->layer)
			json_array_append_new(logical, json_pack("{s:s,s:s}", "fullyQualifiedName",
								 x->layer, "kind", "module"));
		json_object_set_new(loc, "logicalLocations", logical);
	}
	json_object_set_new(o, "locations", json_pack("[o]", loc));
	if (x->suppressed) {
		/* SARIF's own field: code scanning shows these as dismissed, not open */
		const char *why =
		    x->suppress_reason				? x->suppress_reason
		    : x->suppressed_by == BWK_SUPPRESS_BASELINE ? "known in the baseline report"
		    : x->suppressed_by == BWK_SUPPRESS_VEX	? "a VEX statement"
								: "accepted in the ignore file";
		json_object_set_new(o, "suppressions",
				    json_pack("[{s:s,s:s,s:s}]", "kind", "external", "status",
					      "accepted", "justification", why));
	}
	json_object_set_new(o, "partialFingerprints",
			    json_pack("{s:s}", "bulwarkFingerprint/v1", x->fingerprint));
	if (c->grouped && x->target) /* the same file in two images: two results */
		json_object_set_new(json_object_get(o, "partialFingerprints"), "bulwarkTarget/v1",
				    json_string(x->target));
	json_t *props = json_object();
	if (x->target)
		json_object_set_new(props, "target", json_string(x->target));
	if (x->layer)
		json_object_set_new(props, "layer", json_string(x->layer));
	if (x->layer_index >= 0)
		json_object_set_new(props, "layerIndex", json_integer(x->layer_index));
	if (x->added_by)
		json_object_set_new(props, "addedBy", json_string(x->added_by));
	if (x->removed_by)
		json_object_set_new(props, "removedBy", json_string(x->removed_by));
	json_object_set_new(props, "severity", json_string(bwk_severity_name(x->severity)));
	json_object_set_new(props, "category", json_string(bwk_category_name(x->rule->category)));
	json_object_set_new(o, "properties", props);
	return o;
}

int bwk_report_sarif(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err)
{
	json_t *rules = json_array();
	for (size_t i = 0; i < bwk_findings_rule_count(f); i++)
		json_array_append_new(rules, rule_json(bwk_findings_rule(f, i)));
	char cwdbuf[PATH_MAX];
	sarif_ctx ctx = {.cwd = getcwd(cwdbuf, sizeof cwdbuf), .grouped = o->groups != NULL};
	/* the run object is written before the results stream: learn first whether any of them
	 * needs the HOSTROOT base */
	for (size_t i = 0; i < bwk_findings_count(f) && !ctx.host; i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (!x->suppressed || o->show_suppressed)
			json_decref(artifact_location(result_path(x), ctx.cwd, &ctx.host));
	}
	/* the results are streamed into this empty array (bwk_report_dump_array) */
	json_t *results = json_array();
	json_t *driver = json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", "bulwark", "version",
				   BWK_VERSION, "semanticVersion", BWK_VERSION, "informationUri",
				   BWK_INFO_URI, "rules", rules);
	json_t *run = json_pack("{s:{s:o},s:o}", "tool", "driver", driver, "results", results);
	json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
	/* what was judged and every check's status: SARIF has no field of its own for them */
	json_object_set_new(run, "properties",
			    json_pack("{s:o,s:o,s:o}", "facts", bwk_report_facts_json(f), "checks",
				      bwk_report_checks_json(f), "checkSummary",
				      bwk_report_check_counts_json(f)));
	if (ctx.host)
		json_object_set_new(run, "originalUriBaseIds",
				    json_pack("{s:{s:s}}", "HOSTROOT", "uri", "file:///"));
	if (o->target || o->command)
		json_object_set_new(run, "automationDetails",
				    json_pack("{s:s}", "id", o->command ? o->command : "bulwark"));
	json_t *doc =
	    json_pack("{s:s,s:s,s:[o]}", "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
		      "version", "2.1.0", "runs", run);
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (!s)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "cannot serialise the SARIF report");
	/* runs[0] is at depth 2, its keys at depth 3: results' elements at 4 (8 spaces) */
	int rc = bwk_report_dump_array(s, "\n      \"results\": []", 8, f, o->show_suppressed,
				       result_json, &ctx, out, err);
	free(s);
	return rc;
}
