//! Floor (a) of the SSH benchmark: a bare loop over `openssh` native-mux
//! sessions, no zkrun in between. `scripts/bench` runs it against the local
//! fleet: ZKRUN_BENCH_SSH_CONFIG names the ssh_config, ZKRUN_BENCH_HOSTS the
//! space-separated `alias=address` pairs, ZKRUN_BENCH_COMMANDS the commands per host.

use std::time::Instant;

use openssh::{KnownHosts, SessionBuilder};

fn main() {
    let (Ok(config), Ok(hosts)) = (
        std::env::var("ZKRUN_BENCH_SSH_CONFIG"),
        std::env::var("ZKRUN_BENCH_HOSTS"),
    ) else {
        eprintln!(
            "ssh_floor: run through scripts/bench (it sets ZKRUN_BENCH_SSH_CONFIG and ZKRUN_BENCH_HOSTS)"
        );
        return;
    };
    let commands: usize = std::env::var("ZKRUN_BENCH_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let command = std::env::var("ZKRUN_BENCH_COMMAND").unwrap_or_else(|_| "true".into());
    let hosts: Vec<String> = hosts
        .split_whitespace()
        .map(|h| h.split('=').nth(1).unwrap_or(h).to_string())
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t0 = Instant::now();
        let sessions = futures_util::future::join_all(hosts.iter().map(|h| {
            let config = config.clone();
            async move {
                let mut b = SessionBuilder::default();
                b.known_hosts_check(KnownHosts::Strict)
                    .config_file(&config)
                    .control_directory(std::env::temp_dir());
                b.connect_mux(h).await.expect("connect")
            }
        }))
        .await;
        let connected = t0.elapsed();
        let t1 = Instant::now();
        let command = &command;
        futures_util::future::join_all(sessions.iter().map(|s| async move {
            for _ in 0..commands {
                let out = s.raw_command(command).output().await.expect("run");
                assert!(out.status.success());
            }
        }))
        .await;
        let ran = t1.elapsed();
        println!(
            "  floor (a), bare openssh native mux: connect {} hosts {:.0} ms; {} commands {:.0} ms",
            hosts.len(),
            connected.as_secs_f64() * 1000.0,
            hosts.len() * commands,
            ran.as_secs_f64() * 1000.0
        );
        for s in sessions {
            let _ = s.close().await;
        }
    });
}
