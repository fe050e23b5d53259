//! Directories and files reftrack creates for its own data are its owner's alone: the data
//! directory holds the private Redis's files (with the visitor salt and the e-mail hash key)
//! and the admin token, and the spool holds clicks waiting for Redis. A directory that
//! already exists keeps the permissions its operator gave it.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};

/// Creates `dir` and its missing parents, owner only (0700).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)
}

/// Opens `path` for appending, creating it owner only (0600).
pub fn append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn what_reftrack_creates_only_its_owner_can_read() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data/spool");

        create_dir(&dir).unwrap();
        append(&dir.join("1.spool")).unwrap();

        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.path().join("data")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("1.spool")), 0o600);
    }
}
