#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int render(const bwk_findings *f, const bwk_report_opts *o, FILE *out, bwk_error **err)
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

int bwk_report_render(const bwk_findings *f, const bwk_report_opts *o, char **out, bwk_error **err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		return bwk_error_set(err, BWK_E_NOMEM, errno, "cannot render the report");
	int rc = render(f, o, mem, err);
	bool bad = ferror(mem) != 0;
	if (fclose(mem) != 0 || bad || rc < 0) {
		free(buf);
		return rc < 0 ? -1 : bwk_error_set(err, BWK_E_NOMEM, 0, "cannot render the report");
	}
	*out = buf;
	return 0;
}

/* Stream the report into `out`, then flush: the report is never in memory whole. */
static int render_to(const bwk_findings *f, const bwk_report_opts *o, FILE *out, const char *what,
		     bwk_error **err)
{
	if (render(f, o, out, err) < 0)
		return -1;
	if (fflush(out) != 0 || ferror(out)) {
		if (out == stdout)
			return bwk_error_set(err, BWK_E_IO, errno,
					     "writing the report to stdout failed");
		return bwk_error_set(err, BWK_E_IO, errno, "%s: write failed", what);
	}
	return 0;
}

static int write_path(const bwk_findings *f, const bwk_report_opts *o, const char *path,
		      bwk_error **err)
{
	/* An existing non-regular target (-o /dev/null, /dev/stdout, a FIFO) is written in place:
	 * renaming a temporary file over it would replace the host's /dev/null with a file (the
	 * same policy as bwk_write_file_atomic, which needs the whole text in memory). */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		cleanup_file FILE *out = fd < 0 ? NULL : fdopen(fd, "w");
		if (!out) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			return bwk_error_set(err, BWK_E_IO, e, "%s: cannot open", path);
		}
		return render_to(f, o, out, path, err);
	}
	cleanup_free char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return bwk_error_set(err, BWK_E_IO, errno,
				     "%s: cannot create a temporary file next to it", path);
	cleanup_file FILE *out = fdopen(fd, "w");
	if (!out) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return bwk_error_set(err, BWK_E_IO, e, "%s: cannot open", tmp);
	}
	if (render_to(f, o, out, tmp, err) < 0) {
		unlink(tmp);
		return -1;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return bwk_error_set(err, BWK_E_IO, e, "%s: cannot finish writing", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return bwk_error_set(err, BWK_E_IO, e, "%s: cannot rename into place", path);
	}
	return 0;
}

int bwk_report_write(const bwk_findings *f, const bwk_report_opts *o, const char *path,
		     bwk_error **err)
{
	if (!path || strcmp(path, "-") == 0)
		return render_to(f, o, stdout, "stdout", err);
	if (write_path(f, o, path, err) < 0)
		return bwk_error_wrap(err, "writing the report");
	return 0;
}
