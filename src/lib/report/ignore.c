/* Suppressions: the ignore file (line or YAML syntax) and the baseline report.
 *
 * Both are user input a CI job reads on every run, so they are bounded like any other input,
 * and an entry that would match more than its author wrote (a misspelt key, a bad date) is an
 * error, never a silent widening. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bulwark/log.h"
#include "bulwark/finding.h"
#include "bulwark/strv.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "core/yaml_tree.h"

#define MAX_IGNORE_BYTES   (1 << 20)
#define MAX_IGNORE_LINE	   1024
#define MAX_REASON	   1024
#define MAX_BASELINE_BYTES ((size_t)256 << 20)
#define MAX_BASELINE_FPS   (1u << 22)

bwk_finding *bwk_findings_mut(bwk_findings *f, size_t i);

typedef struct ignore_entry {
	char *rule; /* NULL: any rule */
	char *glob; /* NULL: any path */
	char *reason;
	char fingerprint[65];
	bool expired;
} ignore_entry;

struct bwk_ignore {
	ignore_entry *v;
	size_t n, cap;
	char (*fps)[65]; /* baseline fingerprints, sorted after loading */
	size_t nfps, capfps;
	bwk_strv warnings; /* one per expired entry */
};

static bool is_fingerprint(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

/* Rule ids are kebab-case; vulnerability findings carry their advisory's id (CVE-2024-3094,
 * DSA-5678-1, GHSA-…), which an ignore entry must be able to name too. */
static bool is_rule_id(const char *s)
{
	if (!*s || strlen(s) > 128 || !isalnum((unsigned char)*s))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return true;
}

bwk_ignore *bwk_ignore_new(void)
{
	bwk_ignore *ig = xcalloc(1, sizeof(bwk_ignore));
	/* no bound of its own: the entries' (the sizes of the files read) is the one */
	ig->warnings.max = SIZE_MAX;
	return ig;
}

void bwk_ignore_free(bwk_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->v[i].rule);
		free(ig->v[i].glob);
		free(ig->v[i].reason);
	}
	bwk_strv_clear(&ig->warnings);
	free(ig->fps);
	free(ig->v);
	free(ig);
}

long bwk_days_today(void)
{
	return (long)(time(NULL) / 86400);
}

static void add_entry(bwk_ignore *ig, const ignore_entry *e)
{
	if (ig->n == ig->cap) {
		ig->cap = ig->cap ? ig->cap * 2 : 16;
		ig->v = xrealloc(ig->v, ig->cap * sizeof(*ig->v));
	}
	ig->v[ig->n++] = *e;
}

static void add_warning(bwk_ignore *ig, char *w)
{
	(void)bwk_strv_take(&ig->warnings, w, NULL); /* unbounded: cannot fail */
}

const char *bwk_ignore_warning(const bwk_ignore *ig, size_t i)
{
	return ig && i < ig->warnings.n ? ig->warnings.v[i] : NULL;
}

size_t bwk_ignore_baseline_size(const bwk_ignore *ig)
{
	return ig ? ig->nfps : 0;
}

static int parse_lines(bwk_ignore *ig, const char *text, size_t len, const char *name,
		       bwk_error **err)
{
	unsigned lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (n > MAX_IGNORE_LINE)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "%s:%u: line longer than %d bytes", name, lineno,
					     MAX_IGNORE_LINE);
		cleanup_free char *line = xstrndup(text + pos, n);
		pos += n + 1;
		if (memchr(line, '\0', n) != NULL && strlen(line) != n)
			return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%u: NUL byte in line", name,
					     lineno);
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *save = NULL;
		char *a = strtok_r(line, " \t\r", &save);
		if (!a)
			continue;
		char *b = strtok_r(NULL, " \t\r", &save);
		char *c = strtok_r(NULL, " \t\r", &save);
		if (c)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s:%u: expected 'RULE-ID [PATH-GLOB|FINGERPRINT]'",
					     name, lineno);
		ignore_entry e = {0};
		if (is_fingerprint(a) && !b) {
			memcpy(e.fingerprint, a, 65);
		} else if (is_rule_id(a)) {
			e.rule = xstrdup(a);
			if (b && is_fingerprint(b))
				memcpy(e.fingerprint, b, 65);
			else if (b)
				e.glob = xstrdup(b[0] == '/' ? b + 1 : b);
		} else {
			return bwk_error_set(
			    err, BWK_E_INPUT, 0,
			    "%s:%u: '%.64s' is neither a rule id nor a fingerprint", name, lineno,
			    a);
		}
		add_entry(ig, &e);
	}
	return 0;
}

/* "YYYY-MM-DD" (a real calendar date) to days since 1970-01-01. */
static int parse_date(const char *s, long *days)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
	    s[7] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
		return -1;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	/* days from civil (Howard Hinnant's algorithm) */
	y -= m <= 2;
	long era = y / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*days = era * 146097 + doe - 719468;
	return 0;
}

typedef struct yaml_ctx {
	bwk_ignore *ig;
	const char *name;
	long today;
} yaml_ctx;

static int yaml_entry(yaml_ctx *c, const bwk_yaml_doc *doc, const json_t *item, size_t idx,
		      bwk_error **err)
{
	unsigned line = bwk_yaml_node_line(doc, item);
	if (!json_is_object(item))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%u: entry %zu is not a mapping (expected 'id: RULE-ID', "
				     "optional path, fingerprint, reason, expires)",
				     c->name, line, idx + 1);
	const char *key;
	const json_t *v;
	const char *id = NULL, *path = NULL, *fp = NULL, *reason = NULL, *expires = NULL;
	json_object_foreach((json_t *)item, key, v)
	{
		const char **slot = !strcmp(key, "id")		  ? &id
				    : !strcmp(key, "path")	  ? &path
				    : !strcmp(key, "fingerprint") ? &fp
				    : !strcmp(key, "reason")	  ? &reason
				    : !strcmp(key, "statement")	  ? &reason /* Trivy's name */
				    : !strcmp(key, "expires")	  ? &expires
								  : NULL;
		if (!slot)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s:%u: unknown key '%.64s' (use id, path, "
					     "fingerprint, reason, expires)",
					     c->name, line, key);
		if (!json_is_string(v))
			return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%u: '%s' must be a string",
					     c->name, line, key);
		*slot = json_string_value(v);
	}
	if (!id && !fp)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%u: entry %zu has neither 'id' nor 'fingerprint'", c->name,
				     line, idx + 1);
	if (id && !is_rule_id(id))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%u: '%.64s' is not a rule id",
				     c->name, line, id);
	if (fp && !is_fingerprint(fp))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%u: fingerprint must be 64 lower-case hex digits", c->name,
				     line);
	if (path && fp)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%u: give 'path' or 'fingerprint', not both", c->name,
				     line);
	if (path && (!*path || strlen(path) > MAX_IGNORE_LINE))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s:%u: empty or over-long path glob",
				     c->name, line);
	if (reason && strlen(reason) > MAX_REASON)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s:%u: reason longer than %d bytes",
				     c->name, line, MAX_REASON);
	ignore_entry e = {0};
	if (expires) {
		long days;
		if (parse_date(expires, &days) < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s:%u: expires '%.32s' is not a date YYYY-MM-DD",
					     c->name, line, expires);
		if (days <= c->today) {
			e.expired = true;
			add_warning(c->ig, xasprintf("%s:%u: the entry for %s expired on %s and no "
						     "longer applies; renew or remove it",
						     c->name, line, id ? id : fp, expires));
		}
	}
	e.rule = id ? xstrdup(id) : NULL;
	e.glob = path ? xstrdup(path[0] == '/' ? path + 1 : path) : NULL;
	e.reason = reason ? xstrdup(reason) : NULL;
	if (fp)
		memcpy(e.fingerprint, fp, 65);
	add_entry(c->ig, &e);
	return 0;
}

static int yaml_doc(void *ctx, const bwk_yaml_doc *doc, bwk_error **err)
{
	yaml_ctx *c = ctx;
	const json_t *root = bwk_yaml_doc_root(doc);
	if (!root)
		return 0;
	if (bwk_yaml_doc_index(doc) > 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: expected one YAML document",
				     c->name);
	if (!json_is_array(root))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: expected a list of entries ('- id: RULE-ID …')", c->name);
	size_t i;
	const json_t *item;
	json_array_foreach(root, i, item) if (yaml_entry(c, doc, item, i, err) < 0) return -1;
	return 0;
}

int bwk_ignore_parse(bwk_ignore *ig, const char *text, size_t len, const char *name, long today,
		     bwk_error **err)
{
	if (len > MAX_IGNORE_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: over the %d-byte limit", name,
				     MAX_IGNORE_BYTES);
	if (bwk_str_endswith(name, ".yaml") || bwk_str_endswith(name, ".yml")) {
		yaml_ctx c = {ig, name, today};
		bwk_yaml_limits lim = {.max_bytes = MAX_IGNORE_BYTES,
				       .max_depth = 8,
				       .max_nodes = 200000,
				       .max_docs = 4};
		return bwk_yaml_parse(name, text, len, &lim, yaml_doc, &c, err);
	}
	return parse_lines(ig, text, len, name, err);
}

int bwk_ignore_load(bwk_ignore *ig, const char *path, long today, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, MAX_IGNORE_BYTES, true, &data, &len, err) < 0)
		return -1;
	return bwk_ignore_parse(ig, data, len, path, today, err);
}

static int add_fp(bwk_ignore *ig, const json_t *v, const char *name, bwk_error **err)
{
	const char *s = json_string_value(v);
	if (!s || !is_fingerprint(s))
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s: a fingerprint is not 64 lower-case hex digits", name);
	if (ig->nfps >= MAX_BASELINE_FPS)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: more than %u findings", name,
				     MAX_BASELINE_FPS);
	if (ig->nfps == ig->capfps) {
		ig->capfps = ig->capfps ? ig->capfps * 2 : 256;
		ig->fps = xrealloc(ig->fps, ig->capfps * sizeof(*ig->fps));
	}
	memcpy(ig->fps[ig->nfps++], s, 65);
	return 0;
}

static int cmp_fp(const void *a, const void *b)
{
	return memcmp(a, b, 64);
}

int bwk_ignore_load_baseline(bwk_ignore *ig, const char *path, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, MAX_BASELINE_BYTES, true, &data, &len, err) < 0)
		return bwk_error_wrap(err, "reading the baseline");
	json_error_t je;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "%s:%d: not a JSON report (%s); give an earlier JSON or "
				     "SARIF report",
				     path, je.line, je.text);
	int rc = 0;
	const json_t *findings = json_object_get(doc, "findings");
	const json_t *runs = json_object_get(doc, "runs");
	size_t i, j;
	const json_t *x, *run, *res;
	if (json_is_array(findings)) {
		json_array_foreach(findings, i,
				   x) if ((rc = add_fp(ig, json_object_get(x, "fingerprint"), path,
						       err)) < 0) break;
	} else if (json_is_array(runs)) {
		json_array_foreach(runs, i, run)
		{
			const json_t *results = json_object_get(run, "results");
			json_array_foreach(results, j, res)
			{
				const json_t *pf =
				    json_object_get(json_object_get(res, "partialFingerprints"),
						    "bulwarkFingerprint/v1");
				if ((rc = add_fp(ig, pf, path, err)) < 0)
					break;
			}
			if (rc < 0)
				break;
		}
	} else {
		rc = bwk_error_set(
		    err, BWK_E_INPUT, 0,
		    "%s: neither a bulwark JSON report (findings[]) nor SARIF (runs[])", path);
	}
	json_decref(doc);
	if (rc < 0)
		return rc;
	qsort(ig->fps, ig->nfps, sizeof(*ig->fps), cmp_fp);
	return 0;
}

static bool entry_matches(const ignore_entry *e, const bwk_finding *f)
{
	if (e->expired)
		return false;
	if (e->rule && strcmp(e->rule, f->rule->id) != 0)
		return false;
	if (e->fingerprint[0] && strcmp(e->fingerprint, f->fingerprint) != 0)
		return false;
	if (e->glob) {
		const char *p = f->path ? f->path : (f->key ? f->key : "");
		if (fnmatch(e->glob, p, 0) != 0)
			return false;
	}
	return true;
}

size_t bwk_ignore_apply(const bwk_ignore *ig, bwk_findings *f)
{
	size_t n = 0;
	if (!ig)
		return 0;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		bwk_finding *x = bwk_findings_mut(f, i);
		if (x->suppressed)
			continue;
		for (size_t j = 0; j < ig->n; j++)
			if (entry_matches(&ig->v[j], x)) {
				x->suppressed = true;
				x->suppressed_by = BWK_SUPPRESS_IGNORE;
				free(x->suppress_reason);
				x->suppress_reason =
				    ig->v[j].reason ? xstrdup(ig->v[j].reason) : NULL;
				break;
			}
		if (!x->suppressed && ig->nfps &&
		    bsearch(x->fingerprint, ig->fps, ig->nfps, sizeof(*ig->fps), cmp_fp)) {
			x->suppressed = true;
			x->suppressed_by = BWK_SUPPRESS_BASELINE;
		}
		n += x->suppressed;
	}
	return n;
}
