/* What every test file shares: one device per test process, validation on, and tensors with
 * guard regions.
 *
 * Criterion runs each Test() in a process of its own (fork and exec), so a device cannot be
 * shared across Test()s; instead each Test() covers a whole family of cases (every shape,
 * every transpose) against one context created on first use, and its fini checks that the
 * validation layer said nothing. */
#ifndef RP_TEST_FIXTURE_H
#define RP_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops/ops.h"

/* The process's context (validation layer on), created on first call. */
rp_context *test_ctx(void);
/* A fresh recorder on it, already begun. */
rp_recorder *test_recorder(void);

/* For tests of which kernel an op picks: REPRO_TEXEL for `texel` (texel-buffer reads or
 * storage-buffer ones), and REPRO_PROFILE on, which must precede the test's first recorder. */
void test_use_texel(bool texel);
/* test_recorder() with the timestamp a profile starts from. */
rp_recorder *test_profiled_recorder(void);
/* Whether the last run of a test_profiled_recorder() dispatched `shader`. */
bool test_ran_shader(rp_recorder *rec, const char *shader);

/* Lowers this process's device's limit on workgroups along x (and, where `max_z` is not 0,
 * along z) to test the ops' grids on a device that allows few: every dimension is at least
 * 65,535 on every Vulkan device, too many workgroups to dispatch in a test. */
void test_limit_workgroups(uint32_t max_x, uint32_t max_z);

/* Makes this process's device say it is a discrete GPU, so that the ops take the choices they
 * make for GPUs (tilings, elements per invocation, splits) on lavapipe too, where the suite
 * runs in CI. */
void test_as_gpu(void);

/* Suite fini: fails the test if the validation layer reported anything, then frees. */
void test_teardown(void);

/* 256 bytes on each side: keeps the view aligned for binding, and is the reach of every binding
 * past its end in the tests (REPRO_BIND_SLACK, set by test_ctx). */
#define GUARD_FLOATS 64

/* A tensor of `shape` inside a larger buffer with GUARD_FLOATS floats on each side, to catch
 * writes out of bounds and, used as an input, reads past its end. The guards hold a NaN of a
 * payload of this buffer's own: a kernel that reads one shows it through its arithmetic (even
 * a product with zero), and one that writes there is seen whatever it writes, even a value
 * copied from another guarded buffer's guard. On a driver that clamps accesses to the binding
 * (lavapipe), only the binding's slack after the end reaches the guard: a write before the
 * start is caught only where the driver does not clamp. */
typedef struct guarded {
  rp_tensor view;  /* what ops get */
  rp_tensor whole; /* the buffer with its guards */
  uint32_t guard;  /* the bits of every guard float */
} guarded;

guarded guarded_create(int ndim, const int64_t *shape);
void guarded_upload(const guarded *g, const float *src); /* guards are rewritten too */
/* Downloads the view into `dst` and asserts that the guards are intact. */
void guarded_download(const guarded *g, float *dst);
void guarded_destroy(guarded *g);

/* Deterministic pseudo-random floats in [-1, 1). */
void fill_random(float *x, int64_t n, uint32_t seed);

#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    rp_status st_ = (expr);                                                                        \
    cr_assert_eq(st_, RP_OK, "%s failed: %s", #expr, rp_error_message());                          \
  } while (0)

#endif
