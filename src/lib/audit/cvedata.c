/* The kernel and engine CVE tables (data/kernel-cves.yaml, data/engine-cves.yaml, format in
 * docs/data.md) and the version matching that tests/tools/check_cve_data.py defines. */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/log.h"
#include "audit/audit_private.h"
#include "core/cleanup.h"
#include "core/embed.h"
#include "core/yaml_tree.h"

BWK_EMBED(bwk_kernel_cves, "data/kernel-cves.yaml");
BWK_EMBED(bwk_engine_cves, "data/engine-cves.yaml");
BWK_EMBED(bwk_registry_cves, "data/registry-cves.yaml");

#define MAX_DATA ((size_t)4 << 20)
#define MAX_NUMS 8

typedef struct bwk_ver {
	long nums[MAX_NUMS];
	int n;
	int pre_rank; /* 3 = release; 0 alpha, 1 beta, 2 rc */
	long pre_num;
} bwk_ver;

/* Leading "N(.N)*" plus an immediately following "-alphaN|-betaN|-rcN" (dot optional). */
static int parse_leading(const char *s, bwk_ver *v)
{
	memset(v, 0, sizeof(*v));
	v->pre_rank = 3;
	const char *p = s;
	while (isdigit((unsigned char)*p)) {
		if (v->n == MAX_NUMS)
			return -1;
		char *end = NULL;
		long x = strtol(p, &end, 10);
		if (x < 0 || x > 1000000000L)
			return -1;
		v->nums[v->n++] = x;
		p = end;
		if (*p != '.' || !isdigit((unsigned char)p[1]))
			break;
		p++;
	}
	if (v->n == 0)
		return -1;
	static const char *const tags[] = {"alpha", "beta", "rc"};
	if (*p == '-')
		for (int i = 0; i < 3; i++) {
			size_t tl = strlen(tags[i]);
			if (strncmp(p + 1, tags[i], tl))
				continue;
			const char *q = p + 1 + tl;
			if (*q == '.')
				q++;
			if (!isdigit((unsigned char)*q))
				break;
			v->pre_rank = i;
			v->pre_num = strtol(q, NULL, 10);
			break;
		}
	return 0;
}

/* Package or kernel version -> comparable version (check_cve_data.normalize_*):
 * "v1.2", "1:20.10.24+dfsg1", "1.6.20~ds1-1", "1.1.0~rc1", "5.15.0-91-generic", "6.6.30+". */
static int normalize(const char *in, bwk_ver *v)
{
	cleanup_free char *s = xstrdup(in);
	char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == 'v' || *p == 'V')
		p++;
	char *colon = p;
	while (isdigit((unsigned char)*colon))
		colon++;
	if (colon != p && *colon == ':')
		p = colon + 1;
	p[strcspn(p, "+")] = 0;
	char *tilde = strchr(p, '~');
	if (tilde) {
		static const char *const tags[] = {"alpha", "beta", "rc"};
		bool pre = false;
		for (int i = 0; i < 3; i++)
			if (!strncmp(tilde + 1, tags[i], strlen(tags[i])))
				pre = true;
		if (pre)
			*tilde = '-';
		else
			*tilde = 0;
		/* a later '~' is cut too */
		char *t2 = strchr(tilde + 1, '~');
		if (t2)
			*t2 = 0;
	}
	return parse_leading(p, v);
}

static int vcmp(const bwk_ver *a, const bwk_ver *b)
{
	int n = a->n > b->n ? a->n : b->n;
	for (int i = 0; i < n; i++) {
		long x = i < a->n ? a->nums[i] : 0, y = i < b->n ? b->nums[i] : 0;
		if (x != y)
			return x < y ? -1 : 1;
	}
	if (a->pre_rank != b->pre_rank)
		return a->pre_rank < b->pre_rank ? -1 : 1;
	if (a->pre_num != b->pre_num)
		return a->pre_num < b->pre_num ? -1 : 1;
	return 0;
}

static bool same_branch(const bwk_ver *a, const bwk_ver *b)
{
	long a1 = a->n > 1 ? a->nums[1] : 0, b1 = b->n > 1 ? b->nums[1] : 0;
	return a->nums[0] == b->nums[0] && a1 == b1;
}

int bwk_version_affected(const char *version_s, const char *introduced, const char *const *fixed,
			 size_t nfixed)
{
	bwk_ver v, intro;
	if (normalize(version_s, &v) < 0 || parse_leading(introduced, &intro) < 0)
		return -1;
	if (vcmp(&v, &intro) < 0)
		return 0;
	if (nfixed == 0)
		return 1;
	bwk_ver maxf = {0};
	for (size_t i = 0; i < nfixed; i++) {
		bwk_ver f;
		if (parse_leading(fixed[i], &f) < 0)
			return -1;
		if (same_branch(&f, &v))
			return vcmp(&v, &f) < 0;
		if (i == 0 || vcmp(&f, &maxf) > 0)
			maxf = f;
	}
	return vcmp(&v, &maxf) < 0;
}

/* ---- loading ---- */

static char *dup_str(const json_t *o, const char *k)
{
	const char *s = aud_js_str(o, k);
	return s ? xstrdup(s) : NULL;
}

/* The strings of `arr` (others skipped); the table is embedded data, its lists short. */
static bwk_strv dup_strv(const json_t *arr)
{
	size_t cnt = json_is_array(arr) ? json_array_size(arr) : 0;
	bwk_strv v = {.v = xcalloc(cnt + 1, sizeof(char *)), .cap = cnt + 1};
	for (size_t i = 0; i < cnt; i++) {
		const json_t *e = json_array_get(arr, i);
		if (json_is_string(e))
			(void)bwk_strv_push(&v, json_string_value(e), NULL); /* within cap */
	}
	return v;
}

static void entry_free(cve_entry *e)
{
	free(e->id);
	free(e->name);
	free(e->severity);
	free(e->klass);
	free(e->component);
	free(e->introduced);
	free(e->description);
	free(e->remediation);
	free(e->note);
	bwk_strv_clear(&e->fixed);
	bwk_strv_clear(&e->refs);
	bwk_strv_clear(&e->requires);
}

void aud_cve_table_free(cve_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->e[i]);
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

int aud_cve_table_parse(const char *name, const char *text, size_t len, cve_table *t,
			bwk_error **err)
{
	memset(t, 0, sizeof(*t));
	bwk_yaml_limits lim = {.max_bytes = MAX_DATA, .max_docs = 1};
	json_auto_t *doc = bwk_yaml_load_one(name, text, len, &lim, err);
	if (!doc)
		return -1;
	const json_t *ver = json_object_get(doc, "version");
	if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "%s: data format version is not 1: update bulwark or use the "
				     "data files that came with it",
				     name);
	const json_t *cves = json_object_get(doc, "cves");
	if (!json_is_array(cves))
		return bwk_error_set(err, BWK_E_INPUT, 0, "%s: 'cves' is not a list", name);
	t->e = xcalloc(json_array_size(cves) + 1, sizeof(cve_entry));
	size_t i;
	const json_t *c;
	json_array_foreach(cves, i, c)
	{
		cve_entry *e = &t->e[t->n];
		e->id = dup_str(c, "id");
		e->introduced = dup_str(c, "introduced");
		e->severity = dup_str(c, "severity");
		bwk_ver tmp;
		if (!e->id || !e->introduced || !e->severity ||
		    !json_is_array(json_object_get(c, "fixed")) ||
		    parse_leading(e->introduced, &tmp) < 0) {
			entry_free(e);
			memset(e, 0, sizeof(*e));
			aud_cve_table_free(t);
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "%s: cves[%zu]: id, severity, introduced and fixed "
					     "are required (see docs/data.md)",
					     name, i);
		}
		e->name = dup_str(c, "name");
		e->klass = dup_str(c, "class");
		e->component = dup_str(c, "component");
		e->description = dup_str(c, "description");
		e->remediation = dup_str(c, "remediation");
		e->note = dup_str(c, "note");
		e->fixed = dup_strv(json_object_get(c, "fixed"));
		e->refs = dup_strv(json_object_get(c, "references"));
		e->requires = dup_strv(json_object_get(c, "requires"));
		t->n++;
		for (size_t k = 0; k < e->fixed.n; k++)
			if (parse_leading(e->fixed.v[k], &tmp) < 0) {
				aud_cve_table_free(t);
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "%s: cves[%zu]: fixed version does not parse",
						     name, i);
			}
	}
	return 0;
}

int aud_cve_table_load(const char *which, const char *data_dir, cve_table *t, bwk_error **err)
{
	if (data_dir) {
		cleanup_free char *path = xasprintf("%s/%s", data_dir, which);
		cleanup_free char *data = NULL;
		size_t len = 0;
		if (bwk_read_file_at(AT_FDCWD, path, MAX_DATA, true, &data, &len, err) < 0)
			return bwk_error_wrap(err, "loading CVE data (%s)",
					      bwk_setting("data", "the CVE data file"));
		return aud_cve_table_parse(path, data, len, t, err);
	}
	if (!strcmp(which, "kernel-cves.yaml"))
		return aud_cve_table_parse("built-in kernel-cves.yaml", bwk_kernel_cves,
					   BWK_EMBED_LEN(bwk_kernel_cves), t, err);
	if (!strcmp(which, "registry-cves.yaml"))
		return aud_cve_table_parse("built-in registry-cves.yaml", bwk_registry_cves,
					   BWK_EMBED_LEN(bwk_registry_cves), t, err);
	return aud_cve_table_parse("built-in engine-cves.yaml", bwk_engine_cves,
				   BWK_EMBED_LEN(bwk_engine_cves), t, err);
}

static bwk_severity sev_of(const char *s)
{
	bwk_severity v;
	return bwk_severity_parse(s, &v) == 0 ? v : BWK_SEV_HIGH;
}

/* The rule a CVE entry's findings carry (strings borrowed from the entry). */
static bwk_rule cve_rule(const cve_entry *e, bwk_category cat, const char *title)
{
	return (bwk_rule){
	    .id = e->id,
	    .category = cat,
	    .severity = sev_of(e->severity),
	    .title = title,
	    .description = e->description ? e->description : "",
	    .remediation = e->remediation ? e->remediation : "",
	    .references = (const char *const *)e->refs.v,
	};
}

int aud_cve_report(const cve_table *t, const char *component, const char *version,
		   const char *const *absent, bwk_category cat, const char *target, const char *key,
		   bwk_findings *out, bwk_error **err)
{
	for (size_t i = 0; i < t->n; i++) {
		const cve_entry *e = &t->e[i];
		if (component && (!e->component || strcmp(e->component, component)))
			continue;
		if (bwk_version_affected(version, e->introduced, (const char *const *)e->fixed.v,
					 e->fixed.n) != 1)
			continue;
		const char *missing = NULL;
		for (size_t r = 0; r < e->requires.n && !missing; r++)
			for (size_t a = 0; absent && absent[a]; a++)
				if (!strcmp(e->requires.v[r], absent[a]))
					missing = absent[a];
		cleanup_free char *fixes = NULL;
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 512);
		for (size_t f = 0; f < e->fixed.n; f++)
			bwk_strbuf_printf(&sb, "%s%s", f ? ", " : "", e->fixed.v[f]);
		fixes = bwk_strbuf_steal(&sb);
		cleanup_free char *title =
		    xasprintf("%s%s%s", e->name ? e->name : e->id, component ? " in " : "",
			      component ? component : "");
		cleanup_free char *msg =
		    missing ? xasprintf("%s %s is affected (fixed in %s), but its precondition "
					"%s is disabled on this host%s%s",
					component ? component : "kernel", version, fixes, missing,
					e->note ? ": " : "", e->note ? e->note : "")
			    : xasprintf("%s %s is affected (fixed in %s)%s%s%s",
					component ? component : "kernel", version, fixes,
					component && strpbrk(version, "+~")
					    ? "; a distribution package: its maintainers may have "
					      "backported the fix, check their security tracker"
					    : "",
					e->note ? "; " : "", e->note ? e->note : "");
		bwk_rule rule = cve_rule(e, cat, title);
		if (aud_audit_add(out, &rule, missing ? (int)BWK_SEV_INFO : -1, target, key, 0, msg,
				  NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* One rule per id: an id listed for several components (CVE-2022-24769: Docker Engine and
 * containerd) names them all in its title; the first entry gives the text. */
static void cve_rules_add(const cve_table *t, bwk_category cat, bwk_rule_list *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const cve_entry *e = &t->e[i];
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(t->e[j].id, e->id);
		if (seen)
			continue;
		bwk_strbuf sb;
		bwk_strbuf_init(&sb, 1024);
		bwk_strbuf_printf(&sb, "%s", e->name ? e->name : e->id);
		const char *sep = " in ";
		for (size_t k = i; k < t->n; k++)
			if (t->e[k].component && !strcmp(t->e[k].id, e->id)) {
				bwk_strbuf_printf(&sb, "%s%s", sep, t->e[k].component);
				sep = ", ";
			}
		cleanup_free char *title = bwk_strbuf_steal(&sb);
		bwk_rule rule = cve_rule(e, cat, title);
		bwk_rule_list_add(out, &rule);
	}
}

int bwk_audit_rule_list(const char *data_dir, bwk_rule_list **out, bwk_error **err)
{
	cleanup_with(aud_cve_table_free) cve_table kernel = {0};
	cleanup_with(aud_cve_table_free) cve_table engine = {0};
	cleanup_with(aud_cve_table_free) cve_table registry = {0};
	if (aud_cve_table_load("kernel-cves.yaml", data_dir, &kernel, err) < 0 ||
	    aud_cve_table_load("engine-cves.yaml", data_dir, &engine, err) < 0 ||
	    aud_cve_table_load("registry-cves.yaml", data_dir, &registry, err) < 0)
		return -1;
	bwk_rule_list *l = bwk_rule_list_new();
	size_t n = bwk_audit_rules(NULL, 0);
	const bwk_rule **fixed = xcalloc(n ? n : 1, sizeof(*fixed));
	bwk_audit_rules(fixed, n);
	for (size_t i = 0; i < n; i++)
		bwk_rule_list_add(l, fixed[i]);
	free(fixed);
	/* the categories aud_cve_report gives them: kernel flaws are the host's, engine flaws
	 * the daemon's */
	cve_rules_add(&kernel, BWK_CAT_HOST, l);
	cve_rules_add(&engine, BWK_CAT_DAEMON, l);
	cve_rules_add(&registry, BWK_CAT_REGISTRY, l); /* audit registry: the Server header */
	*out = l;
	return 0;
}

int bwk_audit_cve_match(const char *table, const char *data_dir, const char *component,
			const char *version, bwk_category cat, const char *target, const char *key,
			bwk_findings *out, size_t *nentries, bwk_error **err)
{
	cleanup_with(aud_cve_table_free) cve_table t = {0};
	if (!data_dir) {
		const char *e = getenv("BULWARK_DATA_DIR"); /* BWK_DATA_DIR: deprecated */
		if (!e || !*e)
			e = getenv("BWK_DATA_DIR");
		data_dir = e && *e ? e : NULL;
	}
	if (aud_cve_table_load(table, data_dir, &t, err) < 0)
		return -1;
	size_t n = 0, hit = 0;
	for (size_t i = 0; i < t.n; i++) {
		if (!t.e[i].component || strcmp(t.e[i].component, component))
			continue;
		n++;
		if (bwk_version_affected(version, t.e[i].introduced,
					 (const char *const *)t.e[i].fixed.v, t.e[i].fixed.n) == 1)
			hit++;
	}
	if (nentries)
		*nentries = n;
	if (aud_cve_report(&t, component, version, NULL, cat, target, key, out, err) < 0)
		return -1;
	return (int)hit;
}
