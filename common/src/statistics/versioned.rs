//! The versioned encoding of [`Statistics`]: `schema_version` comes first, and the
//! fields and tables that follow are those of that version. v3 carries
//! `pseudonym_scheme` right after `key_id`; v1 and v2 do not, and decode with
//! [`PseudonymScheme::SharedKey`]. v2 and v3 cells carry a cell key; v1 cells do not,
//! and decode with [`CellKey::EMPTY`]. A v1 or v2 value encodes back to the same
//! bytes, so an old submission kept in an outbox or a store re-encodes unchanged.
//!
//! Works for binary (bincode, a sequence of fields) and self-describing formats (a
//! map, whose `schema_version` must come before `tables`, as it is written).

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::cell_key::CellKey;
use crate::oprf::output::PseudonymScheme;

use super::{
    Cell, Statistics, Table, TableName, SCHEMA_VERSION_V1, SCHEMA_VERSION_WITH_SCHEME,
    SUPPORTED_SCHEMA_VERSIONS,
};

const FIELDS: &[&str] = &[
    "schema_version",
    "kommun",
    "period",
    "linkage_domain",
    "key_id",
    "pseudonym_scheme",
    "projects",
    "tables",
    "linkage_sets",
];

/// A v1 cell: no cell key.
#[derive(Serialize, Deserialize)]
struct CellV1 {
    key: Vec<String>,
    count: u64,
}

/// A v1 table.
#[derive(Serialize, Deserialize)]
struct TableV1 {
    name: TableName,
    cells: Vec<CellV1>,
}

impl From<TableV1> for Table {
    fn from(table: TableV1) -> Table {
        Table {
            name: table.name,
            cells: table
                .cells
                .into_iter()
                .map(|c| Cell {
                    key: c.key,
                    count: c.count,
                    cell_key: CellKey::EMPTY,
                })
                .collect(),
        }
    }
}

/// Borrowed v1 view of the tables, for encoding.
struct TablesV1<'a>(&'a [Table]);

impl Serialize for TablesV1<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct CellRef<'a> {
            key: &'a [String],
            count: u64,
        }
        #[derive(Serialize)]
        struct TableRef<'a> {
            name: TableName,
            cells: Vec<CellRef<'a>>,
        }
        serializer.collect_seq(self.0.iter().map(|t| {
            TableRef {
                name: t.name,
                cells: t
                    .cells
                    .iter()
                    .map(|c| CellRef {
                        key: &c.key,
                        count: c.count,
                    })
                    .collect(),
            }
        }))
    }
}

impl Serialize for Statistics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let with_scheme = self.schema_version >= SCHEMA_VERSION_WITH_SCHEME;
        if !with_scheme && self.pseudonym_scheme != PseudonymScheme::SharedKey {
            return Err(serde::ser::Error::custom(format!(
                "statistics schema v{} cannot name pseudonym scheme {}; use v{SCHEMA_VERSION_WITH_SCHEME}",
                self.schema_version, self.pseudonym_scheme
            )));
        }
        let fields = FIELDS.len() - usize::from(!with_scheme);
        let mut s = serializer.serialize_struct("Statistics", fields)?;
        s.serialize_field("schema_version", &self.schema_version)?;
        s.serialize_field("kommun", &self.kommun)?;
        s.serialize_field("period", &self.period)?;
        s.serialize_field("linkage_domain", &self.linkage_domain)?;
        s.serialize_field("key_id", &self.key_id)?;
        if with_scheme {
            s.serialize_field("pseudonym_scheme", &self.pseudonym_scheme)?;
        }
        s.serialize_field("projects", &self.projects)?;
        if self.schema_version == SCHEMA_VERSION_V1 {
            s.serialize_field("tables", &TablesV1(&self.tables))?;
        } else {
            s.serialize_field("tables", &self.tables)?;
        }
        s.serialize_field("linkage_sets", &self.linkage_sets)?;
        s.end()
    }
}

/// Decodes the tables of `version`.
fn tables_of<'de, A: SeqAccess<'de>>(
    version: u32,
    seq: &mut A,
) -> Result<Option<Vec<Table>>, A::Error> {
    if version == SCHEMA_VERSION_V1 {
        Ok(seq
            .next_element::<Vec<TableV1>>()?
            .map(|t| t.into_iter().map(Table::from).collect()))
    } else {
        seq.next_element::<Vec<Table>>()
    }
}

fn supported<E: de::Error>(version: u32) -> Result<u32, E> {
    if SUPPORTED_SCHEMA_VERSIONS.contains(&version) {
        Ok(version)
    } else {
        Err(E::custom(format!(
            "statistics schema version {version} is not supported (this build reads {SUPPORTED_SCHEMA_VERSIONS:?}); update the program"
        )))
    }
}

struct StatisticsVisitor;

impl<'de> Visitor<'de> for StatisticsVisitor {
    type Value = Statistics;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("statistics of schema v1, v2 or v3")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Statistics, A::Error> {
        let missing = |i: usize| de::Error::invalid_length(i, &self);
        let schema_version = supported::<A::Error>(seq.next_element()?.ok_or_else(|| missing(0))?)?;
        let kommun = seq.next_element()?.ok_or_else(|| missing(1))?;
        let period = seq.next_element()?.ok_or_else(|| missing(2))?;
        let linkage_domain = seq.next_element()?.ok_or_else(|| missing(3))?;
        let key_id = seq.next_element()?.ok_or_else(|| missing(4))?;
        let pseudonym_scheme = if schema_version >= SCHEMA_VERSION_WITH_SCHEME {
            seq.next_element()?.ok_or_else(|| missing(5))?
        } else {
            PseudonymScheme::SharedKey
        };
        let projects = seq.next_element()?.ok_or_else(|| missing(6))?;
        let tables = tables_of(schema_version, &mut seq)?.ok_or_else(|| missing(7))?;
        let linkage_sets = seq.next_element()?.ok_or_else(|| missing(8))?;
        Ok(Statistics {
            schema_version,
            kommun,
            period,
            linkage_domain,
            key_id,
            pseudonym_scheme,
            projects,
            tables,
            linkage_sets,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Statistics, A::Error> {
        let mut schema_version = None;
        let mut kommun = None;
        let mut period = None;
        let mut linkage_domain = None;
        let mut key_id = None;
        let mut pseudonym_scheme: Option<PseudonymScheme> = None;
        let mut projects = None;
        let mut tables = None;
        let mut linkage_sets = None;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "schema_version" => {
                    schema_version = Some(supported::<A::Error>(map.next_value()?)?);
                }
                "kommun" => kommun = Some(map.next_value()?),
                "period" => period = Some(map.next_value()?),
                "linkage_domain" => linkage_domain = Some(map.next_value()?),
                "key_id" => key_id = Some(map.next_value()?),
                "pseudonym_scheme" => pseudonym_scheme = Some(map.next_value()?),
                "projects" => projects = Some(map.next_value()?),
                "tables" => {
                    let version = schema_version.ok_or_else(|| {
                        de::Error::custom("schema_version must come before tables")
                    })?;
                    tables = Some(if version == SCHEMA_VERSION_V1 {
                        map.next_value::<Vec<TableV1>>()?
                            .into_iter()
                            .map(Table::from)
                            .collect()
                    } else {
                        map.next_value::<Vec<Table>>()?
                    });
                }
                "linkage_sets" => linkage_sets = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let need = |name: &'static str| de::Error::missing_field(name);
        let schema_version: u32 = schema_version.ok_or_else(|| need("schema_version"))?;
        let pseudonym_scheme = match (
            schema_version >= SCHEMA_VERSION_WITH_SCHEME,
            pseudonym_scheme,
        ) {
            (true, Some(scheme)) => scheme,
            (true, None) => return Err(need("pseudonym_scheme")),
            (false, None) => PseudonymScheme::SharedKey,
            (false, Some(_)) => {
                return Err(de::Error::custom(format!(
                    "statistics schema v{schema_version} has no pseudonym_scheme field"
                )))
            }
        };
        Ok(Statistics {
            schema_version,
            kommun: kommun.ok_or_else(|| need("kommun"))?,
            period: period.ok_or_else(|| need("period"))?,
            linkage_domain: linkage_domain.ok_or_else(|| need("linkage_domain"))?,
            key_id: key_id.ok_or_else(|| need("key_id"))?,
            pseudonym_scheme,
            projects: projects.ok_or_else(|| need("projects"))?,
            tables: tables.ok_or_else(|| need("tables"))?,
            linkage_sets: linkage_sets.ok_or_else(|| need("linkage_sets"))?,
        })
    }
}

impl<'de> Deserialize<'de> for Statistics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Statistics, D::Error> {
        deserializer.deserialize_struct("Statistics", FIELDS, StatisticsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;

    /// A v1 or v2 encoding written independently of this module: the struct as it
    /// was in both (no scheme), with the tables of its version (`TableV1` for v1,
    /// `Table` for v2).
    #[derive(Serialize)]
    struct OldStatistics<T> {
        schema_version: u32,
        kommun: crate::codes::KommunCode,
        period: crate::period::Period,
        linkage_domain: crate::pseudonym::LinkageDomain,
        key_id: crate::pseudonym::KeyId,
        projects: Vec<crate::codes::ProjectCode>,
        tables: Vec<T>,
        linkage_sets: Vec<super::super::LinkageSet>,
    }

    fn sample(version: u32) -> Statistics {
        let tables = TableName::ALL
            .iter()
            .map(|name| Table {
                name: *name,
                cells: vec![Cell {
                    key: vec!["UNG".into(), "k".into(), "16-19".into()],
                    count: 3,
                    cell_key: if version == 1 {
                        CellKey::EMPTY
                    } else {
                        CellKey::from_bits(0xfe34_6930_d37f_3cb4)
                    },
                }],
            })
            .collect();
        Statistics {
            schema_version: version,
            kommun: "2180".parse().unwrap(),
            period: "2025".parse().unwrap(),
            linkage_domain: "gavleborg-ung-2023".parse().unwrap(),
            key_id: crate::pseudonym::MasterSecret::from_bytes([7; 32]).key_id(),
            pseudonym_scheme: PseudonymScheme::SharedKey,
            projects: vec!["UNG".parse().unwrap()],
            tables,
            linkage_sets: Vec::new(),
        }
    }

    #[test]
    fn v1_bytes_decode_with_empty_keys_and_re_encode_unchanged() {
        let v1 = sample(1);
        let old = OldStatistics {
            schema_version: 1,
            kommun: v1.kommun,
            period: v1.period,
            linkage_domain: v1.linkage_domain.clone(),
            key_id: v1.key_id,
            projects: v1.projects.clone(),
            tables: v1
                .tables
                .iter()
                .map(|t| TableV1 {
                    name: t.name,
                    cells: t
                        .cells
                        .iter()
                        .map(|c| CellV1 {
                            key: c.key.clone(),
                            count: c.count,
                        })
                        .collect(),
                })
                .collect(),
            linkage_sets: Vec::new(),
        };
        let bytes = codec::encode(&old).unwrap();
        let decoded: Statistics = codec::decode(&bytes).unwrap();
        assert_eq!(decoded, v1);
        assert_eq!(decoded.pseudonym_scheme, PseudonymScheme::SharedKey);
        assert_eq!(codec::encode(&decoded).unwrap(), bytes);
    }

    #[test]
    fn v2_bytes_mean_the_shared_key_scheme_and_re_encode_unchanged() {
        let v2 = sample(2);
        let old = OldStatistics {
            schema_version: 2,
            kommun: v2.kommun,
            period: v2.period,
            linkage_domain: v2.linkage_domain.clone(),
            key_id: v2.key_id,
            projects: v2.projects.clone(),
            tables: v2.tables.clone(),
            linkage_sets: Vec::new(),
        };
        let bytes = codec::encode(&old).unwrap();
        let decoded: Statistics = codec::decode(&bytes).unwrap();
        assert_eq!(decoded, v2);
        assert_eq!(decoded.pseudonym_scheme, PseudonymScheme::SharedKey);
        assert_eq!(codec::encode(&decoded).unwrap(), bytes);
        let json = serde_json::to_string(&old).unwrap();
        assert_eq!(serde_json::from_str::<Statistics>(&json).unwrap(), v2);
    }

    #[test]
    fn v2_round_trips_its_cell_keys_in_binary_and_json() {
        let v2 = sample(2);
        let bytes = codec::encode(&v2).unwrap();
        assert_eq!(codec::decode::<Statistics>(&bytes).unwrap(), v2);
        let json = serde_json::to_string(&v2).unwrap();
        assert!(json.contains("\"cell_key\":\"fe346930d37f3cb4\""), "{json}");
        assert!(!json.contains("pseudonym_scheme"), "{json}");
        assert_eq!(serde_json::from_str::<Statistics>(&json).unwrap(), v2);
        // A v2 cell key is in the bytes: the encoding differs from v1's by exactly
        // the nine keys.
        assert!(bytes.len() > codec::encode(&sample(1)).unwrap().len());
    }

    #[test]
    fn v3_carries_the_scheme_by_its_code_in_binary_and_json() {
        for scheme in PseudonymScheme::ALL {
            let mut v3 = sample(3);
            v3.pseudonym_scheme = *scheme;
            let bytes = codec::encode(&v3).unwrap();
            assert_eq!(codec::decode::<Statistics>(&bytes).unwrap(), v3);
            let json = serde_json::to_string(&v3).unwrap();
            let field = format!(
                "\"key_id\":\"{}\",\"pseudonym_scheme\":\"{}\"",
                v3.key_id,
                scheme.code()
            );
            assert!(json.contains(&field), "{json}");
            assert_eq!(serde_json::from_str::<Statistics>(&json).unwrap(), v3);
        }
        let shared = codec::encode(&sample(3)).unwrap();
        let mut custodian = sample(3);
        custodian.pseudonym_scheme = PseudonymScheme::Custodian;
        assert_ne!(
            codec::encode(&custodian).unwrap(),
            shared,
            "the scheme is signed"
        );
    }

    #[test]
    fn a_v3_without_its_scheme_and_an_unknown_scheme_are_refused() {
        let json = serde_json::to_string(&sample(3)).unwrap();
        let without = json.replace("\"pseudonym_scheme\":\"blake3-shared-key-v1\",", "");
        assert_ne!(without, json);
        let error = serde_json::from_str::<Statistics>(&without)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("missing field `pseudonym_scheme`"),
            "{error}"
        );
        let unknown = json.replace("blake3-shared-key-v1", "blake3-shared-key-v9");
        let error = serde_json::from_str::<Statistics>(&unknown)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("pseudonym scheme \"blake3-shared-key-v9\" is not known"),
            "{error}"
        );
    }

    #[test]
    fn an_old_version_cannot_name_the_custodian_scheme() {
        let mut v2 = sample(2);
        v2.pseudonym_scheme = PseudonymScheme::Custodian;
        let error = codec::encode(&v2).unwrap_err().to_string();
        assert!(error.contains("cannot name pseudonym scheme"), "{error}");
    }

    #[test]
    fn an_unknown_version_is_refused_by_name() {
        let mut v4 = sample(3);
        v4.schema_version = 4;
        let bytes = codec::encode(&v4).unwrap();
        let error = codec::decode::<Statistics>(&bytes).unwrap_err().to_string();
        assert!(
            error.contains("schema version 4 is not supported"),
            "{error}"
        );
    }
}
