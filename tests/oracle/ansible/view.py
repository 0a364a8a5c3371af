#!/usr/bin/env python3
"""Ansible's view of one zkrun inventory test case, as one JSON object.

    <venv>/bin/python tests/oracle/ansible/view.py CASE_DIR

CASE_DIR is a scratch copy of a case (this script writes into it). It reads
CASE_DIR/case.yaml (see tests/oracle/README.md), runs `ansible-inventory
--list` and then `ansible-playbook` on a generated one-task play whose task is
the zkrun_probe action (action_plugins/zkrun_probe.py beside this file), and
prints what Ansible resolved. Nothing connects anywhere: the probe runs no
module, and a fake `ssh`/`sshpass` first on PATH records any call and fails;
a recorded call makes this script fail (exit 3).

Every occurrence of CASE_DIR's absolute path in the output is written as
`<case>`, so that outputs from different scratch copies compare equal.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
WORK = ".zkrun-oracle"  # scratch folder inside the case dir (hidden: inventory dirs skip it)
PLAYBOOK_NAME = "zkrun-oracle-play.yml"

CASE_KEYS = {"about", "inventory", "pattern", "args", "env", "playbook_dir", "ansible_error", "zkrun_error"}

FAKE_SSH = """#!/bin/sh
# zkrun oracle guard: nothing may connect. Record the call and fail as ssh does.
# `ssh -o ControlPersist` alone is Ansible asking what this ssh supports (for
# ansible_connection=smart): answered as OpenSSH does, and not a connection.
if [ "$(basename "$0")" = ssh ] && [ "$#" = 2 ] && [ "$1" = -o ] && [ "$2" = ControlPersist ]; then
    echo "command-line line 0: Missing ControlPersist argument." >&2
    exit 255
fi
{{ printf '%s' "$(basename "$0")"; for a in "$@"; do printf ' %s' "$a"; done; printf '\\n'; }} >> '{log}'
echo "zkrun oracle: $(basename "$0") must not be run" >&2
exit 255
"""


def fail(msg: str, code: int = 1) -> None:
    print(f"view.py: {msg}", file=sys.stderr)
    sys.exit(code)


def load_case(case_dir: str) -> dict:
    path = os.path.join(case_dir, "case.yaml")
    try:
        with open(path) as f:
            case = yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as e:
        fail(f"cannot read {path}: {e}")
    if not isinstance(case, dict):
        fail(f"{path}: not a mapping")
    unknown = set(case) - CASE_KEYS
    if unknown:
        fail(f"{path}: unknown keys {sorted(unknown)}")
    inv = case.get("inventory", [])
    if isinstance(inv, str):
        inv = [inv]
    case["inventory"] = [str(i) for i in (inv or [])]
    case["pattern"] = str(case.get("pattern") or "all")
    case["args"] = [str(a) for a in (case.get("args") or [])]
    case["env"] = {str(k): ("" if v is None else str(v)) for k, v in (case.get("env") or {}).items()}
    case["playbook_dir"] = str(case.get("playbook_dir") or ".")
    return case


def vault_args(args: list[str]) -> list[str]:
    """The vault options among the CLI args (ansible-inventory needs them too)."""
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--vault-password-file", "--vault-pass-file", "--vault-id"):
            out += args[i:i + 2]
            i += 2
            continue
        if a.startswith(("--vault-password-file=", "--vault-pass-file=", "--vault-id=")):
            out.append(a)
        i += 1
    return out


def make_env(case_dir: str, case: dict, work: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    fakebin = os.path.join(work, "bin")
    env.update({
        "HOME": case_dir,
        "PATH": os.pathsep.join([fakebin, VENV_BIN, env.get("PATH", "/usr/bin:/bin")]),
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "ANSIBLE_DUPLICATE_YAML_DICT_KEY": "error",
        # zkrun refuses an inventory source it cannot parse; Ansible's strict
        # counterpart (by default it only warns and goes on without it).
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.path.join(work, "tmp", "local"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(work, "tmp", "remote"),
        "ANSIBLE_ACTION_PLUGINS": os.path.join(HERE, "action_plugins"),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "zkrun_oracle",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_FORKS": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ZKRUN_ORACLE_RESULTS": os.path.join(work, "results.json"),
    })
    env.pop("PYTHONPATH", None)
    for k, v in case["env"].items():
        if v and not os.path.isabs(v) and os.path.exists(os.path.join(case_dir, v)):
            v = os.path.join(case_dir, v)
        env[k] = v
    return env


def install_guard(work: str) -> str:
    fakebin = os.path.join(work, "bin")
    os.makedirs(fakebin, exist_ok=True)
    log = os.path.join(work, "ssh-calls.log")
    for name in ("ssh", "sshpass", "scp", "sftp"):
        p = os.path.join(fakebin, name)
        with open(p, "w") as f:
            f.write(FAKE_SSH.format(log=log))
        os.chmod(p, stat.S_IRWXU)
    return log


def run(cmd: list[str], case_dir: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=case_dir, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def error_text(stderr: str, stdout: str = "") -> str:
    """Ansible's error message: stderr without its warnings and deprecations."""
    text = stderr.strip() or stdout.strip()
    keep, skipping = [], False
    for line in text.splitlines():
        if line.startswith("[WARNING]") or line.startswith("[DEPRECATION WARNING]"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        keep.append(line)
    return "\n".join(keep).strip() or text


def warnings_of(*texts: str) -> list[str]:
    out = []
    for text in texts:
        cur = None
        for line in text.splitlines():
            if line.startswith("[WARNING]:") or line.startswith("[DEPRECATION WARNING]:"):
                if cur is not None:
                    out.append(cur)
                cur = line.strip()
            elif cur is not None and line.startswith(" ") and line.strip():
                cur += " " + line.strip()
            else:
                if cur is not None:
                    out.append(cur)
                cur = None
        if cur is not None:
            out.append(cur)
    seen, uniq = set(), []
    for w in out:
        if w not in seen:
            seen.add(w)
            uniq.append(w)
    return uniq


def write_playbook(path: str, pattern: str) -> None:
    # JSON is YAML: no quoting surprises in the pattern.
    play = [{
        "name": "zkrun oracle probe",
        "hosts": pattern,
        "gather_facts": False,
        "tasks": [{"name": "zkrun_probe", "zkrun_probe": {}}],
    }]
    with open(path, "w") as f:
        json.dump(play, f, indent=1)
        f.write("\n")


NULL_CONN = {
    "connection": None, "address": None, "port": None, "user": None, "key_file": None,
    "become": None, "become_user": None, "become_method": None, "become_password": None,
    "ssh_common_args": None, "ssh_extra_args": None, "error": None,
}


def scrub(value, case_dir: str):
    """Replace the scratch case dir's absolute path by <case> in all strings."""
    if isinstance(value, str):
        return value.replace(case_dir, "<case>")
    if isinstance(value, list):
        return [scrub(v, case_dir) for v in value]
    if isinstance(value, dict):
        return {scrub(k, case_dir): scrub(v, case_dir) for k, v in value.items()}
    return value


def main() -> None:
    if len(sys.argv) != 2:
        fail("usage: view.py CASE_DIR", 2)
    case_dir = os.path.realpath(sys.argv[1])
    case = load_case(case_dir)
    from ansible.release import __version__ as ansible_version

    work = os.path.join(case_dir, WORK)
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    ssh_log = install_guard(work)
    env = make_env(case_dir, case, work)
    inv_args = [x for i in case["inventory"] for x in ("-i", i)]
    playbook_dir = os.path.normpath(os.path.join(case_dir, case["playbook_dir"]))
    os.makedirs(playbook_dir, exist_ok=True)

    out = {
        "ansible_version": ansible_version,
        "inventory": None,
        "inventory_error": None,
        "hosts": [],
        "connections": {},
        "error": None,
    }

    # 1. ansible-inventory --list
    p = run([os.path.join(VENV_BIN, "ansible-inventory"), *inv_args, "--list",
             "--playbook-dir", playbook_dir, *vault_args(case["args"])], case_dir, env)
    inv_stderr = p.stderr
    if p.returncode == 0:
        try:
            out["inventory"] = json.loads(p.stdout)
        except ValueError as e:
            out["inventory_error"] = f"ansible-inventory printed no JSON ({e}): {p.stdout[:2000]}"
    else:
        out["inventory_error"] = error_text(p.stderr, p.stdout)

    # 2. ansible-playbook with the probe
    play_path = os.path.join(playbook_dir, PLAYBOOK_NAME)
    write_playbook(play_path, case["pattern"])
    results_path = env["ZKRUN_ORACLE_RESULTS"]
    if os.path.exists(results_path):
        os.unlink(results_path)
    p = run([os.path.join(VENV_BIN, "ansible-playbook"), *inv_args, *case["args"], play_path],
            case_dir, env)
    results = {"plays": 0, "hosts": None, "results": {}}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)
    if results.get("hosts_error"):
        fail(f"the recorder could not list the play's hosts: {results['hosts_error']}")
    hosts = results.get("hosts") or []
    out["hosts"] = hosts
    for h in hosts:
        r = results["results"].get(h)
        if r is None:
            conn = dict(NULL_CONN, error="no result recorded for this host")
        elif "probe" in r:
            conn = dict(r["probe"])
        else:
            conn = dict(NULL_CONN, error=r.get("msg") or r.get("status"))
        out["connections"][h] = conn
    if p.returncode not in (0, 2, 4) or (results.get("plays", 0) == 0 and p.returncode != 0):
        out["error"] = error_text(p.stderr, p.stdout)
    out["warnings"] = warnings_of(inv_stderr, p.stderr)
    out["rc"] = p.returncode

    if os.path.exists(ssh_log) and os.path.getsize(ssh_log):
        with open(ssh_log) as f:
            fail("the ssh guard was called, something tried to connect:\n" + f.read(), 3)

    out = scrub(out, case_dir)
    json.dump(out, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
