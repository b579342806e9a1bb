/* tune.h: targets and rule-based default schedules.
 *
 * A target describes the machine kernels are scheduled for: its ISA
 * features, vector width, cache sizes and core count.  It is written as a
 * string in TVM's style, "cpu -mcpu=native" (features of the build machine),
 * "cpu -mcpu=x86-64" (SSE2 only), "cpu -mcpu=znver4", optionally with
 * "-mattr=+avx2,-avx512f", "-num-cores=2" and the cache sizes of another
 * machine, "-l1d-kb=48 -l2-kb=2048" (else read from the OS).
 *
 * The default rules (like TVM's DLight/default schedule rules) give every
 * PrimFunc that is not yet scheduled (attribute "tir.is_scheduled") a
 * schedule chosen by the shape of its blocks: register-tiled matmul with a
 * micro-kernel, fused+vectorized+parallel elementwise, row-parallel
 * reductions.  A rule that cannot apply a step keeps the steps before it:
 * every primitive preserves the function's meaning. */
#ifndef TESSERA_TUNE_H
#define TESSERA_TUNE_H

#include "tessera/ir.h"

typedef struct ts_target {
  char kind[16];  /* "cpu" */
  char mcpu[32];  /* "native", "x86-64", "znver4", ... */
  bool sse2, avx, avx2, fma, avx512f;
  int vector_bytes;   /* widest float vector register: 16, 32 or 64 */
  int num_vregs;      /* vector registers: 16 or 32 */
  int64_t l1d_bytes;  /* per core */
  int64_t l2_bytes;   /* per core */
  int64_t l3_bytes;   /* shared */
  int num_cores;
} ts_target;

/* Parses a target string; NULL or "" means "cpu -mcpu=native". */
ts_status *ts_target_parse(const char *text, ts_target *out);
/* The C compiler's flags for code that runs on the target (heap string):
 * its -march and each ISA feature on or off ("-march=haswell -mavx -mavx2
 * -mfma -mno-avx512f"), so that a build never emits instructions the
 * target lacks. */
char *ts_target_cflags(const ts_target *t);
/* One line describing the target (heap string). */
char *ts_target_describe(const ts_target *t);

/* Applies the default rules to every unscheduled PrimFunc of `m` (in
 * place).  When `explain` is non-NULL, a report is appended per function:
 * the rule chosen, its parameters and the resulting schedule trace. */
ts_status *ts_schedule_default(ts_module *m, const ts_target *t,
                               ts_strbuf *explain);

/* The pass "schedule-default[TARGET]" (TARGET as in ts_target_parse). */
ts_status *ts_pass_schedule_default(ts_module *m, const char *args);

#endif
