#ifndef BWK_SCAN_PRIVATE_H
#define BWK_SCAN_PRIVATE_H
#ifndef BWK_IN_SCAN
#error "scan_private.h is private to src/lib/scan"
#endif
#include "bulwark/scan.h"

/* A rule that looks at one walker entry (metadata only: mode, type, path). Content rules
 * (secrets, malware) read bytes and join as their own table. */
typedef struct bwk_entry_rule {
	const bwk_rule *rule;
	/* Return 1 to report a finding at the entry, 0 for none, <0 on error. `detail` may be set
	 * to a static or heap string (heap when *detail_owned). */
	int (*check)(const bwk_entry *e, char **detail, bool *detail_owned);
} bwk_entry_rule;

/* Hygiene rules (rules_hygiene.c), NULL-terminated. */
extern const bwk_entry_rule *const bwk_hygiene_rules[];

struct bwk_scanner {
	bwk_scan_opts opts;
	bwk_findings *out;
	bwk_visitor visitor;
};

/* Report one entry-level finding with the standard location fields. */
int bwk_scan_report_entry(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			  const char *message, bwk_error **err);
#endif
