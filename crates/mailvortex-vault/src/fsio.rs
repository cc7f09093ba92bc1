//! File system helpers: owner-only permissions and atomic replacement.
//!
//! `write_atomic` writes a temporary file in the same directory (created with
//! mode 0600 on Unix), fsyncs it, renames it over the target and fsyncs the
//! directory, so a crash leaves either the old or the new file, never a torn
//! one.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::crypto::fill_random;
use crate::error::VaultError;

/// Creates `dir` (mode 0700 on Unix) if it does not exist.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), VaultError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| VaultError::io(dir, e))
}

/// Reads a whole file; `Ok(None)` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, VaultError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(VaultError::io(path, e)),
    }
}

/// Whether `path` exists (any error other than "not found" counts as existing,
/// so that `create` never overwrites what it cannot inspect).
pub(crate) fn exists(path: &Path) -> bool {
    !matches!(fs::symlink_metadata(path), Err(e) if e.kind() == io::ErrorKind::NotFound)
}

/// Atomically replaces `path` with `bytes` (owner-only permissions).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut rnd = [0u8; 8];
    fill_random(&mut rnd)?;
    let tmp = dir.join(format!(".{name}.tmp-{}", hex::encode(rnd)));
    let result = write_new_synced(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path).map_err(|e| VaultError::io(path, e)))
        .and_then(|()| sync_dir(&dir));
    if result.is_err() {
        // Best effort: the temporary file holds only ciphertext or metadata.
        let _ignored = fs::remove_file(&tmp);
    }
    result
}

fn write_new_synced(tmp: &Path, bytes: &[u8]) -> Result<(), VaultError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(tmp).map_err(|e| VaultError::io(tmp, e))?;
    f.write_all(bytes).map_err(|e| VaultError::io(tmp, e))?;
    f.sync_all().map_err(|e| VaultError::io(tmp, e))
}

/// Makes a rename in `dir` durable (no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| VaultError::io(dir, e))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a file; a missing file is not an error.
pub(crate) fn remove_if_present(path: &Path) -> Result<(), VaultError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(VaultError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("f.bin");
        write_atomic(&p, b"one")?;
        write_atomic(&p, b"two")?;
        assert_eq!(fs::read(&p)?, b"two");
        let names: Vec<_> = fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(names.len(), 1, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p)?.permissions().mode() & 0o777, 0o600);
        }
        Ok(())
    }
}
