//! The roles' small HTTP endpoint for metrics: GET only, at most 32 requests at once, the
//! request head bounded in size (2 KiB) and time (5 s), one response per connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Serves `GET <path>` until `shutdown`: `page(path)` gives the content type and body, or None
/// for a 404.
pub async fn serve_pages<F>(listener: TcpListener, mut shutdown: watch::Receiver<bool>, page: F)
where
    F: Fn(&str) -> Option<(&'static str, String)> + Send + Sync + 'static,
{
    let page = Arc::new(page);
    let limit = Arc::new(Semaphore::new(32));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = super::stopped(&mut shutdown) => return,
        };
        let Ok((mut stream, _)) = accepted else { continue };
        let Ok(permit) = limit.clone().try_acquire_owned() else { continue };
        let page = page.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut buf = [0u8; 2048];
            let mut n = 0;
            // The request head, bounded in size and time; only its first line matters.
            let head = tokio::time::timeout(Duration::from_secs(5), async {
                while n < buf.len() {
                    match stream.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                    if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            })
            .await;
            if head.is_err() {
                return;
            }
            let line = buf[..n].split(|b| *b == b'\n').next().unwrap_or_default();
            let path = line
                .strip_prefix(b"GET ")
                .and_then(|rest| rest.split(|b| *b == b' ').next())
                .and_then(|p| std::str::from_utf8(p).ok());
            let response = match path.and_then(|p| page(p)) {
                Some((kind, body)) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(response.as_bytes())).await;
        });
    }
}
