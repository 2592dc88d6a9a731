/* bulwark — where the library's messages go (crun's error.h).
 *
 * The library never writes to the process's stderr (docs/design/errors.md rule 5): warnings
 * ("a setuid bit was removed"), notes ("capabilities were dropped"), progress ("scanning layer
 * 2 of 5") and fatal load failures are handed to the output the caller installs with
 * bwk_output_set(). With none installed they are dropped. The CLI installs one that prints
 * "bulwark: warning: …" on stderr (src/cli/main.c).
 *
 * Nor does the library name the caller's flags: a message that tells the user which setting to
 * change asks bwk_setting() for the caller's name of it ("--ca-cert" for the CLI, which maps
 * the key to a flag through its option tables) and says the setting in words otherwise ("the
 * CA certificate").
 *
 * Two processes are the exception, by design as in runc and crun: the sandbox's child between
 * fork and exec, and an OCI container's init once it has left its parent, write to the
 * container's stderr, the only channel they have left (src/lib/sandbox/mounts.c,
 * oci_create.c). And "out of memory" is written with write(2) before abort(), where nothing can
 * be allocated (src/lib/core/util.c). scripts/lint.sh checks that nothing else in src/lib
 * writes to stderr.
 */
#ifndef BULWARK_LOG_H
#define BULWARK_LOG_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bwk_log_level {
	BWK_LOG_FATAL,	  /* the process exits after it (a library that cannot be loaded) */
	BWK_LOG_WARNING,  /* a relaxed default, a stripped bit, a skipped entry, a failed hook */
	BWK_LOG_NOTE,	  /* something the user may want to know (privileges dropped) */
	BWK_LOG_INFO,	  /* an outcome the user asked for (a file downloaded) */
	BWK_LOG_PROGRESS, /* a line that replaces the previous one; "" ends the progress line */
} bwk_log_level;

typedef struct bwk_output {
	/* One message, without the "bulwark: " prefix and without a newline. Called from any
	 * thread (layers are walked on threads): the callee serialises its writes. */
	void (*log)(bwk_log_level level, const char *msg, void *data);
	/* The caller's name of a setting, e.g. "--ca-cert" for the key "ca-cert", or NULL when it
	 * has none; the string lives as long as the output is installed. NULL: none has names. */
	const char *(*setting)(const char *key, void *data);
	void *data;
	bool progress; /* the caller shows progress lines (the CLI: stderr is a terminal) */
} bwk_output;

/* Install `o` (copied) for the whole process; NULL removes it. Call before other threads use
 * the library. */
void bwk_output_set(const bwk_output *o);

/* Hand one formatted message to the installed output (dropped when there is none). */
void bwk_log(bwk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True when the installed output shows progress lines. */
bool bwk_log_progress(void);

/* The caller's name of the setting `key`, else `words` (the setting said in words). */
const char *bwk_setting(const char *key, const char *words);

#ifdef __cplusplus
}
#endif

#endif
