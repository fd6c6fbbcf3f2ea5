"""Names the Hetzner project, the cluster project, the manifests and the bootstrap share.

Each is a contract between layers (the node's registry mirror and the image references, the
cloud-init marker and the bootstrap's wait, ...): change one here and everywhere follows.
"""

from __future__ import annotations

from typing import Final

# Kubernetes namespaces.
NAMESPACE_PLATFORM: Final = "platform"  # Redpanda, Forgejo, the Actions runner
NAMESPACE_APPS: Final = "apps"  # ingest, reactor, executor, monitor, paper venue

# In-cluster Kafka (Redpanda) for the apps.
REDPANDA_SERVICE: Final = "redpanda"
REDPANDA_KAFKA_PORT: Final = 9092
KAFKA_BOOTSTRAP_IN_CLUSTER: Final = (
    f"{REDPANDA_SERVICE}.{NAMESPACE_PLATFORM}.svc.cluster.local:{REDPANDA_KAFKA_PORT}"
)

# Forgejo and its container registry.
FORGEJO_SERVICE: Final = "forgejo-http"
FORGEJO_HTTP_PORT: Final = 3000
FORGEJO_IN_CLUSTER_URL: Final = (
    f"http://{FORGEJO_SERVICE}.{NAMESPACE_PLATFORM}.svc.cluster.local:{FORGEJO_HTTP_PORT}"
)
# NodePort on which the node's containerd reaches Forgejo's registry (loopback, plain HTTP:
# traffic never leaves the node).
FORGEJO_REGISTRY_NODEPORT: Final = 30300
# The registry name image references use. k3s's registries.yaml (written by cloud-init)
# mirrors it to http://127.0.0.1:FORGEJO_REGISTRY_NODEPORT, so pods pull from the in-cluster
# Forgejo without any public DNS or TLS for the registry.
REGISTRY_HOST: Final = "registry.unrip.internal"
FORGEJO_ORG: Final = "unrip"
FORGEJO_REPO: Final = "unrip"
IMAGE_REPOSITORY: Final = f"{REGISTRY_HOST}/{FORGEJO_ORG}/unrip"

# The node's data volume (Hetzner volume, delete-protected) and what lives on it.
DATA_MOUNT: Final = "/var/lib/unrip-data"
LOCAL_PATH_STORAGE_DIR: Final = f"{DATA_MOUNT}/local-path-provisioner"
# cloud-init writes this file last; the bootstrap waits for it before fetching the kubeconfig.
BOOT_MARKER: Final = "/var/lib/unrip/boot-complete"
K3S_KUBECONFIG_PATH: Final = "/etc/rancher/k3s/k3s.yaml"
SSH_USER: Final = "root"
KUBE_API_PORT: Final = 6443
# The k3s release the Hetzner project installs, and so the Kubernetes version every manifest
# is validated against (strict schemas of exactly that minor).
K3S_VERSION: Final = "v1.36.4+k3s1"
KUBERNETES_MINOR: Final = K3S_VERSION[1:].rsplit(".", 1)[0]  # "1.36"

# --- cluster project (issue 5) ----------------------------------------------------------------
# Forgejo's one URL. Its registry sends clients to ROOT_URL for tokens, so the URL must work from
# the node (containerd, through the NodePort), from the runner pod (a loopback proxy there) and
# from the operator's workstation (`kubectl port-forward svc/forgejo-http 30300:3000`).
FORGEJO_LOOPBACK_HOST: Final = f"127.0.0.1:{FORGEJO_REGISTRY_NODEPORT}"
FORGEJO_ROOT_URL: Final = f"http://{FORGEJO_LOOPBACK_HOST}/"
# `runs-on:` of every workflow: jobs run in the runner pod (host mode), one job per fresh home.
FORGEJO_RUNNER_LABEL: Final = "unrip-host"
# The rollout's one identity (issue 14, docs/decisions.md "Rollout stays in main's hands"): the
# pull-based deploy agent runs in its own namespace under its own ServiceAccount, bound to the
# least-privilege `deployer` Role in apps. No workflow holds a cluster credential.
NAMESPACE_DEPLOY: Final = "deploy"
DEPLOY_AGENT: Final = "deploy-agent"  # its Deployment and ServiceAccount
DEPLOYER_ROLE: Final = "deployer"  # the Role (and its RoleBinding) in NAMESPACE_APPS
# The agent's credentials, written by the bootstrap's Forgejo step (values never in git or Pulumi):
# a read-only repository token for Forgejo, and the registry push credential.
DEPLOY_AGENT_SECRET: Final = "deploy-agent-credentials"  # noqa: S105 (a name)
DEPLOY_AGENT_SECRET_FORGEJO_TOKEN: Final = "forgejo-token"  # noqa: S105 (a key name)
DEPLOY_AGENT_SECRET_REGISTRY_USER: Final = "registry-user"  # noqa: S105 (a key name)
DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD: Final = "registry-password"  # noqa: S105 (a key name)
# Rootless BuildKit as a service of its own (platform namespace); only the agent reaches it.
BUILDKIT_SERVICE: Final = "buildkitd"
BUILDKIT_PORT: Final = 1234
BUILDKIT_IN_CLUSTER: Final = (
    f"tcp://{BUILDKIT_SERVICE}.{NAMESPACE_PLATFORM}.svc.cluster.local:{BUILDKIT_PORT}"
)

# --- delivery (issue 6) <-> bootstrap (issue 7) -------------------------------------------------
# Forgejo Actions secrets that older bootstraps created for the deploy workflow. No workflow
# may hold them any more (any branch could read them): the bootstrap deletes them when found.
RETIRED_ACTIONS_SECRETS: Final = (
    "UNRIP_DEPLOYER_TOKEN",
    "UNRIP_DEPLOYER_CA_CRT",
    "UNRIP_REGISTRY_USER",
    "UNRIP_REGISTRY_PASSWORD",
)
# The API server as seen from a pod (in-cluster).
KUBE_API_IN_CLUSTER: Final = "https://kubernetes.default.svc"
# Overlays under manifests/overlays/.
OVERLAY_PRODUCTION: Final = "hetzner-single-node"
OVERLAY_LOCAL: Final = "local"
# Production with live execution on NEAR Intents (operator-applied: the executor reads the key).
OVERLAY_PRODUCTION_LIVE: Final = "hetzner-single-node-live"
# The deploy script both the deploy agent and the bootstrap's direct apply run:
#   python ci/deploy.py --image <registry/repo@sha256:...> --overlay <name> [--timeout S]
# (kubeconfig from KUBECONFIG, or the deployer token/CA/server from the environment).
DEPLOY_SCRIPT: Final = "ci/deploy.py"

# --- delivery (issue 6): what manifests/ and the other layers agree on -------------------------
# Kubernetes Secrets in the apps namespace that the manifests reference by name and key only;
# the bootstrap creates them from the operator's secrets (values never enter git). A venue's
# Secret and keys are declared by the venue (unrip.venues.near_intents.secrets for these): the
# constants here are what the cluster's policies and the manifest tests read, and a test keeps
# them equal to the declaration.
APPS_SECRET_NEAR_INTENTS: Final = "near-intents"  # noqa: S105 (a name)
APPS_SECRET_NEAR_INTENTS_JWT_KEY: Final = "jwt"  # noqa: S105 (a key name)
# The reactor's and executor's shared command MAC key (UNRIP_COMMAND_SIGNING_KEY; issue 14):
# generated at random by the bootstrap when missing, never in git.
APPS_SECRET_COMMAND_SIGNING: Final = "command-signing"  # noqa: S105 (a name)
APPS_SECRET_COMMAND_SIGNING_KEY: Final = "key"  # noqa: S105 (a key name)
# The archiver's object storage (optional; manifests/base/archiver reads its keys as
# UNRIP_ARCHIVER_URI, _S3_ENDPOINT, _S3_REGION, _S3_ACCESS_KEY, _S3_SECRET_KEY).
APPS_SECRET_ARCHIVE_STORAGE: Final = "archive-storage"  # noqa: S105 (a name)
# Pods with this label (value "true") may open connections to the public internet on 443 (the
# cluster project's venue egress rule); in the apps only the ingest carries it.
VENUE_EGRESS_LABEL: Final = "unrip.io/venue-egress"
# The reactor reads its strategy and risk limits from this ConfigMap (key below) through the
# API; `kubectl apply` of a change takes effect within a second.
REACTOR_STRATEGY_CONFIGMAP: Final = "reactor-strategy"
REACTOR_STRATEGY_KEY: Final = "strategy.yaml"
# The apps' UID/GID (apps/Dockerfile's user and the manifests' securityContext).
APPS_UID: Final = 10001

# --- bootstrap (issue 7) ------------------------------------------------------------------------
# Further keys of APPS_SECRET_NEAR_INTENTS, written by the bootstrap only when the operator
# supplies venue keys (venue-keys.yaml, declared by the venue): a manifest that runs the live venue
# maps them to UNRIP_NEAR_INTENTS_SOLVER_ACCOUNT_ID and UNRIP_NEAR_INTENTS_SIGNING_KEY.
APPS_SECRET_NEAR_INTENTS_SOLVER_ACCOUNT_KEY: Final = "solver_account_id"  # noqa: S105 (a key)
APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY: Final = "signing_key"  # noqa: S105 (a key name)

# --- bus authentication (issue 14) -------------------------------------------------------------
# Each Kafka client's own SCRAM credential, one Secret per service in the apps namespace (the
# cluster project generates and writes them; unrip_platform.cluster.bus_access): the
# manifests map its two keys to UNRIP_KAFKA_SASL_USERNAME and UNRIP_KAFKA_SASL_PASSWORD.
BUS_SECRET_PREFIX: Final = "bus-"  # noqa: S105 (a name prefix: bus-reactor, bus-executor, ...)
BUS_SECRET_USERNAME_KEY: Final = "username"  # noqa: S105 (a key name)
BUS_SECRET_PASSWORD_KEY: Final = "password"  # noqa: S105 (a key name)
# The one SASL mechanism the brokers' users are created with and the clients use.
BUS_SASL_MECHANISM: Final = "SCRAM-SHA-256"


def bus_secret(service: str) -> str:
    """The Secret holding ``service``'s bus credential (``bus-<service>``)."""
    return f"{BUS_SECRET_PREFIX}{service}"
