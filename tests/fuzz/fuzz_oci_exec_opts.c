/* libFuzzer target: runc exec's process options (the command line, untrusted as any caller's)
 * over a container's process (sandbox/oci_exec_opts.c). Input: lines, each a letter and a
 * value: u --user, c --cwd, e --env, k --cap, a --apparmor; a first byte 'I' gives the config
 * inheritable capabilities. What it accepts must keep the process sane: env entries
 * NAME=VALUE, capabilities "CAP_…" and never ambient without inheritable ones. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SANDBOX
#include "sandbox/oci_rt_private.h"

#define MAX_LIST 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	const char *env[MAX_LIST + 1] = {0}, *caps[MAX_LIST + 1] = {0};
	size_t ne = 0, nc = 0;
	bwk_oci_exec_opts o = {0};
	bool inh = size && text[0] == 'I';
	char *save = NULL;
	for (char *line = strtok_r(text + (inh ? 1 : 0), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *v = line + 1;
		switch (line[0]) {
		case 'u':
			o.user = v;
			break;
		case 'c':
			o.cwd = v;
			break;
		case 'a':
			o.apparmor = v;
			break;
		case 'e':
			if (ne < MAX_LIST)
				env[ne++] = v;
			break;
		case 'k':
			if (nc < MAX_LIST)
				caps[nc++] = v;
			break;
		default:
			break;
		}
	}
	o.env = env;
	o.caps = caps;
	const char *doc = inh ? "{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":"
				"\"/\",\"capabilities\":{\"inheritable\":[\"CAP_KILL\"]}}}"
			      : "{\"ociVersion\":\"1.2.0\",\"process\":{\"args\":[\"sh\"],\"cwd\":"
				"\"/\"}}";
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	if (bwk_oci_spec_parse("fuzz", doc, strlen(doc), &s, &err) < 0)
		abort();
	if (ocirt_exec_overrides(&s->process, &o, &err) == 0) {
		const bwk_oci_process *p = &s->process;
		for (size_t i = 0; i < p->env.n; i++)
			if (!strchr(p->env.v[i], '=') || p->env.v[i][0] == '=')
				abort();
		for (size_t i = 0; i < p->caps.bounding.n; i++)
			if (strncmp(p->caps.bounding.v[i], "CAP_", 4))
				abort();
		if ((!inh && p->caps.ambient.n) || (p->cwd && p->cwd[0] != '/'))
			abort();
	}
	bwk_error_free(err);
	bwk_oci_spec_free(s);
	free(text);
	return 0;
}
