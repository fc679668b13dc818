//! Paths as a transaction keeps them: owner, mode, extended attributes (the SELinux label
//! among them) and, where the content changes, the bytes; and put back exactly so.

use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// A path before a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathState {
    pub path: String,
    pub exists: bool,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default)]
    pub mode: u32,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    /// Extended attributes, name and hex value.
    #[serde(default)]
    pub xattrs: Vec<(String, String)>,
    /// The file in the transaction's directory holding the bytes, when they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
}

impl PathState {
    /// The state of `path` (not following a final symlink's target for the xattrs, as
    /// the change itself follows it only for chmod and chown).
    pub fn of(path: &str) -> std::io::Result<PathState> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(PathState {
                path: path.to_string(),
                exists: true,
                is_dir: meta.is_dir(),
                mode: meta.permissions().mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                xattrs: read_xattrs(path)?,
                saved: None,
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(PathState {
                path: path.to_string(),
                exists: false,
                is_dir: false,
                mode: 0,
                uid: 0,
                gid: 0,
                xattrs: Vec::new(),
                saved: None,
            }),
            Err(err) => Err(err),
        }
    }

    /// Puts the path back as it was: its bytes (when kept, from `saved_dir`), owner,
    /// mode and attributes; a path that did not exist is removed (a directory only when
    /// empty: what was put in it since is not ours to delete).
    pub fn restore(&self, saved_dir: &Path) -> std::io::Result<()> {
        let path = Path::new(&self.path);
        if !self.exists {
            return match std::fs::symlink_metadata(path) {
                Ok(meta) if meta.is_dir() => std::fs::remove_dir(path),
                Ok(_) => std::fs::remove_file(path),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(err) => Err(err),
            };
        }
        if let Some(saved) = &self.saved {
            let bytes = std::fs::read(saved_dir.join(saved))?;
            return replace_file(&self.path, &bytes, self);
        }
        set_owner_mode(&self.path, self.uid, self.gid, self.mode)
    }
}

/// chown, then chmod (chown clears set-id bits, so the mode comes second).
pub fn set_owner_mode(path: &str, uid: u32, gid: u32, mode: u32) -> std::io::Result<()> {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    )?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Writes `bytes` to `path` whole or not at all, with the owner, mode and attributes of
/// `like`: a new file beside it, synced, then renamed over it.
pub fn replace_file(path: &str, bytes: &[u8], like: &PathState) -> std::io::Result<()> {
    let target = Path::new(path);
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let staged = dir.join(format!(".{name}.sshdoctor-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staged)?;
        file.write_all(bytes)?;
        let staged_text = staged.to_string_lossy();
        set_owner_mode(&staged_text, like.uid, like.gid, like.mode)?;
        write_xattrs(&staged_text, &like.xattrs)?;
        file.sync_all()?;
        std::fs::rename(&staged, target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    written
}

fn c_path(path: &str) -> std::io::Result<CString> {
    CString::new(Path::new(path).as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in a path"))
}

/// Every extended attribute of `path`; none where the filesystem keeps none.
fn read_xattrs(path: &str) -> std::io::Result<Vec<(String, String)>> {
    use nix::libc;
    let path = c_path(path)?;
    let mut names = vec![0u8; 4096];
    // SAFETY: the buffer is valid for its length; the kernel writes at most that much.
    let length = unsafe { libc::llistxattr(path.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if length < 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOTSUP) => Ok(Vec::new()),
            _ => Err(err),
        };
    }
    names.truncate(length as usize);
    let mut attributes = Vec::new();
    for name in names
        .split(|byte| *byte == 0)
        .filter(|name| !name.is_empty())
    {
        let c_name = CString::new(name).expect("split at NUL");
        let mut value = vec![0u8; 65536];
        // SAFETY: as above.
        let size = unsafe {
            libc::lgetxattr(
                path.as_ptr(),
                c_name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if size < 0 {
            return Err(std::io::Error::last_os_error());
        }
        value.truncate(size as usize);
        let hex: String = value.iter().map(|byte| format!("{byte:02x}")).collect();
        attributes.push((String::from_utf8_lossy(name).into_owned(), hex));
    }
    Ok(attributes)
}

fn write_xattrs(path: &str, attributes: &[(String, String)]) -> std::io::Result<()> {
    use nix::libc;
    let path = c_path(path)?;
    for (name, hex) in attributes {
        let value: Vec<u8> = (0..hex.len() / 2)
            .filter_map(|at| u8::from_str_radix(hex.get(2 * at..2 * at + 2)?, 16).ok())
            .collect();
        let c_name = c_path(name)?;
        // SAFETY: both strings are NUL-terminated and the value valid for its length.
        let done = unsafe {
            libc::lsetxattr(
                path.as_ptr(),
                c_name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if done < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_keeps_its_owner_mode_and_attributes_and_restores_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        let path_text = path.to_str().unwrap();
        std::fs::write(&path, b"Port 22\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let user_attr = write_xattrs(path_text, &[("user.sshdoctor".into(), "6869".into())]);
        let mut before = PathState::of(path_text).unwrap();
        std::fs::write(dir.path().join("saved"), b"Port 22\n").unwrap();
        before.saved = Some("saved".into());

        replace_file(path_text, b"# Port 22\n", &before).unwrap();
        let after = PathState::of(path_text).unwrap();
        assert_eq!(
            (after.mode, after.uid, after.gid),
            (0o640, before.uid, before.gid)
        );
        assert_eq!(after.xattrs, before.xattrs);
        if user_attr.is_ok() {
            assert!(after
                .xattrs
                .contains(&("user.sshdoctor".into(), "6869".into())));
        }

        before.restore(dir.path()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"Port 22\n");
        let created = PathState::of(dir.path().join("new").to_str().unwrap()).unwrap();
        std::fs::create_dir(dir.path().join("new")).unwrap();
        created.restore(dir.path()).unwrap();
        assert!(!dir.path().join("new").exists());
    }
}
