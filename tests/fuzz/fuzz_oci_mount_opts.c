/* libFuzzer target: a mount's options (config.json mounts[].options, untrusted) through the
 * one parser create and run share (oci/mount_opts.c). Input: the type on the first line, then
 * one option a line. What it accepts must stay within its bounds: a NUL-terminated data string
 * shorter than BWK_OCI_MOUNT_DATA_MAX that holds no advertised option, one propagation type. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "bulwark/oci.h"

#define MAX_OPTS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	char *opts[MAX_OPTS + 1] = {0};
	size_t n = 0;
	char *save = NULL;
	bool commas = memchr(data, ',', size) != NULL; /* one option may hold several */
	char *type = strtok_r(text, "\n", &save);
	for (char *line = strtok_r(NULL, "\n", &save); line && n < MAX_OPTS;
	     line = strtok_r(NULL, "\n", &save))
		opts[n++] = line;
	bwk_oci_mount m = {
	    .destination = (char *)"/fuzz", .type = type, .options = {.v = opts, .n = n}};
	bwk_oci_mount_opts o;
	bwk_error *err = NULL;
	if (bwk_oci_mount_opts_parse(&m, 0, &o, &err) == 0) {
		size_t dl = strnlen(o.data, sizeof o.data);
		if (dl >= sizeof o.data)
			abort();
		unsigned long p = o.prop & ~(unsigned long)MS_REC;
		if (p && p != MS_PRIVATE && p != MS_SHARED && p != MS_SLAVE && p != MS_UNBINDABLE)
			abort();
		if (o.flags & o.cleared)
			abort();
		for (const char *const *k = bwk_oci_mount_options_known; !commas && *k; k++) {
			const char *hit = strstr(o.data, *k);
			size_t kl = strlen(*k);
			if (hit && (hit == o.data || hit[-1] == ',') &&
			    (hit[kl] == 0 || hit[kl] == ','))
				abort();
		}
	}
	bwk_error_free(err);
	free(text);
	return 0;
}
