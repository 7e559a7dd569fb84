//! `--report FILE`: what a run did, written when the program ends.
//!
//! * `FILE.json`: program, arguments, start and end, outcome and exit code,
//!   the counters, one entry per action and one per split attempt
//!   ([`SplitRun`]);
//! * `FILE.trace.json`: the split attempts as Chrome Trace Event JSON (one
//!   track per process and thread), which Perfetto and `chrome://tracing`
//!   open;
//! * `FILE.html`: one self-contained page (`html.rs`).
//!
//! Files are written to a temporary name beside the target and renamed, so
//! a reader never sees half a report.

use crate::attempt::{Outcome, SplitRun};

use crate::json::{self, Object, ToJson};
use crate::report::Report;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// What a `--report` path asks for, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `*.json` (other than `*.trace.json`): the run report.
    Json,
    /// `*.trace.json`: Chrome Trace Event JSON of the split attempts.
    Trace,
    /// `*.html`: one self-contained page with the task timeline.
    Html,
}

impl ReportFormat {
    /// The format a path's name asks for.
    ///
    /// # Errors
    /// A name that ends in neither `.json` nor `.trace.json`.
    pub fn of(path: &Path) -> std::result::Result<ReportFormat, String> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".trace.json") {
            Ok(ReportFormat::Trace)
        } else if name.ends_with(".json") {
            Ok(ReportFormat::Json)
        } else if name.ends_with(".html") {
            Ok(ReportFormat::Html)
        } else {
            Err(format!("`{}`: a report file ends in .json, .trace.json or .html", path.display()))
        }
    }
}

/// One action of the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRun {
    /// Its number in the program (0 for the first).
    pub number: u64,
    /// The action (`AggregateByKey`).
    pub action: String,
    /// The stages (`byte_lines(data/) -> try_key_by`).
    pub pipeline: String,
    /// Input files, splits and bytes planned (items for in-memory sources).
    pub files: u64,
    /// See `files`.
    pub splits: u64,
    /// See `files`.
    pub bytes: u64,
    /// Records the splits gave the action.
    pub records_out: u64,
    /// Records rejected by a malformed-record policy.
    pub rejected: u64,
    /// Input files whose kept partial (`--state`) was reused.
    pub files_reused: u64,
    /// Start and end, in microseconds since the Unix epoch.
    pub start_us: u64,
    /// See `start_us`.
    pub end_us: u64,
}

/// The whole run, as `FILE.json` holds it.
#[derive(Debug, Clone)]
pub(crate) struct RunReport {
    pub(crate) program: String,
    pub(crate) arguments: Vec<String>,
    pub(crate) pid: u32,
    pub(crate) start: String,
    pub(crate) end: String,
    pub(crate) start_us: u64,
    pub(crate) end_us: u64,
    pub(crate) seconds: f64,
    pub(crate) outcome: String,
    pub(crate) exit_code: u8,
    pub(crate) error: Option<String>,
    pub(crate) threads: usize,
    pub(crate) processes: usize,
    pub(crate) counters: BTreeMap<String, u64>,
    pub(crate) user_counters: BTreeMap<String, u64>,
    pub(crate) actions: Vec<ActionRun>,
    pub(crate) splits: Vec<SplitRun>,
}

/// The counters the framework itself keeps in a [`Report`].
const SHOAL_PREFIX: &str = "shoal.";

impl RunReport {
    /// The report of a run from its parts. `actions` and `splits` in any
    /// order: they are sorted by action, then split, then attempt.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        start_us: u64,
        end_us: u64,
        status: u8,
        outcome: &str,
        error: Option<String>,
        job: &Report,
        mut actions: Vec<ActionRun>,
        mut splits: Vec<SplitRun>,
        threads: usize,
        processes: usize,
    ) -> RunReport {
        actions.sort_by_key(|a| a.number);
        splits.sort_by_key(|s| (s.action, s.split, s.attempt, s.start_us));
        let mut counters = BTreeMap::new();
        let mut user_counters = BTreeMap::new();
        for (name, n) in &job.counters {
            match name.strip_prefix(SHOAL_PREFIX) {
                Some(ours) => counters.insert(ours.to_string(), *n),
                None => user_counters.insert(name.clone(), *n),
            };
        }
        let quarantined: u64 = job.rejects.quarantine.values().map(|v| v.len() as u64).sum();
        for (name, n) in [
            ("actions", actions.len() as u64),
            ("files", actions.iter().map(|a| a.files).sum()),
            ("splits", actions.iter().map(|a| a.splits).sum()),
            ("bytes", actions.iter().map(|a| a.bytes).sum()),
            ("records_read", job.records_read),
            ("records_out", actions.iter().map(|a| a.records_out).sum()),
            ("malformed", job.rejects.count),
            ("skipped", job.rejects.count.saturating_sub(quarantined)),
            ("quarantined", quarantined),
            ("split_attempts", splits.len() as u64),
            ("files_reused", actions.iter().map(|a| a.files_reused).sum()),
        ] {
            counters.insert(name.to_string(), n);
        }
        counters.entry("split_retries".into()).or_insert(0);
        counters.entry("worker_restarts".into()).or_insert(0);
        counters.entry("splits_skipped".into()).or_insert(0);
        let mut args = std::env::args();
        let program = args.next().unwrap_or_default();
        RunReport {
            program,
            arguments: args.collect(),
            pid: std::process::id(),
            start: rfc3339(start_us),
            end: rfc3339(end_us),
            start_us,
            end_us,
            seconds: end_us.saturating_sub(start_us) as f64 / 1e6,
            outcome: outcome.to_string(),
            exit_code: status,
            error,
            threads,
            processes,
            counters,
            user_counters,
            actions,
            splits,
        }
    }

    /// Sets how many of the malformed records went to quarantine files (the
    /// rest were skipped): the job's report gives its quarantined records
    /// to the files as each action ends.
    pub(crate) fn set_quarantined(&mut self, n: u64) {
        let malformed = self.counters.get("malformed").copied().unwrap_or(0);
        self.counters.insert("quarantined".into(), n);
        self.counters.insert("skipped".into(), malformed.saturating_sub(n));
    }

    /// The report as `FILE.json` holds it.
    pub(crate) fn json(&self) -> String {
        json::to_string(self)
    }

    /// Chrome Trace Event JSON: one complete event (`"ph": "X"`) per split
    /// attempt, on the track of its process (`pid`) and thread (`tid`),
    /// with names for both.
    pub(crate) fn trace(&self) -> String {
        let mut out = String::with_capacity(256 * (self.splits.len() + 8));
        out.push_str("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
        let mut lanes = std::collections::BTreeSet::new();
        for (i, s) in self.splits.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            lanes.insert((s.process, s.thread));
            let file = s.file.as_deref().unwrap_or("items");
            let name = match s.outcome {
                Outcome::Ok => format!("split {} {file}", s.split),
                Outcome::Failed => format!("split {} {file} (failed)", s.split),
                Outcome::Lost => format!("split {} {file} (lost, attempt {})", s.split, s.attempt),
            };
            Object::new(&mut out)
                .field("name", &name)
                .field("cat", &format!("action {}", s.action))
                .field("ph", "X")
                .field("ts", &s.start_us)
                .field("dur", &s.end_us.saturating_sub(s.start_us).max(1))
                .field("pid", &s.process)
                .field("tid", &s.thread)
                .field("args", s)
                .end();
        }
        let mut named = std::collections::BTreeSet::new();
        for (pid, tid) in &lanes {
            if named.insert(*pid) {
                let label = if *pid == self.pid { "leader".to_string() } else { format!("worker {pid}") };
                out.push(',');
                let mut args = String::new();
                Object::new(&mut args).field("name", &label).end();
                Object::new(&mut out).field("name", "process_name").field("ph", "M").field("pid", pid);
                out.push_str(",\"args\":");
                out.push_str(&args);
                out.push('}');
            }
            out.push(',');
            let mut args = String::new();
            Object::new(&mut args).field("name", &format!("thread {tid}")).end();
            Object::new(&mut out).field("name", "thread_name").field("ph", "M").field("pid", pid).field("tid", tid);
            out.push_str(",\"args\":");
            out.push_str(&args);
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

impl ToJson for Outcome {
    fn json(&self, out: &mut String) {
        let word = match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Lost => "lost",
        };
        json::string(word, out);
    }
}

impl ToJson for SplitRun {
    fn json(&self, out: &mut String) {
        Object::new(out)
            .field("action", &self.action)
            .field("split", &self.split)
            .field("file", &self.file)
            .field("start_offset", &self.start_offset)
            .field("end_offset", &self.end_offset)
            .field("process", &self.process)
            .field("thread", &self.thread)
            .field("start_us", &self.start_us)
            .field("end_us", &self.end_us)
            .field("bytes", &self.bytes)
            .field("records", &self.records)
            .field("attempt", &self.attempt)
            .field("outcome", &self.outcome)
            .end();
    }
}

impl ToJson for ActionRun {
    fn json(&self, out: &mut String) {
        Object::new(out)
            .field("number", &self.number)
            .field("action", &self.action)
            .field("pipeline", &self.pipeline)
            .field("files", &self.files)
            .field("splits", &self.splits)
            .field("bytes", &self.bytes)
            .field("records_out", &self.records_out)
            .field("rejected", &self.rejected)
            .field("files_reused", &self.files_reused)
            .field("start_us", &self.start_us)
            .field("end_us", &self.end_us)
            .end();
    }
}

impl ToJson for RunReport {
    fn json(&self, out: &mut String) {
        Object::new(out)
            .field("program", &self.program)
            .field("arguments", &self.arguments)
            .field("pid", &self.pid)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("start_us", &self.start_us)
            .field("end_us", &self.end_us)
            .field("seconds", &self.seconds)
            .field("outcome", &self.outcome)
            .field("exit_code", &self.exit_code)
            .field("error", &self.error)
            .field("threads", &self.threads)
            .field("processes", &self.processes)
            .field("counters", &self.counters)
            .field("user_counters", &self.user_counters)
            .field("actions", &self.actions)
            .field("splits", &self.splits)
            .end();
        out.push('\n');
    }
}

/// `2026-12-04T21:00:00.123456Z`.
fn rfc3339(us: u64) -> String {
    match jiff::Timestamp::from_microsecond(us as i64) {
        Ok(t) => t.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(action: u64, split: usize, attempt: u32, outcome: Outcome) -> SplitRun {
        SplitRun {
            action,
            split,
            file: Some("data/a.txt".into()),
            start_offset: 0,
            end_offset: 10,
            process: 7,
            thread: 1,
            start_us: 1_000 + split as u64,
            end_us: 2_000,
            bytes: 10,
            records: 3,
            attempt,
            outcome,
        }
    }

    #[test]
    fn the_report_sorts_splits_and_separates_user_counters() {
        let mut job = Report::default();
        job.counters.insert("shoal.split_retries".into(), 1);
        job.counters.insert("mine".into(), 5);
        job.records_read = 9;
        let splits = vec![split(0, 1, 1, Outcome::Ok), split(0, 0, 2, Outcome::Ok), split(0, 0, 1, Outcome::Lost)];
        let action = ActionRun { files: 1, splits: 2, bytes: 20, records_out: 6, ..ActionRun::default() };
        let r = RunReport::new(0, 1_500_000, 0, "success", None, &job, vec![action], splits, 2, 1);
        assert_eq!(r.user_counters, BTreeMap::from([("mine".to_string(), 5)]));
        assert_eq!(r.counters["split_retries"], 1);
        assert_eq!(r.counters["records_out"], 6);
        assert_eq!(r.counters["split_attempts"], 3);
        let order: Vec<_> = r.splits.iter().map(|s| (s.split, s.attempt)).collect();
        assert_eq!(order, [(0, 1), (0, 2), (1, 1)]);
        assert_eq!(r.start, "1970-01-01T00:00:00Z");
        assert_eq!(r.seconds, 1.5);
        let trace = r.trace();
        assert_eq!(trace.matches(r#""ph":"X""#).count(), 3);
        assert!(trace.contains(r#""name":"split 0 data/a.txt (lost, attempt 1)""#), "{trace}");
        assert!(trace.contains(r#"{"name":"thread_name","ph":"M","pid":7,"tid":1,"args":{"name":"thread 1"}}"#));
        let text = json::to_string(&r);
        assert!(text.contains(r#""counters":{"actions":1,"#), "{text}");
    }

    #[test]
    fn report_formats_come_from_the_name() {
        assert_eq!(ReportFormat::of(Path::new("r.json")), Ok(ReportFormat::Json));
        assert_eq!(ReportFormat::of(Path::new("out/r.trace.json")), Ok(ReportFormat::Trace));
        assert_eq!(ReportFormat::of(Path::new("r.html")), Ok(ReportFormat::Html));
        assert!(ReportFormat::of(Path::new("r.txt")).is_err());
    }
}
