"""Redpanda: a StatefulSet on local-path storage, production mode, one pod now, replicas later.

Production mode means: ``developer_mode: false`` and no ``--mode dev-container`` (which would
bypass fsync), topic auto-creation off (topics come only from the catalogue), and memory/CPU
given to Seastar explicitly so it never sizes itself from the node. ``--overprovisioned`` only
stops Seastar pinning threads and busy-polling, which shared-vCPU servers require; it does not
relax durability.

Authenticated (docs/security.md, "The bus"): the one Kafka listener takes SASL/SCRAM only and
authorization is on, so a client is its SCRAM user and may do exactly what its ACLs allow
(``bus_acls``, created by the bus-access Job). The superuser, whose password is a generated
Secret, is created by Redpanda itself when the cluster first forms (``RP_BOOTSTRAP_USER``);
the Admin API requires it too (``admin_api_require_auth``), except for the readiness and
metrics endpoints the probes and Prometheus use.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from unrip_platform import names
from unrip_platform.cluster.common import (
    SMALL,
    Manifest,
    config_map,
    container_security_context,
    content_hash,
    empty_dir,
    http_probe,
    labels,
    metadata,
    mount,
    pod_security_context,
    resources,
    secret,
    selector,
    service_account,
    tcp_probe,
)
from unrip_platform.cluster.namespaces import REDPANDA_ADMIN_PORT, REDPANDA_APP, REDPANDA_RPC_PORT
from unrip_platform.cluster.secret_values import PLACEHOLDERS, PlatformSecrets
from unrip_platform.cluster.settings import ClusterSettings, RedpandaSettings, Resources

NS: Final = names.NAMESPACE_PLATFORM
COMPONENT: Final = "event-bus"
HEADLESS_SERVICE: Final = "redpanda-internal"
CONFIG_MAP: Final = "redpanda"
REDPANDA_UID: Final = 101  # the image's redpanda user
DATA_DIR: Final = "/var/lib/redpanda"
CONFIG_DIR: Final = "/etc/redpanda"
# Share of the container's memory handed to Seastar (--memory); rpk and the kernel need the rest.
SEASTAR_MEMORY_SHARE: Final = 0.8
# The superuser: creates the SCRAM users and ACLs (bus-access Job) and nothing else; no
# service connects as it. Not an ``unrip-`` name, so it is never taken for a service's user.
SUPERUSER: Final = "redpanda-superuser"
SUPERUSER_SECRET: Final = "redpanda-superuser"  # noqa: S105 (a name)


def rpk_auth_env(username: str, secret_name: str) -> list[dict[str, Any]]:
    """rpk's own variables for SASL (Kafka API) and basic auth (Admin API): the password comes
    from the Secret's ``password`` key, so it never appears in a manifest or a command line."""
    return [
        {"name": "RPK_USER", "value": username},
        {
            "name": "RPK_PASS",
            "valueFrom": {
                "secretKeyRef": {"name": secret_name, "key": names.BUS_SECRET_PASSWORD_KEY}
            },
        },
        {"name": "RPK_SASL_MECHANISM", "value": names.BUS_SASL_MECHANISM},
    ]


SCRIPT_DIR: Final = "/scripts"


def rpk_script_job(
    settings: ClusterSettings,
    *,
    app: str,
    name: str,
    container: str,
    script_key: str,
    script: str,
    env: list[dict[str, Any]],
) -> list[Manifest]:
    """A bash ``script`` run once by rpk in the Redpanda image (the apps' image may not exist
    yet): its ServiceAccount (no token), the script as a ConfigMap, and a hardened Job named
    ``name`` (callers put a content hash in it, so a changed script runs again)."""
    return [
        service_account(app, NS, COMPONENT),
        config_map(name, NS, COMPONENT, {script_key: script}),
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata(name, NS, COMPONENT, label_name=app),
            "spec": {
                "backoffLimit": 4,
                "activeDeadlineSeconds": 900,
                "template": {
                    "metadata": {"labels": labels(app, COMPONENT)},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": app,
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(REDPANDA_UID),
                        "containers": [
                            {
                                "name": container,
                                "image": settings.images.redpanda,
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["/bin/bash", f"{SCRIPT_DIR}/{script_key}"],
                                "env": env,
                                "securityContext": container_security_context(),
                                "resources": resources(SMALL),
                                "volumeMounts": [
                                    mount("script", SCRIPT_DIR, read_only=True),
                                    mount("tmp", "/tmp"),  # noqa: S108
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "script", "configMap": {"name": name}},
                            empty_dir("tmp", "16Mi"),
                        ],
                    },
                },
            },
        },
    ]


def pod_fqdn(ordinal: int) -> str:
    return f"{REDPANDA_APP}-{ordinal}.{HEADLESS_SERVICE}.{NS}.svc.cluster.local"


def replication_factor(replicas: int) -> int:
    return min(replicas, 3)


def node_config(settings: RedpandaSettings) -> dict[str, Any]:
    """redpanda.yaml: listeners and the seed list (every replica, so they form one cluster)."""
    return {
        "redpanda": {
            "data_directory": f"{DATA_DIR}/data",
            "empty_seed_starts_cluster": False,
            "seed_servers": [
                {"host": {"address": pod_fqdn(i), "port": REDPANDA_RPC_PORT}}
                for i in range(settings.replicas)
            ],
            "rpc_server": {"address": "0.0.0.0", "port": REDPANDA_RPC_PORT},  # noqa: S104
            "kafka_api": [
                {
                    "address": "0.0.0.0",  # noqa: S104
                    "port": names.REDPANDA_KAFKA_PORT,
                    "name": "internal",
                    # SASL (SCRAM) is the only way in on the one listener.
                    "authentication_method": "sasl",
                }
            ],
            "admin": [{"address": "0.0.0.0", "port": REDPANDA_ADMIN_PORT}],  # noqa: S104
            "developer_mode": False,
        },
        "rpk": {"coredump_dir": f"{DATA_DIR}/coredump"},
    }


def bootstrap_config(settings: RedpandaSettings) -> dict[str, Any]:
    """.bootstrap.yaml: cluster properties applied when the cluster first forms."""
    return {
        "auto_create_topics_enabled": False,
        "default_topic_replications": replication_factor(settings.replicas),
        "unsafe_bypass_fsync": False,
        # Consumer-group lag on /public_metrics (the monitoring stack's ConsumerLagGrowing).
        # Bootstrap properties apply when a cluster forms; an existing one needs
        # `rpk cluster config set enable_consumer_group_metrics` (docs/platform-cluster.md).
        "enable_consumer_group_metrics": ["group", "partition", "consumer_lag"],
        # Authentication and authorization from the first start. Like every bootstrap
        # property these apply when a cluster forms; docs/platform-cluster.md says how to turn
        # them on for a cluster formed before.
        "enable_sasl": True,
        "sasl_mechanisms": ["SCRAM"],
        "kafka_enable_authorization": True,
        "superusers": [SUPERUSER],
        "admin_api_require_auth": True,
    }


def start_args(settings: RedpandaSettings) -> list[str]:
    memory = int(settings.memory_mib * SEASTAR_MEMORY_SHARE)
    fqdn = f"$(POD_NAME).{HEADLESS_SERVICE}.{NS}.svc.cluster.local"
    return [
        "redpanda",
        "start",
        f"--config={CONFIG_DIR}/redpanda.yaml",
        f"--smp={settings.cores}",
        f"--memory={memory}M",
        "--reserve-memory=0M",
        "--overprovisioned",
        # The tuner checks need root on the host; the node is prepared by the Hetzner project.
        "--check=false",
        f"--advertise-kafka-addr=internal://{fqdn}:{names.REDPANDA_KAFKA_PORT}",
        f"--advertise-rpc-addr={fqdn}:{REDPANDA_RPC_PORT}",
        "--default-log-level=info",
    ]


def _configs(settings: RedpandaSettings) -> dict[str, str]:
    return {
        "redpanda.yaml": yaml.safe_dump(node_config(settings), sort_keys=True),
        ".bootstrap.yaml": yaml.safe_dump(bootstrap_config(settings), sort_keys=True),
    }


def services() -> list[Manifest]:
    ports = [
        {"name": "kafka", "port": names.REDPANDA_KAFKA_PORT, "targetPort": "kafka"},
        {"name": "admin", "port": REDPANDA_ADMIN_PORT, "targetPort": "admin"},
    ]
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(names.REDPANDA_SERVICE, NS, COMPONENT, label_name=REDPANDA_APP),
            "spec": {"type": "ClusterIP", "selector": selector(REDPANDA_APP), "ports": ports},
        },
        {
            # Per-pod DNS names for the advertised addresses and the seed list; not-ready pods
            # must resolve too, or a restarting cluster could never find its seeds.
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(HEADLESS_SERVICE, NS, COMPONENT, label_name=REDPANDA_APP),
            "spec": {
                "clusterIP": "None",
                "publishNotReadyAddresses": True,
                "selector": selector(REDPANDA_APP),
                "ports": [*ports, {"name": "rpc", "port": REDPANDA_RPC_PORT, "targetPort": "rpc"}],
            },
        },
    ]


def superuser_secret(secrets: PlatformSecrets) -> Manifest:
    return secret(
        SUPERUSER_SECRET,
        NS,
        COMPONENT,
        {
            names.BUS_SECRET_USERNAME_KEY: SUPERUSER,
            names.BUS_SECRET_PASSWORD_KEY: secrets.bus_superuser_password,
        },
    )


def statefulset(settings: ClusterSettings) -> Manifest:
    rp = settings.redpanda
    configs = _configs(rp)
    limits = Resources(
        cpu_request=str(rp.cores),
        cpu_limit=str(rp.cores),
        memory_request=f"{rp.memory_mib}Mi",
        memory_limit=f"{rp.memory_mib}Mi",
    )
    copy_config = (
        f"cp /config-template/redpanda.yaml /config-template/.bootstrap.yaml {CONFIG_DIR}/"
    )
    pod_labels = labels(REDPANDA_APP, COMPONENT)
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(REDPANDA_APP, NS, COMPONENT),
        "spec": {
            "serviceName": HEADLESS_SERVICE,
            "replicas": rp.replicas,
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": selector(REDPANDA_APP)},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {"unrip.io/config-hash": content_hash(*configs.values())},
                },
                "spec": {
                    "serviceAccountName": REDPANDA_APP,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(REDPANDA_UID),
                    # Leadership transfer and a clean flush before the pod goes.
                    "terminationGracePeriodSeconds": 120,
                    "initContainers": [
                        {
                            # rpk rewrites redpanda.yaml on start, so it lives in a writable copy.
                            "name": "config",
                            "image": settings.images.redpanda,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/bin/bash", "-c", copy_config],
                            "securityContext": container_security_context(),
                            "resources": resources(
                                Resources(
                                    cpu_request="10m",
                                    cpu_limit="100m",
                                    memory_request="16Mi",
                                    memory_limit="64Mi",
                                )
                            ),
                            "volumeMounts": [
                                mount("config-template", "/config-template", read_only=True),
                                mount("config", CONFIG_DIR),
                            ],
                        }
                    ],
                    "containers": [
                        {
                            "name": "redpanda",
                            "image": settings.images.redpanda,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["rpk"],
                            "args": start_args(rp),
                            "env": [
                                {
                                    "name": "POD_NAME",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                },
                                {"name": "HOME", "value": DATA_DIR},
                                # rpk in this container (kubectl exec) acts as the superuser;
                                # Redpanda creates that user when the cluster first forms.
                                *rpk_auth_env(SUPERUSER, SUPERUSER_SECRET),
                                {
                                    "name": "RP_BOOTSTRAP_USER",
                                    "value": "$(RPK_USER):$(RPK_PASS):$(RPK_SASL_MECHANISM)",
                                },
                            ],
                            "ports": [
                                {"name": "kafka", "containerPort": names.REDPANDA_KAFKA_PORT},
                                {"name": "admin", "containerPort": REDPANDA_ADMIN_PORT},
                                {"name": "rpc", "containerPort": REDPANDA_RPC_PORT},
                            ],
                            "securityContext": container_security_context(),
                            "resources": resources(limits),
                            "startupProbe": http_probe(
                                "/v1/status/ready", "admin", period=5, failures=120
                            ),
                            "readinessProbe": http_probe("/v1/status/ready", "admin"),
                            # Liveness only asks "is the process serving": a broker that lost its
                            # peers must not be restarted for it.
                            "livenessProbe": tcp_probe("admin", period=15, failures=4),
                            "volumeMounts": [
                                mount("datadir", DATA_DIR),
                                mount("config", CONFIG_DIR),
                                mount("tmp", "/tmp"),  # noqa: S108
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config-template", "configMap": {"name": CONFIG_MAP}},
                        empty_dir("config", "16Mi"),
                        empty_dir("tmp", "256Mi"),
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "datadir", "labels": selector(REDPANDA_APP)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": settings.storage_class,
                        "resources": {"requests": {"storage": rp.storage}},
                    },
                }
            ],
        },
    }


def redpanda_manifests(
    settings: ClusterSettings, secrets: PlatformSecrets = PLACEHOLDERS
) -> list[Manifest]:
    return [
        service_account(REDPANDA_APP, NS, COMPONENT),
        superuser_secret(secrets),
        config_map(CONFIG_MAP, NS, COMPONENT, _configs(settings.redpanda)),
        *services(),
        statefulset(settings),
    ]
