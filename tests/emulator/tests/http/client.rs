//! A deliberately small HTTP/1.1 client over a raw `TcpStream`, or rustls over one: it sends
//! exactly the bytes a test asks for (odd paths included) and tells a dropped connection apart
//! from any answer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use serde_json::Value;

/// An answer as received.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `message` of an error answer, checking the error shape on the way.
    pub fn message(&self) -> String {
        let body = self.json();
        let object = body.as_object().expect("an error body is an object");
        assert_eq!(object.len(), 1, "an error body has only `message`: {body}");
        object["message"]
            .as_str()
            .expect("`message` is a string")
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one request on a fresh connection and reads the answer until the server closes it.
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Reply> {
    exchange(connect(addr)?, addr, method, path, headers, body)
}

/// As [`send`], over TLS: trusting only the CA certificate `ca_pem`, asking for `server_name`
/// (a DNS name or an IP address). A certificate the client does not trust is an `Err`.
pub fn send_tls(
    addr: SocketAddr,
    ca_pem: &str,
    server_name: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Reply> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let stream = rustls::StreamOwned::new(connection, connect(addr)?);
    exchange(stream, addr, method, path, headers, body)
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(stream)
}

/// Writes one request with `Connection: close` and reads the answer until the server closes.
fn exchange(
    mut stream: impl Read + Write,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<Reply> {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&bytes)?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    parse(&received)
}

fn parse(received: &[u8]) -> io::Result<Reply> {
    if received.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed without an answer",
        ));
    }
    let end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no end of headers"))?;
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let rest = &received[end + 4..];
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> io::Result<Vec<u8>> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or_else(invalid)?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid())?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or_else(invalid)?);
        rest = rest.get(size + 2..).ok_or_else(invalid)?;
    }
}

/// `Authorization: Api-Key <key>`.
pub fn api_key(key: &str) -> String {
    format!("Api-Key {key}")
}

pub fn get(addr: SocketAddr, path: &str, key: &str) -> Reply {
    send(addr, "GET", path, &[("Authorization", &api_key(key))], None).expect("GET answered")
}

pub fn delete(addr: SocketAddr, path: &str, key: &str) -> Reply {
    send(
        addr,
        "DELETE",
        path,
        &[("Authorization", &api_key(key))],
        None,
    )
    .expect("DELETE answered")
}

pub fn post(addr: SocketAddr, path: &str, key: &str, body: &Value) -> Reply {
    try_post(addr, path, key, body).expect("POST answered")
}

pub fn try_post(addr: SocketAddr, path: &str, key: &str, body: &Value) -> io::Result<Reply> {
    send(
        addr,
        "POST",
        path,
        &[
            ("Authorization", &api_key(key)),
            ("Content-Type", "application/json"),
        ],
        Some(body.to_string().as_bytes()),
    )
}

/// A control call: no key.
pub fn control(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let body = body.map(Value::to_string);
    send(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        body.as_deref().map(str::as_bytes),
    )
    .expect("control endpoint answered")
}

/// Creates a key and returns `<prefix>.<secret>`.
pub fn create_key(addr: SocketAddr, key: &str, body: &Value) -> String {
    let reply = post(addr, "/v1/api_keys", key, body);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["api_key"]
        .as_str()
        .expect("api_key is a string")
        .to_owned()
}
