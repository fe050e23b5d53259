//! The generated admin token, kept in the data directory (mode 0600) so that it survives
//! restarts: `serve` reuses it, and the command line can read it.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::domain;

/// Shortest admin token the server accepts (as `admin.token`).
pub const MIN_TOKEN_LEN: usize = 16;

/// Where `serve` keeps the admin token it generated, in `redis.data_dir` (`./data` by
/// default): `<data_dir>/admin_token`.
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("admin_token")
}

/// Reads the token kept in `data_dir`, if there is a usable one.
pub fn read_token(data_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(token_file(data_dir)).ok()?;
    let token = text.trim();
    (token.len() >= MIN_TOKEN_LEN).then(|| token.to_owned())
}

/// The kept admin token, and whether it was generated just now.
pub struct KeptToken {
    pub token: String,
    pub path: PathBuf,
    pub generated: bool,
}

/// Without the token.
impl std::fmt::Debug for KeptToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptToken")
            .field("path", &self.path)
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// Returns the token kept in `data_dir`, or generates one and keeps it there, readable by
/// its owner only. A kept file that others may read is narrowed to 0600 first.
pub fn kept_or_generated(data_dir: &Path) -> Result<KeptToken, String> {
    let path = token_file(data_dir);
    let failed = |what: &str, e: std::io::Error| {
        format!(
            "could not {what} the admin token file {}: {e}\n  Fix its directory's permissions, \
             or set REFTRACK_ADMIN__TOKEN (16 characters or more)",
            path.display()
        )
    };
    if let Some(token) = read_token(data_dir) {
        restrict(&path).map_err(|e| failed("restrict", e))?;
        return Ok(KeptToken {
            token,
            path,
            generated: false,
        });
    }
    crate::private_files::create_dir(data_dir).map_err(|e| failed("create the directory of", e))?;
    let token = domain::random_string(&nanoid::alphabet::SAFE, 32);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&path).map_err(|e| failed("write", e))?;
    restrict(&path).map_err(|e| failed("restrict", e))?;
    writeln!(file, "{token}")
        .and_then(|()| file.sync_all())
        .map_err(|e| failed("write", e))?;
    Ok(KeptToken {
        token,
        path,
        generated: true,
    })
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    let others_may_read = fs::metadata(path)?.permissions().mode() & 0o077 != 0;
    if !others_may_read {
        return Ok(());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_kept_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();

        let first = kept_or_generated(dir.path()).unwrap();
        let second = kept_or_generated(dir.path()).unwrap();

        assert!(first.generated);
        assert!(!second.generated);
        assert_eq!(first.token, second.token);
        assert!(
            !format!("{first:?}").contains(&first.token),
            "the token is not printed"
        );
        assert_eq!(
            read_token(dir.path()).as_deref(),
            Some(first.token.as_str())
        );
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(token_file(dir.path()))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_kept_token_that_others_could_read_is_narrowed_to_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_file(dir.path());
        fs::write(&path, "a-kept-token-of-some-length\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

        let kept = kept_or_generated(dir.path()).unwrap();

        assert_eq!(kept.token, "a-kept-token-of-some-length");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_too_short_kept_token_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(token_file(dir.path()), "short\n").unwrap();

        let kept = kept_or_generated(dir.path()).unwrap();

        assert!(kept.generated);
        assert!(kept.token.len() >= MIN_TOKEN_LEN);
    }
}
