//! Feeds arbitrary bytes to the spec loader, the linter and the source-map scanner: none may panic,
//! and every error must be located (`fuzz.json:LINE:COLUMN: ...`, on at most two lines).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sessionspec::spec::lint::lint_spec_bytes;
use sessionspec::spec::load::load_spec_bytes;
use sessionspec::spec::SourceMap;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.json");
    if let Ok(text) = std::str::from_utf8(data) {
        let map = SourceMap::build(text);
        if let Some((line, column)) = map.position("") {
            assert!(line >= 1 && column >= 1);
        }
    }
    let errors = lint_spec_bytes(path, data);
    assert!(errors.len() <= 50, "{} errors", errors.len());
    for e in &errors {
        let loc = e.location().expect("an error about content has a location");
        assert!(loc.line >= 1 && loc.column >= 1, "{e}");
        let text = e.to_string();
        assert!(text.starts_with("fuzz.json:"), "{text}");
        assert!(text.lines().count() <= 2, "{text}");
    }
    match load_spec_bytes(path, data) {
        Ok(loaded) => {
            assert!(errors.is_empty(), "lint and load disagree");
            let _ = loaded.locate("/cases/0/steps/0");
        }
        Err(e) => assert_eq!(Some(e.to_string()), errors.first().map(ToString::to_string)),
    }
});
