/* golden_util.h: shared pieces of the golden-file runners: splitting a
 * self-contained golden file into its "# ---- <name>" sections, listing the
 * files of a folder, and running a graph function on random inputs through
 * the reference interpreter to compare two modules numerically. */
#ifndef TESSERA_TESTS_GOLDEN_UTIL_H
#define TESSERA_TESTS_GOLDEN_UTIL_H

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/interp.h"
#include "tessera/script.h"

/* Returns a heap copy of the text of section `name` (between "# ---- name"
 * and the next "# ---- " line), or NULL. */
static inline char *golden_section(const char *text, const char *name) {
  char *hdr = ts_strdup_printf("# ---- %s\n", name);
  const char *p = strstr(text, hdr);
  size_t hl = strlen(hdr);
  free(hdr);
  if (!p) return NULL;
  p += hl;
  const char *e = strstr(p, "\n# ---- ");
  size_t n = e ? (size_t)(e - p) + 1 : strlen(p);
  char *r = ts_xmalloc(n + 1);
  memcpy(r, p, n);
  r[n] = 0;
  return r;
}

/* Sorted list of files in dir ending with suffix (heap strings). */
static inline int golden_list(const char *dir, const char *suffix,
                              char ***out) {
  DIR *d = opendir(dir);
  TS_VEC(char *) v = {0};
  if (d) {
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d))) {
      size_t n = strlen(e->d_name);
      if (n > sl && !strcmp(e->d_name + n - sl, suffix))
        ts_vec_push(&v, ts_strdup_printf("%s/%s", dir, e->d_name));
    }
    closedir(d);
  }
  for (size_t i = 0; i < v.len; i++)
    for (size_t j = i + 1; j < v.len; j++)
      if (strcmp(v.data[i], v.data[j]) > 0) {
        char *t = v.data[i];
        v.data[i] = v.data[j];
        v.data[j] = t;
      }
  *out = v.data;
  return (int)v.len;
}

/* Runs graph function `fname` of a and b on the same random inputs (static
 * shapes; symbolic dimensions take `sym`) and returns the largest
 * |a - b| / max(1, |a|) over all outputs, or -1 on an error (printed). */
static inline double golden_compare_gfunc(ts_module *a, ts_module *b,
                                          const char *fname, uint64_t seed,
                                          int64_t sym) {
  ts_gfunc *fa = ts_module_gfunc(a, fname), *fb = ts_module_gfunc(b, fname);
  if (!fa || !fb) {
    fprintf(stderr, "no graph function '%s'\n", fname);
    return -1;
  }
  int n = fa->n_params;
  ts_value *in = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  double worst = 0;
  for (int i = 0; i < n; i++) {
    ts_sinfo *si = fa->params[i]->sinfo;
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < si->u.tensor.ndim; d++) {
      const ts_expr *x = si->u.tensor.shape[d];
      shape[d] = x->kind == TS_E_INT ? x->u.int_value : sym;
    }
    ts_ndarray *arr;
    ts_status *st = ts_ndarray_create(si->u.tensor.ndim, shape,
                                      si->u.tensor.dtype, &arr);
    if (st) {
      fprintf(stderr, "%s\n", ts_status_render(st));
      ts_status_free(st);
      worst = -1;
      n = i;
      break;
    }
    ts_ndarray_fill_random(arr, seed * 7919 + (uint64_t)i);
    in[i] = (ts_value){TS_VAL_TENSOR, {.tensor = arr}};
  }
  ts_value *oa = NULL, *ob = NULL;
  int na = 0, nb = 0;
  if (worst == 0) {
    ts_status *st = ts_interp_gfunc(a, fa, in, n, &oa, &na);
    if (!st) st = ts_interp_gfunc(b, fb, in, n, &ob, &nb);
    if (st) {
      fprintf(stderr, "%s\n", ts_status_render(st));
      ts_status_free(st);
      worst = -1;
    } else if (na != nb) {
      fprintf(stderr, "output counts differ: %d vs %d\n", na, nb);
      worst = -1;
    } else {
      for (int k = 0; k < na && worst >= 0; k++) {
        ts_ndarray *x = oa[k].u.tensor, *y = ob[k].u.tensor;
        if (ts_ndarray_numel(x) != ts_ndarray_numel(y)) {
          worst = -1;
          break;
        }
        for (int64_t e = 0; e < ts_ndarray_numel(x); e++) {
          double u = ts_ndarray_get_f64(x, e), v = ts_ndarray_get_f64(y, e);
          double d = fabs(u - v) / fmax(1.0, fabs(u));
          if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
        }
      }
    }
  }
  if (oa) ts_interp_free_values(oa, na);
  if (ob) ts_interp_free_values(ob, nb);
  for (int i = 0; i < n; i++) ts_ndarray_release(in[i].u.tensor);
  free(in);
  return worst;
}

#endif
