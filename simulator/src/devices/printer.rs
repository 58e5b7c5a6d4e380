//! A simulated ESC/POS receipt printer on a TCP socket (like a port-9100 printer): it
//! answers real-time status requests, decodes what it receives and keeps each receipt
//! as raw bytes and as text.

use super::escpos_decoder::{Event, decode, render_text};
use posagent_drivers::printer::CodePage;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The firmware version the simulated printer reports (`GS I 65`).
pub const FIRMWARE: &str = "SIM-PRN 1.04";

/// One printed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReceipt {
    /// 1-based number in print order.
    pub number: usize,
    /// The bytes received for it, byte for byte.
    pub raw: Vec<u8>,
    /// Text rendering.
    pub text: String,
    /// Payloads of the QR codes printed on it.
    pub qr_payloads: Vec<String>,
}

impl SimReceipt {
    /// The receipt as the paper would look, as PNG.
    pub fn png(&self, columns: usize) -> Result<Vec<u8>, png::EncodingError> {
        let mut events = vec![];
        let mut rest: &[u8] = &self.raw;
        let mut page = CodePage::Pc858;
        while let Ok(Some((ev, used))) = decode(rest, page) {
            if let Event::CodeTable(n) = ev {
                page = CodePage::from_escpos_table(n).unwrap_or(page);
            }
            events.push(ev);
            rest = &rest[used..];
        }
        super::receipt_image::render(&events, columns).to_png()
    }
}

/// The simulated printer.
pub struct SimPrinter {
    columns: std::sync::atomic::AtomicUsize,
    out_dir: Option<PathBuf>,
    paper_out: AtomicBool,
    receipts: Mutex<Vec<SimReceipt>>,
    numbered: std::sync::atomic::AtomicUsize,
    printed: Notify,
    drawer_kicks: std::sync::atomic::AtomicUsize,
    /// The cable.
    pub plug: Arc<super::Plug>,
}

impl SimPrinter {
    /// A printer `columns` wide; receipts also go to `out_dir` as `receipt-NNNN.bin/.txt`.
    pub fn new(columns: usize, out_dir: Option<PathBuf>) -> Arc<Self> {
        Arc::new(SimPrinter {
            columns: std::sync::atomic::AtomicUsize::new(columns),
            out_dir,
            paper_out: AtomicBool::new(false),
            receipts: Mutex::new(vec![]),
            numbered: std::sync::atomic::AtomicUsize::new(0),
            drawer_kicks: std::sync::atomic::AtomicUsize::new(0),
            printed: Notify::new(),
            plug: Arc::default(),
        })
    }

    /// How many times the cash drawer was kicked open.
    pub fn drawer_kicks(&self) -> usize {
        self.drawer_kicks.load(Ordering::SeqCst)
    }

    /// Whether the paper ran out.
    pub fn paper_out(&self) -> bool {
        self.paper_out.load(Ordering::SeqCst)
    }

    /// Runs out of paper (true) or gets a new roll (false).
    pub fn set_paper_out(&self, out: bool) {
        self.paper_out.store(out, Ordering::SeqCst);
    }

    /// Characters per line.
    pub fn columns(&self) -> usize {
        self.columns.load(Ordering::SeqCst)
    }

    /// Loads paper of another width: `columns` characters per line, as the terminal
    /// profile pointed at this printer has it (renders and text follow it).
    pub fn set_columns(&self, columns: usize) {
        self.columns.store(columns.max(1), Ordering::SeqCst);
    }

    /// Receipts printed so far.
    pub fn receipts(&self) -> Vec<SimReceipt> {
        self.receipts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until at least `n` receipts were printed, up to `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<SimReceipt>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.printed.notified();
            let r = self.receipts();
            if r.len() >= n {
                return Some(r);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    fn status_byte(&self, n: u8) -> u8 {
        let out = self.paper_out.load(Ordering::SeqCst);
        match (n, out) {
            (1, true) => 0x1A,
            (2, true) => 0x32,
            (4, true) => 0x72,
            _ => 0x12,
        }
    }

    /// Accepts connections until `cancel` fires (none while unplugged).
    pub async fn serve(self: Arc<Self>, listener: TcpListener, cancel: CancellationToken) {
        let me = self.clone();
        super::accept_loop(listener, cancel, self.plug.clone(), move |stream, token| {
            let me = me.clone();
            async move { me.connection(stream, token).await }
        })
        .await;
    }

    async fn connection(&self, mut stream: TcpStream, cancel: CancellationToken) {
        let mut buf: Vec<u8> = Vec::new();
        let mut job_raw: Vec<u8> = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let mut page = CodePage::Pc858;
        loop {
            let n = tokio::select! {
                () = cancel.cancelled() => return,
                r = stream.read(&mut chunk) => match r { Ok(0) | Err(_) => return, Ok(n) => n },
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match decode(&buf, page) {
                    Ok(Some((ev, used))) => {
                        let bytes: Vec<u8> = buf.drain(..used).collect();
                        // A real printer keeps the table `ESC t n` selected until the next one.
                        if let Event::CodeTable(n) = ev {
                            page = CodePage::from_escpos_table(n).unwrap_or(page);
                        }
                        match ev {
                            Event::StatusRequest(n) => {
                                if stream.write_all(&[self.status_byte(n)]).await.is_err() {
                                    return;
                                }
                            }
                            Event::IdRequest(65) => {
                                let mut reply = vec![b'_'];
                                reply.extend_from_slice(FIRMWARE.as_bytes());
                                reply.push(0);
                                if stream.write_all(&reply).await.is_err() {
                                    return;
                                }
                            }
                            Event::IdRequest(_) => {}
                            Event::DrawerKick(_) => {
                                self.drawer_kicks.fetch_add(1, Ordering::SeqCst);
                            }
                            Event::Cut => {
                                job_raw.extend_from_slice(&bytes);
                                events.push(Event::Cut);
                                self.finish(std::mem::take(&mut job_raw), std::mem::take(&mut events)).await;
                            }
                            ev => {
                                job_raw.extend_from_slice(&bytes);
                                events.push(ev);
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "simulated printer dropped a malformed byte");
                        buf.remove(0);
                    }
                }
            }
        }
    }

    async fn finish(&self, raw: Vec<u8>, events: Vec<Event>) {
        let qr_payloads = events
            .iter()
            .filter_map(|e| if let Event::QrData(d) = e { Some(String::from_utf8_lossy(d).into_owned()) } else { None })
            .collect();
        let text = render_text(&events, self.columns());
        let number = self.numbered.fetch_add(1, Ordering::SeqCst) + 1;
        let receipt = SimReceipt { number, raw, text, qr_payloads };
        // Files first, then the receipt counts as printed: whoever waits for it finds them.
        if let Some(dir) = &self.out_dir {
            let base = dir.join(format!("receipt-{:04}", receipt.number));
            let (bin, txt, image) =
                (base.with_extension("bin"), base.with_extension("txt"), base.with_extension("png"));
            let columns = self.columns();
            let r = receipt.clone();
            match tokio::task::spawn_blocking(move || r.png(columns)).await {
                Ok(Ok(png)) => {
                    if let Err(e) = tokio::fs::write(&image, png).await {
                        tracing::warn!(path = %image.display(), error = %e, "cannot write simulated receipt");
                    }
                }
                _ => tracing::warn!("cannot render a simulated receipt"),
            }
            if let Err(e) = tokio::fs::write(&bin, &receipt.raw).await {
                tracing::warn!(path = %bin.display(), error = %e, "cannot write simulated receipt");
            }
            if let Err(e) = tokio::fs::write(&txt, &receipt.text).await {
                tracing::warn!(path = %txt.display(), error = %e, "cannot write simulated receipt");
            }
        }
        self.receipts.lock().unwrap_or_else(|p| p.into_inner()).push(receipt);
        self.printed.notify_waiters();
    }
}
