//! What the user writes: serde types for playbooks and inventories.
//!
//! Every struct denies unknown fields, so a typo is an error with a place,
//! never a silently ignored setting.

pub mod checked;
pub mod duration;
pub mod inventory;
pub mod names;
pub mod playbook;
pub mod task;
pub mod template;

pub use duration::Duration;
pub use names::{HostName, TaskId};
pub use template::Template;
