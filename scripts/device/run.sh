#!/usr/bin/env bash
# Runs on the GPU machine (the device tool), from the repository root, after
# scripts/device/stage.sh staged .device/node.xz and .device/bundle.tar.xz here:
#   run(command="bash scripts/device/run.sh", carry=[".device/node.xz", ".device/bundle.tar.xz"])
# Writes to $OUT: log.txt (everything), result.jsonl (bench/gpu-check.ts output), smi.tar.gz
# (raw nvidia-smi outputs: -q, the probe's queries idle, with a PyTorch process, and during our
# runs). Set GPU_CHECK_ARGS (e.g. --quick) to pass options on; SKIP_TORCH=1 skips the PyTorch
# fixture capture, VULKAN_TIMEOUT=1 the Vulkan pass.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
SW=/tmp/sw SMI=/tmp/smi
mkdir -p $SW $SMI
stamp() { echo "== [${SECONDS}s $(date +%T.%N | cut -c1-12)] $*"; }

stamp unpack
xz -dc .device/node.xz > $SW/node && chmod +x $SW/node
tar -xJf .device/bundle.tar.xz -C $SW
$SW/node --version

stamp "nvidia-smi facts"
nvidia-smi -q > $SMI/q.txt; nvidia-smi > $SMI/plain.txt; cat $SMI/plain.txt
grep -E 'Driver Version|CUDA Version|Product Name|Product Architecture|Persistence Mode|Compute Mode|MIG Mode|Current  *:|Pending  *:|Addressing Mode|Virtualization Mode|Power Limit|Max Power|Total|Bus Id' $SMI/q.txt | head -40
Q=(--format=csv,noheader,nounits)
GPUQ=--query-gpu=index,temperature.gpu,power.draw,memory.used,memory.total,utilization.gpu,name
APPQ=--query-compute-apps=pid,process_name,used_memory
nvidia-smi $GPUQ "${Q[@]}" > $SMI/idle-gpus.csv; nvidia-smi $APPQ "${Q[@]}" > $SMI/idle-apps.csv
echo "idle gpus:"; cat -A $SMI/idle-gpus.csv; echo "idle apps:"; cat -A $SMI/idle-apps.csv

if [ -z "${SKIP_TORCH:-}" ]; then
stamp "with a PyTorch process holding 2 GiB and computing"
PYTHONUNBUFFERED=1 python3 -c "
import torch, time
x = torch.empty(2 << 30, dtype=torch.uint8, device='cuda')
a = torch.randn(8192, 8192, device='cuda')
print('torch ready', flush=True)
end = time.time() + 20
while time.time() < end:
    a = (a @ a).clamp_(-1, 1)
torch.cuda.synchronize()
" > $SMI/torch.log 2>&1 &
TORCH=$!
for i in $(seq 1 60); do grep -q 'torch ready' $SMI/torch.log && break; kill -0 $TORCH 2>/dev/null || break; sleep 0.5; done
cat $SMI/torch.log
sleep 2
nvidia-smi $GPUQ "${Q[@]}" > $SMI/busy-gpus.csv; nvidia-smi $APPQ "${Q[@]}" > $SMI/busy-apps.csv
echo "torch pid $TORCH; busy gpus:"; cat -A $SMI/busy-gpus.csv; echo "busy apps:"; cat -A $SMI/busy-apps.csv
nvidia-smi --query-gpu=name,pci.bus_id,driver_version,vbios_version,compute_cap,memory.total,power.limit,clocks.max.sm --format=csv > $SMI/facts.csv; cat $SMI/facts.csv
kill $TORCH; wait $TORCH 2>/dev/null
fi

stamp "CUDA libraries"
LIBDIRS=$(find /usr/local /opt /usr/lib /usr/lib64 -xdev \( -name 'libcudart.so.13*' -o -name 'libcublas.so.13*' -o -name 'libcublasLt.so.13*' -o -name 'libcuda.so.1' -o -name 'libnvidia-ml.so.1' \) 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)
echo "LIBDIRS=$LIBDIRS"
export LD_LIBRARY_PATH=$LIBDIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ldd $SW/node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda/libggml-cuda.so | grep -E 'cuda|cublas|not found'
grep -m1 'model name' /proc/cpuinfo; nproc
export CUDA_CACHE_PATH=/tmp/cuda-cache CUDA_CACHE_MAXSIZE=4294967296

CUDAPKG=$SW/node_modules/@node-llama-cpp/linux-x64-cuda
CUDALIB=$CUDAPKG/bins/linux-x64-cuda/libggml-cuda.so
if [ ! -f $CUDALIB ] && [ -d $SW/ggml ]; then
  # No usable CUDA prebuilt: build libggml-cuda.so here (nvcc of this machine, sm_$SM only)
  # while the Vulkan prebuilt runs the checks, then run them again on CUDA.
  SM=${SM:-90}
  stamp "building libggml-cuda.so for sm_$SM in the background"
  NVCC=$(command -v nvcc || ls /usr/local/cuda*/bin/nvcc | head -1)
  ( cmake -S $SW/ggml -B /tmp/ggml-build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=ON \
      -DGGML_BUILD_TESTS=OFF -DGGML_BUILD_EXAMPLES=OFF -DGGML_CPU=OFF -DGGML_CUDA=ON -DGGML_CUDA_NCCL=OFF -DGGML_CUDA_FA=${GGML_CUDA_FA:-OFF} -DGGML_NATIVE=OFF \
      -DCMAKE_CUDA_ARCHITECTURES=$SM -DCMAKE_CUDA_COMPILER=$NVCC > /tmp/ggml-build.log 2>&1 \
    && nice cmake --build /tmp/ggml-build --target ggml-cuda -j $(nproc) >> /tmp/ggml-build.log 2>&1; echo "build exit $?" >> /tmp/ggml-build.log ) &
  BUILD=$!
  mv $CUDAPKG /tmp/cuda-pkg-aside
  stamp "gpu-check on Vulkan"
  for f in $SW/debs/*.deb; do dpkg -x $f /; done; ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  ls -la $VK_DRIVER_FILES /usr/lib/x86_64-linux-gnu/libvulkan.so.1 2>&1
  (cd /tmp && timeout ${VULKAN_TIMEOUT:-240} $SW/node $SW/main/gpu-check.js --no-cpu --save-smi $SMI/vulkan ${GPU_CHECK_ARGS:-} | tee "$OUT/result-vulkan.jsonl")
  stamp "waiting for the CUDA build"
  while kill -0 $BUILD 2>/dev/null && [ $SECONDS -lt ${BUILD_DEADLINE_S:-430} ]; do sleep 5; done
  tail -5 /tmp/ggml-build.log; grep -m5 -i error /tmp/ggml-build.log
  BUILT=$(find /tmp/ggml-build -name 'libggml-cuda.so*' -type f | head -1)
  mv /tmp/cuda-pkg-aside $CUDAPKG
  if [ -n "$BUILT" ]; then cp $BUILT $CUDALIB; readelf -d $CUDALIB | grep -E 'NEEDED|RUNPATH|SONAME'; fi
  tar -czf "$OUT/build-log.tar.gz" -C /tmp ggml-build.log
fi
stamp "gpu-check"
cd /tmp && timeout $(( ${CALL_BUDGET_S:-570} - SECONDS )) $SW/node $SW/main/gpu-check.js --save-smi $SMI ${GPU_CHECK_ARGS:-} | tee "$OUT/result.jsonl"
echo "gpu-check exit ${PIPESTATUS[0]}"
stamp done
tar -C $SMI -czf "$OUT/smi.tar.gz" .
