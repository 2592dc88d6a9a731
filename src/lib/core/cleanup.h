/* Cleanup attributes for every resource so that error branches have no manual frees.
 * Ownership moves out of a cleanup variable only through steal_pointer()/steal_fd()/
 * steal_pid().
 *
 * A type with a free function gets its cleanup function from BWK_DEFINE_CLEANUP
 * (include/bulwark/cleanup.h), written next to the type's free function (in its public header
 * for the public handles, in the module's private header for private ones), and variables use
 * it through cleanup_with():
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

#include "bulwark/cleanup.h"
#include "bulwark/error.h"
#include "bulwark/strv.h"

#define cleanup_with(func) __attribute__((cleanup(func)))

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
