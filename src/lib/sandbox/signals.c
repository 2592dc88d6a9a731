/* Signal names as Docker reads them (an image's StopSignal, --stop-signal): the input comes
 * from an image config, so anything but a known name or a number in range is refused. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

#include "bulwark/log.h"
#include "sandbox/sandbox_private.h"

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
    {"HUP", SIGHUP},	   {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},	   {"ABRT", SIGABRT}, {"IOT", SIGIOT},	     {"BUS", SIGBUS},
    {"FPE", SIGFPE},	   {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},	   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},	   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},	   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int bwk_signal_from_name(const char *name)
{
	if (!name || !name[0] || strlen(name) > 16)
		return -1;
	if (name[0] >= '0' && name[0] <= '9') {
		int v = 0;
		for (const char *p = name; *p; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			v = v * 10 + (*p - '0');
			if (v > 64)
				return -1;
		}
		return v >= 1 ? v : -1;
	}
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < sizeof signal_names / sizeof *signal_names; i++)
		if (!strcasecmp(name, signal_names[i].name))
			return signal_names[i].sig;
	/* RTMIN+n / RTMAX-n as Docker accepts them */
	const char *rest = NULL;
	int base = 0, dir = 1;
	if (!strncasecmp(name, "RTMIN", 5)) {
		rest = name + 5;
		base = SIGRTMIN;
	} else if (!strncasecmp(name, "RTMAX", 5)) {
		rest = name + 5;
		base = SIGRTMAX;
		dir = -1;
	}
	if (!rest)
		return -1;
	if (!*rest)
		return base;
	if (*rest != (dir > 0 ? '+' : '-') || !rest[1] || strlen(rest + 1) > 2)
		return -1;
	int n = 0;
	for (const char *p = rest + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	int v = base + dir * n;
	return v >= SIGRTMIN && v <= SIGRTMAX ? v : -1;
}

/* The stop happens on the host side, not in the container's init: bulwark is the process the
 * caller signals, it alone may SIGKILL the container's pid 1 (the init could be wedged or
 * absent with --no-init), and the deadline cannot be stretched from inside. */
void sbx_stop_init(sbx_stop *st, const bwk_container_spec *s)
{
	*st = (sbx_stop){
	    .signal = s->stop_signal > 0 ? s->stop_signal : SIGTERM,
	    .timeout_ms = s->stop_timeout_ms, /* never 0: check_spec refuses it */
	};
}

void sbx_stop_forward(sbx_stop *st, pid_t pid, int sig)
{
	if (sig == SIGTERM) {
		sig = st->signal;
		if (!st->armed && st->timeout_ms != UINT32_MAX) {
			clock_gettime(CLOCK_MONOTONIC, &st->deadline);
			st->deadline.tv_sec += st->timeout_ms / 1000;
			st->deadline.tv_nsec += (long)(st->timeout_ms % 1000) * 1000000L;
			if (st->deadline.tv_nsec >= 1000000000L) {
				st->deadline.tv_sec++;
				st->deadline.tv_nsec -= 1000000000L;
			}
			st->armed = true;
		}
	}
	(void)kill(pid, sig);
}

int sbx_stop_poll_ms(sbx_stop *st, pid_t pid)
{
	if (!st || !st->armed || st->killed)
		return -1;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(st->deadline.tv_sec - now.tv_sec) * 1000 +
		     (st->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms > 0)
		return ms > 60000 ? 60000 : (int)ms;
	(void)kill(pid, SIGKILL);
	st->killed = true;
	return -1;
}

/* Why the command died when the deadline's SIGKILL ended it: a server that refuses its stop
 * signal (redis that cannot write its final snapshot says "can't exit" and keeps serving)
 * otherwise just exits 137, as if something else had killed it. */
void sbx_stop_note(const sbx_stop *st, const bwk_container_spec *s, int status)
{
	if (!st->killed || status != 128 + SIGKILL)
		return;
	const char *name = sigabbrev_np(st->signal);
	sbx_note(s, BWK_NOTE_EXIT,
		 "the command did not stop within %g s of SIG%s: killed (a server that cannot "
		 "save its data refuses to exit: see its output; more time: %s)",
		 st->timeout_ms / 1000.0, name ? name : "?",
		 bwk_setting("stop-timeout", "a longer stop timeout"));
}
