//! The real `jieyou` binary from the outside: `user add`, a `jieyou serve` process on a SQLite
//! file, and the console in a tmux server of its own. Shared by the tests that run the binary;
//! a module of its own (`mod e2e;`), apart from `common`, so only they compile it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_jieyou");
/// The bound of every wait: for the screen, the server, a process to stop.
pub const WAIT: Duration = Duration::from_secs(20);

/// These tests drive a real terminal: without tmux they fail rather than pass unseen.
pub fn require_tmux() {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "tmux is required for the console's end-to-end tests (apt-get install tmux)"
    );
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Asserts the command succeeded (showing its stderr if not) and returns its stdout.
pub fn succeeded(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `jieyou user add`; returns the new user's token (the last line it prints).
pub fn user_add(db: &str, name: &str, role: &str) -> String {
    user_add_to(db, name, role, None)
}

/// `jieyou user add`, of a department when one is given.
pub fn user_add_to(db: &str, name: &str, role: &str, department: Option<&str>) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "user",
        "add",
        "--database",
        db,
        "--name",
        name,
        "--role",
        role,
    ]);
    if let Some(d) = department {
        cmd.args(["--department", d]);
    }
    succeeded(cmd.output().expect("runs"))
        .lines()
        .last()
        .expect("token line")
        .trim()
        .to_string()
}

/// Starts `jieyou serve` on `listen` and returns it with its URL (read from its stdout).
pub fn serve(db: &str, listen: &str) -> (Child, String) {
    serve_with(db, listen, &[])
}

/// [`serve`] with more arguments, e.g. `--config`.
pub fn serve_with(db: &str, listen: &str, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", listen, "--database", db])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("listening line");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (child, url)
}

/// Sends SIGTERM and waits up to `WAIT` for the process to exit; `None` if it did not.
pub fn sigterm(child: &mut Child) -> Option<ExitStatus> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A `jieyou serve` process; stopped with SIGTERM when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(db: &str, listen: &str) -> Server {
        let (child, url) = serve(db, listen);
        Server { child, url }
    }

    pub fn stop(&mut self) {
        if sigterm(&mut self.child).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A tmux server of its own (`-L`), killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// `jieyou {args}` in a 160×45 pane, with `home` as its HOME and `lang` as its locale.
    pub fn console(name: &str, home: &Path, args: &[&str], lang: &str) -> Tmux {
        let socket = format!("jieyou-e2e-{name}-{}", std::process::id());
        let t = Tmux { socket };
        std::fs::create_dir_all(home).expect("home");
        let mut cmd = format!(
            "env -u JIEYOU_SERVER -u JIEYOU_TOKEN -u NO_COLOR HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home}/data LANG={lang} LC_ALL={lang} {BIN}",
            home = home.display()
        );
        for a in args {
            cmd.push_str(&format!(" '{a}'"));
        }
        // Keep the pane after the console exits, so a failure to start can be read.
        cmd.push_str("; echo CONSOLE-EXITED $?; sleep 600");
        let status = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "45",
                "-s",
                "main",
                &cmd,
            ])
            .status()
            .expect("tmux runs");
        assert!(status.success());
        t
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let status = Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "main", k])
                .status()
                .expect("send-keys");
            assert!(status.success());
        }
    }

    /// The console's process id: the pane's shell runs it as its only child.
    pub fn console_pid(&self) -> Option<String> {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "list-panes",
                "-t",
                "main",
                "-F",
                "#{pane_pid}",
            ])
            .output()
            .ok()?;
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let out = Command::new("ps")
            .args(["-o", "pid=,comm=", "--ppid", &shell])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.contains("jieyou"))
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
    }

    /// A tmux format (`#{window_bell_flag}`…) evaluated for the console's window.
    pub fn format(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "-t",
                "main",
                format,
            ])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn text(&self, s: &str) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main", "-l", s])
            .status()
            .expect("send-keys");
    }

    /// Pastes `s` as a terminal does when the application asked for bracketed paste
    /// (`paste-buffer -p`): one `ESC [200~ … ESC [201~` write.
    pub fn paste(&self, s: &str) {
        for args in [
            vec!["set-buffer", "-b", "e2e", "--", s],
            vec!["paste-buffer", "-p", "-b", "e2e", "-t", "main"],
        ] {
            let status = Command::new("tmux")
                .args(["-L", &self.socket])
                .args(&args)
                .status()
                .expect("tmux paste");
            assert!(status.success());
        }
    }

    /// Polls the screen until `pred` holds; panics with the last screen after `WAIT`.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(text, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server leaves the socket file behind; remove it too.
        let socket_path = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|p| !p.is_empty());
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        if let Some(p) = socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The answer a test that writes straight into the store does not read.
pub fn no_answer(
    _: &jieyou::domain::CaseRecord,
    _: &[jieyou::wire::Event],
    _: i64,
) -> jieyou::server::store::StoredAnswer {
    jieyou::server::store::StoredAnswer {
        status: 200,
        body: Vec::new(),
    }
}

/// A dialysis patient's transport request, received by intake at `at` (in the past, for a
/// desk seeded with history), written straight into the store.
pub async fn seed_dialysis_case(
    store: &jieyou::server::Store,
    at: chrono::DateTime<chrono::Utc>,
) -> jieyou::domain::CaseRecord {
    use jieyou::wire::{Channel, Location, NewCase, Requester, Role};
    let new = NewCase {
        channel: Channel::Hotline12345,
        category: "medical_transport".into(),
        title: "透析病人需要转运".into(),
        description: "78岁尿毒症患者需定期血透，小区封控无法出行。".into(),
        requester: Requester {
            name: "葛先生".into(),
            phone: "13800000000".into(),
        },
        location: Location {
            town: "马金镇".into(),
            address: "下庄村".into(),
            lat: None,
            long: None,
        },
    };
    let intake = jieyou::domain::Actor {
        name: "intake-wang".into(),
        role: Role::Intake,
        department_id: None,
    };
    match store
        .create_case(&new, &intake, at, None, no_answer)
        .await
        .expect("case")
    {
        jieyou::server::store::Written::Fresh(rec, _) => rec,
        jieyou::server::store::Written::Replayed(_) => panic!("replayed"),
    }
}
