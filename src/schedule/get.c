/* get.c: the lookup primitives: get_block, get_loops, get_child_blocks,
 * get_producers, get_consumers.
 *
 * They never change the IR; each call makes fresh handles (as TVM makes
 * fresh random variables) and records one trace line.  Producers and
 * consumers are found by buffer dependence among the blocks that share the
 * block's scope (the nearest enclosing block), in program order. */
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

static int count_primfuncs(ts_module *m, ts_primfunc **out_only) {
  int n = 0;
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].kind == TS_FUNC_PRIM) {
      n++;
      *out_only = m->funcs[i].u.prim;
    }
  return n;
}

ts_status *ts_sch_get_block(ts_schedule *s, const char *name,
                            const char *func_name, ts_rv *out) {
  ts_primfunc *f = NULL;
  if (func_name) {
    f = ts_module_primfunc(s->mod, func_name);
    if (!f)
      return sch_error("get_block", "no TensorIR function named '%s' in the "
                                    "module", func_name);
  } else {
    ts_primfunc *only = NULL;
    int n = count_primfuncs(s->mod, &only);
    /* one function: that one; else the current function (the first one,
     * or the one named by work_on / the last get_block) */
    f = n == 1 ? only : s->func;
    if (!f)
      return sch_error("get_block", "the module has no TensorIR function");
  }
  ts_stmt *r = sch_find_block(f, name);
  if (!r)
    return sch_error("get_block", "no block named '%s' in function '%s'",
                     name, f->name);
  s->func = f;
  *out = sch_rv_for_node(s, SCH_RV_BLOCK, r, f);
  sch_record(s, "%s = sch.get_block(name=\"%s\", func_name=\"%s\")",
             ts_schedule_rv_name(s, *out), name, f->name);
  return NULL;
}

/* Records "a, b = sch.<call>" (or the call alone when there are no
 * results). */
static void record_list(ts_schedule *s, const ts_rv *rvs, int n,
                        const char *call) {
  if (n == 0) {
    sch_record(s, "sch.%s", call);
    return;
  }
  char *lhs = sch_rv_list(s, rvs, n, false);
  sch_record(s, "%s%s = sch.%s", lhs, n == 1 ? "," : "", call);
  free(lhs);
}

static ts_rv *handles_for(ts_schedule *s, sch_rv_kind kind, ts_stmt **nodes,
                          int n, ts_primfunc *f) {
  ts_rv *rvs = ts_xmalloc(sizeof(ts_rv) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) rvs[i] = sch_rv_for_node(s, kind, nodes[i], f);
  return rvs;
}

ts_status *ts_sch_get_loops(ts_schedule *s, ts_rv block, ts_rv **out,
                            int *out_n) {
  ts_stmt *r;
  TS_RETURN_IF_ERROR(sch_block(s, block, &r));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_stmt **loops;
  int n;
  sch_enclosing_loops(f, r, &loops, &n);
  *out = handles_for(s, SCH_RV_LOOP, loops, n, f);
  *out_n = n;
  free(loops);
  char *call = ts_strdup_printf("get_loops(block=%s)",
                                ts_schedule_rv_name(s, block));
  record_list(s, *out, n, call);
  free(call);
  return NULL;
}

ts_status *ts_sch_get_child_blocks(ts_schedule *s, ts_rv block_or_loop,
                                   ts_rv **out, int *out_n) {
  ts_stmt *node;
  TS_RETURN_IF_ERROR(sch_block_or_loop(s, block_or_loop, &node));
  ts_primfunc *f = sch_rv_func(s, block_or_loop);
  ts_stmt **blocks;
  int n;
  sch_child_blocks(node, &blocks, &n);
  *out = handles_for(s, SCH_RV_BLOCK, blocks, n, f);
  *out_n = n;
  free(blocks);
  char *call = ts_strdup_printf("get_child_blocks(%s)",
                                ts_schedule_rv_name(s, block_or_loop));
  record_list(s, *out, n, call);
  free(call);
  return NULL;
}

static bool region_has(const ts_region *rs, int n, const ts_buffer *b) {
  for (int i = 0; i < n; i++)
    if (rs[i].buffer == b) return true;
  return false;
}

/* True when block `w` writes a buffer that block `r` reads. */
bool sch_block_feeds(const ts_block *w, const ts_block *r) {
  for (int i = 0; i < w->n_writes; i++)
    if (region_has(r->reads, r->n_reads, w->writes[i].buffer)) return true;
  return false;
}

static ts_status *deps(ts_schedule *s, ts_rv block, bool producers,
                       ts_rv **out, int *out_n) {
  ts_stmt *r;
  TS_RETURN_IF_ERROR(sch_block(s, block, &r));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_stmt *scope = sch_enclosing_block(f, r);
  TS_VEC(ts_stmt *) found = {0};
  if (scope) {
    ts_stmt **sib;
    int n;
    sch_child_blocks(scope, &sib, &n);
    for (int i = 0; i < n; i++) {
      if (sib[i] == r) continue;
      const ts_block *me = r->u.realize.block, *o = sib[i]->u.realize.block;
      if (producers ? sch_block_feeds(o, me) : sch_block_feeds(me, o))
        ts_vec_push(&found, sib[i]);
    }
    free(sib);
  }
  *out = handles_for(s, SCH_RV_BLOCK, found.data, (int)found.len, f);
  *out_n = (int)found.len;
  ts_vec_free(&found);
  char *call = ts_strdup_printf("%s(block=%s)",
                                producers ? "get_producers" : "get_consumers",
                                ts_schedule_rv_name(s, block));
  record_list(s, *out, *out_n, call);
  free(call);
  return NULL;
}

ts_status *ts_sch_get_producers(ts_schedule *s, ts_rv block, ts_rv **out,
                                int *out_n) {
  return deps(s, block, true, out, out_n);
}

ts_status *ts_sch_get_consumers(ts_schedule *s, ts_rv block, ts_rv **out,
                                int *out_n) {
  return deps(s, block, false, out, out_n);
}
