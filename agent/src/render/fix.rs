//! A `fix` or `undo` run as text (a person at a console) and compact (the last 4,096
//! bytes Run Command returns, ending with a machine-readable line); JSON is the report
//! itself.

use crate::fix::{FixOutcome, FixReport, Manifest};

/// The last line of compact output: `SSHDOCTOR-FIX outcome=applied exit=0
/// transaction=ID`, and `confirm_by=TIME` when it is put back unless confirmed.
fn result_line(report: &FixReport) -> String {
    let confirm_by = report
        .confirm_by
        .as_deref()
        .map(|by| format!(" confirm_by={by}"))
        .unwrap_or_default();
    format!(
        "SSHDOCTOR-FIX outcome={} exit={} transaction={}{confirm_by}\n",
        report.outcome.as_str(),
        report.outcome.exit_code(),
        report.transaction.as_deref().unwrap_or("none")
    )
}

fn headline(report: &FixReport) -> String {
    let transaction = report
        .transaction
        .as_deref()
        .map(|id| format!(" (transaction {id})"))
        .unwrap_or_default();
    let what = match report.outcome {
        FixOutcome::NothingToFix => "nothing to fix automatically",
        FixOutcome::Planned => "the plan; nothing was changed (add --apply to make it so)",
        FixOutcome::Applied => "applied, and the diagnosis after it no longer finds it",
        FixOutcome::RolledBack => "rolled back: everything it changed is as it was",
        FixOutcome::Undone => "undone: everything it changed is as it was",
        FixOutcome::Confirmed => "confirmed: the fix stays",
        FixOutcome::Failed => "failed",
    };
    format!("sshdoctor: {what}{transaction}\n")
}

/// The report for a terminal.
pub fn render_fix_text(report: &FixReport) -> String {
    let mut out = headline(report);
    if let Some(id) = &report.recovered {
        out.push_str(&format!(
            "  first put back: transaction {id}, which a kill had left half done\n"
        ));
    }
    if let Some(why) = &report.why {
        out.push_str(&format!("  why: {why}\n"));
    }
    for step in &report.steps {
        out.push_str(&format!(
            "  {:<11} {}  {}\n",
            step.outcome, step.finding, step.command
        ));
        if let Some(error) = &step.error {
            out.push_str(&format!("              {error}\n"));
        }
    }
    if !report.manual.is_empty() {
        out.push_str("Not repaired automatically (do these by hand):\n");
        for manual in &report.manual {
            out.push_str(&format!("  {}  {}\n", manual.finding, manual.title));
            if let Some(why) = manual.why {
                out.push_str(&format!("      (by hand: {why})\n"));
            }
            if let Some(first) = manual.guest.first() {
                out.push_str(&format!("      {first}\n"));
            }
        }
    }
    if report.outcome == FixOutcome::Applied {
        if let Some(id) = &report.transaction {
            match &report.confirm_by {
                Some(by) => out.push_str(&format!(
                    "Put back by itself at {by} unless confirmed: sshdoctor fix --confirm {id}\n"
                )),
                None => out.push_str(&format!("To put it all back: sshdoctor undo {id}\n")),
            }
        }
    }
    out
}

/// The report within `budget` bytes, the result line last.
pub fn render_fix_compact(report: &FixReport, budget: usize) -> String {
    let tail = result_line(report);
    let mut out = render_fix_text(report);
    let room = budget.saturating_sub(tail.len());
    if out.len() > room {
        let mut end = room.saturating_sub(4);
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
        out.push_str("...\n");
    }
    out + &tail
}

/// `sshdoctor undo --list`: every transaction, oldest first.
pub fn render_transactions(manifests: &[Manifest]) -> String {
    if manifests.is_empty() {
        return "no transactions\n".into();
    }
    manifests
        .iter()
        .map(|manifest| {
            let findings: Vec<&str> = manifest
                .steps
                .iter()
                .map(|step| step.finding.as_str())
                .collect();
            let until = manifest
                .confirm_by
                .as_deref()
                .filter(|_| manifest.state.as_str() == "unconfirmed")
                .map(|by| format!("  (put back at {by})"))
                .unwrap_or_default();
            format!(
                "{}  {:<11} {} steps  {}{until}\n",
                manifest.id,
                manifest.state.as_str(),
                manifest.steps.len(),
                findings.join(",")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::{Action, StepReport};

    /// However many steps, the compact report fits Run Command's 4,096 bytes and its
    /// last line says the outcome and the transaction.
    #[test]
    fn a_long_report_fits_the_budget_and_ends_with_its_result_line() {
        let step = StepReport {
            finding: "SSH-AKF-001".into(),
            title: "x".into(),
            action: Action::SetMode {
                path: "/home/alice/.ssh".into(),
                mode: "700".into(),
            },
            command: format!("chmod 700 /home/{}/.ssh", "a".repeat(60)),
            outcome: "done",
            error: None,
        };
        let report = FixReport {
            outcome: FixOutcome::Applied,
            transaction: Some("20261206T101500Z-42".into()),
            why: None,
            steps: vec![step; 200],
            manual: Vec::new(),
            still_found: Vec::new(),
            recovered: None,
            confirm_by: None,
        };
        let compact = render_fix_compact(&report, 4096);
        assert!(compact.len() <= 4096, "{}", compact.len());
        assert!(compact.starts_with("sshdoctor: applied"));
        assert!(compact
            .ends_with("\nSSHDOCTOR-FIX outcome=applied exit=0 transaction=20261206T101500Z-42\n"));
    }
}
