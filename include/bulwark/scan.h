/* bulwark — the scanner: feeds walker entries (and, for images, the image config) to the
 * registered rule tables and collects findings. */
#ifndef BULWARK_SCAN_H
#define BULWARK_SCAN_H

#include <stdbool.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"
#include "bulwark/walk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bwk_scan_opts {
	const char *target;	/* as the user named it; recorded in every finding */
	unsigned threads;	/* workers for parallel layer walks; 0 = number of CPUs */
	bool quiet;		/* no progress on stderr */
	const char *rules_file; /* optional user rules YAML (docs/rules-secrets.md) */
	const char *platform;	/* "os/arch[/variant]" from a multi-platform index; NULL: host's */
} bwk_scan_opts;

typedef struct bwk_scanner bwk_scanner;

/* Create a scanner that adds to `out` (borrowed; must outlive the scanner). */
int bwk_scanner_new(const bwk_scan_opts *opts, bwk_findings *out, bwk_scanner **s, bwk_error **err);
void bwk_scanner_free(bwk_scanner *s);

/* The visitor to hand to a reader. Valid as long as the scanner. */
const bwk_visitor *bwk_scanner_visitor(bwk_scanner *s);

/* Scan TARGET: a root filesystem directory (more image forms join through src/lib/image). */
int bwk_scan_target(const char *target, const bwk_scan_opts *opts, bwk_findings *out,
		    bwk_error **err);

/* The built-in rule metadata of every scan rule (for docs and `bulwark rules`); NULL-terminated. */
const bwk_rule *const *bwk_scan_rules(void);

#ifdef __cplusplus
}
#endif
#endif
