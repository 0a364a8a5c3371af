# shellcheck shell=bash
# shellcheck disable=SC2030,SC2031 # sbs_* live in side_by_side's subshell, on purpose
# Side by side with Ansible, in one run: zkrun's rolling restart
# (playbooks/rolling-restart.yaml) and a careful SRE's Ansible playbook
# (benches/ansible/rolling-restart.yml), alternated on the same fleet, each
# roll watched by benches/roll_watch.py (srvr polls every 50 ms, one zkCli
# client writing 50/s).
#
# Sourced by scripts/bench, from the repository root, with the testbed up:
#
#   . benches/ansible/side_by_side.sh
#   eval "$(scripts/testbed env)"      # TESTBED_INVENTORY, TESTBED_SSH_CONFIG
#   side_by_side N target/release/zkrun "$work"
#
# SBS_ROUNDS (default 3) zkrun/Ansible pairs. Figures, not assertions: the
# goals print "goal met"/"goal NOT met" and it returns 0 either way; it
# returns non-zero only when a roll, the watcher or the fleet fails. Each
# roll's files stay in WORK/side-by-side/<tool>-<round>/.

# The repository, found when this file is sourced (a relative path in
# BASH_SOURCE would break once the caller changes directory).
sbs_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# The body runs in a subshell: its traps (stop the watcher, close Ansible's
# ssh masters) must not replace the caller's.
side_by_side() (
	set -euo pipefail
	[ $# -eq 3 ] || sbs_die "usage: side_by_side N ZKRUN_BIN WORK_DIR"
	local n=$1 zk=$2 rounds=${SBS_ROUNDS:-3} i k tool servers
	: "${TESTBED_INVENTORY:?run eval \"\$(scripts/testbed env)\" first}"
	: "${TESTBED_SSH_CONFIG:?run eval \"\$(scripts/testbed env)\" first}"
	[ -z "${TESTBED_SIZE:-}" ] || [ "$TESTBED_SIZE" = "$n" ] || sbs_die "the fleet has $TESTBED_SIZE hosts, not $n"
	# Paths the caller gave, resolved before moving to the repository root.
	case $zk in */*) zk=$(cd "$(dirname "$zk")" && pwd)/$(basename "$zk") ;; *) zk=$(command -v "$zk" || true) ;; esac
	[ -x "$zk" ] || sbs_die "no zkrun binary at $2"
	sbs_root=$(mkdir -p "$3/side-by-side" && cd "$3/side-by-side" && pwd) || exit 1
	cd "$sbs_repo" || exit 1
	sbs_watcher=
	sbs_cp=
	trap sbs_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	scripts/ansible-oracle setup >/dev/null || sbs_die "scripts/ansible-oracle setup failed"
	sbs_venv=$(scripts/ansible-oracle path)
	sbs_zkcli=${SBS_ZKCLI:-/usr/share/zookeeper/bin/zkCli.sh}
	# Addresses as scripts/testbed assigns them (zk<i> is 127.0.0.(10+i));
	# SBS_NODES ("name=addr[:port] ...") replaces them, for a dry run on fakes.
	sbs_nodes=()
	if [ -n "${SBS_NODES:-}" ]; then
		read -ra sbs_nodes <<<"$SBS_NODES"
	else
		for ((i = 1; i <= n; i++)); do sbs_nodes+=("zk$i=127.0.0.$((10 + i))"); done
	fi
	servers=
	for i in "${sbs_nodes[@]}"; do
		i=${i#*=}
		case $i in *:*) servers+="$i," ;; *) servers+="$i:2181," ;; esac
	done
	servers=${servers%,}

	echo "== side by side with Ansible: rolling restart of $n nodes, $rounds rounds, a client writing 50/s"
	scripts/testbed wait-healthy 60 >&2 || sbs_die "the ensemble is not healthy"
	sbs_load_data "$servers"
	for ((k = 1; k <= rounds; k++)); do
		for tool in zkrun ansible; do
			sbs_roll "$tool" "$k" "$zk"
		done
	done
	sbs_table "$rounds"
)

sbs_die() {
	printf 'side_by_side: %s\n' "$*" >&2
	exit 1
}

sbs_ms() { date +%s%3N; }

# Stops the watcher (it writes its JSON on SIGTERM) and closes the ssh
# masters Ansible left (ControlPersist), so nothing outlives the bench.
sbs_cleanup() {
	if [ -n "${sbs_watcher:-}" ]; then
		kill -TERM "$sbs_watcher" 2>/dev/null || true
		wait "$sbs_watcher" 2>/dev/null || true
		sbs_watcher=
	fi
	sbs_close_masters
}

sbs_close_masters() {
	local s
	[ -n "${sbs_cp:-}" ] && [ -d "$sbs_cp" ] || return 0
	for s in "$sbs_cp"/*; do
		[ -S "$s" ] || continue
		ssh -o ControlPath="$s" -O exit sbs-master >/dev/null 2>&1 || true
	done
	sbs_cp=
}

# 10 MB: 100 znodes of 100 kB (kept between runs; scripts/bench loads its
# roll's data with this too). sbs_zkcli: the zkCli.sh to use.
sbs_load_data() {
	local servers=$1 cli=$sbs_zkcli out blob i
	# Captured, not piped into grep -q: with pipefail an early grep exit
	# would fail the pipeline and reload the data every time.
	out=$("$cli" -server "$servers" stat /zkrun-bench/n99 2>&1 || true)
	grep -q dataLength <<<"$out" && return 0
	echo "  loading 10 MB of data (100 znodes of 100 kB)"
	blob=$(head -c 100000 /dev/zero | tr '\0' a)
	{
		echo "create /zkrun-bench x"
		for ((i = 0; i < 100; i++)); do echo "create /zkrun-bench/n$i $blob"; done
		echo quit
	} | "$cli" -server "$servers" >/dev/null 2>&1 || true
	out=$("$cli" -server "$servers" stat /zkrun-bench/n99 2>&1 || true)
	grep -q dataLength <<<"$out" || sbs_die "could not load the data: $(tail -n 3 <<<"$out")"
}

# One roll by TOOL (zkrun|ansible), round K, watched from before it starts
# until a second after it ends. Uses sbs_root, sbs_nodes, sbs_venv, sbs_zkcli.
sbs_roll() {
	local tool=$1 k=$2 zk=$3 dir t0 t1 rc=0 wrc=0 deadline
	dir=$sbs_root/$tool-$k
	rm -rf "$dir"
	mkdir -p "$dir"
	scripts/testbed wait-healthy 60 >&2 || sbs_die "the ensemble is not healthy before $tool #$k"

	python3 benches/roll_watch.py --out "$dir/watch.json" --marks "$dir/marks" --ready "$dir/ready" \
		--raw "$dir/raw.tsv" --zkcli "$sbs_zkcli" "${sbs_nodes[@]}" 2>"$dir/watch.err" &
	sbs_watcher=$!
	deadline=$((SECONDS + 60))
	until [ -e "$dir/ready" ]; do
		kill -0 "$sbs_watcher" 2>/dev/null || sbs_die "the watcher exited before a first write: $(tail -n 5 "$dir/watch.err")"
		[ $SECONDS -lt $deadline ] || sbs_die "no successful write within 60 s (see $dir/raw.tsv)"
		sleep 0.05
	done

	t0=$(sbs_ms)
	echo "start $t0" >"$dir/marks"
	case $tool in
	zkrun)
		local zkroll=("$zk" playbooks/rolling-restart.yaml -i "$TESTBED_INVENTORY" --ssh-config "$TESTBED_SSH_CONFIG" -q
			--state "$dir/state.json" --log-dir "$dir/logs")
		"${zkroll[@]}" >"$dir/roll.out" 2>&1 || rc=$?
		# zkrun stops when a restarted node serves but logged ERROR lines
		# (ZooKeeper 3.8.0 under writes hits real bugs: ZOOKEEPER-4394,
		# ZOOKEEPER-4409). The bench keeps the lines and resumes, as an SRE
		# would once they are read; the resume redoes that node's turn.
		while [ $rc -eq 1 ] && grep -q "has ERROR lines since it started" "$dir/roll.out" &&
			[ "$({ wc -l <"$dir/stops"; } 2>/dev/null || echo 0)" -lt 3 ]; do
			{ grep -A1 "last output:" "$dir/roll.out" || echo "(no output shown)"; } | tail -n 1 | sed 's/^ *| *//' >>"$dir/stops"
			printf '  %-7s #%s: stopped on a ZooKeeper ERROR line, resumed: %s\n' zkrun "$k" "$(tail -n 1 "$dir/stops" | cut -c1-110)"
			rc=0
			"${zkroll[@]}" --resume >"$dir/roll.out" 2>&1 || rc=$?
		done
		;;
	ansible)
		# A fresh ControlPath dir per run: no run inherits another's warm masters.
		sbs_cp=$dir/cp
		ANSIBLE_CONFIG=benches/ansible/ansible.cfg \
			ANSIBLE_SSH_COMMON_ARGS="-F $TESTBED_SSH_CONFIG" \
			ANSIBLE_SSH_CONTROL_PATH_DIR="$sbs_cp" \
			"$sbs_venv/bin/ansible-playbook" -i "$TESTBED_INVENTORY" benches/ansible/rolling-restart.yml \
			>"$dir/roll.out" 2>&1 || rc=$?
		;;
	esac
	t1=$(sbs_ms)
	echo "end $t1" >>"$dir/marks"
	echo $((t1 - t0)) >"$dir/wall_ms"
	sleep 1 # a second of writes after the roll, to see them resume

	kill -TERM "$sbs_watcher" 2>/dev/null || true
	wait "$sbs_watcher" || wrc=$?
	sbs_watcher=
	sbs_close_masters
	if [ $rc -ne 0 ]; then
		sed 's/^/    /' "$dir/roll.out" | tail -n 20 >&2
		sbs_die "$tool #$k failed (exit $rc); output: $dir/roll.out"
	fi
	if [ $wrc -ne 0 ] || [ ! -s "$dir/watch.json" ]; then
		sbs_die "the watcher failed (exit $wrc): $(tail -n 5 "$dir/watch.err")"
	fi
	printf '  %-7s #%s: %6.1f s\n' "$tool" "$k" "$(awk -v t=$((t1 - t0)) 'BEGIN { print t / 1000 }')"
}

# Medians over the rounds, zkrun against Ansible, and the goals.
sbs_table() {
	python3 - "$sbs_root" "$1" <<'PY'
import json, os, statistics, sys

root, rounds = sys.argv[1], int(sys.argv[2])
med = statistics.median


def runs(tool):
    out = []
    for k in range(1, rounds + 1):
        d = os.path.join(root, f"{tool}-{k}")
        with open(os.path.join(d, "watch.json")) as f:
            w = json.load(f)
        with open(os.path.join(d, "wall_ms")) as f:
            w["wall_s"] = int(f.read()) / 1000
        try:
            with open(os.path.join(d, "stops")) as f:
                w["stops"] = len(f.read().splitlines())
        except FileNotFoundError:
            w["stops"] = 0
        out.append(w)
    return out


z, a = runs("zkrun"), runs("ansible")
rows = [
    ("wall (s)", lambda w: w["wall_s"], "{:.1f}"),
    ("node outage, median over nodes (ms)", lambda w: med(w["outage_ms"].values()), "{:.0f}"),
    ("node outage, max over nodes (ms)", lambda w: max(w["outage_ms"].values()), "{:.0f}"),
    ("longest client gap (ms)", lambda w: w["longest_gap_ms"], "{:.0f}"),
    ("failed writes", lambda w: w["writes_failed"], "{:.0f}"),
    ("elections", lambda w: w["elections"], "{:.0f}"),
]
print()
print(f"  {'median of ' + str(rounds) + ' rolls':<38} {'zkrun':>9} {'Ansible':>9} {'ratio':>7}")
m = {}
for name, get, fmt in rows:
    zm, am = med(get(w) for w in z), med(get(w) for w in a)
    m[name] = (zm, am)
    ratio = f"{zm / am:.2f}" if am else "-"
    print(f"  {name:<38} {fmt.format(zm):>9} {fmt.format(am):>9} {ratio:>7}")
print()


def during(w):
    d = w.get("longest_gap_during")
    if not d:
        return ""
    down = ", ".join(d["down"]) or "none"
    return f" (not serving in it: {down}{'; no leader for part of it' if d['leaderless'] else ''})"


for tool, ws in (("zkrun", z), ("Ansible", a)):
    for k, w in enumerate(ws, 1):
        print(f"  {tool} #{k}: wall {w['wall_s']:.1f} s, outage {w['outage_ms']}, gap {w['longest_gap_ms']} ms"
              f"{during(w)}, writes {w['writes_ok']} ok / {w['writes_failed']} failed, leaders {' > '.join(w['leaders'])}")
print()
for tool, ws in (("zkrun", z), ("Ansible", a)):
    elected = sum(1 for w in ws if (w.get("longest_gap_during") or {}).get("leaderless"))
    print(f"  {tool}: the longest gap spans the election (the leader's restart) in {elected} of {len(ws)} rolls")
stops = sum(w["stops"] for w in z)
print(f"  zkrun stopped on a restarted node's ZooKeeper ERROR lines {stops} time(s) in {len(z)} rolls, each resumed")
print("  (zkrun's wall includes its preflight, parallel backups and final check, and any resume; the Ansible playbook has none of them,")
print("   and reads no log: a node that logged a ZooKeeper bug but serves again is rolled past)")
print()


def goal(ok, text):
    print(f"  {'goal met    ' if ok else 'goal NOT met'}  {text}")


zw, aw = m["wall (s)"]
goal(zw <= 0.4 * aw, f"zkrun wall <= 0.4 x Ansible's: {zw:.1f} s vs {0.4 * aw:.1f} s (0.4 x {aw:.1f} s)")
zg, ag = m["longest client gap (ms)"]
goal(zg <= ag, f"zkrun longest client gap <= Ansible's: {zg:.0f} ms vs {ag:.0f} ms")
el = [w["elections"] for w in z]
goal(all(e == 1 for e in el), f"zkrun one election per roll: {el}")
PY
}
