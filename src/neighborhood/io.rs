//! Parquet files of neighbourhoods and their `<file>.features.json` sidecar.
//!
//! Columns: `mask_0 … mask_{d-1}` (0/1, any integer or boolean type, feature order),
//! `prob_0 … prob_{c-1}` (float64), optional `distance` (float64). Row 0 is the unperturbed
//! instance. The sidecar, optional on read, is
//! `{"features": [{"name": ..., "modality": "audio" | "lyrics", ...}], "classes": [...]}`
//! (both keys optional).

use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::Neighborhood;
use crate::error::{Error, Result};
use crate::features::Feature;
use crate::fs::write_atomically;

/// The sidecar's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sidecar {
    /// One description per mask column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<Feature>>,
    /// One name per probability column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
}

/// The sidecar path for a neighbourhood file: `<file>.features.json`.
pub(crate) fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".features.json");
    PathBuf::from(name)
}

/// The columns `<prefix>0, <prefix>1, …` of `names`, checked to be numbered without gaps.
fn numbered_columns(names: &[String], prefix: &str, origin: &str) -> Result<Vec<String>> {
    let mut indices: Vec<usize> = Vec::new();
    for name in names {
        if let Some(rest) = name.strip_prefix(prefix) {
            let index = rest.parse::<usize>().map_err(|_| {
                Error::input(origin, format!("column `{name}` is not `{prefix}<number>`"))
            })?;
            indices.push(index);
        }
    }
    indices.sort_unstable();
    for (expected, got) in indices.iter().enumerate() {
        if *got != expected {
            return Err(Error::input(
                origin,
                format!("column `{prefix}{expected}` is missing; `{prefix}` columns must be numbered 0, 1, 2, ... without gaps"),
            ));
        }
    }
    Ok(indices.iter().map(|i| format!("{prefix}{i}")).collect())
}

/// The 0/1 masks of the `mask_` columns (integers or booleans).
fn read_masks(df: &DataFrame, columns: &[String], path: &Path) -> Result<Array2<u8>> {
    let origin = path.display().to_string();
    let mut masks = Array2::<u8>::zeros((df.height(), columns.len()));
    for (j, name) in columns.iter().enumerate() {
        let column = df.column(name).map_err(|e| polars_error(path, e))?;
        let dtype = column.dtype();
        if !(dtype.is_integer() || dtype == &DataType::Boolean) {
            return Err(Error::input(
                &origin,
                format!("column `{name}` has type {dtype}; masks must be integers (0 or 1)"),
            ));
        }
        let values = column
            .cast(&DataType::Int64)
            .map_err(|e| polars_error(path, e))?;
        let values = values.i64().map_err(|e| polars_error(path, e))?;
        for (i, v) in values.iter().enumerate() {
            masks[[i, j]] = match v {
                Some(0) => 0,
                Some(1) => 1,
                Some(other) => {
                    return Err(Error::input(
                        &origin,
                        format!("masks must be 0 or 1, but `{name}` is {other} in row {i}"),
                    ))
                }
                None => {
                    return Err(Error::input(
                        &origin,
                        format!("`{name}` is null in row {i}"),
                    ))
                }
            };
        }
    }
    Ok(masks)
}

/// A numeric column as float64, without nulls.
fn float_column(df: &DataFrame, name: &str, path: &Path) -> Result<Array1<f64>> {
    let origin = path.display().to_string();
    let column = df.column(name).map_err(|e| polars_error(path, e))?;
    if !column.dtype().is_primitive_numeric() {
        return Err(Error::input(
            &origin,
            format!(
                "column `{name}` has type {}; it must be float64",
                column.dtype()
            ),
        ));
    }
    let values = column
        .cast(&DataType::Float64)
        .map_err(|e| polars_error(path, e))?;
    let values = values.f64().map_err(|e| polars_error(path, e))?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.ok_or_else(|| Error::input(&origin, format!("`{name}` is null in row {i}")))
        })
        .collect()
}

fn polars_error(path: &Path, e: PolarsError) -> Error {
    Error::in_file(path, format!("not a readable Parquet neighbourhood: {e}"))
}

/// Reads a neighbourhood (and its sidecar, when present) and validates it.
pub fn read_neighborhood(path: &Path) -> Result<Neighborhood> {
    let origin = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| polars_error(path, e))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mask_columns = numbered_columns(&names, "mask_", &origin)?;
    let prob_columns = numbered_columns(&names, "prob_", &origin)?;
    if let Some(unknown) = names
        .iter()
        .find(|n| !n.starts_with("mask_") && !n.starts_with("prob_") && n.as_str() != "distance")
    {
        return Err(Error::input(
            &origin,
            format!("unknown column `{unknown}`; expected `mask_<j>`, `prob_<k>` and optionally `distance`"),
        ));
    }
    let masks = read_masks(&df, &mask_columns, path)?;
    let mut probs = Array2::<f64>::zeros((df.height(), prob_columns.len()));
    for (k, name) in prob_columns.iter().enumerate() {
        probs.column_mut(k).assign(&float_column(&df, name, path)?);
    }
    let distances = match names.iter().any(|n| n == "distance") {
        true => Some(float_column(&df, "distance", path)?),
        false => None,
    };
    let sidecar = read_sidecar(path)?;
    let neighborhood = Neighborhood {
        masks,
        probs,
        distances,
        features: sidecar.features,
        classes: sidecar.classes,
    };
    neighborhood.validate(&origin)?;
    Ok(neighborhood)
}

/// Reads `<path>.features.json` if it exists.
pub(crate) fn read_sidecar(path: &Path) -> Result<Sidecar> {
    let sidecar = sidecar_path(path);
    match std::fs::read_to_string(&sidecar) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Error::in_file(
                &sidecar,
                format!("malformed feature sidecar at line {}, column {}: {e}; expected {{\"features\": [{{\"name\": ..., \"modality\": \"audio\"|\"lyrics\"}}], \"classes\": [...]}}", e.line(), e.column()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Sidecar::default()),
        Err(e) => Err(Error::io(&sidecar, e)),
    }
}

/// Writes a neighbourhood as Parquet (and its sidecar when it has metadata), atomically.
pub fn write_neighborhood(path: &Path, neighborhood: &Neighborhood) -> Result<()> {
    neighborhood.validate(&path.display().to_string())?;
    let n = neighborhood.num_samples();
    let mut columns: Vec<Column> = Vec::new();
    for (j, column) in neighborhood.masks.columns().into_iter().enumerate() {
        columns.push(Column::new(format!("mask_{j}").into(), column.to_vec()));
    }
    for (k, column) in neighborhood.probs.columns().into_iter().enumerate() {
        columns.push(Column::new(format!("prob_{k}").into(), column.to_vec()));
    }
    if let Some(d) = &neighborhood.distances {
        columns.push(Column::new("distance".into(), d.to_vec()));
    }
    let mut df = DataFrame::new(n, columns).map_err(|e| polars_error(path, e))?;
    let mut bytes: Vec<u8> = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .map_err(|e| Error::in_file(path, format!("could not encode Parquet: {e}")))?;
    let sidecar = Sidecar {
        features: neighborhood.features.clone(),
        classes: neighborhood.classes.clone(),
    };
    if sidecar.features.is_some() || sidecar.classes.is_some() {
        let json =
            serde_json::to_vec_pretty(&sidecar).map_err(|e| Error::in_file(path, e.to_string()))?;
        write_atomically(&sidecar_path(path), &json)?;
    }
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Modality;
    use ndarray::array;

    #[test]
    fn write_then_read_round_trips_data_and_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/n.parquet");
        let mut n = Neighborhood::new(
            array![[1u8, 1, 1], [0, 1, 0], [1, 0, 0]],
            array![[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]],
        );
        n.distances = Some(array![0.0, 0.42, 0.42]);
        n.features = Some(vec![
            Feature::audio_component("drums", 3, 3.0, 4.0),
            Feature::temporal_segment(0, 0.0, 1.0),
            Feature::named("riot", Modality::Lyrics),
        ]);
        n.classes = Some(vec!["punk".into(), "pop".into()]);
        write_neighborhood(&path, &n).unwrap();
        let back = read_neighborhood(&path).unwrap();
        assert_eq!(back, n);
        assert_eq!(back.features.as_ref().unwrap()[0].name, "drums3");
        assert_eq!(back.features.as_ref().unwrap()[1].name, "T1");
    }

    #[test]
    fn an_invalid_neighbourhood_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.parquet");
        let n = Neighborhood::new(array![[1u8, 0], [0, 1]], array![[0.5], [0.5]]);
        assert!(write_neighborhood(&path, &n).is_err());
        assert!(!path.exists());
    }
}
