/* A recorder appends many dispatches to one command buffer, which can then be submitted again
 * and again without recording it anew (a whole training step is recorded once).
 *
 * Barriers are inserted only where they are needed: each dispatch says which byte ranges it
 * reads and writes, and a barrier goes in before a dispatch that reads or writes a range an
 * earlier dispatch wrote since the last barrier, or writes a range one read (the write-after-
 * read hazard). REPRO_FULL_BARRIERS=1 puts one before every dispatch, to debug a suspected
 * missing barrier. Every recording starts with a barrier against all earlier submissions.
 *
 * REPRO_BIND_SLACK=1 (read when the recorder is created) binds every argument with
 * RP_BIND_SLACK_BYTES more after it, where its VkBuffer has them, and tracks the hazards of
 * that whole reach. It is for tests: lavapipe clamps every access to the binding, dropping a
 * write past its end and reading zero there, so a kernel that overruns its tensor passes
 * unseen; with the slack it overruns into the test's guard region instead (tests/support). */
#ifndef RP_RECORDER_H
#define RP_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "vk/caps.h"
#include "vk/memory.h"
#include "vk/pipeline.h"

typedef struct rp_recorder rp_recorder;

#define RP_BIND_SLACK_BYTES 256

typedef enum rp_access { RP_READ = 1, RP_WRITE = 2, RP_READ_WRITE = 3 } rp_access;

/* One argument of a dispatch: a byte range of a buffer and how it is used, bound as a storage
 * buffer or, where the pipeline says (rp_pipeline_key), as a uniform texel buffer, read-only.
 * `bytes` 0 means from `offset` to the end of the buffer. */
typedef struct rp_arg {
  const rp_buffer *buffer;
  uint64_t offset, bytes;
  rp_access access;
} rp_arg;

/* The bytes an argument binds: `bytes`, or from `offset` to the end of its buffer. */
static inline uint64_t rp_arg_bytes(const rp_arg *arg) {
  return arg->bytes ? arg->bytes : arg->buffer->size - arg->offset;
}

/* Whether `bytes` at byte `offset` of a VkBuffer can be a texel buffer view of texels of
 * `texel_bytes` on this device: the offset aligned, and few enough texels. */
bool rp_texel_view_fits(const rp_caps *caps, uint64_t offset, uint64_t bytes, uint64_t texel);

rp_status rp_recorder_create(rp_context *ctx, rp_recorder **out);
void rp_recorder_destroy(rp_recorder *rec);

/* Starts a new recording, dropping the previous one (waits if it is still running). */
rp_status rp_rec_begin(rp_recorder *rec);

/* Appends one dispatch of `groups` workgroups. `args` bind to bindings 0..nargs-1 and must
 * match the pipeline's binding count; `push` (at most RP_PUSH_BYTES) becomes its push
 * constants. */
rp_status rp_rec_dispatch(rp_recorder *rec, const rp_pipeline *pipeline, const rp_arg *args,
                          uint32_t nargs, const void *push, uint32_t push_bytes,
                          const uint32_t groups[3]);

/* A device buffer of at least `bytes` for an op's intermediate results (an im2col panel, partial
 * sums), owned by the recorder until it is begun anew or destroyed. Later requests may return
 * the same buffer: the hazard tracking orders its reuse like any other buffer's. With
 * REPRO_POISON_SCRATCH=1 (read when the recorder is created) the buffer is filled with NaN at
 * each request, for tests of ops that must not read scratch they did not write. */
rp_status rp_rec_scratch(rp_recorder *rec, uint64_t bytes, const rp_buffer **out);

/* Writes a timestamp once all earlier dispatches have finished; returns its index for
 * rp_rec_elapsed_ms, or -1 where the device has no timestamps. */
int rp_rec_timestamp(rp_recorder *rec);

rp_status rp_rec_end(rp_recorder *rec);

/* Submits the finished recording; it may be submitted any number of times. */
rp_status rp_rec_submit(rp_recorder *rec);
/* Waits for the last submission; reports device loss. */
rp_status rp_rec_wait(rp_recorder *rec);
/* Submit and wait. */
rp_status rp_rec_run(rp_recorder *rec);

/* Milliseconds between two timestamps of the last completed submission. */
rp_status rp_rec_elapsed_ms(rp_recorder *rec, int from, int to, double *ms);
/* Ticks from one raw timestamp to a later one on a counter of `valid_bits` bits (the queue
 * family's timestampValidBits, 36 to 64): the bits above are undefined and the counter wraps. */
uint64_t rp_timestamp_ticks(uint64_t from, uint64_t to, uint32_t valid_bits);

/* The context the recorder belongs to (ops look their pipelines up there). */
rp_context *rp_rec_context(const rp_recorder *rec);

/* REPRO_PROFILE=1 puts a timestamp after every dispatch of a recording that starts with one
 * (rp_rec_timestamp right after rp_rec_begin): entry i is dispatch i's shader and its time in
 * the last completed submission. */
uint32_t rp_rec_profile_count(const rp_recorder *rec);
rp_status rp_rec_profile_entry(rp_recorder *rec, uint32_t i, const char **shader, double *ms);

/* What the last recording holds: for tests of the hazard tracking and for benchmarks. */
uint32_t rp_rec_dispatch_count(const rp_recorder *rec);
uint32_t rp_rec_barrier_count(const rp_recorder *rec);

#endif
