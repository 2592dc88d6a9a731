/* ISA-L's inflate, loaded on first use when installed (see lazy_isal.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/lazy_isal.h"

static bwk_isal isal;
static const bwk_isal *isal_ok;
static pthread_once_t isal_once = PTHREAD_ONCE_INIT;

static void isal_load(void)
{
	const char *want = getenv("BULWARK_GZIP");
	if (want && strcmp(want, "zlib") == 0)
		return;
	/* RTLD_LOCAL as in lazy.c; the handle stays open for the process's life */
	void *h = dlopen(BWK_SONAME_ISAL, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	*(void **)&isal.inflate_init = dlsym(h, "isal_inflate_init");
	*(void **)&isal.inflate_reset = dlsym(h, "isal_inflate_reset");
	*(void **)&isal.inflate = dlsym(h, "isal_inflate");
	if (!isal.inflate_init || !isal.inflate_reset || !isal.inflate) {
		dlclose(h);
		return;
	}
	isal_ok = &isal;
}

const bwk_isal *bwk_isal_get(void)
{
	pthread_once(&isal_once, isal_load);
	return isal_ok;
}
