#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/finding.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "report/report_private.h"

/* Caps so that a hostile input producing millions of matches cannot exhaust memory. */
#define MAX_FINDINGS 100000
#define MAX_EVIDENCE 200

struct bwk_findings {
	pthread_mutex_t lock;
	bwk_finding **items;
	size_t n, cap;
	bwk_rule **rules;
	size_t nrules, rules_cap;
	/* open-addressing set of rule ids (indexes into rules + 1): one vulnerability advisory
	 * is one rule, and thousands of them made a linear search the scan's hot spot */
	size_t *rule_set;
	size_t rule_set_cap;
	/* open-addressing set of fingerprints (indexes into items + 1) */
	size_t *set;
	size_t set_cap;
	size_t dropped;
	report_coverage *cov;
};

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical", "none"};
static const char *const cat_names[] = {"secret", "config", "vulnerability", "malware", "integrity",
					"host",	  "daemon", "workload",	     "registry"};

const char *bwk_severity_name(bwk_severity s)
{
	return (unsigned)s < 6 ? sev_names[s] : "unknown";
}

int bwk_severity_parse(const char *s, bwk_severity *out)
{
	for (int i = 0; i < 6; i++)
		if (s && strcasecmp(s, sev_names[i]) == 0) {
			*out = (bwk_severity)i;
			return 0;
		}
	return -1;
}

const char *bwk_category_name(bwk_category c)
{
	return (unsigned)c < 9 ? cat_names[c] : "unknown";
}

const char *bwk_suppression_name(bwk_suppression s)
{
	return s == BWK_SUPPRESS_IGNORE	    ? "ignore"
	       : s == BWK_SUPPRESS_BASELINE ? "baseline"
	       : s == BWK_SUPPRESS_VEX	    ? "vex"
					    : "none";
}

int bwk_category_parse(const char *s, bwk_category *out)
{
	for (int i = 0; i < 9; i++)
		if (s && strcmp(s, cat_names[i]) == 0) {
			*out = (bwk_category)i;
			return 0;
		}
	return -1;
}

bwk_findings *bwk_findings_new(void)
{
	bwk_findings *f = xcalloc(1, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->cov = report_coverage_new();
	return f;
}

/* A finding and its strings are one allocation (pack_finding): an audit of a large stream
 * keeps up to MAX_FINDINGS of them, and six allocations each cost a third more. */
static void finding_free(bwk_finding *x)
{
	free(x->suppress_reason); /* set later by the ignore file, not packed */
	free(x->added_by);	  /* set after the walk (bwk_findings_set_provenance) */
	free(x->removed_by);
	free(x);
}

static char *pack_str(char **at, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *r = memcpy(*at, s, n);
	*at += n;
	return r;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static bwk_finding *pack_finding(const bwk_finding *t)
{
	size_t n = sizeof(*t) + str_size(t->target) + str_size(t->layer) + str_size(t->path) +
		   str_size(t->key) + str_size(t->message) + str_size(t->evidence);
	bwk_finding *x = xmalloc(n);
	*x = *t;
	char *at = (char *)(x + 1);
	x->target = pack_str(&at, t->target);
	x->layer = pack_str(&at, t->layer);
	x->path = pack_str(&at, t->path);
	x->key = pack_str(&at, t->key);
	x->message = pack_str(&at, t->message);
	x->evidence = pack_str(&at, t->evidence);
	return x;
}

void bwk_findings_free(bwk_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		finding_free(f->items[i]);
	for (size_t i = 0; i < f->nrules; i++)
		bwk_rule_dup_free(f->rules[i]);
	free(f->items);
	free(f->rules);
	free(f->set);
	free(f->rule_set);
	report_coverage_free(f->cov);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static size_t id_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void rule_set_insert(bwk_findings *f, size_t idx)
{
	size_t mask = f->rule_set_cap - 1;
	size_t h = id_hash(f->rules[idx]->id) & mask;
	while (f->rule_set[h])
		h = (h + 1) & mask;
	f->rule_set[h] = idx + 1;
}

static const bwk_rule *intern_rule(bwk_findings *f, const bwk_rule *r)
{
	if (f->rule_set_cap) {
		size_t mask = f->rule_set_cap - 1;
		for (size_t h = id_hash(r->id) & mask; f->rule_set[h]; h = (h + 1) & mask)
			if (strcmp(f->rules[f->rule_set[h] - 1]->id, r->id) == 0)
				return f->rules[f->rule_set[h] - 1];
	}
	bwk_rule *c = bwk_rule_dup(r);
	if (f->nrules == f->rules_cap) {
		f->rules_cap = f->rules_cap ? f->rules_cap * 2 : 16;
		f->rules = xrealloc(f->rules, f->rules_cap * sizeof(*f->rules));
	}
	f->rules[f->nrules++] = c;
	if ((f->nrules + 1) * 2 > f->rule_set_cap) {
		free(f->rule_set);
		f->rule_set_cap = f->rule_set_cap ? f->rule_set_cap * 2 : 64;
		f->rule_set = xcalloc(f->rule_set_cap, sizeof(size_t));
		for (size_t i = 0; i < f->nrules; i++)
			rule_set_insert(f, i);
	} else {
		rule_set_insert(f, f->nrules - 1);
	}
	return c;
}

static uint64_t fp_hash(const char *fp)
{
	uint64_t h = 0;
	for (int i = 0; i < 16; i++)
		h = h * 16 + (uint64_t)(fp[i] <= '9' ? fp[i] - '0' : fp[i] - 'a' + 10);
	return h;
}

static void set_insert(bwk_findings *f, size_t idx)
{
	size_t mask = f->set_cap - 1;
	size_t h = (size_t)fp_hash(f->items[idx]->fingerprint) & mask;
	while (f->set[h])
		h = (h + 1) & mask;
	f->set[h] = idx + 1;
}

static bool set_contains(const bwk_findings *f, const char *fp)
{
	if (!f->set_cap)
		return false;
	size_t mask = f->set_cap - 1;
	size_t h = (size_t)fp_hash(fp) & mask;
	while (f->set[h]) {
		if (strcmp(f->items[f->set[h] - 1]->fingerprint, fp) == 0)
			return true;
		h = (h + 1) & mask;
	}
	return false;
}

/* Returns true when the set was rebuilt (and so already holds every item). */
static bool set_grow(bwk_findings *f)
{
	if (f->n * 2 < f->set_cap)
		return false;
	free(f->set);
	f->set_cap = f->set_cap ? f->set_cap * 2 : 64;
	f->set = xcalloc(f->set_cap, sizeof(size_t));
	for (size_t i = 0; i < f->n; i++)
		set_insert(f, i);
	return true;
}

/* Evidence that is not secret is still untrusted text from an image: bound it and escape
 * control characters so that it cannot forge lines or terminal escapes in the text report. */
static char *clean_evidence(const char *s)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, MAX_EVIDENCE + 16);
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n < MAX_EVIDENCE; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			bwk_strbuf_printf(&sb, "\\x%02x", *p);
		else
			bwk_strbuf_appendn(&sb, (const char *)p, 1);
	}
	if (s[n])
		bwk_strbuf_append(&sb, "…");
	return bwk_strbuf_steal(&sb);
}

int bwk_findings_add(bwk_findings *f, const bwk_finding_spec *spec, bwk_error **err)
{
	if (!spec || !spec->rule || !spec->rule->id)
		return bwk_error_set(err, BWK_E_INTERNAL, 0, "finding without a rule");
	const bwk_location *l = &spec->loc;

	/* built with borrowed and temporary strings, then packed into one block */
	bwk_finding t = {0}, *x = &t;
	cleanup_free char *message = NULL, *evidence = NULL;
	x->severity = spec->severity >= 0 && spec->severity <= BWK_SEV_CRITICAL
			  ? (bwk_severity)spec->severity
			  : spec->rule->severity;
	x->target = (char *)l->target;
	x->layer = (char *)l->layer;
	x->layer_index = l->layer ? l->layer_index : (l->layer_index >= 0 ? l->layer_index : -1);
	x->path = (char *)l->path;
	x->key = (char *)l->key;
	x->line = l->line;
	x->message = message = spec->message ? clean_evidence(spec->message) : NULL;
	if (spec->secret)
		x->evidence = evidence = bwk_redact(spec->secret, spec->secret_len);
	else if (spec->evidence)
		x->evidence = evidence = clean_evidence(spec->evidence);

	/* The fingerprint identifies the occurrence across runs without containing the secret:
	 * rule, where, and a hash of the secret (or of the evidence) — not the layer, so that a
	 * rebuilt image with the same file keeps its fingerprint. */
	char secret_hash[65] = "";
	if (spec->secret)
		bwk_sha256_hex(spec->secret, spec->secret_len, secret_hash);
	else if (spec->evidence)
		bwk_sha256_hex(spec->evidence, strlen(spec->evidence), secret_hash);
	cleanup_free char *fpin =
	    xasprintf("%s\n%s\n%s\n%u\n%s\n%s", spec->rule->id, l->path ? l->path : "",
		      l->key ? l->key : "", l->line, secret_hash,
		      spec->message && !spec->secret && !spec->evidence ? spec->message : "");
	bwk_sha256_hex(fpin, strlen(fpin), x->fingerprint);

	pthread_mutex_lock(&f->lock);
	if (set_contains(f, x->fingerprint) || f->n >= MAX_FINDINGS) {
		if (f->n >= MAX_FINDINGS)
			f->dropped++;
		pthread_mutex_unlock(&f->lock);
		return 0;
	}
	x = pack_finding(&t);
	x->rule = intern_rule(f, spec->rule);
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 32;
		f->items = xrealloc(f->items, f->cap * sizeof(*f->items));
	}
	f->items[f->n++] = x;
	if (!set_grow(f))
		set_insert(f, f->n - 1);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

void bwk_findings_merge(bwk_findings *dst, const bwk_findings *src)
{
	if (dst == src)
		return;
	pthread_mutex_lock(&dst->lock);
	for (size_t i = 0; i < src->n; i++) {
		if (dst->n >= MAX_FINDINGS) {
			dst->dropped += src->n - i;
			break;
		}
		const bwk_finding *s = src->items[i];
		bwk_finding *x = pack_finding(s);
		x->rule = intern_rule(dst, s->rule);
		x->suppress_reason = s->suppress_reason ? xstrdup(s->suppress_reason) : NULL;
		x->added_by = s->added_by ? xstrdup(s->added_by) : NULL;
		x->removed_by = s->removed_by ? xstrdup(s->removed_by) : NULL;
		if (dst->n == dst->cap) {
			dst->cap = dst->cap ? dst->cap * 2 : 32;
			dst->items = xrealloc(dst->items, dst->cap * sizeof(*dst->items));
		}
		/* no de-duplication: the same finding in two targets is two findings */
		dst->items[dst->n++] = x;
		if (!set_grow(dst))
			set_insert(dst, dst->n - 1);
	}
	dst->dropped += src->dropped;
	pthread_mutex_unlock(&dst->lock);
	/* checks: a check failed in any target failed; a passed one beats a skipped one */
	for (size_t i = 0; i < bwk_findings_check_count(src); i++) {
		bwk_check c, d = {0};
		if (!bwk_findings_check_get(src, i, &c))
			continue;
		bool have = false;
		for (size_t j = 0; j < bwk_findings_check_count(dst) && !have; j++)
			if (bwk_findings_check_get(dst, j, &d) && !strcmp(d.id, c.id))
				have = true;
		if (have && (d.status == BWK_CHECK_FAIL ||
			     (d.status == BWK_CHECK_PASS && c.status == BWK_CHECK_SKIP)))
			continue;
		bwk_rule r = {.id = c.id, .title = c.title};
		bwk_findings_check(dst, &r, c.status, c.detail ? "%s" : NULL, c.detail);
	}
}

static int strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_finding(const void *pa, const void *pb)
{
	const bwk_finding *a = *(bwk_finding *const *)pa, *b = *(bwk_finding *const *)pb;
	if (a->severity != b->severity)
		return a->severity > b->severity ? -1 : 1;
	int c;
	if ((c = strcmp(a->rule->id, b->rule->id)))
		return c;
	if ((c = strcmp0(a->target, b->target)))
		return c;
	if (a->layer_index != b->layer_index)
		return a->layer_index < b->layer_index ? -1 : 1;
	if ((c = strcmp0(a->path, b->path)))
		return c;
	if ((c = strcmp0(a->key, b->key)))
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return strcmp(a->fingerprint, b->fingerprint);
}

size_t bwk_findings_retain(bwk_findings *f, bool (*keep)(const bwk_finding *x, void *ctx),
			   void *ctx)
{
	pthread_mutex_lock(&f->lock);
	size_t k = 0, n = f->n;
	for (size_t i = 0; i < n; i++) {
		if (keep(f->items[i], ctx))
			f->items[k++] = f->items[i];
		else
			finding_free(f->items[i]);
	}
	f->n = k;
	/* indexes moved: rebuild the fingerprint set */
	if (f->set_cap) {
		memset(f->set, 0, f->set_cap * sizeof(size_t));
		for (size_t i = 0; i < f->n; i++)
			set_insert(f, i);
	}
	pthread_mutex_unlock(&f->lock);
	return n - k;
}

void bwk_findings_sort(bwk_findings *f)
{
	pthread_mutex_lock(&f->lock);
	if (f->n)
		qsort(f->items, f->n, sizeof(*f->items), cmp_finding);
	/* indexes moved: rebuild the fingerprint set */
	if (f->set_cap) {
		memset(f->set, 0, f->set_cap * sizeof(size_t));
		for (size_t i = 0; i < f->n; i++)
			set_insert(f, i);
	}
	pthread_mutex_unlock(&f->lock);
}

size_t bwk_findings_count(const bwk_findings *f)
{
	return f->n;
}

const bwk_finding *bwk_findings_get(const bwk_findings *f, size_t i)
{
	return i < f->n ? f->items[i] : NULL;
}

size_t bwk_findings_rule_count(const bwk_findings *f)
{
	return f->nrules;
}

const bwk_rule *bwk_findings_rule(const bwk_findings *f, size_t i)
{
	return i < f->nrules ? f->rules[i] : NULL;
}

void bwk_findings_summary(const bwk_findings *f, size_t counts[5])
{
	for (int i = 0; i < 5; i++)
		counts[i] = 0;
	for (size_t i = 0; i < f->n; i++)
		if (!f->items[i]->suppressed)
			counts[f->items[i]->severity]++;
}

int bwk_findings_max_severity(const bwk_findings *f)
{
	int max = -1;
	for (size_t i = 0; i < f->n; i++)
		if (!f->items[i]->suppressed && (int)f->items[i]->severity > max)
			max = (int)f->items[i]->severity;
	return max;
}

bool bwk_findings_fail(const bwk_findings *f, bwk_severity fail_on)
{
	if (fail_on >= BWK_SEV_NONE)
		return false;
	return bwk_findings_max_severity(f) >= (int)fail_on;
}

/* Used by the ignore module. */
bwk_finding *bwk_findings_mut(bwk_findings *f, size_t i);
bwk_finding *bwk_findings_mut(bwk_findings *f, size_t i)
{
	return i < f->n ? f->items[i] : NULL;
}

bool bwk_findings_suppress(bwk_findings *f, size_t i, bwk_suppression by, const char *reason)
{
	bwk_finding *x = i < bwk_findings_count(f) ? bwk_findings_mut(f, i) : NULL;
	if (!x || x->suppressed || by == BWK_SUPPRESS_NONE)
		return false;
	x->suppressed = true;
	x->suppressed_by = by;
	free(x->suppress_reason);
	x->suppress_reason = reason ? xstrdup(reason) : NULL;
	return true;
}

bool bwk_findings_set_provenance(bwk_findings *f, size_t i, const char *added_by,
				 const char *removed_by)
{
	bwk_finding *x = i < bwk_findings_count(f) ? bwk_findings_mut(f, i) : NULL;
	if (!x)
		return false;
	free(x->added_by);
	free(x->removed_by);
	x->added_by = added_by ? xstrdup(added_by) : NULL;
	x->removed_by = removed_by ? xstrdup(removed_by) : NULL;
	return true;
}

report_coverage *report_findings_coverage(const bwk_findings *f)
{
	return f->cov;
}

void report_findings_lock(const bwk_findings *f, bool lock)
{
	pthread_mutex_t *m = (pthread_mutex_t *)&f->lock;
	if (lock)
		pthread_mutex_lock(m);
	else
		pthread_mutex_unlock(m);
}

bool report_findings_have_rule(const bwk_findings *f, const char *id)
{
	/* a rule is interned by the first finding that carries it (O(1) through the id set) */
	if (!f->rule_set_cap)
		return false;
	size_t mask = f->rule_set_cap - 1;
	for (size_t h = id_hash(id) & mask; f->rule_set[h]; h = (h + 1) & mask)
		if (strcmp(f->rules[f->rule_set[h] - 1]->id, id) == 0)
			return true;
	return false;
}
