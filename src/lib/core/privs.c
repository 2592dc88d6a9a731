#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "bulwark/log.h"
#include "bulwark/privs.h"

static bool has_any_cap(cap_t c)
{
	for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
		cap_flag_value_t f = CAP_CLEAR;
		if (cap_get_flag(c, v, CAP_PERMITTED, &f) == 0 && f == CAP_SET)
			return true;
	}
	return false;
}

int bwk_privs_narrow(bwk_privs_profile profile, bool say, bwk_error **err)
{
	(void)profile;
	/* A scanner has no reason to gain privileges through setuid files or file caps. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return bwk_error_set(err, BWK_E_PERM, errno, "cannot set no_new_privs");
	cap_t cur = cap_get_proc();
	if (!cur)
		return bwk_error_set(err, BWK_E_PERM, errno,
				     "cannot read the process capabilities");
	bool any = has_any_cap(cur);
	cap_free(cur);
	if (!any)
		return 0;

	static const cap_value_t keep[] = {CAP_DAC_READ_SEARCH};
	/* Bounding set first (needs CAP_SETPCAP, which we still have), then the process sets. */
	for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++) {
		if (v == keep[0] || !CAP_IS_SUPPORTED(v))
			continue;
		if (prctl(PR_CAPBSET_DROP, v, 0, 0, 0) < 0 && errno != EINVAL)
			return bwk_error_set(err, BWK_E_PERM, errno,
					     "cannot drop capability %d from the bounding set", v);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	cap_t c = cap_init(); /* all clear */
	if (!c)
		return bwk_error_set(err, BWK_E_NOMEM, errno, "cap_init failed");
	int r = cap_set_flag(c, CAP_PERMITTED, 1, keep, CAP_SET);
	if (r == 0)
		r = cap_set_flag(c, CAP_EFFECTIVE, 1, keep, CAP_SET);
	if (r == 0)
		r = cap_set_proc(c);
	int e = errno;
	cap_free(c);
	if (r < 0)
		return bwk_error_set(err, BWK_E_PERM, e, "cannot drop capabilities");
	if (say)
		bwk_log(BWK_LOG_NOTE, "running with privileges; scanning needs none, so all "
				      "capabilities but CAP_DAC_READ_SEARCH were dropped");
	return 0;
}
