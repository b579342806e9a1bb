/* test_artifact.c: the artifact loader and the blob parser on bad input:
 * missing and truncated files, a shared object without the blob symbol, a
 * wrong format version (in memory and patched into a copy of the .so),
 * every truncation of a blob and every single-byte corruption (each must
 * load or fail with a message, never crash: run under ASan), and the
 * serializer/parser round trip. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/bytecode.h"
#include "tessera/build.h"
#include "tessera/script.h"
#include "tessera/vm.h"
#include "vm/vm_internal.h"

static const char *k_module =
    "from tvm.script import ir as I, tir as T, relax as R\n"
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def add1(a: T.handle, c: T.handle):\n"
    "        n = T.int64()\n"
    "        A = T.match_buffer(a, (n,), \"float32\")\n"
    "        C = T.match_buffer(c, (n,), \"float32\")\n"
    "        for i in range(n):\n"
    "            with T.block(\"C\"):\n"
    "                vi = T.axis.spatial(n, i)\n"
    "                C[vi] = A[vi] + T.float32(1)\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((\"n\",), \"float32\")):\n"
    "        n = T.int64()\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            y = R.call_tir(cls.add1, (x,), out_sinfo=R.Tensor((n,), \"float32\"))\n"
    "            z = R.call_tir(cls.add1, (y,), out_sinfo=R.Tensor((n,), \"float32\"))\n"
    "            R.output(z)\n"
    "        return z\n";

static char g_dir[64];
static char *g_so;
static void *g_blob;
static size_t g_blob_len;

static ts_module *parse(void) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(k_module, strlen(k_module), "a.tvmscript", &m));
  return m;
}

static char *path(const char *name) { return ts_strdup_printf("%s/%s", g_dir, name); }

TEST(builds_blob_and_artifact) {
  ts_module *m = parse();
  REQUIRE(m);
  ts_vm_program *p = NULL;
  CHECK_OK(ts_vm_compile(m, &p));
  REQUIRE(p);
  CHECK_OK(ts_bc_serialize(p, &g_blob, &g_blob_len));
  ts_bc_program_free(p);
  g_so = path("a.so");
  CHECK_OK(ts_build_artifact(m, NULL, g_so, NULL));
  ts_module_destroy(m);
  ts_artifact *a = NULL;
  CHECK_OK(ts_artifact_load(g_so, &a));
  REQUIRE(a);
  int64_t shape[1] = {5};
  ts_ndarray *x = NULL;
  CHECK_OK(ts_ndarray_create(1, shape, TS_F32, &x));
  for (int i = 0; i < 5; i++) ts_ndarray_set_f64(x, i, i);
  ts_value in = {.kind = TS_VAL_TENSOR, .u.tensor = x};
  ts_value *outs = NULL;
  int n = 0;
  CHECK_OK(ts_artifact_run(a, "main", &in, 1, &outs, &n));
  CHECK_EQ_INT(n, 1);
  for (int i = 0; n == 1 && i < 5; i++)
    CHECK_NEAR(ts_ndarray_get_f64(outs[0].u.tensor, i), i + 2, 0);
  ts_artifact_free_values(outs, n);
  /* the output outlives the artifact */
  CHECK_OK(ts_artifact_run(a, "main", &in, 1, &outs, &n));
  ts_artifact_release(a);
  CHECK_NEAR(ts_ndarray_get_f64(outs[0].u.tensor, 4), 6, 0);
  ts_artifact_free_values(outs, n);
  ts_ndarray_release(x);
}

TEST(round_trips_blob) {
  REQUIRE(g_blob);
  ts_bc_program *p = NULL;
  CHECK_OK(ts_artifact_parse_blob(g_blob, g_blob_len, "mem", &p));
  REQUIRE(p);
  void *again = NULL;
  size_t len = 0;
  CHECK_OK(ts_bc_serialize(p, &again, &len));
  CHECK_EQ_INT(len, g_blob_len);
  CHECK(len == g_blob_len && memcmp(again, g_blob, len) == 0);
  free(again);
  ts_bc_program_free(p);
}

TEST(rejects_missing_and_foreign_files) {
  ts_artifact *a = NULL;
  char *missing = path("missing.so");
  CHECK_ERR(ts_artifact_load(missing, &a), TS_ERR_IO, "missing.so: cannot load: ");
  free(missing);
  /* a truncated copy of the artifact */
  REQUIRE(g_so);
  char *data = NULL;
  size_t len = 0;
  CHECK_OK(ts_read_file(g_so, &data, &len));
  REQUIRE(data);
  char *trunc = path("trunc.so");
  CHECK_OK(ts_write_file_atomic(trunc, data, 100));
  CHECK_ERR(ts_artifact_load(trunc, &a), TS_ERR_IO, "trunc.so: cannot load: ");
  free(trunc);
  /* a wrong format version patched into a copy of the .so */
  char *magic = NULL;
  for (size_t i = 0; i + 4 <= len; i++)
    if (!memcmp(data + i, TS_BC_MAGIC, 4) && i % 64 == 0) {
      magic = data + i;
      break;
    }
  REQUIRE(magic);
  uint32_t v7 = 7;
  memcpy(magic + 4, &v7, 4);
  char *ver = path("ver.so");
  CHECK_OK(ts_write_file_atomic(ver, data, len));
  CHECK_ERR(ts_artifact_load(ver, &a), TS_ERR_FORMAT,
            "ver.so: artifact format version 7 is not supported (expected 2)");
  free(ver);
  /* a corrupted size field */
  uint32_t v1 = TS_BC_VERSION;
  memcpy(magic + 4, &v1, 4);
  uint64_t huge = (uint64_t)1 << 40;
  memcpy(magic + 8, &huge, 8);
  char *corrupt = path("corrupt.so");
  CHECK_OK(ts_write_file_atomic(corrupt, data, len));
  CHECK_ERR(ts_artifact_load(corrupt, &a), TS_ERR_FORMAT, "corrupt.so: corrupt artifact: ");
  free(corrupt);
  free(data);
  /* a shared object without the blob */
  char *src = path("plain.c"), *so = path("plain.so");
  const char *text = "int plain(void) { return 0; }\n";
  CHECK_OK(ts_write_file_atomic(src, text, strlen(text)));
  char *cmd = ts_strdup_printf("cc -shared -fPIC -o '%s' '%s'", so, src);
  CHECK(system(cmd) == 0);
  CHECK_ERR(ts_artifact_load(so, &a), TS_ERR_FORMAT,
            "plain.so: not a Tessera artifact (no ts_artifact_blob symbol)");
  CHECK(a == NULL);
  free(cmd);
  free(src);
  free(so);
}

TEST(rejects_every_truncation) {
  REQUIRE(g_blob);
  for (size_t n = 0; n < g_blob_len; n++) {
    /* a heap copy of exactly n bytes, so ASan sees any over-read */
    void *copy = malloc(n ? n : 1);
    memcpy(copy, g_blob, n);
    ts_bc_program *p = NULL;
    ts_status *st = ts_artifact_parse_blob(copy, n, "t", &p);
    if (!st) {
      CHECK_FAIL_("a blob truncated to %zu of %zu bytes was accepted", n, g_blob_len);
      ts_bc_program_free(p);
    } else {
      CHECK(ts_status_code_of(st) == TS_ERR_FORMAT);
      ts_status_free(st);
    }
    free(copy);
  }
}

TEST(survives_every_byte_flip) {
  REQUIRE(g_blob);
  int rejected = 0;
  for (size_t i = 0; i < g_blob_len; i++) {
    for (int k = 0; k < 2; k++) {
      uint8_t *copy = malloc(g_blob_len);
      memcpy(copy, g_blob, g_blob_len);
      copy[i] = k ? (uint8_t)(copy[i] ^ 0xFF) : (uint8_t)(copy[i] + 1);
      ts_bc_program *p = NULL;
      ts_status *st = ts_artifact_parse_blob(copy, g_blob_len, "f", &p);
      if (st) {
        const char *msg = ts_status_message(st);
        CHECK(!strncmp(msg, "f: corrupt artifact: ", 21) ||
              !strncmp(msg, "f: artifact format version", 26));
        rejected++;
        ts_status_free(st);
      } else {
        char *text = ts_bc_disassemble(p);
        free(text);
        ts_bc_program_free(p);
      }
      free(copy);
    }
  }
  CHECK(rejected > 0);
}

TEST(names_the_failure) {
  REQUIRE(g_blob);
  uint8_t *copy = malloc(g_blob_len);
  memcpy(copy, g_blob, g_blob_len);
  copy[0] = 'X';
  ts_bc_program *p = NULL;
  CHECK_ERR(ts_artifact_parse_blob(copy, g_blob_len, "x.so", &p), TS_ERR_FORMAT,
            "x.so: corrupt artifact: bad header");
  free(copy);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/tessera_test_artifact_XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  RUN(builds_blob_and_artifact);
  RUN(round_trips_blob);
  RUN(rejects_missing_and_foreign_files);
  RUN(rejects_every_truncation);
  RUN(survives_every_byte_flip);
  RUN(names_the_failure);
  free(g_blob);
  free(g_so);
  char *cmd = ts_strdup_printf("rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
  free(cmd);
  return CHECK_DONE();
}
