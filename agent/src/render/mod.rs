//! Renderers: the verdict as JSON (for machines), text (for a person at an 80-column
//! serial console) and compact (for the last 4,096 bytes Azure Run Command returns, with
//! its stderr summary); the catalogue as `rules` and `explain` print it. Every piece of
//! formatting lives here.

mod catalogue;
mod compact;
mod fix;
mod text;

pub use catalogue::{explain_rule, list_rules};
pub use compact::{render_compact, render_stderr_summary, COMPACT_BUDGET, STDERR_SUMMARY_BUDGET};
pub use fix::{render_fix_compact, render_fix_text, render_transactions};
pub use text::{render_text, TextStyle};

use crate::verdict::Verdict;
use std::io::Write;

/// The verdict as pretty JSON, written while it is serialized, in chunks: with a large
/// ruleset in its facts it is MBs that need not be held at once.
pub fn write_json(verdict: &Verdict, out: &mut dyn Write) -> std::io::Result<()> {
    let mut sink = Sink {
        out,
        buffer: Vec::with_capacity(CHUNK),
        failed: None,
    };
    serde_json::to_writer_pretty(&mut sink, verdict)?;
    sink.write_all(b"\n")?;
    sink.pass_on();
    sink.failed.map_or(Ok(()), Err)
}

const CHUNK: usize = 64 << 10;

/// A buffered writer that never fails: it keeps the first error and drops what follows.
/// The serializer, which then cannot see a failure, carries no error path per field.
struct Sink<'a> {
    out: &'a mut dyn Write,
    buffer: Vec<u8>,
    failed: Option<std::io::Error>,
}

impl Sink<'_> {
    #[inline(never)]
    fn keep(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.pass_on();
        }
    }

    fn pass_on(&mut self) {
        if self.failed.is_none() {
            self.failed = self.out.write_all(&self.buffer).err();
        }
        self.buffer.clear();
    }
}

impl Write for Sink<'_> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.keep(bytes);
        Ok(bytes.len())
    }

    #[inline(always)]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.keep(bytes);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn render_json(verdict: &Verdict) -> String {
    let mut json = Vec::new();
    write_json(verdict, &mut json).expect("the verdict always serializes");
    String::from_utf8(json).expect("serde_json writes UTF-8")
}
