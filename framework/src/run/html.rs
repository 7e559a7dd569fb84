//! `--report FILE.html`: the run report as one self-contained page (no
//! network access needed): a task timeline (one lane per process and thread,
//! one bar per split attempt, coloured by file, lost and failed attempts
//! marked), a throughput chart, utilisation, the straggler ratio, the
//! actions and the counters.
//!
//! The charts are SVG drawn here, so the page shows everything without
//! scripts; a few lines of script only add highlighting on hover.

use super::report::RunReport;
use crate::attempt::{Outcome, SplitRun};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Width of the drawing area of the charts, in SVG units.
const WIDTH: f64 = 1000.0;
/// Height of one timeline lane.
const LANE: f64 = 18.0;
/// Left margin for the lane names.
const LEFT: f64 = 130.0;
/// Time buckets of the throughput chart.
const BUCKETS: usize = 100;

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Figures derived from the split attempts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figures {
    /// Busy thread time over threads × wall time, 0 to 1.
    pub(crate) utilisation: f64,
    /// The slowest merged split's time over the median's (1 when even).
    pub(crate) straggler_ratio: f64,
    /// Wall time of the run, in seconds.
    pub(crate) wall_seconds: f64,
}

pub(crate) fn figures(report: &RunReport, start_us: u64, end_us: u64) -> Figures {
    let wall = end_us.saturating_sub(start_us).max(1) as f64;
    let busy: u64 = report.splits.iter().map(|s| s.end_us.saturating_sub(s.start_us)).sum();
    let threads = (report.threads * report.processes.max(1)).max(1) as f64;
    let mut times: Vec<u64> =
        report.splits.iter().filter(|s| s.outcome == Outcome::Ok).map(|s| s.end_us - s.start_us).collect();
    times.sort_unstable();
    let straggler_ratio = match (times.get(times.len() / 2), times.last()) {
        (Some(&median), Some(&slowest)) if median > 0 => slowest as f64 / median as f64,
        _ => 1.0,
    };
    Figures { utilisation: (busy as f64 / (threads * wall)).min(1.0), straggler_ratio, wall_seconds: wall / 1e6 }
}

/// A colour per file, spread around the hue circle.
fn colours(splits: &[SplitRun]) -> BTreeMap<&str, String> {
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    for s in splits {
        files.entry(s.file.as_deref().unwrap_or("items")).or_default();
    }
    let n = files.len().max(1);
    for (i, colour) in files.values_mut().enumerate() {
        // The golden angle keeps neighbours apart even with many files.
        let hue = (i as f64 * 137.508) % 360.0;
        *colour = format!("hsl({hue:.0},{}%,55%)", if n == 1 { 45 } else { 60 });
    }
    files
}

/// The page.
pub(crate) fn page(report: &RunReport, start_us: u64, end_us: u64) -> String {
    let fig = figures(report, start_us, end_us);
    let mut out = String::with_capacity(4096 + 300 * report.splits.len());
    let title = format!("{} — shoal run report", report.program.rsplit('/').next().unwrap_or(&report.program));
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>{STYLE}</style></head>\n<body>\n",
        esc(&title)
    );
    let _ = write!(
        out,
        "<h1>{}</h1>\n<p class=\"outcome {}\">{} · exit status {} · {} → {} · {:.3} s</p>\n",
        esc(&report.program),
        esc(&report.outcome),
        esc(&report.outcome),
        report.exit_code,
        esc(&report.start),
        esc(&report.end),
        fig.wall_seconds
    );
    if let Some(error) = &report.error {
        let _ = writeln!(out, "<pre class=\"error\">{}</pre>", esc(error));
    }
    let _ = writeln!(out, "<p class=\"args\"><code>{}</code></p>", esc(&report.arguments.join(" ")));
    let _ = writeln!(
        out,
        "<div class=\"cards\"><div><b id=\"utilisation\">{:.0}%</b>utilisation (busy thread time over {} thread(s) × wall time)</div>\
         <div><b id=\"straggler\">{:.2}</b>straggler ratio (slowest split over the median)</div>\
         <div><b>{}</b>split attempts</div><div><b>{}</b>records given to actions</div></div>",
        fig.utilisation * 100.0,
        report.threads * report.processes.max(1),
        fig.straggler_ratio,
        report.splits.len(),
        report.counters.get("records_out").copied().unwrap_or(0),
    );
    out.push_str("<h2>Task timeline</h2>\n");
    timeline(&mut out, report, start_us, end_us);
    out.push_str("<h2>Throughput</h2>\n");
    throughput(&mut out, report, start_us, end_us);
    out.push_str("<h2>Actions</h2>\n<table><tr><th>#</th><th>action</th><th>pipeline</th><th>files</th><th>splits</th><th>bytes</th><th>records out</th><th>rejected</th><th>seconds</th></tr>\n");
    for a in &report.actions {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td></tr>",
            a.number,
            esc(&a.action),
            esc(&a.pipeline),
            a.files,
            a.splits,
            a.bytes,
            a.records_out,
            a.rejected,
            a.end_us.saturating_sub(a.start_us) as f64 / 1e6
        );
    }
    out.push_str("</table>\n<h2>Counters</h2>\n<table>\n");
    for (name, n) in &report.counters {
        let _ = writeln!(out, "<tr><td>{}</td><td>{n}</td></tr>", esc(name));
    }
    for (name, n) in &report.user_counters {
        let _ = writeln!(out, "<tr><td>{} <small>(program)</small></td><td>{n}</td></tr>", esc(name));
    }
    out.push_str("</table>\n");
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

/// One lane per (process, thread), the leader's first; one bar per attempt.
fn timeline(out: &mut String, report: &RunReport, start_us: u64, end_us: u64) {
    let mut lanes: Vec<(u32, usize)> = report.splits.iter().map(|s| (s.process, s.thread)).collect();
    lanes.sort_by_key(|&(p, t)| (p != report.pid, p, t));
    lanes.dedup();
    let span = end_us.saturating_sub(start_us).max(1) as f64;
    let x = |us: u64| LEFT + (us.saturating_sub(start_us) as f64 / span) * WIDTH;
    let height = LANE * lanes.len().max(1) as f64 + 24.0;
    let _ = writeln!(
        out,
        "<svg id=\"timeline\" viewBox=\"0 0 {} {height}\" width=\"100%\" role=\"img\" aria-label=\"task timeline\">",
        LEFT + WIDTH + 10.0
    );
    for (i, (pid, tid)) in lanes.iter().enumerate() {
        let who = if *pid == report.pid { "leader".to_string() } else { format!("worker {pid}") };
        let y = i as f64 * LANE;
        let _ = writeln!(
            out,
            "<text x=\"4\" y=\"{:.1}\" class=\"lane\">{} · thread {tid}</text><line x1=\"{LEFT}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"grid\"/>",
            y + LANE * 0.7,
            esc(&who),
            LEFT + WIDTH,
            y + LANE,
            y + LANE
        );
    }
    let colours = colours(&report.splits);
    for s in &report.splits {
        let lane = lanes.iter().position(|l| *l == (s.process, s.thread)).unwrap_or(0);
        let (x0, x1) = (x(s.start_us), x(s.end_us));
        let file = s.file.as_deref().unwrap_or("items");
        let fill = colours.get(file).map_or("#888", String::as_str);
        let class = match s.outcome {
            Outcome::Ok => "bar",
            Outcome::Failed => "bar failed",
            Outcome::Lost => "bar lost",
        };
        let _ = writeln!(
            out,
            "<rect class=\"{class}\" data-split=\"{}\" x=\"{x0:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{fill}\"><title>action {} split {} · {} bytes {}..{} · {:.1} ms · {} records · attempt {} ({})</title></rect>",
            s.split,
            lane as f64 * LANE + 2.0,
            (x1 - x0).max(0.6),
            LANE - 4.0,
            s.action,
            s.split,
            esc(file),
            s.start_offset,
            s.end_offset,
            s.end_us.saturating_sub(s.start_us) as f64 / 1e3,
            s.records,
            s.attempt,
            match s.outcome {
                Outcome::Ok => "merged",
                Outcome::Failed => "failed",
                Outcome::Lost => "worker lost",
            }
        );
    }
    axis(out, LANE * lanes.len().max(1) as f64 + 16.0, span);
    out.push_str("</svg>\n<p class=\"legend\">");
    for (file, colour) in &colours {
        let _ = write!(out, "<span><i style=\"background:{colour}\"></i>{}</span> ", esc(file));
    }
    out.push_str("<span><i class=\"lost\"></i>worker lost (the split ran again)</span></p>\n");
}

/// Seconds along the bottom of a chart.
fn axis(out: &mut String, y: f64, span_us: f64) {
    for i in 0..=4 {
        let frac = f64::from(i) / 4.0;
        let at = frac * span_us;
        let label = if span_us < 2e6 { format!("{:.1} ms", at / 1e3) } else { format!("{:.2} s", at / 1e6) };
        let _ = write!(out, "<text x=\"{:.1}\" y=\"{y:.1}\" class=\"tick\">{label}</text>", LEFT + frac * WIDTH - 10.0);
    }
}

/// Input bytes per second over the run: each merged split's bytes spread
/// evenly over its time.
fn throughput(out: &mut String, report: &RunReport, start_us: u64, end_us: u64) {
    let span = end_us.saturating_sub(start_us).max(1) as f64;
    let bucket = span / BUCKETS as f64;
    let mut bytes = [0f64; BUCKETS];
    for s in report.splits.iter().filter(|s| s.outcome == Outcome::Ok) {
        let (a, b) = (s.start_us.saturating_sub(start_us) as f64, s.end_us.saturating_sub(start_us) as f64);
        let dur = (b - a).max(1.0);
        for (i, slot) in bytes.iter_mut().enumerate() {
            let (lo, hi) = (i as f64 * bucket, (i + 1) as f64 * bucket);
            let overlap = (hi.min(b) - lo.max(a)).max(0.0);
            *slot += s.bytes as f64 * overlap / dur;
        }
    }
    let rate: Vec<f64> = bytes.iter().map(|b| b / (bucket / 1e6)).collect();
    let top = rate.iter().copied().fold(0.0, f64::max).max(1.0);
    let height = 120.0;
    let _ = writeln!(
        out,
        "<svg id=\"throughput\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" aria-label=\"throughput\">",
        LEFT + WIDTH + 10.0,
        height + 24.0
    );
    let mut points = format!("{LEFT},{height} ");
    for (i, r) in rate.iter().enumerate() {
        let x = LEFT + (i as f64 + 0.5) / BUCKETS as f64 * WIDTH;
        let _ = write!(points, "{x:.1},{:.1} ", height - r / top * (height - 10.0));
    }
    let _ = write!(points, "{},{height}", LEFT + WIDTH);
    let _ = writeln!(
        out,
        "<polygon class=\"rate\" points=\"{points}\"/><text x=\"4\" y=\"14\" class=\"lane\">{:.1} MB/s peak</text>",
        top / 1e6
    );
    axis(out, height + 16.0, span);
    out.push_str("</svg>\n");
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px;margin:0}\
h2{font-size:16px;margin:24px 0 8px}.outcome{font-weight:600}.outcome.success{color:#1a7f37}.outcome.failed,.outcome.locked{color:#c62828}\
.outcome.incomplete,.outcome.interrupted{color:#b26a00}.args code{background:#f3f3f3;padding:2px 4px}pre.error{background:#fff0f0;padding:8px}\
.cards{display:flex;gap:16px;flex-wrap:wrap}.cards div{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:160px}\
.cards b{display:block;font-size:22px}svg text{font-size:11px;fill:#555}.grid{stroke:#eee}.bar{stroke:#fff;stroke-width:.5}\
.bar.lost{fill:#fff;stroke:#c62828;stroke-width:1.5;stroke-dasharray:3 2}.bar.failed{fill:#c62828}.bar.hot{stroke:#000;stroke-width:1.5}\
.rate{fill:#9ecae1;stroke:#3182bd}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}\
.legend span{margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}\
.legend i.lost{border:1.5px dashed #c62828}";

/// Highlights every attempt of the split under the pointer, then marks the
/// page ready (the browser test reads the mark).
const SCRIPT: &str = "document.querySelectorAll('#timeline .bar').forEach(function(bar){\
bar.addEventListener('mouseenter',function(){document.querySelectorAll('#timeline .bar[data-split=\"'+bar.dataset.split+'\"]')\
.forEach(function(b){b.classList.add('hot');});});bar.addEventListener('mouseleave',function(){\
document.querySelectorAll('#timeline .hot').forEach(function(b){b.classList.remove('hot');});});});\
document.body.dataset.ready='1';";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;

    fn attempt(split: usize, thread: usize, start: u64, end: u64, outcome: Outcome) -> SplitRun {
        SplitRun {
            action: 0,
            split,
            file: Some(format!("in/{}.csv", split % 2)),
            start_offset: 0,
            end_offset: 100,
            process: 9,
            thread,
            start_us: start,
            end_us: end,
            bytes: 100,
            records: 10,
            attempt: 1,
            outcome,
        }
    }

    #[test]
    fn the_page_has_one_bar_per_attempt_and_the_figures() {
        let splits = vec![
            attempt(0, 0, 0, 400_000, Outcome::Ok),
            attempt(1, 1, 0, 100_000, Outcome::Ok),
            attempt(2, 1, 100_000, 200_000, Outcome::Ok),
            attempt(3, 1, 200_000, 250_000, Outcome::Lost),
        ];
        let r = RunReport::new(0, 500_000, 0, "success", None, &Report::default(), vec![], splits, 2, 1);
        let fig = figures(&r, 0, 500_000);
        assert!((fig.utilisation - 0.65).abs() < 1e-9, "650 ms busy over 2 threads × 500 ms: {fig:?}");
        assert!((fig.straggler_ratio - 4.0).abs() < 1e-9, "slowest 400 ms over the median 100 ms: {fig:?}");
        let page = page(&r, 0, 500_000);
        assert_eq!(page.matches("<rect class=\"bar").count(), 4);
        assert_eq!(page.matches("class=\"bar lost\"").count(), 1);
        assert!(page.contains("<b id=\"utilisation\">65%</b>"));
        assert!(!page.contains("http"), "self-contained: no links to fetch");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
