//! Inputs read once, front to back: compressed files, pipes, standard input.
//!
//! Such an input is one split (its bytes cannot be cut without decompressing
//! what comes before), framed into lines as it streams through a reused
//! buffer. Offsets in errors count decompressed bytes; line numbers are exact.

use super::super::plan::{FileKind, InputFile};
use crate::error::{Error, ErrorKind, Result};
use std::fs::File;
use std::io::{BufRead, BufReader};

const BUF: usize = 256 << 10;

/// Opens an input for streaming, decompressing by its kind.
pub fn open(input: &InputFile) -> Result<Box<dyn BufRead>> {
    let path = &input.path;
    let file_path = input.read_path();
    if input.kind == FileKind::Stdin {
        return Ok(Box::new(BufReader::with_capacity(BUF, std::io::stdin())));
    }
    let file = File::open(file_path).map_err(|e| Error::io(path, e).context("cannot open input"))?;
    // A zero-byte compressed file holds nothing (some tools leave them behind).
    let empty = input.len == Some(0);
    Ok(match input.kind {
        _ if empty => Box::new(std::io::empty()),
        FileKind::Gzip => Box::new(BufReader::with_capacity(
            BUF,
            flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(BUF, file)),
        )),
        FileKind::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(file)
                .map_err(|e| Error::io(path, e).context("cannot start zstd decoding"))?;
            Box::new(BufReader::with_capacity(BUF, decoder))
        }
        FileKind::Regular | FileKind::Special | FileKind::Stdin => Box::new(BufReader::with_capacity(BUF, file)),
    })
}

/// Calls `f(offset, line_number, line)` for every line of `reader`, with the
/// same framing as [`super::lines::for_each_line`]. A read error (such as a
/// truncated gzip member) is an error naming `input` and the offset reached.
pub fn for_each_line(
    reader: &mut dyn BufRead,
    input: &InputFile,
    mut f: impl FnMut(u64, u64, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut buf = Vec::with_capacity(1 << 12);
    let mut offset = 0u64;
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = match reader.read_until(b'\n', &mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let what = match input.kind {
                    FileKind::Gzip | FileKind::Zstd => "cannot decompress input (truncated or corrupt?)",
                    _ => "cannot read input",
                };
                return Err(Error::new(ErrorKind::InvalidInput, what)
                    .with_source(e)
                    .with_path(&input.path)
                    .with_offset(offset + buf.len() as u64)
                    .with_line(line_no + 1));
            }
        };
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let line = match buf.strip_suffix(b"\n") {
            Some(l) => l.strip_suffix(b"\r").unwrap_or(l),
            None => &buf[..],
        };
        f(offset, line_no, line)?;
        offset += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            assert_eq!(lines_of(&InputFile { path, len: Some(len), kind, spool: None }).unwrap(), want);
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
        let input =
            InputFile { path: path.clone(), len: Some((bytes.len() / 2) as u64), kind: FileKind::Gzip, spool: None };
        let err = lines_of(&input).unwrap_err();
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(err.to_string().contains("decompress"), "{err}");
        let empty = InputFile {
            path: PathBuf::from("/nonexistent-but-empty.gz"),
            len: Some(0),
            kind: FileKind::Gzip,
            spool: None,
        };
        assert!(open(&empty).is_err(), "a missing file is an error even when planned empty");
    }
}
