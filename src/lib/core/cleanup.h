/* Cleanup attributes for every resource so that error branches have no manual frees.
 * Ownership moves out of a cleanup variable only through steal_pointer()/steal_fd(). */
#ifndef BWK_CORE_CLEANUP_H
#define BWK_CORE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bulwark/error.h"

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
static inline void bwk_strvp(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define cleanup_free  __attribute__((cleanup(bwk_freep)))
#define cleanup_close __attribute__((cleanup(bwk_closep)))
#define cleanup_file  __attribute__((cleanup(bwk_fclosep)))
#define cleanup_dir   __attribute__((cleanup(bwk_closedirp)))
#define cleanup_error __attribute__((cleanup(bwk_errorp)))
#define cleanup_strv  __attribute__((cleanup(bwk_strvp)))

static inline void *bwk_steal_pointer(void *pp)
{
	void **p = (void **)pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) bwk_steal_pointer(pp)

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
