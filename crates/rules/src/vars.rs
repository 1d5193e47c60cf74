//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...) with Suricata's
//! defaults.

use std::collections::BTreeMap;

/// A bad variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("bad variable name `{0}`")]
    Name(String),
    #[error("variable {name}: `{value}` is neither an address group nor a port group: {msg}")]
    Value {
        name: String,
        value: String,
        msg: String,
    },
}

/// Address and port variables.
#[derive(Debug, Clone)]
pub struct Vars {
    pub(crate) map: BTreeMap<String, String>,
}

impl Default for Vars {
    fn default() -> Self {
        let mut map = BTreeMap::new();
        map.insert(
            "HOME_NET".into(),
            "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]".into(),
        );
        map.insert("EXTERNAL_NET".into(), "!$HOME_NET".into());
        Vars { map }
    }
}

impl Vars {
    /// Set `NAME` (with or without `$`) to an address or port group.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), VarError> {
        let name = name.strip_prefix('$').unwrap_or(name);
        self.map.insert(name.to_string(), value.trim().to_string());
        Ok(())
    }

    /// The raw value of a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }
}
