//! A TCP proxy to PostgreSQL for tests and the soak: it can "stop" the database the way a crash or
//! a failover looks from a server (every open connection closed, new ones refused) and start it
//! again on the same address, or cut the network (connections stay open, nothing goes through
//! them: a partition) and heal it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to PostgreSQL that can be stopped (connections closed, new ones refused) and
/// started again on the same port, or cut off (nothing forwarded, nothing closed) and healed.
pub struct DbProxy {
    listen: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    cut: Arc<tokio::sync::watch::Sender<bool>>,
}

impl DbProxy {
    /// A proxy to the database of `url`, and the URL that goes through it.
    pub async fn start(url: &str) -> (DbProxy, String) {
        let mut parsed = url::Url::parse(url).unwrap();
        let upstream = tokio::net::lookup_host((parsed.host_str().unwrap(), parsed.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = listener.local_addr().unwrap();
        let proxy =
            DbProxy { listen, upstream, tasks: Arc::default(), cut: Arc::new(tokio::sync::watch::channel(false).0) };
        proxy.accept_on(listener);
        parsed.set_host(Some("127.0.0.1")).unwrap();
        parsed.set_port(Some(listen.port())).unwrap();
        (proxy, parsed.to_string())
    }

    fn accept_on(&self, listener: TcpListener) {
        let (tasks, upstream, cut) = (self.tasks.clone(), self.upstream, self.cut.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let cut = cut.clone();
                let link = tokio::spawn(async move {
                    if let Ok(outbound) = TcpStream::connect(upstream).await {
                        let ((in_read, in_write), (out_read, out_write)) =
                            (inbound.into_split(), outbound.into_split());
                        tokio::join!(
                            relay(in_read, out_write, cut.subscribe()),
                            relay(out_read, in_write, cut.subscribe())
                        );
                    }
                });
                tasks.lock().unwrap().push(link);
            }
        });
        self.tasks.lock().unwrap().push(accepting);
    }

    /// The network between the server and the database breaks: what either sends goes nowhere,
    /// and neither learns of it from the connection.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn heal(&self) {
        self.cut.send_replace(false);
    }

    /// The database "stops": the listener goes (new connections are refused) and every open
    /// connection is closed.
    pub async fn stop(&self) {
        let tasks: Vec<_> = self.tasks.lock().unwrap().drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        assert!(TcpStream::connect(self.listen).await.is_err(), "the stopped proxy still accepts");
    }

    /// The database is back, on the same address.
    pub fn resume(&self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.listen).unwrap();
        self.accept_on(socket.listen(128).unwrap());
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Copies `from` to `to`, holding what it read while the network is cut.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut cut: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0; 16 * 1024];
    loop {
        if cut.wait_for(|cut| !cut).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if cut.wait_for(|cut| !cut).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
