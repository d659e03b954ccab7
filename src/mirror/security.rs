//! The mirror client's security: Kafka's `security.protocol` (`PLAINTEXT`, `SSL`,
//! `SASL_PLAINTEXT`, `SASL_SSL`), TLS with rustls (its `ring` provider, as `klog serve`), and
//! the SASL client of SaslHandshake v1 + SaslAuthenticate for PLAIN and SCRAM-SHA-256/512,
//! with the SCRAM primitives of [`crate::server::sasl`]. Settings come from flags and from a
//! Kafka `client.properties` file ([`Settings::from_properties`]); flags win.
//!
//! # Invariants
//! 1. [`Settings::prepare`] checks everything that can be checked before connecting (a SASL
//!    protocol has a mechanism, a user and a password; TLS files are readable PEM) and
//!    builds the TLS configuration once: each connection only runs its handshake. Settings
//!    the protocol does not use are ignored, as Kafka's clients do;
//!    [`Settings::unused_with`] names them, for flags.
//! 2. Without `--tls-ca`, the server's certificate must chain to Mozilla's roots as
//!    compiled into `webpki-roots` (no system store or tool is needed); the name checked is
//!    the broker's host as given.
//! 3. A password is never printed: [`Security`]'s and [`Settings`]' `Debug` hide it.
//! 4. A SCRAM exchange checks the server's signature: a server that does not know the
//!    password cannot pass for one that does.
//! 5. Every failure is one line naming the broker: [`Error::Tls`] (handshake: untrusted,
//!    wrong name, expired; a TLS listener reached without TLS) and [`Error::Auth`]
//!    (with the broker's own message). Neither is retried.
//!
//! # Kafka
//! The Java client's `SaslClientAuthenticator` (ApiVersions, then SaslHandshake, then
//! SaslAuthenticate tokens), `ScramSaslClient` and `PlainSaslClient`; `client.properties`
//! keys as the Java client and librdkafka name them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, ServerName};

use super::Error;
use crate::server::listener::{SecurityProtocol, certificates};
use crate::server::sasl::Scram;

/// A SASL mechanism the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(Scram),
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(s) => s.name(),
        }
    }

    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (any case).
    pub fn parse(s: &str) -> Result<Mechanism, Error> {
        let up = s.trim().to_ascii_uppercase();
        if up == "PLAIN" {
            return Ok(Mechanism::Plain);
        }
        Scram::from_name(&up).map(Mechanism::Scram).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown SASL mechanism '{s}' (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
            ))
        })
    }
}

/// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` (any case).
pub fn parse_protocol(s: &str) -> Result<SecurityProtocol, Error> {
    SecurityProtocol::ALL
        .into_iter()
        .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "unknown security protocol '{s}' (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
            ))
        })
}

/// Connection settings as given, each optional: from flags, from a `client.properties`
/// file, or both ([`Settings::or`]).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub protocol: Option<SecurityProtocol>,
    pub mechanism: Option<Mechanism>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM CA certificates the broker's certificate must chain to.
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate chain and key (mutual TLS).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("protocol", &self.protocol)
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("tls_ca", &self.tls_ca)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .finish()
    }
}

/// The keys of a `client.properties` file that klog reads.
const KNOWN_KEYS: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "sasl.jaas.config",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
    "ssl.truststore.location",
    "ssl.truststore.type",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.keystore.location",
    "ssl.keystore.type",
];

impl Settings {
    /// `self`'s settings, and `base`'s where `self` has none (flags over a file).
    pub fn or(self, base: Settings) -> Settings {
        Settings {
            protocol: self.protocol.or(base.protocol),
            mechanism: self.mechanism.or(base.mechanism),
            username: self.username.or(base.username),
            password: self.password.or(base.password),
            tls_ca: self.tls_ca.or(base.tls_ca),
            tls_cert: self.tls_cert.or(base.tls_cert),
            tls_key: self.tls_key.or(base.tls_key),
        }
    }

    /// Reads a Kafka `client.properties` file: the settings, and the keys klog does not
    /// use (for one warning). Relative paths in it are relative to the working directory,
    /// as for Kafka's clients.
    pub fn from_file(path: &Path) -> Result<(Settings, Vec<String>), Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Invalid(format!(
                "cannot read the client config {}: {e}",
                path.display()
            ))
        })?;
        Settings::from_properties(&text)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
    }

    /// Parses `client.properties` text (Java properties: `key=value`, `key: value` or
    /// `key value`, `#`/`!` comments, a trailing `\` continues a line).
    pub fn from_properties(text: &str) -> Result<(Settings, Vec<String>), String> {
        let mut s = Settings::default();
        let mut unknown = Vec::new();
        let mut truststore_type = None;
        let mut truststore = None;
        let file = |v: &str| PathBuf::from(v);
        for (key, value) in properties(text) {
            let v = value.as_str();
            match key.as_str() {
                "security.protocol" => {
                    s.protocol = Some(parse_protocol(v).map_err(|e| e.to_string())?)
                }
                "sasl.mechanism" | "sasl.mechanisms" => {
                    s.mechanism = Some(Mechanism::parse(v).map_err(|e| e.to_string())?)
                }
                "sasl.jaas.config" => {
                    let (module, user, password) = jaas(v)?;
                    if s.mechanism.is_none() && module == "PlainLoginModule" {
                        s.mechanism = Some(Mechanism::Plain);
                    }
                    s.username = user.or(s.username);
                    s.password = password.or(s.password);
                }
                "sasl.username" => s.username = Some(v.to_string()),
                "sasl.password" => s.password = Some(v.to_string()),
                "ssl.ca.location" => s.tls_ca = Some(file(v)),
                "ssl.truststore.location" => truststore = Some(v.to_string()),
                "ssl.truststore.type" => truststore_type = Some(v.to_ascii_uppercase()),
                "ssl.certificate.location" => s.tls_cert = Some(file(v)),
                "ssl.key.location" => s.tls_key = Some(file(v)),
                "ssl.keystore.location" | "ssl.keystore.type" => {
                    return Err(format!(
                        "{key}: keystores (JKS, PKCS12) are not read by klog: give the client \
                         certificate and key as PEM with ssl.certificate.location and \
                         ssl.key.location (or --tls-cert/--tls-key)"
                    ));
                }
                _ => {
                    if !unknown.contains(&key) {
                        unknown.push(key)
                    }
                }
            }
        }
        if let Some(t) = truststore {
            let pem = match truststore_type.as_deref() {
                Some("PEM") => true,
                Some(_) => false,
                None => [".pem", ".crt", ".cer"]
                    .iter()
                    .any(|e| t.to_ascii_lowercase().ends_with(e)),
            };
            if !pem {
                return Err(format!(
                    "ssl.truststore.location {t}: a JKS or PKCS12 truststore, which klog \
                     cannot read: export its CA certificates as PEM (keytool -exportcert \
                     -rfc) and give them with ssl.truststore.type=PEM or --tls-ca"
                ));
            }
            s.tls_ca = s.tls_ca.or(Some(file(t.as_str())));
        }
        debug_assert!(unknown.iter().all(|k| !KNOWN_KEYS.contains(&k.as_str())));
        Ok((s, unknown))
    }

    /// Checks the settings and builds what every connection needs.
    pub fn prepare(&self) -> Result<Security, Error> {
        let protocol = self.protocol.unwrap_or(SecurityProtocol::Plaintext);
        let invalid = |what: &str| {
            Err(Error::Invalid(format!(
                "{what} with --security-protocol {}",
                protocol.name()
            )))
        };
        let sasl = if protocol.sasl() {
            let Some(mechanism) = self.mechanism else {
                return invalid("no --sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)");
            };
            let Some(username) = self.username.clone() else {
                return invalid("no --sasl-username");
            };
            let Some(password) = self.password.clone() else {
                return invalid("no password (KLOG_SASL_PASSWORD or --sasl-password-file)");
            };
            Some(Sasl {
                mechanism,
                username,
                password,
            })
        } else {
            None
        };
        let tls = if protocol.tls() {
            Some(self.tls_config()?)
        } else {
            None
        };
        Ok(Security {
            protocol,
            tls,
            sasl,
        })
    }

    /// What of these settings `protocol` would not use (given as flags, that is a mistake
    /// worth stopping for: a user name without SASL would connect unauthenticated; in a
    /// `client.properties` file reused as it is, Kafka's clients ignore them, and so does
    /// [`Settings::prepare`]).
    pub fn unused_with(&self, protocol: Option<SecurityProtocol>) -> Option<String> {
        let protocol = protocol.unwrap_or(SecurityProtocol::Plaintext);
        let what = if !protocol.sasl() && (self.mechanism.is_some() || self.username.is_some()) {
            "SASL settings (a mechanism or user name)"
        } else if !protocol.tls()
            && (self.tls_ca.is_some() || self.tls_cert.is_some() || self.tls_key.is_some())
        {
            "TLS settings (a CA, certificate or key)"
        } else {
            return None;
        };
        Some(format!(
            "{what} are of no use with --security-protocol {}",
            protocol.name()
        ))
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        // `ring`, as `klog serve` (see `server::listener::server_config`).
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match &self.tls_ca {
            Some(ca) => {
                for c in certificates(ca)? {
                    roots.add(c).map_err(|e| {
                        Error::Invalid(format!(
                            "cannot use the CA certificate of {}: {e}",
                            ca.display()
                        ))
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Invalid(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let config = match (&self.tls_cert, &self.tls_key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let chain = certificates(cert)?;
                let k = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    Error::Invalid(format!(
                        "cannot read the private key of {}: {e}",
                        key.display()
                    ))
                })?;
                builder.with_client_auth_cert(chain, k).map_err(|e| {
                    Error::Invalid(format!(
                        "cannot use the certificate and key of {}: {e}",
                        cert.display()
                    ))
                })?
            }
            _ => {
                return Err(Error::Invalid(
                    "--tls-cert and --tls-key go together (mutual TLS)".into(),
                ));
            }
        };
        Ok(Arc::new(config))
    }
}

/// The lines of a Java properties text as keys and values.
fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = if logical.is_empty() {
            line.trim()
        } else {
            line.trim_start()
        };
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head);
            continue;
        }
        logical.push_str(line);
        let l = std::mem::take(&mut logical);
        let split = l.find(['=', ':', ' ', '\t']).unwrap_or(l.len());
        let key = l[..split].trim().to_string();
        let rest = l[split..].trim_start();
        let value = rest
            .strip_prefix(['=', ':'])
            .unwrap_or(rest)
            .trim()
            .to_string();
        out.push((key, value));
    }
    out
}

/// A `sasl.jaas.config` value: `org.apache.kafka.common.security.scram.ScramLoginModule
/// required username="…" password="…";` → the module's short name, the user and password.
#[allow(clippy::type_complexity)]
fn jaas(v: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let v = v.trim();
    let (class, rest) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
    let module = class.rsplit('.').next().unwrap_or(class).to_string();
    if module != "PlainLoginModule" && module != "ScramLoginModule" {
        return Err(format!(
            "sasl.jaas.config: the login module {class} is not supported (PlainLoginModule or \
             ScramLoginModule)"
        ));
    }
    let mut rest = rest.trim_start();
    for flag in ["required", "requisite", "sufficient", "optional"] {
        if let Some(r) = rest.strip_prefix(flag) {
            rest = r;
            break;
        }
    }
    let (mut user, mut password) = (None, None);
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with(';') {
            break;
        }
        let Some((name, after)) = rest.split_once('=') else {
            return Err(format!(
                "sasl.jaas.config: cannot parse the option '{rest}'"
            ));
        };
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n)
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = end else {
                return Err("sasl.jaas.config: a quoted value is not closed".into());
            };
            (value, &quoted[end..])
        } else {
            let end = after
                .find(|c: char| c.is_whitespace() || c == ';')
                .unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        match name.trim() {
            "username" => user = Some(value),
            "password" => password = Some(value),
            _ => {}
        }
        rest = next;
    }
    Ok((module, user, password))
}

/// SASL credentials.
#[derive(Clone)]
pub struct Sasl {
    pub mechanism: Mechanism,
    pub username: String,
    password: String,
}

/// Settings checked and prepared ([`Settings::prepare`]): what each connection uses.
#[derive(Clone)]
pub struct Security {
    pub protocol: SecurityProtocol,
    tls: Option<Arc<rustls::ClientConfig>>,
    pub sasl: Option<Sasl>,
}

impl Default for Security {
    /// `PLAINTEXT`.
    fn default() -> Security {
        Security {
            protocol: SecurityProtocol::Plaintext,
            tls: None,
            sasl: None,
        }
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("protocol", &self.protocol)
            .field("mechanism", &self.sasl.as_ref().map(|s| s.mechanism))
            .field("username", &self.sasl.as_ref().map(|s| &s.username))
            .finish()
    }
}

/// A connection's byte stream: plain TCP or TLS over it.
#[derive(Debug)]
pub enum Stream {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Security {
    /// The stream of a TCP connection to `broker`: TLS over it when the protocol has TLS,
    /// after its handshake.
    pub async fn wrap(&self, broker: &str, tcp: tokio::net::TcpStream) -> Result<Stream, Error> {
        let Some(config) = &self.tls else {
            return Ok(Stream::Plain(tcp));
        };
        let host = host_of(broker);
        let tls_err = |reason: String| Error::Tls {
            broker: broker.to_string(),
            reason,
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| tls_err(format!("'{host}' is not a valid server name")))?;
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let stream =
            tokio::time::timeout(super::client::CONNECT_TIMEOUT, connector.connect(name, tcp))
                .await
                .map_err(|_| tls_err("no handshake in time".into()))?
                .map_err(|e| tls_err(handshake_reason(&e, host)))?;
        Ok(Stream::Tls(Box::new(stream)))
    }
}

/// The host of `host:port` (`[v6]:port` too).
fn host_of(broker: &str) -> &str {
    let host = broker.rsplit_once(':').map_or(broker, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Why a TLS handshake failed, in words.
fn handshake_reason(e: &std::io::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    let Some(r) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                "the broker closed the connection (a plaintext listener? a client certificate \
                 it refused?)"
                    .into()
            }
            _ => e.to_string(),
        };
    };
    match r {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "its certificate is not signed by a trusted CA (--tls-ca)".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidForName)
        | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
            format!("its certificate is not valid for the name '{host}'")
        }
        rustls::Error::InvalidCertificate(C::Expired)
        | rustls::Error::InvalidCertificate(C::ExpiredContext { .. }) => {
            "its certificate has expired".into()
        }
        rustls::Error::InvalidMessage(_) => {
            "the broker does not speak TLS there (a plaintext listener?)".into()
        }
        other => other.to_string(),
    }
}

/// Whether the first 4 bytes of an answer, read as a Kafka frame size, are a TLS record's
/// header instead (an alert or handshake record, TLS 1.0 to 1.3): a plaintext client on a
/// TLS listener.
pub fn looks_like_tls(size: i32) -> bool {
    let b = size.to_be_bytes();
    matches!(b[0], 0x15 | 0x16) && b[1] == 3 && b[2] <= 4
}

/// The client side of one SCRAM exchange (RFC 5802).
#[derive(Debug)]
pub struct ScramClient {
    mech: Scram,
    client_nonce: String,
    first_bare: String,
    /// After the server-first message: the AuthMessage and the server key.
    expect: Option<(Vec<u8>, Vec<u8>)>,
}

/// Kafka refuses fewer SCRAM iterations than this; so does its client.
const MIN_ITERATIONS: u32 = 4096;

impl ScramClient {
    pub fn new(mech: Scram, user: &str, client_nonce: String) -> ScramClient {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            mech,
            first_bare: format!("n={user},r={client_nonce}"),
            client_nonce,
            expect: None,
        }
    }

    /// The client-first message.
    pub fn first(&self) -> Vec<u8> {
        format!("n,,{}", self.first_bare).into_bytes()
    }

    /// The client-final message for the server-first one.
    pub fn last(&mut self, server_first: &[u8], password: &str) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(server_first)
            .map_err(|_| "a server-first message that is not UTF-8")?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in text.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = B64.decode(v).ok(),
                Some(("i", v)) => iterations = v.parse::<u32>().ok(),
                Some(("e", v)) => return Err(format!("the server refused: {v}")),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(format!("a malformed server-first message '{text}'"));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("the server's nonce does not extend the client's".into());
        }
        if iterations < MIN_ITERATIONS {
            return Err(format!(
                "the server asks {iterations} iterations, fewer than {MIN_ITERATIONS}"
            ));
        }
        let m = self.mech;
        let salted = m.salted_password(password.as_bytes(), &salt, iterations);
        let client_key = m.hmac(&salted, &[b"Client Key"]);
        let stored_key = m.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = [
            self.first_bare.as_bytes(),
            b",",
            server_first,
            b",",
            without_proof.as_bytes(),
        ]
        .concat();
        let signature = m.hmac(&stored_key, &[&auth]);
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        self.expect = Some((auth, m.hmac(&salted, &[b"Server Key"])));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message's signature.
    pub fn verify(&self, server_final: &[u8]) -> Result<(), String> {
        let Some((auth, server_key)) = &self.expect else {
            return Err("a server-final message before the server-first one".into());
        };
        let text = std::str::from_utf8(server_final).unwrap_or("");
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("the server refused: {e}"));
        }
        let Some(v) = text.strip_prefix("v=").and_then(|v| B64.decode(v).ok()) else {
            return Err("a malformed server-final message".into());
        };
        let expected = self.mech.hmac(server_key, &[auth]);
        if crate::server::sasl::ct_eq(&v, &expected) {
            Ok(())
        } else {
            Err("the server's SCRAM signature is wrong: it does not know the password".into())
        }
    }
}

/// A fresh SCRAM client nonce (printable, no commas).
pub fn client_nonce() -> Result<String, String> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| format!("no random bytes: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

impl Sasl {
    pub fn password(&self) -> &str {
        &self.password
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::sasl::{Credential, Credentials, Exchange, Step};

    struct One(String, String);
    impl Credentials for One {
        fn credential(&self, user: &str, mech: Scram) -> Option<Credential> {
            (user == self.0)
                .then(|| Credential::new(mech, self.1.as_bytes(), b"salt".to_vec(), 4096))
        }
    }

    /// The client against the server's exchange: the right password passes both ways,
    /// a wrong one fails at the server.
    #[test]
    fn scram_client_and_server_agree() {
        for mech in Scram::ALL {
            for (password, ok) in [("pw", true), ("nope", false)] {
                let users = One("a,b=c".into(), "pw".into());
                let mut server = Exchange::new(mech.name()).unwrap();
                let mut client = ScramClient::new(mech, "a,b=c", client_nonce().unwrap());
                let Step::Continue(first) = server.step(&client.first(), &users) else {
                    panic!("no server-first message");
                };
                let last = client.last(&first, password).unwrap();
                match server.step(&last, &users) {
                    Step::Done { user, reply } => {
                        assert!(ok);
                        assert_eq!(user, "a,b=c");
                        client.verify(&reply).unwrap();
                        let mut forged = reply.clone();
                        let n = forged.len();
                        forged[n - 3] ^= 1;
                        assert!(client.verify(&forged).is_err());
                    }
                    Step::Failed { .. } => assert!(!ok),
                    Step::Continue(_) => panic!("a third step"),
                }
            }
        }
    }

    #[test]
    fn scram_client_refuses_a_foreign_nonce_and_few_iterations() {
        let mut c = ScramClient::new(Scram::Sha256, "u", "abc".into());
        let err = c.last(b"r=xyz123,s=c2FsdA==,i=4096", "p").unwrap_err();
        assert!(err.contains("nonce"), "{err}");
        let err = c.last(b"r=abc123,s=c2FsdA==,i=1", "p").unwrap_err();
        assert!(err.contains("iterations"), "{err}");
        assert!(c.last(b"r=abc123,s=c2FsdA==,i=4096", "p").is_ok());
    }

    #[test]
    fn client_properties_with_jaas_and_continuations() {
        let text = "# a cluster\n\
            security.protocol=SASL_SSL\n\
            sasl.mechanism = SCRAM-SHA-512\n\
            sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
            \x20   username=\"alice\" password=\"p\\\"w;x\";\n\
            ssl.truststore.location: ca.pem\n\
            bootstrap.servers=k:9092\n\
            linger.ms 5\n\
            linger.ms=6\n";
        let (s, unknown) = Settings::from_properties(text).unwrap();
        assert_eq!(s.protocol, Some(SecurityProtocol::SaslSsl));
        assert_eq!(s.mechanism, Some(Mechanism::Scram(Scram::Sha512)));
        assert_eq!(s.username.as_deref(), Some("alice"));
        assert_eq!(s.password.as_deref(), Some("p\"w;x"));
        assert_eq!(s.tls_ca, Some(PathBuf::from("ca.pem")));
        assert_eq!(unknown, ["bootstrap.servers", "linger.ms"]);
        assert!(!format!("{s:?}").contains("p\"w"));
    }

    #[test]
    fn client_properties_refusals() {
        let err = Settings::from_properties("ssl.truststore.location=/x/trust.jks\n").unwrap_err();
        assert!(err.contains("JKS") && err.contains("--tls-ca"), "{err}");
        let err = Settings::from_properties(
            "sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required;\n",
        )
        .unwrap_err();
        assert!(err.contains("Krb5LoginModule"), "{err}");
        let (s, _) = Settings::from_properties(
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
             required username=bob password=x;\n",
        )
        .unwrap();
        assert_eq!(s.mechanism, Some(Mechanism::Plain));
        assert_eq!(s.username.as_deref(), Some("bob"));
    }

    #[test]
    fn flags_override_the_file_and_prepare_checks() {
        let file = Settings {
            protocol: Some(SecurityProtocol::SaslPlaintext),
            mechanism: Some(Mechanism::Plain),
            username: Some("file".into()),
            password: Some("pw".into()),
            ..Settings::default()
        };
        let flags = Settings {
            username: Some("flag".into()),
            ..Settings::default()
        };
        let s = flags.or(file).prepare().unwrap();
        assert_eq!(s.sasl.as_ref().unwrap().username, "flag");
        let err = Settings {
            protocol: Some(SecurityProtocol::SaslSsl),
            ..Settings::default()
        }
        .prepare()
        .unwrap_err()
        .to_string();
        assert!(err.contains("--sasl-mechanism"), "{err}");
        let ca = Settings {
            tls_ca: Some("missing-ca.pem".into()),
            ..Settings::default()
        };
        assert_eq!(ca.prepare().unwrap().protocol, SecurityProtocol::Plaintext);
        let err = ca.unused_with(None).unwrap();
        assert!(err.contains("TLS") && err.contains("PLAINTEXT"), "{err}");
        assert_eq!(ca.unused_with(Some(SecurityProtocol::Ssl)), None);
        let err = Settings {
            protocol: Some(SecurityProtocol::Ssl),
            ..ca
        }
        .prepare()
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing-ca.pem"), "{err}");
    }

    #[test]
    fn tls_records_are_recognised() {
        assert!(looks_like_tls(i32::from_be_bytes([0x15, 3, 3, 0])));
        assert!(!looks_like_tls(1 << 20));
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("kafka:9093"), "kafka");
    }
}
