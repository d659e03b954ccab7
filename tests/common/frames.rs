//! The framing of a `.log`'s entries read by hand: `i64 base_offset, i32 batch_length`
//! big-endian, entry size `12 + batch_length`, whatever the entry's format. Tests use it to
//! find, cut and damage entries without trusting the library they test.

/// The framing of one entry of a `.log`: its position, base offset and whole size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub position: u64,
    pub base_offset: i64,
    pub size: u64,
}

impl Frame {
    /// The position just past the entry.
    pub fn end(&self) -> u64 {
        self.position + self.size
    }
}

/// Reads the framing of every whole entry of a `.log`, from its start. Stops at a tail too
/// short for a whole entry (the caller can compare the end of the last frame with the file
/// length) and at an entry whose length is negative ([`batch_length_at`] tells).
pub fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 12 <= bytes.len() {
        let base = i64::from_be_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().expect("4 bytes"));
        if len < 0 {
            break;
        }
        let size = 12 + len as usize;
        if pos + size > bytes.len() {
            break;
        }
        out.push(Frame {
            position: pos as u64,
            base_offset: base,
            size: size as u64,
        });
        pos += size;
    }
    out
}

/// The batch length field of the entry at `pos`, if the bytes reach that far.
pub fn batch_length_at(bytes: &[u8], pos: u64) -> Option<i32> {
    let pos = usize::try_from(pos).ok()?;
    let field = bytes.get(pos + 8..pos + 12)?;
    Some(i32::from_be_bytes(field.try_into().expect("4 bytes")))
}
