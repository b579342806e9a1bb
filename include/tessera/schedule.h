/* schedule.h: TensorIR schedules and their traces.
 *
 * A schedule owns a copy of a module and transforms one of its PrimFuncs
 * (the "current function", switchable by func_name) step by step.  Blocks,
 * loops and sampled integers are referred to by handles (random variables in
 * TVM's words): small integers that stay valid across primitives, because
 * primitives rewrite the IR in place (the schedule's module is private to
 * it).  A handle whose loop or block disappeared (fused loops, inlined
 * blocks) becomes invalid and using it is an error naming it.
 *
 * Every primitive checks its preconditions first and refuses with a clear
 * message naming the block or loop; on refusal the module is unchanged.
 * Every successful call is appended to the trace, which prints in TVM's
 * trace syntax and replays on a module (ts_trace_apply). */
#ifndef TESSERA_SCHEDULE_H
#define TESSERA_SCHEDULE_H

#include "tessera/ir.h"

typedef struct ts_schedule ts_schedule;
typedef int32_t ts_rv; /* a handle; -1 is "none" */

/* Creates a schedule over a copy of `m`; `seed` drives the sampling
 * primitives (0: a fixed default). */
ts_schedule *ts_schedule_create(const ts_module *m, uint64_t seed);
void ts_schedule_destroy(ts_schedule *s);
/* The scheduled module (owned by the schedule). */
ts_module *ts_schedule_module(ts_schedule *s);
/* Detaches the module (the caller owns it; the schedule is unusable after). */
ts_module *ts_schedule_take_module(ts_schedule *s);
/* The trace so far, in TVM syntax (heap string). */
char *ts_schedule_trace_text(const ts_schedule *s);
/* The name a handle prints with in the trace ("b0", "l1", "v2"). */
const char *ts_schedule_rv_name(const ts_schedule *s, ts_rv rv);

/* ---- get ------------------------------------------------------------------ */
ts_status *ts_sch_get_block(ts_schedule *s, const char *name,
                            const char *func_name, ts_rv *out);
ts_status *ts_sch_get_loops(ts_schedule *s, ts_rv block, ts_rv **out,
                            int *out_n); /* *out heap, caller frees */
ts_status *ts_sch_get_child_blocks(ts_schedule *s, ts_rv block_or_loop,
                                   ts_rv **out, int *out_n);
ts_status *ts_sch_get_producers(ts_schedule *s, ts_rv block, ts_rv **out,
                                int *out_n);
ts_status *ts_sch_get_consumers(ts_schedule *s, ts_rv block, ts_rv **out,
                                int *out_n);

/* ---- loops ------------------------------------------------------------------ */
/* factors: n entries, each a constant > 0 or -1 (None: inferred, at most
 * one); factor_rvs may hold sampled-integer handles (or NULL). */
ts_status *ts_sch_split(ts_schedule *s, ts_rv loop, const int64_t *factors,
                        const ts_rv *factor_rvs, int n,
                        bool preserve_unit_iters, ts_rv **out);
ts_status *ts_sch_fuse(ts_schedule *s, const ts_rv *loops, int n,
                       bool preserve_unit_iters, ts_rv *out);
ts_status *ts_sch_reorder(ts_schedule *s, const ts_rv *loops, int n);
ts_status *ts_sch_add_unit_loop(ts_schedule *s, ts_rv block_or_loop,
                                ts_rv *out);
ts_status *ts_sch_parallel(ts_schedule *s, ts_rv loop);
ts_status *ts_sch_vectorize(ts_schedule *s, ts_rv loop);
ts_status *ts_sch_unroll(ts_schedule *s, ts_rv loop);
ts_status *ts_sch_bind(ts_schedule *s, ts_rv loop, const char *thread_axis);

/* ---- compute location ---------------------------------------------------- */
ts_status *ts_sch_compute_at(ts_schedule *s, ts_rv block, ts_rv loop,
                             bool preserve_unit_loops);
ts_status *ts_sch_reverse_compute_at(ts_schedule *s, ts_rv block, ts_rv loop,
                                     bool preserve_unit_loops);
ts_status *ts_sch_compute_inline(ts_schedule *s, ts_rv block);
ts_status *ts_sch_reverse_compute_inline(ts_schedule *s, ts_rv block);

/* ---- cache and storage --------------------------------------------------- */
ts_status *ts_sch_cache_read(ts_schedule *s, ts_rv block, int read_index,
                             const char *scope, ts_rv *out);
ts_status *ts_sch_cache_write(ts_schedule *s, ts_rv block, int write_index,
                              const char *scope, ts_rv *out);
ts_status *ts_sch_set_scope(ts_schedule *s, ts_rv block, int buffer_index,
                            const char *scope);
ts_status *ts_sch_storage_align(ts_schedule *s, ts_rv block, int buffer_index,
                                int axis, int factor, int offset);

/* ---- reduction -------------------------------------------------------------- */
ts_status *ts_sch_decompose_reduction(ts_schedule *s, ts_rv block, ts_rv loop,
                                      ts_rv *out);
ts_status *ts_sch_rfactor(ts_schedule *s, ts_rv loop, int factor_axis,
                          ts_rv *out);

/* ---- layout ------------------------------------------------------------------ */
/* An index map `lambda i, j: (j // 4, i, j % 4)`: params are fresh
 * variables, results expressions over them. */
typedef struct ts_index_map {
  ts_var **params;
  int n_params;
  ts_expr **results;
  int n_results;
} ts_index_map;
/* buffer_kind: 0 read, 1 write ("read"/"write" in the trace). */
ts_status *ts_sch_transform_layout(ts_schedule *s, ts_rv block,
                                   int buffer_kind, int buffer_index,
                                   const ts_index_map *map);
ts_status *ts_sch_transform_block_layout(ts_schedule *s, ts_rv block,
                                         const ts_index_map *map);

/* ---- blocks ------------------------------------------------------------------ */
ts_status *ts_sch_blockize(ts_schedule *s, ts_rv loop, ts_rv *out);
/* intrin: name of a tensor intrinsic registered in the module or globally
 * (ts_tensor_intrin_register). */
ts_status *ts_sch_tensorize(ts_schedule *s, ts_rv block_or_loop,
                            const char *intrin);
ts_status *ts_sch_annotate(ts_schedule *s, ts_rv block_or_loop,
                           const char *key, const ts_attr_value *value);
ts_status *ts_sch_unannotate(ts_schedule *s, ts_rv block_or_loop,
                             const char *key);

/* ---- sampling -------------------------------------------------------------- */
ts_status *ts_sch_sample_perfect_tile(ts_schedule *s, ts_rv loop, int n,
                                      int max_innermost_factor,
                                      ts_rv **out); /* n int handles */
ts_status *ts_sch_sample_categorical(ts_schedule *s, const int64_t *candidates,
                                     const double *probs, int n, ts_rv *out);
ts_status *ts_sch_sample_compute_location(ts_schedule *s, ts_rv block,
                                          ts_rv *out);
/* The value of a sampled integer handle. */
ts_status *ts_sch_get_int(ts_schedule *s, ts_rv v, int64_t *out);

/* ---- tensor intrinsics (global registry) ------------------------------------ */
void ts_tensor_intrin_register(const char *name, ts_primfunc *desc,
                               ts_primfunc *impl);

/* ---- traces -------------------------------------------------------------- */
/* Applies a schedule script (TVM trace syntax, or the MLC course's calling
 * style with positional arguments) to `s`.  `filename` names the script in
 * messages ("sched.py:3:10: ..."). */
ts_status *ts_trace_apply(ts_schedule *s, const char *text, size_t len,
                          const char *filename);

#endif
