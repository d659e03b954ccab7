//! `klog mirror pull` and `push` through `SASL_SSL` listeners of `klog serve`: SCRAM-SHA-512
//! with certificates made here with rcgen (a CA, the servers' and a client's certificate,
//! and a CA nobody trusts), by flags and by a Kafka `client.properties` file; mutual TLS on
//! an `SSL` listener; and the ways in that must be refused, each in one line naming the
//! broker, with nothing written.

use std::path::{Path, PathBuf};
use std::process::Output;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::harness::*;

const PASSWORD: &str = "correct horse battery staple";

/// `ca.pem`, `server.pem`/`server.key` (127.0.0.1, signed by the CA), `client.pem`/
/// `client.key` (signed by the CA, for mutual TLS), `expired.*` (127.0.0.1, expired in
/// 2001), `misnamed.*` (for kafka.example.com only) and `other-ca.pem` (a CA that signed
/// nothing here).
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
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
        let (ca_pem, issuer) = ca("klog test CA");
        write("ca.pem", ca_pem);
        for (name, host, expired) in [
            ("server", "127.0.0.1", false),
            ("client", "127.0.0.1", false),
            ("expired", "127.0.0.1", true),
            ("misnamed", "kafka.example.com", false),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(vec![host.to_string()]).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            if expired {
                p.not_before = rcgen::date_time_ymd(2000, 1, 1);
                p.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            write(
                &format!("{name}.pem"),
                p.signed_by(&key, &issuer).unwrap().pem(),
            );
            write(&format!("{name}.key"), key.serialize_pem());
        }
        write("other-ca.pem", ca("nobody's CA").0);
        Pki { dir }
    }

    fn s(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// A `SASL_SSL` `klog serve` on `dir` with user `alice` allowed everything.
fn secure_serve(dir: &Path, pki: &Pki) -> Serve {
    let out = assert_cmd::Command::new(KLOG)
        .env_remove("KLOG_DIR")
        .arg("--dir")
        .arg(dir)
        .args(["users", "add", "alice"])
        .write_stdin(format!("{PASSWORD}\n"))
        .timeout(COMMAND_TIMEOUT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    klog(dir, &["acls", "add", "alice", "all", "--topic", "*"]);
    klog(dir, &["acls", "add", "alice", "all", "--group", "*"]);
    // No rule on the cluster: a pull's DescribeConfigs and a push's CreateTopics are
    // allowed by the topic rule, as on Kafka.
    let (cert, key) = (pki.s("server.pem"), pki.s("server.key"));
    Serve::start_with(
        dir,
        "SASL_SSL://127.0.0.1:0",
        &["--tls-cert", &cert, "--tls-key", &key],
    )
}

/// `klog --dir DIR mirror ARGS…` with `password` in `KLOG_SASL_PASSWORD`.
fn mirror(dir: &Path, password: Option<&str>, args: &[&str]) -> Output {
    let mut c = assert_cmd::Command::new(KLOG);
    c.env_remove("KLOG_DIR").env_remove("KLOG_SASL_PASSWORD");
    if let Some(p) = password {
        c.env("KLOG_SASL_PASSWORD", p);
    }
    c.arg("--dir")
        .arg(dir)
        .arg("mirror")
        .args(args)
        .timeout(COMMAND_TIMEOUT)
        .output()
        .expect("run klog")
}

fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "klog mirror failed: {stderr}");
    stderr
}

/// The single line of a refusal.
fn refused(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "accepted: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    stderr
}

/// The SASL_SSL SCRAM-SHA-512 flags, trusting `ca`.
fn flags(pki: &Pki, ca: &str) -> Vec<String> {
    [
        "--security-protocol",
        "SASL_SSL",
        "--sasl-mechanism",
        "SCRAM-SHA-512",
        "--sasl-username",
        "alice",
        "--tls-ca",
        &pki.s(ca),
    ]
    .map(str::to_string)
    .to_vec()
}

fn args<'a>(head: &[&'a str], rest: &'a [String]) -> Vec<&'a str> {
    head.iter()
        .copied()
        .chain(rest.iter().map(String::as_str))
        .collect()
}

/// Topic `t` (2 partitions): plain and gzip batches, keys, a null value and headers.
fn fill(dir: &Path) {
    klog(dir, &["topics", "create", "t", "--partitions", "2"]);
    let lines: String = (0..500).map(|i| format!("k{i}:v{i}\n")).collect();
    klog_in(dir, &["produce", "t", "-K", ":"], lines.clone());
    klog_in(
        dir,
        &["produce", "t", "-K", ":", "--compression", "gzip"],
        lines,
    );
    klog_in(
        dir,
        &["produce", "t", "--json"],
        "{\"key\":\"j\",\"value\":null,\"headers\":[[\"h\",\"x\"]],\"partition\":1}\n",
    );
}

/// Nothing of topic `t` in `dir`.
fn nothing_written(dir: &Path) {
    let names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(
        names
            .iter()
            .all(|p| !p.file_name().unwrap().to_string_lossy().starts_with("t")),
        "written: {names:?}"
    );
    assert_eq!(log_end(dir, "t", 0), 0);
}

#[test]
fn pull_and_push_through_sasl_ssl_scram() {
    let pki = Pki::new();
    let (src, local, dst) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    fill(src.path());
    let source = secure_serve(src.path(), &pki);
    let dest = secure_serve(dst.path(), &pki);
    let f = flags(&pki, "ca.pem");

    let from = source.addr();
    ok(mirror(
        local.path(),
        Some(PASSWORD),
        &args(&["pull", "--from", &from, "t"], &f),
    ));
    assert!(assert_same_topic(src.path(), local.path(), "t") >= 4);

    // Push, with the password from a file this time.
    let pw = pki.dir.path().join("password");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let to = dest.addr();
    let pw = pw.display().to_string();
    ok(mirror(
        local.path(),
        None,
        &args(&["push", "--to", &to, "t", "--sasl-password-file", &pw], &f),
    ));
    drop(dest);
    for p in 0..2 {
        let mine = records(local.path(), "t", p);
        assert!(!mine.is_empty());
        assert_eq!(mine, records(dst.path(), "t", p), "t-{p}");
    }
}

/// SCRAM-SHA-512 from a Java client's file, then PLAIN from a librdkafka-style one.
#[test]
fn a_client_properties_file_works_the_same() {
    let pki = Pki::new();
    let (src, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fill(src.path());
    let source = secure_serve(src.path(), &pki);
    let config = pki.dir.path().join("client.properties");
    std::fs::write(
        &config,
        format!(
            "# as for the Java client\n\
             bootstrap.servers={}\n\
             security.protocol=SASL_SSL\n\
             sasl.mechanism=SCRAM-SHA-512\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n\
             \x20   username=\"alice\" password=\"{PASSWORD}\";\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n",
            source.addr(),
            pki.s("ca.pem")
        ),
    )
    .unwrap();
    let from = source.addr();
    let config = config.display().to_string();
    let stderr = ok(mirror(
        local.path(),
        None,
        &["pull", "--from", &from, "t", "--client-config", &config],
    ));
    assert_eq!(stderr.matches("bootstrap.servers").count(), 1, "{stderr}");
    assert!(assert_same_topic(src.path(), local.path(), "t") >= 4);

    // PLAIN, inferred from its login module, with the CA as librdkafka names it.
    let plain = pki.dir.path().join("plain.properties");
    std::fs::write(
        &plain,
        format!(
            "security.protocol=SASL_SSL\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \
             required username=\"alice\" password=\"{PASSWORD}\";\n\
             ssl.ca.location={}\n",
            pki.s("ca.pem")
        ),
    )
    .unwrap();
    let again = tempfile::tempdir().unwrap();
    let plain = plain.display().to_string();
    ok(mirror(
        again.path(),
        None,
        &["pull", "--from", &from, "t", "--client-config", &plain],
    ));
    assert!(assert_same_topic(src.path(), again.path(), "t") >= 4);
}

#[test]
fn wrong_password_untrusted_ca_and_plaintext_are_refused() {
    let pki = Pki::new();
    let (src, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fill(src.path());
    let source = secure_serve(src.path(), &pki);
    let from = source.addr();

    let err = refused(mirror(
        local.path(),
        Some("Tr0ub4dor&3"),
        &args(&["pull", "--from", &from, "t"], &flags(&pki, "ca.pem")),
    ));
    assert!(
        err.contains(&format!("authentication to {from} failed")),
        "{err}"
    );
    nothing_written(local.path());

    let err = refused(mirror(
        local.path(),
        Some(PASSWORD),
        &args(
            &["pull", "--from", &from, "t"],
            &flags(&pki, "other-ca.pem"),
        ),
    ));
    assert!(
        err.contains(&format!("TLS handshake with {from} failed"))
            && err.contains("not signed by a trusted CA"),
        "{err}"
    );
    nothing_written(local.path());

    let err = refused(mirror(local.path(), None, &["pull", "--from", &from, "t"]));
    assert!(
        err.contains(&format!("TLS handshake with {from} failed")) && err.contains("TLS listener"),
        "{err}"
    );
    nothing_written(local.path());
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let pki = Pki::new();
    let (src, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fill(src.path());
    let (cert, key, ca) = (pki.s("server.pem"), pki.s("server.key"), pki.s("ca.pem"));
    let source = Serve::start_with(
        src.path(),
        "SSL://127.0.0.1:0",
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
        ],
    );
    let from = source.addr();
    let base = [
        "pull",
        "--from",
        &from,
        "t",
        "--security-protocol",
        "SSL",
        "--tls-ca",
        &ca,
    ];

    let err = refused(mirror(local.path(), None, &base));
    assert!(
        err.contains(&format!("TLS handshake with {from} failed")),
        "{err}"
    );
    nothing_written(local.path());

    let (ccert, ckey) = (pki.s("client.pem"), pki.s("client.key"));
    let mut with_cert = base.to_vec();
    with_cert.extend(["--tls-cert", &ccert, "--tls-key", &ckey]);
    ok(mirror(local.path(), None, &with_cert));
    assert!(assert_same_topic(src.path(), local.path(), "t") >= 4);
}

#[test]
fn expired_and_misnamed_certificates_are_refused() {
    let pki = Pki::new();
    let (src, local) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    fill(src.path());
    let ca = pki.s("ca.pem");
    for (cert, why) in [
        ("expired", "its certificate has expired"),
        ("misnamed", "not valid for the name '127.0.0.1'"),
    ] {
        let (c, k) = (pki.s(&format!("{cert}.pem")), pki.s(&format!("{cert}.key")));
        let source = Serve::start_with(
            src.path(),
            "SSL://127.0.0.1:0",
            &["--tls-cert", &c, "--tls-key", &k],
        );
        let from = source.addr();
        let err = refused(mirror(
            local.path(),
            None,
            &[
                "pull",
                "--from",
                &from,
                "t",
                "--security-protocol",
                "SSL",
                "--tls-ca",
                &ca,
            ],
        ));
        assert!(
            err.contains(&format!("TLS handshake with {from} failed")) && err.contains(why),
            "{cert}: {err}"
        );
        nothing_written(local.path());
    }
}
