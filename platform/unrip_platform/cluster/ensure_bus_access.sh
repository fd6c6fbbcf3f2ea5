#!/bin/bash
# Reconciles Redpanda's SCRAM users and ACLs with the bus map (unrip_platform.cluster.bus_acls),
# idempotently, with rpk as the superuser (RPK_USER, RPK_PASS, RPK_SASL_MECHANISM):
#   ensure_user NAME VARIABLE   -> the user is created, or its password set, from the variable
#                                  (the service's generated password, from a Secret; never
#                                  printed, never in this script)
#   grant USER KIND NAME OP...  -> each missing literal allow ACL is created
#   prune                       -> every other ACL of a managed principal (User:unrip-*, and
#                                  the wildcard User:*) is deleted; ACLs of other principals and
#                                  unrip-* users the map does not know are reported, left alone
# The map's calls follow this header, then `prune` and the final report.
set -euo pipefail

: "${BROKERS:?BROKERS must name the Kafka bootstrap address}"
: "${ADMIN_HOSTS:?ADMIN_HOSTS must name the Admin API address}"
: "${RPK_USER:?RPK_USER must name the superuser}"
: "${RPK_PASS:?RPK_PASS must hold the superuser password (Secret redpanda-superuser)}"
MECHANISM=${MECHANISM:-SCRAM-SHA-256}
MANAGED_PREFIX=${MANAGED_PREFIX:-unrip-}
WAIT_ATTEMPTS=${WAIT_ATTEMPTS:-60}
WAIT_SECONDS=${WAIT_SECONDS:-5}
failures=0
declare -A users=() managed_users=() present=() desired=()
declare -a acl_rows=()

rpk_() { rpk -X "brokers=${BROKERS}" -X "admin.hosts=${ADMIN_HOSTS}" "$@"; }

# Kinds, pattern types, operations and permissions compared as rpk's flags spell them
# (lower case, no underscores: TRANSACTIONAL_ID -> transactionalid); principal and resource
# name exactly.
norm() {
    local value=${1,,}
    printf '%s' "${value//_/}"
}
acl_key() {
    printf '%s|%s|%s|%s|%s|%s' "$1" "$(norm "$2")" "$3" "$(norm "$4")" "$(norm "$5")" "$(norm "$6")"
}

wait_for_brokers() {
    local attempt
    for ((attempt = 1; attempt <= WAIT_ATTEMPTS; attempt++)); do
        if rpk_ cluster info >/dev/null 2>&1; then
            return 0
        fi
        echo "waiting for the brokers at ${BROKERS} (${attempt}/${WAIT_ATTEMPTS})"
        sleep "${WAIT_SECONDS}"
    done
    echo "error: the brokers at ${BROKERS} did not answer to ${RPK_USER}" >&2
    return 1
}

load_state() {
    local name principal host kind resource pattern operation permission
    while read -r name _; do
        [[ -n "${name}" && "${name}" != "USERNAME" ]] && users["${name}"]=1
    done < <(rpk_ security user list)
    while read -r principal host kind resource pattern operation permission _; do
        [[ -z "${principal}" || "${principal}" == "PRINCIPAL" ]] && continue
        acl_rows+=("${principal} ${host} ${kind} ${resource} ${pattern} ${operation} ${permission}")
        present["$(acl_key "${principal}" "${kind}" "${resource}" "${pattern}" "${operation}" "${permission}")"]=1
    done < <(rpk_ security acl list)
}

ensure_user() {
    local name=$1 variable=$2 password
    password=${!variable:-}
    managed_users["${name}"]=1
    if [[ -z "${password}" ]]; then
        echo "error: no password for ${name}: ${variable} is empty (its Secret key missing?)" >&2
        failures=$((failures + 1))
        return 0
    fi
    if [[ -n "${users[${name}]:-}" ]]; then
        rpk_ security user update "${name}" --new-password "${password}" \
            --mechanism "${MECHANISM}" >/dev/null
        echo "user ${name}: password set from its Secret"
    else
        rpk_ security user create "${name}" --password "${password}" \
            --mechanism "${MECHANISM}" >/dev/null
        echo "user ${name}: created"
    fi
}

grant() {
    local user=$1 kind=$2 name=$3 operation key
    shift 3
    local -a missing=()
    for operation in "$@"; do
        key=$(acl_key "User:${user}" "${kind}" "${name}" literal "${operation}" allow)
        desired["${key}"]=1
        [[ -n "${present[${key}]:-}" ]] || missing+=(--operation "${operation}")
    done
    if ((${#missing[@]} > 0)); then
        rpk_ security acl create --allow-principal "User:${user}" "--${kind}" "${name}" \
            --resource-pattern-type literal "${missing[@]}" >/dev/null
        echo "granted User:${user} ${kind} ${name}: ${missing[*]//--operation /}"
    fi
}

revoke() {
    local principal=$1 kind=$2 resource=$3 pattern=$4 operation=$5 permission=$6
    local -a target
    case "$(norm "${kind}")" in
        topic) target=(--topic "${resource}") ;;
        group) target=(--group "${resource}") ;;
        transactionalid) target=(--transactional-id "${resource}") ;;
        cluster) target=(--cluster) ;;
        *)
            echo "error: cannot remove ${principal} ${kind} ${resource}: unknown kind" >&2
            failures=$((failures + 1))
            return 0
            ;;
    esac
    rpk_ security acl delete "--$(norm "${permission}")-principal" "${principal}" "${target[@]}" \
        --resource-pattern-type "$(norm "${pattern}")" --operation "$(norm "${operation}")" \
        --no-confirm >/dev/null
    echo "removed stale ${permission} ${principal} ${kind} ${resource} ${operation}"
}

prune() {
    local row principal host kind resource pattern operation permission user
    for row in "${acl_rows[@]}"; do
        read -r principal host kind resource pattern operation permission <<<"${row}"
        [[ -n "${desired[$(acl_key "${principal}" "${kind}" "${resource}" "${pattern}" \
            "${operation}" "${permission}")]:-}" ]] && continue
        if [[ "${principal}" == "User:${MANAGED_PREFIX}"* || "${principal}" == "User:*" ]]; then
            revoke "${principal}" "${kind}" "${resource}" "${pattern}" "${operation}" "${permission}"
        else
            echo "warning: ACL of a principal the map does not manage, left alone: ${row}" >&2
        fi
    done
    for user in "${!users[@]}"; do
        if [[ "${user}" == "${MANAGED_PREFIX}"* && -z "${managed_users[${user}]:-}" ]]; then
            echo "warning: user ${user} is not in the bus map (no ACL is granted to it)" >&2
        fi
    done
}

wait_for_brokers
load_state
