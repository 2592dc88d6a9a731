/* Capabilities: the default set, names, and dropping them in the container. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "sandbox/sandbox_private.h"

static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* Docker's default minus NET_RAW (raw sockets: ARP/ICMP spoofing), MKNOD (device nodes),
 * AUDIT_WRITE, SETFCAP (file capabilities for a later exec) and SYS_CHROOT (chroot-based
 * escapes), and minus SETPCAP (bounding set/securebits changes, which no ordinary service
 * needs). docs/run.md justifies each one kept. */
uint64_t bwk_sandbox_default_caps(void)
{
	return (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_FOWNER) |
	       (1ull << CAP_FSETID) | (1ull << CAP_KILL) | (1ull << CAP_SETGID) |
	       (1ull << CAP_SETUID) | (1ull << CAP_NET_BIND_SERVICE);
}

const char *bwk_cap_name(int cap)
{
	return cap >= 0 && cap < NCAPS ? cap_names[cap] : NULL;
}

int bwk_cap_from_name(const char *name, uint64_t *mask)
{
	if (!strcasecmp(name, "ALL")) {
		*mask = (NCAPS >= 64) ? ~0ull : ((1ull << NCAPS) - 1);
		return 0;
	}
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (int i = 0; i < NCAPS; i++)
		if (!strcasecmp(cap_names[i] + 4, name)) {
			*mask = 1ull << i;
			return 0;
		}
	return -1;
}

/* The running kernel's last capability, which may be below or above the headers' */
static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0)
		last--;
	while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last;
}

/* Bounding set first, while we still hold CAP_SETPCAP in the user namespace. */
int sbx_caps_drop_bounding(uint64_t keep)
{
	int last = last_cap();
	for (int c = 0; c <= last; c++) {
		if (c < 64 && (keep & (1ull << c)))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	return 0;
}

int bwk_caps_from_names(const char *const *names, size_t n, uint64_t *mask, const char **bad)
{
	*mask = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t one;
		if (bwk_cap_from_name(names[i], &one) < 0) {
			if (bad)
				*bad = names[i];
			return -1;
		}
		*mask |= one;
	}
	return 0;
}

uint64_t bwk_caps_spec_mask(const char *const *names, size_t n, bwk_strv *unknown)
{
	uint64_t mask = 0;
	int last = last_cap();
	for (size_t i = 0; i < n; i++) {
		int c = 0;
		while (c < NCAPS && strcmp(cap_names[c], names[i]))
			c++;
		if (c < NCAPS && c <= last && c < 64)
			mask |= 1ull << c;
		else if (unknown && !bwk_strv_has(unknown, names[i]))
			(void)bwk_strv_push(unknown, names[i], NULL);
	}
	return mask;
}

/* After the uid switch. The ambient set is cleared before the others change (a capability
 * leaving the permitted set leaves it anyway) and raised last, from the new inheritable and
 * permitted sets. */
int sbx_caps_set(const sbx_capsets *s)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	cap_t c = cap_init(); /* all clear */
	if (!c)
		return -1;
	const struct {
		uint64_t mask;
		cap_flag_t flag;
	} sets[] = {{s->effective, CAP_EFFECTIVE},
		    {s->permitted, CAP_PERMITTED},
		    {s->inheritable, CAP_INHERITABLE}};
	for (size_t k = 0; k < sizeof sets / sizeof *sets; k++)
		for (int i = 0; i < NCAPS && i < 64; i++) {
			cap_value_t v = i;
			if ((sets[k].mask & (1ull << i)) &&
			    cap_set_flag(c, sets[k].flag, 1, &v, CAP_SET) < 0) {
				cap_free(c);
				return -1;
			}
		}
	int r = cap_set_proc(c);
	int saved = errno;
	cap_free(c);
	errno = saved;
	for (int i = 0; r == 0 && i < NCAPS && i < 64; i++)
		/* an ambient capability that is not also permitted and inheritable (runc spec's
		 * default bundle asks for that) is skipped, as crun does */
		if ((s->ambient & (1ull << i)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0 && errno != EPERM)
			return -1;
	return r;
}

/* permitted = effective = caps for root, nothing for other users (as Docker 20.10+ does);
 * inheritable and ambient always empty (CVE-2022-24769). */
int sbx_caps_apply(uint64_t caps, bool root)
{
	return sbx_caps_set(
	    &(sbx_capsets){.effective = root ? caps : 0, .permitted = root ? caps : 0});
}
