/* Facts and checks: what a report judged, and every check with its status. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/finding.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "report/report_private.h"

/* A hostile engine or image must not grow a report without bound through its facts. */
#define MAX_FACTS	 256
#define MAX_CHECKS	 4096
#define MAX_FACT_VALUE	 512
#define MAX_CHECK_DETAIL 512

typedef struct fact {
	char *key, *value;
} fact;

typedef struct check {
	char *id, *title, *detail;
	bwk_check_status status;
} check;

struct report_coverage {
	fact *facts;
	size_t nfacts;
	check *checks;
	size_t nchecks, capchecks;
};

report_coverage *report_coverage_new(void)
{
	return xcalloc(1, sizeof(report_coverage));
}

void report_coverage_free(report_coverage *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfacts; i++) {
		free(c->facts[i].key);
		free(c->facts[i].value);
	}
	for (size_t i = 0; i < c->nchecks; i++) {
		free(c->checks[i].id);
		free(c->checks[i].title);
		free(c->checks[i].detail);
	}
	free(c->facts);
	free(c->checks);
	free(c);
}

/* Bounded, with control characters escaped: values can come from an image or an engine. */
static char *clean_vfmt(size_t max, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static char *clean_vfmt(size_t max, const char *fmt, va_list ap)
{
	cleanup_free char *raw = NULL;
	if (vasprintf(&raw, fmt, ap) < 0)
		abort();
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, max + 16);
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)raw;
	for (; *p && n < max; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			bwk_strbuf_printf(&sb, "\\x%02x", *p);
		else
			bwk_strbuf_appendn(&sb, (const char *)p, 1);
	}
	if (*p)
		bwk_strbuf_append(&sb, "…");
	return bwk_strbuf_steal(&sb);
}

void bwk_findings_fact(bwk_findings *f, const char *key, const char *fmt, ...)
{
	report_coverage *c = report_findings_coverage(f);
	va_list ap;
	va_start(ap, fmt);
	char *v = clean_vfmt(MAX_FACT_VALUE, fmt, ap);
	va_end(ap);
	report_findings_lock(f, true);
	size_t i = 0;
	while (i < c->nfacts && strcmp(c->facts[i].key, key))
		i++;
	if (i < c->nfacts) {
		free(c->facts[i].value);
		c->facts[i].value = v;
	} else if (c->nfacts < MAX_FACTS) {
		c->facts = xrealloc(c->facts, (c->nfacts + 1) * sizeof(*c->facts));
		c->facts[c->nfacts++] = (fact){xstrdup(key), v};
	} else {
		free(v);
	}
	report_findings_lock(f, false);
}

size_t bwk_findings_fact_count(const bwk_findings *f)
{
	return report_findings_coverage(f)->nfacts;
}

bool bwk_findings_fact_get(const bwk_findings *f, size_t i, const char **key, const char **value)
{
	const report_coverage *c = report_findings_coverage(f);
	if (i >= c->nfacts)
		return false;
	*key = c->facts[i].key;
	*value = c->facts[i].value;
	return true;
}

void bwk_findings_check(bwk_findings *f, const bwk_rule *rule, bwk_check_status status,
			const char *detail_fmt, ...)
{
	report_coverage *c = report_findings_coverage(f);
	char *detail = NULL;
	if (detail_fmt) {
		va_list ap;
		va_start(ap, detail_fmt);
		detail = clean_vfmt(MAX_CHECK_DETAIL, detail_fmt, ap);
		va_end(ap);
	}
	report_findings_lock(f, true);
	size_t i = 0;
	while (i < c->nchecks && strcmp(c->checks[i].id, rule->id))
		i++;
	if (i == c->nchecks) {
		if (c->nchecks == MAX_CHECKS) {
			report_findings_lock(f, false);
			free(detail);
			return;
		}
		if (c->nchecks == c->capchecks) {
			c->capchecks = c->capchecks ? c->capchecks * 2 : 32;
			c->checks = xrealloc(c->checks, c->capchecks * sizeof(*c->checks));
		}
		c->checks[c->nchecks++] = (check){
		    xstrdup(rule->id), xstrdup(rule->title ? rule->title : rule->id), NULL, status};
	}
	free(c->checks[i].detail);
	c->checks[i].detail = detail;
	c->checks[i].status = status;
	report_findings_lock(f, false);
}

bool bwk_findings_has_check(const bwk_findings *f, const char *id)
{
	const report_coverage *c = report_findings_coverage(f);
	for (size_t i = 0; i < c->nchecks; i++)
		if (!strcmp(c->checks[i].id, id))
			return true;
	return false;
}

size_t bwk_findings_check_count(const bwk_findings *f)
{
	return report_findings_coverage(f)->nchecks;
}

bool bwk_findings_check_get(const bwk_findings *f, size_t i, bwk_check *out)
{
	const report_coverage *c = report_findings_coverage(f);
	if (i >= c->nchecks)
		return false;
	const check *k = &c->checks[i];
	*out = (bwk_check){k->id, k->title, k->status, k->detail};
	if (k->status == BWK_CHECK_PASS && report_findings_have_rule(f, k->id))
		out->status = BWK_CHECK_FAIL;
	return true;
}

void bwk_findings_check_summary(const bwk_findings *f, size_t counts[3])
{
	counts[0] = counts[1] = counts[2] = 0;
	bwk_check k;
	for (size_t i = 0; bwk_findings_check_get(f, i, &k); i++)
		counts[k.status]++;
}

const char *bwk_check_status_name(bwk_check_status s)
{
	static const char *const names[] = {"pass", "fail", "skip"};
	return (unsigned)s < 3 ? names[s] : "unknown";
}
