/* The cgroup v2 device filter's instructions run in user space (the few opcodes
 * sandbox/oci_devfilter.c emits), and the rules read directly: shared by
 * tests/unit/test_oci_devfilter.c and tests/fuzz/fuzz_oci_devfilter.c. */
#ifndef BWK_TEST_DEVFILTER_EVAL_H
#define BWK_TEST_DEVFILTER_EVAL_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bulwark/oci.h"

#ifndef BPF_JMP32
#define BPF_JMP32 0x06
#endif

/* Runs the program on one request; -1 for an instruction the translator must not emit, a
 * backward or out-of-range jump, or a fall off the end. */
static inline int devfilter_run(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t major,
				uint32_t minor, uint32_t access)
{
	uint32_t ctx[3] = {access << 16 | type, major, minor};
	uint64_t r[11] = {0};
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (i->src_reg != 1 || i->off < 0 || i->off > 8 || i->off % 4)
				return -1;
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
			r[i->dst_reg] = r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
		case BPF_JMP | BPF_JNE | BPF_X:
		case BPF_JMP | BPF_JEQ | BPF_K: {
			bool ne = i->code == (BPF_JMP | BPF_JEQ | BPF_K)
				      ? r[i->dst_reg] == (uint64_t)(int64_t)i->imm
				  : (i->code & 0x07) == BPF_JMP32
				      ? (uint32_t)r[i->dst_reg] != (uint32_t)i->imm
				      : r[i->dst_reg] != r[i->src_reg];
			if (i->off < 0 || pc + 1 + (size_t)i->off >= n)
				return -1;
			if (ne)
				pc += (size_t)i->off;
			break;
		}
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			return -1;
		}
	}
	return -1;
}

static inline unsigned devfilter_acc(const char *a)
{
	if (!a || !*a)
		a = "rwm";
	return (strchr(a, 'r') ? BPF_DEVCG_ACC_READ : 0) |
	       (strchr(a, 'w') ? BPF_DEVCG_ACC_WRITE : 0) |
	       (strchr(a, 'm') ? BPF_DEVCG_ACC_MKNOD : 0);
}

/* The rules read directly: the last that matches decides; an allow rule matches when it has
 * every access asked for, a deny rule when it has any. */
static inline int devfilter_reference(const bwk_oci_dev_rule *v, size_t n, uint32_t type,
				      uint32_t major, uint32_t minor, uint32_t access)
{
	for (size_t k = n; k-- > 0;) {
		const bwk_oci_dev_rule *r = &v[k];
		const char *t = r->type && *r->type ? r->type : "a";
		if (strcmp(t, "a") &&
		    (uint32_t)(*t == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK) != type)
			continue;
		/* allow: all the accesses asked for; deny: any of them */
		if (r->allow ? (access & devfilter_acc(r->access)) != access
			     : !(access & devfilter_acc(r->access)))
			continue;
		if (r->major.set && r->major.v >= 0 && (uint32_t)r->major.v != major)
			continue;
		if (r->minor.set && r->minor.v >= 0 && (uint32_t)r->minor.v != minor)
			continue;
		return r->allow;
	}
	return 0;
}

#endif
