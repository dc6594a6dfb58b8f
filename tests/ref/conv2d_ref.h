/* Plain C reference of 2-D convolution (NCHW, zero padding), accumulating in double. */
#ifndef RP_TEST_CONV2D_REF_H
#define RP_TEST_CONV2D_REF_H

/* x [n, c, h, w], w [k, c, r, s], y [n, k, p, q] */
typedef struct ref_conv_shape {
  int n, c, h, w, k, r, s, stride, pad;
} ref_conv_shape;

int ref_conv_p(const ref_conv_shape *sh); /* output height */
int ref_conv_q(const ref_conv_shape *sh); /* output width */

/* y = conv(x, wt) + bias (bias may be NULL) */
void ref_conv2d_forward(const ref_conv_shape *sh, const double *x, const double *wt,
                        const double *bias, double *y);
/* dx = d(sum y * dy)/dx */
void ref_conv2d_backward_data(const ref_conv_shape *sh, const double *dy, const double *wt,
                              double *dx);
/* dw = d(sum y * dy)/dw; dbias[k] = sum of dy over n, p, q (dbias may be NULL) */
void ref_conv2d_backward_filter(const ref_conv_shape *sh, const double *x, const double *dy,
                                double *dw, double *dbias);

#endif
