#!/usr/bin/env bash
# 57-sandbox-net: a step granted the network (permissions: {network: true})
# has a network of its own, under gVisor and under bubblewrap alike: it
# reaches an address outside the host (a listener in a network namespace
# this script makes), and nothing of the host — not the server, not another
# port on the host's loopback, not a listener on the host's own address, not
# a private network, not the metadata address 169.254.169.254. Its /etc is
# the sandbox's own: exactly the expected entries, resolv.conf pointing at
# the sandbox's DNS (which answers), its own passwd.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
	# network namespaces and gVisor need root; say so in the tally
	echo "57-sandbox-net: needs root"
	fail "run as root"
	finish
	exit
fi
export PLUE_WARM_POOL=1

# ---- the outside: a namespace joined to the host by a veth pair ----
# 203.0.113.205/30 on the host's side (TEST-NET-3: a documentation range,
# not a private one, so steps may reach it) and .206 inside, plus a private
# address inside (100.127.113.6, shared address space, which steps may not
# reach). A /30 leaves the host's route to the rest of 203.0.113.0/24 alone.
NS="plue-it57-$$"
VETH="pl57-$(($$ % 100000))a"
PEER="pl57-$(($$ % 100000))b"
OUT_HOST=203.0.113.205
OUT_PEER=203.0.113.206
OUT_PRIVATE=100.127.113.6
LISTENERS=()
net_cleanup() {
	local p
	for p in "${LISTENERS[@]}"; do kill "$p" 2>/dev/null; done
	ip link del "$VETH" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap 'net_cleanup; cleanup' EXIT
ip netns add "$NS" &&
	ip link add "$VETH" type veth peer name "$PEER" &&
	ip link set "$PEER" netns "$NS" &&
	ip addr add "$OUT_HOST/30" dev "$VETH" &&
	ip link set "$VETH" up &&
	ip -n "$NS" addr add "$OUT_PEER/30" dev "$PEER" &&
	ip -n "$NS" addr add "$OUT_PRIVATE/32" dev "$PEER" &&
	ip -n "$NS" link set "$PEER" up &&
	ip -n "$NS" link set lo up &&
	ip route add "$OUT_PRIVATE/32" dev "$VETH" ||
	{ fail "cannot set up the outside namespace"; finish; exit; }
# the host's own address: the first global IPv4 address not the test's
HOST_ADDR=$(ip -4 -o addr show scope global | awk -v v="$VETH" '$2 != v { sub("/.*", "", $4); print $4; exit }')
check "the host has an address of its own ($HOST_ADDR)" test -n "$HOST_ADDR"

# free_port: a TCP port nothing on the host listens on
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# listen NAME ADDR PORT [NS]: an HTTP listener logging every request to
# $T_DIR/NAME.log, up when this returns
listen() {
	local name=$1 addr=$2 port=$3 ns=${4:-} i
	mkdir -p "$T_DIR/www-$name"
	echo "$name" >"$T_DIR/www-$name/index.html"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" python3 -m http.server --bind "$addr" --directory "$T_DIR/www-$name" "$port" \
			>"$T_DIR/$name.log" 2>&1 &
	else
		python3 -m http.server --bind "$addr" --directory "$T_DIR/www-$name" "$port" >"$T_DIR/$name.log" 2>&1 &
	fi
	LISTENERS+=($!)
	for i in $(seq 1 100); do
		if [ -n "$ns" ]; then
			ip netns exec "$ns" curl -s -o /dev/null "http://$addr:$port/" && break
		else
			curl -s -o /dev/null "http://$addr:$port/" && break
		fi
		sleep 0.1
	done
	: >"$T_DIR/$name.log" # the probe above is not the step's
}
listen outside 0.0.0.0 8080 "$NS"
LOOP_PORT=$(free_port)
listen loopback 127.0.0.1 "$LOOP_PORT"
HOST_PORT=$(free_port)
listen hostaddr "$HOST_ADDR" "$HOST_PORT"
VETH_PORT=$(free_port)
listen veth "$OUT_HOST" "$VETH_PORT"

# requests DIR NAME: how many requests listener NAME logged
requests() { grep -c '"GET ' "$T_DIR/$1.log"; }


# run_by_path PATH: the id of the newest run of a workflow file
run_by_path() {
	api GET /api/alice/net/runs "$ALICE"
	node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8")).filter(x=>x.path===process.argv[1]).sort((a,b)=>b.id-a.id)[0];process.stdout.write(r?String(r.id):"")' "$1" <<<"$BODY_OUT"
}

# The /etc a step sees: the sandbox's own files, the host entries programs
# need (each where the host has it), resolv.conf with network, the statx
# shim's ld.so.preload under gVisor.
etc_want() {
	local names=(group hosts nsswitch.conf passwd resolv.conf) n
	[ "$1" = gvisor ] && names+=(ld.so.preload)
	for n in alternatives ld.so.cache ld.so.conf ld.so.conf.d localtime os-release protocols services timezone; do
		[ -e "/etc/$n" ] || [ -L "/etc/$n" ] && names+=("$n")
	done
	{ [ -e /etc/ssl/certs ] || [ -e /etc/ssl/openssl.cnf ]; } && names+=(ssl)
	printf '%s\n' "${names[@]}" | LC_ALL=C sort | paste -sd ' ' -
}

SRC="$T_DIR/src"
git init -q "$SRC"
mkdir -p "$SRC/.plue/workflows"
first=1
for kind in gvisor bwrap; do
	export PLUE_SANDBOX=$kind
	start_server
	if [ "$first" = 1 ]; then
		ALICE=$(new_user alice)
		api POST /api/repos "$ALICE" '{"name":"net"}'
		expect_status 201 "create repo"
		first=0
	fi
	cat >"$SRC/.plue/workflows/net.yaml" <<EOF
name: Net
on: push
jobs:
  probe:
    permissions: {contents: read, network: true}
    steps:
      - name: Probe
        run: |
          try() { if curl -s -m 10 -o /dev/null "\$2"; then echo "\$1=yes"; else echo "\$1=no"; fi; }
          try outside http://$OUT_PEER:8080/
          try private http://$OUT_PRIVATE:8080/
          try server http://127.0.0.1:$PORT/api/health
          try register http://10.0.2.2:$PORT/internal/runners/register
          try loopback http://127.0.0.1:$LOOP_PORT/
          try hostloop http://10.0.2.2:$LOOP_PORT/
          try hostaddr http://$HOST_ADDR:$HOST_PORT/
          try veth http://$OUT_HOST:$VETH_PORT/
          try metadata http://169.254.169.254/
          echo "etc \$(LC_ALL=C ls -A /etc | paste -sd ' ' -)"
          echo "resolv \$(cat /etc/resolv.conf)"
          echo "passwd \$(cut -d: -f1 /etc/passwd | paste -sd ' ' -)"
          echo "whoami \$(whoami)"
          echo "hosts \$(getent hosts plue | tr -s ' ')"
          python3 -c 'import socket
          try: socket.getaddrinfo("plue-probe.invalid", 80); print("dns found")
          except socket.gaierror as e: print("dns", e.errno)'
EOF
	(cd "$SRC" && git add . && git commit -qm "probe under $kind")
	check "$kind: push" git -C "$SRC" push -q "http://alice:$ALICE@127.0.0.1:$PORT/alice/net.git" main
	RUN=""
	for i in $(seq 1 100); do
		RUN=$(run_by_path .plue/workflows/net.yaml)
		[ -n "$RUN" ] && [ "$RUN" != "${LAST_RUN:-}" ] && break
		sleep 0.1
	done
	LAST_RUN=$RUN
	wait_run "$RUN"
	expect_json .status success "$kind: the probe ran"
	expect_json .sandbox "$kind" "$kind: in the sandbox asked for"
	api GET "/api/runs/$RUN/logs" "$ALICE"
	LOG=$BODY_OUT
	has() { grep -qxF -- "$1" <<<"$LOG"; }
	check "$kind: reaches the outside" has "outside=yes"
	check "$kind: not a private network" has "private=no"
	check "$kind: not the server on the host's loopback" has "server=no"
	check "$kind: not the runner protocol through the host alias" has "register=no"
	check "$kind: not another loopback port (its 127.0.0.1 is its own)" has "loopback=no"
	check "$kind: not the host's loopback through the host alias" has "hostloop=no"
	check "$kind: not a listener on the host's own address" has "hostaddr=no"
	check "$kind: not the host's address on the test's link" has "veth=no"
	check "$kind: not the metadata address" has "metadata=no"
	check "$kind: the outside listener saw the step" test "$(requests outside)" = 1
	for l in loopback hostaddr veth; do
		check "$kind: the $l listener saw nothing" test "$(requests $l)" = 0
	done
	: >"$T_DIR/outside.log"
	want="etc $(etc_want "$kind")"
	check "$kind: /etc is exactly the expected set ($(grep '^etc ' <<<"$LOG"))" has "$want"
	check "$kind: resolv.conf names the sandbox's DNS" has "resolv nameserver 10.0.2.3"
	check "$kind: passwd is the sandbox's own" has "passwd root nobody runner"
	check "$kind: the step's user is named" has "whoami runner"
	check "$kind: /etc/hosts resolves" has "hosts 127.0.1.1 plue"
	# the resolver answers through slirp4netns as it answers the host (a
	# name that cannot exist: EAI_NONAME, -2; unreachable would be -3)
	host_dns=$(python3 -c 'import socket
try: socket.getaddrinfo("plue-probe.invalid", 80); print("found")
except socket.gaierror as e: print(e.errno)')
	if [ "$host_dns" = -2 ]; then
		check "$kind: DNS reaches the resolver" has "dns -2"
	else
		echo "note: the host's resolver does not answer here; DNS checked through /etc/hosts only"
	fi
	stop_all
done
finish
