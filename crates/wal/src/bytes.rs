//! serde for byte buffers (WAL, images): `serialize_bytes` and `deserialize_byte_buf`, which
//! postcard writes exactly as it writes a `Vec<u8>` (a length, then the bytes) but copies in one
//! go instead of one call per byte. The browser's workers encode every XLogData this way, and
//! every piece of WAL and data image they hand the page.

use serde::{de, Deserializer, Serializer};

pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_byte_buf(BytesVisitor)
}

struct BytesVisitor;

impl<'de> de::Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(byte) = seq.next_element()? {
            out.push(byte);
        }
        Ok(out)
    }
}

/// The same for an optional buffer.
pub mod option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Bytes(#[serde(with = "super")] Vec<u8>);

    pub fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => serializer.serialize_some(&BytesRef(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<Bytes>::deserialize(deserializer)?.map(|b| b.0))
    }

    struct BytesRef<'a>(&'a [u8]);

    impl Serialize for BytesRef<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Plain {
        one: Vec<u8>,
        maybe: Option<Vec<u8>>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Coded {
        #[serde(with = "super")]
        one: Vec<u8>,
        #[serde(with = "super::option")]
        maybe: Option<Vec<u8>>,
    }

    #[test]
    fn the_codec_writes_what_a_plain_vec_writes_and_reads_it_back() {
        let bytes: Vec<u8> = (0..=255).chain(0..40).collect();
        for maybe in [None, Some(Vec::new()), Some(bytes.clone())] {
            let plain = Plain {
                one: bytes.clone(),
                maybe: maybe.clone(),
            };
            let coded = Coded {
                one: bytes.clone(),
                maybe,
            };
            let encoded = postcard::to_allocvec(&coded).unwrap();
            assert_eq!(encoded, postcard::to_allocvec(&plain).unwrap());
            assert_eq!(postcard::from_bytes::<Coded>(&encoded).unwrap(), coded);
        }
    }
}
