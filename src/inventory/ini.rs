//! STUB
use super::value::{Op, SourceError};
pub fn parse(_text: &str) -> Result<Vec<Op>, SourceError> {
    Ok(Vec::new())
}
