//! The shared peer helpers behave as the suites rely on: the repository root holds `.peers/`,
//! a guarded child dies with its guard, and the WebDriver client drives a real headless
//! Chromium through a form.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use deputy_tests::process::{self, ChildGuard};
use deputy_tests::webdriver::Browser;

#[test]
fn repo_root_is_the_workspace_with_the_peer_installer() {
    let root = process::repo_root();
    assert!(root.join("scripts/peers/install.sh").is_file(), "{root:?}");
    assert!(root.join("tests/Cargo.toml").is_file(), "{root:?}");
}

#[test]
fn a_missing_peer_names_the_installer_and_the_override() {
    let failure = std::panic::catch_unwind(|| {
        process::require_binary("DEPUTY_TEST_SUPPORT_UNSET", &["no-such-peer-binary"])
    })
    .unwrap_err();
    let message = failure.downcast_ref::<String>().unwrap();
    assert!(message.contains("no-such-peer-binary"), "{message}");
    assert!(message.contains("scripts/peers/install.sh"), "{message}");
    assert!(message.contains("DEPUTY_TEST_SUPPORT_UNSET"), "{message}");
}

#[tokio::test]
async fn a_dropped_guard_kills_its_child_and_wait_for_port_sees_a_listener() {
    let port = process::free_port();
    let guard: ChildGuard = process::spawn(Command::new(process::require_node()).arg("-e").arg(
        format!("require('net').createServer().listen({port}, '127.0.0.1')"),
    ));
    process::wait_for_port(port, "node listener").await;
    let pid = guard.0.id();
    drop(guard);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "child {pid} outlived its guard"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn browser_fills_a_form_reads_text_runs_script_and_screenshots() {
    let dir = std::env::temp_dir().join(format!("deputy-tests-webdriver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("form.html");
    std::fs::write(
        &page,
        r#"<!doctype html><title>form</title>
<input id="name"><button id="go" onclick="document.getElementById('out').textContent = 'hello ' + document.getElementById('name').value; location.hash = 'done'">go</button>
<p id="out"></p>"#,
    )
    .unwrap();
    let url = format!("file://{}", page.display());

    let browser = Browser::launch().await;
    browser.goto(&url).await;
    browser.type_into("#name", "dana").await;
    browser.click("#go").await;
    let landed = browser.wait_for_url(&format!("{url}#done")).await;
    assert!(landed.ends_with("#done"));
    assert_eq!(browser.text("#out").await, "hello dana");
    assert!(browser.source().await.contains("hello dana"));
    let title = browser.eval("return document.title;").await;
    assert_eq!(title, "form");
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    browser.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
