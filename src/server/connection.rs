//! Listeners and connections: accept, read a frame, answer it, read the next.
//!
//! # Invariants
//! 1. One request at a time per connection, so responses go out in request order; a produce
//!    with `acks=0` is handled and gets no response (the connection closes if it failed).
//! 2. A frame's bytes are read as they arrive, the buffer growing with them (never sized up
//!    front from the size prefix), so a client announcing 100 MiB and sending nothing costs
//!    nothing; 1 000 idle connections cost a task and a small buffer each.
//! 3. Whatever one connection does (a bad frame, a stall mid-frame, a reader that never
//!    drains its socket, a panic in a handler) ends or stalls that connection only.
//! 4. Shutdown: listeners stop accepting; a connection between requests, or in the middle of
//!    receiving one, closes; a request being handled is finished and answered (a waiting
//!    fetch answers at once with what it has).
//! 5. On a TLS listener nothing is read as a request before the TLS handshake completes
//!    (at most [`TLS_HANDSHAKE_TIMEOUT`]). On a SASL listener, until the client has
//!    authenticated, only ApiVersions, SaslHandshake and SaslAuthenticate are answered:
//!    any other request closes the connection, before it is handled. A failed
//!    authentication is answered with SASL_AUTHENTICATION_FAILED, reported (rate-limited)
//!    with the peer address, and closes the connection.
//! 6. A plaintext connection reads and writes the socket's halves directly: TLS, SASL and
//!    ACLs add nothing per request on it beyond a check of the connection's state and one
//!    atomic load (the policy's generation) while no user exists.
//! 7. Once a user exists, each request is checked against the ACLs for the connection's
//!    principal (`User:NAME`, or `User:ANONYMOUS` without SASL) before it is handled
//!    ([`super::authz`]).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, RequestKind, ResponseKind, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::acl::Operation;
use super::authz::{self, Access};
use super::broker::Broker;
use super::coordinator::ClientInfo;
use super::fetch::FetchState;
use super::fetch_frame::{self, Part, Socket, Spliced};
use super::groups::Reply;
use super::listener::Listener;
use super::sasl::{Exchange, Step};
use super::wire::{self, Parsed};
use super::{Event, SHUTDOWN_GRACE};
use crate::error::{Error, Result};

/// How often due `flush.ms` fsyncs are started.
const TICK: std::time::Duration = std::time::Duration::from_millis(100);

/// Longest a client may take to complete its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts on every listener until `shutdown` completes, then waits (at most
/// [`SHUTDOWN_GRACE`]) for the connections to finish their requests.
pub async fn serve(
    listeners: Vec<(std::net::TcpListener, Listener)>,
    broker: Arc<Broker>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Every connection task holds a sender: when all are gone, `recv` returns None.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut accepting = Vec::new();
    for (l, info) in listeners {
        let addr = l.local_addr().ok();
        let l = TcpListener::from_std(l).map_err(|e| Error::Io {
            op: "listen on",
            path: addr.map(|a| a.to_string()).unwrap_or_default().into(),
            source: e,
        })?;
        accepting.push(tokio::spawn(accept_loop(
            l,
            Arc::new(info),
            broker.clone(),
            broker.stop_signal(),
            alive_tx.clone(),
        )));
    }
    drop(alive_tx);
    let ticker = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let b = broker.clone();
                let _ = tokio::task::spawn_blocking(move || b.tick()).await;
            }
        })
    };
    shutdown.await;
    ticker.abort();
    broker.emit(Event::Stopping);
    broker.begin_shutdown();
    for a in accepting {
        let _ = a.await;
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, alive_rx.recv()).await;
    Ok(())
}

async fn accept_loop(
    listener: TcpListener,
    info: Arc<Listener>,
    broker: Arc<Broker>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let slot = match broker.connections().admit(peer.ip()) {
                        Ok(slot) => slot,
                        Err(reason) => {
                            drop(stream);
                            broker.emit(Event::ConnectionError { peer, reason });
                            continue;
                        }
                    };
                    let broker = broker.clone();
                    let stop = broker.stop_signal();
                    let alive = alive.clone();
                    let info = info.clone();
                    tokio::spawn(async move {
                        let _alive = alive;
                        let _slot = slot;
                        if let Err(reason) = accepted_connection(stream, peer, &info, &broker, stop).await {
                            broker.emit(Event::ConnectionError { peer, reason });
                        }
                    });
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            },
            _ = stop.changed() => return,
        }
    }
}

/// Reads exactly `size` bytes, growing the buffer as they arrive (see the module doc).
async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R, size: usize) -> std::io::Result<BytesMut> {
    const STEP: usize = 1 << 20;
    let mut buf = BytesMut::with_capacity(size.min(STEP));
    while buf.len() < size {
        let want = size - buf.len();
        buf.reserve(want.min(STEP));
        let n = (&mut *rd).take(want as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(buf)
}

/// Completes the TLS handshake of a TLS listener's connection, then serves it.
async fn accepted_connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    listener: &Listener,
    broker: &Arc<Broker>,
    mut stop: watch::Receiver<bool>,
) -> std::result::Result<(), String> {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = &listener.tls else {
        let (rd, wr) = stream.into_split();
        return connection(rd, wr, peer, listener, broker, stop).await;
    };
    let tls = tokio::select! {
        r = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => return Err(format!("TLS handshake failed: {e}")),
            Err(_) => return Err("TLS handshake timed out".into()),
        },
        _ = stop.changed() => return Ok(()),
    };
    let (rd, wr) = tokio::io::split(tls);
    connection(rd, wr, peer, listener, broker, stop).await
}

/// Where a connection is in SASL authentication.
enum Auth {
    /// Not a SASL listener.
    None,
    /// A SASL listener, not yet authenticated; the exchange once SaslHandshake chose a
    /// mechanism, and whether its tokens come raw (SaslHandshake v0) rather than in
    /// SaslAuthenticate requests.
    Pending {
        exchange: Option<Box<Exchange>>,
        raw: bool,
    },
    /// Authenticated as this user.
    User(String),
}

/// Kafka's message for a failed authentication (the reason stays in the server's log).
fn auth_failed_message(mechanism: &str) -> String {
    format!(
        "Authentication failed during authentication due to invalid credentials with SASL \
         mechanism {mechanism}"
    )
}

/// Runs one step of a SASL exchange on the blocking pool (PBKDF2 for PLAIN), with the users
/// as the data directory has them now.
async fn sasl_step(
    broker: &Arc<Broker>,
    peer: std::net::SocketAddr,
    mut exchange: Box<Exchange>,
    token: Bytes,
) -> std::result::Result<(Box<Exchange>, Step), String> {
    let dir = broker.config().dir.clone();
    let (exchange, step) = blocking(move || {
        let step = match super::users::Users::load(&dir) {
            Ok(users) => exchange.step(&token, &users),
            Err(e) => Step::Failed {
                user: None,
                reason: e.to_string(),
            },
        };
        (exchange, step)
    })
    .await?;
    if let Step::Failed { user, reason } = &step {
        broker.auth_failed(peer, exchange.mechanism(), user.clone(), reason.clone());
    }
    Ok((exchange, step))
}

/// Serves one connection until the client closes it, it is rejected, or the server stops.
/// `Err` carries the reason worth reporting; a client that just goes away is `Ok`.
async fn connection<R, W>(
    rd: R,
    mut wr: W,
    peer: std::net::SocketAddr,
    listener: &Listener,
    broker: &Arc<Broker>,
    mut stop: watch::Receiver<bool>,
) -> std::result::Result<(), String>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Socket + Unpin + Send,
{
    let mut rd = BufReader::with_capacity(64 << 10, rd);
    let mut fetch_state = Some(Box::<FetchState>::default());
    let max = broker.config().max_request_bytes;
    let mut auth = if listener.protocol.sasl() {
        Auth::Pending {
            exchange: None,
            raw: false,
        }
    } else {
        Auth::None
    };
    let mut principal = super::acl::ANONYMOUS.to_string();
    let mut policy = broker.policy();
    let readvertise = listener.advertised != {
        let (h, p) = broker.advertised();
        (h.to_string(), p)
    };
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let mut prefix = [0u8; 4];
        tokio::select! {
            r = rd.read_exact(&mut prefix) => if r.is_err() { return Ok(()) },
            _ = stop.changed() => return Ok(()),
        }
        let size = wire::frame_size(prefix, max)?;
        let frame = tokio::select! {
            r = read_frame(&mut rd, size) => match r {
                Ok(f) => f.freeze(),
                Err(_) => return Ok(()),
            },
            _ = stop.changed() => return Ok(()),
        };
        // After a SaslHandshake v0, the client's tokens come as bare frames.
        if let Auth::Pending {
            exchange: exchange @ Some(_),
            raw: true,
        } = &mut auth
        {
            let ex = exchange.take().unwrap_or_else(|| unreachable!());
            let mechanism = ex.mechanism();
            let (ex, step) = sasl_step(broker, peer, ex, frame).await?;
            let reply = match step {
                Step::Continue(reply) => {
                    *exchange = Some(ex);
                    reply
                }
                Step::Done { user, reply } => {
                    principal = format!("User:{user}");
                    auth = Auth::User(user);
                    reply
                }
                Step::Failed { .. } => {
                    return Err(format!("{mechanism} authentication failed"));
                }
            };
            let mut out = Vec::with_capacity(4 + reply.len());
            out.extend_from_slice(&(reply.len() as u32).to_be_bytes());
            out.extend_from_slice(&reply);
            if wr.write_all(&out).await.is_err() || wr.flush().await.is_err() {
                return Ok(());
            }
            continue;
        }
        let mut close_after = None;
        let mut throttle = std::time::Duration::ZERO;
        let mut files = Spliced::new();
        let out = match wire::parse_request(frame) {
            Parsed::Reject(reason) => return Err(reason),
            Parsed::ApiVersionsTooNew { correlation_id } => Some(vec![Part::Bytes(
                wire::api_versions_too_new(correlation_id).freeze(),
            )]),
            Parsed::Request {
                header,
                api,
                version,
                body,
            } => {
                let correlation_id = header.correlation_id;
                let response = match *body {
                    RequestKind::SaslHandshake(r) => Some(ResponseKind::SaslHandshake(
                        sasl_handshake(&mut auth, r, version),
                    )),
                    RequestKind::SaslAuthenticate(r) => {
                        let (resp, failure) = sasl_authenticate(broker, peer, &mut auth, r).await?;
                        close_after = failure;
                        if let Auth::User(user) = &auth {
                            principal = format!("User:{user}");
                        }
                        Some(ResponseKind::SaslAuthenticate(resp))
                    }
                    body => {
                        if matches!(auth, Auth::Pending { .. }) && api != ApiKey::ApiVersions {
                            return Err(format!(
                                "{api:?} request before SASL authentication on a {} listener",
                                listener.protocol.name()
                            ));
                        }
                        if broker.policy_generation() != policy.0 {
                            policy = broker.policy();
                        }
                        let access = policy.1.enabled.then(|| Access {
                            acls: &policy.1.acls,
                            principal: &principal,
                        });
                        let mut r = dispatch(
                            broker,
                            peer,
                            &mut fetch_state,
                            &mut files,
                            access,
                            header,
                            api,
                            version,
                            body,
                        )
                        .await
                        .map_err(|e| format!("{api:?} v{version}: {e}"))?;
                        if readvertise && let Some(r) = &mut r {
                            advertise(r, &listener.advertised);
                        }
                        let in_files = files.iter().map(|(_, f)| f.len).sum();
                        throttle = quota_throttle(broker, &principal, api, size, in_files, &mut r);
                        r
                    }
                };
                match response {
                    Some(ResponseKind::Fetch(r)) if !files.is_empty() => Some(
                        fetch_frame::encode(correlation_id, version, &r, files)
                            .map_err(|e| format!("cannot encode the Fetch response: {e}"))?,
                    ),
                    Some(r) => Some(vec![Part::Bytes(
                        wire::encode_response(correlation_id, api, version, &r)
                            .map_err(|e| format!("cannot encode the {api:?} response: {e}"))?
                            .freeze(),
                    )]),
                    None => None,
                }
            }
        };
        if let Some(parts) = out {
            // A reader that never drains its socket stalls here: this task only.
            match fetch_frame::write_parts(&mut wr, parts).await {
                Ok(()) => {}
                // A file range that came up short: the frame cannot be completed.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(e.to_string());
                }
                Err(_) => return Ok(()),
            }
        }
        if let Some(reason) = close_after {
            return Err(reason);
        }
        // Over its quota: the answer went out, the connection is muted for the throttle time.
        if !throttle.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(throttle) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }
}

/// Counts a Produce (its request's bytes) or a Fetch (the records answered, `file_bytes` of
/// them sent from the files) against the principal's quota when there is one; sets the
/// response's `throttle_time_ms` and gives how long to mute the connection.
fn quota_throttle(
    broker: &Broker,
    principal: &str,
    api: ApiKey,
    request_bytes: usize,
    file_bytes: u64,
    response: &mut Option<ResponseKind>,
) -> std::time::Duration {
    use super::quota::Direction;
    let quotas = broker.quotas();
    let (direction, bytes) = match (api, &*response) {
        (ApiKey::Produce, _) if quotas.limits(Direction::Produce) => {
            (Direction::Produce, request_bytes as u64)
        }
        (ApiKey::Fetch, Some(ResponseKind::Fetch(f))) if quotas.limits(Direction::Fetch) => {
            let bytes = f
                .responses
                .iter()
                .flat_map(|t| &t.partitions)
                .map(|p| p.records.as_ref().map_or(0, |r| r.len() as u64))
                .sum::<u64>();
            (Direction::Fetch, bytes + file_bytes)
        }
        _ => return std::time::Duration::ZERO,
    };
    let wait = quotas.record(principal, direction, bytes, std::time::Instant::now());
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    match response {
        Some(ResponseKind::Produce(p)) => p.throttle_time_ms = p.throttle_time_ms.max(ms),
        Some(ResponseKind::Fetch(f)) => f.throttle_time_ms = f.throttle_time_ms.max(ms),
        _ => {}
    }
    wait
}

/// SaslHandshake: picks the mechanism of the connection's exchange.
fn sasl_handshake(auth: &mut Auth, r: SaslHandshakeRequest, version: i16) -> SaslHandshakeResponse {
    let mechanisms = super::sasl::MECHANISMS
        .iter()
        .map(|m| StrBytes::from_static_str(m))
        .collect();
    let resp = SaslHandshakeResponse::default().with_mechanisms(mechanisms);
    let Auth::Pending { exchange, raw } = auth else {
        return resp.with_error_code(kafka_protocol::ResponseError::IllegalSaslState.code());
    };
    match Exchange::new(r.mechanism.as_str()) {
        Some(ex) => {
            *exchange = Some(Box::new(ex));
            *raw = version == 0;
            resp
        }
        None => {
            resp.with_error_code(kafka_protocol::ResponseError::UnsupportedSaslMechanism.code())
        }
    }
}

/// SaslAuthenticate: one step of the exchange; with the reason to close the connection
/// after the response when the authentication failed.
async fn sasl_authenticate(
    broker: &Arc<Broker>,
    peer: std::net::SocketAddr,
    auth: &mut Auth,
    r: SaslAuthenticateRequest,
) -> std::result::Result<(SaslAuthenticateResponse, Option<String>), String> {
    let resp = SaslAuthenticateResponse::default();
    let illegal = |why: &str| {
        (
            resp.clone()
                .with_error_code(kafka_protocol::ResponseError::IllegalSaslState.code())
                .with_error_message(Some(StrBytes::from_string(why.to_string()))),
            Some(format!("SaslAuthenticate {why}")),
        )
    };
    let Auth::Pending { exchange, raw } = auth else {
        return Ok(illegal("on a connection that is not authenticating"));
    };
    let Some(ex) = exchange.take().filter(|_| !*raw) else {
        return Ok(illegal("without a SaslHandshake first"));
    };
    let mechanism = ex.mechanism();
    let (ex, step) = sasl_step(broker, peer, ex, r.auth_bytes).await?;
    Ok(match step {
        Step::Continue(reply) => {
            *exchange = Some(ex);
            (resp.with_auth_bytes(reply.into()), None)
        }
        Step::Done { user, reply } => {
            *auth = Auth::User(user);
            (
                resp.with_auth_bytes(reply.into())
                    .with_session_lifetime_ms(0),
                None,
            )
        }
        Step::Failed { .. } => (
            resp.with_error_code(kafka_protocol::ResponseError::SaslAuthenticationFailed.code())
                .with_error_message(Some(StrBytes::from_string(auth_failed_message(mechanism)))),
            Some(format!("{mechanism} authentication failed")),
        ),
    })
}

/// Gives the listener's advertised address in the responses that name the broker.
fn advertise(r: &mut ResponseKind, (host, port): &(String, u16)) {
    let host = || StrBytes::from_string(host.clone());
    let port = *port as i32;
    match r {
        ResponseKind::Metadata(m) => {
            for b in &mut m.brokers {
                b.host = host();
                b.port = port;
            }
        }
        ResponseKind::FindCoordinator(f) => {
            if f.port >= 0 {
                f.host = host();
                f.port = port;
            }
            for c in &mut f.coordinators {
                if c.port >= 0 {
                    c.host = host();
                    c.port = port;
                }
            }
        }
        ResponseKind::DescribeCluster(d) => {
            for b in &mut d.brokers {
                b.host = host();
                b.port = port;
            }
        }
        _ => {}
    }
}

/// Runs a blocking handler on tokio's blocking pool; a panic in it is an error for this
/// connection only.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("the handler failed: {e}"))
}

/// The answer of a JoinGroup or SyncGroup, once the group has it; an error when the server
/// stops first (the connection then closes without an answer, as it would anyway).
async fn waited<T>(reply: Reply<T>) -> std::result::Result<T, String> {
    match reply {
        Reply::Ready(r) => Ok(r),
        Reply::Wait(rx) => rx
            .await
            .map_err(|_| "the server stopped while a group was rebalancing".to_string()),
    }
}

/// Answers one decoded request; `None` when it gets no response (`acks=0`). A Fetch
/// response's records that stay in the segment files go to `files`.
#[allow(clippy::too_many_arguments)]
async fn dispatch(
    broker: &Arc<Broker>,
    peer: std::net::SocketAddr,
    fetch_state: &mut Option<Box<FetchState>>,
    files: &mut Spliced,
    access: Option<Access<'_>>,
    header: RequestHeader,
    api: ApiKey,
    version: i16,
    body: RequestKind,
) -> std::result::Result<Option<ResponseKind>, String> {
    let b = broker.clone();
    let client = header.client_id.as_deref().unwrap_or("").to_string();
    // With authorization on, the APIs without per-resource checks need Alter on the cluster
    // (see `authz`).
    if let Some(a) = access {
        let checked = matches!(
            api,
            ApiKey::ApiVersions
                | ApiKey::Metadata
                | ApiKey::Produce
                | ApiKey::Fetch
                | ApiKey::ListOffsets
                | ApiKey::InitProducerId
                | ApiKey::FindCoordinator
                | ApiKey::JoinGroup
                | ApiKey::SyncGroup
                | ApiKey::Heartbeat
                | ApiKey::LeaveGroup
                | ApiKey::OffsetCommit
                | ApiKey::OffsetFetch
                | ApiKey::CreateTopics
                | ApiKey::DeleteTopics
                | ApiKey::DescribeConfigs
                | ApiKey::ListGroups
                | ApiKey::DescribeGroups
                | ApiKey::DeleteGroups
                | ApiKey::OffsetDelete
                | ApiKey::CreatePartitions
                | ApiKey::DeleteRecords
                | ApiKey::IncrementalAlterConfigs
                | ApiKey::DescribeCluster
                | ApiKey::DescribeAcls
                | ApiKey::CreateAcls
                | ApiKey::DeleteAcls
        );
        if !checked && !a.admin() {
            return Err(format!(
                "{} may not use {api:?} (it needs Alter on the cluster)",
                a.principal
            ));
        }
    }
    let group_denied = |group: &str, op: Operation| access.is_some_and(|a| !a.group(group, op));
    let r = match body {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(wire::api_versions(0)),
        RequestKind::Metadata(mut r) => {
            let Some(a) = access else {
                return Ok(Some(ResponseKind::Metadata(
                    blocking(move || super::metadata::metadata(&b, r, version)).await?,
                )));
            };
            // Whether a topic exists is a read of the data directory: on the blocking pool.
            let (acls, principal) = (a.acls.clone(), a.principal.to_string());
            ResponseKind::Metadata(
                blocking(move || {
                    let a = Access {
                        acls: &acls,
                        principal: &principal,
                    };
                    let denied =
                        authz::metadata(a, &mut r, |t| b.topic(t).ok().flatten().is_some());
                    let mut resp = super::metadata::metadata(&b, r, version);
                    authz::metadata_response(a, &mut resp, denied);
                    resp
                })
                .await?,
            )
        }
        RequestKind::Produce(mut r) => {
            let acks = r.acks;
            let denied = access.map(|a| authz::produce(a, &mut r));
            let mut resp = blocking(move || super::produce::produce(&b, r, version)).await?;
            if let Some(denied) = denied {
                resp.responses.extend(denied);
            }
            if acks == 0 {
                // No response: as a Kafka broker, close the connection on an error, so that
                // the producer notices and refreshes its metadata.
                let failed = resp
                    .responses
                    .iter()
                    .flat_map(|t| t.partition_responses.iter().map(move |p| (t, p)))
                    .find(|(_, p)| p.error_code != 0);
                if let Some((t, p)) = failed {
                    return Err(format!(
                        "acks=0 produce to {}-{} failed with error {}",
                        t.name.as_str(),
                        p.index,
                        p.error_code
                    ));
                }
                return Ok(None);
            }
            ResponseKind::Produce(resp)
        }
        RequestKind::Fetch(mut r) => {
            let denied = access.map(|a| authz::fetch(a, &mut r));
            let state = fetch_state.take().unwrap_or_default();
            let (mut resp, in_files, state) =
                super::fetch::fetch(broker, state, r, version).await?;
            *files = in_files;
            *fetch_state = Some(state);
            if let Some(denied) = denied {
                resp.responses.extend(denied);
            }
            ResponseKind::Fetch(resp)
        }
        RequestKind::ListOffsets(mut r) => {
            let denied = access.map(|a| authz::list_offsets(a, &mut r));
            let mut resp =
                blocking(move || super::list_offsets::list_offsets(&b, r, version)).await?;
            if let Some(denied) = denied {
                resp.topics.extend(denied);
            }
            ResponseKind::ListOffsets(resp)
        }
        RequestKind::InitProducerId(_) if access.is_some_and(|a| !a.idempotent_write()) => {
            ResponseKind::InitProducerId(
                kafka_protocol::messages::InitProducerIdResponse::default()
                    .with_error_code(authz::CLUSTER_DENIED)
                    .with_producer_id((-1).into())
                    .with_producer_epoch(-1),
            )
        }
        RequestKind::InitProducerId(r) => ResponseKind::InitProducerId(
            blocking(move || super::produce::init_producer_id(&b, r, version)).await?,
        ),
        RequestKind::FindCoordinator(r) => {
            if access
                .is_some_and(|a| r.key_type != 0 || !a.group(r.key.as_str(), Operation::Describe))
            {
                let resp = kafka_protocol::messages::FindCoordinatorResponse::default()
                    .with_error_code(authz::GROUP_DENIED)
                    .with_node_id((-1).into())
                    .with_port(-1);
                ResponseKind::FindCoordinator(if version >= 1 {
                    resp.with_error_message(None)
                } else {
                    resp
                })
            } else {
                ResponseKind::FindCoordinator(super::groups::find_coordinator(broker, r, version))
            }
        }
        RequestKind::JoinGroup(r) if group_denied(r.group_id.as_str(), Operation::Read) => {
            ResponseKind::JoinGroup(
                kafka_protocol::messages::JoinGroupResponse::default()
                    .with_error_code(authz::GROUP_DENIED)
                    .with_generation_id(-1),
            )
        }
        RequestKind::SyncGroup(r) if group_denied(r.group_id.as_str(), Operation::Read) => {
            ResponseKind::SyncGroup(
                kafka_protocol::messages::SyncGroupResponse::default()
                    .with_error_code(authz::GROUP_DENIED),
            )
        }
        RequestKind::Heartbeat(r) if group_denied(r.group_id.as_str(), Operation::Read) => {
            ResponseKind::Heartbeat(
                kafka_protocol::messages::HeartbeatResponse::default()
                    .with_error_code(authz::GROUP_DENIED),
            )
        }
        RequestKind::LeaveGroup(r) if group_denied(r.group_id.as_str(), Operation::Read) => {
            ResponseKind::LeaveGroup(
                kafka_protocol::messages::LeaveGroupResponse::default()
                    .with_error_code(authz::GROUP_DENIED),
            )
        }
        RequestKind::JoinGroup(r) => {
            let info = ClientInfo {
                client_id: client.clone(),
                host: format!("/{}", peer.ip()),
            };
            let reply = blocking(move || b.coordinator().join_group(r, version, info)).await?;
            ResponseKind::JoinGroup(waited(reply).await?)
        }
        RequestKind::SyncGroup(r) => {
            let reply = blocking(move || b.coordinator().sync_group(r, version)).await?;
            ResponseKind::SyncGroup(waited(reply).await?)
        }
        RequestKind::Heartbeat(r) => {
            ResponseKind::Heartbeat(blocking(move || b.coordinator().heartbeat(r, version)).await?)
        }
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(
            blocking(move || b.coordinator().leave_group(r, version)).await?,
        ),
        RequestKind::OffsetCommit(mut r) => {
            let denied = access.map(|a| authz::offset_commit(a, &mut r));
            let mut resp = blocking(move || super::groups::offset_commit(&b, r, version)).await?;
            if let Some(denied) = denied {
                resp.topics.extend(denied);
            }
            ResponseKind::OffsetCommit(resp)
        }
        RequestKind::OffsetFetch(mut r) => {
            let Some(a) = access else {
                return Ok(Some(ResponseKind::OffsetFetch(
                    blocking(move || super::groups::offset_fetch(&b, r, version)).await?,
                )));
            };
            match authz::offset_fetch(a, &mut r, version) {
                Err(refused) => ResponseKind::OffsetFetch(refused),
                Ok(denied) => {
                    let mut resp =
                        blocking(move || super::groups::offset_fetch(&b, r, version)).await?;
                    authz::offset_fetch_response(a, &mut resp, denied);
                    ResponseKind::OffsetFetch(resp)
                }
            }
        }
        RequestKind::ListGroups(r) => {
            let mut resp = blocking(move || super::groups::list_groups(&b, r, version)).await?;
            if let Some(a) = access {
                authz::list_groups_response(a, &mut resp);
            }
            ResponseKind::ListGroups(resp)
        }
        RequestKind::DescribeGroups(r) => {
            let mut resp = blocking(move || super::groups::describe_groups(&b, r, version)).await?;
            if let Some(a) = access {
                authz::describe_groups_response(a, &mut resp);
            }
            ResponseKind::DescribeGroups(resp)
        }
        RequestKind::DeleteGroups(mut r) => {
            let denied = access.map(|a| authz::take_delete_groups(a, &mut r));
            let mut resp = blocking(move || super::groups::delete_groups(&b, r, version)).await?;
            resp.results.extend(denied.unwrap_or_default());
            ResponseKind::DeleteGroups(resp)
        }
        RequestKind::OffsetDelete(mut r) => {
            match access.map(|a| authz::take_offset_delete(a, &mut r)) {
                Some(Err(code)) => ResponseKind::OffsetDelete(
                    kafka_protocol::messages::OffsetDeleteResponse::default().with_error_code(code),
                ),
                denied => {
                    let mut resp =
                        blocking(move || super::groups::offset_delete(&b, r, version)).await?;
                    if let Some(Ok(denied)) = denied {
                        resp.topics.extend(denied);
                    }
                    ResponseKind::OffsetDelete(resp)
                }
            }
        }
        RequestKind::CreateTopics(mut r) => {
            let denied = access.map(|a| authz::create_topics(a, &mut r));
            let mut resp = blocking(move || super::metadata::create_topics(&b, r, version)).await?;
            if let Some(denied) = denied {
                resp.topics.extend(denied);
            }
            ResponseKind::CreateTopics(resp)
        }
        RequestKind::DeleteTopics(mut r) => {
            let denied = access.map(|a| authz::delete_topics(a, &mut r));
            let mut resp = blocking(move || super::metadata::delete_topics(&b, r, version)).await?;
            if let Some(denied) = denied {
                resp.responses.extend(denied);
            }
            ResponseKind::DeleteTopics(resp)
        }
        RequestKind::CreatePartitions(mut r) => {
            let denied = access.map(|a| authz::take_create_partitions(a, &mut r));
            let mut resp =
                blocking(move || super::metadata::create_partitions(&b, r, version)).await?;
            resp.results.extend(denied.unwrap_or_default());
            ResponseKind::CreatePartitions(resp)
        }
        RequestKind::DeleteRecords(mut r) => {
            let denied = access.map(|a| authz::take_delete_records(a, &mut r));
            let mut resp =
                blocking(move || super::metadata::delete_records(&b, r, version)).await?;
            resp.topics.extend(denied.unwrap_or_default());
            ResponseKind::DeleteRecords(resp)
        }
        RequestKind::DescribeConfigs(r) => {
            let mut resp =
                blocking(move || super::metadata::describe_configs(&b, r, version)).await?;
            if let Some(a) = access {
                authz::describe_configs_response(a, &mut resp);
            }
            ResponseKind::DescribeConfigs(resp)
        }
        RequestKind::IncrementalAlterConfigs(mut r) => {
            let denied = access.map(|a| authz::take_alter_configs(a, &mut r));
            let mut resp =
                blocking(move || super::metadata::incremental_alter_configs(&b, r, version))
                    .await?;
            resp.responses.extend(denied.unwrap_or_default());
            ResponseKind::IncrementalAlterConfigs(resp)
        }
        RequestKind::DescribeAcls(r) => {
            let allowed = access.is_none_or(|a| a.cluster(Operation::Describe));
            ResponseKind::DescribeAcls(
                blocking(move || super::acl_apis::describe_acls(&b, r, allowed)).await?,
            )
        }
        RequestKind::CreateAcls(r) => {
            let allowed = access.is_none_or(|a| a.cluster(Operation::Alter));
            ResponseKind::CreateAcls(
                blocking(move || super::acl_apis::create_acls(&b, r, allowed)).await?,
            )
        }
        RequestKind::DeleteAcls(r) => {
            let allowed = access.is_none_or(|a| a.cluster(Operation::Alter));
            ResponseKind::DeleteAcls(
                blocking(move || super::acl_apis::delete_acls(&b, r, allowed)).await?,
            )
        }
        RequestKind::DescribeCluster(r) => {
            let mut resp = super::metadata::describe_cluster(broker, r, version);
            if access.is_some_and(|a| !a.cluster(Operation::Describe)) {
                resp = kafka_protocol::messages::DescribeClusterResponse::default()
                    .with_error_code(authz::CLUSTER_DENIED);
            }
            ResponseKind::DescribeCluster(resp)
        }
        // `wire::SUPPORTED` lets nothing else through.
        _ => return Err(format!("{api:?} is not served (client '{client}')")),
    };
    Ok(Some(r))
}
