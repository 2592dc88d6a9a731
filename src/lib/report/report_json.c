#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/version.h"
#include "core/util.h"
#include "report/report_private.h"

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

void bwk_report_rule_fields(json_t *o, const bwk_rule *r, bwk_severity sev)
{
	set_str(o, "id", r->id);
	set_str(o, "category", bwk_category_name(r->category));
	set_str(o, "severity", bwk_severity_name(sev));
	set_str(o, "title", r->title);
	set_str(o, "description", r->description);
	set_str(o, "remediation", r->remediation);
}

void bwk_report_rule_refs(json_t *o, const bwk_rule *r)
{
	json_t *refs = json_array();
	if (r->references)
		for (const char *const *p = r->references; *p; p++)
			json_array_append_new(refs, json_string(*p));
	json_object_set_new(o, "references", refs);
}

/* Builds the JSON document described by docs/report-schema.json. */
static json_t *finding_json(void *ctx, const bwk_findings *f, const bwk_finding *x)
{
	(void)ctx;
	(void)f;
	json_t *o = json_object();
	bwk_report_rule_fields(o, x->rule, x->severity);
	json_t *loc = json_object();
	set_str(loc, "target", x->target);
	set_str(loc, "layer", x->layer);
	if (x->layer_index >= 0)
		json_object_set_new(loc, "layerIndex", json_integer(x->layer_index));
	set_str(loc, "path", x->path);
	if (x->line)
		json_object_set_new(loc, "line", json_integer(x->line));
	set_str(loc, "key", x->key);
	json_object_set_new(o, "location", loc);
	set_str(o, "message", x->message);
	set_str(o, "evidence", x->evidence);
	set_str(o, "addedBy", x->added_by);
	set_str(o, "removedBy", x->removed_by);
	bwk_report_rule_refs(o, x->rule);
	set_str(o, "fingerprint", x->fingerprint);
	if (x->suppressed) {
		json_t *sup = json_object();
		set_str(sup, "kind", bwk_suppression_name(x->suppressed_by));
		set_str(sup, "reason", x->suppress_reason);
		json_object_set_new(o, "suppression", sup);
	}
	return o;
}

void bwk_report_suppressed_counts(const bwk_findings *f, size_t by[4])
{
	by[0] = by[1] = by[2] = by[3] = 0;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (x->suppressed && (unsigned)x->suppressed_by < 4)
			by[x->suppressed_by]++;
	}
}

json_t *bwk_report_facts_json(const bwk_findings *f)
{
	json_t *o = json_object();
	const char *k, *v;
	for (size_t i = 0; bwk_findings_fact_get(f, i, &k, &v); i++)
		json_object_set_new(o, k, json_string(v));
	return o;
}

json_t *bwk_report_checks_json(const bwk_findings *f)
{
	json_t *arr = json_array();
	bwk_check c;
	for (size_t i = 0; bwk_findings_check_get(f, i, &c); i++) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "id", c.id, "title", c.title, "status",
				      bwk_check_status_name(c.status));
		set_str(o, "detail", c.detail);
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *bwk_report_check_counts_json(const bwk_findings *f)
{
	size_t n[3];
	bwk_findings_check_summary(f, n);
	size_t total = n[0] + n[1] + n[2];
	return json_pack("{s:I,s:I,s:I,s:I}", "total", (json_int_t)total, "passed",
			 (json_int_t)n[BWK_CHECK_PASS], "failed", (json_int_t)n[BWK_CHECK_FAIL],
			 "skipped", (json_int_t)n[BWK_CHECK_SKIP]);
}

int bwk_report_json(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err)
{
	json_t *doc = json_object();
	json_object_set_new(doc, "schemaVersion", json_string(BWK_REPORT_SCHEMA_VERSION));
	json_t *tool = json_object();
	set_str(tool, "name", "bulwark");
	set_str(tool, "version", BWK_VERSION);
	json_object_set_new(doc, "tool", tool);
	set_str(doc, "command", o->command);
	json_object_set_new(doc, "target", o->target ? json_string(o->target) : json_null());
	json_object_set_new(doc, "facts", bwk_report_facts_json(f));
	json_object_set_new(doc, "checks", bwk_report_checks_json(f));
	/* the findings are streamed into this empty array (bwk_report_dump_array) */
	json_object_set_new(doc, "findings", json_array());
	size_t by[4];
	bwk_report_suppressed_counts(f, by);
	size_t c[5];
	bwk_findings_summary(f, c);
	json_t *sum = json_object();
	size_t total = 0;
	for (int s = BWK_SEV_CRITICAL; s >= BWK_SEV_INFO; s--) {
		json_object_set_new(sum, bwk_severity_name((bwk_severity)s),
				    json_integer((json_int_t)c[s]));
		total += c[s];
	}
	json_object_set_new(sum, "total", json_integer((json_int_t)total));
	size_t suppressed =
	    by[BWK_SUPPRESS_IGNORE] + by[BWK_SUPPRESS_BASELINE] + by[BWK_SUPPRESS_VEX];
	json_object_set_new(sum, "suppressed", json_integer((json_int_t)suppressed));
	json_object_set_new(sum, "suppressedBy",
			    json_pack("{s:I,s:I,s:I}", "ignore",
				      (json_int_t)by[BWK_SUPPRESS_IGNORE], "baseline",
				      (json_int_t)by[BWK_SUPPRESS_BASELINE], "vex",
				      (json_int_t)by[BWK_SUPPRESS_VEX]));
	json_object_set_new(sum, "checks", bwk_report_check_counts_json(f));
	set_str(sum, "failOn", bwk_severity_name(o->fail_on));
	json_object_set_new(sum, "failed", json_boolean(bwk_findings_fail(f, o->fail_on)));
	json_object_set_new(doc, "summary", sum);
	if (o->groups) {
		/* several targets: each with its own counts (its findings name it in
		 * location.target) and the error that kept it from being examined */
		json_t *imgs = json_array();
		for (size_t g = 0; g < o->ngroups; g++) {
			size_t gc[5] = {0}, gt = 0;
			for (size_t k = 0; k < bwk_findings_count(f); k++) {
				const bwk_finding *x = bwk_findings_get(f, k);
				if (!x->suppressed && x->target &&
				    !strcmp(x->target, o->groups[g].target)) {
					gc[x->severity]++;
					gt++;
				}
			}
			json_t *e = json_object();
			set_str(e, "target", o->groups[g].target);
			json_object_set_new(e, "error",
					    o->groups[g].error ? json_string(o->groups[g].error)
							       : json_null());
			json_t *es = json_object();
			for (int sv = BWK_SEV_CRITICAL; sv >= BWK_SEV_INFO; sv--)
				json_object_set_new(es, bwk_severity_name((bwk_severity)sv),
						    json_integer((json_int_t)gc[sv]));
			json_object_set_new(es, "total", json_integer((json_int_t)gt));
			json_object_set_new(e, "summary", es);
			json_array_append_new(imgs, e);
		}
		json_object_set_new(doc, "targets", imgs);
	}
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(doc);
	if (!s)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "cannot serialise the JSON report");
	int rc = bwk_report_dump_array(s, "\n  \"findings\": []", 4, f, o->show_suppressed,
				       finding_json, NULL, out, err);
	free(s);
	return rc;
}

/* Write `doc` (jansson's JSON_INDENT(2) text) with the elements of its empty array `anchor`
 * (a key at a known indentation, so never inside a string: strings hold no raw newline) filled
 * in one finding at a time, exactly as json_dumps of the whole tree would have, so that memory
 * holds one element and not the report. */
int bwk_report_dump_array(const char *doc, const char *anchor, int indent, const bwk_findings *f,
			  bool with_suppressed, bwk_report_elem_fn elem, void *ctx, FILE *out,
			  bwk_error **err)
{
	const char *at = strstr(doc, anchor);
	if (!at)
		return bwk_error_set(err, BWK_E_INTERNAL, 0, "report: no '%s' array", anchor + 1);
	size_t head = (size_t)(at - doc) + strlen(anchor) - 1; /* up to and with '[' */
	fwrite(doc, 1, head, out);
	bool any = false;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (x->suppressed && !with_suppressed)
			continue;
		json_t *e = elem(ctx, f, x);
		char *s = json_dumps(e, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		json_decref(e);
		if (!s)
			return bwk_error_set(err, BWK_E_NOMEM, 0, "cannot serialise the report");
		fprintf(out, "%s\n%*s", any ? "," : "", indent, "");
		for (const char *p = s, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
			nl = strchr(p, '\n');
			fwrite(p, 1, nl ? (size_t)(nl - p) + 1 : strlen(p), out);
			if (nl)
				fprintf(out, "%*s", indent, "");
		}
		free(s);
		any = true;
	}
	if (any)
		fprintf(out, "\n%*s", indent - 2, "");
	fputs(doc + head, out);
	fputc('\n', out);
	return 0;
}

int bwk_report_rules_json(const bwk_rule *const *rules, const char *const *commands, size_t n,
			  char **out, bwk_error **err)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		bwk_report_rule_fields(o, rules[i], rules[i]->severity);
		bwk_report_rule_refs(o, rules[i]);
		if (commands && commands[i])
			set_str(o, "command", commands[i]);
		json_array_append_new(arr, o);
	}
	char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(arr);
	if (!s)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "cannot serialise the rule list");
	*out = xasprintf("%s\n", s);
	free(s);
	return 0;
}
