//! Atomic file writes: a reader never sees a partial report.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ReportError;

/// Writes a file atomically: `f` writes into a temporary file in the destination's directory, which is
/// flushed, synced and renamed over `path` only when `f` succeeded. The parent directory is created
/// if missing. On any error the destination keeps its previous content (or stays absent).
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ReportError> {
    let write_err = |source: io::Error| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str().is_empty() {
        return Err(ReportError::EmptyPath);
    }
    if path.is_dir() {
        return Err(write_err(io::Error::other("it is a directory")));
    }
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| ReportError::CreateDir {
        dir: dir.clone(),
        source,
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".sessionspec-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(write_err)?;
    {
        let mut buf = BufWriter::new(tmp.as_file_mut());
        f(&mut buf).map_err(write_err)?;
        buf.flush().map_err(write_err)?;
    }
    tmp.as_file().sync_all().map_err(write_err)?;
    set_permissions(path, tmp.path()).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    sync_dir(&dir);
    Ok(())
}

/// Keeps an existing file's permissions; a new report gets the usual `rw-r--r--` (temporary files are
/// created private).
#[cfg(unix)]
fn set_permissions(dest: &Path, tmp: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let perms = match fs::metadata(dest) {
        Ok(m) => m.permissions(),
        Err(_) => fs::Permissions::from_mode(0o644),
    };
    fs::set_permissions(tmp, perms)
}

#[cfg(not(unix))]
fn set_permissions(_dest: &Path, _tmp: &Path) -> io::Result<()> {
    Ok(())
}

/// Makes the rename durable (best effort: not every platform can sync a directory).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
