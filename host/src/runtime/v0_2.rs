//! Contract `ferry:connector@0.2.0` (`wit/`), the newest: adds
//! `page.total` for progress.

super::contract::contract!("0.2.0", "../wit", field);
