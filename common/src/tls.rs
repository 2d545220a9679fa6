//! TLS on the server connection, with mydumper's options: `--ssl`,
//! `--ssl-mode`, `--ca`, `--capath`, `--cert`, `--key`, `--cipher`,
//! `--tls-version`.
//!
//! The modes are the MySQL client's: DISABLED (plain), PREFERRED (TLS when
//! the server offers it), REQUIRED (TLS, the server's certificate not
//! checked), VERIFY_CA (the certificate must chain to `--ca`/`--capath` or
//! a public root) and VERIFY_IDENTITY (as VERIFY_CA, and it must name the
//! host). Without `--ssl-mode`, `--ssl` or any other TLS option means
//! REQUIRED, or VERIFY_CA when a CA is given; no TLS option means plain, as
//! mydumper built against MariaDB's client library connects. A Unix socket
//! is never encrypted: it counts as secure, as it does for the MySQL
//! client.
//!
//! TLSv1.2 and TLSv1.3 are spoken; `--tls-version` and `--cipher` narrow the
//! cipher suites offered (OpenSSL's names or the IANA ones), and a version
//! left with no suite is not negotiated.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rustls::crypto::ring::ALL_CIPHER_SUITES;
use rustls::SupportedCipherSuite;

use crate::options::ConnectionArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<SslMode> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => bail!("--ssl-mode: {s:?} is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"),
        })
    }
}

/// TLS settings, resolved and checked.
#[derive(Debug, Clone)]
pub struct Tls {
    pub mode: SslMode,
    opts: mysql::SslOpts,
    /// The CA certificates of `--capath` (and `--ca`) gathered into one
    /// file, which lives as long as these settings.
    _bundle: Option<Arc<tempfile::NamedTempFile>>,
}

impl Tls {
    /// The TLS the options ask for, or `None` for a plain connection.
    pub fn from_args(a: &ConnectionArgs) -> Result<Option<Tls>> {
        let any_option = a.ssl
            || a.ca.is_some()
            || a.capath.is_some()
            || a.cert.is_some()
            || a.key.is_some()
            || a.cipher.is_some()
            || a.tls_version.is_some();
        let mode = match &a.ssl_mode {
            Some(m) => SslMode::parse(m)?,
            None if !any_option => return Ok(None),
            None if a.ca.is_some() || a.capath.is_some() => SslMode::VerifyCa,
            None => SslMode::Required,
        };
        if mode == SslMode::Disabled {
            return Ok(None);
        }
        let mut bundle = None;
        let root: Option<PathBuf> = match (&a.ca, &a.capath) {
            (ca, Some(dir)) => {
                let b = ca_bundle(ca.as_deref(), dir)?;
                let path = b.path().to_path_buf();
                bundle = Some(Arc::new(b));
                Some(path)
            }
            (Some(ca), None) => {
                check_certificates(ca, "--ca")?;
                Some(ca.clone())
            }
            (None, None) => None,
        };
        let identity = match (&a.cert, &a.key) {
            (Some(cert), Some(key)) => {
                check_certificates(cert, "--cert")?;
                check_readable(key, "--key")?;
                Some(mysql::ClientIdentity::new(cert.clone(), key.clone()))
            }
            (Some(_), None) => bail!("--cert needs --key, the certificate's private key"),
            (None, Some(_)) => bail!("--key needs --cert, the client certificate"),
            (None, None) => None,
        };
        let suites = cipher_suites(a.cipher.as_deref(), a.tls_version.as_deref())?;
        let verify = matches!(mode, SslMode::VerifyCa | SslMode::VerifyIdentity);
        let opts = mysql::SslOpts::default()
            .with_root_cert_path(root)
            .with_client_identity(identity)
            .with_danger_accept_invalid_certs(!verify)
            .with_danger_skip_domain_validation(mode != SslMode::VerifyIdentity)
            .with_cipher_suites(&suites);
        Ok(Some(Tls { mode, opts, _bundle: bundle }))
    }

    pub fn ssl_opts(&self) -> mysql::SslOpts {
        self.opts.clone()
    }
}

fn check_readable(path: &Path, option: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{option} {}: cannot read it", path.display()))
}

/// The bytes of a PEM file with at least one certificate, or of a DER
/// certificate.
fn check_certificates(path: &Path, option: &str) -> Result<Vec<u8>> {
    let bytes = check_readable(path, option)?;
    let pem = String::from_utf8_lossy(&bytes).contains("-----BEGIN CERTIFICATE-----");
    // A DER certificate is one ASN.1 SEQUENCE.
    let der = bytes.first() == Some(&0x30);
    if !pem && !der {
        bail!("{option} {}: holds no certificate (expected PEM or DER)", path.display());
    }
    Ok(bytes)
}

/// `--capath`: every PEM certificate in the directory (and `--ca`'s), in
/// one file, as the TLS library reads one file of roots.
fn ca_bundle(ca: Option<&Path>, dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let mut text = String::new();
    if let Some(ca) = ca {
        text.push_str(&String::from_utf8_lossy(&check_certificates(ca, "--ca")?));
        text.push('\n');
    }
    let entries = std::fs::read_dir(dir).with_context(|| format!("--capath {}: cannot read the directory", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut found = 0;
    for p in paths {
        let Ok(bytes) = std::fs::read(&p) else { continue };
        let s = String::from_utf8_lossy(&bytes);
        if s.contains("-----BEGIN CERTIFICATE-----") {
            text.push_str(&s);
            text.push('\n');
            found += 1;
        }
    }
    if found == 0 {
        bail!("--capath {}: no PEM certificate in the directory", dir.display());
    }
    let mut f = tempfile::Builder::new().prefix("ca-bundle").suffix(".pem").tempfile().context("--capath: cannot write the CA bundle")?;
    f.write_all(text.as_bytes()).and_then(|_| f.flush()).context("--capath: cannot write the CA bundle")?;
    Ok(f)
}

/// OpenSSL's name of a suite the TLS library has, beside its IANA name.
const OPENSSL_NAMES: &[(&str, &str)] = &[
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    ("TLS_CHACHA20_POLY1305_SHA256", "TLS13_CHACHA20_POLY1305_SHA256"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("ECDHE-RSA-AES256-GCM-SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("ECDHE-RSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
];

fn suite_name(s: &SupportedCipherSuite) -> &'static str {
    s.suite().as_str().unwrap_or("")
}

fn is_tls13(s: &SupportedCipherSuite) -> bool {
    matches!(s, SupportedCipherSuite::Tls13(_))
}

/// The suites to offer, by `--cipher` (a `:` or `,` separated list) and
/// `--tls-version` (a `,` separated list of TLSv1.2, TLSv1.3, …); empty
/// means the library's defaults. As with OpenSSL, `--cipher` naming only
/// TLSv1.2 suites leaves TLSv1.3's as they are.
pub fn cipher_suites(cipher: Option<&str>, tls_version: Option<&str>) -> Result<Vec<SupportedCipherSuite>> {
    if cipher.is_none() && tls_version.is_none() {
        return Ok(Vec::new());
    }
    let mut suites: Vec<SupportedCipherSuite> = ALL_CIPHER_SUITES.to_vec();
    if let Some(list) = cipher {
        let mut named = Vec::new();
        for entry in list.split([':', ',']).map(str::trim).filter(|e| !e.is_empty()) {
            let iana = OPENSSL_NAMES
                .iter()
                .find(|(openssl, _)| openssl.eq_ignore_ascii_case(entry))
                .map(|(_, iana)| *iana)
                .unwrap_or(entry);
            match ALL_CIPHER_SUITES.iter().find(|s| suite_name(s).eq_ignore_ascii_case(iana)) {
                Some(s) => named.push(*s),
                None => log::warn!("--cipher: {entry:?} is not a cipher suite offered here; skipped"),
            }
        }
        if named.is_empty() {
            bail!("--cipher {list:?}: none of these cipher suites is offered here ({})", offered());
        }
        let names_tls13 = named.iter().any(is_tls13);
        suites.retain(|s| named.iter().any(|n| suite_name(n) == suite_name(s)) || (!names_tls13 && is_tls13(s)));
    }
    if let Some(list) = tls_version {
        let (mut v12, mut v13) = (false, false);
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.to_ascii_lowercase().as_str() {
                "tlsv1.2" => v12 = true,
                "tlsv1.3" => v13 = true,
                "tlsv1" | "tlsv1.0" | "tlsv1.1" => {}
                _ => bail!("--tls-version: {entry:?} is not a TLS version (TLSv1.2, TLSv1.3)"),
            }
        }
        if !v12 && !v13 {
            bail!("--tls-version {list:?}: only TLSv1.2 and TLSv1.3 are spoken here");
        }
        suites.retain(|s| if is_tls13(s) { v13 } else { v12 });
        if suites.is_empty() {
            bail!("--cipher {:?} leaves no cipher suite of --tls-version {list:?}", cipher.unwrap_or(""));
        }
    }
    Ok(suites)
}

fn offered() -> String {
    OPENSSL_NAMES.iter().map(|(o, _)| *o).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[SupportedCipherSuite]) -> Vec<&'static str> {
        v.iter().map(suite_name).collect()
    }

    #[test]
    fn cipher_lists() {
        assert!(cipher_suites(None, None).unwrap().is_empty());
        // A TLSv1.2 name keeps the TLSv1.3 suites, as OpenSSL's cipher list does.
        let s = names(&cipher_suites(Some("ECDHE-RSA-AES128-GCM-SHA256"), None).unwrap());
        assert!(s.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(s.contains(&"TLS13_AES_128_GCM_SHA256"));
        assert!(!s.contains(&"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"));
        let s = names(&cipher_suites(Some("TLS_AES_256_GCM_SHA384"), None).unwrap());
        assert_eq!(s, vec!["TLS13_AES_256_GCM_SHA384"]);
        assert!(cipher_suites(Some("RC4-MD5:DES-CBC3-SHA"), None).is_err());
    }

    #[test]
    fn versions() {
        let s = cipher_suites(None, Some("TLSv1.2")).unwrap();
        assert!(!s.is_empty() && s.iter().all(|x| !is_tls13(x)));
        let s = cipher_suites(None, Some("TLSv1.3")).unwrap();
        assert!(!s.is_empty() && s.iter().all(is_tls13));
        assert_eq!(cipher_suites(None, Some("TLSv1.2,TLSv1.3")).unwrap().len(), ALL_CIPHER_SUITES.len());
        assert!(cipher_suites(None, Some("TLSv1,TLSv1.1")).is_err());
        assert!(cipher_suites(None, Some("SSLv3")).is_err());
        assert!(cipher_suites(Some("TLS_AES_256_GCM_SHA384"), Some("TLSv1.2")).is_err());
    }

    #[test]
    fn modes() {
        let a = ConnectionArgs::default();
        assert!(Tls::from_args(&a).unwrap().is_none());
        let a = ConnectionArgs { ssl: true, ..Default::default() };
        assert_eq!(Tls::from_args(&a).unwrap().unwrap().mode, SslMode::Required);
        let a = ConnectionArgs { ssl: true, ssl_mode: Some("disabled".into()), ..Default::default() };
        assert!(Tls::from_args(&a).unwrap().is_none());
        let a = ConnectionArgs { ssl_mode: Some("verify_identity".into()), ..Default::default() };
        assert_eq!(Tls::from_args(&a).unwrap().unwrap().mode, SslMode::VerifyIdentity);
        let a = ConnectionArgs { ssl_mode: Some("sometimes".into()), ..Default::default() };
        assert!(Tls::from_args(&a).is_err());
        let a = ConnectionArgs { ca: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        let e = Tls::from_args(&a).unwrap_err().to_string();
        assert!(e.contains("--ca /nonexistent/ca.pem"), "{e}");
        let a = ConnectionArgs { cert: Some("/etc/hostname".into()), ..Default::default() };
        assert!(Tls::from_args(&a).unwrap_err().to_string().contains("--cert"));
    }
}
