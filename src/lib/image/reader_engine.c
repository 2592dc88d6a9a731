/* Reader: docker:NAME[:TAG] through the Engine API (placeholder until the streaming reader
 * lands). */
#include <stdlib.h>

#include "core/util.h"
#include "image/image_private.h"

struct engine_ctx {
	int unused;
};

int engine_open(bwk_image *img, const char *name, bwk_error **err)
{
	(void)img;
	return bwk_error_set(err, BWK_E_UNSUPPORTED, 0, "docker:%s: not implemented yet", name);
}

void engine_free(engine_ctx *e)
{
	free(e);
}

int engine_stream_layers(bwk_image *img, bool ordered, engine_layer_cb cb, void *ctx,
			 bwk_error **err)
{
	(void)img;
	(void)ordered;
	(void)cb;
	(void)ctx;
	return bwk_error_set(err, BWK_E_UNSUPPORTED, 0, "engine streaming not implemented");
}
