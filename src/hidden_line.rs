//! A hidden line typed at the terminal that the run can stop waiting for: the paste offered while
//! the loopback listener still waits for the browser. Whichever comes first wins; a prompt from
//! a library (dialoguer) cannot be abandoned, so this one reads stdin itself, with echo off, and
//! checks a stop flag between short waits.

use std::sync::atomic::{AtomicBool, Ordering};

/// The line (without its ending), `None` once `stop` is set or at end of input; echo is back on
/// when it returns. Ctrl-C stays a signal (the terminal's modes are put back by `interrupt`).
#[cfg(unix)]
pub fn read(stop: &AtomicBool) -> std::io::Result<Option<String>> {
    let _echo = EchoOff::new();
    let mut line = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            eprintln!();
            return Ok(None);
        }
        let mut pollfd = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, owned here, for the duration of the call.
        let ready = unsafe { libc::poll(&mut pollfd, 1, 100) };
        if ready < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if ready == 0 {
            continue;
        }
        let mut buf = [0u8; 1024];
        // SAFETY: reads at most `buf.len()` bytes into `buf`, owned here.
        let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
        let Ok(n) = usize::try_from(n) else {
            return Err(std::io::Error::last_os_error());
        };
        if n == 0 {
            return Ok(None);
        }
        let got = buf.get(..n).unwrap_or_default();
        if let Some(end) = got.iter().position(|b| *b == b'\n' || *b == b'\r') {
            line.extend_from_slice(got.get(..end).unwrap_or_default());
            eprintln!();
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
        line.extend_from_slice(got);
    }
}

#[cfg(not(unix))]
pub fn read(stop: &AtomicBool) -> std::io::Result<Option<String>> {
    // Without a way to wait on the console here, only the listener is waited for.
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(None)
}

/// Echo off on stdin's terminal until dropped.
#[cfg(unix)]
struct EchoOff(Option<libc::termios>);

#[cfg(unix)]
impl EchoOff {
    fn new() -> EchoOff {
        let mut modes = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: `tcgetattr` fills `modes`, read only after it reports success.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, modes.as_mut_ptr()) } != 0 {
            return EchoOff(None);
        }
        // SAFETY: initialized by the successful `tcgetattr` above.
        let before = unsafe { modes.assume_init() };
        let mut hidden = before;
        hidden.c_lflag &= !libc::ECHO;
        // SAFETY: sets modes from a struct owned here.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &hidden) };
        EchoOff(Some(before))
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(before) = &self.0 {
            // SAFETY: puts back the modes read in `new`.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, before) };
        }
    }
}
