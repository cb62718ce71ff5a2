//! The `sv status` parsers in the wild still read our lines (docs/readiness.md §4), run
//! for real against a tree under our runsv: one service ready through `notify-socket`
//! (its line carries `, ready Ns, status: ...` and a log service), one plain, one down.
//!
//! - Ansible's `community.general.runit`, through `ansible localhost -m ...` with our sv
//!   first in PATH: it cuts the line at the first `; `, takes `(pid N)`, the first ` Ns`
//!   and `^run:`/`^down:`.
//! - Salt's `runit` module, loaded by Salt's own loader (`salt.loader.minion_mods`, as
//!   `salt-call --local` does) with its `cmd` module: `status` looks for a leading `run: `.
//!
//! Both come from PyPI through scripts/fetch-daemons (ref/parsers, git-ignored; scripts/test
//! runs it). Without them each test says SKIP.
use crate::common::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// ref/parsers when scripts/fetch-daemons installed the parsers, else `None` after a SKIP
/// line.
fn parsers(test: &str) -> Option<PathBuf> {
    let p = repo().join("ref/parsers");
    if p.join(".complete").exists() {
        Some(p)
    } else {
        skip(
            test,
            "Ansible and Salt not installed (scripts/fetch-daemons could not reach PyPI)",
        );
        None
    }
}

/// PATH with our binaries' directory (sv) first.
fn path_with_our_sv(extra: &Path) -> String {
    format!(
        "{}:{}:{}",
        bin("sv").parent().unwrap().display(),
        extra.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The tree: `ready` (notify-socket: STATUS=serving then READY=1, half a second after
/// its start, with a log service), `plain`, and `down` (a `down` file). Returns the
/// runsv guards; `ready` is ready and `plain` runs when it returns.
fn tree(root: &Path) -> Vec<Proc> {
    let ready = service(
        root,
        "ready",
        // ./run itself sends (it execs Python, which execs sleep), so the sender is
        // never gone before runsv reads the datagram.
        &format!(
            "sleep 0.5; exec {} -c 'import os,socket; s=socket.socket(socket.AF_UNIX,\
             socket.SOCK_DGRAM); s.connect(os.environ[\"NOTIFY_SOCKET\"]); \
             s.send(b\"STATUS=serving\\nREADY=1\\n\"); os.execvp(\"sleep\", [\"sleep\", \"1000\"])'",
            python3()
        ),
    );
    std::fs::write(ready.join("notify-socket"), "").unwrap();
    script(ready.join("log/run"), "exec cat > /dev/null");
    let plain = service(root, "plain", "exec sleep 1000");
    let down = service(root, "down", "exec sleep 1000");
    std::fs::write(down.join("down"), "").unwrap();
    let procs: Vec<Proc> = [&ready, &plain, &down]
        .iter()
        .map(|s| start_runsv(&bin("runsv"), s))
        .collect();
    let mut c = ours("sv");
    c.args(["-w", "10", "start"]).arg(&ready).arg(&plain);
    let o = run_cmd(c, 30.0);
    assert!(o.status.success(), "{}", stdout(&o));
    let mut c = ours("sv");
    c.arg("status").arg(&ready);
    let line = stdout(&run_cmd(c, 10.0));
    assert!(
        line.contains(", ready ") && line.contains(", status: serving; run: log: (pid "),
        "the ready line: {line}"
    );
    procs
}

/// Takes the runsvs down: `dx` to each, then the guards kill their groups.
fn teardown(root: &Path, procs: Vec<Proc>) {
    for name in ["ready", "plain", "down"] {
        if runsv_alive(&root.join(name)) {
            control(&root.join(name), "dx");
        }
    }
    for mut p in procs {
        p.wait_exit(10.0);
    }
}

/// Flattens the results that `ansible-playbook -v` prints, one `ok: [localhost] => {...}`
/// line per task, into `N.key` -> value (N counts tasks from 0; `changed`, `failed`, and
/// `sv.*` for the module's report, as JSON), with Python's json.
fn ansible_results(python: &Path, out: &str) -> HashMap<String, String> {
    let mut c = Command::new(python);
    c.args([
        "-c",
        "import json,re,sys\n\
         n=0\n\
         for l in sys.stdin:\n\
         \x20   m=re.match(r'^(ok|changed|failed|fatal): \\[localhost\\].* => (\\{.*)$', l)\n\
         \x20   if not m: continue\n\
         \x20   j=json.loads(m.group(2))\n\
         \x20   print('%d.changed=%s' % (n, j.get('changed')))\n\
         \x20   print('%d.failed=%s' % (n, j.get('failed', False)))\n\
         \x20   for k,v in sorted(j.get('sv', {}).items()): print('%d.sv.%s=%s' % (n, k, json.dumps(v)))\n\
         \x20   n+=1\n",
    ]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(out.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "no JSON results in: {out}");
    stdout(&o)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Ansible's community.general.runit, run by `ansible-playbook` (connection local, the
/// venv's Python, our sv first in PATH) on each service: state, pid and duration as the
/// module parses them, and its actions (start, stop) through our sv.
#[test]
fn ansible_runit_module_reads_our_lines() {
    let test = "ansible_runit_module_reads_our_lines";
    let Some(parsers) = parsers(test) else {
        return;
    };
    let (venv, colls) = (parsers.join("ansible"), parsers.join("collections"));
    let t = tmp();
    let root = t.path().join("service");
    let procs = tree(&root);
    let pid_of = |name: &str| status(&root.join(name)).unwrap().0;
    let (ready_pid, plain_pid) = (pid_of("ready"), pid_of("plain"));
    let dir = root.display();
    let tasks = [
        format!("{{name: ready, service_dir: {dir}, state: started}}"),
        format!("{{name: plain, service_dir: {dir}, state: started}}"),
        format!("{{name: down, service_dir: {dir}}}"),
        format!("{{name: down, service_dir: {dir}, state: started}}"),
        format!("{{name: ready, service_dir: {dir}, state: stopped}}"),
    ];
    let mut play =
        String::from("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n");
    for task in &tasks {
        play.push_str(&format!("    - community.general.runit: {task}\n"));
    }
    std::fs::write(t.path().join("play.yml"), play).unwrap();
    let home = t.path().join("ansible-home");
    let mut c = Command::new(venv.join("bin/ansible-playbook"));
    c.args(["-v", "-i", "localhost,", "play.yml"])
        .current_dir(t.path())
        .env("PATH", path_with_our_sv(&venv.join("bin")))
        .env("ANSIBLE_COLLECTIONS_PATH", &colls)
        .env("ANSIBLE_PYTHON_INTERPRETER", venv.join("bin/python"))
        .env("ANSIBLE_HOME", &home)
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_REMOTE_TMP", home.join("tmp"))
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env("ANSIBLE_NOCOLOR", "1");
    let o = run_cmd(c, 300.0);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let r = ansible_results(&venv.join("bin/python"), &out);
    let get = |k: &str| r.get(k).map(String::as_str).unwrap_or("(missing)");
    let ctx = || format!("{out}\n{r:?}");
    let is_secs = |v: &str| {
        let n = v.trim_matches('"');
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    };
    for i in 0..tasks.len() {
        assert_eq!(get(&format!("{i}.failed")), "False", "task {i}: {}", ctx());
    }
    // ready and plain: already started, so unchanged; pid and duration parsed.
    for (i, pid) in [(0, ready_pid), (1, plain_pid)] {
        assert_eq!(get(&format!("{i}.changed")), "False", "{}", ctx());
        assert_eq!(get(&format!("{i}.sv.state")), "\"started\"", "{}", ctx());
        assert_eq!(
            get(&format!("{i}.sv.pid")),
            format!("\"{pid}\""),
            "{}",
            ctx()
        );
        assert!(is_secs(get(&format!("{i}.sv.duration"))), "{}", ctx());
    }
    assert!(
        get("0.sv.full_state").contains(", ready ")
            && get("0.sv.full_state").contains(", status: serving; run: log: (pid "),
        "the ready line reached the module: {}",
        ctx()
    );
    assert!(!get("1.sv.full_state").contains("ready"), "{}", ctx());
    // down: stopped, no pid, a duration.
    assert_eq!(get("2.changed"), "False", "{}", ctx());
    assert_eq!(get("2.sv.state"), "\"stopped\"", "{}", ctx());
    assert_eq!(get("2.sv.pid"), "null", "{}", ctx());
    assert!(is_secs(get("2.sv.duration")), "{}", ctx());
    // The module acts through our sv: it starts down and stops ready (its `sv start`
    // does not wait, so its own report may lag; runsv's record decides).
    assert_eq!(get("3.changed"), "True", "{}", ctx());
    assert_eq!(get("4.changed"), "True", "{}", ctx());
    wait_up(&root.join("down"));
    wait_down(&root.join("ready"));
    teardown(&root, procs);
}

/// Salt's runit module, loaded by Salt's loader: `status` is true for the ready and the
/// plain service, false for the down one; `show` says the same, and `get_enabled` lists
/// all three. SERVICE_DIR is the module's own probe of /service, /var/service and
/// /etc/service at import time: it is pointed at the test's tree instead.
#[test]
fn salt_runit_module_reads_our_lines() {
    let test = "salt_runit_module_reads_our_lines";
    let Some(parsers) = parsers(test) else {
        return;
    };
    let venv = parsers.join("salt");
    let t = tmp();
    let root = t.path().join("service");
    let procs = tree(&root);
    let cache = t.path().join("salt-cache");
    let mut c = Command::new(venv.join("bin/python"));
    c.args([
        "-c",
        "import sys, salt.config, salt.loader\n\
         opts = salt.config.minion_config(None)\n\
         opts['file_client'] = 'local'\n\
         opts['cachedir'] = sys.argv[2]\n\
         mods = salt.loader.minion_mods(opts)\n\
         mods['runit.status'].func.__globals__['SERVICE_DIR'] = sys.argv[1]\n\
         for n in ('ready', 'plain', 'down'):\n\
         \x20   print('status.%s=%s' % (n, mods['runit.status'](n)))\n\
         \x20   print('show.%s.running=%s' % (n, mods['runit.show'](n)['running']))\n\
         print('enabled=%s' % ','.join(mods['runit.get_enabled']()))\n",
    ])
    .arg(&root)
    .arg(&cache)
    .env("PATH", path_with_our_sv(&venv.join("bin")));
    let o = run_cmd(c, 120.0);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let want = "status.ready=True\nshow.ready.running=True\n\
                status.plain=True\nshow.plain.running=True\n\
                status.down=False\nshow.down.running=False\n\
                enabled=down,plain,ready\n";
    assert_eq!(out, want, "{}", stderr(&o));
    teardown(&root, procs);
}
