/* Benchmark results side by side: the files `repro bench --json` writes, one per device, as one
 * Markdown table, for comparing devices (or drivers, or commits) on the same workloads. */
#ifndef RP_BENCH_COMPARE_H
#define RP_BENCH_COMPARE_H

#include "vk/status.h"

/* The table of `count` results files (of repro bench --json, or of a peer such as
 * bench/pytorch_peer.py, which writes the same results): a column per file (its device, and the
 * software, driver, math and day in the header rows), a row per benchmark in the order the files
 * first name them, each value with its unit (and its fraction of the device's own FMA peak where
 * the file has one), and for every file after the first a column of its values over the first
 * file's (all of bench's figures are rates: above 1 is faster). A benchmark a file lacks is "—";
 * one a file names twice, its first value. Ratios of unlike measurements are flagged, with a
 * note under the table: a training step at another batch than the first file's (its "batch", or
 * the "batch N" of its detail in older files), and files whose math differs (repro is full fp32;
 * a peer's device block says whether it let TF32 in). Every failure is one line naming the file
 * and the JSON path. *markdown: caller frees. */
rp_status rp_bench_compare(const char *const *paths, int count, char **markdown);

#endif
