/* Cleanup attributes for every resource so that error branches have no manual frees.
 * Ownership moves out of a cleanup variable only through steal_pointer()/steal_fd()/
 * steal_pid().
 *
 * A type with a free function gets its cleanup function from BWK_DEFINE_CLEANUP, written next
 * to the type (below for the public handles, in the module's private header for private
 * ones), and variables use it through cleanup_with():
 *   BWK_DEFINE_CLEANUP(bwk_image *, bwk_image_close)   // defines bwk_image_closep()
 *   cleanup_with(bwk_image_closep) bwk_image *img = NULL;
 * (systemd's DEFINE_TRIVIAL_CLEANUP_FUNC). The free function is not called on NULL. */
#ifndef BWK_CORE_CLEANUP_H
#define BWK_CORE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"
#include "bulwark/image.h"
#include "bulwark/scan.h"
#include "bulwark/secrets.h"
#include "bulwark/strv.h"

#define cleanup_with(func) __attribute__((cleanup(func)))

/* NOLINTBEGIN(bugprone-macro-parentheses): `type` and `func` are a declarator and a name */
#define BWK_DEFINE_CLEANUP(type, func)                                                             \
	static inline __attribute__((unused)) void func##p(type *p)                                \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}
/* NOLINTEND(bugprone-macro-parentheses) */

static inline void bwk_freep(void *p)
{
	free(*(void **)p);
}
static inline void bwk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void bwk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void bwk_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void bwk_errorp(bwk_error **e)
{
	bwk_error_free(*e);
}

/* The public handles' cleanup functions (bwk_rule_list_freep …); private types declare theirs
 * beside the type, in their module's private header. */
BWK_DEFINE_CLEANUP(bwk_rule_list *, bwk_rule_list_free)
BWK_DEFINE_CLEANUP(bwk_ignore *, bwk_ignore_free)
BWK_DEFINE_CLEANUP(bwk_image *, bwk_image_close)
BWK_DEFINE_CLEANUP(bwk_scanner *, bwk_scanner_free)
BWK_DEFINE_CLEANUP(bwk_scan_compiled *, bwk_scan_compiled_free)
BWK_DEFINE_CLEANUP(bwk_secrets *, bwk_secrets_free)
BWK_DEFINE_CLEANUP(char **, bwk_strv_free) /* a NULL-terminated vector: bwk_strv_freep() */

/* A bwk_strv held by value: cleared (strings and array freed) on every return. */
static inline void bwk_strv_clearp(bwk_strv *v)
{
	bwk_strv_clear(v);
}

#define cleanup_free	   __attribute__((cleanup(bwk_freep)))
#define cleanup_close	   __attribute__((cleanup(bwk_closep)))
#define cleanup_file	   __attribute__((cleanup(bwk_fclosep)))
#define cleanup_dir	   __attribute__((cleanup(bwk_closedirp)))
#define cleanup_error	   __attribute__((cleanup(bwk_errorp)))
#define cleanup_strv	   __attribute__((cleanup(bwk_strv_freep)))
#define cleanup_strv_clear __attribute__((cleanup(bwk_strv_clearp)))

/* Type-checked (bubblewrap): the result has the pointer's own type, and `pp` must point to a
 * pointer. */
#define steal_pointer(pp)                                                                          \
	({                                                                                         \
		__typeof__(*(pp)) steal_pointer_v_ = *(pp);                                        \
		*(pp) = NULL;                                                                      \
		steal_pointer_v_;                                                                  \
	})

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* A child process this code owns until it hands it on (crun's cleanup_pid): killed and reaped
 * on every early return, so error branches need no kill()+waitpid(). Once the child is waited
 * for, or someone else owns it, steal_pid() it. */
static inline void bwk_pidp(pid_t *pid)
{
	if (*pid > 0) {
		int saved = errno;
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = saved;
	}
}
#define cleanup_pid __attribute__((cleanup(bwk_pidp)))

static inline pid_t steal_pid(pid_t *pid)
{
	pid_t v = *pid;
	*pid = -1;
	return v;
}

#endif
