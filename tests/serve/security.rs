//! `klog serve` on a network: SASL_SSL listeners with SCRAM and PLAIN through real clients,
//! and every way in that must be refused. Certificates are made here with rcgen: a CA, the
//! server's certificate for 127.0.0.1 signed by it, an expired one, another CA nobody
//! trusts, and a client certificate for mutual TLS.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::harness::{CLIENT_TIMEOUT, Client, KLOG, Serve, klog, scripts_dir};

const PASSWORD: &str = "correct horse battery staple";
const WRONG: &str = "Tr0ub4dor&3";

/// PEM files of one test's certificates.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `ca.pem`; `server.pem`/`server.key` (127.0.0.1, signed by the CA); `expired.pem`/
    /// `expired.key` (the same, expired in 2001); `other-ca.pem` and `untrusted.pem`/
    /// `untrusted.key` (a CA nobody trusts and a server certificate of its); `client.pem`/
    /// `client.key` (a client certificate signed by the CA).
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        let ca = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, name);
            let cert = p.self_signed(&key).unwrap();
            (cert.pem(), Issuer::new(p, key))
        };
        let leaf = |issuer: &Issuer<'_, KeyPair>, name: &str, expired: bool| {
            let key = KeyPair::generate().unwrap();
            let mut p =
                CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()]).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            if expired {
                p.not_before = rcgen::date_time_ymd(2000, 1, 1);
                p.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            let cert = p.signed_by(&key, issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let (ca_pem, ca_issuer) = ca("klog test CA");
        write("ca.pem", ca_pem);
        for (name, expired) in [("server", false), ("expired", true), ("client", false)] {
            let (cert, key) = leaf(&ca_issuer, name, expired);
            write(&format!("{name}.pem"), cert);
            write(&format!("{name}.key"), key);
        }
        let (other_pem, other_issuer) = ca("nobody's CA");
        write("other-ca.pem", other_pem);
        let (cert, key) = leaf(&other_issuer, "untrusted", false);
        write("untrusted.pem", cert);
        write("untrusted.key", key);
        Pki { dir }
    }
}

/// `klog users add NAME` with the password on stdin.
fn add_user(dir: &Path, name: &str, password: &str) {
    let out = assert_cmd::Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(["users", "add", name])
        .write_stdin(format!("{password}\n"))
        .timeout(CLIENT_TIMEOUT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A SASL_SSL server on 127.0.0.1 with user `alice` (allowed everything on topics and
/// groups), its certificate `cert` (`server` or
/// `expired`), and more arguments.
fn secure_server(dir: &Path, pki: &Pki, cert: &str, args: &[&str]) -> Serve {
    add_user(dir, "alice", PASSWORD);
    // Once a user exists, what no ACL allows is refused: alice may do anything.
    klog(dir, &["acls", "add", "alice", "all", "--topic", "*"]);
    klog(dir, &["acls", "add", "alice", "all", "--group", "*"]);
    let (cert, key) = (pki.s(&format!("{cert}.pem")), pki.s(&format!("{cert}.key")));
    let mut all = vec!["--tls-cert", &cert, "--tls-key", &key];
    all.extend_from_slice(args);
    Serve::start_on(dir, "SASL_SSL://127.0.0.1:0", &all)
}

/// kcat with `-X` settings, and the rest; its output (not asserted).
fn kcat(bootstrap: &str, settings: &[(&str, &str)], args: &[&str], input: &str) -> Output {
    let mut c = assert_cmd::Command::new("kcat");
    c.args(["-b", bootstrap, "-m", "10"]);
    for (k, v) in settings {
        c.arg("-X").arg(format!("{k}={v}"));
    }
    c.args(args)
        .write_stdin(input.to_string())
        .timeout(CLIENT_TIMEOUT)
        .output()
        .expect("run kcat")
}

fn sasl_ssl<'a>(
    pki: &'a Pki,
    mech: &'a str,
    user: &'a str,
    password: &'a str,
) -> Vec<(&'a str, String)> {
    vec![
        ("security.protocol", "SASL_SSL".into()),
        ("sasl.mechanisms", mech.into()),
        ("sasl.username", user.into()),
        ("sasl.password", password.into()),
        ("ssl.ca.location", pki.s("ca.pem")),
        ("message.timeout.ms", "10000".into()),
    ]
}

fn settings<'a>(v: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The values of a topic, as `klog consume` prints them.
fn values(dir: &Path, topic: &str) -> Vec<String> {
    klog(dir, &["consume", topic])
        .lines()
        .map(str::to_string)
        .collect()
}

fn topics(dir: &Path) -> String {
    klog(dir, &["topics", "list"])
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("v{i}")).collect()
}

/// 20 000 records: the fetches answer more than `fetch_frame::INLINE_MAX` bytes, which a TLS
/// connection reads from the segment files and writes through TLS (no `sendfile`).
#[test]
fn kcat_produces_and_consumes_through_sasl_ssl_with_scram_sha_512_and_256() {
    const N: usize = 20_000;
    if !Client::Kcat.require() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let server = secure_server(dir.path(), &pki, "server", &[]);
    let bs = server.bootstrap();
    let s512 = sasl_ssl(&pki, "SCRAM-SHA-512", "alice", PASSWORD);
    let out = kcat(
        &bs,
        &settings(&s512),
        &["-P", "-t", "secure"],
        &(expected(N).join("\n") + "\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s256 = sasl_ssl(&pki, "SCRAM-SHA-256", "alice", PASSWORD);
    let out = kcat(
        &bs,
        &settings(&s256),
        &["-C", "-t", "secure", "-e", "-c", &N.to_string()],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        expected(N)
    );
    assert_eq!(values(dir.path(), "secure"), expected(N));
    server.stop();
}

fn python_client(client: Client, mech: &str) {
    if !client.require() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let server = secure_server(dir.path(), &pki, "server", &[]);
    let bs = server.bootstrap();
    let ca = pki.s("ca.pem");
    let run = |cmd: &str| {
        let out = assert_cmd::Command::new(crate::harness::clients_dir().join("venv/bin/python"))
            .arg(scripts_dir().join("secure.py"))
            .args([
                client.name(),
                &bs,
                mech,
                "alice",
                PASSWORD,
                &ca,
                cmd,
                "secure",
                "5",
            ])
            .timeout(CLIENT_TIMEOUT)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} {cmd} failed: {}\nserver:\n{}",
            client.name(),
            String::from_utf8_lossy(&out.stderr),
            server.stderr()
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("produce").lines().collect::<Vec<_>>(), expected(5));
    assert_eq!(run("consume").lines().collect::<Vec<_>>(), expected(5));
    assert_eq!(values(dir.path(), "secure"), expected(5));
    server.stop();
}

#[test]
fn confluent_kafka_through_sasl_ssl_with_scram_sha_512() {
    python_client(Client::Confluent, "SCRAM-SHA-512");
}

#[test]
fn kafka_python_through_sasl_ssl_with_scram_sha_512() {
    python_client(Client::KafkaPython, "SCRAM-SHA-512");
}

#[test]
fn kafka_python_through_sasl_ssl_with_plain() {
    python_client(Client::KafkaPython, "PLAIN");
}

/// A client that kcat sees fail, with what it printed.
fn refused(bs: &str, settings: &[(&str, &str)]) -> String {
    let out = kcat(bs, settings, &["-P", "-t", "refused"], "v0\n");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "kcat succeeded: {stderr}");
    stderr
}

#[test]
fn wrong_passwords_unknown_users_and_plaintext_clients_are_refused_and_nothing_is_written() {
    if !Client::Kcat.require() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let server = secure_server(dir.path(), &pki, "server", &[]);
    let bs = server.bootstrap();
    for (mech, user, password) in [
        ("SCRAM-SHA-512", "alice", WRONG),
        ("SCRAM-SHA-256", "mallory", PASSWORD),
        ("PLAIN", "alice", WRONG),
        ("PLAIN", "mallory", PASSWORD),
    ] {
        let s = sasl_ssl(&pki, mech, user, password);
        let e = refused(&bs, &settings(&s));
        assert!(
            e.contains("Authentication failed during authentication due to invalid credentials"),
            "{mech} {user}: {e}"
        );
    }
    // A plaintext client on the TLS port: the handshake fails, the client is told nothing
    // but a closed connection.
    let e = refused(&bs, &[("message.timeout.ms", "5000")]);
    assert!(
        e.contains("Disconnected") || e.contains("transport failure"),
        "{e}"
    );
    // SASL without TLS on a TLS port.
    let e = refused(
        &bs,
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", PASSWORD),
            ("message.timeout.ms", "5000"),
        ],
    );
    assert!(!e.is_empty());
    assert_eq!(topics(dir.path()).trim(), "", "nothing may be created");
    let log = server.stop();
    assert!(
        log.contains("authentication failed from 127.0.0.1:") && log.contains("as 'mallory'"),
        "{log}"
    );
    assert!(log.contains("TLS handshake failed"), "{log}");
    assert!(!log.contains(PASSWORD) && !log.contains(WRONG), "{log}");
}

#[test]
fn untrusted_and_expired_certificates_fail_the_handshake() {
    if !Client::Kcat.require() {
        return;
    }
    let pki = Pki::new();
    // The client trusts another CA.
    let dir = tempfile::tempdir().unwrap();
    let server = secure_server(dir.path(), &pki, "server", &[]);
    let mut s = sasl_ssl(&pki, "SCRAM-SHA-512", "alice", PASSWORD);
    s[4].1 = pki.s("other-ca.pem");
    let e = refused(&server.bootstrap(), &settings(&s));
    assert!(
        e.contains("SSL handshake failed") || e.contains("certificate verify failed"),
        "{e}"
    );
    assert_eq!(topics(dir.path()).trim(), "");
    server.stop();
    // The server's certificate expired.
    let dir = tempfile::tempdir().unwrap();
    let server = secure_server(dir.path(), &pki, "expired", &[]);
    let s = sasl_ssl(&pki, "SCRAM-SHA-512", "alice", PASSWORD);
    let e = refused(&server.bootstrap(), &settings(&s));
    assert!(
        e.contains("certificate verify failed") || e.contains("expired"),
        "{e}"
    );
    assert_eq!(topics(dir.path()).trim(), "");
    server.stop();
}

#[test]
fn mutual_tls_wants_a_client_certificate_of_the_ca() {
    if !Client::Kcat.require() {
        return;
    }
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.s("ca.pem");
    let server = secure_server(dir.path(), &pki, "server", &["--tls-client-ca", &ca]);
    let bs = server.bootstrap();
    let base = sasl_ssl(&pki, "SCRAM-SHA-512", "alice", PASSWORD);
    // No client certificate, or one of another CA.
    refused(&bs, &settings(&base));
    let mut s = settings(&base);
    let (cert, key) = (pki.s("untrusted.pem"), pki.s("untrusted.key"));
    s.extend([
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ]);
    refused(&bs, &s);
    assert_eq!(topics(dir.path()).trim(), "");
    // The CA's client certificate.
    let mut s = settings(&base);
    let (cert, key) = (pki.s("client.pem"), pki.s("client.key"));
    s.extend([
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ]);
    let out = kcat(&bs, &s, &["-P", "-t", "mtls"], "v0\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(values(dir.path(), "mtls"), expected(1));
    server.stop();
}

#[test]
fn an_unprotected_listener_off_loopback_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for listen in ["0.0.0.0:0", "SASL_PLAINTEXT://0.0.0.0:0", "SSL://[::]:0"] {
        let out = Command::new(KLOG)
            .env_remove("KLOG_DIR")
            .arg("--dir")
            .arg(dir.path())
            .args(["serve", "--listen", listen])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A usage error: the command line asks for what klog refuses.
        assert_eq!(out.status.code(), Some(2), "{listen}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("klog: error: refusing to listen on")
                && stderr.contains("--allow-insecure-listener"),
            "{stderr}"
        );
    }
    // TLS listeners need the certificate and key.
    let out = Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir.path())
        .args(["serve", "--listen", "SSL://127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs --tls-cert and --tls-key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn users_file_is_0600_keeps_no_password_and_is_refused_when_others_can_read_it() {
    let dir = tempfile::tempdir().unwrap();
    add_user(dir.path(), "alice", PASSWORD);
    add_user(dir.path(), "bob", "another one");
    let file = dir.path().join("klog-users.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains("another one"));
    assert_eq!(
        klog(dir.path(), &["users", "list"]),
        "alice\tSCRAM-SHA-256,SCRAM-SHA-512\nbob\tSCRAM-SHA-256,SCRAM-SHA-512\n"
    );
    klog(dir.path(), &["users", "delete", "bob"]);
    assert_eq!(
        klog(dir.path(), &["users", "list"]),
        "alice\tSCRAM-SHA-256,SCRAM-SHA-512\n"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir.path())
        .args(["users", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("accessible by group or others"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The password is never a flag.
    let out = Command::new(KLOG)
        .args(["users", "add", "carol", "--password", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

mod raw {
    //! SASL framing on a raw socket: KIP-152's SaslAuthenticate and the bare tokens after a
    //! SaslHandshake v0, and requests before authentication.

    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::{PASSWORD, WRONG, add_user, topics};
    use crate::harness::Serve;

    fn connect(port: u16) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// A request frame: header v1 (client id "t"), then `body`.
    fn request(s: &mut TcpStream, key: i16, version: i16, correlation: i32, body: &[u8]) {
        let mut f = Vec::new();
        f.extend_from_slice(&key.to_be_bytes());
        f.extend_from_slice(&version.to_be_bytes());
        f.extend_from_slice(&correlation.to_be_bytes());
        f.extend_from_slice(&1i16.to_be_bytes());
        f.push(b't');
        f.extend_from_slice(body);
        raw(s, &f);
    }

    fn raw(s: &mut TcpStream, bytes: &[u8]) {
        let mut f = (bytes.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(bytes);
        s.write_all(&f).unwrap();
    }

    /// A response frame, or `None` once the server closed the connection.
    fn response(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut size = [0u8; 4];
        s.read_exact(&mut size).ok()?;
        let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
        s.read_exact(&mut body).ok()?;
        Some(body)
    }

    fn string(s: &str) -> Vec<u8> {
        let mut b = (s.len() as i16).to_be_bytes().to_vec();
        b.extend_from_slice(s.as_bytes());
        b
    }

    /// Metadata v1 for one topic (auto-created when allowed).
    fn metadata_v1(s: &mut TcpStream, correlation: i32, topic: &str) {
        let mut body = 1i32.to_be_bytes().to_vec();
        body.extend(string(topic));
        request(s, 3, 1, correlation, &body);
    }

    /// SaslHandshake: its error code.
    fn handshake(s: &mut TcpStream, version: i16, mechanism: &str) -> i16 {
        request(s, 17, version, 5, &string(mechanism));
        let r = response(s).expect("a SaslHandshake response");
        assert_eq!(&r[0..4], &5i32.to_be_bytes());
        i16::from_be_bytes([r[4], r[5]])
    }

    fn plain(password: &str) -> Vec<u8> {
        format!("\0alice\0{password}").into_bytes()
    }

    #[test]
    fn sasl_plaintext_on_loopback_authenticates_both_framings_and_answers_nothing_before() {
        let dir = tempfile::tempdir().unwrap();
        add_user(dir.path(), "alice", PASSWORD);
        // Once a user exists, creating topics needs a rule.
        crate::harness::klog(dir.path(), &["acls", "add", "alice", "all", "--topic", "*"]);
        let server = Serve::start_on(dir.path(), "SASL_PLAINTEXT://127.0.0.1:0", &[]);
        // Before authentication: ApiVersions is answered, Metadata closes the connection.
        let mut s = connect(server.port);
        request(&mut s, 18, 0, 1, &[]);
        assert!(response(&mut s).is_some());
        metadata_v1(&mut s, 2, "sneaky");
        assert_eq!(response(&mut s), None);
        // An unknown mechanism.
        let mut s = connect(server.port);
        assert_eq!(handshake(&mut s, 1, "GSSAPI"), 33);
        // KIP-152: SaslAuthenticate with a wrong password: error 58, then closed.
        let mut s = connect(server.port);
        assert_eq!(handshake(&mut s, 1, "PLAIN"), 0);
        let token = plain(WRONG);
        let mut body = (token.len() as i32).to_be_bytes().to_vec();
        body.extend(&token);
        request(&mut s, 36, 0, 6, &body);
        let r = response(&mut s).expect("a SaslAuthenticate response");
        assert_eq!(i16::from_be_bytes([r[4], r[5]]), 58);
        assert_eq!(response(&mut s), None);
        assert_eq!(
            topics(dir.path()).trim(),
            "",
            "nothing before authentication"
        );
        // KIP-152 with the right password, then Metadata.
        let mut s = connect(server.port);
        assert_eq!(handshake(&mut s, 1, "PLAIN"), 0);
        let token = plain(PASSWORD);
        let mut body = (token.len() as i32).to_be_bytes().to_vec();
        body.extend(&token);
        request(&mut s, 36, 0, 6, &body);
        let r = response(&mut s).expect("a SaslAuthenticate response");
        assert_eq!(i16::from_be_bytes([r[4], r[5]]), 0);
        metadata_v1(&mut s, 7, "kip152");
        assert_eq!(
            &response(&mut s).expect("metadata")[0..4],
            &7i32.to_be_bytes()
        );
        // SaslHandshake v0: the token comes bare, its answer too (empty for PLAIN).
        let mut s = connect(server.port);
        assert_eq!(handshake(&mut s, 0, "PLAIN"), 0);
        raw(&mut s, &plain(PASSWORD));
        assert_eq!(response(&mut s), Some(vec![]));
        metadata_v1(&mut s, 8, "handshake-v0");
        assert_eq!(
            &response(&mut s).expect("metadata")[0..4],
            &8i32.to_be_bytes()
        );
        // v0 with a wrong password: closed without an answer.
        let mut s = connect(server.port);
        assert_eq!(handshake(&mut s, 0, "PLAIN"), 0);
        raw(&mut s, &plain(WRONG));
        assert_eq!(response(&mut s), None);
        let names: Vec<String> = topics(dir.path())
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        assert_eq!(names, ["handshake-v0", "kip152"]);
        let log = server.stop();
        assert!(log.contains("before SASL authentication"), "{log}");
    }

    /// Produce v3 of one batch of `value` to partition 0 of `topic`: its throttle_time_ms.
    fn produce_v3(s: &mut TcpStream, topic: &str, value: &[u8]) -> i32 {
        let mut batch = klog::format::BatchBuilder::new();
        batch.append(1_700_000_000_000, None, Some(value), &[]);
        let records = batch.finish();
        let mut b = (-1i16).to_be_bytes().to_vec(); // no transactional id
        b.extend_from_slice(&(-1i16).to_be_bytes()); // acks
        b.extend_from_slice(&5000i32.to_be_bytes());
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend(string(topic));
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&(records.len() as i32).to_be_bytes());
        b.extend_from_slice(&records);
        request(s, 0, 3, 11, &b);
        let r = response(s).expect("a Produce response");
        // Partition error code: after correlation, topic count, name, partition count, index.
        let at = 4 + 4 + 2 + topic.len() + 4 + 4;
        assert_eq!(&r[at..at + 2], &[0, 0], "produce error");
        i32::from_be_bytes(r[r.len() - 4..].try_into().unwrap())
    }

    #[test]
    fn a_produce_quota_throttles_with_throttle_time_ms() {
        let dir = tempfile::tempdir().unwrap();
        crate::harness::klog(dir.path(), &["topics", "create", "q"]);
        let server = Serve::start_on(dir.path(), "127.0.0.1:0", &["--producer-byte-rate", "4000"]);
        let mut s = connect(server.port);
        let value = vec![b'x'; 3000];
        // One second's worth is there at first; then 3000 bytes over 4000/s is most of a
        // second of debt.
        assert_eq!(produce_v3(&mut s, "q", &value), 0);
        let throttle = produce_v3(&mut s, "q", &value);
        assert!((300..=1000).contains(&throttle), "{throttle}");
        server.stop();
    }

    #[test]
    fn connections_over_the_limit_per_address_are_closed() {
        let dir = tempfile::tempdir().unwrap();
        let server = Serve::start_on(
            dir.path(),
            "127.0.0.1:0",
            &["--max-connections-per-ip", "2"],
        );
        let alive = |s: &mut TcpStream| {
            request(s, 18, 0, 1, &[]);
            response(s).is_some()
        };
        let mut a = connect(server.port);
        let mut b = connect(server.port);
        assert!(alive(&mut a) && alive(&mut b));
        let mut c = connect(server.port);
        assert!(!alive(&mut c), "a third connection");
        drop(a);
        // The slot comes back once the server sees the close.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mut d = connect(server.port);
            if alive(&mut d) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the slot never came back"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(alive(&mut b));
        let log = server.stop();
        assert!(log.contains("max.connections.per.ip"), "{log}");
    }

    #[test]
    fn sasl_apis_on_a_plaintext_listener_are_an_illegal_state() {
        let dir = tempfile::tempdir().unwrap();
        let server = Serve::start(dir.path());
        let mut s = connect(server.port);
        assert_eq!(handshake(&mut s, 1, "PLAIN"), 34);
        metadata_v1(&mut s, 9, "open");
        assert!(response(&mut s).is_some(), "the connection goes on");
        server.stop();
    }
}

/// kcat as `alice` on a SASL_PLAINTEXT listener of 127.0.0.1.
fn kcat_as_alice(bs: &str, args: &[&str], input: &str) -> Output {
    kcat(
        bs,
        &[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
            ("sasl.password", PASSWORD),
            ("message.timeout.ms", "5000"),
        ],
        args,
        input,
    )
}

#[test]
fn acls_a_reader_of_a_prefix_reads_it_and_nothing_else() {
    if !Client::Kcat.require() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for t in ["logs.app", "orders"] {
        klog(d, &["topics", "create", t]);
        crate::harness::klog_with_input(d, &["produce", t], format!("{t}-0\n{t}-1\n"));
    }
    add_user(d, "alice", PASSWORD);
    klog(
        d,
        &[
            "acls",
            "add",
            "alice",
            "read",
            "--topic",
            "logs.",
            "--prefixed",
        ],
    );
    assert_eq!(
        klog(d, &["acls", "list"]),
        "User:alice\tRead\tTopic\tprefixed\tlogs.\n"
    );
    let server = Serve::start_on(d, "SASL_PLAINTEXT://127.0.0.1:0", &[]);
    let bs = server.bootstrap();
    // Metadata shows logs.app only.
    let out = kcat_as_alice(&bs, &["-L"], "");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listing.contains("topic \"logs.app\""), "{listing}");
    assert!(!listing.contains("orders"), "{listing}");
    // Consumes logs.app.
    let out = kcat_as_alice(&bs, &["-C", "-t", "logs.app", "-e"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "logs.app-0\nlogs.app-1\n"
    );
    // Refused orders.
    let out = kcat_as_alice(&bs, &["-C", "-t", "orders", "-e"], "");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("orders-0"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("authorization failed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Cannot produce, to logs.app or elsewhere; cannot create.
    for t in ["logs.app", "orders", "logs.new"] {
        let out = kcat_as_alice(&bs, &["-P", "-t", t], "sneaky\n");
        assert!(!out.status.success(), "produce to {t}");
    }
    assert_eq!(values(d, "logs.app"), ["logs.app-0", "logs.app-1"]);
    assert_eq!(values(d, "orders"), ["orders-0", "orders-1"]);
    assert!(!topics(d).contains("logs.new"));
    // Anonymous clients on a plaintext listener get nothing either.
    let open = Serve::start(d);
    let out = kcat(&open.bootstrap(), &[], &["-C", "-t", "logs.app", "-e"], "");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("logs.app-0"));
    open.stop();
    server.stop();
}

/// CreateAcls, DescribeAcls and DeleteAcls through confluent-kafka's AdminClient, checked
/// against `klog acls list`.
#[test]
fn acls_through_kafkas_admin_apis() {
    if !Client::Confluent.require() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path());
    let script = r#"
import sys
from confluent_kafka.admin import (AdminClient, AclBinding, AclBindingFilter, AclOperation,
                                   AclPermissionType, ResourcePatternType, ResourceType)
a = AdminClient({"bootstrap.servers": sys.argv[1]})
b = AclBinding(ResourceType.TOPIC, "logs.", ResourcePatternType.PREFIXED, "User:alice", "*",
               AclOperation.READ, AclPermissionType.ALLOW)
for f in a.create_acls([b]).values():
    f.result(20)
deny = AclBinding(ResourceType.TOPIC, "x", ResourcePatternType.LITERAL, "User:alice", "*",
                  AclOperation.READ, AclPermissionType.DENY)
try:
    for f in a.create_acls([deny]).values():
        f.result(20)
    sys.exit("a DENY rule was accepted")
except Exception:
    pass
every = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                         AclOperation.ANY, AclPermissionType.ANY)
print(len(a.describe_acls(every).result(20)))
if sys.argv[2] == "delete":
    for f in a.delete_acls([every]).values():
        print(len(f.result(20)))
"#;
    let run = |what: &str| {
        let out = assert_cmd::Command::new(crate::harness::clients_dir().join("venv/bin/python"))
            .args(["-c", script, &server.bootstrap(), what])
            .timeout(CLIENT_TIMEOUT)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("keep"), "1\n");
    assert_eq!(
        klog(dir.path(), &["acls", "list"]),
        "User:alice\tRead\tTopic\tprefixed\tlogs.\n"
    );
    assert_eq!(run("delete"), "1\n1\n");
    assert_eq!(klog(dir.path(), &["acls", "list"]), "");
    server.stop();
}

/// Each listener gives its clients its own advertised address.
#[test]
fn advertised_listeners_are_per_listener() {
    if !Client::Kcat.require() {
        return;
    }
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "PLAINTEXT://127.0.0.1:0",
        ])
        .args(["--advertised-listener", "first.invalid:1111"])
        .args(["--advertised-listener", "second.invalid:2222"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // klog: listening on 127.0.0.1:P1, 127.0.0.1:P2
    let ports: Vec<String> = line
        .trim()
        .strip_prefix("klog: listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .split(", ")
        .map(|a| a.rsplit(':').next().unwrap().to_string())
        .collect();
    assert_eq!(ports.len(), 2, "{line}");
    for (port, advertised) in ports
        .iter()
        .zip(["first.invalid:1111", "second.invalid:2222"])
    {
        let out = kcat(&format!("127.0.0.1:{port}"), &[], &["-L"], "");
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            listing.contains(&format!("broker 0 at {advertised}")),
            "{port}: {listing}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
