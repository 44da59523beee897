//! Feeds arbitrary bytes to the sshd_config parser as a main file and one included file.
//! It must never panic, and every setting it reports as applying to all connections must
//! be the effective value.

#![no_main]

use std::collections::BTreeMap;

use attest_collect::host::sshd::{self, ConfigSource};
use libfuzzer_sys::fuzz_target;

struct Files(BTreeMap<String, String>);

impl ConfigSource for Files {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "absent".to_owned())
    }

    fn glob(&self, pattern: &str) -> Result<Vec<String>, String> {
        // Every Include names the one included file, so includes (and their loops) happen;
        // a pattern with `!` stands for a folder that cannot be listed.
        if pattern.contains('!') {
            Err(format!("{pattern}: permission denied"))
        } else {
            Ok(vec!["/etc/ssh/sshd_config.d/fuzz.conf".to_owned()])
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (main, included) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let files = Files(BTreeMap::from([
        ("/etc/ssh/sshd_config".to_owned(), main.to_owned()),
        (
            "/etc/ssh/sshd_config.d/fuzz.conf".to_owned(),
            included.to_owned(),
        ),
    ]));
    let config = sshd::parse(&files, "/etc/ssh/sshd_config");
    for (keyword, setting) in &config.explicit {
        assert_eq!(config.effective.get(keyword), Some(&setting.value));
    }
    for keyword in config.unknown.keys() {
        assert!(!config.effective.contains_key(keyword));
    }
    for problem in &config.problems {
        assert!(!problem.message.is_empty());
    }
    let _ = sshd::parse_dump(&text);
});
