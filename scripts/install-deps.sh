#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages repro needs to build, test and run, skipping
# those already there. Run as root (or through sudo).
#   --torch  also PyTorch (python3-torch, about 65 MB to download): the PyTorch tools
#            (tools/check_checkpoint.py, bench/pytorch_peer.py) and the tests that check repro
#            against it, which skip without it; CI installs it and requires them
set -euo pipefail
packages=(
  cmake ninja-build gcc pkg-config xz-utils  # build tools; xz unpacks the CIFAR-10 copy
  libvulkan-dev libvulkan-volk-dev           # Vulkan headers; volk loads libvulkan at run time
  glslc                                      # compiles shaders/*.comp to SPIR-V
  libcjson-dev                               # JSON results and experiment files
  libcriterion-dev                           # the test suite
  zlib1g-dev                                 # gzip'd MNIST / Fashion-MNIST IDX files
  libcurl4-openssl-dev nettle-dev            # repro data fetch: downloads and their md5
  liblapacke-dev                             # CMA-ES: eigendecomposition of the covariance
  libplplot-dev                              # figures of experiment results (SVG)
  libgsl-dev                                 # Student's t distribution for Welch's t-test
  dataset-fashion-mnist                      # Fashion-MNIST, found without configuration
  mesa-vulkan-drivers                        # lavapipe, the CPU Vulkan device (and Mesa's GPU drivers)
  vulkan-validationlayers                    # REPRO_VALIDATE=1, on in every test
  vulkan-tools                               # vulkaninfo, to compare with `repro devices`
)
for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch) ;;
    *) echo "install-deps.sh: unknown argument '$arg' (--torch)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
