#!/usr/bin/env bash
# unrip node setup: cloud-init's runcmd runs this once, on a node's first boot.
#
# Settings come from /etc/unrip/node.env (rendered by unrip_platform.hetzner.cloud_init).
# The cluster token never passes through this script: it sits in a root-only file that k3s
# reads itself (token-file in /etc/rancher/k3s/config.yaml), so no log can contain it.
# Success ends with $UNRIP_BOOT_MARKER, which the bootstrap waits for; failure ends with
# $UNRIP_BOOT_MARKER.failed naming the step, so the bootstrap can stop waiting at once.
set -euo pipefail

# Overridable only so tests can run this script against a scratch directory.
readonly node_env=${UNRIP_NODE_ENV:-/etc/unrip/node.env}
readonly rancher_dir=${UNRIP_RANCHER_DIR:-/etc/rancher}
readonly systemd_dir=${UNRIP_SYSTEMD_DIR:-/etc/systemd/system}
readonly pod_guard_unit=unrip-pod-guard.service

# shellcheck source=/dev/null
. "$node_env"

step="reading settings"

log() {
    printf 'unrip-node-setup: %s\n' "$*" >&2
}

on_exit() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        mkdir -p "$(dirname "$UNRIP_BOOT_MARKER")"
        printf 'step=%s\nexit_status=%s\nat=%s\n' "$step" "$status" "$(date -u +%FT%TZ)" \
            >"$UNRIP_BOOT_MARKER.failed"
        log "failed while $step (exit $status); see /var/log/cloud-init-output.log"
    fi
}
trap on_exit EXIT

# wait_until SECONDS WHAT COMMAND...: poll COMMAND every 2 s until it succeeds or time is up.
wait_until() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            log "gave up after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 2
    done
}

interface_with_node_ip() {
    ip -o -4 addr show | awk -v ip="$UNRIP_NODE_IP" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }'
}

has_node_ip() {
    [ -n "$(interface_with_node_ip)" ]
}

node_is_ready() {
    k3s kubectl --kubeconfig "$UNRIP_KUBECONFIG" wait --for=condition=Ready \
        "node/$UNRIP_NODE_NAME" --timeout=10s >/dev/null 2>&1
}

# The server keeps all cluster state on the data volume; without the volume it must not start,
# or it would build a fresh cluster on the root disk that the next rebuild throws away.
prepare_data_volume() {
    step="checking that the data volume is mounted at $UNRIP_DATA_MOUNT"
    if ! mountpoint -q "$UNRIP_DATA_MOUNT"; then
        log "$UNRIP_DATA_DEVICE is not mounted at $UNRIP_DATA_MOUNT; refusing to keep cluster data on the root disk"
        return 1
    fi
    step="preparing the k3s directories on the data volume"
    mkdir -p "$UNRIP_K3S_DATA_DIR" "$UNRIP_LOCAL_PATH_DIR" "$UNRIP_NODE_IDENTITY_DIR"
    # k3s checks a node's password (/etc/rancher/node/password) against the datastore; keeping
    # it beside the datastore lets a rebuilt server rejoin its own cluster under the same name.
    mkdir -p "$rancher_dir"
    if [ -e "$rancher_dir/node" ] && [ ! -L "$rancher_dir/node" ]; then
        mv "$rancher_dir/node" "$rancher_dir/node.before-unrip.$(date +%s)"
    fi
    ln -sfn "$UNRIP_NODE_IDENTITY_DIR" "$rancher_dir/node"
}

# Flannel must carry pod traffic over the private network; k3s does not derive its interface
# from node-ip, and the interface name depends on the server type, so it is found here.
select_private_interface() {
    step="waiting for $UNRIP_NODE_IP on the private network"
    wait_until 300 "the private address $UNRIP_NODE_IP" has_node_ip
    local interface
    interface=$(interface_with_node_ip)
    mkdir -p "$rancher_dir/k3s/config.yaml.d"
    printf 'flannel-iface: %s\n' "$interface" >"$rancher_dir/k3s/config.yaml.d/50-unrip-private-interface.yaml"
    log "private network on $interface"
}

# Pods must never reach the cloud's metadata service (169.254.169.254 serves this node's user
# data: the cluster token) nor any kubelet (10250). NetworkPolicies say so too, but a policy can
# be missing or wrong; these rules hold for every pod address whatever the cluster's objects
# say. They sit in the raw table's PREROUTING, which sees pod traffic before any NAT and before
# the chains that k3s, flannel and kube-router manage (and rewrite), so nothing reorders them.
# Idempotent: `unrip-node-setup pod-guard` re-applies them on every boot, before k3s starts.
pod_guard_rules() {
    printf '%s\n' \
        "-s $UNRIP_POD_CIDR -d $UNRIP_LINK_LOCAL_CIDR -j DROP" \
        "-s $UNRIP_POD_CIDR -p tcp --dport $UNRIP_KUBELET_PORT -j DROP"
}

apply_pod_guard() {
    step="blocking the metadata service and the kubelet for pods"
    local rule
    while read -r rule; do
        # shellcheck disable=SC2086  # a rule is a list of words on purpose
        if ! iptables -w -t raw -C PREROUTING $rule 2>/dev/null; then
            iptables -w -t raw -I PREROUTING 1 $rule
        fi
    done < <(pod_guard_rules)
}

# A oneshot unit puts the rules back on every boot (iptables rules live in memory only),
# ordered before k3s so that no pod ever starts without them.
install_pod_guard() {
    apply_pod_guard
    step="installing the $pod_guard_unit unit"
    mkdir -p "$systemd_dir"
    cat >"$systemd_dir/$pod_guard_unit" <<UNIT
[Unit]
Description=unrip: block the metadata service and the kubelet for pods
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target k3s.service k3s-agent.service
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$0 pod-guard

[Install]
WantedBy=multi-user.target
RequiredBy=k3s.service k3s-agent.service
UNIT
    systemctl daemon-reload
    systemctl enable "$pod_guard_unit"
}

install_k3s() {
    step="downloading the k3s $UNRIP_K3S_VERSION installer"
    local installer
    installer=$(mktemp)
    curl --proto '=https' --tlsv1.2 -fsSL --retry 10 --retry-delay 3 --retry-all-errors \
        -o "$installer" "$UNRIP_K3S_INSTALL_URL"
    # Mandatory: an installer that cannot be verified is never run.
    step="verifying the k3s installer checksum"
    if [ -z "${UNRIP_K3S_INSTALL_SHA256:-}" ]; then
        log "no UNRIP_K3S_INSTALL_SHA256: refusing to run an unverified installer"
        return 1
    fi
    printf '%s  %s\n' "$UNRIP_K3S_INSTALL_SHA256" "$installer" | sha256sum --check --strict --quiet
    step="installing k3s $UNRIP_K3S_VERSION ($UNRIP_ROLE)"
    INSTALL_K3S_VERSION="$UNRIP_K3S_VERSION" INSTALL_K3S_EXEC="$UNRIP_ROLE" sh "$installer"
    rm -f "$installer"
}

wait_until_ready() {
    if [ "$UNRIP_ROLE" = server ]; then
        step="waiting for the kubeconfig"
        wait_until 300 "$UNRIP_KUBECONFIG" test -s "$UNRIP_KUBECONFIG"
        chmod 0600 "$UNRIP_KUBECONFIG"
        step="waiting for node $UNRIP_NODE_NAME to be Ready"
        wait_until 600 "node $UNRIP_NODE_NAME to be Ready" node_is_ready
    else
        step="waiting for the k3s agent"
        wait_until 600 "the k3s-agent service" systemctl is-active --quiet k3s-agent
    fi
}

# The marker lives on the root disk on purpose: a rebuilt server must earn it again.
write_boot_marker() {
    step="writing the boot marker"
    mkdir -p "$(dirname "$UNRIP_BOOT_MARKER")"
    printf 'node=%s\nrole=%s\nk3s_version=%s\ncompleted_at=%s\n' \
        "$UNRIP_NODE_NAME" "$UNRIP_ROLE" "$UNRIP_K3S_VERSION" "$(date -u +%FT%TZ)" \
        >"$UNRIP_BOOT_MARKER.tmp"
    mv -f "$UNRIP_BOOT_MARKER.tmp" "$UNRIP_BOOT_MARKER"
    rm -f "$UNRIP_BOOT_MARKER.failed"
}

main() {
    if [ "${1:-}" = pod-guard ]; then
        apply_pod_guard
        return
    fi
    install_pod_guard
    if [ "$UNRIP_ROLE" = server ]; then
        prepare_data_volume
    fi
    select_private_interface
    install_k3s
    wait_until_ready
    write_boot_marker
    log "node $UNRIP_NODE_NAME is ready"
}

main "$@"
