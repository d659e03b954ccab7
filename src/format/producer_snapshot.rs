//! Kafka's producer-state snapshots (`<offset>.snapshot`), read-only.
//!
//! # Layout
//! `int16 version (1)`, `uint32 CRC-32C of bytes [6, end)`, `int32 entry count`, then 46-byte
//! entries: `int64 producer id, int16 epoch, int32 last sequence, int64 last offset,
//! int32 offset delta, int64 timestamp, int32 coordinator epoch, int64 current txn first
//! offset (-1 if none)`.

use super::DecodeError;
use super::varint::Cursor;

/// One producer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ProducerEntry {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub last_sequence: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
    pub coordinator_epoch: i32,
    pub current_txn_first_offset: i64,
}

/// Decodes a snapshot file, checking its version and CRC.
pub fn decode(buf: &[u8]) -> Result<Vec<ProducerEntry>, DecodeError> {
    let mut c = Cursor::new(buf);
    let version = c.i16()?;
    if version != 1 {
        return Err(DecodeError::BadLength {
            at: 0,
            what: "snapshot version",
            value: version as i64,
        });
    }
    let stored = c.u32()?;
    let computed = super::batch::crc32c(buf.get(6..).unwrap_or(&[]));
    if stored != computed {
        return Err(DecodeError::CrcMismatch {
            at: 2,
            stored,
            computed,
        });
    }
    let count = c.i32()?;
    if count < 0 || count as usize > c.remaining() / 46 {
        return Err(DecodeError::BadLength {
            at: 6,
            what: "entry count",
            value: count as i64,
        });
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        out.push(ProducerEntry {
            producer_id: c.i64()?,
            producer_epoch: c.i16()?,
            last_sequence: c.i32()?,
            last_offset: c.i64()?,
            offset_delta: c.i32()?,
            timestamp: c.i64()?,
            coordinator_epoch: c.i32()?,
            current_txn_first_offset: c.i64()?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_empty_snapshot_is_ten_bytes() {
        let mut b = vec![0, 1];
        b.extend_from_slice(&crate::format::batch::crc32c(&0i32.to_be_bytes()).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        assert_eq!(b.len(), 10);
        assert!(decode(&b).unwrap().is_empty());
        b[9] = 1;
        assert!(decode(&b).is_err());
    }
}
