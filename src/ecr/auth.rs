//! The register's bearer token: a random secret in a file created with mode 0600 (the
//! gate, `console/gate.rs`, compares it in constant time), and the secret files' mode check.

use std::io::Write;
use std::path::Path;

/// Creates `path` with a new random token (mode 0600) unless it exists; returns the token.
pub fn ensure_token_file(path: &Path) -> std::io::Result<String> {
    if path.exists() {
        return read_token(path);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(token.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(token)
}

/// Reads a secret file (a key, a token, a private key), refusing one other users can
/// read, with the command that fixes it.
pub fn read_secret_file(path: &Path) -> std::io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
    }
    std::fs::read(path)
}

/// Reads a token file, refusing one that others can read.
pub fn read_token(path: &Path) -> std::io::Result<String> {
    let token = String::from_utf8(read_secret_file(path)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
        .trim()
        .to_string();
    if token.len() < 16 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} holds no usable token", path.display()),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_is_private_and_stable() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("sub/ecr.token");
        let t1 = ensure_token_file(&p)?;
        let t2 = ensure_token_file(&p)?;
        assert_eq!(t1, t2);
        assert_eq!(t1.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p)?.permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))?;
            assert!(read_token(&p).is_err());
        }
        Ok(())
    }
}
