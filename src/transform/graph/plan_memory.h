/* plan_memory.h: the liveness analysis behind the `plan-memory` pass, shared
 * with the VM compiler (src/vm/compile.c), which checks a plan read from the
 * attribute "tessera.memory_plan" before allocating from it. */
#ifndef TESSERA_TRANSFORM_GRAPH_PLAN_MEMORY_H
#define TESSERA_TRANSFORM_GRAPH_PLAN_MEMORY_H

#include "tessera/ir.h"

#define TS_MEMORY_PLAN_ATTR "tessera.memory_plan"

/* A tensor computed by R.call_tir / R.call_dps_packed with one output. */
typedef struct ts_plan_tensor {
  const ts_binding *binding;
  const ts_sinfo *sinfo; /* the output's struct info (a tensor) */
  int def, last;         /* binding ordinals (counted over all blocks) of the
                            definition and of the last use (def when unused) */
  /* false when the tensor may not live in shared storage: it is used other
   * than as an input of call_tir / call_dps_packed (returned, put in a
   * tuple, passed to a graph function, aliased, match_cast), its shape or
   * dtype is not known, or another binding has the same name. */
  bool plannable;
} ts_plan_tensor;

/* Every such tensor of g, in binding order (heap array, caller frees). */
int ts_plan_collect(const ts_gfunc *g, ts_plan_tensor **out);

#endif
