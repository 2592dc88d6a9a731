/* libFuzzer target: linux.resources.devices (config.json, untrusted) → the cgroup v2 device
 * filter (sandbox/oci_devfilter.c). Input: a byte for the instruction budget, then 5 bytes a
 * rule (allow, type, access, major, minor, with invalid types, accesses and numbers among
 * them). A program it builds must fit its budget, end in an exit, jump only forward inside
 * itself, and answer every request of a small device space as the rules read directly do. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/devfilter_eval.h"
#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

static int64_t number(uint8_t b)
{
	return b == 0xff ? -1 : b == 0xfe ? -2 : b == 0xfd ? 4294967296LL : b == 0xfc ? -7 : b % 6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"a", "b", "c", NULL, "", "u"};
	static const char *const accs[] = {"r", "w", "m", "rw", "mr", "wm", "rwm", NULL, "", "x"};
	static struct bpf_insn prog[OCIRT_DEVFILTER_INSNS];
	if (!size)
		return 0;
	size_t cap = data[0] == 0xff ? OCIRT_DEVFILTER_INSNS : data[0];
	size_t n = (size - 1) / 5;
	if (n > OCIRT_DEV_RULES_MAX + 4)
		return 0;
	bwk_oci_dev_rule *v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = data + 1 + 5 * i;
		int64_t ma = number(b[3]), mi = number(b[4]);
		v[i] = (bwk_oci_dev_rule){.allow = b[0] & 1,
					  .type = (char *)types[b[1] % 6],
					  .access = (char *)accs[b[2] % 10],
					  .major = {.set = ma != -2, .v = ma},
					  .minor = {.set = mi != -2, .v = mi}};
	}
	bwk_error *err = NULL;
	size_t len = 0;
	if (ocirt_devfilter_build(v, n, prog, cap, &len, &err) == 0) {
		if (len < 2 || len > cap || prog[len - 1].code != (BPF_JMP | BPF_EXIT))
			abort();
		for (size_t i = 0; i < len; i++)
			if ((prog[i].code & 0x07) != BPF_ALU &&
			    (prog[i].code & 0x07) != BPF_ALU64 &&
			    (prog[i].code & 0x07) != BPF_LDX &&
			    prog[i].code != (BPF_JMP | BPF_EXIT) &&
			    (prog[i].off < 0 || i + 1 + (size_t)prog[i].off >= len))
				abort();
		for (uint32_t t = 1; t <= 2; t++)
			for (uint32_t ma = 0; ma < 6; ma++)
				for (uint32_t mi = 0; mi < 6; mi++)
					for (uint32_t a = 1; a < 8; a++)
						if (devfilter_run(prog, len, t, ma, mi, a) !=
						    devfilter_reference(v, n, t, ma, mi, a))
							abort();
	} else if (!err) {
		abort();
	}
	bwk_error_free(err);
	free(v);
	return 0;
}
