//! Control records: the one record of a batch whose control bit (attribute bit 5,
//! [`super::batch::CONTROL_FLAG_MASK`]) is set. Transactions end with one (an end-transaction
//! marker, COMMIT or ABORT), and KRaft's metadata log uses others.
//!
//! # Layout
//! The key (every control record), big-endian:
//!
//! | off | size | field   | notes                                   |
//! |----:|-----:|---------|-----------------------------------------|
//! |   0 |    2 | version | 0                                       |
//! |   2 |    2 | type    | [`ControlRecordType`]: 0 ABORT, 1 COMMIT, … |
//!
//! The value of an end-transaction marker (types 0 and 1):
//!
//! | off | size | field             |
//! |----:|-----:|-------------------|
//! |   0 |    2 | version (0)       |
//! |   2 |    4 | coordinator_epoch |
//!
//! # Invariants
//! 1. Decoding never panics: a key shorter than 4 bytes has no type, a value shorter than
//!    6 bytes no coordinator epoch.
//! 2. Type ids this decoder does not know are kept ([`ControlRecordType::Unknown`]), never
//!    refused: a newer broker may write them.
//!
//! # Kafka
//! `ControlRecordType` (its `parseTypeId` reads bytes 2-3 of the key) and
//! `EndTransactionMarker`.

/// Bytes of a control record's key: version and type.
pub const CONTROL_KEY_LEN: usize = 4;
/// Bytes of an end-transaction marker's value: version and coordinator epoch.
pub const END_TXN_MARKER_VALUE_LEN: usize = 6;

/// What a control record is, from its key's type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    Abort,
    Commit,
    LeaderChange,
    SnapshotHeader,
    SnapshotFooter,
    KraftVersion,
    KraftVoters,
    /// A type id klog does not know (kept as read).
    Unknown(i16),
}

impl ControlRecordType {
    /// The type of a type id.
    pub fn from_id(id: i16) -> ControlRecordType {
        match id {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            2 => ControlRecordType::LeaderChange,
            3 => ControlRecordType::SnapshotHeader,
            4 => ControlRecordType::SnapshotFooter,
            5 => ControlRecordType::KraftVersion,
            6 => ControlRecordType::KraftVoters,
            other => ControlRecordType::Unknown(other),
        }
    }

    /// The type of a control record's key; `None` when the key is too short to have one.
    pub fn parse_key(key: &[u8]) -> Option<ControlRecordType> {
        let [_, _, hi, lo] = *key.first_chunk::<CONTROL_KEY_LEN>()?;
        Some(ControlRecordType::from_id(i16::from_be_bytes([hi, lo])))
    }

    /// The type id, as the key holds it.
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::LeaderChange => 2,
            ControlRecordType::SnapshotHeader => 3,
            ControlRecordType::SnapshotFooter => 4,
            ControlRecordType::KraftVersion => 5,
            ControlRecordType::KraftVoters => 6,
            ControlRecordType::Unknown(id) => id,
        }
    }

    /// Kafka's name: `ABORT`, `COMMIT`, `LEADER_CHANGE`, … and `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self {
            ControlRecordType::Abort => "ABORT",
            ControlRecordType::Commit => "COMMIT",
            ControlRecordType::LeaderChange => "LEADER_CHANGE",
            ControlRecordType::SnapshotHeader => "SNAPSHOT_HEADER",
            ControlRecordType::SnapshotFooter => "SNAPSHOT_FOOTER",
            ControlRecordType::KraftVersion => "KRAFT_VERSION",
            ControlRecordType::KraftVoters => "KRAFT_VOTERS",
            ControlRecordType::Unknown(_) => "UNKNOWN",
        }
    }

    /// Whether this type ends a transaction (its value is an [`EndTransactionMarker`]).
    pub fn is_end_txn_marker(self) -> bool {
        matches!(self, ControlRecordType::Abort | ControlRecordType::Commit)
    }
}

/// The value of an ABORT or COMMIT control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTransactionMarker {
    /// COMMIT or ABORT.
    pub control_type: ControlRecordType,
    /// The transaction coordinator's epoch; `None` when the value is too short to hold one.
    pub coordinator_epoch: Option<i32>,
}

impl EndTransactionMarker {
    /// The marker of a control record whose key is of `control_type` and whose value is
    /// `value`; `None` unless the type is ABORT or COMMIT.
    pub fn parse(control_type: ControlRecordType, value: &[u8]) -> Option<EndTransactionMarker> {
        if !control_type.is_end_txn_marker() {
            return None;
        }
        let coordinator_epoch = value
            .first_chunk::<END_TXN_MARKER_VALUE_LEN>()
            .map(|&[_, _, a, b, c, d]| i32::from_be_bytes([a, b, c, d]));
        Some(EndTransactionMarker {
            control_type,
            coordinator_epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn every_known_type_id_round_trips_with_kafkas_name() {
        let names = [
            "ABORT",
            "COMMIT",
            "LEADER_CHANGE",
            "SNAPSHOT_HEADER",
            "SNAPSHOT_FOOTER",
            "KRAFT_VERSION",
            "KRAFT_VOTERS",
        ];
        for (id, name) in (0i16..).zip(names) {
            let t = ControlRecordType::from_id(id);
            assert_eq!((t.id(), t.name()), (id, name));
            assert!(!matches!(t, ControlRecordType::Unknown(_)));
        }
        let t = ControlRecordType::from_id(7);
        assert_eq!(
            (t, t.id(), t.name()),
            (ControlRecordType::Unknown(7), 7, "UNKNOWN")
        );
    }

    #[test]
    fn the_type_is_read_from_bytes_two_and_three_of_the_key() {
        // Version 0, type COMMIT, as Kafka's ControlRecordType.COMMIT.recordKey() writes it.
        assert_eq!(
            ControlRecordType::parse_key(&[0, 0, 0, 1]),
            Some(ControlRecordType::Commit)
        );
        assert_eq!(
            ControlRecordType::parse_key(&[0, 0, 0, 0, 99]),
            Some(ControlRecordType::Abort)
        );
        assert_eq!(
            ControlRecordType::parse_key(&[0, 0, 0x01, 0x00]),
            Some(ControlRecordType::Unknown(256))
        );
        for short in [&[][..], &[0], &[0, 0, 0]] {
            assert_eq!(ControlRecordType::parse_key(short), None);
        }
    }

    #[test]
    fn end_transaction_markers_carry_the_coordinator_epoch() {
        let value = [0, 0, 0, 0, 0, 7];
        let m = EndTransactionMarker::parse(ControlRecordType::Abort, &value).unwrap();
        assert_eq!(m.control_type, ControlRecordType::Abort);
        assert_eq!(m.coordinator_epoch, Some(7));
        let m =
            EndTransactionMarker::parse(ControlRecordType::Commit, &[0, 0, 0xff, 0xff, 0xff, 0xfe])
                .unwrap();
        assert_eq!(m.coordinator_epoch, Some(-2));
        // Too short for an epoch: a marker without one.
        let m = EndTransactionMarker::parse(ControlRecordType::Commit, &[0, 0, 1]).unwrap();
        assert_eq!(m.coordinator_epoch, None);
        // Other control types are no markers.
        assert_eq!(
            EndTransactionMarker::parse(ControlRecordType::LeaderChange, &value),
            None
        );
    }
}
