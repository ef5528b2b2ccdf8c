//! The plugin index: a JSON document listing plugins, their versions and, per version, one
//! artifact per platform with its sha256 (README, "Installing from a URL or a plugin index").
//! This module reads and checks one, and picks what `plugin install NAME[@VERSION]`,
//! `plugin search` and `plugin upgrade` install; fetching it is the caller's.
//!
//! ```json
//! {"plugins": [{"name": "hello", "description": "Say hello", "homepage": "https://example.com",
//!   "versions": [{"version": "0.2.0", "plugin_api": "1.0",
//!     "artifacts": [{"target": "x86_64-unknown-linux-gnu", "url": "hello-0.2.0-linux.tar.gz",
//!                    "sha256": "<64 hex>"}]}]}]}
//! ```

use semver::Version;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::plugins::validate;

/// The Rust target triple this `baseten` was built for, which artifacts are matched against.
pub const HOST_TARGET: &str = env!("BASETEN_TARGET");

/// The `target` of an artifact that runs anywhere (a script plugin).
pub const ANY_TARGET: &str = "any";

/// A whole index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub plugins: Vec<IndexPlugin>,
}

/// One plugin of an index, with every version it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPlugin {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    pub versions: Vec<IndexVersion>,
}

/// One version of a plugin: the plugin API it is built for and its artifacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexVersion {
    pub version: String,
    /// `MAJOR.MINOR` (or `MAJOR.MINOR.PATCH`) of the plugin API the plugin is built for.
    pub plugin_api: String,
    pub artifacts: Vec<Artifact>,
}

/// A file to download: a plugin file, or a `.tar.gz` holding exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// A Rust target triple, or [`ANY_TARGET`].
    pub target: String,
    /// Absolute, or relative to the index's own URL.
    pub url: String,
    /// The file's SHA-256, 64 hexadecimal digits.
    pub sha256: String,
}

/// What to install for a name: the plugin, the version and the artifact for this host.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    pub plugin: &'a IndexPlugin,
    pub version: &'a IndexVersion,
    pub artifact: &'a Artifact,
}

/// `1.0` → 1.0.0; `1.1.0` as it is.
pub fn parse_api_version(text: &str) -> Option<Version> {
    let full = if text.split('.').count() == 2 {
        format!("{text}.0")
    } else {
        text.to_owned()
    };
    Version::parse(&full).ok()
}

/// Whether `text` is 64 hexadecimal digits.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

impl Index {
    /// Reads and checks an index; the error says what is wrong and where, without the index's
    /// name (the caller's to add).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let index: Self = serde_json::from_slice(bytes).map_err(|error| {
            let text = error.to_string();
            if error.is_syntax() || error.is_eof() {
                format!("it is not JSON: {text}")
            } else {
                text
            }
        })?;
        index.check()?;
        Ok(index)
    }

    fn check(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for (position, plugin) in self.plugins.iter().enumerate() {
            let at = format!("plugin `{}`", plugin.name);
            if !crate::commands::plugin::is_valid_name(&plugin.name) {
                return Err(format!(
                    "plugins[{position}]: name `{}` is not lowercase words joined by `-`",
                    plugin.name
                ));
            }
            if !names.insert(plugin.name.as_str()) {
                return Err(format!("{at} is listed twice"));
            }
            let mut versions = std::collections::HashSet::new();
            for version in &plugin.versions {
                let parsed = Version::parse(&version.version).map_err(|_| {
                    format!(
                        "{at}: version `{}` is not a semantic version",
                        version.version
                    )
                })?;
                if !versions.insert(parsed) {
                    return Err(format!("{at}: version {} is listed twice", version.version));
                }
                let at = format!("{at} {}", version.version);
                if parse_api_version(&version.plugin_api).is_none() {
                    return Err(format!(
                        "{at}: plugin_api `{}` is not a version like `1.0`",
                        version.plugin_api
                    ));
                }
                for artifact in &version.artifacts {
                    if artifact.target.is_empty() || artifact.target.contains(char::is_whitespace) {
                        return Err(format!(
                            "{at}: target `{}` is not a target triple or `any`",
                            artifact.target
                        ));
                    }
                    if artifact.url.trim().is_empty() {
                        return Err(format!("{at}: an artifact has an empty `url`"));
                    }
                    if !is_sha256(&artifact.sha256) {
                        return Err(format!(
                            "{at}: sha256 `{}` is not 64 hexadecimal digits",
                            crate::sanitize::cut(&crate::sanitize::printable(&artifact.sha256), 80)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The plugin called `name`.
    pub fn plugin(&self, name: &str) -> Option<&IndexPlugin> {
        self.plugins.iter().find(|plugin| plugin.name == name)
    }

    /// The plugins whose name or description holds `term` (any case), all when `None`.
    pub fn matching<'a>(&'a self, term: Option<&'a str>) -> impl Iterator<Item = &'a IndexPlugin> {
        let term = term.map(str::to_lowercase);
        self.plugins.iter().filter(move |plugin| {
            term.as_deref().is_none_or(|term| {
                plugin.name.to_lowercase().contains(term)
                    || plugin.description.to_lowercase().contains(term)
            })
        })
    }

    /// What `NAME` (`version: None`, the newest installable version) or `NAME@VERSION` installs
    /// on `target`; else why nothing can be.
    pub fn resolve(
        &self,
        name: &str,
        version: Option<&str>,
        target: &str,
    ) -> Result<Resolved<'_>, String> {
        let plugin = self
            .plugin(name)
            .ok_or_else(|| format!("the index has no plugin `{name}`"))?;
        match version {
            Some(wanted) => {
                let found = plugin
                    .versions
                    .iter()
                    .find(|candidate| {
                        candidate.version == wanted
                            || Version::parse(&candidate.version).ok()
                                == Version::parse(wanted).ok()
                                && Version::parse(wanted).is_ok()
                    })
                    .ok_or_else(|| {
                        format!(
                            "the index has no version {wanted} of plugin `{name}` (it has {})",
                            plugin.version_list()
                        )
                    })?;
                let artifact = found
                    .installable(target)
                    .map_err(|why| format!("plugin `{name}` {}: {why}", found.version))?;
                Ok(Resolved {
                    plugin,
                    version: found,
                    artifact,
                })
            }
            None => plugin.newest_installable(target),
        }
    }
}

impl IndexPlugin {
    /// The versions, newest first.
    pub fn versions_newest_first(&self) -> Vec<&IndexVersion> {
        let mut versions: Vec<&IndexVersion> = self.versions.iter().collect();
        versions.sort_by_key(|version| std::cmp::Reverse(version.semver()));
        versions
    }

    /// `0.2.0, 0.1.0`, or `no versions`.
    fn version_list(&self) -> String {
        let versions: Vec<&str> = self
            .versions_newest_first()
            .iter()
            .map(|version| version.version.as_str())
            .collect();
        if versions.is_empty() {
            "no versions".to_owned()
        } else {
            versions.join(", ")
        }
    }

    /// The newest version installable on `target`, or why none is (the newest's reason).
    pub fn newest_installable(&self, target: &str) -> Result<Resolved<'_>, String> {
        let versions = self.versions_newest_first();
        let mut first_reason = None;
        for version in &versions {
            match version.installable(target) {
                Ok(artifact) => {
                    return Ok(Resolved {
                        plugin: self,
                        version,
                        artifact,
                    });
                }
                Err(why) => {
                    first_reason.get_or_insert_with(|| format!("{} {why}", version.version));
                }
            }
        }
        Err(match first_reason {
            Some(why) => format!(
                "no version of plugin `{}` can be installed here: {why}",
                self.name
            ),
            None => format!("plugin `{}` lists no versions", self.name),
        })
    }
}

impl IndexVersion {
    /// The version as semver (checked when the index was read).
    pub fn semver(&self) -> Option<Version> {
        Version::parse(&self.version).ok()
    }

    /// The artifact to install on `target` (its own before `any`), if the plugin API fits this
    /// host; else why not.
    pub fn installable(&self, target: &str) -> Result<&Artifact, String> {
        let api = parse_api_version(&self.plugin_api)
            .ok_or_else(|| format!("plugin API `{}` is not a version", self.plugin_api))?;
        if !validate::api_is_compatible(&api) {
            return Err(format!(
                "is built for plugin API {}, this baseten speaks {}",
                self.plugin_api,
                baseten_plugin_api::PLUGIN_API_VERSION
            ));
        }
        self.artifacts
            .iter()
            .find(|artifact| artifact.target == target)
            .or_else(|| {
                self.artifacts
                    .iter()
                    .find(|artifact| artifact.target == ANY_TARGET)
            })
            .ok_or_else(|| {
                let targets: Vec<&str> = self
                    .artifacts
                    .iter()
                    .map(|artifact| artifact.target.as_str())
                    .collect();
                format!(
                    "has no build for {target} (only {})",
                    if targets.is_empty() {
                        "none".to_owned()
                    } else {
                        targets.join(", ")
                    }
                )
            })
    }
}

/// An artifact's URL, resolved against the index's own: an absolute URL as it is, a relative
/// one from the index's folder.
pub fn artifact_url(index: &Url, artifact: &Artifact) -> Result<Url, String> {
    index
        .join(artifact.url.trim())
        .map_err(|error| format!("artifact URL `{}` is not valid: {error}", artifact.url))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn index(versions: &str) -> String {
        format!(
            r#"{{"plugins": [{{"name": "hello", "description": "Say hello",
                "homepage": "https://example.com", "versions": [{versions}]}}]}}"#
        )
    }

    fn version(version: &str, api: &str, target: &str) -> String {
        format!(
            r#"{{"version": "{version}", "plugin_api": "{api}",
                "artifacts": [{{"target": "{target}", "url": "hello-{version}.tar.gz",
                "sha256": "{SHA}"}}]}}"#
        )
    }

    #[test]
    fn the_documented_example_reads() {
        let text = index(&version("0.2.0", "1.0", "x86_64-unknown-linux-gnu"));
        let index = Index::parse(text.as_bytes()).expect("valid");
        assert_eq!(index.plugins[0].name, "hello");
        assert_eq!(index.plugins[0].versions[0].plugin_api, "1.0");
        assert_eq!(
            index.plugins[0].homepage.as_deref(),
            Some("https://example.com")
        );
    }

    #[test]
    fn the_newest_compatible_version_for_this_target_is_picked() {
        let text = index(
            &[
                version("0.1.0", "1.0", HOST_TARGET),
                version("0.10.0", "1.1", ANY_TARGET),
                version("0.3.0", "1.0", "some-other-target"),
                version("9.0.0", "2.0", HOST_TARGET),
                version("0.2.0", "1.99", HOST_TARGET),
            ]
            .join(","),
        );
        let index = Index::parse(text.as_bytes()).expect("valid");
        let resolved = index.resolve("hello", None, HOST_TARGET).expect("found");
        assert_eq!(resolved.version.version, "0.10.0");
        assert_eq!(resolved.artifact.target, ANY_TARGET);
        let pinned = index
            .resolve("hello", Some("0.1.0"), HOST_TARGET)
            .expect("found");
        assert_eq!(pinned.version.version, "0.1.0");
    }

    #[test]
    fn what_cannot_be_installed_says_why() {
        let text = index(
            &[
                version("9.0.0", "2.0", HOST_TARGET),
                version("0.3.0", "1.0", "some-other-target"),
            ]
            .join(","),
        );
        let index = Index::parse(text.as_bytes()).expect("valid");
        let why = index.resolve("hello", None, HOST_TARGET).expect_err("none");
        assert!(why.contains("9.0.0 is built for plugin API 2.0"), "{why}");
        let why = index
            .resolve("hello", Some("0.3.0"), HOST_TARGET)
            .expect_err("none");
        assert!(why.contains("has no build for"), "{why}");
        assert!(why.contains("some-other-target"), "{why}");
        let why = index
            .resolve("hello", Some("0.4.0"), HOST_TARGET)
            .expect_err("none");
        assert!(
            why.contains("no version 0.4.0") && why.contains("9.0.0, 0.3.0"),
            "{why}"
        );
        let why = index.resolve("other", None, HOST_TARGET).expect_err("none");
        assert_eq!(why, "the index has no plugin `other`");
    }

    #[test]
    fn a_malformed_index_says_what_is_wrong() {
        let problem = |text: &str| Index::parse(text.as_bytes()).expect_err("refused");
        assert!(problem("{").starts_with("it is not JSON"));
        assert!(problem(r#"{"plugins": {}}"#).contains("invalid type"));
        let missing = index(
            r#"{"version": "0.1.0", "plugin_api": "1.0",
            "artifacts": [{"target": "any", "url": "x"}]}"#,
        );
        assert!(problem(&missing).contains("missing field `sha256`"));
        let short = index(
            r#"{"version": "0.1.0", "plugin_api": "1.0",
            "artifacts": [{"target": "any", "url": "x", "sha256": "abc"}]}"#,
        );
        assert_eq!(
            problem(&short),
            "plugin `hello` 0.1.0: sha256 `abc` is not 64 hexadecimal digits"
        );
        assert!(problem(&index(&version("one", "1.0", "any"))).contains("not a semantic version"));
        assert!(problem(&index(&version("0.1.0", "v1", "any"))).contains("plugin_api `v1`"));
        assert!(
            problem(r#"{"plugins": [{"name": "Bad", "versions": []}]}"#).contains("name `Bad`")
        );
    }

    #[test]
    fn artifact_urls_may_be_relative_to_the_index() {
        let artifact = |url: &str| Artifact {
            target: ANY_TARGET.to_owned(),
            url: url.to_owned(),
            sha256: SHA.to_owned(),
        };
        let base = Url::parse("https://example.com/plugins/index.json").expect("a URL");
        assert_eq!(
            artifact_url(&base, &artifact("hello.tar.gz"))
                .expect("valid")
                .as_str(),
            "https://example.com/plugins/hello.tar.gz"
        );
        assert_eq!(
            artifact_url(&base, &artifact("https://cdn.example/x.so"))
                .expect("valid")
                .as_str(),
            "https://cdn.example/x.so"
        );
    }

    #[test]
    fn an_entry_written_from_the_types_reads_back() {
        let entry = IndexPlugin {
            name: "hello".to_owned(),
            description: "Say hello".to_owned(),
            homepage: None,
            versions: vec![IndexVersion {
                version: "0.2.0".to_owned(),
                plugin_api: "1.1".to_owned(),
                artifacts: vec![Artifact {
                    target: HOST_TARGET.to_owned(),
                    url: "hello-0.2.0.tar.gz".to_owned(),
                    sha256: SHA.to_owned(),
                }],
            }],
        };
        let text = serde_json::to_string(&Index {
            plugins: vec![entry.clone()],
        })
        .expect("serializes");
        assert!(!text.contains("homepage"), "{text}");
        let read = Index::parse(text.as_bytes()).expect("valid");
        assert_eq!(read.plugins, [entry]);
    }

    #[test]
    fn plugin_api_versions_may_leave_out_the_patch() {
        assert_eq!(parse_api_version("1.0"), Some(Version::new(1, 0, 0)));
        assert_eq!(parse_api_version("1.1.0"), Some(Version::new(1, 1, 0)));
        assert_eq!(parse_api_version("1"), None);
    }

    #[test]
    fn the_host_target_is_known() {
        assert!(HOST_TARGET.contains('-'), "{HOST_TARGET}");
    }
}
