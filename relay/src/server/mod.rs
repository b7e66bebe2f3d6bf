//! Thin tokio shells around [`TurnServer`]: UDP and TCP on one port, HTTP with
//! WebSocket upgrade, one UDP socket per allocation, a one-second timer.
//! Every shell hands bytes to the core under one mutex and sends what it
//! returns; nothing here knows TURN.

pub mod credentials;
mod endpoints;
mod http;
mod peer_send;
mod queue;
mod relay_socket;
mod secure;
mod stream;
mod tls;
mod udp;
pub mod webtransport;
mod wt_session;

use crate::allocation::{ClientId, ClientTransport};
use crate::auth::{Authenticator, Credentials, NonceIssuer};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::turn::{Output, TurnServer};
use peer_send::PeerRun;
use queue::{QueueRx, QueueTx};
use relay_socket::{RelayEntry, ShellSockets};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A stream connection that sends nothing for this long and holds no
/// allocation is closed (slow-loris and idle sockets cost file descriptors).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A client seen on a dual-stack `[::]` listener as `::ffff:a.b.c.d` is the
/// IPv4 client a.b.c.d: XOR-MAPPED-ADDRESS, nonces and policy use that (Linux
/// sends to an IPv4 address from such a socket).
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Shared {
    core: Mutex<TurnServer>,
    metrics: Arc<Metrics>,
    udp: Option<Arc<UdpSocket>>,
    conns: Mutex<HashMap<u64, QueueTx>>,
    relays: Mutex<HashMap<SocketAddr, RelayEntry>>,
    relay_ips: RelayIps,
    next_conn: AtomicU64,
    shutdown: watch::Receiver<bool>,
    ws_allowed_origins: Vec<String>,
    max_connections: usize,
    secure: secure::SecureShared,
}

impl Shared {
    /// Run `f` on the core, then open sockets and send what it asked for.
    fn with_core(
        self: &Arc<Self>,
        f: impl FnOnce(&mut TurnServer, &mut ShellSockets, &mut Vec<Output>),
    ) {
        let mut out = Vec::new();
        let mut sockets = ShellSockets::new(self.relay_ips);
        {
            let mut core = lock(&self.core);
            f(&mut core, &mut sockets, &mut out);
        }
        for (addr, sock) in sockets.opened {
            self.register_relay(addr, sock);
        }
        self.dispatch(out);
    }

    fn dispatch(self: &Arc<Self>, out: Vec<Output>) {
        // Datagrams for one peer gather into a run until something else comes (order kept).
        let mut run: Option<PeerRun> = None;
        for o in out {
            match o {
                Output::ToPeer { relay, peer, data } => {
                    if run.as_mut().is_some_and(|r| r.push(relay, peer, &data)) {
                        continue;
                    }
                    self.send_run(run.replace(PeerRun::new(relay, peer, data)));
                }
                Output::ToClient { client, data } => {
                    self.send_run(run.take());
                    self.send_to_client(client, data);
                }
                Output::CloseRelay { relay } => {
                    self.send_run(run.take());
                    if let Some(e) = lock(&self.relays).remove(&relay) {
                        e.task.abort();
                    }
                }
            }
        }
        self.send_run(run);
    }

    fn send_run(&self, run: Option<PeerRun>) {
        let Some(run) = run else { return };
        let sock = lock(&self.relays).get(&run.relay).map(|e| e.socket.clone());
        if let Some(s) = sock {
            run.send(&s);
        }
    }

    fn send_to_client(&self, client: ClientId, data: Vec<u8>) {
        let t = client.transport;
        let len = data.len() as u64;
        let sent = match t {
            ClientTransport::Udp => match &self.udp {
                Some(u) => u.try_send_to(&data, client.remote).is_ok(),
                None => false,
            },
            _ => {
                let tx = lock(&self.conns).get(&client.conn).cloned();
                tx.is_some_and(|tx| tx.try_send(data))
            }
        };
        if sent {
            self.metrics.client_tx_packets.add(t, 1);
            self.metrics.client_tx_bytes.add(t, len);
        } else {
            self.metrics.client_tx_dropped.add(t, 1);
        }
    }

    /// Register a stream connection; `None` when `max_connections` are open.
    fn new_conn(&self, transport: ClientTransport) -> Option<(u64, QueueRx)> {
        let id = self.next_conn.fetch_add(1, Relaxed);
        let (tx, rx) = queue::queue();
        {
            let mut conns = lock(&self.conns);
            if conns.len() >= self.max_connections {
                return None;
            }
            conns.insert(id, tx);
        }
        self.metrics.connections_active.add(transport, 1);
        Some((id, rx))
    }

    /// The Origin allow-list (ws, wss and WebTransport); empty allows all.
    fn origin_allowed(&self, origin: Option<&str>) -> bool {
        self.ws_allowed_origins.is_empty()
            || origin.is_some_and(|o| self.ws_allowed_origins.iter().any(|a| a == o))
    }

    fn at_connection_limit(&self) -> bool {
        lock(&self.conns).len() >= self.max_connections
    }

    fn has_allocation(&self, client: &ClientId) -> bool {
        lock(&self.core).allocations().get(client).is_some()
    }

    /// The one hook every session-based listener (TCP, TLS, WebSocket,
    /// WebTransport) calls when a session ends: forget its queue and let the
    /// core decide whether its allocation goes now or waits for a mobility
    /// ticket (RFC 8016).
    pub(crate) fn conn_closed(self: &Arc<Self>, client: ClientId) {
        lock(&self.conns).remove(&client.conn);
        self.metrics.connections_active.sub(client.transport, 1);
        self.with_core(|core, _, out| core.session_closed(Instant::now(), client, out));
    }
}

/// A started relay; dropping it without `shutdown` leaves tasks running
/// until the runtime ends.
pub struct RunningServer {
    pub udp_addr: Option<SocketAddr>,
    pub tcp_addr: Option<SocketAddr>,
    pub ws_addr: Option<SocketAddr>,
    pub metrics_addr: Option<SocketAddr>,
    /// TURN over TLS (`turns:`).
    pub tls_addr: Option<SocketAddr>,
    /// WebSocket over TLS (`wss://`).
    pub wss_addr: Option<SocketAddr>,
    /// WebTransport (UDP).
    pub wt_addr: Option<SocketAddr>,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl RunningServer {
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    pub fn allocation_count(&self) -> usize {
        lock(&self.shared.core).allocations().len()
    }

    /// Stop listening, close connections, free every allocation.
    pub async fn shutdown(self) {
        let _ = self.shutdown_tx.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
        self.shared.with_core(|core, _, out| core.close_all(out));
    }
}

/// The addresses relay sockets bind to, one per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RelayIps {
    pub v4: Option<IpAddr>,
    pub v6: Option<IpAddr>,
}

impl std::fmt::Display for RelayIps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |ip: Option<IpAddr>| ip.map_or("-".to_string(), |i| i.to_string());
        write!(f, "{} {}", show(self.v4), show(self.v6))
    }
}

/// The addresses relay sockets bind to: configured (one per family), else
/// the listeners' specific IPs, else the host's primary IPv4 address.
fn choose_relay_ips(cfg: &Config) -> RelayIps {
    let pick = |v4: bool| cfg.relay_ips.iter().copied().find(|ip| ip.is_ipv4() == v4);
    if !cfg.relay_ips.is_empty() {
        return RelayIps {
            v4: pick(true),
            v6: pick(false),
        };
    }
    let secure = cfg.secure.listeners().map(Some);
    let listeners: Vec<IpAddr> = [cfg.listen, cfg.ws_listen]
        .into_iter()
        .chain(secure)
        .flatten()
        .map(|l| l.ip())
        .filter(|ip| !ip.is_unspecified())
        .collect();
    let from_listener = |v4: bool| listeners.iter().copied().find(|ip| ip.is_ipv4() == v4);
    if !listeners.is_empty() {
        return RelayIps {
            v4: from_listener(true),
            v6: from_listener(false),
        };
    }
    // Connecting a UDP socket sends nothing; it only asks the kernel for the
    // source address of the default route.
    let primary = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    RelayIps {
        v4: Some(primary),
        v6: None,
    }
}

async fn bind_udp_tcp(
    addr: SocketAddr,
    udp: bool,
    tcp: bool,
) -> io::Result<(Option<UdpSocket>, Option<TcpListener>)> {
    let mut last_err = None;
    for _ in 0..16 {
        let u = if udp {
            let u = UdpSocket::bind(addr).await?;
            // The TURN/UDP listener carries every native client's relayed traffic.
            relay_socket::enlarge_buffers(&u, 2 * relay_socket::SOCKET_BUFFER_BYTES);
            Some(u)
        } else {
            None
        };
        let port = match &u {
            Some(u) => u.local_addr()?.port(),
            None => addr.port(),
        };
        if !tcp {
            return Ok((u, None));
        }
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(t) => return Ok((u, Some(t))),
            // Port 0: the kernel's UDP choice may be taken on TCP; try another.
            Err(e) if addr.port() == 0 && udp => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no common UDP/TCP port")))
}

/// Bind every listener and spawn the tasks.
pub async fn start(cfg: Config) -> io::Result<RunningServer> {
    let metrics = Arc::new(Metrics::default());
    let auth = Authenticator {
        realm: cfg.turn.realm.clone(),
        credentials: Credentials::new(&cfg.turn.realm, &cfg.users, cfg.static_auth_secrets.clone()),
        nonces: NonceIssuer::new(rand::random(), cfg.turn.nonce_lifetime.as_secs()),
    };
    let unix_now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let core = TurnServer::new(
        cfg.turn.clone(),
        auth,
        metrics.clone(),
        Instant::now(),
        unix_now,
    );
    let (udp, tcp) = match cfg.listen {
        Some(addr) => bind_udp_tcp(addr, cfg.udp, cfg.tcp).await?,
        None => (None, None),
    };
    let ws = match cfg.ws_listen {
        Some(a) => Some(TcpListener::bind(a).await?),
        None => None,
    };
    let metrics_listener = match cfg.metrics_listen {
        Some(a) => Some(TcpListener::bind(a).await?),
        None => None,
    };
    let secure = secure::SecureListeners::bind(&cfg).await?;
    let [tls_addr, wss_addr, wt_addr] = secure.addrs();
    let udp = udp.map(Arc::new);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let relay_ips = choose_relay_ips(&cfg);
    let shared = Arc::new(Shared {
        core: Mutex::new(core),
        metrics,
        udp: udp.clone(),
        conns: Mutex::new(HashMap::new()),
        relays: Mutex::new(HashMap::new()),
        relay_ips,
        next_conn: AtomicU64::new(1),
        shutdown: shutdown_rx,
        ws_allowed_origins: cfg.ws_allowed_origins.clone(),
        max_connections: cfg.max_connections,
        secure: secure.shared(&cfg),
    });
    let mut running = RunningServer {
        udp_addr: udp.as_ref().and_then(|u| u.local_addr().ok()),
        tcp_addr: tcp.as_ref().and_then(|t| t.local_addr().ok()),
        ws_addr: ws.as_ref().and_then(|t| t.local_addr().ok()),
        metrics_addr: metrics_listener.as_ref().and_then(|t| t.local_addr().ok()),
        tls_addr,
        wss_addr,
        wt_addr,
        shutdown_tx,
        tasks: Vec::new(),
        shared: shared.clone(),
    };
    if let Some(u) = udp {
        running
            .tasks
            .push(tokio::spawn(udp::serve(shared.clone(), u)));
    }
    if let Some(t) = tcp {
        running
            .tasks
            .push(tokio::spawn(stream::serve_tcp(shared.clone(), t)));
    }
    if let Some(w) = ws {
        running
            .tasks
            .push(tokio::spawn(http::serve(shared.clone(), w, true)));
    }
    if let Some(m) = metrics_listener {
        running
            .tasks
            .push(tokio::spawn(http::serve(shared.clone(), m, false)));
    }
    running.tasks.extend(secure.spawn(&shared));
    running.tasks.push(tokio::spawn(timer(shared.clone())));
    tracing::info!(
        udp = ?running.udp_addr, tcp = ?running.tcp_addr, ws = ?running.ws_addr,
        metrics = ?running.metrics_addr, tls = ?tls_addr, wss = ?wss_addr,
        webtransport = ?wt_addr, relay_ips = %relay_ips, "polyrtc-relay listening"
    );
    Ok(running)
}

async fn timer(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    // Allocation expiry needs no finer clock than a second. `--test-impair` (tests only) releases
    // datagrams it holds back after `impair::MAX_HOLD`: a 1 s tick would hold them ~50x longer,
    // turning "reordering" into retransmission timeouts.
    let mut impairs = false;
    shared.with_core(|core, _, _| impairs = core.impairs());
    let period = if impairs {
        Duration::from_millis(5)
    } else {
        Duration::from_secs(1)
    };
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => shared.with_core(|core, _, out| core.handle_timeout(Instant::now(), out)),
            _ = shutdown.changed() => break,
        }
    }
}
