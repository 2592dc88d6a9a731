/* The device rules of an OCI container on cgroup v2 (linux.resources.devices): cgroup v2 has
 * no devices.allow/deny, the kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 * cgroup instead. The rules become that program here, as runc's devicefilter and crun build
 * it: the rules are tried from the last to the first (the last one that matches decides, as
 * the v1 files do), a device no rule matches is denied. Raw instructions, no libbpf. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"
#include "sandbox/oci_rt_private.h"

#ifndef BPF_JMP32
#define BPF_JMP32 0x06
#endif

/* ctx: struct bpf_cgroup_dev_ctx {u32 access_type (access << 16 | type); u32 major, minor} */
enum { R0, R1, R2, R3, R4, R5 }; /* r2 type, r3 access, r4 major, r5 minor */

typedef struct prog {
	struct bpf_insn *v;
	size_t n, cap;
} prog;

static int emit(prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n >= p->cap)
		return -1;
	p->v[p->n++] =
	    (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
	return 0;
}

/* A device number of a rule: -1 (or absent) is the wildcard; what no device can have is an
 * error rather than a rule that never matches. */
static int dev_number(const bwk_oci_i64 *v, const char *what, size_t i, int64_t *out,
		      bwk_error **err)
{
	*out = v->set ? v->v : -1;
	if (*out < -1 || *out > UINT32_MAX)
		return bwk_error_set(err, BWK_E_INPUT, 0,
				     "linux.resources.devices[%zu].%s: %" PRId64
				     " is not a device number (-1 for any)",
				     i, what, *out);
	return 0;
}

int ocirt_devfilter_build(const bwk_oci_dev_rule *rules, size_t n, struct bpf_insn *out, size_t cap,
			  size_t *len, bwk_error **err)
{
	if (n > OCIRT_DEV_RULES_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "linux.resources.devices: %zu rules (at most %d)", n,
				     OCIRT_DEV_RULES_MAX);
	prog p = {.v = out, .cap = cap};
	int bad = 0;
	bool catch_all = false;
	bad |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0);
	bad |= emit(&p, BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xffff);
	bad |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, R3, R1, 0, 0);
	bad |= emit(&p, BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16);
	bad |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0);
	bad |= emit(&p, BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0);
	for (size_t k = n; k-- > 0;) {
		const bwk_oci_dev_rule *r = &rules[k];
		const char *type = r->type && *r->type ? r->type : "a";
		const char *acc = r->access && *r->access ? r->access : "rwm";
		int32_t t = !strcmp(type, "c")	 ? BPF_DEVCG_DEV_CHAR
			    : !strcmp(type, "b") ? BPF_DEVCG_DEV_BLOCK
			    : !strcmp(type, "a") ? 0
						 : -1;
		if (t < 0 || strspn(acc, "rwm") != strlen(acc))
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "linux.resources.devices[%zu]: type '%.8s' access "
					     "'%.8s' (type a, b or c; access of r, w and m)",
					     k, type, acc);
		int32_t a = (strchr(acc, 'r') ? BPF_DEVCG_ACC_READ : 0) |
			    (strchr(acc, 'w') ? BPF_DEVCG_ACC_WRITE : 0) |
			    (strchr(acc, 'm') ? BPF_DEVCG_ACC_MKNOD : 0);
		int64_t major, minor;
		if (dev_number(&r->major, "major", k, &major, err) < 0 ||
		    dev_number(&r->minor, "minor", k, &minor, err) < 0)
			return -1;
		/* the tests of this rule jump past its verdict when they fail */
		size_t jumps[4], nj = 0;
		if (t) {
			jumps[nj++] = p.n;
			bad |= emit(&p, BPF_JMP32 | BPF_JNE | BPF_K, R2, 0, 0, t);
		}
		if (a != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
			/* an allow rule grants a request (an open asks for read and write at
			 * once) when it has all of its accesses; a deny rule refuses it when it
			 * has any, as the v1 files do */
			bad |= emit(&p, BPF_ALU64 | BPF_MOV | BPF_X, R1, R3, 0, 0);
			bad |= emit(&p, BPF_ALU | BPF_AND | BPF_K, R1, 0, 0, a);
			jumps[nj++] = p.n;
			bad |= r->allow ? emit(&p, BPF_JMP | BPF_JNE | BPF_X, R1, R3, 0, 0)
					: emit(&p, BPF_JMP | BPF_JEQ | BPF_K, R1, 0, 0, 0);
		}
		if (major >= 0) {
			jumps[nj++] = p.n;
			bad |= emit(&p, BPF_JMP32 | BPF_JNE | BPF_K, R4, 0, 0, (int32_t)major);
		}
		if (minor >= 0) {
			jumps[nj++] = p.n;
			bad |= emit(&p, BPF_JMP32 | BPF_JNE | BPF_K, R5, 0, 0, (int32_t)minor);
		}
		bad |= emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, r->allow ? 1 : 0);
		bad |= emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		for (size_t j = 0; !bad && j < nj; j++)
			out[jumps[j]].off = (int16_t)(p.n - jumps[j] - 1);
		/* a rule for every device and access decides alone: the rules before it, and
		 * the default, are never reached (and the verifier refuses dead code) */
		catch_all = !nj;
		if (bad || catch_all)
			break;
	}
	if (!catch_all) {
		bad |= emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
		bad |= emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}
	if (bad)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "linux.resources.devices: the device filter needs more than "
				     "%zu instructions",
				     cap);
	*len = p.n;
	return 0;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int ocirt_devfilter_attach(int cgfd, const char *cgname, const bwk_oci_dev_rule *rules, size_t n,
			   bwk_error **err)
{
	cleanup_free struct bpf_insn *insns = xcalloc(OCIRT_DEVFILTER_INSNS, sizeof *insns);
	size_t len = 0;
	if (ocirt_devfilter_build(rules, n, insns, OCIRT_DEVFILTER_INSNS, &len, err) < 0)
		return -1;
	/* loaded without a log first: a log longer than its buffer fails the load (ENOSPC);
	 * only a refusal is loaded again for the verifier's last words */
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)len;
	attr.license = (uint64_t)(uintptr_t) "Apache";
	cleanup_close int pfd = (int)sys_bpf(BPF_PROG_LOAD, &attr);
	if (pfd < 0) {
		int e = errno;
		char log[16384] = "";
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = sizeof log;
		attr.log_level = 1;
		int again = (int)sys_bpf(BPF_PROG_LOAD, &attr);
		if (again >= 0)
			close(again);
		log[sizeof log - 1] = 0;
		size_t l = strlen(log);
		while (l && log[l - 1] == '\n')
			log[--l] = 0;
		const char *last = strrchr(log, '\n');
		return bwk_error_set(err, BWK_E_RUNTIME, e,
				     "cgroup %s: the kernel refused the device filter (%zu rules, "
				     "%zu instructions): %s",
				     cgname, n, len, last ? last + 1 : log);
	}
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)pfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return bwk_error_set(err, BWK_E_RUNTIME, errno,
				     "cgroup %s: attaching the device filter", cgname);
	return 0; /* the cgroup holds the program now; it goes with the cgroup */
}
