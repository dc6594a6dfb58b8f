#!/usr/bin/env bash
# Builds the two packs scripts/gpu-check.sh runs from, in the ignored .devpack-a/ and
# .devpack-b/ (each under the 64 MiB a call may carry): binaries and libraries through
# ../shared/device/pack.sh, then the validation layer and the data, all xz-compressed.
# Usage, from the project root after a build:  scripts/gpu-pack.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
shared=$(cd "$(dirname "$0")/../../shared" && pwd)
root=$(git rev-parse --show-toplevel)
cd "$root"

# part a: repro, every test binary, the validation layer, Fashion-MNIST
"$shared/device/pack.sh" "$build/repro" "$build"/tests/test_*
rm -rf .devpack-a && mv .devpack .devpack-a
mkdir -p .devpack-a/layer .devpack-a/data/fashion-mnist
layer_json=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
cp "$layer_json" .devpack-a/layer/
cp -L /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so .devpack-a/lib/
for f in /usr/share/datasets/fashion-mnist/*.gz; do
  gzip -dc "$f" | xz -T2 -6 >".devpack-a/data/fashion-mnist/$(basename "$f" .gz).xz"
done
find .devpack-a/bin .devpack-a/lib -type f ! -name '*.xz' -exec xz -T2 -6 {} +

# part b: repro and CIFAR-10 (JPEG-q75 copy) data_batch_1 + test_batch, unpacked by run.sh
"$shared/device/pack.sh" "$build/repro" "$build/tests/test_activation" --data data_batch_1 test_batch
rm -rf .devpack-b && mv .devpack .devpack-b
find .devpack-b/bin .devpack-b/lib -type f ! -name '*.xz' -exec xz -T2 -6 {} +
du -sm .devpack-a .devpack-b
