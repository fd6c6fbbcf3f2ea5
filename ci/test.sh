#!/bin/sh
# The test command as CI runs it, anywhere: the tools the checks need, then .ci/run
# (lint, unit, integration on a real broker, the offline platform and delivery checks).
set -eu
cd "$(dirname "$0")/.."
if ! command -v kubectl >/dev/null 2>&1; then
    PATH="$(ci/install-kubectl.sh):$PATH"
    export PATH
fi
exec .ci/run
