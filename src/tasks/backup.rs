//! `backup`: copy what a node needs to be restored, into a directory on the host.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::Template;
use crate::plan::context::Cx;
use crate::render::Text;
use crate::runner::exec::{Exec, StepError};
use crate::transport::Transport;

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

/// Copies a node's restorable state into "$2" (config "$1", keep "$3").
///
/// The newest *valid* snapshot (it ends with the bytes 00 00 00 01 2F; one
/// still being written does not), every txn log after it and the newest log
/// at or before it (ZooKeeper's own recovery rule), both epoch files, `myid`
/// (dereferenced) and the config files. Then a sha256 manifest, which also
/// marks the backup complete: a second run with the same `dest` skips it.
const BACKUP: &str = r#"set -eu
conf=$1 dest=$2 keep=$3
if [ -f "$dest/MANIFEST.sha256" ]; then echo "already backed up: $dest"; cat "$dest/MANIFEST.sha256"; exit 0; fi
val() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$conf" | tail -n 1; }
data=$(val dataDir); logs=$(val dataLogDir); [ -n "$logs" ] || logs=$data
[ -n "$data" ] || { echo "no dataDir in $conf" >&2; exit 3; }
snaps=$data/version-2; txns=$logs/version-2
# Names hold hex zxids without leading zeros: order by length, then text.
newest_first() { sed "s/^$1\.//" | awk '{ print length($0), $0 }' | sort -k1,1nr -k2,2r | cut -d' ' -f2; }
snap=""
for z in $(ls -1 "$snaps" | grep '^snapshot\.[0-9a-f]*$' | newest_first snapshot); do
  if [ "$(tail -c 5 "$snaps/snapshot.$z" | od -An -tx1 | tr -d ' 
')" = "000000012f" ]; then snap=$z; break; fi
  echo "skipping incomplete snapshot.$z" >&2
done
[ -n "$snap" ] || { echo "no complete snapshot in $snaps: a backup without one cannot be restored" >&2; exit 4; }
tmp="$dest.partial"
rm -rf "$tmp"; mkdir -p "$tmp/version-2"
# Room for the copy, with a margin: a full disk mid-copy helps nobody.
need=$(du -sk "$snaps" "$txns" 2>/dev/null | awk '{ s += $1 } END { print int(s * 1.1) + 1024 }')
free=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
if [ "$free" -lt "$need" ]; then rm -rf "$tmp"; echo "not enough space for the backup in $(dirname "$dest"): ${free} KiB free, ${need} KiB needed" >&2; exit 6; fi
cp -p "$snaps/snapshot.$snap" "$tmp/version-2/"
older=""
for z in $(ls -1 "$txns" | grep '^log\.[0-9a-f]*$' | newest_first log); do
  if [ $((0x$z)) -gt $((0x$snap)) ]; then cp -p "$txns/log.$z" "$tmp/version-2/"
  elif [ -z "$older" ]; then older=$z; cp -p "$txns/log.$z" "$tmp/version-2/"; fi
done
for f in currentEpoch acceptedEpoch; do [ ! -f "$snaps/$f" ] || cp -p "$snaps/$f" "$tmp/version-2/"; done
cp -L "$data/myid" "$tmp/myid"
cp -p "$conf" "$tmp/"
for f in "$(dirname "$conf")"/zoo.cfg.dynamic.*; do [ ! -f "$f" ] || cp -p "$f" "$tmp/"; done
# The copy must still be a complete snapshot.
[ "$(tail -c 5 "$tmp/version-2/snapshot.$snap" | od -An -tx1 | tr -d ' 
')" = "000000012f" ] || { echo "the copied snapshot is incomplete" >&2; exit 5; }
(cd "$tmp" && find . -type f ! -name MANIFEST.sha256 | sort | xargs sha256sum > MANIFEST.sha256)
mv "$tmp" "$dest"
cat "$dest/MANIFEST.sha256"
# Keep the newest $keep complete backups beside this one (only zkrun's: they have a manifest).
if [ "$keep" -gt 0 ]; then
  ls -1dt "$(dirname "$dest")"/*/ 2>/dev/null | while read -r d; do
    [ -f "$d/MANIFEST.sha256" ] && echo "$d"
  done | tail -n +$((keep + 1)) | while read -r d; do echo "removing old backup $d"; rm -rf "$d"; done
fi"#;

impl BackupStep {
    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        let argv = [
            Text::plain("sh"),
            Text::plain("-c"),
            Text::plain(BACKUP),
            Text::plain("zkrun-backup"),
            self.config.clone(),
            self.dest.clone(),
            Text::plain(self.keep.to_string()),
        ];
        // The manifest it prints lands in the step's log and the checkpoint.
        let out = x.check(&argv, None).await?;
        let manifest: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.len() > 64 && l.as_bytes()[64] == b' ')
            .map(str::to_string)
            .collect();
        x.fact("manifest", manifest.join("\n"));
        Ok(())
    }

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
