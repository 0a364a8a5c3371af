//! The checked-in JSON Schemas are generated from the Rust types. Regenerate
//! with `ZKRUN_UPDATE_SCHEMAS=1 cargo test --test offline schemas`.

fn check(path: &str, generated: String) {
    if std::env::var_os("ZKRUN_UPDATE_SCHEMAS").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{path} is out of date with the Rust types; run ZKRUN_UPDATE_SCHEMAS=1 cargo test --test offline schemas"
    );
}

#[test]
fn playbook_schema_is_in_sync() {
    check("schemas/playbook.schema.json", zkrun::schema::playbook());
}

#[test]
fn inventory_schema_is_in_sync() {
    check("schemas/inventory.schema.json", zkrun::schema::inventory());
}

#[test]
fn event_schema_is_in_sync() {
    check("schemas/events.schema.json", zkrun::schema::events());
}

#[test]
fn live_schema_is_in_sync() {
    check("schemas/live.schema.json", zkrun::schema::live());
}

#[test]
fn shipped_playbooks_name_their_schema() {
    for entry in std::fs::read_dir("playbooks").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/playbook.schema.json"),
            "{} lacks the schema comment",
            path.display()
        );
    }
}
