//! The `[csv]` section's values beyond plain numbers and text: a list of lags, whose
//! predictions a panel writes, and what the section leaves open for validation to choose.

use serde::{Deserialize, Serialize};

use crate::settings::CsvSection;

/// Whose one-step predictions a run over many series writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Predictions {
    /// The series the pictures show.
    #[default]
    Shown,
    /// Every series.
    All,
}

impl Predictions {
    /// Whether it is the default (left out of a written config).
    pub(crate) fn is_shown(&self) -> bool {
        *self == Predictions::Shown
    }
}

/// The window a `[csv]` section takes where it writes none and nothing chooses one.
pub const DEFAULT_WINDOW: usize = 64;

/// `csv.difference`: one lag (`12`) or several in turn (`[1, 12]`); `0` or `[]`: none. Written
/// back as it is read: a number for one lag, a list for several.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lags(pub Vec<usize>);

impl Serialize for Lags {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [] => serializer.serialize_u64(0),
            [lag] => serializer.serialize_u64(*lag as u64),
            lags => lags.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Lags {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Lags;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a lag (a whole number of steps, 0 for none) or a list of lags")
            }
            fn visit_i64<E: serde::de::Error>(self, lag: i64) -> Result<Lags, E> {
                let lag = usize::try_from(lag).map_err(|_| E::custom("a lag is at least 0"))?;
                Ok(Lags((lag > 0).then_some(lag).into_iter().collect()))
            }
            fn visit_u64<E: serde::de::Error>(self, lag: u64) -> Result<Lags, E> {
                self.visit_i64(i64::try_from(lag).map_err(|_| E::custom("a lag too large"))?)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lags, A::Error> {
                let mut lags = Vec::new();
                while let Some(lag) = seq.next_element::<usize>()? {
                    lags.push(lag);
                }
                Ok(Lags(lags))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl CsvSection {
    /// What the network learns instead of the levels: `log`, the seasonal adjustment, then
    /// `difference`'s lags (what is unwritten: none).
    pub fn transform(&self) -> elman_data::Transform {
        elman_data::Transform {
            log: self.log.unwrap_or(false),
            adjust: if self.deseasonalize.unwrap_or(false) {
                self.season()
            } else {
                0
            },
            lags: self.difference.as_ref().map_or(Vec::new(), |l| l.0.clone()),
            indices: Vec::new(),
        }
    }

    /// The season (unwritten: 0).
    pub fn season(&self) -> usize {
        self.season.unwrap_or(0)
    }

    /// The window (unwritten: [`DEFAULT_WINDOW`]).
    pub fn window(&self) -> usize {
        self.window.unwrap_or(DEFAULT_WINDOW)
    }

    /// Whether the section is one series that is its own only input: the kind of run whose
    /// unwritten choices validation makes.
    pub fn one_series(&self) -> bool {
        self.series.is_empty()
            && self.targets.is_empty()
            && (self.inputs.is_empty() || self.inputs == [self.target.clone()])
    }

    /// What the section leaves to be chosen: the season, the transformation (none of
    /// `difference`, `log` and `deseasonalize` written), the window.
    pub fn open_choices(&self) -> OpenChoices {
        OpenChoices {
            season: self.season.is_none(),
            transform: self.difference.is_none()
                && self.log.is_none()
                && self.deseasonalize.is_none(),
            window: self.window.is_none(),
        }
    }

    /// Every choice written: what is unwritten takes its default.
    pub fn with_defaults(mut self) -> Self {
        self.season = Some(self.season());
        self.window = Some(self.window());
        let transform = self.transform();
        self.difference = Some(Lags(transform.lags));
        self.log = Some(transform.log);
        self.deseasonalize = Some(transform.adjust > 0);
        self
    }
}

/// The choices a `[csv]` section leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenChoices {
    /// No `season` written.
    pub season: bool,
    /// None of `difference`, `log` and `deseasonalize` written.
    pub transform: bool,
    /// No `window` written.
    pub window: bool,
}

impl OpenChoices {
    /// Whether anything is open.
    pub fn any(self) -> bool {
        self.season || self.transform || self.window
    }
}
