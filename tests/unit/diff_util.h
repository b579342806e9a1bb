/* diff_util.h: compiled code against the reference interpreter, shared by
 * test_differential.c and test_rules.c.  diff_primfunc runs one TensorIR
 * function (one kernel of an artifact) and diff_gfunc one graph function on
 * random inputs both ways; symbolic dimensions take `sym`.  Tolerances:
 * float32 1e-4 relative to max(1, |ref|), float64 1e-10, float16 1e-2,
 * integers and bools exact.  The counters `compared` and `skipped` are the
 * including test's. */
#ifndef TESSERA_TESTS_DIFF_UTIL_H
#define TESSERA_TESTS_DIFF_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "golden_util.h"
#include "tessera/vm.h"

static int compared = 0, skipped = 0;

typedef struct bind {
  const ts_var *v;
  int64_t value;
} bind;

static bool eval_dim(const ts_expr *e, const bind *b, int nb, int64_t sym,
                     int64_t *out) {
  switch (e->kind) {
  case TS_E_INT: *out = e->u.int_value; return true;
  case TS_E_VAR:
    for (int i = 0; i < nb; i++)
      if (b[i].v == e->u.var) {
        *out = b[i].value;
        return true;
      }
    *out = sym;
    return true;
  case TS_E_ADD: case TS_E_SUB: case TS_E_MUL: case TS_E_FLOORDIV: {
    int64_t x, y;
    if (!eval_dim(e->u.bin.a, b, nb, sym, &x) || !eval_dim(e->u.bin.b, b, nb, sym, &y))
      return false;
    *out = e->kind == TS_E_ADD ? x + y : e->kind == TS_E_SUB ? x - y
           : e->kind == TS_E_MUL ? x * y : (y ? x / y : 0);
    return true;
  }
  default: return false;
  }
}

static double tolerance(ts_dtype t) {
  if (t.code == TS_FLOAT && t.bits == 64) return 1e-10;
  if (t.code == TS_FLOAT && t.bits == 16) return 1e-2;
  if (ts_dtype_is_float(t)) return 1e-4;
  return 0;
}

static double max_rel_diff(const ts_ndarray *ref, const ts_ndarray *got) {
  double worst = 0;
  if (ts_ndarray_numel(ref) != ts_ndarray_numel(got)) return INFINITY;
  for (int64_t i = 0; i < ts_ndarray_numel(ref); i++) {
    double r = ts_ndarray_get_f64(ref, i), g = ts_ndarray_get_f64(got, i);
    if (isnan(r) && isnan(g)) continue;
    double d = fabs(r - g) / fmax(1.0, fabs(r));
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

static bool has_symbolic(const ts_primfunc *f) {
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer)
      for (int d = 0; d < f->params[i].buffer->ndim; d++)
        if (f->params[i].buffer->shape[d]->kind != TS_E_INT) return true;
  return false;
}

static void diff_primfunc(const char *file, ts_module *ref, ts_primfunc *f,
                          ts_artifact *art, int64_t sym) {
  const ts_artifact_param *ps;
  int n;
  ts_status *st = ts_artifact_kernel_params(art, f->name, &ps, &n);
  if (st) {
    CHECK_FAIL_("%s: %s: %s", file, f->name, ts_status_message(st));
    ts_status_free(st);
    return;
  }
  ts_value *a1 = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  ts_value *a2 = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  bind binds[16];
  int nb = 0;
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    const ts_param *p = &f->params[i];
    if (!p->buffer) {
      a1[i] = a2[i] = (ts_value){TS_VAL_INT, {.i = sym}};
      if (nb < 16) binds[nb++] = (bind){p->var, sym};
      continue;
    }
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < p->buffer->ndim; d++) {
      const ts_expr *x = p->buffer->shape[d];
      if (!eval_dim(x, binds, nb, sym, &shape[d])) ok = false;
      if (x->kind == TS_E_VAR && nb < 16) binds[nb++] = (bind){x->u.var, shape[d]};
    }
    if (!ok) break;
    ts_ndarray *x, *y;
    CHECK_OK(ts_ndarray_create(p->buffer->ndim, shape, p->buffer->dtype, &x));
    CHECK_OK(ts_ndarray_create(p->buffer->ndim, shape, p->buffer->dtype, &y));
    ts_ndarray_fill_random(x, 17 + (uint64_t)i);
    memcpy(ts_ndarray_data(y), ts_ndarray_data(x), ts_ndarray_nbytes(x));
    a1[i] = (ts_value){TS_VAL_TENSOR, {.tensor = x}};
    a2[i] = (ts_value){TS_VAL_TENSOR, {.tensor = y}};
  }
  if (ok) {
    ts_status *s1 = ts_interp_primfunc(ref, ts_module_primfunc(ref, f->name), a1, n);
    if (s1) {
      /* e.g. a division by a random zero: not a compiled-code question */
      fprintf(stderr, "  skip %s: %s: interpreter: %s\n", file, f->name,
              ts_status_message(s1));
      ts_status_free(s1);
      skipped++;
    } else {
      ts_status *s2 = ts_artifact_call_kernel(art, f->name, a2, n);
      if (s2) {
        CHECK_FAIL_("%s: %s: compiled: %s", file, f->name, ts_status_message(s2));
        ts_status_free(s2);
      } else {
        compared++;
        for (int i = 0; i < n; i++) {
          if (a1[i].kind != TS_VAL_TENSOR) continue;
          ts_dtype t = ts_ndarray_dtype(a1[i].u.tensor);
          double d = max_rel_diff(a1[i].u.tensor, a2[i].u.tensor);
          if (d > tolerance(t))
            CHECK_FAIL_("%s: %s (n=%lld): buffer %d differs by %g", file, f->name,
                        (long long)sym, i, d);
        }
      }
    }
  } else {
    fprintf(stderr, "  skip %s: %s: cannot size its buffers\n", file, f->name);
    skipped++;
  }
  for (int i = 0; i < n; i++) {
    if (a1[i].kind == TS_VAL_TENSOR && a1[i].u.tensor) ts_ndarray_release(a1[i].u.tensor);
    if (a2[i].kind == TS_VAL_TENSOR && a2[i].u.tensor) ts_ndarray_release(a2[i].u.tensor);
  }
  free(a1);
  free(a2);
}

static void diff_gfunc(const char *file, ts_module *ref, ts_gfunc *g,
                       ts_artifact *art, int64_t sym) {
  int n = g->n_params;
  ts_value *in = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    ts_sinfo *si = g->params[i]->sinfo;
    if (!si || si->kind != TS_SI_TENSOR || !si->u.tensor.shape) {
      ok = false;
      break;
    }
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < si->u.tensor.ndim; d++)
      if (!eval_dim(si->u.tensor.shape[d], NULL, 0, sym, &shape[d])) ok = false;
    if (!ok) break;
    ts_ndarray *x;
    CHECK_OK(ts_ndarray_create(si->u.tensor.ndim, shape, si->u.tensor.dtype, &x));
    ts_ndarray_fill_random(x, 31 + (uint64_t)i);
    in[i] = (ts_value){TS_VAL_TENSOR, {.tensor = x}};
  }
  ts_value *o1 = NULL, *o2 = NULL;
  int n1 = 0, n2 = 0;
  if (!ok) {
    fprintf(stderr, "  skip %s: %s: non-tensor parameters\n", file, g->name);
    skipped++;
  } else {
    ts_status *s1 = ts_interp_gfunc(ref, ts_module_gfunc(ref, g->name), in, n, &o1, &n1);
    if (s1) {
      fprintf(stderr, "  skip %s: %s: interpreter: %s\n", file, g->name,
              ts_status_message(s1));
      ts_status_free(s1);
      skipped++;
    } else {
      ts_status *s2 = ts_artifact_run(art, g->name, in, n, &o2, &n2);
      if (s2) {
        CHECK_FAIL_("%s: %s: compiled: %s", file, g->name, ts_status_message(s2));
        ts_status_free(s2);
      } else if (n1 != n2) {
        CHECK_FAIL_("%s: %s: %d outputs vs %d", file, g->name, n1, n2);
      } else {
        compared++;
        for (int i = 0; i < n1; i++) {
          if (o1[i].kind != TS_VAL_TENSOR) continue;
          double d = max_rel_diff(o1[i].u.tensor, o2[i].u.tensor);
          if (d > tolerance(ts_ndarray_dtype(o1[i].u.tensor)))
            CHECK_FAIL_("%s: %s (n=%lld): output %d differs by %g", file, g->name,
                        (long long)sym, i, d);
        }
      }
    }
  }
  if (o1) ts_interp_free_values(o1, n1);
  if (o2) ts_artifact_free_values(o2, n2);
  for (int i = 0; i < n; i++)
    if (in[i].u.tensor) ts_ndarray_release(in[i].u.tensor);
  free(in);
}

#endif
