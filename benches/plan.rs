//! Plan generation for large generated inventories: wall time and peak
//! memory. Figures, not assertions: `cargo bench --bench plan`.
//!
//! The goals: 1,000 hosts under 100 ms; 10,000 under 1 s and 100 MiB;
//! 100,000 under 10 s and 1 GiB (issue 15). Peak RSS is the process's high
//! water mark so far, so each size's figure includes the sizes before it.

use std::collections::HashMap;
use std::time::Instant;

use indexmap::IndexMap;
use zkrun::tasks::Playbook;
use zkrun::yaml::Source;

fn inventory(hosts: usize) -> String {
    let mut s = String::from(
        "all:\n  vars:\n    ansible_user: zkadmin\n  children:\n    zookeeper:\n      vars:\n        zk_data_dir: /var/lib/zookeeper\n      children:\n",
    );
    for rack in 0..10 {
        s.push_str(&format!(
            "        rack{rack}:\n          vars: {{rack: r{rack}}}\n          hosts:\n"
        ));
        for i in (rack..hosts).step_by(10) {
            s.push_str(&format!(
                "            zk{i}: {{ansible_host: 10.{}.{}.{}, zk_id: {}}}\n",
                i / 65536,
                i / 256 % 256,
                i % 256,
                i + 1
            ));
        }
    }
    s
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let playbook_text =
        std::fs::read_to_string("playbooks/rolling-restart.yaml").expect("run from the repo root");
    println!(
        "{:>7}  {:>9}  {:>9}  {:>9}  {:>8}  {:>10}",
        "hosts", "load ms", "plan ms", "total ms", "steps", "peak MiB"
    );
    for hosts in [1_000, 10_000, 100_000] {
        let inv_text = inventory(hosts);
        let mut best = f64::MAX;
        let mut best_load = 0.0;
        let mut best_plan = 0.0;
        let mut steps = 0;
        for _ in 0..if hosts >= 100_000 { 1 } else { 5 } {
            let t0 = Instant::now();
            let pb_src = Source::new("rolling-restart.yaml", playbook_text.clone());
            let pb: Playbook = pb_src.parse("playbook").unwrap();
            let inv = zkrun::inventory::from_yaml_text("generated.yaml", &inv_text).unwrap();
            let t1 = Instant::now();
            let plan = zkrun::plan::build(&zkrun::plan::Inputs {
                playbook: &pb,
                playbook_src: &pb_src,
                inventory: &inv,
                connection: &Default::default(),
                extra_vars: &IndexMap::new(),
                limit: None,
                run_id: "20261125T120000Z-0001",
                files: &HashMap::new(),
                allow_quorum_loss: false,
                fingerprint_key: None,
            })
            .unwrap();
            let t2 = Instant::now();
            let total = (t2 - t0).as_secs_f64() * 1000.0;
            if total < best {
                best = total;
                best_load = (t1 - t0).as_secs_f64() * 1000.0;
                best_plan = (t2 - t1).as_secs_f64() * 1000.0;
                steps = plan
                    .rolling()
                    .map_or(0, |r| r.steps.values().map(Vec::len).sum());
            }
        }
        println!(
            "{hosts:>7}  {best_load:>9.1}  {best_plan:>9.1}  {best:>9.1}  {steps:>8}  {:>10.1}",
            peak_rss_mib()
        );
    }
}
