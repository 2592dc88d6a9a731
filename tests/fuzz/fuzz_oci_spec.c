/* libFuzzer target: the OCI runtime-spec parser (config.json of a bundle), the validator, the
 * process check of exec --process (never stricter than the spec's), the
 * lowering to the sandbox's description (mount options: tmpfs size=, mode= …), the
 * scheduler, I/O priority, persona and seccomp flags as the kernel's numbers, and the
 * serialiser's round trip: whatever parses must serialise, parse again and serialise to
 * the same text (a difference aborts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
	memcpy(buf, data, size);
	bwk_oci_spec *s = NULL;
	bwk_error *err = NULL;
	if (bwk_oci_spec_parse("config.json", buf, size, &s, &err) < 0) {
		bwk_error_free(err);
		free(buf);
		return 0;
	}
	free(buf);
	/* exec --process's check: the process part of the spec's, so never stricter */
	int pv = s->has_process ? bwk_oci_process_validate("process.json", &s->process, &err) : 0;
	bwk_error_free(err);
	err = NULL;
	if (bwk_oci_spec_validate("config.json", s, &err) < 0) {
		bwk_error_free(err);
		err = NULL;
	} else { /* what validates lowers to the kernel's numbers */
		if (pv < 0)
			abort();
		bwk_oci_sched_attr sa;
		if ((s->process.scheduler.set &&
		     bwk_oci_sched_lower(&s->process.scheduler, &sa) < 0) ||
		    (s->process.io_priority.set &&
		     bwk_oci_ioprio_lower(&s->process.io_priority) < 0) ||
		    (s->linux_.personality.set && bwk_oci_personality_lower(&s->linux_) < 0) ||
		    (s->linux_.seccomp.set && bwk_oci_seccomp_flags_lower(&s->linux_.seccomp) < 0))
			abort();
	}
	bwk_oci_lowered low;
	if (bwk_oci_spec_lower(s, &low, &err) == 0)
		bwk_oci_lowered_free(&low);
	bwk_error_free(err);
	err = NULL;
	char *a = bwk_oci_spec_serialise(s, false, &err);
	if (!a)
		abort(); /* a parsed spec always has what the serialiser needs */
	bwk_oci_spec *s2 = NULL;
	if (bwk_oci_spec_parse("again", a, strlen(a), &s2, &err) < 0)
		abort();
	char *b = bwk_oci_spec_serialise(s2, false, &err);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	bwk_oci_spec_free(s2);
	bwk_oci_spec_free(s);
	return 0;
}
