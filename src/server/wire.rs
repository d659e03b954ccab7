//! Kafka's framing and headers: what comes before and around a request or response body.
//!
//! # Layout
//! ```text
//! request:  size i32 | api_key i16 | api_version i16 | correlation_id i32 | client_id
//!           string (nullable, never compact) | [tag buffer, header v2] | body
//! response: size i32 | correlation_id i32 | [tag buffer, header v1] | body
//! ```
//! The header versions depend on the API and its version (flexible versions use v2/v1).
//! ApiVersions is the exception that lets a client talk to any broker: its response header
//! is always v0, and a request for a version above ours is answered with error 35
//! (UNSUPPORTED_VERSION) and a v0 body listing the versions we have.
//!
//! # Invariants
//! 1. A frame whose size is negative, zero or above the cap, a header that does not decode,
//!    an API key or version that is not in [`SUPPORTED`] (except ApiVersions, above), or a
//!    body that does not decode is [`Parsed::Reject`]ed: the connection is closed without a
//!    response, as a Kafka broker does.
//! 2. Tagged fields are written only when they differ from their defaults (the crate leaves
//!    defaults out): librdkafka 2.0 cannot read an ApiVersions v3 response carrying tags it
//!    does not expect.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};

/// The APIs served and the versions advertised for each (Kafka 4.1 numbering). Every client
/// measured (kcat 1.7, confluent-kafka 2.16, kafka-python 3.0, kafkajs 2.2) picks its
/// versions within these; Fetch stops at 12 and Produce at 9 because later versions name
/// topics by id only.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
];

/// The versions served of an API, if it is served.
pub fn supported(key: i16) -> Option<(ApiKey, i16, i16)> {
    SUPPORTED.iter().copied().find(|(k, _, _)| *k as i16 == key)
}

/// A request frame, parsed.
#[derive(Debug)]
pub enum Parsed {
    Request {
        header: RequestHeader,
        api: ApiKey,
        version: i16,
        body: Box<RequestKind>,
    },
    /// ApiVersions at a version above ours: answered with UNSUPPORTED_VERSION, a v0 body.
    ApiVersionsTooNew { correlation_id: i32 },
    /// Close the connection without answering, for this reason.
    Reject(String),
}

/// Reads a frame's size prefix: `Err` with the reason when the connection must close.
pub fn frame_size(prefix: [u8; 4], max: usize) -> Result<usize, String> {
    let size = i32::from_be_bytes(prefix);
    if size <= 0 {
        return Err(format!("invalid request size {size}"));
    }
    if size as usize > max {
        return Err(format!(
            "request of {size} bytes is larger than socket.request.max.bytes ({max})"
        ));
    }
    Ok(size as usize)
}

/// Parses a request frame (without its size prefix).
pub fn parse_request(mut frame: Bytes) -> Parsed {
    let (Some(key), Some(version), Some(correlation_id)) = (
        frame.get(0..2).map(|b| i16::from_be_bytes([b[0], b[1]])),
        frame.get(2..4).map(|b| i16::from_be_bytes([b[0], b[1]])),
        frame
            .get(4..8)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
    ) else {
        return Parsed::Reject(format!("request of {} bytes has no header", frame.len()));
    };
    let Some((api, min, max)) = supported(key) else {
        return Parsed::Reject(format!("unsupported API key {key}"));
    };
    if api == ApiKey::ApiVersions && version > max {
        return Parsed::ApiVersionsTooNew { correlation_id };
    }
    if version < min || version > max {
        return Parsed::Reject(format!(
            "unsupported version {version} of {api:?} (supported: {min} to {max})"
        ));
    }
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let header = RequestHeader::decode(&mut frame, api.request_header_version(version))?;
        let body = RequestKind::decode(api, &mut frame, version)?;
        Ok::<_, anyhow::Error>((header, body))
    }));
    match decoded {
        Ok(Ok((header, body))) => Parsed::Request {
            header,
            api,
            version,
            body: Box::new(body),
        },
        Ok(Err(e)) => Parsed::Reject(format!("malformed {api:?} v{version} request: {e}")),
        Err(_) => Parsed::Reject(format!("malformed {api:?} v{version} request")),
    }
}

/// Encodes a response frame: size prefix, header (of the version the API and version call
/// for; v0 for ApiVersions), body.
pub fn encode_response(
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    body: &ResponseKind,
) -> anyhow::Result<BytesMut> {
    let mut out = BytesMut::with_capacity(64);
    out.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header.encode(&mut out, api.response_header_version(version))?;
    body.encode(&mut out, version)?;
    let size = (out.len() - 4) as i32;
    out[0..4].copy_from_slice(&size.to_be_bytes());
    Ok(out)
}

/// The ApiVersions response: every API of [`SUPPORTED`], with `error_code`.
pub fn api_versions(error_code: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(
            SUPPORTED
                .iter()
                .map(|&(k, min, max)| {
                    ApiVersion::default()
                        .with_api_key(k as i16)
                        .with_min_version(min)
                        .with_max_version(max)
                })
                .collect(),
        )
}

/// The answer to an ApiVersions request for a version above ours: error 35 with a v0 body.
pub fn api_versions_too_new(correlation_id: i32) -> BytesMut {
    let body = ResponseKind::ApiVersions(api_versions(
        kafka_protocol::ResponseError::UnsupportedVersion.code(),
    ));
    // A v0 body of a few hundred bytes always encodes.
    encode_response(correlation_id, ApiKey::ApiVersions, 0, &body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiVersionsRequest;
    use kafka_protocol::protocol::Message;
    use kafka_protocol::protocol::StrBytes;

    fn request(key: i16, version: i16, correlation: i32, body: &[u8]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_i16(key);
        b.put_i16(version);
        b.put_i32(correlation);
        b.put_i16(4);
        b.put_slice(b"test");
        if api_header_is_flexible(key, version) {
            b.put_u8(0);
        }
        b.put_slice(body);
        b.freeze()
    }

    fn api_header_is_flexible(key: i16, version: i16) -> bool {
        ApiKey::try_from(key)
            .map(|k| k.request_header_version(version) >= 2)
            .unwrap_or(false)
    }

    #[test]
    fn every_advertised_range_is_within_the_crates() {
        for &(k, min, max) in SUPPORTED {
            let r = k.valid_versions();
            assert!(
                r.min <= min && max <= r.max && min <= max,
                "{k:?} {min}..{max} vs {r}"
            );
        }
        assert_eq!(ApiVersionsRequest::VERSIONS.max, 4);
    }

    /// librdkafka 2.0.2 (Debian's kcat) fails on an ApiVersions v3 response carrying the
    /// default-valued tagged fields (tags 0 and 1 followed by another): it must end with an
    /// empty tag buffer right after throttle_time_ms.
    #[test]
    fn regression_api_versions_v3_writes_no_default_tagged_fields() {
        let body = ResponseKind::ApiVersions(api_versions(0));
        let out = encode_response(7, ApiKey::ApiVersions, 3, &body).unwrap();
        let mut expected = BytesMut::new();
        // header v0: correlation id only
        expected.put_i32(7);
        expected.put_i16(0); // error_code
        expected.put_u8(SUPPORTED.len() as u8 + 1); // compact array length + 1
        for &(k, min, max) in SUPPORTED {
            expected.put_i16(k as i16);
            expected.put_i16(min);
            expected.put_i16(max);
            expected.put_u8(0); // no tagged fields
        }
        expected.put_i32(0); // throttle_time_ms
        expected.put_u8(0); // no tagged fields: no features, no epoch
        assert_eq!(&out[4..], &expected[..]);
        assert_eq!(
            i32::from_be_bytes([out[0], out[1], out[2], out[3]]) as usize,
            out.len() - 4
        );
    }

    #[test]
    fn api_versions_above_ours_gets_error_35_and_a_v0_body() {
        let frame = request(18, 9, 42, &[]);
        let Parsed::ApiVersionsTooNew { correlation_id } = parse_request(frame) else {
            panic!("not answered as too new");
        };
        assert_eq!(correlation_id, 42);
        let out = api_versions_too_new(42);
        let mut expected = BytesMut::new();
        expected.put_i32(42);
        expected.put_i16(35);
        expected.put_i32(SUPPORTED.len() as i32);
        for &(k, min, max) in SUPPORTED {
            expected.put_i16(k as i16);
            expected.put_i16(min);
            expected.put_i16(max);
        }
        assert_eq!(&out[4..], &expected[..]);
    }

    /// kcat 1.7.1's first request (librdkafka 2.0.2), as captured on a socket: ApiVersions
    /// v3, correlation id 1, client id "rdkafka", software name and version.
    const KCAT_API_VERSIONS: &[u8] = b"\x00\x12\x00\x03\x00\x00\x00\x01\x00\x07rdkafka\x00\
        \x0blibrdkafka\x062.0.2\x00";

    #[test]
    fn captured_api_versions_v3_request_of_kcat_decodes() {
        let Parsed::Request {
            header,
            api,
            version,
            body,
        } = parse_request(Bytes::from_static(KCAT_API_VERSIONS))
        else {
            panic!("not parsed");
        };
        assert_eq!(
            (api, version, header.correlation_id),
            (ApiKey::ApiVersions, 3, 1)
        );
        assert_eq!(header.client_id.as_deref(), Some("rdkafka"));
        let RequestKind::ApiVersions(r) = *body else {
            panic!("wrong body")
        };
        assert_eq!(
            r.client_software_name,
            StrBytes::from_static_str("librdkafka")
        );
        assert_eq!(
            r.client_software_version,
            StrBytes::from_static_str("2.0.2")
        );
        // Cut anywhere, it is rejected, never a panic.
        for n in 0..KCAT_API_VERSIONS.len() - 1 {
            let cut = Bytes::copy_from_slice(&KCAT_API_VERSIONS[..n]);
            assert!(
                matches!(parse_request(cut), Parsed::Reject(_)),
                "cut at {n}"
            );
        }
    }

    /// A ten-byte request announcing 2^31 topics made the decoder ask for 150 GiB up front,
    /// which aborted the whole server (the vendored crate now refuses such counts).
    #[test]
    fn regression_huge_element_counts_are_rejected_without_allocating() {
        let mut metadata = BytesMut::new();
        metadata.put_i32(i32::MAX);
        let frame = request(3, 1, 7, &metadata);
        assert!(matches!(parse_request(frame), Parsed::Reject(_)));
        // Produce v9 (flexible): a compact array of 2^32 - 2 topics.
        let mut produce = BytesMut::new();
        produce.put_u8(0); // null transactional id
        produce.put_i16(1);
        produce.put_i32(1000);
        produce.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        let frame = request(0, 9, 8, &produce);
        assert!(matches!(parse_request(frame), Parsed::Reject(_)));
    }

    /// Random bodies for every API and version served: each is rejected or decoded, never
    /// a panic or an abort (bodies that announce huge counts included: every fourth one
    /// starts with 0x7f or 0xff bytes).
    #[test]
    fn random_bodies_never_panic_or_abort() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for &(api, min, max) in SUPPORTED {
            for version in min..=max {
                for round in 0..200 {
                    let len = (next() % 64) as usize;
                    let mut body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                    if round % 4 == 0 {
                        for b in body.iter_mut().take(8) {
                            *b = if next() % 2 == 0 { 0x7f } else { 0xff };
                        }
                    }
                    let frame = request(api as i16, version, round, &body);
                    let _ = parse_request(frame);
                }
            }
        }
    }

    #[test]
    fn bad_frames_are_rejected() {
        assert!(frame_size((-1i32).to_be_bytes(), 100).is_err());
        assert!(frame_size(0i32.to_be_bytes(), 100).is_err());
        assert!(frame_size(101i32.to_be_bytes(), 100).is_err());
        assert_eq!(frame_size(100i32.to_be_bytes(), 100), Ok(100));
        for frame in [
            Bytes::from_static(&[0, 3]),
            request(999, 0, 1, &[]),
            request(0, 2, 1, &[]),
            request(1, 13, 1, &[]),
            request(ApiKey::JoinGroup as i16, 5, 1, &[]),
            // Metadata v1 whose topic array is cut off.
            request(3, 1, 1, &[0, 0, 0, 5, 0]),
        ] {
            assert!(
                matches!(parse_request(frame.clone()), Parsed::Reject(_)),
                "{frame:?}"
            );
        }
    }
}
