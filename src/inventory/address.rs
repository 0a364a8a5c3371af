//! STUB
pub fn expand_host(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    Ok((vec![pattern.to_string()], None))
}
