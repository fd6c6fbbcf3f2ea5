#!/bin/sh
# Install the pinned kubectl (official release binary, checked against its sha256) for CI jobs:
# the runner's job image has none. Prints the directory to put on PATH. Idempotent.
#   dir=$(ci/install-kubectl.sh) && PATH="$dir:$PATH"
# The version stays within one minor of the cluster's (names.KUBERNETES_MINOR; tested).
set -eu
version=v1.36.4
sha256=8b8f088da2dab964f853b38464033b1be15ede2839eca751482357c45abdd05a  # linux/amd64
base_url=${UNRIP_KUBECTL_BASE_URL:-https://dl.k8s.io/release}
tools=${UNRIP_TOOLS_DIR:-${HOME}/.cache/unrip-tools}
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "install-kubectl: only linux/amd64 is pinned (this is $(uname -s)/$(uname -m))" >&2; exit 2 ;;
esac
bin_dir="$tools/kubectl-$version"
target="$bin_dir/kubectl"
if [ -x "$target" ] && echo "$sha256  $target" | sha256sum --check --status; then
    echo "$bin_dir"
    exit 0
fi
mkdir -p "$bin_dir"
partial=$(mktemp "$bin_dir/kubectl.XXXXXX")
trap 'rm -f "$partial"' EXIT
curl --fail --silent --show-error --location --retry 3 --output "$partial" \
    "$base_url/$version/bin/linux/amd64/kubectl"
if ! echo "$sha256  $partial" | sha256sum --check --status; then
    echo "install-kubectl: checksum mismatch for kubectl $version; not installed" >&2
    exit 1
fi
chmod 0755 "$partial"
mv "$partial" "$target"
echo "install-kubectl: kubectl $version installed" >&2
echo "$bin_dir"
