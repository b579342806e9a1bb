/* pack.c: the deployment artifact.  C for the kernels (ts_codegen_c) + the
 * VM program (ts_vm_compile) serialized into a blob, which the generated C
 * pulls in with a top-level `.incbin` (fast even for multi-megabyte
 * weights) between the symbols ts_artifact_blob and ts_artifact_blob_end;
 * then one compiler run (ts_compile_c, which writes atomically). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tessera/build.h"
#include "vm/vm_internal.h"

static bool asm_safe_path(const char *p) {
  return !strpbrk(p, "\"\\\n");
}

ts_status *ts_build_artifact(const ts_module *m, const ts_build_options *opts,
                             const char *so_path, const char *emit_dir) {
  char *src = NULL;
  TS_RETURN_IF_ERROR(ts_codegen_c(m, &src));
  ts_vm_program *prog = NULL;
  ts_status *st = ts_vm_compile(m, &prog);
  if (st) {
    free(src);
    return st;
  }
  void *blob = NULL;
  size_t blob_len = 0;
  st = ts_bc_serialize(prog, &blob, &blob_len);
  ts_bc_program_free(prog);
  if (st) {
    free(src);
    return st;
  }

  char tmpl[] = "/tmp/tessera_blob_XXXXXX";
  char *blob_path = NULL;
  bool tmpdir = false;
  if (emit_dir) {
    mkdir(emit_dir, 0777);
    char real[PATH_MAX];
    if (realpath(emit_dir, real) && asm_safe_path(real))
      blob_path = ts_strdup_printf("%s/blob.bin", real);
  }
  if (!blob_path) {
    if (!mkdtemp(tmpl)) {
      free(src);
      free(blob);
      return ts_error(TS_ERR_IO, "cannot create a temporary directory: %s", strerror(errno));
    }
    tmpdir = true;
    blob_path = ts_strdup_printf("%s/blob.bin", tmpl);
  }
  st = ts_write_file_atomic(blob_path, blob, blob_len);
  free(blob);
  if (!st) {
    ts_strbuf full = {0};
    ts_strbuf_append(&full, src);
    ts_strbuf_printf(&full,
                     "\n/* The VM program, constants included (see "
                     "src/runtime/bytecode.h). */\n"
                     "__asm__(\".section .rodata\\n.balign 64\\n"
                     ".globl ts_artifact_blob\\n.type ts_artifact_blob, @object\\n"
                     "ts_artifact_blob:\\n.incbin \\\"%s\\\"\\n"
                     ".globl ts_artifact_blob_end\\nts_artifact_blob_end:\\n"
                     ".previous\");\n",
                     blob_path);
    st = ts_compile_c(full.data, so_path, emit_dir,
                      opts && opts->extra_cc_args ? opts->extra_cc_args : NULL);
    ts_strbuf_free(&full);
  }
  if (tmpdir) {
    remove(blob_path);
    rmdir(tmpl);
  }
  free(blob_path);
  free(src);
  return st;
}
