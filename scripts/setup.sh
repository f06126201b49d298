#!/usr/bin/env bash
# Installs what a fresh machine lacks for the gateway and its tests, then stops: Debian packages
# (C libraries LiveKit SIP builds against, sipp, Redis), the npm dependencies, and the pinned
# LiveKit and versitygw binaries (built with Go into ~/.cache/voice-gateway, outside the repository).
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libopus-dev libopusfile-dev libsoxr-dev sip-tester redis-server coturn chromium espeak-ng sox iptables nginx-light libnginx-mod-stream kamailio ffmpeg faketime baresip-core)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # nginx, coturn and kamailio are used by the tests on loopback only: do not leave the
  # distribution's default services listening on every interface.
  for service in nginx coturn kamailio; do
    if [[ " ${missing[*]} " == *" $service"* ]] || [[ " ${missing[*]} " == *" nginx-light "* && $service == nginx ]]; then
      (systemctl disable --now "$service" || service "$service" stop) >/dev/null 2>&1 || true
    fi
  done
fi

command -v go >/dev/null || { echo "setup: Go is needed to build livekit-server and livekit-sip" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "setup: Node.js 20 or newer is needed (found $(node -v))" >&2; exit 1; }

# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  # onnxruntime-node (Silero VAD) would download CUDA files in its postinstall and fail offline;
  # the CPU runtime it needs ships inside the package.
  export ONNXRUNTIME_NODE_INSTALL=skip
  npm ci --no-audit --no-fund
fi

npm run --silent livekit:install
# versitygw: the S3-compatible server the recordings tests store to (Apache-2.0, built with Go).
npx --no-install tsx scripts/install-versitygw.ts

# The deploy-files test: Helm (lint and render the chart) and compose-check (docker-compose.yml
# through compose-go, the Compose specification's own loader), both built with Go.
bin="${HOME}/.cache/voice-gateway/bin"
if [[ ! -x "$bin/helm" ]] || ! "$bin/helm" version --short 2>/dev/null | grep -q '^v3\.22'; then
  echo "setup: building helm v3.22.0"
  GOBIN="$bin" go install helm.sh/helm/v3/cmd/helm@v3.22.0
fi
if [[ ! -x "$bin/compose-check" || scripts/compose-check/go.sum -nt "$bin/compose-check" || scripts/compose-check/main.go -nt "$bin/compose-check" ]]; then
  echo "setup: building compose-check"
  (cd scripts/compose-check && go build -o "$bin/compose-check" .)
fi
