# The zkrun inventory oracle's probe: an action that reports the connection
# settings Ansible resolved for this host, read from Ansible's own objects
# after TaskExecutor has set the connection, shell and become plugins'
# options. It executes no module and never opens the connection.
from __future__ import annotations

from ansible.plugins.action import ActionBase

_BUILTIN_PREFIXES = ("ansible.builtin.", "ansible.legacy.", "ansible_collections.ansible.builtin.plugins.")


def _short(name):
    """'ssh' for ssh, ansible.builtin.ssh and its collection module path."""
    name = str(name or "")
    if name.startswith(_BUILTIN_PREFIXES):
        return name.rsplit(".", 1)[-1]
    return name


def _plain(value):
    """The value as plain JSON data ('' and None both become None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        value = str(value)
        return value if value != "" else None
    return str(value)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _opt(self, plugin, name):
        try:
            return _plain(plugin.get_option(name))
        except KeyError:
            return None

    def run(self, tmp=None, task_vars=None):
        conn = self._connection
        pc = self._play_context
        kind = _short(getattr(conn, "_load_name", None) or getattr(conn, "transport", None))
        probe = {
            "connection": kind,
            "address": None,
            "port": None,
            "user": None,
            "key_file": None,
            "become": False,
            "become_user": None,
            "become_method": None,
            "become_password": None,
            "ssh_common_args": None,
            "ssh_extra_args": None,
            "error": None,
        }
        if kind == "ssh":
            # Exactly what ssh.py's _build_command/exec_command use.
            probe["address"] = self._opt(conn, "host") or _plain(pc.remote_addr)
            probe["port"] = self._opt(conn, "port")
            probe["user"] = self._opt(conn, "remote_user")
            probe["key_file"] = self._opt(conn, "private_key_file")
            probe["ssh_common_args"] = self._opt(conn, "ssh_common_args")
            probe["ssh_extra_args"] = self._opt(conn, "ssh_extra_args")
        become = getattr(conn, "become", None)
        if become is not None:
            probe["become"] = True
            probe["become_method"] = _short(getattr(become, "_load_name", None) or getattr(become, "name", None))
            probe["become_user"] = self._opt(become, "become_user")
            probe["become_password"] = self._opt(become, "become_pass")
        # Extra context for the oracle (not part of the compared record).
        extra = {
            "play_hosts": [str(h) for h in (task_vars or {}).get("ansible_play_hosts_all", [])],
            "play_context": {
                "remote_addr": _plain(pc.remote_addr),
                "remote_user": _plain(pc.remote_user),
                "port": _plain(pc.port),
                "private_key_file": _plain(pc.private_key_file),
                "become": bool(pc.become),
                "become_user": _plain(pc.become_user),
                "become_method": _plain(pc.become_method),
            },
        }
        return {"changed": False, "zkrun_probe": probe, "zkrun_probe_extra": extra}
