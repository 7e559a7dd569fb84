//! Byte buffers in serde as one length and a copy ([`Bytes`] out,
//! [`ByteBuf`] in), not as a sequence of single bytes: how protocol
//! messages carry partials and outputs ([`as_bytes`], for
//! `#[serde(with = ...)]`), and how keyed partials and sorted results ship
//! their encoded pairs. Postcard writes both forms alike, so the change is
//! only in speed.

use serde::de::{Deserialize, Deserializer, Error, Visitor};
use serde::{Serialize, Serializer};
use std::fmt;

/// Borrowed bytes, serialized with `serialize_bytes`.
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Owned bytes, deserialized from `bytes` with one copy.
pub(crate) struct ByteBuf(pub(crate) Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl Visitor<'_> for BytesVisitor {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// Bytes inside a received frame: the frame itself and the range they
/// take, so a large payload (a split's partial) is used where it was read,
/// not copied out. Serialized as plain bytes, like `Vec<u8>`. When it is
/// dropped, a large frame goes back to the [`frames`] pool for the next
/// one to be read into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload {
    frame: Vec<u8>,
    range: std::ops::Range<usize>,
}

impl Drop for Payload {
    fn drop(&mut self) {
        frames::give_back(std::mem::take(&mut self.frame));
    }
}

/// Buffers for large received frames, reused: a leader reads a partial of
/// tens of megabytes per split, and a fresh buffer each time costs a page
/// fault per 4 KiB (with 20M keys, a third of the leader's system time).
/// A reused buffer is not cleared first: the frame is read over its old
/// bytes, so only growth is zeroed.
pub(crate) mod frames {
    use std::sync::Mutex;

    /// Frames smaller than this are allocated as usual.
    const LARGE: usize = 1 << 20;
    /// At most this many idle buffers are kept (one per frame in flight
    /// is all that reuse needs).
    const KEEP: usize = 2;
    /// Buffers larger than this are not kept.
    const HUGE: usize = 256 << 20;

    static IDLE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    /// A buffer of exactly `len` bytes (their content undefined but
    /// initialized), reused if one is idle.
    pub(crate) fn take(len: usize) -> Vec<u8> {
        if len >= LARGE
            && let Some(mut buf) = IDLE.lock().unwrap_or_else(|p| p.into_inner()).pop()
        {
            buf.resize(len, 0);
            return buf;
        }
        vec![0u8; len]
    }

    /// Keeps `buf` for a later [`take`] if it is large and few are idle.
    pub(crate) fn give_back(buf: Vec<u8>) {
        if (LARGE..=HUGE).contains(&buf.capacity()) {
            let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < KEEP {
                idle.push(buf);
            }
        }
    }
}

impl Payload {
    /// The bytes `range` of `frame` (clamped to it).
    pub(crate) fn within(frame: Vec<u8>, range: std::ops::Range<usize>) -> Payload {
        let end = range.end.min(frame.len());
        let start = range.start.min(end);
        Payload { frame, range: start..end }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        let len = bytes.len();
        Payload { frame: bytes, range: 0..len }
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.frame[self.range.clone()]
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ByteBuf::deserialize(deserializer).map(|b| Payload::from(b.0))
    }
}

/// `#[serde(with = "crate::transport::bytes::as_bytes")]` for a `Vec<u8>`
/// field.
pub(crate) mod as_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        super::Bytes(bytes).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        super::ByteBuf::deserialize(deserializer).map(|b| b.0)
    }
}

#[cfg(test)]
mod tests {
    /// Bytes encode exactly as the `Vec<u8>` they replace, both ways.
    #[test]
    fn bytes_encode_like_a_vec_of_u8() {
        for bytes in [vec![], vec![0u8, 1, 255], vec![7u8; 300]] {
            let fast = postcard::to_allocvec(&super::Bytes(&bytes)).unwrap();
            assert_eq!(fast, postcard::to_allocvec(&bytes).unwrap());
            let back: super::ByteBuf = postcard::from_bytes(&fast).unwrap();
            assert_eq!(back.0, bytes);
        }
    }
}
