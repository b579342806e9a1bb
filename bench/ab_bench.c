/* ab_bench.c: interleaved A/B timing of artifacts that share a signature
 * (the same model built two ways), in one process, so that a host whose
 * speed drifts by tens of percent within minutes still gives comparable
 * numbers.  Each round runs every artifact's `main` once untimed, then
 * times a batch of calls (>= 2 ms) per artifact, in turn; the report gives
 * per artifact the median and the minimum of the batch means and the
 * median's ratio to the first artifact's.  Inputs are random (the first
 * artifact's parameters, seed 1); threads from TESSERA_NUM_THREADS.
 *
 * build: cc -O2 -Iinclude bench/ab_bench.c -Lbuild -ltessera_runtime
 *          -Wl,-rpath,$PWD/build -o build/ab_bench
 * usage: build/ab_bench [-n ROUNDS] [-f FUNC] A.so B.so ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera/runtime.h"
#include "tessera/vm.h"

enum { MAX_ART = 16 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run_once(ts_artifact *a, const char *func, const ts_value *in,
                    int n_in) {
  ts_value *out = NULL;
  int n_out = 0;
  ts_status *st = ts_artifact_run(a, func, in, n_in, &out, &n_out);
  if (st) {
    fprintf(stderr, "ab_bench: %s\n", ts_status_message(st));
    ts_status_free(st);
    return 1;
  }
  ts_artifact_free_values(out, n_out);
  return 0;
}

int main(int argc, char **argv) {
  int rounds = 31, i = 1;
  const char *func = "main";
  for (; i < argc && argv[i][0] == '-'; i += 2) {
    if (i + 1 >= argc)
      break;
    if (!strcmp(argv[i], "-n"))
      rounds = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "-f"))
      func = argv[i + 1];
    else
      break;
  }
  int na = argc - i;
  if (na < 1 || na > MAX_ART || rounds < 1) {
    fprintf(stderr,
            "usage: %s [-n ROUNDS] [-f FUNC] A.so B.so ... (at most %d)\n",
            argv[0], MAX_ART);
    return 2;
  }
  ts_artifact *art[MAX_ART];
  for (int a = 0; a < na; a++) {
    ts_status *st = ts_artifact_load(argv[i + a], &art[a]);
    if (st) {
      fprintf(stderr, "ab_bench: %s\n", ts_status_message(st));
      return 1;
    }
  }
  const ts_artifact_param *ps;
  int np;
  ts_status *st = ts_artifact_function_params(art[0], func, &ps, &np);
  if (st) {
    fprintf(stderr, "ab_bench: %s\n", ts_status_message(st));
    return 1;
  }
  ts_value *in = calloc((size_t)np + 1, sizeof *in);
  for (int p = 0; p < np; p++) {
    ts_ndarray *x;
    for (int d = 0; d < ps[p].ndim; d++)
      if (ps[p].shape[d] < 0) {
        fprintf(stderr, "ab_bench: parameter '%s' has a symbolic shape\n",
                ps[p].name);
        return 1;
      }
    st = ts_ndarray_create(ps[p].ndim, ps[p].shape, ps[p].dtype, &x);
    if (st) {
      fprintf(stderr, "ab_bench: %s\n", ts_status_message(st));
      return 1;
    }
    ts_ndarray_fill_random(x, 1 + (uint64_t)p);
    in[p].kind = TS_VAL_TENSOR;
    in[p].u.tensor = x;
  }
  /* batch sizes: calls per >= 2 ms, from a 0.2 s warm-up of each */
  int batch[MAX_ART];
  for (int a = 0; a < na; a++) {
    double t0 = now(), t;
    int n = 0;
    do {
      if (run_once(art[a], func, in, np))
        return 1;
      n++;
      t = now() - t0;
    } while (t < 0.2);
    batch[a] = t / n >= 2e-3 ? 1 : (int)(2e-3 / (t / n)) + 1;
  }
  double *s = calloc((size_t)na * (size_t)rounds, sizeof *s);
  for (int r = 0; r < rounds; r++)
    for (int a = 0; a < na; a++) {
      if (run_once(art[a], func, in, np))
        return 1;
      double t0 = now();
      for (int b = 0; b < batch[a]; b++)
        if (run_once(art[a], func, in, np))
          return 1;
      s[a * rounds + r] = (now() - t0) / batch[a] * 1e3;
    }
  double med0 = 0;
  for (int a = 0; a < na; a++) {
    qsort(s + a * rounds, (size_t)rounds, sizeof *s, cmp);
    double med = s[a * rounds + rounds / 2], mn = s[a * rounds];
    if (a == 0)
      med0 = med;
    printf("%-40s median_ms=%.4f min_ms=%.4f ratio_to_first=%.3f\n",
           argv[i + a], med, mn, med / med0);
  }
  for (int p = 0; p < np; p++)
    ts_ndarray_release(in[p].u.tensor);
  free(in);
  free(s);
  for (int a = 0; a < na; a++)
    ts_artifact_release(art[a]);
  return 0;
}
