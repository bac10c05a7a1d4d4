#!/usr/bin/env bash
# Runs ON the accelerator machine (bare: no Node), from the repository root, with .device/ (from
# scripts/device/pack.sh) and .gl/ (from scripts/device/fetch-gl.sh) carried along:
#
#   device run: bash scripts/device/gpu-bench.sh [gpu|cpu|all]   carry: [".device", ".gl"]
#
# gpu (the default), in this order, each part with its own time limit so that one slow part cannot
# eat the call, results written to $OUT (or ./device-out) as each part ends:
#   1. the PyTorch peer on the same GPU in the same sitting (.device/torch_sae_device.py: the plain
#      step, TF32 and plain float32; configs A, B, C, G, L) -> peer-tf32.json, peer-fp32.json
#   2. our WebGPU step bench, one process per config -> bench-<config>.json, and TopK k=32 on B;
#      the data path alone at the configs' widths -> data.json
#   3. training end to end through the CLI against wasm: resume bit-exact, eval/stats/export, config B
#      twice bit-identical (gpu-e2e.mjs) -> gpu-e2e.json
#   4. a whole run of config B on the GPU, data path included (bench --whole-run) -> whole-run.json
# cpu: the CPU worker scaling (configs B and C, trained regime, 1 to 16 workers; the CPU PyTorch peer
#   at 8 and 16 threads where .device/peers/torch_sae.py and torch are there) -> bench-cpu.json, and
#   the slice-work bench at 8 and 16 slices -> slice-work.json
# SMOKE=1 runs tiny sizes only (to check the script itself on any machine, lavapipe included).
set -uo pipefail
what=${1:-gpu}
smoke=${SMOKE:-0}
# What comes back from the device machine is at most 8 files: every part writes under $res, and
# $OUT gets the log and one tar of $res, refreshed after each part (so a part cut short loses only itself).
final=${OUT:-$PWD/device-out}
res=$(mktemp -d /tmp/sae-results.XXXX)
out=$res
mkdir -p "$final"
log() { echo "[$(date +%T)] $*" | tee -a "$final/gpu-bench.log"; }
ship() { tar -cf "$final/results.tar" -C "$res" .; }

if ! ldconfig -p | grep -q libvulkan; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
if ! command -v node >/dev/null || [ -f .device/node.xz ]; then
  mkdir -p /tmp/sae-node
  xz -dc .device/node.xz > /tmp/sae-node/node && chmod +x /tmp/sae-node/node
  export PATH=/tmp/sae-node:$PATH
fi
here=$PWD
if [ -f .device/runtime.tar.xz ]; then
  rm -rf /tmp/sae && mkdir -p /tmp/sae && tar -xJf .device/runtime.tar.xz -C /tmp/sae && cd /tmp/sae
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader 2>&1; nproc; node --version; } | tee "$out/machine.txt"
log "setup done in $SECONDS s"
ship

if [ "$what" = gpu ] || [ "$what" = all ]; then
  peer=$here/.device/torch_sae_device.py
  if [ "$smoke" = 0 ] && [ -f "$peer" ] && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    log "1. PyTorch peer on the GPU (TF32, then float32)"
    timeout 60 python3 "$peer" --device cuda --configs A,B,C,G,L --tf32 --seconds 1.5 --out "$out/peer-tf32.json" 2>&1 | tee -a "$final/gpu-bench.log"
    timeout 60 python3 "$peer" --device cuda --configs B,G,L --seconds 1.5 --out "$out/peer-fp32.json" 2>&1 | tee -a "$final/gpu-bench.log"
    ship
  else
    log "1. PyTorch peer skipped (smoke, no peer script, or no CUDA torch)"
  fi

  log "2. WebGPU step bench"
  if [ "$smoke" = 1 ]; then configs="tiny"; else configs="B G L A C"; fi
  for c in $configs; do
    case $c in L) limit=100 ;; G) limit=50 ;; *) limit=40 ;; esac
    timeout $limit node dist/bench/main.js --backend webgpu --configs "$c" --no-data --json > "$out/bench-$c.json" 2>> "$out/bench-webgpu.log"
    log "  config $c rc=$? $(grep -E 'tokens/s' "$out/bench-webgpu.log" | tail -1)"
    ship
  done
  # TopK (k = 32) on the dense step, config B: what the architecture costs on the GPU.
  c=${configs%% *}
  timeout 40 node dist/bench/main.js --backend webgpu --configs "$c" --architecture topk --target-l0 32 --no-data --json > "$out/bench-$c-topk.json" 2>> "$out/bench-webgpu.log"
  log "  config $c topk rc=$? $(grep -E 'tokens/s' "$out/bench-webgpu.log" | tail -1)"
  ship

  log "2b. the data path at the configs' widths (one thread: where a whole run's ceiling is)"
  if [ "$smoke" = 1 ]; then widths=16; else widths=64,512,768,2304,4096; fi
  timeout 90 node dist/bench/main.js --data-only --data-widths $widths --no-model --json > "$out/data.json" 2>> "$out/bench-webgpu.log"
  log "  rc=$?"
  ship

  log "3. end to end through the CLI"
  timeout 150 node scripts/device/gpu-e2e.mjs "$out" > /dev/null 2>> "$out/gpu-e2e.log"
  log "  rc=$? $(grep -cE '^\[gpu-e2e .*\] ok ' "$out/gpu-e2e.log") ok, $(grep -cE '^\[gpu-e2e .*\] (FAIL|ERROR)' "$out/gpu-e2e.log") failed"
  grep -E '^\[gpu-e2e .*\] (ok|FAIL|ERROR)' "$out/gpu-e2e.log" | cut -c1-220
  ship

  log "4. whole run of config B on the GPU"
  if [ "$smoke" = 1 ]; then case=tiny; steps=8; else case=B; steps=300; fi
  timeout 90 node dist/bench/main.js --whole-run --cases $case --steps $steps --no-peer --backend webgpu --json > "$out/whole-run.json" 2> "$out/whole-run.log"
  log "  rc=$? $(grep -E 'tokens/s over' "$out/whole-run.log" | tail -1)"
  ship
fi

if [ "$what" = cpu ] || [ "$what" = all ]; then
  log "CPU worker scaling"
  cpu_configs="--configs B,C"; [ "$smoke" = 1 ] && cpu_configs="--configs tiny"
  # The PyTorch peer (torch_sae.py, CPU) at the same thread counts as our workers (goal 2 of issue 18).
  SAE_SHARED=$here/.device timeout 300 node dist/bench/main.js $cpu_configs --regimes trained --workers 1,4,8,16 --peer-threads 8,16 --no-data --no-loops --no-model --json \
    > "$out/bench-cpu.json" 2> "$out/bench-cpu.log"
  log "cpu bench rc=$?"
  # The same steps' work split into 8 and 16 slices on one thread: the projection to set beside
  # what the cores gave (the difference is what only many cores add: bandwidth, wake-ups).
  slice_args="--configs B,C"; [ "$smoke" = 1 ] && slice_args="--configs tiny --target-l0 4"
  timeout 150 node dist/bench/main.js --slice-work $slice_args --workers 8,16 --json > "$out/slice-work.json" 2> "$out/slice-work.log"
  log "slice work rc=$? $(grep -E '16 workers over 8' "$out/slice-work.log" | tr '\n' ' ')"
  ship
fi
log "done in $SECONDS s"
