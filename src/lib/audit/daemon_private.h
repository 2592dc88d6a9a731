#ifndef BWK_AUDIT_DAEMON_PRIVATE_H
#define BWK_AUDIT_DAEMON_PRIVATE_H
#ifndef BWK_IN_AUDIT
#error "daemon_private.h is private to src/lib/audit"
#endif
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bulwark/audit.h"
#include "bulwark/error.h"
#include "bulwark/strv.h"

/* A running dockerd found in /proc. */
typedef struct daemon_proc {
	long pid;
	bwk_strv argv; /* up to BWK_STRV_MAX arguments; the rest of a longer line is not read */
} daemon_proc;

/* Find the dockerd serving the endpoint `want` (unix:///path or tcp://host:port; NULL: the
 * first dockerd). 1 found, 0 not. */
int aud_daemon_find_process(const char *proc, const char *want, daemon_proc *out);
void aud_daemon_proc_free(daemon_proc *p);

/* The dockerd command line from the docker.service unit and its drop-ins under ROOT. */
int aud_daemon_from_unit(const bwk_audit_opts *o, daemon_proc *out);

/* Overlay dockerd flags onto a daemon.json object (flags win). */
void aud_daemon_apply_cmdline(json_t *cfg, char *const *argv, size_t argc);

/* Read daemon.json: a missing file is an empty object unless `required`. */
int aud_daemon_load_config(const char *path, bool required, json_t **out, bwk_error **err);

#endif
