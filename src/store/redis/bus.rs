//! The cross-instance bus on Redis pub/sub: publishing through the command connection, and a
//! subscriber task on a connection of its own that moves between seed nodes and asks for a
//! resync after every reconnect.

use super::connection::{
    CONNECT_TIMEOUT, Connection, RECONNECT_MAX_DELAY, RECONNECT_MIN_DELAY, RedisConfig, TimedOut, classify, client,
    unavailable,
};
use super::keys::Keys;
use crate::store::{Bus, BusMessage, BusReceiver, StoreError};
use ::redis::{RedisError, Value};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::fmt;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How many bus messages a slow subscriber may fall behind before it gets `Resync`. Positions
/// alone are thousands a second in a city (20,000 phones every 5 s is 4,000/s), and a resync
/// rereads every position, so the buffer must ride out a stall of a few seconds rather than
/// turn it into a storm of rebuilds (about 1.5 MiB at this size).
const BUS_CAPACITY: usize = 16 * 1024;
/// How often the bus subscriber pings, to notice a silently dead connection.
const BUS_PING_INTERVAL: Duration = Duration::from_secs(5);

/// The cross-instance bus on Redis pub/sub.
///
/// Publishing uses the command connection; a background task holds a dedicated subscriber
/// connection and fans messages out to local subscribers. Pub/sub is fire-and-forget, so after
/// any reconnect the task sends a local [`BusMessage::Resync`] (never published to Redis) and
/// subscribers rebuild their state from the store. The task stops when the `cancel` token
/// given to [`RedisBus::start`] is cancelled or the bus is dropped.
pub struct RedisBus {
    conn: Connection,
    channel: String,
    command_timeout: Duration,
    tx: broadcast::Sender<BusMessage>,
    /// Stops the subscriber task when the bus is dropped.
    _stop: DropGuard,
}

impl fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBus").field("channel", &self.channel).finish_non_exhaustive()
    }
}

impl RedisBus {
    /// Connect, subscribe, and start the subscriber task. Messages published after this
    /// returns reach this bus's subscribers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when Redis cannot be reached within the connect timeout, or
    /// when the URL or prefix is invalid.
    pub async fn start(settings: &RedisConfig, cancel: CancellationToken) -> Result<Self, StoreError> {
        Self::start_on(Connection::open(settings).await?, settings, cancel).await
    }

    /// As [`RedisBus::start`], publishing through `conn`.
    pub(super) async fn start_on(
        conn: Connection,
        settings: &RedisConfig,
        cancel: CancellationToken,
    ) -> Result<Self, StoreError> {
        let keys = Keys::new(&settings.prefix).map_err(unavailable)?;
        // Standalone: the one server. Cluster: any node hears every classic PUBLISH, so the
        // subscriber uses one seed at a time and moves to the next when it fails.
        let urls = if settings.is_cluster() { settings.cluster_nodes.clone() } else { vec![settings.url.clone()] };
        let clients = urls.iter().map(|url| client(url)).collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
        let channel = keys.bus_channel();
        let (subscriber, seed) = subscribe_any(&clients, 0, &channel).await?;
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        let stop = cancel.child_token();
        let listener = Listener {
            clients,
            seed,
            channel: channel.clone(),
            tx: tx.clone(),
            stop: stop.clone(),
            ping_timeout: settings.command_timeout,
        };
        tokio::spawn(listener.run(subscriber));
        Ok(Self { conn, channel, command_timeout: settings.command_timeout, tx, _stop: stop.drop_guard() })
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, message: &BusMessage) -> Result<(), StoreError> {
        if matches!(message, BusMessage::Resync) {
            // Resync is local by definition: other instances decide for themselves.
            let _ = self.tx.send(BusMessage::Resync);
            return Ok(());
        }
        let payload = crate::store::bus_codec::encode(message)?;
        let mut conn = self.conn.clone();
        let cmd = ::redis::cmd("PUBLISH").arg(&self.channel).arg(payload).to_owned();
        match tokio::time::timeout(self.command_timeout, cmd.query_async::<i64>(&mut conn)).await {
            Ok(result) => result.map(drop).map_err(classify),
            Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut("publish")))),
        }
    }

    fn subscribe(&self) -> BusReceiver {
        BusReceiver::new(self.tx.subscribe())
    }
}

/// Subscribe through the first of `clients`, starting at `first` and wrapping around, that
/// answers; returns the subscriber and the index of the client that served it.
async fn subscribe_any(
    clients: &[::redis::Client],
    first: usize,
    channel: &str,
) -> Result<(::redis::aio::PubSub, usize), StoreError> {
    let mut last = StoreError::Unavailable(Box::new(TimedOut("subscribe: no node given")));
    for i in 0..clients.len() {
        let at = (first + i) % clients.len();
        match subscribe(&clients[at], channel).await {
            Ok(subscriber) => return Ok((subscriber, at)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Open a dedicated pub/sub connection subscribed to `channel`, bounded by [`CONNECT_TIMEOUT`].
async fn subscribe(client: &::redis::Client, channel: &str) -> Result<::redis::aio::PubSub, StoreError> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, RedisError>(pubsub)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result.map_err(classify),
        Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut("subscribe")))),
    }
}

/// The subscriber task's state.
struct Listener {
    /// One client per node the subscriber may use (one for a standalone server).
    clients: Vec<::redis::Client>,
    /// The client currently (or last) subscribed through.
    seed: usize,
    channel: String,
    tx: broadcast::Sender<BusMessage>,
    stop: CancellationToken,
    ping_timeout: Duration,
}

impl Listener {
    async fn run(mut self, mut subscriber: ::redis::aio::PubSub) {
        loop {
            self.pump(subscriber).await;
            if self.stop.is_cancelled() {
                return;
            }
            tracing::warn!(channel = %self.channel, "bus subscriber disconnected; reconnecting");
            let Some(fresh) = self.reconnect().await else { return };
            subscriber = fresh;
            tracing::info!(channel = %self.channel, "bus subscriber reconnected; asking for resync");
            // No receivers is fine: nobody on this instance is listening yet.
            let _ = self.tx.send(BusMessage::Resync);
        }
    }

    /// Forward messages until the connection dies or the bus stops.
    async fn pump(&self, subscriber: ::redis::aio::PubSub) {
        let (mut sink, mut stream) = subscriber.split();
        let mut ping = tokio::time::interval(BUS_PING_INTERVAL);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await; // the first tick is immediate
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                msg = stream.next() => {
                    let Some(msg) = msg else { return };
                    match crate::store::bus_codec::decode(msg.get_payload_bytes()) {
                        Ok(message) => {
                            let _ = self.tx.send(message);
                        }
                        Err(e) => tracing::warn!(error = %e, "undecodable bus message dropped"),
                    }
                }
                _ = ping.tick() => {
                    let alive = tokio::time::timeout(self.ping_timeout, sink.ping::<Value>()).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        return;
                    }
                }
            }
        }
    }

    /// Resubscribe with capped, jittered exponential backoff, trying the next node first (the one that
    /// failed is the likeliest to be down); `None` when the bus stopped meanwhile.
    async fn reconnect(&mut self) -> Option<::redis::aio::PubSub> {
        let mut backoff = crate::retry::Backoff::new(RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return None,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
            match subscribe_any(&self.clients, self.seed + 1, &self.channel).await {
                Ok((subscriber, seed)) => {
                    self.seed = seed;
                    return Some(subscriber);
                }
                Err(e) => tracing::debug!(error = %e, "bus resubscribe failed"),
            }
        }
    }
}
