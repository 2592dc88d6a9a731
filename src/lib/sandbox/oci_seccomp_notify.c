/* linux.seccomp's SCMP_ACT_NOTIFY: a seccomp agent outside the container answers the system
 * calls the filter hands it (runtime-spec config-linux.md, "Seccomp", listenerPath).
 *
 * The filter is loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER, which returns the notification
 * fd. Only the runtime may hold it: in the container it would let the process answer its own
 * notifications. So the container's init (or exec's process) loads the filter while `create`
 * (or `exec`) still waits on its sync socket, passes the fd up with SCM_RIGHTS and closes its
 * copy; the runtime sends it to the agent at listenerPath with the container process state
 * and closes its own. This is runc's and crun's order: a listener filter is loaded before the
 * exec fifo, so the agent has the fd, and the sending can fail `create`, before the container's
 * process runs. What the init does after the load (dropping to the process's user and
 * capabilities, the exec) then passes through the filter too, as under runc. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/oci_rt_private.h"
#include "sandbox/sandbox_private.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

static bool is_notify(const char *action)
{
	return action && !strcmp(action, "SCMP_ACT_NOTIFY");
}

bool ocirt_notify_wanted(const bwk_oci_seccomp *sc)
{
	if (!sc->set)
		return false;
	bool n = is_notify(sc->default_action);
	for (size_t i = 0; !n && i < sc->n_syscalls; i++)
		n = is_notify(sc->syscalls[i].action);
	return n;
}

/* What bulwark cannot do with a listener (bwk_oci_spec_validate has checked the rest: NOTIFY
 * needs listenerPath, listenerMetadata needs listenerPath). */
int ocirt_notify_check(const bwk_oci_seccomp *sc, bwk_error **err)
{
	if (!ocirt_notify_wanted(sc))
		return 0;
	/* every system call, the runtime's own hand-over of the fd included, would wait for an
	 * agent that has no fd yet */
	if (is_notify(sc->default_action))
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
				     "default action (the runtime's own system calls would wait "
				     "for the agent): give it to the system calls the agent "
				     "handles");
	for (size_t i = 0; i < sc->n_syscalls; i++)
		for (size_t k = 0; is_notify(sc->syscalls[i].action) && k < sc->syscalls[i].names.n;
		     k++)
			if (!strcmp(sc->syscalls[i].names.v[k], "sendmsg"))
				return bwk_error_set(
				    err, BWK_E_UNSUPPORTED, 0,
				    "linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY on sendmsg: the "
				    "runtime hands the listener fd over with sendmsg once the "
				    "filter is loaded; handle sendmsg with another action",
				    i);
	return 0;
}

int ocirt_notify_load(const bwk_oci_seccomp *sc, uint64_t bounding, char *why, size_t len)
{
	bwk_error *e = NULL;
	cleanup_with(bwk_seccomp_profile_freep) bwk_seccomp_profile *prof = NULL;
	cleanup_free sbx_bpf *bpf = xcalloc(1, sizeof *bpf);
	if (sbx_seccomp_from_spec(sc, &prof, &e) < 0 ||
	    sbx_seccomp_compile(prof, bounding, bpf, &e) < 0) {
		snprintf(why, len, "%s", e ? e->msg : "linux.seccomp");
		bwk_error_free(e);
		errno = 0;
		return -1;
	}
	long f = bwk_oci_seccomp_flags_lower(sc);
	if (f < 0) {
		snprintf(why, len, "linux.seccomp.flags: a flag is unknown");
		errno = 0;
		return -1;
	}
	/* TSYNC and NEW_LISTENER exclude each other (which thread's fd?) unless TSYNC_ESRCH
	 * reports a thread that cannot sync by its error, as libseccomp does */
	bpf->flags =
	    (unsigned)f | SECCOMP_FILTER_FLAG_NEW_LISTENER |
	    ((unsigned)f & SECCOMP_FILTER_FLAG_TSYNC ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
	int fd = sbx_seccomp_install(bpf);
	if (fd < 0)
		snprintf(why, len,
			 "loading the seccomp filter with a listener (SCMP_ACT_NOTIFY): %s",
			 strerror(errno));
	return fd;
}

/* {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}: config-linux.md's
 * container process state. */
static char *process_state(const bwk_oci_seccomp *sc, const ocirt_state *st, const char *status,
			   pid_t pid)
{
	cleanup_free char *state = ocirt_state_serialise(st, status, false);
	json_t *o = json_pack("{s:s,s:[s],s:I}", "ociVersion", "1.2.0", "fds", "seccompFd", "pid",
			      (json_int_t)pid);
	json_t *sj = state ? json_loads(state, 0, NULL) : NULL;
	if (!o || !sj) {
		json_decref(o);
		json_decref(sj);
		return NULL;
	}
	if (sc->listener_metadata)
		json_object_set_new(o, "metadata", json_string(sc->listener_metadata));
	json_object_set_new(o, "state", sj);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

int ocirt_notify_send(const bwk_oci_seccomp *sc, const ocirt_state *st, const char *status,
		      pid_t pid, int fd, bwk_error **err)
{
	const char *path = sc->listener_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t l = strlen(path);
	if (l >= sizeof sa.sun_path)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.seccomp.listenerPath %s: longer than a unix socket "
				     "path may be (%zu bytes)",
				     path, sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, path, l + 1);
	cleanup_free char *msg = process_state(sc, st, status, pid);
	if (!msg)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "the container process state");
	cleanup_close int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		return bwk_error_set(err, BWK_E_IO, errno,
				     "linux.seccomp.listenerPath %s: connecting to the seccomp "
				     "agent (is it listening?)",
				     path);
	/* one state per connection, the fd with its first bytes, then closed (the spec) */
	size_t n = strlen(msg);
	ssize_t w = sbx_send_fd(s, msg, n, fd);
	for (size_t done = w > 0 ? (size_t)w : 0; w > 0 && done < n; done += (size_t)w)
		w = send(s, msg + done, n - done, MSG_NOSIGNAL);
	if (w <= 0)
		return bwk_error_set(err, BWK_E_IO, errno ? errno : EPIPE,
				     "linux.seccomp.listenerPath %s: sending the seccomp fd", path);
	return 0;
}
