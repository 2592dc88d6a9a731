/* The runtime-spec's name tables (one list per kind, shared by parser, validator and
 * serialiser), freeing a spec, and lookups on it. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "oci/oci_private.h"

const char *const oci_namespace_types[] = {"pid",  "network", "mount", "ipc", "uts",
					   "user", "cgroup",  "time",  NULL};

const char *const oci_seccomp_actions[] = {"SCMP_ACT_KILL",	   "SCMP_ACT_KILL_PROCESS",
					   "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
					   "SCMP_ACT_ERRNO",	   "SCMP_ACT_TRACE",
					   "SCMP_ACT_ALLOW",	   "SCMP_ACT_LOG",
					   "SCMP_ACT_NOTIFY",	   NULL};

const char *const oci_seccomp_ops[] = {"SCMP_CMP_NE",	     "SCMP_CMP_LT", "SCMP_CMP_LE",
				       "SCMP_CMP_EQ",	     "SCMP_CMP_GE", "SCMP_CMP_GT",
				       "SCMP_CMP_MASKED_EQ", NULL};

const char *const oci_seccomp_arches[] = {
    "SCMP_ARCH_X86",	  "SCMP_ARCH_X86_64",	   "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",	  "SCMP_ARCH_AARCH64",	   "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",	  "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",	  "SCMP_ARCH_PPC64LE",	   "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",	  "SCMP_ARCH_PARISC",	   "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",  "SCMP_ARCH_LOONGARCH64", NULL};

const char *const oci_seccomp_flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
					 "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					 "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};

const char *const oci_propagations[] = {"private",    "shared",	     "slave",
					"unbindable", "rprivate",    "rshared",
					"rslave",     "runbindable", NULL};

const char *const oci_hook_keys[BWK_OCI_HOOK_KINDS + 1] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
    NULL};

const char *const oci_throttle_keys[5] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
					  "throttleReadIOPSDevice", "throttleWriteIOPSDevice",
					  NULL};

bool oci_name_in(const char *const *list, const char *name)
{
	for (; name && *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

const char *bwk_oci_hook_kind_name(bwk_oci_hook_kind k)
{
	return k < BWK_OCI_HOOK_KINDS ? oci_hook_keys[k] : "?";
}

const bwk_oci_namespace *bwk_oci_spec_namespace(const bwk_oci_spec *spec, const char *type)
{
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type &&
		    !strcmp(spec->linux_.namespaces[i].type, type))
			return &spec->linux_.namespaces[i];
	return NULL;
}

const char *bwk_oci_spec_annotation(const bwk_oci_spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->annotations.n; i++)
		if (!strcmp(spec->annotations.v[i].key, key))
			return spec->annotations.v[i].value;
	return NULL;
}

static void map_free(bwk_oci_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
}

static void process_free(bwk_oci_process *p)
{
	free(p->user.additional_gids);
	free(p->user.username);
	bwk_strv_clear(&p->args);
	bwk_strv_clear(&p->env);
	free(p->cwd);
	bwk_strv_clear(&p->caps.bounding);
	bwk_strv_clear(&p->caps.effective);
	bwk_strv_clear(&p->caps.inheritable);
	bwk_strv_clear(&p->caps.permitted);
	bwk_strv_clear(&p->caps.ambient);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->scheduler.policy);
	bwk_strv_clear(&p->scheduler.flags);
	free(p->io_priority.class_);
}

static void resources_free(bwk_oci_resources *r)
{
	for (size_t i = 0; i < r->n_devices; i++) {
		free(r->devices[i].type);
		free(r->devices[i].access);
	}
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	for (int k = 0; k < 4; k++)
		free(r->block_io.throttle[k]);
	for (size_t i = 0; i < r->network.n_priorities; i++)
		free(r->network.priorities[i].name);
	free(r->network.priorities);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; i < r->n_rdma; i++)
		free(r->rdma[i].device);
	free(r->rdma);
	map_free(&r->unified);
}

static void seccomp_free(bwk_oci_seccomp *s)
{
	free(s->default_action);
	bwk_strv_clear(&s->architectures);
	bwk_strv_clear(&s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		bwk_strv_clear(&s->syscalls[i].names);
		free(s->syscalls[i].action);
		for (size_t j = 0; j < s->syscalls[i].n_args; j++)
			free(s->syscalls[i].args[j].op);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
}

static void linux_free(bwk_oci_linux *l)
{
	for (size_t i = 0; i < l->n_namespaces; i++) {
		free(l->namespaces[i].type);
		free(l->namespaces[i].path);
	}
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++) {
		free(l->devices[i].path);
		free(l->devices[i].type);
	}
	free(l->devices);
	free(l->cgroups_path);
	resources_free(&l->resources);
	seccomp_free(&l->seccomp);
	bwk_strv_clear(&l->masked_paths);
	bwk_strv_clear(&l->readonly_paths);
	map_free(&l->sysctl);
	free(l->rootfs_propagation);
	free(l->mount_label);
	free(l->personality.domain);
	bwk_strv_clear(&l->personality.flags);
}

void bwk_oci_spec_free(bwk_oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	process_free(&s->process);
	free(s->root_path);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		bwk_strv_clear(&s->mounts[i].options);
		free(s->mounts[i].uid_mappings);
		free(s->mounts[i].gid_mappings);
	}
	free(s->mounts);
	free(s->hostname);
	free(s->domainname);
	linux_free(&s->linux_);
	for (int k = 0; k < BWK_OCI_HOOK_KINDS; k++) {
		for (size_t i = 0; i < s->hooks.n[k]; i++) {
			free(s->hooks.v[k][i].path);
			bwk_strv_clear(&s->hooks.v[k][i].args);
			bwk_strv_clear(&s->hooks.v[k][i].env);
		}
		free(s->hooks.v[k]);
	}
	map_free(&s->annotations);
	free(s);
}

void oci_map_set(bwk_oci_map *m, const char *k, const char *v)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].key, k)) {
			free(m->v[i].value);
			m->v[i].value = xstrdup(v);
			return;
		}
	m->v = xrealloc(m->v, (m->n + 2) * sizeof *m->v);
	m->v[m->n].key = xstrdup(k);
	m->v[m->n].value = xstrdup(v);
	m->n++;
}

typedef struct named_value {
	const char *name;
	uint64_t value;
} named_value;

static bool value_of(const named_value *t, const char *name, uint64_t *out)
{
	for (; name && t->name; t++)
		if (!strcmp(t->name, name)) {
			*out = t->value;
			return true;
		}
	return false;
}

/* linux/sched.h and linux/sched/types.h, spelled out: the runtime-spec names them */
static const named_value oci_sched_policies[] = {
    {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},	  {"SCHED_BATCH", 3},
    {"SCHED_ISO", 4},	{"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}, {NULL, 0}};
static const named_value oci_sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},	 {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},	 {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},	 {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}, {NULL, 0}};
static const named_value ioprio_classes[] = {
    {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}, {NULL, 0}};
static const named_value personas[] = {{"LINUX", 0x0000}, {"LINUX32", 0x0008}, {NULL, 0}};
static const named_value seccomp_flag_values[] = {{"SECCOMP_FILTER_FLAG_TSYNC", 1},
						  {"SECCOMP_FILTER_FLAG_LOG", 2},
						  {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4},
						  {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 32},
						  {NULL, 0}};

int bwk_oci_sched_lower(const bwk_oci_sched *s, bwk_oci_sched_attr *out)
{
	uint64_t policy = 0;
	if (!value_of(oci_sched_policies, s->policy, &policy) || policy == 4 /* ISO: unused */)
		return -1;
	*out = (bwk_oci_sched_attr){.policy = (uint32_t)policy,
				    .nice = s->nice.set ? (int32_t)s->nice.v : 0,
				    .priority = s->priority.set ? (uint32_t)s->priority.v : 0,
				    .runtime = s->runtime.set ? s->runtime.v : 0,
				    .deadline = s->deadline.set ? s->deadline.v : 0,
				    .period = s->period.set ? s->period.v : 0};
	for (size_t i = 0; i < s->flags.n; i++) {
		uint64_t f = 0;
		if (!value_of(oci_sched_flags, s->flags.v[i], &f))
			return -1;
		out->flags |= f;
	}
	return 0;
}

int bwk_oci_ioprio_lower(const bwk_oci_ioprio *p)
{
	uint64_t cls = 0;
	if (!value_of(ioprio_classes, p->class_, &cls) || p->priority < 0 || p->priority > 7)
		return -1;
	return (int)(cls << 13 | (uint64_t)p->priority);
}

long bwk_oci_personality_lower(const bwk_oci_linux *l)
{
	uint64_t v = 0;
	return value_of(personas, l->personality.domain, &v) ? (long)v : -1;
}

unsigned long oci_seccomp_flag_bit(const char *name)
{
	uint64_t f = 0;
	return value_of(seccomp_flag_values, name, &f) ? (unsigned long)f : 0;
}

long bwk_oci_seccomp_flags_lower(const bwk_oci_seccomp *sc)
{
	long flags = 0;
	for (size_t i = 0; i < sc->flags.n; i++) {
		unsigned long f = oci_seccomp_flag_bit(sc->flags.v[i]);
		if (!f)
			return -1;
		flags |= (long)f;
	}
	return flags;
}
