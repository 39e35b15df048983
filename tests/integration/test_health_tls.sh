#!/bin/bash
# HTTPS health checks of virtual hosts: a check's "host" goes out as SNI and in the Host
# header, "tls-verify" checks the certificate against "ca-file". The backends are real TLS
# servers in namespaces that insist on their server name: `openssl s_server` with
# -servername_fatal (another name is refused; none gets a default certificate no check
# should accept) and lbtraffic's TLS server (no name or another is refused, a wrong Host
# header gets 421). Backends that require a PROXY protocol v2 header (tls_tool.py serve
# --proxy-protocol, TLS and plain HTTP) behind an SNI route: their checks send the LOCAL header.
#
# Usage: test_health_tls.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=hctls

lbt_require_env
command -v openssl >/dev/null || {
	echo "skip: openssl not installed" >&2
	exit 77
}
topo_up 2
bpffs_up
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
PKI=$LBT_RUN/pki
mkdir -p "$PKI"

# A private CA; "api.example.com" and a default certificate signed by it; another CA.
pki() {
	local name=$1 cn=$2 ca=${3:-}
	if [[ -z $ca ]]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$cn" \
			-addext basicConstraints=critical,CA:TRUE -keyout "$PKI/$name.key" \
			-out "$PKI/$name.pem" >/dev/null 2>&1
		return
	fi
	openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$PKI/$name.key" \
		-out "$PKI/$name.csr" >/dev/null 2>&1
	openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.pem" -CAkey "$PKI/$ca.key" \
		-CAcreateserial -days 1 -extfile <(echo "subjectAltName=DNS:$cn") \
		-out "$PKI/$name.pem" >/dev/null 2>&1
}
pki ca "lbd test CA"
pki other-ca "another CA"
pki api api.example.com ca
pki default default.invalid ca

# b1:8443: openssl, two certificates, "api.example.com" required when a name is sent.
spawn "${NS_BACKENDS[0]}" tls-b1 openssl s_server -quiet -www -accept 10.2.1.2:8443 \
	-cert "$PKI/default.pem" -key "$PKI/default.key" \
	-servername api.example.com -servername_fatal \
	-cert2 "$PKI/api.pem" -key2 "$PKI/api.key"
# b2:8443: TLS, SNI and Host both required; b2:8080: plain HTTP, Host required.
start_server "${NS_BACKENDS[1]}" b2 10.2.2.2 8443 --tcp --vhost api.example.com \
	--tls-cert "$PKI/api.pem" --tls-key "$PKI/api.key"
start_server "${NS_BACKENDS[1]}" b2 10.2.2.2 8080 --tcp --vhost api.example.com
# b1:9443 (TLS) and b1:9080 (plain HTTP) close a connection that does not open with a PROXY
# protocol v2 header.
start_tls_server "${NS_BACKENDS[0]}" b1pp 10.2.1.2 9443 b1pp --proxy-protocol
start_tls_server "${NS_BACKENDS[0]}" b1pp-http 10.2.1.2 9080 b1pp --proxy-protocol --plain

# hc PROXY PORT TARGET CHECK: a proxy of one target whose health check is CHECK (JSON).
hc() {
	printf '{"name": "%s", "listen": {"interfaces": ["%s"], "port": %s},
	  "default-target": {"ip": "%s", "port": %s, "health-check": %s}}' \
		"$1" "$LB_IF_C" "$2" "${3%:*}" "${3#*:}" "$4"
}
cat >"$CONFIG" <<EOF
{"proxies": [
  $(hc verified 443 10.2.1.2:8443 '{"host": "api.example.com", "tls-verify": true, "ca-file": "'"$PKI/ca.pem"'"}'),
  $(hc vhost 444 10.2.2.2:8443 '{"host": "api.example.com"}'),
  $(hc vhost-http 80 10.2.2.2:8080 '{"type": "http", "host": "api.example.com"}'),
  $(hc no-name 445 10.2.2.2:8443 '{}'),
  $(hc no-name-http 81 10.2.2.2:8080 '{"type": "http"}'),
  $(hc wrong-name 446 10.2.1.2:8443 '{"host": "www.example.com"}'),
  $(hc default-cert 447 10.2.1.2:8443 '{"tls-verify": true, "ca-file": "'"$PKI/ca.pem"'"}'),
  $(hc other-ca 448 10.2.1.2:8443 '{"host": "api.example.com", "tls-verify": true, "ca-file": "'"$PKI/other-ca.pem"'"}'),
  {"name": "pp", "listen": {"interfaces": ["$LB_IF_C"], "port": 450},
   "default-target": {"ip": "10.2.1.2", "port": 9080, "proxy-protocol": "v2",
                      "health-check": {"type": "http"}},
   "sni-routes": [{"sni-hostname": "pp.example.com",
                   "target": {"ip": "10.2.1.2", "port": 9443, "proxy-protocol": "v2"}}]}],
 "settings": {"health-check-enabled": true,
              "health-check-defaults": {"type": "https", "path": "/", "interval-ms": 1000,
                                        "timeout-ms": 500, "healthy-threshold": 1,
                                        "unhealthy-threshold": 1}}}
EOF
lbt_start_lbd --teardown-on-exit -c "$CONFIG"

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# health_of PROXY FIELD: a field of the proxy's one target in `lbctl --json health`.
health_of() {
	lbctl --json health "$1" | "$LBT_PY" -c '
import json, sys
t = json.load(sys.stdin)["proxies"][0]["targets"][0]
print(t.get(sys.argv[1], ""))' "$2"
}

# health_at PROXY TARGET FIELD: a field of one target of the proxy in `lbctl --json health`.
health_at() {
	lbctl --json health "$1" | "$LBT_PY" -c '
import json, sys
for t in json.load(sys.stdin)["proxies"][0]["targets"]:
    if t["target"] == sys.argv[1]:
        print(t.get(sys.argv[2], ""))' "$2" "$3"
}

# settled PROXY STATUS ERROR: the check has run and gave STATUS with last-error ERROR.
settled() {
	wait_for "[[ \$(health_of $1 status)/\$(health_of $1 last-error) == $2/$3 ]]" 8 ||
		fail "$1: $(health_of "$1" status)/$(health_of "$1" last-error) ($(health_of "$1" last-error-detail)), want $2/$3"
}

# ---------------------------------------------------------------------------- tests

test_virtual_hosts_are_healthy() {
	settled verified healthy ok
	settled vhost healthy ok
	settled vhost-http healthy ok
}

test_without_a_name_they_fail() {
	settled no-name unhealthy tls-error       # the server insists on SNI
	settled no-name-http unhealthy bad-status # ... and on its Host header
	assert_eq "$(health_of no-name-http last-http-status)" 421 "Host: IP:PORT is misdirected"
	settled wrong-name unhealthy tls-error # s_server refuses another name
}

test_certificates_are_verified() {
	settled default-cert unhealthy tls-verify-failed
	assert_eq "$(health_of default-cert last-error-detail)" "IP address mismatch" \
		"no host: the certificate must name the IP"
	settled other-ca unhealthy tls-verify-failed
	assert_eq "$(health_of other-ca last-error-detail)" \
		"unable to get local issuer certificate" "a certificate of another CA"
	lbctl health other-ca | grep -qF "tls-verify-failed: unable to get local issuer certificate" ||
		fail "lbctl health does not say why: $(lbctl health other-ca)"
	grep -qF "health: other-ca 10.2.1.2:8443 is now unhealthy (tls-verify-failed: unable to get local issuer certificate)" \
		"$LBT_LOGDIR/lbd.log" || fail "the log does not say why"
}

# Targets lbd sends PROXY v2 to require it, so their checks open with a v2 LOCAL header: the
# https one before the ClientHello, the http one before the request. Without it the backend
# closes the connection (tls-error, connection-reset) while clients get through. And clients
# still reach the backend through the SNI route, with their own address in the header.
test_proxy_protocol_targets_are_healthy() {
	local tgt out
	for tgt in 10.2.1.2:9443 10.2.1.2:9080; do
		wait_for "[[ \$(health_at pp $tgt status)/\$(health_at pp $tgt last-error) == healthy/ok ]]" 8 ||
			fail "pp $tgt: $(health_at pp $tgt status)/$(health_at pp $tgt last-error) ($(health_at pp $tgt last-error-detail)), want healthy/ok"
	done
	assert_eq "$(health_at pp 10.2.1.2:9080 last-http-status)" 200 "the http check's answer"
	out=$(in_ns "$NS_C" "$LBT_PY" "$LBT_DIR/tls_tool.py" tally --host "$VIP" --port 450 \
		--sni pp.example.com --count 3)
	assert_eq "$(json_get "$out" by_backend.b1pp 0)" 3 "pp.example.com through lbd ($out)"
	[[ $out == *'"b1pp pp.example.com 10.1.0.2:'* ]] ||
		fail "the PROXY header did not carry the client's address: $out"
}

# A CA file that cannot be read is refused up front, naming it; nothing changes.
test_unreadable_ca_file_is_refused() {
	local before out
	before=$(lbctl --json get-config)
	hc broken 449 10.2.1.2:8443 '{"host": "api.example.com", "tls-verify": true, "ca-file": "'"$PKI/nope.pem"'"}' >"$LBT_RUN/broken.json"
	if out=$(lbctl add-proxy --file "$LBT_RUN/broken.json" 2>&1); then
		fail "add-proxy with a missing ca-file accepted: $out"
	fi
	[[ $out == *"proxy broken, target 10.2.1.2:8443: health-check: cannot load CA certificates from $PKI/nope.pem: No such file or directory"* ]] ||
		fail "unclear error: $out"
	assert_eq "$(lbctl --json get-config)" "$before" "configuration after the refusal"
	echo "not a certificate" >"$LBT_RUN/bad.pem"
	hc broken 449 10.2.1.2:8443 '{"host": "api.example.com", "tls-verify": true, "ca-file": "'"$LBT_RUN/bad.pem"'"}' >"$LBT_RUN/broken.json"
	if out=$(lbctl add-proxy --file "$LBT_RUN/broken.json" 2>&1); then
		fail "add-proxy with a ca-file holding no certificate accepted: $out"
	fi
	[[ $out == *"cannot load CA certificates from $LBT_RUN/bad.pem"* ]] || fail "unclear error: $out"
}

# A renewed CA file is read again: other-ca's check passes once the file holds the right CA.
test_ca_file_is_reread() {
	cp "$PKI/ca.pem" "$PKI/other-ca.pem"
	settled other-ca healthy ok
}

# get-config shows the new keys, and what it shows is a configuration lbd accepts.
test_get_config_round_trip() {
	local cfg
	cfg=$(lbctl --json get-config)
	[[ $cfg == *'"host":"api.example.com","tls-verify":true,"ca-file":"'"$PKI/ca.pem"'"'* ]] ||
		fail "get-config lacks the TLS keys: $cfg"
	echo "$cfg" >"$LBT_RUN/again.json"
	in_ns "$NS_LB" "$LBD" -c "$LBT_RUN/again.json" --check >/dev/null ||
		fail "get-config output refused by --check"
}

run_test test_virtual_hosts_are_healthy
run_test test_without_a_name_they_fail
run_test test_certificates_are_verified
run_test test_proxy_protocol_targets_are_healthy
run_test test_unreadable_ca_file_is_refused
run_test test_ca_file_is_reread
run_test test_get_config_round_trip
run_summary
