//! Ports for servers a test starts later (the binary's loopback callback, moto).
//!
//! Asking the OS for port 0 and closing it is racy: the OS hands the same ephemeral port to the
//! next socket that asks, such as another test's HTTP client, before our server binds it. So a
//! port comes from below the ephemeral range (32768+ on Linux), walking forward from a random
//! start, never twice in one test process (and its bind is tried first); each user gets its own block.

use std::net::TcpListener;
use std::sync::Mutex;

/// The half-open blocks of ports, one per user of this file.
pub enum Block {
    /// The binary's loopback callback: 21000..27000.
    Callback,
    /// moto servers: 27000..32000.
    Moto,
}

static NEXT: Mutex<[Option<u16>; 2]> = Mutex::new([None, None]);

/// A loopback port nobody listens on now and this process has not handed out before.
pub fn free_port(block: Block) -> u16 {
    let (index, start, end) = match block {
        Block::Callback => (0, 21_000u16, 27_000u16),
        Block::Moto => (1, 27_000, 32_000),
    };
    let mut next = NEXT.lock().unwrap();
    let span = end - start;
    // A random start, so test processes running side by side (nextest) walk different stretches.
    let seed = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    };
    let mut port = next[index].unwrap_or_else(|| start + (seed % u64::from(span)) as u16);
    for _ in 0..span {
        let candidate = port;
        port = if port + 1 >= end { start } else { port + 1 };
        if TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            next[index] = Some(port);
            return candidate;
        }
    }
    panic!("no free loopback port in {start}..{end}");
}
