#!/usr/bin/env bash
# Stages bench/gpu-check.ts for a GPU machine that has no Node.js and no internet (the device
# tool's H100/H200): a bundle of our code (esbuild; node-llama-cpp kept external), the
# node-llama-cpp runtime closure from node_modules, its CPU and Vulkan binaries, the CUDA
# package WITHOUT libggml-cuda.so plus ggml's sources (run.sh builds libggml-cuda.so there for
# sm_90 with that machine's nvcc, ~4 min on 16 cores), a libvulkan1 .deb, and node itself.
# Why build: the 3.21.1 CUDA prebuilt has cubins for sm_86/89/120/121 only, and its PTX (sm_75/
# 80/90) was made by CUDA 13.1, which the device's driver 580 (CUDA 13.0) refuses to JIT
# ("the provided PTX was compiled with an unsupported toolchain"). CUDA_LIB=prune instead ships
# the prebuilt with all but sm_90's PTX zeroed (prune-fatbin.py: 159 MB → ~21 MB xz), for a
# machine whose driver is CUDA 13.1 or newer.
# Output (git-ignored through .git/info/exclude): .device/node.xz and .device/bundle.tar.xz,
# which scripts/device/run.sh unpacks and runs there.
#   usage: [CUDA_LIB=none|prune] scripts/device/stage.sh [--keep-sm 90]   (from the repository root;
#   needs `apt-get -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64 update` once)
set -euo pipefail
ROOT=$(pwd)
SM=${2:-90}
DEV=$ROOT/.device
STAGE=$DEV/stage
rm -rf "$STAGE" && mkdir -p "$STAGE/main/build/Release" "$STAGE/node_modules"

# 1. Our code: two bundles side by side in main/ (NodeJobProcessLauncher forks ./job-process.js
#    next to the launcher's own module). A package.json named silkworm marks the app root, so
#    appReadPaths() lets the sandboxed job process read $STAGE/main and $STAGE/node_modules.
node_modules/.bin/esbuild bench/gpu-check.ts main/engine/job-process.ts --bundle --platform=node --format=esm \
  --target=node20 --outdir="$STAGE/main" --entry-names='[name]' --external:node-llama-cpp --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
echo '{ "name": "silkworm", "private": true, "type": "module" }' > "$STAGE/package.json"
cp native/sandbox/build/Release/silkworm_sandbox.node "$STAGE/main/build/Release/"

# 2. node-llama-cpp and what it imports at run time (dependencies, transitively; no typescript,
#    no source-build bundle, no type declarations or maps).
node --input-type=module -e '
import { readFileSync, existsSync, cpSync } from "node:fs";
import { join, dirname } from "node:path";
const [root, out] = process.argv.slice(1);
const seen = new Set();
function visit(name, from) {
  let dir = from;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) { dir = candidate; break; }
    if (dir === root) throw new Error("cannot resolve " + name);
    dir = dirname(dir.endsWith("node_modules") ? dir : dir);
    dir = dir.includes("/node_modules/") ? dir.slice(0, dir.lastIndexOf("/node_modules/")) : root;
  }
  if (seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
}
visit("node-llama-cpp", root);
for (const dir of seen) {
  cpSync(dir, join(out, dir.slice(root.length)), { recursive: true, dereference: true,
    filter: (src) => !/(gitRelease\.bundle|\.d\.ts|\.map|\/docs?\/|\/node_modules\/@node-llama-cpp\/)/.test(src.slice(dir.length)) || src === dir });
}
console.log("node_modules closure:", seen.size, "packages");
' "$ROOT" "$STAGE"

# 3. Prebuilt binaries: CPU as is, CUDA with only sm_$SM's PTX left in the fatbin.
mkdir -p "$STAGE/node_modules/@node-llama-cpp"
cp -r node_modules/@node-llama-cpp/linux-x64 "$STAGE/node_modules/@node-llama-cpp/"
# ggml picks the best CPU variant present; these cover x86-64-v1..v4 (Intel and AMD) servers.
CPUS='x64|haswell|skylakex|icelake|sapphirerapids|zen4'
find "$STAGE/node_modules/@node-llama-cpp/linux-x64/bins" -name 'libggml-cpu-*.so' | grep -Ev "libggml-cpu-($CPUS)\.so" | xargs rm -f
CUDA=$STAGE/node_modules/@node-llama-cpp/linux-x64-cuda
mkdir -p "$CUDA/bins/linux-x64-cuda"
cp -r node_modules/@node-llama-cpp/linux-x64-cuda/{package.json,dist} "$CUDA/"
SRC=node_modules/@node-llama-cpp/linux-x64-cuda/bins/linux-x64-cuda
for f in "$SRC"/*; do
  case "$(basename "$f")" in
    libggml-cuda.so) ;;
    libggml-cpu-*) [[ "$(basename "$f")" =~ ^libggml-cpu-($CPUS)\.so$ ]] && cp "$f" "$CUDA/bins/linux-x64-cuda/" ;;
    *) cp "$f" "$CUDA/bins/linux-x64-cuda/" ;;
  esac
done
# CUDA_LIB=none (default) leaves libggml-cuda.so out (run.sh then builds it there from source: the
# prebuilt's PTX needs a CUDA 13.1 driver, and it has no sm_90 cubin).
[ "${CUDA_LIB:-none}" = none ] || python3 scripts/device/prune-fatbin.py "$SRC/libggml-cuda.so" "$CUDA/bins/linux-x64-cuda/libggml-cuda.so" --keep-sm "$SM" --keep-ptx

# Vulkan prebuilt (fallback backend), same CPU variants; its loader comes as a .deb.
cp -r node_modules/@node-llama-cpp/linux-x64-vulkan "$STAGE/node_modules/@node-llama-cpp/"
find "$STAGE/node_modules/@node-llama-cpp/linux-x64-vulkan/bins" -name 'libggml-cpu-*.so' | grep -Ev "libggml-cpu-($CPUS)\\.so" | xargs rm -f

# ggml's sources at node-llama-cpp's llama.cpp release (CUDA and the core only), to build
# libggml-cuda.so for the GPU at hand with the toolkit there.
rm -rf /tmp/silkworm-llama && git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/silkworm-llama 2>/dev/null
# ggml/ holds a top-level CMakeLists.txt that adds ggml/ggml as a subproject (as llama.cpp
# does; standalone ggml wants files this release does not ship).
mkdir -p "$STAGE/ggml/ggml/src" && cp -r /tmp/silkworm-llama/ggml/{CMakeLists.txt,cmake,include} "$STAGE/ggml/ggml/"
printf 'cmake_minimum_required(VERSION 3.14)\nproject(silkworm-ggml C CXX)\nadd_subdirectory(ggml)\n' > "$STAGE/ggml/CMakeLists.txt"
(cd /tmp/silkworm-llama/ggml/src && cp -r $(ls | grep -Ev '^ggml-(et|metal|hexagon|sycl|vulkan|opencl|cann|musa|hip|kompute|rpc|webgpu|zdnn|openvino|virtgpu|blas|zendnn)$') "$STAGE/ggml/ggml/src/")
# Like node-llama-cpp's own build: unversioned sonames (the prebuilt libggml-base.so is what the
# new backend must bind to) and $ORIGIN as run path.
python3 - "$STAGE/ggml/ggml/src/CMakeLists.txt" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('    VERSION ${GGML_VERSION}\n    SOVERSION ${GGML_VERSION_MAJOR}', '    BUILD_RPATH "$ORIGIN"\n    INSTALL_RPATH "$ORIGIN"')
open(p, 'w').write(s)
PY
grep -c 'BUILD_RPATH "\$ORIGIN"' "$STAGE/ggml/ggml/src/CMakeLists.txt"
mkdir -p "$STAGE/debs" && (cd "$STAGE/debs" && apt-get -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64 download libvulkan1 >/dev/null) || echo "no libvulkan1 .deb (apt-get update with those options first)"

# 4. Pack; node itself is cached (it does not change).
tar -C "$STAGE" -cf - package.json main node_modules ggml debs | xz -T0 -6 > "$DEV/bundle.tar.xz"
[ -s "$DEV/node.xz" ] || xz -T0 -6 -c "$(command -v node)" > "$DEV/node.xz"
du -sh "$STAGE" "$DEV/bundle.tar.xz" "$DEV/node.xz"
