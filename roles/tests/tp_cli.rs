//! `sv2 tp` as an operator runs it: help for every option, configuration errors, a clean
//! shutdown on SIGTERM, and the embedded chain kept across a kill -9.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const SV2: &str = env!("CARGO_BIN_EXE_sv2");

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sv2-tp-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn help_explains_every_option() {
    let out = Command::new(SV2).args(["tp", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--listen",
        "--data-dir",
        "--rpc-url",
        "--network",
        "--rpc-cookie",
        "--rpc-user",
        "--rpc-password",
        "--tip-poll-ms",
        "--fee-delta",
        "--fee-interval",
        "--own-txs",
        "--max-clients",
        "--handshake-timeout",
        "--write-timeout",
        "--log",
        "SV2_TP_",
        "Precedence",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}:\n{help}");
    }
}

#[test]
fn configuration_mistakes_are_reported() {
    let dir = temp_dir("badconfig");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tp.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nfee_delta = 5\n").unwrap();
    let out = Command::new(SV2).arg("tp").arg("--config").arg(&file).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tp.toml") && err.contains("fee_delta"), "{err}");
    let out = Command::new(SV2).args(["tp", "--rpc-url", "127.0.0.1:1", "--network", "moon"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown network"));
    let out = Command::new(SV2).args(["tp", "--listen", "nowhere"]).env("SV2_TP_DATA_DIR", &dir).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("ip:port"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Starts `sv2 tp` on `dir`; returns the process and the tip line it logged.
fn start(dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(SV2)
        .args(["tp", "--listen", "127.0.0.1:0", "--log", "info"])
        .env_remove("RUST_LOG")
        .env("SV2_TP_DATA_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("embedded regtest node in") {
                let _ = tx.send(line);
            }
        }
    });
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let listening = stdout.lines().map_while(Result::ok).find(|l| l.starts_with("listening on"));
    assert!(listening.is_some(), "sv2 tp did not start");
    let tip = rx.recv_timeout(Duration::from_secs(60)).expect("tip logged");
    let tip = tip[tip.find("tip ").unwrap()..].to_owned();
    (child, tip)
}

#[test]
fn the_chain_survives_a_kill_and_sigterm_shuts_down_cleanly() {
    let dir = temp_dir("kill");
    let (mut first, tip) = start(&dir);
    assert!(tip.ends_with("at height 110"), "{tip}");
    first.kill().unwrap(); // SIGKILL: no chance to flush
    first.wait().unwrap();

    let (second, tip_again) = start(&dir);
    assert_eq!(tip_again, tip, "the chain from before the kill, not a new one");
    let status = Command::new("kill").args(["-TERM", &second.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success(), "clean exit on SIGTERM: {:?}", out.status);
    assert!(!dir.join("regtest/node.open").exists(), "a clean shutdown leaves no marker");
    std::fs::remove_dir_all(&dir).unwrap();
}
