//! Where the master key comes from: `PAYGATE_MASTER_KEY`, else (embedded
//! SQLite only) a key file beside the database, created on first run and
//! readable by its owner only. PostgreSQL deployments must configure the key:
//! a key file on one node would lock the other nodes out of every secret.

use crate::config::Settings;
use anyhow::{bail, Context};
use paygate_core::secret_box::MasterKey;
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};

pub fn resolve_master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    if let Some(text) = &settings.master_key {
        return MasterKey::parse(text.expose_secret()).context("PAYGATE_MASTER_KEY");
    }
    let url = settings.database_url.expose_secret();
    match paygate_store::dialect::sqlite_file_path(url) {
        Some(db_file) => load_or_create_key_file(&key_file_for(&db_file)),
        None if url.starts_with("sqlite:") => Ok(MasterKey::generate()),
        None => bail!("PAYGATE_MASTER_KEY must be set when the database is PostgreSQL"),
    }
}

/// `paygate.db` → `paygate.db.key`.
pub fn key_file_for(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

fn load_or_create_key_file(path: &Path) -> anyhow::Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::parse(&text).with_context(|| format!("master key file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate();
            write_private(path, &key.to_hex())
                .with_context(|| format!("creating master key file {}", path.display()))?;
            tracing::info!(path = %path.display(), "created master key file; back it up with the database");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading master key file {}", path.display())),
    }
}

/// Creates the file with mode 0600 from the start (no window where it is
/// world-readable) and refuses to overwrite an existing one.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
