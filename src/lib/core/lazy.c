/* Loading of the libraries bulwark uses on first use (see lazy.h for why). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "bulwark/log.h"
#include "core/lazy.h"

/* A library or symbol that cannot be loaded ends the process with status 2 (input/usage
 * error), one line naming the package to install. That is the failure the dynamic loader
 * reported at start-up when these libraries were linked (it exits 127 there), only later and
 * with the fix in it. Returning an error instead would make every wrapper invent a failure
 * value its library never returns (hs_scan, EVP_sha256, archive_entry_size…) and every
 * caller handle a case that only a broken installation produces. */
static _Noreturn void fail(const bwk_lazy_lib *lib, const char *what)
{
	const char *why = dlerror();
	if (what)
		bwk_log(BWK_LOG_FATAL, "cannot load %s from %s (%s): install the Debian package %s",
			what, lib->soname, why ? why : "symbol not found", lib->package);
	else
		bwk_log(BWK_LOG_FATAL, "cannot load %s (%s): install the Debian package %s",
			lib->soname, why ? why : "unknown error", lib->package);
	exit(2);
}

void bwk_lazy_open(bwk_lazy_lib *lib)
{
	/* RTLD_LOCAL: the library's symbols stay out of the global scope, where they could
	 * interpose on another library's (and ours never interpose on its own). */
	lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle)
		fail(lib, NULL);
}

void *bwk_lazy_sym(bwk_lazy_lib *lib, const char *name)
{
	pthread_once(&lib->once, lib->load);
	dlerror(); /* a NULL symbol value is legal; only dlerror tells a failure apart */
	void *p = dlsym(lib->handle, name);
	if (!p)
		fail(lib, name);
	return p;
}
