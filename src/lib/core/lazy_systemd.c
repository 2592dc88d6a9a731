/* libsystemd's sd-bus, loaded on first use (see lazy.h): only the OCI runtime's
 * --systemd-cgroup needs it, to ask systemd for a transient scope over D-Bus. */
#include <systemd/sd-bus.h>

#include "core/lazy.h"

BWK_LAZY_LIB(systemd_lib, BWK_SONAME_SYSTEMD, BWK_PKG_SYSTEMD)

BWK_LAZY_FN(systemd_lib, int, sd_bus_open_system, (sd_bus * *ret), (ret))
BWK_LAZY_FN(systemd_lib, sd_bus *, sd_bus_flush_close_unref, (sd_bus * bus), (bus))
BWK_LAZY_FN(systemd_lib, int, sd_bus_message_new_method_call,
	    (sd_bus * bus, sd_bus_message **m, const char *destination, const char *path,
	     const char *interface, const char *member),
	    (bus, m, destination, path, interface, member))
BWK_LAZY_FN(systemd_lib, int, sd_bus_message_append_basic,
	    (sd_bus_message * m, char type, const void *p), (m, type, p))
BWK_LAZY_FN(systemd_lib, int, sd_bus_message_open_container,
	    (sd_bus_message * m, char type, const char *contents), (m, type, contents))
BWK_LAZY_FN(systemd_lib, int, sd_bus_message_close_container, (sd_bus_message * m), (m))
BWK_LAZY_FN(systemd_lib, int, sd_bus_call,
	    (sd_bus * bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
	     sd_bus_message **reply),
	    (bus, m, usec, ret_error, reply))
BWK_LAZY_FN(systemd_lib, sd_bus_message *, sd_bus_message_unref, (sd_bus_message * m), (m))
BWK_LAZY_VOID(systemd_lib, sd_bus_error_free, (sd_bus_error * e), (e))
