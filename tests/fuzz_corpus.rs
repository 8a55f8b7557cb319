//! Replays every fuzz target's corpus, and every crash the fuzzer ever found, through the same
//! property checks the targets run (`hookgate::fuzzing`), on stable, so CI keeps them fixed.

use std::path::Path;

#[test]
fn every_fuzz_corpus_and_crash_passes_its_properties() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, check) in hookgate::fuzzing::TARGETS {
        let mut replayed = 0;
        for folder in ["corpus", "artifacts"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let input = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| check(&input));
                assert!(outcome.is_ok(), "{target}: {} fails", path.display());
                replayed += 1;
            }
        }
        assert!(
            replayed > 0,
            "{target} has no corpus in fuzz/corpus/{target}"
        );
        println!("{target}: {replayed} inputs replayed");
    }
}
