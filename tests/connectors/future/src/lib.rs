//! A component that claims `ferry:connector@9.0.0`, a contract version no
//! Ferry speaks yet: the host must refuse it with a clear reason.

wit_bindgen::generate!({ world: "connector", path: "wit" });

struct Future;

impl exports::ferry::connector::source::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

#[cfg(target_arch = "wasm32")]
export!(Future);
