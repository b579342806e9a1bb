/* state.c: the schedule object, handles, the trace and tree navigation (see
 * sch_internal.h for the invariants). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

ts_schedule *ts_schedule_create(const ts_module *m, uint64_t seed) {
  ts_schedule *s = ts_xcalloc(1, sizeof *s);
  s->mod = ts_module_copy(m);
  s->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < s->mod->n_funcs && !s->func; i++)
    if (s->mod->funcs[i].kind == TS_FUNC_PRIM) s->func = s->mod->funcs[i].u.prim;
  return s;
}

void ts_schedule_destroy(ts_schedule *s) {
  if (!s) return;
  if (s->mod) ts_module_destroy(s->mod);
  for (size_t i = 0; i < s->trace.len; i++) free(s->trace.data[i]);
  ts_vec_free(&s->trace);
  ts_vec_free(&s->rvs);
  free(s);
}

ts_module *ts_schedule_module(ts_schedule *s) { return s->mod; }

ts_module *ts_schedule_take_module(ts_schedule *s) {
  ts_module *m = s->mod;
  s->mod = NULL;
  return m;
}

char *ts_schedule_trace_text(const ts_schedule *s) {
  ts_strbuf b = {0};
  ts_strbuf_append(&b, "");
  for (size_t i = 0; i < s->trace.len; i++) {
    ts_strbuf_append(&b, s->trace.data[i]);
    ts_strbuf_append(&b, "\n");
  }
  return b.data;
}

const char *ts_schedule_rv_name(const ts_schedule *s, ts_rv rv) {
  if (rv < 0 || (size_t)rv >= s->rvs.len) return "?";
  return s->rvs.data[rv].name;
}

ts_rv sch_new_rv(ts_schedule *s, sch_rv_kind kind, ts_stmt *node,
                 ts_primfunc *func) {
  sch_rv_entry e = {0};
  e.kind = kind;
  e.node = node;
  e.func = func;
  e.valid = true;
  snprintf(e.name, sizeof e.name, "%c%zu",
           kind == SCH_RV_BLOCK ? 'b' : kind == SCH_RV_LOOP ? 'l' : 'v',
           s->rvs.len);
  ts_vec_push(&s->rvs, e);
  return (ts_rv)(s->rvs.len - 1);
}

ts_rv sch_new_int(ts_schedule *s, int64_t value) {
  ts_rv r = sch_new_rv(s, SCH_RV_INT, NULL, NULL);
  s->rvs.data[r].value = value;
  return r;
}

ts_rv sch_rv_for_node(ts_schedule *s, sch_rv_kind kind, ts_stmt *node,
                      ts_primfunc *func) {
  return sch_new_rv(s, kind, node, func);
}

static ts_status *rv_check(ts_schedule *s, ts_rv rv, int want, ts_stmt **out) {
  if (rv < 0 || (size_t)rv >= s->rvs.len)
    return sch_error("schedule", "unknown handle %d", (int)rv);
  sch_rv_entry *e = &s->rvs.data[rv];
  if (!e->valid)
    return sch_error("schedule",
                     "%s no longer refers to a %s (it was removed by an "
                     "earlier primitive)",
                     e->name, e->kind == SCH_RV_BLOCK ? "block" : "loop");
  if (want >= 0 && (int)e->kind != want)
    return sch_error("schedule", "%s is a %s handle, expected a %s", e->name,
                     e->kind == SCH_RV_BLOCK   ? "block"
                     : e->kind == SCH_RV_LOOP ? "loop"
                                              : "sampled integer",
                     want == SCH_RV_BLOCK ? "block" : "loop");
  if (want < 0 && e->kind == SCH_RV_INT)
    return sch_error("schedule", "%s is a sampled integer, expected a block "
                                 "or loop", e->name);
  *out = e->node;
  return NULL;
}

ts_status *sch_block(ts_schedule *s, ts_rv rv, ts_stmt **out) {
  return rv_check(s, rv, SCH_RV_BLOCK, out);
}
ts_status *sch_loop(ts_schedule *s, ts_rv rv, ts_stmt **out) {
  return rv_check(s, rv, SCH_RV_LOOP, out);
}
ts_status *sch_block_or_loop(ts_schedule *s, ts_rv rv, ts_stmt **out) {
  return rv_check(s, rv, -1, out);
}

void sch_invalidate_node(ts_schedule *s, const ts_stmt *node) {
  for (size_t i = 0; i < s->rvs.len; i++)
    if (s->rvs.data[i].node == node) s->rvs.data[i].valid = false;
}

ts_primfunc *sch_rv_func(ts_schedule *s, ts_rv rv) {
  if (rv < 0 || (size_t)rv >= s->rvs.len) return s->func;
  return s->rvs.data[rv].func ? s->rvs.data[rv].func : s->func;
}

ts_status *ts_sch_get_int(ts_schedule *s, ts_rv v, int64_t *out) {
  if (v < 0 || (size_t)v >= s->rvs.len || s->rvs.data[v].kind != SCH_RV_INT)
    return sch_error("schedule", "handle %d is not a sampled integer", (int)v);
  *out = s->rvs.data[v].value;
  return NULL;
}

void sch_record(ts_schedule *s, const char *fmt, ...) {
  ts_strbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  ts_vec_push(&s->trace, b.data);
}

char *sch_rv_list(const ts_schedule *s, const ts_rv *rvs, int n,
                  bool brackets) {
  ts_strbuf b = {0};
  ts_strbuf_append(&b, brackets ? "[" : "");
  for (int i = 0; i < n; i++) {
    if (i) ts_strbuf_append(&b, ", ");
    ts_strbuf_append(&b, ts_schedule_rv_name(s, rvs[i]));
  }
  ts_strbuf_append(&b, brackets ? "]" : "");
  return b.data;
}

ts_status *sch_error(const char *primitive, const char *fmt, ...) {
  ts_strbuf b = {0};
  ts_strbuf_printf(&b, "ScheduleError: %s: ", primitive);
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  ts_status *st = ts_error(TS_ERR_VALUE, "%s", b.data);
  ts_strbuf_free(&b);
  return st;
}

/* ---- navigation ---------------------------------------------------------- */

/* Calls visit(slot) for each child-statement slot of s. Returns the slot
 * holding `target` if found in s's subtree, with the parent. */
static bool find_parent(ts_stmt **slot, ts_stmt *parent, ts_stmt *target,
                        ts_stmt **out_parent, ts_stmt ***out_slot) {
  ts_stmt *s = *slot;
  if (!s) return false;
  if (s == target) {
    *out_parent = parent;
    *out_slot = slot;
    return true;
  }
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      if (find_parent(&s->u.seq.stmts[i], s, target, out_parent, out_slot))
        return true;
    return false;
  case TS_S_FOR:
    return find_parent(&s->u.for_.body, s, target, out_parent, out_slot);
  case TS_S_BLOCK_REALIZE:
    if (s->u.realize.block->init &&
        find_parent(&s->u.realize.block->init, s, target, out_parent, out_slot))
      return true;
    return find_parent(&s->u.realize.block->body, s, target, out_parent,
                       out_slot);
  case TS_S_IF:
    return find_parent(&s->u.if_.then_s, s, target, out_parent, out_slot) ||
           find_parent(&s->u.if_.else_s, s, target, out_parent, out_slot);
  case TS_S_LET:
    return find_parent(&s->u.let.body, s, target, out_parent, out_slot);
  case TS_S_ALLOCATE:
    return find_parent(&s->u.alloc.body, s, target, out_parent, out_slot);
  case TS_S_ASSERT:
    return find_parent(&s->u.assert_.body, s, target, out_parent, out_slot);
  default: return false;
  }
}

ts_stmt *sch_parent(ts_primfunc *f, ts_stmt *node, ts_stmt ***out_slot) {
  ts_stmt *parent = NULL, **slot = NULL;
  if (!find_parent(&f->body, NULL, node, &parent, &slot)) {
    if (out_slot) *out_slot = NULL;
    return NULL;
  }
  if (out_slot) *out_slot = slot;
  return parent;
}

void sch_replace(ts_primfunc *f, ts_stmt *node, ts_stmt *with) {
  ts_stmt **slot = NULL;
  sch_parent(f, node, &slot);
  TS_ASSERT(slot != NULL);
  *slot = with;
}

void sch_enclosing_loops(ts_primfunc *f, ts_stmt *node, ts_stmt ***out,
                         int *out_n) {
  TS_VEC(ts_stmt *) v = {0};
  ts_stmt *cur = node;
  for (;;) {
    ts_stmt *p = sch_parent(f, cur, NULL);
    if (!p || p->kind == TS_S_BLOCK_REALIZE) break;
    if (p->kind == TS_S_FOR) ts_vec_push(&v, p);
    cur = p;
  }
  /* reverse: outermost first */
  for (size_t i = 0; i < v.len / 2; i++) {
    ts_stmt *t = v.data[i];
    v.data[i] = v.data[v.len - 1 - i];
    v.data[v.len - 1 - i] = t;
  }
  *out = v.data;
  *out_n = (int)v.len;
}

ts_stmt *sch_enclosing_block(ts_primfunc *f, ts_stmt *node) {
  ts_stmt *cur = node;
  for (;;) {
    ts_stmt *p = sch_parent(f, cur, NULL);
    if (!p) return NULL;
    if (p->kind == TS_S_BLOCK_REALIZE) return p;
    cur = p;
  }
}

static void collect_blocks(ts_stmt *s, void *vv) {
  TS_VEC(ts_stmt *) *v = vv;
  if (!s) return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++) collect_blocks(s->u.seq.stmts[i], v);
    return;
  case TS_S_FOR: collect_blocks(s->u.for_.body, v); return;
  case TS_S_BLOCK_REALIZE: ts_vec_push(v, s); return;
  case TS_S_IF:
    collect_blocks(s->u.if_.then_s, v);
    collect_blocks(s->u.if_.else_s, v);
    return;
  case TS_S_LET: collect_blocks(s->u.let.body, v); return;
  case TS_S_ALLOCATE: collect_blocks(s->u.alloc.body, v); return;
  case TS_S_ASSERT: collect_blocks(s->u.assert_.body, v); return;
  default: return;
  }
}

void sch_child_blocks(ts_stmt *scope, ts_stmt ***out, int *out_n) {
  TS_VEC(ts_stmt *) v = {0};
  if (scope->kind == TS_S_BLOCK_REALIZE) {
    collect_blocks(scope->u.realize.block->init, &v);
    collect_blocks(scope->u.realize.block->body, &v);
  } else {
    collect_blocks(scope->u.for_.body, &v);
  }
  *out = v.data;
  *out_n = (int)v.len;
}

static ts_stmt *find_block(ts_stmt *s, const char *name) {
  if (!s) return NULL;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++) {
      ts_stmt *r = find_block(s->u.seq.stmts[i], name);
      if (r) return r;
    }
    return NULL;
  case TS_S_FOR: return find_block(s->u.for_.body, name);
  case TS_S_BLOCK_REALIZE: {
    if (!strcmp(s->u.realize.block->name, name)) return s;
    ts_stmt *r = find_block(s->u.realize.block->init, name);
    return r ? r : find_block(s->u.realize.block->body, name);
  }
  case TS_S_IF: {
    ts_stmt *r = find_block(s->u.if_.then_s, name);
    return r ? r : find_block(s->u.if_.else_s, name);
  }
  case TS_S_LET: return find_block(s->u.let.body, name);
  case TS_S_ALLOCATE: return find_block(s->u.alloc.body, name);
  case TS_S_ASSERT: return find_block(s->u.assert_.body, name);
  default: return NULL;
  }
}

ts_stmt *sch_find_block(ts_primfunc *f, const char *name) {
  return find_block(f->body, name);
}

/* ---- fresh names ---------------------------------------------------------- */

typedef struct names_ctx {
  const char *cand;
  bool taken;
} names_ctx;

static bool name_stmt(const ts_stmt *s, void *vc) {
  names_ctx *c = vc;
  if (s->kind == TS_S_FOR && !strcmp(s->u.for_.var->name, c->cand)) c->taken = true;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    if (!strcmp(b->name, c->cand)) c->taken = true;
    for (int i = 0; i < b->n_iter_vars; i++)
      if (!strcmp(b->iter_vars[i].var->name, c->cand)) c->taken = true;
    for (int i = 0; i < b->n_alloc_buffers; i++)
      if (!strcmp(b->alloc_buffers[i]->name, c->cand)) c->taken = true;
  }
  if (s->kind == TS_S_LET && !strcmp(s->u.let.var->name, c->cand)) c->taken = true;
  return true;
}

static bool name_taken(ts_primfunc *f, const char *cand) {
  names_ctx c = {cand, false};
  for (int i = 0; i < f->n_params; i++) {
    if (!strcmp(f->params[i].var->name, cand)) return true;
    if (f->params[i].buffer && !strcmp(f->params[i].buffer->name, cand)) return true;
  }
  ts_stmt_visit(f->body, name_stmt, NULL, &c);
  return c.taken;
}

const char *sch_fresh_name(ts_schedule *s, ts_primfunc *f, const char *base) {
  if (!name_taken(f, base)) return ts_arena_strdup(s->mod->arena, base);
  for (int k = 1;; k++) {
    char *cand = ts_arena_printf(s->mod->arena, "%s_%d", base, k);
    if (!name_taken(f, cand)) return cand;
  }
}
