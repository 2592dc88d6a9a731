/* libFuzzer target: the image document parsers (docker manifest.json, OCI index, OCI
 * manifest, image config). The first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_IMAGE
#include "image/image_private.h"
#include "bulwark/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* exact-size copy so that ASan sees any overread */
	size_t n = size - 1;
	char *buf = malloc(n ? n : 1);
	memcpy(buf, data + 1, n);
	bwk_error *err = NULL;
	switch (data[0] % 4) {
	case 0: {
		docker_manifest *m = NULL;
		size_t cnt = 0;
		if (bwk_parse_docker_manifest(buf, n, &m, &cnt, &err) == 0)
			docker_manifests_free(m, cnt);
		break;
	}
	case 1: {
		img_desc *d = NULL;
		size_t cnt = 0;
		if (bwk_parse_oci_index(buf, n, &d, &cnt, &err) == 0)
			img_descs_free(d, cnt);
		break;
	}
	case 2: {
		img_desc cfg = {0}, *layers = NULL;
		size_t nl = 0;
		if (bwk_parse_oci_manifest(buf, n, &cfg, &layers, &nl, &err) == 0) {
			img_desc_free(&cfg);
			img_descs_free(layers, nl);
		}
		break;
	}
	default: {
		img_config c;
		if (bwk_parse_config(buf, n, &c, &err) == 0) {
			/* touch every string the scanner will read */
			size_t total = strlen(c.pub.user) + strlen(c.pub.workdir);
			/* `bulwark run` turns StopSignal into a signal number */
			if (c.pub.stop_signal)
				total += (size_t)(bwk_signal_from_name(c.pub.stop_signal) + 1);
			for (const char *const *p = c.pub.env; *p; p++)
				total += strlen(*p);
			for (const char *const *p = c.pub.exposed_ports; *p; p++)
				total += strlen(*p);
			for (size_t i = 0; i < c.pub.nhistory; i++)
				total += c.pub.history[i].created_by
					     ? strlen(c.pub.history[i].created_by)
					     : 0;
			(void)total;
		}
		img_config_free(&c);
		break;
	}
	}
	bwk_error_free(err);
	free(buf);
	return 0;
}
