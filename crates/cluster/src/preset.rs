//! The clusters a learner starts from, the same in the simulator (the CLI's
//! REPL, the tests) and in the page (`?preset=`): a primary and standbys made
//! by `pg_basebackup -R` with `application_name=<their name>`, started, each
//! on the next port ([`crate::ports`]).

/// The first node of every preset.
pub const PRIMARY: &str = "primary";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Preset {
    /// `primary`, `standby1` and `standby2`, both streaming from the primary.
    #[default]
    Default,
    /// `primary` and `standby1`.
    OneStandby,
    /// `standby2` streams from `standby1`, which streams from the primary.
    Cascading,
    /// The default shape with `synchronous_standby_names = 'FIRST 1
    /// (standby1, standby2)'` on the primary.
    Synchronous,
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::Default,
        Preset::OneStandby,
        Preset::Cascading,
        Preset::Synchronous,
    ];

    /// The preset a name (`?preset=cascading`) stands for.
    pub fn parse(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::OneStandby => "one-standby",
            Preset::Cascading => "cascading",
            Preset::Synchronous => "synchronous",
        }
    }

    /// The standbys, in the order they are made: (name, the node it copies and streams from).
    pub fn standbys(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Preset::OneStandby => &[("standby1", PRIMARY)],
            Preset::Cascading => &[("standby1", PRIMARY), ("standby2", "standby1")],
            Preset::Default | Preset::Synchronous => {
                &[("standby1", PRIMARY), ("standby2", PRIMARY)]
            }
        }
    }

    /// psql lines run on the primary once every standby streams.
    pub fn primary_setup(self) -> &'static [&'static str] {
        match self {
            Preset::Synchronous => &[
                "ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1, standby2)';",
                "SELECT pg_reload_conf();",
            ],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_upstreams_exist_before_their_standbys() {
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.name()), Some(preset));
            let mut made = vec![PRIMARY];
            for (name, upstream) in preset.standbys() {
                assert!(
                    made.contains(upstream),
                    "{preset:?}: {name} before {upstream}"
                );
                made.push(name);
            }
        }
        assert_eq!(Preset::parse("nonsense"), None);
        assert_eq!(Preset::Cascading.standbys()[1], ("standby2", "standby1"));
        assert!(Preset::Default.primary_setup().is_empty());
    }
}
