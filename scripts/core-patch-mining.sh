#!/usr/bin/env bash
# Mines through a bitcoind built with bitcoin-core-patch/ (-sv2): a pool takes templates from
# it and `sv2 miner` finds blocks through the pool. Checks that blocks are accepted, that a
# fee bump gives a new template whose transaction gets mined, and that a restart keeps the
# authority key (the pool, pinned to it, reconnects and mining goes on).
#   core-patch-mining.sh BITCOIND SV2 WORK_DIR [POOL_SV2]
# With POOL_SV2, the reference implementation's pool is used instead of `sv2 pool`.
set -euo pipefail
bitcoind=$1 sv2=$2 dir=$3 ref_pool=${4:-}
rm -rf "$dir"
mkdir -p "$dir/node"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rpc_port=$(free_port) tp_port=$(free_port) pool_port=$(free_port)

# JSON-RPC with the cookie; prints the result as JSON.
rpc() {
  python3 - "$dir/node/regtest/.cookie" "$rpc_port" "$@" <<'EOF'
import base64, json, sys, urllib.request
cookie, port, method, *params = sys.argv[1:]
def param(p):
    if len(p) == 64:  # a hash, even when it looks like a number
        return p
    try:
        return json.loads(p)
    except ValueError:
        return p
params = [param(p) for p in params]
auth = base64.b64encode(open(cookie).read().strip().encode()).decode()
req = urllib.request.Request(f"http://127.0.0.1:{port}/", json.dumps({"id": 0, "method": method, "params": params}).encode(),
                             {"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
try:
    body = json.load(urllib.request.urlopen(req, timeout=60))
except urllib.error.HTTPError as e:
    body = json.load(e)
if body.get("error"):
    sys.exit(f"{method}: {body['error']}")
print(json.dumps(body["result"]))
EOF
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Waits up to $1 seconds for the command after it to succeed.
until_ok() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out: $*" >&2; tail -n 30 "$dir"/*.log "$dir/node/regtest/debug.log" >&2; exit 1; }
    sleep 0.2
  done
}
height() { rpc getblockcount; }
height_at_least() { [ "$(height)" -ge "$1" ]; }

start_node() {
  "$bitcoind" -regtest -server -listen=0 -printtoconsole=0 -rpcbind=127.0.0.1 -rpcallowip=127.0.0.1 \
    -rpcport="$rpc_port" -datadir="$dir/node" -debug=sv2 \
    -sv2 -sv2port="$tp_port" -sv2interval=1 -sv2feedelta=1 &
  node_pid=$!
  pids+=("$node_pid")
  until_ok 60 rpc getblockchaininfo
}
start_node
authority=$(cat "$dir/node/regtest/sv2_authority.pub")
grep -q "authority key $authority" "$dir/node/regtest/debug.log"
echo "bitcoind -sv2 on 127.0.0.1:$tp_port, authority key $authority (logged)"

# Coinbases pay P2WSH(OP_TRUE): anyone can spend them, so the fee bump below needs no wallet.
spk=00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260
address=$(rpc decodescript "$spk" | field '["address"]')
rpc generatetoaddress 101 "$address" >/dev/null

# The pool under test, in the background; pool_pid is its process.
start_pool() {
  if [ -z "$ref_pool" ]; then
    # CPU mining: shares as easy as the demo's, so that regtest blocks come every few seconds.
    SV2_POOL_MIN_DIFFICULTY=1e-9 SV2_POOL_SHARES_PER_MINUTE=60 "$sv2" pool --data-dir "$dir/pool" --listen "127.0.0.1:$pool_port" --metrics-listen "" \
      --tp-address "127.0.0.1:$tp_port" --tp-authority "$dir/node/regtest/sv2_authority.pub" \
      --payout-script-hex "$spk" > "$dir/pool.log" 2>&1 &
    pool_pid=$!
    pids+=("$pool_pid")
    until_ok 30 test -s "$dir/pool/authority.pub"
    pool_authority="$dir/pool/authority.pub"
    echo "sv2 pool on 127.0.0.1:$pool_port"
  else
    # The reference pool's own test authority (as in roles/tests/pool_interop.rs).
    pool_authority=9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72
    mkdir -p "$dir/ref-pool"
    cat > "$dir/ref-pool/config.toml" <<EOF
authority_public_key = "$pool_authority"
authority_secret_key = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n"
cert_validity_sec = 3600
listen_address = "127.0.0.1:$pool_port"
coinbase_reward_script = "addr($address)"
server_id = 1
pool_signature = "libsv2 core patch"
shares_per_minute = 60.0
share_batch_size = 1
[template_provider_type.Sv2Tp]
address = "127.0.0.1:$tp_port"
public_key = "$authority"
EOF
    (cd "$dir/ref-pool" && exec "$ref_pool" -c config.toml) >> "$dir/pool.log" 2>&1 &
    pool_pid=$!
    pids+=("$pool_pid")
    until_ok 30 python3 -c "import socket; socket.create_connection(('127.0.0.1', $pool_port))"
    echo "reference pool_sv2 on 127.0.0.1:$pool_port"
  fi
}
start_pool
"$sv2" miner --pool "127.0.0.1:$pool_port" --authority "$pool_authority" --user core.rig1 --threads 1 \
  > "$dir/miner.log" 2>&1 &
pids+=($!)

until_ok 180 height_at_least 104
echo "blocks accepted through the pool: height $(height) (101 before the pool started)"

# Fee bump: spend block 1's coinbase with a 10 000 sat fee. The next template carries it and
# the miner's next block confirms it.
templates_with_tx() { grep -c 'template [0-9]*[^,]*, 1 transactions' "$dir/node/regtest/debug.log" || true; }
before=$(templates_with_tx)
cb=$(rpc getblock "$(rpc getblockhash 1 | field '')" 1 | field '["tx"][0]')
tx=$(python3 - "$cb" <<'EOF'
import sys
txid = bytes.fromhex(sys.argv[1])[::-1]
spk = bytes.fromhex("00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260")
value = (50 * 100_000_000 - 10_000).to_bytes(8, "little")
tx = (b"\x02\x00\x00\x00" + b"\x00\x01" + b"\x01" + txid + b"\x00" * 4 + b"\x00" + b"\xff" * 4
      + b"\x01" + value + bytes([len(spk)]) + spk + b"\x01\x01\x51" + b"\x00" * 4)
print(tx.hex())
EOF
)
sent_at=$(height)
txid=$(rpc sendrawtransaction "$tx" | field '')
echo "fee bump: $txid in the mempool"
newer() { [ "$(templates_with_tx)" -gt "$before" ]; }
until_ok 30 newer
echo "bitcoind sent a template with it ($(grep 'template [0-9]*[^,]*, 1 transactions' "$dir/node/regtest/debug.log" | tail -1 | sed 's/.*client/client/'))"
mined() {
  local h
  for h in $(seq "$(( sent_at + 1 ))" "$(height)"); do
    rpc getblock "$(rpc getblockhash "$h" | field '')" 1 | grep -q "$txid" && mined_at=$h && return 0
  done
  return 1
}
until_ok 60 mined
echo "fee bump mined through the pool in the block at height $mined_at"

# Restart: the same authority key, and the pool (pinned to it) takes templates again.
key_before=$(sha256sum < "$dir/node/regtest/sv2_authority.key")
rpc stop >/dev/null
wait "$node_pid" || true
start_node
[ "$(sha256sum < "$dir/node/regtest/sv2_authority.key")" = "$key_before" ]
[ "$(cat "$dir/node/regtest/sv2_authority.pub")" = "$authority" ]
# The reference pool_sv2 shuts down when its template provider goes away (it does not
# reconnect); ours reconnects. The miner reconnects to either.
if [ -n "$ref_pool" ] && ! kill -0 "$pool_pid" 2>/dev/null; then
  echo "the reference pool_sv2 exited with its template provider: started again"
  start_pool
fi
h=$(height)
until_ok 120 height_at_least $(( h + 2 ))
echo "after a restart: same authority key, mining on to height $(height)"
blocks=$(( $(height) - 101 ))
echo "OK: $blocks blocks mined through the pool and the patched bitcoind"
