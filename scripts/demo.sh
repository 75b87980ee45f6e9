#!/usr/bin/env bash
# The main job: build the bundled examples with sealer and look at the result.
# Offline: the dashboard manifest is served from 127.0.0.1 by a throwaway HTTP server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sealer-rs-target}"
cargo build --release -p sealer-cli >&2
SEALER="$CARGO_TARGET_DIR/release/sealer"
ROOT="${SEALER_DEMO_ROOT:-$(mktemp -d)/store}"
echo "demo: store at $ROOT" >&2

# 1. a small base cluster image (stand-in Kubernetes rootfs)
"$SEALER" --root "$ROOT" build -t demo/kubernetes:v1.25.0 examples/base >&2

# 2. the seeds' dashboard example: RUN wget the manifest, CMD kubectl apply it
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory examples/dashboard/served >/dev/null 2>&1 &
http_pid=$!
trap 'kill $http_pid 2>/dev/null || true' EXIT
sleep 0.5
"$SEALER" --root "$ROOT" build -t demo/dashboard:v2.2.0 \
  --build-arg DASHBOARD_URL="http://127.0.0.1:$port/recommended.yaml" examples/dashboard >&2

# 3. an app image with APP / APPCMDS / LAUNCH
"$SEALER" --root "$ROOT" build --type app-installer -t demo/apps:v1 examples/app-image >&2

echo "== sealer images" >&2
"$SEALER" --root "$ROOT" images
echo "== sealer inspect demo/dashboard:v2.2.0 (imageExtension)" >&2
"$SEALER" --root "$ROOT" inspect demo/dashboard:v2.2.0 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["imageExtension"], indent=2))'
echo "== sealer inspect demo/apps:v1 (imageExtension)" >&2
"$SEALER" --root "$ROOT" inspect demo/apps:v1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["imageExtension"], indent=2))'
echo "== the store is an OCI layout: skopeo reads it" >&2
skopeo inspect "oci:$ROOT:docker.io/demo/dashboard:v2.2.0" | head -n 20
"$SEALER" --root "$ROOT" fsck >&2
