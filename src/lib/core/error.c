#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/error.h"
#include "core/util.h"

/* Returned when the allocation of an error itself fails: static, never freed. */
static bwk_error oom_error = {BWK_E_NOMEM, ENOMEM, (char *)"out of memory", NULL};

const char *bwk_strerror(bwk_code code)
{
	switch (code) {
	case BWK_OK:
		return "success";
	case BWK_E_IO:
		return "I/O error";
	case BWK_E_NOMEM:
		return "out of memory";
	case BWK_E_USAGE:
		return "usage error";
	case BWK_E_INPUT:
		return "input error";
	case BWK_E_LIMIT:
		return "limit exceeded";
	case BWK_E_UNSAFE:
		return "unsafe input";
	case BWK_E_INTEGRITY:
		return "integrity error";
	case BWK_E_UNSUPPORTED:
		return "unsupported";
	case BWK_E_NOTFOUND:
		return "not found";
	case BWK_E_PERM:
		return "permission denied";
	case BWK_E_RUNTIME:
		return "runtime error";
	case BWK_E_INTERNAL:
		return "internal error";
	}
	return "unknown error";
}

int bwk_error_setv(bwk_error **err, bwk_code code, int errnum, const char *fmt, va_list ap)
{
	if (!err)
		return -1;
	bwk_error *e = calloc(1, sizeof(*e));
	char *msg = NULL;
	if (!e || vasprintf(&msg, fmt, ap) < 0) {
		free(e);
		*err = &oom_error;
		return -1;
	}
	e->code = code;
	e->errnum = errnum;
	e->msg = msg;
	e->cause = NULL;
	if (*err) /* misuse: keep the older error as the cause instead of leaking it */
		e->cause = *err;
	*err = e;
	return -1;
}

int(bwk_error_set)(bwk_error **err, bwk_code code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bwk_error_setv(err, code, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int(bwk_error_wrap)(bwk_error **err, const char *fmt, ...)
{
	if (!err || !*err || *err == &oom_error)
		return -1;
	bwk_error *e = calloc(1, sizeof(*e));
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (!e || r < 0) {
		free(e);
		return -1; /* keep the original error: context is a nicety */
	}
	e->code = (*err)->code;
	e->errnum = 0;
	e->msg = msg;
	e->cause = *err;
	*err = e;
	return -1;
}

bwk_code bwk_error_code(const bwk_error *e)
{
	bwk_code c = BWK_OK;
	for (; e; e = e->cause)
		c = e->code;
	return c;
}

char *bwk_error_format(const bwk_error *e)
{
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 1 << 16);
	for (const bwk_error *p = e; p; p = p->cause) {
		if (p != e)
			bwk_strbuf_append(&sb, ": ");
		bwk_strbuf_append(&sb, p->msg);
		if (p->errnum)
			bwk_strbuf_printf(&sb, ": %s", strerror(p->errnum));
	}
	return bwk_strbuf_steal(&sb);
}

void bwk_error_print(const bwk_error *e, FILE *out)
{
	char *s = bwk_error_format(e);
	fprintf(out, "bulwark: %s\n", s ? s : "out of memory");
	free(s);
}

void bwk_error_free(bwk_error *e)
{
	while (e && e != &oom_error) {
		bwk_error *next = e->cause;
		free(e->msg);
		free(e);
		e = next;
	}
}
