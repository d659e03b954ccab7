//! The SASL users of `klog serve`: `klog-users.json` in the data directory, written by
//! `klog users add|delete`, read by the server at each authentication (so a change applies
//! to the next login without a restart).
//!
//! # Format
//! ```json
//! {"users": {"alice": {"SCRAM-SHA-256": {"salt": "…", "iterations": 4096,
//!   "stored_key": "…", "server_key": "…"}, "SCRAM-SHA-512": {…}}}}
//! ```
//! (base64 bytes). Passwords are never stored: only SCRAM's salted keys, one set per
//! mechanism; PLAIN is checked against the SCRAM-SHA-512 keys.
//!
//! # Invariants
//! 1. The file is created with mode 0600 and is refused (not read) when its group or other
//!    permission bits are set.
//! 2. Changes are written to a temporary file (0600) that is fsynced and renamed over the
//!    old one, under the data directory's lock: a crash leaves the old file or the new one.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use super::sasl::{self, Credential, Credentials, Scram};
use crate::error::{Error, Result};

/// The users file's name in the data directory.
pub const USERS_FILE: &str = "klog-users.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    users: BTreeMap<String, BTreeMap<String, Stored>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    salt: String,
    iterations: u32,
    stored_key: String,
    server_key: String,
}

/// The users of a data directory, as read from its file.
#[derive(Debug, Default)]
pub struct Users {
    file: File,
}

/// The users file of a data directory.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(USERS_FILE)
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadMetadata {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl Users {
    /// Reads the users of `dir` (none when there is no file). A file readable or writable
    /// by group or others is refused.
    pub fn load(dir: &Path) -> Result<Users> {
        let path = path(dir);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Users::default()),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::Invalid(format!(
                "{} is accessible by group or others (mode {mode:04o}): it holds password \
                 keys; run chmod 600 on it",
                path.display()
            )));
        }
        let text = crate::storage::fs::read_regular(&path).map_err(Error::io("read", &path))?;
        let file: File = serde_json::from_slice(&text).map_err(|e| bad(&path, e.to_string()))?;
        Ok(Users { file })
    }

    /// Whether any user is defined.
    pub fn is_empty(&self) -> bool {
        self.file.users.is_empty()
    }

    /// The user names, sorted, each with the mechanisms it has keys for.
    pub fn list(&self) -> Vec<(String, Vec<String>)> {
        self.file
            .users
            .iter()
            .map(|(n, m)| (n.clone(), m.keys().cloned().collect()))
            .collect()
    }

    /// Adds `name` or replaces its password: new salts, keys for every SCRAM mechanism.
    pub fn set_password(&mut self, name: &str, password: &[u8], iterations: u32) -> Result<()> {
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(Error::Invalid(format!(
                "invalid user name '{}': empty or with control characters",
                name.escape_debug()
            )));
        }
        let mut mechs = BTreeMap::new();
        for mech in Scram::ALL {
            let mut salt = vec![0u8; sasl::SALT_BYTES];
            getrandom::fill(&mut salt)
                .map_err(|e| Error::Invalid(format!("no random bytes for a salt: {e}")))?;
            let c = Credential::new(mech, password, salt, iterations);
            mechs.insert(
                mech.name().to_string(),
                Stored {
                    salt: B64.encode(&c.salt),
                    iterations: c.iterations,
                    stored_key: B64.encode(&c.stored_key),
                    server_key: B64.encode(&c.server_key),
                },
            );
        }
        self.file.users.insert(name.to_string(), mechs);
        Ok(())
    }

    /// Removes `name`; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.file.users.remove(name).is_some()
    }

    /// Writes the users to `dir`'s file (mode 0600), atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(&self.file).unwrap_or_default();
        text.push(b'\n');
        crate::storage::fs::replace_private_file(&path(dir), &text)
    }

    /// Reads, changes and writes the users of `dir` under the directory's lock.
    pub fn update<T>(dir: &Path, f: impl FnOnce(&mut Users) -> Result<T>) -> Result<T> {
        std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        let _lock = crate::storage::fs::lock_dir(dir)?;
        let mut users = Users::load(dir)?;
        let out = f(&mut users)?;
        users.save(dir)?;
        Ok(out)
    }
}

impl Credentials for Users {
    fn credential(&self, user: &str, mech: Scram) -> Option<Credential> {
        let s = self.file.users.get(user)?.get(mech.name())?;
        Some(Credential {
            salt: B64.decode(&s.salt).ok()?,
            iterations: s.iterations,
            stored_key: B64.decode(&s.stored_key).ok()?,
            server_key: B64.decode(&s.server_key).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_delete_and_the_keys_check_the_password() {
        let dir = tempfile::tempdir().unwrap();
        Users::update(dir.path(), |u| u.set_password("alice", b"pw", 4096)).unwrap();
        Users::update(dir.path(), |u| u.set_password("bob", b"other", 4096)).unwrap();
        let users = Users::load(dir.path()).unwrap();
        assert_eq!(
            users.list(),
            vec![
                (
                    "alice".into(),
                    vec!["SCRAM-SHA-256".into(), "SCRAM-SHA-512".into()]
                ),
                (
                    "bob".into(),
                    vec!["SCRAM-SHA-256".into(), "SCRAM-SHA-512".into()]
                ),
            ]
        );
        for mech in Scram::ALL {
            let c = users.credential("alice", mech).unwrap();
            assert!(c.matches(mech, b"pw"));
            assert!(!c.matches(mech, b"other"));
        }
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(
            !text.contains("\"pw\"") && !text.contains("other"),
            "{text}"
        );
        assert!(Users::update(dir.path(), |u| Ok(u.remove("alice"))).unwrap());
        assert!(!Users::update(dir.path(), |u| Ok(u.remove("alice"))).unwrap());
        assert!(
            Users::load(dir.path())
                .unwrap()
                .credential("alice", Scram::Sha512)
                .is_none()
        );
    }

    #[test]
    fn the_file_is_0600_and_refused_when_group_or_world_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Users::load(dir.path()).unwrap().is_empty());
        Users::update(dir.path(), |u| u.set_password("alice", b"pw", 4096)).unwrap();
        let p = path(dir.path());
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        for bad in [0o640, 0o604, 0o660] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(bad)).unwrap();
            let e = Users::load(dir.path()).unwrap_err().to_string();
            assert!(e.contains("accessible by group or others"), "{e}");
            assert!(Users::update(dir.path(), |u| Ok(u.remove("alice"))).is_err());
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!Users::load(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn bad_names_are_refused() {
        let mut u = Users::default();
        assert!(u.set_password("", b"pw", 4096).is_err());
        assert!(u.set_password("a\nb", b"pw", 4096).is_err());
        assert!(u.is_empty());
    }
}
