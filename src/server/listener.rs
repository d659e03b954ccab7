//! Listeners and their security protocols: Kafka's `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` and
//! `SASL_SSL` (`--listen SASL_SSL://0.0.0.0:9093`; a bare `HOST:PORT` is `PLAINTEXT`), the
//! TLS configuration (rustls with its `ring` provider) and the rule that keeps a data
//! directory off the network unless it is protected.
//!
//! # Invariants
//! 1. A listener on an address that is not loopback must have both TLS and SASL
//!    (`SASL_SSL`) unless `--allow-insecure-listener` is given: [`check_insecure`] refuses
//!    the start otherwise, before anything is bound.
//! 2. A listener with TLS needs a certificate and key; with `--tls-client-ca`, every TLS
//!    client must present a certificate signed by that CA (mutual TLS).
//! 3. Nothing is read from a TLS connection before its handshake completes; a handshake that
//!    fails (a plaintext client, an untrusted or expired certificate) closes the connection.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

/// Kafka's security protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// Kafka's name (`security.protocol`).
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// A `--listen` address: protocol, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    pub protocol: SecurityProtocol,
    pub host: String,
    pub port: u16,
}

impl ListenerSpec {
    /// `PROTOCOL://HOST:PORT` or `HOST:PORT` (PLAINTEXT).
    pub fn parse(s: &str) -> Result<ListenerSpec> {
        let (protocol, addr) = match s.split_once("://") {
            Some((p, addr)) => {
                let protocol = SecurityProtocol::ALL
                    .into_iter()
                    .find(|k| k.name().eq_ignore_ascii_case(p))
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "invalid listener '{s}': unknown security protocol '{p}' \
                             (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)"
                        ))
                    })?;
                (protocol, addr)
            }
            None => (SecurityProtocol::Plaintext, s),
        };
        let (host, port) = super::parse_host_port(addr)?;
        Ok(ListenerSpec {
            protocol,
            host,
            port,
        })
    }

    /// `HOST:PORT` for binding (IPv6 in brackets).
    pub fn bind_address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the host is a loopback address (or `localhost`).
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// Refuses a listener off loopback that lacks TLS or SASL, unless allowed: a data
/// directory is not put on a network unprotected by accident.
pub fn check_insecure(listeners: &[ListenerSpec], allow_insecure: bool) -> Result<()> {
    if allow_insecure {
        return Ok(());
    }
    match listeners
        .iter()
        .find(|l| !l.is_loopback() && l.protocol != SecurityProtocol::SaslSsl)
    {
        Some(l) => Err(Error::Invalid(format!(
            "refusing to listen on {}://{} without TLS and SASL: use SASL_SSL:// with \
             --tls-cert/--tls-key and `klog users add`, a loopback address, or \
             --allow-insecure-listener if the network is trusted",
            l.protocol.name(),
            l.bind_address()
        ))),
        None => Ok(()),
    }
}

/// The TLS files of `klog serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificates that client certificates must chain to (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

fn tls_error(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("cannot {what} {}: {e}", path.display()))
}

/// The PEM certificates of a file (at least one); also read by `klog mirror`'s TLS.
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_error(path, "read the certificates of", e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(path, "read the certificates of", e))?;
    if certs.is_empty() {
        return Err(tls_error(
            path,
            "read the certificates of",
            "no PEM certificate in it",
        ));
    }
    Ok(certs)
}

/// The rustls server configuration of the TLS files, with the `ring` provider.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    // `ring` rather than `aws-lc-rs`: aws-lc-rs builds AWS-LC with CMake, which the build
    // machines do not have; `ring` needs only a C compiler. rustls deprecates `ring`'s
    // provider for lacking post-quantum key exchange (X25519MLKEM768), not for a flaw.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = certificates(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| tls_error(&files.key, "read the private key of", e))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Invalid(format!("TLS: {e}")))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certificates(ca)? {
                roots
                    .add(c)
                    .map_err(|e| tls_error(ca, "use the CA certificate of", e))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .map_err(|e| tls_error(ca, "use the CA certificates of", e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_error(&files.cert, "use the certificate and key of", e))?;
    Ok(Arc::new(config))
}

/// What a connection knows of the listener it came in on.
#[derive(Clone)]
pub struct Listener {
    pub protocol: SecurityProtocol,
    /// The address given to clients of this listener (Metadata, FindCoordinator).
    pub advertised: (String, u16),
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("protocol", &self.protocol)
            .field("advertised", &self.advertised)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> ListenerSpec {
        ListenerSpec::parse(s).unwrap()
    }

    #[test]
    fn listeners_parse_with_or_without_a_protocol() {
        assert_eq!(
            spec("127.0.0.1:9092"),
            ListenerSpec {
                protocol: SecurityProtocol::Plaintext,
                host: "127.0.0.1".into(),
                port: 9092
            }
        );
        assert_eq!(
            spec("SASL_SSL://0.0.0.0:9093").protocol,
            SecurityProtocol::SaslSsl
        );
        assert_eq!(spec("ssl://[::1]:1").host, "::1");
        assert_eq!(spec("ssl://[::1]:1").bind_address(), "[::1]:1");
        assert_eq!(
            spec("SASL_PLAINTEXT://h:2").protocol,
            SecurityProtocol::SaslPlaintext
        );
        for bad in ["TLS://h:1", "SASL_SSL://h", "SASL_SSL://:1", "://h:1"] {
            assert!(ListenerSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn off_loopback_only_sasl_ssl_starts_unless_allowed() {
        for ok in [
            "127.0.0.1:1",
            "localhost:1",
            "[::1]:1",
            "127.0.0.2:1",
            "SASL_SSL://0.0.0.0:1",
        ] {
            assert!(check_insecure(&[spec(ok)], false).is_ok(), "{ok}");
        }
        for bad in [
            "0.0.0.0:1",
            "SSL://0.0.0.0:1",
            "SASL_PLAINTEXT://10.0.0.1:1",
            "PLAINTEXT://[::]:1",
            "example.com:1",
        ] {
            let e = check_insecure(&[spec("127.0.0.1:1"), spec(bad)], false)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("--allow-insecure-listener") && !e.contains('\n'),
                "{e}"
            );
            assert!(check_insecure(&[spec(bad)], true).is_ok());
        }
    }

    #[test]
    fn missing_or_empty_tls_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let files = TlsFiles {
            cert: empty.clone(),
            key: dir.path().join("missing.pem"),
            client_ca: None,
        };
        let e = server_config(&files).unwrap_err().to_string();
        assert!(e.contains("empty.pem"), "{e}");
    }
}
