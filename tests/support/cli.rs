//! Command lines for the in-process tests of loading and planning.

pub fn cli_args(
    playbook: impl AsRef<std::path::Path>,
    inventory: impl AsRef<std::path::Path>,
    extra: Vec<String>,
) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = vec![
        "zkrun".into(),
        playbook.as_ref().into(),
        "-i".into(),
        inventory.as_ref().into(),
        "--dry-run".into(),
        "--run-id".into(),
        "20261125T120000Z-0001".into(),
    ];
    for e in extra {
        a.push("-e".into());
        a.push(e.into());
    }
    a
}
