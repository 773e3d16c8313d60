//! Profiles fetched over https from a real TLS server on 127.0.0.1, with certificates
//! the test makes (an authority, the server's, a client's): `-tls_ca` to trust the
//! server, `-tls_cert` and `-tls_key` for a server that asks for a client certificate,
//! `https+insecure://` to skip the check of the server's certificate, and pprof's words
//! for TLS files that cannot be used.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::thread::JoinHandle;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

mod scratch;
use scratch::ScratchDir;

fn input(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/conformance/differential/inputs")
        .join(name)
}

/// A certificate and its key, in DER for the server and as PEM files for profkit.
struct Identity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    cert_file: PathBuf,
    key_file: PathBuf,
}

/// An authority, a server certificate for 127.0.0.1 and a client certificate it
/// signed, written in `dir`.
struct Pki {
    ca_file: PathBuf,
    ca: CertificateDer<'static>,
    server: Identity,
    client: Identity,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "profkit test authority");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        let leaf = |name: &str, purpose: ExtendedKeyUsagePurpose| -> Identity {
            let mut params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![purpose];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &issuer).unwrap();
            let (cert_file, key_file) = (
                dir.join(format!("{name}.pem")),
                dir.join(format!("{name}.key")),
            );
            std::fs::write(&cert_file, cert.pem()).unwrap();
            std::fs::write(&key_file, key.serialize_pem()).unwrap();
            Identity {
                cert: cert.der().clone(),
                key: PrivatePkcs8KeyDer::from(key.serialize_der()),
                cert_file,
                key_file,
            }
        };
        Pki {
            ca_file,
            ca: ca_cert.der().clone(),
            server: leaf("server", ExtendedKeyUsagePurpose::ServerAuth),
            client: leaf("client", ExtendedKeyUsagePurpose::ClientAuth),
        }
    }
}

/// An https server on 127.0.0.1 answering one connection with `body`, asking for a
/// client certificate signed by the authority when `client_auth`; its URL, and the
/// thread, which ends with whether the handshake succeeded.
fn https_server(pki: &Pki, client_auth: bool, body: Vec<u8>) -> (String, JoinHandle<bool>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca.clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(
            vec![pki.server.cert.clone()],
            PrivateKeyDer::Pkcs8(pki.server.key.clone_key()),
        )
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://{}/debug/pprof/profile",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let Ok((tcp, _)) = listener.accept() else {
            return false;
        };
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        // The request head: read until its blank line (a failed handshake ends here).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return false,
            }
        }
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = tls.write_all(reply.as_bytes());
        let _ = tls.write_all(&body);
        let _ = tls.flush();
        tls.conn.send_close_notify();
        let _ = tls.flush();
        true
    });
    (url, handle)
}

fn profkit(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_profkit"))
        .args(args)
        .current_dir(dir)
        .env("PPROF_TMPDIR", dir.join("saved"))
        .output()
        .unwrap()
}

/// The `-top` of the profile the servers send, read from its file.
fn expected_top(dir: &Path) -> Vec<u8> {
    let out = profkit(&["-top", input("cpu.pb.gz").to_str().unwrap()], dir);
    assert!(out.status.success());
    out.stdout
}

fn flag(name: &str, path: &Path) -> String {
    format!("-{name}={}", path.display())
}

#[test]
fn a_client_certificate_and_authority_fetch_from_a_server_that_asks_for_them() {
    let dir = ScratchDir::new("profkit-tls-mutual");
    let pki = Pki::new(&dir);
    let (url, server) = https_server(&pki, true, std::fs::read(input("cpu.pb.gz")).unwrap());
    let out = profkit(
        &[
            "-top",
            &flag("tls_cert", &pki.client.cert_file),
            &flag("tls_key", &pki.client.key_file),
            &flag("tls_ca", &pki.ca_file),
            &url,
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.join().unwrap(), "the handshake failed");
    assert_eq!(out.stdout, expected_top(&dir));
}

#[test]
fn a_server_that_asks_for_a_client_certificate_refuses_a_client_without_one() {
    let dir = ScratchDir::new("profkit-tls-nocert");
    let pki = Pki::new(&dir);
    let (url, server) = https_server(&pki, true, Vec::new());
    let out = profkit(&["-top", &flag("tls_ca", &pki.ca_file), &url], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !server.join().unwrap(),
        "the server accepted a client without certificate"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(&format!(
            "{url}: Get \"{url}\": remote error: tls: certificate required\nfailed to fetch any source profiles\n"
        )),
        "{err}"
    );
}

#[test]
fn a_server_certificate_from_an_unknown_authority_is_refused() {
    let dir = ScratchDir::new("profkit-tls-unknown");
    let pki = Pki::new(&dir);
    let (url, server) = https_server(&pki, false, Vec::new());
    let out = profkit(&["-top", &url], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !server.join().unwrap(),
        "the client accepted an unknown authority"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with(&format!(
            "{url}: Get \"{url}\": tls: failed to verify certificate: x509: certificate signed by unknown authority\nfailed to fetch any source profiles\n"
        )),
        "{err}"
    );
}

#[test]
fn https_insecure_fetches_without_checking_the_server_certificate() {
    let dir = ScratchDir::new("profkit-tls-insecure");
    let pki = Pki::new(&dir);
    let (url, server) = https_server(&pki, false, std::fs::read(input("cpu.pb.gz")).unwrap());
    let insecure = url.replacen("https://", "https+insecure://", 1);
    let out = profkit(&["-top", &insecure], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.join().unwrap());
    assert_eq!(out.stdout, expected_top(&dir));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("Fetching profile over HTTP from {insecure}\n")
            + &format!(
                "Saved profile in {}\n",
                dir.join("saved/pprof.cpuprof.samples.cpu.001.pb.gz")
                    .display()
            )
    );
}

#[test]
fn tls_files_that_cannot_be_used_are_named_as_pprof_names_them() {
    let dir = ScratchDir::new("profkit-tls-files");
    let missing = dir.join("missing.pem");
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "no certificate here\n").unwrap();
    let url = "http://127.0.0.1:1/debug/pprof/heap";
    let cases: [(&[String], String); 4] = [
        (
            &[flag("tls_key", &missing)],
            "-tls_key is specified, so -tls_cert must also be specified".into(),
        ),
        (
            &[flag("tls_cert", &missing)],
            "-tls_cert is specified, so -tls_key must also be specified".into(),
        ),
        (
            &[flag("tls_cert", &not_pem), flag("tls_key", &not_pem)],
            "could not load certificate/key pair specified by -tls_cert and -tls_key: tls: failed to find any PEM data in certificate input".into(),
        ),
        (
            &[flag("tls_ca", &missing)],
            format!(
                "could not load CA specified by -tls_ca: open {}: no such file or directory",
                missing.display()
            ),
        ),
    ];
    for (flags, why) in cases {
        let mut args: Vec<&str> = vec!["-top"];
        args.extend(flags.iter().map(String::as_str));
        args.push(url);
        let out = profkit(&args, &dir);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "Fetching profile over HTTP from {url}\n{url}: Get \"{url}\": {why}\nfailed to fetch any source profiles\n"
            ),
            "{flags:?}"
        );
    }
}
