//! Property: whatever bytes a playbook or inventory holds, loading returns a
//! value or diagnostics, never a panic. Inputs are mutations of the shipped
//! files (deterministic, so a failure reproduces).

use zkrun::model::inventory::InventoryFile;
use zkrun::tasks::Playbook;
use zkrun::yaml::{Part, Source, YamlPath};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPICE: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "\t",
    "\"",
    "'",
    "&a ",
    "*a",
    "!!",
    "{{",
    "}}",
    "{%",
    "\n",
    "#",
    "?",
    ",",
    "|",
    ">",
    "\u{0}",
    "\u{feff}",
    "é",
    "---\n",
    "...",
    "<<: ",
    "!unsafe ",
    "!vault ",
    "[",
    ":children]",
    ":vars]",
    "=",
    "[1:3]",
    "\r\n",
];

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(4) {
            0 => {
                let s = SPICE[rng.below(SPICE.len())].as_bytes();
                v.splice(at..at, s.iter().copied());
            }
            1 if at < v.len() => {
                let end = (at + rng.below(16)).min(v.len());
                v.drain(at..end);
            }
            2 if at < v.len() => v[at] = rng.next() as u8,
            _ => v.truncate(at),
        }
    }
    v
}

#[test]
fn mutated_inputs_never_panic_the_loader() {
    let seeds = [
        include_str!("../../playbooks/rolling-restart.yaml"),
        include_str!("../../playbooks/config-change.yaml"),
        include_str!("../../examples/inventory-5.yaml"),
        include_str!("../fixtures/inventories/01-ini-sections-comments/hosts.ini"),
        include_str!("../fixtures/inventories/07-yaml-anchors-merge/hosts.yml"),
    ];
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for i in 0..3000 {
        let base = seeds[i % seeds.len()].as_bytes();
        let bytes = mutate(&mut rng, base);
        let text = String::from_utf8_lossy(&bytes).to_string();
        let src = Source::new("fuzz.yaml", text);
        let _ = src.parse::<Playbook>("playbook");
        let _ = src.parse::<InventoryFile>("inventory");
        // The Ansible readers: YAML 1.1 with its tags and merges, and INI.
        let _ = zkrun::inventory::from_yaml_text("fuzz.yaml", &src.text);
        let _ = zkrun::inventory::ini::parse(&src.text);
        // The position index must cope too.
        let _ = src.locate(
            &YamlPath::root().key("tasks").index(2).key("id"),
            Part::Value,
        );
        let _ = src.locate_within(&YamlPath::root().key("name"), "x");
    }
}

/// Every input the fuzzer ever found (tests/fixtures/fuzz/<target>/),
/// replayed through its reader: each must now return, not panic.
#[test]
fn fuzz_findings_stay_fixed() {
    let root = std::path::Path::new("tests/fixtures/fuzz");
    for target in std::fs::read_dir(root).unwrap().flatten() {
        if !target.path().is_dir() {
            continue;
        }
        let name = target.file_name().to_string_lossy().to_string();
        for f in std::fs::read_dir(target.path()).unwrap().flatten() {
            let bytes = std::fs::read(f.path()).unwrap();
            let text = String::from_utf8_lossy(&bytes).to_string();
            match name.as_str() {
                "inventory_yaml" => drop(zkrun::inventory::from_yaml_text("f.yml", &text)),
                "inventory_ini" => {
                    let _ = zkrun::inventory::ini::parse(&text);
                    let _ = zkrun::inventory::pyliteral::literal_eval(&text);
                    let _ = zkrun::inventory::address::expand_host(&text);
                }
                "playbook" => drop(Source::new("f.yaml", text).parse::<Playbook>("playbook")),
                "state" => drop(serde_json::from_slice::<zkrun::checkpoint::State>(&bytes)),
                "zoo_cfg" => {
                    let _ = zkrun::zk::config::parse(&text);
                    let _ = zkrun::zk::fourlw::parse_srvr(&text);
                    let _ = zkrun::zk::fourlw::parse_mntr(&text);
                }
                "vault" => drop(zkrun::inventory::vault::decrypt(
                    &text,
                    &[zkrun::inventory::vault::VaultSecret::new("default", "fuzz")],
                )),
                other => panic!("unknown fuzz target directory `{other}`"),
            }
        }
    }
}
