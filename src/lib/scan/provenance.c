/* Where a finding came from: the build step that added the file (and the one that removed it),
 * from the image config's history aligned with the layers. Each history entry that is not an
 * `empty_layer` made exactly one layer, bottom first; when the counts disagree (history
 * squashed, edited or missing) nothing is said rather than a wrong step named.
 *
 * The step is shown as the Dockerfile instruction, whichever builder wrote it:
 *   classic  "/bin/sh -c #(nop) COPY dir:ab… in /app"   → "COPY dir:ab… in /app"
 *            "/bin/sh -c apt-get update"                → "RUN apt-get update"
 *            "|1 TOKEN=… /bin/sh -c make"               → "RUN make" (build args never shown)
 *   BuildKit "COPY . /app # buildkit"                   → "COPY . /app" */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bulwark/image.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/scan_private.h"

#define STEP_TEXT_MAX 100 /* characters of an instruction shown in a report */

const char *bwk_history_skip_args(const char *p, unsigned *nargs)
{
	*nargs = 0;
	if (*p != '|' || !isdigit((unsigned char)p[1]))
		return p;
	char *end = NULL;
	unsigned long n = strtoul(p + 1, &end, 10);
	if (*end != ' ' || n > 1000)
		return p;
	p = end + 1;
	for (unsigned long i = 0; i < n && *p; i++) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	*nargs = (unsigned)n;
	return p;
}

char *bwk_history_step_text(const char *created_by, size_t max)
{
	if (!created_by)
		return NULL;
	const char *p = created_by + strspn(created_by, " \t");
	bool run = false;
	unsigned nargs;
	if (!strncmp(p, "RUN ", 4)) {
		p += 4;
		run = true;
	}
	const char *q = bwk_history_skip_args(p, &nargs);
	if (q != p) {
		p = q;
		run = true;
	}
	if (!strncmp(p, "/bin/sh -c ", 11)) {
		p += 11;
		run = true;
		if (!strncmp(p, "#(nop) ", 7)) {
			p += 7 + strspn(p + 7, " ");
			run = false;
		}
	}
	size_t n = strlen(p);
	static const char bk[] = " # buildkit";
	if (n >= sizeof(bk) - 1 && !strcmp(p + n - (sizeof(bk) - 1), bk))
		n -= sizeof(bk) - 1;
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, max + 16);
	if (run)
		bwk_strbuf_append(&sb, "RUN ");
	/* runs of blanks and newlines (heredocs, line continuations) read as one space */
	bool space = false;
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (isspace(ch) || ch < 0x20) {
			space = shown > 0;
			continue;
		}
		if (shown + space >= max) {
			bwk_strbuf_append(&sb, "…");
			break;
		}
		if (space) {
			bwk_strbuf_append(&sb, " ");
			shown++;
			space = false;
		}
		bwk_strbuf_appendn(&sb, p + i, 1);
		shown++;
	}
	return bwk_strbuf_steal(&sb);
}

long bwk_history_layer_step(const bwk_image_config *c, int layer_index)
{
	if (!c || layer_index < 0)
		return -1;
	size_t nlayers = 0, layers_in_history = 0;
	while (c->diff_ids && c->diff_ids[nlayers])
		nlayers++;
	for (size_t i = 0; i < c->nhistory; i++)
		layers_in_history += !c->history[i].empty_layer;
	if (layers_in_history != nlayers || (size_t)layer_index >= nlayers)
		return -1;
	int k = 0;
	for (size_t i = 0; i < c->nhistory; i++) {
		if (c->history[i].empty_layer)
			continue;
		if (k++ == layer_index)
			return (long)i;
	}
	return -1;
}

char *bwk_provenance_step(const bwk_image_config *c, int layer_index)
{
	long i = bwk_history_layer_step(c, layer_index);
	if (i < 0)
		return NULL;
	cleanup_free char *text = bwk_history_step_text(c->history[i].created_by, STEP_TEXT_MAX);
	return xasprintf("%s (step %ld of %zu)", text && *text ? text : "(no instruction recorded)",
			 i + 1, c->nhistory);
}

void bwk_scan_provenance(const bwk_image *img, bwk_findings *f)
{
	const bwk_image_config *c = img ? bwk_image_get_config(img) : NULL;
	if (!c)
		return;
	for (size_t i = 0; i < bwk_findings_count(f); i++) {
		const bwk_finding *x = bwk_findings_get(f, i);
		if (x->layer_index < 0 || x->added_by)
			continue;
		cleanup_free char *added = bwk_provenance_step(c, x->layer_index);
		if (!added)
			continue;
		cleanup_free char *removed = NULL;
		if (x->path) {
			/* a member of a nested archive lives and dies with the archive */
			const char *bang = strstr(x->path, "!/");
			cleanup_free char *path =
			    xstrndup(x->path, bang ? (size_t)(bang - x->path) : strlen(x->path));
			int hidden_by = -1;
			bwk_visibility vis =
			    bwk_image_visibility(img, x->layer_index, path, &hidden_by);
			if ((vis == BWK_HIDDEN || vis == BWK_REPLACED) && hidden_by >= 0)
				removed = bwk_provenance_step(c, hidden_by);
		}
		bwk_findings_set_provenance(f, i, added, removed);
	}
}
