//! The fleet's topic tree: everything of a terminal is under
//! `posagent/{chain}/{store}/{terminal}/` — `state` (retained, the last will too),
//! `cmd/{id}` (an operator's command) and `result/{id}` (the terminal's answer) — and
//! the pushed configuration's three layers, `posagent/{chain}/config`,
//! `posagent/{chain}/{store}/config` and `posagent/{chain}/{store}/{terminal}/config`.

use crate::config::fleet::is_topic_id;

/// The first level of every topic.
pub const PREFIX: &str = "posagent";

/// Every terminal's state, for an operator's subscription.
pub const ALL_STATES: &str = "posagent/+/+/+/state";

/// A terminal's place in the tree: `chain/store/terminal`, each a topic-safe id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TerminalPath {
    /// The chain's id.
    pub chain: String,
    /// The store's id.
    pub store: String,
    /// The terminal's id.
    pub terminal: String,
}

impl TerminalPath {
    /// Reads `chain/store/terminal`; `None` unless it is three topic-safe ids.
    pub fn parse(path: &str) -> Option<TerminalPath> {
        let mut parts = path.split('/');
        let (chain, store, terminal) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = parts.next().is_none() && [chain, store, terminal].iter().all(|id| is_topic_id(id));
        ok.then(|| TerminalPath { chain: chain.into(), store: store.into(), terminal: terminal.into() })
    }

    /// The terminal whose `state` topic this is, if it is one.
    pub fn of_state_topic(topic: &str) -> Option<TerminalPath> {
        let path = topic.strip_prefix("posagent/")?.strip_suffix("/state")?;
        TerminalPath::parse(path)
    }

    /// `posagent/{chain}/{store}/{terminal}`.
    pub fn root(&self) -> String {
        format!("{PREFIX}/{self}")
    }

    /// Its retained state.
    pub fn state(&self) -> String {
        format!("{}/state", self.root())
    }

    /// Where command `id` is sent to it.
    pub fn command(&self, id: &str) -> String {
        format!("{}/cmd/{id}", self.root())
    }

    /// Every command sent to it.
    pub fn commands(&self) -> String {
        format!("{}/cmd/+", self.root())
    }

    /// Where it answers command `id`.
    pub fn result(&self, id: &str) -> String {
        format!("{}/result/{id}", self.root())
    }

    /// Where the operators publish `layer` of its configuration.
    pub fn config(&self, layer: Layer) -> String {
        match layer {
            Layer::Chain => format!("{PREFIX}/{}/config", self.chain),
            Layer::Store => format!("{PREFIX}/{}/{}/config", self.chain, self.store),
            Layer::Terminal => format!("{}/config", self.root()),
        }
    }

    /// Which of its configuration layers `topic` is.
    pub fn config_layer(&self, topic: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| self.config(*l) == topic)
    }

    /// The id of the command a topic of [`Self::commands`] carries.
    pub fn command_id<'a>(&self, topic: &'a str) -> Option<&'a str> {
        topic.strip_prefix(&self.root())?.strip_prefix("/cmd/")
    }
}

/// A layer of the pushed configuration, in the order they go over the local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Every terminal of the chain.
    Chain,
    /// Every terminal of a store.
    Store,
    /// One terminal.
    Terminal,
}

impl Layer {
    /// The three, in order.
    pub const ALL: [Layer; 3] = [Layer::Chain, Layer::Store, Layer::Terminal];

    /// Its name: `chain`, `store`, `terminal`.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Chain => "chain",
            Layer::Store => "store",
            Layer::Terminal => "terminal",
        }
    }

    /// Its place in [`Layer::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for TerminalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.chain, self.store, self.terminal)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_topics() {
        let t = TerminalPath::parse("acme/s1/till-3").unwrap();
        assert_eq!(t.state(), "posagent/acme/s1/till-3/state");
        assert_eq!(t.commands(), "posagent/acme/s1/till-3/cmd/+");
        assert_eq!(t.result("c1"), "posagent/acme/s1/till-3/result/c1");
        assert_eq!(t.command_id("posagent/acme/s1/till-3/cmd/c1"), Some("c1"));
        assert_eq!(t.command_id("posagent/acme/s1/till-4/cmd/c1"), None);
        assert_eq!(t.config(Layer::Chain), "posagent/acme/config");
        assert_eq!(t.config(Layer::Store), "posagent/acme/s1/config");
        assert_eq!(t.config(Layer::Terminal), "posagent/acme/s1/till-3/config");
        assert_eq!(t.config_layer("posagent/acme/s1/config"), Some(Layer::Store));
        assert_eq!(t.config_layer("posagent/acme/s2/config"), None);
        assert_eq!(TerminalPath::of_state_topic("posagent/acme/s1/till-3/state"), Some(t));
        for bad in ["acme/s1", "acme/s1/t/x", "acme/+/t", "acme//t", "acme/s1/#"] {
            assert_eq!(TerminalPath::parse(bad), None, "{bad}");
        }
    }
}
