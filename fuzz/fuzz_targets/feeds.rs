#![no_main]
//! Feed bytes → detection, every parser, import and a lookup; and the
//! store file reader.
use libfuzzer_sys::fuzz_target;
use outwork_intel::{Format};
use outwork_intel::{Index, Kind};

const FORMATS: [Format; 10] = [
    Format::UrlList,
    Format::PhishtankCsv,
    Format::PhishtankJson,
    Format::UrlhausCsv,
    Format::Hosts,
    Format::DomainList,
    Format::Abp,
    Format::Cidr,
    Format::Sha256,
    Format::OpenphishHistory,
];

fuzz_target!(|data: &[u8]| {
    let _ = outwork_intel::detect_feed_format(data);
    let f = FORMATS[data.first().map(|b| *b as usize % FORMATS.len()).unwrap_or(0)];
    let parsed = outwork_intel::parse_feed(data, f);
    let mut idx = Index::default();
    if idx.import("fuzz", Kind::Phishing, f.name(), &parsed, 0).is_ok() {
        let _ = idx.check_url("http://example.com/a/b?c");
    }
    let _ = Index::from_bytes(data, std::path::Path::new("fuzz.owi"));
});
