/* dispatch_library.c: the `dispatch-library` pass ("map to library
 * functions", as TVM's BYOC pattern partitioning does for cuBLAS/DNNL).  Run
 * before legalize, it rewrites chains of op calls in graph functions into one
 * R.call_dps_packed of a library function of the runtime
 * (src/runtime/builtins_dnnl.c); out_sinfo is the last value's struct info.
 *
 *   matmul:  R.matmul(a, b) [R.add(., bias)] [R.nn.relu(.)]
 *              -> env.sgemm[_bias][_relu] (a, b[, bias])       (OpenBLAS)
 *   linear:  R.matmul(x, R.permute_dims(w)) / R.linear(x, w[, b]), the same
 *            tail -> env.sgemm_nt[_bias][_relu] (x, w[, bias])
 *   dnnl-matmul: both of the above through oneDNN: env.dnnl.matmul...
 *   conv2d:  R.nn.conv2d(x, w) (NCHW/OIHW) followed by up to 8 of R.add /
 *            R.multiply (either operand order), R.subtract / R.divide (the
 *            chain on the left), R.nn.relu -- e.g. batch norm written
 *            elementwise, a residual add --
 *              -> env.dnnl.conv2d.s..p..d..g..[.add|.mul|.sub|.div|.relu]...
 *                 (x, w, operands of the binary steps in order)
 *
 * Arguments select patterns: "dispatch-library[matmul,conv2d]"; none means
 * matmul, linear and conv2d.  A chain grows only through values that have
 * exactly one use (a binding of the same block), so nothing computed is lost;
 * operands must have static float32 shapes that broadcast to the result
 * without changing its shape (a bias: N elements along the last axis; a conv
 * operand: a scalar, per channel (1, O, 1, 1) / (O, 1, 1), or the full
 * shape).  Replaced intermediate bindings (and a permute_dims used only by
 * the matmul) are removed; the fused call takes the last binding's place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

#define MAX_POST 8

typedef struct config {
  bool matmul, linear, conv2d, dnnl_matmul;
} config;

static ts_status *parse_args(const char *args, config *c) {
  memset(c, 0, sizeof *c);
  if (!args || !*args) {
    c->matmul = c->linear = c->conv2d = true;
    return NULL;
  }
  const char *p = args;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n == 6 && !strncmp(p, "matmul", n))
      c->matmul = true;
    else if (n == 6 && !strncmp(p, "linear", n))
      c->linear = true;
    else if (n == 6 && !strncmp(p, "conv2d", n))
      c->conv2d = true;
    else if (n == 11 && !strncmp(p, "dnnl-matmul", n))
      c->dnnl_matmul = true;
    else
      return ts_error(TS_ERR_VALUE,
                      "dispatch-library: unknown pattern '%.*s' (known: "
                      "matmul, linear, conv2d, dnnl-matmul)",
                      (int)n, p);
    p += n;
    if (*p == ',') p++;
  }
  return NULL;
}

/* ---- uses ------------------------------------------------------------- */

static void count_uses(ts_ptrmap *uses, const ts_gexpr *e) {
  if (!e) return;
  switch (e->kind) {
  case TS_G_VAR:
    ts_ptrmap_put(uses, e->u.var,
                  (void *)((intptr_t)ts_ptrmap_get(uses, e->u.var) + 1));
    break;
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++) count_uses(uses, e->u.tuple.fields[i]);
    break;
  case TS_G_TUPLE_GET: count_uses(uses, e->u.tuple_get.tuple); break;
  case TS_G_CALL:
    for (int i = 0; i < e->u.call.n_args; i++) count_uses(uses, e->u.call.args[i]);
    break;
  default: break;
  }
}

static intptr_t n_uses(const ts_ptrmap *uses, const ts_gvar *v) {
  return (intptr_t)ts_ptrmap_get(uses, v);
}

/* ---- struct info helpers ------------------------------------------------ */

static const ts_sinfo *sinfo_of(const ts_gexpr *e) {
  if (e->sinfo) return e->sinfo;
  return e->kind == TS_G_VAR ? e->u.var->sinfo : NULL;
}

/* A float32 tensor of static shape: dims into d (at most 8), rank into *nd. */
static bool static_f32(const ts_sinfo *s, int64_t *d, int *nd) {
  if (!s || s->kind != TS_SI_TENSOR || !ts_dtype_eq(s->u.tensor.dtype, TS_F32) ||
      s->u.tensor.ndim < 0 || s->u.tensor.ndim > 8 || !s->u.tensor.shape)
    return false;
  for (int i = 0; i < s->u.tensor.ndim; i++)
    if (!ts_expr_is_const_int(s->u.tensor.shape[i], &d[i])) return false;
  *nd = s->u.tensor.ndim;
  return true;
}

static bool is_op(const ts_gexpr *e, int op) {
  return op >= 0 && e && e->kind == TS_G_CALL &&
         e->u.call.callee_kind == TS_CALLEE_OP && e->u.call.op == op;
}

static bool is_var(const ts_gexpr *e, const ts_gvar *v) {
  return e->kind == TS_G_VAR && e->u.var == v;
}

static int op_id(const char *name) {
  int id;
  return ts_op_lookup(name, &id) ? id : -1;
}

/* ---- the rewrite of one chain ------------------------------------------- */

typedef struct chain {
  ts_gexpr *inputs[3 + MAX_POST];
  int n_inputs;
  const char *posts[MAX_POST];
  int n_posts;
  int last;       /* index of the chain's last binding */
  int drop[2 + MAX_POST];
  int n_drop;     /* bindings to remove (the last one excluded) */
} chain;

typedef struct fn_ctx {
  ts_module *m;
  const config *cfg;
  ts_binding_block *blk;
  ts_ptrmap *uses;
  bool *removed;
} fn_ctx;

/* The binding of blk after `k` that uses the value of binding k as a direct
 * operand of an op call, when that value has exactly that one use; -1
 * otherwise. */
static int sole_user(fn_ctx *c, int k) {
  const ts_gvar *v = c->blk->bindings[k].var;
  if (n_uses(c->uses, v) != 1) return -1;
  for (int j = k + 1; j < c->blk->n; j++) {
    const ts_binding *b = &c->blk->bindings[j];
    if (b->kind != TS_BIND_VAR || b->value->kind != TS_G_CALL ||
        b->value->u.call.callee_kind != TS_CALLEE_OP)
      continue;
    for (int i = 0; i < b->value->u.call.n_args; i++)
      if (is_var(b->value->u.call.args[i], v)) return j;
  }
  return -1;
}

/* A bias for an (..., N) result: N elements on the last axis, rank not above
 * the result's. */
static bool is_bias(const ts_gexpr *e, int64_t N, int out_nd) {
  int64_t d[8];
  int nd;
  if (!static_f32(sinfo_of(e), d, &nd) || nd < 1 || nd > out_nd || d[nd - 1] != N)
    return false;
  for (int i = 0; i < nd - 1; i++)
    if (d[i] != 1) return false;
  return true;
}

/* The binding index of the permute_dims in blk defining `e` (a var used
 * once), or -1; *out_w receives the transposed operand.  A direct call
 * R.permute_dims(w) gives -2. */
static int transposed_weight(fn_ctx *c, ts_gexpr *e, int before,
                             ts_gexpr **out_w) {
  int op = TS_OP_PERMUTE_DIMS;
  ts_gexpr *call = NULL;
  int at = -1;
  if (is_op(e, op)) {
    call = e;
    at = -2;
  } else if (e->kind == TS_G_VAR && n_uses(c->uses, e->u.var) == 1) {
    for (int j = 0; j < before; j++)
      if (c->blk->bindings[j].var == e->u.var && !c->removed[j] &&
          c->blk->bindings[j].kind == TS_BIND_VAR &&
          is_op(c->blk->bindings[j].value, op)) {
        call = c->blk->bindings[j].value;
        at = j;
      }
  }
  if (!call || call->u.call.n_args != 1) return -1;
  int64_t d[8];
  int nd;
  if (!static_f32(sinfo_of(call->u.call.args[0]), d, &nd) || nd != 2) return -1;
  const ts_attr_value *ax = ts_attrs_get(call->u.call.attrs, "axes");
  if (ax && ax->kind != TS_ATTR_NONE) {
    if (ax->kind != TS_ATTR_LIST || ax->u.list.n != 2) return -1;
    for (int i = 0; i < 2; i++) {
      const ts_attr_value *v = ax->u.list.items[i];
      int64_t x;
      if (v->kind == TS_ATTR_INT) x = v->u.i;
      else if (v->kind != TS_ATTR_EXPR || !ts_expr_is_const_int(v->u.expr, &x)) return -1;
      if (x != 1 - i && x != -1 - i) return -1;
    }
  }
  *out_w = call->u.call.args[0];
  return at;
}

/* matmul / linear chains rooted at binding k. */
static bool match_gemm(fn_ctx *c, int k, chain *ch, const char **out_base) {
  const ts_gexpr *root = c->blk->bindings[k].value;
  const config *cfg = c->cfg;
  int linear_op = op_id("linear");
  bool nt = false, bias = false;
  int64_t ad[8], bd[8], od[8];
  int an, bn, on;
  memset(ch, 0, sizeof *ch);
  if (is_op(root, TS_OP_MATMUL) && root->u.call.n_args == 2) {
    ts_gexpr *a = root->u.call.args[0], *b = root->u.call.args[1], *w = NULL;
    int at = transposed_weight(c, b, k, &w);
    if (at != -1) {
      if (!cfg->linear && !cfg->dnnl_matmul) return false;
      nt = true;
      b = w;
      if (at >= 0) ch->drop[ch->n_drop++] = at;
    } else if (!cfg->matmul && !cfg->dnnl_matmul) {
      return false;
    }
    ch->inputs[ch->n_inputs++] = a;
    ch->inputs[ch->n_inputs++] = b;
  } else if (is_op(root, linear_op) && root->u.call.n_args >= 2) {
    if (!cfg->linear && !cfg->dnnl_matmul) return false;
    nt = true;
    ch->inputs[ch->n_inputs++] = root->u.call.args[0];
    ch->inputs[ch->n_inputs++] = root->u.call.args[1];
    if (root->u.call.n_args == 3) {
      const ts_sinfo *s = sinfo_of(root->u.call.args[2]);
      if (!s || s->kind != TS_SI_TENSOR) return false;
      ch->inputs[ch->n_inputs++] = root->u.call.args[2];
      bias = true;
    }
  } else {
    return false;
  }
  if (!static_f32(sinfo_of(ch->inputs[0]), ad, &an) || an < 2 ||
      !static_f32(sinfo_of(ch->inputs[1]), bd, &bn) || bn != 2 ||
      !static_f32(root->sinfo, od, &on) || on != an)
    return false;
  int64_t K = ad[an - 1], N = nt ? bd[0] : bd[1];
  if ((nt ? bd[1] : bd[0]) != K || od[on - 1] != N) return false;
  if (bias && !is_bias(ch->inputs[2], N, on)) return false;
  /* the tail: [add bias] [relu] */
  bool relu = false;
  int cur = k, j;
  if (!bias && (j = sole_user(c, cur)) >= 0) {
    const ts_gexpr *u = c->blk->bindings[j].value;
    const ts_gvar *v = c->blk->bindings[cur].var;
    if (is_op(u, TS_OP_ADD) && u->u.call.n_args == 2) {
      int other = is_var(u->u.call.args[0], v) ? 1 : 0;
      ts_gexpr *o = u->u.call.args[other];
      if (!is_var(o, v) && is_bias(o, N, on)) {
        ch->inputs[ch->n_inputs++] = o;
        bias = true;
        ch->drop[ch->n_drop++] = cur;
        cur = j;
      }
    }
  }
  if ((j = sole_user(c, cur)) >= 0 && is_op(c->blk->bindings[j].value, TS_OP_RELU)) {
    relu = true;
    ch->drop[ch->n_drop++] = cur;
    cur = j;
  }
  ch->last = cur;
  bool dnnl = cfg->dnnl_matmul;
  *out_base = ts_arena_printf(c->m->arena, "%s%s%s%s",
                              dnnl ? "env.dnnl.matmul" : "env.sgemm",
                              nt ? "_nt" : "", bias ? "_bias" : "",
                              relu ? "_relu" : "");
  return true;
}

/* Reads an integer list attribute of 1..4 entries (or a single integer). */
static bool int_list(const ts_attrs *attrs, const char *key, int64_t *v,
                     int *n, int64_t dflt) {
  const ts_attr_value *a = ts_attrs_get(attrs, key);
  if (!a || a->kind == TS_ATTR_NONE) {
    v[0] = dflt;
    *n = 1;
    return true;
  }
  const ts_attr_value *one[1] = {a};
  ts_attr_value *const *items = (ts_attr_value *const *)one;
  int cnt = 1;
  if (a->kind == TS_ATTR_LIST) {
    items = a->u.list.items;
    cnt = a->u.list.n;
  }
  if (cnt < 1 || cnt > 4) return false;
  for (int i = 0; i < cnt; i++) {
    const ts_attr_value *x = items[i];
    if (x->kind == TS_ATTR_INT) v[i] = x->u.i;
    else if (x->kind != TS_ATTR_EXPR || !ts_expr_is_const_int(x->u.expr, &v[i]))
      return false;
  }
  *n = cnt;
  return true;
}

static bool str_attr_is(const ts_attrs *attrs, const char *key, const char *want) {
  const ts_attr_value *a = ts_attrs_get(attrs, key);
  if (!a || a->kind == TS_ATTR_NONE) return true;
  return a->kind == TS_ATTR_STR && (!*a->u.s || !strcmp(a->u.s, want));
}

/* A conv post-op operand: a scalar, per channel or the full output shape. */
static bool conv_operand(const ts_gexpr *e, const int64_t *od) {
  int64_t d[8], p[4];
  int nd;
  if (!static_f32(sinfo_of(e), d, &nd) || nd > 4) return false;
  for (int i = 0; i < 4; i++) p[i] = i - (4 - nd) >= 0 ? d[i - (4 - nd)] : 1;
  bool scalar = p[0] == 1 && p[1] == 1 && p[2] == 1 && p[3] == 1;
  bool per_c = p[0] == 1 && p[1] == od[1] && p[2] == 1 && p[3] == 1;
  bool full = p[0] == od[0] && p[1] == od[1] && p[2] == od[2] && p[3] == od[3];
  return scalar || per_c || full;
}

static bool match_conv(fn_ctx *c, int k, chain *ch, const char **out_base) {
  const ts_gexpr *root = c->blk->bindings[k].value;
  if (!c->cfg->conv2d || !is_op(root, op_id("nn.conv2d")) || root->u.call.n_args != 2)
    return false;
  memset(ch, 0, sizeof *ch);
  const ts_attrs *at = root->u.call.attrs;
  int64_t xd[8], wd[8], od[8], s[4], p[4], d[4], g[4];
  int xn, wn, on, ns, np, nd, ng;
  if (!static_f32(sinfo_of(root->u.call.args[0]), xd, &xn) || xn != 4 ||
      !static_f32(sinfo_of(root->u.call.args[1]), wd, &wn) || wn != 4 ||
      !static_f32(root->sinfo, od, &on) || on != 4)
    return false;
  if (!str_attr_is(at, "data_layout", "NCHW") ||
      !str_attr_is(at, "kernel_layout", "OIHW") ||
      !str_attr_is(at, "out_layout", "NCHW"))
    return false;
  const ts_attr_value *odt = ts_attrs_get(at, "out_dtype");
  if (odt && odt->kind == TS_ATTR_DTYPE && odt->u.dtype.code != TS_VOID &&
      !ts_dtype_eq(odt->u.dtype, TS_F32))
    return false;
  if (odt && odt->kind == TS_ATTR_STR && *odt->u.s && strcmp(odt->u.s, "float32"))
    return false;
  if (!int_list(at, "strides", s, &ns, 1) || !int_list(at, "padding", p, &np, 0) ||
      !int_list(at, "dilation", d, &nd, 1) || !int_list(at, "groups", g, &ng, 1) ||
      ns > 2 || nd > 2 || ng != 1 || np == 3)
    return false;
  if (ns == 1) s[1] = s[0];
  if (nd == 1) d[1] = d[0];
  if (np == 1) p[1] = p[2] = p[3] = p[0];
  if (np == 2) p[2] = p[0], p[3] = p[1];
  ch->inputs[ch->n_inputs++] = root->u.call.args[0];
  ch->inputs[ch->n_inputs++] = root->u.call.args[1];
  int cur = k, j;
  while (ch->n_posts < MAX_POST && (j = sole_user(c, cur)) >= 0) {
    const ts_gexpr *u = c->blk->bindings[j].value;
    const ts_gvar *v = c->blk->bindings[cur].var;
    int64_t rd[8];
    int rn;
    if (!static_f32(u->sinfo ? u->sinfo : c->blk->bindings[j].var->sinfo, rd, &rn) ||
        rn != 4 || memcmp(rd, od, sizeof(int64_t) * 4))
      break;
    const char *post = NULL;
    if (is_op(u, TS_OP_RELU)) {
      post = "relu";
    } else if (u->u.call.n_args == 2) {
      bool left = is_var(u->u.call.args[0], v);
      ts_gexpr *o = u->u.call.args[left ? 1 : 0];
      bool comm = is_op(u, TS_OP_ADD) || is_op(u, TS_OP_MULTIPLY);
      if (is_var(o, v) || (!left && !comm) || !conv_operand(o, od)) break;
      post = is_op(u, TS_OP_ADD) ? "add" : is_op(u, TS_OP_MULTIPLY) ? "mul"
             : is_op(u, TS_OP_SUBTRACT) ? "sub" : is_op(u, TS_OP_DIVIDE) ? "div" : NULL;
      if (!post) break;
      ch->inputs[ch->n_inputs++] = o;
    }
    if (!post) break;
    ch->posts[ch->n_posts++] = post;
    ch->drop[ch->n_drop++] = cur;
    cur = j;
  }
  ch->last = cur;
  ts_strbuf sb = {0};
  ts_strbuf_printf(&sb, "env.dnnl.conv2d.s%lldx%lld.p%lldx%lldx%lldx%lld.d%lldx%lld.g%lld",
                   (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1],
                   (long long)p[2], (long long)p[3], (long long)d[0], (long long)d[1],
                   (long long)g[0]);
  for (int i = 0; i < ch->n_posts; i++) ts_strbuf_printf(&sb, ".%s", ch->posts[i]);
  *out_base = ts_arena_strdup(c->m->arena, sb.data);
  ts_strbuf_free(&sb);
  return true;
}

/* Replaces binding ch->last's value with the library call. */
static void rewrite(fn_ctx *c, int k, const chain *ch, const char *name) {
  ts_arena *a = c->m->arena;
  ts_binding *last = &c->blk->bindings[ch->last];
  ts_loc loc = c->blk->bindings[k].value->loc;
  ts_sinfo *si = last->value->sinfo ? last->value->sinfo : last->var->sinfo;
  ts_gexpr *callee = ts_gexpr_new(a, TS_G_EXTERN, loc);
  callee->u.extern_name = name;
  ts_gexpr *tup = ts_gexpr_new(a, TS_G_TUPLE, loc);
  tup->u.tuple.n = ch->n_inputs;
  tup->u.tuple.fields = ts_arena_array(a, (size_t)ch->n_inputs, sizeof(ts_gexpr *));
  memcpy(tup->u.tuple.fields, ch->inputs, sizeof(ts_gexpr *) * (size_t)ch->n_inputs);
  ts_gexpr *call = ts_gexpr_new(a, TS_G_CALL, loc);
  call->sinfo = si;
  call->u.call.callee_kind = TS_CALLEE_OP;
  call->u.call.op = TS_OP_CALL_DPS_PACKED;
  call->u.call.n_args = 2;
  call->u.call.args = ts_arena_array(a, 2, sizeof(ts_gexpr *));
  call->u.call.args[0] = callee;
  call->u.call.args[1] = tup;
  call->u.call.n_sinfo_args = 1;
  call->u.call.sinfo_args = ts_arena_array(a, 1, sizeof(ts_sinfo *));
  call->u.call.sinfo_args[0] = si;
  last->value = call;
  for (int i = 0; i < ch->n_drop; i++) c->removed[ch->drop[i]] = true;
}

static void dispatch_block(fn_ctx *c) {
  ts_binding_block *blk = c->blk;
  c->removed = ts_xcalloc((size_t)blk->n + 1, sizeof(bool));
  for (int k = 0; k < blk->n; k++) {
    if (c->removed[k] || blk->bindings[k].kind != TS_BIND_VAR) continue;
    chain ch;
    const char *name = NULL;
    if (match_gemm(c, k, &ch, &name) || match_conv(c, k, &ch, &name)) {
      if (ch.last != k) ch.drop[ch.n_drop++] = k;
      rewrite(c, k, &ch, name);
    }
  }
  int w = 0;
  for (int k = 0; k < blk->n; k++)
    if (!c->removed[k]) blk->bindings[w++] = blk->bindings[k];
  blk->n = w;
  free(c->removed);
  c->removed = NULL;
}

ts_status *ts_pass_dispatch_library(ts_module *m, const char *args) {
  config cfg;
  TS_RETURN_IF_ERROR(parse_args(args, &cfg));
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH) continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    ts_ptrmap uses = {0};
    for (int b = 0; b < g->n_blocks; b++) {
      const ts_binding_block *blk = &g->blocks[b];
      for (int k = 0; k < blk->n; k++) count_uses(&uses, blk->bindings[k].value);
      for (int k = 0; k < blk->n_outputs; k++)
        ts_ptrmap_put(&uses, blk->outputs[k],
                      (void *)(n_uses(&uses, blk->outputs[k]) + 1));
    }
    count_uses(&uses, g->result);
    for (int b = 0; b < g->n_blocks; b++) {
      fn_ctx c = {m, &cfg, &g->blocks[b], &uses, NULL};
      dispatch_block(&c);
    }
    ts_ptrmap_free(&uses);
  }
  return NULL;
}
