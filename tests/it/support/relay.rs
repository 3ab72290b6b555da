//! A loopback HTTP/1.1 relay in front of a local server (moto) that can lose the network at a
//! chosen moment: once it has delivered the answer to a request containing `marker`, it closes
//! every connection and stops listening, so every later request is refused. The server itself
//! keeps running with its state, as AWS does when only the path to it fails.
//!
//! It can also play IAM for one parameter: requests a `deny` rule matches are answered with an
//! AccessDeniedException as SSM words it, and never reach the server (moto's IAM does not look at
//! resource ARNs, so a per-parameter policy cannot be set up there).
//!
//! And it can be far away: `delaying` holds every request for a while before relaying it, as
//! the path to a real AWS region does.
//!
//! And it can hang one call: requests a `stall` rule matches are never forwarded nor answered, as
//! when the network stops mid-write, so a test can signal or kill the binary at that moment.
//!
//! And it can play a store that misbehaves: answer some requests itself (`answering`, e.g. an
//! error that echoes the value sent), or change the server's answer (`rewriting`, e.g. a read
//! that returns something other than what was written).
//!
//! It understands just enough HTTP/1.1 for the AWS SDK and moto: one request at a time per
//! connection, bodies sized by Content-Length (an answer without one runs to the close).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Which requests a rule applies to (the request's text: head and body).
pub type Matches = Arc<dyn Fn(&str) -> bool + Send + Sync>;
/// The relay's own answer to a request, instead of the server's; `None`: relay it.
pub type Answer = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;
/// The answer the client gets, from the request and the server's answer.
pub type Rewrite = Arc<dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync>;

pub struct Relay {
    pub endpoint: String,
    cut: watch::Receiver<bool>,
    cut_tx: Arc<watch::Sender<bool>>,
    /// Requests relayed (answered) so far.
    relayed: Arc<AtomicUsize>,
    /// Requests held unanswered so far.
    stalled: Arc<AtomicUsize>,
}

impl Relay {
    /// Relays 127.0.0.1:<free port> to 127.0.0.1:`upstream`, cutting after `marker`'s answer.
    pub async fn start(upstream: u16, marker: &'static str) -> Relay {
        Relay::start_with(upstream, marker, Rules::default()).await
    }

    /// Relays to `upstream` and never cuts, but denies the requests `deny` matches.
    pub async fn denying(
        upstream: u16,
        deny: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Relay {
        let answer: Answer = Arc::new(move |r: &str| deny(r).then(|| access_denied(r)));
        Relay::answering_with(upstream, answer).await
    }

    /// Relays to `upstream` and never cuts, but answers itself when `answer` gives an answer.
    pub async fn answering(
        upstream: u16,
        answer: impl Fn(&str) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> Relay {
        Relay::answering_with(upstream, Arc::new(answer)).await
    }

    async fn answering_with(upstream: u16, answer: Answer) -> Relay {
        let rules = Rules {
            answer,
            ..Rules::default()
        };
        Relay::start_with(upstream, "\0never\0", rules).await
    }

    /// Relays to `upstream` and never cuts, passing each answer through `rewrite`.
    pub async fn rewriting(
        upstream: u16,
        rewrite: impl Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync + 'static,
    ) -> Relay {
        let rules = Rules {
            rewrite: Arc::new(rewrite),
            ..Rules::default()
        };
        Relay::start_with(upstream, "\0never\0", rules).await
    }

    /// Relays to `upstream`, but holds the requests `stall` matches unanswered for good.
    pub async fn stalling(
        upstream: u16,
        stall: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Relay {
        let rules = Rules {
            stall: Arc::new(stall),
            ..Rules::default()
        };
        Relay::start_with(upstream, "\0never\0", rules).await
    }

    /// Relays to `upstream`, each request `delay` later (network latency).
    pub async fn delaying(upstream: u16, delay: std::time::Duration) -> Relay {
        let rules = Rules {
            delay,
            ..Rules::default()
        };
        Relay::start_with(upstream, "\0never\0", rules).await
    }

    async fn start_with(upstream: u16, marker: &'static str, rules: Rules) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut_tx, cut) = watch::channel(false);
        let cut_tx = Arc::new(cut_tx);
        let relayed = Arc::new(AtomicUsize::new(0));
        let stalled = rules.stalled.clone();
        let upstream = SocketAddr::from(([127, 0, 0, 1], upstream));
        let (tx, mut rx, count) = (cut_tx.clone(), cut.clone(), relayed.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = rx.wait_for(|c| *c) => return, // drops the listener: connects are refused
                };
                let Ok((client, _)) = accepted else { return };
                let (tx, rx, count, rules) = (tx.clone(), rx.clone(), count.clone(), rules.clone());
                tokio::spawn(async move {
                    let mut rx2 = rx.clone();
                    tokio::select! {
                        _ = relay(client, upstream, marker, &rules, &tx, &rx, &count) => {}
                        _ = rx2.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Relay {
            endpoint: format!("http://{addr}"),
            cut,
            cut_tx,
            relayed,
            stalled,
        }
    }

    pub fn is_cut(&self) -> bool {
        *self.cut.borrow()
    }

    pub fn relayed(&self) -> usize {
        self.relayed.load(Ordering::SeqCst)
    }

    /// Counts the requests held unanswered (see `stalling`), for a thread to watch.
    pub fn stalled_counter(&self) -> Arc<AtomicUsize> {
        self.stalled.clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.cut_tx.send(true);
    }
}

/// What the relay does itself instead of relaying, or to what it relays.
#[derive(Clone)]
struct Rules {
    answer: Answer,
    stall: Matches,
    stalled: Arc<AtomicUsize>,
    rewrite: Rewrite,
    delay: std::time::Duration,
}

impl Default for Rules {
    /// A plain relay.
    fn default() -> Rules {
        Rules {
            answer: Arc::new(|_: &str| None),
            stall: Arc::new(|_: &str| false),
            stalled: Arc::new(AtomicUsize::new(0)),
            rewrite: Arc::new(|_: &str, answer| answer),
            delay: std::time::Duration::ZERO,
        }
    }
}

/// One client connection: request, answer, request, answer... until either side closes or the
/// network is cut.
async fn relay(
    mut client: TcpStream,
    upstream: SocketAddr,
    marker: &str,
    rules: &Rules,
    cut_tx: &watch::Sender<bool>,
    cut: &watch::Receiver<bool>,
    relayed: &AtomicUsize,
) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    loop {
        if *cut.borrow() {
            return;
        }
        let Some(request) = read_message(&mut client, true).await else {
            return;
        };
        let text = String::from_utf8_lossy(&request).into_owned();
        tokio::time::sleep(rules.delay).await;
        if (rules.stall)(&text) {
            rules.stalled.fetch_add(1, Ordering::SeqCst);
            return std::future::pending().await;
        }
        let answer = if let Some(own) = (rules.answer)(&text) {
            own
        } else {
            if *cut.borrow() || server.write_all(&request).await.is_err() {
                return;
            }
            let Some(answer) = read_message(&mut server, false).await else {
                return;
            };
            (rules.rewrite)(&text, answer)
        };
        if client.write_all(&answer).await.is_err() || client.flush().await.is_err() {
            return;
        }
        relayed.fetch_add(1, Ordering::SeqCst);
        if text.contains(marker) {
            let _ = cut_tx.send(true);
            return;
        }
    }
}

/// SSM's answer to a call IAM refuses, naming the action (from `X-Amz-Target`).
fn access_denied(request: &str) -> Vec<u8> {
    let action = request
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("x-amz-target:")
                .then(|| l.rsplit('.').next().unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    ssm_error(
        "AccessDeniedException",
        &format!(
            "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: ssm:{action} because no identity-based policy allows the ssm:{action} action"
        ),
    )
}

/// An SSM error answer (JSON protocol, HTTP 400).
pub fn ssm_error(kind: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "__type": kind, "message": message }).to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: relay-answer\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The JSON body of an HTTP message (a request the relay saw, or an answer).
pub fn json_body(message: &[u8]) -> Option<serde_json::Value> {
    let at = find(message, b"\r\n\r\n")? + 4;
    serde_json::from_slice(&message[at..]).ok()
}

/// `answer` with its JSON body changed by `edit`, and its Content-Length to match.
pub fn edit_json(answer: Vec<u8>, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let Some(mut body) = json_body(&answer) else {
        return answer;
    };
    edit(&mut body);
    let body = body.to_string();
    let at = find(&answer, b"\r\n\r\n").unwrap();
    let head: Vec<String> = String::from_utf8_lossy(&answer[..at])
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("content-length:"))
        .map(String::from)
        .collect();
    format!(
        "{}\r\nContent-Length: {}\r\n\r\n{body}",
        head.join("\r\n"),
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP message: the head, then Content-Length bytes of body (or, for an answer
/// without Content-Length, everything up to the close). `None` at a clean close or an error.
async fn read_message(stream: &mut (impl AsyncRead + Unpin), request: bool) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(len) => {
            while buf.len() < head_end + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
        None if request => {}
        None => {
            stream.read_to_end(&mut buf).await.ok()?;
        }
    }
    Some(buf)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
