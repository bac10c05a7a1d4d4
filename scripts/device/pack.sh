#!/usr/bin/env bash
# Pack what a bare accelerator machine (no Node, no npm, no network) needs to run `sae` and its
# benchmarks: a node binary and the runtime files of the built checkout, traced from real runs.
#
#   bash scripts/device/pack.sh            -> .device/ (git-ignored): node.xz, runtime.tar.xz
#
# Then, on the machine (the device tool's `run`, carrying .device and .gl):
#   bash scripts/device/gpu-bench.sh          (SMOKE=1 to try it here first, on lavapipe)
# The runtime is the set of files under node_modules/ and dist/ that `sae train` (wasm, worker
# threads), the end-to-end GPU script and the benchmarks (webgpu when a Vulkan driver is present
# here) open, found with strace,
# plus every package.json on the way: a few MB instead of the ~500 MB node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v strace >/dev/null || { echo "pack.sh needs strace (apt-get install strace)" >&2; exit 1; }
npm run build >/dev/null
out=.device
rm -rf "$out" && mkdir -p "$out"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> "$(git rev-parse --git-path info/exclude)"

trace=$(mktemp -d)
work=$(mktemp -d)
run() { strace -f -qq -e trace=openat -o "$trace/t.$1" "${@:2}" >/dev/null 2>&1 || echo "pack.sh: '$1' run failed (traced anyway)" >&2; }
run train node dist/cli/main.js train --config configs/quickstart.json --out "$work/run" --set train.steps=20 --set train.workers=2 --force
run e2e env SMOKE=1 node scripts/device/gpu-e2e.mjs "$work/e2e"
run bench node dist/bench/main.js --configs tiny --regimes init --workers 1,2 --no-data --no-loops --no-model
run benchgpu node dist/bench/main.js --backend webgpu --configs tiny --no-data
run wholegpu node dist/bench/main.js --whole-run --cases tiny --steps 4 --no-peer --backend webgpu

root=$PWD
cat "$trace"/t.* | grep -o '"[^"]*"' | tr -d '"' | sed "s#^$root/##" \
  | grep -E '^(node_modules|dist)/' | sort -u > "$trace/files"
# The package.json of every package a traced file lives in (module resolution reads them).
sed -nE 's#^(node_modules/(@[^/]+/)?[^/]+)/.*#\1/package.json#p' "$trace/files" | sort -u >> "$trace/files"
# All of dist/ (small) and the Dawn binary for Linux x64 whichever machine packs.
find dist -type f >> "$trace/files"
find node_modules/webgpu/dist/linux-x64 -type f >> "$trace/files" 2>/dev/null || true
sort -u "$trace/files" | while read -r f; do [ -f "$f" ] && echo "$f"; done > "$trace/list"
tar -cf - -T "$trace/list" package.json configs fixtures scripts/device | xz -T0 -6 > "$out/runtime.tar.xz"
xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
# The PyTorch peer for the same sitting on the GPU (the device machine has torch with CUDA).
peer=${SAE_SHARED:-../shared}/peers/torch_sae_device.py
if [ -f "$peer" ]; then cp "$peer" "$out/"; else echo "pack.sh: $peer not found: the GPU run will have no PyTorch peer" >&2; fi
# The CPU peer (torch_sae.py) for the worker scaling: the step bench finds it under $SAE_SHARED/peers.
cpu_peer=${SAE_SHARED:-../shared}/peers/torch_sae.py
if [ -f "$cpu_peer" ]; then mkdir -p "$out/peers" && cp "$cpu_peer" "$out/peers/"; else echo "pack.sh: $cpu_peer not found: the CPU scaling will show the quoted peer" >&2; fi
echo "packed $(wc -l < "$trace/list") files: $(du -h "$out/runtime.tar.xz" | cut -f1) runtime, $(du -h "$out/node.xz" | cut -f1) node ($(node --version))"
rm -rf "$trace" "$work"
