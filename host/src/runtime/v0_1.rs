//! Contract `ferry:connector@0.1.0` (frozen in `wit/v0.1.0/`): connectors
//! built against it keep loading after the contract moved on, the way Zed
//! keeps its `since_vX` bindings.

super::contract::contract!("0.1.0", "../wit/v0.1.0", none);
