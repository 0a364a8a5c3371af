//! `--status`: one line per node of the play, the session bounds, and a
//! verdict. Exit 0 when healthy. Read-only.

use std::process::ExitCode;

use super::out::print_json;
use super::{exit, ssh_for};
use crate::cli::{Cli, Output};
use crate::host::transport::Transport;

/// `--status`: one line per node and a verdict. Exit 0 when healthy.
pub fn run(cli: Cli) -> ExitCode {
    let cli = &cli;
    let plan = match super::plan(cli) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let runtime = match super::runtime(cli.output) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let ssh = ssh_for(cli);
    let json = cli.output == Output::Json;
    let healthy = runtime.block_on(async {
        let connected =
            futures_util::future::join_all(plan.hosts.iter().map(|h| ssh.connect(h))).await;
        let mut reachable = Vec::new();
        let mut unreachable = Vec::new();
        for (h, r) in plan.hosts.iter().zip(connected) {
            match r {
                Ok(()) => reachable.push(h.clone()),
                Err(e) => {
                    let (why, help) = e.explain();
                    if !json {
                        errln!("{:<10} unreachable: {why}\n           help: {help}", h.name);
                    }
                    unreachable
                        .push(serde_json::json!({"host": h.name, "error": why, "help": help}));
                }
            }
        }
        let verdict = match reachable.first() {
            None => {
                let why = "no host could be reached".to_string();
                if json {
                    print_json(
                        "status",
                        &serde_json::json!({"nodes": [], "unreachable": unreachable, "healthy": false, "why": why}),
                    );
                }
                Err(why)
            }
            Some(first) => {
                let facts = Default::default();
                let x = crate::host::exec::Exec::read_only(
                    &ssh,
                    first,
                    &reachable,
                    "status",
                    std::time::Duration::from_secs(10),
                    &facts,
                );
                let mut view = crate::zk::probe::view(&x).await;
                let config = crate::preview::service_config(&plan);
                // Voters and observers as the configs say.
                let ids = crate::zk::probe::identities(&x, &config).await;
                view.observers = crate::zk::ensemble::observers(&ids);
                let silent = jvm_without_port(&x, &view).await;
                let s = crate::zk::probe::sessions(&x, &view, &config).await;
                let verdict = if reachable.len() < plan.hosts.len() {
                    Err("some hosts could not be reached".to_string())
                } else {
                    crate::zk::ensemble::healthy(&view)
                };
                if json {
                    print_json(
                        "status",
                        &serde_json::json!({
                            "nodes": view.to_json(),
                            "running_not_answering": silent,
                            "leader": view.leaders(),
                            "synced_followers": view.leader_mntr.synced_followers(),
                            "unreachable": unreachable,
                            "sessions": s.line,
                            "sessions_warning": s.warn,
                            "healthy": verdict.is_ok(),
                            "why": verdict.as_ref().err(),
                        }),
                    );
                } else {
                    out!("{}", view.table());
                    for h in &silent {
                        outln!(
                            "{h:<10} a ZooKeeper JVM runs on the host, but the client port does not answer \
                             (a TLS-only secureClientPort, another clientPort or address: pass the playbook, \
                             or --client-port/--client-address)"
                        );
                    }
                    outln!("{}{}", if s.warn { "WARNING: " } else { "" }, s.line);
                }
                verdict
            }
        };
        ssh.close().await;
        verdict
    });
    if json {
        return ExitCode::from(if healthy.is_ok() {
            exit::OK
        } else {
            exit::RUN_FAILED
        });
    }
    match healthy {
        Ok(()) => {
            outln!("healthy: every voter serves, one leader, followers synced");
            ExitCode::from(exit::OK)
        }
        Err(why) => {
            outln!("NOT healthy: {why}");
            ExitCode::from(exit::RUN_FAILED)
        }
    }
}

/// Hosts whose node does not answer on its client port while a ZooKeeper
/// JVM runs there: "running, client port not answering", never "down".
async fn jvm_without_port<T: Transport>(
    x: &crate::host::exec::Exec<'_, T>,
    view: &crate::zk::ensemble::View,
) -> Vec<String> {
    let mut out = Vec::new();
    for n in &view.nodes {
        if n.state != crate::zk::ensemble::NodeState::Down {
            continue;
        }
        let Some(h) = x.hosts.iter().find(|h| h.name == n.host) else {
            continue;
        };
        if crate::zk::probe::server_pids(x, h)
            .await
            .is_ok_and(|p| !p.is_empty())
        {
            out.push(n.host.clone());
        }
    }
    out
}
