#ifndef BWK_SCAN_PRIVATE_H
#define BWK_SCAN_PRIVATE_H
#ifndef BWK_IN_SCAN
#error "scan_private.h is private to src/lib/scan"
#endif
#include <pthread.h>

#include "bulwark/image.h"
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

/* Rules on the image config (rules_image_config.c). `hit` reports one finding at a config key
 * ("config.User") with an optional detail message. */
typedef int (*bwk_config_hit_fn)(void *hctx, const char *key, const char *message, bwk_error **err);
typedef struct bwk_config_rule {
	const bwk_rule *rule;
	int (*check)(const bwk_image_config *c, bwk_config_hit_fn hit, void *hctx,
		     const bwk_rule *rule, bwk_error **err);
} bwk_config_rule;
extern const bwk_config_rule *const bwk_image_config_rules[];
extern const bwk_rule bwk_rule_layer_digest;
extern const bwk_rule bwk_rule_secret_scan;
extern const bwk_rule bwk_rule_scan_incomplete;

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
