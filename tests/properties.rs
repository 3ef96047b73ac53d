//! Properties of every parser of user input: whatever the input, no panic,
//! and an error names the key, argument or option the user wrote. Bounded
//! (256 cases a property, proptest's default; `PROPTEST_CASES` changes it),
//! so CI runs them on every push.

use std::collections::BTreeMap;

use mtts_frontend::gateway::options::FrontendOptions;
use mtts_frontend::recipe::{BuildArgs, Recipe, parse_pairs, request};
use proptest::prelude::*;

/// Any text, weighted towards what breaks parsers: quotes, brackets,
/// newlines, control and non-ASCII characters, and sometimes a lot of it.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ./:@#=_\\-\\[\\]\"'\\\\{}$()\n\t\u{0}\u{e9}\u{202e}]{0,40}",
        1 => any::<String>(),
        1 => "[a-z]{1,3}".prop_map(|s| s.repeat(3000)),
    ]
}

/// `s` as a one-line TOML basic string (a value or a quoted key).
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Every string-valued key of the recipe, as (table, key, dotted name).
const STRING_KEYS: &[(&str, &str, &str)] = &[
    ("tailscale", "version", "tailscale.version"),
    ("tailscale", "repository", "tailscale.repository"),
    ("busybox", "sha256", "busybox.sha256"),
    ("busybox", "url", "busybox.url"),
    ("images", "golang", "images.golang"),
    ("images", "alpine", "images.alpine"),
    ("images", "xx", "images.xx"),
];

proptest! {
    // No failure files next to the sources: a failure prints its input.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_recipe_text_parses_or_fails_with_a_line(text in hostile_text()) {
        match Recipe::parse(&text, "Dockerfile") {
            Ok(_) => {}
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("Dockerfile: "), "{}", msg);
                prop_assert!(msg.len() < 1000, "{} bytes", msg.len());
            }
        }
    }

    #[test]
    fn a_bad_recipe_value_names_its_key(index in 0..STRING_KEYS.len(), value in hostile_text()) {
        let (table, key, dotted) = STRING_KEYS[index];
        let text = format!("# syntax=x\n[{table}]\n{key} = {}\n", toml_string(&value));
        if let Err(e) = Recipe::parse(&text, "Dockerfile") {
            let msg = e.to_string();
            prop_assert!(msg.contains(dotted), "{:?} gave {}", value, msg);
            prop_assert!(msg.len() < 1000, "{} bytes", msg.len());
        }
    }

    #[test]
    fn a_bad_feature_or_label_names_its_key(value in hostile_text(), name in hostile_text()) {
        let text = format!("[tailscale]\nfeatures = [{}]\n", toml_string(&value));
        if let Err(e) = Recipe::parse(&text, "Dockerfile") {
            prop_assert!(e.to_string().contains("tailscale.features"), "{}", e);
        }
        let text = format!("[labels]\n{} = {}\n", toml_string(&name), toml_string(&value));
        if let Err(e) = Recipe::parse(&text, "Dockerfile") {
            prop_assert!(e.to_string().contains("labels."), "{}", e);
        }
    }

    #[test]
    fn a_bad_build_argument_names_itself(
        name in prop::sample::select(vec![
            "TAILSCALE_VERSION", "BUSYBOX_VERSION", "BUSYBOX_SHA256", "OCI_VERSION", "GOPROXY", "GOINSECURE",
            "SOURCE_DATE_EPOCH",
        ]),
        value in hostile_text(),
    ) {
        let recipe = Recipe::default();
        let args = BTreeMap::from([(name.to_string(), value.clone())]);
        if let Err(e) = BuildArgs::resolve(&recipe, &args) {
            let msg = e.to_string();
            // A lone BUSYBOX_SHA256 is checked as the pair it belongs to.
            let named = msg.contains(name) || (name == "BUSYBOX_SHA256" && msg.contains("BUSYBOX_"));
            prop_assert!(named, "{}={:?} gave {}", name, value, msg);
            prop_assert!(msg.len() < 1000, "{} bytes", msg.len());
        }
    }

    #[test]
    fn a_bad_pair_or_platform_quotes_the_input(value in hostile_text()) {
        if let Err(e) = parse_pairs("--label", &[value.as_str()]) {
            prop_assert!(e.to_string().starts_with("--label "), "{}", e);
        }
        if let Err(e) = request::parse_platforms(&[value.as_str()]) {
            let msg = e.to_string();
            prop_assert!(msg.contains("platform"), "{}", msg);
            prop_assert!(msg.len() < 1000, "{} bytes", msg.len());
        }
    }

    #[test]
    fn a_bad_frontend_option_names_the_option(
        key in prop::sample::select(vec![
            "platform", "target", "filename", "force-network-mode", "image-resolve-mode",
            "no-cache", "context:golang", "context:tailscale", "build-arg:X", "label:x",
        ]),
        value in hostile_text(),
    ) {
        let opts = BTreeMap::from([(key.to_string(), value.clone())]);
        if let Err(e) = FrontendOptions::parse(&opts) {
            let msg = e.to_string();
            let option = key.split(':').next().unwrap_or(key);
            prop_assert!(msg.contains(option), "{}={:?} gave {}", key, value, msg);
            prop_assert!(msg.len() < 1000, "{} bytes", msg.len());
        }
    }
}
