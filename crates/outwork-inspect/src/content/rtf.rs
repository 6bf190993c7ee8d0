//! RTF: embedded OLE objects.

use super::*;

pub(super) fn inspect_rtf(path: &str, data: &[u8], sink: &mut Sink) {
    // No better Finding variant exists for OLE objects embedded in RTF
    // (the CVE-2017-11882 / 0199 family), so they are reported as
    // `Smuggling`: the document smuggles an object Word will instantiate.
    for word in [&b"\\object"[..], b"\\objdata", b"\\objupdate"] {
        let mut from = 0;
        while let Some(i) = find_from(data, word, from) {
            from = i + 1;
            if !data
                .get(i + word.len())
                .is_some_and(u8::is_ascii_alphabetic)
            {
                sink.smuggling(
                    path,
                    format!("RTF embedded object ({})", String::from_utf8_lossy(word)),
                );
                break;
            }
        }
    }
}
