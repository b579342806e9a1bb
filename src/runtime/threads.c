/* threads.c: the runtime's thread pool setting.  Generated kernels use
 * OpenMP; the runtime links libgomp itself (and calls it here), so the
 * OpenMP runtime stays loaded for the life of the process: if only an
 * artifact pulled it in, dlclose of the artifact would unmap libgomp under
 * its idle worker threads. */
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

#include "tessera/runtime.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int n_threads;

static void init_threads(void) {
  const char *s = getenv("TESSERA_NUM_THREADS");
  char *end;
  long v = s ? strtol(s, &end, 10) : 0;
  if (s && *s && !*end && v > 0 && v <= 4096) omp_set_num_threads((int)v);
  n_threads = omp_get_max_threads();
}

int ts_runtime_num_threads(void) {
  pthread_once(&once, init_threads);
  return n_threads;
}
