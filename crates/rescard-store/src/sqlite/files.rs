//! The registry's files are private: they hold passport numbers and portraits. A new registry is
//! created mode 0600 (SQLite gives its `-wal` and `-shm` files the mode of the database file), and a
//! registry whose files other accounts on the host can read is refused, as a readable key is.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::{Result, StoreError};

/// The database file and the two SQLite keeps beside it.
fn registry_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Creates the registry file at `path` (mode 0600) if there is none, and refuses one that group or
/// others may read or write.
pub(crate) fn make_private(path: &Path) -> Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(StoreError::Exposed(format!(
                "cannot create {}: {e}",
                path.display()
            )));
        }
    }
    for file in registry_files(path) {
        let Ok(meta) = fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(StoreError::Exposed(format!(
                "{} can be read by other accounts on this host (mode {mode:o}); it holds passport numbers and portraits: run `chmod 600 {}*` and `chmod 700` on its directory, and check who has read it",
                file.display(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// Creates `dir` (and its parents) for a registry: mode 0700 for what is made here.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_registry_is_private_and_a_readable_one_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        create_private_dir(&data).expect("mkdir");
        assert_eq!(
            fs::metadata(&data).expect("dir").permissions().mode() & 0o777,
            0o700
        );
        let path = data.join("registry.sqlite");
        let mut registry = crate::Registry::open(&path).expect("open");
        registry
            .create_token("admin", crate::Role::Admin, "setup", chrono::Utc::now())
            .expect("write");
        for file in registry_files(&path) {
            if let Ok(meta) = fs::metadata(&file) {
                assert_eq!(
                    meta.permissions().mode() & 0o777,
                    0o600,
                    "{}",
                    file.display()
                );
            }
        }
        drop(registry);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let Err(refused) = crate::Registry::open(&path) else {
            panic!("a registry others can read was opened");
        };
        assert!(matches!(refused, StoreError::Exposed(_)), "{refused}");
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
    }
}
