/* A Python interpreter with PyTorch, and the PyTorch tools of this tree, for the tests that
 * check repro against PyTorch. */
#ifndef RP_TEST_TORCH_PYTHON_H
#define RP_TEST_TORCH_PYTHON_H

#include <stddef.h>

/* The first of $REPRO_PYTHON, python3 on PATH and /usr/bin/python3 (where Debian's
 * python3-torch lives) that imports torch; NULL when none does. Looked up once a process. */
const char *torch_python(void);

/* torch_python(), or, where there is none, the test skipped saying so (`what`: what is then
 * not checked), or failed where REPRO_REQUIRE_TORCH=1 (CI, which installs torch). */
const char *torch_python_or_skip(const char *what);

/* tools/ of this source tree (tools/safetensors_torch.py, tools/check_checkpoint.py), found from
 * this file's own path (absolute under CMake), else in the working directory: into `out`, or
 * the test failed. */
void torch_tools_dir(char *out, size_t size);

#endif
