//! Memory for WAL segments: fixed-size chunks, each allocated once at its final size, and a
//! bounded pool of chunks freed by removed segments for the next segments to reuse.
//!
//! A segment held as one growing `Vec<u8>` doubles its buffer as records arrive, so a 16 MB
//! segment passes through buffers of 8 and 16 MB (24 MB live during the copy), and the
//! blocks freed by old segments are the wrong sizes for the next ones. In WebAssembly, where
//! memory never shrinks, that shows up as memory that grows step by step under a steady load.
//! Chunks of one size fit wherever a freed chunk was, a segment costs what it holds (a
//! segment that a `pg_switch_wal()` left almost empty costs one chunk), and the pool makes
//! the reuse independent of the allocator.

/// Bytes per chunk: the smallest segment size pgplay accepts, so chunks tile every segment.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Freed chunks kept for reuse, at most: 16 MB, one default-sized segment.
pub const POOL_CHUNKS: usize = 256;

/// The written bytes of one segment, in chunks; bytes past `len` in the last chunk are zero.
#[derive(Clone, Debug, Default)]
pub struct SegmentBuffer {
    chunks: Vec<Box<[u8]>>,
    len: usize,
}

/// Chunks freed by removed or truncated segments, waiting to be reused.
#[derive(Debug, Default)]
pub struct ChunkPool {
    free: Vec<Box<[u8]>>,
}

/// A copy of a log starts with an empty pool: the chunks are the original's.
impl Clone for ChunkPool {
    fn clone(&self) -> ChunkPool {
        ChunkPool::default()
    }
}

impl ChunkPool {
    /// A zeroed chunk, reused when one is free.
    fn take(&mut self) -> Box<[u8]> {
        match self.free.pop() {
            Some(mut chunk) => {
                chunk.fill(0);
                chunk
            }
            None => vec![0; CHUNK_BYTES].into_boxed_slice(),
        }
    }

    /// Keeps `chunk` for reuse, or frees it once the pool is full.
    pub fn give(&mut self, chunk: Box<[u8]>) {
        if self.free.len() < POOL_CHUNKS {
            self.free.push(chunk);
        }
    }

    /// Chunks waiting for reuse.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

impl SegmentBuffer {
    pub fn from_bytes(bytes: &[u8], pool: &mut ChunkPool) -> SegmentBuffer {
        let mut buffer = SegmentBuffer::default();
        buffer.write(0, bytes, pool);
        buffer
    }

    /// Bytes written (the segment's length as a copy would keep it).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated for this segment.
    pub fn allocated(&self) -> usize {
        self.chunks.len() * CHUNK_BYTES
    }

    /// Stores `bytes` at `offset`; a gap before `offset` reads as zeros.
    pub fn write(&mut self, offset: usize, bytes: &[u8], pool: &mut ChunkPool) {
        let end = offset + bytes.len();
        while self.chunks.len() * CHUNK_BYTES < end {
            self.chunks.push(pool.take());
        }
        let mut at = offset;
        let mut rest = bytes;
        while !rest.is_empty() {
            let within = at % CHUNK_BYTES;
            let take = rest.len().min(CHUNK_BYTES - within);
            self.chunks[at / CHUNK_BYTES][within..within + take].copy_from_slice(&rest[..take]);
            at += take;
            rest = &rest[take..];
        }
        self.len = self.len.max(end);
    }

    /// Appends the bytes in `[offset, offset + length)` that were written; returns how many.
    pub fn read_into(&self, offset: usize, length: usize, out: &mut Vec<u8>) -> usize {
        let end = self.len.min(offset + length);
        let mut at = offset;
        while at < end {
            let within = at % CHUNK_BYTES;
            let take = (end - at).min(CHUNK_BYTES - within);
            out.extend_from_slice(&self.chunks[at / CHUNK_BYTES][within..within + take]);
            at += take;
        }
        end.saturating_sub(offset)
    }

    /// The written bytes as one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        self.read_into(0, self.len, &mut out);
        out
    }

    /// Forgets the bytes from `offset` on; chunks no longer needed go to `pool`.
    pub fn truncate(&mut self, offset: usize, pool: &mut ChunkPool) {
        if offset >= self.len {
            return;
        }
        let keep = offset.div_ceil(CHUNK_BYTES);
        for chunk in self.chunks.drain(keep..) {
            pool.give(chunk);
        }
        if !offset.is_multiple_of(CHUNK_BYTES) {
            self.chunks[offset / CHUNK_BYTES][offset % CHUNK_BYTES..].fill(0);
        }
        self.len = offset;
    }

    /// Gives every chunk to `pool`.
    pub fn release(self, pool: &mut ChunkPool) {
        for chunk in self.chunks {
            pool.give(chunk);
        }
    }
}

/// Serialized as the plain bytes it holds (a sequence of `u8`, as a `Vec<u8>` is), as a segment
/// was before it had chunks.
impl serde::Serialize for SegmentBuffer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        // Byte by byte, as a `Vec<u8>` is, without first copying the segment into one.
        for (index, chunk) in self.chunks.iter().enumerate() {
            let used = (self.len - index * CHUNK_BYTES).min(CHUNK_BYTES);
            for byte in &chunk[..used] {
                seq.serialize_element(byte)?;
            }
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for SegmentBuffer {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SegmentBuffer, D::Error> {
        let bytes = Vec::<u8>::deserialize(deserializer)?;
        Ok(SegmentBuffer::from_bytes(&bytes, &mut ChunkPool::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_across_chunks_with_zeros_in_gaps() {
        let mut pool = ChunkPool::default();
        let mut buffer = SegmentBuffer::default();
        buffer.write(10, b"ab", &mut pool);
        let bytes: Vec<u8> = (0..CHUNK_BYTES + 100).map(|i| i as u8).collect();
        buffer.write(CHUNK_BYTES - 50, &bytes, &mut pool);
        let mut expected = vec![0u8; CHUNK_BYTES - 50];
        expected[10..12].copy_from_slice(b"ab");
        expected.extend_from_slice(&bytes);
        assert_eq!(buffer.to_vec(), expected);
        assert_eq!(buffer.allocated(), 3 * CHUNK_BYTES);
    }

    #[test]
    fn truncated_bytes_read_as_zero_when_written_past() {
        let mut pool = ChunkPool::default();
        let mut buffer = SegmentBuffer::from_bytes(&[7; 3 * CHUNK_BYTES], &mut pool);
        buffer.truncate(100, &mut pool);
        assert_eq!(pool.len(), 2, "whole chunks past the end are pooled");
        buffer.write(2 * CHUNK_BYTES, b"x", &mut pool);
        let bytes = buffer.to_vec();
        assert!(bytes[100..2 * CHUNK_BYTES].iter().all(|b| *b == 0));
        assert_eq!(bytes[..100], [7; 100]);
    }

    #[test]
    fn released_chunks_are_reused_not_reallocated() {
        let mut pool = ChunkPool::default();
        let old = SegmentBuffer::from_bytes(&[9; 4 * CHUNK_BYTES], &mut pool);
        let addresses: Vec<*const u8> = old.chunks.iter().map(|c| c.as_ptr()).collect();
        old.release(&mut pool);
        assert_eq!(pool.len(), 4);
        let new = SegmentBuffer::from_bytes(&[1; 4 * CHUNK_BYTES], &mut pool);
        assert!(new.chunks.iter().all(|c| addresses.contains(&c.as_ptr())));
        assert!(pool.is_empty());
    }

    #[test]
    fn a_reused_chunk_reads_as_zeros_where_nothing_was_written() {
        let mut pool = ChunkPool::default();
        SegmentBuffer::from_bytes(&[7; CHUNK_BYTES], &mut pool).release(&mut pool);
        let mut reused = SegmentBuffer::default();
        reused.write(100, b"x", &mut pool);
        assert_eq!(reused.to_vec()[..100], [0; 100]);
    }

    #[test]
    fn serializes_as_the_plain_bytes() {
        let mut pool = ChunkPool::default();
        let bytes: Vec<u8> = (0..CHUNK_BYTES + 300).map(|i| (i % 251) as u8).collect();
        let buffer = SegmentBuffer::from_bytes(&bytes, &mut pool);
        let encoded = postcard::to_allocvec(&buffer).unwrap();
        assert_eq!(encoded, postcard::to_allocvec(&bytes).unwrap());
        let decoded: SegmentBuffer = postcard::from_bytes(&encoded).unwrap();
        assert_eq!(decoded.to_vec(), bytes);
    }

    #[test]
    fn the_pool_is_bounded() {
        let mut pool = ChunkPool::default();
        for _ in 0..POOL_CHUNKS + 10 {
            pool.give(vec![0; CHUNK_BYTES].into_boxed_slice());
        }
        assert_eq!(pool.len(), POOL_CHUNKS);
    }
}
