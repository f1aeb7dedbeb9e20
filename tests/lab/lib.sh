# shellcheck shell=bash
# A lab of real Debian hosts (network namespaces, own root, sshd and cron each), as functions: sourced by tests/lab/{up,down,run}.
#
# Every host is an overlay of one cached Debian root (var/lab/base, the overlay's read-only lower layer) with a
# layer of its own for what it writes, and its own network namespace, mount, UTS, PID and IPC namespaces, cron
# daemon and sshd: a host costs a few MB and well under a second. A controller namespace holds the bridge
# (10.231.0.1/24), the SMTP server the hosts mail to (STARTTLS with a certificate of the lab's own, whose file
# every host has at LAB_RELAY_CA), and the Ansible/Molecule run. Nothing of the lab is reachable from outside the
# namespaces, and the lab sends nothing anywhere else.
#
# Each lab is named by LAB_PREFIX: its namespaces are LAB_PREFIX-ctl and LAB_PREFIX-<host>, its hosts' roots, pids,
# logs and mails are in var/lab/run/LAB_PREFIX/. tests/lab/run names its lab after its own PID, so that two runs on
# one machine (two checkouts' `make test`) each have their own and never tear down the other's; the addresses can be
# the same, since each lab's network lives in its own namespaces. tests/lab/up and down, for working by hand, use
# "hm" unless LAB_PREFIX says otherwise. Only the cached base root and the SSH key are shared, built under a lock.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_VAR=${LAB_VAR:-$LAB_ROOT/var/lab}
LAB_PREFIX=${LAB_PREFIX:-hm}
LAB_HOSTS=${LAB_HOSTS:-web1 web2 web3 web4 web5 web6}
LAB_NET=10.231.0
LAB_BRIDGE_ADDR=$LAB_NET.1
LAB_SMTP_PORT=${LAB_SMTP_PORT:-2525}
LAB_SMTP_USER=${LAB_SMTP_USER:-monitor}
LAB_SMTP_PASSWORD=${LAB_SMTP_PASSWORD:-lab-only-secret}
LAB_SUITE=bookworm
LAB_BASE_PACKAGES=openssh-server,python3,python3-apt,cron,sudo,iproute2
# Downloaded into the base root's apt cache, not installed: the role's apt task installs them offline.
LAB_OFFLINE_PACKAGES="python3-psutil"

LAB_BASE=$LAB_VAR/base
LAB_RUN=$LAB_VAR/run/$LAB_PREFIX
LAB_SSH_KEY=$LAB_VAR/ssh/id_ed25519
LAB_MAILDIR=$LAB_RUN/maildir
LAB_CTL_NS=$LAB_PREFIX-ctl
# The relay's certificate, signed by itself, as every host has it (health_monitor_smtp_ca_path in the scenario).
LAB_RELAY_CA=/etc/ssl/lab/relay-ca.pem
# The venv whose Ansible and Molecule drive the hosts (the matrix's ansible-core 2.21 lane names its own).
LAB_VENV=${LAB_VENV:-$LAB_ROOT/.venv}
LAB_PYTHON=${LAB_PYTHON:-$LAB_VENV/bin/python}

lab_log() { echo "lab: $*" >&2; }

lab_host_ns() { echo "$LAB_PREFIX-$1"; }
lab_host_root() { echo "$LAB_RUN/hosts/$1"; }
# What a host wrote: the upper layer of its overlay (and the overlay's work directory).
lab_host_layer() { echo "$LAB_RUN/layers/$1"; }

# The address of the Nth host of LAB_HOSTS: .11, .12, ...
lab_host_addr() {
    local i=11 name
    for name in $LAB_HOSTS; do
        [ "$name" = "$1" ] && { echo "$LAB_NET.$i"; return; }
        i=$((i + 1))
    done
    return 1
}

# The Debian mirror this machine's apt uses (the hosts' base root comes from it).
lab_mirror() {
    local uri
    uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -m1 '/debian/\?$' || true)
    [ -n "$uri" ] || uri=$(grep -hs '^deb .*/debian/\? ' /etc/apt/sources.list | awk '{print $2}' | head -n1)
    echo "${LAB_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# Unmount whatever is still mounted under a directory (left by an interrupted debootstrap), deepest first.
lab_unmount_under() {
    local dir mounts
    dir=$(realpath -m "$1")
    mounts=$(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r)
    [ -z "$mounts" ] || echo "$mounts" | xargs -r -n1 umount -l
}

lab_remove_tree() {
    [ -e "$1" ] || return 0
    lab_unmount_under "$1"
    rm -rf --one-file-system "$1"
}

# Build the base root once; rebuilt only when its recipe changes. About a minute on a fresh machine.
lab_build_base() {
    local recipe stamp tmp
    recipe="$LAB_SUITE $LAB_BASE_PACKAGES $LAB_OFFLINE_PACKAGES v1"
    stamp=$LAB_BASE/.lab-recipe
    if [ "$(cat "$stamp" 2>/dev/null)" = "$recipe" ]; then
        return 0
    fi
    tmp=$LAB_BASE.tmp
    lab_remove_tree "$tmp"
    lab_remove_tree "$LAB_BASE"
    mkdir -p "$LAB_VAR"
    lab_log "building the base root with debootstrap from $(lab_mirror) (about a minute)"
    debootstrap --variant=minbase --include="$LAB_BASE_PACKAGES" "$LAB_SUITE" "$tmp" "$(lab_mirror)" \
        >"$LAB_VAR/debootstrap.log" 2>&1 || { tail -n 20 "$LAB_VAR/debootstrap.log" >&2; return 1; }
    cp /etc/resolv.conf "$tmp/etc/resolv.conf"
    chroot "$tmp" apt-get clean
    chroot "$tmp" apt-get update -qq
    # shellcheck disable=SC2086
    chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only $LAB_OFFLINE_PACKAGES >/dev/null
    : >"$tmp/etc/resolv.conf"
    rm -f "$tmp"/etc/ssh/ssh_host_*
    echo "$recipe" >"$tmp/.lab-recipe"
    mv "$tmp" "$LAB_BASE"
}

lab_ssh_key() {
    [ -f "$LAB_SSH_KEY" ] && return 0
    mkdir -p "$(dirname "$LAB_SSH_KEY")"
    ssh-keygen -q -t ed25519 -N '' -C lab -f "$LAB_SSH_KEY"
}

# The base root and the SSH key, which every lab of this checkout shares: one run makes them, another waits.
lab_prepare() {
    mkdir -p "$LAB_VAR"
    (
        flock 9
        lab_build_base
        lab_ssh_key
    ) 9>"$LAB_VAR/.prepare.lock"
}

# Tear down the labs of this checkout whose run died without its trap (killed with SIGKILL, say): a lab started
# by tests/lab/run records that run's PID in its run directory (LAB_OWNER).
lab_reap_stale() {
    local dir owner
    for dir in "$LAB_VAR"/run/*/; do
        [ -f "$dir/owner" ] || continue
        owner=$(cat "$dir/owner")
        [ -d "/proc/$owner" ] && continue
        lab_log "tearing down the lab $(basename "$dir") of a run that is gone (pid $owner)"
        lab_down "$(basename "$dir")"
    done
}

lab_controller_up() {
    ip netns add "$LAB_CTL_NS"
    ip -n "$LAB_CTL_NS" link set lo up
    ip -n "$LAB_CTL_NS" link add br0 type bridge
    ip -n "$LAB_CTL_NS" addr add "$LAB_BRIDGE_ADDR/24" dev br0
    ip -n "$LAB_CTL_NS" link set br0 up
}

# PID 1 of a host: mounts its kernel file systems inside the root, then runs cron and sshd chrooted.
# shellcheck disable=SC2016
LAB_HOST_INIT='
root=$1
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/run/sshd"
hostname "$2"
chroot "$root" /usr/sbin/cron -f &
chroot "$root" /usr/sbin/sshd -D -e 2>>"$root/var/log/sshd.log" &
wait
'

# The relay's key and certificate, for this lab's bridge address (made before the hosts, which get the certificate).
lab_relay_cert() {
    mkdir -p "$LAB_RUN/relay"
    (cd "$LAB_ROOT" && "$LAB_PYTHON" -c 'import pathlib, sys
from tools.services import self_signed_certificate
self_signed_certificate(pathlib.Path(sys.argv[1]), sys.argv[2])' "$LAB_RUN/relay" "$LAB_BRIDGE_ADDR")
}

lab_host_up() {
    local name=$1 ns root layer addr
    ns=$(lab_host_ns "$name")
    root=$(lab_host_root "$name")
    layer=$(lab_host_layer "$name")
    addr=$(lab_host_addr "$name")
    lab_remove_tree "$root"
    lab_remove_tree "$layer"
    mkdir -p "$root" "$layer/upper" "$layer/work"
    mount -t overlay "lab-$name" -o "lowerdir=$LAB_BASE,upperdir=$layer/upper,workdir=$layer/work" "$root"
    echo "$name" >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n%s\t%s\n' "$addr" "$name" >"$root/etc/hosts"
    chroot "$root" ssh-keygen -q -A
    install -d -m 0700 "$root/root/.ssh"
    install -m 0600 "$LAB_SSH_KEY.pub" "$root/root/.ssh/authorized_keys"
    install -D -m 0644 "$LAB_RUN/relay/cert.pem" "$root$LAB_RELAY_CA"

    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$LAB_CTL_NS" link add "v-$name" type veth peer name eth0 netns "$ns"
    ip -n "$LAB_CTL_NS" link set "v-$name" master br0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up

    ip netns exec "$ns" unshare --mount --uts --pid --ipc --fork --kill-child \
        bash -c "$LAB_HOST_INIT" "host-$name" "$root" "$name" </dev/null >>"$LAB_RUN/$name.log" 2>&1 &
    echo $! >"$LAB_RUN/$name.pid"
    disown $!
}

# The relay of tools/services.py (the demo's and the tests' too): aiosmtpd keeping every message in a Maildir,
# accepting the lab's login without TLS (so that the role's login path is exercised; a sender that does not log in
# is accepted too) and offering STARTTLS with the lab's certificate, until it is killed.
lab_smtp_up() {
    LAB_SMTP_PASSWORD=$LAB_SMTP_PASSWORD ip netns exec "$LAB_CTL_NS" "$LAB_PYTHON" "$LAB_ROOT/tools/services.py" relay \
        --host "$LAB_BRIDGE_ADDR" --smtp-port "$LAB_SMTP_PORT" --maildir "$LAB_MAILDIR" \
        --user "$LAB_SMTP_USER" --password-env LAB_SMTP_PASSWORD \
        --tls-cert "$LAB_RUN/relay/cert.pem" --tls-key "$LAB_RUN/relay/key.pem" \
        </dev/null >>"$LAB_RUN/smtp.log" 2>&1 &
    echo $! >"$LAB_RUN/smtp.pid"
    disown $!
}

# Wait until every host answers SSH and the SMTP server accepts connections (from inside the controller).
lab_wait_ready() {
    local name addr _
    for name in $LAB_HOSTS; do
        addr=$(lab_host_addr "$name")
        for _ in $(seq 1 50); do
            ip netns exec "$LAB_CTL_NS" ssh -q -i "$LAB_SSH_KEY" -o BatchMode=yes -o ConnectTimeout=2 \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "root@$addr" true && continue 2
            sleep 0.2
        done
        lab_log "host $name ($addr) does not answer SSH; see $LAB_RUN/$name.log"
        return 1
    done
    for _ in $(seq 1 50); do
        ip netns exec "$LAB_CTL_NS" bash -c "exec 3<>/dev/tcp/$LAB_BRIDGE_ADDR/$LAB_SMTP_PORT" 2>/dev/null && return 0
        sleep 0.2
    done
    lab_log "the SMTP server does not answer; see $LAB_RUN/smtp.log"
    return 1
}

lab_up() {
    lab_down
    lab_reap_stale
    lab_prepare
    mkdir -p "$LAB_RUN"
    [ -z "${LAB_OWNER:-}" ] || echo "$LAB_OWNER" >"$LAB_RUN/owner"
    lab_controller_up
    lab_relay_cert
    local name
    for name in $LAB_HOSTS; do lab_host_up "$name"; done
    lab_smtp_up
    lab_wait_ready
    lab_log "up: hosts $(for n in $LAB_HOSTS; do printf '%s=%s ' "$n" "$(lab_host_addr "$n")"; done)smtp=$LAB_BRIDGE_ADDR:$LAB_SMTP_PORT"
}

# Stop a process this lab started (its pid is in FILE), and wait until it is gone.
lab_kill_pidfile() {
    local file=$1 pid child
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    rm -f "$file"
    [ -d "/proc/$pid" ] || return 0
    # unshare --fork ignores SIGTERM: SIGKILL its child (the host's PID 1) first; the kernel ends the rest.
    # shellcheck disable=SC2013  # the file is one line of pids separated by spaces
    for child in $(cat "/proc/$pid/task/"*/children 2>/dev/null); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$pid" 2>/dev/null || true
    while [ -d "/proc/$pid" ]; do sleep 0.1; done
}

# Tear down this lab, or the lab of another prefix of this checkout (lab_reap_stale).
# Whatever its hosts were: every process recorded in its run directory, every namespace named after its prefix.
lab_down() {
    local prefix=${1:-$LAB_PREFIX} file ns run
    run=$LAB_VAR/run/$prefix
    for file in "$run"/*.pid; do lab_kill_pidfile "$file"; done
    for ns in $(ip netns list | awk '{print $1}'); do
        case $ns in "$prefix"-*) ip netns del "$ns" 2>/dev/null || true ;; esac
    done
    lab_remove_tree "$run"
}
