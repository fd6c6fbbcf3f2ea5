#!/bin/bash
# Reconciles the brokers' topics with the catalogue (unrip.topics), idempotently, using rpk:
#   missing topic            -> created with the catalogue's partitions, replicas and configs
#   fewer partitions         -> partitions added (a key's new records may then land on another
#                               partition: see docs/platform-cluster.md before growing a topic)
#   more partitions          -> error: Kafka cannot remove partitions, an operator must decide
#   configs                  -> set to the catalogue's values on every run
# The catalogue's calls (`ensure_topic NAME PARTITIONS REPLICAS KEY=VALUE...`) follow this header.
set -euo pipefail

: "${BROKERS:?BROKERS must name the Kafka bootstrap address}"
WAIT_ATTEMPTS=${WAIT_ATTEMPTS:-60}
WAIT_SECONDS=${WAIT_SECONDS:-5}
failures=0

rpk_() { rpk -X "brokers=${BROKERS}" "$@"; }

wait_for_brokers() {
    local attempt
    for ((attempt = 1; attempt <= WAIT_ATTEMPTS; attempt++)); do
        if rpk_ cluster info >/dev/null 2>&1; then
            return 0
        fi
        echo "waiting for the brokers at ${BROKERS} (${attempt}/${WAIT_ATTEMPTS})"
        sleep "${WAIT_SECONDS}"
    done
    echo "error: the brokers at ${BROKERS} did not answer" >&2
    return 1
}

current_partitions() {
    rpk_ topic list | awk -v topic="$1" 'NR > 1 && $1 == topic { print $2 }'
}

ensure_topic() {
    local name=$1 partitions=$2 replicas=$3
    shift 3
    local current config
    local -a create_args=() set_args=()
    current=$(current_partitions "${name}")
    if [[ -z "${current}" ]]; then
        for config in "$@"; do create_args+=(--topic-config "${config}"); done
        rpk_ topic create "${name}" --partitions "${partitions}" --replicas "${replicas}" \
            "${create_args[@]}"
        echo "created ${name}: ${partitions} partitions"
        return 0
    fi
    if ((current < partitions)); then
        rpk_ topic add-partitions "${name}" --num "$((partitions - current))"
        echo "grew ${name}: ${current} -> ${partitions} partitions"
    elif ((current > partitions)); then
        echo "error: ${name} has ${current} partitions, the catalogue says ${partitions};" \
            "Kafka cannot remove partitions" >&2
        failures=$((failures + 1))
    fi
    for config in "$@"; do set_args+=(--set "${config}"); done
    rpk_ topic alter-config "${name}" "${set_args[@]}"
    echo "reconciled ${name}"
}

wait_for_brokers
