//! Which OpenSSH server this diagnosis examines, decided once: the sshd binary (`--sshd`,
//! else the installed one), the helpers it runs for each connection, and what is compiled
//! into it. `sshd -T`, the prerequisite and authentication collectors and every rule read
//! the answer from `Facts::sshd`; nothing else looks for sshd.

use crate::collect::ProbeNotes;
use crate::facts::{SshdFacts, SshdSource};
use crate::openssh::{HELPER_DIRS, PRIVSEP_DIR_CANDIDATES, SSHD_CANDIDATES};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The group RHEL-family builds let read host keys (sshd-keygen makes them 0640
/// root:ssh_keys there).
const SSH_KEYS_GROUP: &str = "ssh_keys";

/// How much of a binary is read: enough for the strings and the dynamic section's library
/// names of any sshd build (Debian's is about 1 MiB).
const MAX_BINARY_BYTES: u64 = 16 << 20;

/// The sshd binary chosen, before anything is read of it: `sshd -T` can start with it
/// while `collect` examines it.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub binary: Option<String>,
    source: SshdSource,
    /// `--sshd` named a file that does not exist.
    missing_given: Option<PathBuf>,
}

/// `--sshd` when it names a file, else the installed sshd.
pub fn choose(given: Option<&Path>) -> Chosen {
    match given {
        Some(path) if path.is_file() => Chosen {
            binary: Some(path.display().to_string()),
            source: SshdSource::Given,
            missing_given: None,
        },
        _ => Chosen {
            binary: find_installed(),
            source: SshdSource::Installed,
            missing_given: given.map(Path::to_path_buf),
        },
    }
}

pub fn collect(chosen: Chosen, notes: &mut ProbeNotes) -> SshdFacts {
    if let Some(path) = &chosen.missing_given {
        notes.partial(format!(
            "--sshd {}: no such file; the installed sshd is examined instead",
            path.display()
        ));
    }
    let source = chosen.source;
    let Some(binary) = chosen.binary else {
        return SshdFacts::default();
    };
    let bytes = read_prefix(Path::new(&binary), MAX_BINARY_BYTES)
        .map_err(|err| notes.partial(format!("cannot read {binary}: {err}")))
        .ok();
    let compiled = |candidates: Vec<String>| {
        let bytes = bytes.as_deref()?;
        candidates
            .into_iter()
            .find(|candidate| compiled_in(bytes, candidate))
    };
    let helper = |name: &str| {
        compiled(
            HELPER_DIRS
                .iter()
                .map(|dir| format!("{dir}/{name}"))
                .collect(),
        )
    };
    let session = helper("sshd-session");
    // Where sshd-session is installed it checks each connection itself: Debian 13 links
    // libwrap there, not into sshd.
    let session_bytes = session
        .as_deref()
        .and_then(|path| read_prefix(Path::new(path), MAX_BINARY_BYTES).ok());
    let readable: Vec<&[u8]> = [bytes.as_deref(), session_bytes.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let linked: Vec<bool> = readable.iter().map(|bytes| links_libwrap(bytes)).collect();
    let ssh_keys_group = (!readable.is_empty()).then(|| {
        readable
            .iter()
            .any(|bytes| compiled_in(bytes, SSH_KEYS_GROUP))
    });
    SshdFacts {
        source: Some(source),
        auth: helper("sshd-auth"),
        session,
        privsep_dir: compiled(
            PRIVSEP_DIR_CANDIDATES
                .iter()
                .map(|dir| dir.to_string())
                .collect(),
        ),
        uses_libwrap: (!linked.is_empty()).then(|| linked.contains(&true)),
        accepts_ssh_keys_group: ssh_keys_group,
        binary: Some(binary),
    }
}

/// The installed sshd: the usual install paths first, then $PATH.
fn find_installed() -> Option<String> {
    let from_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("sshd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    SSHD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .chain(from_path)
        .find(|candidate| candidate.is_file())
        .map(|found| found.display().to_string())
}

/// The exact C string is in the binary (a NUL on both sides: "/run/sshd", not
/// "/run/sshd.pid").
fn compiled_in(bytes: &[u8], text: &str) -> bool {
    let needle = [b"\0", text.as_bytes(), b"\0"].concat();
    memchr::memmem::find(bytes, &needle).is_some()
}

/// The binary names libwrap among the libraries it loads.
fn links_libwrap(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"libwrap.so").is_some()
}

/// The first `limit` bytes of a file.
pub fn read_prefix(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_paths_are_whole_c_strings() {
        let bytes = b"x\0/run/sshd.pid\0/usr/lib/openssh/sshd-session\0libwrap.so.0\0";
        assert!(!compiled_in(bytes, "/run/sshd"));
        assert!(compiled_in(bytes, "/run/sshd.pid"));
        assert!(compiled_in(bytes, "/usr/lib/openssh/sshd-session"));
        assert!(links_libwrap(bytes));
        assert!(!links_libwrap(b"\0libc.so.6\0"));
    }

    #[test]
    fn a_given_binary_is_examined_and_a_missing_one_is_said() {
        let dir = std::env::temp_dir().join(format!("sshd-facts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let given = dir.join("sshd");
        std::fs::write(&given, b"\0/var/empty\0/usr/libexec/openssh/sshd-auth\0").unwrap();
        let mut notes = ProbeNotes::default();
        let facts = collect(choose(Some(&given)), &mut notes);
        assert_eq!(facts.binary.as_deref(), given.to_str());
        assert_eq!(facts.source, Some(SshdSource::Given));
        assert_eq!(facts.privsep_dir.as_deref(), Some("/var/empty"));
        assert_eq!(
            facts.auth.as_deref(),
            Some("/usr/libexec/openssh/sshd-auth")
        );
        assert_eq!(facts.uses_libwrap, Some(false));
        let mut notes = ProbeNotes::default();
        let facts = collect(choose(Some(&dir.join("absent"))), &mut notes);
        assert_ne!(facts.source, Some(SshdSource::Given));
        assert!(notes.notes.iter().any(|note| note.contains("no such file")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
