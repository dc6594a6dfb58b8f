/* conv2d, every pass and both paths (implicit GEMM, im2col + rp_gemm, the latter also in
 * small chunks of images) against the double-precision reference, on odd and round shapes,
 * with guard regions around every output; the reference's backward passes against central
 * finite differences of its forward. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv2d.h"
#include "ref/conv2d_ref.h"
#include "support/fixture.h"

TestSuite(conv2d, .fini = test_teardown);

/* n, c, h, w, k, r, s, stride, pad: 1, primes, round sizes, kernels 1/3/5, stride 1/2, pad
 * 0/1/2, a 1x1 output, kernels wider than the unpadded input, MNIST's first layer. Each
 * geometry (h, w, r, s, stride, pad) compiles its own pipelines (conv2d_geom.glsl), which
 * lavapipe does slowly, so the cases share thirteen geometries and vary n, c and k. The last
 * six are for the row kernels (conv2d_lanes_row.glsl, conv2d_lanes_filter_row.glsl: 3-wide,
 * stride 1): two 8-pixel blocks a row, over rows and images; pad 0 forward; pad 2 in the
 * backward-data pass of a pad-0 convolution whose output rows (14) are not whole blocks; a
 * 2x3 kernel; pad 0 in the backward-data pass of a pad-2 one; rows of 12 (backward filter's
 * 4-pixel steps, not whole 8-pixel blocks). Two more, on geometries above, complete the lanes
 * kernels' blocks (16, 32, 64 channels, each in its plain and row form, for every pass): K = 40
 * at stride 2 for the plain 64-channel backward filter, C = 24 for the 32-channel row form of
 * backward data. The very last splits the lanes backward filter's
 * 5 images unevenly (2, 2, 1): the last split must stop at the batch's end, or it reads an
 * image past it (the guards around the inputs; a device that bounds reads to the binding, as
 * lavapipe does, reads zeros there instead and shows nothing). */
static const ref_conv_shape shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0},   {3, 2, 1, 1, 5, 1, 1, 1, 0},   {2, 3, 5, 7, 5, 3, 3, 1, 1},
    {1, 32, 5, 7, 16, 3, 3, 1, 1}, {3, 2, 9, 8, 7, 3, 3, 2, 1},   {1, 13, 9, 8, 17, 3, 3, 2, 1},
    {1, 1, 28, 28, 4, 5, 5, 1, 2}, {2, 16, 8, 8, 16, 3, 3, 1, 1}, {3, 7, 8, 8, 11, 3, 3, 1, 1},
    {2, 16, 9, 9, 32, 1, 1, 2, 0}, {1, 5, 9, 9, 3, 1, 1, 2, 0},   {3, 3, 4, 4, 2, 5, 5, 2, 2},
    {2, 32, 4, 4, 32, 5, 5, 2, 2}, {2, 40, 8, 8, 67, 3, 3, 1, 1}, {3, 40, 5, 7, 67, 3, 3, 1, 1},
    {3, 3, 3, 16, 20, 3, 3, 1, 1}, {1, 4, 10, 10, 5, 3, 3, 1, 0}, {2, 5, 16, 16, 9, 3, 3, 1, 0},
    {2, 4, 5, 8, 17, 2, 3, 1, 1},  {1, 3, 3, 8, 5, 3, 3, 1, 2},   {2, 3, 6, 12, 7, 3, 3, 1, 1},
    {2, 5, 9, 8, 40, 3, 3, 2, 1},  {1, 24, 8, 8, 5, 3, 3, 1, 1},  {5, 480, 4, 4, 16, 1, 1, 1, 0},
};
#define NSHAPES (sizeof shapes / sizeof *shapes)

static double *to_double(const float *f, long n, int absolute) {
  double *d = calloc((size_t)n, sizeof *d);
  for (long i = 0; i < n; i++) d[i] = absolute ? fabs((double)f[i]) : (double)f[i];
  return d;
}

/* An input between guards (NaN): a kernel that reads past its end (an image beyond the batch,
 * say) takes them in and misses the reference; one that reads before its start does too, on a
 * device that does not clamp reads to the binding. */
static guarded upload(const int64_t *shape, int ndim, const float *data) {
  guarded g = guarded_create(ndim, shape);
  guarded_upload(&g, data);
  return g;
}

/* A guarded output whose contents start as NaN: the op must overwrite every element. */
static guarded output(const int64_t *shape, int ndim, long n) {
  guarded g = guarded_create(ndim, shape);
  float *nan_fill = malloc((size_t)n * sizeof *nan_fill);
  for (long i = 0; i < n; i++) nan_fill[i] = NAN;
  guarded_upload(&g, nan_fill);
  free(nan_fill);
  return g;
}

/* fp32 accumulation of `terms` products: the error scales with their absolute sum `mag`. */
static void compare(const char *what, const ref_conv_shape *sh, const char *path, guarded *g,
                    const double *want, const double *mag, long n, long terms) {
  float *got = malloc((size_t)n * sizeof *got);
  guarded_download(g, got);
  for (long i = 0; i < n; i++) {
    double tol = 2.0 * (double)(terms + 2) * FLT_EPSILON * mag[i] + 1e-30;
    cr_assert(fabs(got[i] - want[i]) <= tol,
              "%s (%s) n%d c%d %dx%d k%d %dx%d stride %d pad %d: [%ld] = %.9g, reference %.9g "
              "(tol %.3g)",
              what, path, sh->n, sh->c, sh->h, sh->w, sh->k, sh->r, sh->s, sh->stride, sh->pad, i,
              got[i], want[i], tol);
  }
  free(got);
}

/* For the implicit tests: every pass must have run conv2d_implicit (with REPRO_PROFILE=1). */
static bool expect_implicit;

static void run(rp_recorder *rec) {
  ASSERT_OK(rp_rec_end(rec));
  ASSERT_OK(rp_rec_run(rec));
  if (expect_implicit) cr_assert(test_ran_shader(rec, "conv2d_implicit"), "no conv2d_implicit ran");
}

/* For the lanes test: which passes take the lanes kernels (runtime/ops/conv2d.c). Only those
 * are checked there, the others being im2col's, checked in its own test: each pipeline
 * compiles slowly on lavapipe. */
static bool lanes_only;
/* And whether they read their inputs through texel buffers (REPRO_TEXEL: both are tested). */
static bool lanes_texel;
/* For the im2col test: whether col2im reads dcol through a texel buffer (both are tested), -1
 * where not checked. */
static int im2col_texel = -1;

enum { FORWARD, BACKWARD_DATA, BACKWARD_FILTER };

static bool checked(const ref_conv_shape *sh, int pass) {
  if (!lanes_only || pass == FORWARD) return true;
  if (pass == BACKWARD_DATA) return sh->stride == 1 && sh->r == sh->s && sh->pad < sh->r;
  return ref_conv_p(sh) * ref_conv_q(sh) % 4 == 0;
}

/* The lanes kernels' blocks of output channels (runtime/ops/conv2d.c's lanes_tm). */
static int lanes_block(int channels) { return channels <= 16 ? 16 : channels <= 32 ? 32 : 64; }

/* In the lanes test (REPRO_PROFILE=1, so that the recorder keeps its dispatches' names): the
 * pass ran the lanes kernel its shape calls for, named in full: the row form exactly where
 * that fits (3-wide kernels at stride 1; forward and backward data, whose output is the forward
 * one of the transposed convolution: rows of whole 8-pixel blocks; backward filter: of 4-pixel
 * steps), and the block of channels that holds the pass's outputs (K; C for backward data), so
 * that a change in the choice cannot pass unseen and each kernel is known to have run. */
static void expect_kernel(rp_recorder *rec, const ref_conv_shape *sh, int pass) {
  if (!lanes_only) return;
  int q = pass == BACKWARD_DATA ? sh->w : ref_conv_q(sh);
  bool filter = pass == BACKWARD_FILTER;
  bool row = sh->s == 3 && sh->stride == 1 && q % (filter ? 4 : 8) == 0;
  char want[64];
  snprintf(want, sizeof want, "conv2d_lanes_%s%s%dx%d%s", filter ? "filter_" : "",
           row ? "row_" : "", lanes_block(pass == BACKWARD_DATA ? sh->c : sh->k),
           filter && row ? 12 : 8, lanes_texel ? "_texel" : "");
  cr_assert(test_ran_shader(rec, want),
            "pass %d of n%d c%d %dx%d k%d %dx%d stride %d pad %d: no %s kernel ran", pass, sh->n,
            sh->c, sh->h, sh->w, sh->k, sh->r, sh->s, sh->stride, sh->pad, want);
}

/* The recorder of one pass; where a test reads the profile, with the timestamp it starts from. */
static rp_recorder *pass_recorder(void) {
  rp_recorder *rec = test_recorder();
  if (lanes_only || im2col_texel >= 0 || expect_implicit)
    cr_assert_geq(rp_rec_timestamp(rec), 0, "no timestamps on this device");
  return rec;
}

static void check_shape(const ref_conv_shape *sh, const char *path, int variant) {
  int P = ref_conv_p(sh), Q = ref_conv_q(sh);
  long nx = (long)sh->n * sh->c * sh->h * sh->w, nw = (long)sh->k * sh->c * sh->r * sh->s;
  long ny = (long)sh->n * sh->k * P * Q;
  int64_t xs[4] = {sh->n, sh->c, sh->h, sh->w}, ws[4] = {sh->k, sh->c, sh->r, sh->s};
  int64_t ys[4] = {sh->n, sh->k, P, Q}, bs[1] = {sh->k};
  float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
  float *b = malloc((size_t)sh->k * sizeof *b), *dy = malloc((size_t)ny * sizeof *dy);
  fill_random(x, nx, 11 + (uint32_t)nx);
  fill_random(w, nw, 12 + (uint32_t)nw);
  fill_random(b, sh->k, 13);
  fill_random(dy, ny, 14 + (uint32_t)ny);
  double *xd = to_double(x, nx, 0), *wd = to_double(w, nw, 0), *bd = to_double(b, sh->k, 0);
  double *dyd = to_double(dy, ny, 0);
  double *xa = to_double(x, nx, 1), *wa = to_double(w, nw, 1), *ba = to_double(b, sh->k, 1);
  double *dya = to_double(dy, ny, 1);
  double *want = malloc((size_t)(nx + nw + ny) * sizeof *want);
  double *mag = malloc((size_t)(nx + nw + ny) * sizeof *mag);
  double *want_b = malloc((size_t)sh->k * sizeof *want_b),
         *mag_b = malloc((size_t)sh->k * sizeof *mag_b);
  guarded gx = upload(xs, 4, x), gw = upload(ws, 4, w), gb = upload(bs, 1, b);
  guarded gdy = upload(ys, 4, dy);
  const rp_tensor tx = gx.view, tw = gw.view, tb = gb.view, tdy = gdy.view;
  bool with_bias = variant % 2 == 0;

  /* forward */
  ref_conv2d_forward(sh, xd, wd, with_bias ? bd : NULL, want);
  ref_conv2d_forward(sh, xa, wa, with_bias ? ba : NULL, mag);
  guarded gy = output(ys, 4, ny);
  rp_recorder *rec = pass_recorder();
  ASSERT_OK(
      rp_conv2d_forward(rec, &tx, &tw, with_bias ? &tb : NULL, sh->stride, sh->pad, &gy.view));
  run(rec);
  expect_kernel(rec, sh, FORWARD);
  compare("forward", sh, path, &gy, want, mag, ny, (long)sh->c * sh->r * sh->s + 1);
  guarded_destroy(&gy);

  /* backward data */
  if (checked(sh, BACKWARD_DATA)) {
    ref_conv2d_backward_data(sh, dyd, wd, want);
    ref_conv2d_backward_data(sh, dya, wa, mag);
    guarded gdx = output(xs, 4, nx);
    rec = pass_recorder();
    ASSERT_OK(rp_conv2d_backward_data(rec, &tdy, &tw, sh->stride, sh->pad, &gdx.view));
    run(rec);
    expect_kernel(rec, sh, BACKWARD_DATA);
    if (im2col_texel >= 0)
      cr_assert(test_ran_shader(rec, im2col_texel ? "conv2d_col2im_texel" : "conv2d_col2im"),
                "backward data of n%d c%d %dx%d k%d %dx%d stride %d pad %d: no conv2d_col2im%s ran",
                sh->n, sh->c, sh->h, sh->w, sh->k, sh->r, sh->s, sh->stride, sh->pad,
                im2col_texel ? "_texel" : " (storage-buffer)");
    compare("backward data", sh, path, &gdx, want, mag, nx, (long)sh->k * sh->r * sh->s);
    guarded_destroy(&gdx);
  }

  if (checked(sh, BACKWARD_FILTER)) {
    /* backward filter, with dbias on every other variant */
    ref_conv2d_backward_filter(sh, xd, dyd, want, want_b);
    ref_conv2d_backward_filter(sh, xa, dya, mag, mag_b);
    guarded gdw = output(ws, 4, nw), gdb = output(bs, 1, sh->k);
    rec = pass_recorder();
    ASSERT_OK(rp_conv2d_backward_filter(rec, &tx, &tdy, sh->stride, sh->pad, &gdw.view,
                                        with_bias ? &gdb.view : NULL));
    run(rec);
    expect_kernel(rec, sh, BACKWARD_FILTER);
    compare("backward filter", sh, path, &gdw, want, mag, nw, (long)sh->n * P * Q);
    if (with_bias) compare("dbias", sh, path, &gdb, want_b, mag_b, sh->k, (long)sh->n * P * Q);
    guarded_destroy(&gdw);
    guarded_destroy(&gdb);
  }

  guarded_destroy(&gx), guarded_destroy(&gw), guarded_destroy(&gb), guarded_destroy(&gdy);
  free(x), free(w), free(b), free(dy), free(xd), free(wd), free(bd), free(dyd);
  free(xa), free(wa), free(ba), free(dya), free(want), free(mag), free(want_b), free(mag_b);
}

static void check_path(const char *env) {
  setenv("REPRO_CONV", env, 1);
  for (size_t i = 0; i < NSHAPES; i++) check_shape(&shapes[i], env, (int)i);
}

Test(conv2d, implicit) {
  expect_implicit = true;
  setenv("REPRO_PROFILE", "1", 1);
  check_path("implicit");
}
/* The same with the tiling and splits a GPU gets (64 x 64 tiles of 256 invocations, the filter
 * pass split for 512 workgroups), which CPU devices do not take (32 x 32, 8). */
Test(conv2d, implicit_as_on_a_gpu) {
  test_as_gpu();
  expect_implicit = true;
  setenv("REPRO_PROFILE", "1", 1);
  check_path("implicit");
}
/* The lanes kernels where they apply: forward always, with blocks of 16, 32 and 64 channels
 * (K = 67 = 64 + 3, and C = 40 for backward data), each kernel named in full (expect_kernel),
 * pixels running over
 * rows and images, the last lanes past the last pixel, and P*Q % 4 == 0 or not (vec4 or float
 * stores); backward data where stride 1, R = S and pad < R; backward filter where
 * P*Q % 4 == 0. They need a fixed subgroup size dividing 16, with shuffles (CPU devices); elsewhere
 * REPRO_CONV=lanes runs the im2col path, which this test would not tell from them. */
Test(conv2d, lanes) {
  const rp_caps *caps = rp_context_caps(test_ctx());
  if (!caps->subgroup_size_fixed || !caps->subgroup_shuffle || 16 % caps->subgroup_size != 0)
    cr_skip_test("the lanes kernels need a fixed subgroup size dividing 16 and shuffles; this "
                 "device's size is %u..%u%s, shuffles %s",
                 caps->min_subgroup_size, caps->max_subgroup_size,
                 caps->subgroup_size_fixed ? "" : " (or not reported)",
                 caps->subgroup_shuffle ? "yes" : "no");
  lanes_only = true;
  /* Each variant of the kernels: reading through texel buffers (CPU devices' default) and
   * through storage buffers (GPUs'); test_use_texel also turns on the profile expect_kernel
   * reads. */
  for (int texel = 1; texel >= 0; texel--) {
    lanes_texel = texel;
    test_use_texel(lanes_texel);
    check_path("lanes");
  }
}
Test(conv2d, im2col) {
  /* col2im reading dcol through a storage buffer (GPUs') and a texel buffer (CPU devices'
   * default), checking which ran */
  for (int texel = 0; texel < 2; texel++) {
    im2col_texel = texel;
    test_use_texel(texel);
    check_path("im2col");
  }
  /* Chunks of a few KiB: several images per chunk, or one, and dw accumulated over chunks
   * (the same pipelines, so in the same process). */
  check_path("im2col,20000");
}

/* On a device that allows 4 workgroups along x (65,535 on Intel and Mesa's drivers, where the
 * implicit path's forward pass of 4096 images of 32 x 32 pixels takes 65,536 tiles of 64),
 * the forward and backward-data passes spread their tiles of pixels over x and z
 * (rp_grid_fold_x): 392 to 512 pixels, 7 to 16 tiles, some grids with workgroups past the last
 * tile; one shape's rows are whole 8-pixel blocks (the lanes row kernel). Every path, each
 * also checking its other kernels' grids, which grow with an image's pixels, C*R*S or the
 * images of one scratch chunk, not with the batch, and stay within 4 here. */
Test(conv2d, few_workgroups_along_x) {
  test_limit_workgroups(4, 0);
  const ref_conv_shape few[] = {{2, 5, 16, 16, 9, 3, 3, 1, 0}, {9, 3, 3, 16, 20, 3, 3, 1, 1}};
  const char *paths[] = {"implicit", "lanes", "im2col"};
  for (int p = 0; p < 3; p++) {
    setenv("REPRO_CONV", paths[p], 1);
    for (int i = 0; i < 2; i++) check_shape(&few[i], paths[p], i);
  }
}

/* An infinity or a NaN in an input reaches the outputs whose windows hold it, and no others:
 * a kernel that multiplies a tap outside the image by 0 instead of not loading it (0 x inf is
 * NaN), or reads past a row's end into the next, spreads it. Where the reference's output is
 * non-finite, the op's is the same (the infinity's sign, or NaN); elsewhere it is within the
 * usual tolerance. Forward (x) and backward data (dy), every path, padding 1 with inputs at the
 * images' left and right edges, rows of whole 8-pixel blocks (the lanes row kernels) and not. */
static void check_non_finite(const ref_conv_shape *sh, const char *path) {
  int P = ref_conv_p(sh), Q = ref_conv_q(sh);
  long nx = (long)sh->n * sh->c * sh->h * sh->w, nw = (long)sh->k * sh->c * sh->r * sh->s;
  long ny = (long)sh->n * sh->k * P * Q;
  int64_t xs[4] = {sh->n, sh->c, sh->h, sh->w}, ws[4] = {sh->k, sh->c, sh->r, sh->s};
  int64_t ys[4] = {sh->n, sh->k, P, Q};
  float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
  float *dy = malloc((size_t)ny * sizeof *dy);
  fill_random(x, nx, 71), fill_random(w, nw, 72), fill_random(dy, ny, 73);
  /* image 0: +inf at the left edge of a row; image 1: NaN at the right edge of another */
  x[((0L * sh->c + 1) * sh->h + 2) * sh->w] = INFINITY;
  x[((1L * sh->c + 2) * sh->h + 3) * sh->w + sh->w - 1] = NAN;
  dy[((0L * sh->k + 1) * P + 1) * Q] = -INFINITY;
  dy[((1L * sh->k + 3) * P + 2) * Q + Q - 1] = NAN;
  double *xd = to_double(x, nx, 0), *wd = to_double(w, nw, 0), *dyd = to_double(dy, ny, 0);
  double *xa = to_double(x, nx, 1), *wa = to_double(w, nw, 1), *dya = to_double(dy, ny, 1);
  long most = nx > ny ? nx : ny;
  double *want = malloc((size_t)most * sizeof *want), *mag = malloc((size_t)most * sizeof *mag);
  float *got = malloc((size_t)most * sizeof *got);
  guarded gx = upload(xs, 4, x), gw = upload(ws, 4, w), gdy = upload(ys, 4, dy);
  for (int pass = 0; pass < 2; pass++) {
    long n = pass ? nx : ny, terms = pass ? (long)sh->k * sh->r * sh->s : nw / sh->k;
    if (pass)
      ref_conv2d_backward_data(sh, dyd, wd, want), ref_conv2d_backward_data(sh, dya, wa, mag);
    else
      ref_conv2d_forward(sh, xd, wd, NULL, want), ref_conv2d_forward(sh, xa, wa, NULL, mag);
    guarded out = output(pass ? xs : ys, 4, n);
    rp_recorder *rec = test_recorder();
    if (pass)
      ASSERT_OK(rp_conv2d_backward_data(rec, &gdy.view, &gw.view, sh->stride, sh->pad, &out.view));
    else
      ASSERT_OK(rp_conv2d_forward(rec, &gx.view, &gw.view, NULL, sh->stride, sh->pad, &out.view));
    run(rec);
    guarded_download(&out, got);
    long non_finite = 0;
    for (long i = 0; i < n; i++) {
      bool same = isnan(want[i]) ? isnan(got[i])
                  : isinf(want[i])
                      ? got[i] == (float)want[i]
                      : fabs(got[i] - want[i]) <= 2.0 * (double)(terms + 2) * FLT_EPSILON * mag[i];
      non_finite += !isfinite(want[i]);
      cr_assert(same, "%s (%s) n%d c%d %dx%d k%d: [%ld] = %.9g, reference %.9g",
                pass ? "backward data" : "forward", path, sh->n, sh->c, sh->h, sh->w, sh->k, i,
                got[i], want[i]);
    }
    cr_assert(non_finite > 0 && non_finite < n / 4, "%ld non-finite outputs of %ld", non_finite, n);
    guarded_destroy(&out);
  }
  guarded_destroy(&gx), guarded_destroy(&gw), guarded_destroy(&gdy);
  free(x), free(w), free(dy), free(xd), free(wd), free(dyd), free(xa), free(wa), free(dya);
  free(want), free(mag), free(got);
}

Test(conv2d, non_finite_inputs_stay_in_their_windows) {
  const ref_conv_shape shapes_nf[] = {{2, 3, 5, 8, 5, 3, 3, 1, 1}, {2, 4, 6, 7, 5, 3, 3, 1, 1}};
  const char *paths[] = {"implicit", "lanes", "im2col"};
  for (int texel = 0; texel < 2; texel++) {
    test_use_texel(texel);
    for (int p = 0; p < 3; p++) {
      setenv("REPRO_CONV", paths[p], 1);
      for (int i = 0; i < 2; i++) check_non_finite(&shapes_nf[i], paths[p]);
    }
  }
}

/* The reference's backward passes against central differences of its forward, for
 * L = sum(y * g): dL/dx = backward_data(g), dL/dw = backward_filter(x, g), dL/dbias. */
Test(conv2d, reference_gradients) {
  for (size_t i = 0; i < NSHAPES; i++) {
    const ref_conv_shape *sh = &shapes[i];
    int P = ref_conv_p(sh), Q = ref_conv_q(sh);
    long nx = (long)sh->n * sh->c * sh->h * sh->w, nw = (long)sh->k * sh->c * sh->r * sh->s;
    long ny = (long)sh->n * sh->k * P * Q;
    float *f = malloc((size_t)(nx + nw + ny + sh->k) * sizeof *f);
    fill_random(f, nx + nw + ny + sh->k, 99 + (uint32_t)i);
    double *x = to_double(f, nx, 0), *w = to_double(f + nx, nw, 0);
    double *g = to_double(f + nx + nw, ny, 0), *b = to_double(f + nx + nw + ny, sh->k, 0);
    double *y = malloc((size_t)ny * sizeof *y), *dx = malloc((size_t)nx * sizeof *dx);
    double *dw = malloc((size_t)nw * sizeof *dw), *db = malloc((size_t)sh->k * sizeof *db);
    ref_conv2d_backward_data(sh, g, w, dx);
    ref_conv2d_backward_filter(sh, x, g, dw, db);
    /* up to 12 elements of each of x, w, bias, spread over the tensor */
    double *params[3] = {x, w, b}, *grads[3] = {dx, dw, db};
    long counts[3] = {nx, nw, sh->k};
    for (int t = 0; t < 3; t++) {
      long step = counts[t] / 12 + 1;
      for (long j = (long)i % step; j < counts[t]; j += step) {
        double keep = params[t][j], h = 1e-3, loss[2];
        for (int side = 0; side < 2; side++) {
          params[t][j] = keep + (side ? -h : h);
          ref_conv2d_forward(sh, x, w, b, y);
          loss[side] = 0.0;
          for (long e = 0; e < ny; e++) loss[side] += y[e] * g[e];
        }
        params[t][j] = keep;
        double fd = (loss[0] - loss[1]) / (2 * h); /* exact up to rounding: L is linear */
        cr_assert(fabs(fd - grads[t][j]) <= 1e-8 * (1 + fabs(grads[t][j])),
                  "shape %zu, %s[%ld]: finite difference %.12g, backward %.12g", i,
                  t == 0   ? "x"
                  : t == 1 ? "w"
                           : "bias",
                  j, fd, grads[t][j]);
      }
    }
    free(f), free(x), free(w), free(g), free(b), free(y), free(dx), free(dw), free(db);
  }
}

/* Shapes that do not agree give an error naming the op, not a crash. */
Test(conv2d, bad_shapes) {
  rp_context *ctx = test_ctx();
  int64_t xs[4] = {2, 3, 8, 8}, ws[4] = {4, 3, 3, 3}, ys[4] = {2, 4, 8, 8}, bad[4] = {2, 4, 7, 8};
  int64_t wbad[4] = {4, 2, 3, 3};
  rp_tensor x, w, y, yb, wb;
  ASSERT_OK(rp_tensor_create(ctx, 4, xs, &x));
  ASSERT_OK(rp_tensor_create(ctx, 4, ws, &w));
  ASSERT_OK(rp_tensor_create(ctx, 4, ys, &y));
  ASSERT_OK(rp_tensor_create(ctx, 4, bad, &yb));
  ASSERT_OK(rp_tensor_create(ctx, 4, wbad, &wb));
  rp_recorder *rec = pass_recorder();
  cr_assert_eq(rp_conv2d_forward(rec, &x, &w, NULL, 1, 1, &yb), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "conv2d_forward") != NULL, "%s", rp_error_message());
  cr_assert_eq(rp_conv2d_forward(rec, &x, &wb, NULL, 1, 1, &y), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_conv2d_forward(rec, &x, &w, NULL, 0, 1, &y), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_conv2d_forward(rec, &x, &w, &x, 1, 1, &y), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_conv2d_backward_data(rec, &yb, &w, 1, 1, &x), RP_ERR_INVALID_ARGUMENT);
  cr_assert(strstr(rp_error_message(), "conv2d_backward_data") != NULL, "%s", rp_error_message());
  cr_assert_eq(rp_conv2d_backward_filter(rec, &x, &y, 1, 1, &w, &x), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_conv2d_backward_filter(rec, &x, &y, 2, 1, &w, NULL), RP_ERR_INVALID_ARGUMENT);
  cr_assert_eq(rp_conv2d_out_size(8, 3, 1, 1), 8);
  cr_assert_eq(rp_conv2d_out_size(8, 3, 2, 1), 4);
  cr_assert_eq(rp_conv2d_out_size(2, 5, 1, 1), 0);
  rp_tensor_destroy(ctx, &x), rp_tensor_destroy(ctx, &w), rp_tensor_destroy(ctx, &y);
  rp_tensor_destroy(ctx, &yb), rp_tensor_destroy(ctx, &wb);
}
