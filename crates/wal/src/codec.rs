//! Little-endian byte writing and bounds-checked reading for WAL bodies.

use crate::record::{RelFileLocator, TupleImage};
use crate::WalError;

#[derive(Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A writer whose first `capacity` bytes need no reallocation.
    pub fn with_capacity(capacity: usize) -> Writer {
        Writer {
            bytes: Vec::with_capacity(capacity),
        }
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }
    pub fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }
    pub fn u16(&mut self, value: u16) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub fn bytes(&mut self, value: &[u8]) {
        self.u32(value.len() as u32);
        self.bytes.extend_from_slice(value);
    }
    pub fn relation(&mut self, rel: &RelFileLocator) {
        self.u32(rel.tablespace);
        self.u32(rel.database);
        self.u32(rel.relation);
    }
    pub fn tuple(&mut self, tuple: &TupleImage) {
        self.u32(tuple.command_id);
        self.u16(tuple.natts);
        self.bytes(&tuple.data);
    }
}

pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { input }
    }
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }
    fn take(&mut self, count: usize) -> Result<&'a [u8], WalError> {
        if self.input.len() < count {
            return Err(WalError::Truncated);
        }
        let (head, tail) = self.input.split_at(count);
        self.input = tail;
        Ok(head)
    }
    pub fn u8(&mut self) -> Result<u8, WalError> {
        Ok(self.take(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool, WalError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WalError::Truncated),
        }
    }
    pub fn u16(&mut self) -> Result<u16, WalError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("two bytes"),
        ))
    }
    pub fn u32(&mut self) -> Result<u32, WalError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("four bytes"),
        ))
    }
    pub fn u64(&mut self) -> Result<u64, WalError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("eight bytes"),
        ))
    }
    pub fn i64(&mut self) -> Result<i64, WalError> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("eight bytes"),
        ))
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>, WalError> {
        let length = self.u32()? as usize;
        Ok(self.take(length)?.to_vec())
    }
    pub fn relation(&mut self) -> Result<RelFileLocator, WalError> {
        Ok(RelFileLocator {
            tablespace: self.u32()?,
            database: self.u32()?,
            relation: self.u32()?,
        })
    }
    pub fn tuple(&mut self) -> Result<TupleImage, WalError> {
        Ok(TupleImage {
            command_id: self.u32()?,
            natts: self.u16()?,
            data: self.bytes()?,
        })
    }
}
