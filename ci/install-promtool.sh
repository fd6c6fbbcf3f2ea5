#!/bin/sh
# Install promtool (Debian's `prometheus` package) for the alert-rule tests
# (tests/platform/monitoring): `promtool check rules` and `promtool test rules` run offline.
# Idempotent: does nothing when promtool is already on PATH. Installing needs root (or
# passwordless sudo) and a Debian/Ubuntu machine; the package starts no daemon in containers.
set -eu
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-promtool: no apt-get here; install Prometheus' promtool (2.42+) and put it on PATH" >&2
    exit 2
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "install-promtool: needs root to run apt-get (or install the 'prometheus' package yourself)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq >&2
$as_root apt-get install -y -qq --no-install-recommends prometheus >&2
if ! command -v promtool >/dev/null 2>&1; then
    echo "install-promtool: the prometheus package installed no promtool on PATH" >&2
    exit 1
fi
echo "install-promtool: $(promtool --version 2>&1 | head -n 1)" >&2
