#!/bin/bash
# SNI routing benchmark: lbd (auto, copy and sockmap splice) against HAProxy (TCP mode,
# req.ssl_sni) and a direct client->backend path, on the integration-test namespace
# topology (client, LB, 2 backends), with nginx TLS backends and wrk (C) as the client.
#
# Usage: sudo bench/sni_vs_haproxy.sh [--rounds N] [--seconds S] [--conc C] [--bulk-mb M]
#
#   --rounds N    interleaved rounds, every mode once per round (default 3)
#   --seconds S   duration of each wrk phase (new connections, keep-alive; default 10)
#   --conc C      concurrent connections of the load generator (default 8)
#   --bulk-mb M   size of the file moved in each bulk phase (default 200)
#   --modes LIST  comma-separated subset of lbd-auto,lbd-copy,lbd-sockmap,haproxy,direct,
#                 base-auto,base-copy,base-sockmap (default the first five; base-* need
#                 --lbd-base)
#   --lbd-base P  a second lbd binary (e.g. the base commit's build) for the base-* modes
#
# Environment: HAPROXY_THREADS (default 1, like lbd's single event loop),
# HAPROXY_SPLICE=1 (add "option splice-auto"), BULK_MAX_TIME (curl cap, default 60 s),
# PERF_DIR=DIR (perf record the LB process in each wrk phase into DIR; skews the figures),
# STRACE_DIR=DIR (strace -f the LB process in each wrk phase: the syscall sequence),
# PERF_STAT=1 (print the LB process's syscalls, context switches and CPU ms per request).
#
# Builds nothing: expects build/daemon/lbd from `meson setup build && ninja -C build`.
# Installs haproxy, nginx-light (or nginx), openssl, curl and wrk from Debian when missing.
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
MODES=(lbd-auto lbd-copy lbd-sockmap haproxy direct)
LBD_BASE=

usage() { sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--conc) CONC=${2:?}; shift 2 ;;
	--bulk-mb) BULK_MB=${2:?}; shift 2 ;;
	--modes) IFS=, read -r -a MODES <<<"${2:?}"; shift 2 ;;
	--lbd-base) LBD_BASE=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for m in "${MODES[@]}"; do
	[[ $m =~ ^(lbd-auto|lbd-sockmap|lbd-copy|base-auto|base-sockmap|base-copy|haproxy|direct)$ ]] ||
		{ echo "unknown mode: $m" >&2; exit 2; }
	[[ $m != base-* || -x $LBD_BASE ]] || { echo "mode $m needs --lbd-base PATH (an lbd binary)" >&2; exit 2; }
done
for v in "$ROUNDS" "$SECS" "$CONC" "$BULK_MB"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "numbers must be positive integers: $v" >&2; exit 2; }
done

. "$HERE/lib.sh"
bench_preflight "$@"

# ---------------------------------------------------------------------------- packages

bench_install haproxy:haproxy openssl:openssl curl:curl wrk:wrk ||
	echo "# nginx unavailable: falling back to openssl s_server -WWW backends" >&2
bench_require haproxy openssl curl wrk
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
    keepalive_timeout 60;
    keepalive_requests 100000000;
    server {
        listen $ip:443 ssl;
        ssl_certificate $d/crt.pem;
        ssl_certificate_key $d/key.pem;
        ssl_session_cache off;
        ssl_session_tickets off;
        location = /small { default_type text/plain; return 200 "b$i\n"; }
        location = /big { default_type application/octet-stream; alias $WWW/big; }
        # Upload: nginx reads the body and throws it away.
        location = /up { client_max_body_size 0; return 200 "up\n"; }
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

start_lbd() { # start_lbd SPLICE TAG [BINARY]
	local cfg=$LBT_RUN/lbd-$1.json bin=${3:-$LBD}
	cat >"$cfg" <<EOF
{"proxies": [{"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
  "default-target": {"ip": "10.2.1.2", "port": 443},
  "sni-routes": [{"sni-hostname": "api.example.com", "target": {"ip": "10.2.2.2", "port": 443}}]}],
 "settings": {"sni-splice": "$1"}}
EOF
	spawn "$NS_LB" "lbd-$2" "$bin" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--teardown-on-exit -c "$cfg"
	LB_PID=$LBT_LAST_PID
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
	LB_PID=$LBT_LAST_PID
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

# The client resolves api.example.com to HOST: ip netns exec bind-mounts
# /etc/netns/<ns>/hosts over /etc/hosts (wrk takes the TLS server name from the URL).
HOSTS_DIR=/etc/netns/$NS_C
mkdir -p "$HOSTS_DIR"
LBT_EXIT_HOOKS+=("rm -rf '$HOSTS_DIR'")
set_host() { printf '127.0.0.1 localhost\n%s api.example.com\n' "$1" >"$HOSTS_DIR/hosts"; }

# CPU ticks (user+system) of the LB process so far; 0 without one (direct).
lb_ticks() {
	[[ -n ${LB_PID:-} && -r /proc/$LB_PID/stat ]] || { echo 0; return; }
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$LB_PID/stat"
}

# wrk_phase LABEL ARGS...: prints "REQ_PER_S ERRORS LB_US_PER_REQ".
wrk_phase() {
	local label=$1 out rps errs t0 t1 n us perf_pid=
	shift
	flush_sockets
	t0=$(lb_ticks)
	if [[ -n ${PERF_DIR:-} && -n ${LB_PID:-} ]]; then
		# Profile of the LB process over this phase (PERF_DIR set: profiling, not measuring).
		mkdir -p "$PERF_DIR"
		perf record -q --call-graph dwarf,16384 -F 499 -p "$LB_PID" \
			-o "$PERF_DIR/${label// /-}.data" >/dev/null 2>&1 &
		perf_pid=$!
	elif [[ -n ${STRACE_DIR:-} && -n ${LB_PID:-} ]]; then
		# Every syscall of the LB process over this phase (slow: a sequence, not a rate).
		mkdir -p "$STRACE_DIR"
		strace -f -qq -o "$STRACE_DIR/${label// /-}.strace" -p "$LB_PID" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	elif [[ -n ${PERF_STAT:-} && -n ${LB_PID:-} ]]; then
		# Syscalls and context switches of the LB process over this phase.
		perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$LB_PID" \
			-o "$LBT_RUN/perfstat" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	out=$(in_ns "$NS_C" timeout $((SECS + 30)) wrk -t1 -c "$CONC" -d "${SECS}s" "$@" \
		https://api.example.com/small 2>&1) || fail "$label: wrk failed: $out"
	t1=$(lb_ticks)
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	n=$(awk '/requests in/ { print $1 }' <<<"$out")
	if [[ -n ${perf_pid:-} ]]; then
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
		perf_pid=
		if [[ -n ${PERF_STAT:-} ]]; then
			awk -F, -v n="$n" -v l="$label" '$3 ~ /sys_enter|context-switches|task-clock/ && n > 0 {
				printf "# %s: %s %.2f per request\n", l, $3, $1 / n }' "$LBT_RUN/perfstat" >&2
		fi
	fi
	errs=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }
		/Non-2xx/ { print $NF }' <<<"$out" | awk '{ s += $1 } END { print s + 0 }')
	[[ -n $rps && -n $n ]] || fail "$label: cannot read wrk's output: $out"
	us=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { if (n > 0 && d > 0) printf "%.1f", d * 1e6 / hz / n; else print "-" }')
	echo "$rps $errs $us"
}

# bulk_phase LABEL down|up HOST: MB/s (10^6 bytes) of one transfer of the bulk file.
bulk_phase() {
	local label=$1 dir=$2 host=$3 out rate size code want=$((BULK_MB * 1048576))
	flush_sockets
	if [[ $dir == down ]]; then
		out=$(in_ns "$NS_C" curl -sk --max-time "$BULK_MAX_TIME" -o /dev/null \
			-w '%{speed_download} %{size_download} %{http_code}' \
			--resolve "api.example.com:443:$host" https://api.example.com/big) || true
	else
		out=$(in_ns "$NS_C" curl -sk --max-time "$BULK_MAX_TIME" -o /dev/null -X POST \
			-H 'Expect:' -T "$WWW/big" \
			-w '%{speed_upload} %{size_upload} %{http_code}' \
			--resolve "api.example.com:443:$host" https://api.example.com/up) || true
	fi
	read -r rate size code <<<"$out"
	[[ ${code:-} == 200 ]] || log "$label: bulk $dir: '$out'"
	((${size:-0} == want)) || log "$label: bulk $dir moved ${size:-0} of $want bytes (time cap $BULK_MAX_TIME s)"
	awk -v b="${rate:-0}" 'BEGIN { printf "%.1f", b / 1e6 }'
}

# measure MODE ROUND HOST: routing check, new TLS connections, keep-alive requests, bulk
# both ways.
RESULTS=$LBT_RUN/results
: >"$RESULTS"
measure() {
	local mode=$1 round=$2 host=$3 out new ka down up nr ne nu kr ke ku
	if [[ $BACKEND_KIND == nginx ]]; then
		out=$(cget "$host" api.example.com /small) || true
		[[ $out == b2 ]] || fail "$mode: api.example.com answered '$out', want b2"
		if [[ $mode != direct ]]; then
			out=$(cget "$host" other.example.com /small) || true
			[[ $out == b1 ]] || fail "$mode: other.example.com answered '$out', want b1"
		fi
	fi
	set_host "$host"
	# Every request on a new TLS connection (full handshake: no session cache, no tickets).
	new=$(wrk_phase "$mode round $round new" -H 'Connection: close')
	ka=$(wrk_phase "$mode round $round keep-alive")
	down=$(bulk_phase "$mode round $round" down "$host")
	up=$(bulk_phase "$mode round $round" up "$host")
	read -r nr ne nu <<<"$new"
	read -r kr ke ku <<<"$ka"
	printf '%s %s %s %s %s %s %s %s %s %s\n' "$mode" "$round" "$nr" "$ne" "$nu" "$kr" "$ke" "$ku" \
		"$down" "$up" >>"$RESULTS"
	printf '# round %s %-12s new %8s conn/s (%s err, LB %s us/conn)  ka %9s req/s (%s err, LB %s us/req)  down %7s MB/s  up %7s MB/s\n' \
		"$round" "$mode" "$nr" "$ne" "$nu" "$kr" "$ke" "$ku" "$down" "$up" >&2
}

run_mode() { # run_mode MODE ROUND
	local tag=$1-r$2
	LB_PID=
	case $1 in
	lbd-*) start_lbd "${1#lbd-}" "$tag"; measure "$1" "$2" "$VIP"; stop_lbd "$tag" ;;
	base-*) start_lbd "${1#base-}" "$tag" "$LBD_BASE"; measure "$1" "$2" "$VIP"; stop_lbd "$tag" ;;
	haproxy) start_haproxy "$tag"; measure "$1" "$2" "$VIP"; stop_haproxy "$tag" ;;
	direct) measure "$1" "$2" 10.2.2.2 ;;
	esac
}

log "$(date -u +%FT%TZ) kernel $(uname -r), $(nproc) cores; backends: $BACKEND_KIND" \
	"$( [[ $BACKEND_KIND == nginx ]] && nginx -v 2>&1 | sed 's/.*: //')," \
	"$(haproxy -v | head -n 1 | cut -d' ' -f1-3) (nbthread $HAPROXY_THREADS, splice $HAPROXY_SPLICE)"
log "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews everything)"
log "rounds $ROUNDS, wrk 1 thread, $SECS s per phase at concurrency $CONC (SNI api.example.com), bulk ${BULK_MB} MB each way (cap ${BULK_MAX_TIME} s)"
log "lbd: $LBD ($("$LBD" --version 2>&1 | head -n 1))${LBD_BASE:+; base: $LBD_BASE ($("$LBD_BASE" --version 2>&1 | head -n 1))}"
n=${#MODES[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the order each round so no mode always runs first or last.
	for ((k = 0; k < n; k++)); do
		run_mode "${MODES[(k + r - 1) % n]}" "$r"
	done
done

# ---------------------------------------------------------------------------- the table

log "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

rm -rf "$HOSTS_DIR"

"$LBT_PY" - "$RESULTS" "${MODES[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
modes = [m for m in sys.argv[2:] if any(r[0] == m for r in rows)]
cols = [("new TLS connections/s (wrk, Connection: close)", 2, 3, 4),
        ("keep-alive TLS requests/s (wrk)", 5, 6, 7),
        ("bulk download MB/s (backend -> client)", 8, None, None),
        ("bulk upload MB/s (client -> backend)", 9, None, None)]
def vals(mode, i):
    return [float(r[i]) for r in rows if r[0] == mode and r[i] != "-"]
def ratio(mode, ref, i):
    # Median of the per-round ratios: the machine's load drifts between rounds, and a
    # ratio taken within one round is less disturbed by that than a ratio of medians.
    by = {r[1]: float(r[i]) for r in rows if r[0] == ref and float(r[i]) > 0}
    q = sorted(float(r[i]) / by[r[1]] for r in rows if r[0] == mode and r[1] in by)
    if not q:
        return "-"
    return "%.2f (%.2f-%.2f)" % (statistics.median(q), q[0], q[-1])
for title, i, ie, iu in cols:
    print(title)
    print("  %-12s %9s %17s %18s %18s %6s %8s" % ("mode", "median", "spread (min-max)",
          "vs direct", "vs haproxy", "errors", "LB us/op"))
    for m in modes:
        v = vals(m, i)
        med = statistics.median(v)
        err = "%d" % sum(vals(m, ie)) if ie else "-"
        us = vals(m, iu) if iu else []
        print("  %-12s %9.1f %17s %18s %18s %6s %8s" % (m, med, "%.1f-%.1f" % (min(v), max(v)),
              ratio(m, "direct", i), ratio(m, "haproxy", i), err,
              "%.1f" % statistics.median(us) if us else "-"))
    print()
print("(medians over %d rounds; spread = min-max; vs X: median of the per-round ratios to X,"
      " (min-max); LB us/op: CPU time of the LB process (user+system) per request, median;"
      " softirq work done in other contexts is not in it)" % max(len(vals(m, 2)) for m in modes))
EOF
