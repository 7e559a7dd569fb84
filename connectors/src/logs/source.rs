//! [`LogSource`]: the one driver behind every line format of this crate.
//!
//! It plans like [`shoal::source::LineSource`] (plain files are cut into
//! memory-mapped byte-range splits; each `.gz`/`.zst` file, pipe and standard
//! input is one streamed split), frames lines with [`shoal::read::lines`] (LF
//! or CRLF, the Hadoop rule at split edges), checks UTF-8, and hands each line
//! to a [`LineParser`]. A line that is not UTF-8 or that the parser rejects
//! goes to the source's [`OnMalformed`] policy, never to a panic.

use super::parser::LineParser;
use crate::lines::{LineStarts, RegionLines};
use shoal::plumbing::line_number_at;
use shoal::plumbing::read::bounded::{Piece, for_each_piece};
use shoal::plumbing::read::lines::for_each_str_line;
use shoal::plumbing::read::stream;
use shoal::plumbing::{Consumer, FileSource, ReadOptions, Source};
use shoal::plumbing::{FileKind, InputFile, Inputs, Part, Plan, Split};
use shoal::{Error, ErrorKind, Job, OnMalformed, Rejected, Result};
use std::fmt;

/// The reason given for a line that is not UTF-8.
pub const NOT_UTF8: &str = "line is not valid UTF-8";

/// Records parsed from the lines of files, directories, globs or standard
/// input (`-`), by a [`LineParser`].
///
/// Built by the methods of [`LogsExt`](super::LogsExt) (`job.access_log(..)`,
/// `job.syslog(..)`, ...). Options:
///
/// * [`on_malformed`](Self::on_malformed): what to do with a line that does
///   not parse or is not UTF-8 (default: fail, naming file, line and byte);
/// * the [`FileSource`] methods shared by every file source:
///   [`include`](FileSource::include), [`exclude`](FileSource::exclude),
///   [`hidden`](FileSource::hidden), [`follow_links`](FileSource::follow_links)
///   (how directories are walked), [`split_size`](FileSource::split_size)
///   and [`max_record_size`](FileSource::max_record_size) (the longest line
///   accepted; a longer one goes to the policy with only its first bytes,
///   `TOO_LONG_PREFIX`, kept).
///
/// Items are the parser's records; they borrow from the split's bytes.
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct LogSource<'j, P> {
    job: &'j Job,
    options: ReadOptions,
    parser: P,
    on_malformed: OnMalformed,
    /// Line numbers found for rejects, shared by the splits.
    lines: LineStarts,
}

impl<'j, P: LineParser> LogSource<'j, P> {
    /// A source reading `inputs` with `parser`, failing on malformed lines.
    pub fn new(job: &'j Job, inputs: Inputs, parser: P) -> Self {
        LogSource {
            job,
            options: ReadOptions::new(inputs),
            parser,
            on_malformed: OnMalformed::Fail,
            lines: LineStarts::default(),
        }
    }

    /// What to do with malformed lines (default [`OnMalformed::Fail`]).
    /// Skipped and quarantined lines are counted in
    /// [`Job::report`]`().rejects`.
    pub fn on_malformed(mut self, policy: OnMalformed) -> Self {
        self.on_malformed = policy;
        self
    }

    fn max_record(&self) -> u64 {
        self.options.max_record_size(self.job)
    }

    /// The inputs.
    pub fn inputs(&self) -> &Inputs {
        self.options.inputs()
    }

    /// The parser.
    pub fn parser(&self) -> &P {
        &self.parser
    }

    /// Parses one line and pushes its record, or applies the policy.
    /// `lines` knows the line number (streams) or finds it when the line is
    /// rejected (mapped regions).
    #[inline]
    fn line<C>(
        &self,
        input: &InputFile,
        offset: u64,
        lines: &mut RegionLines<'_>,
        line: &str,
        consumer: &mut C,
    ) -> Result<()>
    where
        C: for<'a> Consumer<P::Record<'a>>,
    {
        match self.parser.parse(line) {
            Ok(Some(record)) => match consumer.push(record) {
                Ok(()) => Ok(()),
                // A stage rejected the record (`shoal::Error::malformed`): the
                // policy decides, as for lines that do not parse.
                Err(e) if e.is_malformed() => self.reject(input, offset, lines, e.message(), line.as_bytes()),
                Err(e) => Err(locate(e, input, offset, lines.known())),
            },
            Ok(None) => Ok(()),
            Err(malformed) => self.reject(input, offset, lines, malformed.reason(), line.as_bytes()),
        }
    }

    #[cold]
    fn reject(
        &self,
        input: &InputFile,
        offset: u64,
        lines: &mut RegionLines<'_>,
        why: &str,
        bytes: &[u8],
    ) -> Result<()> {
        // Counted only now, from the split's start (found once per split).
        let line_no = lines.line_of_offset(offset);
        self.on_malformed.handle(Rejected::new(&input.path, line_no, offset, why, bytes))
    }

    /// Pushes the lines of `region`, the file's bytes from absolute offset
    /// `base`, starting at a line start. UTF-8 is checked once for the whole
    /// region; after a failure, the bad line is rejected and the check goes on
    /// from the next line.
    ///
    /// Adds every line handed to the parser (or rejected as not UTF-8) to
    /// `read`, the records-read count of `--max-malformed`.
    fn push_region<C>(
        &self,
        region: &[u8],
        base: u64,
        input: &InputFile,
        consumer: &mut C,
        read: &mut u64,
    ) -> Result<()>
    where
        C: for<'a> Consumer<P::Record<'a>>,
    {
        let mut lines = RegionLines::new(input.read_path(), region, base, &self.lines);
        let mut done = 0usize;
        while done < region.len() {
            let rest = &region[done..];
            let at = |pos: usize| base + (done + pos) as u64;
            // SIMD validation: several times faster than `std` on log text.
            let bad = match simdutf8::compat::from_utf8(rest) {
                Ok(text) => {
                    return for_each_str_line(text, |pos, line| {
                        *read += 1;
                        self.line(input, at(pos), &mut lines, line, consumer)
                    });
                }
                Err(e) => e.valid_up_to(),
            };
            // `rest[..bad]` is valid UTF-8 (that is what `valid_up_to` means),
            // and the lines before the bad one end at a `\n`.
            let line_start = memchr::memrchr(b'\n', &rest[..bad]).map_or(0, |i| i + 1);
            if let Ok(text) = std::str::from_utf8(&rest[..line_start]) {
                for_each_str_line(text, |pos, line| {
                    *read += 1;
                    self.line(input, at(pos), &mut lines, line, consumer)
                })?;
            }
            let line_end = memchr::memchr(b'\n', &rest[bad..]).map_or(rest.len(), |i| bad + i);
            let line = &rest[line_start..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            *read += 1;
            self.reject(input, at(line_start), &mut lines, NOT_UTF8, line)?;
            done += line_end + 1;
        }
        Ok(())
    }

    fn drive_mapped<C>(&self, input: &InputFile, part: &Part, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<P::Record<'a>>,
    {
        let mut read = 0;
        let outcome = for_each_piece(input, part, self.job.config().mmap(), self.max_record(), |piece| match piece {
            Piece::Lines { region, base } => self.push_region(region, base, input, consumer, &mut read),
            Piece::TooLong(long) => {
                read += 1;
                let mut lines = RegionLines::new(input.read_path(), &[], long.offset, &self.lines);
                if let Some(line) = long.line {
                    lines.set_known(line);
                }
                self.reject(input, long.offset, &mut lines, &long.reason(), long.prefix)
            }
        });
        shoal::report::records_read(read);
        outcome
    }

    fn drive_stream<C>(&self, input: &InputFile, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<P::Record<'a>>,
    {
        let mut read = 0u64;
        // Streams know every line number.
        let mut lines = RegionLines::new(input.read_path(), &[], 0, &self.lines);
        let outcome = stream::for_each_streamed(input, self.max_record(), |offset, line_no, record| {
            read += 1;
            lines.set_known(line_no);
            match record {
                stream::Record::Line(bytes) => match simdutf8::basic::from_utf8(bytes) {
                    Ok(line) => self.line(input, offset, &mut lines, line, consumer),
                    Err(_) => self.reject(input, offset, &mut lines, NOT_UTF8, bytes),
                },
                stream::Record::TooLong(long) => self.reject(input, offset, &mut lines, &long.reason(), long.prefix),
            }
        });
        shoal::report::records_read(read);
        outcome
    }
}

/// Adds the file, offset and line of the record to an error from downstream.
#[cold]
fn locate(err: Error, input: &InputFile, offset: u64, line_no: Option<u64>) -> Error {
    if err.has_location() {
        return err;
    }
    let line_no = line_no.or_else(|| line_number_at(input.read_path(), offset));
    let err = err.with_path(&input.path).with_offset(offset);
    match line_no {
        Some(n) => err.with_line(n),
        None => err,
    }
}

/// `include`, `exclude`, `split_size`, `max_record_size`, ...
impl<P> FileSource for LogSource<'_, P> {
    fn read_options(&mut self) -> &mut ReadOptions {
        &mut self.options
    }
}

impl<P> fmt::Debug for LogSource<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSource")
            .field("parser", &std::any::type_name::<P>())
            .field("options", &self.options)
            .field("on_malformed", &self.on_malformed)
            .finish()
    }
}

impl<P: LineParser> Source for LogSource<'_, P> {
    type Item<'a> = P::Record<'a>;

    fn job(&self) -> &Job {
        self.job
    }

    fn plan(&self) -> Result<Plan> {
        self.on_malformed.prepare(self.job)?;
        self.options.plan(self.job)
    }

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<P::Record<'a>>,
    {
        for part in &split.parts {
            let input = plan.files.get(part.file).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("split names file #{} of a plan of {}", part.file, plan.files.len()),
                )
            })?;
            match input.kind {
                FileKind::Regular => self.drive_mapped(input, part, consumer)?,
                FileKind::Gzip | FileKind::Zstd | FileKind::Special | FileKind::Stdin => {
                    self.drive_stream(input, consumer)?
                }
            }
        }
        Ok(())
    }
}
