/* The string vector (bulwark/strv.h). */
#include <stdlib.h>
#include <string.h>

#include "bulwark/strv.h"
#include "core/util.h"

int bwk_strv_take(bwk_strv *v, char *s, bwk_error **err)
{
	size_t max = v->max ? v->max : BWK_STRV_MAX;
	if (v->n >= max) {
		free(s);
		return bwk_error_set(err, BWK_E_LIMIT, 0,
				     "a list of strings would hold more than %zu entries", max);
	}
	if (v->n + 2 > v->cap) {
		/* a `v` filled by hand (cap 0) has room for n + 1 at least: realloc keeps it */
		size_t cap = v->cap ? v->cap * 2 : 8;
		while (cap < v->n + 2)
			cap *= 2;
		v->v = xrealloc(v->v, cap * sizeof *v->v);
		v->cap = cap;
	}
	v->v[v->n++] = s;
	v->v[v->n] = NULL;
	return 0;
}

int bwk_strv_push(bwk_strv *v, const char *s, bwk_error **err)
{
	return bwk_strv_take(v, xstrdup(s), err);
}

bool bwk_strv_has(const bwk_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return true;
	return false;
}

void bwk_strv_clear(bwk_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	*v = (bwk_strv){0};
}

void bwk_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}
