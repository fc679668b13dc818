//! Text for a person: the status line first, then findings most severe first, each with
//! its evidence and the command to run, wrapped to the terminal (80 columns when unknown).

use crate::facts::CloudProvider;
use crate::facts::ProbeOutcome;
use crate::rules::{Finding, Severity};
use crate::verdict::{Status, Verdict};
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    pub width: usize,
    pub color: bool,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            width: 80,
            color: false,
        }
    }
}

const RESET: &str = "\x1b[0m";

fn paint(style: TextStyle, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn status_color(status: Status) -> &'static str {
    match status {
        Status::Healthy => "1;32",
        Status::Warning => "1;33",
        Status::Critical => "1;31",
        Status::Unknown => "1;35",
    }
}

fn severity_label(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Critical => ("CRITICAL", "1;31"),
        Severity::Warning => ("WARNING", "1;33"),
        Severity::Info => ("info", "36"),
    }
}

/// Wraps prose at spaces, never at the hyphens of a timestamp or a path; only a word
/// longer than a whole line is cut.
fn wrap_words(text: &str, width: usize) -> Vec<std::borrow::Cow<'_, str>> {
    let options =
        textwrap::Options::new(width).word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::wrap(text, options)
}

/// Wraps `text` to `width`, the first line after `first`, the rest indented by `indent`.
fn wrap_into(out: &mut String, first: &str, indent: usize, text: &str, width: usize) {
    let available = width.saturating_sub(indent).max(20);
    let lines = wrap_words(text, available);
    for (index, line) in lines.iter().enumerate() {
        if index == 0 {
            let _ = writeln!(out, "{first}{line}");
        } else {
            let _ = writeln!(out, "{:indent$}{line}", "");
        }
    }
    if lines.is_empty() {
        let _ = writeln!(out, "{first}");
    }
}

/// Splits a shell command into words at unquoted spaces, keeping quoted text whole.
fn shell_words(command: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut quote = None;
    let mut start = None;
    for (index, character) in command.char_indices() {
        match (quote, character) {
            (None, ' ') => {
                if let Some(begun) = start.take() {
                    words.push(&command[begun..index]);
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(character),
            (Some(open), _) if open == character => quote = None,
            _ => {}
        }
        start.get_or_insert(index);
    }
    if let Some(begun) = start {
        words.push(&command[begun..]);
    }
    words
}

/// A long quoted word (see `splittable_quoted`) cut into quoted pieces the shell glues
/// back together: `'abc'\` newline `'def'` (at the margin) is the one word `abcdef`.
fn split_quoted(word: &str, room: usize) -> Vec<String> {
    let quote = &word[..1];
    let inner = &word[1..word.len() - 1];
    let room = room.saturating_sub(3).max(10); // two quotes and the backslash
    let mut pieces = Vec::new();
    let mut rest = inner;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // Prefer to cut after a space, so each line reads as words.
        if let Some(space) = rest[..cut].rfind(' ') {
            if space > room / 2 {
                cut = space + 1;
            }
        }
        pieces.push(format!("{quote}{}{quote}", &rest[..cut]));
        rest = &rest[cut..];
    }
    pieces.push(format!("{quote}{rest}{quote}"));
    pieces
}

/// A quoted word the shell glues back together when cut anywhere: single quotes without
/// a quote inside, or double quotes with nothing a cut could break (`\`, `$`, backquote).
fn splittable_quoted(word: &str) -> bool {
    let Some(quote) = word.chars().next().filter(|c| *c == '\'' || *c == '"') else {
        return false;
    };
    if word.len() < 2 || !word.ends_with(quote) {
        return false;
    }
    let inner = &word[1..word.len() - 1];
    match quote {
        '\'' => !inner.contains('\''),
        _ => !inner.contains(['"', '\\', '$', '`']),
    }
}

/// Wraps a command at word boundaries outside quotes, ending continued lines with " \\",
/// so that what a person copies off the console still runs; a single-quoted word too long
/// for a line is cut into quoted pieces the shell glues back together.
fn wrap_command(out: &mut String, first: &str, indent: usize, command: &str, width: usize) {
    // A trailing "# comment" must not be continued with a backslash (inside a comment it
    // continues nothing): the code is wrapped, the comment follows as comment lines.
    let comment_at = shell_words(command)
        .into_iter()
        .find(|word| word.starts_with('#'))
        .map(|word| word.as_ptr() as usize - command.as_ptr() as usize);
    let (code, comment) = match comment_at {
        Some(at) => (command[..at].trim_end(), Some(&command[at..])),
        None => (command, None),
    };
    let start = out.len();
    wrap_code(out, first, indent, code, width);
    let Some(comment) = comment else { return };
    let last_line_width = out[start..]
        .lines()
        .last()
        .map_or(0, |line| line.chars().count());
    if last_line_width + 1 + comment.chars().count() <= width {
        out.pop(); // the newline after the code
        let _ = writeln!(out, " {comment}");
        return;
    }
    let text = comment.trim_start_matches('#').trim();
    let prefix = format!("{}# ", " ".repeat(indent + 2));
    for line in wrap_words(text, width.saturating_sub(prefix.len()).max(20)) {
        let _ = writeln!(out, "{prefix}{line}");
    }
}

/// `wrap_command` for code without a comment.
fn wrap_code(out: &mut String, first: &str, indent: usize, command: &str, width: usize) {
    // Room for a continued line's indent (indent + 2) and its trailing " \\".
    let available = width.saturating_sub(indent + 4).max(20);
    // Each line, and whether the next line continues the same word.
    let mut lines: Vec<(String, bool)> = vec![(String::new(), false)];
    for word in shell_words(command) {
        if word.len() > available && splittable_quoted(word) {
            let pieces = split_quoted(word, available);
            let count = pieces.len();
            for (index, piece) in pieces.into_iter().enumerate() {
                let line = lines.last_mut().expect("at least one line");
                if index == 0 && !line.0.is_empty() {
                    lines.push((String::new(), false));
                }
                let line = lines.last_mut().expect("at least one line");
                line.0.push_str(&piece);
                line.1 = index + 1 < count;
                if index + 1 < count {
                    lines.push((String::new(), false));
                }
            }
            continue;
        }
        let line = lines.last_mut().expect("at least one line");
        if !line.0.is_empty() && line.0.len() + 1 + word.len() > available {
            lines.push((word.to_string(), false));
        } else {
            if !line.0.is_empty() {
                line.0.push(' ');
            }
            line.0.push_str(word);
        }
    }
    let last = lines.len() - 1;
    let mut after_glue = false;
    for (index, (line, glued)) in lines.iter().enumerate() {
        // A piece glued to the one before starts at the margin: indentation there would
        // part the two pieces into two words.
        let prefix = match (index, after_glue) {
            (0, _) => first.to_string(),
            (_, true) => String::new(),
            (_, false) => " ".repeat(indent + 2),
        };
        after_glue = *glued && index < last;
        let continued = match (index < last, glued) {
            (false, _) => "",
            (true, true) => "\\",
            (true, false) => " \\",
        };
        let _ = writeln!(out, "{prefix}{line}{continued}");
    }
}

fn render_finding(
    out: &mut String,
    finding: &Finding,
    provider: Option<CloudProvider>,
    style: TextStyle,
) {
    let (label, code) = severity_label(finding.severity);
    let head = format!("{} {} ", paint(style, code, label), finding.id);
    let head_width = label.len() + finding.id.len() + 2;
    let available = style.width.saturating_sub(head_width).max(20);
    let title_lines = wrap_words(&finding.title, available);
    for (index, line) in title_lines.iter().enumerate() {
        if index == 0 {
            let _ = writeln!(out, "{head}{line}");
        } else {
            let _ = writeln!(out, "{:head_width$}{line}", "");
        }
    }
    for evidence in &finding.evidence {
        let text = match evidence.place() {
            Some(place) => format!("{} [{place}]", evidence.fact),
            None => evidence.fact.clone(),
        };
        wrap_into(out, "  seen: ", 8, &text, style.width);
    }
    if let Some(command) = finding.remediation.guest.first() {
        wrap_command(out, "  run:  ", 8, command, style.width);
    }
    let (label, commands) = finding.remediation.for_cloud(provider);
    if let Some(command) = commands.first() {
        wrap_command(
            out,
            &format!("  {:<6}", format!("{label}:")),
            8,
            command,
            style.width,
        );
    }
}

/// The status and summary, then the tool and the machine.
fn render_header(out: &mut String, verdict: &Verdict, style: TextStyle) {
    let status = paint(
        style,
        status_color(verdict.status),
        &verdict.status.as_str().to_uppercase(),
    );
    let status_width = verdict.status.as_str().len() + 2;
    let summary_lines = wrap_words(
        &verdict.summary,
        style.width.saturating_sub(status_width).max(20),
    );
    for (index, line) in summary_lines.iter().enumerate() {
        if index == 0 {
            let _ = writeln!(out, "{status}: {line}");
        } else {
            let _ = writeln!(out, "{:status_width$}{line}", "");
        }
    }
    let host = verdict.host.hostname.as_deref().unwrap_or("?");
    let os = verdict
        .host
        .os_pretty_name
        .as_deref()
        .unwrap_or("unknown OS");
    wrap_into(
        out,
        "",
        0,
        &format!(
            "{} {} on {host} ({os})",
            verdict.tool.name, verdict.tool.version
        ),
        style.width,
    );
}

pub fn render_text(verdict: &Verdict, style: TextStyle) -> String {
    let mut out = String::new();
    render_header(&mut out, verdict, style);
    for finding in &verdict.findings {
        out.push('\n');
        render_finding(&mut out, finding, verdict.facts.cloud.provider, style);
    }
    // What the live sshd showed matters when nothing is wrong: it is what "healthy" rests on.
    if matches!(verdict.status, Status::Healthy | Status::Unknown) {
        for (heading, lines) in [
            ("Shown by the running sshd:", &verdict.proof.shown),
            ("Not proven:", &verdict.proof.unproven),
        ] {
            if lines.is_empty() {
                continue;
            }
            out.push('\n');
            let _ = writeln!(out, "{heading}");
            for line in lines {
                wrap_into(&mut out, "  ", 4, line, style.width);
            }
        }
    }
    let blind: Vec<String> = verdict
        .probes
        .iter()
        .filter(|probe| probe.outcome != ProbeOutcome::Ok)
        .map(|probe| format!("{}: {}", probe.name, probe.notes.join("; ")))
        .collect();
    if !blind.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "Could not see everything:");
        for line in blind {
            wrap_into(&mut out, "  ", 4, &line, style.width);
        }
    }
    out.push('\n');
    let hint = match verdict.findings.first() {
        Some(first) => format!(
            "Took {:.0} ms. Details: sshdoctor explain {}; all facts: sshdoctor --format json",
            verdict.elapsed_ms, first.id
        ),
        None => format!(
            "Took {:.0} ms. All facts: sshdoctor --format json",
            verdict.elapsed_ms
        ),
    };
    wrap_into(&mut out, "", 0, &hint, style.width);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_only_outside_quotes() {
        assert_eq!(
            shell_words("az vm run-command invoke --scripts 'systemctl start ssh; ss -ltn' -g rg"),
            [
                "az",
                "vm",
                "run-command",
                "invoke",
                "--scripts",
                "'systemctl start ssh; ss -ltn'",
                "-g",
                "rg"
            ]
        );
        assert_eq!(
            shell_words("sed -i \"s/a b/c/\"  x"),
            ["sed", "-i", "\"s/a b/c/\"", "x"]
        );
    }

    /// The words a real `sh` reads from `text` (after the first line's `indent`), as a
    /// person pasting it would run it.
    fn words_sh_reads(text: &str, indent: usize) -> Vec<String> {
        let script = format!("printf '%s\\n' {}", &text[indent..]);
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        assert!(output.status.success(), "{script}");
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The wrapped lines read as the very command, word for word.
    fn assert_same_words(out: &str, command: &str) {
        assert_eq!(words_sh_reads(out, 8), words_sh_reads(command, 0), "{out}");
    }

    #[test]
    fn wrapped_commands_continue_with_a_backslash() {
        let mut out = String::new();
        let command = "az vm run-command invoke -g my-resource-group -n my-vm --command-id RunShellScript --scripts 'systemctl unmask ssh.service && systemctl enable --now ssh.service'";
        wrap_command(&mut out, "  az:   ", 8, command, 80);
        assert!(out.lines().count() > 1);
        assert!(out.lines().all(|line| line.chars().count() <= 80), "{out}");
        assert_same_words(&out, command);
    }

    #[test]
    fn comments_are_never_continued_with_a_backslash() {
        let mut out = String::new();
        let command = "namei -l /home/labuser/.ssh/authorized_keys   # owner and mode of every directory up to /, which StrictModes checks";
        wrap_command(&mut out, "  run:  ", 8, command, 80);
        assert!(out.lines().all(|line| line.chars().count() <= 80), "{out}");
        assert!(
            !out.lines()
                .any(|line| line.contains('#') && line.ends_with('\\')),
            "{out}"
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "  run:  namei -l /home/labuser/.ssh/authorized_keys"
        );
        assert!(
            lines[1..]
                .iter()
                .all(|line| line.trim_start().starts_with("# ")),
            "{out}"
        );
    }

    #[test]
    fn prose_is_not_split_at_hyphens() {
        let lines = wrap_words("newest at 2026-11-24T08:04:47Z in /var/log/auth.log", 20);
        assert!(
            lines
                .iter()
                .any(|line| line.contains("2026-11-24T08:04:47Z")),
            "{lines:?}"
        );
    }

    #[test]
    fn long_quoted_scripts_are_cut_into_glued_pieces() {
        let command = "az vm run-command invoke -g rg -n vm --command-id RunShellScript --scripts 'sshd -t; systemctl reset-failed ssh.service; systemctl start ssh.service; systemctl status ssh.service --no-pager'";
        let mut out = String::new();
        wrap_command(&mut out, "  az:   ", 8, command, 80);
        assert!(out.lines().all(|line| line.chars().count() <= 80), "{out}");
        assert_same_words(&out, command);
    }

    #[test]
    fn long_double_quoted_scripts_are_cut_too_unless_a_cut_could_break_them() {
        let command = "az vm run-command invoke -g rg -n vm --command-id RunShellScript --scripts \"sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config && sshd -t && systemctl restart ssh.service\"";
        let mut out = String::new();
        wrap_command(&mut out, "  az:   ", 8, command, 80);
        assert!(out.lines().all(|line| line.chars().count() <= 80), "{out}");
        assert_same_words(&out, command);
        assert!(splittable_quoted("\"a b c\""));
        assert!(!splittable_quoted("\"a $HOME c\""));
        assert!(!splittable_quoted("\"a \\\" c\""));
        assert!(!splittable_quoted("'it'\\''s'"));
    }
}
