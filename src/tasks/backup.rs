//! `backup`: copy what a node needs to be restored, into a directory on the host.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Template;
use crate::plan::context::Cx;
use crate::render::Text;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupArgs {
    /// Directory on the host to copy into; usually holds `{{ run_id }}`.
    pub dest: Template,
    /// How many backups to keep next to `dest` (its siblings in the parent
    /// directory, newest first). 0 keeps all.
    #[serde(default = "five")]
    pub keep: u32,
}

fn five() -> u32 {
    5
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupStep {
    pub dest: Text,
    pub keep: u32,
    /// The live config; `dataDir` and `dataLogDir` are read from it at run time.
    pub config: Text,
}

pub fn plan(args: &BackupArgs, cx: &Cx) -> Option<BackupStep> {
    Some(BackupStep {
        dest: cx.text(&args.dest, &["backup", "dest"])?,
        keep: args.keep,
        config: cx.service.config.clone(),
    })
}

impl BackupStep {
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![
            format!("copy to {}:", self.dest),
            "  newest valid snapshot + the txn logs it needs, epochs, myid, config".into(),
            format!("  data dirs read from {} at run time", self.config),
        ];
        if self.keep > 0 {
            lines.push(format!("keep the newest {} backups beside it", self.keep));
        }
        lines
    }
}
