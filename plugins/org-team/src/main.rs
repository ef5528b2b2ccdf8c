//! `org-team` as an executable plugin: the library's definition, served over stdin and stdout.

fn main() -> std::process::ExitCode {
    baseten_plugin_api::serve(baseten_plugin_org_team::plugin())
}
