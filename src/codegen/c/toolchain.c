/* toolchain.c: compiling generated C into a shared object with the system
 * compiler ($TESSERA_CC, $TESSERA_CFLAGS).  The object is written under a
 * temporary name and renamed into place, so a failure leaves no file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tessera/build.h"

static void rm_rf_tmp(const char *dir) {
  char *cmd = ts_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) { /* best effort */
  }
  free(cmd);
}

ts_status *ts_compile_c(const char *source, const char *so_path,
                        const char *emit_dir, const char *extra_args) {
  const char *cc = getenv("TESSERA_CC");
  const char *cflags = getenv("TESSERA_CFLAGS");
  if (!cc || !*cc) cc = "cc";
  /* -fno-trapping-math: the kernels rely on no floating-point exception,
   * and without it GCC keeps a select between a division and a cheap value
   * (the erf of GELU) as a branch, which AVX2 cannot vectorize (AVX-512
   * masks it): BERT's GELU ran scalar on a Zen 3 */
  if (!cflags)
    cflags = "-O3 -march=native -fopenmp -fno-predictive-commoning -fno-trapping-math";
  if (emit_dir) {
    mkdir(emit_dir, 0777);
    char *p = ts_strdup_printf("%s/module.c", emit_dir);
    ts_status *st = ts_write_file_atomic(p, source, strlen(source));
    free(p);
    if (st) return st;
  }
  char tmpl[] = "/tmp/tessera_cc_XXXXXX";
  if (!mkdtemp(tmpl))
    return ts_error(TS_ERR_IO, "cannot create a temporary directory: %s",
                    strerror(errno));
  char *src = ts_strdup_printf("%s/module.c", tmpl);
  char *log = ts_strdup_printf("%s/cc.log", tmpl);
  char *tmp_so = ts_strdup_printf("%s.tmp.%ld", so_path, (long)getpid());
  ts_status *st = ts_write_file_atomic(src, source, strlen(source));
  if (!st) {
    char *cmd = ts_strdup_printf(
        "%s %s -shared -fPIC -o '%s' '%s' %s -lm > '%s' 2>&1", cc, cflags,
        tmp_so, src, extra_args ? extra_args : "", log);
    int rc = system(cmd);
    if (rc != 0 || access(tmp_so, F_OK) != 0) {
      char *out = NULL;
      size_t len = 0;
      ts_status *rst = ts_read_file(log, &out, &len);
      ts_status_free(rst);
      /* Quote the first lines of the compiler's output. */
      int lines = 0;
      size_t cut = 0;
      while (out && cut < len && lines < 12)
        if (out[cut++] == '\n') lines++;
      if (out) out[cut] = 0;
      int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
      st = ts_error(TS_ERR_RUNTIME,
                    "C compiler failed (exit status %d): %s%s%s", code, cmd,
                    out && *out ? "\n" : "", out ? out : "");
      free(out);
      remove(tmp_so);
    } else if (rename(tmp_so, so_path) != 0) {
      st = ts_error(TS_ERR_IO, "%s: cannot write: %s", so_path, strerror(errno));
      remove(tmp_so);
    }
    free(cmd);
  }
  rm_rf_tmp(tmpl);
  free(src);
  free(log);
  free(tmp_so);
  return st;
}
