/* main.c: the `tessera` command: dispatches to one subcommand per file
 * (cmd_*.c).  Exit status: 0 success, 1 "no" answers (tessera equal on
 * different modules), 2 errors. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: tessera COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  print FILE.tvmscript [--syntax classic|current]\n"
    "      parse, verify and print the module as normalized TVMScript\n"
    "  equal A.tvmscript B.tvmscript\n"
    "      exit 0 when structurally equal, else print the first difference\n"
    "  transform FILE [--passes a,b,c] [--print-after-all] [--list-passes]\n"
    "      [--print-pipeline]\n"
    "      run graph/TIR passes and print the module\n"
    "  schedule FILE --script SCHED.py [--func NAME] [--trace]\n"
    "      apply a schedule script and print the module (and the trace)\n"
    "  build FILE -o ARTIFACT.so [--emit-c DIR] [--schedule SCHED.py]\n"
    "      [--passes a,b,c]\n"
    "      compile a module into one deployment artifact\n"
    "  run FILE [--func NAME] [--input NAME=x.npy]... [--random-inputs SEED]\n"
    "      [--output-dir DIR] [--interpret] [--repeat N]\n"
    "      run a function; outputs go to DIR/output_<i>.npy\n"
    "  import MODEL.onnx [-o FILE.tvmscript]\n"
    "      import an ONNX model and print it as TVMScript\n"
    "  compile MODEL.onnx -o ARTIFACT.so [--emit-c DIR] [--passes a,b,c]\n"
    "      [--target T] [--explain]\n"
    "      import an ONNX model and compile it into one artifact\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(usage, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("tessera %s\n", TS_VERSION_STRING);
    return 0;
  }
  if (!strcmp(cmd, "print")) return cmd_print(argc - 2, argv + 2);
  if (!strcmp(cmd, "equal")) return cmd_equal(argc - 2, argv + 2);
  if (!strcmp(cmd, "run")) return cmd_run(argc - 2, argv + 2);
  if (!strcmp(cmd, "transform")) return cmd_transform(argc - 2, argv + 2);
  if (!strcmp(cmd, "build")) return cmd_build(argc - 2, argv + 2);
  if (!strcmp(cmd, "schedule")) return cmd_schedule(argc - 2, argv + 2);
  if (!strcmp(cmd, "import")) return cmd_import(argc - 2, argv + 2);
  if (!strcmp(cmd, "compile")) return cmd_compile(argc - 2, argv + 2);
  fprintf(stderr, "tessera: unknown command '%s' (try 'tessera --help')\n",
          cmd);
  return 2;
}
