#!/usr/bin/env bash
# The main job: build the bundled examples with sealer, offline, and look at the result.
#  - a local docker-registry stands in for docker.io and holds small stand-in images under the
#    names the example manifests use;
#  - the dashboard manifest is served from 127.0.0.1 for the example's `RUN wget`;
#  - the build observes `kubectl apply` on its embedded build cluster and embeds what it saw.
set -euo pipefail
cd "$(dirname "$0")/.."
tools_bin=$(scripts/setup.sh)
export PATH="$tools_bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sealer-rs-target}"
cargo build --release -p sealer-cli >&2
SEALER="$CARGO_TARGET_DIR/release/sealer"
WORK=$(mktemp -d)
ROOT="${SEALER_DEMO_ROOT:-$WORK/store}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "demo: $1 did not come up" >&2; return 1; }
echo "demo: store $ROOT, scratch $WORK" >&2

# A local upstream registry standing in for docker.io.
reg_port=$(free_port)
mkdir -p "$WORK/registry"
cat > "$WORK/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $WORK/registry}}
http: {addr: 127.0.0.1:$reg_port}
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$reg_port/v2/"
for image in kubernetesui/dashboard:v2.2.0 kubernetesui/metrics-scraper:v1.0.6 library/nginx:1.25 library/mysql:8.0; do
  ctx="$WORK/standin-${image//[\/:]/_}"; mkdir -p "$ctx"
  echo "stand-in for $image" > "$ctx/marker"; printf 'FROM scratch\nCOPY marker etc/\n' > "$ctx/Kubefile"
  "$SEALER" --root "$WORK/publisher" build --cluster none --progress plain -t "127.0.0.1:$reg_port/$image" "$ctx" >/dev/null 2>"$WORK/publish.log"
  "$SEALER" --root "$WORK/publisher" push "127.0.0.1:$reg_port/$image" >/dev/null
done
ENDPOINT="docker.io=http://127.0.0.1:$reg_port"

# 1. a small base cluster image (stand-in Kubernetes rootfs)
"$SEALER" --root "$ROOT" build --progress plain -t demo/kubernetes:v1.25.0 examples/base >&2

# 2. the classic dashboard example: RUN wget the manifest, CMD kubectl apply it
http_port=$(free_port)
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory examples/dashboard/served >/dev/null 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$http_port/recommended.yaml"
"$SEALER" --root "$ROOT" build --progress plain --registry-endpoint "$ENDPOINT" \
  --build-arg DASHBOARD_URL="http://127.0.0.1:$http_port/recommended.yaml" \
  --report "$WORK/dashboard-report.json" -t demo/dashboard:v2.2.0 examples/dashboard >&2

# 3. an app image with APP / APPCMDS / APPENV / LAUNCH (kube, helm and shell apps)
"$SEALER" --root "$ROOT" build --progress plain --registry-endpoint "$ENDPOINT" \
  --type app-installer -t demo/apps:v1 examples/app-image >&2

echo "== sealer images"
"$SEALER" --root "$ROOT" images
echo "== demo/dashboard:v2.2.0: launch and the container images observed and embedded"
"$SEALER" --root "$ROOT" inspect demo/dashboard:v2.2.0 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({"launch": d["imageExtension"]["launch"], "containerImageList": d["containerImageList"]}, indent=2))'
echo "== discovery report (provenance of each image)"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); [print(i["reference"], i["confidence"], i["provenance"][0].get("object","")) for i in r["images"]]' "$WORK/dashboard-report.json"
echo "== demo/apps:v1: applications"
"$SEALER" --root "$ROOT" inspect demo/apps:v1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps(d["imageExtension"]["applications"], indent=1)); print([i["image"] for i in d["containerImageList"]])'
echo "== the store is an OCI layout that skopeo reads"
skopeo inspect "oci:$ROOT:docker.io/demo/dashboard:v2.2.0" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Digest"], len(d["Layers"]), "layers")'
"$SEALER" --root "$ROOT" fsck >&2
echo "== offline: upstream stopped; the image's embedded registry serves what it embedded"
kill "${pids[0]}" 2>/dev/null || true
serve_port=$(free_port)
"$SEALER" --root "$ROOT" registry serve --image demo/dashboard:v2.2.0 --addr "127.0.0.1:$serve_port" 2>"$WORK/serve.log" & pids+=($!)
wait_http "http://127.0.0.1:$serve_port/v2/"
skopeo inspect --tls-verify=false "docker://127.0.0.1:$serve_port/docker.io/kubernetesui/dashboard:v2.2.0" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Name"], d["Digest"])'
