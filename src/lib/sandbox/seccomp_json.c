/* The two ways a seccomp policy arrives, both made the one flat profile that
 * sbx_seccomp_build() turns into a filter: Docker's JSON profiles (moby
 * profiles/seccomp/default.json format), so that existing profiles work with `bulwark run
 * --seccomp FILE`, and a runtime spec's linux.seccomp (`bulwark create`). The input is
 * untrusted: bounded size, counts and names; Docker's conditions (caps, arches, minKernel)
 * are evaluated here so that the result is a list of rules for this host. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "bulwark/oci.h"
#include "core/util.h"
#include "sandbox/sandbox_private.h"

#define MAX_PROFILE_BYTES (4u << 20)
#define MAX_RULES	  8192
#define MAX_NAME	  64

static bool native_arch(const char *a)
{
#if defined(__x86_64__)
	return !strcmp(a, "amd64") || !strcmp(a, "x86_64") || !strcmp(a, "SCMP_ARCH_X86_64");
#elif defined(__aarch64__)
	return !strcmp(a, "arm64") || !strcmp(a, "aarch64") || !strcmp(a, "SCMP_ARCH_AARCH64");
#else
	(void)a;
	return false;
#endif
}

/* "5.4" <= running kernel? */
static bool kernel_at_least(const char *v)
{
	struct utsname u;
	if (uname(&u) < 0)
		return false;
	unsigned a = 0, b = 0, x = 0, y = 0;
	if (sscanf(v, "%u.%u", &a, &b) < 1 || sscanf(u.release, "%u.%u", &x, &y) < 1)
		return false;
	return x > a || (x == a && y >= b);
}

static bool caps_contain(json_t *arr, uint64_t caps, bool any)
{
	size_t i;
	json_t *c;
	bool all = true, some = false;
	json_array_foreach(arr, i, c)
	{
		uint64_t m;
		bool has = json_is_string(c) && bwk_cap_from_name(json_string_value(c), &m) == 0 &&
			   (caps & m) == m;
		all = all && has;
		some = some || has;
	}
	return any ? some : all;
}

/* Docker: includes must all hold; excludes must not hold (any listed cap present excludes). */
static bool rule_applies(json_t *rule, uint64_t caps)
{
	json_t *inc = json_object_get(rule, "includes");
	json_t *exc = json_object_get(rule, "excludes");
	size_t i;
	json_t *v;
	if (json_is_object(inc)) {
		json_t *c = json_object_get(inc, "caps");
		if (json_is_array(c) && json_array_size(c) && !caps_contain(c, caps, false))
			return false;
		json_t *ar = json_object_get(inc, "arches");
		if (json_is_array(ar) && json_array_size(ar)) {
			bool ok = false;
			json_array_foreach(ar, i, v) ok =
			    ok || (json_is_string(v) && native_arch(json_string_value(v)));
			if (!ok)
				return false;
		}
		json_t *mk = json_object_get(inc, "minKernel");
		if (json_is_string(mk) && !kernel_at_least(json_string_value(mk)))
			return false;
	}
	if (json_is_object(exc)) {
		json_t *c = json_object_get(exc, "caps");
		if (json_is_array(c) && json_array_size(c) && caps_contain(c, caps, true))
			return false;
		json_t *ar = json_object_get(exc, "arches");
		json_array_foreach(ar, i, v) if (json_is_string(v) &&
						 native_arch(json_string_value(v))) return false;
		json_t *mk = json_object_get(exc, "minKernel");
		if (json_is_string(mk) && kernel_at_least(json_string_value(mk)))
			return false;
	}
	return true;
}

static int push_rule(bwk_seccomp_profile *p, const char *name, uint32_t action,
		     const sbx_seccomp_arg *args, unsigned nargs, bwk_error **err)
{
	if (p->nrules >= MAX_RULES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "more than %d syscall rules", MAX_RULES);
	if (p->nrules == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->rules = xrealloc(p->rules, p->cap * sizeof *p->rules);
	}
	sbx_seccomp_rule *r = &p->rules[p->nrules++];
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	r->action = action;
	r->nargs = nargs;
	memcpy(r->args, args, nargs * sizeof *args);
	return 0;
}

static int parse_rule(bwk_seccomp_profile *p, json_t *rule, size_t idx, uint64_t caps,
		      bwk_error **err)
{
	if (!json_is_object(rule))
		return bwk_error_set(err, BWK_E_INPUT, 0, "syscalls[%zu] is not an object", idx);
	if (!rule_applies(rule, caps))
		return 0;
	json_t *eret = json_object_get(rule, "errnoRet");
	if (eret && (!json_is_integer(eret) || json_integer_value(eret) < 0 ||
		     json_integer_value(eret) > 4095))
		return bwk_error_set(err, BWK_E_INPUT, 0, "syscalls[%zu].errnoRet out of range",
				     idx);
	uint32_t action;
	const char *act = json_string_value(json_object_get(rule, "action"));
	if (sbx_seccomp_action(act, eret != NULL, eret ? (uint32_t)json_integer_value(eret) : 0,
			       &action) < 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "syscalls[%zu]: unsupported action '%s'",
				     idx, act ? act : "(missing)");
	sbx_seccomp_arg args[6];
	unsigned nargs = 0;
	json_t *jargs = json_object_get(rule, "args");
	if (jargs && !json_is_null(jargs)) {
		if (!json_is_array(jargs) || json_array_size(jargs) > 6)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "syscalls[%zu].args: at most 6 conditions", idx);
		size_t i;
		json_t *a;
		json_array_foreach(jargs, i, a)
		{
			json_t *ji = json_object_get(a, "index");
			json_t *jv = json_object_get(a, "value");
			json_t *jv2 = json_object_get(a, "valueTwo");
			int op = sbx_seccomp_op(json_string_value(json_object_get(a, "op")));
			if (!json_is_integer(ji) || json_integer_value(ji) < 0 ||
			    json_integer_value(ji) > 5 || !json_is_integer(jv) || op < 0 ||
			    (jv2 && !json_is_integer(jv2)))
				return bwk_error_set(err, BWK_E_INPUT, 0,
						     "syscalls[%zu].args[%zu]: need index 0-5, "
						     "integer value and a SCMP_CMP_* op",
						     idx, i);
			args[nargs++] = (sbx_seccomp_arg){
			    (unsigned)json_integer_value(ji), (uint64_t)json_integer_value(jv),
			    jv2 ? (uint64_t)json_integer_value(jv2) : 0, op};
		}
	}
	json_t *names = json_object_get(rule, "names");
	json_t *name1 = json_object_get(rule, "name");
	if (json_is_string(name1))
		return push_rule(p, json_string_value(name1), action, args, nargs, err);
	if (!json_is_array(names))
		return bwk_error_set(err, BWK_E_INPUT, 0, "syscalls[%zu] has no names", idx);
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
	{
		const char *s = json_string_value(n);
		if (!s || strlen(s) > MAX_NAME)
			return bwk_error_set(err, BWK_E_INPUT, 0,
					     "syscalls[%zu].names[%zu] invalid", idx, i);
		if (push_rule(p, s, action, args, nargs, err) < 0)
			return -1;
	}
	return 0;
}

static int parse_root(bwk_seccomp_profile *p, json_t *root, uint64_t caps, bwk_error **err)
{
	if (!json_is_object(root))
		return bwk_error_set(err, BWK_E_INPUT, 0, "top level is not an object");
	json_t *eret = json_object_get(root, "defaultErrnoRet");
	if (eret && (!json_is_integer(eret) || json_integer_value(eret) < 0 ||
		     json_integer_value(eret) > 4095))
		return bwk_error_set(err, BWK_E_INPUT, 0, "defaultErrnoRet out of range");
	const char *def = json_string_value(json_object_get(root, "defaultAction"));
	if (sbx_seccomp_action(def, eret != NULL, eret ? (uint32_t)json_integer_value(eret) : 0,
			       &p->default_action) < 0)
		return bwk_error_set(err, BWK_E_INPUT, 0, "unsupported defaultAction '%s'",
				     def ? def : "(missing)");
	json_t *sys = json_object_get(root, "syscalls");
	if (sys && !json_is_array(sys))
		return bwk_error_set(err, BWK_E_INPUT, 0, "syscalls is not an array");
	size_t i;
	json_t *rule;
	json_array_foreach(sys, i, rule) if (parse_rule(p, rule, i, caps, err) < 0) return -1;
	return 0;
}

int bwk_seccomp_profile_parse(const char *data, size_t len, uint64_t caps,
			      bwk_seccomp_profile **out, bwk_error **err)
{
	*out = NULL;
	if (len > MAX_PROFILE_BYTES)
		return bwk_error_set(err, BWK_E_LIMIT, 0, "profile larger than %u bytes",
				     MAX_PROFILE_BYTES);
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return bwk_error_set(err, BWK_E_INPUT, 0, "invalid JSON at line %d: %s", je.line,
				     je.text);
	bwk_seccomp_profile *p = xcalloc(1, sizeof *p);
	int r = parse_root(p, root, caps, err);
	json_decref(root);
	if (r < 0) {
		bwk_seccomp_profile_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

size_t bwk_seccomp_profile_rule_count(const bwk_seccomp_profile *p)
{
	return p ? p->nrules : 0;
}

void bwk_seccomp_profile_free(bwk_seccomp_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		free(p->rules[i].name);
	free(p->rules);
	free(p);
}

/* An action of linux.seccomp: SCMP_ACT_NOTIFY only here, where a listener receives the
 * notifications (oci_seccomp_notify.c); a Docker profile has none to send them to. */
static int spec_action(const char *name, const bwk_oci_u64 *errno_ret, uint32_t *out)
{
	if (name && !strcmp(name, "SCMP_ACT_NOTIFY")) {
		*out = SCMP_ACT_NOTIFY;
		return 0;
	}
	return sbx_seccomp_action(name, errno_ret->set, (uint32_t)errno_ret->v, out);
}

/* linux.seccomp (already validated: bwk_oci_spec_validate) as a profile. Architectures this
 * libseccomp does not know and syscall names unknown here are skipped, as runc does. */
int sbx_seccomp_from_spec(const bwk_oci_seccomp *sc, bwk_seccomp_profile **out, bwk_error **err)
{
	*out = NULL;
	cleanup_with(bwk_seccomp_profile_freep) bwk_seccomp_profile *p = xcalloc(1, sizeof *p);
	if (spec_action(sc->default_action, &sc->default_errno_ret, &p->default_action) < 0)
		return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
				     "linux.seccomp.defaultAction %s: not supported",
				     sc->default_action);
	for (size_t i = 0; i < sc->architectures.n && p->narches < SBX_SECCOMP_MAX_ARCHES; i++) {
		char name[64];
		const char *a = sc->architectures.v[i];
		if (!strncmp(a, "SCMP_ARCH_", 10))
			a += 10;
		size_t k = 0;
		for (; a[k] && k + 1 < sizeof name; k++)
			name[k] = (char)(a[k] >= 'A' && a[k] <= 'Z' ? a[k] + 32 : a[k]);
		name[k] = 0;
		uint32_t arch = seccomp_arch_resolve_name(name);
		if (arch)
			p->arches[p->narches++] = arch;
	}
	for (size_t i = 0; i < sc->n_syscalls; i++) {
		const bwk_oci_syscall *r = &sc->syscalls[i];
		uint32_t action;
		if (spec_action(r->action, &r->errno_ret, &action) < 0)
			return bwk_error_set(err, BWK_E_UNSUPPORTED, 0,
					     "linux.seccomp.syscalls[%zu].action %s: not supported",
					     i, r->action);
		sbx_seccomp_arg args[6];
		unsigned nargs = 0;
		for (size_t k = 0; k < r->n_args && nargs < 6; k++) {
			int op = sbx_seccomp_op(r->args[k].op);
			if (op < 0 || r->args[k].index > 5)
				continue;
			args[nargs++] = (sbx_seccomp_arg){r->args[k].index, r->args[k].value,
							  r->args[k].value_two, op};
		}
		for (size_t k = 0; k < r->names.n; k++)
			if (push_rule(p, r->names.v[k], action, args, nargs, err) < 0)
				return bwk_error_wrap(err, "linux.seccomp.syscalls[%zu]", i);
	}
	*out = steal_pointer(&p);
	return 0;
}
