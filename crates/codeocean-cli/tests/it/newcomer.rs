//! What a newcomer meets: closed pipes, one line per error, resumable runs, JSON shapes,
//! destinations, help.

use crate::{OK_CAPSULE, Out, finished_run, sim};

/// Runs the binary with stdout a pipe whose read end is already closed.
fn run_into_closed_pipe(sim: Option<&codeocean_sim::Simulator>, args: &[&str]) -> Out {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = crate::cmd(sim)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    out.into()
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    for args in [
        &["results", "ls", &id, "-r"][..],
        &["--json", "results", "ls", &id, "-r"],
        &["results", "ls", &id],
        &["--json", "computation", "get", &id],
        &["capsule", "search"],
        &["--json", "data-asset", "search"],
        &["completions", "zsh"],
        &["schema", "batch-line"],
        &["sim", "--print-builtin"],
    ] {
        let out = run_into_closed_pipe(Some(&sim), args);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (0, ""),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn sim_prints_its_catalogue_without_a_token_and_its_help_without_global_options() {
    let out = crate::run(None, &["sim", "--print-builtin"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("capsules:\n"), "{out:?}");
    let out = crate::run(None, &["sim", "--help"]);
    assert_eq!(out.code, 0, "{out:?}");
    expect_test::expect_file!["golden/help-sim.txt"].assert_eq(&out.stdout);
    for global in ["--domain", "--json", "--quiet", "--poll-interval"] {
        assert!(!out.stdout.contains(global), "{global}: {}", out.stdout);
    }
    let out = crate::run(None, &["sim"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: no token: pass --token or set CODEOCEAN_SIM_TOKEN or CODEOCEAN_TOKEN\n"
        )
    );
}

#[test]
fn sim_serves_with_the_token_of_codeocean_token() {
    use std::io::BufRead as _;
    let mut child = crate::cmd(None)
        .env("CODEOCEAN_TOKEN", "from-env")
        .args(["sim", "--time-scale", "50"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut hint = String::new();
    stderr.read_line(&mut hint).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        hint.starts_with("export CODEOCEAN_DOMAIN=http://127.0.0.1:")
            && hint.trim_end().ends_with(" CODEOCEAN_TOKEN=from-env"),
        "{hint}"
    );
}

/// How many runs were started on the simulator.
fn runs_started(sim: &codeocean_sim::Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/computations"))
        .count()
}

#[test]
fn a_timed_out_run_says_how_to_resume_and_the_resume_waits_and_downloads() {
    let sim = crate::sim_with(|c| c.time_scale = 1.0);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("my results");
    let to_str = to.to_str().unwrap();
    let out = crate::run(
        Some(&sim),
        &[
            "-q",
            "--json",
            "run",
            "--capsule",
            OK_CAPSULE,
            "--wait",
            "--timeout",
            "1s",
            "--download",
            to_str,
        ],
    );
    assert_eq!(out.code, 4, "{out:?}");
    let v = crate::json(&out);
    let id = v["id"].as_str().unwrap();
    assert_eq!(v["outcome"], "timeout", "{v}");
    // Under CODEOCEAN_TEST_TLS `cmd` passes --ca-cert, which the resume command keeps.
    let trust = sim
        .ca_certificate_path()
        .map(|ca| format!(" --ca-cert {}", ca.display()))
        .unwrap_or_default();
    let resume = format!(
        "codeocean --domain {}{trust} --json computation wait {id} --download '{to_str}'",
        sim.origin()
    );
    assert_eq!(v["resume"], resume.as_str(), "{v}");
    // With -q too: the full id, that it goes on, and the command.
    assert_eq!(
        out.stderr,
        format!(
            "error: gave up waiting after 1s: computation {id} goes on in Code Ocean; to wait for \
             it again and download its results:\n  {resume}\n"
        )
    );

    // The resume command, as printed (the token from the environment), after the run ended.
    sim.advance(std::time::Duration::from_secs(60));
    let words: Vec<String> = v["resume"]
        .as_str()
        .unwrap()
        .replace(&format!("'{to_str}'"), "DIR")
        .split(' ')
        .skip(1)
        .map(|w| {
            if w == "DIR" {
                to_str.to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let out: Out = crate::cmd(None)
        .env("CODEOCEAN_TOKEN", crate::TOKEN)
        .args(&words)
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{out:?}");
    let v = crate::json(&out);
    assert_eq!(
        (v["id"].as_str(), &v["outcome"]),
        (Some(id), &"succeeded".into())
    );
    assert_eq!(v["download"]["downloaded"], 7, "{v}");
    assert!(to.join("tables/per-sample/s2.csv").is_file());
    assert_eq!(runs_started(&sim), 1);
}

#[test]
fn an_interrupted_run_prints_its_id_outcome_and_resume_command() {
    let sim = crate::sim_with(|c| c.time_scale = 1.0);
    let child = crate::cmd(Some(&sim))
        .args([
            "--json",
            "run",
            "--capsule",
            OK_CAPSULE,
            "--wait",
            "--download",
            "out",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::wait_for(std::time::Duration::from_secs(20), "never waited", || {
        sim.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.contains("/computations/"))
    });
    crate::interrupt(&child);
    let out: Out = child.wait_with_output().unwrap().into();
    assert_eq!(out.code, 130, "{out:?}");
    let v = crate::json(&out);
    let id = v["id"].as_str().unwrap();
    assert_eq!(v["outcome"], "interrupted", "{v}");
    let trust = sim
        .ca_certificate_path()
        .map(|ca| format!(" --ca-cert {}", ca.display()))
        .unwrap_or_default();
    let resume = format!(
        "codeocean --domain {}{trust} --json computation wait {id} --download out",
        sim.origin()
    );
    assert_eq!(v["resume"], resume.as_str());
    assert!(
        out.stderr.ends_with(&format!(
            "error: interrupted: computation {id} goes on in Code Ocean; to wait for it again \
             and download its results:\n  {resume}\n"
        )),
        "{out:?}"
    );
    assert_eq!(runs_started(&sim), 1);
}

#[test]
fn a_failure_is_said_once_also_with_quiet() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let asset = crate::ASSET;
    let missing = format!(
        "listing folder `no/such` of the files of data asset {asset}: HTTP 404: folder \
         `no/such` not found in data asset {asset}"
    );
    for quiet in [&[][..], &["-q"]] {
        let out = crate::run(
            Some(&sim),
            &[
                quiet,
                &["data-asset", "download", asset, to, "--path", "no/such"],
            ]
            .concat(),
        );
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(
            out.stderr,
            format!(
                "failed: {missing}\nerror: downloading the files of data asset {asset}: 1 file \
                 or folder failed (0 complete); not found; check the path (`results ls`, \
                 `data-asset ls`)\n"
            ),
            "{quiet:?}"
        );
        let out = crate::run(
            Some(&sim),
            &[quiet, &["data-asset", "ls", asset, "no/such", "-r"]].concat(),
        );
        assert_eq!(
            (out.code, out.stderr, out.stdout),
            (1, format!("error: {missing}\n"), String::new())
        );
    }
}

#[test]
fn log_lines_have_a_level_and_no_timestamp_or_colour() {
    let faulty = || crate::sim_with(|c| c.faults.apply("capsules:503=0.5").unwrap());
    let sim = faulty();
    let mut retried = false;
    for _ in 0..6 {
        let out = crate::cmd(Some(&sim))
            .env("NO_COLOR", "1")
            .args(["-vv", "capsule", "get", OK_CAPSULE])
            .output()
            .unwrap();
        for line in Out::from(out).stderr.lines() {
            retried |= line.contains("retr");
            assert!(
                [" WARN ", " INFO ", "DEBUG "]
                    .iter()
                    .any(|level| line.starts_with(level)),
                "{line}"
            );
            assert!(!line.contains('\u{1b}'), "{line}");
        }
        if retried {
            break;
        }
    }
    assert!(retried, "no retry to look at: {:?}", sim.stats());
    // -q: only errors.
    let sim = faulty();
    for _ in 0..8 {
        let quiet = crate::run(Some(&sim), &["-q", "capsule", "get", OK_CAPSULE]);
        assert_eq!(quiet.stderr, "", "{quiet:?}");
        if sim.stats().statuses.contains_key(&503) {
            break;
        }
    }
    assert!(sim.stats().statuses.contains_key(&503), "{:?}", sim.stats());
}

/// Every line of stdout as a JSON object.
fn json_lines(out: &Out) -> Vec<serde_json::Map<String, serde_json::Value>> {
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
        .lines()
        .map(|l| match serde_json::from_str(l) {
            Ok(serde_json::Value::Object(o)) => o,
            other => panic!("{l}: {other:?}"),
        })
        .collect()
}

/// The README's rule: one object → that object (`jq -r .id`); a command that did more adds
/// fields to it; lists and streams → JSON Lines of the same objects.
#[test]
fn json_shapes_follow_one_rule() {
    let sim = sim();
    let run = |args: &[&str]| crate::run(Some(&sim), &[&["--json"][..], args].concat());
    let started = crate::json(&run(&["run", "--capsule", OK_CAPSULE]));
    let id = started["id"].as_str().unwrap().to_owned();
    assert!(started.get("computation").is_none() && started["state"].is_string());
    let waited = crate::json(&run(&["computation", "wait", &id]));
    let got = crate::json(&run(&["computation", "get", &id]));
    assert_eq!(
        (&waited["id"], &waited["outcome"]),
        (&got["id"], &"succeeded".into())
    );
    // The wait's document is the object plus `outcome`.
    let mut plus = got.as_object().unwrap().clone();
    plus.insert("outcome".into(), "succeeded".into());
    assert_eq!(waited, serde_json::Value::Object(plus));
    let ran = crate::json(&run(&["run", "--capsule", OK_CAPSULE, "--wait"]));
    assert_eq!(ran["outcome"], "succeeded");
    assert!(ran["id"].is_string() && ran["id"] != id.as_str());

    // Lists: JSON Lines, with or without --recursive, of the same entries.
    let top = json_lines(&run(&["results", "ls", &id]));
    let all = json_lines(&run(&["results", "ls", &id, "-r"]));
    assert!(top.len() > 1 && all.len() > top.len(), "{top:?}");
    assert!(top.iter().all(|e| all.contains(e)), "{top:?} {all:?}");
    let computations = json_lines(&run(&["capsule", "computations", OK_CAPSULE]));
    assert!(computations.iter().any(|c| c["id"] == id.as_str()));
    let listed = computations
        .iter()
        .find(|c| c["id"] == id.as_str())
        .unwrap();
    assert_eq!(listed["name"], got["name"]);
    for search in [&["capsule", "search"][..], &["data-asset", "search"]] {
        let found = json_lines(&run(search));
        assert!(!found.is_empty() && found.iter().all(|o| o["id"].is_string()));
    }

    // Data assets: create and get print the asset itself.
    let created = crate::json(&run(&[
        "data-asset",
        "create",
        "--from-computation",
        &id,
        "--name",
        "R",
        "--mount",
        "r",
    ]));
    let asset = crate::json(&run(&[
        "data-asset",
        "get",
        created["id"].as_str().unwrap(),
    ]));
    assert_eq!(created["id"], asset["id"]);
    assert_eq!(asset["name"], "R");
}

#[test]
fn downloads_take_the_destination_as_typed_or_say_what_to_type() {
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("out");
    let d = d.to_str().unwrap();
    // `download ID DIR`: everything into DIR.
    let out = crate::run(Some(&sim), &["--json", "results", "download", &id, d]);
    assert_eq!(crate::json(&out)["downloaded"], 7, "{out:?}");
    assert!(dir.path().join("out/tables/per-sample/s2.csv").is_file());
    // `--path` for a part, `--to` as a flag.
    let part = dir.path().join("part");
    let part = part.to_str().unwrap();
    let out = crate::run(
        Some(&sim),
        &[
            "--json", "results", "download", &id, "--to", part, "--path", "tables",
        ],
    );
    assert_eq!(crate::json(&out)["downloaded"], 3, "{out:?}");
    assert!(dir.path().join("part/tables/counts.csv").is_file());
    assert!(!dir.path().join("part/output.txt").exists());
    // The old form, a path in the results then --to: exit 2, and what to type.
    let out = crate::run(
        Some(&sim),
        &["results", "download", &id, "tables", "--to", d],
    );
    assert_eq!(
        (out.code, out.stderr),
        (
            2,
            format!(
                "error: two destinations, `tables` and --to {d}; to download only `tables`: \
                 codeocean results download {id} {d} --path tables\n"
            )
        )
    );
    let file = dir.path().join("out/output.txt");
    let file = file.to_str().unwrap();
    let out = crate::run(
        Some(&sim),
        &[
            "data-asset",
            "download",
            crate::ASSET,
            file,
            "--path",
            "README.md",
        ],
    );
    assert_eq!(
        (out.code, out.stderr),
        (
            2,
            format!(
                "error: {file} is a file: the destination is a folder (created if missing) and \
                 the files keep their names under it, e.g. codeocean data-asset download {} DIR \
                 --path README.md\n",
                crate::ASSET
            )
        )
    );
    let out = crate::run(Some(&sim), &["data-asset", "download", crate::ASSET]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: no destination: codeocean data-asset download ")
    );
}

/// Every main command's help has examples; `run --help` says nothing of batches.
#[test]
fn main_commands_show_examples() {
    for args in [
        &["run"][..],
        &["computation", "wait"],
        &["results", "download"],
        &["data-asset", "create"],
        &["data-asset", "download"],
        &["batch"],
        &["capsule", "search"],
        &["pipeline", "search"],
        &["data-asset", "search"],
    ] {
        let out = crate::run(None, &[args, &["--help"]].concat());
        assert_eq!(out.code, 0, "{out:?}");
        let examples = out.stdout.split("Examples").nth(1).unwrap_or_default();
        assert!(
            examples.contains(&format!("codeocean {}", args.join(" ")))
                || examples.contains(&format!("codeocean --json {}", args.join(" "))),
            "{args:?}: {}",
            out.stdout
        );
    }
    let run = crate::run(None, &["run", "--help"]).stdout;
    assert!(
        !run.contains("interrupted batch") && !run.contains("LINE-NAME"),
        "{run}"
    );
}

#[test]
fn messages_count_in_words_and_name_flags() {
    // One file: "1 file".
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    let dir = tempfile::tempdir().unwrap();
    let out = crate::run(
        Some(&sim),
        &[
            "results",
            "download",
            &id,
            dir.path().to_str().unwrap(),
            "--path",
            "output.txt",
        ],
    );
    assert!(
        out.stdout
            .starts_with("downloaded 1 file (0 already there, 0 failed)"),
        "{out:?}"
    );
    // The page cap names the flag.
    let sim = crate::sim_with(|c| c.faults.apply("search:lie_has_more=1").unwrap());
    let out = crate::run(
        Some(&sim),
        &["capsule", "search", "--page-size", "1", "--max-pages", "2"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("narrow the search or raise --max-pages (now 2)\n"),
        "{out:?}"
    );
    // A zero limit reads as seconds, not "0.0ns".
    let sim = crate::sim_with(|c| c.time_scale = 1.0);
    let id = finished_run_after(&sim);
    let created = crate::run(
        Some(&sim),
        &[
            "--json",
            "data-asset",
            "create",
            "--from-computation",
            &id,
            "--name",
            "R",
            "--mount",
            "r",
        ],
    );
    let asset = crate::json(&created)["id"].as_str().unwrap().to_owned();
    let out = crate::run(
        Some(&sim),
        &["data-asset", "wait", &asset, "--timeout", "0s"],
    );
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("gave up after 0.0s;"), "{out:?}");
}

/// A finished run on a real-time simulator (its clock moved past the run).
fn finished_run_after(sim: &codeocean_sim::Simulator) -> String {
    let out = crate::run(Some(sim), &["--json", "run", "--capsule", OK_CAPSULE]);
    let id = crate::json(&out)["id"].as_str().unwrap().to_owned();
    sim.advance(std::time::Duration::from_secs(60));
    id
}

/// The README's concrete `codeocean …` commands (inline code and shell blocks; placeholders
/// `ID`, `ASSET_ID` filled in, the ones with `…` left out).
fn readme_commands() -> Vec<String> {
    let readme = include_str!("../../../../README.md");
    let mut commands = Vec::new();
    let (mut in_block, mut in_sh) = (false, false);
    let mut pending = String::new();
    // Text outside code blocks, lines joined, so inline code that wraps is whole.
    let mut prose = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            in_sh = in_block && line == "```sh";
            continue;
        }
        if !in_block {
            prose.push_str(line.trim());
            prose.push(' ');
        } else if in_sh {
            let line = line.split(" #").next().unwrap().trim();
            if line.starts_with("codeocean ") || !pending.is_empty() {
                pending.push_str(line.trim_end_matches('\\').trim());
                pending.push(' ');
                if !line.ends_with('\\') {
                    commands.push(pending.trim().to_owned());
                    pending.clear();
                }
            }
        }
    }
    for (i, part) in prose.split('`').enumerate() {
        if i % 2 == 1 && (part.starts_with("codeocean ") || part == "codeocean demo") {
            commands.push(part.to_owned());
        }
    }
    commands.retain(|c| !c.contains('…') && !c.contains('['));
    commands.sort();
    commands.dedup();
    commands
}

#[test]
fn the_readme_commands_run_as_shown() {
    let commands = readme_commands();
    assert!(commands.len() >= 5, "{commands:?}");
    let sim = sim();
    let id = finished_run(&sim, OK_CAPSULE);
    let dir = tempfile::tempdir().unwrap();
    // The private CA of the README's `--ca-cert company-ca.pem` (any CA: the simulator here
    // serves plain HTTP, unless CODEOCEAN_TEST_TLS).
    let company_ca = match sim.ca_certificate_pem() {
        Some(pem) => pem.to_owned(),
        None => codeocean_sim::CertificateAuthority::generate("Company CA").certificate_pem(),
    };
    std::fs::write(dir.path().join("company-ca.pem"), company_ca).unwrap();
    // The README's `monitor.json` for `capture --settings monitor.json`.
    let monitor = include_str!("../../../../README.md")
        .split("This `monitor.json`")
        .nth(1)
        .and_then(|rest| rest.split("```json\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the README's monitor.json");
    std::fs::write(dir.path().join("monitor.json"), monitor).unwrap();
    for command in &commands {
        let command = command
            .replace("ASSET_ID", crate::ASSET)
            .replace("--capsule ID", &format!("--capsule {OK_CAPSULE}"))
            .replace(" ID", &format!(" {id}"));
        // `exec` unless piped, so the child is the binary itself.
        let exec = if command.contains('|') { "" } else { "exec " };
        let script = format!("{exec}{}", command.replacen("codeocean", crate::BIN, 1));
        let mut sh = std::process::Command::new("sh");
        // Over TLS (CODEOCEAN_TEST_TLS) the simulator's CA, as a reader would export it.
        match sim.ca_certificate_path() {
            Some(ca) => sh.env("CODEOCEAN_CA_CERT", ca),
            None => sh.env_remove("CODEOCEAN_CA_CERT"),
        };
        let mut child = sh
            .args(["-c", &script])
            .current_dir(dir.path())
            .env("CODEOCEAN_DOMAIN", sim.origin())
            .env("CODEOCEAN_TOKEN", sim.token())
            .env_remove("CODEOCEAN_HTTP2")
            // `sim --tls` writes its CA under the temporary folder: this one.
            .env("TMPDIR", dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if command.starts_with("codeocean sim") && !command.contains("--print-builtin") {
            // It serves until stopped: its first line is enough.
            use std::io::BufRead as _;
            let mut first = String::new();
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut first)
                .unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            let scheme = if command.contains("--tls") {
                "https"
            } else {
                "http"
            };
            assert!(
                first.starts_with(&format!("listening on {scheme}://")),
                "{command}: {first}"
            );
            continue;
        }
        let out: Out = child.wait_with_output().unwrap().into();
        if command.starts_with("codeocean mcp") && !cfg!(feature = "mcp") {
            // A build without `mcp` (the default) says how to get one that has it.
            assert_eq!(out.code, 2, "{command}: {out:?}");
            assert!(out.stderr.contains("--features mcp"), "{command}: {out:?}");
            continue;
        }
        assert_eq!(out.code, 0, "{command}: {out:?}");
        assert!(!out.stdout.is_empty(), "{command}: {out:?}");
    }
}

#[test]
fn a_run_interrupted_while_downloading_says_only_the_download_is_left() {
    let sim = crate::sim_with(|c| c.faults.apply("storage:latency=5").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let big = "c0ffee00-0000-4000-8000-000000000003";
    let child = crate::cmd(Some(&sim))
        .args(["-q", "run", "--capsule", big, "--download", to])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::wait_for(std::time::Duration::from_secs(30), "no download", || {
        sim.stats().storage_bytes >= 10 * 4096
    });
    crate::interrupt(&child);
    let out: Out = child.wait_with_output().unwrap().into();
    assert_eq!(out.code, 130, "{out:?}");
    let id = sim.requests().iter().find_map(|r| {
        r.path
            .strip_prefix("/api/v1/computations/")
            .map(|rest| rest.split('/').next().unwrap().to_owned())
    });
    let id = id.unwrap();
    let trust = sim
        .ca_certificate_path()
        .map(|ca| format!(" --ca-cert {}", ca.display()))
        .unwrap_or_default();
    assert_eq!(
        out.stderr,
        format!(
            "error: interrupted: computation {id} has finished; to download the rest of its \
             results:\n  codeocean --domain {}{trust} computation wait {id} --download {to}\n",
            sim.origin()
        )
    );
}
