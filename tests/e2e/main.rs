//! End-to-end tests against the real local fleet (`scripts/testbed`): real
//! sshd, real ZooKeeper, real zkrun runs. One test binary, so the crate is
//! linked once and every test shares one fleet, one test at a time
//! (`support::testbed`).

#[path = "../support/mod.rs"]
mod support;

mod engine;
mod preview;
mod resume;
mod rolling;
mod safety;
mod shapes;
mod terminal;
mod testbed;
