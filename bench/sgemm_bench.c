/* sgemm_bench.c: Tessera's SGEMM (an artifact built from a TVMScript matmul
 * with the default schedule rules) against oneDNN's dnnl_sgemm and
 * OpenBLAS's cblas_sgemm, in one process, interleaved, row-major
 * C[M,N] = A[M,K] B[K,N] fp32.  Prints one line per library:
 *   <name> M K N median_ms gflops
 * Threads come from the environment (TESSERA_NUM_THREADS, OMP_NUM_THREADS,
 * OPENBLAS_NUM_THREADS), set by bench/sgemm_bench.py.
 *
 * usage: sgemm_bench ARTIFACT.so FUNC M K N */
#include <cblas.h>
#include <dnnl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera/kernel_abi.h"
#include "tessera/runtime.h"
#include "tessera/vm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

enum { N_LIBS = 3, SAMPLES = 31 };

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s ARTIFACT.so FUNC M K N\n", argv[0]);
    return 2;
  }
  int64_t M = atoll(argv[3]), K = atoll(argv[4]), N = atoll(argv[5]);
  ts_artifact *art;
  ts_status *st = ts_artifact_load(argv[1], &art);
  ts_kernel_fn fn;
  if (!st) st = ts_artifact_kernel(art, argv[2], &fn);
  if (st) {
    fprintf(stderr, "%s\n", ts_status_message(st));
    return 1;
  }
  float *A = aligned_alloc(64, (size_t)(M * K * 4 + 64));
  float *B = aligned_alloc(64, (size_t)(K * N * 4 + 64));
  float *C = aligned_alloc(64, (size_t)(M * N * 4 + 64));
  float *R = aligned_alloc(64, (size_t)(M * N * 4 + 64));
  srand(1);
  for (int64_t i = 0; i < M * K; i++) A[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int64_t i = 0; i < K * N; i++) B[i] = (float)rand() / RAND_MAX - 0.5f;
  int64_t sa[2] = {M, K}, sb[2] = {K, N}, sc[2] = {M, N};
  DLTensor ta = {A, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, sa, NULL, 0};
  DLTensor tb = {B, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, sb, NULL, 0};
  DLTensor tc = {C, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, sc, NULL, 0};
  ts_kernel_arg args[3];
  args[0].tensor = &ta;
  args[1].tensor = &tb;
  args[2].tensor = &tc;
  /* check Tessera against OpenBLAS once */
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f, A,
              (int)K, B, (int)N, 0.0f, R, (int)N);
  if (fn(args, 3) != 0) {
    fprintf(stderr, "kernel failed\n");
    return 1;
  }
  double maxerr = 0;
  for (int64_t i = 0; i < M * N; i++) maxerr = fmax(maxerr, fabs(C[i] - R[i]));
  if (maxerr > 1e-3 * sqrt((double)K)) {
    fprintf(stderr, "Tessera result differs from OpenBLAS: max abs error %g\n", maxerr);
    return 1;
  }
  double flop = 2.0 * M * N * K;
  /* each sample: enough calls for >= 2 ms */
  int inner[N_LIBS];
  double samples[N_LIBS][SAMPLES];
  for (int l = 0; l < N_LIBS; l++) {
    double t0 = now(), t;
    int n = 0;
    do { /* warm-up of >= 0.2 s, also sizes the batches */
      if (l == 0) fn(args, 3);
      else if (l == 1)
        dnnl_sgemm('N', 'N', M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                    A, (int)K, B, (int)N, 0.0f, C, (int)N);
      n++;
      t = now() - t0;
    } while (t < 0.2);
    double per = t / n;
    inner[l] = per >= 2e-3 ? 1 : (int)(2e-3 / per) + 1;
  }
  for (int s = 0; s < SAMPLES; s++)
    for (int l = 0; l < N_LIBS; l++) {
      double t0 = now();
      for (int r = 0; r < inner[l]; r++) {
        if (l == 0) fn(args, 3);
        else if (l == 1)
          dnnl_sgemm('N', 'N', M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        else
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K,
                      1.0f, A, (int)K, B, (int)N, 0.0f, C, (int)N);
      }
      samples[l][s] = (now() - t0) / inner[l];
    }
  static const char *names[N_LIBS] = {"tessera", "onednn", "openblas"};
  for (int l = 0; l < N_LIBS; l++) {
    qsort(samples[l], SAMPLES, sizeof(double), cmp);
    double med = samples[l][SAMPLES / 2];
    printf("%s %lld %lld %lld %.4f %.1f\n", names[l], (long long)M, (long long)K,
           (long long)N, med * 1e3, flop / med / 1e9);
  }
  ts_artifact_release(art);
  free(A);
  free(B);
  free(C);
  free(R);
  return 0;
}
