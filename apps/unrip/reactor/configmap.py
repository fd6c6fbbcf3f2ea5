"""The strategy ConfigMap reader, re-exported where the reactor's callers have always found it.

The code lives in ``unrip.strategy.configmap`` (shared with the executor's kill switch).
"""

from unrip.strategy.configmap import (
    IN_CLUSTER_API,
    SERVICE_ACCOUNT_DIR,
    ConfigMapReader,
    ConfigMapSnapshot,
    ConfigMapUnavailableError,
    InClusterConfigMapReader,
    StrategyConfigMap,
    service_account_namespace,
)

__all__ = [
    "IN_CLUSTER_API",
    "SERVICE_ACCOUNT_DIR",
    "ConfigMapReader",
    "ConfigMapSnapshot",
    "ConfigMapUnavailableError",
    "InClusterConfigMapReader",
    "StrategyConfigMap",
    "service_account_namespace",
]
