"""Forgejo with its container registry and Actions, configured with no step in the web UI.

An init container prepares everything before the server starts, idempotently on every start:
it migrates the database and creates (or re-passwords) the admin account from the
Pulumi-generated secret. A sidecar registers the runner's shared secret
(``forgejo-cli actions register``) scoped to the one repository, so the runner takes no job of
any other repository: the repository exists only once the bootstrap's Forgejo step created it,
so the sidecar retries until it does, then idles. Secrets reach Forgejo as files
(``*_URI = file:``), never as environment variables.

ROOT_URL is ``http://127.0.0.1:30300/`` (``names.FORGEJO_ROOT_URL``): Forgejo's registry tells
clients to fetch tokens from ROOT_URL, and that one address works on the node (NodePort), in
the runner pod (a loopback proxy) and on the operator's workstation (a port-forward).
"""

from __future__ import annotations

import configparser
import io
import shlex
from collections.abc import Mapping
from typing import Final

from unrip_platform import names
from unrip_platform.cluster.common import (
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
)
from unrip_platform.cluster.namespaces import FORGEJO_APP
from unrip_platform.cluster.secret_values import PlatformSecrets
from unrip_platform.cluster.settings import ClusterSettings, Resources

NS: Final = names.NAMESPACE_PLATFORM
COMPONENT: Final = "forge"
FORGEJO_UID: Final = 1000  # the rootless image's git user
WORK_DIR: Final = "/var/lib/gitea"
APP_INI: Final = "/etc/gitea/app.ini"
SECRETS_DIR: Final = "/etc/forgejo/secrets"
RUNNER_SECRET_DIR: Final = "/etc/forgejo/runner"  # noqa: S105 (a path)
CONFIG_MAP: Final = "forgejo-config"
SECRETS: Final = "forgejo-secrets"
RUNNER_SECRET: Final = "forgejo-runner-secret"  # noqa: S105 (a name)
DATA_CLAIM: Final = "forgejo-data"
REGISTRY_SERVICE: Final = "forgejo-registry"


def app_ini_sections() -> dict[str, dict[str, str]]:
    """app.ini as data ("" is the top-level section)."""
    return {
        "": {
            "APP_NAME": "unrip forge",
            "RUN_MODE": "prod",
            "RUN_USER": "git",
            "WORK_PATH": WORK_DIR,
        },
        "server": {
            "PROTOCOL": "http",
            "HTTP_ADDR": "0.0.0.0",  # noqa: S104
            "HTTP_PORT": str(names.FORGEJO_HTTP_PORT),
            "DOMAIN": "127.0.0.1",
            "ROOT_URL": names.FORGEJO_ROOT_URL,
            "DISABLE_SSH": "true",
            "START_SSH_SERVER": "false",
            "OFFLINE_MODE": "true",
            "LFS_START_SERVER": "false",
            "APP_DATA_PATH": f"{WORK_DIR}/data",
        },
        "database": {
            "DB_TYPE": "sqlite3",
            "PATH": f"{WORK_DIR}/data/forgejo.db",
            "SQLITE_JOURNAL_MODE": "WAL",
        },
        "repository": {"ROOT": f"{WORK_DIR}/git/repositories", "DEFAULT_BRANCH": "main"},
        "security": {
            "INSTALL_LOCK": "true",
            "SECRET_KEY_URI": f"file:{SECRETS_DIR}/secret-key",
            "INTERNAL_TOKEN_URI": f"file:{SECRETS_DIR}/internal-token",
        },
        # Also signs Actions' job tokens, so it must survive restarts: never let Forgejo invent it.
        "oauth2": {"JWT_SECRET_URI": f"file:{SECRETS_DIR}/jwt-secret"},
        "service": {
            "DISABLE_REGISTRATION": "true",
            # Anonymous reads let the node's containerd pull public images without credentials;
            # only the cluster and a port-forward can reach Forgejo at all.
            "REQUIRE_SIGNIN_VIEW": "false",
            "DEFAULT_KEEP_EMAIL_PRIVATE": "true",
        },
        "packages": {"ENABLED": "true"},
        "actions": {"ENABLED": "true"},
        "log": {"MODE": "console", "LEVEL": "Info", "ROOT_PATH": f"{WORK_DIR}/log"},
        "cron.update_checker": {"ENABLED": "false"},
        # /metrics for the in-cluster Prometheus (counts of repos, users, actions; no secrets).
        "metrics": {"ENABLED": "true"},
        "mailer": {"ENABLED": "false"},
    }


def render_ini(sections: Mapping[str, Mapping[str, str]]) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep Forgejo's key case
    out = io.StringIO()
    for key, value in sections.get("", {}).items():
        out.write(f"{key} = {value}\n")
    out.write("\n")
    for name, values in sections.items():
        if name:
            parser[name] = dict(values)
    parser.write(out)
    return out.getvalue()


RUNNER_SCOPE: Final = f"{names.FORGEJO_ORG}/{names.FORGEJO_REPO}"
REGISTER_RETRY_S: Final = 20
# forgejo-cli opens the database and loads the whole binary: more than a shell needs.
REGISTER_RESOURCES: Final = Resources(
    cpu_request="10m", cpu_limit="500m", memory_request="32Mi", memory_limit="256Mi"
)


def register_runner_script(settings: ClusterSettings) -> str:
    """The sidecar's script: register the runner to the repository (idempotent; an earlier
    instance-wide registration of the same secret is moved to the repository), then idle."""
    runner = shlex.quote(settings.runner.name)
    label = shlex.quote(names.FORGEJO_RUNNER_LABEL)
    scope = shlex.quote(RUNNER_SCOPE)
    return "\n".join(
        [
            "set -u",
            f"until forgejo forgejo-cli actions register --scope {scope} --name {runner} "
            f"--labels {label} --secret-file {RUNNER_SECRET_DIR}/runner-secret >/dev/null; do",
            f'  echo "runner not registered: repository {RUNNER_SCOPE} missing? retrying"',
            f"  sleep {REGISTER_RETRY_S}",
            "done",
            f'echo "runner registered to {RUNNER_SCOPE} only"',
            "while :; do sleep 3600; done",
        ]
    )


def configure_script(settings: ClusterSettings) -> str:
    """The init container's script: idempotent, safe to run before every start."""
    user = shlex.quote(settings.forgejo.admin_username)
    email = shlex.quote(settings.forgejo.admin_email)
    return "\n".join(
        [
            "set -eu",
            f"cp /config-template/app.ini {APP_INI}",
            "forgejo migrate",
            f"password=$(cat {SECRETS_DIR}/admin-password)",
            f"if forgejo admin user list --admin | awk 'NR > 1 {{ print $2 }}' | grep -Fxq {user}",
            "then",
            f"  forgejo admin user change-password --username {user} "
            '--password "$password" --must-change-password=false',
            "else",
            f"  forgejo admin user create --admin --username {user} --email {email} "
            '--password "$password" --must-change-password=false',
            "fi",
        ]
    )


def _env() -> list[dict[str, str]]:
    return [
        {"name": "GITEA_APP_INI", "value": APP_INI},
        {"name": "GITEA_WORK_DIR", "value": WORK_DIR},
        {"name": "GITEA_CUSTOM", "value": f"{WORK_DIR}/custom"},
        {"name": "GITEA_TEMP", "value": "/tmp/gitea"},  # noqa: S108
        {"name": "TMPDIR", "value": "/tmp/gitea"},  # noqa: S108
        {"name": "HOME", "value": f"{WORK_DIR}/git"},
    ]


def _mounts() -> list[dict[str, object]]:
    return [
        mount("data", WORK_DIR),
        mount("config", "/etc/gitea"),
        mount("tmp", "/tmp"),  # noqa: S108
        mount("secrets", SECRETS_DIR, read_only=True),
    ]


def deployment(settings: ClusterSettings) -> Manifest:
    ini = render_ini(app_ini_sections())
    image = settings.images.forgejo
    container_resources = resources(settings.forgejo.resources)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(FORGEJO_APP, NS, COMPONENT),
        "spec": {
            "replicas": 1,
            # One writer of the SQLite database and the RWO volume: never two pods at once.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(FORGEJO_APP)},
            "template": {
                "metadata": {
                    "labels": labels(FORGEJO_APP, COMPONENT),
                    "annotations": {
                        "unrip.io/config-hash": content_hash(
                            ini, configure_script(settings), register_runner_script(settings)
                        )
                    },
                },
                "spec": {
                    "serviceAccountName": FORGEJO_APP,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(FORGEJO_UID),
                    "initContainers": [
                        {
                            "name": "configure",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/bin/bash", "-c", configure_script(settings)],
                            "env": _env(),
                            "securityContext": container_security_context(),
                            "resources": container_resources,
                            "volumeMounts": [
                                *_mounts(),
                                mount("config-template", "/config-template", read_only=True),
                            ],
                        },
                        {
                            # A native sidecar: starts after `configure`, runs beside the server.
                            "name": "register-runner",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "restartPolicy": "Always",
                            "command": ["/bin/bash", "-c", register_runner_script(settings)],
                            "env": _env(),
                            "securityContext": container_security_context(),
                            "resources": resources(REGISTER_RESOURCES),
                            "volumeMounts": [
                                *_mounts(),
                                mount("runner-secret", RUNNER_SECRET_DIR, read_only=True),
                            ],
                        },
                    ],
                    "containers": [
                        {
                            "name": "forgejo",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["forgejo", "web"],
                            "env": _env(),
                            "ports": [{"name": "http", "containerPort": names.FORGEJO_HTTP_PORT}],
                            "securityContext": container_security_context(),
                            "resources": container_resources,
                            "startupProbe": http_probe(
                                "/api/healthz", "http", period=5, failures=60
                            ),
                            "readinessProbe": http_probe("/api/healthz", "http"),
                            "livenessProbe": http_probe(
                                "/api/healthz", "http", period=30, failures=5
                            ),
                            "volumeMounts": _mounts(),
                        }
                    ],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": DATA_CLAIM}},
                        {"name": "config-template", "configMap": {"name": CONFIG_MAP}},
                        empty_dir("config", "1Mi"),
                        empty_dir("tmp", "2Gi"),
                        {
                            "name": "secrets",
                            "secret": {"secretName": SECRETS, "defaultMode": 0o440},
                        },
                        {
                            "name": "runner-secret",
                            "secret": {"secretName": RUNNER_SECRET, "defaultMode": 0o440},
                        },
                    ],
                },
            },
        },
    }


def services() -> list[Manifest]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(names.FORGEJO_SERVICE, NS, COMPONENT, label_name=FORGEJO_APP),
            "spec": {
                "type": "ClusterIP",
                "selector": selector(FORGEJO_APP),
                "ports": [{"name": "http", "port": names.FORGEJO_HTTP_PORT, "targetPort": "http"}],
            },
        },
        {
            # The node's containerd pulls images through this port on 127.0.0.1 (the Hetzner
            # project's registries.yaml mirrors names.REGISTRY_HOST to it). The Hetzner firewall
            # keeps node ports off the internet.
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(REGISTRY_SERVICE, NS, COMPONENT, label_name=FORGEJO_APP),
            "spec": {
                "type": "NodePort",
                "selector": selector(FORGEJO_APP),
                "ports": [
                    {
                        "name": "http",
                        "port": names.FORGEJO_HTTP_PORT,
                        "targetPort": "http",
                        "nodePort": names.FORGEJO_REGISTRY_NODEPORT,
                    }
                ],
            },
        },
    ]


def secret_manifests(values: PlatformSecrets) -> list[Manifest]:
    return [
        secret(
            SECRETS,
            NS,
            COMPONENT,
            {
                "secret-key": values.forgejo_secret_key,
                "internal-token": values.forgejo_internal_token,
                "jwt-secret": values.forgejo_jwt_secret,
                "admin-password": values.forgejo_admin_password,
            },
        ),
        secret(RUNNER_SECRET, NS, COMPONENT, {"runner-secret": values.runner_secret}),
    ]


def forgejo_manifests(settings: ClusterSettings, values: PlatformSecrets) -> list[Manifest]:
    return [
        service_account(FORGEJO_APP, NS, COMPONENT),
        *secret_manifests(values),
        config_map(CONFIG_MAP, NS, COMPONENT, {"app.ini": render_ini(app_ini_sections())}),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": metadata(DATA_CLAIM, NS, COMPONENT, label_name=FORGEJO_APP),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": settings.storage_class,
                "resources": {"requests": {"storage": settings.forgejo.storage}},
            },
        },
        *services(),
        deployment(settings),
    ]
