//! STUB
#[derive(Debug, Default)] pub struct Settings {}
