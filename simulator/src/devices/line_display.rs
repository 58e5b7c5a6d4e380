//! A simulated 2×20 customer line display on a pseudo-terminal, interpreting the CD5220
//! command set as its user's manual describes it (written from the manual, not from the
//! daemon's driver): `ESC @` initialise, `FF` clear, `HOM`/`CR`/`LF`/`BS`/`CAN`, `ESC l x
//! y` cursor position, `ESC _ n` cursor, `ESC DC1..DC3` modes, `ESC * n` brightness,
//! `ESC t n` character table; printable bytes go at the cursor, which advances.

use posagent_drivers::printer::CodePage;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const COLS: usize = 20;
const ROWS: usize = 2;

/// What the display shows.
#[derive(Debug, Clone)]
struct Vfd {
    cells: [[char; COLS]; ROWS],
    row: usize,
    col: usize,
    table: CodePage,
    cursor_visible: bool,
}

impl Default for Vfd {
    fn default() -> Self {
        Vfd { cells: [[' '; COLS]; ROWS], row: 0, col: 0, table: CodePage::Pc858, cursor_visible: true }
    }
}

impl Vfd {
    fn clear(&mut self) {
        self.cells = [[' '; COLS]; ROWS];
        self.row = 0;
        self.col = 0;
    }

    fn put(&mut self, c: char) {
        self.cells[self.row][self.col] = c;
        self.col += 1;
        if self.col == COLS {
            // Overwrite mode: on to the next line; after the last cell, back home.
            self.col = 0;
            self.row = (self.row + 1) % ROWS;
        }
    }

    /// Interprets the complete commands at the start of `buf`; returns bytes used (an
    /// incomplete escape sequence waits for more bytes).
    fn feed(&mut self, buf: &[u8]) -> usize {
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            let need = |n: usize| if i + n <= buf.len() { Some(&buf[i..i + n]) } else { None };
            match b {
                0x1B => {
                    let Some(&[_, cmd]) = need(2) else { return i };
                    let args = match cmd {
                        b'l' => 2,
                        b'_' | b'*' | b't' | b'f' => 1,
                        _ => 0,
                    };
                    let Some(seq) = need(2 + args) else { return i };
                    match cmd {
                        b'@' => *self = Vfd { table: CodePage::Pc858, ..Vfd::default() },
                        b'l' => {
                            self.col = usize::from(seq[2].clamp(1, COLS as u8)) - 1;
                            self.row = usize::from(seq[3].clamp(1, ROWS as u8)) - 1;
                        }
                        b'_' => self.cursor_visible = seq[2] != 0,
                        b't' => self.table = CodePage::from_escpos_table(seq[2]).unwrap_or(self.table),
                        _ => {} // modes, brightness, international set: nothing to show
                    }
                    i += 2 + args;
                    continue;
                }
                0x0C => self.clear(),
                0x0B => (self.row, self.col) = (0, 0),
                0x0D => self.col = 0,
                0x0A => self.row = (self.row + 1).min(ROWS - 1),
                0x08 => self.col = self.col.saturating_sub(1),
                0x18 => {
                    self.cells[self.row] = [' '; COLS];
                    self.col = 0;
                }
                0x20..=0x7E => self.put(char::from(b)),
                0x80..=0xFF => self.put(self.table.decode_byte(b)),
                _ => {} // other control bytes are ignored by the display
            }
            i += 1;
        }
        i
    }

    fn lines(&self) -> [String; ROWS] {
        [self.cells[0].iter().collect(), self.cells[1].iter().collect()]
    }
}

/// The simulated line display.
pub struct SimLineDisplay {
    /// The serial port the daemon opens.
    pub path: String,
    vfd: Arc<Mutex<Vfd>>,
    changed: watch::Sender<u64>,
    _slave: serialport::TTYPort,
}

impl SimLineDisplay {
    /// Opens a PTY pair and runs the display on one end until `cancel` fires.
    pub fn start(cancel: CancellationToken) -> std::io::Result<Arc<Self>> {
        let (mut master, slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
        let path = serialport::SerialPort::name(&slave)
            .ok_or_else(|| std::io::Error::other("the pseudo-terminal has no name"))?;
        serialport::SerialPort::set_timeout(&mut master, Duration::from_millis(50)).map_err(std::io::Error::other)?;
        let vfd = Arc::new(Mutex::new(Vfd::default()));
        let (changed, _) = watch::channel(0u64);
        let (v, tx) = (vfd.clone(), changed.clone());
        std::thread::Builder::new().name("sim-line-display".into()).spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 256];
            while !cancel.is_cancelled() {
                let n = match master.read(&mut chunk) {
                    Ok(n) if n > 0 => n,
                    Err(e) if e.kind() != std::io::ErrorKind::TimedOut => {
                        // No one has the port open (EIO on a PTY's master): wait, never spin.
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    _ => continue,
                };
                buf.extend_from_slice(&chunk[..n]);
                let used = v.lock().unwrap_or_else(|p| p.into_inner()).feed(&buf);
                buf.drain(..used);
                tx.send_modify(|n| *n += 1);
            }
        })?;
        Ok(Arc::new(SimLineDisplay { path, vfd, changed, _slave: slave }))
    }

    /// The two lines as shown (20 characters each).
    pub fn lines(&self) -> [String; ROWS] {
        self.vfd.lock().unwrap_or_else(|p| p.into_inner()).lines()
    }

    /// Ticks whenever bytes arrived.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_from_the_manual_move_the_cursor_and_write() {
        let mut v = Vfd::default();
        let bytes = b"\x1b@\x1b\x11\x1b_\x00Hello\x1bl\x05\x02\xd5 9,90\x0b>";
        assert_eq!(v.feed(bytes), bytes.len());
        assert_eq!(v.lines(), [">ello               ".to_string(), "    € 9,90          ".to_string()]);
        assert!(!v.cursor_visible);
        // An escape sequence cut in the middle waits for the rest.
        assert_eq!(v.feed(b"ab\x1bl\x01"), 2);
        assert_eq!(v.feed(b"\x0c"), 1);
        assert_eq!(v.lines()[0].trim(), "");
        // Writing past the end of line 1 goes on at the start of line 2.
        v.feed(&[b'x'; 21]);
        assert_eq!(v.lines(), ["x".repeat(20), format!("x{}", " ".repeat(19))]);
    }
}
