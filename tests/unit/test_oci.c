/* Unit tests: the OCI runtime-spec model — parsing every property of a full config.json, the
 * round trip through the serialiser, the bounds (size, depth, list and string length) and the
 * validator's refusals, each with the property it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "bulwark/oci.h"

static char *slurp(const char *rel, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", BWK_SOURCE_DIR, rel);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	/* exactly-sized copy: ASan sees any read past the end */
	char *exact = malloc(*len);
	memcpy(exact, buf, *len);
	free(buf);
	return exact;
}

static bwk_oci_spec *parse_ok(const char *json)
{
	size_t n = strlen(json);
	char *exact = malloc(n);
	memcpy(exact, json, n);
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	int r = bwk_oci_spec_parse("config.json", exact, n, &s, &err);
	if (r < 0)
		fail_msg("%s", err->msg);
	free(exact);
	return s;
}

/* The error message of parse (or, when parse succeeds, of validate) */
static char *error_of(const char *json)
{
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	if (bwk_oci_spec_parse("config.json", json, strlen(json), &s, &err) == 0) {
		int r = bwk_oci_spec_validate("config.json", s, &err);
		bwk_oci_spec_free(s);
		if (r == 0)
			return NULL;
	}
	assert_non_null(err);
	char *m = bwk_error_format(err);
	bwk_error_free(err);
	return m;
}

static void test_full_config(void **state)
{
	(void)state;
	size_t len;
	char *data = slurp("tests/fixtures/oci/full-config.json", &len);
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_parse("config.json", data, len, &s, &err), 0);
	free(data);
	assert_int_equal(bwk_oci_spec_validate("config.json", s, &err), 0);
	assert_string_equal(s->oci_version, "1.2.0");
	const bwk_oci_process *p = &s->process;
	assert_true(p->terminal);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	assert_int_equal(p->user.umask.v, 18);
	assert_int_equal(p->user.n_additional_gids, 2);
	assert_int_equal(p->user.additional_gids[1], 6);
	assert_int_equal(p->args.n, 3);
	assert_string_equal(p->args.v[2], "echo hi");
	assert_null(p->args.v[3]);
	assert_string_equal(p->cwd, "/srv");
	assert_int_equal(p->caps.bounding.n, 2);
	assert_int_equal(p->caps.inheritable.n, 0);
	assert_non_null(p->caps.inheritable.v); /* [] and absent differ */
	assert_string_equal(p->caps.ambient.v[0], "CAP_NET_BIND_SERVICE");
	assert_int_equal(p->n_rlimits, 1);
	assert_int_equal(p->rlimits[0].soft, 512);
	assert_true(p->no_new_privileges);
	assert_string_equal(p->apparmor_profile, "docker-default");
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0:c1,c2");
	assert_true(p->oom_score_adj.set);
	assert_int_equal(p->oom_score_adj.v, 100);
	assert_string_equal(p->scheduler.policy, "SCHED_OTHER");
	assert_int_equal(p->io_priority.priority, 4);
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "box");
	assert_int_equal(s->n_mounts, 2);
	assert_int_equal(s->mounts[1].options.n, 5);
	assert_string_equal(s->mounts[1].options.v[4], "idmap");
	assert_int_equal(s->mounts[1].uid_mappings[0].host_id, 100000);
	const bwk_oci_linux *l = &s->linux_;
	assert_int_equal(l->n_namespaces, 8);
	assert_string_equal(bwk_oci_spec_namespace(s, "network")->path, "/proc/1234/ns/net");
	assert_null(bwk_oci_spec_namespace(s, "time")->path);
	assert_null(bwk_oci_spec_namespace(s, "nope"));
	assert_int_equal(l->uid_mappings[0].size, 65536);
	assert_int_equal(l->devices[0].minor, 229);
	assert_int_equal(l->devices[0].file_mode.v, 0666);
	assert_string_equal(l->cgroups_path, "/bulwark/test");
	assert_int_equal(l->resources.n_devices, 2);
	assert_false(l->resources.devices[0].allow);
	assert_false(l->resources.devices[0].major.set);
	assert_int_equal(l->resources.memory.limit.v, 536870912);
	assert_int_equal(l->resources.memory.swap.v, -1);
	assert_true(l->resources.memory.swappiness.set);
	assert_true(l->resources.memory.disable_oom_killer);
	assert_int_equal(l->resources.cpu.quota.v, 50000);
	assert_string_equal(l->resources.cpu.cpus, "0-1");
	assert_int_equal(l->resources.pids_limit.v, 256);
	assert_int_equal(l->resources.block_io.weight.v, 500);
	assert_int_equal(l->resources.block_io.throttle[0][0].rate, 1048576);
	assert_null(l->resources.block_io.throttle[1]);
	assert_int_equal(l->resources.block_io.throttle[3][0].rate, 100);
	assert_string_equal(l->resources.unified.v[0].key, "memory.high");
	assert_int_equal(l->resources.network.class_id.v, 1048577);
	assert_int_equal(l->resources.network.n_priorities, 1);
	assert_string_equal(l->resources.network.priorities[0].name, "eth0");
	assert_int_equal(l->resources.network.priorities[0].priority, 500);
	assert_int_equal(l->resources.n_hugepage_limits, 1);
	assert_string_equal(l->resources.hugepage_limits[0].page_size, "2MB");
	assert_int_equal(l->resources.hugepage_limits[0].limit, 209715200);
	assert_int_equal(l->resources.n_rdma, 2);
	for (size_t i = 0; i < 2; i++) { /* a JSON object: either order */
		const bwk_oci_rdma *e = &l->resources.rdma[i];
		if (!strcmp(e->device, "mlx5_1"))
			assert_true(e->hca_handles.v == 3 && e->hca_objects.v == 10000);
		else
			assert_true(!strcmp(e->device, "mlx4_0") && e->hca_handles.v == 2 &&
				    !e->hca_objects.set);
	}
	assert_string_equal(l->seccomp.default_action, "SCMP_ACT_ERRNO");
	assert_int_equal(l->seccomp.n_syscalls, 4);
	assert_string_equal(l->seccomp.syscalls[1].args[0].op, "SCMP_CMP_EQ");
	assert_int_equal(l->seccomp.syscalls[1].args[0].value, 8);
	assert_int_equal(l->seccomp.syscalls[3].errno_ret.v, 13);
	assert_string_equal(l->seccomp.listener_path, "/run/seccomp-agent.sock");
	assert_string_equal(l->masked_paths.v[1], "/sys/firmware");
	assert_string_equal(l->readonly_paths.v[0], "/proc/sys");
	assert_string_equal(l->sysctl.v[0].value, "0");
	assert_string_equal(l->rootfs_propagation, "rslave");
	assert_string_equal(l->personality.domain, "LINUX32");
	assert_true(l->time_offsets[0].set && l->time_offsets[1].set);
	assert_int_equal(l->time_offsets[0].secs, 864000);
	assert_int_equal(l->time_offsets[0].nanosecs, 5);
	assert_int_equal(l->time_offsets[1].secs, -1);
	assert_int_equal(l->resources.cpu.burst.v, 20000);
	assert_int_equal(l->resources.cpu.idle.v, 1);
	assert_true(l->resources.memory.check_before_update);
	for (int k = 0; k < BWK_OCI_HOOK_KINDS; k++)
		assert_int_equal(s->hooks.n[k], 1);
	assert_int_equal(s->hooks.v[BWK_OCI_HOOK_CREATE_RUNTIME][0].timeout.v, 5);
	assert_string_equal(bwk_oci_hook_kind_name(BWK_OCI_HOOK_POSTSTOP), "poststop");
	assert_string_equal(bwk_oci_spec_annotation(s, "org.bulwark.harden"), "true");
	assert_null(bwk_oci_spec_annotation(s, "nope"));

	/* round trip: serialise, parse again, serialise again: the same text */
	char *a = bwk_oci_spec_serialise(s, true, &err);
	assert_non_null(a);
	assert_null(strstr(a, "someFutureProperty")); /* unknown: ignored, not kept */
	assert_non_null(strstr(a, "\"classID\": 1048577"));
	assert_non_null(strstr(a, "\"pageSize\": \"2MB\""));
	assert_non_null(strstr(a, "\"hcaObjects\": 10000"));
	assert_non_null(strstr(a, "\"monotonic\": {\n"));
	bwk_oci_spec *s2 = parse_ok(a);
	char *b = bwk_oci_spec_serialise(s2, true, &err);
	assert_string_equal(a, b);
	assert_int_equal(bwk_oci_spec_validate("again", s2, &err), 0);
	free(a);
	free(b);
	bwk_oci_spec_free(s2);
	bwk_oci_spec_free(s);
}

static void test_minimal_and_nulls(void **state)
{
	(void)state;
	/* Go writes omitted values as null: the same as absent */
	bwk_oci_spec *s = parse_ok("{\"ociVersion\":\"1.0.2-dev\",\"root\":{\"path\":\"/r\"},"
				   "\"process\":{\"args\":[\"/x\"],\"cwd\":\"/\",\"env\":null},"
				   "\"linux\":{\"seccomp\":null,\"resources\":{\"memory\":null}}}");
	assert_false(s->process.env.v);
	assert_false(s->linux_.seccomp.set);
	assert_false(s->linux_.resources.memory.limit.set);
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_validate("config.json", s, &err), 0);
	bwk_oci_spec_free(s);
}

/* Each refusal names the property, so the bundle's author knows what to fix. */
static void test_refusals(void **state)
{
	(void)state;
#define BASE "\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"}"
#define PROC "\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\""
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"[]", "an object is needed, not an array"},
	    {"{\"root\":{\"path\":\"r\"}}", "ociVersion: missing"},
	    {"{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "1.0.0 to 1.2.x"},
	    {"{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: '1.3.0'"},
	    {"{\"ociVersion\":\"1.0.0\"}", "root.path: missing"},
	    {"{" BASE ",\"process\":{\"args\":[],\"cwd\":\"/\"}}", "process.args: empty"},
	    {"{" BASE "," PROC ",\"args\":1}}", "duplicate"},
	    {"{" BASE ",\"process\":{\"args\":[\"x\"],\"cwd\":\"rel\"}}", "process.cwd: 'rel'"},
	    {"{" BASE ",\"process\":{\"args\":[\"x\", 3],\"cwd\":\"/\"}}",
	     "process.args[1]: a string is needed, not an integer"},
	    {"{" BASE "," PROC ",\"env\":[\"NOEQUALS\"]}}", "process.env[0]"},
	    {"{" BASE "," PROC ",\"user\":{\"uid\":-1}}}", "process.user.uid: -1 is out of range"},
	    {"{" BASE "," PROC ",\"user\":{\"uid\":4294967296}}}", "out of range"},
	    {"{" BASE "," PROC ",\"user\":{\"additionalGids\":[1,\"x\"]}}}",
	     "process.user.additionalGids[1]"},
	    {"{" BASE "," PROC ",\"oomScoreAdj\":1001}}", "process.oomScoreAdj"},
	    {"{" BASE ",\"linux\":{\"resources\":{\"rdma\":{\"a b\":{\"hcaHandles\":1}}}}}",
	     "linux.resources.rdma[\"a b\"]: not a device name"},
	    {"{" BASE ",\"linux\":{\"resources\":{\"rdma\":{\"d\":{\"hcaHandles\":4294967296}}}}}",
	     "hcaHandles"},
	    {"{" BASE ",\"linux\":{\"resources\":{\"rdma\":{\"d\":[]}}}}", "an object"},
	    {"{" BASE "," PROC ",\"rlimits\":[{\"type\":\"RLIMIT_X\",\"hard\":1,\"soft\":1}]}}",
	     "process.rlimits[0].type"},
	    {"{" BASE "," PROC
	     ",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,\"soft\":2}]}}",
	     "soft limit 2 above"},
	    {"{" BASE "," PROC ",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":1,\"soft\":1},"
	     "{\"type\":\"RLIMIT_CORE\",\"hard\":1,\"soft\":1}]}}",
	     "RLIMIT_CORE is given twice"},
	    {"{" BASE ",\"mounts\":[{\"destination\":\"tmp\"}]}", "mounts[0].destination: 'tmp'"},
	    {"{" BASE ",\"mounts\":[{\"type\":\"tmpfs\"}]}", "mounts[0].destination: missing"},
	    {"{" BASE ",\"mounts\":[{\"destination\":\"/d\",\"options\":[\"idmap\"]}]}",
	     "'idmap' needs"},
	    {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pidx\"}]}}",
	     "linux.namespaces[0].type: 'pidx'"},
	    {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
	     "the pid namespace is given twice"},
	    {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"net\",\"path\":\"x\"}]}}",
	     "'net' is not a namespace type"},
	    {"{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"x\"}]}}",
	     "linux.namespaces[0].path"},
	    {"{" BASE ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
	     "need a user namespace"},
	    {"{" BASE ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"size\":1}]}}",
	     "linux.uidMappings[0].hostID: missing"},
	    {"{" BASE ",\"hostname\":\"h\"}", "needs a uts namespace"},
	    {"{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"z\"}]}}",
	     "linux.devices[0].type: 'z'"},
	    {"{" BASE ",\"linux\":{\"resources\":{\"devices\":[{\"allow\":1}]}}}",
	     "linux.resources.devices[0].allow: a boolean is needed"},
	    {"{" BASE
	     ",\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}}}",
	     "access: 'rwx'"},
	    {"{" BASE ",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1g\"}}}}",
	     "linux.resources.memory.limit: an integer is needed, not a string"},
	    {"{" BASE ",\"linux\":{\"resources\":{\"pids\":{}}}}",
	     "linux.resources.pids.limit: missing"},
	    {"{" BASE ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}}",
	     "linux.seccomp.defaultAction: 'SCMP_ACT_NOPE'"},
	    {"{" BASE ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}}}",
	     "SCMP_ACT_NOTIFY needs a listenerPath"},
	    {"{" BASE ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
	     "\"listenerMetadata\":\"m\"}}}",
	     "listenerMetadata: set without a listenerPath"},
	    {"{" BASE ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\","
	     "\"architectures\":[\"SCMP_ARCH_Z80\"]}}}",
	     "architectures[0]"},
	    {"{" BASE
	     ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"X\"]}}}",
	     "linux.seccomp.flags[0]"},
	    {"{" BASE
	     ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
	     "\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,"
	     "\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}}}",
	     "syscalls[0].args[0].index: 6"},
	    {"{" BASE
	     ",\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{"
	     "\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,"
	     "\"value\":1,\"op\":\"EQ\"}]}]}}}",
	     "syscalls[0].args[0].op: 'EQ'"},
	    {"{" BASE ",\"linux\":{\"rootfsPropagation\":\"rshared2\"}}", "rootfsPropagation"},
	    {"{" BASE ",\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}}", "linux.maskedPaths[0]"},
	    {"{" BASE ",\"linux\":{\"personality\":{\"domain\":\"BSD\"}}}", "LINUX or LINUX32"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_FAST\"}}}",
	     "process.scheduler: policy 'SCHED_FAST'"},
	    {"{" BASE "," PROC
	     ",\"scheduler\":{\"policy\":\"SCHED_RR\",\"flags\":[\"SCHED_FLAG_X\"]}}}",
	     "or one of its flags is unknown"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_BATCH\",\"priority\":1}}}",
	     "only SCHED_FIFO and SCHED_RR take a priority"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_FIFO\",\"priority\":100}}}",
	     "process.scheduler.priority: 100 is outside 0..99"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":-21}}}",
	     "process.scheduler.nice: -21"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_RR\",\"period\":5}}}",
	     "for SCHED_DEADLINE only, not SCHED_RR"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":9,"
	     "\"deadline\":5,\"period\":10}}}",
	     "runtime <= deadline <= period"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"runtime\":1,"
	     "\"deadline\":5,\"period\":4}}}",
	     "runtime <= deadline <= period"},
	    {"{" BASE "," PROC ",\"scheduler\":{\"nice\":1}}}",
	     "process.scheduler.policy: missing"},
	    {"{" BASE "," PROC ",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":8}}}",
	     "process.ioPriority.priority: 8 is out of range"},
	    {"{" BASE "," PROC ",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_X\",\"priority\":1}}}",
	     "process.ioPriority.class: 'IOPRIO_CLASS_X'"},
	    {"{" BASE ",\"linux\":{\"personality\":{\"flags\":[]}}}",
	     "linux.personality.domain: missing"},
	    {"{" BASE ",\"hooks\":{\"poststop\":[{\"path\":\"rel\"}]}}", "hooks.poststop[0].path"},
	    {"{" BASE ",\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"timeout\":0}]}}",
	     "hooks.prestart[0].timeout: 0 is out of range"},
	    {"{" BASE ",\"annotations\":{\"a\":1}}", "annotations[\"a\"]: a string is needed"},
	    {"{" BASE ",\"hostname\":\"a\\u0000b\"}", "hostname: the string contains a NUL"},
#define TIMENS "\"linux\":{\"namespaces\":[{\"type\":\"time\"}],\"timeOffsets\":"
	    {"{" BASE "," TIMENS "{\"realtime\":{\"secs\":1}}}}",
	     "linux.timeOffsets.realtime: not a clock of a time namespace"},
	    {"{" BASE "," TIMENS "{\"boottime\":{\"nanosecs\":1000000000}}}}",
	     "linux.timeOffsets.boottime.nanosecs: 1000000000 is out of range"},
	    {"{" BASE "," TIMENS "{\"boottime\":[]}}}",
	     "linux.timeOffsets.boottime: an object is needed"},
	    {"{" BASE "," TIMENS "{\"monotonic\":{\"secs\":-4611686019}}}}",
	     "linux.timeOffsets.monotonic.secs: -4611686019 is out of range"},
	    {"{" BASE ",\"linux\":{\"timeOffsets\":{\"monotonic\":{\"secs\":1}}}}",
	     "linux.timeOffsets.monotonic: offsets need a new time namespace"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *m = error_of(cases[i].json);
		if (!m || !strstr(m, cases[i].want))
			fail_msg("case %zu: want '%s', got '%s'", i, cases[i].want,
				 m ? m : "(accepted)");
		free(m);
	}
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

/* What the process entry hands the kernel: sched_setattr's fields, ioprio_set's value,
 * personality's persona and seccomp's filter flags, and a full scheduler's round trip. */
/* runc exec --process FILE: the process alone through the same checks, naming FILE */
static void test_process_validate(void **state)
{
	(void)state;
	static const struct {
		const char *proc, *want; /* want NULL: valid */
	} cases[] = {
	    {"{\"args\":[\"/bin/true\"],\"cwd\":\"/\",\"user\":{\"uid\":1,\"gid\":2}}", NULL},
	    {"{\"args\":[],\"cwd\":\"/\"}", "p.json: process.args: empty"},
	    {"{\"args\":[\"\"],\"cwd\":\"/\"}", "process.args: empty"},
	    {"{\"args\":[\"x\"]}", "process.cwd: '(missing)' is not an absolute path"},
	    {"{\"args\":[\"x\"],\"cwd\":\"tmp\"}", "process.cwd: 'tmp' is not an absolute"},
	    {"{\"args\":[\"x\"],\"cwd\":\"/\",\"env\":[\"=x\"]}", "process.env[0]"},
	    /* an unknown capability name is left out when the process starts, not refused */
	    {"{\"args\":[\"x\"],\"cwd\":\"/\",\"capabilities\":{\"permitted\":[\"NET_RAW\"]}}",
	     NULL},
	    {"{\"args\":[\"x\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOPE\",\"hard\":1,"
	     "\"soft\":1}]}",
	     "process.rlimits[0].type: 'RLIMIT_NOPE'"},
	    {"{\"args\":[\"x\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1,"
	     "\"soft\":2}]}",
	     "soft limit 2 above the hard limit 1"},
	    {"{\"args\":[\"x\"],\"cwd\":\"/\",\"ioPriority\":{\"class\":\"IOPRIO_CLASS_X\"}}",
	     "process.ioPriority.class"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char doc[1024];
		snprintf(doc, sizeof doc,
			 "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},"
			 "\"process\":%s}",
			 cases[i].proc);
		bwk_oci_spec *s = parse_ok(doc);
		bwk_error *err = NULL;
		int r = bwk_oci_process_validate("p.json", &s->process, &err);
		if (!cases[i].want) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, -1);
			char *m = bwk_error_format(err);
			if (!strstr(m, cases[i].want))
				fail_msg("case %zu: '%s' lacks '%s'", i, m, cases[i].want);
			free(m);
			bwk_error_free(err);
		}
		bwk_oci_spec_free(s);
	}
	/* supplementary groups: as many as the kernel takes (NGROUPS_MAX), more refused, not cut
	 * short */
	size_t cap = 32 * (size_t)BWK_OCI_MAX_ADDITIONAL_GIDS, n = 0;
	char *doc = malloc(cap);
	assert_non_null(doc);
	n += (size_t)snprintf(doc, cap,
			      "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},"
			      "\"process\":{\"args\":[\"x\"],\"cwd\":\"/\",\"user\":{"
			      "\"additionalGids\":[0");
	for (int i = 1; i < BWK_OCI_MAX_ADDITIONAL_GIDS; i++)
		n += (size_t)snprintf(doc + n, cap - n, ",%d", i);
	size_t full = n;
	snprintf(doc + n, cap - n, "]}}}");
	bwk_oci_spec *s = parse_ok(doc);
	assert_int_equal(s->process.user.n_additional_gids, BWK_OCI_MAX_ADDITIONAL_GIDS);
	assert_int_equal(s->process.user.additional_gids[65535], 65535);
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_process_validate("p.json", &s->process, &err), 0);
	bwk_oci_spec_free(s);
	n = full + (size_t)snprintf(doc + full, cap - full, ",65536]}}}");
	s = NULL;
	assert_int_equal(bwk_oci_spec_parse("c.json", doc, n, &s, &err), -1);
	assert_non_null(strstr(err->msg, "65537 entries (at most 65536)"));
	bwk_error_free(err);
	free(doc);
}

static void test_kernel_numbers(void **state)
{
	(void)state;
	bwk_oci_spec *s = parse_ok(
	    "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"x\"],"
	    "\"cwd\":\"/\",\"scheduler\":{\"policy\":\"SCHED_DEADLINE\",\"nice\":-3,\"flags\":["
	    "\"SCHED_FLAG_RESET_ON_FORK\",\"SCHED_FLAG_DL_OVERRUN\"],\"runtime\":2000,"
	    "\"deadline\":10000,\"period\":20000},\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\","
	    "\"priority\":7}},\"linux\":{\"personality\":{\"domain\":\"LINUX32\"},\"seccomp\":{"
	    "\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
	    "\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"]}}}");
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_validate("config.json", s, &err), 0);
	bwk_oci_sched_attr a;
	assert_int_equal(bwk_oci_sched_lower(&s->process.scheduler, &a), 0);
	assert_int_equal(a.policy, 6);
	assert_int_equal(a.flags, 0x01 | 0x04);
	assert_int_equal(a.nice, -3);
	assert_int_equal(a.priority, 0);
	assert_int_equal(a.runtime, 2000);
	assert_int_equal(a.deadline, 10000);
	assert_int_equal(a.period, 20000);
	assert_int_equal(bwk_oci_ioprio_lower(&s->process.io_priority), 1 << 13 | 7);
	assert_int_equal(bwk_oci_personality_lower(&s->linux_), 0x0008);
	assert_int_equal(bwk_oci_seccomp_flags_lower(&s->linux_.seccomp), 1 | 2 | 4);

	char *t = bwk_oci_spec_serialise(s, false, &err);
	assert_non_null(t);
	assert_non_null(strstr(t, "\"runtime\":2000,\"deadline\":10000,\"period\":20000"));
	bwk_oci_spec *s2 = parse_ok(t);
	assert_int_equal(bwk_oci_sched_lower(&s2->process.scheduler, &a), 0);
	assert_int_equal(a.flags, 0x01 | 0x04);
	assert_int_equal(a.nice, -3);
	assert_int_equal(bwk_oci_ioprio_lower(&s2->process.io_priority), 1 << 13 | 7);
	assert_int_equal(bwk_oci_seccomp_flags_lower(&s2->linux_.seccomp), 1 | 2 | 4);
	free(t);
	bwk_oci_spec_free(s2);

	/* unknown names lower to -1 (validate refuses them first) */
	free(s->process.io_priority.class_);
	s->process.io_priority.class_ = strdup("IOPRIO_CLASS_NONE");
	assert_int_equal(bwk_oci_ioprio_lower(&s->process.io_priority), -1);
	free(s->linux_.personality.domain);
	s->linux_.personality.domain = strdup("LINUX64");
	assert_int_equal(bwk_oci_personality_lower(&s->linux_), -1);
	free(s->process.scheduler.policy);
	s->process.scheduler.policy = strdup("SCHED_ISO");
	assert_int_equal(bwk_oci_sched_lower(&s->process.scheduler, &a), -1);
	bwk_oci_spec_free(s);
}

static void test_limits(void **state)
{
	(void)state;
	/* depth: an unknown property nested deeper than the model's own depth */
	char *deep = repeat("{" BASE ",\"x\":", "[", 40, "");
	char *deep2 = repeat(deep, "]", 40, "}");
	char *m = error_of(deep2);
	assert_non_null(strstr(m, "nested more than 16 levels"));
	free(m);
	free(deep);
	free(deep2);
	/* a list longer than BWK_OCI_MAX_LIST */
	char *lst = repeat("{" BASE ",\"process\":{\"cwd\":\"/\",\"args\":[\"a\"", ",\"a\"",
			   BWK_OCI_MAX_LIST, "]}}");
	m = error_of(lst);
	assert_non_null(strstr(m, "process.args: 16385 entries (at most 16384)"));
	free(m);
	free(lst);
	/* a string longer than BWK_OCI_MAX_STRING */
	char *str = repeat("{" BASE ",\"hostname\":\"", "a", BWK_OCI_MAX_STRING + 1, "\"}");
	m = error_of(str);
	assert_non_null(strstr(m, "hostname: a string of 131073 bytes"));
	free(m);
	free(str);
	/* the whole document */
	char *big = repeat("{" BASE ",\"x\":\"", "a", BWK_OCI_MAX_BYTES, "\"}");
	m = error_of(big);
	assert_non_null(strstr(m, "(at most 4194304)"));
	free(m);
	free(big);
}

/* a run's spec lists the sandbox's proc, /dev, devpts, /dev/shm and sysfs first */
#define RUN_STD 5

static const char *const img_env[] = {"PATH=/img/bin", "LANG=C.UTF-8", NULL};
static const char *const img_ep[] = {"/entry", "--flag", NULL};
static const char *const img_cmd[] = {"serve", NULL};

static bwk_image_config image(void)
{
	return (bwk_image_config){.user = "app",
				  .workdir = "/srv",
				  .stop_signal = "SIGQUIT",
				  .env = img_env,
				  .entrypoint = img_ep,
				  .cmd = img_cmd};
}

/* Docker's semantics and the hardened defaults, then the lowering for the sandbox. */
static void test_from_run(void **state)
{
	(void)state;
	bwk_image_config img = image();
	const char *const env[] = {"LANG=de_DE", "X=1", NULL};
	bwk_bind binds[] = {{.src = "/data", .dst = "/d", .rw = false},
			    {.src = "/srv/w", .dst = "/w", .rw = true}};
	bwk_oci_run r = {.root_path = "/layers/top",
			 .env = env,
			 .caps = (1ull << 0) | (1ull << 10),
			 .binds = binds,
			 .nbinds = 2,
			 .cpus_milli = 500};
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_from_run(&img, &r, &s, &err), 0);
	assert_int_equal(bwk_oci_spec_validate("run", s, &err), 0);
	const bwk_oci_process *p = &s->process;
	assert_int_equal(p->args.n, 3); /* entrypoint + Cmd */
	assert_string_equal(p->args.v[2], "serve");
	assert_string_equal(p->cwd, "/srv");
	assert_true(p->no_new_privileges);
	/* PATH and HOSTNAME first, the image's Env over them, the run's over that */
	assert_string_equal(p->env.v[0], "PATH=/img/bin");
	assert_string_equal(p->env.v[1], "HOSTNAME=bulwark");
	assert_string_equal(p->env.v[2], "LANG=de_DE");
	assert_string_equal(p->env.v[3], "X=1");
	assert_int_equal(p->caps.bounding.n, 2);
	assert_string_equal(p->caps.bounding.v[1], "CAP_NET_BIND_SERVICE");
	assert_int_equal(p->caps.ambient.n, 0);
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "bulwark");
	assert_non_null(bwk_oci_spec_namespace(s, "user"));
	assert_non_null(bwk_oci_spec_namespace(s, "network"));
	assert_int_equal(s->linux_.resources.memory.limit.v, BWK_DEFAULT_MEMORY);
	assert_int_equal(s->linux_.resources.pids_limit.v, BWK_DEFAULT_PIDS);
	assert_int_equal(s->linux_.resources.cpu.quota.v, 50000);
	/* the sandbox's proc, /dev, devpts, /dev/shm and sysfs first, then the volumes */
	assert_string_equal(s->mounts[RUN_STD].options.v[1], "ro");
	assert_string_equal(s->mounts[RUN_STD + 1].options.v[1], "rw");
	assert_string_equal(bwk_oci_spec_annotation(s, BWK_OCI_ANN_USER), "app");
	assert_string_equal(bwk_oci_spec_annotation(s, BWK_OCI_ANN_STOP_SIGNAL), "3");
	assert_string_equal(bwk_oci_spec_annotation(s, BWK_OCI_ANN_SECCOMP), "default");
	/* /var's state directories writable by default: a run's, not a bundle's (below) */
	assert_string_equal(bwk_oci_spec_annotation(s, BWK_OCI_ANN_WRITABLE_VAR), "true");

	bwk_oci_lowered low;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	const bwk_container_spec *c = &low.spec;
	assert_string_equal(c->argv[0], "/entry");
	assert_null(c->argv[3]);
	assert_string_equal(c->user, "app");
	assert_string_equal(c->rootfs, "/layers/top");
	assert_false(c->read_write);
	assert_true(c->writable_var);
	assert_true(c->caps_set);
	assert_int_equal(c->caps, (1ull << 0) | (1ull << 10));
	assert_int_equal(c->memory, BWK_DEFAULT_MEMORY);
	assert_int_equal(c->pids, BWK_DEFAULT_PIDS);
	assert_int_equal(c->tmpfs_size, BWK_DEFAULT_TMPFS_SIZE);
	assert_int_equal(c->cpus_milli, 500);
	/* the defaults the sandbox no longer picks: the spec's producer gives them */
	assert_int_equal(c->cpu_weight, BWK_DEFAULT_CPU_WEIGHT);
	assert_int_equal(c->stop_timeout_ms, BWK_DEFAULT_STOP_TIMEOUT_MS);
	assert_int_equal(c->writable_size, BWK_DEFAULT_WRITABLE_SIZE);
	assert_int_equal(c->stop_signal, 3);
	assert_null(c->seccomp); /* the built-in default */
	assert_int_equal(c->net, BWK_NET_NONE);
	assert_int_equal(c->nbinds, 2);
	assert_false(c->binds[0].rw);
	assert_true(c->binds[1].rw);
	bwk_oci_lowered_free(&low);

	/* the spec of a run is a config.json like any other */
	char *text = bwk_oci_spec_serialise(s, false, &err);
	bwk_oci_spec *back = parse_ok(text);
	assert_int_equal(bwk_oci_spec_validate("run", back, &err), 0);
	free(text);
	bwk_oci_spec_free(back);
	bwk_oci_spec_free(s);
}

/* The sandbox's proc, sysfs and /dev come from the spec (run_spec.c's table, the one `bulwark
 * spec` writes), passed through by the lowering; /dev/shm's size is /tmp's. */
static void test_from_run_std_mounts(void **state)
{
	(void)state;
	bwk_error *err = NULL;
	bwk_oci_spec *s = NULL;
	const char *const args[] = {"sh", NULL};
	bwk_oci_run r = {.args = args};
	assert_int_equal(bwk_oci_spec_from_run(NULL, &r, &s, &err), 0);
	assert_int_equal(s->n_mounts, RUN_STD);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_string_equal(s->mounts[3].destination, "/dev/shm");
	assert_string_equal(s->mounts[3].options.v[4], "size=65536k");
	assert_string_equal(s->mounts[4].destination, "/sys");
	bwk_oci_lowered low;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	const bwk_container_spec *c = &low.spec;
	assert_ptr_equal(c->std_mounts[BWK_STD_PROC], &s->mounts[0]);
	assert_ptr_equal(c->std_mounts[BWK_STD_DEV], &s->mounts[1]);
	assert_ptr_equal(c->std_mounts[BWK_STD_DEVPTS], &s->mounts[2]);
	assert_ptr_equal(c->std_mounts[BWK_STD_SHM], &s->mounts[3]);
	assert_ptr_equal(c->std_mounts[BWK_STD_SYS], &s->mounts[4]);
	assert_int_equal(c->tmpfs_size, BWK_DEFAULT_TMPFS_SIZE);
	bwk_oci_lowered_free(&low);
	/* a spec without them (an engine's that lists none): bulwark's */
	for (size_t i = 0; i < RUN_STD; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		bwk_strv_clear(&s->mounts[i].options);
	}
	s->n_mounts = 0;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_string_equal(low.spec.std_mounts[BWK_STD_SYS]->destination, "/sys");
	assert_string_equal(low.spec.std_mounts[BWK_STD_SYS]->type, "sysfs");
	assert_string_equal(low.spec.std_mounts[BWK_STD_SHM]->options.v[4], "size=65536k");
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	/* --tmpfs-size: /dev/shm's size option, which the lowering reads back for /tmp */
	r.tmpfs_size = 3 << 20;
	assert_int_equal(bwk_oci_spec_from_run(NULL, &r, &s, &err), 0);
	assert_string_equal(s->mounts[3].options.v[4], "size=3072k");
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_int_equal(low.spec.tmpfs_size, 3 << 20);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	/* `bulwark spec`: all of them, /dev/mqueue and cgroupfs too, from the same table */
	r.tmpfs_size = 0;
	r.all_std_mounts = true;
	assert_int_equal(bwk_oci_spec_from_run(NULL, &r, &s, &err), 0);
	assert_int_equal(s->n_mounts, 7);
	assert_string_equal(s->mounts[4].destination, "/dev/mqueue");
	assert_string_equal(s->mounts[6].destination, "/sys/fs/cgroup");
	bwk_oci_spec_free(s);
}

static void test_from_run_overrides(void **state)
{
	(void)state;
	bwk_image_config img = image();
	bwk_error *err = NULL;
	bwk_oci_spec *s = NULL;
	/* an entrypoint setting drops the image's Cmd; arguments replace Cmd */
	const char *const args[] = {"a", "b", NULL};
	bwk_oci_run r = {.entrypoint = "/bin/sh",
			 .args = args,
			 .user = "0",
			 .cwd = "/x",
			 .net = BWK_NET_HOST,
			 .memory = BWK_UNLIMITED,
			 .tty = true,
			 .seccomp = "unconfined",
			 .read_write = true};
	assert_int_equal(bwk_oci_spec_from_run(&img, &r, &s, &err), 0);
	assert_int_equal(s->process.args.n, 3);
	assert_string_equal(s->process.args.v[0], "/bin/sh");
	assert_string_equal(s->process.args.v[2], "b");
	assert_string_equal(s->process.cwd, "/x");
	assert_null(bwk_oci_spec_namespace(s, "network"));
	assert_true(s->process.terminal);
	assert_false(s->root_readonly);
	assert_null(bwk_oci_spec_annotation(s, BWK_OCI_ANN_WRITABLE_VAR)); /* moot */
	bwk_oci_lowered low;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_false(low.spec.writable_var);
	assert_int_equal(low.spec.net, BWK_NET_HOST);
	assert_int_equal(low.spec.memory, BWK_UNLIMITED);
	assert_string_equal(low.spec.seccomp, "unconfined");
	assert_string_equal(low.spec.user, "0");
	assert_true(low.spec.tty);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	/* read_only: /var's state directories read-only too */
	bwk_oci_run ro = {.read_only = true};
	assert_int_equal(bwk_oci_spec_from_run(&img, &ro, &s, &err), 0);
	assert_true(s->root_readonly);
	assert_null(bwk_oci_spec_annotation(s, BWK_OCI_ANN_WRITABLE_VAR));
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_false(low.spec.writable_var);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	/* entrypoint "" and nothing else: no command */
	bwk_oci_run none = {.entrypoint = ""};
	assert_int_equal(bwk_oci_spec_from_run(&img, &none, &s, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_USAGE);
	bwk_error_free(err);
	err = NULL;
	/* an image StopSignal that is not one */
	img.stop_signal = "SIGNOPE";
	bwk_oci_run plain = {0};
	assert_int_equal(bwk_oci_spec_from_run(&img, &plain, &s, &err), -1);
	assert_non_null(strstr(err->msg, "StopSignal 'SIGNOPE'"));
	bwk_error_free(err);
}

/* The image's VOLUMEs: anonymous tmpfs volumes with the image's content (tmpcopyup), unless a
 * bind or a tmpfs covers them or the runtime owns the path; lowered as the sandbox's tmpfs. */
static void test_from_run_volumes(void **state)
{
	(void)state;
	bwk_image_config img = image();
	const char *const vols[] = {"/data/", "/proc/x", "/run",    "/w/sub", "/cache",
				    "/data",  "/dev",	 "/run/pg", NULL};
	img.volumes = vols;
	bwk_bind binds[] = {{.src = "/srv/w", .dst = "/w", .rw = true}};
	bwk_tmpfs tmpfs[] = {{.dst = "/cache", .size = 1 << 20, .copyup = true, .noexec = true}};
	bwk_oci_run r = {
	    .binds = binds, .nbinds = 1, .tmpfs = tmpfs, .ntmpfs = 1, .writable_size = 8 << 20};
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_from_run(&img, &r, &s, &err), 0);
	assert_int_equal(bwk_oci_spec_validate("run", s, &err), 0);
	assert_int_equal(s->n_mounts, RUN_STD + 4); /* /cache, /w, /data, /run/pg */
	assert_string_equal(s->mounts[RUN_STD].destination, "/cache");
	assert_string_equal(s->mounts[RUN_STD + 1].destination, "/w");
	assert_string_equal(s->mounts[RUN_STD + 2].destination, "/data");
	assert_string_equal(s->mounts[RUN_STD + 2].type, "tmpfs");
	assert_string_equal(s->mounts[RUN_STD + 3].destination, "/run/pg");
	bwk_oci_lowered low;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_int_equal(low.spec.nbinds, 1);
	assert_int_equal(low.spec.ntmpfs, 3);
	assert_string_equal(low.spec.tmpfs[0].dst, "/cache");
	assert_int_equal(low.spec.tmpfs[0].size, 1 << 20);
	assert_true(low.spec.tmpfs[0].copyup && low.spec.tmpfs[0].noexec);
	assert_string_equal(low.spec.tmpfs[1].dst, "/data");
	assert_int_equal(low.spec.tmpfs[1].size, 8 << 20);
	assert_true(low.spec.tmpfs[1].copyup);
	assert_false(low.spec.tmpfs[1].noexec);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	/* at most 16 (each is a tmpfs of writable_size) */
	const char *many[18];
	char names[17][8];
	for (int i = 0; i < 17; i++) {
		snprintf(names[i], sizeof names[i], "/v%d", i);
		many[i] = names[i];
	}
	many[17] = NULL;
	img.volumes = many;
	assert_int_equal(bwk_oci_spec_from_run(&img, &(bwk_oci_run){0}, &s, &err), -1);
	assert_int_equal(bwk_error_code(err), BWK_E_LIMIT);
	bwk_error_free(err);
	err = NULL;
	many[16] = NULL;
	assert_int_equal(bwk_oci_spec_from_run(&img, &(bwk_oci_run){0}, &s, &err), 0);
	assert_int_equal(s->n_mounts, RUN_STD + 16);
	bwk_oci_spec_free(s);
	/* a VOLUME that is not a clean absolute path is refused, naming it */
	static const char *const bad[][2] = {{"data", NULL}, {"/a/../etc", NULL}, {"/a//b", NULL}};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		img.volumes = bad[i];
		assert_int_equal(bwk_oci_spec_from_run(&img, &(bwk_oci_run){0}, &s, &err), -1);
		assert_non_null(strstr(err->msg, "is not a clean absolute path"));
		bwk_error_free(err);
		err = NULL;
	}
}

/* What the sandbox cannot execute yet is refused, naming the property, never dropped. */
static void test_lower_refuses(void **state)
{
	(void)state;
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{" BASE "}", "process: missing"},
	    {"{" BASE "," PROC "},\"linux\":{\"namespaces\":[{\"type\":\"network\","
	     "\"path\":\"/proc/1/ns/net\"}]}}",
	     "linux.namespaces[0].path"},
	    {"{" BASE "," PROC "},\"mounts\":[{\"destination\":\"/m\",\"type\":\"nfs\"}]}",
	     "mounts[0] (nfs at /m)"},
	    {"{" BASE "," PROC "},\"mounts\":[{\"destination\":\"/sys/fs/cgroup\","
	     "\"type\":\"cgroup\",\"options\":[\"nosuid\",\"rw\"]}]}",
	     "mounts[0] (cgroup at /sys/fs/cgroup) read-write"},
	    {"{" BASE "," PROC "},\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\"}}}",
	     "linux.seccomp"},
	    {"{" BASE "," PROC "},\"hooks\":{\"poststop\":[{\"path\":\"/x\"}]}}", "hooks"},
	    {"{" BASE "," PROC ",\"apparmorProfile\":\"x\"}}", "process.apparmorProfile"},
	    {"{" BASE "," PROC ",\"user\":{\"additionalGids\":[5]}}}",
	     "process.user.additionalGids"},
	    {"{" BASE "," PROC "},\"linux\":{\"sysctl\":{\"a.b\":\"1\"}}}", "linux.sysctl"},
	    {"{" BASE "," PROC "},\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\"}]}}",
	     "linux.devices"},
	    {"{" BASE "," PROC "},\"linux\":{\"maskedPaths\":[\"/proc/kcore\",\"/etc\"]}}",
	     "linux.maskedPaths (beyond Docker's list)"},
	    {"{" BASE "," PROC "},\"linux\":{\"resources\":{\"memory\":{\"swap\":1}}}}",
	     "linux.resources.memory (other than limit)"},
	    {"{" BASE "," PROC "},\"linux\":{\"resources\":{\"devices\":[{\"allow\":true}]}}}",
	     "a device allowed"},
	    {"{" BASE "," PROC "},\"mounts\":[{\"destination\":\"/m\",\"type\":\"tmpfs\","
	     "\"options\":[\"dev\"]}]}",
	     "mounts[0] (tmpfs option 'dev')"},
	    {"{" BASE "," PROC "},\"mounts\":[{\"destination\":\"/m\",\"type\":\"tmpfs\","
	     "\"options\":[\"size=-1\"]}]}",
	     "bad tmpfs 'size=-1'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		bwk_oci_spec *s = parse_ok(cases[i].json);
		bwk_oci_lowered low;
		bwk_error *err = NULL;
		assert_int_equal(bwk_oci_spec_lower(s, &low, &err), -1);
		if (!strstr(err->msg, cases[i].want))
			fail_msg("case %zu: want '%s', got '%s'", i, cases[i].want, err->msg);
		bwk_error_free(err);
		bwk_oci_spec_free(s);
	}
	/* an engine's standard mounts are the sandbox's own: accepted */
	bwk_oci_spec *s =
	    parse_ok("{" BASE "," PROC "},\"mounts\":[{\"destination\":\"/proc\","
		     "\"type\":\"proc\",\"source\":\"proc\"},{\"destination\":"
		     "\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"options\":[\"ro\"]}]}");
	bwk_oci_lowered low;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_int_equal(low.spec.nbinds, 0);
	assert_int_equal(low.spec.net, BWK_NET_HOST); /* no network namespace asked for */
	/* the lowered spec carries the effective settings; the sandbox picks no default: no
	 * capabilities given is bulwark's set, no limit is none, /tmp's size bulwark's */
	assert_true(low.spec.caps_set);
	assert_int_equal(low.spec.caps, bwk_sandbox_default_caps());
	assert_true(low.spec.memory == BWK_UNLIMITED && low.spec.pids == BWK_UNLIMITED);
	assert_int_equal(low.spec.tmpfs_size, BWK_DEFAULT_TMPFS_SIZE);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	/* rlimits reach the sandbox as setrlimit's resources; Docker's masked paths pass */
	s = parse_ok("{" BASE "," PROC ",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":20,"
		     "\"soft\":10},{\"type\":\"RLIMIT_CORE\",\"hard\":9223372036854775807,"
		     "\"soft\":0}]},\"linux\":{\"maskedPaths\":[\"/proc/kcore\"],"
		     "\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}}}");
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_int_equal(low.spec.nrlimits, 2);
	assert_int_equal(low.spec.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(low.spec.rlimits[0].soft, 10);
	assert_int_equal(low.spec.rlimits[0].hard, 20);
	assert_int_equal(low.spec.rlimits[1].resource, RLIMIT_CORE);
	assert_true(low.spec.rlimits[1].hard == RLIM_INFINITY);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
}

/* One parser of mount options for create and run (mount_opts.c): flags set and cleared in
 * order, propagation (the last one), the recursive r* options as mount_setattr attributes (the
 * atime ones one field), the switches, the filesystem's data, and its bound. */
static bwk_strv strv_of(const char **v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return (bwk_strv){.v = (char **)v, .n = n};
}

static void test_mount_opts(void **state)
{
	(void)state;
	bwk_oci_mount_opts o;
	bwk_error *err = NULL;
	const char *opts1[] = {"rbind",	 "ro",	    "nosuid",	"noexec",    "exec", "rw", "ro",
			       "rslave", "private", "size=64k", "mode=1777", "",     NULL};
	bwk_oci_mount m = {
	    .destination = (char *)"/data", .type = (char *)"none", .options = strv_of(opts1)};
	assert_int_equal(bwk_oci_mount_opts_parse(&m, 0, &o, &err), 0);
	assert_true(o.bind);
	assert_int_equal(o.flags, MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID);
	assert_int_equal(o.cleared, MS_NOEXEC);
	assert_int_equal(o.prop, MS_PRIVATE);
	assert_string_equal(o.data, "size=64k,mode=1777");
	assert_int_equal(o.rec_set | o.rec_clr, 0);
	assert_false(o.tmpcopyup || o.idmap || o.ridmap || o.chown);

	const char *opts2[] = {"rro",	      "rnosuid", "rsuid",     "rnodev",	     "rnoatime",
			       "rnodiratime", "rexec",	 "tmpcopyup", "notmpcopyup", "tmpcopyup",
			       "ridmap",      "U",	 NULL};
	m = (bwk_oci_mount){
	    .destination = (char *)"/t", .type = (char *)"bind", .options = strv_of(opts2)};
	assert_int_equal(bwk_oci_mount_opts_parse(&m, 0, &o, &err), 0);
	assert_true(o.bind); /* by its type */
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.rec_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOATIME |
					MOUNT_ATTR_NODIRATIME);
	assert_int_equal(o.rec_clr, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR__ATIME);
	assert_true(o.tmpcopyup && o.ridmap && o.chown);
	assert_false(o.idmap);
	assert_string_equal(o.data, "");

	/* an atime option turned off: relatime, the whole field cleared */
	const char *opts3[] = {"rstrictatime", "ratime", "rshared", NULL};
	m = (bwk_oci_mount){
	    .destination = (char *)"/t", .type = (char *)"tmpfs", .options = strv_of(opts3)};
	assert_int_equal(bwk_oci_mount_opts_parse(&m, 0, &o, &err), 0);
	assert_false(o.bind);
	assert_int_equal(o.rec_set, MOUNT_ATTR_RELATIME);
	assert_int_equal(o.rec_clr, MOUNT_ATTR__ATIME);
	assert_int_equal(o.prop, MS_SHARED | MS_REC);

	/* the data string is bounded */
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	const char *opts4[] = {big, big, NULL};
	m = (bwk_oci_mount){
	    .destination = (char *)"/big", .type = (char *)"tmpfs", .options = strv_of(opts4)};
	assert_int_equal(bwk_oci_mount_opts_parse(&m, 7, &o, &err), -1);
	assert_non_null(strstr(err->msg, "mounts[7] (/big)"));
	bwk_error_free(err);

	assert_int_equal(bwk_oci_propagation_flags("rslave"), MS_SLAVE | MS_REC);
	assert_int_equal(bwk_oci_propagation_flags("unbindable"), MS_UNBINDABLE);
	assert_int_equal(bwk_oci_propagation_flags("sideways"), 0);
	/* every advertised option is one the parser knows (none reaches the data string) */
	for (const char *const *k = bwk_oci_mount_options_known; *k; k++) {
		const char *one[] = {*k, NULL};
		m = (bwk_oci_mount){
		    .destination = (char *)"/k", .type = (char *)"tmpfs", .options = strv_of(one)};
		assert_int_equal(bwk_oci_mount_opts_parse(&m, 0, &o, NULL), 0);
		assert_string_equal(o.data, "");
	}
}

/* The lowering for run takes the same parser: a tmpfs's size, mode, noexec and copy-up; a
 * bind's rro as read-only; a tmpfs flag the sandbox does not execute refused by name. */
static void test_lower_mount_opts(void **state)
{
	(void)state;
	bwk_oci_spec *s = parse_ok(
	    "{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
	    "\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]},"
	    "\"mounts\":[{\"destination\":\"/v\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
	    "\"options\":[\"nosuid\",\"noexec\",\"tmpcopyup\",\"size=2m\",\"mode=700\"]},"
	    "{\"destination\":\"/b\",\"type\":\"bind\",\"source\":\"/srv\",\"options\":"
	    "[\"rbind\",\"rro\"]}]}");
	bwk_oci_lowered low;
	bwk_error *err = NULL;
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), 0);
	assert_int_equal(low.spec.ntmpfs, 1);
	assert_int_equal(low.spec.tmpfs[0].size, 2 << 20);
	assert_int_equal(low.spec.tmpfs[0].mode, 0700);
	assert_true(low.spec.tmpfs[0].noexec && low.spec.tmpfs[0].copyup);
	assert_int_equal(low.spec.nbinds, 1);
	assert_false(low.spec.binds[0].rw);
	bwk_oci_lowered_free(&low);
	bwk_oci_spec_free(s);
	s = parse_ok("{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		     "\"root\":{\"path\":\"rootfs\"},\"mounts\":[{\"destination\":\"/v\","
		     "\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"suid\"]}]}");
	assert_int_equal(bwk_oci_spec_lower(s, &low, &err), -1);
	assert_non_null(strstr(err->msg, "mounts[0] (tmpfs option 'suid')"));
	bwk_error_free(err);
	bwk_oci_spec_free(s);
}

/* uint64 values above INT64_MAX, as Go writes them (Docker's --ulimit memlock=-1): read with
 * their range, written back as the same literal, digits inside strings left alone. */
static void test_uint64_above_int64(void **state)
{
	(void)state;
	bwk_oci_spec *s = parse_ok(
	    "{" BASE ",\"process\":{\"args\":[\"echo\",\"18446744073709551615\",\"\\\" "
	    "9223372036854775808\"],"
	    "\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_MEMLOCK\",\"hard\":18446744073709551615,"
	    "\"soft\":9223372036854775808}]},\"linux\":{\"seccomp\":{\"defaultAction\":"
	    "\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ERRNO\","
	    "\"args\":[{\"index\":1,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_EQ\"}]}]}}}");
	assert_true(s->process.rlimits[0].hard == UINT64_MAX);
	assert_true(s->process.rlimits[0].soft == 9223372036854775808ULL);
	assert_true(s->linux_.seccomp.syscalls[0].args[0].value == UINT64_MAX);
	assert_string_equal(s->process.args.v[1], "18446744073709551615");
	assert_string_equal(s->process.args.v[2], "\" 9223372036854775808");
	bwk_error *err = NULL;
	char *text = bwk_oci_spec_serialise(s, false, &err);
	assert_non_null(text);
	assert_non_null(
	    strstr(text, "\"hard\":18446744073709551615,\"soft\":9223372036854775808}"));
	assert_non_null(strstr(text, "\"value\":18446744073709551615,"));
	free(text);
	bwk_oci_spec_free(s);
	/* above 2^64-1, or above 2^63-1 in a signed property: out of range */
	char *m = error_of("{" BASE "," PROC ",\"rlimits\":[{\"type\":\"RLIMIT_CORE\","
			   "\"hard\":18446744073709551616,\"soft\":0}]}}");
	assert_non_null(
	    strstr(m, "process.rlimits[0].hard: out of range (0 to 18446744073709551615)"));
	free(m);
	m = error_of("{" BASE ",\"linux\":{\"resources\":{\"memory\":{\"limit\":"
		     "9223372036854775808}}}}");
	assert_non_null(strstr(m, "linux.resources.memory.limit: out of range"));
	free(m);
	/* a leading zero or a fraction is not rewritten: jansson refuses it as before */
	m = error_of("{" BASE ",\"x\":018446744073709551615}");
	assert_non_null(strstr(m, "invalid JSON"));
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config),	       cmocka_unit_test(test_minimal_and_nulls),
	    cmocka_unit_test(test_refusals),	       cmocka_unit_test(test_kernel_numbers),
	    cmocka_unit_test(test_process_validate),   cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_from_run),	       cmocka_unit_test(test_from_run_std_mounts),
	    cmocka_unit_test(test_from_run_overrides), cmocka_unit_test(test_lower_refuses),
	    cmocka_unit_test(test_from_run_volumes),   cmocka_unit_test(test_mount_opts),
	    cmocka_unit_test(test_lower_mount_opts),   cmocka_unit_test(test_uint64_above_int64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
