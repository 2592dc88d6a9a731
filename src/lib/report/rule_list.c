/* Owned rule lists: the rules of every command gathered for `bulwark rules`, and the deep copy
 * the findings list interns its rules with. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "report/report_private.h"

struct bwk_rule_list {
	bwk_rule **v;
	size_t n, cap;
};

bwk_rule *bwk_rule_dup(const bwk_rule *r)
{
	bwk_rule *c = xcalloc(1, sizeof(*c));
	c->id = xstrdup(r->id);
	c->category = r->category;
	c->severity = r->severity;
	c->title = xstrdup(r->title ? r->title : r->id);
	c->description = xstrdup(r->description ? r->description : "");
	c->remediation = xstrdup(r->remediation ? r->remediation : "");
	size_t nref = 0;
	if (r->references)
		while (r->references[nref])
			nref++;
	const char **refs = xcalloc(nref + 1, sizeof(char *));
	for (size_t i = 0; i < nref; i++)
		refs[i] = xstrdup(r->references[i]);
	c->references = refs;
	return c;
}

void bwk_rule_dup_free(bwk_rule *r)
{
	if (!r)
		return;
	free((char *)r->id);
	free((char *)r->title);
	free((char *)r->description);
	free((char *)r->remediation);
	if (r->references) {
		for (const char *const *p = r->references; *p; p++)
			free((char *)*p);
		free((void *)r->references);
	}
	free(r);
}

bwk_rule_list *bwk_rule_list_new(void)
{
	return xcalloc(1, sizeof(bwk_rule_list));
}

void bwk_rule_list_free(bwk_rule_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		bwk_rule_dup_free(l->v[i]);
	free(l->v);
	free(l);
}

const bwk_rule *bwk_rule_list_find(const bwk_rule_list *l, const char *id)
{
	/* a few hundred rules, looked up a handful of times per command: a scan is enough */
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->id, id) == 0)
			return l->v[i];
	return NULL;
}

bool bwk_rule_list_add(bwk_rule_list *l, const bwk_rule *r)
{
	if (bwk_rule_list_find(l, r->id))
		return false;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = bwk_rule_dup(r);
	return true;
}

size_t bwk_rule_list_count(const bwk_rule_list *l)
{
	return l ? l->n : 0;
}

const bwk_rule *bwk_rule_list_get(const bwk_rule_list *l, size_t i)
{
	return l && i < l->n ? l->v[i] : NULL;
}
