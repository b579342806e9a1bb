/* vm_internal.h: the VM compiler (graph functions -> bytecode).  The program
 * format itself is the runtime's (runtime/bytecode.h); the compiler only
 * produces it. */
#ifndef TESSERA_VM_VM_INTERNAL_H
#define TESSERA_VM_VM_INTERNAL_H

#include "runtime/bytecode.h"
#include "tessera/ir.h"

typedef ts_bc_program ts_vm_program;

/* Compiles every graph function of `m` (in module order) and builds the
 * kernel table (every PrimFunc, in module order) and the constant table
 * (constant data stays borrowed from m: m must outlive *out).  Operators
 * other than call_tir / call_dps_packed are an error at the call's location
 * ("R.nn.relu: operator must be legalized before the build (run the
 * 'legalize' pass)").  Free with ts_bc_program_free. */
ts_status *ts_vm_compile(const ts_module *m, ts_vm_program **out);

#endif
