//! SASL for `klog serve`: the mechanisms PLAIN and SCRAM-SHA-256/512 (RFC 4616, RFC 5802
//! and Kafka's KIP-84), as the server side of one exchange per connection.
//!
//! The crypto is RustCrypto's (`pbkdf2`, `hmac`, `sha2`); this module only parses and
//! builds the SCRAM messages and chains the primitives as RFC 5802 says:
//! `SaltedPassword = PBKDF2(password, salt, i)`, `ClientKey = HMAC(SaltedPassword,
//! "Client Key")`, `StoredKey = H(ClientKey)`, `ServerKey = HMAC(SaltedPassword, "Server
//! Key")`. Only StoredKey and ServerKey are kept ([`super::users`]); PLAIN checks its
//! password by deriving the SCRAM-SHA-512 StoredKey from it. The same primitives serve the
//! client side of `klog mirror` ([`crate::mirror::security`]).
//!
//! # Invariants
//! 1. A message that does not parse, a nonce that is not the one of the exchange, a wrong
//!    proof, a wrong password and an unknown user all end as [`Step::Failed`]; none panics.
//! 2. An unknown user gets a server-first message like a known one (a salt derived from
//!    the name and a secret of the process), so the exchange does not tell whether the user
//!    exists; it fails at the proof. A PLAIN login of an unknown user derives keys all the
//!    same, so that it takes as long as a wrong password.
//! 3. Keys are compared in constant time.
//! 4. Channel binding (`p=`) and authorization as another user (`a=` other than the user)
//!    are refused.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha2::Digest;

/// The mechanisms served, in the order SaslHandshake lists them.
pub const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// Kafka's default SCRAM iteration count (and the minimum its clients accept).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// Bytes of a salt created by `klog users add`.
pub const SALT_BYTES: usize = 32;

/// Random bytes of the server's part of a SCRAM nonce, and their length in base64.
const SERVER_NONCE_BYTES: usize = 24;
const SERVER_NONCE_CHARS: usize = SERVER_NONCE_BYTES / 3 * 4;

/// A SCRAM hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scram {
    Sha256,
    Sha512,
}

impl Scram {
    /// Both, as stored for every user.
    pub const ALL: [Scram; 2] = [Scram::Sha256, Scram::Sha512];

    /// The SASL mechanism name.
    pub fn name(self) -> &'static str {
        match self {
            Scram::Sha256 => "SCRAM-SHA-256",
            Scram::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Scram> {
        Scram::ALL.into_iter().find(|m| m.name() == name)
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[&[u8]]) -> Vec<u8> {
        fn with<D: hmac::EagerHash>(key: &[u8], data: &[&[u8]]) -> Vec<u8>
        where
            hmac::Hmac<D>: KeyInit + Mac,
        {
            // HMAC takes keys of any length.
            let mut mac = <hmac::Hmac<D> as KeyInit>::new_from_slice(key)
                .expect("HMAC accepts keys of any length");
            for d in data {
                mac.update(d);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Scram::Sha256 => with::<sha2::Sha256>(key, data),
            Scram::Sha512 => with::<sha2::Sha512>(key, data),
        }
    }

    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Scram::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Scram::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Scram::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(password, salt, iterations).to_vec()
            }
            Scram::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<sha2::Sha512, 64>(password, salt, iterations).to_vec()
            }
        }
    }
}

/// What is stored of a password for one SCRAM mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl Credential {
    /// Derives the stored keys of `password`.
    pub fn new(mech: Scram, password: &[u8], salt: Vec<u8>, iterations: u32) -> Credential {
        let salted = mech.salted_password(password, &salt, iterations);
        let client_key = mech.hmac(&salted, &[b"Client Key"]);
        Credential {
            stored_key: mech.hash(&client_key),
            server_key: mech.hmac(&salted, &[b"Server Key"]),
            salt,
            iterations,
        }
    }

    /// Whether `password` is the one these keys were derived from.
    pub fn matches(&self, mech: Scram, password: &[u8]) -> bool {
        let salted = mech.salted_password(password, &self.salt, self.iterations);
        let client_key = mech.hmac(&salted, &[b"Client Key"]);
        ct_eq(&mech.hash(&client_key), &self.stored_key)
    }
}

/// Constant-time equality of two byte strings (their lengths are not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Looks up a user's credential for a mechanism (`None`: no such user).
pub trait Credentials {
    fn credential(&self, user: &str, mech: Scram) -> Option<Credential>;
}

/// Where an exchange is (one per connection, boxed there).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum State {
    Start,
    /// SCRAM: the server-first message was sent.
    ScramFirstSent {
        mech: Scram,
        user: String,
        /// `None` for an unknown user: the exchange goes on and fails at the proof.
        credential: Option<Credential>,
        gs2_header: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
    },
    Done,
}

/// What one step of an exchange gives.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes and wait for the client's next message.
    Continue(Vec<u8>),
    /// Authenticated as this user; send these bytes (SCRAM's server-final message, empty for
    /// PLAIN).
    Done { user: String, reply: Vec<u8> },
    /// Refused: the reason is for the server's log, never for the client.
    Failed {
        user: Option<String>,
        reason: String,
    },
}

fn failed(user: Option<&str>, reason: impl Into<String>) -> Step {
    Step::Failed {
        user: user.map(str::to_string),
        reason: reason.into(),
    }
}

/// The server side of one SASL exchange, for the mechanism the client chose.
#[derive(Debug)]
pub struct Exchange {
    mechanism: &'static str,
    state: State,
    /// Secret of the process behind the salts shown for unknown users.
    secret: [u8; 32],
}

impl Exchange {
    /// An exchange for `mechanism`, if it is one of [`MECHANISMS`].
    pub fn new(mechanism: &str) -> Option<Exchange> {
        let mechanism = *MECHANISMS.iter().find(|m| **m == mechanism)?;
        Some(Exchange {
            mechanism,
            state: State::Start,
            secret: process_secret(),
        })
    }

    pub fn mechanism(&self) -> &'static str {
        self.mechanism
    }

    /// Takes the client's next message.
    pub fn step(&mut self, message: &[u8], users: &dyn Credentials) -> Step {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, Scram::from_name(self.mechanism)) {
            (State::Start, None) => plain(message, users),
            (State::Start, Some(mech)) => match self.scram_first(mech, message, users) {
                Ok((next, reply)) => {
                    self.state = next;
                    Step::Continue(reply)
                }
                Err(s) => s,
            },
            (
                State::ScramFirstSent {
                    mech,
                    user,
                    credential,
                    gs2_header,
                    client_first_bare,
                    server_first,
                    nonce,
                },
                _,
            ) => scram_final(
                mech,
                message,
                &user,
                credential.as_ref(),
                &gs2_header,
                &client_first_bare,
                &server_first,
                &nonce,
            ),
            (State::Done, _) => failed(None, "a message after the exchange ended"),
        }
    }

    fn scram_first(
        &self,
        mech: Scram,
        message: &[u8],
        users: &dyn Credentials,
    ) -> std::result::Result<(State, Vec<u8>), Step> {
        let first = parse_client_first(message).map_err(|e| failed(None, e))?;
        let credential = users.credential(&first.user, mech);
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => (
                mech.hmac(&self.secret, &[first.user.as_bytes()])[..SALT_BYTES.min(32)].to_vec(),
                DEFAULT_ITERATIONS,
            ),
        };
        let mut server_nonce = [0u8; SERVER_NONCE_BYTES];
        getrandom::fill(&mut server_nonce)
            .map_err(|e| failed(Some(&first.user), format!("no random bytes: {e}")))?;
        let nonce = format!(
            "{}{}",
            first.client_nonce,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(server_nonce)
        );
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(&salt));
        let reply = server_first.clone().into_bytes();
        Ok((
            State::ScramFirstSent {
                mech,
                user: first.user,
                credential,
                gs2_header: first.gs2_header,
                client_first_bare: first.bare,
                server_first,
                nonce,
            },
            reply,
        ))
    }
}

/// A random secret per process, made once.
fn process_secret() -> [u8; 32] {
    static SECRET: Mutex<Option<[u8; 32]>> = Mutex::new(None);
    let mut s = SECRET.lock().unwrap_or_else(|e| e.into_inner());
    *s.get_or_insert_with(|| {
        let mut b = [0u8; 32];
        // Without an OS random source the salts of unknown users are merely predictable.
        let _ = getrandom::fill(&mut b);
        b
    })
}

/// PLAIN: `authzid NUL authcid NUL password`, checked against the SCRAM-SHA-512 keys.
fn plain(message: &[u8], users: &dyn Credentials) -> Step {
    let parts: Vec<&[u8]> = message.split(|&b| b == 0).collect();
    let [authzid, user, password] = parts[..] else {
        return failed(None, "a PLAIN message is not authzid NUL user NUL password");
    };
    let (Ok(authzid), Ok(user)) = (std::str::from_utf8(authzid), std::str::from_utf8(user)) else {
        return failed(None, "a PLAIN user name is not UTF-8");
    };
    if user.is_empty() {
        return failed(None, "a PLAIN message without a user name");
    }
    if !authzid.is_empty() && authzid != user {
        return failed(Some(user), "authorization as another user is not supported");
    }
    match users.credential(user, Scram::Sha512) {
        Some(c) if c.matches(Scram::Sha512, password) => Step::Done {
            user: user.to_string(),
            reply: Vec::new(),
        },
        Some(_) => failed(Some(user), "wrong password"),
        None => {
            // As long as a known user's check, so that the time does not tell.
            let _ = Credential::new(
                Scram::Sha512,
                password,
                vec![0; SALT_BYTES],
                DEFAULT_ITERATIONS,
            );
            failed(Some(user), "unknown user")
        }
    }
}

/// A parsed client-first message.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFirst {
    pub gs2_header: String,
    pub user: String,
    pub client_nonce: String,
    /// The message without its GS2 header (part of the AuthMessage).
    pub bare: String,
}

/// Parses `gs2-header client-first-message-bare` (`n,,n=user,r=nonce[,ext…]`).
pub fn parse_client_first(message: &[u8]) -> std::result::Result<ClientFirst, String> {
    let text = std::str::from_utf8(message).map_err(|_| "a SCRAM message is not UTF-8")?;
    let mut it = text.splitn(3, ',');
    let (Some(cb), Some(authzid), Some(bare)) = (it.next(), it.next(), it.next()) else {
        return Err("a SCRAM client-first message without a GS2 header".into());
    };
    match cb {
        "n" | "y" => {}
        _ if cb.starts_with("p=") => return Err("SCRAM channel binding is not supported".into()),
        _ => return Err(format!("a SCRAM GS2 header starting with '{cb}'")),
    }
    let mut attrs = bare.split(',');
    let user = attrs
        .next()
        .and_then(|a| a.strip_prefix("n="))
        .ok_or("a SCRAM client-first message without n=")?;
    let user = saslname(user)?;
    let client_nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b','))
        .ok_or("a SCRAM client-first message without a valid r=")?;
    if !authzid.is_empty() {
        let a = authzid
            .strip_prefix("a=")
            .ok_or("a SCRAM GS2 authzid without a=")?;
        if saslname(a)? != user {
            return Err("authorization as another user is not supported".into());
        }
    }
    if user.is_empty() {
        return Err("a SCRAM client-first message with an empty user name".into());
    }
    Ok(ClientFirst {
        gs2_header: format!("{cb},{authzid},"),
        client_nonce: client_nonce.to_string(),
        user,
        bare: bare.to_string(),
    })
}

/// A SCRAM `saslname`: `=2C` is a comma, `=3D` an equals sign, any other `=` is invalid.
fn saslname(s: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(format!("a SCRAM user name with a bad escape: '{s}'")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A parsed client-final message.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFinal {
    pub channel_binding: Vec<u8>,
    pub nonce: String,
    pub proof: Vec<u8>,
    /// The message up to (without) `,p=…` (part of the AuthMessage).
    pub without_proof: String,
}

/// Parses `c=…,r=…[,ext…],p=…`.
pub fn parse_client_final(message: &[u8]) -> std::result::Result<ClientFinal, String> {
    let text = std::str::from_utf8(message).map_err(|_| "a SCRAM message is not UTF-8")?;
    let (without_proof, proof) = text
        .rsplit_once(",p=")
        .ok_or("a SCRAM client-final message without p=")?;
    let mut attrs = without_proof.split(',');
    let cb = attrs
        .next()
        .and_then(|a| a.strip_prefix("c="))
        .ok_or("a SCRAM client-final message without c=")?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or("a SCRAM client-final message without r=")?;
    Ok(ClientFinal {
        channel_binding: B64
            .decode(cb)
            .map_err(|_| "a SCRAM c= that is not base64")?,
        nonce: nonce.to_string(),
        proof: B64
            .decode(proof)
            .map_err(|_| "a SCRAM p= that is not base64")?,
        without_proof: without_proof.to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
fn scram_final(
    mech: Scram,
    message: &[u8],
    user: &str,
    credential: Option<&Credential>,
    gs2_header: &str,
    client_first_bare: &str,
    server_first: &str,
    nonce: &str,
) -> Step {
    let fin = match parse_client_final(message) {
        Ok(f) => f,
        Err(e) => return failed(Some(user), e),
    };
    if fin.channel_binding != gs2_header.as_bytes() {
        return failed(Some(user), "the SCRAM c= is not the GS2 header sent first");
    }
    // librdkafka puts its own nonce before the whole nonce of the server-first message (the
    // one that already starts with it); Kafka accepts that, and so does klog.
    let client_nonce = &nonce[..nonce.len() - SERVER_NONCE_CHARS];
    if fin.nonce != nonce && fin.nonce.strip_suffix(nonce) != Some(client_nonce) {
        return failed(Some(user), "the SCRAM nonce is not the one of the exchange");
    }
    let Some(c) = credential else {
        return failed(Some(user), "unknown user");
    };
    let auth_message = [
        client_first_bare.as_bytes(),
        b",",
        server_first.as_bytes(),
        b",",
        fin.without_proof.as_bytes(),
    ];
    let client_signature = mech.hmac(&c.stored_key, &auth_message);
    if fin.proof.len() != client_signature.len() {
        return failed(Some(user), "wrong password");
    }
    let client_key: Vec<u8> = fin
        .proof
        .iter()
        .zip(&client_signature)
        .map(|(p, s)| p ^ s)
        .collect();
    if !ct_eq(&mech.hash(&client_key), &c.stored_key) {
        return failed(Some(user), "wrong password");
    }
    let server_signature = mech.hmac(&c.server_key, &auth_message);
    Step::Done {
        user: user.to_string(),
        reply: format!("v={}", B64.encode(server_signature)).into_bytes(),
    }
}

/// Rate limit of the authentication-failure log: at most `burst` lines per `window`, then
/// a count of those left out with the next line logged.
#[derive(Debug)]
pub struct FailureLog {
    window: Duration,
    burst: u32,
    state: Mutex<(Option<Instant>, u32, u64)>,
}

impl FailureLog {
    pub fn new(window: Duration, burst: u32) -> FailureLog {
        FailureLog {
            window,
            burst,
            state: Mutex::new((None, 0, 0)),
        }
    }

    /// Whether a failure at `now` is logged: `Some(n)` with the number of failures left out
    /// since the last one logged, `None` to leave it out.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (start, logged, suppressed) = &mut *s;
        if start.is_none_or(|t| now.saturating_duration_since(t) >= self.window) {
            *start = Some(now);
            *logged = 0;
        }
        if *logged < self.burst {
            *logged += 1;
            Some(std::mem::take(suppressed))
        } else {
            *suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Users(HashMap<(String, Scram), Credential>);

    impl Credentials for Users {
        fn credential(&self, user: &str, mech: Scram) -> Option<Credential> {
            self.0.get(&(user.to_string(), mech)).cloned()
        }
    }

    fn users(name: &str, password: &str, iterations: u32) -> Users {
        let mut m = HashMap::new();
        for mech in Scram::ALL {
            m.insert(
                (name.to_string(), mech),
                Credential::new(
                    mech,
                    password.as_bytes(),
                    b"salt-of-alice".to_vec(),
                    iterations,
                ),
            );
        }
        Users(m)
    }

    /// A SCRAM client as RFC 5802 describes it, to drive the server.
    fn client_final(
        mech: Scram,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> (String, Vec<u8>) {
        let attrs: HashMap<&str, &str> = server_first
            .split(',')
            .map(|a| a.split_at(2))
            .map(|(k, v)| (&k[..1], v))
            .collect();
        let salt = B64.decode(attrs["s"]).unwrap();
        let i: u32 = attrs["i"].parse().unwrap();
        let salted = mech.salted_password(password.as_bytes(), &salt, i);
        let client_key = mech.hmac(&salted, &[b"Client Key"]);
        let stored = mech.hash(&client_key);
        let without_proof = format!("c=biws,r={}", attrs["r"]);
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let sig = mech.hmac(&stored, &[auth.as_bytes()]);
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_key = mech.hmac(&salted, &[b"Server Key"]);
        let expected_final = format!(
            "v={}",
            B64.encode(mech.hmac(&server_key, &[auth.as_bytes()]))
        );
        (
            format!("{without_proof},p={}", B64.encode(proof)),
            expected_final.into_bytes(),
        )
    }

    fn scram(mech: Scram, user: &str, password: &str, store: &Users) -> Step {
        let mut ex = Exchange::new(mech.name()).unwrap();
        let bare = format!("n={user},r=fyko+d2lbbFgONRv9qkxdawL");
        let Step::Continue(first) = ex.step(format!("n,,{bare}").as_bytes(), store) else {
            panic!("no server-first message")
        };
        let first = String::from_utf8(first).unwrap();
        assert!(first.starts_with("r=fyko+d2lbbFgONRv9qkxdawL"), "{first}");
        let (fin, expected) = client_final(mech, password, &bare, &first);
        match ex.step(fin.as_bytes(), store) {
            Step::Done { user, reply } => {
                assert_eq!(reply, expected, "the server signature");
                Step::Done { user, reply }
            }
            other => other,
        }
    }

    #[test]
    fn scram_sha_256_and_512_authenticate_the_right_password_only() {
        let store = users("alice", "s3cret", 4096);
        for mech in Scram::ALL {
            assert!(matches!(
                scram(mech, "alice", "s3cret", &store),
                Step::Done { ref user, .. } if user == "alice"
            ));
            assert_eq!(
                scram(mech, "alice", "wrong", &store),
                failed(Some("alice"), "wrong password")
            );
            assert_eq!(
                scram(mech, "bob", "s3cret", &store),
                failed(Some("bob"), "unknown user")
            );
        }
    }

    /// RFC 7677's example exchange for SCRAM-SHA-256 (user "user", password "pencil").
    #[test]
    fn rfc_7677_test_vector() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let c = Credential::new(Scram::Sha256, b"pencil", salt, 4096);
        let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                   p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        let step = scram_final(
            Scram::Sha256,
            fin.as_bytes(),
            "user",
            Some(&c),
            "n,,",
            bare,
            server_first,
            "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        );
        assert_eq!(
            step,
            Step::Done {
                user: "user".into(),
                reply: b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".to_vec()
            }
        );
    }

    /// librdkafka 2.0 sends `r=` its nonce followed by the server-first message's whole
    /// nonce (which starts with its nonce again); Kafka accepts that.
    #[test]
    fn regression_librdkafka_doubled_client_nonce_is_accepted() {
        let store = users("alice", "s3cret", 4096);
        let mut ex = Exchange::new("SCRAM-SHA-512").unwrap();
        let bare = "n=alice,r=cn0nce";
        let Step::Continue(first) = ex.step(format!("n,,{bare}").as_bytes(), &store) else {
            panic!()
        };
        let first = String::from_utf8(first).unwrap();
        let doubled = first.replacen("r=", "r=cn0nce", 1);
        let (fin, _) = client_final(Scram::Sha512, "s3cret", bare, &doubled);
        // The proof covers the doubled nonce; the AuthMessage has the real server-first.
        let (without_proof, _) = fin.rsplit_once(",p=").unwrap();
        let salted = Scram::Sha512.salted_password(b"s3cret", b"salt-of-alice", 4096);
        let client_key = Scram::Sha512.hmac(&salted, &[b"Client Key"]);
        let stored = Scram::Sha512.hash(&client_key);
        let auth = format!("{bare},{first},{without_proof}");
        let sig = Scram::Sha512.hmac(&stored, &[auth.as_bytes()]);
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let fin = format!("{without_proof},p={}", B64.encode(proof));
        assert!(matches!(ex.step(fin.as_bytes(), &store), Step::Done { .. }));
        // Anything else before the nonce is refused.
        let mut ex = Exchange::new("SCRAM-SHA-512").unwrap();
        let Step::Continue(first) = ex.step(format!("n,,{bare}").as_bytes(), &store) else {
            panic!()
        };
        let first = String::from_utf8(first).unwrap();
        let other = first.replacen("r=", "r=xx", 1);
        let (fin, _) = client_final(Scram::Sha512, "s3cret", bare, &other);
        assert!(matches!(
            ex.step(fin.as_bytes(), &store),
            Step::Failed { reason, .. } if reason.contains("nonce")
        ));
    }

    #[test]
    fn plain_checks_against_the_scram_sha_512_keys() {
        let store = users("alice", "s3cret", 4096);
        let mut ex = Exchange::new("PLAIN").unwrap();
        assert_eq!(
            ex.step(b"\0alice\0s3cret", &store),
            Step::Done {
                user: "alice".into(),
                reply: vec![]
            }
        );
        for (msg, reason) in [
            (&b"\0alice\0nope"[..], "wrong password"),
            (b"\0bob\0s3cret", "unknown user"),
            (
                b"bob\0alice\0s3cret",
                "authorization as another user is not supported",
            ),
        ] {
            let mut ex = Exchange::new("PLAIN").unwrap();
            assert!(
                matches!(ex.step(msg, &store), Step::Failed { reason: r, .. } if r == reason),
                "{msg:?}"
            );
        }
        let mut ex = Exchange::new("PLAIN").unwrap();
        assert!(matches!(ex.step(b"alice", &store), Step::Failed { .. }));
    }

    #[test]
    fn unknown_users_see_a_stable_salt_and_the_default_iterations() {
        let store = users("alice", "s3cret", 8192);
        let first = |user: &str| {
            let mut ex = Exchange::new("SCRAM-SHA-512").unwrap();
            let Step::Continue(f) = ex.step(format!("n,,n={user},r=abc").as_bytes(), &store) else {
                panic!()
            };
            let f = String::from_utf8(f).unwrap();
            f.split_once(",s=").unwrap().1.to_string()
        };
        assert_eq!(first("mallory"), first("mallory"));
        assert_ne!(first("mallory"), first("eve"));
        assert!(first("mallory").ends_with(",i=4096"));
        assert!(first("alice").ends_with(",i=8192"));
    }

    #[test]
    fn client_messages_parse_or_fail() {
        let f = parse_client_first(b"n,,n=a=2Cb=3Dc,r=xyz,ext=1").unwrap();
        assert_eq!(f.user, "a,b=c");
        assert_eq!(f.client_nonce, "xyz");
        assert_eq!(f.gs2_header, "n,,");
        assert_eq!(f.bare, "n=a=2Cb=3Dc,r=xyz,ext=1");
        assert_eq!(
            parse_client_first(b"n,a=u,n=u,r=x").unwrap().gs2_header,
            "n,a=u,"
        );
        for bad in [
            &b""[..],
            b"n,,",
            b"p=tls-unique,,n=u,r=x",
            b"n,,n=u",
            b"n,,r=x,n=u",
            b"n,,n=a=2Xb,r=x",
            b"n,a=v,n=u,r=x",
            b"n,,n=,r=x",
            b"\xff,,n=u,r=x",
        ] {
            assert!(parse_client_first(bad).is_err(), "{bad:?}");
        }
        let f = parse_client_final(b"c=biws,r=xyz,p=AAEC").unwrap();
        assert_eq!(f.channel_binding, b"n,,");
        assert_eq!(f.proof, [0, 1, 2]);
        assert_eq!(f.without_proof, "c=biws,r=xyz");
        for bad in [
            &b"c=biws,r=x"[..],
            b"r=x,p=AA==",
            b"c=biws,p=AA==",
            b"c=b!,r=x,p=AA==",
        ] {
            assert!(parse_client_final(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_second_exchange_on_one_object_fails_and_a_wrong_nonce_fails() {
        let store = users("alice", "pw", 4096);
        let mut ex = Exchange::new("SCRAM-SHA-256").unwrap();
        let Step::Continue(_) = ex.step(b"n,,n=alice,r=abc", &store) else {
            panic!()
        };
        assert!(matches!(
            ex.step(b"c=biws,r=abcdef,p=AAAA", &store),
            Step::Failed { reason, .. } if reason.contains("nonce")
        ));
        assert!(matches!(
            ex.step(b"n,,n=alice,r=abc", &store),
            Step::Failed { .. }
        ));
        assert!(Exchange::new("GSSAPI").is_none());
    }

    #[test]
    fn the_failure_log_lets_a_burst_through_per_window_and_counts_the_rest() {
        let log = FailureLog::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        assert_eq!(log.admit(t0), Some(0));
        assert_eq!(log.admit(t0 + Duration::from_secs(1)), Some(0));
        assert_eq!(log.admit(t0 + Duration::from_secs(2)), None);
        assert_eq!(log.admit(t0 + Duration::from_secs(3)), None);
        assert_eq!(log.admit(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(log.admit(t0 + Duration::from_secs(11)), Some(0));
        assert_eq!(log.admit(t0 + Duration::from_secs(12)), None);
    }
}
