#!/usr/bin/env bash
# Throwaway Varnish edge cache on 127.0.0.1 for tests and benchmarks, running deploy/varnish/mercato.vcl.
#
#   scripts/varnish.sh start PORT DIR BACKEND_HOST:BACKEND_PORT [PURGER_ADDRESS...]
#                                    # starts it, prints http://127.0.0.1:PORT as the last line
#   scripts/varnish.sh stop DIR      # stops the varnishd started with that DIR
#
# DIR is varnishd's working directory (-n): it gets main.vcl (the backend with a /health probe, the
# `purgers` ACL and an include of mercato.vcl), varnishd.pid and varnishd.log. PURGER_ADDRESS is an
# address or a network ("10.0.0.0/8") allowed to PURGE and to read debug headers, on top of
# 127.0.0.1 and ::1. PORT 0 picks a free port (the printed URL names it). No persistence: malloc
# storage, 256 MB. Runs as root with `-j none` (no privilege separation).
#
# Environment:
#   VARNISH_BACKEND_PROBE=0   no /health probe (the backend then always counts as healthy, and
#                             stale-if-error covers only failed fetches, not a down backend).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VCL="$ROOT/deploy/varnish/mercato.vcl"
VMOD_DIR=/usr/lib/x86_64-linux-gnu/varnish/vmods

usage() {
    echo "usage: $0 start PORT DIR BACKEND_HOST:BACKEND_PORT [PURGER_ADDRESS...] | stop DIR" >&2
    exit 2
}

ensure_installed() {
    if ! command -v varnishd >/dev/null 2>&1 || ! command -v varnishadm >/dev/null 2>&1 \
        || [ ! -e "$VMOD_DIR/libvmod_xkey.so" ]; then
        echo "varnishd or varnish-modules not found; installing them with apt-get" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq varnish varnish-modules >&2
    fi
}

# `"addr";` or `"addr"/bits;` for the ACL, refusing anything else (it is pasted into VCL).
acl_entry() {
    local a=$1
    [[ $a =~ ^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$ ]] || { echo "not an address or network: $a" >&2; exit 2; }
    if [[ $a == */* ]]; then
        printf '    "%s"/%s;\n' "${a%/*}" "${a##*/}"
    else
        printf '    "%s";\n' "$a"
    fi
}

write_vcl() {
    local dir=$1 host=$2 port=$3 probe=""
    shift 3
    if [ "${VARNISH_BACKEND_PROBE:-1}" != 0 ]; then
        # .initial = .threshold: healthy from the start instead of after three good probes.
        probe='
    .probe = {
        .request = "GET /health HTTP/1.1" "Host: mercato" "Connection: close";
        .interval = 1s;
        .timeout = 1s;
        .window = 5;
        .threshold = 3;
        .initial = 3;
    }'
    fi
    {
        echo "vcl 4.1;"
        echo "# Written by scripts/varnish.sh; the rules live in mercato.vcl."
        echo
        echo "backend mercato {"
        echo "    .host = \"$host\";"
        echo "    .port = \"$port\";"
        echo "    .connect_timeout = 1s;"
        echo "    .first_byte_timeout = 30s;"
        echo "    .between_bytes_timeout = 10s;$probe"
        echo "}"
        echo
        echo "acl purgers {"
        acl_entry 127.0.0.1
        acl_entry ::1
        local a
        for a in "$@"; do acl_entry "$a"; done
        echo "}"
        echo
        echo "include \"$VCL\";"
    } > "$dir/main.vcl"
}

start() {
    local port=$1 dir=$2 backend=$3 bhost bport
    shift 3
    [[ $port =~ ^[0-9]+$ ]] || usage
    [[ $backend == *:* ]] || usage
    bhost=${backend%:*}
    bport=${backend##*:}
    bhost=${bhost#[}
    bhost=${bhost%]}
    [[ $bport =~ ^[0-9]+$ && -n $bhost ]] || usage
    ensure_installed
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/varnishd.pid" ] && kill -0 "$(cat "$dir/varnishd.pid")" 2>/dev/null; then
        echo "varnishd already running for $dir (pid $(cat "$dir/varnishd.pid"))" >&2
        exit 1
    fi
    write_vcl "$dir" "$bhost" "$bport" "$@"
    # Daemonises once the VCL is compiled and the child is up; a VCL error fails right here.
    if ! varnishd -j none -n "$dir" -a "127.0.0.1:$port" -T 127.0.0.1:0 -f "$dir/main.vcl" \
        -s malloc,256m -P "$dir/varnishd.pid" > "$dir/varnishd.log" 2>&1; then
        cat "$dir/varnishd.log" >&2
        echo "varnishd did not start; see $dir/varnishd.log" >&2
        exit 1
    fi
    local listen="" _
    for _ in $(seq 1 200); do
        if varnishadm -n "$dir" status 2>/dev/null | grep -q running; then
            # "a0 127.0.0.1 6081": the real port, also when PORT was 0.
            listen=$(varnishadm -n "$dir" debug.listen_address 2>/dev/null | awk 'NR == 1 { print $3 }')
            if [ -n "$listen" ] && (exec 3<>"/dev/tcp/127.0.0.1/$listen") 2>/dev/null; then
                echo "$listen" > "$dir/varnishd.port"
                echo "http://127.0.0.1:$listen"
                return 0
            fi
        fi
        sleep 0.05
    done
    echo "varnishd did not answer on 127.0.0.1:$port; see $dir/varnishd.log" >&2
    exit 1
}

stop() {
    local dir=$1 pid children
    [ -f "$dir/varnishd.pid" ] || { echo "no varnishd.pid in $dir" >&2; return 0; }
    pid=$(cat "$dir/varnishd.pid")
    if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$dir/varnishd.pid"
        return 0
    fi
    # The manager's children (the cache process), to make sure they go too.
    children=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
    # Stop the cache process over the CLI first: that works even when a parent left SIGTERM
    # blocked in the signal mask (Foundation's Process does), then end the manager.
    varnishadm -n "$dir" stop >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    local p _
    for p in "$pid" $children; do
        for _ in $(seq 1 100); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$p" 2>/dev/null; then
            kill -9 "$p" 2>/dev/null || true
        fi
    done
    rm -f "$dir/varnishd.pid"
}

case "${1:-}" in
    start) [ $# -ge 4 ] || usage; shift; start "$@" ;;
    stop) [ $# -eq 2 ] || usage; stop "$2" ;;
    *) usage ;;
esac
