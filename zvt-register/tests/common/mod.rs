//! A scripted PT for the tests: a canned byte script, not a PT implementation.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One step of the script.
#[derive(Debug, Clone)]
pub enum Step {
    /// Read exactly these bytes (fails on a mismatch or after 10 s).
    Expect(Vec<u8>),
    /// Write these bytes in one write.
    Send(Vec<u8>),
    /// Write these bytes in two writes (an APDU split across segments).
    SendSplit(Vec<u8>, usize),
    /// Expect the register to close the connection.
    ExpectClose,
    /// Close the connection.
    Close,
}

/// Bytes from a hex string (`"06 01 0A"`).
pub fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect()
}

/// Expect these hex bytes.
pub fn expect(text: &str) -> Step {
    Step::Expect(hex(text))
}

/// Send these hex bytes.
pub fn send(text: &str) -> Step {
    Step::Send(hex(text))
}

/// An APDU from control bytes and data.
pub fn apdu(class: u8, instr: u8, data: &[u8]) -> Vec<u8> {
    posagent_zvt_register::apdu::Apdu::new(class, instr, data.to_vec()).encode()
}

async fn run(mut stream: TcpStream, script: Vec<Step>) -> Result<(), String> {
    for (index, step) in script.into_iter().enumerate() {
        match step {
            Step::Expect(bytes) => {
                let mut got = vec![0u8; bytes.len()];
                tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut got))
                    .await
                    .map_err(|_| format!("step {index}: timed out waiting for {bytes:02X?}"))?
                    .map_err(|e| format!("step {index}: {e} waiting for {bytes:02X?}"))?;
                if got != bytes {
                    return Err(format!("step {index}: expected {bytes:02X?}, got {got:02X?}"));
                }
            }
            Step::Send(bytes) => stream.write_all(&bytes).await.map_err(|e| e.to_string())?,
            Step::SendSplit(bytes, at) => {
                stream.write_all(&bytes[..at]).await.map_err(|e| e.to_string())?;
                stream.flush().await.map_err(|e| e.to_string())?;
                tokio::task::yield_now().await;
                stream.write_all(&bytes[at..]).await.map_err(|e| e.to_string())?;
            }
            Step::ExpectClose => {
                let mut byte = [0u8; 1];
                let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte)).await;
                match read {
                    Ok(Ok(0)) | Ok(Err(_)) => {}
                    other => return Err(format!("step {index}: expected close, got {other:?} {byte:02X?}")),
                }
            }
            Step::Close => return Ok(()),
        }
    }
    Ok(())
}

/// Starts a scripted PT on a free port; returns its address and the script's result.
pub async fn scripted_pt(script: Vec<Step>) -> (std::net::SocketAddr, tokio::task::JoinHandle<Result<(), String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        run(stream, script).await
    });
    (addr, task)
}
