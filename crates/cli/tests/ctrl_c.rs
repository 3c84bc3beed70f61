//! Ctrl+C in the `pgplay` REPL, as in psql 15: it cancels the running statement (`ERROR:
//! canceling statement due to user request`, and "Cancel request sent" on stderr) instead of
//! killing pgplay. At a terminal the REPL goes on, and a Ctrl+C at the prompt drops what was
//! typed; reading a script, pgplay stops after the cancelled statement with psql's status 3.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Ten thousand rows in `big`, a hundred in `s`: [`LONG_STATEMENT`] looks at ten billion
/// triples for a condition none meets, hours of work, unless a cancel stops it.
fn setup() -> String {
    let values: Vec<String> = (1..=100).map(|i| format!("({i})")).collect();
    format!(
        "CREATE TABLE s (x int);\nINSERT INTO s VALUES {};\nCREATE TABLE big (x int);\n\
         INSERT INTO big SELECT a.x * 100 + b.x FROM s a, s b;\n",
        values.join(", ")
    )
}

const LONG_STATEMENT: &str =
    "SELECT count(*) FROM s a JOIN big b ON true JOIN big c ON a.x + b.x + c.x < 0;\n";

/// A child whose stdout and stderr are collected as they come.
struct Running {
    child: Child,
    stdin: ChildStdin,
    /// stdout and stderr together, as they came.
    out: Arc<Mutex<String>>,
    /// stderr alone: the order of bytes across two pipes is not defined, within one it is.
    err: Arc<Mutex<String>>,
}

fn collect(mut pipe: impl Read + Send + 'static, into: Vec<Arc<Mutex<String>>>) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buffer) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buffer[..n]);
            for target in &into {
                target.lock().unwrap().push_str(&text);
            }
        }
    });
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pgplay starts");
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), vec![out.clone()]);
        collect(child.stderr.take().unwrap(), vec![out.clone(), err.clone()]);
        let stdin = child.stdin.take().unwrap();
        Running {
            child,
            stdin,
            out,
            err,
        }
    }

    fn send(&mut self, text: &str) {
        self.stdin.write_all(text.as_bytes()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Waits until the output shows `text` `times` times, at most a minute.
    fn wait_for(&self, text: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.output().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the exit, at most a minute (then kills it and fails).
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the collectors take the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("pgplay did not exit:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

const CANCELED: &str = "ERROR:  canceling statement due to user request\n";

#[test]
fn ctrl_c_cancels_a_script_statement_and_stops_the_script_as_psql_does() {
    let mut pgplay = Running::start(Command::new(env!("CARGO_BIN_EXE_pgplay")));
    pgplay.send(&setup());
    pgplay.send(LONG_STATEMENT);
    pgplay.send("SELECT 42;\n");
    pgplay.wait_for("INSERT 0 10000", 1);
    std::thread::sleep(Duration::from_millis(300));
    let pid = pgplay.child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let status = pgplay.wait_exit();
    let out = pgplay.output();
    assert_eq!(status.code(), Some(3), "{out}");
    assert!(
        pgplay.err.lock().unwrap().contains("Cancel request sent\n"),
        "{out}"
    );
    // The cancelled statement's error is the last thing said: `SELECT 42` never ran.
    assert!(
        out.ends_with(CANCELED) || out.ends_with(&format!("{CANCELED}Cancel request sent\n")),
        "{out}"
    );
    assert!(!out.contains("42\n"), "{out}");
}

#[test]
fn at_a_terminal_ctrl_c_cancels_the_statement_or_clears_the_line_and_pgplay_goes_on() {
    // `script` gives pgplay a terminal; a Ctrl+C typed there is the terminal's SIGINT.
    let bin = env!("CARGO_BIN_EXE_pgplay");
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command to give pgplay a terminal");
        return;
    }
    // `script` runs its command through `$SHELL -c`; `exec` makes pgplay the terminal's
    // foreground process, else a shell such as dash waits in between and dies of the SIGINT.
    let mut command = Command::new("script");
    command.args(["-qfec", &format!("exec '{bin}'"), "/dev/null"]);
    let mut pgplay = Running::start(command);
    pgplay.wait_for("postgres=#", 1);
    pgplay.send(&setup());
    pgplay.wait_for("INSERT 0 10000", 1);
    pgplay.send(LONG_STATEMENT);
    std::thread::sleep(Duration::from_millis(500));
    pgplay.send("\u{3}");
    pgplay.wait_for(CANCELED.trim_end(), 1);
    pgplay.send("SELECT 42 AS answer;\n");
    pgplay.wait_for("(1 row)", 1);
    // At the prompt, Ctrl+C drops the statement typed so far.
    pgplay.send("SELECT\n");
    std::thread::sleep(Duration::from_millis(300));
    pgplay.send("\u{3}");
    std::thread::sleep(Duration::from_millis(300));
    pgplay.send("7;\n");
    pgplay.wait_for("ERROR:  syntax error at or near \"7\"", 1);
    pgplay.send("\\q\n");
    let status = pgplay.wait_exit();
    let out = pgplay.output();
    assert!(status.success(), "{status:?}\n{out}");
    assert!(out.contains("Cancel request sent"), "{out}");
    assert!(out.contains("answer \r\n--------\r\n     42\r\n"), "{out}");
}
