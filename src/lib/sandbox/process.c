/* The container's process, from root in its namespaces to what it runs as: limits, the user,
 * capabilities, no_new_privs and the seccomp filters, in the one order both executors take
 * (runc's finalizeNamespace and crun's order). What stays each executor's own: how the user
 * is found (a spec's numbers, or run's name looked up in the image), AppArmor, the exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bulwark/oci.h"
#include "sandbox/sandbox_private.h"

/* `why` = the formatted step and errno's text; -1 with errno kept. */
static __attribute__((format(printf, 3, 4))) int failed(char *why, size_t len, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(why, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len)
		snprintf(why + n, len - (size_t)n, ": %s", strerror(e));
	errno = e;
	return -1;
}

/* A filter loaded without no_new_privs needs CAP_SYS_ADMIN in effect: the effective set again
 * from the permitted set the uid switch kept. */
static void raise_effective(void)
{
	cap_t cur = cap_get_proc();
	if (!cur)
		return;
	for (int i = 0; i <= CAP_LAST_CAP; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		cap_value_t cv = i;
		if (cap_get_flag(cur, cv, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			cap_set_flag(cur, CAP_EFFECTIVE, 1, &cv, CAP_SET);
	}
	(void)cap_set_proc(cur);
	cap_free(cur);
}

static int load_filters(const sbx_process *p, char *why, size_t len)
{
	for (size_t i = 0; i < 2; i++)
		if (p->filters[i] && p->filters[i]->len && sbx_seccomp_install(p->filters[i]) < 0)
			return failed(why, len, "loading the seccomp filter");
	return 0;
}

/* CVE-2024-21626: the working directory must be inside the new root, never a leaked host
 * directory: chdir by path after pivot_root, then check what the kernel says. */
static int enter_cwd(const char *cwd)
{
	char here[PATH_MAX];
	if (chdir(cwd) < 0)
		return -1;
	if (!getcwd(here, sizeof here) || here[0] != '/') {
		errno = errno ? errno : ENOENT;
		return -1;
	}
	return 0;
}

/* linux/sched/types.h's struct sched_attr (glibc has no wrapper for sched_setattr). */
struct kernel_sched_attr {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

/* The scheduler, I/O priority and persona, while still root with every capability (a
 * real-time policy needs CAP_SYS_NICE), as runc does before it drops them. */
static int set_scheduling(const sbx_process *p, char *why, size_t len)
{
	if (p->sched) {
		const bwk_oci_sched_attr *a = p->sched;
		struct kernel_sched_attr k = {.size = sizeof k,
					      .sched_policy = a->policy,
					      .sched_flags = a->flags,
					      .sched_nice = a->nice,
					      .sched_priority = a->priority,
					      .sched_runtime = a->runtime,
					      .sched_deadline = a->deadline,
					      .sched_period = a->period};
		if (syscall(SYS_sched_setattr, 0, &k, 0) < 0)
			return failed(why, len, "process.scheduler (sched_setattr)");
	}
	/* IOPRIO_WHO_PROCESS (1), this process (0) */
	if (p->set_ioprio && syscall(SYS_ioprio_set, 1, 0, p->ioprio) < 0)
		return failed(why, len, "process.ioPriority (ioprio_set)");
	if (p->set_personality && personality(p->personality) < 0)
		return failed(why, len, "linux.personality");
	return 0;
}

int sbx_process_enter(const sbx_process *p, char *why, size_t len)
{
	const char *cwd = p->cwd && p->cwd[0] ? p->cwd : "/";
	if (sbx_rlimits_apply(p->rlimits, p->nrlimits, why, len) < 0)
		return -1;
	if (set_scheduling(p, why, len) < 0)
		return -1;
	if (sbx_caps_drop_bounding(p->bounding) < 0)
		return failed(why, len, "dropping capabilities from the bounding set");
	/* the working directory as root first (one the user cannot reach is still entered, as
	 * runc does), again as the user when root could not */
	bool cwd_done = enter_cwd(cwd) == 0;
	if (!cwd_done && errno != EACCES)
		return failed(why, len, "working directory %s", cwd);
	if (!p->skip_groups && setgroups(p->ngroups, p->groups) < 0 &&
	    !(p->groups_may_fail && errno == EPERM))
		return failed(why, len, "supplementary groups of user %u", (unsigned)p->uid);
	/* the permitted set is kept across the uid switch (the spec may give a user
	 * capabilities); sbx_caps_set below sets what stays */
	if (setresgid(p->gid, p->gid, p->gid) < 0 || prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) {
		failed(why, len, "switching to user %u:%u", (unsigned)p->uid, (unsigned)p->gid);
		size_t l = strlen(why);
		snprintf(why + l, len - l, " (is it mapped?)");
		return -1;
	}
	if (p->umask >= 0)
		umask((mode_t)(p->umask & 0777));
	if (!cwd_done && enter_cwd(cwd) < 0)
		return failed(why, len, "working directory %s", cwd);
	/* before any filter (which may deny the call): every descriptor but 0-2 is gone at exec,
	 * whatever the caller leaked to us */
	if (syscall(SYS_close_range, 3 + p->preserve_fds, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
		return failed(why, len, "close_range");
	for (unsigned i = 0; i < p->preserve_fds; i++) /* runc's --preserve-fds */
		if (fcntl(3 + (int)i, F_SETFD, 0) < 0)
			return failed(why, len, "preserved descriptor %u", 3 + i);
	/* without no_new_privs a filter needs CAP_SYS_ADMIN: loaded before the sets are final */
	if (!p->no_new_privs && (p->filters[0] || p->filters[1])) {
		raise_effective();
		if (load_filters(p, why, len) < 0)
			return -1;
	}
	if (sbx_caps_set(&p->caps) < 0)
		return failed(why, len, "setting the process capabilities");
	/* the uid switch cleared a parent-death signal set before */
	if (p->pdeathsig && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return failed(why, len, "parent-death signal");
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return failed(why, len, "no_new_privs");
	if (p->no_new_privs && load_filters(p, why, len) < 0)
		return -1;
	return 0;
}
