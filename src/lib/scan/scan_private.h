#ifndef BWK_SCAN_PRIVATE_H
#define BWK_SCAN_PRIVATE_H
#ifndef BWK_IN_SCAN
#error "scan_private.h is private to src/lib/scan"
#endif
#include <pthread.h>

#include "bulwark/image.h"
#include "bulwark/scan.h"
#include "bulwark/secrets.h"

/* The secret detector's part of the scanner (secrets_file.c). */
typedef struct bwk_secscan bwk_secscan;
int bwk_secscan_new(bwk_scanner *s, bwk_secscan **out, bwk_error **err);
void bwk_secscan_free(bwk_secscan *sc);
size_t bwk_secscan_rule_count(const bwk_secscan *sc);
/* Scan a regular file's content (streamed; archives inside are opened). */
int bwk_secscan_entry(bwk_secscan *sc, const bwk_entry *e, bwk_error **err);
/* Scan the image config: Env, Labels, Entrypoint/Cmd, history created_by. */
int bwk_secscan_config(bwk_secscan *sc, const bwk_image_config *cfg, bwk_error **err);
/* The layer being walked, for progress. */
void bwk_secscan_layer(bwk_secscan *sc, int layer_index);

/* ---- image best practices (category config): one table, rules_config.c ------------------
 * Each row is a rule (id, severity, risk, fix, references) and exactly one check:
 *  - entry:  metadata of one walker entry (mode, owner, path); may keep notes in the config
 *            scan state for `final` (thread-safe, layers are walked in parallel);
 *  - config: the image config, build history included (images only);
 *  - final:  after the walk, on what the walk collected (accounts of the merged filesystem,
 *            file owners, package caches) and the config (NULL for a root filesystem). */
typedef struct bwk_cfgscan bwk_cfgscan; /* config_scan.c */

/* What an entry check found: a detail message (heap when `owned`) and a severity override
 * (-1: the rule's). The finding is at the entry. */
typedef struct bwk_cfg_hit {
	char *detail;
	bool owned;
	int severity;
} bwk_cfg_hit;

/* A config check reports one finding at a config key ("config.User") with an optional detail;
 * `severity` -1 is the rule's. */
typedef int (*bwk_config_hit_fn)(void *hctx, const char *key, const char *message, int severity,
				 bwk_error **err);
/* A final check reports at a location (path, layer) with an optional detail. */
typedef int (*bwk_final_hit_fn)(void *hctx, const bwk_location *loc, const char *message,
				int severity, bwk_error **err);

typedef struct bwk_config_rule {
	bwk_rule rule; /* the rule, declared with BWK_RULE */
	/* 1: a finding (h filled), 0: none */
	int (*entry)(bwk_cfgscan *cs, const bwk_entry *e, bwk_cfg_hit *h);
	int (*config)(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
		      bwk_error **err);
	int (*final)(bwk_cfgscan *cs, const bwk_image_config *c, bwk_final_hit_fn hit, void *hctx,
		     bwk_error **err);
} bwk_config_rule;
/* Every config rule, NULL-terminated (rules_config.c). */
extern const bwk_config_rule *const bwk_config_rules[];

/* The state the config rules keep during a walk (config_scan.c). */
bwk_cfgscan *bwk_cfgscan_new(void);
void bwk_cfgscan_free(bwk_cfgscan *cs);
/* Whether the content of entry `e` is wanted (account files): then the scanner hands its
 * bytes to bwk_cfgscan_content. */
bool bwk_cfgscan_wants(const bwk_entry *e);
void bwk_cfgscan_content(bwk_cfgscan *cs, const bwk_entry *e, const char *buf, size_t len);
/* Run every rule's entry check on `e`; findings through bwk_scan_report. */
int bwk_cfgscan_entry(bwk_cfgscan *cs, bwk_scanner *s, const bwk_entry *e, bwk_error **err);
/* After the walk: the final checks (c NULL: a root filesystem directory). */
int bwk_cfgscan_finish(bwk_cfgscan *cs, bwk_scanner *s, const bwk_image_config *c, bwk_error **err);

/* Accounts of the merged filesystem (rules_accounts.c): /etc/passwd joined with /etc/shadow. */
typedef struct bwk_account {
	char *name;
	long uid, gid;
	char *hash;  /* the password field: shadow's when the account has a line there */
	char *shell; /* "" when none */
	bool in_shadow;
} bwk_account;
typedef struct bwk_accounts {
	bwk_account *v;
	size_t n;
} bwk_accounts;
#define BWK_ACCOUNTS_MAX 65536 /* lines read from one passwd file */
/* Parse passwd (required) and shadow (may be NULL): malformed lines are skipped. */
void bwk_accounts_parse(bwk_accounts *a, const char *passwd, size_t plen, const char *shadow,
			size_t slen);
void bwk_accounts_free(bwk_accounts *a);
const bwk_account *bwk_accounts_by_name(const bwk_accounts *a, const char *name);
const bwk_account *bwk_accounts_by_uid(const bwk_accounts *a, long uid);
/* The accounts collected by the walk, NULL when the image has no /etc/passwd; where the
 * passwd and shadow files were found (path NULL when absent). */
const bwk_accounts *bwk_cfgscan_accounts(bwk_cfgscan *cs, bwk_location *passwd_loc,
					 bwk_location *shadow_loc);
/* Owners without an account: each uid seen on entries, with the first entry of each. */
typedef struct bwk_owner_note {
	uint32_t uid;
	uint64_t count;
	bwk_location first; /* strings owned by the config scan */
} bwk_owner_note;
size_t bwk_cfgscan_owners(bwk_cfgscan *cs, const bwk_owner_note **out);
/* True the first time `key` is seen in layer `layer_index` (one finding per cache and layer). */
bool bwk_cfgscan_once(bwk_cfgscan *cs, const char *key, int layer_index);
/* Whether a setuid/setgid file at `path` is one of the known-needed ones (data/setuid-known.json).
 */
bool bwk_setuid_known(const char *path);

extern const bwk_rule bwk_rule_layer_digest;
extern const bwk_rule bwk_rule_secret_scan;
extern const bwk_rule bwk_rule_scan_incomplete;
extern const bwk_rule bwk_rule_scan_failed; /* scan_many.c */
/* The order in which bwk_scan_many's workers take targets: their indices by size, largest
 * first; equal sizes keep list order (scan_many.c). */
void bwk_scan_order(const uint64_t *sizes, size_t n, size_t *order);

/* ---- one read of a file for the checks that need it whole (content.c) -------------------- */
typedef struct bwk_content bwk_content;
/* The bytes read and an entry (`e`) that serves them again, then the rest of the file. */
typedef struct bwk_tee {
	bwk_entry e;
	const bwk_entry *under;
	const char *buf;
	size_t len, off;
	bool partial; /* the file is longer than buf */
} bwk_tee;
bwk_content *bwk_content_new(void);
void bwk_content_free(bwk_content *c);
/* Read the first min(size, max) bytes of regular file `e` into the calling worker's buffer
 * (valid until its next call) and set up `tee`. */
int bwk_content_read(bwk_content *c, const bwk_entry *e, uint64_t max, bwk_tee *tee,
		     bwk_error **err);

/* ---- malware: YARA over file contents (malware.c) ------------------------------------------- */
typedef struct bwk_malscan bwk_malscan;
/* Compile the bundled rules (rules/yara/) and those of `yara_dir` (may be NULL) once. */
int bwk_malscan_new(const char *yara_dir, bwk_malscan **out, bwk_error **err);
/* A scan of its own (files, streams, statistics) over the compiled rules of `compiled`, which
 * must outlive it: YARA's rules and the prefilter database are read-only while scanning, each
 * walking thread has its own YR_SCANNER and Hyperscan scratch. */
/* The compiled secret rules of `r` (NULL: none, or no r): scans borrow them. */
bwk_secrets *bwk_scan_compiled_secrets(const bwk_scan_compiled *r);
int bwk_malscan_share(const bwk_malscan *compiled, bwk_malscan **out, bwk_error **err);
void bwk_malscan_free(bwk_malscan *m);
size_t bwk_malscan_rule_count(const bwk_malscan *m);
const bwk_rule *bwk_malscan_rule(const bwk_malscan *m, size_t i); /* NULL past the end */
/* Stream regular file `e` through YARA as it is read: *tee is an entry (valid until
 * bwk_malscan_end) that serves e's bytes and hands the first `max` of them to YARA on the way;
 * the caller reads it as it would `e` (the secret scan does), then bwk_malscan_end reads what is
 * left up to `max`, finishes the scan and reports each match as a finding at `e` through
 * bwk_scan_report (`ok` false: the reading failed; the scan is closed, nothing reported, -1).
 * A walking thread holds two blocks of 4 MiB at most, whatever the file's size. Thread-safe
 * (one file at a time per worker). */
#define BWK_MAL_CHUNK	(4u << 20)  /* bytes per YARA block */
#define BWK_MAL_OVERLAP (64u << 10) /* shared by consecutive blocks: > YR_RE_SCAN_LIMIT */
int bwk_malscan_begin(bwk_malscan *m, bwk_scanner *s, const bwk_entry *e, uint64_t max,
		      const bwk_entry **tee, bwk_error **err);
int bwk_malscan_end(bwk_malscan *m, const bwk_entry *e, bool ok, bwk_error **err);
/* The same over `len` bytes in memory, as one file `e`. */
int bwk_malscan_buffer(bwk_malscan *m, bwk_scanner *s, const bwk_entry *e, const char *buf,
		       size_t len, bwk_error **err);
/* The prefilter (YARA's atoms through Hyperscan, malware.c): whether it is on; tests turn it off
 * to compare. */
bool bwk_malscan_prefiltered(const bwk_malscan *m);
void bwk_malscan_set_prefilter(bwk_malscan *m, bool on);
/* Bytes YARA itself scanned (the spans; overlaps of blocks counted again). */
uint64_t bwk_malscan_spanned(const bwk_malscan *m);
void bwk_malscan_stats(const bwk_malscan *m, uint64_t *files, uint64_t *bytes, uint64_t *truncated);
extern const bwk_rule bwk_rule_malware_scan;

/* ---- provenance (provenance.c) ------------------------------------------------------------ */
/* The history entry that made layer `layer_index` (empty_layer entries skipped), or -1 when
 * the history does not align with the layers. */
long bwk_history_layer_step(const bwk_image_config *c, int layer_index);
/* A build step as its Dockerfile instruction ("RUN make", "COPY . /app"): build args dropped,
 * blanks collapsed, at most `max` characters. Caller frees; NULL for NULL. */
char *bwk_history_step_text(const char *created_by, size_t max);
/* Past a leading "|N K=V …" (classic builder's build args): *nargs = N (0 when none). */
const char *bwk_history_skip_args(const char *p, unsigned *nargs);
/* "COPY . /app (step 7 of 12)" for layer `layer_index`, or NULL. Caller frees. */
char *bwk_provenance_step(const bwk_image_config *c, int layer_index);
/* After the walk: every finding with a layer gets the step that added it and, when a later
 * layer deletes or replaces its path, the step that did. */
void bwk_scan_provenance(const bwk_image *img, bwk_findings *f);

/* A finding on an entry whose visibility is not known yet (a lower layer walked in parallel):
 * kept until walk_end settles it. */
typedef struct bwk_pending {
	bwk_finding_spec spec; /* strings owned below */
	char *path, *layer, *message, *evidence, *secret;
	char *display; /* loc.path when it differs from the entry's (archive members) */
} bwk_pending;

struct bwk_scanner {
	bwk_scan_opts opts;
	bwk_findings *out;
	bwk_visitor visitor;
	bwk_image *img; /* when scanning an image: settles visibility at walk_end */
	pthread_mutex_t lock;
	bwk_pending *pending;
	size_t npending, cappending;
	bwk_secscan *secrets;
	struct bwk_inv *inv; /* inventory_private.h */
	bwk_cfgscan *cfg;
	bwk_content *content;
	bwk_malscan *mal; /* NULL with no_malware */
};

/* Report a finding at an entry: fills spec->loc from the entry (path: spec->loc.path when set,
 * e.g. a member of a nested archive, else the entry's) and, for entries hidden by a
 * later layer, says so in the message. Entries of unknown visibility are held until the walk
 * ends. Thread-safe. */
int bwk_scan_report(bwk_scanner *s, const bwk_entry *e, const bwk_finding_spec *spec,
		    bwk_error **err);

/* Report one entry-level finding with the standard location fields. */
int bwk_scan_report_entry(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			  const char *message, bwk_error **err);
/* Report a secret: in entry `e` (NULL for the image config) at `path` (may name a member of a
 * nested archive, "app.jar!/x.properties") and `line`, or at config `key`. The secret is
 * redacted and fingerprinted by the findings model, never stored. */
int bwk_scan_report_secret(bwk_scanner *s, const bwk_rule *rule, const bwk_entry *e,
			   const char *path, unsigned line, const char *key, const char *secret,
			   size_t secret_len, bwk_error **err);
#endif
