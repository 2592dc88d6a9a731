/* Several images in one run (`bulwark audit registry --scan-all`): a pool of worker threads
 * takes the targets in turn, each scanned exactly as `bulwark scan TARGET` scans it into its
 * own findings list; the lists are merged in the targets' order, so the report does not
 * depend on which worker finished first. A target that fails is recorded with its error and
 * the others go on. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/scan.h"
#include "core/cleanup.h"
#include "core/util.h"
#include "scan/scan_private.h"

const bwk_rule bwk_rule_scan_failed = BWK_RULE(
    "image-not-scanned", BWK_CAT_INTEGRITY, BWK_SEV_MEDIUM,
    .title = "An image could not be scanned",
    .description = "One image of several could not be read (an HTTP or TLS error, a broken "
		   "manifest, a digest mismatch): nothing is known about what it holds, "
		   "credentials included.",
    .remediation =
	"Fix what the message names (credentials, a CA certificate, a broken upload) and "
	"scan the image again: bulwark scan REF.",
    .references = NULL);

typedef struct pool {
	const char *const *targets;
	size_t n;
	const bwk_scan_opts *opts;
	atomic_size_t next;
	bwk_findings **found;
	char **errors;
} pool;

static void scan_one(pool *p, size_t i)
{
	bwk_scan_opts o = *p->opts;
	o.target = p->targets[i];
	o.inventory = NULL;
	bwk_error *e = NULL;
	p->found[i] = bwk_findings_new();
	if (bwk_scan_target(p->targets[i], &o, p->found[i], &e) < 0) {
		p->errors[i] = bwk_error_format(e);
		bwk_error_free(e);
		bwk_finding_spec s = {.rule = &bwk_rule_scan_failed,
				      .loc = {.target = p->targets[i], .layer_index = -1},
				      .message = p->errors[i],
				      .severity = -1};
		bwk_findings_add(p->found[i], &s, NULL);
	}
}

static void *worker(void *arg)
{
	pool *p = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->n)
			break;
		scan_one(p, i);
	}
	return NULL;
}

int bwk_scan_many(const char *const *targets, size_t n, const bwk_scan_opts *opts, unsigned jobs,
		  bwk_findings *out, char **errors, bwk_error **err)
{
	if (n > BWK_SCAN_MANY_MAX)
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "%zu images to scan: at most %u in one run", n,
				     BWK_SCAN_MANY_MAX);
	if (!jobs) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (unsigned)c : 1;
	}
	if (jobs > n)
		jobs = (unsigned)(n ? n : 1);
	pool p = {.targets = targets, .n = n, .opts = opts};
	atomic_init(&p.next, 0);
	p.found = xcalloc(n ? n : 1, sizeof(*p.found));
	p.errors = errors;
	bwk_scan_opts one = *opts;
	/* the secret and YARA rules compiled once for all the targets (they cost more than a
	 * small image's scan), each scan with its own matching state over them */
	cleanup_with(bwk_scan_compiled_freep) bwk_scan_compiled *compiled = NULL;
	if (!one.compiled) {
		if (bwk_scan_compiled_new(opts, &compiled, err) < 0)
			return -1;
		one.compiled = compiled;
	}
	/* the images are the parallel work: one layer walked at a time in each unless there is
	 * one image; a large layer is still read on a thread of its own, so that a large image
	 * among small ones does not hold up the end of the run on one core */
	if (jobs > 1 && !one.threads)
		one.one_walk = true;
	p.opts = &one;
	pthread_t *tids = xcalloc(jobs, sizeof(*tids));
	unsigned started = 0;
	for (unsigned t = 1; t < jobs; t++) {
		if (pthread_create(&tids[t], NULL, worker, &p) != 0)
			break; /* fewer workers: the calling thread still takes every target */
		started++;
	}
	worker(&p);
	for (unsigned t = 1; t <= started; t++)
		pthread_join(tids[t], NULL);
	free(tids);
	for (size_t i = 0; i < n; i++) {
		bwk_findings_merge(out, p.found[i]);
		bwk_findings_free(p.found[i]);
	}
	free(p.found);
	return 0;
}
