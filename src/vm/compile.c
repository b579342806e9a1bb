/* compile.c: graph functions -> VM bytecode (runtime/bytecode.h).
 *
 * One pass over each graph function: parameters get MATCH_TENSOR from their
 * struct info (a symbolic dimension becomes a shape slot, bound at its first
 * sight and checked afterwards); bindings are compiled in order, one fresh
 * register per computed value (a binding to a variable aliases its
 * register); call_tir becomes ALLOC of the outputs (shapes from out_sinfo,
 * symbolic expressions evaluated with SHAPE_ARITH) + CALL_KERNEL, and
 * call_dps_packed ALLOC + CALL_PACKED.  A last pass inserts KILL after each
 * register's last use so that intermediate tensors are freed early.
 *
 * A function carrying a memory plan (attribute "tessera.memory_plan", made
 * by the plan-memory pass) is checked against ts_plan_collect (each planned
 * tensor must be plannable, and tensors sharing a token must have disjoint
 * live ranges: a hand-written plan is input like any other), then each
 * planned tensor becomes ALLOC_TENSOR into its token's storage, made by one
 * ALLOC_STORAGE before the token's first tensor (size from the plan, or
 * computed from the tensor's shape when the plan says -1).  Storage
 * registers are never KILLed, so views never outlive their storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "transform/graph/plan_memory.h"
#include "vm/vm_internal.h"

typedef struct reg_entry {
  const ts_gvar *var;
  uint32_t reg;
} reg_entry;

typedef struct slot_entry {
  const ts_var *var;
  uint32_t slot;
} slot_entry;

typedef struct deferred_dim {
  uint32_t reg;
  uint32_t what;
  const ts_sinfo *sinfo;
  int dim;
} deferred_dim;

typedef struct comp {
  const ts_module *m;
  TS_VEC(char *) strings;
  TS_VEC(ts_bc_kernel) kernels;
  TS_VEC(const ts_primfunc *) kfuncs;
  TS_VEC(ts_bc_const) consts;
  TS_VEC(const ts_const_data *) cdata;
  TS_VEC(const ts_gfunc *) gfuncs;
  /* per function */
  const ts_gfunc *f;
  TS_VEC(uint32_t) code;
  TS_VEC(reg_entry) regs;
  TS_VEC(slot_entry) slots;
  TS_VEC(uint32_t) slot_names;
  TS_VEC(deferred_dim) deferred;
  uint32_t n_regs;
  /* memory plan of the function (all empty when it has none) */
  TS_VEC(const ts_gvar *) plan_vars; /* planned tensors ... */
  TS_VEC(int) plan_store;            /* ... and their tokens */
  TS_VEC(int64_t) store_bytes;       /* per token; -1: from the shape */
  TS_VEC(uint32_t) store_reg;        /* per token; UINT32_MAX: not made yet */
  int cur_store;                     /* token of the binding being compiled */
} comp;

static uint32_t intern(comp *c, const char *s) {
  for (size_t i = 0; i < c->strings.len; i++)
    if (!strcmp(c->strings.data[i], s)) return (uint32_t)i;
  ts_vec_push(&c->strings, ts_xstrdup(s));
  return (uint32_t)(c->strings.len - 1);
}

static void emit(comp *c, uint32_t w) { ts_vec_push(&c->code, w); }
static size_t begin(comp *c, ts_bc_op op) {
  emit(c, op);
  return c->code.len - 1;
}
static void end(comp *c, size_t at) {
  c->code.data[at] |= (uint32_t)(c->code.len - at) << 8;
}
static void emit_dim(comp *c, const uint32_t d[3]) {
  emit(c, d[0]);
  emit(c, d[1]);
  emit(c, d[2]);
}
static void dim_of(uint32_t kind, int64_t v, uint32_t d[3]) {
  d[0] = kind;
  d[1] = (uint32_t)((uint64_t)v & 0xFFFFFFFFu);
  d[2] = (uint32_t)((uint64_t)v >> 32);
}

static uint32_t new_reg(comp *c) { return c->n_regs++; }

static uint32_t new_slot(comp *c, const ts_var *v) {
  uint32_t s = (uint32_t)c->slot_names.len;
  ts_vec_push(&c->slot_names, intern(c, v ? v->name : ""));
  if (v) ts_vec_push(&c->slots, ((slot_entry){v, s}));
  return s;
}

static bool find_slot(const comp *c, const ts_var *v, uint32_t *out) {
  for (size_t i = 0; i < c->slots.len; i++)
    if (c->slots.data[i].var == v) {
      *out = c->slots.data[i].slot;
      return true;
    }
  return false;
}

static const char *fname(const comp *c) { return c->f->name; }

/* ---- shape expressions ---------------------------------------------------- */

/* A dim operand for an integer expression over bound symbolic variables. */
static ts_status *compile_dim(comp *c, const ts_expr *e, ts_loc loc, uint32_t d[3]) {
  uint32_t s;
  switch (e->kind) {
  case TS_E_INT: dim_of(TS_BC_DIM_IMM, e->u.int_value, d); return NULL;
  case TS_E_VAR:
    if (!find_slot(c, e->u.var, &s))
      return ts_status_make(TS_ERR_NAME, loc,
                            "%s: symbolic variable '%s' is not defined by a parameter "
                            "or an earlier match_cast", fname(c), e->u.var->name);
    dim_of(TS_BC_DIM_SLOT, s, d);
    return NULL;
  case TS_E_CAST: return compile_dim(c, e->u.unary.a, loc, d);
  case TS_E_ADD: case TS_E_SUB: case TS_E_MUL: case TS_E_FLOORDIV:
  case TS_E_FLOORMOD: case TS_E_MIN: case TS_E_MAX: case TS_E_DIV: case TS_E_MOD: {
    uint32_t a[3], b[3];
    TS_RETURN_IF_ERROR(compile_dim(c, e->u.bin.a, loc, a));
    TS_RETURN_IF_ERROR(compile_dim(c, e->u.bin.b, loc, b));
    /* Dimensions are non-negative: truncating and flooring division agree. */
    ts_bc_arith op = e->kind == TS_E_ADD ? TS_BC_ADD
                     : e->kind == TS_E_SUB ? TS_BC_SUB
                     : e->kind == TS_E_MUL ? TS_BC_MUL
                     : e->kind == TS_E_MIN ? TS_BC_MIN
                     : e->kind == TS_E_MAX ? TS_BC_MAX
                     : (e->kind == TS_E_FLOORDIV || e->kind == TS_E_DIV) ? TS_BC_FLOORDIV
                                                                         : TS_BC_FLOORMOD;
    s = new_slot(c, NULL);
    size_t at = begin(c, TS_BC_SHAPE_ARITH);
    emit(c, s);
    emit(c, op);
    emit_dim(c, a);
    emit_dim(c, b);
    end(c, at);
    dim_of(TS_BC_DIM_SLOT, s, d);
    return NULL;
  }
  default:
    return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                          "%s: shape expression is not supported by the VM", fname(c));
  }
}

/* MATCH_TENSOR of register `reg` against tensor struct info; dimensions
 * that are expressions (n * 2) are deferred until every variable is bound
 * (flush_deferred). */
static ts_status *emit_match(comp *c, uint32_t reg, const char *what,
                             const ts_sinfo *si, ts_loc loc) {
  uint32_t w = intern(c, what);
  if (!si || si->kind == TS_SI_OBJECT) {
    size_t at = begin(c, TS_BC_MATCH_TENSOR);
    emit(c, reg), emit(c, w), emit(c, ts_bc_dtype_word(TS_VOIDT)), emit(c, TS_BC_ANY_RANK);
    end(c, at);
    return NULL;
  }
  if (si->kind != TS_SI_TENSOR)
    return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                          "%s: %s: only tensors are supported by the VM here", fname(c), what);
  int nd = si->u.tensor.ndim;
  if (nd > TS_MAX_NDIM)
    return ts_status_make(TS_ERR_UNSUPPORTED, loc, "%s: %s: rank %d is too large",
                          fname(c), what, nd);
  size_t at = begin(c, TS_BC_MATCH_TENSOR);
  emit(c, reg);
  emit(c, w);
  emit(c, ts_bc_dtype_word(si->u.tensor.dtype));
  emit(c, nd < 0 ? TS_BC_ANY_RANK : (uint32_t)nd);
  for (int d = 0; d < nd; d++) {
    uint32_t dd[3];
    const ts_expr *e = si->u.tensor.shape ? si->u.tensor.shape[d] : NULL;
    while (e && e->kind == TS_E_CAST) e = e->u.unary.a;
    uint32_t s;
    if (!e) {
      dim_of(TS_BC_DIM_ANY, 0, dd);
    } else if (e->kind == TS_E_INT) {
      dim_of(TS_BC_DIM_IMM, e->u.int_value, dd);
    } else if (e->kind == TS_E_VAR) {
      if (find_slot(c, e->u.var, &s)) dim_of(TS_BC_DIM_SLOT, s, dd);
      else dim_of(TS_BC_DIM_BIND, new_slot(c, e->u.var), dd);
    } else {
      dim_of(TS_BC_DIM_ANY, 0, dd);
      ts_vec_push(&c->deferred, ((deferred_dim){reg, w, si, d}));
    }
    emit_dim(c, dd);
  }
  end(c, at);
  return NULL;
}

static ts_status *flush_deferred(comp *c, ts_loc loc) {
  for (size_t i = 0; i < c->deferred.len; i++) {
    deferred_dim *dd = &c->deferred.data[i];
    uint32_t v[3];
    TS_RETURN_IF_ERROR(compile_dim(c, dd->sinfo->u.tensor.shape[dd->dim], loc, v));
    int nd = dd->sinfo->u.tensor.ndim;
    size_t at = begin(c, TS_BC_MATCH_TENSOR);
    emit(c, dd->reg), emit(c, dd->what);
    emit(c, ts_bc_dtype_word(dd->sinfo->u.tensor.dtype)), emit(c, (uint32_t)nd);
    for (int d = 0; d < nd; d++) {
      uint32_t any[3];
      dim_of(TS_BC_DIM_ANY, 0, any);
      emit_dim(c, d == dd->dim ? v : any);
    }
    end(c, at);
  }
  c->deferred.len = 0;
  return NULL;
}

/* ---- values ------------------------------------------------------------------ */

static ts_status *compile_value(comp *c, const ts_gexpr *e, const char *binding,
                                uint32_t *out);

/* ALLOC_TENSOR of a planned tensor into token `store` (making the storage
 * first when this is the token's first tensor). */
static void alloc_planned(comp *c, const ts_sinfo *si, int store, uint32_t dims[][3],
                          uint32_t *out) {
  int nd = si->u.tensor.ndim;
  if (c->store_reg.data[store] == UINT32_MAX) {
    uint32_t size[3];
    int64_t fixed = c->store_bytes.data[store];
    if (fixed >= 0) {
      dim_of(TS_BC_DIM_IMM, fixed, size);
    } else {
      dim_of(TS_BC_DIM_IMM, (int64_t)ts_dtype_bytes(si->u.tensor.dtype), size);
      for (int d = 0; d < nd; d++) {
        uint32_t s = new_slot(c, NULL);
        size_t at = begin(c, TS_BC_SHAPE_ARITH);
        emit(c, s), emit(c, TS_BC_MUL);
        emit_dim(c, size), emit_dim(c, dims[d]);
        end(c, at);
        dim_of(TS_BC_DIM_SLOT, s, size);
      }
    }
    uint32_t r = new_reg(c);
    size_t at = begin(c, TS_BC_ALLOC_STORAGE);
    emit(c, r);
    emit_dim(c, size);
    end(c, at);
    c->store_reg.data[store] = r;
  }
  *out = new_reg(c);
  size_t at = begin(c, TS_BC_ALLOC_TENSOR);
  emit(c, *out);
  emit(c, c->store_reg.data[store]);
  emit(c, ts_bc_dtype_word(si->u.tensor.dtype));
  emit(c, (uint32_t)nd);
  for (int d = 0; d < nd; d++) emit_dim(c, dims[d]);
  end(c, at);
}

/* `store`: the memory plan's token for this output, or -1. */
static ts_status *alloc_output(comp *c, const ts_sinfo *si, ts_loc loc,
                               const char *callee, int store, uint32_t *out) {
  if (!si || si->kind != TS_SI_TENSOR || si->u.tensor.ndim < 0 || !si->u.tensor.shape ||
      si->u.tensor.dtype.code == TS_VOID || si->u.tensor.ndim > TS_MAX_NDIM)
    return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                          "%s: call to '%s': each output's struct info must be a tensor "
                          "with a known shape and dtype", fname(c), callee);
  int nd = si->u.tensor.ndim;
  uint32_t dims[TS_MAX_NDIM][3];
  for (int d = 0; d < nd; d++)
    TS_RETURN_IF_ERROR(compile_dim(c, si->u.tensor.shape[d], loc, dims[d]));
  if (store >= 0) {
    alloc_planned(c, si, store, dims, out);
    return NULL;
  }
  *out = new_reg(c);
  size_t at = begin(c, TS_BC_ALLOC);
  emit(c, *out);
  emit(c, ts_bc_dtype_word(si->u.tensor.dtype));
  emit(c, (uint32_t)nd);
  for (int d = 0; d < nd; d++) emit_dim(c, dims[d]);
  end(c, at);
  return NULL;
}

static long kernel_index(const comp *c, const char *name) {
  for (size_t i = 0; i < c->kfuncs.len; i++)
    if (!strcmp(c->kfuncs.data[i]->name, name)) return (long)i;
  return -1;
}

/* call_tir / call_dps_packed. */
static ts_status *compile_dps(comp *c, const ts_gexpr *e, bool is_tir,
                              const char *binding, uint32_t *out) {
  ts_gexpr *const *args = e->u.call.args;
  const char *opn = is_tir ? "R.call_tir" : "R.call_dps_packed";
  if (e->u.call.n_args < 2)
    return ts_status_make(TS_ERR_VALUE, e->loc, "%s: %s needs a callee and inputs", fname(c),
                          opn);
  const char *callee = NULL;
  long ki = -1;
  if (is_tir) {
    if (args[0]->kind != TS_G_GLOBAL)
      return ts_status_make(TS_ERR_VALUE, e->loc, "%s: %s: the callee must be a TensorIR "
                            "function of the module", fname(c), opn);
    callee = args[0]->u.global_name;
    ki = kernel_index(c, callee);
    if (ki < 0)
      return ts_status_make(TS_ERR_NAME, e->loc, "%s: %s: '%s' is not a TensorIR function "
                            "of the module", fname(c), opn, callee);
  } else {
    if (args[0]->kind != TS_G_EXTERN && args[0]->kind != TS_G_STR)
      return ts_status_make(TS_ERR_VALUE, e->loc, "%s: %s: the callee must be a library "
                            "function name", fname(c), opn);
    callee = args[0]->kind == TS_G_EXTERN ? args[0]->u.extern_name : args[0]->u.str;
  }
  TS_VEC(uint32_t) regs = {0};
  ts_status *st = NULL;
  if (args[1]->kind == TS_G_TUPLE) {
    for (int i = 0; i < args[1]->u.tuple.n && !st; i++) {
      uint32_t r;
      st = compile_value(c, args[1]->u.tuple.fields[i], binding, &r);
      if (!st) ts_vec_push(&regs, r);
    }
  } else {
    uint32_t r;
    st = compile_value(c, args[1], binding, &r);
    if (!st) ts_vec_push(&regs, r);
  }
  uint32_t nin = (uint32_t)regs.len;
  /* outputs */
  ts_sinfo *const *outs = e->u.call.sinfo_args;
  int n_out = e->u.call.n_sinfo_args;
  bool tuple_out = n_out != 1;
  if (n_out == 1 && outs[0] && outs[0]->kind == TS_SI_TUPLE) {
    n_out = outs[0]->u.tuple.n;
    outs = outs[0]->u.tuple.fields;
    tuple_out = true;
  }
  if (!st && n_out < 1)
    st = ts_status_make(TS_ERR_VALUE, e->loc, "%s: call to '%s' has no output struct info",
                        fname(c), callee);
  for (int i = 0; i < n_out && !st; i++) {
    uint32_t r = 0;
    st = alloc_output(c, outs[i], e->loc, callee, tuple_out ? -1 : c->cur_store, &r);
    if (!st) ts_vec_push(&regs, r);
  }
  /* extra scalar arguments (call_tir only) */
  TS_VEC(uint32_t) scal = {0};
  uint32_t nsc = 0;
  if (!st && e->u.call.n_args > 2) {
    const ts_gexpr *sh = args[2];
    if (!is_tir || sh->kind != TS_G_SHAPE) {
      st = ts_status_make(TS_ERR_UNSUPPORTED, e->loc, "%s: %s: extra arguments must be a "
                          "shape of symbolic values", fname(c), opn);
    } else {
      for (int i = 0; i < sh->u.shape.n && !st; i++) {
        uint32_t d[3];
        st = compile_dim(c, sh->u.shape.values[i], e->loc, d);
        for (int k = 0; k < 3 && !st; k++) ts_vec_push(&scal, d[k]);
        nsc++;
      }
    }
  }
  if (!st && is_tir) {
    const ts_bc_kernel *k = &c->kernels.data[ki];
    uint32_t nbuf = 0;
    for (uint32_t i = 0; i < k->n_params; i++)
      nbuf += (k->params[i].flags & TS_BC_KPARAM_BUFFER) ? 1 : 0;
    bool ok = (uint32_t)regs.len + nsc == k->n_params;
    for (uint32_t i = 0; ok && i < k->n_params; i++)
      ok = !!(k->params[i].flags & TS_BC_KPARAM_BUFFER) == (i < regs.len);
    if (!ok)
      st = ts_status_make(TS_ERR_TYPE, e->loc,
                          "%s: R.call_tir: '%s' takes %u buffers and %u scalars, the call "
                          "passes %u inputs, %d outputs and %u scalars",
                          fname(c), callee, nbuf, k->n_params - nbuf, nin, n_out, nsc);
  }
  if (!st) {
    size_t at = begin(c, is_tir ? TS_BC_CALL_KERNEL : TS_BC_CALL_PACKED);
    emit(c, is_tir ? (uint32_t)ki : intern(c, callee));
    emit(c, intern(c, binding));
    emit(c, nin);
    emit(c, (uint32_t)n_out);
    if (is_tir) emit(c, nsc);
    for (size_t i = 0; i < regs.len; i++) emit(c, regs.data[i]);
    for (size_t i = 0; i < scal.len; i++) emit(c, scal.data[i]);
    end(c, at);
    if (!tuple_out) {
      *out = regs.data[nin];
    } else {
      *out = new_reg(c);
      size_t t = begin(c, TS_BC_TUPLE);
      emit(c, *out);
      emit(c, (uint32_t)n_out);
      for (int i = 0; i < n_out; i++) emit(c, regs.data[nin + i]);
      end(c, t);
    }
  }
  ts_vec_free(&regs);
  ts_vec_free(&scal);
  return st;
}

static ts_status *compile_value(comp *c, const ts_gexpr *e, const char *binding,
                                uint32_t *out) {
  switch (e->kind) {
  case TS_G_VAR:
    for (size_t i = c->regs.len; i-- > 0;)
      if (c->regs.data[i].var == e->u.var) {
        *out = c->regs.data[i].reg;
        return NULL;
      }
    return ts_status_make(TS_ERR_NAME, e->loc, "%s: undefined variable '%s'", fname(c),
                          e->u.var->name);
  case TS_G_CONST: {
    const ts_const_data *cd = e->u.constant;
    size_t k = 0;
    while (k < c->cdata.len && c->cdata.data[k] != cd) k++;
    if (k == c->cdata.len) {
      if (cd->ndim < 0 || cd->ndim > TS_MAX_NDIM)
        return ts_status_make(TS_ERR_UNSUPPORTED, e->loc, "%s: constant of rank %d",
                              fname(c), cd->ndim);
      ts_bc_const bc = {.dtype = cd->dtype, .ndim = (uint32_t)cd->ndim,
                        .data = cd->data, .nbytes = cd->nbytes};
      for (int d = 0; d < cd->ndim; d++) bc.shape[d] = cd->shape[d];
      ts_vec_push(&c->consts, bc);
      ts_vec_push(&c->cdata, cd);
    }
    *out = new_reg(c);
    size_t at = begin(c, TS_BC_CONST);
    emit(c, *out);
    emit(c, (uint32_t)k);
    end(c, at);
    return NULL;
  }
  case TS_G_TUPLE: {
    TS_VEC(uint32_t) regs = {0};
    for (int i = 0; i < e->u.tuple.n; i++) {
      uint32_t r;
      ts_status *st = compile_value(c, e->u.tuple.fields[i], binding, &r);
      if (st) {
        ts_vec_free(&regs);
        return st;
      }
      ts_vec_push(&regs, r);
    }
    *out = new_reg(c);
    size_t at = begin(c, TS_BC_TUPLE);
    emit(c, *out);
    emit(c, (uint32_t)regs.len);
    for (size_t i = 0; i < regs.len; i++) emit(c, regs.data[i]);
    end(c, at);
    ts_vec_free(&regs);
    return NULL;
  }
  case TS_G_TUPLE_GET: {
    uint32_t src;
    TS_RETURN_IF_ERROR(compile_value(c, e->u.tuple_get.tuple, binding, &src));
    if (e->u.tuple_get.index < 0)
      return ts_status_make(TS_ERR_VALUE, e->loc, "%s: negative tuple index", fname(c));
    *out = new_reg(c);
    size_t at = begin(c, TS_BC_TUPLE_GET);
    emit(c, *out), emit(c, src), emit(c, (uint32_t)e->u.tuple_get.index);
    end(c, at);
    return NULL;
  }
  case TS_G_CALL:
    switch (e->u.call.callee_kind) {
    case TS_CALLEE_OP:
      if (e->u.call.op == TS_OP_CALL_TIR) return compile_dps(c, e, true, binding, out);
      if (e->u.call.op == TS_OP_CALL_DPS_PACKED) return compile_dps(c, e, false, binding, out);
      return ts_status_make(TS_ERR_UNSUPPORTED, e->loc,
                            "R.%s: operator must be legalized before the build (run the "
                            "'legalize' pass)", ts_op_get(e->u.call.op)->name);
    case TS_CALLEE_GLOBAL: {
      size_t g = 0;
      while (g < c->gfuncs.len && strcmp(c->gfuncs.data[g]->name, e->u.call.name)) g++;
      if (g == c->gfuncs.len)
        return ts_status_make(TS_ERR_NAME, e->loc, "%s: '%s' is not a graph function of "
                              "the module (call TensorIR functions with R.call_tir)",
                              fname(c), e->u.call.name);
      if (e->u.call.n_args != c->gfuncs.data[g]->n_params)
        return ts_status_make(TS_ERR_TYPE, e->loc, "%s: '%s' takes %d arguments, got %d",
                              fname(c), e->u.call.name, c->gfuncs.data[g]->n_params,
                              e->u.call.n_args);
      TS_VEC(uint32_t) regs = {0};
      for (int i = 0; i < e->u.call.n_args; i++) {
        uint32_t r;
        ts_status *st = compile_value(c, e->u.call.args[i], binding, &r);
        if (st) {
          ts_vec_free(&regs);
          return st;
        }
        ts_vec_push(&regs, r);
      }
      *out = new_reg(c);
      size_t at = begin(c, TS_BC_CALL_FUNC);
      emit(c, *out), emit(c, (uint32_t)g), emit(c, (uint32_t)regs.len);
      for (size_t i = 0; i < regs.len; i++) emit(c, regs.data[i]);
      end(c, at);
      ts_vec_free(&regs);
      return NULL;
    }
    case TS_CALLEE_EXTERN:
      return ts_status_make(TS_ERR_UNSUPPORTED, e->loc,
                            "%s: direct calls of library function '%s' are not supported by "
                            "the VM (use R.call_dps_packed)", fname(c), e->u.call.name);
    }
    break;
  default: break;
  }
  return ts_status_make(TS_ERR_UNSUPPORTED, e->loc,
                        "%s: this kind of expression is not supported by the VM yet", fname(c));
}

/* ---- liveness ---------------------------------------------------------------- */

typedef struct live_ctx {
  uint32_t *last; /* per register: index of the last instruction touching it */
  uint32_t insn;
} live_ctx;

static void note_reg(uint32_t reg, bool is_def, void *ctx) {
  live_ctx *l = ctx;
  l->last[reg] = l->insn;
}

static bool is_storage(const comp *c, uint32_t r) {
  for (size_t i = 0; i < c->store_reg.len; i++)
    if (c->store_reg.data[i] == r) return true;
  return false;
}

/* Inserts KILL r after the last instruction that touches r (never after the
 * final RET); storage registers live to the end. */
static void insert_kills(comp *c) {
  uint32_t n_insn = 0;
  for (size_t pc = 0; pc < c->code.len; pc += c->code.data[pc] >> 8) n_insn++;
  live_ctx l = {ts_xcalloc(c->n_regs + 1, sizeof(uint32_t)), 0};
  for (uint32_t r = 0; r < c->n_regs; r++) l.last[r] = UINT32_MAX;
  for (size_t pc = 0; pc < c->code.len; pc += c->code.data[pc] >> 8, l.insn++)
    ts_bc_for_each_reg(c->code.data + pc, note_reg, &l);
  TS_VEC(uint32_t) out = {0};
  uint32_t insn = 0;
  for (size_t pc = 0; pc < c->code.len; insn++) {
    uint32_t len = c->code.data[pc] >> 8;
    bool is_ret = (c->code.data[pc] & 0xff) == TS_BC_RET;
    for (uint32_t i = 0; i < len; i++) ts_vec_push(&out, c->code.data[pc + i]);
    pc += len;
    if (is_ret) continue;
    for (uint32_t r = 0; r < c->n_regs; r++)
      if (l.last[r] == insn && !is_storage(c, r)) {
        ts_vec_push(&out, TS_BC_KILL | 2u << 8);
        ts_vec_push(&out, r);
      }
  }
  free(l.last);
  ts_vec_free(&c->code);
  c->code.data = out.data;
  c->code.len = out.len;
  c->code.cap = out.cap;
}

/* ---- memory plan ------------------------------------------------------------ */

static const ts_attr_value *dict_list(const ts_attrs *d, const char *key) {
  const ts_attr_value *v = ts_attrs_get(d, key);
  return v && v->kind == TS_ATTR_LIST ? v : NULL;
}

/* Reads and checks f's memory plan into c->plan_* / c->store_*. */
static ts_status *read_plan(comp *c, const ts_gfunc *f) {
  const ts_attr_value *pv = ts_attrs_get(f->attrs, TS_MEMORY_PLAN_ATTR);
  if (!pv) return NULL;
  const ts_attrs *d = pv->kind == TS_ATTR_DICT ? pv->u.dict : NULL;
  const ts_attr_value *names = d ? dict_list(d, "tensors") : NULL;
  const ts_attr_value *ids = d ? dict_list(d, "storage") : NULL;
  const ts_attr_value *sizes = d ? dict_list(d, "storage_bytes") : NULL;
  if (!names || !ids || !sizes || names->u.list.n != ids->u.list.n)
    return ts_status_make(TS_ERR_VALUE, f->loc, "%s: memory plan: expected {\"tensors\": "
                          "[names], \"storage\": [token of each], \"storage_bytes\": "
                          "[size of each token]}", f->name);
  for (int k = 0; k < sizes->u.list.n; k++) {
    const ts_attr_value *v = sizes->u.list.items[k];
    if (v->kind != TS_ATTR_INT || v->u.i < -1)
      return ts_status_make(TS_ERR_VALUE, f->loc, "%s: memory plan: storage_bytes[%d] must "
                            "be a size or -1", f->name, k);
    ts_vec_push(&c->store_bytes, v->u.i);
    ts_vec_push(&c->store_reg, UINT32_MAX);
  }
  ts_plan_tensor *pt;
  int n = ts_plan_collect(f, &pt);
  ts_status *st = NULL;
  TS_VEC(int) which = {0}; /* plan entry -> index in pt */
  for (int k = 0; k < names->u.list.n && !st; k++) {
    const ts_attr_value *nv = names->u.list.items[k], *iv = ids->u.list.items[k];
    if (nv->kind != TS_ATTR_STR || iv->kind != TS_ATTR_INT || iv->u.i < 0 ||
        iv->u.i >= sizes->u.list.n) {
      st = ts_status_make(TS_ERR_VALUE, f->loc, "%s: memory plan: entry %d needs a name and "
                          "a token below %d", f->name, k, sizes->u.list.n);
      break;
    }
    int j = 0;
    while (j < n && strcmp(pt[j].binding->var->name, nv->u.s)) j++;
    if (j == n || !pt[j].plannable) {
      st = ts_status_make(TS_ERR_VALUE, f->loc, "%s: memory plan: '%s' cannot live in "
                          "planned storage (it must be the one output of a call_tir or "
                          "call_dps_packed, used only as an input of such calls)",
                          f->name, nv->u.s);
      break;
    }
    for (size_t q = 0; q < which.len && !st; q++) {
      const ts_plan_tensor *o = &pt[which.data[q]];
      if (which.data[q] == j)
        st = ts_status_make(TS_ERR_VALUE, f->loc, "%s: memory plan: '%s' is listed twice",
                            f->name, nv->u.s);
      else if (c->plan_store.data[q] == iv->u.i && o->def <= pt[j].last &&
               pt[j].def <= o->last)
        st = ts_status_make(TS_ERR_VALUE, f->loc, "%s: memory plan: '%s' and '%s' share "
                            "storage %lld but are live at the same time", f->name,
                            o->binding->var->name, nv->u.s, (long long)iv->u.i);
    }
    ts_vec_push(&which, j);
    ts_vec_push(&c->plan_vars, pt[j].binding->var);
    ts_vec_push(&c->plan_store, (int)iv->u.i);
  }
  ts_vec_free(&which);
  free(pt);
  return st;
}

static int plan_store_of(const comp *c, const ts_gvar *v) {
  for (size_t i = 0; i < c->plan_vars.len; i++)
    if (c->plan_vars.data[i] == v) return c->plan_store.data[i];
  return -1;
}

/* ---- functions ----------------------------------------------------------------- */

static ts_status *compile_func(comp *c, const ts_gfunc *f, ts_bc_func *out) {
  c->f = f;
  c->code.len = c->regs.len = c->slots.len = c->slot_names.len = c->deferred.len = 0;
  c->plan_vars.len = c->plan_store.len = c->store_bytes.len = c->store_reg.len = 0;
  c->cur_store = -1;
  c->n_regs = (uint32_t)f->n_params;
  out->name = intern(c, f->name);
  out->n_params = (uint32_t)f->n_params;
  out->params = ts_xcalloc((size_t)f->n_params + 1, sizeof(ts_bc_param));
  for (int i = 0; i < f->n_params; i++) {
    const ts_gvar *v = f->params[i];
    ts_vec_push(&c->regs, ((reg_entry){v, (uint32_t)i}));
    ts_bc_param *pa = &out->params[i];
    pa->name = intern(c, v->name);
    const ts_sinfo *si = v->sinfo;
    if (si && si->kind != TS_SI_TENSOR && si->kind != TS_SI_OBJECT)
      return ts_status_make(TS_ERR_UNSUPPORTED, v->loc,
                            "%s: parameter '%s': only tensor parameters are supported by the "
                            "VM", f->name, v->name);
    bool tensor = si && si->kind == TS_SI_TENSOR;
    pa->dtype = tensor ? si->u.tensor.dtype : TS_VOIDT;
    pa->ndim = tensor ? si->u.tensor.ndim : -1;
    if (pa->ndim > TS_MAX_NDIM) pa->ndim = -1;
    if (pa->ndim >= 0) {
      pa->dims = ts_xcalloc((size_t)pa->ndim + 1, sizeof(int64_t));
      for (int d = 0; d < pa->ndim; d++) {
        const ts_expr *e = si->u.tensor.shape ? si->u.tensor.shape[d] : NULL;
        pa->dims[d] = e && e->kind == TS_E_INT ? e->u.int_value : -1;
      }
    }
    char *what = ts_strdup_printf("parameter '%s'", v->name);
    ts_status *st = emit_match(c, (uint32_t)i, what, si, v->loc);
    free(what);
    TS_RETURN_IF_ERROR(st);
  }
  TS_RETURN_IF_ERROR(flush_deferred(c, f->loc));
  TS_RETURN_IF_ERROR(read_plan(c, f));
  for (int b = 0; b < f->n_blocks; b++) {
    const ts_binding_block *blk = &f->blocks[b];
    for (int i = 0; i < blk->n; i++) {
      const ts_binding *bd = &blk->bindings[i];
      uint32_t r;
      c->cur_store = plan_store_of(c, bd->var);
      ts_status *vst = compile_value(c, bd->value, bd->var->name, &r);
      c->cur_store = -1;
      TS_RETURN_IF_ERROR(vst);
      if (bd->kind == TS_BIND_MATCH_CAST) {
        char *what = ts_strdup_printf("match_cast '%s'", bd->var->name);
        ts_status *st = emit_match(c, r, what, bd->match_sinfo, bd->loc);
        free(what);
        TS_RETURN_IF_ERROR(st);
        TS_RETURN_IF_ERROR(flush_deferred(c, bd->loc));
      }
      ts_vec_push(&c->regs, ((reg_entry){bd->var, r}));
    }
  }
  if (!f->result)
    return ts_status_make(TS_ERR_VALUE, f->loc, "%s: no return value", f->name);
  uint32_t r;
  TS_RETURN_IF_ERROR(compile_value(c, f->result, "result", &r));
  size_t at = begin(c, TS_BC_RET);
  emit(c, r);
  end(c, at);
  insert_kills(c);
  out->n_regs = c->n_regs;
  out->n_slots = (uint32_t)c->slot_names.len;
  out->slot_names = ts_xcalloc(c->slot_names.len + 1, sizeof(uint32_t));
  if (c->slot_names.len)
    memcpy(out->slot_names, c->slot_names.data, c->slot_names.len * sizeof(uint32_t));
  out->n_code = (uint32_t)c->code.len;
  out->code = ts_xcalloc(c->code.len + 1, sizeof(uint32_t));
  memcpy(out->code, c->code.data, c->code.len * sizeof(uint32_t));
  return NULL;
}

/* ---- kernel table ---------------------------------------------------------------- */

static ts_status *add_kernel(comp *c, const ts_primfunc *pf) {
  ts_bc_kernel k = {0};
  k.name = intern(c, pf->name);
  k.n_params = (uint32_t)pf->n_params;
  k.params = ts_xcalloc((size_t)pf->n_params + 1, sizeof(ts_bc_kparam));
  ts_vec_push(&c->kernels, k);
  ts_vec_push(&c->kfuncs, pf);
  ts_bc_kernel *kk = &c->kernels.data[c->kernels.len - 1];
  TS_VEC(const ts_var *) vars = {0};
#define VAR_INDEX(v, out)                                                      \
  do {                                                                         \
    size_t vi_ = 0;                                                            \
    while (vi_ < vars.len && vars.data[vi_] != (v)) vi_++;                     \
    if (vi_ == vars.len) ts_vec_push(&vars, (v));                              \
    (out) = (uint32_t)vi_;                                                     \
  } while (0)
  ts_status *st = NULL;
  for (int i = 0; i < pf->n_params && !st; i++) {
    const ts_param *p = &pf->params[i];
    ts_bc_kparam *kp = &kk->params[i];
    kp->var = TS_BC_NO_VAR;
    if (!p->buffer) {
      kp->name = intern(c, p->var->name);
      if (!ts_dtype_is_int(p->var->dtype)) {
        st = ts_status_make(TS_ERR_UNSUPPORTED, p->var->loc,
                            "%s: scalar parameter '%s' must be an integer for the VM",
                            pf->name, p->var->name);
        break;
      }
      VAR_INDEX(p->var, kp->var);
      continue;
    }
    const ts_buffer *b = p->buffer;
    kp->name = intern(c, b->name);
    kp->flags = TS_BC_KPARAM_BUFFER;
    if (ts_primfunc_writes(pf, b)) kp->flags |= TS_BC_KPARAM_WRITTEN;
    kp->dtype = b->dtype;
    if (b->ndim > TS_MAX_NDIM) {
      st = ts_status_make(TS_ERR_UNSUPPORTED, b->loc, "%s: buffer '%s' has rank %d",
                          pf->name, b->name, b->ndim);
      break;
    }
    kp->ndim = (uint32_t)b->ndim;
    kp->dims = ts_xcalloc((size_t)b->ndim * 3 + 1, sizeof(uint32_t));
    for (int d = 0; d < b->ndim; d++) {
      const ts_expr *e = b->shape[d];
      while (e->kind == TS_E_CAST) e = e->u.unary.a;
      uint32_t vi;
      if (e->kind == TS_E_INT) {
        dim_of(TS_BC_DIM_IMM, e->u.int_value, kp->dims + 3 * d);
      } else if (e->kind == TS_E_VAR) {
        VAR_INDEX(e->u.var, vi);
        dim_of(TS_BC_DIM_SLOT, vi, kp->dims + 3 * d);
      } else {
        dim_of(TS_BC_DIM_ANY, 0, kp->dims + 3 * d);
      }
    }
  }
#undef VAR_INDEX
  kk->n_vars = (uint32_t)vars.len;
  ts_vec_free(&vars);
  return st;
}

ts_status *ts_vm_compile(const ts_module *m, ts_vm_program **out) {
  *out = NULL;
  comp c = {.m = m};
  ts_status *st = NULL;
  for (int i = 0; i < m->n_funcs && !st; i++) {
    if (m->funcs[i].kind == TS_FUNC_PRIM) st = add_kernel(&c, m->funcs[i].u.prim);
    if (m->funcs[i].kind == TS_FUNC_GRAPH) ts_vec_push(&c.gfuncs, m->funcs[i].u.graph);
  }
  ts_bc_func *funcs = ts_xcalloc(c.gfuncs.len + 1, sizeof(ts_bc_func));
  ts_bc_program *p = ts_xcalloc(1, sizeof *p);
  p->funcs = funcs;
  for (size_t i = 0; i < c.gfuncs.len && !st; i++) {
    p->n_funcs++;
    st = compile_func(&c, c.gfuncs.data[i], &funcs[i]);
  }
  p->n_strings = (uint32_t)c.strings.len;
  p->strings = c.strings.data ? c.strings.data : ts_xcalloc(1, sizeof(char *));
  p->n_kernels = (uint32_t)c.kernels.len;
  p->kernels = c.kernels.data ? c.kernels.data : ts_xcalloc(1, sizeof(ts_bc_kernel));
  p->n_consts = (uint32_t)c.consts.len;
  p->consts = c.consts.data ? c.consts.data : ts_xcalloc(1, sizeof(ts_bc_const));
  ts_vec_free(&c.kfuncs);
  ts_vec_free(&c.cdata);
  ts_vec_free(&c.gfuncs);
  ts_vec_free(&c.code);
  ts_vec_free(&c.regs);
  ts_vec_free(&c.slots);
  ts_vec_free(&c.slot_names);
  ts_vec_free(&c.deferred);
  ts_vec_free(&c.plan_vars);
  ts_vec_free(&c.plan_store);
  ts_vec_free(&c.store_bytes);
  ts_vec_free(&c.store_reg);
  if (!st) {
    st = ts_bc_verify(p);
    if (st) {
      ts_status *internal = ts_error(TS_ERR_INTERNAL, "VM compiler produced invalid "
                                     "bytecode: %s", ts_status_message(st));
      ts_status_free(st);
      st = internal;
    }
  }
  if (st) {
    ts_bc_program_free(p);
    return st;
  }
  *out = p;
  return NULL;
}
