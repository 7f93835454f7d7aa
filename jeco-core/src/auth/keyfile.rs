//! The access-token signing secret kept in a file, so that sessions survive restarts and
//! every node of a deployment signs with the same key.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Reads the signing secret in `path`, creating a random one (readable by the owner only) on
/// first start. Nodes sharing a data directory may start at the same moment: the secret is
/// written to a file of its own and linked into place, so exactly one node's secret wins and
/// the others read it whole.
pub(crate) fn load_or_create_secret(path: &Path) -> Result<Vec<u8>> {
    if let Some(secret) = read_secret(path)? {
        return Ok(secret);
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut draft = path.as_os_str().to_owned();
    draft.push(format!(".{:016x}.new", rand::random::<u64>()));
    let draft = PathBuf::from(draft);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&draft)
        .and_then(|mut f| f.write_all(hex.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::hard_link(&draft, path));
    let _ = std::fs::remove_file(&draft);
    match written {
        Ok(()) => Ok(hex.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_secret(path)?
            .ok_or_else(|| config(format!("{} vanished while starting", path.display()))),
        Err(e) => Err(config(format!("writing {}: {e}", path.display()))),
    }
}

/// The secret in `path`, or `None` if there is no such file.
fn read_secret(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(Some(bytes)),
        Ok(_) => Err(config(format!(
            "{} holds fewer than 32 bytes; use a longer secret",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(config(format!("reading {}: {e}", path.display()))),
    }
}

/// A problem with the engine's configuration, for whoever starts it.
fn config(message: String) -> Error {
    Error::Internal(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_secret_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        let first = load_or_create_secret(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_secret(&path).unwrap(), first);
        std::fs::write(&path, b"short").unwrap();
        assert!(load_or_create_secret(&path).is_err());
    }

    #[test]
    fn nodes_starting_together_agree_on_one_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt.key");
        let secrets: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create_secret(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets.iter().all(|s| s == &secrets[0]));
        assert_eq!(std::fs::read(&path).unwrap(), secrets[0]);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no draft files are left behind");
    }
}
