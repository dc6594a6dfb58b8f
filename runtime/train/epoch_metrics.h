/* What one epoch of training measured, and its JSON form: the keys of `repro train --json`
 * and of an experiment's runs/<id>.json. */
#ifndef RP_EPOCH_METRICS_H
#define RP_EPOCH_METRICS_H

#include <cjson/cJSON.h>

typedef struct rp_epoch_metrics {
  int epoch; /* 1-based */
  double lr;
  double train_loss, train_accuracy, train_true_prob; /* running means over the epoch */
  double val_loss, val_accuracy;                      /* NaN without a validation set */
  double test_loss, test_accuracy;
  double seconds, images_per_second;
} rp_epoch_metrics;

/* The metrics as a JSON object; NaN (not measured) becomes null. */
cJSON *rp_epoch_metrics_json(const rp_epoch_metrics *m);

#endif
