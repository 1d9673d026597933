//! `--report` arguments, report files and atomic writes.

use std::io;

use sessionspec::report::{
    parse_report_arg, write_atomic, write_report, ReportError, ReportFormat,
};

use super::fixtures::*;
use super::render;

#[test]
fn report_arguments() {
    assert_eq!(
        parse_report_arg("json").expect("valid"),
        (ReportFormat::Json, "reports/check.json".into())
    );
    assert_eq!(
        parse_report_arg("junit:out/ci.xml").expect("valid"),
        (ReportFormat::Junit, "out/ci.xml".into())
    );
    let e = parse_report_arg("pdf").expect_err("unknown format");
    assert!(matches!(e, ReportError::UnknownFormat { .. }));
    assert!(e.to_string().contains("json, junit, markdown, html"), "{e}");
}

#[test]
fn write_report_creates_directories_and_every_format() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = mixed_run();
    for format in ReportFormat::ALL {
        let path = dir.path().join("nested/deeper").join(
            format
                .default_path()
                .file_name()
                .expect("default paths name a file"),
        );
        write_report(format, &r, &path).expect("report written");
        let text = std::fs::read_to_string(&path).expect("report readable");
        assert_eq!(text, render(|w| format.write(w, &r)), "{format}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("nested/deeper"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
}

#[test]
fn write_atomic_never_leaves_a_partial_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("check.json");
    write_atomic(&path, |w| w.write_all(b"old content")).expect("first write");

    let err = write_atomic(&path, |w| {
        w.write_all(b"partial new cont")?;
        w.flush()?;
        Err(io::Error::other("disk on fire"))
    })
    .expect_err("the closure failed");
    assert!(matches!(err, ReportError::Write { .. }));
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("still there"),
        "old content"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["check.json"], "the temporary file is removed");

    // A failed first write leaves no file at all.
    let fresh = dir.path().join("fresh.xml");
    assert!(write_atomic(&fresh, |_| Err(io::Error::other("no"))).is_err());
    assert!(!fresh.exists());

    // A directory in the way is reported, not clobbered.
    let e = write_atomic(dir.path(), |w| w.write_all(b"x")).expect_err("a directory");
    assert!(e.to_string().contains("cannot write the report"), "{e}");
}
