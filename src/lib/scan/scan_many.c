/* Several images in one run (`bulwark audit registry --scan-all`): a pool of worker threads
 * takes the targets in turn, each scanned exactly as `bulwark scan TARGET` scans it into its
 * own findings list; the lists are merged in the targets' order, so the report does not
 * depend on which worker finished first. A target that fails is recorded with its error and
 * the others go on.
 *
 * With several workers the targets are taken largest first (LPT scheduling, as build systems
 * and batch schedulers order jobs): a large image taken last would run alone on one core at
 * the end while the others idle. The workers first ask each target's size cheaply
 * (bwk_image_size_hint: a registry image's manifest, kept for its scan in a manifest cache of
 * the run so that it is not fetched twice), in parallel; then the scans start in order of
 * size. A size that cannot be known is 0: that target goes last and its scan says why.
 *
 * The same lookup (with one worker too) tells the run's layer memo (bwk_layer_memo) which
 * layers several images share: those are fetched, inflated and verified once, and every image
 * that has one walks the kept bytes and reports its findings itself. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bulwark/image.h"
#include "bulwark/registry.h"
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

/* At most this many bytes of manifests kept between the size lookup and the scans. */
#define SCAN_MANY_MANIFEST_BYTES (64u << 20)
/* The layers kept for the other images of the run (bwk_layer_memo): in all, and per layer
 * (the tar; a larger layer is read by each image that has it). */
#define SCAN_MANY_LAYER_BYTES (256ull << 20)
#define SCAN_MANY_LAYER_MAX   (32ull << 20)

typedef struct pool {
	const char *const *targets;
	size_t n;
	const bwk_scan_opts *opts;
	atomic_size_t next;
	bool sizing;	    /* phase 1: sizes[i] of every target; phase 2: the scans */
	uint64_t *sizes;    /* per target, list order */
	size_t *order;	    /* the targets' indices, largest first */
	bwk_image_opts *io; /* for the size lookup */
	bwk_findings **found;
	char **errors;
} pool;

typedef struct sized {
	uint64_t size;
	size_t index;
} sized;

static int by_size_desc(const void *a, const void *b)
{
	const sized *x = a, *y = b;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index; /* ties: list order */
}

void bwk_scan_order(const uint64_t *sizes, size_t n, size_t *order)
{
	sized *v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (sized){.size = sizes[i], .index = i};
	qsort(v, n, sizeof(*v), by_size_desc);
	for (size_t i = 0; i < n; i++)
		order[i] = v[i].index;
	free(v);
}

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
		if (p->sizing)
			p->sizes[i] = bwk_image_size_hint(p->targets[i], p->io);
		else
			scan_one(p, p->order ? p->order[i] : i);
	}
	return NULL;
}

/* `jobs` workers (the calling thread one of them) through the targets once. */
static void run_pool(pool *p, unsigned jobs)
{
	atomic_store(&p->next, 0);
	pthread_t *tids = xcalloc(jobs, sizeof(*tids));
	unsigned started = 0;
	for (unsigned t = 1; t < jobs; t++) {
		if (pthread_create(&tids[t], NULL, worker, p) != 0)
			break; /* fewer workers: the calling thread still takes every target */
		started++;
	}
	worker(p);
	for (unsigned t = 1; t <= started; t++)
		pthread_join(tids[t], NULL);
	free(tids);
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
	/* the manifests first, in parallel, kept for the scans (none is fetched twice): the
	 * sizes, to take the largest first when there is more than one worker (with one, the
	 * order changes nothing), and the layers each image has, for the memo below */
	bwk_registry_opts ro = {0};
	if (opts->registry)
		ro = *opts->registry;
	/* a layer that several images share (a base image) is fetched, inflated and verified
	 * once in the run; each image still walks it and reports what it holds. The lookup
	 * tells the memo which layers more than one image has: only those are kept. */
	bwk_layer_memo *memo = NULL;
	if (!one.layers && n > 1)
		one.layers = memo = bwk_layer_memo_new(SCAN_MANY_LAYER_BYTES, SCAN_MANY_LAYER_MAX);
	bwk_registry_manifest_cache *mc = NULL;
	if (n > 1) {
		mc = bwk_registry_manifest_cache_new(2 * n, SCAN_MANY_MANIFEST_BYTES);
		ro.manifests = mc;
		one.registry = &ro;
		bwk_image_opts io = {.platform = opts->platform, .registry = &ro, .layers = memo};
		p.io = &io;
		p.sizes = xcalloc(n, sizeof(*p.sizes));
		p.sizing = true;
		run_pool(&p, jobs);
		if (jobs > 1) {
			p.order = xcalloc(n, sizeof(*p.order));
			bwk_scan_order(p.sizes, n, p.order);
		}
		p.sizing = false;
		p.io = NULL;
	}
	p.opts = &one;
	run_pool(&p, jobs);
	bwk_layer_memo_free(memo);
	bwk_registry_manifest_cache_free(mc);
	free(p.sizes);
	free(p.order);
	for (size_t i = 0; i < n; i++) {
		bwk_findings_merge(out, p.found[i]);
		bwk_findings_free(p.found[i]);
	}
	free(p.found);
	return 0;
}
