/* bwk_oci_spec → config.json text. Every property of the model is written, absent optional
 * ones are left out, so that parsing the result gives the same spec back (the fuzz target
 * checks exactly that). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "oci/oci_private.h"

/* jansson's setters take the new reference; on allocation failure they return -1 and the
 * value is released, so building never leaks: failures are collected in `bad`. */
typedef struct out {
	bool bad;
} out;

static void put(out *o, json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v) < 0)
		o->bad = true;
}

static void push(out *o, json_t *arr, json_t *v)
{
	if (!v || json_array_append_new(arr, v) < 0)
		o->bad = true;
}

static void put_str(out *o, json_t *obj, const char *key, const char *s)
{
	if (s)
		put(o, obj, key, json_string(s));
}

static void put_i64(out *o, json_t *obj, const char *key, bwk_oci_i64 v)
{
	if (v.set)
		put(o, obj, key, json_integer((json_int_t)v.v));
}

/* above INT64_MAX, the marked string spec_json.c reads and bwk_oci_json_dumps writes back */
static json_t *u64_json(uint64_t v)
{
	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	char buf[24];
	int n = snprintf(buf, sizeof buf, "%c%llu", 0, (unsigned long long)v);
	return json_stringn(buf, (size_t)n);
}

static void put_u64(out *o, json_t *obj, const char *key, bwk_oci_u64 v)
{
	if (v.set)
		put(o, obj, key, u64_json(v.v));
}

static void put_true(out *o, json_t *obj, const char *key, bool b)
{
	if (b)
		put(o, obj, key, json_true());
}

static json_t *strv_json(out *o, const bwk_strv *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->n; i++)
		push(o, a, json_string(v->v[i]));
	return a;
}

static void put_strv(out *o, json_t *obj, const char *key, const bwk_strv *v)
{
	if (v->v)
		put(o, obj, key, strv_json(o, v));
}

static void put_map(out *o, json_t *obj, const char *key, const bwk_oci_map *m)
{
	if (!m->v)
		return;
	json_t *j = json_object();
	for (size_t i = 0; j && i < m->n; i++)
		put(o, j, m->v[i].key, json_string(m->v[i].value));
	put(o, obj, key, j);
}

static void put_idmaps(out *o, json_t *obj, const char *key, const bwk_oci_idmap *m, size_t n)
{
	if (!m)
		return;
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		push(o, a,
		     json_pack("{s:I,s:I,s:I}", "containerID", (json_int_t)m[i].container_id,
			       "hostID", (json_int_t)m[i].host_id, "size", (json_int_t)m[i].size));
	put(o, obj, key, a);
}

static json_t *process_json(out *o, const bwk_oci_process *p)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	put_true(o, j, "terminal", p->terminal);
	if (p->has_console_size)
		put(o, j, "consoleSize",
		    json_pack("{s:I,s:I}", "height", (json_int_t)p->console_height, "width",
			      (json_int_t)p->console_width));
	json_t *u =
	    json_pack("{s:I,s:I}", "uid", (json_int_t)p->user.uid, "gid", (json_int_t)p->user.gid);
	if (u) {
		put_u64(o, u, "umask", p->user.umask);
		if (p->user.additional_gids) {
			json_t *g = json_array();
			for (size_t i = 0; g && i < p->user.n_additional_gids; i++)
				push(o, g, json_integer(p->user.additional_gids[i]));
			put(o, u, "additionalGids", g);
		}
		put_str(o, u, "username", p->user.username);
	}
	put(o, j, "user", u);
	put_strv(o, j, "args", &p->args);
	put_strv(o, j, "env", &p->env);
	put_str(o, j, "cwd", p->cwd);
	if (p->caps.set) {
		json_t *c = json_object();
		if (c) {
			put_strv(o, c, "bounding", &p->caps.bounding);
			put_strv(o, c, "effective", &p->caps.effective);
			put_strv(o, c, "inheritable", &p->caps.inheritable);
			put_strv(o, c, "permitted", &p->caps.permitted);
			put_strv(o, c, "ambient", &p->caps.ambient);
		}
		put(o, j, "capabilities", c);
	}
	if (p->rlimits) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < p->n_rlimits; i++)
			push(o, a,
			     json_pack("{s:s,s:o,s:o}", "type", p->rlimits[i].type, "hard",
				       u64_json(p->rlimits[i].hard), "soft",
				       u64_json(p->rlimits[i].soft)));
		put(o, j, "rlimits", a);
	}
	put_true(o, j, "noNewPrivileges", p->no_new_privileges);
	put_str(o, j, "apparmorProfile", p->apparmor_profile);
	put_str(o, j, "selinuxLabel", p->selinux_label);
	put_i64(o, j, "oomScoreAdj", p->oom_score_adj);
	if (p->scheduler.set) {
		const bwk_oci_sched *s = &p->scheduler;
		json_t *sj = json_object();
		if (sj) {
			put_str(o, sj, "policy", s->policy);
			put_i64(o, sj, "nice", s->nice);
			put_i64(o, sj, "priority", s->priority);
			put_strv(o, sj, "flags", &s->flags);
			put_u64(o, sj, "runtime", s->runtime);
			put_u64(o, sj, "deadline", s->deadline);
			put_u64(o, sj, "period", s->period);
		}
		put(o, j, "scheduler", sj);
	}
	if (p->io_priority.set)
		put(o, j, "ioPriority",
		    json_pack("{s:s,s:I}", "class", p->io_priority.class_, "priority",
			      (json_int_t)p->io_priority.priority));
	return j;
}

static json_t *mounts_json(out *o, const bwk_oci_spec *s)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < s->n_mounts; i++) {
		const bwk_oci_mount *m = &s->mounts[i];
		json_t *j = json_object();
		if (j) {
			put_str(o, j, "destination", m->destination);
			put_str(o, j, "type", m->type);
			put_str(o, j, "source", m->source);
			put_strv(o, j, "options", &m->options);
			put_idmaps(o, j, "uidMappings", m->uid_mappings, m->n_uid_mappings);
			put_idmaps(o, j, "gidMappings", m->gid_mappings, m->n_gid_mappings);
		}
		push(o, a, j);
	}
	return a;
}

static json_t *hooks_json(out *o, const bwk_oci_hooks *h)
{
	json_t *j = json_object();
	for (int k = 0; j && k < BWK_OCI_HOOK_KINDS; k++) {
		if (!h->v[k])
			continue;
		json_t *a = json_array();
		for (size_t i = 0; a && i < h->n[k]; i++) {
			json_t *e = json_object();
			if (e) {
				put_str(o, e, "path", h->v[k][i].path);
				put_strv(o, e, "args", &h->v[k][i].args);
				put_strv(o, e, "env", &h->v[k][i].env);
				put_i64(o, e, "timeout", h->v[k][i].timeout);
			}
			push(o, a, e);
		}
		put(o, j, oci_hook_keys[k], a);
	}
	return j;
}

static json_t *resources_json(out *o, const bwk_oci_resources *r)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	if (r->devices) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < r->n_devices; i++) {
			const bwk_oci_dev_rule *d = &r->devices[i];
			json_t *e = json_pack("{s:b}", "allow", d->allow);
			if (e) {
				put_str(o, e, "type", d->type);
				put_i64(o, e, "major", d->major);
				put_i64(o, e, "minor", d->minor);
				put_str(o, e, "access", d->access);
			}
			push(o, a, e);
		}
		put(o, j, "devices", a);
	}
	json_t *m = json_object();
	if (m) {
		put_i64(o, m, "limit", r->memory.limit);
		put_i64(o, m, "reservation", r->memory.reservation);
		put_i64(o, m, "swap", r->memory.swap);
		put_i64(o, m, "kernel", r->memory.kernel);
		put_i64(o, m, "kernelTCP", r->memory.kernel_tcp);
		put_u64(o, m, "swappiness", r->memory.swappiness);
		put_true(o, m, "disableOOMKiller", r->memory.disable_oom_killer);
		put_true(o, m, "useHierarchy", r->memory.use_hierarchy);
		put_true(o, m, "checkBeforeUpdate", r->memory.check_before_update);
	}
	if (m && json_object_size(m))
		put(o, j, "memory", m);
	else
		json_decref(m);
	json_t *c = json_object();
	if (c) {
		put_u64(o, c, "shares", r->cpu.shares);
		put_i64(o, c, "quota", r->cpu.quota);
		put_u64(o, c, "burst", r->cpu.burst);
		put_u64(o, c, "period", r->cpu.period);
		put_i64(o, c, "realtimeRuntime", r->cpu.realtime_runtime);
		put_u64(o, c, "realtimePeriod", r->cpu.realtime_period);
		put_str(o, c, "cpus", r->cpu.cpus);
		put_str(o, c, "mems", r->cpu.mems);
		put_i64(o, c, "idle", r->cpu.idle);
	}
	if (c && json_object_size(c))
		put(o, j, "cpu", c);
	else
		json_decref(c);
	if (r->pids_limit.set)
		put(o, j, "pids", json_pack("{s:I}", "limit", (json_int_t)r->pids_limit.v));
	json_t *b = json_object();
	if (b) {
		put_u64(o, b, "weight", r->block_io.weight);
		put_u64(o, b, "leafWeight", r->block_io.leaf_weight);
		if (r->block_io.weight_device) {
			json_t *a = json_array();
			for (size_t i = 0; a && i < r->block_io.n_weight_device; i++) {
				const bwk_oci_weight_dev *w = &r->block_io.weight_device[i];
				json_t *e = json_pack("{s:I,s:I}", "major", (json_int_t)w->major,
						      "minor", (json_int_t)w->minor);
				if (e) {
					put_u64(o, e, "weight", w->weight);
					put_u64(o, e, "leafWeight", w->leaf_weight);
				}
				push(o, a, e);
			}
			put(o, b, "weightDevice", a);
		}
		for (int k = 0; k < 4; k++) {
			if (!r->block_io.throttle[k])
				continue;
			json_t *a = json_array();
			for (size_t i = 0; a && i < r->block_io.n_throttle[k]; i++) {
				const bwk_oci_throttle *t = &r->block_io.throttle[k][i];
				push(o, a,
				     json_pack("{s:I,s:I,s:I}", "major", (json_int_t)t->major,
					       "minor", (json_int_t)t->minor, "rate",
					       (json_int_t)t->rate));
			}
			put(o, b, oci_throttle_keys[k], a);
		}
	}
	if (b && json_object_size(b))
		put(o, j, "blockIO", b);
	else
		json_decref(b);
	json_t *n = json_object();
	if (n) {
		put_u64(o, n, "classID", r->network.class_id);
		if (r->network.priorities) {
			json_t *a = json_array();
			for (size_t i = 0; a && i < r->network.n_priorities; i++)
				push(o, a,
				     json_pack("{s:s,s:I}", "name", r->network.priorities[i].name,
					       "priority",
					       (json_int_t)r->network.priorities[i].priority));
			put(o, n, "priorities", a);
		}
	}
	if (n && json_object_size(n))
		put(o, j, "network", n);
	else
		json_decref(n);
	if (r->hugepage_limits) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < r->n_hugepage_limits; i++)
			push(o, a,
			     json_pack("{s:s,s:I}", "pageSize", r->hugepage_limits[i].page_size,
				       "limit", (json_int_t)r->hugepage_limits[i].limit));
		put(o, j, "hugepageLimits", a);
	}
	if (r->rdma) {
		json_t *dev = json_object();
		for (size_t i = 0; dev && i < r->n_rdma; i++) {
			json_t *e = json_object();
			if (e) {
				put_u64(o, e, "hcaHandles", r->rdma[i].hca_handles);
				put_u64(o, e, "hcaObjects", r->rdma[i].hca_objects);
			}
			put(o, dev, r->rdma[i].device, e);
		}
		put(o, j, "rdma", dev);
	}
	put_map(o, j, "unified", &r->unified);
	return j;
}

static json_t *seccomp_json(out *o, const bwk_oci_seccomp *s)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	put_str(o, j, "defaultAction", s->default_action);
	put_u64(o, j, "defaultErrnoRet", s->default_errno_ret);
	put_strv(o, j, "architectures", &s->architectures);
	put_strv(o, j, "flags", &s->flags);
	put_str(o, j, "listenerPath", s->listener_path);
	put_str(o, j, "listenerMetadata", s->listener_metadata);
	if (s->syscalls) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < s->n_syscalls; i++) {
			const bwk_oci_syscall *sc = &s->syscalls[i];
			json_t *e = json_object();
			if (e) {
				put_strv(o, e, "names", &sc->names);
				put_str(o, e, "action", sc->action);
				put_u64(o, e, "errnoRet", sc->errno_ret);
			}
			if (e && sc->args) {
				json_t *args = json_array();
				for (size_t k = 0; args && k < sc->n_args; k++)
					push(o, args,
					     json_pack("{s:I,s:o,s:o,s:s}", "index",
						       (json_int_t)sc->args[k].index, "value",
						       u64_json(sc->args[k].value), "valueTwo",
						       u64_json(sc->args[k].value_two), "op",
						       sc->args[k].op));
				put(o, e, "args", args);
			}
			push(o, a, e);
		}
		put(o, j, "syscalls", a);
	}
	return j;
}

static json_t *linux_json(out *o, const bwk_oci_linux *l)
{
	json_t *j = json_object();
	if (!j)
		return NULL;
	if (l->namespaces) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < l->n_namespaces; i++) {
			json_t *e = json_pack("{s:s}", "type", l->namespaces[i].type);
			if (e)
				put_str(o, e, "path", l->namespaces[i].path);
			push(o, a, e);
		}
		put(o, j, "namespaces", a);
	}
	put_idmaps(o, j, "uidMappings", l->uid_mappings, l->n_uid_mappings);
	put_idmaps(o, j, "gidMappings", l->gid_mappings, l->n_gid_mappings);
	if (l->devices) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < l->n_devices; i++) {
			const bwk_oci_device *d = &l->devices[i];
			json_t *e =
			    json_pack("{s:s,s:s,s:I,s:I}", "path", d->path, "type", d->type,
				      "major", (json_int_t)d->major, "minor", (json_int_t)d->minor);
			if (e) {
				put_u64(o, e, "fileMode", d->file_mode);
				put_u64(o, e, "uid", d->uid);
				put_u64(o, e, "gid", d->gid);
			}
			push(o, a, e);
		}
		put(o, j, "devices", a);
	}
	put_str(o, j, "cgroupsPath", l->cgroups_path);
	if (l->resources.set)
		put(o, j, "resources", resources_json(o, &l->resources));
	if (l->seccomp.set)
		put(o, j, "seccomp", seccomp_json(o, &l->seccomp));
	put_strv(o, j, "maskedPaths", &l->masked_paths);
	put_strv(o, j, "readonlyPaths", &l->readonly_paths);
	put_map(o, j, "sysctl", &l->sysctl);
	put_str(o, j, "rootfsPropagation", l->rootfs_propagation);
	put_str(o, j, "mountLabel", l->mount_label);
	if (l->personality.set) {
		json_t *p = json_pack("{s:s}", "domain", l->personality.domain);
		if (p)
			put_strv(o, p, "flags", &l->personality.flags);
		put(o, j, "personality", p);
	}
	static const char *const clocks[] = BWK_OCI_CLOCKS;
	json_t *t = NULL;
	for (size_t i = 0; i < BWK_OCI_N_CLOCKS; i++)
		if (l->time_offsets[i].set) {
			t = t ? t : json_object();
			put(o, t, clocks[i],
			    json_pack("{s:I,s:I}", "secs", (json_int_t)l->time_offsets[i].secs,
				      "nanosecs", (json_int_t)l->time_offsets[i].nanosecs));
		}
	if (t)
		put(o, j, "timeOffsets", t);
	return j;
}

char *bwk_oci_spec_serialise(const bwk_oci_spec *s, bool pretty, bwk_error **err)
{
	out o = {0};
	json_t *j = json_object();
	if (!j)
		return bwk_error_set(err, BWK_E_NOMEM, 0, "config.json: out of memory"), NULL;
	put_str(&o, j, "ociVersion", s->oci_version);
	if (s->has_process)
		put(&o, j, "process", process_json(&o, &s->process));
	if (s->has_root) {
		json_t *r = json_pack("{s:s}", "path", s->root_path ? s->root_path : "");
		if (r)
			put_true(&o, r, "readonly", s->root_readonly);
		put(&o, j, "root", r);
	}
	if (s->mounts)
		put(&o, j, "mounts", mounts_json(&o, s));
	put_str(&o, j, "hostname", s->hostname);
	put_str(&o, j, "domainname", s->domainname);
	if (s->linux_.set)
		put(&o, j, "linux", linux_json(&o, &s->linux_));
	bool any_hooks = false;
	for (int k = 0; k < BWK_OCI_HOOK_KINDS; k++)
		any_hooks |= s->hooks.v[k] != NULL;
	if (any_hooks)
		put(&o, j, "hooks", hooks_json(&o, &s->hooks));
	put_map(&o, j, "annotations", &s->annotations);
	char *text = o.bad ? NULL
			   : bwk_oci_json_dumps(j, (pretty ? JSON_INDENT(2) : JSON_COMPACT) |
						       JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		bwk_error_set(err, BWK_E_NOMEM, 0,
			      "config.json: cannot write the document (out of memory, or a "
			      "required property is missing)");
	return text;
}
