//! How a client speaks TLS to a target, as plain data ([`ClientTls`]), applied to a reqwest
//! [`ClientBuilder`](reqwest::ClientBuilder) by `check` and by each `load` user alike, and the one
//! line that names why a TLS handshake failed ([`failure_reason`]).
//!
//! Certificates are verified against the system's roots plus the extra CA certificates given
//! (`--cacert`, merged, not instead), unless `insecure`. HTTP/2 is offered through ALPN next to
//! HTTP/1.1 unless `http1_only`; plain `http://` targets always get HTTP/1.1.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use rustls::pki_types::{pem, CertificateDer};
use rustls::{CertificateError, Error as RustlsError};

/// TLS settings of a client. The default verifies certificates against the system's roots,
/// offers HTTP/2 and HTTP/1.1, and resolves names through the system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// Extra trusted CA certificates (each `--cacert FILE`), on top of the system's roots.
    pub ca_certs: Vec<CaCerts>,
    /// Skip certificate verification entirely (`--insecure`): any certificate for any name,
    /// expired or not, is accepted.
    pub insecure: bool,
    /// Offer only HTTP/1.1 in the TLS handshake (`--http1`); otherwise HTTP/2 is used where the
    /// server picks it through ALPN.
    pub http1_only: bool,
    /// Names resolved to a fixed address instead of through DNS (`--resolve HOST:PORT:ADDR`).
    pub resolve: Vec<Resolve>,
}

impl ClientTls {
    /// `builder` with these settings: extra roots merged into the system's, certificate
    /// verification off when `insecure`, HTTP/1.1 only when `http1_only`, and the `resolve`
    /// overrides. Everything else on the builder (timeouts, redirects, user agent) is kept.
    ///
    /// Fails only on a [`CaCerts`] whose PEM holds no valid certificate (one built by hand
    /// rather than by [`CaCerts::from_file`] or [`CaCerts::from_pem`], which check it).
    pub fn apply(
        &self,
        mut builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, TlsError> {
        let mut roots = Vec::new();
        for ca in &self.ca_certs {
            for der in ca.certificates()? {
                let cert = reqwest::Certificate::from_der(der.as_ref())
                    .map_err(|e| TlsError::ca(&ca.origin, format!("invalid certificate: {e}")))?;
                roots.push(cert);
            }
        }
        if !roots.is_empty() {
            builder = builder.tls_certs_merge(roots);
        }
        if self.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if self.http1_only {
            builder = builder.http1_only();
        }
        for r in &self.resolve {
            // Port 0: the connection goes to the URL's port (reqwest resolves names, not
            // name and port, see `Resolve`).
            builder = builder.resolve(&r.host, SocketAddr::new(r.addr, 0));
        }
        Ok(builder)
    }

    /// The curl options that make curl talk TLS the same way (`--cacert FILE`, `--insecure`,
    /// `--http1.1`, `--resolve HOST:PORT:ADDR`), for reproduce lines; empty for the default.
    pub fn curl_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ca in &self.ca_certs {
            out.push("--cacert".to_owned());
            out.push(ca.origin.clone());
        }
        if self.insecure {
            out.push("--insecure".to_owned());
        }
        if self.http1_only {
            out.push("--http1.1".to_owned());
        }
        for r in &self.resolve {
            out.push("--resolve".to_owned());
            out.push(r.to_string());
        }
        out
    }
}

/// Extra CA certificates from one place, typically one `--cacert` file.
#[derive(Clone, PartialEq, Eq)]
pub struct CaCerts {
    /// Where they came from, as errors and curl lines name it (the file's path).
    pub origin: String,
    /// One or more PEM `CERTIFICATE` sections; other sections are ignored.
    pub pem: Vec<u8>,
}

impl fmt::Debug for CaCerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaCerts")
            .field("origin", &self.origin)
            .field("pem_bytes", &self.pem.len())
            .finish()
    }
}

impl CaCerts {
    /// Reads the PEM file at `path` and checks that it holds at least one certificate and that
    /// every certificate in it can be a trust anchor.
    pub fn from_file(path: &Path) -> Result<CaCerts, TlsError> {
        let origin = path.display().to_string();
        let pem = std::fs::read(path)
            .map_err(|e| TlsError::ca(&origin, format!("cannot read the file: {e}")))?;
        CaCerts::from_pem(origin, pem)
    }

    /// Checks `pem` as [`CaCerts::from_file`] does; `origin` names it in errors.
    pub fn from_pem(
        origin: impl Into<String>,
        pem: impl Into<Vec<u8>>,
    ) -> Result<CaCerts, TlsError> {
        let ca = CaCerts {
            origin: origin.into(),
            pem: pem.into(),
        };
        for (i, der) in ca.certificates()?.into_iter().enumerate() {
            rustls::RootCertStore::empty().add(der).map_err(|e| {
                TlsError::ca(
                    &ca.origin,
                    format!("certificate {} cannot be a trust anchor: {e}", i + 1),
                )
            })?;
        }
        Ok(ca)
    }

    /// How many certificates the PEM holds (0 for one that [`CaCerts::from_pem`] would refuse).
    pub fn count(&self) -> usize {
        self.certificates().map_or(0, |c| c.len())
    }

    /// The DER certificates of the PEM, at least one.
    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let sections = pem_sections(&self.pem).map_err(|e| TlsError::ca(&self.origin, e))?;
        let mut certs = Vec::new();
        let mut others = Vec::new();
        for (kind, der) in sections {
            match kind {
                pem::SectionKind::Certificate => certs.push(CertificateDer::from(der)),
                other => others.push(section_name(other)),
            }
        }
        if certs.is_empty() {
            let why = match (others.first(), self.pem.first()) {
                (Some(kind), _) => format!("no certificate in the file (it holds a {kind})"),
                (None, Some(0x30)) => "no certificate in the file (it looks like DER: convert it \
                    with `openssl x509 -inform der -in FILE -out FILE.pem`)"
                    .to_owned(),
                (None, _) => {
                    "no certificate in the file (expected -----BEGIN CERTIFICATE-----)".to_owned()
                }
            };
            return Err(TlsError::ca(&self.origin, why));
        }
        Ok(certs)
    }
}

/// Every PEM section of `data`, in order, or why it is not PEM.
pub(crate) fn pem_sections(data: &[u8]) -> Result<Vec<(pem::SectionKind, Vec<u8>)>, String> {
    let mut rest = data;
    let mut out = Vec::new();
    loop {
        match pem::from_buf(&mut rest) {
            Ok(Some(section)) => out.push(section),
            Ok(None) => return Ok(out),
            Err(e) => return Err(format!("not valid PEM: {}", pem_error(&e))),
        }
    }
}

fn pem_error(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "a section does not end (missing `{}`)",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "bad section start `{}`",
            String::from_utf8_lossy(line).trim()
        ),
        other => other.to_string(),
    }
}

/// How a PEM section kind is named in messages.
pub(crate) fn section_name(kind: pem::SectionKind) -> &'static str {
    match kind {
        pem::SectionKind::Certificate => "certificate",
        pem::SectionKind::PublicKey => "public key",
        pem::SectionKind::RsaPrivateKey
        | pem::SectionKind::PrivateKey
        | pem::SectionKind::EcPrivateKey => "private key",
        pem::SectionKind::Crl => "certificate revocation list",
        pem::SectionKind::Csr => "certificate signing request",
        _ => "PEM section of another kind",
    }
}

/// One `--resolve HOST:PORT:ADDR`: connections to `host` go to `addr`.
///
/// As with curl, `PORT` names the port the override is meant for; reqwest overrides names, not
/// names and ports, so here it applies to `host` on every port, and the connection always goes
/// to the URL's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    pub host: String,
    pub port: u16,
    pub addr: IpAddr,
}

impl Resolve {
    /// `addr` with `port`.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.addr, self.port)
    }
}

impl fmt::Display for Resolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{}:{}:{a}", self.host, self.port),
            IpAddr::V6(a) => write!(f, "{}:{}:[{a}]", self.host, self.port),
        }
    }
}

impl FromStr for Resolve {
    type Err = TlsError;

    /// `HOST:PORT:ADDR`, `ADDR` an IPv4 or IPv6 address (brackets optional).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| TlsError::Resolve {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parts = s.splitn(3, ':');
        let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected HOST:PORT:ADDR"));
        };
        if host.is_empty() || host.contains(['/', '[', ']', ' ']) {
            return Err(bad("expected a host name before the first `:`"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr.parse().map_err(|_| bad("ADDR is not an IP address"))?;
        Ok(Resolve {
            host: host.to_ascii_lowercase(),
            port,
            addr,
        })
    }
}

/// TLS settings that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A `--cacert` file: unreadable, not PEM, or without a usable certificate.
    #[error("--cacert {origin}: {reason}")]
    CaFile { origin: String, reason: String },
    /// A `--resolve` value that is not `HOST:PORT:ADDR`.
    #[error(
        "--resolve {value}: {reason} (expected HOST:PORT:ADDR, e.g. api.example.com:443:127.0.0.1)"
    )]
    Resolve { value: String, reason: String },
}

impl TlsError {
    fn ca(origin: &str, reason: impl Into<String>) -> TlsError {
        TlsError::CaFile {
            origin: origin.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The one-line reason of the TLS failure somewhere in `err`'s source chain (a rustls error,
/// also when wrapped in an `io::Error`), without the `TLS: ` prefix; `None` when the chain holds
/// no TLS error.
pub fn failure_reason(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<RustlsError>() {
            return Some(describe(r));
        }
        next = next_cause(e);
    }
    None
}

/// The cause of `e`: its source, or for an `io::Error` the error it wraps (which
/// `io::Error::source` skips, returning that error's own source).
pub fn next_cause<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    match e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
        Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    }
}

/// What went wrong in a handshake, in words a user can act on.
pub fn describe(err: &RustlsError) -> String {
    match err {
        RustlsError::InvalidCertificate(c) => describe_certificate(c),
        RustlsError::AlertReceived(alert) => {
            format!("handshake failed: the server refused it (alert `{alert:?}`)")
        }
        RustlsError::NoApplicationProtocol => {
            "handshake failed: no HTTP version in common (ALPN); try with or without --http1"
                .to_owned()
        }
        RustlsError::InvalidMessage(_) | RustlsError::InappropriateMessage { .. } => format!(
            "handshake failed: the answer is not TLS ({err}); is it plain HTTP? try http://"
        ),
        RustlsError::NoCertificatesPresented => {
            "handshake failed: the server presented no certificate".to_owned()
        }
        other => format!("handshake failed: {other}"),
    }
}

const TRUST_HINT: &str = "pass --cacert FILE or --insecure";

fn describe_certificate(err: &CertificateError) -> String {
    match err {
        CertificateError::UnknownIssuer => {
            format!("certificate from an unknown issuer ({TRUST_HINT})")
        }
        CertificateError::Expired => "certificate expired".to_owned(),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!(
                "certificate expired (not valid after {})",
                date(not_after.as_secs())
            )
        }
        CertificateError::NotValidYet => "certificate not valid yet".to_owned(),
        CertificateError::NotValidYetContext { not_before, .. } => format!(
            "certificate not valid yet (not valid before {})",
            date(not_before.as_secs())
        ),
        CertificateError::NotValidForName => "certificate is for another name".to_owned(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names = match presented.as_slice() {
                [] => "no name".to_owned(),
                names => names
                    .iter()
                    .map(|n| presented_name(n))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            format!(
                "certificate is for another name (asked for {}, the certificate is for {names})",
                expected.to_str()
            )
        }
        CertificateError::Revoked => "certificate revoked".to_owned(),
        CertificateError::BadSignature => {
            format!("certificate signature does not verify ({TRUST_HINT})")
        }
        CertificateError::BadEncoding => "the server's certificate cannot be parsed".to_owned(),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "certificate is not for TLS servers (extended key usage)".to_owned()
        }
        other => format!("certificate rejected: {other}"),
    }
}

/// A name as webpki presents it (`DnsName("localhost")`, `IpAddress(0::1)`) as a user writes
/// it (`localhost`, `::1`); anything else unchanged.
fn presented_name(name: &str) -> String {
    if let Some(dns) = name
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
    {
        return dns.to_owned();
    }
    if let Some(ip) = name
        .strip_prefix("IpAddress(")
        .and_then(|n| n.strip_suffix(')'))
    {
        return ip
            .parse::<IpAddr>()
            .map_or_else(|_| ip.to_owned(), |ip| ip.to_string());
    }
    name.to_owned()
}

/// `secs` since the epoch as an RFC 3339 UTC date.
fn date(secs: u64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> String {
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap()
            .cert
            .pem()
    }

    fn ca_error(pem: &[u8]) -> String {
        CaCerts::from_pem("x.pem", pem.to_vec())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn ca_pem_holds_one_or_more_certificates() {
        let two = format!("{}\n{}", self_signed(), self_signed());
        let ca = CaCerts::from_pem("two.pem", two.into_bytes()).unwrap();
        assert_eq!(ca.count(), 2);
        let tls = ClientTls {
            ca_certs: vec![ca],
            ..ClientTls::default()
        };
        tls.apply(reqwest::Client::builder())
            .unwrap()
            .build()
            .unwrap();
    }

    #[test]
    fn ca_files_without_a_certificate_say_what_they_hold() {
        assert_eq!(
            ca_error(b""),
            "--cacert x.pem: no certificate in the file (expected -----BEGIN CERTIFICATE-----)"
        );
        assert_eq!(
            ca_error(b"hello\n"),
            "--cacert x.pem: no certificate in the file (expected -----BEGIN CERTIFICATE-----)"
        );
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        assert_eq!(
            ca_error(key.as_bytes()),
            "--cacert x.pem: no certificate in the file (it holds a private key)"
        );
        let der = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap()
            .cert
            .der()
            .to_vec();
        assert!(
            ca_error(&der).contains("it looks like DER"),
            "{}",
            ca_error(&der)
        );
    }

    #[test]
    fn broken_pem_and_bad_certificates_are_errors() {
        let cert = self_signed();
        let cut = &cert[..cert.len() / 2];
        let err = ca_error(cut.as_bytes());
        assert!(err.starts_with("--cacert x.pem: not valid PEM: "), "{err}");
        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = ca_error(garbage.as_bytes());
        assert!(
            err.starts_with("--cacert x.pem: certificate 1 cannot be a trust anchor"),
            "{err}"
        );
    }

    #[test]
    fn unreadable_ca_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.pem");
        let err = CaCerts::from_file(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "--cacert {}: cannot read the file: ",
                path.display()
            )),
            "{err}"
        );
        std::fs::write(&path, self_signed()).unwrap();
        assert_eq!(CaCerts::from_file(&path).unwrap().count(), 1);
    }

    #[test]
    fn resolve_parses_host_port_addr() {
        let r: Resolve = "API.example.com:443:127.0.0.1".parse().unwrap();
        assert_eq!(r.host, "api.example.com");
        assert_eq!(r.socket_addr(), "127.0.0.1:443".parse().unwrap());
        assert_eq!(r.to_string(), "api.example.com:443:127.0.0.1");
        let v6: Resolve = "h:8443:[::1]".parse().unwrap();
        assert_eq!(v6.addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(v6.to_string(), "h:8443:[::1]");
        assert_eq!("h:1:::1".parse::<Resolve>().unwrap().addr, v6.addr);
        for bad in [
            "h:443",
            "h:x:127.0.0.1",
            ":443:127.0.0.1",
            "h:443:localhost",
        ] {
            let err = bad.parse::<Resolve>().unwrap_err().to_string();
            assert!(err.starts_with(&format!("--resolve {bad}: ")), "{err}");
        }
    }

    #[test]
    fn curl_args_mirror_the_settings() {
        assert!(ClientTls::default().curl_args().is_empty());
        let tls = ClientTls {
            ca_certs: vec![CaCerts::from_pem("ca.pem", self_signed()).unwrap()],
            insecure: true,
            http1_only: true,
            resolve: vec!["h:443:127.0.0.1".parse().unwrap()],
        };
        assert_eq!(
            tls.curl_args().join(" "),
            "--cacert ca.pem --insecure --http1.1 --resolve h:443:127.0.0.1"
        );
    }

    #[test]
    fn certificate_errors_are_one_actionable_line() {
        let cert = |c| describe(&RustlsError::InvalidCertificate(c));
        assert_eq!(
            cert(CertificateError::UnknownIssuer),
            "certificate from an unknown issuer (pass --cacert FILE or --insecure)"
        );
        assert_eq!(cert(CertificateError::Expired), "certificate expired");
        assert_eq!(
            cert(CertificateError::ExpiredContext {
                time: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
                    1_000_000_000
                )),
                not_after: rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(
                    978_307_200
                )),
            }),
            "certificate expired (not valid after 2001-01-01T00:00:00Z)"
        );
        assert_eq!(
            cert(CertificateError::NotValidForNameContext {
                expected: rustls::pki_types::ServerName::try_from("api.test").unwrap(),
                presented: vec![
                    "DnsName(\"localhost\")".into(),
                    "IpAddress(127.0.0.1)".into(),
                    "IpAddress(0::1)".into(),
                    "URI(\"x\")".into(),
                ],
            }),
            "certificate is for another name (asked for api.test, the certificate is for localhost, 127.0.0.1, ::1, URI(\"x\"))"
        );
        let alert = describe(&RustlsError::AlertReceived(
            rustls::AlertDescription::HandshakeFailure,
        ));
        assert_eq!(
            alert,
            "handshake failed: the server refused it (alert `HandshakeFailure`)"
        );
        for reason in [cert(CertificateError::Revoked), alert] {
            assert!(!reason.contains('\n'));
        }
    }

    #[test]
    fn failure_reason_looks_inside_io_errors() {
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            RustlsError::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert_eq!(
            failure_reason(&wrapped).as_deref(),
            Some("certificate from an unknown issuer (pass --cacert FILE or --insecure)")
        );
        let plain = io::Error::new(io::ErrorKind::InvalidData, "nope");
        assert_eq!(failure_reason(&plain), None);
    }
}
