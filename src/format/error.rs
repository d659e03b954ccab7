//! Decoding errors: what was wrong and at which byte of the decoded slice.

/// Why bytes could not be decoded. `at` is the byte position of the problem relative to the
/// start of the slice handed to the decoder; the storage layer turns it into a file position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated at byte {at}: {needed} bytes needed, {available} available")]
    Truncated {
        at: usize,
        needed: usize,
        available: usize,
    },
    #[error("crc mismatch at byte {at}: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        at: usize,
        stored: u32,
        computed: u32,
    },
    #[error("unsupported magic {magic} at byte {at}")]
    UnsupportedMagic { at: usize, magic: i8 },
    #[error("invalid varint at byte {at}")]
    BadVarint { at: usize },
    #[error("invalid {what} {value} at byte {at}")]
    BadLength {
        at: usize,
        what: &'static str,
        value: i64,
    },
    #[error("invalid record at byte {at}: {reason}")]
    BadRecord { at: usize, reason: &'static str },
    #[error("unsupported compression codec {codec} at byte {at}")]
    UnsupportedCompression { at: usize, codec: u8 },
    /// The compressed stream starting at `at` is not valid data for `codec`.
    #[error("invalid {codec} data at byte {at}: {reason}")]
    Decompress {
        at: usize,
        codec: &'static str,
        reason: String,
    },
    /// The compressed stream starting at `at` decompresses to more than `limit` bytes.
    #[error("{codec} data at byte {at} decompresses to more than {limit} bytes")]
    DecompressLimit {
        at: usize,
        codec: &'static str,
        limit: usize,
    },
}

impl DecodeError {
    /// Byte position of the problem, relative to the decoded slice.
    pub fn at(&self) -> usize {
        match *self {
            DecodeError::Truncated { at, .. }
            | DecodeError::CrcMismatch { at, .. }
            | DecodeError::UnsupportedMagic { at, .. }
            | DecodeError::BadVarint { at }
            | DecodeError::BadLength { at, .. }
            | DecodeError::BadRecord { at, .. }
            | DecodeError::UnsupportedCompression { at, .. }
            | DecodeError::Decompress { at, .. }
            | DecodeError::DecompressLimit { at, .. } => at,
        }
    }

    /// The same error with its position moved by `base` bytes (the slice's own position in a
    /// larger buffer or file).
    pub fn shifted(mut self, base: usize) -> Self {
        match &mut self {
            DecodeError::Truncated { at, .. }
            | DecodeError::CrcMismatch { at, .. }
            | DecodeError::UnsupportedMagic { at, .. }
            | DecodeError::BadVarint { at }
            | DecodeError::BadLength { at, .. }
            | DecodeError::BadRecord { at, .. }
            | DecodeError::UnsupportedCompression { at, .. }
            | DecodeError::Decompress { at, .. }
            | DecodeError::DecompressLimit { at, .. } => *at = at.saturating_add(base),
        }
        self
    }
}
