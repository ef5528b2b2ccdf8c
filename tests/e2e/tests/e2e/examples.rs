//! The examples every command shows in `--help`, built-in and plugin alike, run as written
//! against the emulator: an example a user copies must work.
//!
//! Each example runs in `bash` in a sandbox of its own, logged in, with what the examples take
//! for granted already there: a key to delete, `key.txt`, the guide's plugin built, the folders
//! shells read completions from. Placeholders such as `<label>` become values that exist.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use baseten_e2e::{
    BackgroundEmulator, Emulator, Run, Sandbox, build_dir, hello_plugin, programs_installed,
    run_command,
};

/// Every `$ ...` line under `Examples:` in the help of `command` and of its subcommands, with
/// the path of the command that shows it.
fn help_examples(sandbox: &Sandbox, command: &[String], found: &mut Vec<(String, String)>) {
    let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
    args.push("--help");
    let run = sandbox.run(&args);
    run.assert_code(0);
    let mut section = "";
    for line in run.stdout.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        match section {
            "Commands:" => {
                // `  name   About the command`; wrapped about lines are indented further.
                let Some(name) = line
                    .strip_prefix("  ")
                    .filter(|rest| !rest.starts_with(' '))
                    .and_then(|rest| rest.split_whitespace().next())
                else {
                    continue;
                };
                if name != "help" {
                    let mut sub = command.to_vec();
                    sub.push(name.to_owned());
                    help_examples(sandbox, &sub, found);
                }
            }
            "Examples:" => {
                if let Some(example) = line.strip_prefix("  $ ") {
                    found.push((command.join(" "), example.to_owned()));
                }
            }
            _ => {}
        }
    }
}

/// The examples the installed plugins declare, from their manifests.
fn manifest_examples(sandbox: &Sandbox) -> BTreeSet<String> {
    let listed = sandbox.run(&["plugin", "list", "-o", "json"]);
    listed.assert_code(0);
    let mut examples = BTreeSet::new();
    for plugin in listed.json()["plugins"].as_array().into_iter().flatten() {
        let name = plugin["name"].as_str().expect("a plugin has a name");
        let info = sandbox.run(&["plugin", "info", name, "-o", "json"]);
        info.assert_code(0);
        for command in info.json()["commands"].as_array().into_iter().flatten() {
            for example in command["examples"].as_array().into_iter().flatten() {
                examples.insert(example["command"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    examples
}

/// The key the sandbox's examples find to show or delete: its name and prefix.
struct SeededKey {
    name: String,
    prefix: String,
}

/// What a placeholder of an example stands for: a value the emulator holds, so that an example
/// naming an existing thing finds it.
fn placeholder_value(placeholder: &str, key: &SeededKey) -> Option<String> {
    let name = placeholder.to_ascii_lowercase();
    match name.as_str() {
        "label" | "name" => Some(key.name.clone()),
        "prefix" => Some(key.prefix.clone()),
        _ => {
            // `<id>`, `<id-1>`, `<model-id>`: the emulator takes any model ID.
            let number = name.rsplit('-').next().filter(|n| n.parse::<u32>().is_ok());
            (name == "id" || name.starts_with("id-") || name == "model-id")
                .then(|| format!("model-{}", number.unwrap_or("1")))
        }
    }
}

/// `example` with each `<placeholder>` replaced; `Err` names one the test does not know.
fn fill_placeholders(example: &str, key: &SeededKey) -> Result<String, String> {
    let mut filled = String::new();
    let mut rest = example;
    while let Some(start) = rest.find('<') {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let length = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(after.len());
        if length > 0 && after[length..].starts_with('>') {
            let placeholder = &after[..length];
            let value = placeholder_value(placeholder, key).ok_or_else(|| {
                format!(
                    "the placeholder `<{placeholder}>` stands for nothing this test knows; \
                     say in `placeholder_value` what it stands for"
                )
            })?;
            filled.push_str(&value);
            rest = &after[length + 1..];
        } else {
            // A redirection or process substitution: the shell's.
            filled.push('<');
            rest = after;
        }
    }
    filled.push_str(rest);
    Ok(filled)
}

/// A sandbox logged in to `emulator` as profile `work` (the current one) and `ci`, with the
/// files and folders the examples expect, and `baseten` on `PATH`.
fn prepared_sandbox(emulator: &BackgroundEmulator, example: &str) -> Sandbox {
    let mut sandbox = Sandbox::new();
    sandbox.set("BASETEN_MANAGEMENT_API_URL_OVERRIDE", emulator.url());
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(build_dir()).chain(std::env::split_paths(&inherited)))
            .expect("PATH folders hold no separator");
    sandbox.set("PATH", path);
    publish_hello_index(&mut sandbox);
    let key = format!("{}\n", emulator.api_key());
    sandbox
        .run_with_stdin(
            &["auth", "login", "--with-api-key", "--profile", "ci"],
            &key,
        )
        .assert_code(0);
    sandbox
        .run_with_stdin(
            &["auth", "login", "--with-api-key", "--profile", "work"],
            &key,
        )
        .assert_code(0);

    let home = sandbox.home().to_path_buf();
    std::fs::write(home.join("key.txt"), &key).expect("writes key.txt");
    for folder in [".zfunc", ".config/fish/completions"] {
        std::fs::create_dir_all(home.join(folder)).expect("creates a shell's folder");
    }
    // `baseten plugin install target/release/libbaseten_plugin_hello.so`, run where the guide's
    // plugin was built.
    if let Some(library) = example
        .split_whitespace()
        .find(|word| word.contains("libbaseten_plugin_hello"))
    {
        let destination = home.join(library);
        std::fs::create_dir_all(destination.parent().unwrap_or(Path::new(".")))
            .expect("creates the build folder");
        std::fs::copy(hello_plugin(), destination).expect("copies the guide's plugin");
    }
    sandbox
}

/// A plugin index in the sandbox listing the guide's plugin (`hello` 0.1.0, for this platform,
/// by its absolute `file:` URL), named by `BASETEN_PLUGIN_INDEX`: what `plugin install hello`,
/// `plugin search` and `plugin upgrade` read.
fn publish_hello_index(sandbox: &mut Sandbox) {
    static SHA256: OnceLock<String> = OnceLock::new();
    let library = hello_plugin();
    let sha256 = SHA256.get_or_init(|| {
        use sha2::Digest;
        let bytes = std::fs::read(&library).expect("reads the guide's plugin");
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    });
    let index = serde_json::json!({"plugins": [{"name": "hello", "description": "Say hello",
        "versions": [{"version": "0.1.0", "plugin_api": "1.1", "artifacts": [{
            "target": baseten_e2e::host_target(),
            "url": format!("file://{}", library.display()),
            "sha256": sha256}]}]}]});
    let index_file = sandbox.home().join("plugin-index.json");
    std::fs::write(&index_file, index.to_string()).expect("writes the index");
    sandbox.set("BASETEN_PLUGIN_INDEX", index_file.as_os_str());
}

/// Runs `example` in `bash` in `sandbox`, with the API key on stdin for an example that logs in
/// at a terminal.
fn run_example(sandbox: &Sandbox, example: &str, stdin: &str) -> Run {
    let bash = which("bash");
    let mut command = sandbox.command(&bash);
    // zsh's `fpath` counts from 1 and bash's arrays from 0: the same folder at both places is
    // the first entry of `fpath` in either.
    command.arg("-c").arg(format!(
        "set -o pipefail\nfpath=(\"$HOME/.zfunc\" \"$HOME/.zfunc\")\n{example}"
    ));
    run_command(command, stdin)
}

fn which(program: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|folder| folder.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not on PATH"))
}

#[test]
fn every_example_in_help_runs_as_written_against_the_emulator() {
    if !programs_installed(&["bash"], "that the examples in help run") {
        return;
    }
    let emulator = emulator_with_a_key();
    let listing = prepared_sandbox(&emulator, "");
    let mut examples = Vec::new();
    help_examples(&listing, &[], &mut examples);

    // Help shows each example a plugin declares, whole: none lost or cut by wrapping.
    let shown: BTreeSet<String> = examples.iter().map(|(_, e)| e.clone()).collect();
    let declared = manifest_examples(&listing);
    assert!(!declared.is_empty(), "the plugins declare no examples");
    let missing: Vec<_> = declared.difference(&shown).collect();
    assert!(
        missing.is_empty(),
        "declared but not shown whole in --help: {missing:#?}"
    );
    assert!(
        examples
            .iter()
            .any(|(_, example)| !declared.contains(example)),
        "no built-in command shows an example: {examples:#?}"
    );

    let mut failures = Vec::new();
    for (command, example) in &examples {
        let emulator = emulator_with_a_key();
        let key = seeded_key(&emulator);
        let filled = match fill_placeholders(example, &key) {
            Ok(filled) => filled,
            Err(why) => {
                failures.push(format!("`{example}` (`baseten {command} --help`): {why}"));
                continue;
            }
        };
        let sandbox = prepared_sandbox(&emulator, &filled);
        let run = run_example(&sandbox, &filled, &format!("{}\n", emulator.api_key()));
        let failed_line = run.stderr.lines().find(|line| line.starts_with("error:"));
        if run.code != 0 || failed_line.is_some() {
            failures.push(format!(
                "`{example}` (`baseten {command} --help`), run as `{filled}`: exit {}\nstdout:\n{}\
                 stderr:\n{}",
                run.code, run.stdout, run.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "examples that do not run as written:\n\n{}",
        failures.join("\n\n")
    );
}

/// An emulator holding one key besides the bootstrap one, approving every browser login at once
/// (`auth login --web`), polled every second.
fn emulator_with_a_key() -> BackgroundEmulator {
    Emulator::builder()
        .seed_keys(1)
        .auto_approve(true)
        .device_interval(1)
        .start_in_background()
        .expect("the emulator starts")
}

fn seeded_key(emulator: &BackgroundEmulator) -> SeededKey {
    let keys = emulator.keys();
    let key = keys
        .iter()
        .find(|key| key["name"] == "seed-00001")
        .expect("the emulator seeded a key");
    let text = |field: &str| key[field].as_str().map(str::to_owned);
    SeededKey {
        name: text("name").unwrap_or_default(),
        prefix: text("prefix").unwrap_or_default(),
    }
}

#[test]
fn placeholders_become_values_and_redirections_stay() {
    let key = SeededKey {
        name: "seed-00001".to_owned(),
        prefix: "abcd1234".to_owned(),
    };
    assert_eq!(
        fill_placeholders("baseten x --name <label> --model-id <id-2> < key.txt", &key),
        Ok("baseten x --name seed-00001 --model-id model-2 < key.txt".to_owned())
    );
    assert_eq!(
        fill_placeholders("source <(baseten completion bash)", &key),
        Ok("source <(baseten completion bash)".to_owned())
    );
    assert!(fill_placeholders("baseten x --team <team>", &key).is_err());
}
