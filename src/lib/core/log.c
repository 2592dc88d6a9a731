/* The library's output: messages go to the handler the caller installed (bulwark/log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "bulwark/log.h"

static bwk_output out; /* set before threads start (log.h), read-only afterwards */

void bwk_output_set(const bwk_output *o)
{
	out = o ? *o : (bwk_output){0};
}

void bwk_log(bwk_log_level level, const char *fmt, ...)
{
	if (!out.log)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	out.log(level, msg, out.data);
}

bool bwk_log_progress(void)
{
	return out.log && out.progress;
}

const char *bwk_setting(const char *key, const char *words)
{
	const char *name = out.setting ? out.setting(key, out.data) : NULL;
	return name ? name : words;
}
