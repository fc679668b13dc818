//! Text for a person: the status line first, then findings most severe first, each with
//! its evidence and the command to run, wrapped to the terminal (80 columns when unknown).

use crate::collect::ProbeOutcome;
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

/// Wraps `text` to `width`, the first line after `first`, the rest indented by `indent`.
fn wrap_into(out: &mut String, first: &str, indent: usize, text: &str, width: usize) {
    let available = width.saturating_sub(indent).max(20);
    let lines = textwrap::wrap(text, available);
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

fn render_finding(out: &mut String, finding: &Finding, style: TextStyle) {
    let (label, code) = severity_label(finding.severity);
    let head = format!("{} {} ", paint(style, code, label), finding.id);
    let head_width = label.len() + finding.id.len() + 2;
    let available = style.width.saturating_sub(head_width).max(20);
    let title_lines = textwrap::wrap(&finding.title, available);
    for (index, line) in title_lines.iter().enumerate() {
        if index == 0 {
            let _ = writeln!(out, "{head}{line}");
        } else {
            let _ = writeln!(out, "{:head_width$}{line}", "");
        }
    }
    for evidence in &finding.evidence {
        let text = match &evidence.source {
            Some(source) => format!("{} [{source}]", evidence.fact),
            None => evidence.fact.clone(),
        };
        wrap_into(out, "  seen: ", 8, &text, style.width);
    }
    if let Some(command) = finding.remediation.guest.first() {
        wrap_into(out, "  run:  ", 8, command, style.width);
    }
    if let Some(command) = finding.remediation.azure.first() {
        wrap_into(out, "  az:   ", 8, command, style.width);
    }
}

pub fn render_text(verdict: &Verdict, style: TextStyle) -> String {
    let mut out = String::new();
    let status = paint(
        style,
        status_color(verdict.status),
        &verdict.status.as_str().to_uppercase(),
    );
    let status_width = verdict.status.as_str().len() + 2;
    let summary_lines = textwrap::wrap(
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
        &mut out,
        "",
        0,
        &format!(
            "{} {} on {host} ({os})",
            verdict.tool.name, verdict.tool.version
        ),
        style.width,
    );
    for finding in &verdict.findings {
        out.push('\n');
        render_finding(&mut out, finding, style);
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
