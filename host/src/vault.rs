//! Literal secrets at rest: sealed with an AEAD (XChaCha20-Poly1305) under
//! a key that lives *outside* the database, so a database file alone — a
//! backup, a copy sent with a bug report — reveals no secret.
//!
//! The key is `FERRY_SECRET_KEY` (base64 of 32 bytes) when set, else the
//! key file beside the database (`<db>.key`, created 0600 with a random key
//! the first time a secret is sealed). Each sealed value carries its own
//! random nonce and is bound to its config key name (associated data), so
//! values cannot be swapped between keys unnoticed. `env:VAR` references
//! are not secrets and are never sealed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Environment variable that gives the key instead of the key file.
pub(crate) const KEY_ENV: &str = "FERRY_SECRET_KEY";
/// Prefix of a sealed value as stored.
pub(crate) const SEALED_PREFIX: &str = "sealed:v1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the key that opens stored secrets is missing: {path} does not exist and {KEY_ENV} is not set")]
    MissingKey { path: String },
    #[error("the secret key in {source_name} is not usable: {why}")]
    BadKey { source_name: String, why: String },
    #[error(
        "the stored secret `{name}` does not open with the key from {source_name} (another key, or a database restored without its key file)"
    )]
    WrongKey { name: String, source_name: String },
    #[error("cannot {action} the secret key file {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl VaultError {
    pub fn hint(&self) -> String {
        match self {
            VaultError::BadKey { .. } => {
                format!("{KEY_ENV} must be the base64 of 32 bytes (e.g. `openssl rand -base64 32`); unset it to use the key file")
            }
            VaultError::Io { .. } => {
                "the folder holding the database must be writable to create the key file beside it (or set FERRY_SECRET_KEY)"
                    .into()
            }
            VaultError::MissingKey { .. } | VaultError::WrongKey { .. } => format!(
                "put the key file that belongs to this database back beside it (or set {KEY_ENV}); if it is lost, enter \
                 the secret again: `ferry integration set NAME --secret KEY=VALUE`"
            ),
        }
    }
}

/// The key of one database, loaded on first use.
pub(crate) struct Vault {
    key_path: PathBuf,
    key: Mutex<Option<([u8; 32], String)>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({})", self.key_path.display())
    }
}

/// Where the key file of the database at `db` lives.
pub(crate) fn key_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

impl Vault {
    pub(crate) fn for_db(db: &Path) -> Vault {
        Vault { key_path: key_path(db), key: Mutex::new(None) }
    }

    /// Is this stored text a sealed value?
    pub(crate) fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    /// Seal `plaintext` (the value of config key `name`), creating the key
    /// file if there is no key yet.
    pub(crate) fn seal(&self, name: &str, plaintext: &str) -> Result<String, VaultError> {
        let (key, _) = self.key(true)?;
        let cipher = XChaCha20Poly1305::new(&key.into());
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: name.as_bytes() })
            .map_err(|_| VaultError::BadKey { source_name: "the cipher".into(), why: "encryption failed".into() })?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", B64.encode(out)))
    }

    /// Open a sealed value of config key `name`.
    pub(crate) fn open(&self, name: &str, stored: &str) -> Result<String, VaultError> {
        let (key, source_name) = self.key(false)?;
        let wrong = || VaultError::WrongKey { name: name.to_string(), source_name: source_name.clone() };
        let bytes = B64.decode(stored.strip_prefix(SEALED_PREFIX).unwrap_or(stored)).map_err(|_| wrong())?;
        if bytes.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce_bytes, sealed) = bytes.split_at(NONCE_LEN);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(nonce_bytes);
        let cipher = XChaCha20Poly1305::new(&key.into());
        let plain =
            cipher.decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad: name.as_bytes() }).map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }

    /// The key and where it came from; `create` makes the key file when
    /// neither it nor the variable exists.
    fn key(&self, create: bool) -> Result<([u8; 32], String), VaultError> {
        let mut cached = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cached.as_ref() {
            return Ok(k.clone());
        }
        let loaded = match std::env::var(KEY_ENV).ok().filter(|v| !v.trim().is_empty()) {
            Some(text) => (decode_key(&text, KEY_ENV)?, KEY_ENV.to_string()),
            None => {
                let source_name = self.key_path.display().to_string();
                match std::fs::read_to_string(&self.key_path) {
                    Ok(text) => (decode_key(&text, &source_name)?, source_name),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                        (self.create_key_file()?, source_name)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(VaultError::MissingKey { path: source_name });
                    }
                    Err(source) => return Err(VaultError::Io { action: "read", path: source_name, source }),
                }
            }
        };
        *cached = Some(loaded.clone());
        Ok(loaded)
    }

    fn create_key_file(&self) -> Result<[u8; 32], VaultError> {
        use std::io::Write;
        let key: [u8; 32] = rand::random();
        let io = |source| VaultError::Io { action: "create", path: self.key_path.display().to_string(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&self.key_path) {
            Ok(mut file) => {
                file.write_all(format!("{}\n", B64.encode(key)).as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&self.key_path).map_err(|source| VaultError::Io {
                    action: "read",
                    path: self.key_path.display().to_string(),
                    source,
                })?;
                decode_key(&text, &self.key_path.display().to_string())
            }
            Err(e) => Err(io(e)),
        }
    }
}

fn decode_key(text: &str, source_name: &str) -> Result<[u8; 32], VaultError> {
    let bad = |why: &str| VaultError::BadKey { source_name: source_name.to_string(), why: why.to_string() };
    let bytes = B64.decode(text.trim()).map_err(|_| bad("not base64"))?;
    bytes.try_into().map_err(|_| bad("not 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_with_the_key_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let vault = Vault::for_db(&db);
        let sealed = vault.seal("api_key", "tok-3f9a-secret").unwrap();
        assert!(Vault::is_sealed(&sealed));
        assert!(!sealed.contains("tok-3f9a-secret"));
        assert_ne!(sealed, vault.seal("api_key", "tok-3f9a-secret").unwrap(), "a fresh nonce each time");
        assert_eq!(Vault::for_db(&db).open("api_key", &sealed).unwrap(), "tok-3f9a-secret");
        assert!(matches!(vault.open("other_key", &sealed), Err(VaultError::WrongKey { .. })), "bound to its key name");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(&db)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(key_path(&db)).unwrap();
        let err = Vault::for_db(&db).open("api_key", &sealed).unwrap_err();
        assert!(matches!(err, VaultError::MissingKey { .. }), "{err}");
        assert!(err.hint().contains("ferry integration set"));
        std::fs::write(key_path(&db), B64.encode([9u8; 32])).unwrap();
        assert!(matches!(Vault::for_db(&db).open("api_key", &sealed), Err(VaultError::WrongKey { .. })));
        std::fs::write(key_path(&db), "short").unwrap();
        assert!(matches!(Vault::for_db(&db).open("api_key", &sealed), Err(VaultError::BadKey { .. })));
    }
}
