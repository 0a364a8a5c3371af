//! Command-line definitions (clap). No behaviour here.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "zkrun",
    version,
    about = "Run YAML playbooks over SSH: graceful rolling restarts of ZooKeeper ensembles",
    after_help = "Exit codes: 0 success, 1 the run failed (or a dry-run found it would be refused), 2 invalid input or usage, 3 interrupted, 4 another run holds the lock.\n\
                  Examples:\n  zkrun playbooks/rolling-restart.yaml -i hosts.yaml --dry-run\n  \
                  zkrun playbooks/rolling-restart.yaml -i hosts.yaml --check\n  \
                  zkrun playbooks/rolling-restart.yaml -i hosts.yaml -l zk2 -e backup_root=/srv/backups\n  \
                  zkrun --status -i hosts.yaml\n  \
                  zkrun --status playbooks/rolling-restart.yaml -i hosts.yaml"
)]
pub struct Cli {
    /// The playbook (YAML) to run.
    #[arg(required_unless_present_any = ["status", "list_inventory", "completions", "man"])]
    pub playbook: Option<PathBuf>,

    /// Show the ensemble (mode, zxid, clients, verdict) and exit; read-only.
    /// With a PLAYBOOK: its hosts and its `service` block (client port and
    /// address, config); without: every inventory host (or --limit) with
    /// the default service, or --client-port/--client-address.
    #[arg(long, conflicts_with_all = ["dry_run", "check"])]
    pub status: bool,

    /// With --status and no playbook: the nodes' client port (default 2181).
    #[arg(
        long,
        value_name = "PORT",
        requires = "status",
        conflicts_with = "playbook"
    )]
    pub client_port: Option<u16>,

    /// With --status and no playbook: the address each node's client port
    /// listens on, as seen from its host (a template such as
    /// `{{ ansible_host }}`; default: the host's address).
    #[arg(
        long,
        value_name = "ADDRESS",
        requires = "status",
        conflicts_with = "playbook"
    )]
    pub client_address: Option<String>,

    /// An Ansible inventory: a YAML or INI file, a directory of them, or a
    /// host list (`zk1,zk2,`). Repeatable; default: `inventory` in ansible.cfg.
    #[arg(short, long, alias = "inventory-file", value_name = "SOURCE")]
    pub inventory: Vec<String>,

    /// Print the play's hosts (after --limit) with the address, port, user
    /// and become each is reached with, and which ansible.cfg was read; exit.
    #[arg(long, conflicts_with_all = ["dry_run", "check", "status", "show_state"])]
    pub list_hosts: bool,

    /// Print the inventory as zkrun resolved it, in the JSON shape of
    /// `ansible-inventory --list` (variables unrendered); exit.
    #[arg(long, conflicts_with_all = ["dry_run", "check", "status", "show_state", "list_hosts"])]
    pub list_inventory: bool,

    /// With --list-inventory (no playbook): the directory whose `group_vars/`
    /// and `host_vars/` apply as a playbook's would (as ansible-inventory's).
    #[arg(long, value_name = "DIR")]
    pub playbook_dir: Option<PathBuf>,

    /// Log in as this user when the inventory does not say (`ansible_user` wins, as in Ansible).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub remote_user: Option<String>,

    /// The ssh key to log in with when the inventory does not say.
    #[arg(long, alias = "key-file", value_name = "FILE")]
    pub private_key: Option<String>,

    /// Run commands through sudo (`ansible_become` on a host wins).
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,

    /// Whom to become (default root; `ansible_become_user` wins).
    #[arg(long, value_name = "USER")]
    pub become_user: Option<String>,

    /// The become method; only `sudo` is supported.
    #[arg(long, value_name = "METHOD")]
    pub become_method: Option<String>,

    /// Ask for the sudo password once, on the terminal; it reaches hosts on
    /// sudo's standard input, never on a command line.
    #[arg(short = 'K', long, alias = "ask-sudo-pass")]
    pub ask_become_pass: bool,

    /// Read the sudo password from this file (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "ask_become_pass")]
    pub become_password_file: Option<PathBuf>,

    /// Extra ssh arguments for every host (`-o Key=Value`, -J …), as Ansible's option.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub ssh_common_args: Option<String>,

    /// Extra ssh arguments for every host, after the common ones.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub ssh_extra_args: Option<String>,

    /// A vault password file (if executable, its output). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vault_password_file: Vec<String>,

    /// A vault identity: `label@FILE` or `label@prompt`. Repeatable.
    #[arg(long, value_name = "ID@SOURCE")]
    pub vault_id: Vec<String>,

    /// Ask for the vault password on the terminal.
    #[arg(short = 'J', long, alias = "ask-vault-password")]
    pub ask_vault_pass: bool,

    /// Print the plan (every step on every host, rendered), then look at
    /// the hosts read-only (leader now, checks available, template diffs,
    /// what would refuse the run) and exit; changes nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Roll an ensemble of 1 or 2 nodes, which has no quorum while one of
    /// them is stopped, or with a `serial` beyond the ensemble's fault
    /// tolerance (both refused without this): an outage for its clients.
    #[arg(long)]
    pub allow_quorum_loss: bool,

    /// When a step fails while its node is out of service, leave the node
    /// down instead of bringing it back (for debugging a failed step).
    #[arg(long)]
    pub no_recover: bool,

    /// With --dry-run: do not contact the hosts at all.
    #[arg(long, requires = "dry_run", conflicts_with_all = ["status", "check", "show_state"])]
    pub offline: bool,

    /// Only validate the playbook and inventory; touches no host.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Restrict the play to hosts matching this pattern (e.g. `zk2`, `zk*`,
    /// `all:!zk3`), or to the hosts listed in a file with `@FILE`.
    #[arg(short, long, value_name = "PATTERN")]
    pub limit: Option<String>,

    /// Set variables (highest precedence), as Ansible: `a=1 b="two words"`,
    /// JSON or YAML (`'{"a": 1}'`), or `@file.yaml`. Repeatable.
    #[arg(
        short = 'e',
        long = "extra-vars",
        value_name = "VARS|@FILE",
        allow_hyphen_values = true
    )]
    pub extra_vars: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,

    /// Hosts connected to, and worked on outside the rolling part, at once
    /// (default: `forks` in ansible.cfg, else 10).
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<usize>,

    /// An ssh_config file for every connection (as `ssh -F`); default: your own ~/.ssh/config.
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// Trust host keys seen for the first time (changed keys are always refused).
    #[arg(long)]
    pub accept_new_host_keys: bool,

    /// How long to wait for each SSH connection (`-T 30` is 30 seconds, as in Ansible).
    #[arg(long, short = 'T', alias = "timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: crate::model::Duration,

    /// After the run, write its timeline here: one self-contained HTML page
    /// (`.html`: a lane per node with its states, the leader, leaderless
    /// windows, each step, the roll report) or the same data (`.json`).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Where each step's output is written: <DIR>/<run id>/<host>/<task>.log.
    #[arg(long, value_name = "DIR", default_value = ".zkrun/runs")]
    pub log_dir: PathBuf,

    /// Show remote output as it comes. Counted as in Ansible (`-vvv` is
    /// accepted); more than one adds nothing yet.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only failures and the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Continue the unfinished run of this playbook on this inventory.
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,

    /// Start over: the unfinished run's state is archived beside it.
    #[arg(long)]
    pub fresh: bool,

    /// Resume even though the playbook or inventory changed since the run began.
    #[arg(long, requires = "resume")]
    pub force: bool,

    /// The state file (default: .zkrun/state/<playbook>-<hash>.json).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print where the last run of this playbook on this inventory stands, and exit.
    #[arg(long, conflicts_with_all = ["dry_run", "check", "status", "resume", "fresh"])]
    pub show_state: bool,

    /// The fingerprint key of the run being resumed or previewed, or a new
    /// random one (set by the run command, never on the command line).
    #[arg(skip)]
    pub fingerprint_key: Option<String>,

    /// Print the shell completion script for bash, zsh or fish, and exit.
    #[arg(long, value_name = "SHELL", exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print the man page (roff), and exit.
    #[arg(long, exclusive = true)]
    pub man: bool,

    /// Use this run id instead of a new one (reproducible previews).
    #[arg(long, value_name = "ID", hide = true)]
    pub run_id: Option<String>,
}

/// ansible-playbook options zkrun does not have, with what to do instead.
/// Checked before clap parses, so the answer is this, not "unexpected
/// argument" with a suggestion for some other flag.
const ANSIBLE_ONLY: &[(&[&str], &str)] = &[
    (
        &["-t", "--tags", "--skip-tags"],
        "zkrun has no tags: each task has an `id`, and `when:` skips a task; --limit picks hosts",
    ),
    (
        &["--start-at-task", "--step"],
        "zkrun checkpoints every step: interrupt with Ctrl-C and continue with --resume",
    ),
    (
        &["-C"],
        "zkrun's preview is --dry-run (zkrun's --check only validates the inputs)",
    ),
    (
        &["-D", "--diff"],
        "--dry-run shows each template's diff against the file on the host",
    ),
    (
        &["--syntax-check"],
        "use --check: it validates the playbook and inventory and touches no host",
    ),
    (
        &["-k", "--ask-pass", "--connection-password-file"],
        "zkrun logs in with keys or an agent, not passwords",
    ),
    (
        &["-c", "--connection"],
        "set `ansible_connection` (ssh or local) in the inventory",
    ),
    (
        &["--list-tasks", "--list-tags"],
        "--dry-run --offline prints every task on every host",
    ),
    (
        &[
            "--flush-cache",
            "--force-handlers",
            "-M",
            "--module-path",
            "--scp-extra-args",
            "--sftp-extra-args",
        ],
        "zkrun runs no Ansible modules, handlers or fact cache; the option has no meaning here",
    ),
];

/// The message for an ansible-playbook option zkrun lacks, if one is given.
pub fn ansible_only(args: &[String]) -> Option<String> {
    for a in args.iter().skip(1) {
        if a == "--" {
            return None;
        }
        let flag = a.split_once('=').map_or(a.as_str(), |(f, _)| f);
        for (flags, instead) in ANSIBLE_ONLY {
            if flags.contains(&flag) {
                return Some(format!(
                    "error: `{flag}` is an ansible-playbook option that zkrun does not have\n  = help: {instead}\n  = note: zkrun takes Ansible's -i, -l, -e, -u, -b, -K, -f, -T, -v, --private-key, --become-user, --ssh-common-args, --ssh-extra-args, --vault-id, --vault-password-file and -J; see zkrun --help"
                ));
            }
        }
    }
    None
}

fn parse_duration(s: &str) -> Result<crate::model::Duration, String> {
    crate::model::Duration::parse(s)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people: coloured on a terminal, plain otherwise.
    Human,
    /// JSON lines: one `{"type": ..., "data": ...}` object per line.
    Json,
}

/// What the flags ask zkrun to do: one command each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `--completions`, `--man`: documentation for the shell and `man`.
    Help,
    /// `--list-hosts`: the play's hosts and how each is reached.
    ListHosts,
    /// `--list-inventory`: the inventory as `ansible-inventory --list` shows it.
    ListInventory,
    /// `--status`: look at the ensemble.
    Status,
    /// `--show-state`: where the last run stands.
    ShowState,
    /// `--check`: validate the inputs.
    Check,
    /// `--dry-run`: print the plan and look at the hosts.
    DryRun,
    /// Run the playbook (or `--resume` one).
    Run,
}

impl Cli {
    /// `-f`, default 10.
    pub fn forks(&self) -> usize {
        self.forks.unwrap_or(10).max(1)
    }

    pub fn command(&self) -> Command {
        if self.completions.is_some() || self.man {
            Command::Help
        } else if self.list_hosts {
            Command::ListHosts
        } else if self.list_inventory {
            Command::ListInventory
        } else if self.status {
            Command::Status
        } else if self.show_state {
            Command::ShowState
        } else if self.check {
            Command::Check
        } else if self.dry_run {
            Command::DryRun
        } else {
            Command::Run
        }
    }
}
