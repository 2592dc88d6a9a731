/* Streaming decompression of layer blobs and compressed outer archives.
 *
 * We decompress ourselves (zlib or ISA-L, libzstd) instead of letting libarchive do it, because
 * the uncompressed bytes must be hashed against the config's diff_ids and counted for the
 * decompression-bomb guard while they stream; libarchive then parses plain tar. gzip goes
 * through ISA-L's inflate when libisal2 is installed (core/lazy_isal.h: 2.3x zlib's speed, and
 * inflating is the floor of every scan), else through zlib; both check each member's CRC. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "core/decomp.h"
#include "core/lazy_isal.h"
#include "core/util.h"

struct decomp {
	bwk_comp comp;
	z_stream z;
	ZSTD_DStream *zs;
	const bwk_isal *isal;	  /* gzip through ISA-L when set, else zlib */
	struct inflate_state *is; /* ISA-L's state (about 100 KiB, hence on the heap) */
	bool boundary;		  /* between members/frames (or nothing read yet for NONE) */
	bool started;
};

bwk_comp bwk_sniff_comp(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return BWK_COMP_GZIP;
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return BWK_COMP_ZSTD;
	return BWK_COMP_NONE;
}

decomp *decomp_new(bwk_comp comp)
{
	return decomp_new_with(comp, true);
}

decomp *decomp_new_with(bwk_comp comp, bool fast_gzip)
{
	decomp *d = xcalloc(1, sizeof(*d));
	d->comp = comp;
	d->boundary = true;
	if (comp == BWK_COMP_GZIP && fast_gzip && (d->isal = bwk_isal_get()) != NULL) {
		d->is = xcalloc(1, sizeof(*d->is));
		d->isal->inflate_init(d->is);
		d->is->crc_flag = ISAL_GZIP; /* header, deflate data, trailer; CRC checked */
	} else if (comp == BWK_COMP_GZIP) {
		if (inflateInit2(&d->z, 15 + 16) != Z_OK)
			abort();
	} else if (comp == BWK_COMP_ZSTD) {
		d->zs = ZSTD_createDStream();
		if (!d->zs)
			abort();
		ZSTD_initDStream(d->zs);
		/* a frame may ask for a huge window: cap it (128 MiB, zstd --long=27) */
		ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, 27);
	}
	return d;
}

void decomp_free(decomp *d)
{
	if (!d)
		return;
	if (d->is)
		free(d->is);
	else if (d->comp == BWK_COMP_GZIP)
		inflateEnd(&d->z);
	if (d->zs)
		ZSTD_freeDStream(d->zs);
	free(d);
}

bool decomp_at_boundary(const decomp *d)
{
	return d->boundary;
}

static const char *isal_why(int r)
{
	switch (r) {
	case ISAL_INVALID_BLOCK:
		return "invalid block";
	case ISAL_INVALID_SYMBOL:
		return "invalid symbol";
	case ISAL_INVALID_LOOKBACK:
		return "invalid distance too far back";
	case ISAL_INVALID_WRAPPER:
		return "not in gzip format";
	case ISAL_UNSUPPORTED_METHOD:
		return "unknown compression method";
	case ISAL_INCORRECT_CHECKSUM:
		return "incorrect data check";
	default:
		return "corrupt data";
	}
}

/* gzip through ISA-L: the same contract as the zlib loop below (members back to back, a
 * boundary after each one's trailer). ISA-L hands back the bytes it read ahead of a member's
 * end, so the next member starts where the previous one's trailer ended. */
static int run_isal(decomp *d, const unsigned char *ip, size_t inlen, size_t *consumed,
		    unsigned char *op, size_t outlen, size_t *produced, bwk_error **err)
{
	struct inflate_state *s = d->is;
	while (*produced < outlen) {
		if (d->boundary && d->started) {
			if (*consumed == inlen)
				break;
			d->isal->inflate_reset(s);
			s->crc_flag = ISAL_GZIP;
		}
		d->started = true;
		d->boundary = false;
		size_t ai = inlen - *consumed, ao = outlen - *produced;
		s->next_in = (uint8_t *)(uintptr_t)(ip + *consumed);
		s->avail_in = ai > UINT32_MAX ? UINT32_MAX : (uint32_t)ai;
		s->next_out = op + *produced;
		s->avail_out = ao > UINT32_MAX ? UINT32_MAX : (uint32_t)ao;
		uint32_t bi = s->avail_in, bo = s->avail_out;
		int r = d->isal->inflate(s);
		*consumed += bi - s->avail_in;
		*produced += bo - s->avail_out;
		if (r < 0)
			return bwk_error_set(err, BWK_E_INPUT, 0, "gzip: %s", isal_why(r));
		if (s->block_state == ISAL_BLOCK_FINISH) {
			d->boundary = true;
			continue;
		}
		if (bi == s->avail_in && bo == s->avail_out)
			break;
	}
	return 0;
}

int decomp_run(decomp *d, const void *in, size_t inlen, size_t *consumed, void *out, size_t outlen,
	       size_t *produced, bwk_error **err)
{
	*consumed = *produced = 0;
	if (d->is)
		return run_isal(d, in, inlen, consumed, out, outlen, produced, err);
	switch (d->comp) {
	case BWK_COMP_NONE: {
		size_t n = inlen < outlen ? inlen : outlen;
		memcpy(out, in, n);
		*consumed = *produced = n;
		return 0;
	}
	case BWK_COMP_GZIP: {
		const unsigned char *ip = in;
		unsigned char *op = out;
		while (*produced < outlen) {
			if (d->boundary && d->started) {
				if (*consumed == inlen)
					break;
				/* a new gzip member follows the previous one */
				inflateReset(&d->z);
			}
			d->started = true;
			d->boundary = false;
			size_t ai = inlen - *consumed, ao = outlen - *produced;
			d->z.next_in = (Bytef *)(uintptr_t)(ip + *consumed);
			d->z.avail_in = ai > UINT32_MAX ? UINT32_MAX : (uInt)ai;
			d->z.next_out = op + *produced;
			d->z.avail_out = ao > UINT32_MAX ? UINT32_MAX : (uInt)ao;
			uInt bi = d->z.avail_in, bo = d->z.avail_out;
			int r = inflate(&d->z, Z_NO_FLUSH);
			*consumed += bi - d->z.avail_in;
			*produced += bo - d->z.avail_out;
			if (r == Z_STREAM_END) {
				d->boundary = true;
				continue;
			}
			if (r == Z_BUF_ERROR || (bi == d->z.avail_in && bo == d->z.avail_out))
				break;
			if (r != Z_OK)
				return bwk_error_set(err, BWK_E_INPUT, 0, "gzip: %s",
						     d->z.msg ? d->z.msg : "corrupt data");
		}
		return 0;
	}
	case BWK_COMP_ZSTD: {
		ZSTD_inBuffer ib = {in, inlen, 0};
		ZSTD_outBuffer ob = {out, outlen, 0};
		while (ob.pos < ob.size) {
			if (d->boundary && ib.pos == ib.size)
				break;
			size_t pi = ib.pos, po = ob.pos;
			size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
			if (ZSTD_isError(r))
				return bwk_error_set(err, BWK_E_INPUT, 0, "zstd: %s",
						     ZSTD_getErrorName(r));
			d->boundary = r == 0;
			if (pi == ib.pos && po == ob.pos)
				break;
		}
		*consumed = ib.pos;
		*produced = ob.pos;
		return 0;
	}
	}
	return bwk_error_set(err, BWK_E_INTERNAL, 0, "unknown compression");
}
