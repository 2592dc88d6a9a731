/* bulwark — privilege narrowing per subcommand (signify's per-verb pledge): reading an image
 * needs no privilege, so a scanner started as root keeps only what reading every file needs. */
#ifndef BULWARK_PRIVS_H
#define BULWARK_PRIVS_H

#include <stdbool.h>

#include "bulwark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_privs_profile {
	/* read anything below the target, write only what root's uid owns (the report): keeps
	 * CAP_DAC_READ_SEARCH, drops every other capability from all sets and the bounding set,
	 * sets no_new_privs. */
	BWK_PRIVS_READER = 0,
} bwk_privs_profile;

/* Apply `profile` when the process has any capability (e.g. runs as root); otherwise only set
 * no_new_privs. Says so on stderr once when `say` is true. */
int bwk_privs_narrow(bwk_privs_profile profile, bool say, bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
