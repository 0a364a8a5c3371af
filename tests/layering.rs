//! The pure core stays pure: no runtime, no SSH, no terminal, no files.
//! A cheap guard against a plan that quietly starts doing I/O.

const PURE: &[&str] = &[
    "src/model",
    "src/plan",
    "src/inventory",
    "src/render.rs",
    "src/tasks",
    "src/diagnostic.rs",
];
const FORBIDDEN: &[&str] = &[
    "tokio",
    "openssh",
    "indicatif",
    "std::fs",
    "std::process",
    "std::net",
];

fn files(path: &str) -> Vec<std::path::PathBuf> {
    let p = std::path::Path::new(path);
    if p.is_file() {
        return vec![p.to_path_buf()];
    }
    std::fs::read_dir(p)
        .unwrap()
        .flat_map(|e| files(e.unwrap().path().to_str().unwrap()))
        .collect()
}

#[test]
fn pure_modules_do_no_io() {
    for path in PURE.iter().flat_map(|p| files(p)) {
        let text = std::fs::read_to_string(&path).unwrap();
        for word in FORBIDDEN {
            assert!(!text.contains(word), "{} uses `{word}`", path.display());
        }
    }
}
