//! Lines of text files: `&str` ([`Lines`]) or `&[u8]` ([`ByteLines`]).

use crate::error::{Error, ErrorKind, Result};
use crate::job::Job;
use crate::plan::{FileKind, InputFile, Inputs, Part, Plan};
use crate::plumbing::{Consumer, FileSource, ReadOptions, Source};
use crate::read::bounded::{Piece, for_each_piece};
use crate::read::lines::{for_each_line, for_each_str_line};
use crate::read::{line_number_at, stream};
use std::fmt;

/// How a line's bytes become an item. Sealed: [`Utf8`] or [`Raw`].
pub trait LineDecoder: Send + Sync + 'static + private::Sealed {
    /// The item borrowed from a split's bytes.
    type Item<'a>;

    /// Pushes every line of `region` (file bytes starting at absolute offset
    /// `base`, starting at a line start) into `consumer`.
    #[doc(hidden)]
    fn push_region<C>(region: &[u8], base: u64, input: &InputFile, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>;

    /// The `Job` method that builds this source, for `--explain`.
    #[doc(hidden)]
    const METHOD: &'static str;

    /// Pushes one line read from a stream.
    #[doc(hidden)]
    fn push_line<C>(line: &[u8], consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>;
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Utf8 {}
    impl Sealed for super::Raw {}
}

/// Lines as `&str`; a line that is not UTF-8 is an error naming it.
#[derive(Debug, Clone, Copy)]
pub struct Utf8;

/// Lines as `&[u8]`, unchecked.
#[derive(Debug, Clone, Copy)]
pub struct Raw;

/// Attaches the file, offset and line number of the record at `offset`.
fn locate(err: Error, input: &InputFile, offset: u64) -> Error {
    if err.has_location() {
        return err;
    }
    let line = line_number_at(input.read_path(), offset);
    let err = err.with_path(&input.path).with_offset(offset);
    match line {
        Some(line) => err.with_line(line),
        None => err,
    }
}

impl LineDecoder for Utf8 {
    type Item<'a> = &'a str;
    const METHOD: &'static str = "lines";

    #[inline]
    fn push_region<C>(region: &[u8], base: u64, input: &InputFile, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<&'a str>,
    {
        // One validation for the whole region is much faster than one per line.
        let text = match std::str::from_utf8(region) {
            Ok(text) => text,
            Err(e) => {
                let bad = e.valid_up_to();
                let line_start = memchr::memrchr(b'\n', &region[..bad]).map_or(0, |i| i + 1);
                let err = Error::new(ErrorKind::InvalidInput, "line is not valid UTF-8");
                return Err(locate(err, input, base + line_start as u64));
            }
        };
        for_each_str_line(text, |pos, line| consumer.push(line).map_err(|e| locate(e, input, base + pos as u64)))
    }

    #[inline]
    fn push_line<C>(line: &[u8], consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<&'a str>,
    {
        match std::str::from_utf8(line) {
            Ok(text) => consumer.push(text),
            Err(_) => Err(Error::new(ErrorKind::InvalidInput, "line is not valid UTF-8")),
        }
    }
}

impl LineDecoder for Raw {
    type Item<'a> = &'a [u8];
    const METHOD: &'static str = "byte_lines";

    #[inline]
    fn push_region<C>(region: &[u8], base: u64, input: &InputFile, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<&'a [u8]>,
    {
        for_each_line(
            region,
            #[inline(always)]
            |pos, line| consumer.push(line).map_err(|e| locate(e, input, base + pos as u64)),
        )
    }

    #[inline]
    fn push_line<C>(line: &[u8], consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<&'a [u8]>,
    {
        consumer.push(line)
    }
}

/// A source of lines from files, directories and globs. Built by
/// [`Job::lines`] and [`Job::byte_lines`].
///
/// Framing: LF or CRLF; the terminator is not part of the line; empty lines
/// are items; a last line without terminator is an item; an empty file has
/// none. Every line is read exactly once for every split size.
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct LineSource<'j, D> {
    job: &'j Job,
    options: ReadOptions,
    _decoder: std::marker::PhantomData<D>,
}

/// Lines as `&str`.
pub type Lines<'j> = LineSource<'j, Utf8>;
/// Lines as `&[u8]`.
pub type ByteLines<'j> = LineSource<'j, Raw>;

impl<'j, D> LineSource<'j, D> {
    pub(crate) fn new(job: &'j Job, inputs: Inputs) -> Self {
        LineSource { job, options: ReadOptions::new(inputs), _decoder: std::marker::PhantomData }
    }

    /// The longest line this source accepts (`--max-record-size`, or the
    /// source's own [`max_record_size`](FileSource::max_record_size)): a
    /// longer line is an error naming its file, line and byte offset.
    fn max_record(&self) -> u64 {
        self.options.max_record_size(self.job)
    }

    /// The inputs of this source.
    pub fn inputs(&self) -> &Inputs {
        self.options.inputs()
    }
}

/// `include`, `exclude`, `split_size`, `max_record_size`, ...
impl<D> FileSource for LineSource<'_, D> {
    fn read_options(&mut self) -> &mut ReadOptions {
        &mut self.options
    }
}

impl<D> fmt::Debug for LineSource<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineSource").field("options", &self.options).finish()
    }
}

impl<D: LineDecoder> LineSource<'_, D> {
    fn drive_mapped<C>(&self, input: &InputFile, part: &Part, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<D::Item<'a>>,
    {
        for_each_piece(input, part, self.job.config().mmap(), self.max_record(), |piece| match piece {
            Piece::Lines { region, base } => D::push_region(region, base, input, consumer),
            Piece::TooLong(long) => Err(long.into_error(input)),
        })
    }

    fn drive_stream<C>(&self, input: &InputFile, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<D::Item<'a>>,
    {
        stream::for_each_streamed(input, self.max_record(), |offset, line_no, record| match record {
            stream::Record::Line(line) => D::push_line(line, consumer).map_err(|e| {
                if e.has_location() { e } else { e.with_path(&input.path).with_offset(offset).with_line(line_no) }
            }),
            stream::Record::TooLong(long) => Err(long.into_error(input)),
        })
    }
}

impl<D: LineDecoder> Source for LineSource<'_, D> {
    type Item<'a> = D::Item<'a>;

    fn job(&self) -> &Job {
        self.job
    }

    fn plan(&self) -> Result<Plan> {
        self.options.plan(self.job)
    }

    fn describe(&self, stages: &mut Vec<String>) {
        stages.push(format!("{}({})", D::METHOD, self.inputs().paths().join(", ")));
    }

    fn drive<C>(&self, plan: &Plan, split: &crate::plan::Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<D::Item<'a>>,
    {
        // Lines read, for the report's `records_read` (one add per line, in
        // a register; told once per split).
        let mut counted = Counting { inner: consumer, lines: 0 };
        let outcome = self.drive_parts(plan, split, &mut counted);
        crate::report::records_read(counted.lines);
        outcome
    }
}

/// A consumer that counts what passes through it.
struct Counting<'c, C> {
    inner: &'c mut C,
    lines: u64,
}

impl<T, C: Consumer<T>> Consumer<T> for Counting<'_, C> {
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        self.lines += 1;
        self.inner.push(item)
    }
}

impl<D: LineDecoder> LineSource<'_, D> {
    fn drive_parts<C>(&self, plan: &Plan, split: &crate::plan::Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<D::Item<'a>>,
    {
        for part in &split.parts {
            let input = &plan.files[part.file];
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
