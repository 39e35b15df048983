#!/bin/bash
# SNI routing benchmark: lbd (sockmap splice, copy splice) against HAProxy (TCP mode,
# req.ssl_sni) and a direct client->backend path, on the integration-test namespace
# topology (client, LB, 2 backends), with nginx TLS backends.
#
# Usage: sudo bench/sni_vs_haproxy.sh [--rounds N] [--seconds S] [--conc C] [--bulk-mb M]
#
#   --rounds N    interleaved rounds, every mode once per round (default 3)
#   --seconds S   duration of each new-connection load phase (default 10)
#   --conc C      concurrent connections of the load generator (default 8)
#   --bulk-mb M   size of the file downloaded in the bulk phase (default 200)
#   --modes LIST  comma-separated subset of lbd-sockmap,lbd-copy,haproxy,direct (default all)
#
# Environment: HAPROXY_THREADS (default 1, like lbd's single event loop),
# HAPROXY_SPLICE=1 (add "option splice-auto"), BULK_MAX_TIME (curl cap, default 60 s).
#
# Builds nothing: expects build/daemon/lbd from `meson setup build && ninja -C build`.
# Installs haproxy, nginx-light (or nginx), openssl and curl from Debian when missing.
# All traffic stays inside the namespaces created here; lib.sh removes everything on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=3
SECS=10
CONC=8
BULK_MB=200
BULK_MAX_TIME=${BULK_MAX_TIME:-60}
HAPROXY_THREADS=${HAPROXY_THREADS:-1}
HAPROXY_SPLICE=${HAPROXY_SPLICE:-0}
MODES=(lbd-sockmap lbd-copy haproxy direct)

usage() { sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--conc) CONC=${2:?}; shift 2 ;;
	--bulk-mb) BULK_MB=${2:?}; shift 2 ;;
	--modes) IFS=, read -r -a MODES <<<"${2:?}"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for m in "${MODES[@]}"; do
	[[ $m =~ ^(lbd-sockmap|lbd-copy|haproxy|direct)$ ]] || { echo "unknown mode: $m" >&2; exit 2; }
done
for v in "$ROUNDS" "$SECS" "$CONC" "$BULK_MB"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "numbers must be positive integers: $v" >&2; exit 2; }
done

. "$HERE/lib.sh"
bench_preflight "$@"

# ---------------------------------------------------------------------------- packages

bench_install haproxy:haproxy openssl:openssl curl:curl ||
	echo "# nginx unavailable: falling back to openssl s_server -WWW backends" >&2
bench_require haproxy openssl curl
BACKEND_KIND=openssl
command -v nginx >/dev/null && BACKEND_KIND=nginx

# ---------------------------------------------------------------------------- topology

. "$ROOT/tests/integration/lib.sh"
topo_up 2
bpffs_up
for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do
	# Many short connections per phase: a wide port range, TIME-WAIT reuse.
	in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 >/dev/null
done

WWW=$LBT_RUN/www
mkdir -p "$WWW"
truncate -s "${BULK_MB}M" "$WWW/big" # sparse: no disk, same cost to encrypt
printf 'ok\n' >"$WWW/small"

# Backends: b<i> on 10.2.<i>.2:443, ECDSA P-256 self-signed certificate each.
start_backend() {
	local i=$1
	local ns=${NS_BACKENDS[i - 1]} ip=10.2.$1.2 d=$LBT_RUN/b$1
	mkdir -p "$d/tmp"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=b$i" -keyout "$d/key.pem" -out "$d/crt.pem" 2>/dev/null
	if [[ $BACKEND_KIND == nginx ]]; then
		cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    keepalive_timeout 0;
    server {
        listen $ip:443 ssl;
        ssl_certificate $d/crt.pem;
        ssl_certificate_key $d/key.pem;
        ssl_session_cache off;
        ssl_session_tickets off;
        location = /small { default_type text/plain; return 200 "b$i\n"; }
        location = /big { default_type application/octet-stream; alias $WWW/big; }
    }
}
EOF
		spawn "$ns" "nginx-b$i" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf"
	else
		# Serves files of the current directory; "small" answers "ok" (not b<i>).
		cp "$WWW/small" "$d/small"
		ln -sf "$WWW/big" "$d/big"
		spawn "$ns" "sserver-b$i" bash -c "cd '$d' && exec openssl s_server -quiet -WWW \
			-accept $ip:443 -cert '$d/crt.pem' -key '$d/key.pem'"
	fi
	wait_for "in_ns $ns ss -Hltn 'src $ip:443' | grep -q ." 10 ||
		fail "backend b$i did not start: $(tail -n 5 "$LBT_LOGDIR"/*-b"$i".log "$d/error.log" 2>/dev/null)"
}
start_backend 1
start_backend 2

# ---------------------------------------------------------------------------- the modes

INSTANCE=bench
SOCK=$LBT_RUN/lbd.sock
lb_listening() { in_ns "$NS_LB" ss -Hltn "sport = :443" | grep -q .; }

start_lbd() { # start_lbd SPLICE TAG
	local cfg=$LBT_RUN/lbd-$1.json
	cat >"$cfg" <<EOF
{"proxies": [{"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
  "default-target": {"ip": "10.2.1.2", "port": 443},
  "sni-routes": [{"sni-hostname": "api.example.com", "target": {"ip": "10.2.2.2", "port": 443}}]}],
 "settings": {"sni-splice": "$1"}}
EOF
	spawn "$NS_LB" "lbd-$2" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--teardown-on-exit -c "$cfg"
	wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd-$2.log' || ! kill -0 $LBT_LAST_PID" 20 || true
	grep -q 'ready:' "$LBT_LOGDIR/lbd-$2.log" ||
		fail "lbd ($1) did not start: $(tail -n 5 "$LBT_LOGDIR/lbd-$2.log")"
}

stop_lbd() { # stop_lbd TAG: SIGTERM (teardown-on-exit removes the datapath)
	stop_proc "lbd-$1"
	if ip -n "$NS_LB" link show dev "$LB_IF_C" | grep -q xdp; then
		log "lbd left XDP on $LB_IF_C: tearing down"
		in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 || true
	fi
	wait_for "! lb_listening" 5 || fail "port 443 still in use on the LB after lbd stopped"
}

start_haproxy() { # start_haproxy TAG
	local cfg=$LBT_RUN/haproxy.cfg splice=
	((HAPROXY_SPLICE)) && splice="    option splice-auto"
	cat >"$cfg" <<EOF
global
    maxconn 8000
    nbthread $HAPROXY_THREADS
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
$splice
frontend tls
    bind $VIP:443
    tcp-request inspect-delay 5s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend api if { req.ssl_sni -i api.example.com }
    default_backend rest
backend api
    server b2 10.2.2.2:443
backend rest
    server b1 10.2.1.2:443
EOF
	spawn "$NS_LB" "haproxy-$1" haproxy -db -f "$cfg"
	wait_for lb_listening 10 || fail "haproxy did not start: $(tail -n 5 "$LBT_LOGDIR/haproxy-$1.log")"
}

stop_haproxy() {
	stop_proc "haproxy-$1"
	wait_for "! lb_listening" 5 || fail "port 443 still in use on the LB after haproxy stopped"
}

# Leftover sockets of the previous phase (TIME-WAIT etc.) out of the way, best effort.
flush_sockets() {
	local ns
	for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do
		in_ns "$ns" ss -K -t state time-wait >/dev/null 2>&1 || true
		in_ns "$ns" ss -K -t state close-wait >/dev/null 2>&1 || true
	done
	sleep 0.5
}

cget() { # cget HOST NAME PATH: one GET through curl from the client namespace
	in_ns "$NS_C" curl -sk --max-time 5 --resolve "$2:443:$1" "https://$2$3"
}

# measure MODE ROUND HOST: routing check, new-connection rate, bulk download.
RESULTS=$LBT_RUN/results
: >"$RESULTS"
measure() {
	local mode=$1 round=$2 host=$3 out cps failed bulk mbps
	if [[ $BACKEND_KIND == nginx ]]; then
		out=$(cget "$host" api.example.com /small) || true
		[[ $out == b2 ]] || fail "$mode: api.example.com answered '$out', want b2"
		if [[ $mode != direct ]]; then
			out=$(cget "$host" other.example.com /small) || true
			[[ $out == b1 ]] || fail "$mode: other.example.com answered '$out', want b1"
		fi
	fi
	flush_sockets
	out=$(in_ns "$NS_C" timeout $((SECS + 60)) "$LBT_PY" "$HERE/tls_load.py" --host "$host" \
		--port 443 --sni api.example.com --path /small --conc "$CONC" --seconds "$SECS") ||
		fail "$mode: load generator failed: $out"
	cps=$(json_get "$out" cps)
	failed=$(json_get "$out" failed)
	((failed == 0)) || log "$mode round $round: $failed failed connections: $(json_get "$out" errors)"
	flush_sockets
	bulk=$(in_ns "$NS_C" curl -sk --max-time "$BULK_MAX_TIME" -o /dev/null \
		-w '%{speed_download} %{size_download} %{http_code}' \
		--resolve "api.example.com:443:$host" https://api.example.com/big) || true
	read -r mbps size code <<<"$bulk"
	[[ ${code:-} == 200 ]] || log "$mode round $round: bulk download: '$bulk'"
	((${size:-0} == BULK_MB * 1048576)) || log "$mode round $round: bulk got ${size:-0} of $((BULK_MB * 1048576)) bytes (time cap $BULK_MAX_TIME s)"
	mbps=$(awk -v b="${mbps:-0}" 'BEGIN { printf "%.1f", b / 1e6 }')
	printf '%s %s %s %s %s\n' "$mode" "$round" "$cps" "$failed" "$mbps" >>"$RESULTS"
	printf '# round %s %-12s %8s conn/s (%s failed) %8s MB/s\n' "$round" "$mode" "$cps" "$failed" "$mbps" >&2
}

run_mode() { # run_mode MODE ROUND
	local tag=$1-r$2
	case $1 in
	lbd-sockmap) start_lbd sockmap "$tag"; measure "$1" "$2" "$VIP"; stop_lbd "$tag" ;;
	lbd-copy) start_lbd copy "$tag"; measure "$1" "$2" "$VIP"; stop_lbd "$tag" ;;
	haproxy) start_haproxy "$tag"; measure "$1" "$2" "$VIP"; stop_haproxy "$tag" ;;
	direct) measure "$1" "$2" 10.2.2.2 ;;
	esac
}

log "$(date -u +%FT%TZ) kernel $(uname -r), $(nproc) cores; backends: $BACKEND_KIND" \
	"$( [[ $BACKEND_KIND == nginx ]] && nginx -v 2>&1 | sed 's/.*: //')," \
	"$(haproxy -v | head -n 1 | cut -d' ' -f1-3) (nbthread $HAPROXY_THREADS, splice $HAPROXY_SPLICE)"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews everything)"
log "rounds $ROUNDS, load $SECS s at concurrency $CONC (SNI api.example.com), bulk ${BULK_MB} MB (cap ${BULK_MAX_TIME} s)"
n=${#MODES[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the order each round so no mode always runs first or last.
	for ((k = 0; k < n; k++)); do
		run_mode "${MODES[(k + r - 1) % n]}" "$r"
	done
done

# ---------------------------------------------------------------------------- the table

log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$LBT_PY" - "$RESULTS" "${MODES[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
modes = sys.argv[2:]
def col(mode, i):
    return [float(r[i]) for r in rows if r[0] == mode]
ref_c = statistics.median(col("direct", 2)) if col("direct", 2) else 0
ref_b = statistics.median(col("direct", 4)) if col("direct", 4) else 0
print("%-12s %10s %17s %7s | %9s %15s %7s | %s" % ("mode", "conn/s", "spread", "vs dir",
      "MB/s", "spread", "vs dir", "failed conns"))
for m in modes:
    c, b = col(m, 2), col(m, 4)
    if not c:
        continue
    mc, mb = statistics.median(c), statistics.median(b)
    fails = int(sum(col(m, 3)))
    print("%-12s %10.1f %17s %7s | %9.1f %15s %7s | %d" % (
        m, mc, "%.1f-%.1f" % (min(c), max(c)), "%.2f" % (mc / ref_c) if ref_c else "-",
        mb, "%.1f-%.1f" % (min(b), max(b)), "%.2f" % (mb / ref_b) if ref_b else "-", fails))
print("(medians over %d rounds; spread = min-max)" % max(len(col(m, 2)) for m in modes))
EOF
