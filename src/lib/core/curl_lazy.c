/* libcurl, loaded on first use. Linking it pulls in ~26 shared libraries (GnuTLS, Kerberos,
 * LDAP, …) whose loading, relocation and extra mappings cost every bulwark process about 5 ms
 * at start and more at each fork — measured on `bulwark run`, where it was a quarter of the
 * start-to-exit time — while only the Docker Engine API readers (docker:NAME, audit of a live
 * daemon) and the registry client (src/lib/registry) need it. These wrappers have libcurl's own
 * signatures, so callers include <curl/curl.h> and call curl_easy_* as usual.
 *
 * The loaded library is process-wide state by nature (like curl_global_init itself): one
 * table, filled once under pthread_once, never changed afterwards. */
#define _GNU_SOURCE
#define CURL_DISABLE_TYPECHECK /* we define the functions its macros would wrap */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "bulwark/log.h"

typedef struct curl_api {
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	bool ok;
} curl_api;

static curl_api api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		bwk_log(BWK_LOG_WARNING,
			"%s: install libcurl4 for the Docker Engine API and registries", dlerror());
		return;
	}
#define SYM(field, name)                                                                           \
	do {                                                                                       \
		*(void **)&api.field = dlsym(h, name);                                             \
		if (!api.field)                                                                    \
			return;                                                                    \
	} while (0)
	SYM(easy_init, "curl_easy_init");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_escape, "curl_easy_escape");
	SYM(free, "curl_free");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
#undef SYM
	api.ok = true;
}

static bool ready(void)
{
	pthread_once(&api_once, load);
	return api.ok;
}

CURL *curl_easy_init(void)
{
	return ready() ? api.easy_init() : NULL;
}

void curl_easy_cleanup(CURL *c)
{
	if (c && ready())
		api.easy_cleanup(c);
}

void curl_easy_reset(CURL *c)
{
	if (c && ready())
		api.easy_reset(c);
}

/* Every option argument is a long, a pointer, a curl_off_t or a function pointer: one
 * integer-class register on the ABIs we build for, so it is forwarded as a 64-bit value. */
CURLcode(curl_easy_setopt)(CURL *c, CURLoption opt, ...)
{
	if (!ready())
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, opt);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return api.easy_setopt(c, opt, arg);
}

CURLcode(curl_easy_getinfo)(CURL *c, CURLINFO info, ...)
{
	if (!ready())
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return api.easy_getinfo(c, info, arg);
}

CURLcode curl_easy_perform(CURL *c)
{
	return ready() ? api.easy_perform(c) : CURLE_FAILED_INIT;
}

const char *curl_easy_strerror(CURLcode code)
{
	return ready() ? api.easy_strerror(code) : "libcurl could not be loaded";
}

char *curl_easy_escape(CURL *c, const char *s, int len)
{
	return ready() ? api.easy_escape(c, s, len) : NULL;
}

void curl_free(void *p)
{
	if (p && ready())
		api.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return ready() ? api.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (l && ready())
		api.slist_free_all(l);
}
