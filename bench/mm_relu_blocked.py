# Blocked for registers: 4 rows x 32 columns of C per tile, k in the middle,
# the 32 columns vectorized, the row blocks in parallel, relu fused per tile.
block_Y = sch.get_block("Y", func_name="mm_relu")
i, j, k = sch.get_loops(block_Y)
i0, i1 = sch.split(i, factors=[None, 4])
j0, j1 = sch.split(j, factors=[None, 32])
sch.reorder(i0, j0, k, i1, j1)
block_C = sch.get_block("C", func_name="mm_relu")
sch.reverse_compute_at(block_C, j0)
sch.decompose_reduction(block_Y, k)
sch.vectorize(j1)
sch.parallel(i0)
