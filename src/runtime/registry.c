/* registry.c: the global table of library functions, name -> (fn,
 * user_data).  A linear array under one mutex: the table holds tens of
 * entries and lookups happen at load time, not per element.  Names are
 * copied; entries live until the process ends (replaced entries keep their
 * slot).  Calls run outside the lock so a function may call the registry.
 *
 * A name ending in '*' registers a family ("env.dnnl.conv2d.*"): the first
 * lookup of an unknown name with that prefix adds an exact entry for it whose
 * user_data is the entry's own copy of the full name, so the function can
 * parse attributes encoded in the name. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/runtime.h"

typedef struct entry {
  char *name;
  ts_packed_fn fn;
  void *user_data;
} entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static TS_VEC(entry) g_entries;

/* Index of `name` or -1; the caller holds g_lock. */
static long find_locked(const char *name) {
  for (size_t i = 0; i < g_entries.len; i++)
    if (strcmp(g_entries.data[i].name, name) == 0)
      return (long)i;
  return -1;
}

/* find_locked, then the families: an entry "prefix*" matching `name` is
 * instantiated as an exact entry (user_data: its name). */
static long resolve_locked(const char *name) {
  long i = find_locked(name);
  if (i >= 0)
    return i;
  for (size_t k = 0; k < g_entries.len; k++) {
    const char *f = g_entries.data[k].name;
    size_t n = strlen(f);
    if (n == 0 || f[n - 1] != '*' || strncmp(f, name, n - 1) != 0)
      continue;
    char *copy = ts_xstrdup(name);
    entry e = {copy, g_entries.data[k].fn, copy};
    ts_vec_push(&g_entries, e);
    return (long)g_entries.len - 1;
  }
  return -1;
}

ts_status *ts_registry_register(const char *name, ts_packed_fn fn,
                                void *user_data, bool override) {
  if (!name || !*name)
    return ts_error(TS_ERR_VALUE, "library function name is empty");
  if (!fn)
    return ts_error(TS_ERR_VALUE, "library function '%s' has no function",
                    name);
  pthread_mutex_lock(&g_lock);
  long i = find_locked(name);
  if (i >= 0 && !override) {
    pthread_mutex_unlock(&g_lock);
    return ts_error(TS_ERR_NAME, "library function '%s' is already registered",
                    name);
  }
  if (i >= 0) {
    g_entries.data[i].fn = fn;
    g_entries.data[i].user_data = user_data;
  } else {
    entry e = {ts_xstrdup(name), fn, user_data};
    ts_vec_push(&g_entries, e);
  }
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

bool ts_registry_lookup(const char *name, ts_packed_fn *out_fn,
                        void **out_user_data) {
  if (!name)
    return false;
  pthread_mutex_lock(&g_lock);
  long i = resolve_locked(name);
  if (i >= 0) {
    if (out_fn)
      *out_fn = g_entries.data[i].fn;
    if (out_user_data)
      *out_user_data = g_entries.data[i].user_data;
  }
  pthread_mutex_unlock(&g_lock);
  return i >= 0;
}

ts_status *ts_registry_call(const char *name, const ts_value *args,
                            int n_args) {
  ts_packed_fn fn;
  void *user_data;
  if (!ts_registry_lookup(name, &fn, &user_data))
    return ts_error(TS_ERR_NAME, "unresolved library function '%s'",
                    name ? name : "(null)");
  return fn(args, n_args, user_data);
}
