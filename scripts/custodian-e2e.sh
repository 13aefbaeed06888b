#!/usr/bin/env bash
# End-to-end timing of custodian mode on one machine: a region CA, the key ceremony
# (2 of 3), three samla-custodian processes on loopback, the domain set up, and one
# node in custodian mode pseudonymising an export of ROWS rows (`samla-node preview`,
# which reads, pseudonymises through the custodians and aggregates, without a hub).
# Prints wall and CPU time of the node and the custodians' CPU time.
#
#   scripts/custodian-e2e.sh [target/release] [ROWS]
set -euo pipefail
BIN=$(realpath "${1:-target/release}")
ROWS=${2:-100000}
DIR=$(mktemp -d)
cd "$DIR"
trap 'for p in ${PIDS:-}; do kill "$p" 2>/dev/null || true; done' EXIT
"$BIN/samla-hub" ca init --dir ca --name "E2E CA" >/dev/null
"$BIN/samla-hub" ca issue-node --ca-dir ca --kommun 2180 --out-dir node >/dev/null
"$BIN/samla-hub" init --dir hub --listen 127.0.0.1:4433 >hub-init.txt
RECEIPT=$(tail -1 hub-init.txt)
"$BIN/samla-custodian" ceremony --out ceremony --slots 4 >ceremony.txt
KEY_ID=$(awk 'NR==1 {sub(":", "", $3); print $3}' ceremony.txt)
"$BIN/samla-hub" ca issue-coordinator --ca-dir ca --out-dir coordinator >/dev/null
FP=$("$BIN/samla-hub" ca fingerprint coordinator/coordinator.crt)
printf 'region_ca = "../ca/ca.crt"\ncertificate = "coordinator.crt"\nprivate_key = "coordinator.key"\nkey_set = "../ceremony/keyset.bin"\n' >coordinator/coordinator.toml
CUSTODIANS=""
for n in 1 2 3; do
  port=$((46000 + n))
  "$BIN/samla-custodian" init --dir c$n --number $n --name localhost --listen 127.0.0.1:$port >/dev/null
  "$BIN/samla-hub" ca issue-custodian --ca-dir ca --csr c$n/custodian.csr --name localhost --out-dir c$n >/dev/null
  cp ca/ca.crt ceremony/keyset.bin c$n/
  mv ceremony/custodian-$n.share c$n/share.key
  sed -i "s/coordinators = \[\]/coordinators = [\"$FP\"]/; s/evaluations = 50000/evaluations = 10000000/" c$n/custodian.toml
  printf '\n[[custodian]]\nnumber = %s\naddress = "127.0.0.1:%s"\nserver_name = "localhost"\n' $n $port >>coordinator/coordinator.toml
  CUSTODIANS+=$(printf '\n[[custodian.server]]\nnumber = %s\naddress = "127.0.0.1:%s"\nserver_name = "localhost"\n' $n $port)
  ( cd c$n && exec "$BIN/samla-custodian" serve --config custodian.toml 2>custodian.log ) &
  PIDS="${PIDS:-} $!"
done
sleep 1
"$BIN/samla-custodian" setup-domain --coordinator coordinator/coordinator.toml --domain e2e-ung-2025 --slot 0 >/dev/null
"$BIN/samla-node" key generate --out unused.key >/dev/null
"$BIN/samla-node" init --dir node --kommun 2180 --project UNG:e2e-ung-2025 --key-file ../unused.key \
  --hub 127.0.0.1:4433 --hub-name localhost --region-ca ../ca/ca.crt --certificate node-2180.crt \
  --private-key node-2180.key --receipt-key "$RECEIPT" >/dev/null
rm unused.key
grep -v '^key_file' node/samla-node.toml >node/n.toml
{ awk '/^\[/ {exit} {print}' node/n.toml
  printf '\n[custodian]\nkey_set = "../ceremony/keyset.bin"\nkey_id = "%s"\nthreshold = 2\n%s\n' "$KEY_ID" "$CUSTODIANS"
  awk 'f {print} /^\[/ && !f {f=1; print}' node/n.toml; } >node/samla-node.toml
cd node
"$BIN/samla-node" synth --out export.csv --kommun 2180 --period 2025 --participants "$ROWS" --seed 1 >/dev/null
echo "rows: $(($(wc -l <export.csv) - 1)), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "node: %e s wall, %U s user, %S s system" "$BIN/samla-node" --config samla-node.toml \
  preview export.csv --period 2025 --format json >/dev/null
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
for p in $PIDS; do
  awk '{printf "custodian pid %s: %.1f s CPU\n", $1, ($14 + $15) / 100}' /proc/"$p"/stat 2>/dev/null || true
done
