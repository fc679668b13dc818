//! PAM as sshd runs it: the "sshd" service's account and session stacks, read the way
//! Linux-PAM loads them (libpam/pam_handlers.c): the service file from /etc/pam.d, else
//! /usr/lib/pam.d, else "other"; `include` and Debian's `@include` inlined for the stack
//! being loaded, `substack` one level deeper; a line PAM cannot use installed to fail.
//! Also what the modules that judge a user read: pam_access's rules and pam_listfile's
//! lists. Read-only; the rules decide what the stacks do for each user.

use super::auth::read_text;
use super::ProbeNotes;
use crate::facts::{PamAccessFile, PamAccessRule, PamFacts, PamLine, PamListFile};
use std::collections::BTreeMap;
use std::path::Path;

/// sshd's PAM service name (SSHD_PAM_SERVICE, its program name).
const SERVICE: &str = "sshd";
/// Where Linux-PAM looks for a service's file, in order (PAM_CONFIG_DF, PAM_CONFIG_DIST_DF).
const CONFIG_DIRS: &[&str] = &["/etc/pam.d", "/usr/lib/pam.d"];
/// Linux-PAM's DEFAULT_MODULE_PATH on the distributions Azure runs, most specific first.
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/security",
    "/lib/x86_64-linux-gnu/security",
    "/usr/lib/aarch64-linux-gnu/security",
    "/lib/aarch64-linux-gnu/security",
    "/usr/lib64/security",
    "/lib64/security",
    "/usr/lib/security",
    "/lib/security",
];
/// PAM_SUBSTACK_MAX_LEVEL: deeper includes fail to load.
const MAX_INCLUDE_LEVEL: u32 = 16;
/// Bound on the handlers kept per stack.
const MAX_LINES: usize = 500;
const ACCESS_CONF: &str = "/etc/security/access.conf";
const ACCESS_DIR: &str = "/etc/security/access.d";
const MAX_LIST_ENTRIES: usize = 10_000;

pub fn collect(notes: &mut ProbeNotes) -> PamFacts {
    let mut loader = Loader {
        files: BTreeMap::new(),
        module_dir: module_dir(),
    };
    let service_file = loader.find(SERVICE);
    let mut stacks = [Vec::new(), Vec::new()];
    for (stage, lines) in ["account", "session"].iter().zip(stacks.iter_mut()) {
        if let Some(path) = &service_file {
            loader.load(path, stage, 0, 0, lines);
        }
        // A service with no handlers for this stage uses "other"'s.
        if lines.is_empty() {
            if let Some(other) = loader.find("other") {
                loader.load(&other, stage, 0, 0, lines);
            }
        }
        if lines.len() > MAX_LINES {
            notes.partial(format!("PAM {stage} stack cut at {MAX_LINES} lines"));
            lines.truncate(MAX_LINES);
        }
    }
    let [account, session] = stacks;
    if service_file.is_none() && !Path::new("/etc/pam.d").is_dir() {
        notes.note("no /etc/pam.d: this system has no PAM configuration to read");
    }
    let all = account.iter().chain(&session);
    PamFacts {
        access_files: access_files(all.clone()),
        list_files: list_files(all),
        service_file,
        module_dir: loader.module_dir.clone(),
        account,
        session,
    }
}

/// The module directory: the first candidate holding pam_permit.so, which every
/// Linux-PAM installs.
fn module_dir() -> Option<String> {
    MODULE_DIRS
        .iter()
        .find(|dir| Path::new(dir).join("pam_permit.so").exists())
        .map(|dir| dir.to_string())
}

struct Loader {
    /// Config files read so far (None: could not be read).
    files: BTreeMap<String, Option<String>>,
    module_dir: Option<String>,
}

impl Loader {
    /// A config file by name or path, as _pam_open_config_file searches.
    fn find(&self, name: &str) -> Option<String> {
        if name.starts_with('/') {
            return Path::new(name).is_file().then(|| name.to_string());
        }
        CONFIG_DIRS
            .iter()
            .map(|dir| format!("{dir}/{name}"))
            .find(|path| Path::new(path).is_file())
    }

    fn text(&mut self, path: &str) -> Option<String> {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| read_text(Path::new(path)).ok())
            .clone()
    }

    /// Appends `path`'s handlers of type `stage` to `out`; false when the file could not
    /// be read.
    fn load(
        &mut self,
        path: &str,
        stage: &str,
        include_level: u32,
        depth: u32,
        out: &mut Vec<PamLine>,
    ) -> bool {
        if include_level >= MAX_INCLUDE_LEVEL {
            return false;
        }
        let Some(text) = self.text(path) else {
            return false;
        };
        for (number, line) in assemble_lines(&text) {
            if out.len() > MAX_LINES {
                break;
            }
            let source = format!("{path}:{number}");
            let tokens = tokenize(&line);
            let line_of = |control: &str, module: &str, args: Vec<String>| {
                handler(&source, &line, depth, control, module, args)
            };
            // Debian's "@include FILE": every stack of FILE, inline.
            if tokens[0] == "@include" {
                let target = tokens.get(1).cloned().unwrap_or_default();
                self.include(&target, stage, include_level, depth, out, || {
                    line_of("required", "", Vec::new())
                });
                continue;
            }
            let kind = tokens[0].trim_start_matches('-');
            let known = ["auth", "account", "session", "password"];
            if !known.iter().any(|known| kind.eq_ignore_ascii_case(known)) {
                // Installed for the stack being loaded (the service file's own: auth).
                if include_level > 0 {
                    let mut bad = line_of("required", "", Vec::new());
                    bad.must_fail = Some(format!("unknown module type {:?}", tokens[0]));
                    out.push(bad);
                }
                continue;
            }
            if !kind.eq_ignore_ascii_case(stage) {
                continue;
            }
            let Some(control) = tokens.get(1) else {
                let mut bad = line_of("required", "", Vec::new());
                bad.must_fail = Some("no control flag".into());
                out.push(bad);
                continue;
            };
            let target = tokens.get(2).cloned().unwrap_or_default();
            if control.eq_ignore_ascii_case("include") {
                self.include(&target, stage, include_level, depth, out, || {
                    line_of("required", "", Vec::new())
                });
                continue;
            }
            if control.eq_ignore_ascii_case("substack") {
                let mut head = line_of(control, "", Vec::new());
                head.substack = true;
                out.push(head);
                self.include(&target, stage, include_level, depth + 1, out, || {
                    line_of("required", "", Vec::new())
                });
                continue;
            }
            if target.is_empty() {
                let mut bad = line_of(control, "", Vec::new());
                bad.must_fail = Some("no module named".into());
                out.push(bad);
                continue;
            }
            let mut handler = line_of(control, &target, tokens[3..].to_vec());
            handler.module_exists = self.module_exists(&target);
            out.push(handler);
        }
        true
    }

    /// Inlines an included file; one that cannot be opened is installed to fail.
    fn include(
        &mut self,
        name: &str,
        stage: &str,
        include_level: u32,
        depth: u32,
        out: &mut Vec<PamLine>,
        failed_line: impl FnOnce() -> PamLine,
    ) {
        let loaded = !name.is_empty()
            && self
                .find(name)
                .is_some_and(|path| self.load(&path, stage, include_level + 1, depth, out));
        if !loaded {
            let mut bad = failed_line();
            bad.depth = depth;
            bad.must_fail = Some(format!("cannot open the included file {name:?}"));
            out.push(bad);
        }
    }

    fn module_exists(&self, module: &str) -> Option<bool> {
        if module.starts_with('/') {
            return Some(Path::new(module).exists());
        }
        let dir = self.module_dir.as_deref()?;
        if Path::new(dir).join(module).exists() {
            return Some(true);
        }
        // In another candidate directory: which one PAM searches is not certain.
        let elsewhere = MODULE_DIRS
            .iter()
            .any(|other| Path::new(other).join(module).exists());
        (!elsewhere).then_some(false)
    }
}

/// _pam_line_assemble: comments cut at '#', backslash-newline joins lines, blank lines
/// skipped. Each line comes with the number of its first physical line.
pub fn assemble_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let content = raw.split('#').next().unwrap_or_default();
        let (content, continued) = match content.strip_suffix('\\') {
            Some(head) if !raw.contains('#') => (head, true),
            _ => (content, false),
        };
        let entry = pending.get_or_insert_with(|| (index as u32 + 1, String::new()));
        entry.1.push(' ');
        entry.1.push_str(content);
        if !continued {
            let (number, line) = pending.take().unwrap_or_default();
            let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if !line.is_empty() {
                out.push((number, line));
            }
        }
    }
    if let Some((number, line)) = pending {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.is_empty() {
            out.push((number, line));
        }
    }
    out
}

/// Whitespace-separated tokens, a `[...]` group (a control, or a bracketed argument)
/// kept whole; never empty for an assembled line.
pub fn tokenize(line: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut open = false;
    for word in line.split_whitespace() {
        if open {
            let last = tokens.last_mut().expect("an open group has a token");
            last.push(' ');
            last.push_str(word);
        } else {
            tokens.push(word.to_string());
        }
        let group = tokens.last().map(String::as_str).unwrap_or_default();
        let closed = group.ends_with(']') && !group.ends_with("\\]");
        open = group.starts_with('[') && !closed;
    }
    if tokens.is_empty() {
        tokens.push(String::new());
    }
    tokens
}

/// The rule files of each pam_access line: `accessfile=`, else access.conf and, as
/// Linux-PAM 1.4+ reads them, /etc/security/access.d/*.conf.
fn access_files<'a>(lines: impl Iterator<Item = &'a PamLine>) -> Vec<PamAccessFile> {
    let mut paths: Vec<String> = Vec::new();
    for line in lines.filter(|line| line.module_name() == "pam_access.so") {
        match line.argument("accessfile") {
            Some(path) => paths.push(path.to_string()),
            None => {
                paths.push(ACCESS_CONF.to_string());
                let mut drop_ins: Vec<String> = std::fs::read_dir(ACCESS_DIR)
                    .map(|entries| {
                        entries
                            .flatten()
                            .map(|entry| entry.path().display().to_string())
                            .filter(|path| path.ends_with(".conf"))
                            .collect()
                    })
                    .unwrap_or_default();
                drop_ins.sort();
                paths.extend(drop_ins);
            }
        }
    }
    paths.dedup();
    let mut seen = Vec::new();
    paths
        .into_iter()
        .filter(|path| {
            let new = !seen.contains(path);
            seen.push(path.clone());
            new
        })
        .map(|path| PamAccessFile {
            rules: read_text(Path::new(&path))
                .ok()
                .map(|text| access_rules(&path, &text)),
            path,
        })
        .collect()
}

/// access.conf(5) lines: "+|- : users : origins"; others are skipped, as pam_access does.
pub fn access_rules(path: &str, text: &str) -> Vec<PamAccessRule> {
    text.lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let line = line.trim();
            if line.starts_with('#') || line.is_empty() {
                return None;
            }
            let mut fields = line.splitn(3, ':');
            let permission = fields.next()?.trim();
            let users = fields.next()?.trim();
            let origins = fields.next()?.trim();
            let allow = match permission {
                "+" => true,
                "-" => false,
                _ => return None,
            };
            Some(PamAccessRule {
                source: format!("{path}:{}", index + 1),
                allow,
                users: users.to_string(),
                origins: origins.to_string(),
            })
        })
        .collect()
}

/// pam_listfile's `file=` lists: one entry per line, as the module reads them.
fn list_files<'a>(lines: impl Iterator<Item = &'a PamLine>) -> Vec<PamListFile> {
    let mut files: Vec<PamListFile> = Vec::new();
    for line in lines.filter(|line| line.module_name() == "pam_listfile.so") {
        let Some(path) = line.argument("file") else {
            continue;
        };
        if files.iter().any(|file| file.path == path) {
            continue;
        }
        let entries = read_text(Path::new(path)).ok().map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .take(MAX_LIST_ENTRIES)
                .map(String::from)
                .collect()
        });
        files.push(PamListFile {
            path: path.to_string(),
            entries,
        });
    }
    files
}

/// A handler as a stack line installs it: nothing known yet of its module.
fn handler(
    source: &str,
    text: &str,
    depth: u32,
    control: &str,
    module: &str,
    args: Vec<String>,
) -> PamLine {
    PamLine {
        source: source.to_string(),
        text: text.to_string(),
        depth,
        control: control.to_string(),
        module: module.to_string(),
        args,
        module_exists: None,
        substack: false,
        must_fail: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_join_continuations_and_drop_comments() {
        let text =
            "# head\naccount required \\\n  pam_unix.so\n\nsession optional pam_motd.so # why\n";
        assert_eq!(
            assemble_lines(text),
            vec![
                (2, "account required pam_unix.so".to_string()),
                (5, "session optional pam_motd.so".to_string())
            ]
        );
    }

    #[test]
    fn bracketed_controls_stay_one_token() {
        assert_eq!(
            tokenize("session [success=ok ignore=ignore default=bad] pam_selinux.so open"),
            vec![
                "session",
                "[success=ok ignore=ignore default=bad]",
                "pam_selinux.so",
                "open"
            ]
        );
    }

    #[test]
    fn access_rules_keep_their_lines() {
        let rules = access_rules("/a", "# x\n-:alice:ALL\n+ : root : LOCAL\nbogus\n");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].source, "/a:2");
        assert!(!rules[0].allow);
        assert_eq!(rules[1].users, "root");
        assert_eq!(rules[1].origins, "LOCAL");
    }
}
