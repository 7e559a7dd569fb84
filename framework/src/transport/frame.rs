//! Length-prefixed frames.
//!
//! A frame is an 8-byte big-endian payload length, then the payload. A
//! zero-length frame, or end of file at a frame boundary, ends the stream.
//! The writer sends header and payload with one `write_all` each under the
//! caller's lock, then flushes; the reader reads the header fully, then the
//! payload fully, so frames never interleave.

use std::io::{self, Read, Write};

/// The largest frame accepted from an authenticated peer.
pub(crate) const MAX_FRAME: u64 = 1 << 40;
/// The largest frame accepted before the handshake.
pub(crate) const MAX_HELLO: u64 = 1 << 16;

/// Writes one frame and flushes.
pub(crate) fn write_frame<W: Write + ?Sized>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    w.write_all(&(payload.len() as u64).to_be_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// Reads one frame; `None` at the end of the stream.
///
/// # Errors
/// End of file inside a frame, or a frame longer than `max`.
pub(crate) fn read_frame<R: Read + ?Sized>(r: &mut R, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 8];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a frame header")),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u64::from_be_bytes(header);
    if len == 0 {
        return Ok(None);
    }
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max}"),
        ));
    }
    let mut payload = super::bytes::frames::take(len as usize);
    r.read_exact(&mut payload)?;
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_end() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        write_frame(&mut buf, b"").unwrap();
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r, MAX_FRAME).unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(read_frame(&mut r, MAX_FRAME).unwrap(), None);
        assert_eq!(read_frame(&mut r, MAX_FRAME).unwrap(), None);
    }

    #[test]
    fn oversized_and_cut_frames_are_errors() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &[7u8; 100]).unwrap();
        assert!(read_frame(&mut &buf[..], 10).is_err());
        assert!(read_frame(&mut &buf[..50], MAX_FRAME).is_err());
        assert!(read_frame(&mut &buf[..3], MAX_FRAME).is_err());
    }
}
