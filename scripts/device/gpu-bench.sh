#!/usr/bin/env bash
# Runs ON the accelerator machine (bare: no Node), from the repository root, with .device/ (from
# scripts/device/pack.sh) and .gl/ (from scripts/device/fetch-gl.sh) carried along:
#
#   device run: bash scripts/device/gpu-bench.sh [webgpu|cpu|all]   carry: [".device", ".gl"]
#
# Writes the benchmarks' JSON and logs to $OUT (or ./device-out): the WebGPU step (configs A, B,
# C, G, L) and the CPU worker scaling (configs B and C, trained regime, 1 to 16 workers). Each part
# has its own time limit so one slow part cannot eat the whole call.
# SMOKE=1 runs the tiny config only (to check the script itself on any machine).
set -uo pipefail
what=${1:-all}
gpu_configs=""; cpu_configs="--configs B,C"
if [ "${SMOKE:-0}" = 1 ]; then gpu_configs="--configs tiny"; cpu_configs="--configs tiny"; fi
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
log() { echo "[$(date +%T)] $*" | tee -a "$out/gpu-bench.log"; }

if ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
mkdir -p /tmp/sae-node /tmp/sae
xz -dc .device/node.xz > /tmp/sae-node/node && chmod +x /tmp/sae-node/node
export PATH=/tmp/sae-node:$PATH
tar -xJf .device/runtime.tar.xz -C /tmp/sae
cd /tmp/sae
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc; node --version; } 2>&1 | tee "$out/machine.txt"

if [ "$what" = all ] || [ "$what" = webgpu ]; then
  log "webgpu bench"
  timeout 330 node dist/bench/main.js --backend webgpu $gpu_configs --no-data --json > "$out/bench-webgpu.json" 2> "$out/bench-webgpu.log"
  log "webgpu bench rc=$?"
fi
if [ "$what" = all ] || [ "$what" = cpu ]; then
  log "cpu worker scaling"
  timeout 200 node dist/bench/main.js $cpu_configs --regimes trained --workers 1,4,8,16 --no-data --no-loops --json \
    > "$out/bench-cpu.json" 2> "$out/bench-cpu.log"
  log "cpu bench rc=$?"
fi
log done
