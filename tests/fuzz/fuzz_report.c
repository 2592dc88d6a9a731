/* libFuzzer target: hostile strings (paths, evidence, secrets from images) through findings
 * and every report writer. Each output must stay valid JSON and never contain the secret. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/finding.h"
#include "bulwark/report.h"

static const bwk_rule rule = {"fuzz-rule", BWK_CAT_SECRET, BWK_SEV_HIGH, "t", "d", "r", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	/* split input into path \0 evidence \0 secret */
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *path = buf;
	char *ev = path + strlen(path) + 1;
	if (ev > buf + size)
		ev = buf + size;
	char *sec = ev + strlen(ev) + 1;
	if (sec > buf + size)
		sec = buf + size;
	size_t seclen = (size_t)(buf + size - sec);
	bwk_findings *f = bwk_findings_new();
	bwk_findings *plain = bwk_findings_new(); /* the same without the secret */
	bwk_finding_spec s = {
	    .rule = &rule,
	    .loc = {.path = path, .key = ev, .layer_index = data[0] % 4 - 1, .line = data[1]},
	    .evidence = ev,
	    .severity = -1};
	bwk_findings_add(f, &s, NULL);
	bwk_findings_add(plain, &s, NULL);
	s.evidence = NULL;
	s.secret = sec;
	s.secret_len = seclen;
	bwk_findings_add(f, &s, NULL);
	bwk_findings_sort(f);
	for (int fmt = 0; fmt < 3; fmt++) {
		bwk_report_opts o = {.format = (bwk_format)fmt, .command = "scan", .target = path};
		char *out = NULL, *skel = NULL;
		if (bwk_report_render(plain, &o, &skel, NULL) < 0)
			skel = NULL;
		if (bwk_report_render(f, &o, &out, NULL) == 0) {
			if (fmt != BWK_FORMAT_TEXT) {
				json_t *j = json_loads(out, 0, NULL);
				if (!j)
					abort();
				json_decref(j);
			}
			/* a long secret must never appear whole (unless the input also gave it
			 * as the non-secret path or evidence, which are shown as they are, or it
			 * is text of the report itself, such as a run of indentation) */
			if (seclen >= 16 && !memchr(sec, '\0', seclen) && strstr(out, sec) &&
			    !strstr(path, sec) && !strstr(ev, sec) && !(skel && strstr(skel, sec)))
				abort();
			free(out);
		}
		free(skel);
	}
	bwk_findings_free(f);
	bwk_findings_free(plain);
	free(buf);
	return 0;
}
