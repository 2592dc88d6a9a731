/* Docker's --env-file format: one KEY=VALUE or KEY per line, '#' comments and blank lines
 * skipped, leading blanks and a trailing CR dropped, the value taken verbatim (no quotes, no
 * expansion). Untrusted input: bounded size, entry count and key syntax. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define MAX_ENVFILE_BYTES (1u << 20)

static bool key_ok(const char *k, size_t n)
{
	if (n == 0 || n > 1024)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k[i] == '\0' || k[i] == ' ' || k[i] == '\t')
			return false;
	return true;
}

int bwk_envfile_parse(const char *data, size_t len, bwk_strv *out, bwk_error **err)
{
	*out = (bwk_strv){0};
	if (len > MAX_ENVFILE_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "larger than %u bytes",
				     MAX_ENVFILE_BYTES);
	cleanup_strv_clear bwk_strv v = {0};
	size_t lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - line) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		if (l && line[l - 1] == '\r')
			l--;
		while (l && (*line == ' ' || *line == '\t')) {
			line++;
			l--;
		}
		if (!l || *line == '#')
			continue;
		const char *eq = memchr(line, '=', l);
		size_t kl = eq ? (size_t)(eq - line) : l;
		if (!key_ok(line, kl) || memchr(line, '\0', l))
			return bwk_error_set(err, BWK_E_INPUT, 0, "line %zu: invalid variable name",
					     lineno);
		if (v.n >= BWK_MAX_ENV)
			return bwk_error_set(err, BWK_E_LIMIT, 0, "more than %d variables",
					     BWK_MAX_ENV);
		if (bwk_strv_take(&v, xstrndup(line, l), err) < 0)
			return -1;
	}
	*out = v;
	v = (bwk_strv){0};
	return 0;
}
