#!/usr/bin/env bash
# Download (not install) the Vulkan/EGL loader packages a bare GPU machine lacks into .gl/
# (git-ignored); gpu-bench.sh unpacks them there. Needs Debian's apt; run once, here.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gl/' "$(git rev-parse --git-path info/exclude)" 2>/dev/null || echo '/.gl/' >> "$(git rev-parse --git-path info/exclude)"
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update >/dev/null
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
ls -la .gl
