#include <string.h>

#include "bulwark/finding.h"
#include "core/util.h"

/* Never print a secret: keep at most the first 4 and last 2 characters, which is enough for a
 * human to recognise which key it is (and matches what gitleaks/GitHub show) but far too little
 * to use it. Short secrets keep less, because 6 known characters of a 10-char password is most
 * of it. */
char *bwk_redact(const char *secret, size_t len)
{
	size_t head = 4, tail = 2;
	if (len < 8) {
		head = 0;
		tail = 0;
	} else if (len < 12) {
		head = 2;
		tail = 0;
	}
	bwk_strbuf sb;
	bwk_strbuf_init(&sb, 256);
	for (size_t i = 0; i < head; i++) {
		unsigned char c = (unsigned char)secret[i];
		if (c < 0x21 || c > 0x7e)
			bwk_strbuf_append(&sb, "?");
		else
			bwk_strbuf_appendn(&sb, (const char *)&c, 1);
	}
	bwk_strbuf_printf(&sb, "…(%zu)…", len);
	for (size_t i = len - tail; i < len; i++) {
		unsigned char c = (unsigned char)secret[i];
		if (c < 0x21 || c > 0x7e)
			bwk_strbuf_append(&sb, "?");
		else
			bwk_strbuf_appendn(&sb, (const char *)&c, 1);
	}
	return bwk_strbuf_steal(&sb);
}
