#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>

#include "bulwark/finding.h"
#include "core/cleanup.h"
#include "core/util.h"

#define MAX_IGNORE_BYTES (1 << 20)
#define MAX_IGNORE_LINE	 1024

bwk_finding *bwk_findings_mut(bwk_findings *f, size_t i);

typedef struct ignore_entry {
	char *rule; /* NULL: any rule */
	char *glob; /* NULL: any path */
	char fingerprint[65];
} ignore_entry;

struct bwk_ignore {
	ignore_entry *v;
	size_t n;
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

static bool is_rule_id(const char *s)
{
	if (!*s || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' &&
		    *p != '.' && *p != '_')
			return false;
	return true;
}

void bwk_ignore_free(bwk_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++) {
		free(ig->v[i].rule);
		free(ig->v[i].glob);
	}
	free(ig->v);
	free(ig);
}

static void ignore_freep(bwk_ignore **p)
{
	bwk_ignore_free(*p);
}

int bwk_ignore_parse(const char *text, size_t len, const char *name, bwk_ignore **out,
		     bwk_error **err)
{
	if (len > MAX_IGNORE_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "%s: over the %d-byte limit", name,
				     MAX_IGNORE_BYTES);
	__attribute__((cleanup(ignore_freep))) bwk_ignore *ig = xcalloc(1, sizeof(*ig));
	size_t cap = 0;
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
		if (ig->n == cap) {
			cap = cap ? cap * 2 : 16;
			ig->v = xrealloc(ig->v, cap * sizeof(*ig->v));
		}
		ig->v[ig->n++] = e;
	}
	*out = steal_pointer(&ig);
	return 0;
}

int bwk_ignore_load(const char *path, bwk_ignore **out, bwk_error **err)
{
	cleanup_free char *data = NULL;
	size_t len = 0;
	if (bwk_read_file_at(AT_FDCWD, path, MAX_IGNORE_BYTES, true, &data, &len, err) < 0)
		return -1;
	return bwk_ignore_parse(data, len, path, out, err);
}

static bool entry_matches(const ignore_entry *e, const bwk_finding *f)
{
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
		for (size_t j = 0; j < ig->n; j++)
			if (entry_matches(&ig->v[j], x)) {
				x->suppressed = true;
				n++;
				break;
			}
	}
	return n;
}
