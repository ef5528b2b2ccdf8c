//! The emulator on a thread of its own, for synchronous tests that cannot `.await`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::emulator::{EmulatorBuilder, base_url, inject_fault, try_inject_fault};
use crate::error::Error;
use crate::shared::Shared;

/// An emulator serving from a background thread; dropping it shuts the server down and waits
/// for the thread.
#[derive(Debug)]
pub struct BackgroundEmulator {
    addr: SocketAddr,
    ca_certificate_pem: Option<String>,
    api_key: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the background thread hands back once its server is up.
struct Ready {
    addr: SocketAddr,
    ca_certificate_pem: Option<String>,
    api_key: String,
    shared: Arc<Shared>,
}

impl BackgroundEmulator {
    pub(crate) fn start(builder: EmulatorBuilder) -> Result<Self, Error> {
        let (ready_sender, ready) = mpsc::channel::<Result<Ready, Error>>();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("baseten-emulator".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_sender.send(Err(Error::Thread(error)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match builder.start().await {
                        Ok(running) => {
                            let _ = ready_sender.send(Ok(Ready {
                                addr: running.addr(),
                                ca_certificate_pem: running.ca_certificate_pem().map(str::to_owned),
                                api_key: running.api_key().to_owned(),
                                shared: running.shared().clone(),
                            }));
                            // Either a stop request or the handle going away ends the wait.
                            let _ = stopped.await;
                            running.shutdown().await;
                        }
                        Err(error) => {
                            let _ = ready_sender.send(Err(error));
                        }
                    }
                });
            })
            .map_err(Error::Thread)?;
        let ready = match ready.recv() {
            Ok(result) => result?,
            Err(_) => return Err(Error::ThreadStopped),
        };
        Ok(Self {
            addr: ready.addr,
            ca_certificate_pem: ready.ca_certificate_pem,
            api_key: ready.api_key,
            shared: ready.shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`, or `https://…` when serving HTTPS.
    pub fn url(&self) -> String {
        base_url(self.addr, self.ca_certificate_pem.is_some())
    }

    /// The CA certificate (PEM) that signed the server's certificate, when serving HTTPS.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_certificate_pem.as_deref()
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first bootstrap key, `<prefix>.<secret>`.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Requests seen so far, as the array `GET /_emulator/requests` shows.
    pub fn requests(&self) -> Value {
        self.shared.requests()
    }

    /// Current keys, as `GET /v1/api_keys` lists them.
    pub fn keys(&self) -> Vec<Value> {
        self.shared.listed_keys()
    }

    /// Queues a fault, described as for `POST /_emulator/faults`; returns its id.
    ///
    /// # Panics
    /// When the description is invalid: that is a bug in the calling test.
    pub fn inject_fault(&self, fault: Value) -> u64 {
        inject_fault(&self.shared, fault)
    }

    /// Queues a fault, described as for `POST /_emulator/faults`; returns its id.
    pub fn try_inject_fault(&self, fault: Value) -> Result<u64, Error> {
        try_inject_fault(&self.shared, &fault)
    }

    /// Forgets pending faults and the request log, as `POST /_emulator/reset`.
    pub fn reset(&self) {
        self.shared.control().reset();
    }
}

impl Drop for BackgroundEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
