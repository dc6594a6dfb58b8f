/* The networks of the TaylorGLO experiments, built as static graphs. Each one's PyTorch
 * definition, with the same parameter names, is in bench/models.py (docs/models.md). */
#ifndef RP_MODELS_H
#define RP_MODELS_H

#include "nn/net.h"

/* What a model is built for: the batch size (fixed for the graph) and the data's shape,
 * classes and per-channel normalization (applied inside the model). */
typedef struct rp_model_input {
  int batch, channels, height, width, classes;
  const float *mean, *std;
} rp_model_input;

/* A model name taken apart: its family, and for the ResNets and wide ResNets their depth and
 * width. */
typedef enum rp_model_family {
  RP_MODEL_MNIST_CNN,
  RP_MODEL_ALLCNN_C,
  RP_MODEL_RESNET,
  RP_MODEL_PRERESNET,
  RP_MODEL_WRN,
} rp_model_family;

typedef struct rp_model_spec {
  rp_model_family family;
  int depth, width; /* resnetD, preresnetD: D = 6n+2 >= 8; wrn-D-K: D = 6n+4 >= 10, K >= 1 */
} rp_model_spec;

/* Parses a name of the list below (depths and widths up to 10000, digits only); false when it
 * is none. Needs no device: the experiment schema and the command line check names with it
 * before anything is built. */
bool rp_model_parse(const char *name, rp_model_spec *out);

/* Builds `name`: mnist_cnn, allcnn_c, resnet20 / resnet32 / resnet56 (any 6n+2),
 * preresnet20 (any 6n+2), wrn-16-8 (any wrn-D-K with D = 6n+4). Allocates and initializes the
 * parameters from `seed`. */
rp_status rp_model_build(rp_context *ctx, const char *name, const rp_model_input *in, uint64_t seed,
                         rp_net *net);

/* The names above, for help texts. */
extern const char *const rp_model_names;

#endif
