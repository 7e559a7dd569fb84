//! Decoding byte-string keys (`Vec<u8>`, `String`) from postcard without
//! serde's visit of each byte.
//!
//! serde's `Deserialize` for `Vec<T>` reads a sequence element by element,
//! so a `Vec<u8>` key costs a call per byte; a sorted result with millions
//! of groups decodes every key three times (once after aggregating, once
//! as a head of the merge, once for the caller). The keys of grouping are
//! mostly byte strings, so these two types are read here as what postcard
//! writes for them (a varint length, then the bytes) and every other type
//! through serde. The type is told at run time ([`Any`]), so no bound
//! beyond `'static` is asked of a key type.
//!
//! Invariant: for every `K`, [`take_key`] and [`take_key_into`] accept
//! exactly the bytes `postcard::take_from_bytes::<K>` accepts and decode
//! the same value.

use serde::de::DeserializeOwned;
use std::any::Any;

/// The bytes of the postcard byte string (or sequence of `u8`) at the start
/// of `bytes`, and the rest.
fn byte_string(bytes: &[u8]) -> postcard::Result<(&[u8], &[u8])> {
    // postcard writes a sequence's length as a `usize` varint, the same
    // bytes as a `u64` varint of its value.
    let (len, rest) = postcard::take_from_bytes::<u64>(bytes)?;
    let len = usize::try_from(len).map_err(|_| postcard::Error::DeserializeBadVarint)?;
    if len > rest.len() {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    Ok(rest.split_at(len))
}

/// The text of a byte string decoded as a `String`.
fn text(bytes: &[u8]) -> postcard::Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| postcard::Error::DeserializeBadUtf8)
}

/// Decodes the `K` at the start of `bytes`; returns it and the rest.
pub(crate) fn take_key<K: DeserializeOwned + 'static>(bytes: &[u8]) -> postcard::Result<(K, &[u8])> {
    let mut key: Option<K> = None;
    let slot = &mut key as &mut dyn Any;
    if let Some(slot) = slot.downcast_mut::<Option<Vec<u8>>>() {
        let (string, rest) = byte_string(bytes)?;
        *slot = Some(string.to_vec());
        return key.map(|k| (k, rest)).ok_or(postcard::Error::DeserializeBadEncoding);
    }
    if let Some(slot) = slot.downcast_mut::<Option<String>>() {
        let (string, rest) = byte_string(bytes)?;
        *slot = Some(text(string)?.to_owned());
        return key.map(|k| (k, rest)).ok_or(postcard::Error::DeserializeBadEncoding);
    }
    postcard::take_from_bytes::<K>(bytes)
}

/// Decodes the `K` at the start of `bytes` into `place`, reusing what it
/// owns; returns the rest. After an error `place` holds a value of no
/// meaning.
pub(crate) fn take_key_into<'b, K: DeserializeOwned + 'static>(
    bytes: &'b [u8],
    place: &mut K,
) -> postcard::Result<&'b [u8]> {
    let any = place as &mut dyn Any;
    if let Some(buf) = any.downcast_mut::<Vec<u8>>() {
        let (string, rest) = byte_string(bytes)?;
        buf.clear();
        buf.extend_from_slice(string);
        return Ok(rest);
    }
    if let Some(buf) = any.downcast_mut::<String>() {
        let (string, rest) = byte_string(bytes)?;
        let string = text(string)?;
        buf.clear();
        buf.push_str(string);
        return Ok(rest);
    }
    let mut de = postcard::Deserializer::from_bytes(bytes);
    K::deserialize_in_place(&mut de, place)?;
    de.finalize()
}

/// Decodes a key's bytes, all of them.
pub(crate) fn decode_key<K: DeserializeOwned + 'static>(bytes: &[u8]) -> postcard::Result<K> {
    match take_key::<K>(bytes)? {
        (key, []) => Ok(key),
        _ => Err(postcard::Error::DeserializeBadEncoding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    /// Every way of decoding gives what postcard gives, for the two fast
    /// types and others, whole, with a tail, cut short and damaged.
    fn agrees<K: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + Default + 'static>(key: K) {
        let mut bytes = postcard::to_allocvec(&key).unwrap();
        bytes.extend_from_slice(&[7, 8]);
        for end in 0..=bytes.len() {
            let piece = &bytes[..end];
            let want = postcard::take_from_bytes::<K>(piece).map_err(|e| e.to_string());
            let got = take_key::<K>(piece).map_err(|e| e.to_string());
            assert_eq!(got, want, "{key:?} cut at {end}");
            let mut place = K::default();
            let into = take_key_into(piece, &mut place).map(|rest| (place, rest)).map_err(|e| e.to_string());
            match (&into, &want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{key:?} into, cut at {end}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{key:?} into, cut at {end}: {into:?} against {want:?}"),
            }
        }
        assert_eq!(decode_key::<K>(&bytes[..bytes.len() - 2]).unwrap(), key);
        assert!(decode_key::<K>(&bytes).is_err(), "{key:?}: bytes left over");
    }

    #[test]
    fn byte_strings_decode_as_postcard_decodes_them() {
        agrees(b"Zurich".to_vec());
        agrees(Vec::<u8>::new());
        agrees(vec![0xffu8; 300]);
        agrees("Zürich".to_string());
        agrees(String::new());
        agrees("x".repeat(200));
        agrees(42u64);
        agrees(("eu".to_string(), 7u32));
        agrees(vec![1u16, 300, 7]);
        // Not UTF-8 as a String: both refuse.
        let bytes = postcard::to_allocvec(&vec![0xffu8, 0xfe]).unwrap();
        assert!(take_key::<String>(&bytes).is_err() && postcard::take_from_bytes::<String>(&bytes).is_err());
        assert!(take_key_into(&bytes, &mut String::new()).is_err());
    }
}
