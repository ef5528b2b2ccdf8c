//! The emulator on a thread of its own, for synchronous tests that cannot `.await`.

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::emulator::{EmulatorBuilder, EmulatorHandle};
use crate::error::Error;

/// An emulator serving from a background thread; dropping it shuts the server down and waits
/// for the thread.
#[derive(Debug)]
pub struct BackgroundEmulator {
    handle: EmulatorHandle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::ops::Deref for BackgroundEmulator {
    type Target = EmulatorHandle;

    fn deref(&self) -> &EmulatorHandle {
        &self.handle
    }
}

impl BackgroundEmulator {
    pub(crate) fn start(builder: EmulatorBuilder) -> Result<Self, Error> {
        let (ready_sender, ready) = mpsc::channel::<Result<EmulatorHandle, Error>>();
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
                            let _ = ready_sender.send(Ok(running.handle().clone()));
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
            handle: ready,
            stop: Some(stop),
            thread: Some(thread),
        })
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
