//! Compact: the verdict within the last 4,096 bytes that Azure Run Command returns.
//! Most severe findings first; the last line is machine-readable and always present, so
//! whatever the wrapping keeps, a script can find the result.

use crate::verdict::Verdict;

/// Azure Run Command keeps the last 4,096 bytes of stdout.
pub const COMPACT_BUDGET: usize = 4096;

/// The stderr summary beside `--format compact`: Run Command keeps the last 4,096 bytes
/// of stderr, and the delivery script's own lines share them.
pub const STDERR_SUMMARY_BUDGET: usize = 2048;

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The final line: `SSHDOCTOR status=critical exit=2 findings=SSH-SVC-005,SSH-SVC-003`.
fn result_line(verdict: &Verdict) -> String {
    let mut ids: Vec<&str> = verdict.findings.iter().map(|finding| finding.id).collect();
    ids.dedup();
    let mut line = format!(
        "SSHDOCTOR schema={} status={} exit={} findings=",
        verdict.schema_version,
        verdict.status.as_str(),
        verdict.exit_code
    );
    line.push_str(if ids.is_empty() { "none" } else { "" });
    line.push_str(&clip(&ids.join(","), 1000));
    line.push('\n');
    line
}

pub fn render_compact(verdict: &Verdict, budget: usize) -> String {
    let tail = result_line(verdict);
    let mut out = clip(
        &format!(
            "{}: {}",
            verdict.status.as_str().to_uppercase(),
            verdict.summary
        ),
        300,
    );
    out.push('\n');
    for finding in &verdict.findings {
        let mut block = format!(
            "[{}] {} {}\n",
            finding.severity.as_str(),
            finding.id,
            clip(&finding.title, 200)
        );
        for evidence in finding.evidence.iter().take(3) {
            let place = evidence
                .place()
                .map(|place| format!(" [{place}]"))
                .unwrap_or_default();
            block.push_str(&format!(
                "  seen: {}\n",
                clip(&format!("{}{place}", evidence.fact), 240)
            ));
        }
        for command in finding.remediation.guest.iter().take(2) {
            block.push_str(&format!("  run: {}\n", clip(command, 240)));
        }
        let (label, commands) = finding.remediation.for_cloud(verdict.facts.cloud.provider);
        if let Some(command) = commands.first() {
            block.push_str(&format!("  {label}: {}\n", clip(command, 300)));
        }
        if out.len() + block.len() + tail.len() > budget {
            let note = "(more findings cut to fit; see the JSON)\n";
            if out.len() + note.len() + tail.len() <= budget {
                out.push_str(note);
            }
            break;
        }
        out.push_str(&block);
    }
    out.push_str(&tail);
    out
}

/// For a person reading Run Command's `[stderr]`: the status, one line per finding, and
/// where to look next, within `budget` bytes.
pub fn render_stderr_summary(verdict: &Verdict, budget: usize) -> String {
    let mut out = format!(
        "sshdoctor {}: {} on {}\n",
        verdict.tool.version,
        verdict.status.as_str().to_uppercase(),
        verdict.host.hostname.as_deref().unwrap_or("this VM")
    );
    let closing = match verdict.findings.first() {
        Some(first) => format!("Details: sshdoctor explain {}\n", first.id),
        None => String::from("No problem found.\n"),
    };
    for finding in &verdict.findings {
        let line: String = format!(
            "  {:<8} {} {}",
            finding.severity.as_str(),
            finding.id,
            finding.title
        )
        .chars()
        .take(100)
        .collect();
        if out.len() + line.len() + 1 + closing.len() > budget {
            break;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&closing);
    out
}
