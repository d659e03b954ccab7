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

use std::sync::Arc;

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::broker::Broker;
use super::coordinator::ClientInfo;
use super::fetch::FetchState;
use super::groups::Reply;
use super::wire::{self, Parsed};
use super::{Event, SHUTDOWN_GRACE};
use crate::error::{Error, Result};

/// How often due `flush.ms` fsyncs are started.
const TICK: std::time::Duration = std::time::Duration::from_millis(100);

/// Accepts on every listener until `shutdown` completes, then waits (at most
/// [`SHUTDOWN_GRACE`]) for the connections to finish their requests.
pub async fn serve(
    listeners: Vec<std::net::TcpListener>,
    broker: Arc<Broker>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    // Every connection task holds a sender: when all are gone, `recv` returns None.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut accepting = Vec::new();
    for l in listeners {
        let addr = l.local_addr().ok();
        let l = TcpListener::from_std(l).map_err(|e| Error::Io {
            op: "listen on",
            path: addr.map(|a| a.to_string()).unwrap_or_default().into(),
            source: e,
        })?;
        accepting.push(tokio::spawn(accept_loop(
            l,
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
    broker: Arc<Broker>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let broker = broker.clone();
                    let stop = broker.stop_signal();
                    let alive = alive.clone();
                    tokio::spawn(async move {
                        let _alive = alive;
                        if let Err(reason) = connection(stream, peer, &broker, stop).await {
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

/// Serves one connection until the client closes it, it is rejected, or the server stops.
/// `Err` carries the reason worth reporting; a client that just goes away is `Ok`.
async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    broker: &Arc<Broker>,
    mut stop: watch::Receiver<bool>,
) -> std::result::Result<(), String> {
    let _ = stream.set_nodelay(true);
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 << 10, rd);
    let mut fetch_state = Some(Box::<FetchState>::default());
    let max = broker.config().max_request_bytes;
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
        let out = match wire::parse_request(frame) {
            Parsed::Reject(reason) => return Err(reason),
            Parsed::ApiVersionsTooNew { correlation_id } => {
                Some(wire::api_versions_too_new(correlation_id))
            }
            Parsed::Request {
                header,
                api,
                version,
                body,
            } => {
                let correlation_id = header.correlation_id;
                let response =
                    dispatch(broker, peer, &mut fetch_state, header, api, version, *body)
                        .await
                        .map_err(|e| format!("{api:?} v{version}: {e}"))?;
                match response {
                    Some(r) => Some(
                        wire::encode_response(correlation_id, api, version, &r)
                            .map_err(|e| format!("cannot encode the {api:?} response: {e}"))?,
                    ),
                    None => None,
                }
            }
        };
        if let Some(out) = out {
            // A reader that never drains its socket stalls here: this task only.
            if wr.write_all(&out).await.is_err() {
                return Ok(());
            }
        }
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

/// Answers one decoded request; `None` when it gets no response (`acks=0`).
async fn dispatch(
    broker: &Arc<Broker>,
    peer: std::net::SocketAddr,
    fetch_state: &mut Option<Box<FetchState>>,
    header: RequestHeader,
    api: ApiKey,
    version: i16,
    body: RequestKind,
) -> std::result::Result<Option<ResponseKind>, String> {
    let b = broker.clone();
    let client = header.client_id.as_deref().unwrap_or("").to_string();
    let r = match body {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(wire::api_versions(0)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(
            blocking(move || super::metadata::metadata(&b, r, version)).await?,
        ),
        RequestKind::Produce(r) => {
            let acks = r.acks;
            let resp = blocking(move || super::produce::produce(&b, r, version)).await?;
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
        RequestKind::Fetch(r) => {
            let state = fetch_state.take().unwrap_or_default();
            let (resp, state) = super::fetch::fetch(broker, state, r, version).await?;
            *fetch_state = Some(state);
            ResponseKind::Fetch(resp)
        }
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(
            blocking(move || super::list_offsets::list_offsets(&b, r, version)).await?,
        ),
        RequestKind::InitProducerId(r) => ResponseKind::InitProducerId(
            blocking(move || super::produce::init_producer_id(&b, r, version)).await?,
        ),
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(super::groups::find_coordinator(broker, r, version))
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
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(
            blocking(move || super::groups::offset_commit(&b, r, version)).await?,
        ),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(
            blocking(move || super::groups::offset_fetch(&b, r, version)).await?,
        ),
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(
            blocking(move || super::groups::list_groups(&b, r, version)).await?,
        ),
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(
            blocking(move || super::groups::describe_groups(&b, r, version)).await?,
        ),
        RequestKind::DeleteGroups(r) => ResponseKind::DeleteGroups(
            blocking(move || super::groups::delete_groups(&b, r, version)).await?,
        ),
        RequestKind::OffsetDelete(r) => ResponseKind::OffsetDelete(
            blocking(move || super::groups::offset_delete(&b, r, version)).await?,
        ),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(
            blocking(move || super::metadata::create_topics(&b, r, version)).await?,
        ),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(
            blocking(move || super::metadata::delete_topics(&b, r, version)).await?,
        ),
        RequestKind::CreatePartitions(r) => ResponseKind::CreatePartitions(
            blocking(move || super::metadata::create_partitions(&b, r, version)).await?,
        ),
        RequestKind::DeleteRecords(r) => ResponseKind::DeleteRecords(
            blocking(move || super::metadata::delete_records(&b, r, version)).await?,
        ),
        RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(
            blocking(move || super::metadata::describe_configs(&b, r, version)).await?,
        ),
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            blocking(move || super::metadata::incremental_alter_configs(&b, r, version)).await?,
        ),
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(super::metadata::describe_cluster(broker, r, version))
        }
        // `wire::SUPPORTED` lets nothing else through.
        _ => return Err(format!("{api:?} is not served (client '{client}')")),
    };
    Ok(Some(r))
}
