//! Tests that only mean something on PostgreSQL (run with `KIRO_TEST_POSTGRES_URL` set; `cargo
//! xtask test` skips this module in its SQLite pass): the database going away and coming back.
//!
//! A TCP proxy stands between the server and the suite's PostgreSQL, so a test can "stop" the
//! database the way a crash or a failover looks from the server: every open connection closed,
//! new ones refused; then "start" it again on the same address.

use crate::common::{TestApp, assert_error, fresh_database_url};
use axum::http::StatusCode;
use checkout_server::Store;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// How long an answer may take while the database is away: well within the 20 s request timeout.
const QUICKLY: Duration = Duration::from_secs(10);

/// A TCP proxy to PostgreSQL that can be stopped (connections closed, new ones refused) and
/// started again on the same port.
struct DbProxy {
    listen: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl DbProxy {
    /// A proxy to the database of `url`, and the URL that goes through it.
    async fn start(url: &str) -> (DbProxy, String) {
        let mut parsed = url::Url::parse(url).unwrap();
        let upstream = tokio::net::lookup_host((parsed.host_str().unwrap(), parsed.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = listener.local_addr().unwrap();
        let proxy = DbProxy { listen, upstream, tasks: Arc::default() };
        proxy.accept_on(listener);
        parsed.set_host(Some("127.0.0.1")).unwrap();
        parsed.set_port(Some(listen.port())).unwrap();
        (proxy, parsed.to_string())
    }

    fn accept_on(&self, listener: TcpListener) {
        let (tasks, upstream) = (self.tasks.clone(), self.upstream);
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(link);
            }
        });
        self.tasks.lock().unwrap().push(accepting);
    }

    /// The database "stops": the listener goes (new connections are refused) and every open
    /// connection is closed.
    async fn stop(&self) {
        let tasks: Vec<_> = self.tasks.lock().unwrap().drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        assert!(TcpStream::connect(self.listen).await.is_err(), "the stopped proxy still accepts");
    }

    /// The database is back, on the same address.
    fn resume(&self) {
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

/// `request`, and how long it took.
async fn timed<T>(request: impl std::future::Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let answer = request.await;
    (answer, started.elapsed())
}

// Multi-threaded: the store's blocking client and start-up block a worker while the proxy's tasks
// must go on forwarding.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_database_answers_503_quickly_and_the_server_recovers_on_its_own() {
    let url = fresh_database_url().expect("this module runs only on PostgreSQL: set KIRO_TEST_POSTGRES_URL");
    let (proxy, proxied) = DbProxy::start(&url).await;
    let app = TestApp::on(Store::connect(&proxied, &Default::default()).unwrap());
    let session = app.new_session("acct-db-down", "pro").await;
    let card = app.tokenize(&session, "4242424242424242").await;
    // Several pooled connections, as under load, all idle when the database goes.
    let view_path = format!("/api/checkout/{session}");
    let views = (0..8).map(|_| app.get(&view_path, None));
    for view in futures_util::future::join_all(views).await {
        assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    }

    proxy.stop().await;
    let ((ready, view, confirm, health), took) = timed(async {
        tokio::join!(
            app.get("/readyz", None),
            app.get(&view_path, None),
            app.confirm(&session, &card, "while-down"),
            app.get("/healthz", None),
        )
    })
    .await;
    eprintln!("with the database away, four requests at once answered in {took:?}");
    assert!(took < QUICKLY, "requests took {took:?} to answer while the database was away");
    assert_error(&ready, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert_error(&view, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert_error(&confirm, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, Some("ok")), "liveness");
    // Once the pool has no connection left, a new one is refused: still a quick 503.
    let (ready, took) = timed(app.get("/readyz", None)).await;
    eprintln!("with the database away and its connections gone, readyz answered in {took:?}");
    assert!(took < QUICKLY, "readyz took {took:?} while the database was away");
    assert_error(&ready, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable");
    let (metrics, took) = timed(app.get("/metrics", Some(crate::common::KEY))).await;
    assert!(took < QUICKLY, "metrics took {took:?} while the database was away");
    assert!(metrics.body.as_str().is_some_and(|m| m.contains("\nkiro_database_up 0\n")), "{:?}", metrics.body);

    proxy.resume();
    // The first request once the database is back goes through: no connection the outage broke
    // is handed out again.
    let paid = app.confirm(&session, &card, "after-restart").await;
    assert_eq!(paid.status, StatusCode::OK, "{:?}", paid.body);
    assert_eq!(paid.body["status"], "succeeded", "{:?}", paid.body);
    let ready = app.get("/readyz", None).await;
    assert_eq!((ready.status, &ready.body["status"]), (StatusCode::OK, &serde_json::json!("ready")));
    assert_eq!(app.invoices("acct-db-down").await.len(), 1, "one payment, recorded once");
}
