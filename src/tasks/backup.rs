//! `backup`: copy what a node needs to be restored, into a directory on the host.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::host::exec::{Exec, StepError};
use crate::host::transport::Transport;
use crate::model::Template;
use crate::render::Text;
use crate::tasks::context::Cx;
use crate::tasks::fact::Fact;
use crate::zk::probe;

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
    let dest = cx.text(&args.dest, &["backup", "dest"])?;
    // The backup's script makes, fills and prunes this directory: it must
    // be a real, absolute path of its own.
    let d = dest.real().trim_end_matches('/');
    let wrong = if d.is_empty() {
        Some("is empty (or `/`)")
    } else if !d.starts_with('/') {
        Some("is not an absolute path")
    } else if d.split('/').any(|part| part.starts_with('-')) {
        Some("has a part that starts with `-`, which commands would read as an option")
    } else if d.split('/').any(|part| part == "..") {
        Some("climbs with `..`")
    } else {
        None
    };
    if let Some(why) = wrong {
        cx.problems.add(
            crate::diagnostic::Diagnostic::new(format!(
                "task `{}`: backup `dest` {why}: `{}`",
                cx.task_id, dest.shown
            ))
            .at(cx
                .src
                .locate(&cx.field(&["backup", "dest"]), crate::yaml::Part::Value))
            .help(
                "give an absolute directory of its own, like `/var/backups/zookeeper/{{ run_id }}`",
            ),
            &cx.host.name,
        );
        return None;
    }
    Some(BackupStep {
        dest,
        keep: args.keep,
        config: cx.service.config.clone(),
    })
}

/// The start of both scripts: arguments (the data directories as zkrun
/// read them from the config, by ZooKeeper's rules), the newest complete
/// snapshot, and `room DIR`, which says whether DIR's filesystem has space
/// for a copy (with a margin: a full disk mid-copy helps nobody, and when
/// DIR shares the data's filesystem, ZooKeeper's own next snapshot and
/// transaction log must still fit after the copy).
macro_rules! data_dirs {
    () => {
        r#"set -eu
conf=$1 dest=$2 keep=${3:-0} data=$4 logs=${5:-$4}
snaps=$data/version-2; txns=$logs/version-2
# Names hold hex zxids without leading zeros: order by length, then text.
newest_first() { sed "s/^$1\.//" | awk '{ print length($0), $0 }' | sort -k1,1nr -k2,2r | cut -d' ' -f2; }
# Snapshot file names, newest first; compressed ones (3.6+) end in .gz or .snappy.
snapshots_newest_first() {
  ls -1 "$snaps" 2>/dev/null | grep -E '^snapshot\.[0-9a-f]+(\.gz|\.snappy)?$' |
    awk '{ z = $0; sub(/^snapshot\./, "", z); sub(/\..*$/, "", z); print length(z), z, $0 }' |
    sort -k1,1nr -k2,2r | cut -d' ' -f3
}
# A complete plain snapshot ends with the bytes 00 00 00 01 2F (one still
# being written does not); a gzip one passes gzip's own check; a snappy one
# can only be seen to be non-empty.
complete() {
  case "$1" in
    *.gz) gzip -t "$1" 2>/dev/null ;;
    *.snappy) [ -s "$1" ] ;;
    *) [ "$(tail -c 5 "$1" | od -An -tx1 | tr -d ' \n')" = "000000012f" ] ;;
  esac
}
# The newest complete snapshot's file name, or nothing.
newest_snapshot() {
  for f in $(snapshots_newest_first); do
    if complete "$snaps/$f"; then echo "$f"; return 0; fi
    echo "skipping incomplete $f" >&2
  done
  return 0
}
# KiB as a person reads them: 1.5 GiB, 820.0 MiB, 300 KiB.
human() { awk -v k="$1" 'BEGIN { split("KiB MiB GiB TiB", u); i = 1; while (k >= 1024 && i < 4) { k /= 1024; i++ }; printf((i == 1 ? "%d %s" : "%.1f %s"), k, u[i]) }'; }
room() {
  need=$(du -sk "$snaps" "$txns" 2>/dev/null | awk '{ s += $1 } END { print int(s * 1.1) + 1024 }')
  free=$(df -Pk "$1" | awk 'NR == 2 { print $4 }')
  keep_free=0; why=""
  dev=$(stat -c %d "$1")
  # ZooKeeper's next snapshot is about as large as its newest (dataDir), and
  # each new transaction log is preallocated to 64 MiB (dataLogDir): when the
  # copy lands on the same filesystem as either, room for that stays free.
  if [ "$dev" = "$(stat -c %d "$snaps")" ]; then
    s=$(newest_snapshot 2>/dev/null); snap_k=0
    [ -z "$s" ] || snap_k=$(du -k "$snaps/$s" | cut -f1)
    keep_free=$((keep_free + 2 * snap_k))
  fi
  if [ "$dev" = "$(stat -c %d "$txns")" ]; then keep_free=$((keep_free + 131072)); fi
  if [ "$keep_free" -gt 0 ]; then
    why=" (the copy, plus $(human "$keep_free") left for ZooKeeper's next snapshot and transaction logs on the same filesystem)"
  fi
  if [ "$free" -lt $((need + keep_free)) ]; then echo "not enough space for the backup in $1: $(human "$free") free, $(human $((need + keep_free))) needed ($free KiB < $((need + keep_free)) KiB)$why" >&2; return 1; fi
  echo "room for the backup in $1: $(human "$free") free, about $(human $((need + keep_free))) needed$why"
}
"#
    };
}

/// Copies a node's restorable state into "$2" (config "$1", keep "$3").
///
/// The newest *valid* snapshot (it ends with the bytes 00 00 00 01 2F; one
/// still being written does not), every txn log after it and the newest log
/// at or before it (ZooKeeper's own recovery rule; each up to its last
/// non-zero byte, see `log_end`), both epoch files, `myid`
/// (dereferenced) and the config files. Then a sha256 manifest, which also
/// marks the backup complete: a second run with the same `dest` skips it.
/// Public for tests/offline/backup_script.rs, which runs it on sparse files.
pub const BACKUP: &str = concat!(
    data_dirs!(),
    r#"# ZooKeeper preallocates each txn log with zeros (preAllocSize, 64 MiB) and
# reads a zero-length record, a torn last record or the end of the file as
# the log's end (FileTxnLog.FileTxnIterator.next, Util.readTxnBytes). So a
# copy that stops where the zeros begin restores the same transactions, and
# the manifest hashes what was written, not 64 MiB of zeros. Where they
# begin, perl (Debian's perl-base) finds two ways and keeps the longer:
#  - ZooKeeper's own reading: the 16-byte header, then records (crc 8 bytes,
#    length 4, the txn, 'B') while the length is not 0 and each ends in 'B';
#  - the last non-zero byte, found from the end, holes skipped (lseek
#    SEEK_DATA 3 / SEEK_HOLE 4; a filesystem without holes reports the whole
#    file as data).
# Each alone could stop short: the walk at a record it cannot read, the
# holes where a filesystem reports fresh appends as a hole (OpenZFS before
# 2.2.2). Zeros inside the written part are copied; the header is always
# whole (a short one is not read as an end). Without perl, or where it
# fails, the whole file is copied and the step's log says why. perl runs in
# the C locale: a host whose LANG names a locale it lacks would otherwise
# have perl warn about it on every call.
log_end() {
  LC_ALL=C PERL_BADLANG=0 perl -e '
    open(my $f, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
    my $size = -s $f;
    my $walk = 0;
    if ((read($f, my $head, 16) // 0) == 16) {
      $walk = 16;
      while ((read($f, my $rec, 12) // 0) == 12) {
        my $len = unpack("N", substr($rec, 8, 4));
        last if $len == 0 || $len > $size - $walk - 13;
        last unless (read($f, my $body, $len + 1) // 0) == $len + 1 && substr($body, -1) eq "B";
        $walk += 12 + $len + 1;
      }
    }
    my @data; my $at = 0;
    while ($at < $size) {
      my $d = sysseek($f, $at, 3);
      if (!defined $d) { last if $!{ENXIO}; @data = ([0, $size]); last }
      my $h = sysseek($f, $d, 4); $h = $size if !defined $h || $h > $size || $h <= $d;
      push @data, [$d, $h]; $at = $h;
    }
    my $last = 0;
    SEG: for my $s (reverse @data) {
      my ($lo, $hi) = @$s;
      while ($hi > $lo) {
        my $n = $hi - $lo < 1048576 ? $hi - $lo : 1048576;
        sysseek($f, $hi - $n, 0) or die "seek: $!\n";
        (sysread($f, my $buf, $n) // -1) == $n or die "short read\n";
        my $back = reverse $buf;
        if ($back =~ /[^\0]/) { $last = $hi - $-[0]; last SEG }
        $hi -= $n;
      }
    }
    my $end = $size < 16 ? $size : 16;
    for ($walk, $last) { $end = $_ if $_ > $end }
    print "$end\n";
  ' "$1"
}
# A log shorter than its 16-byte header (one caught as ZooKeeper created it)
# holds no transaction, and ZooKeeper 3.8 refuses to start on it: left out.
# The copy keeps the log's mode and times (and owner, as root), as cp -p:
# GNU cp copies them alone; elsewhere touch -r and chmod do.
copy_log() {
  size=$(stat -c %s "$1")
  if [ "$size" -lt 16 ]; then echo "left out $1: $size bytes, less than a txn log's header" >&2; return 0; fi
  end=$(log_end "$1" 2>/dev/null) || end=""
  case $end in
    '' | *[!0-9]*)
      [ ! -r "$1" ] || echo "copying $1 whole: $(log_end "$1" 2>&1 >/dev/null | head -n 1)" >&2
      cp -p "$1" "$2" ;;
    *)
      head -c "$end" "$1" >"$2"
      cp -p --attributes-only "$1" "$2" 2>/dev/null ||
        { touch -r "$1" "$2" && chmod "$(stat -c %a "$1")" "$2"; } ;;
  esac
}
if [ -f "$dest/MANIFEST.sha256" ]; then echo "already backed up: $dest"; cat "$dest/MANIFEST.sha256"; exit 0; fi
snap=$(newest_snapshot)
snapz=${snap#snapshot.}; snapz=${snapz%%.*}
[ -n "$snap" ] || { echo "no complete snapshot in $snaps: a backup without one cannot be restored" >&2; exit 4; }
tmp="$dest.partial"
# A snapshot holds every znode, secrets included: the backup is readable by
# its owner only (the files keep their modes; the directory closes them).
# Only the backup's own directory: parents made here keep the usual mode.
rm -rf "$tmp"; mkdir -p "$(dirname "$tmp")"; (umask 077; mkdir "$tmp"); mkdir "$tmp/version-2"
room "$tmp" || { rm -rf "$tmp"; exit 6; }
cp -p "$snaps/$snap" "$tmp/version-2/"
older=""
for z in $(ls -1 "$txns" | grep '^log\.[0-9a-f]*$' | newest_first log); do
  if [ $((0x$z)) -gt $((0x$snapz)) ]; then copy_log "$txns/log.$z" "$tmp/version-2/log.$z"
  elif [ -z "$older" ]; then older=$z; copy_log "$txns/log.$z" "$tmp/version-2/log.$z"; fi
done
for f in currentEpoch acceptedEpoch; do [ ! -f "$snaps/$f" ] || cp -p "$snaps/$f" "$tmp/version-2/"; done
cp -L "$data/myid" "$tmp/myid"
cp -p "$conf" "$tmp/"
for f in "$(dirname "$conf")"/zoo.cfg.dynamic.*; do [ ! -f "$f" ] || cp -p "$f" "$tmp/"; done
# The copy must still be a complete snapshot.
complete "$tmp/version-2/$snap" || { echo "the copied snapshot is incomplete" >&2; exit 5; }
# Hashing is most of the time (a snapshot holds every znode): one
# hasher per core, niced, so the node beside it keeps serving. OpenSSL's
# sha256 uses the CPU's SHA instructions (5x coreutils' on 64 MB here) and
# writes the same lines (`-r`: "HASH *FILE", as `sha256sum -c` reads them).
hasher=sha256sum
! openssl dgst -sha256 -r /dev/null >/dev/null 2>&1 || hasher="openssl dgst -sha256 -r"
# A hasher that failed part-way (the pipeline's status is sort's) leaves
# fewer lines than files: no manifest, so the backup is not complete.
(cd "$tmp" && find . -type f ! -name 'MANIFEST.*' -print0 \
  | nice -n 10 xargs -0 -r -n 2 -P "$(nproc 2>/dev/null || echo 2)" $hasher \
  | sort -k 2 > MANIFEST.partial \
  && [ "$(wc -l < MANIFEST.partial)" -eq "$(find . -type f ! -name 'MANIFEST.*' | wc -l)" ] \
  && mv MANIFEST.partial MANIFEST.sha256) \
  || { echo "hashing the copy in $tmp failed" >&2; exit 5; }
mv "$tmp" "$dest"
cat "$dest/MANIFEST.sha256"
# Keep the newest $keep complete backups beside this one (only zkrun's: they have a manifest).
if [ "$keep" -gt 0 ]; then
  ls -1dt "$(dirname "$dest")"/*/ 2>/dev/null | while read -r d; do
    [ -f "$d/MANIFEST.sha256" ] && echo "$d"
  done | tail -n +$((keep + 1)) | while read -r d; do echo "removing old backup $d"; rm -rf "$d"; done
fi"#
);

/// Before the run: a complete snapshot to back up (exit 4 without one), and
/// room on the nearest existing directory on the way to "$2".
const ROOM: &str = concat!(
    data_dirs!(),
    r#"if [ -f "$dest/MANIFEST.sha256" ]; then echo "already backed up: $dest"; exit 0; fi
[ -n "$(newest_snapshot 2>/dev/null)" ] || { echo "no complete snapshot in $snaps: a backup without one cannot be restored" >&2; exit 4; }
d=$dest; while [ ! -d "$d" ]; do d=$(dirname "$d"); done
room "$d" || exit 6"#
);

impl BackupStep {
    /// The script's arguments: config, dest, keep, and the data directories
    /// read from the config on the host by ZooKeeper's rules.
    async fn args<T: Transport>(
        &self,
        x: &Exec<'_, T>,
        script: &str,
        name: &str,
    ) -> Result<Vec<Text>, StepError> {
        let c = probe::read_config(x, x.host, self.config.real())
            .await
            .map_err(|e| {
                StepError::new(e)
                    .help("fix `service.config` in the playbook, or the file on the host")
            })?;
        let Some(data) = c.data_dir.clone() else {
            return Err(StepError::new(format!(
                "{} sets no dataDir, so there is nothing to back up",
                self.config
            )));
        };
        let logs = c.data_log_dir.clone().unwrap_or_else(|| data.clone());
        Ok(vec![
            Text::plain("sh"),
            Text::plain("-c"),
            Text::plain(script),
            Text::plain(name),
            self.config.clone(),
            self.dest.clone(),
            Text::plain(self.keep.to_string()),
            Text::plain(data),
            Text::plain(logs),
        ])
    }

    pub async fn execute<T: Transport>(&self, x: &Exec<'_, T>) -> Result<(), StepError> {
        let argv = self.args(x, BACKUP, "zkrun-backup").await?;
        // The manifest it prints lands in the step's log and the checkpoint.
        let out = x.check(&argv, None).await?;
        let manifest: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.len() > 64 && l.as_bytes()[64] == b' ')
            .map(str::to_string)
            .collect();
        x.fact(Fact::Manifest, manifest.join("\n"));
        Ok(())
    }

    /// Before any node stops: a complete snapshot to back up, and room for
    /// the copy on the backup's filesystem.
    pub async fn inspect<T: Transport>(&self, x: &Exec<'_, T>) -> super::Inspection {
        let argv = match self.args(x, ROOM, "zkrun-backup-room").await {
            Ok(a) => a,
            Err(e) => return super::Inspection::problem(e),
        };
        // The backup must not be the data it copies, nor inside it.
        let dest = self.dest.real().trim_end_matches('/');
        for dir in [argv[7].real(), argv[8].real()] {
            let dir = dir.trim_end_matches('/');
            if dest == dir
                || dest.starts_with(&format!("{dir}/version-2"))
                || dir.starts_with(&format!("{dest}/"))
            {
                return super::Inspection::problem(
                    StepError::new(format!(
                        "backup `dest` {} on {} is the node's data directory {dir}, or inside or around it",
                        self.dest, x.host.name
                    ))
                    .help("point `backup: dest` at a directory of its own; no node was stopped"),
                );
            }
        }
        match x.run(&argv, None).await {
            Ok(out) if out.success() => {
                super::Inspection::note(String::from_utf8_lossy(&out.stdout).trim())
            }
            Ok(out) => {
                let mut e = x.failure("backup check", &out);
                let said = String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .filter(|l| !l.starts_with("skipping incomplete"))
                    .collect::<Vec<_>>()
                    .join("; ");
                if matches!(out.code, Some(4 | 6)) && !said.is_empty() {
                    e.message = format!("{}: {said}", x.host.name);
                    e.tail.clear();
                }
                let help = match out.code {
                    Some(4) => {
                        "ZooKeeper writes a snapshot every snapCount transactions (and a node new to the \
                                ensemble gets one when it syncs); until this node has one, back it up before its \
                                stop, as playbooks/rolling-restart.yaml does, or drop the backup; no node was stopped"
                    }
                    _ => {
                        "free space there, or point `backup: dest` elsewhere (-e backup_root=...); no node was stopped"
                    }
                };
                super::Inspection::problem(e.help(help))
            }
            Err(e) => super::Inspection::problem(e),
        }
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
