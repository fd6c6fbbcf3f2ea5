# The deploy agent's tools, built by BuildKit from main's own pinned files and exported as plain
# files into the agent's pod (platform/unrip_platform/cluster/agent.py):
#   buildctl build --frontend dockerfile.v0 --local context=ci --local dockerfile=ci \
#       --opt filename=agent-tools.Dockerfile --output type=local,dest=/opt/agent/env
# site/: ci/requirements.txt (hash-locked: httpx for agent.py, PyYAML for deploy.py), on the
# agent's PYTHONPATH; bin/kubectl: the sha256-pinned release of ci/install-kubectl.sh.
# The base is the agent's own image (settings.JOB_IMAGE; tested equal), so the packages match
# its Python. Only BuildKit downloads: the agent's pod has no internet egress.
FROM python:3.11.13-bookworm AS tools
COPY requirements.txt install-kubectl.sh /src/
RUN python3 -m pip install --no-cache-dir --disable-pip-version-check --no-deps \
        --require-hashes --target /out/site -r /src/requirements.txt
RUN dir=$(UNRIP_TOOLS_DIR=/tmp/tools sh /src/install-kubectl.sh) \
    && mkdir -p /out/bin && cp "$dir/kubectl" /out/bin/kubectl

FROM scratch
COPY --from=tools /out/ /
