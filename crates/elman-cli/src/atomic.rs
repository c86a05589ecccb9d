//! The one way this program writes a file: into a uniquely named temporary file in the target
//! folder, synced to the disk, then renamed over the target. Readers see the old file or the
//! whole new one, never a part; a killed process leaves at most a hidden temporary file
//! (`.NAME.XXXXXX.tmp`), which [`remove_leftovers`] clears.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically and durably.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |file| Ok(file.write_all(bytes)?))
}

/// Writes what `fill` writes to `path` atomically and durably, streamed through a buffer
/// (for files too large to build in memory first). An error from `fill` leaves no file.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let prefix = format!(".{}.", name.to_string_lossy());
    let result = (|| -> Result<()> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TEMPORARY_SUFFIX);
        // Results are for reading: rw-r--r-- (less the umask), not the temporary file's rw-------.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let file = builder.tempfile_in(dir)?;
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, file);
        fill(&mut buffered)?;
        let file = buffered.into_inner().map_err(|err| err.into_error())?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|err| err.error)?;
        Ok(())
    })();
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The ending of the temporary files [`write`] makes.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// Removes the temporary files a killed writer left in `dir` (hidden, ending in `.tmp`).
pub fn remove_leftovers(dir: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(TEMPORARY_SUFFIX) {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no/such/folder/b.csv");
        let err = write(&missing, b"x").unwrap_err();
        assert!(format!("{err:#}").starts_with("cannot write"), "{err:#}");
    }

    #[test]
    fn leftovers_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".losses.csv.a1B2c3.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join("losses.csv"), b"whole").unwrap();
        remove_leftovers(dir.path()).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["losses.csv"]);
    }
}
