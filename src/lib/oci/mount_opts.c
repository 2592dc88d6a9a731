/* A mount's options (config.md "Mounts", runc's and crun's vocabulary), parsed once for the
 * two executors: `create` (sandbox/oci_create.c, mount(2) and mount_setattr) and `run` (its
 * spec lowered by spec_lower.c). Unknown options are the filesystem's (size=, mode=, uid= …)
 * and are passed on as its data string. */
#define _GNU_SOURCE
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>

#include "oci/oci_private.h"

typedef struct flag_opt {
	const char *name;
	bool clear;
	unsigned long flag;
} flag_opt;

static const flag_opt flag_opts[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"remount", false, MS_REMOUNT}, /* not advertised: create makes every mount anew */
};

static const flag_opt prop_opts[] = {
    {"private", false, MS_PRIVATE},	  {"rprivate", false, MS_PRIVATE | MS_REC},
    {"shared", false, MS_SHARED},	  {"rshared", false, MS_SHARED | MS_REC},
    {"slave", false, MS_SLAVE},		  {"rslave", false, MS_SLAVE | MS_REC},
    {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
};

/* The recursive options (runc's recAttrFlags), for mount_setattr(AT_RECURSIVE). The atime
 * ones are one field of the kernel's (MOUNT_ATTR__ATIME): turning one off is relatime, the
 * kernel's default, as mount(2) does without one. */
static const flag_opt rec_opts[] = {
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
};

static const struct {
	const char *name;
	uint64_t atime; /* MOUNT_ATTR_RELATIME is 0 */
} rec_atime_opts[] = {
    {"rnoatime", MOUNT_ATTR_NOATIME},	      {"ratime", MOUNT_ATTR_RELATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME}, {"rnostrictatime", MOUNT_ATTR_RELATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME},	      {"rnorelatime", MOUNT_ATTR_RELATIME},
};

#define N(a) (sizeof(a) / sizeof *(a))

const char *const bwk_oci_mount_options_known[] = {"ro",
						   "rw",
						   "nosuid",
						   "suid",
						   "nodev",
						   "dev",
						   "noexec",
						   "exec",
						   "sync",
						   "async",
						   "dirsync",
						   "mand",
						   "nomand",
						   "atime",
						   "noatime",
						   "diratime",
						   "nodiratime",
						   "relatime",
						   "norelatime",
						   "strictatime",
						   "nostrictatime",
						   "nosymfollow",
						   "symfollow",
						   "bind",
						   "rbind",
						   "private",
						   "rprivate",
						   "slave",
						   "rslave",
						   "shared",
						   "rshared",
						   "unbindable",
						   "runbindable",
						   "rro",
						   "rrw",
						   "rnosuid",
						   "rsuid",
						   "rnodev",
						   "rdev",
						   "rnoexec",
						   "rexec",
						   "rnodiratime",
						   "rdiratime",
						   "rnosymfollow",
						   "rsymfollow",
						   "rnoatime",
						   "ratime",
						   "rstrictatime",
						   "rnostrictatime",
						   "rrelatime",
						   "rnorelatime",
						   "tmpcopyup",
						   "notmpcopyup",
						   "idmap",
						   "ridmap",
						   NULL};

static bool flag_opt_apply(const flag_opt *t, size_t n, const char *v, unsigned long *set,
			   unsigned long *clr)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(v, t[k].name)) {
			if (t[k].clear) {
				*set &= ~t[k].flag;
				*clr |= t[k].flag;
			} else {
				*set |= t[k].flag;
				*clr &= ~t[k].flag;
			}
			return true;
		}
	return false;
}

static bool rec_opt_apply(const char *v, bwk_oci_mount_opts *o, int *atime)
{
	for (size_t k = 0; k < N(rec_opts); k++)
		if (!strcmp(v, rec_opts[k].name)) {
			if (rec_opts[k].clear) {
				o->rec_set &= ~rec_opts[k].flag;
				o->rec_clr |= rec_opts[k].flag;
			} else {
				o->rec_set |= rec_opts[k].flag;
				o->rec_clr &= ~rec_opts[k].flag;
			}
			return true;
		}
	for (size_t k = 0; k < N(rec_atime_opts); k++)
		if (!strcmp(v, rec_atime_opts[k].name)) {
			*atime = (int)rec_atime_opts[k].atime;
			return true;
		}
	return false;
}

static bool switch_apply(const char *v, bwk_oci_mount_opts *o)
{
	static const struct {
		const char *name;
		size_t off;
		bool on;
	} sw[] = {
	    {"idmap", offsetof(bwk_oci_mount_opts, idmap), true},
	    {"ridmap", offsetof(bwk_oci_mount_opts, ridmap), true},
	    {"tmpcopyup", offsetof(bwk_oci_mount_opts, tmpcopyup), true},
	    {"notmpcopyup", offsetof(bwk_oci_mount_opts, tmpcopyup), false},
	    {"U", offsetof(bwk_oci_mount_opts, chown), true},
	};
	for (size_t k = 0; k < N(sw); k++)
		if (!strcmp(v, sw[k].name)) {
			*(bool *)((char *)o + sw[k].off) = sw[k].on;
			return true;
		}
	return false;
}

int bwk_oci_mount_opts_parse(const bwk_oci_mount *m, size_t i, bwk_oci_mount_opts *o,
			     bwk_error **err)
{
	memset(o, 0, sizeof *o);
	size_t dl = 0;
	int atime = -1;
	for (size_t k = 0; k < m->options.n; k++) {
		const char *v = m->options.v[k];
		unsigned long prop = 0, unused = 0;
		if (flag_opt_apply(flag_opts, N(flag_opts), v, &o->flags, &o->cleared) ||
		    rec_opt_apply(v, o, &atime) || switch_apply(v, o))
			continue;
		if (flag_opt_apply(prop_opts, N(prop_opts), v, &prop, &unused)) {
			o->prop = prop; /* one propagation: the last given */
			continue;
		}
		size_t vl = strlen(v);
		if (!vl)
			continue;
		if (dl + vl + 2 > sizeof o->data)
			return bwk_error_set(err, BWK_E_LIMIT, 0,
					     "config.json: mounts[%zu] (%.256s): its filesystem "
					     "options exceed %d bytes",
					     i, m->destination ? m->destination : "?",
					     BWK_OCI_MOUNT_DATA_MAX - 1);
		if (dl)
			o->data[dl++] = ',';
		memcpy(o->data + dl, v, vl + 1);
		dl += vl;
	}
	if (atime >= 0) {
		o->rec_clr |= MOUNT_ATTR__ATIME;
		o->rec_set = (o->rec_set & ~(uint64_t)MOUNT_ATTR__ATIME) | (uint64_t)atime;
	}
	o->bind = (o->flags & MS_BIND) || (m->type && !strcmp(m->type, "bind"));
	return 0;
}

unsigned long bwk_oci_propagation_flags(const char *name)
{
	unsigned long prop = 0, unused = 0;
	flag_opt_apply(prop_opts, N(prop_opts), name, &prop, &unused);
	return prop;
}
