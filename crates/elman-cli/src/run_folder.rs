//! The folder a run writes into: `--out` (absent or empty) or a new one under `runs/`, held by
//! an advisory lock for as long as the command writes into it, so that two processes never
//! write into one folder.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::atomic;

/// The lock file inside a run folder.
const LOCK: &str = ".lock";

/// A run folder this process holds.
#[derive(Debug)]
pub struct RunFolder {
    path: PathBuf,
    // The lock is released when the file is closed, and by the system when the process dies.
    _lock: File,
}

impl RunFolder {
    /// The folder for new results: `out` if given (it must not hold files yet, so that no earlier
    /// results are overwritten), else a new folder under `runs/` named by the time and `label`.
    pub fn create(out: Option<&Path>, label: &str) -> Result<Self> {
        let path = match out {
            Some(out) => out.to_path_buf(),
            None => new_under(Path::new("runs"), label),
        };
        if path.exists() && !path.is_dir() {
            bail!("output {} exists and is not a folder", path.display());
        }
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create output folder {}", path.display()))?;
        let folder = Self::lock(&path)?;
        let occupied = std::fs::read_dir(&path)
            .with_context(|| format!("cannot read output folder {}", path.display()))?
            .flatten()
            .any(|entry| entry.file_name() != LOCK);
        if occupied {
            bail!(
                "output folder {} already holds files: pick another --out (nothing was overwritten)",
                path.display()
            );
        }
        Ok(folder)
    }

    /// The folder of an earlier run, to go on writing into: locked, and cleared of the
    /// temporary files a killed run may have left.
    pub fn reopen(path: &Path) -> Result<Self> {
        if !path.is_dir() {
            bail!("{} is not a run folder", path.display());
        }
        let folder = Self::lock(path)?;
        atomic::remove_leftovers(path)?;
        Ok(folder)
    }

    fn lock(path: &Path) -> Result<Self> {
        let lock_path = path.join(LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                path: path.to_path_buf(),
                _lock: file,
            }),
            Err(TryLockError::WouldBlock) => bail!(
                "another elman process is writing into {}: wait for it to finish or pick another --out",
                path.display()
            ),
            Err(TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("cannot lock {}", lock_path.display()))
            }
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the folder up: removes the lock file, and the folder too when nothing else is in it
    /// (a run that failed before writing anything leaves nothing behind).
    pub fn release(self) {
        let _ = std::fs::remove_file(self.path.join(LOCK));
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// A folder under `parent` that does not exist yet: `<parent>/<UTC time>-<label>`, with `-2`,
/// `-3` ... when that is taken.
pub(crate) fn new_under(parent: &Path, label: &str) -> PathBuf {
    let stamp = utc_stamp(std::time::SystemTime::now());
    let base = parent.join(format!("{stamp}-{label}"));
    let mut candidate = base.clone();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    candidate
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,700,000,000 s after the epoch is 2023-11-14 22:13:20 UTC.
    #[test]
    fn utc_stamp_of_a_known_instant() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(utc_stamp(t), "20231114-221320");
    }

    /// A held folder cannot be taken again until it is released; a folder with files cannot be
    /// taken for new results.
    #[test]
    fn one_holder_at_a_time_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let held = RunFolder::create(Some(&out), "x").unwrap();
        let err = RunFolder::reopen(&out).unwrap_err().to_string();
        assert!(
            err.starts_with("another elman process is writing into"),
            "{err}"
        );
        std::fs::write(out.join("losses.csv"), b"epoch,loss\n").unwrap();
        held.release();
        assert!(out.is_dir(), "a folder with results stays");
        let err = RunFolder::create(Some(&out), "x").unwrap_err().to_string();
        assert!(err.contains("already holds files"), "{err}");
        let empty = dir.path().join("empty");
        RunFolder::create(Some(&empty), "x").unwrap().release();
        assert!(!empty.exists(), "an empty folder is removed");
    }
}
