//! `uniffi-bindgen`, built from this workspace so that the Kotlin and Swift it generates match
//! the scaffolding `jeco-ffi` was compiled with. Run through `scripts/ffi-test.sh`, or
//! `cargo run -p uniffi-bindgen -- generate --library <libjeco_ffi> --language kotlin ...`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
