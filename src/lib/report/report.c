#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/report.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "report/report_private.h"

int bwk_format_parse(const char *s, bwk_format *out)
{
	static const char *const names[] = {"text", "json", "sarif"};
	for (int i = 0; i < 3; i++)
		if (s && strcmp(s, names[i]) == 0) {
			*out = (bwk_format)i;
			return 0;
		}
	return -1;
}

bool bwk_report_want_color(FILE *stream)
{
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(stream)) == 1;
}

int bwk_report_render(const bwk_findings *f, const bwk_report_opts *o, char **out, bwk_error **err)
{
	switch (o->format) {
	case BWK_FORMAT_TEXT:
		return bwk_report_text(f, o, out, err);
	case BWK_FORMAT_JSON:
		return bwk_report_json(f, o, out, err);
	case BWK_FORMAT_SARIF:
		return bwk_report_sarif(f, o, out, err);
	}
	return bwk_error_set(err, BWK_E_USAGE, 0, "unknown report format %d", (int)o->format);
}

int bwk_report_write(const bwk_findings *f, const bwk_report_opts *o, const char *path,
		     bwk_error **err)
{
	cleanup_free char *doc = NULL;
	if (bwk_report_render(f, o, &doc, err) < 0)
		return -1;
	size_t len = strlen(doc);
	if (!path || strcmp(path, "-") == 0) {
		if (fwrite(doc, 1, len, stdout) != len || fflush(stdout) != 0)
			return bwk_error_set(err, BWK_E_IO, 0,
					     "writing the report to stdout failed");
		return 0;
	}
	if (bwk_write_file_atomic(path, doc, len, 0644, err) < 0)
		return bwk_error_wrap(err, "writing the report");
	return 0;
}
