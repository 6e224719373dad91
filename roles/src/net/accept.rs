//! The accept loop every role's listener runs: a bounded number of connections, each in its
//! own task, counted, and drained at shutdown.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Where an accept loop counts sockets: every one accepted, and those closed at once because
/// `max` connections were open.
#[derive(Clone, Copy)]
pub struct AcceptCounters<'a> {
    /// Sockets accepted (refused ones included).
    pub total: &'a AtomicU64,
    /// Sockets closed at once for want of a slot.
    pub refused: &'a AtomicU64,
}

/// Accepts connections until `shutdown`, at most `max` at once, each handled by
/// `handle(stream, peer, id)` in its own task (ids count from 1); then stops listening and
/// waits for the tasks. Accept errors (out of file descriptors and the like) pause 50 ms
/// instead of spinning.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    max: usize,
    mut shutdown: watch::Receiver<bool>,
    counters: AcceptCounters<'_>,
    mut handle: F,
) where
    F: FnMut(TcpStream, SocketAddr, u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(max.max(1)));
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    counters.total.fetch_add(1, Ordering::Relaxed);
                    match slots.clone().try_acquire_owned() {
                        Ok(permit) => {
                            next_id += 1;
                            let task = handle(stream, peer, next_id);
                            tasks.spawn(async move {
                                task.await;
                                drop(permit);
                            });
                        }
                        Err(_) => {
                            counters.refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next() => {}
            _ = super::stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}
