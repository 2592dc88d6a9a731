/* libFuzzer target: the config rules' parsers of image content, /etc/passwd and /etc/shadow
 * (rules_accounts.c) and history build steps (rules_history.c, provenance.c). The input is
 * split at 0xff bytes into passwd, shadow, a history created_by and a USER; every config and
 * account rule runs on them. Invariant: a step's text is bounded as promised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BWK_IN_SCAN
#include "bulwark/image.h"
#include "scan/scan_private.h"

static int on_config(void *h, const char *key, const char *msg, int sev, bwk_error **err)
{
	(void)h, (void)key, (void)msg, (void)sev, (void)err;
	return 0;
}

static int on_final(void *h, const bwk_location *loc, const char *msg, int sev, bwk_error **err)
{
	(void)h, (void)loc, (void)msg, (void)sev, (void)err;
	return 0;
}

/* The next part, copied to a buffer of exactly its size (+ NUL) so ASan sees over-reads. */
static char *part(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *cut = memchr(*p, 0xff, (size_t)(end - *p));
	size_t n = cut ? (size_t)(cut - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*len = n;
	*p = cut ? cut + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	size_t npw, nsh, nhist, nuser;
	char *pw = part(&p, end, &npw), *sh = part(&p, end, &nsh), *hist = part(&p, end, &nhist),
	     *user = part(&p, end, &nuser);
	bwk_cfgscan *cs = bwk_cfgscan_new();
	bwk_entry e = {.path = "etc/passwd", .type = BWK_ENTRY_FILE, .size = npw};
	bwk_cfgscan_content(cs, &e, pw, npw);
	e.path = "etc/shadow";
	bwk_cfgscan_content(cs, &e, sh, nsh);
	static const char *const none[] = {NULL};
	bwk_history_entry h = {.created_by = hist};
	bwk_image_config c = {.user = user,
			      .env = none,
			      .cmd = none,
			      .entrypoint = none,
			      .exposed_ports = none,
			      .volumes = none,
			      .label_keys = none,
			      .label_values = none,
			      .healthcheck = none,
			      .diff_ids = none,
			      .history = &h,
			      .nhistory = 1};
	bwk_error *err = NULL;
	for (const bwk_config_rule *const *r = bwk_config_rules; *r; r++) {
		if ((*r)->config)
			(*r)->config(&c, on_config, NULL, &err);
		if ((*r)->final)
			(*r)->final(cs, &c, on_final, NULL, &err);
	}
	char *t = bwk_history_step_text(hist, 20);
	if (t && strlen(t) > 4 + 20 + 3)
		abort();
	free(t);
	bwk_cfgscan_free(cs);
	free(pw);
	free(sh);
	free(hist);
	free(user);
	return 0;
}
