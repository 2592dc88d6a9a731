/* SQLite, loaded on first use (see lazy.h): the vulnerability database (`bulwark db`, and
 * `bulwark scan` when a database exists) and rpm databases of images (rpmdb.sqlite). */
#include <sqlite3.h>

#include "core/lazy.h"

BWK_LAZY_LIB(sqlite_lib, BWK_SONAME_SQLITE, BWK_PKG_SQLITE)

BWK_LAZY_FN(sqlite_lib, int, sqlite3_open_v2,
	    (const char *name, sqlite3 **db, int flags, const char *vfs), (name, db, flags, vfs))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_close, (sqlite3 * db), (db))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_exec,
	    (sqlite3 * db, const char *sql, int (*cb)(void *, int, char **, char **), void *arg,
	     char **errmsg),
	    (db, sql, cb, arg, errmsg))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_prepare_v2,
	    (sqlite3 * db, const char *sql, int n, sqlite3_stmt **st, const char **tail),
	    (db, sql, n, st, tail))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_bind_text,
	    (sqlite3_stmt * st, int i, const char *v, int n, void (*d)(void *)), (st, i, v, n, d))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_bind_int64, (sqlite3_stmt * st, int i, sqlite3_int64 v),
	    (st, i, v))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_bind_double, (sqlite3_stmt * st, int i, double v), (st, i, v))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_step, (sqlite3_stmt * st), (st))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_reset, (sqlite3_stmt * st), (st))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_finalize, (sqlite3_stmt * st), (st))
BWK_LAZY_FN(sqlite_lib, const unsigned char *, sqlite3_column_text, (sqlite3_stmt * st, int i),
	    (st, i))
BWK_LAZY_FN(sqlite_lib, sqlite3_int64, sqlite3_column_int64, (sqlite3_stmt * st, int i), (st, i))
BWK_LAZY_FN(sqlite_lib, double, sqlite3_column_double, (sqlite3_stmt * st, int i), (st, i))
BWK_LAZY_FN(sqlite_lib, const char *, sqlite3_errmsg, (sqlite3 * db), (db))
BWK_LAZY_VOID(sqlite_lib, sqlite3_free, (void *p), (p))
BWK_LAZY_FN(sqlite_lib, sqlite3_int64, sqlite3_soft_heap_limit64, (sqlite3_int64 n), (n))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_deserialize,
	    (sqlite3 * db, const char *schema, unsigned char *data, sqlite3_int64 n,
	     sqlite3_int64 cap, unsigned flags),
	    (db, schema, data, n, cap, flags))
BWK_LAZY_VOID(sqlite_lib, sqlite3_progress_handler,
	      (sqlite3 * db, int n, int (*cb)(void *), void *arg), (db, n, cb, arg))
BWK_LAZY_FN(sqlite_lib, const void *, sqlite3_column_blob, (sqlite3_stmt * st, int i), (st, i))
BWK_LAZY_FN(sqlite_lib, int, sqlite3_column_bytes, (sqlite3_stmt * st, int i), (st, i))
