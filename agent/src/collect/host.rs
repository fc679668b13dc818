//! Who and what this machine is: hostname, distribution, kernel, privileges. Which sshd
//! it runs is `collect::service::sshd`'s.

use super::ProbeNotes;
use crate::facts::HostFacts;

/// os-release(5): /etc first, /usr/lib when /etc has none.
const OS_RELEASE_FILES: &[&str] = &["/etc/os-release", "/usr/lib/os-release"];

pub fn collect(notes: &mut ProbeNotes) -> HostFacts {
    let euid = nix::unistd::geteuid().as_raw();
    if euid != 0 {
        notes.partial(
            "not running as root: other users' files, /proc/*/fd and sshd -T are out of sight",
        );
    }
    let pid1_comm = match procfs::process::Process::new(1).and_then(|p| p.stat()) {
        Ok(stat) => Some(stat.comm),
        Err(err) => {
            notes.partial(format!("cannot read /proc/1/stat: {err}"));
            None
        }
    };
    let os_release = OS_RELEASE_FILES
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    let os_field = |key: &str| os_release_value(&os_release, key);
    HostFacts {
        hostname: nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok()),
        os_id: os_field("ID"),
        os_id_like: os_field("ID_LIKE")
            .map(|like| like.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        os_pretty_name: os_field("PRETTY_NAME").or_else(|| os_field("NAME")),
        os_version_id: os_field("VERSION_ID"),
        kernel: nix::sys::utsname::uname()
            .ok()
            .and_then(|uts| uts.release().to_str().map(str::to_string)),
        euid,
        is_root: euid == 0,
        pid1_comm,
    }
}

/// One `KEY=value` of os-release, unquoted; None when absent or empty.
pub fn os_release_value(text: &str, key: &str) -> Option<String> {
    let value = text.lines().find_map(|line| {
        line.trim()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
    })?;
    let unquoted = value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .or_else(|| {
            value
                .strip_prefix('\'')
                .and_then(|inner| inner.strip_suffix('\''))
        })
        .unwrap_or(value);
    // Shell-style: a backslash keeps the next character (\" \$ \` \\).
    let mut unescaped = String::with_capacity(unquoted.len());
    let mut chars = unquoted.chars();
    while let Some(c) = chars.next() {
        unescaped.push(if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        });
    }
    Some(unescaped).filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::os_release_value;

    const DEBIAN: &str =
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
        VERSION_ID=\"12\"\nID=debian\nHOME_URL='https://www.debian.org/'\nEMPTY=\n";

    #[test]
    fn reads_quoted_unquoted_and_missing_keys() {
        let value = |key| os_release_value(DEBIAN, key);
        assert_eq!(value("ID").as_deref(), Some("debian"));
        assert_eq!(
            value("PRETTY_NAME").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(value("VERSION_ID").as_deref(), Some("12"));
        assert_eq!(
            value("HOME_URL").as_deref(),
            Some("https://www.debian.org/")
        );
        assert_eq!(value("EMPTY"), None);
        assert_eq!(value("ID_LIKE"), None);
    }

    #[test]
    fn unescapes_double_quoted_values() {
        let text = "NAME=\"A \\\"quoted\\\" \\$name\"\n";
        assert_eq!(
            os_release_value(text, "NAME").as_deref(),
            Some("A \"quoted\" $name")
        );
    }
}
