/* ISA-L's inflate (Debian's libisal2), loaded on first use when it is installed.
 *
 * Decompressing gzip layers is the floor of every scan: with zlib it is 40% of a full scan's
 * time. ISA-L's inflate (the igzip of Intel's storage library) does the same work in about 45%
 * of zlib's time on x86-64. Unlike the libraries of lazy.h it is optional: where it is missing
 * (another architecture, a minimal install) or BULWARK_GZIP=zlib asks for it, the layer reader
 * keeps zlib, which bulwark links anyway. */
#ifndef BWK_CORE_LAZY_ISAL_H
#define BWK_CORE_LAZY_ISAL_H

#include <isa-l/igzip_lib.h>

typedef struct bwk_isal {
	void (*inflate_init)(struct inflate_state *st);
	void (*inflate_reset)(struct inflate_state *st);
	int (*inflate)(struct inflate_state *st);
} bwk_isal;

/* ISA-L's functions, or NULL when it cannot be loaded or BULWARK_GZIP=zlib is set. Resolved
 * once per process; thread-safe. */
const bwk_isal *bwk_isal_get(void);

#endif
