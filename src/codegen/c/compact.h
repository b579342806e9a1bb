/* compact.h: per-iteration storage for intermediate buffers (the C
 * generator's counterpart of TVM's buffer compaction).
 *
 * A buffer allocated by a block and used only inside one loop of the
 * block's body, where each iteration of that loop touches its own slice
 * (the indices of some dimensions are the same function of the loop
 * variable at every access, and distinct iterations give distinct slices),
 * needs only that slice: the generator declares it inside the loop (one
 * per iteration, so private to each thread of a parallel loop) with the
 * collapsed dimensions of extent 1.  An intermediate result then stays in
 * L1 between its producer and its consumer instead of streaming a whole
 * tensor through memory.  Where that loop's slice is over the limit, a
 * loop nested in it (the only statement of each body on the way that uses
 * the buffer) may hold a smaller one: the variables of the loops around it
 * then count as fixed per slice, and distinct iterations of all of them
 * must give distinct slices (a depthwise conv's result: one output row per
 * iteration of the row loop inside the parallel loop over channel
 * blocks). */
#ifndef TESSERA_CODEGEN_C_COMPACT_H
#define TESSERA_CODEGEN_C_COMPACT_H

#include <stdbool.h>
#include <stdint.h>

#include "tessera/ir.h"
#include "tessera/runtime.h"

typedef struct ts_compact {
  const ts_stmt *loop; /* the loop holding every access (declares the slice) */
  bool keep[TS_MAX_NDIM]; /* kept dimensions; the others have extent 1 */
  int64_t bytes;          /* the slice's size */
} ts_compact;

/* True (and *out filled) when `b`, allocated by `blk`, can be compacted
 * into a slice of at most max_bytes.  Expressions are built in `scratch`. */
bool ts_compact_buffer(ts_arena *scratch, const ts_block *blk,
                       const ts_buffer *b, int64_t max_bytes, ts_compact *out);

#endif
