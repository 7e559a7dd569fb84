//! Inputs read once, front to back: compressed files, pipes, standard input.
//!
//! Such an input is one split (its bytes cannot be cut without decompressing
//! what comes before). [`open`] reads (and decompresses) it ahead on a
//! thread of its own ([`super::prefetch`]), and [`for_each_record`] frames
//! it into lines as it streams through a reused buffer; the CSV source
//! parses the same reader through a window of its own. Offsets in errors
//! count decompressed bytes; line numbers are exact.

use super::super::plan::{FileKind, InputFile};
use super::blocks::{self, Feed, LineCutter};
use super::bounded::{DEFAULT_MAX_RECORD, TOO_LONG_PREFIX, TooLong};
use super::prefetch::ReadAhead;
pub use super::prefetch::StreamRead;
pub use super::read_error;
use crate::error::{Error, Result};
use crate::run::progress::Counted;
use std::io::{BufReader, Read};

const BUF: usize = 256 << 10;

/// Opens an input for streaming, decompressing by its kind. The input is
/// read (and decompressed) ahead on a thread of its own
/// ([`super::prefetch`]), into a bounded number of buffers: reading and
/// decompressing overlap the caller's parsing.
///
/// # Errors
/// The file cannot be opened, a decoder cannot start, or the read-ahead
/// thread cannot be started.
pub fn open(input: &InputFile) -> Result<Box<dyn StreamRead>> {
    let path = &input.path;
    let source: Box<dyn Read + Send> = if input.kind == FileKind::Stdin {
        Box::new(Counted::new(std::io::stdin()))
    } else {
        // Counted as stored (compressed bytes), for --progress.
        let file = Counted::new(input.open()?);
        match input.kind {
            // A zero-byte compressed file holds nothing (some tools leave them behind).
            _ if input.len == Some(0) => return Ok(Box::new(std::io::empty())),
            FileKind::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, file))),
            FileKind::Zstd => Box::new(
                zstd::stream::read::Decoder::new(file)
                    .map_err(|e| Error::io(path, e).context("cannot start zstd decoding"))?,
            ),
            FileKind::Regular | FileKind::Special | FileKind::Stdin => Box::new(file),
        }
    };
    // A pipe or terminal hands over each read at once; a file or decoder
    // fills whole buffers.
    let reader = match input.kind {
        FileKind::Special | FileKind::Stdin => ReadAhead::eager(source),
        FileKind::Regular | FileKind::Gzip | FileKind::Zstd => ReadAhead::new(source),
    };
    let reader = reader.map_err(|e| Error::io(path, e).context("cannot start the read-ahead thread"))?;
    Ok(Box::new(reader))
}

/// Calls `f(offset, line_number, line)` for every line of `reader`, with the
/// same framing as [`super::lines::for_each_line`]. A read error (such as a
/// truncated gzip member) is an error naming `input` and the offset reached;
/// so is a line longer than [`DEFAULT_MAX_RECORD`] (see [`for_each_record`]
/// for another limit or to skip such lines).
pub fn for_each_line(
    reader: &mut dyn StreamRead,
    input: &InputFile,
    mut f: impl FnMut(u64, u64, &[u8]) -> Result<()>,
) -> Result<()> {
    for_each_record(reader, input, DEFAULT_MAX_RECORD, |offset, line_no, record| match record {
        Record::Line(line) => f(offset, line_no, line),
        Record::TooLong(long) => Err(long.into_error(input)),
    })
}

/// One line of a stream, as [`for_each_record`] hands it out.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A line of at most the limit, terminator dropped.
    Line(&'a [u8]),
    /// A line longer than the limit: only its first bytes were kept.
    TooLong(TooLong<'a>),
}

/// Like [`for_each_line`], with lines longer than `max` bytes (terminator
/// excluded) handed out as [`Record::TooLong`] with a bounded prefix, as
/// soon as they are known to be too long: memory stays bounded by a block
/// ([`blocks::block_size`]) and `max` whatever the input (`/dev/zero`, a file without newlines). When `f`
/// accepts such a record, the rest of its line is read and dropped, and
/// reading goes on with the next line; an error from `f` stops at once.
pub fn for_each_record(
    reader: &mut dyn StreamRead,
    input: &InputFile,
    max: u64,
    mut f: impl FnMut(u64, u64, Record<'_>) -> Result<()>,
) -> Result<()> {
    // Blocks of whole lines, framed in place: faster than taking the
    // stream line by line, and the very blocks that threads share when
    // a stream is parsed on several ([`for_each_streamed`]).
    let mut cutter = LineCutter::new(reader, input, max, blocks::block_size());
    while let Some(block) = cutter.next_block()? {
        for_each_block_record(&block, max, &mut f)?;
        cutter.recycle(block.bytes);
    }
    Ok(())
}

/// Every record of `input`'s stream, as [`for_each_record`] frames them,
/// whatever part this thread plays in it ([`blocks::feed`]): the records of
/// the block it was given; none, when it cuts the stream into blocks for
/// other threads (it hands them over and returns once the stream ended or
/// the blocks are not needed); else every record, reading the stream
/// itself. A source of lines calls this in place of [`open`] and
/// [`for_each_record`] to have its streams parsed on several threads.
///
/// # Errors
/// As [`for_each_record`]; `f`'s first error.
pub fn for_each_streamed(input: &InputFile, max: u64, f: impl FnMut(u64, u64, Record<'_>) -> Result<()>) -> Result<()> {
    match blocks::feed() {
        Some(Feed::Block(block)) => for_each_block_record(&block, max, f),
        Some(Feed::Producer(hand)) => {
            let mut reader = open(input)?;
            LineCutter::new(&mut *reader, input, max, blocks::block_size()).hand_over(&hand, None)
        }
        None => for_each_record(&mut *open(input)?, input, max, f),
    }
}

/// The records of one block of a stream, as [`for_each_record`] frames
/// them over the whole stream (offsets and line numbers of the stream),
/// framed in place: the block holds whole lines, and a line longer than
/// `max` comes cut to `max + 2` bytes as the block's last
/// ([`blocks::LineCutter`]).
///
/// # Errors
/// `f`'s first error.
pub fn for_each_block_record(
    block: &blocks::Block,
    max: u64,
    mut f: impl FnMut(u64, u64, Record<'_>) -> Result<()>,
) -> Result<()> {
    let max = max.max(1);
    let mut line_no = block.start.line;
    super::lines::for_each_line(&block.bytes, |pos, line| {
        let offset = block.start.offset + pos as u64;
        let record = if line.len() as u64 > max {
            let prefix = &line[..line.len().min(TOO_LONG_PREFIX).min(max as usize)];
            Record::TooLong(TooLong { offset, line: Some(line_no), prefix, max })
        } else {
            Record::Line(line)
        };
        let done = f(offset, line_no, record);
        line_no += 1;
        done
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::Write;
    use std::path::PathBuf;

    fn lines_of(input: &InputFile) -> Result<Vec<(u64, u64, String)>> {
        let mut reader = open(input)?;
        let mut out = Vec::new();
        for_each_line(&mut *reader, input, |o, n, l| {
            out.push((o, n, String::from_utf8_lossy(l).into_owned()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn gzip_zstd_and_plain_frame_alike() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"a\r\nbb\n\nlast";
        let plain = dir.path().join("p.log");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("p.log.gz");
        let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        enc.finish().unwrap();
        let zst = dir.path().join("p.log.zst");
        std::fs::write(&zst, zstd::encode_all(&text[..], 1).unwrap()).unwrap();
        let want = vec![(0, 1, "a".into()), (3, 2, "bb".into()), (6, 3, "".into()), (7, 4, "last".into())];
        for (path, kind) in [(plain, FileKind::Special), (gz, FileKind::Gzip), (zst, FileKind::Zstd)] {
            let len = std::fs::metadata(&path).unwrap().len();
            assert_eq!(lines_of(&InputFile { path, len: Some(len), kind, spool: None, modified: None }).unwrap(), want);
        }
    }

    #[test]
    fn truncated_gzip_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&b"line of text\n".repeat(1000)).unwrap();
        let bytes = enc.finish().unwrap();
        let path = dir.path().join("cut.log.gz");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let input = InputFile {
            path: path.clone(),
            len: Some((bytes.len() / 2) as u64),
            kind: FileKind::Gzip,
            spool: None,
            modified: None,
        };
        let err = lines_of(&input).unwrap_err();
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(err.to_string().contains("decompress"), "{err}");
        let empty = InputFile {
            path: PathBuf::from("/nonexistent-but-empty.gz"),
            len: Some(0),
            kind: FileKind::Gzip,
            spool: None,
            modified: None,
        };
        assert!(open(&empty).is_err(), "a missing file is an error even when planned empty");
    }

    /// Every record of a stream: `Ok(line)`, or `Err((offset, line, prefix))`.
    fn records(
        reader: &mut dyn StreamRead,
        input: &InputFile,
        max: u64,
    ) -> Vec<std::result::Result<String, (u64, u64, usize)>> {
        let mut out = Vec::new();
        for_each_record(reader, input, max, |offset, line_no, record| {
            out.push(match record {
                Record::Line(l) => Ok(String::from_utf8_lossy(l).into_owned()),
                Record::TooLong(t) => {
                    assert_eq!((t.offset, t.line), (offset, Some(line_no)));
                    Err((offset, line_no, t.prefix.len()))
                }
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn issue_18_4_lines_over_the_limit_in_a_gzip_stream_are_too_long_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = b"short\r\n12345\r\n123456\n".to_vec();
        text.extend(vec![b'x'; 100_000]);
        text.extend(b"\nafter\nend");
        let gz = dir.path().join("long.log.gz");
        let mut enc = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        enc.write_all(&text).unwrap();
        enc.finish().unwrap();
        let len = std::fs::metadata(&gz).unwrap().len();
        let input = InputFile { path: gz.clone(), len: Some(len), kind: FileKind::Gzip, spool: None, modified: None };
        let got = records(&mut *open(&input).unwrap(), &input, 5);
        let want = vec![
            Ok("short".to_string()),
            Ok("12345".to_string()),
            Err((14, 3, 5)),
            Err((21, 4, 5)),
            Ok("after".to_string()),
            Ok("end".to_string()),
        ];
        assert_eq!(got, want);
        // The plain line reader stops at the first one, naming file, line and offset.
        let plain = for_each_record(&mut *open(&input).unwrap(), &input, 1000, |_, _, r| match r {
            Record::Line(_) => Ok(()),
            Record::TooLong(t) => Err(t.into_error(&input)),
        })
        .unwrap_err();
        assert_eq!((plain.path(), plain.line(), plain.offset()), (Some(gz.as_path()), Some(4), Some(21)), "{plain}");
        assert!(plain.to_string().contains("maximum record size of 1000 bytes"), "{plain}");
    }
}

#[cfg(test)]
mod block_tests {
    use super::super::blocks::{LineCutter, Position};
    use super::*;
    use crate::plan::FileKind;
    use std::path::PathBuf;

    fn input() -> InputFile {
        InputFile { path: PathBuf::from("-"), len: None, kind: FileKind::Stdin, spool: None, modified: None }
    }

    /// Every record as `(offset, line, Ok(text) | Err(prefix length))`.
    type Seen = Vec<(u64, u64, std::result::Result<String, usize>)>;

    fn push(out: &mut Seen, offset: u64, line: u64, record: Record<'_>) {
        out.push((
            offset,
            line,
            match record {
                Record::Line(l) => Ok(String::from_utf8_lossy(l).into_owned()),
                Record::TooLong(t) => Err(t.prefix.len()),
            },
        ));
    }

    /// The records of `text` by the framing's rules, one at a time: LF or
    /// CRLF, terminator dropped, a last line without one, lines over `max`
    /// too long with their first bytes.
    fn oracle(text: &[u8], max: u64) -> Seen {
        let mut out = Vec::new();
        let (mut offset, mut line) = (0u64, 1u64);
        let mut rest = text;
        while !rest.is_empty() {
            let (mut record, len) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], i + 1),
                None => (rest, rest.len()),
            };
            if len > record.len() {
                record = record.strip_suffix(b"\r").unwrap_or(record);
            }
            let seen = if record.len() as u64 > max {
                Err(record.len().min(super::super::bounded::TOO_LONG_PREFIX).min(max as usize))
            } else {
                Ok(String::from_utf8_lossy(record).into_owned())
            };
            out.push((offset, line, seen));
            offset += len as u64;
            line += 1;
            rest = &rest[len..];
        }
        out
    }

    /// The records `for_each_record` gives for the whole stream.
    fn whole(text: &[u8], max: u64) -> Seen {
        let mut out = Vec::new();
        for_each_record(&mut &text[..], &input(), max, |o, l, r| {
            push(&mut out, o, l, r);
            Ok(())
        })
        .unwrap();
        out
    }

    /// The records of `text` cut into blocks of `size`, block by block, and
    /// the blocks' bytes and starts checked against the text.
    fn in_blocks(text: &[u8], max: u64, size: usize) -> Seen {
        let input = input();
        let mut reader = text;
        let mut cutter = LineCutter::new(&mut reader, &input, max, size);
        let mut out = Vec::new();
        let mut expect = 0u32;
        while let Some(block) = cutter.next_block().unwrap() {
            assert_eq!(block.index, expect);
            expect += 1;
            assert!(!block.bytes.is_empty());
            let at = usize::try_from(block.start.offset).unwrap();
            assert_eq!(&text[at..at + block.bytes.len()], &block.bytes[..], "a block is the stream's bytes");
            let line = 1 + text[..at].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(block.start.line, line, "block {} at byte {at}", block.index);
            for_each_block_record(&block, max, |o, l, r| {
                push(&mut out, o, l, r);
                Ok(())
            })
            .unwrap();
        }
        assert!(cutter.next_block().unwrap().is_none());
        out
    }

    #[test]
    fn blocks_give_the_records_of_the_whole_stream_for_every_size() {
        let mut texts: Vec<Vec<u8>> =
            vec![Vec::new(), b"\n".to_vec(), b"a".to_vec(), b"a\r\nbb\n\nlast".to_vec(), b"x\n".repeat(50)];
        let mut mixed = Vec::new();
        for i in 0..400usize {
            let body = "z".repeat(i * 37 % 23);
            let end = if i % 3 == 0 { "\r\n" } else { "\n" };
            mixed.extend(format!("{i}:{body}{end}").into_bytes());
            if i % 97 == 5 {
                mixed.extend(vec![b'L'; 300 + i]);
                mixed.push(b'\n');
            }
        }
        texts.push(mixed.clone());
        mixed.extend(b"no newline at the end");
        texts.push(mixed);
        // A too-long line as the very last bytes, and one of exactly the limit with CRLF.
        texts.push([&b"ok\n"[..], &vec![b'q'; 500][..]].concat());
        texts.push([&vec![b'e'; 64][..], &b"\r\nnext\n"[..]].concat());
        for text in &texts {
            for max in [64u64, 1 << 20] {
                let want = oracle(text, max);
                assert_eq!(whole(text, max), want, "max {max}, text of {}", text.len());
                for size in [1, 2, 3, 7, 16, 63, 64, 65, 100, 1000, 1 << 16] {
                    assert_eq!(in_blocks(text, max, size), want, "max {max}, size {size}, text of {}", text.len());
                }
            }
        }
    }

    #[test]
    fn endless_input_without_newlines_gives_its_too_long_line_at_once() {
        let input = input();
        let mut endless = std::io::BufReader::new(std::io::repeat(b'z'));
        let mut cutter = LineCutter::new(&mut endless, &input, 64, 16);
        let block = cutter.next_block().unwrap().unwrap();
        assert_eq!((block.index, block.start, block.bytes.len()), (0, Position::START, 66));
        let mut seen = Vec::new();
        for_each_block_record(&block, 64, |o, l, r| {
            push(&mut seen, o, l, r);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(0, 1, Err(64))]);
    }

    /// Bytes, then a read error.
    struct FailsAfter(&'static [u8]);

    impl std::io::Read for FailsAfter {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            unreachable!("read through fill_buf")
        }
    }

    impl std::io::BufRead for FailsAfter {
        fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
            if self.0.is_empty() { Err(std::io::Error::other("cut")) } else { Ok(self.0) }
        }
        fn consume(&mut self, n: usize) {
            self.0 = &self.0[n..];
        }
    }

    impl StreamRead for FailsAfter {}

    #[test]
    fn a_read_error_comes_after_the_lines_and_the_too_long_line_before_it() {
        let input = input();
        for (text, want) in [
            (&b"ab\ncd\nunfinished"[..], vec![(0, 1, Ok("ab".to_string())), (3, 2, Ok("cd".to_string()))]),
            (&b"ab\nxxxxxxxxxxxxxxxxxxxxxxxx"[..], vec![(0, 1, Ok("ab".to_string())), (3, 2, Err(10))]),
        ] {
            let mut seen = Vec::new();
            let err = for_each_record(&mut FailsAfter(text), &input, 10, |o, l, r| {
                push(&mut seen, o, l, r);
                Ok(())
            })
            .unwrap_err();
            assert_eq!(seen, want, "{}", String::from_utf8_lossy(text));
            assert!(err.to_string().contains("cannot read input"), "{err}");
            assert_eq!(err.offset(), Some(text.len() as u64), "{err}");
        }
    }
}
