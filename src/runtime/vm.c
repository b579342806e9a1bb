/* vm.c: the bytecode interpreter (see bytecode.h for the machine).
 *
 * Values are tagged: tensor (one NDArray reference), tuple (refcounted
 * array of values), int64.  A register owns one reference to its value;
 * MOVE and TUPLE_GET share by retaining.  Indices were verified at load, so
 * dispatch reads operands unchecked; only value kinds (dynamic, since a
 * CALL_FUNC result's kind is) and kernel argument shapes are checked here.
 * Every error names the function and, where there is one, the parameter,
 * the binding and the dimension. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/artifact_internal.h"
#include "runtime/ndarray_internal.h"

enum { V_NONE, V_TENSOR, V_TUPLE, V_INT };

typedef struct vm_tuple vm_tuple;
typedef struct vm_val {
  int kind;
  union {
    ts_ndarray *t;
    vm_tuple *tup;
    int64_t i;
  } u;
} vm_val;

struct vm_tuple {
  int refcount;
  uint32_t n;
  vm_val items[];
};

static void val_release(vm_val *v) {
  if (v->kind == V_TENSOR) {
    ts_ndarray_release(v->u.t);
  } else if (v->kind == V_TUPLE && --v->u.tup->refcount == 0) {
    for (uint32_t i = 0; i < v->u.tup->n; i++) val_release(&v->u.tup->items[i]);
    free(v->u.tup);
  }
  v->kind = V_NONE;
}

static vm_val val_retain(vm_val v) {
  if (v.kind == V_TENSOR) ts_ndarray_retain(v.u.t);
  else if (v.kind == V_TUPLE) v.u.tup->refcount++;
  return v;
}

/* A storage token of `nb` bytes: a pooled one that no run holds (the
 * smallest that fits), or a new one, kept in the pool while there is room.
 * The caller owns one reference. */
static ts_status *storage_take(ts_artifact *a, int64_t nb, ts_ndarray **out) {
  while (__atomic_exchange_n(&a->pool_lock, 1, __ATOMIC_ACQUIRE)) {
  }
  int best = -1;
  for (int i = 0; i < a->n_pool; i++) {
    size_t have = ts_ndarray_nbytes(a->pool[i]);
    if (have >= (size_t)nb && ts_ndarray_is_unique(a->pool[i]) &&
        (best < 0 || have < ts_ndarray_nbytes(a->pool[best])))
      best = i;
  }
  ts_status *st = NULL;
  if (best >= 0) {
    *out = ts_ndarray_retain(a->pool[best]);
  } else {
    st = ts_ndarray_create_uninit(1, &nb, TS_DT(TS_UINT, 8), out);
    if (!st && a->n_pool < TS_STORAGE_POOL) a->pool[a->n_pool++] = ts_ndarray_retain(*out);
  }
  __atomic_store_n(&a->pool_lock, 0, __ATOMIC_RELEASE);
  return st;
}

uint64_t ts_artifact_storage_pool_bytes(ts_artifact *a) {
  while (__atomic_exchange_n(&a->pool_lock, 1, __ATOMIC_ACQUIRE)) {
  }
  uint64_t n = 0;
  for (int i = 0; i < a->n_pool; i++) n += ts_ndarray_nbytes(a->pool[i]);
  __atomic_store_n(&a->pool_lock, 0, __ATOMIC_RELEASE);
  return n;
}

static void set_reg(vm_val *r, vm_val v) {
  vm_val old = *r;
  *r = v;
  val_release(&old);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t dim_val(const uint32_t *d, const int64_t *slots) {
  int64_t v = ts_bc_dim_value(d);
  return d[0] == TS_BC_DIM_IMM ? v : slots[v];
}

static int64_t floordiv64(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- kernel argument checks ------------------------------------------------ */

ts_status *ts_vm_check_kernel_args(const ts_artifact *a, uint32_t ki,
                                   const ts_kernel_arg *args) {
  const ts_bc_program *p = a->prog;
  const ts_bc_kernel *k = &p->kernels[ki];
  int64_t small_vals[32];
  bool small_set[32];
  int64_t *vals = small_vals;
  bool *set = small_set;
  if (k->n_vars > 32) {
    vals = ts_xcalloc(k->n_vars, sizeof *vals);
    set = ts_xcalloc(k->n_vars, sizeof *set);
  }
  memset(set, 0, (k->n_vars > 32 ? k->n_vars : 32) * sizeof *set);
  ts_status *st = NULL;
  const char *kn = p->strings[k->name];
  char b1[32], b2[32];
  for (uint32_t i = 0; i < k->n_params && !st; i++) {
    const ts_bc_kparam *kp = &k->params[i];
    const char *pn = p->strings[kp->name];
    if (!(kp->flags & TS_BC_KPARAM_BUFFER)) {
      if (kp->var == TS_BC_NO_VAR) continue;
      if (set[kp->var] && vals[kp->var] != args[i].i)
        st = ts_error(TS_ERR_TYPE, "kernel '%s': parameter '%s' is %lld, inconsistent with "
                      "an earlier argument (%lld)", kn, pn, (long long)args[i].i,
                      (long long)vals[kp->var]);
      set[kp->var] = true;
      vals[kp->var] = args[i].i;
      continue;
    }
    const DLTensor *t = args[i].tensor;
    ts_dtype dt;
    if (!ts_dtype_from_dl(t->dtype, &dt) || !ts_dtype_eq(dt, kp->dtype)) {
      st = ts_error(TS_ERR_TYPE, "kernel '%s': parameter '%s': expected %s, got %s", kn, pn,
                    ts_dtype_str(kp->dtype, b1), ts_dtype_str(dt, b2));
      break;
    }
    if ((uint32_t)t->ndim != kp->ndim) {
      st = ts_error(TS_ERR_TYPE, "kernel '%s': parameter '%s': expected rank %u, got rank %d",
                    kn, pn, kp->ndim, t->ndim);
      break;
    }
    for (uint32_t d = 0; d < kp->ndim && !st; d++) {
      const uint32_t *dd = kp->dims + 3 * d;
      int64_t v = ts_bc_dim_value(dd), got = t->shape[d];
      if (dd[0] == TS_BC_DIM_IMM && got != v)
        st = ts_error(TS_ERR_TYPE, "kernel '%s': parameter '%s': dimension %u is %lld, got %lld",
                      kn, pn, d, (long long)v, (long long)got);
      else if (dd[0] == TS_BC_DIM_SLOT && set[v] && vals[v] != got)
        st = ts_error(TS_ERR_TYPE,
                      "kernel '%s': parameter '%s': dimension %u is %lld from an earlier "
                      "argument, got %lld", kn, pn, d, (long long)vals[v], (long long)got);
      else if (dd[0] == TS_BC_DIM_SLOT) {
        set[v] = true;
        vals[v] = got;
      }
    }
  }
  if (vals != small_vals) {
    free(vals);
    free(set);
  }
  return st;
}

/* ---- dumping -------------------------------------------------------------------- */

static ts_status *dump_tensor(const ts_artifact *a, const char *binding,
                              const char *suffix, ts_ndarray *t) {
  ts_strbuf path = {0};
  ts_strbuf_printf(&path, "%s/", a->dump_dir);
  for (const char *c = binding; *c; c++) {
    char ch = *c;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
    ts_strbuf_appendn(&path, ok ? &ch : "_", 1);
  }
  ts_strbuf_printf(&path, "__%s.npy", suffix);
  ts_status *st = ts_npy_write(path.data, t);
  ts_strbuf_free(&path);
  return st;
}

static ts_status *dump_call(const ts_artifact *a, const char *binding,
                            vm_val *regs, const uint32_t *r, uint32_t nin,
                            uint32_t nout, bool outputs) {
  char suffix[32];
  uint32_t lo = outputs ? nin : 0, hi = outputs ? nin + nout : nin;
  for (uint32_t i = lo; i < hi; i++) {
    if (outputs && nout == 1) snprintf(suffix, sizeof suffix, "out");
    else if (outputs) snprintf(suffix, sizeof suffix, "out%u", i - nin);
    else snprintf(suffix, sizeof suffix, "in%u", i);
    TS_RETURN_IF_ERROR(dump_tensor(a, binding, suffix, regs[r[i]].u.t));
  }
  return NULL;
}

/* ---- dispatch ----------------------------------------------------------------- */

static const char *const arith_sym[] = {"+", "-", "*", "//", "%", "min", "max"};

static ts_status *run_func(ts_artifact *a, uint32_t fi, const vm_val *args,
                           int depth, vm_val *out);

static ts_status *need_tensors(const char *fname, const char *what,
                               const vm_val *regs, const uint32_t *r, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (regs[r[i]].kind != V_TENSOR)
      return ts_error(TS_ERR_RUNTIME, "%s: %s: argument %u is not a tensor", fname,
                      what, i);
  return NULL;
}

static ts_status *exec(ts_artifact *a, const ts_bc_func *f, vm_val *regs,
                       int64_t *slots, int depth, vm_val *out) {
  const ts_bc_program *p = a->prog;
  const char *fname = p->strings[f->name];
  const char *const *S = (const char *const *)p->strings;
  char b1[32], b2[32];
  const uint32_t *pc = f->code;
  for (;;) {
    const uint32_t *w = pc;
    pc += w[0] >> 8;
    switch (w[0] & 0xff) {
    case TS_BC_MATCH_TENSOR: {
      const vm_val *v = &regs[w[1]];
      const char *what = S[w[2]];
      if (v->kind != V_TENSOR)
        return ts_error(TS_ERR_TYPE, "%s: %s: expected a tensor", fname, what);
      ts_ndarray *t = v->u.t;
      ts_dtype want = ts_bc_word_dtype(w[3]), got = ts_ndarray_dtype(t);
      if (want.code != TS_VOID && !ts_dtype_eq(want, got))
        return ts_error(TS_ERR_TYPE, "%s: %s: expected %s, got %s", fname, what,
                        ts_dtype_str(want, b1), ts_dtype_str(got, b2));
      if (w[4] == TS_BC_ANY_RANK) break;
      int nd = ts_ndarray_ndim(t);
      if ((uint32_t)nd != w[4])
        return ts_error(TS_ERR_TYPE, "%s: %s: expected rank %u, got rank %d", fname, what,
                        w[4], nd);
      const int64_t *shape = ts_ndarray_shape(t);
      for (uint32_t d = 0; d < w[4]; d++) {
        const uint32_t *dd = w + 5 + 3 * d;
        int64_t val = ts_bc_dim_value(dd);
        switch (dd[0]) {
        case TS_BC_DIM_IMM:
          if (shape[d] != val)
            return ts_error(TS_ERR_TYPE, "%s: %s: dimension %u is %lld, got %lld", fname,
                            what, d, (long long)val, (long long)shape[d]);
          break;
        case TS_BC_DIM_SLOT:
          if (shape[d] != slots[val]) {
            const char *sn = S[f->slot_names[val]];
            return ts_error(TS_ERR_TYPE,
                            "%s: %s: dimension %u%s%s%s is %lld from an earlier argument, "
                            "got %lld", fname, what, d, *sn ? " (" : "", sn, *sn ? ")" : "",
                            (long long)slots[val], (long long)shape[d]);
          }
          break;
        case TS_BC_DIM_BIND: slots[val] = shape[d]; break;
        default: break;
        }
      }
      break;
    }
    case TS_BC_SHAPE_ARITH: {
      int64_t x = dim_val(w + 3, slots), y = dim_val(w + 6, slots), r = 0;
      bool ovf = false;
      switch (w[2]) {
      case TS_BC_ADD: ovf = __builtin_add_overflow(x, y, &r); break;
      case TS_BC_SUB: ovf = __builtin_sub_overflow(x, y, &r); break;
      case TS_BC_MUL: ovf = __builtin_mul_overflow(x, y, &r); break;
      case TS_BC_FLOORDIV:
      case TS_BC_FLOORMOD:
        if (y == 0 || (x == INT64_MIN && y == -1)) {
          ovf = true;
          break;
        }
        r = floordiv64(x, y);
        if (w[2] == TS_BC_FLOORMOD) r = x - r * y;
        break;
      case TS_BC_MIN: r = x < y ? x : y; break;
      default: r = x > y ? x : y; break;
      }
      if (ovf)
        return ts_error(TS_ERR_RUNTIME, "%s: shape arithmetic %lld %s %lld is undefined",
                        fname, (long long)x, arith_sym[w[2]], (long long)y);
      slots[w[1]] = r;
      break;
    }
    case TS_BC_ALLOC: {
      int64_t shape[TS_MAX_NDIM];
      for (uint32_t d = 0; d < w[3]; d++) shape[d] = dim_val(w + 4 + 3 * d, slots);
      ts_ndarray *t;
      /* uninitialized: the kernel that produces it writes every element
       * (zeroing the stem's 3.2 MB result was 6% of its run) */
      ts_status *st = ts_ndarray_create_uninit((int)w[3], shape, ts_bc_word_dtype(w[2]), &t);
      if (st) return ts_status_annotate(st, "in function %s", fname);
      __atomic_fetch_add(&a->alloc_bytes, (uint64_t)ts_ndarray_nbytes(t), __ATOMIC_RELAXED);
      set_reg(&regs[w[1]], (vm_val){.kind = V_TENSOR, .u.t = t});
      break;
    }
    case TS_BC_ALLOC_STORAGE: {
      int64_t nb = dim_val(w + 2, slots);
      if (nb < 0)
        return ts_error(TS_ERR_RUNTIME, "%s: storage of %lld bytes", fname, (long long)nb);
      ts_ndarray *t;
      ts_status *st = storage_take(a, nb, &t);
      if (st) return ts_status_annotate(st, "in function %s", fname);
      __atomic_fetch_add(&a->alloc_bytes, (uint64_t)nb, __ATOMIC_RELAXED);
      set_reg(&regs[w[1]], (vm_val){.kind = V_TENSOR, .u.t = t});
      break;
    }
    case TS_BC_ALLOC_TENSOR: {
      const vm_val *sv = &regs[w[2]];
      if (sv->kind != V_TENSOR)
        return ts_error(TS_ERR_RUNTIME, "%s: alloc_tensor: r%u is not a storage", fname, w[2]);
      int64_t shape[TS_MAX_NDIM];
      ts_dtype dt = ts_bc_word_dtype(w[3]);
      size_t nb = ts_dtype_bytes(dt);
      bool ok = true;
      for (uint32_t d = 0; d < w[4]; d++) {
        shape[d] = dim_val(w + 5 + 3 * d, slots);
        ok = ok && shape[d] >= 0 && ts_size_mul(nb, (size_t)shape[d], &nb);
      }
      size_t have = ts_ndarray_nbytes(sv->u.t);
      if (!ok || nb > have)
        return ts_error(TS_ERR_RUNTIME,
                        "%s: a planned tensor needs more than its storage's %zu bytes (is a "
                        "dimension above its tir_var_upper_bound?)", fname, have);
      void *data = ts_ndarray_data(sv->u.t);
      ts_ndarray *t;
      ts_status *st = ts_ndarray_view((int)w[4], shape, dt, data, &t);
      if (st) return ts_status_annotate(st, "in function %s", fname);
      set_reg(&regs[w[1]], (vm_val){.kind = V_TENSOR, .u.t = t});
      break;
    }
    case TS_BC_CONST:
      set_reg(&regs[w[1]],
              (vm_val){.kind = V_TENSOR, .u.t = ts_ndarray_retain(a->consts[w[2]])});
      break;
    case TS_BC_CALL_KERNEL: {
      uint32_t ki = w[1], nin = w[3], nout = w[4], nsc = w[5], nt = nin + nout;
      const uint32_t *r = w + 6;
      const char *binding = S[w[2]];
      const char *kname = p->strings[p->kernels[ki].name];
      TS_RETURN_IF_ERROR(need_tensors(fname, binding, regs, r, nt));
      ts_kernel_arg small[16];
      ts_kernel_arg *ka = nt + nsc <= 16 ? small : ts_xcalloc(nt + nsc, sizeof *ka);
      for (uint32_t i = 0; i < nt; i++) ka[i].tensor = ts_ndarray_dl(regs[r[i]].u.t);
      for (uint32_t i = 0; i < nsc; i++) ka[nt + i].i = dim_val(r + nt + 3 * i, slots);
      ts_status *st = ts_vm_check_kernel_args(a, ki, ka);
      if (!st && a->dump_dir) st = dump_call(a, binding, regs, r, nin, nout, false);
      if (!st) {
        uint64_t t0 = a->profile ? now_ns() : 0;
        int32_t rc = a->kfns[ki](ka, (int32_t)(nt + nsc));
        if (a->profile) {
          a->prof_kernels[ki].calls++;
          a->prof_kernels[ki].ns += now_ns() - t0;
        }
        if (rc != 0)
          st = ts_error(TS_ERR_RUNTIME, "%s: %s: kernel '%s' failed (status %d)", fname,
                        binding, kname, rc);
      }
      if (!st && a->dump_dir) st = dump_call(a, binding, regs, r, nin, nout, true);
      if (ka != small) free(ka);
      if (st) return ts_status_annotate(st, "in function %s, binding %s", fname, binding);
      break;
    }
    case TS_BC_CALL_PACKED: {
      uint32_t nin = w[3], nout = w[4], nt = nin + nout;
      const uint32_t *r = w + 5;
      const char *fn = S[w[1]], *binding = S[w[2]];
      TS_RETURN_IF_ERROR(need_tensors(fname, binding, regs, r, nt));
      ts_value small[16];
      ts_value *va = nt <= 16 ? small : ts_xcalloc(nt, sizeof *va);
      for (uint32_t i = 0; i < nt; i++)
        va[i] = (ts_value){.kind = TS_VAL_TENSOR, .u.tensor = regs[r[i]].u.t};
      ts_status *st = NULL;
      if (a->dump_dir) st = dump_call(a, binding, regs, r, nin, nout, false);
      if (!st) {
        uint64_t t0 = a->profile ? now_ns() : 0;
        st = ts_registry_call(fn, va, (int)nt);
        if (a->profile) {
          a->prof_strings[w[1]].calls++;
          a->prof_strings[w[1]].ns += now_ns() - t0;
        }
      }
      if (!st && a->dump_dir) st = dump_call(a, binding, regs, r, nin, nout, true);
      if (va != small) free(va);
      if (st) return ts_status_annotate(st, "in function %s, binding %s", fname, binding);
      break;
    }
    case TS_BC_CALL_FUNC: {
      if (depth >= TS_BC_MAX_CALL_DEPTH)
        return ts_error(TS_ERR_RUNTIME, "%s: calls nested deeper than %d", fname,
                        TS_BC_MAX_CALL_DEPTH);
      uint32_t n = w[3];
      vm_val small[16];
      vm_val *av = n <= 16 ? small : ts_xcalloc(n, sizeof *av);
      for (uint32_t i = 0; i < n; i++) av[i] = regs[w[4 + i]];
      vm_val res = {0};
      ts_status *st = run_func(a, w[2], av, depth + 1, &res);
      if (av != small) free(av);
      if (st) return ts_status_annotate(st, "called from %s", fname);
      set_reg(&regs[w[1]], res);
      break;
    }
    case TS_BC_TUPLE: {
      uint32_t n = w[2];
      vm_tuple *t = ts_xcalloc(1, sizeof *t + n * sizeof(vm_val));
      t->refcount = 1;
      t->n = n;
      for (uint32_t i = 0; i < n; i++) t->items[i] = val_retain(regs[w[3 + i]]);
      set_reg(&regs[w[1]], (vm_val){.kind = V_TUPLE, .u.tup = t});
      break;
    }
    case TS_BC_TUPLE_GET: {
      const vm_val *src = &regs[w[2]];
      if (src->kind != V_TUPLE || w[3] >= src->u.tup->n)
        return ts_error(TS_ERR_RUNTIME, "%s: tuple_get: r%u has no field %u", fname, w[2],
                        w[3]);
      set_reg(&regs[w[1]], val_retain(src->u.tup->items[w[3]]));
      break;
    }
    case TS_BC_MOVE: set_reg(&regs[w[1]], val_retain(regs[w[2]])); break;
    case TS_BC_KILL: val_release(&regs[w[1]]); break;
    case TS_BC_RET:
      if (regs[w[1]].kind == V_NONE)
        return ts_error(TS_ERR_RUNTIME, "%s: returns an undefined register", fname);
      *out = val_retain(regs[w[1]]);
      return NULL;
    default: TS_UNREACHABLE(); /* the verifier rejected every other opcode */
    }
  }
}

static ts_status *run_func(ts_artifact *a, uint32_t fi, const vm_val *args,
                           int depth, vm_val *out) {
  const ts_bc_func *f = &a->prog->funcs[fi];
  vm_val *regs = ts_xcalloc(f->n_regs + 1, sizeof *regs);
  int64_t *slots = ts_xcalloc(f->n_slots + 1, sizeof *slots);
  for (uint32_t i = 0; i < f->n_params; i++) regs[i] = val_retain(args[i]);
  ts_status *st = exec(a, f, regs, slots, depth, out);
  for (uint32_t i = 0; i < f->n_regs; i++) val_release(&regs[i]);
  free(regs);
  free(slots);
  return st;
}

/* ---- entry point ------------------------------------------------------------- */

typedef TS_VEC(ts_value) value_vec;

static void flatten(const vm_val *v, value_vec *out) {
  switch (v->kind) {
  case V_TENSOR:
    ts_vec_push(out, ((ts_value){.kind = TS_VAL_TENSOR, .u.tensor = ts_ndarray_retain(v->u.t)}));
    break;
  case V_INT: ts_vec_push(out, ((ts_value){.kind = TS_VAL_INT, .u.i = v->u.i})); break;
  case V_TUPLE:
    for (uint32_t i = 0; i < v->u.tup->n; i++) flatten(&v->u.tup->items[i], out);
    break;
  default: ts_vec_push(out, ((ts_value){.kind = TS_VAL_NONE})); break;
  }
}

ts_status *ts_artifact_run(ts_artifact *a, const char *func,
                           const ts_value *inputs, int n_inputs,
                           ts_value **out_values, int *out_n) {
  *out_values = NULL;
  *out_n = 0;
  const ts_bc_program *p = a->prog;
  uint32_t fi = 0;
  while (fi < p->n_funcs && strcmp(p->strings[p->funcs[fi].name], func)) fi++;
  if (fi == p->n_funcs) return ts_error(TS_ERR_NAME, "unknown function '%s'", func);
  const ts_bc_func *f = &p->funcs[fi];
  if (n_inputs != (int)f->n_params)
    return ts_error(TS_ERR_VALUE, "%s expects %u input%s, got %d", func, f->n_params,
                    f->n_params == 1 ? "" : "s", n_inputs);
  vm_val *args = ts_xcalloc((size_t)n_inputs + 1, sizeof *args);
  for (int i = 0; i < n_inputs; i++) {
    if (inputs[i].kind == TS_VAL_TENSOR && inputs[i].u.tensor) {
      args[i] = (vm_val){.kind = V_TENSOR, .u.t = inputs[i].u.tensor};
    } else if (inputs[i].kind == TS_VAL_INT) {
      args[i] = (vm_val){.kind = V_INT, .u.i = inputs[i].u.i};
    } else {
      free(args);
      return ts_error(TS_ERR_TYPE, "%s: parameter '%s': expected a tensor", func,
                      p->strings[f->params[i].name]);
    }
  }
  vm_val res = {0};
  ts_status *st = run_func(a, fi, args, 0, &res);
  free(args);
  if (st) return st;
  value_vec outs = {0};
  flatten(&res, &outs);
  val_release(&res);
  *out_values = outs.data;
  *out_n = (int)outs.len;
  return NULL;
}

uint64_t ts_artifact_alloc_bytes(const ts_artifact *a) {
  return __atomic_load_n(&a->alloc_bytes, __ATOMIC_RELAXED);
}

void ts_artifact_alloc_bytes_reset(ts_artifact *a) {
  __atomic_store_n(&a->alloc_bytes, 0, __ATOMIC_RELAXED);
}

void ts_artifact_free_values(ts_value *values, int n) {
  for (int i = 0; values && i < n; i++)
    if (values[i].kind == TS_VAL_TENSOR && values[i].u.tensor)
      ts_ndarray_release(values[i].u.tensor);
  free(values);
}
