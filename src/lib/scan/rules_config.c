/* The one table of image best-practice rules (category config). Each row is defined beside its
 * check (rules_image_config.c, rules_history.c, rules_hygiene.c, rules_accounts.c) with its id,
 * severity, risk, fix and references (CIS Docker Benchmark, Dockle's CIS-DI/DKL ids); this list
 * is what the scanner runs, `bulwark rules` lists and the coverage records. Adding a rule is one
 * row plus its unit test (tests/unit/test_config_rules.c). docs/scan-config.md maps it to
 * Dockle. */
#include "scan/scan_private.h"

#define ROWS(X)                                                                                    \
	X(user_root)                                                                               \
	X(user_unknown)                                                                            \
	X(empty_password)                                                                          \
	X(extra_uid0)                                                                              \
	X(duplicate_uid)                                                                           \
	X(service_password)                                                                        \
	X(setuid)                                                                                  \
	X(world_writable)                                                                          \
	X(world_writable_file)                                                                     \
	X(owner_unknown)                                                                           \
	X(add_remote)                                                                              \
	X(pipe_shell)                                                                              \
	X(update_alone)                                                                            \
	X(pkg_cache)                                                                               \
	X(sudo)                                                                                    \
	X(sshd)                                                                                    \
	X(base_latest)                                                                             \
	X(arg_secret)                                                                              \
	X(admin_port)                                                                              \
	X(no_healthcheck)                                                                          \
	X(shell_form)                                                                              \
	X(stopsignal)                                                                              \
	X(volume_system)

#define DECLARE(name) extern const bwk_config_rule bwk_rule_row_##name;
ROWS(DECLARE)
#undef DECLARE

#define ROW(name) &bwk_rule_row_##name,
const bwk_config_rule *const bwk_config_rules[] = {ROWS(ROW) NULL};
#undef ROW
