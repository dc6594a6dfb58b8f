#include "train/epoch_metrics.h"

#include <math.h>

static void add_number(cJSON *o, const char *key, double v) {
  if (isfinite(v))
    cJSON_AddNumberToObject(o, key, v);
  else
    cJSON_AddNullToObject(o, key);
}

cJSON *rp_epoch_metrics_json(const rp_epoch_metrics *m) {
  cJSON *e = cJSON_CreateObject();
  cJSON_AddNumberToObject(e, "epoch", m->epoch);
  add_number(e, "lr", m->lr);
  add_number(e, "train_loss", m->train_loss);
  add_number(e, "train_accuracy", m->train_accuracy);
  add_number(e, "train_true_class_probability", m->train_true_prob);
  add_number(e, "val_loss", m->val_loss);
  add_number(e, "val_accuracy", m->val_accuracy);
  add_number(e, "test_loss", m->test_loss);
  add_number(e, "test_accuracy", m->test_accuracy);
  add_number(e, "seconds", m->seconds);
  add_number(e, "images_per_second", m->images_per_second);
  return e;
}
