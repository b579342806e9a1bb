/* rules_internal.h: what the rule files of src/tune share (rules.c drives,
 * rule_conv.c schedules convolutions). */
#ifndef TESSERA_TUNE_RULES_INTERNAL_H
#define TESSERA_TUNE_RULES_INTERNAL_H

#include "schedule/sch_internal.h"
#include "tessera/tune.h"

/* Minimum number of scalar operations before a loop is made parallel. */
#define MIN_PARALLEL_WORK 32768

typedef struct rule_ctx {
  ts_schedule *s;
  ts_primfunc *f;
  const ts_target *t;
  ts_strbuf *why;            /* the rule's one-line summary */
  TS_VEC(const char *) done; /* blocks already scheduled by a rule */
} rule_ctx;

/* A 2-D convolution block as legalized (conv2d_nchw: n, f, y, x spatial;
 * rc, ry, rx reduce) with static extents. */
typedef struct conv_info {
  int64_t N, F, OH, OW, C, KH, KW;
  int data_read;   /* index in the block's reads of the (padded) input */
  int weight_read; /* ... of the weight */
  const ts_buffer *data, *weight, *out;
  int64_t FB;     /* output channels per vector block: 16 or 8 */
  bool depthwise; /* DepthwiseConv2d: n, c, y, x spatial; rc (extent 1),
                   * ry, rx reduce; F == C */
  bool pool;      /* a pooling window (n, c, y, x spatial; ry, rx reduce;
                   * one input, max or sum): data, out and N..KW only */
} conv_info;

/* True when `r` (a block realize of f) is a convolution the conv rule
 * schedules; fills *ci. */
bool rule_conv_match(ts_primfunc *f, ts_stmt *r, conv_info *ci);
/* True when `r` is a pooling window block (max or sum over KH x KW). */
bool rule_pool_match(ts_primfunc *f, ts_stmt *r, conv_info *ci);
/* Schedules the convolution (blocked channel layout inside the kernel, the
 * sgemm micro-kernel over the reduction loops, epilogue per output row). */
void rule_conv(rule_ctx *c, ts_stmt *r, const conv_info *ci);
/* Pooling: window loops outside a vectorized output row (blocked: inside
 * each output pixel, its channel block vectorized), rows parallel. */
void rule_pool(rule_ctx *c, ts_stmt *r, const conv_info *ci);

/* Keeps the tensors between convolution kernels in a blocked channel
 * layout (rule_layout.c): rewrites the kernels' parameters in the schedule
 * `s` and the struct info of `m`'s graph functions (m is the module s was
 * made from); a line in `explain` when any tensor is blocked. */
void rule_propagate_layouts(ts_schedule *s, ts_module *m, const ts_target *t,
                            ts_strbuf *explain);
/* The widest channel block of the blocked layouts on target t: 16 where
 * the micro-kernel's 16 accumulators fit twice over (32 registers), else
 * 8 (AVX2: one vector per block, as oneDNN's nChw8c there). */
int64_t rule_channel_block(const ts_target *t);
/* Inlines the injective blocks that write intermediate buffers (not
 * parameters, not `keep0`/`keep1`, not blocks already scheduled) into their
 * consumers, TVM's auto-inline: an elementwise chain or an epilogue becomes
 * one block.  Refusals are skipped. */
void rule_inline_injective(rule_ctx *c, const ts_buffer *keep0, const ts_buffer *keep1);
/* True when b is one of f's parameters. */
bool rule_is_param(const ts_primfunc *f, const ts_buffer *b);
/* Vectorizes the innermost loop of a block (a refusal is ignored). */
void rule_vectorize_innermost(rule_ctx *c, ts_rv blk);

/* An index map over `nd` fresh variables named ax0.. of dtype dt; results
 * filled by the caller (n_results slots allocated). */
ts_index_map rule_index_map(ts_arena *a, int nd, int n_results, ts_dtype dt);

/* Runs a schedule primitive inside a rule: a refusal is recorded in the
 * rule's summary and jumps to the rule's `out` label. */
#define TRY(x)                                                                 \
  do {                                                                         \
    ts_status *st_ = (x);                                                      \
    if (st_) {                                                                 \
      ts_strbuf_printf(c->why, " [stopped: %s]", ts_status_message(st_));      \
      ts_status_free(st_);                                                     \
      goto out;                                                                \
    }                                                                          \
  } while (0)

#endif
