/* Streaming decompression (core/decomp.c): layer blobs, compressed outer archives and the
 * gzip files nested in an image's files, all through one decoder. */
#ifndef BWK_CORE_DECOMP_H
#define BWK_CORE_DECOMP_H

#include <stdbool.h>
#include <stddef.h>

#include "bulwark/error.h"

typedef enum bwk_comp { BWK_COMP_NONE = 0, BWK_COMP_GZIP, BWK_COMP_ZSTD } bwk_comp;
bwk_comp bwk_sniff_comp(const unsigned char *p, size_t n);

/* A streaming decompressor (decomp.c): gzip (several members, as gzip -d accepts), zstd
 * (several frames) or a pass-through. */
typedef struct decomp decomp;
decomp *decomp_new(bwk_comp comp);
/* The same, gzip through zlib when !fast_gzip (decomp_new takes ISA-L when it is installed):
 * the tests hold both back-ends to one behaviour. */
decomp *decomp_new_with(bwk_comp comp, bool fast_gzip);
void decomp_free(decomp *d);
/* Consume from in/inlen, produce into out/outlen; *done when the stream ended cleanly at the
 * end of a member/frame and no more input is pending. Returns -1 on corrupt data. */
int decomp_run(decomp *d, const void *in, size_t inlen, size_t *consumed, void *out, size_t outlen,
	       size_t *produced, bwk_error **err);
/* True when the last call left the decoder between members/frames (a clean end if the input
 * ends here). */
bool decomp_at_boundary(const decomp *d);

#endif
