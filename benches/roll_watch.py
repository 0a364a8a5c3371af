#!/usr/bin/env python3
"""Watches a ZooKeeper ensemble through one rolling restart, and is its client.

    roll_watch.py --out W.json --marks MARKS [--ready FILE] [--stop-file FILE]
                  [--raw RAW.tsv] [--zkcli PATH] NODE...
    roll_watch.py --analyze RAW.tsv --marks MARKS --out W.json NODE...
    roll_watch.py --selftest

NODE is name=address[:port] or address[:port] (port 2181 by default).

While it runs it (a) asks every node `srvr` every 50 ms (200 ms socket
timeout) and records (time, node, mode or 'down'), and (b) drives one
zkCli.sh session through a pipe, a sequential create every 20 ms, stamping
every output line with its arrival time. --ready is created once the first
write has succeeded.

MARKS is written by the caller while the watcher runs, one mark a line, times
in epoch milliseconds (`date +%s%3N`):
    start 1718000000123
    end 1718000042456
It stops on SIGTERM/SIGINT or when --stop-file appears, then writes --out
(JSON) over the window [start, end + --after-ms], clamped to when it stopped.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

GOOD = frozenset({"leader", "follower", "observer"})
# A reply to a command; zkCli's own log lines (timestamped) are not replies:
# they name SessionExpiredException on every reconnect.
FAIL_RE = re.compile(r"KeeperErrorCode|ConnectionLoss|SessionExpired")
LOG_RE = re.compile(r"^\s*\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
MODE_RE = re.compile(rb"^Mode: (\S+)\s*$", re.M)


def now_ms():
    return time.time() * 1000.0


# ---- parsing -----------------------------------------------------------------


def parse_node(spec, port=2181):
    name, _, addr = spec.rpartition("=")
    host, sep, p = addr.rpartition(":")
    if sep and p.isdigit():
        addr, port = host, int(p)
    return (name or addr), addr, port


def parse_mode(reply):
    m = MODE_RE.search(reply or b"")
    return m.group(1).decode() if m else "down"


def classify(line, znode):
    """'ok' for a successful write, 'fail' for a failed one, None otherwise."""
    if f"Created {znode}/w-" in line:
        return "ok"
    if FAIL_RE.search(line) and not LOG_RE.match(line):
        return "fail"
    return None


def read_marks(path):
    marks = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[0] in ("start", "end"):
                    marks[parts[0]] = float(parts[1])
    except FileNotFoundError:
        pass
    return marks


# ---- analysis (pure: what --selftest checks) ---------------------------------


def longest_gap(ok_times, start, until):
    """Longest stretch without a successful write that ends inside
    [start, until]: between consecutive successes (the last one before
    `start` opens the first stretch, as scripts/bench counts it), and from
    the last success to `until`, so a client still stalled when the window
    closes is not missed. Returns (ms, (from, to))."""
    prev, best, at = None, 0.0, None
    for t in sorted(ok_times):
        if t < start:
            prev = t
            continue
        if t > until:
            break
        opened = start if prev is None else prev
        if t - opened > best:
            best, at = t - opened, (opened, t)
        prev = t
    last = start if prev is None else prev
    if until - last > best:
        best, at = until - last, (last, until)
    return best, at


def outages(samples, nodes, start, until):
    """Per node, the longest run of samples in [start, until] without a
    serving mode, from its first such sample to the next serving one (or the
    node's last sample), and how many such runs. samples: (t, node, mode)."""
    longest = {n: 0.0 for n in nodes}
    runs = {n: 0 for n in nodes}
    since, last = {}, {}
    for t, n, m in sorted(samples, key=lambda s: s[0]):
        if t < start or t > until:
            continue
        last[n] = t
        if m in GOOD:
            if n in since:
                longest[n] = max(longest.get(n, 0.0), t - since.pop(n))
        elif n not in since:
            since[n] = t
            runs[n] = runs.get(n, 0) + 1
    for n, s in since.items():
        longest[n] = max(longest.get(n, 0.0), last[n] - s)
    return longest, runs


def elections(samples, start, until):
    """Leaderless windows (no node's latest sample says leader) that end with
    a leader seen again, within [start, until]; the leaders in order (the one
    at the start, then the one ending each window, or taking over without a
    window being seen)."""
    state, leaders, windows = {}, [], []
    since, most = None, 0
    for t, n, m in sorted(samples, key=lambda s: s[0]):
        if t < start or t > until:
            continue
        state[n] = m
        current = sorted(x for x, mode in state.items() if mode == "leader")
        most = max(most, len(current))
        if current:
            if since is not None:
                windows.append((since, t))
                since = None
                leaders.append(n)  # the only leader: all were leaderless before this sample
            elif not leaders or leaders[-1] not in current:
                leaders.append(current[0])
        elif leaders and since is None:
            since = t
    return {
        "elections": len(windows),
        "leaders": leaders,
        "leaderless_ms": [round(b - a) for a, b in windows],
        "leaderless_at_end": since is not None,
        "most_leaders_at_once": most,
    }


def gap_during(samples, gap_at):
    """What the ensemble looked like during a client gap (from, to): the
    nodes seen not serving in it (their state as of the sample before it
    counts from its start), and whether it was without a leader at any
    point. Says which restart a gap belongs to, and whether an election was
    part of it."""
    a, b = gap_at
    state, down, leaderless = {}, set(), False

    def look():
        nonlocal leaderless
        down.update(n for n, m in state.items() if m not in GOOD)
        if state and "leader" not in state.values():
            leaderless = True

    opened = False
    for t, n, m in sorted(samples, key=lambda x: x[0]):
        if t > b:
            break
        if t >= a and not opened:
            look()
            opened = True
        state[n] = m
        if t >= a:
            look()
    if not opened:
        look()
    return {"down": sorted(down), "leaderless": leaderless}


def analyze(samples, client, nodes, marks, stopped_at, after_ms, znode):
    """samples: (t, node, mode); client: (t, line); nodes: names in order."""
    first = min([t for t, _, _ in samples] + [t for t, _ in client] + [stopped_at])
    start = marks.get("start", first)
    end = marks.get("end", stopped_at)
    until = min(end + after_ms, stopped_at)
    ok, failed = [], []
    for t, line in client:
        kind = classify(line, znode)
        if kind == "ok":
            ok.append(t)
        elif kind == "fail":
            failed.append(t)
    gap, gap_at = longest_gap(ok, start, until)
    out, runs = outages(samples, nodes, start, until)
    el = elections(samples, start, until)
    return {
        "window": {"start_ms": round(start), "end_ms": round(end), "until_ms": round(until),
                   "marks": sorted(marks)},
        "roll_ms": round(end - start),
        "writes_ok": len(ok),
        "writes_failed": len(failed),
        "writes_ok_in_window": sum(start <= t <= until for t in ok),
        "writes_failed_in_window": sum(start <= t <= until for t in failed),
        "longest_gap_ms": round(gap),
        "longest_gap_between_ms": [round(x) for x in gap_at] if gap_at else None,
        "longest_gap_during": gap_during(samples, gap_at) if gap_at else None,
        "outage_ms": {n: round(out[n]) for n in nodes},
        "outage_runs": {n: runs[n] for n in nodes},
        **el,
        "samples": len(samples),
        "client_lines": len(client),
    }


# ---- raw log -----------------------------------------------------------------


class Recorder:
    """Samples and client lines in memory, and as TSV in --raw if given."""

    def __init__(self, raw_path=None):
        self.lock = threading.Lock()
        self.samples, self.client, self.notes = [], [], []
        self.raw = open(raw_path, "w", buffering=1) if raw_path else None

    def _raw(self, *fields):
        if self.raw:
            self.raw.write("\t".join(fields) + "\n")

    def sample(self, t, node, mode):
        with self.lock:
            self.samples.append((t, node, mode))
            self._raw("s", f"{t:.1f}", node, mode)

    def line(self, t, text):
        with self.lock:
            self.client.append((t, text))
            self._raw("c", f"{t:.1f}", text.replace("\t", " "))

    def note(self, t, text):
        with self.lock:
            self.notes.append((t, text))
            self._raw("n", f"{t:.1f}", text)

    def close(self):
        if self.raw:
            self.raw.close()


def load_raw(path):
    samples, client, last = [], [], 0.0
    with open(path, encoding="utf-8", errors="replace") as f:
        for row in f:
            kind, _, rest = row.rstrip("\n").partition("\t")
            t, _, rest = rest.partition("\t")
            try:
                t = float(t)
            except ValueError:
                continue
            last = max(last, t)
            if kind == "s":
                node, _, mode = rest.partition("\t")
                samples.append((t, node, mode))
            elif kind == "c":
                client.append((t, rest))
    return samples, client, last


# ---- the watcher -------------------------------------------------------------


def srvr(addr, port, timeout):
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((addr, port), timeout=timeout) as s:
            s.sendall(b"srvr")
            buf = b""
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            return parse_mode(buf)
    except OSError:
        return "down"


def poller(name, addr, port, interval, timeout, rec, stop):
    nxt = time.monotonic()
    while not stop.is_set():
        mode = srvr(addr, port, timeout)
        rec.sample(now_ms(), name, mode)
        nxt += interval
        delay = nxt - time.monotonic()
        if delay < 0:  # a slow poll: keep the cadence, do not burst to catch up
            nxt, delay = time.monotonic(), 0
        stop.wait(delay)


class Client:
    """zkCli.sh on a pipe: one sequential create every period, output stamped."""

    def __init__(self, zkcli, server, znode, period, rec, ready_path, stop):
        self.znode, self.period, self.rec, self.ready_path, self.stop = znode, period, rec, ready_path, stop
        self.sent = self.unsent = 0
        # Its own session: a Ctrl-C meant for the bench reaches the watcher,
        # which then ends zkCli after the writes in flight.
        self.proc = subprocess.Popen([zkcli, "-server", server], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0, start_new_session=True)
        self.fd = self.proc.stdin.fileno()
        # Never block on a stalled zkCli: a line that does not fit is counted as unsent.
        os.set_blocking(self.fd, False)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.reader.start()
        self.writer.start()

    def _send(self, data):
        try:
            os.write(self.fd, data)
            return True
        except (BlockingIOError, BrokenPipeError, OSError):
            return False

    def _write(self):
        self._send(f"create {self.znode} x\n".encode())
        line = f"create -s {self.znode}/w- x\n".encode()
        nxt = time.monotonic()
        while not self.stop.is_set():
            if self._send(line):
                self.sent += 1
            else:
                self.unsent += 1
            nxt += self.period
            delay = nxt - time.monotonic()
            if delay < 0:
                nxt, delay = time.monotonic(), 0
            self.stop.wait(delay)
        self._send(b"quit\n")
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def _read(self):
        ready = False
        for raw in iter(self.proc.stdout.readline, b""):
            t = now_ms()
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.rec.line(t, text)
            if not ready and classify(text, self.znode) == "ok":
                ready = True
                if self.ready_path:
                    with open(self.ready_path, "w") as f:
                        f.write(f"{round(t)}\n")
        self.rec.note(now_ms(), "zkCli closed its output")

    def finish(self, grace=5.0):
        self.writer.join(timeout=2)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=2)


def watch(args, nodes):
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    rec = Recorder(args.raw)
    server = args.server or ",".join(f"{a}:{p}" for _, a, p in nodes)
    writes_stop = threading.Event()
    client = Client(args.zkcli, server, args.znode, 1.0 / args.rate, rec, args.ready, writes_stop)
    pollers = [threading.Thread(target=poller, args=(n, a, p, args.interval, args.timeout, rec, stop), daemon=True)
               for n, a, p in nodes]
    for t in pollers:
        t.start()
    while not stop.wait(0.05):
        if args.stop_file and os.path.exists(args.stop_file):
            stop.set()
    stopped_at = now_ms()
    writes_stop.set()
    client.finish()
    for t in pollers:
        t.join(timeout=2)
    rec.close()
    result = analyze(rec.samples, rec.client, [n for n, _, _ in nodes], read_marks(args.marks),
                     stopped_at, args.after_ms, args.znode)
    result.update(nodes={n: f"{a}:{p}" for n, a, p in nodes}, server=server,
                  client={"sent": client.sent, "unsent": client.unsent, "exit": client.proc.returncode,
                          "notes": [text for _, text in rec.notes]})
    return result


def write_json(path, obj):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".roll_watch.")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


# ---- selftest ----------------------------------------------------------------


def _synthetic_roll():
    """Three nodes polled every 50 ms for 10 s: zk2 down 1000-2000, zk3 down
    3000-4500, leader zk1 down 6000-8000 with zk2/zk3 electing until 6600,
    when zk3 leads. Each node's polls are offset, as the real threads are."""
    samples = []
    for i, n in enumerate(["zk1", "zk2", "zk3"]):
        t = 7.0 * i
        while t < 10000:
            if n == "zk1":
                m = "leader" if t < 6000 else "down" if t < 8000 else "follower"
            elif n == "zk2":
                m = "down" if 1000 <= t < 2000 or 6000 <= t < 6600 else "follower"
            else:
                m = "down" if 3000 <= t < 4500 or 6000 <= t < 6600 else "leader" if t >= 6600 else "follower"
            samples.append((t, n, m))
            t += 50
    return samples


def _fake_zkcli(path):
    with open(path, "w") as f:
        f.write(f"""#!{sys.executable}
import sys, time
n = 0
print("Connecting to " + sys.argv[-1], flush=True)
print("2024-01-01 00:00:00,000 [myid:] - WARN  [main-SendThread] - Attempting reconnect except it is a SessionExpiredException.", flush=True)
for line in sys.stdin:
    w = line.split()
    if w == ["quit"]:
        break
    if w[:2] == ["create", "-s"]:
        n += 1
        if n % 10 == 0:
            print("KeeperErrorCode = ConnectionLoss for " + w[2], flush=True)
        else:
            print("Created %s%010d" % (w[2], n), flush=True)
    elif w[:1] == ["create"]:
        print("Node already exists: " + w[1], flush=True)
""")
    os.chmod(path, 0o755)


def _fake_server(modes):
    """A listener on an ephemeral port of 127.0.0.1 that answers srvr with
    modes[0] (a one-item list the test changes; None: not serving)."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.1)
    done = threading.Event()

    def serve():
        while not done.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            with c:
                c.settimeout(0.2)
                try:
                    c.recv(4)
                    m = modes[0]
                    c.sendall(b"Zookeeper version: fake\nNode count: 4\n" + (f"Mode: {m}\n".encode() if m
                              else b"This ZooKeeper instance is not currently serving requests\n"))
                except OSError:
                    pass
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], done


def selftest():
    zn = "/zkrun-bench-w"
    # parsing
    assert parse_node("zk1=127.0.0.11") == ("zk1", "127.0.0.11", 2181)
    assert parse_node("127.0.0.12") == ("127.0.0.12", "127.0.0.12", 2181)
    assert parse_node("a=127.0.0.1:40000") == ("a", "127.0.0.1", 40000)
    assert parse_mode(b"Zookeeper version: 3.8.0\nMode: follower\nNode count: 5\n") == "follower"
    assert parse_mode(b"This ZooKeeper instance is not currently serving requests\n") == "down"
    assert parse_mode(b"") == "down"
    assert classify("Created /zkrun-bench-w/w-0000000001", zn) == "ok"
    assert classify("[zk: 127.0.0.11:2181(CONNECTED) 3] Created /zkrun-bench-w/w-0000000002", zn) == "ok"
    assert classify("Created /zkrun-bench-w", zn) is None
    assert classify("Node already exists: /zkrun-bench-w", zn) is None
    assert classify("KeeperErrorCode = ConnectionLoss for /zkrun-bench-w/w-", zn) == "fail"
    assert classify("KeeperErrorCode = Session expired for /zkrun-bench-w/w-", zn) == "fail"
    assert classify("2024-05-01 10:00:00,123 [myid:] - WARN  [x] - Attempting reconnect except it is a SessionExpiredException.", zn) is None
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "marks")
        assert read_marks(p) == {}
        with open(p, "w") as f:
            f.write("start 1000\nnoise\nend 9000\n")
        assert read_marks(p) == {"start": 1000.0, "end": 9000.0}

    # gaps: a write every 20 ms but none in [6000, 7200)
    ok = [t for t in range(0, 10000, 20) if not 6000 <= t < 7200]
    assert longest_gap(ok, 500, 10000) == (1220, (5980, 7200)), longest_gap(ok, 500, 10000)
    # the success before the window opens the first stretch (as scripts/bench)
    assert longest_gap([0, 1000, 1100], 900, 1100) == (1000, (0, 1000))
    # still stalled when the window closes: the tail counts
    assert longest_gap([0, 20, 40], 10, 3000) == (2960, (40, 3000))
    # no write at all: the whole window
    assert longest_gap([], 100, 600) == (500, (100, 600))
    # writes only after the window: ignored
    assert longest_gap([5000], 100, 600) == (500, (100, 600))

    # what a gap overlapped: a follower's restart, then the leader's
    seq = [(0, "a", "leader"), (0, "b", "follower"), (100, "b", "down"), (300, "b", "follower"),
           (500, "a", "down"), (510, "b", "looking"), (800, "b", "leader"), (900, "a", "follower")]
    assert gap_during(seq, (150, 250)) == {"down": ["b"], "leaderless": False}
    assert gap_during(seq, (450, 850)) == {"down": ["a", "b"], "leaderless": True}
    assert gap_during(seq, (950, 990)) == {"down": [], "leaderless": False}

    # outages and elections on the synthetic roll
    s = _synthetic_roll()
    out, runs = outages(s, ["zk1", "zk2", "zk3"], 0, 10000)
    assert out == {"zk1": 2000, "zk2": 1000, "zk3": 1500}, out
    assert runs == {"zk1": 1, "zk2": 2, "zk3": 2}, runs
    el = elections(s, 0, 10000)
    assert el["elections"] == 1 and el["leaders"] == ["zk1", "zk3"], el
    assert 600 <= el["leaderless_ms"][0] <= 650 and not el["leaderless_at_end"], el
    assert el["most_leaders_at_once"] == 1
    # a window narrower than the roll sees less
    out, _ = outages(s, ["zk1", "zk2", "zk3"], 0, 5000)
    assert out["zk1"] == 0 and out["zk3"] == 1500
    assert elections(s, 0, 5000)["elections"] == 0
    # a node never sampled has no outage but is listed
    out, runs = outages(s, ["zk1", "zk2", "zk3", "zk4"], 0, 10000)
    assert out["zk4"] == 0 and runs["zk4"] == 0
    # down at the end of the window: counted up to its last sample
    assert outages([(0, "a", "follower"), (50, "a", "down"), (100, "a", "down")], ["a"], 0, 100)[0] == {"a": 50}
    # the same leader re-elected; a window still open at the end does not count
    seq = [(0, "a", "leader"), (10, "b", "follower"), (100, "a", "down"), (400, "a", "leader"),
           (500, "a", "down"), (600, "b", "down")]
    el = elections(seq, 0, 1000)
    assert el["elections"] == 1 and el["leaders"] == ["a", "a"] and el["leaderless_at_end"], el
    # no leader at first: its appearance is not an election (nothing lost)
    el = elections([(0, "a", "down"), (100, "a", "leader")], 0, 1000)
    assert el["elections"] == 0 and el["leaders"] == ["a"], el
    # a takeover seen without a leaderless sample is a leader, not an election
    el = elections([(0, "a", "leader"), (10, "b", "leader"), (20, "a", "down")], 0, 100)
    assert el["elections"] == 0 and el["leaders"] == ["a", "b"] and el["most_leaders_at_once"] == 2, el

    # analyze over raw TSV, as --analyze reads it
    client = [(float(t), f"Created {zn}/w-{t:010d}") for t in ok]
    client += [(6500.0, f"KeeperErrorCode = ConnectionLoss for {zn}/w-"), (6501.0, "Created /zkrun-bench-w")]
    with tempfile.TemporaryDirectory() as d:
        rec = Recorder(os.path.join(d, "raw.tsv"))
        for x in s:
            rec.sample(*x)
        for t, line in client:
            rec.line(t, line)
        rec.close()
        s2, c2, last = load_raw(os.path.join(d, "raw.tsv"))
    assert len(s2) == len(s) and len(c2) == len(client) and last == 9980.0
    r = analyze(s2, c2, ["zk1", "zk2", "zk3"], {"start": 500.0, "end": 8500.0}, 10000.0, 1000, zn)
    assert r["writes_ok"] == len(ok) and r["writes_failed"] == 1 and r["writes_failed_in_window"] == 1
    assert r["window"]["until_ms"] == 9500 and r["roll_ms"] == 8000
    assert r["longest_gap_ms"] == 1220 and r["elections"] == 1 and r["leaders"] == ["zk1", "zk3"]
    assert r["outage_ms"] == {"zk1": 2000, "zk2": 1000, "zk3": 1500}
    # no marks: the whole run, until it stopped
    r = analyze(s2, c2, ["zk1", "zk2", "zk3"], {}, 10000.0, 1000, zn)
    assert r["window"]["start_ms"] == 0 and r["window"]["until_ms"] == 10000

    # the watcher itself: fake srvr listeners and a fake zkCli, stopped by SIGTERM
    with tempfile.TemporaryDirectory() as d:
        cli = os.path.join(d, "zkCli.sh")
        _fake_zkcli(cli)
        m1, m2 = ["leader"], ["follower"]
        (p1, done1), (p2, done2) = _fake_server(m1), _fake_server(m2)
        marks, ready, out = (os.path.join(d, x) for x in ("marks", "ready", "out.json"))
        cmd = [sys.executable, os.path.abspath(__file__), "--out", out, "--marks", marks, "--ready", ready,
               "--raw", os.path.join(d, "raw.tsv"), "--zkcli", cli, f"n1=127.0.0.1:{p1}", f"n2=127.0.0.1:{p2}"]
        w = subprocess.Popen(cmd)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(ready):
                assert w.poll() is None and time.monotonic() < deadline, "the watcher never saw a write"
                time.sleep(0.02)
            with open(marks, "w") as f:
                f.write(f"start {round(now_ms())}\n")
            time.sleep(0.3)
            m1[0] = None  # n1 stops serving: no leader
            time.sleep(0.3)
            m2[0] = "leader"  # n2 takes over
            time.sleep(0.3)
            m1[0] = "follower"
            time.sleep(0.2)
            with open(marks, "a") as f:
                f.write(f"end {round(now_ms())}\n")
            time.sleep(0.3)
            w.send_signal(signal.SIGTERM)
            assert w.wait(timeout=15) == 0
        finally:
            if w.poll() is None:
                w.kill()
            done1.set()
            done2.set()
        with open(out) as f:
            r = json.load(f)
    assert r["elections"] == 1 and r["leaders"] == ["n1", "n2"], r
    assert 200 <= r["outage_ms"]["n1"] <= 800 and r["outage_ms"]["n2"] == 0, r["outage_ms"]
    assert r["writes_ok"] >= 20 and r["writes_failed"] >= 2, r
    assert r["writes_failed"] * 8 <= r["writes_ok"], r  # the reconnect log line is not a failure
    assert r["longest_gap_ms"] < 300 and r["client"]["exit"] == 0 and r["client"]["unsent"] == 0, r
    assert r["samples"] >= 40, r
    print(f"selftest ok: live watcher {r['samples']} samples, {r['writes_ok']} writes ok / "
          f"{r['writes_failed']} failed, n1 out {r['outage_ms']['n1']} ms, leaders {r['leaders']}, "
          f"gap {r['longest_gap_ms']} ms")


# ---- main --------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nodes", nargs="*", metavar="NODE")
    ap.add_argument("--out", help="JSON result")
    ap.add_argument("--marks", help="file of 'start MS' / 'end MS' lines (epoch ms)")
    ap.add_argument("--ready", help="created when the first write has succeeded")
    ap.add_argument("--stop-file", help="stop when this file appears")
    ap.add_argument("--raw", help="also write every sample and client line here (TSV)")
    ap.add_argument("--analyze", metavar="RAW", help="analyze a --raw file instead of watching")
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--port", type=int, default=2181)
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between polls of a node")
    ap.add_argument("--timeout", type=float, default=0.2, help="srvr socket timeout, seconds")
    ap.add_argument("--zkcli", default="/usr/share/zookeeper/bin/zkCli.sh")
    ap.add_argument("--server", help="zkCli's connect string (default: every NODE)")
    ap.add_argument("--znode", default="/zkrun-bench-w")
    ap.add_argument("--rate", type=float, default=50.0, help="writes per second")
    ap.add_argument("--after-ms", type=float, default=1000.0, help="how long after 'end' the window lasts")
    args = ap.parse_args()
    if args.selftest:
        selftest()
        return 0
    if not args.nodes or not args.out:
        ap.error("NODE... and --out are required")
    nodes = [parse_node(s, args.port) for s in args.nodes]
    if args.analyze:
        samples, client, last = load_raw(args.analyze)
        names = [n for n, _, _ in nodes]
        result = analyze(samples, client, names, read_marks(args.marks) if args.marks else {}, last,
                         args.after_ms, args.znode)
    else:
        result = watch(args, nodes)
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
