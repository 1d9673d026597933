//! The reference server's certificate and key ([`ServerTls`]): given as PEM (`serve --tls-cert
//! FILE --tls-key FILE`) or generated self-signed for `localhost`, `127.0.0.1` and `::1`
//! (`serve --tls-self-signed`), checked when loaded so that a bad file is one line naming it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::tls::{pem_sections, section_name};

/// The names a self-signed certificate ([`ServerTls::self_signed`]) is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// What the reference server presents in TLS handshakes: a certificate chain (leaf first) and
/// the leaf's private key. Offers HTTP/2 and HTTP/1.1 through ALPN. `Debug` hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// DER certificates, leaf first.
    chain: Vec<Vec<u8>>,
    /// The key as PEM, checked to parse and to belong to the leaf.
    key_pem: Vec<u8>,
    self_signed: bool,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint_sha256())
            .field("chain_len", &self.chain.len())
            .field("self_signed", &self.self_signed)
            .finish_non_exhaustive()
    }
}

/// A certificate or key that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerTlsError {
    /// The certificate file: unreadable, not PEM, or without a certificate.
    #[error("--tls-cert {origin}: {reason}")]
    Cert { origin: String, reason: String },
    /// The key file: unreadable, not PEM, without a private key, or a key type not supported.
    #[error("--tls-key {origin}: {reason}")]
    Key { origin: String, reason: String },
    /// The key is not the one of the certificate.
    #[error("--tls-key {key} is not the key of the certificate in --tls-cert {cert}")]
    Mismatch { cert: String, key: String },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

impl ServerTls {
    /// Reads the certificate chain (PEM, leaf first) at `cert` and its private key (PEM: PKCS#8,
    /// PKCS#1 or SEC1) at `key`, and checks that they fit together.
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, ServerTlsError> {
        let (cert_origin, key_origin) = (cert.display().to_string(), key.display().to_string());
        let cert_pem = std::fs::read(cert).map_err(|e| ServerTlsError::Cert {
            origin: cert_origin.clone(),
            reason: format!("cannot read the file: {e}"),
        })?;
        let key_pem = std::fs::read(key).map_err(|e| ServerTlsError::Key {
            origin: key_origin.clone(),
            reason: format!("cannot read the file: {e}"),
        })?;
        ServerTls::from_pem_named(&cert_origin, &cert_pem, &key_origin, &key_pem)
    }

    /// [`ServerTls::from_files`] for PEM already in memory (errors name it "certificate PEM"
    /// and "key PEM").
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServerTls, ServerTlsError> {
        ServerTls::from_pem_named("certificate PEM", cert_pem, "key PEM", key_pem)
    }

    /// A new self-signed certificate for [`SELF_SIGNED_NAMES`] (ECDSA P-256), with a new key.
    /// Clients trust it through its [`cert_pem`](ServerTls::cert_pem) as a CA (`--cacert`), or
    /// check its [`fingerprint_sha256`](ServerTls::fingerprint_sha256).
    pub fn self_signed() -> Result<ServerTls, ServerTlsError> {
        let generate = |e: rcgen::Error| ServerTlsError::Generate(e.to_string());
        let names: Vec<String> = SELF_SIGNED_NAMES
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        let mut params = rcgen::CertificateParams::new(names).map_err(generate)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sessionspec reference server");
        let key = rcgen::KeyPair::generate().map_err(generate)?;
        let cert = params.self_signed(&key).map_err(generate)?;
        let mut tls = ServerTls::from_pem_named(
            "self-signed",
            cert.pem().as_bytes(),
            "self-signed",
            key.serialize_pem().as_bytes(),
        )?;
        tls.self_signed = true;
        Ok(tls)
    }

    fn from_pem_named(
        cert_origin: &str,
        cert_pem: &[u8],
        key_origin: &str,
        key_pem: &[u8],
    ) -> Result<ServerTls, ServerTlsError> {
        let cert_err = |reason: String| ServerTlsError::Cert {
            origin: cert_origin.to_owned(),
            reason,
        };
        let key_err = |reason: String| ServerTlsError::Key {
            origin: key_origin.to_owned(),
            reason,
        };
        let sections = pem_sections(cert_pem).map_err(cert_err)?;
        let chain: Vec<Vec<u8>> = sections
            .iter()
            .filter(|(kind, _)| *kind == SectionKind::Certificate)
            .map(|(_, der)| der.clone())
            .collect();
        if chain.is_empty() {
            return Err(cert_err(match sections.first() {
                Some((kind, _)) if is_key(*kind) => {
                    "no certificate in the file (it holds a private key: are --tls-cert and \
                     --tls-key swapped?)"
                        .to_owned()
                }
                Some((kind, _)) => format!(
                    "no certificate in the file (it holds a {})",
                    section_name(*kind)
                ),
                None => {
                    "no certificate in the file (expected -----BEGIN CERTIFICATE-----)".to_owned()
                }
            }));
        }
        let sections = pem_sections(key_pem).map_err(key_err)?;
        if !sections.iter().any(|(kind, _)| is_key(*kind)) {
            let reason = if sections.iter().any(|(k, _)| *k == SectionKind::Certificate) {
                "no private key in the file (it holds a certificate: are --tls-cert and \
                 --tls-key swapped?)"
                    .to_owned()
            } else if String::from_utf8_lossy(key_pem).contains("ENCRYPTED PRIVATE KEY") {
                "the private key is encrypted; decrypt it first (`openssl pkey -in KEY -out \
                 PLAIN.pem`)"
                    .to_owned()
            } else {
                "no private key in the file (expected -----BEGIN PRIVATE KEY-----)".to_owned()
            };
            return Err(key_err(reason));
        }
        let tls = ServerTls {
            chain,
            key_pem: key_pem.to_vec(),
            self_signed: false,
        };
        match tls.build_config() {
            Ok(_) => Ok(tls),
            Err(rustls::Error::InconsistentKeys(_)) => Err(ServerTlsError::Mismatch {
                cert: cert_origin.to_owned(),
                key: key_origin.to_owned(),
            }),
            Err(rustls::Error::InvalidCertificate(e)) => Err(cert_err(format!(
                "the first certificate cannot be used: {e}"
            ))),
            Err(e) => Err(key_err(format!("the private key cannot be used: {e}"))),
        }
    }

    /// The certificate chain as PEM, leaf first: what a client passes as `--cacert` for a
    /// self-signed certificate.
    pub fn cert_pem(&self) -> String {
        let mut out = String::new();
        for der in &self.chain {
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            let b64 = STANDARD.encode(der);
            for line in b64.as_bytes().chunks(64) {
                out.push_str(&String::from_utf8_lossy(line));
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out
    }

    /// The SHA-256 fingerprint of the leaf certificate, as `openssl x509 -noout -fingerprint
    /// -sha256` prints it: upper-case hex byte pairs joined by `:`.
    pub fn fingerprint_sha256(&self) -> String {
        let digest = Sha256::digest(self.chain.first().map_or(&[][..], Vec::as_slice));
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Whether [`ServerTls::self_signed`] made it.
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }

    /// The rustls configuration: this chain and key, ALPN `h2` then `http/1.1`, TLS 1.2 and 1.3.
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        self.build_config().map(Arc::new)
    }

    fn build_config(&self) -> Result<rustls::ServerConfig, rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain: Vec<CertificateDer<'static>> = self
            .chain
            .iter()
            .map(|der| CertificateDer::from(der.clone()))
            .collect();
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| rustls::Error::General(format!("cannot read the private key: {e}")))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn is_key(kind: SectionKind) -> bool {
    matches!(
        kind,
        SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (c.cert.pem(), c.signing_key.serialize_pem())
    }

    fn err(cert: &str, key: &str) -> String {
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn self_signed_covers_the_loopback_names() {
        let tls = ServerTls::self_signed().unwrap();
        assert!(tls.is_self_signed());
        let pem = tls.cert_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
        // The PEM parses back to the same certificate: the fingerprint is the one of the PEM.
        let again = ServerTls::from_pem(pem.as_bytes(), &tls.key_pem).unwrap();
        assert_eq!(again.fingerprint_sha256(), tls.fingerprint_sha256());
        let fp = tls.fingerprint_sha256();
        assert_eq!(fp.len(), 32 * 3 - 1, "{fp}");
        assert!(fp
            .chars()
            .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        // Two generated pairs differ.
        assert_ne!(ServerTls::self_signed().unwrap().fingerprint_sha256(), fp);
        // Debug never shows the key.
        let debug = format!("{tls:?}");
        assert!(!debug.contains("PRIVATE"), "{debug}");
        assert!(debug.contains(&fp), "{debug}");
    }

    #[test]
    fn fingerprint_is_sha256_of_the_der() {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let tls = ServerTls::from_pem(
            c.cert.pem().as_bytes(),
            c.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        let expected: String = Sha256::digest(c.cert.der())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(tls.fingerprint_sha256(), expected);
        assert!(!tls.is_self_signed());
    }

    #[test]
    fn files_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair();
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        let missing = dir.path().join("missing.pem");
        std::fs::write(&cert_path, &cert).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        ServerTls::from_files(&cert_path, &key_path).unwrap();
        let e = ServerTls::from_files(&missing, &key_path)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "--tls-cert {}: cannot read the file: ",
                missing.display()
            )),
            "{e}"
        );
        let e = ServerTls::from_files(&cert_path, &missing)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "--tls-key {}: cannot read the file: ",
                missing.display()
            )),
            "{e}"
        );
        let e = ServerTls::from_files(&key_path, &cert_path)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "--tls-cert {}: no certificate in the file (it holds a private key: are --tls-cert and --tls-key swapped?)",
                key_path.display()
            )
        );
    }

    #[test]
    fn pem_errors_say_what_is_wrong() {
        let (cert, key) = pair();
        assert_eq!(
            err("", &key),
            "--tls-cert certificate PEM: no certificate in the file (expected -----BEGIN CERTIFICATE-----)"
        );
        assert_eq!(
            err(&cert, ""),
            "--tls-key key PEM: no private key in the file (expected -----BEGIN PRIVATE KEY-----)"
        );
        assert_eq!(
            err(&cert, &cert),
            "--tls-key key PEM: no private key in the file (it holds a certificate: are --tls-cert and --tls-key swapped?)"
        );
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(err(&cert, encrypted).contains("the private key is encrypted"));
        let cut = &cert[..cert.len() / 2];
        assert!(
            err(cut, &key).starts_with("--tls-cert certificate PEM: not valid PEM: "),
            "{}",
            err(cut, &key)
        );
        let garbage_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(
            err(&cert, garbage_key)
                .starts_with("--tls-key key PEM: the private key cannot be used: "),
            "{}",
            err(&cert, garbage_key)
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = pair();
        let (_, other_key) = pair();
        assert_eq!(
            err(&cert, &other_key),
            "--tls-key key PEM is not the key of the certificate in --tls-cert certificate PEM"
        );
    }

    #[test]
    fn the_config_offers_h2_then_http1() {
        let config = ServerTls::self_signed().unwrap().server_config().unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }
}
