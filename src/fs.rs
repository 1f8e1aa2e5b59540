//! Files: atomic writes that many processes on many hosts can do at once, and one rule for the
//! file names musiclime derives from ids and names.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (created if
/// missing), then a rename, so a reader never sees a half-written file and a writer killed at
/// any moment leaves at most a temporary file behind. The temporary name is unique per host,
/// process and write, so several processes (shards on several hosts sharing a filesystem) can
/// write into one directory at once; the last rename of a path wins.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir, temp) = temporary_beside(path);
    let result = (|| {
        std::fs::create_dir_all(dir)?;
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(path, e)
    })
}

/// Fills the directory `dir` all or nothing: `fill` writes into a temporary directory beside
/// it, which then replaces `dir` (an earlier `dir` is removed only once `fill` succeeded). On
/// failure the temporary directory is removed and `dir` is left as it was.
pub fn write_directory_atomically(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let (_, temp) = temporary_beside(dir);
    std::fs::create_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
    let result = fill(&temp).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::rename(&temp, dir).map_err(|e| Error::io(dir, e))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

/// The directory `path` is in (`.` for a bare name) and a temporary name beside it,
/// `.<name>.tmp-<host>-<pid>-<n>`.
fn temporary_beside(path: &Path) -> (&Path, std::path::PathBuf) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", temp_suffix()));
    (dir, temp)
}

/// `<host>-<pid>-<n>`: unique per host, process and call.
fn temp_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{}-{n}",
        safe_file_name(&host_name()),
        std::process::id()
    )
}

/// This machine's host name (`/proc/sys/kernel/hostname`, then `$HOSTNAME`), or `host`.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// A portable file-name fragment of `text`: ASCII letters, digits, `-`, `_` and `.` are kept,
/// every other character becomes `_`. Used for every file named after an instance, explainer,
/// class or grid cell (the result store, charts, listenable audio).
pub(crate) fn safe_file_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_portable_characters() {
        assert_eq!(safe_file_name("track 01/b=ä.wav"), "track_01_b__.wav");
        assert_eq!(safe_file_name("num_samples-2.5"), "num_samples-2.5");
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file_and_create_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.json")]);
        assert_ne!(temp_suffix(), temp_suffix());
    }
}
