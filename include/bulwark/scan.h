/* bulwark — the scanner: feeds walker entries (and, for images, the image config) to the
 * registered rule tables and collects findings. */
#ifndef BULWARK_SCAN_H
#define BULWARK_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "bulwark/error.h"
#include "bulwark/finding.h"
#include "bulwark/walk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bwk_scan_opts {
	const char *target;	/* as the user named it; recorded in every finding */
	unsigned threads;	/* workers for parallel layer walks; 0 = number of CPUs */
	bool one_walk;		/* one layer at a time (bwk_image_opts.one_walk) */
	bool quiet;		/* no progress on stderr */
	const char *rules_file; /* optional user rules YAML (docs/rules-secrets.md) */
	const char *platform;	/* "os/arch[/variant]" from a multi-platform index; NULL: host's */
	bool inventory_only;	/* list packages only: no secret, file or config rules (sbom) */
	/* optional out: the installed packages of the merged filesystem (bulwark/inventory.h);
	 * the caller frees it with bwk_inventory_free */
	struct bwk_inventory **inventory;
	/* known vulnerabilities of the inventory (bulwark/vuln.h): the database (NULL: the
	 * default, $XDG_CACHE_HOME/bulwark/vuln.db; none there: one warning, other checks run) */
	const char *vuln_db;
	bool ignore_unfixed; /* no finding for advisories without a fixed version */
	int max_db_age_days; /* warn when the database's newest import is older; 0: 7, <0: never */
	/* malware (YARA): on unless no_malware; yara_dir adds the .yar and .yara files of a
	 * directory to the bundled rules; each file is scanned in its first max_file_size bytes
	 * (0: BWK_SCAN_MAX_FILE_SIZE) */
	bool no_malware;
	/* no package inventory and no vulnerability matching (the check is recorded as skipped);
	 * not with inventory_only */
	bool no_vuln;
	const char *yara_dir;
	uint64_t max_file_size;
	/* registry targets: credentials, CA, insecure hosts, timeout (bulwark/registry.h);
	 * NULL: the defaults. Borrowed. */
	const struct bwk_registry_opts *registry;
	/* optional: the secret and YARA rules compiled once (bwk_scan_compiled_new with these same
	 * options) for several scans; borrowed, must outlive them. NULL: the scan compiles its own
	 */
	struct bwk_scan_compiled *compiled;
	/* optional: the verified layers of a run of several scans (bwk_image_opts.layers);
	 * borrowed. bwk_scan_many makes one for all its targets. */
	struct bwk_layer_memo *layers;
} bwk_scan_opts;

#define BWK_SCAN_MAX_FILE_SIZE	     (64ull << 20)
#define BWK_SCAN_MAX_FILE_SIZE_LIMIT (1ull << 30) /* the largest --max-file-size: buffered */

typedef struct bwk_scanner bwk_scanner;

/* The compiled secret rules (built-in and opts->rules_file) and YARA rules (bundled and
 * opts->yara_dir; none with no_malware) of `opts`, to be shared by scans running at the same
 * time on several threads: each scan keeps its own matching state. bwk_scan_many makes one for
 * all its targets. */
typedef struct bwk_scan_compiled bwk_scan_compiled;
int bwk_scan_compiled_new(const bwk_scan_opts *opts, bwk_scan_compiled **out, bwk_error **err);
void bwk_scan_compiled_free(bwk_scan_compiled *r);
BWK_DEFINE_CLEANUP(bwk_scan_compiled *, bwk_scan_compiled_free)

/* Create a scanner that adds to `out` (borrowed; must outlive the scanner). */
int bwk_scanner_new(const bwk_scan_opts *opts, bwk_findings *out, bwk_scanner **s, bwk_error **err);
void bwk_scanner_free(bwk_scanner *s);
BWK_DEFINE_CLEANUP(bwk_scanner *, bwk_scanner_free)

/* The visitor to hand to a reader. Valid as long as the scanner. */
const bwk_visitor *bwk_scanner_visitor(bwk_scanner *s);

/* Scan TARGET: a root filesystem directory (more image forms join through src/lib/image). */
int bwk_scan_target(const char *target, const bwk_scan_opts *opts, bwk_findings *out,
		    bwk_error **err);

/* Scan an image the caller has open (bwk_image_open), borrowed: the scan reads the bytes of
 * that one handle, so a caller that goes on to use it (bwk_image_cache_layers, unpack) uses
 * exactly what was scanned, whatever happens to the path meanwhile (bulwark run --scan).
 * The handle's verify mode applies: BWK_VERIFY_REPORT turns digest mismatches into findings,
 * BWK_VERIFY_STRICT makes the first one end the scan with an error. opts->target names the
 * image in the findings. The image may be walked again afterwards. */
typedef struct bwk_image bwk_image; /* bulwark/image.h */
int bwk_scan_image(bwk_image *img, const bwk_scan_opts *opts, bwk_findings *out, bwk_error **err);

/* Scan `n` targets (bwk_scan_target each, opts->target replaced by the target) on `jobs`
 * worker threads (0: one per CPU) into `out`, merged in the targets' order; each finding
 * names its target. errors[i] (array of n, zeroed by the caller) receives the one-line error
 * of a target that could not be scanned (caller frees); the other targets are scanned all the
 * same. Fails when n exceeds BWK_SCAN_MANY_MAX or the rules (secret, YARA) do not compile. */
#define BWK_SCAN_MANY_MAX 100000u
int bwk_scan_many(const char *const *targets, size_t n, const bwk_scan_opts *opts, unsigned jobs,
		  bwk_findings *out, char **errors, bwk_error **err);

/* The built-in file, image config and integrity rules (not the secret rules, which come from a
 * YAML document): stores up to `max` pointers in `out` (may be NULL), returns the total. */
size_t bwk_scan_rules(const bwk_rule **out, size_t max);

/* Every rule a scan with `rules_file` (NULL: none) can report: the built-in rules above plus
 * the secret rules (bwk_secrets_rule_list: parsed, not compiled). *out is the caller's. */
int bwk_scan_rule_list(const char *rules_file, bwk_rule_list **out, bwk_error **err);

/* Add the YARA rules of the malware scan to `l`: the bundled ones and those of `yara_dir`
 * (NULL: none), each a rule of its own ("malware-eicar-test-file"). Compiles them: libyara is
 * loaded here. */
int bwk_scan_malware_rule_list(const char *yara_dir, bwk_rule_list *l, bwk_error **err);

#ifdef __cplusplus
}
#endif
#endif
