//! Records of Kafka's `__consumer_offsets` topic (the group coordinator's log), decoded into
//! readable text: offset commits (key versions 0 and 1) and group metadata (key version 2).
//!
//! # Layout
//! Keys: `int16 version`, then for versions 0/1 `string group, string topic, int32 partition`
//! and for version 2 `string group` (strings are `int16 length` + UTF-8). Offset commit
//! values: `int16 version`, `int64 offset`, `int32 leader epoch` (v3+), `string metadata`,
//! `int64 commit timestamp`, `int64 expire timestamp` (v1 only); from v4 on the strings are
//! compact (unsigned varint length + 1) and tagged fields follow. A null value is a tombstone.
//!
//! [`describe_key`] and [`describe_value`] make the text `segments dump` prints;
//! [`decode_key`] and [`decode_offset_commit`] give the fields, for `groups list|describe`.

use super::DecodeError;
use super::varint::Cursor;

fn string(c: &mut Cursor<'_>) -> Result<String, DecodeError> {
    let at = c.position();
    let n = c.i16()?;
    if n < 0 {
        return Err(DecodeError::BadLength {
            at,
            what: "string length",
            value: n as i64,
        });
    }
    Ok(String::from_utf8_lossy(c.bytes(n as usize)?).into_owned())
}

fn nullable_string(c: &mut Cursor<'_>) -> Result<Option<String>, DecodeError> {
    let n = c.i16()?;
    if n < 0 {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(c.bytes(n as usize)?).into_owned(),
    ))
}

fn compact_string(c: &mut Cursor<'_>) -> Result<String, DecodeError> {
    let n = c.uvarint()?;
    if n == 0 {
        return Ok(String::new());
    }
    Ok(String::from_utf8_lossy(c.bytes(n as usize - 1)?).into_owned())
}

/// A `__consumer_offsets` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsKey {
    /// Key versions 0 and 1: an offset commit of one group for one partition.
    OffsetCommit {
        group: String,
        topic: String,
        partition: i32,
    },
    /// Key version 2: a group's metadata (members, generation).
    GroupMetadata { group: String },
    /// A key version this decoder does not know.
    Unknown(i16),
}

/// Decodes a `__consumer_offsets` key.
pub fn decode_key(key: &[u8]) -> Result<OffsetsKey, DecodeError> {
    let mut c = Cursor::new(key);
    Ok(match c.i16()? {
        0 | 1 => OffsetsKey::OffsetCommit {
            group: string(&mut c)?,
            topic: string(&mut c)?,
            partition: c.i32()?,
        },
        2 => OffsetsKey::GroupMetadata {
            group: string(&mut c)?,
        },
        v => OffsetsKey::Unknown(v),
    })
}

/// What an offset commit's value holds that a reader of committed offsets needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetCommitValue {
    /// The next offset the group will read.
    pub offset: i64,
    /// When the commit was made (ms since the epoch).
    pub commit_timestamp: i64,
}

/// Decodes an offset commit's value (value versions 0 to 4).
pub fn decode_offset_commit(value: &[u8]) -> Result<OffsetCommitValue, DecodeError> {
    let mut c = Cursor::new(value);
    let version = c.i16()?;
    let offset = c.i64()?;
    if version >= 4 {
        c.i32()?;
        compact_string(&mut c)?;
    } else if version == 3 {
        c.i32()?;
        string(&mut c)?;
    } else {
        string(&mut c)?;
    }
    Ok(OffsetCommitValue {
        offset,
        commit_timestamp: c.i64()?,
    })
}

/// Decodes a `__consumer_offsets` key as Kafka's `--offsets-decoder` prints it.
pub fn describe_key(key: &[u8]) -> Result<String, DecodeError> {
    let mut c = Cursor::new(key);
    let version = c.i16()?;
    match version {
        0 | 1 => {
            let group = string(&mut c)?;
            let topic = string(&mut c)?;
            let partition = c.i32()?;
            Ok(format!(
                "offset_commit::group={group},topic={topic},partition={partition}"
            ))
        }
        2 => Ok(format!("group_metadata::group={}", string(&mut c)?)),
        v => Ok(format!("unknown key version {v}")),
    }
}

/// Decodes a `__consumer_offsets` value, given its key.
pub fn describe_value(key: &[u8], value: Option<&[u8]>) -> Result<String, DecodeError> {
    let Some(value) = value else {
        return Ok("<DELETE>".into());
    };
    let key_version = Cursor::new(key).i16()?;
    let mut c = Cursor::new(value);
    let version = c.i16()?;
    match key_version {
        0 | 1 => {
            let offset = c.i64()?;
            let (leader_epoch, metadata) = if version >= 4 {
                let e = c.i32()?;
                (Some(e), compact_string(&mut c)?)
            } else if version == 3 {
                let e = c.i32()?;
                (Some(e), string(&mut c)?)
            } else {
                (None, string(&mut c)?)
            };
            let commit = c.i64()?;
            let mut s = format!("offset={offset}");
            if let Some(e) = leader_epoch {
                s.push_str(&format!(",leader_epoch={e}"));
            }
            s.push_str(&format!(",metadata={metadata},commit_timestamp={commit}"));
            if version == 1 {
                s.push_str(&format!(",expire_timestamp={}", c.i64()?));
            }
            Ok(s)
        }
        2 => {
            if version >= 4 {
                let protocol_type = compact_string(&mut c)?;
                let generation = c.i32()?;
                return Ok(format!(
                    "protocol_type={protocol_type},generation={generation} (version {version})"
                ));
            }
            let protocol_type = string(&mut c)?;
            let generation = c.i32()?;
            let protocol = nullable_string(&mut c)?;
            let leader = nullable_string(&mut c)?;
            Ok(format!(
                "protocol_type={protocol_type},generation={generation},protocol={},leader={}",
                protocol.as_deref().unwrap_or("null"),
                leader.as_deref().unwrap_or("null")
            ))
        }
        v => Ok(format!("unknown key version {v}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn s(out: &mut Vec<u8>, v: &str) {
        out.extend_from_slice(&(v.len() as i16).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }

    #[test]
    fn offset_commits() {
        let mut key = 1i16.to_be_bytes().to_vec();
        s(&mut key, "etl");
        s(&mut key, "orders");
        key.extend_from_slice(&3i32.to_be_bytes());
        assert_eq!(
            describe_key(&key).unwrap(),
            "offset_commit::group=etl,topic=orders,partition=3"
        );
        let mut v = 3i16.to_be_bytes().to_vec();
        v.extend_from_slice(&42i64.to_be_bytes());
        v.extend_from_slice(&7i32.to_be_bytes());
        s(&mut v, "");
        v.extend_from_slice(&1000i64.to_be_bytes());
        assert_eq!(
            describe_value(&key, Some(&v)).unwrap(),
            "offset=42,leader_epoch=7,metadata=,commit_timestamp=1000"
        );
        assert_eq!(describe_value(&key, None).unwrap(), "<DELETE>");
        assert!(describe_value(&key, Some(&v[..5])).is_err());
        assert_eq!(
            decode_key(&key).unwrap(),
            OffsetsKey::OffsetCommit {
                group: "etl".into(),
                topic: "orders".into(),
                partition: 3
            }
        );
        assert_eq!(
            decode_offset_commit(&v).unwrap(),
            OffsetCommitValue {
                offset: 42,
                commit_timestamp: 1000
            }
        );
        assert!(decode_offset_commit(&v[..v.len() - 1]).is_err());
        let mut g = 2i16.to_be_bytes().to_vec();
        s(&mut g, "etl");
        assert_eq!(
            decode_key(&g).unwrap(),
            OffsetsKey::GroupMetadata {
                group: "etl".into()
            }
        );
        assert_eq!(
            decode_key(&9i16.to_be_bytes()).unwrap(),
            OffsetsKey::Unknown(9)
        );
        // Value version 1 (expire timestamp after the commit timestamp) and 4 (compact).
        let mut v1 = 1i16.to_be_bytes().to_vec();
        v1.extend_from_slice(&7i64.to_be_bytes());
        s(&mut v1, "m");
        v1.extend_from_slice(&5i64.to_be_bytes());
        v1.extend_from_slice(&9i64.to_be_bytes());
        assert_eq!(decode_offset_commit(&v1).unwrap().offset, 7);
        assert_eq!(decode_offset_commit(&v1).unwrap().commit_timestamp, 5);
        let mut v4 = 4i16.to_be_bytes().to_vec();
        v4.extend_from_slice(&8i64.to_be_bytes());
        v4.extend_from_slice(&(-1i32).to_be_bytes());
        v4.push(2);
        v4.push(b'x');
        v4.extend_from_slice(&6i64.to_be_bytes());
        v4.push(0);
        assert_eq!(
            decode_offset_commit(&v4).unwrap(),
            OffsetCommitValue {
                offset: 8,
                commit_timestamp: 6
            }
        );
    }
}
