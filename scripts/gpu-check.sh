#!/usr/bin/env bash
# The GPU checks of a session, run on the lent GPU machine in two parts, because one call may
# carry at most 64 MiB (scripts/gpu-pack.sh builds both packs here):
#
#   part a (.devpack-a: repro, the test binaries, the validation layer, Fashion-MNIST):
#     devices, the test suite under the validation layer, repro bench with the training steps,
#     the PyTorch peer on the same GPU (full fp32, and PyTorch's default TF32 convolutions), Fashion-MNIST MNIST-CNN runs (cross-entropy and the two
#     TaylorGLO losses) and their checkpoints evaluated again in PyTorch;
#   part b (.devpack-b: repro, CIFAR-10 (JPEG-q75 copy) data_batch_1 and test_batch):
#     ResNet-20 on CIFAR-10 for the time given, its checkpoint evaluated in PyTorch, and the
#     GPU-sized experiment files.
#
# Usage on the GPU machine:
#   PACK=.devpack-a bash .devpack-a/run.sh bash scripts/gpu-check.sh a
#   PACK=.devpack-b bash .devpack-b/run.sh bash scripts/gpu-check.sh b [SECONDS]
# (QUICK=1 runs only the first steps, to try the packs on this machine; ONLY_EXPERIMENTS=1
# runs only part b's experiment files, EXPERIMENTS='FILE...' picks them.)
# Everything it measures goes under $OUT (logs, JSON, checkpoints); a failing step is logged
# and the next one still runs.
set -u
part=${1:?usage: gpu-check.sh a|b [SECONDS]}
budget=${2:-240}
pack=$(cd "${PACK:?PACK=the pack directory}" && pwd)
out=${OUT:-/tmp/repro-gpu-out}
mkdir -p "$out"
log="$out/part-$part.log"
exec > >(tee -a "$log") 2>&1

step() { # step NAME TIMEOUT COMMAND...: runs, times and logs one step
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  echo "=== $name" >&2 # stderr: a step whose stdout is redirected to a file keeps it clean
  timeout "$limit" "$@"
  local rc=$?
  echo "=== $name: exit $rc after $((SECONDS - start)) s" >&2
  return 0
}

# Packed files travel xz-compressed; python3 is there when xz may not be.
find "$pack" -name '*.xz' -print0 | while IFS= read -r -d '' f; do
  python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' \
    "$f" "${f%.xz}" && rm -f "$f"
done
chmod +x "$pack"/bin/* 2>/dev/null
# The lent machines have NVIDIA's driver but not libglvnd, without which its Vulkan ICD cannot
# create an instance: unpack the Debian packages carried in .gl/ (see the device README).
if [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export REPRO_CACHE_DIR=/tmp/repro-pipelines REPRO_DATA_DIR="$pack/data"
# test_cli runs the repro it was built with, at this machine's path unless told
export REPRO_TEST_BINARY="$pack/bin/repro" REPRO_TEST_FASHION_DIR="$pack/data/fashion-mnist"
py=python3
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

if [ "$part" = a ]; then
  step devices 60 repro devices --json >"$out/devices.json"
  repro devices
  [ -n "${QUICK:-}" ] && exit 0
  # The suite, under the validation layer (packed: the machine has none installed).
  export VK_LAYER_PATH="$pack/layer"
  for t in "$pack"/bin/test_*; do
    step "$(basename "$t")" 300 env REPRO_VALIDATE=1 "$t" --jobs 1 >"$out/$(basename "$t").log" 2>&1
    tail -1 "$out/$(basename "$t").log"
  done
  unset VK_LAYER_PATH
  models="train_mnist_cnn train_allcnn_c train_resnet20 train_preresnet20 train_wrn-16-8"
  step bench 300 repro bench --json "$out/bench.json" peak copy gemm $models
  # The texel-read variants, on CPU devices by default, measured here against the above
  step bench_texel 300 env REPRO_TEXEL=1 repro bench --json "$out/bench-texel.json" copy $models
  # PyTorch in full fp32 as repro, then with its default TF32 convolutions (bench/precision.py)
  step pytorch_peer 300 $py bench/pytorch_peer.py --device cuda --steps 20 --repeats 5 \
    --json "$out/pytorch_peer.json" $models
  step pytorch_peer_tf32 300 $py bench/pytorch_peer.py --device cuda --steps 20 --repeats 5 \
    --tf32 --json "$out/pytorch_peer_tf32.json" $models
  # Fashion-MNIST, the issue's recipe: batch 100, SGD lr 0.01 momentum 0.9, no augmentation.
  for loss in ce taylorglo:8.2896,0.2415,7.8726,8.9666,2.0184,7.0513,-10.9408,7.5216 \
              taylorglo:1.5742,-1.4446,2.3616,-0.6632,-2.8569,-1.1313,0.8439,1.4872; do
    name=fmnist_$(echo "$loss" | cut -c1-12 | tr ':,.' '___')
    step "$name" 300 repro train --model mnist_cnn --dataset fashion-mnist --loss "$loss" \
      --epochs 2 --batch 100 --lr 0.01 --momentum 0.9 --augment none --validation 0 \
      --seed 1 --save "$out/$name.safetensors" --json "$out/$name.json"
    step "$name-eval" 120 repro eval --checkpoint "$out/$name.safetensors" --json "$out/$name-eval.json"
    step "$name-torch" 120 $py tools/check_checkpoint.py "$out/$name.safetensors" \
      --data "$pack/data/fashion-mnist" --device cuda >"$out/$name-torch.json"
    cat "$out/$name-torch.json"
  done
  step fgsm 120 repro eval --checkpoint "$out/fmnist_ce.safetensors" --fgsm 0.05,0.1,0.2 \
    --pgd 0.05,0.1 --json "$out/fmnist_ce-attacks.json"
fi

if [ "$part" = b ] && [ -z "${ONLY_EXPERIMENTS:-}" ]; then
  for t in "$pack"/bin/test_*; do # without the layer: pack b has no room for it
    step "$(basename "$t")" 120 env REPRO_VALIDATE=0 "$t" --jobs 1 --verbose >"$out/$(basename "$t").log" 2>&1
    tail -3 "$out/$(basename "$t").log"
  done
  # repro and its PyTorch peer side by side, on the same GPU in the same call
  models="train_mnist_cnn train_allcnn_c train_resnet20 train_preresnet20 train_wrn-16-8"
  step bench 120 repro bench --json "$out/bench.json" peak copy gemm $models
  step pytorch_peer 120 $py bench/pytorch_peer.py --device cuda --steps 20 --repeats 5 \
    --json "$out/pytorch_peer.json" $models
  step pytorch_peer_tf32 120 $py bench/pytorch_peer.py --device cuda --steps 20 --repeats 5 \
    --tf32 --json "$out/pytorch_peer_tf32.json" $models
  # ResNet-20 on the part of CIFAR-10 that fits the transfer (data_batch_1: 10,000 images,
  # 1,000 held out for validation), a compressed schedule of the paper's (lr 0.1, x0.1 at
  # half and three quarters).
  epochs=${EPOCHS:-30}
  step resnet20_cifar10 "$budget" repro train --model resnet20 --dataset cifar10 \
    --epochs "$epochs" --lr-steps $((epochs / 2)),$((epochs * 3 / 4)) --validation 1000 \
    --seed 1 --save "$out/resnet20_cifar10.safetensors" --json "$out/resnet20_cifar10.json"
  step resnet20-torch 120 $py tools/check_checkpoint.py "$out/resnet20_cifar10.safetensors" \
    --data "$pack/data/cifar10" --device cuda >"$out/resnet20-torch.json"
  cat "$out/resnet20-torch.json"
  step resnet20-attacks 120 repro eval --checkpoint "$out/resnet20_cifar10.safetensors" \
    --fgsm 1/255,2/255,4/255,8/255 --pgd 2/255,8/255 --json "$out/resnet20-attacks.json"
fi
if [ "$part" = b ]; then
  # cifar10_adv_gpu was measured on 2026-11-27 (results/cifar10_adv_gpu); the others are next.
  for f in ${EXPERIMENTS:-experiments/cifar10_invariant_gpu.json experiments/cifar10_regularization_gpu.json}; do
    step "run $(basename "$f")" "${EXPERIMENT_SECONDS:-240}" repro run "$f" --out "$out/$(basename "$f" .json)"
  done
fi
# The machine returns a handful of files: everything travels in one archive.
tar -C "$out" -czf "/tmp/part-$part.tgz" . &&
  find "$out" -mindepth 1 -maxdepth 1 -exec rm -rf {} + && mv "/tmp/part-$part.tgz" "$out/"
echo "part $part done"
