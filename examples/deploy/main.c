/* main.c: the deployment story.  Loads an artifact built by `tessera build`,
 * reads the inputs of "main" from .npy files, runs it and writes
 * output_<i>.npy.  Links only libtessera_runtime.
 *
 *   deploy_example model.so x.npy [more.npy ...] */
#include <stdio.h>
#include <stdlib.h>

#include "tessera/vm.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s ARTIFACT.so [INPUT.npy]...\n", argv[0]);
    return 2;
  }
  ts_artifact *art = NULL;
  ts_status *st = ts_artifact_load(argv[1], &art);
  int n_in = argc - 2, n_out = 0;
  ts_value *in = calloc((size_t)n_in + 1, sizeof *in), *out = NULL;
  for (int i = 0; i < n_in && !st; i++) {
    in[i].kind = TS_VAL_TENSOR;
    st = ts_npy_read(argv[2 + i], &in[i].u.tensor);
  }
  if (!st) st = ts_artifact_run(art, "main", in, n_in, &out, &n_out);
  for (int i = 0; i < n_out && !st; i++) {
    char name[32], desc[128];
    snprintf(name, sizeof name, "output_%d.npy", i);
    if (out[i].kind != TS_VAL_TENSOR) continue;
    st = ts_npy_write(name, out[i].u.tensor);
    if (!st) printf("%s: %s\n", name, ts_ndarray_describe(out[i].u.tensor, desc, sizeof desc));
  }
  int rc = st ? 1 : 0;
  if (st) fprintf(stderr, "%s\n", ts_status_render(st));
  for (int i = 0; i < n_in; i++)
    if (in[i].u.tensor) ts_ndarray_release(in[i].u.tensor);
  free(in);
  ts_artifact_free_values(out, n_out);
  ts_artifact_release(art);
  ts_status_free(st);
  return rc;
}
