//! A TCP proxy between the app and a shared service, so a test can cut its own link without
//! touching the service other tests use, or make it silent: connected, but nothing gets through.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::AbortHandle,
};

pub struct Proxy {
    address: SocketAddr,
    open: Arc<AtomicBool>,
    frozen: watch::Sender<bool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
    acceptor: AbortHandle,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (frozen, _) = watch::channel(false);
        let acceptor = {
            let open = open.clone();
            let links = links.clone();
            let frozen = frozen.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let mut silence = frozen.subscribe();
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let frozen = async {
                                let _ = silence.wait_for(|frozen| *frozen).await;
                            };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                // Both sockets stay open and nothing moves, until cut.
                                _ = frozen => std::future::pending::<()>().await,
                            }
                        }
                    });
                    links.lock().unwrap().push(link.abort_handle());
                }
            })
            .abort_handle()
        };
        Proxy {
            address,
            open,
            frozen,
            links,
            acceptor,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Closes every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Keeps every connection, new ones included, open but passes nothing through, as a
    /// network partition does: the app waits for answers that never come.
    pub fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    /// Lets new connections through again; connections frozen until now stay silent until
    /// [`Proxy::cut`].
    pub fn restore(&self) {
        self.frozen.send_replace(false);
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.acceptor.abort();
    }
}
