//! Fetch response frames whose record bytes stay in the segment files until they are sent.
//!
//! A partition that answers more than [`INLINE_MAX`] bytes hands its records over as ranges
//! of its segment files ([`FileRecords`]) rather than a buffer. [`encode`] writes the frame
//! around them as a list of [`Part`]s, and [`write_parts`] sends it: on a plaintext TCP
//! connection (Linux) each range goes from the page cache to the socket with `sendfile`, so
//! the bytes never pass through user space; on TLS each range is read into a buffer of at
//! most [`FALLBACK_CHUNK`] bytes and written.
//!
//! # Invariants
//! 1. The frame is byte for byte what the `kafka-protocol` crate writes for the same response
//!    with the records inline (tested for every version served, 4 to 12), and it writes no
//!    tagged field: a response carrying one (none of ours does) is refused, not guessed at.
//! 2. A range is only ever bytes the log reader already handed out, whole batches whose
//!    framing and CRC it checked: they never change in the file. The file handle is the one
//!    the reader read, so a segment deleted or replaced by a compaction swap meanwhile is
//!    still sent as it was read.
//! 3. If a range comes up short (a file cut meanwhile: a replica truncated to its source's
//!    log), the frame cannot be completed: [`write_parts`] fails and the connection closes,
//!    and the client fetches again on a new one.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::FetchResponse;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Partitions whose records fit in this many bytes copy them into the frame: for a few
/// small batches one write costs less than a write and a `sendfile` per range.
pub const INLINE_MAX: usize = 64 << 10;

/// Largest read of a range into memory when `sendfile` cannot be used.
pub const FALLBACK_CHUNK: usize = 256 << 10;

/// A run of bytes in a segment file.
#[derive(Clone, Debug)]
pub struct FileRange {
    pub file: Arc<File>,
    pub path: Arc<Path>,
    pub pos: u64,
    pub len: u64,
}

/// One partition's records as ranges of its segment files, in log order.
#[derive(Default, Debug)]
pub struct FileRecords {
    pub ranges: Vec<FileRange>,
    pub len: u64,
}

impl FileRecords {
    /// Adds `len` bytes at `pos` of `file`, extending the last range when they follow it.
    pub fn push(&mut self, file: &Arc<File>, path: &Path, pos: u64, len: u64) {
        self.len += len;
        if let Some(last) = self.ranges.last_mut()
            && Arc::ptr_eq(&last.file, file)
            && last.pos + last.len == pos
        {
            last.len += len;
            return;
        }
        self.ranges.push(FileRange {
            file: file.clone(),
            path: path.into(),
            pos,
            len,
        });
    }
}

/// The partitions of a response whose records are in files: (topic index, partition index
/// in that topic) in the response, in response order.
pub type Spliced = Vec<((usize, usize), FileRecords)>;

/// A piece of a response frame.
#[derive(Debug)]
pub enum Part {
    Bytes(Bytes),
    File(FileRange),
}

/// Writes Kafka's variable-length unsigned integer.
fn put_uvarint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// An array or string length: compact (length + 1, unsigned varint) from v12, else `i32`
/// for arrays and `i16` for strings.
fn put_len(out: &mut BytesMut, flexible: bool, len: usize, string: bool) {
    if flexible {
        put_uvarint(out, len as u64 + 1);
    } else if string {
        out.put_i16(len as i16);
    } else {
        out.put_i32(len as i32);
    }
}

/// Encodes the frame of a Fetch response (size prefix, header, body) for `version` 4 to 12,
/// with the records of the partitions named in `files` taken from their files (invariant 1).
pub fn encode(
    correlation_id: i32,
    version: i16,
    resp: &FetchResponse,
    files: Spliced,
) -> Result<Vec<Part>, String> {
    if !(4..=12).contains(&version) {
        return Err(format!("Fetch v{version} is not encoded here"));
    }
    let flexible = version >= 12;
    if !resp.unknown_tagged_fields.is_empty() {
        return Err("a Fetch response with tagged fields".into());
    }
    let mut files = files.into_iter().peekable();
    let mut parts = Vec::new();
    // The frame's first bytes, split off before the first file range: the size goes there.
    let mut head: Option<BytesMut> = None;
    let mut out = BytesMut::with_capacity(256);
    let mut size: u64 = 0;
    out.put_i32(0); // size, filled in at the end
    out.put_i32(correlation_id);
    if flexible {
        out.put_u8(0); // response header v1: no tagged fields
    }
    out.put_i32(resp.throttle_time_ms);
    if version >= 7 {
        out.put_i16(resp.error_code);
        out.put_i32(resp.session_id);
    }
    put_len(&mut out, flexible, resp.responses.len(), false);
    for (ti, t) in resp.responses.iter().enumerate() {
        if !t.unknown_tagged_fields.is_empty() {
            return Err("a Fetch response with tagged fields".into());
        }
        let name = t.topic.as_bytes();
        put_len(&mut out, flexible, name.len(), true);
        out.put_slice(name);
        put_len(&mut out, flexible, t.partitions.len(), false);
        for (pi, p) in t.partitions.iter().enumerate() {
            if flexible
                && (p.diverging_epoch != Default::default()
                    || p.current_leader != Default::default()
                    || p.snapshot_id != Default::default()
                    || !p.unknown_tagged_fields.is_empty())
            {
                return Err("a Fetch response with tagged fields".into());
            }
            if version < 11 && p.preferred_read_replica != -1 {
                return Err(format!("a preferred read replica in Fetch v{version}"));
            }
            out.put_i32(p.partition_index);
            out.put_i16(p.error_code);
            out.put_i64(p.high_watermark);
            out.put_i64(p.last_stable_offset);
            if version >= 5 {
                out.put_i64(p.log_start_offset);
            }
            match &p.aborted_transactions {
                None if flexible => put_uvarint(&mut out, 0),
                None => out.put_i32(-1),
                Some(aborted) => {
                    put_len(&mut out, flexible, aborted.len(), false);
                    for a in aborted {
                        if !a.unknown_tagged_fields.is_empty() {
                            return Err("a Fetch response with tagged fields".into());
                        }
                        out.put_i64(*a.producer_id);
                        out.put_i64(a.first_offset);
                        if flexible {
                            out.put_u8(0);
                        }
                    }
                }
            }
            if version >= 11 {
                out.put_i32(*p.preferred_read_replica);
            }
            let in_files = match files.peek() {
                Some((at, _)) if *at == (ti, pi) => files.next().map(|(_, f)| f),
                _ => None,
            };
            match (in_files, &p.records) {
                (Some(f), _) => {
                    put_len(&mut out, flexible, f.len as usize, false);
                    size += out.len() as u64;
                    let chunk = out.split();
                    if head.is_none() {
                        head = Some(chunk);
                        parts.push(Part::Bytes(Bytes::new()));
                    } else {
                        parts.push(Part::Bytes(chunk.freeze()));
                    }
                    size += f.len;
                    parts.extend(f.ranges.into_iter().map(Part::File));
                }
                (None, None) if flexible => put_uvarint(&mut out, 0),
                (None, None) => out.put_i32(-1),
                (None, Some(r)) => {
                    put_len(&mut out, flexible, r.len(), false);
                    out.put_slice(r);
                }
            }
            if flexible {
                out.put_u8(0); // the partition's tagged fields: none
            }
        }
        if flexible {
            out.put_u8(0);
        }
    }
    if flexible {
        out.put_u8(0);
    }
    if files.next().is_some() {
        return Err("file records for a partition that is not in the response".into());
    }
    size += out.len() as u64;
    let size = i32::try_from(size - 4).map_err(|_| "a Fetch response over 2 GiB".to_string())?;
    match head {
        Some(mut head) => {
            head[0..4].copy_from_slice(&size.to_be_bytes());
            parts[0] = Part::Bytes(head.freeze());
        }
        None => out[0..4].copy_from_slice(&size.to_be_bytes()),
    }
    parts.push(Part::Bytes(out.freeze()));
    Ok(parts)
}

/// Puts the records of `files` into `resp`, read from their files (for tests that look at
/// the records).
#[cfg(test)]
pub fn inline_records(resp: &mut FetchResponse, files: Spliced) -> std::io::Result<()> {
    for ((ti, pi), f) in files {
        let mut records = Vec::with_capacity(f.len as usize);
        for r in &f.ranges {
            let mut buf = vec![0; r.len as usize];
            read_range(r, r.pos, &mut buf)?;
            records.extend_from_slice(&buf);
        }
        resp.responses[ti].partitions[pi].records = Some(records.into());
    }
    Ok(())
}

/// What a connection's writer is, for [`write_parts`]: the TCP socket under it when writes go
/// straight to one (plaintext), so that file ranges can be sent with `sendfile`.
pub trait Socket {
    fn tcp(&self) -> Option<&TcpStream>;
}

impl Socket for tokio::net::tcp::OwnedWriteHalf {
    fn tcp(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }
}

impl<T> Socket for tokio::io::WriteHalf<T> {
    fn tcp(&self) -> Option<&TcpStream> {
        None
    }
}

/// Sends a frame's parts in order (invariant 3 for a range that comes up short).
pub async fn write_parts<W>(wr: &mut W, parts: Vec<Part>) -> std::io::Result<()>
where
    W: AsyncWrite + Socket + Unpin,
{
    let mut buf = Vec::new();
    for part in parts {
        match part {
            Part::Bytes(b) => wr.write_all(&b).await?,
            Part::File(r) => match wr.tcp() {
                #[cfg(target_os = "linux")]
                Some(tcp) => send_file(tcp, &r).await?,
                _ => {
                    let mut pos = r.pos;
                    let end = r.pos + r.len;
                    while pos < end {
                        let n = ((end - pos) as usize).min(FALLBACK_CHUNK);
                        buf.resize(n, 0);
                        read_range(&r, pos, &mut buf)?;
                        wr.write_all(&buf).await?;
                        pos += n as u64;
                    }
                }
            },
        }
    }
    wr.flush().await
}

/// Reads `buf.len()` bytes of a range's file at `pos`.
fn read_range(r: &FileRange, pos: u64, buf: &mut [u8]) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    r.file.read_exact_at(buf, pos).map_err(|e| short(r, e))
}

fn short(r: &FileRange, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        e.kind(),
        format!(
            "cannot send {} bytes at {} of {}: {e}",
            r.len,
            r.pos,
            r.path.display()
        ),
    )
}

/// Sends a range from the page cache to the socket, waiting whenever the socket is full.
#[cfg(target_os = "linux")]
async fn send_file(tcp: &TcpStream, r: &FileRange) -> std::io::Result<()> {
    let mut pos = r.pos;
    let end = r.pos + r.len;
    while pos < end {
        tcp.writable().await?;
        let want = ((end - pos) as usize).min(1 << 30);
        let sent = tcp.try_io(tokio::io::Interest::WRITABLE, || {
            let mut at = pos;
            rustix::fs::sendfile(tcp, &*r.file, Some(&mut at), want).map_err(std::io::Error::from)
        });
        match sent {
            Ok(0) => {
                return Err(short(
                    r,
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file ends before the range",
                    ),
                ));
            }
            Ok(n) => pos += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, FetchableTopicResponse, PartitionData,
    };
    use kafka_protocol::messages::{ApiKey, ResponseKind};
    use kafka_protocol::protocol::StrBytes;
    use std::io::Write;

    fn partition(index: i32, records: Option<Bytes>) -> PartitionData {
        PartitionData::default()
            .with_partition_index(index)
            .with_error_code(if index == 3 { 1 } else { 0 })
            .with_high_watermark(1000 + index as i64)
            .with_last_stable_offset(1000 + index as i64)
            .with_log_start_offset(7)
            .with_records(records)
    }

    /// Flattens parts into one buffer, reading the file ranges.
    fn flatten(parts: &[Part]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Part::Bytes(b) => out.extend_from_slice(b),
                Part::File(r) => {
                    let mut buf = vec![0; r.len as usize];
                    read_range(r, r.pos, &mut buf).unwrap();
                    out.extend_from_slice(&buf);
                }
            }
        }
        out
    }

    /// Every version served: the frame with records taken from a file is the crate's frame
    /// with the same records inline.
    #[test]
    fn frames_are_the_crates_for_every_version() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        tmp.write_all(&data).unwrap();
        let file = Arc::new(tmp.reopen().unwrap());
        let path = tmp.path();
        for version in 4..=12i16 {
            // Topic "a": file records in two ranges, inline records, no records, an error;
            // topic "b": file records alone.
            let mut f0 = FileRecords::default();
            f0.push(&file, path, 10, 100);
            f0.push(&file, path, 110, 5000);
            f0.push(&file, path, 9000, 70_000);
            let mut f1 = FileRecords::default();
            f1.push(&file, path, 200_000, 99_999);
            let inline0 = Bytes::from([&data[10..5110], &data[9000..79_000]].concat());
            let inline1 = Bytes::copy_from_slice(&data[200_000..299_999]);
            let mut aborted = partition(4, Some(Bytes::from_static(b"xyz")));
            if version >= 4 {
                aborted = aborted.with_aborted_transactions(Some(vec![
                    AbortedTransaction::default()
                        .with_producer_id(9.into())
                        .with_first_offset(11),
                ]));
            }
            let make = |p0: Option<Bytes>, p1: Option<Bytes>| {
                let mut r = FetchResponse::default()
                    .with_throttle_time_ms(5)
                    .with_responses(vec![
                        FetchableTopicResponse::default()
                            .with_topic(StrBytes::from_static_str("a").into())
                            .with_partitions(vec![
                                partition(0, p0),
                                partition(1, Some(Bytes::from_static(b"inline"))),
                                partition(2, None),
                                partition(3, Some(Bytes::new())),
                                aborted.clone(),
                            ]),
                        FetchableTopicResponse::default()
                            .with_topic(StrBytes::from_static_str("bb").into())
                            .with_partitions(vec![partition(0, p1)]),
                    ]);
                if version >= 7 {
                    r = r.with_error_code(0).with_session_id(0);
                }
                if version >= 11 {
                    r.responses[0].partitions[1].preferred_read_replica = 1.into();
                }
                r
            };
            let expected = super::super::wire::encode_response(
                77,
                ApiKey::Fetch,
                version,
                &ResponseKind::Fetch(make(Some(inline0), Some(inline1))),
            )
            .unwrap();
            let parts = encode(
                77,
                version,
                &make(Some(Bytes::new()), None),
                vec![((0, 0), f0), ((1, 0), f1)],
            )
            .unwrap();
            // The head, two ranges (the first two pushes are one), the bytes up to the next
            // file records, their range, the tail.
            assert_eq!(parts.len(), 6, "v{version}: {parts:?}");
            assert_eq!(flatten(&parts), &expected[..], "v{version}");
        }
    }

    /// Parts sent through a real TCP connection (`sendfile`) and through a split stream (the
    /// TLS path: read and write) arrive as one frame; a range past the end of its file fails
    /// the write (invariant 3) after sending what the file held.
    #[test]
    fn parts_arrive_whole_over_tcp_and_through_the_fallback() {
        use tokio::io::AsyncReadExt;
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&data).unwrap();
        let file = Arc::new(tmp.reopen().unwrap());
        let parts = |past_end: bool| {
            let mut f = FileRecords::default();
            f.push(&file, tmp.path(), 5, 1_000_000);
            f.push(
                &file,
                tmp.path(),
                2_000_000,
                if past_end { 1_000_001 } else { 1_000_000 },
            );
            let mut v = vec![Part::Bytes(Bytes::from_static(b"head"))];
            v.extend(f.ranges.into_iter().map(Part::File));
            v.push(Part::Bytes(Bytes::from_static(b"tail")));
            v
        };
        let expected = [b"head", &data[5..1_000_005], &data[2_000_000..], b"tail"].concat();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            for past_end in [false, true] {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let client = TcpStream::connect(listener.local_addr().unwrap());
                let (client, accepted) = tokio::join!(client, listener.accept());
                let (_rd, mut wr) = accepted.unwrap().0.into_split();
                let mut client = client.unwrap();
                let reader = tokio::spawn(async move {
                    let mut got = Vec::new();
                    let _ = client.read_to_end(&mut got).await;
                    got
                });
                let sent = write_parts(&mut wr, parts(past_end)).await;
                drop(wr);
                let got = reader.await.unwrap();
                if past_end {
                    let e = sent.unwrap_err();
                    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
                    assert_eq!(got, &expected[..expected.len() - 4], "sent up to the cut");
                } else {
                    sent.unwrap();
                    assert!(
                        got == expected,
                        "tcp: {} bytes of {}",
                        got.len(),
                        expected.len()
                    );
                }

                let (a, mut b) = tokio::io::duplex(64 << 10);
                let (_ra, mut wa) = tokio::io::split(a);
                let reader = tokio::spawn(async move {
                    let mut got = Vec::new();
                    let _ = b.read_to_end(&mut got).await;
                    got
                });
                let sent = write_parts(&mut wa, parts(past_end)).await;
                drop((wa, _ra));
                let got = reader.await.unwrap();
                if past_end {
                    assert_eq!(sent.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
                } else {
                    sent.unwrap();
                    assert!(got == expected, "split: {} bytes", got.len());
                }
            }
        });
    }

    #[test]
    fn tagged_fields_and_stray_files_are_refused() {
        let r = FetchResponse::default().with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(StrBytes::from_static_str("a").into())
                .with_partitions(vec![
                    partition(0, None).with_snapshot_id(
                        kafka_protocol::messages::fetch_response::SnapshotId::default()
                            .with_end_offset(5),
                    ),
                ]),
        ]);
        assert!(encode(1, 12, &r, Vec::new()).is_err());
        assert!(encode(1, 11, &r, Vec::new()).is_ok());
        let stray = vec![((5, 0), FileRecords::default())];
        assert!(encode(1, 11, &r, stray).is_err());
        assert!(encode(1, 13, &r, Vec::new()).is_err());
    }
}
