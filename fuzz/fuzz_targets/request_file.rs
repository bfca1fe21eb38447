//! Request files: any text parses or is refused without a panic, and a file that parses
//! renders back to text that parses to the same request and validation.

#![no_main]

use evx_protocol::ids::{PartyId, UnixTime};
use evx_requesting::request_file::{parse, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let party = PartyId::new("DE-BfJ").expect("valid party id");
    let at = UnixTime(1_795_000_000);
    let Ok(file) = parse(text, "fuzz.toml", &party, at) else {
        return;
    };
    let again = render(&file.request, file.validation.as_ref());
    let back = parse(&again, "rendered.toml", &party, at)
        .unwrap_or_else(|e| panic!("a rendered request does not parse: {e}\n{again}"));
    assert_eq!(back.request, file.request, "render -> parse changed the request");
    assert_eq!(back.validation, file.validation, "render -> parse changed the validation");
});
