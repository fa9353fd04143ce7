//! A string kept in place when it is short.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest text kept in place: the enum's tag and the length take the other two of its
/// 24 bytes.
const INLINE: usize = 22;

/// An immutable string of 24 bytes that keeps text of up to 22 bytes in place and longer text
/// on the heap. Ids are such text (`acct_000123`, `u_000123_4`, a message id of a simulated
/// company), and the model holds millions of them: a `String` is 24 bytes plus an allocation of
/// its own (16–48 bytes more, and the allocator's bookkeeping); this is 24 bytes, and an
/// `Option` of it is too.
///
/// It orders, compares and hashes as its text (`Hash` as `str` does), so swapping a `String`
/// for it changes no order and no result.
#[derive(Clone)]
pub struct SmallString(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl SmallString {
    pub fn new(text: &str) -> SmallString {
        let repr = if text.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Repr::Inline {
                len: text.len() as u8,
                bytes,
            }
        } else {
            Repr::Heap(text.into())
        };
        SmallString(repr)
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever copied from a `&str` whole, so always UTF-8.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(text) => text,
        }
    }

    /// The text's bytes, without checking they are UTF-8 again (orders and hashes use them).
    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(text) => text.as_bytes(),
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for SmallString {
    fn default() -> Self {
        SmallString::new("")
    }
}

impl From<&str> for SmallString {
    fn from(text: &str) -> Self {
        SmallString::new(text)
    }
}

impl From<String> for SmallString {
    fn from(text: String) -> Self {
        if text.len() <= INLINE {
            SmallString::new(&text)
        } else {
            SmallString(Repr::Heap(text.into_boxed_str()))
        }
    }
}

impl From<SmallString> for String {
    fn from(s: SmallString) -> String {
        match s.0 {
            Repr::Heap(text) => text.into_string(),
            Repr::Inline { .. } => s.as_str().to_owned(),
        }
    }
}

impl std::ops::Deref for SmallString {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SmallString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SmallString {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SmallString {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SmallString {}

impl PartialEq<str> for SmallString {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for SmallString {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd for SmallString {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallString {
    /// Byte order, which is `str`'s order.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for SmallString {
    /// As `str` hashes, so that `Borrow<str>` lookups find it.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl fmt::Debug for SmallString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SmallString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SmallString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SmallString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SmallString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SmallString, E> {
                Ok(SmallString::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SmallString, E> {
                Ok(SmallString::from(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    fn hash<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn is_as_small_as_a_string_and_so_is_an_option_of_it() {
        assert_eq!(std::mem::size_of::<SmallString>(), 24);
        assert_eq!(std::mem::size_of::<Option<SmallString>>(), 24);
    }

    #[test]
    fn keeps_any_text_and_orders_and_hashes_as_str() {
        let texts = [
            "",
            "a",
            "acct_000123",
            "exactly-twenty-two-byt",
            "twenty-three-bytes-long",
            "é-ünïcode-text-of-some-length",
            "2f1c3c1e-8a3b-4a8e-9f3e-0c1d2e3f4a5b",
        ];
        for a in texts {
            let s = SmallString::new(a);
            assert_eq!(s.as_str(), a);
            assert_eq!(String::from(s.clone()), a);
            assert_eq!(SmallString::from(a.to_owned()), s);
            assert_eq!(hash(&s), hash(a));
            for b in texts {
                assert_eq!(s.cmp(&SmallString::new(b)), a.cmp(b), "{a:?} against {b:?}");
            }
        }
    }
}
