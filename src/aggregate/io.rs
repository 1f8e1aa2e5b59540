//! Reading what the aggregation aggregates: `explanations` tables and published sums (CSV or
//! Parquet, through Polars), class names beside them, and their checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::{accumulate, Sums};
use crate::error::{Error, Result};

pub(super) fn read_frame(path: &Path) -> Result<DataFrame> {
    let bad = |e: PolarsError| Error::in_file(path, format!("not a readable table: {e}"));
    if path.extension().and_then(|e| e.to_str()) == Some("parquet") {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        ParquetReader::new(file).finish().map_err(bad)
    } else {
        if !path.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        CsvReadOptions::default()
            .with_has_header(true)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(bad)
    }
}

pub(super) fn column_f64(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<f64>> {
    let column = df
        .column(name)
        .map_err(|_| Error::in_file(path, format!("has no `{name}` column")))?
        .cast(&DataType::Float64)
        .map_err(|e| Error::in_file(path, format!("column `{name}` is not numeric: {e}")))?;
    let values = column
        .f64()
        .map_err(|e| Error::in_file(path, e.to_string()))?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(v) if v.is_finite() => Ok(v),
            other => Err(Error::in_file(
                path,
                format!(
                    "column `{name}` is {other:?} in row {}; it must be a finite number",
                    i + 1
                ),
            )),
        })
        .collect()
}

pub(super) fn column_str(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<String>> {
    let column = df
        .column(name)
        .map_err(|_| Error::in_file(path, format!("has no `{name}` column")))?
        .cast(&DataType::String)
        .map_err(|e| Error::in_file(path, e.to_string()))?;
    let values = column
        .str()
        .map_err(|e| Error::in_file(path, e.to_string()))?;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.map(str::to_string).ok_or_else(|| {
                Error::in_file(path, format!("column `{name}` is empty in row {}", i + 1))
            })
        })
        .collect()
}

pub(super) fn labels(values: &[f64], path: &Path) -> Result<Vec<usize>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if *v >= 0.0 && v.fract() == 0.0 {
                Ok(*v as usize)
            } else {
                Err(Error::in_file(
                    path,
                    format!("label {v} in row {} is not a class index", i + 1),
                ))
            }
        })
        .collect()
}

/// Reads pre-accumulated sums: columns `label,feature,weight_sum,count` (CSV or Parquet).
pub fn read_sums(path: &Path) -> Result<Sums> {
    let df = read_frame(path)?;
    let label = labels(&column_f64(&df, path, "label")?, path)?;
    let feature = column_str(&df, path, "feature")?;
    let weight = column_f64(&df, path, "weight_sum")?;
    let count = column_f64(&df, path, "count")?;
    let mut sums = Sums::default();
    for i in 0..df.height() {
        if weight[i] < 0.0 || count[i] < 1.0 || count[i].fract() != 0.0 {
            return Err(Error::in_file(
                path,
                format!(
                    "row {}: weight_sum must be >= 0 and count a positive integer",
                    i + 1
                ),
            ));
        }
        sums.add_sum(label[i], &feature[i], weight[i], count[i] as u64);
    }
    if sums.is_empty() {
        return Err(Error::in_file(path, "has no rows"));
    }
    Ok(sums)
}

/// Reads explanations (columns `instance,label,feature,weight`, one row per feature of an
/// explanation for its predicted label) and accumulates them.
pub fn read_explanations(path: &Path, all_weights: bool) -> Result<Sums> {
    let df = read_frame(path)?;
    column_str(&df, path, "instance")?;
    let label = labels(&column_f64(&df, path, "label")?, path)?;
    let feature = column_str(&df, path, "feature")?;
    let weight = column_f64(&df, path, "weight")?;
    if df.height() == 0 {
        return Err(Error::in_file(path, "has no rows"));
    }
    Ok(accumulate(
        (0..df.height()).map(|i| (label[i], feature[i].as_str(), weight[i])),
        all_weights,
    ))
}

/// Class names by index from an explanations table's optional `class` column (the runner's
/// `explanations` table has one); empty when the table has none.
pub(crate) fn read_class_names(path: &Path) -> Result<BTreeMap<usize, String>> {
    let df = read_frame(path)?;
    if df.column("class").is_err() {
        return Ok(BTreeMap::new());
    }
    let label = labels(&column_f64(&df, path, "label")?, path)?;
    let class = column_str(&df, path, "class")?;
    let mut names = BTreeMap::new();
    for (l, c) in label.into_iter().zip(class) {
        if let Some(other) = names.insert(l, c.clone()) {
            if other != c {
                return Err(Error::in_file(
                    path,
                    format!("label {l} is `{other}` in one row and `{c}` in another: the table mixes models with different classes; keep one model's rows (e.g. filter on `explainer`) and aggregate them separately"),
                ));
            }
        }
    }
    Ok(names)
}

/// The file beside a directory of sums that names each file's classes
/// (`file,label,name`; lines starting with `#` are comments).
pub(crate) const CLASS_NAMES_FILE: &str = "class_names.csv";

/// Class names by file name (`file` column: a sums file's name, e.g. `emotion_feature.csv`),
/// then by class index, from a `class_names.csv` (`file,label,name`, `#` comments).
pub(crate) fn read_class_names_table(
    path: &Path,
) -> Result<BTreeMap<String, BTreeMap<usize, String>>> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .map_parse_options(|o| o.with_comment_prefix(Some("#")))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .map_err(|e| Error::in_file(path, format!("not a readable table: {e}")))?;
    let file = column_str(&df, path, "file")?;
    let label = column_str(&df, path, "label")?;
    let name = column_str(&df, path, "name")?;
    let mut table: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for (i, ((file, label), name)) in file.into_iter().zip(label).zip(name).enumerate() {
        let index: usize = label.trim().parse().map_err(|_| {
            Error::in_file(
                path,
                format!("label `{label}` in row {} is not a class index", i + 1),
            )
        })?;
        if table
            .entry(file.clone())
            .or_default()
            .insert(index, name)
            .is_some()
        {
            return Err(Error::in_file(
                path,
                format!("row {}: `{file}` names class {index} twice", i + 1),
            ));
        }
    }
    if table.is_empty() {
        return Err(Error::in_file(path, "has no rows"));
    }
    Ok(table)
}

/// Class names for one sums file from the `class_names.csv` beside it, when there is one and
/// it names the file's classes (else empty); checked against the file's classes.
pub(crate) fn class_names_beside(path: &Path, sums: &Sums) -> Result<BTreeMap<usize, String>> {
    let table_path = path.with_file_name(CLASS_NAMES_FILE);
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
    if !table_path.is_file() || file.as_deref() == Some(CLASS_NAMES_FILE) {
        return Ok(BTreeMap::new());
    }
    let mut table = read_class_names_table(&table_path)?;
    let names = file.and_then(|f| table.remove(&f)).unwrap_or_default();
    if !names.is_empty() {
        check_class_names(&names, &sums.labels(), &table_path.display().to_string())?;
    }
    Ok(names)
}

/// One set of sums to aggregate, as `musiclime aggregate` reads it.
#[derive(Debug, Clone)]
pub struct SumsInput {
    /// The file it was read from.
    pub file: PathBuf,
    /// The output sub-folder for a file of a directory (its stem); `None`: the output folder.
    pub folder: Option<String>,
    /// The per-class sums.
    pub sums: Sums,
    /// Class names by index; empty for none.
    pub names: BTreeMap<usize, String>,
}

/// Reads an explanations table ([`read_explanations`]) with its class names: `class_names`
/// (`--class-names`, class 0 first) when given, else the table's `class` column, if any.
pub fn read_explanations_input(
    path: &Path,
    all_weights: bool,
    class_names: Option<&[String]>,
) -> Result<SumsInput> {
    let sums = read_explanations(path, all_weights)?;
    let names = match class_names {
        Some(list) => class_names_from_list(list, &sums.labels())?,
        None => read_class_names(path)?,
    };
    Ok(SumsInput {
        file: path.to_path_buf(),
        folder: None,
        sums,
        names,
    })
}

/// Reads sums ([`read_sums`]) from a file, or from every file of a directory
/// ([`read_sums_dir`]), with class names: `class_names` (`--class-names`, one file only) when
/// given, else the `class_names.csv` beside the file(s) where it names them.
pub fn read_sums_input(path: &Path, class_names: Option<&[String]>) -> Result<Vec<SumsInput>> {
    if path.is_dir() {
        if class_names.is_some() {
            return Err(Error::input(
                "--class-names",
                format!(
                    "names the classes of one file; for the directory {} put a {CLASS_NAMES_FILE} (file,label,name) beside its files",
                    path.display()
                ),
            ));
        }
        return read_sums_dir(path);
    }
    let sums = read_sums(path)?;
    let names = match class_names {
        Some(list) => class_names_from_list(list, &sums.labels())?,
        None => class_names_beside(path, &sums)?,
    };
    Ok(vec![SumsInput {
        file: path.to_path_buf(),
        folder: None,
        sums,
        names,
    }])
}

/// Every sums file (`.csv`, `.parquet`; not `class_names.csv`) of a directory in name order,
/// read and checked, each with its stem as output folder and its class names from the
/// directory's `class_names.csv` when that names the file (else none). Fails, before anything
/// is written, when any file is bad.
pub fn read_sums_dir(dir: &Path) -> Result<Vec<SumsInput>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv" || x == "parquet"))
        .filter(|p| p.file_name().is_some_and(|f| f != CLASS_NAMES_FILE))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::in_file(
            dir,
            "holds no .csv or .parquet files of sums",
        ));
    }
    let table_path = dir.join(CLASS_NAMES_FILE);
    let mut table = if table_path.is_file() {
        read_class_names_table(&table_path)?
    } else {
        BTreeMap::new()
    };
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let sums = read_sums(&file)?;
        let name = file.file_name().map(|f| f.to_string_lossy().into_owned());
        let names = name.and_then(|n| table.remove(&n)).unwrap_or_default();
        if !names.is_empty() {
            check_class_names(&names, &sums.labels(), &table_path.display().to_string())?;
        }
        let folder = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        out.push(SumsInput {
            file,
            folder,
            sums,
            names,
        });
    }
    if let Some(unknown) = table.keys().next() {
        return Err(Error::in_file(
            &table_path,
            format!(
                "names the classes of `{unknown}`, which is not a file of sums in this directory"
            ),
        ));
    }
    Ok(out)
}

/// Checks that `names` names every class in `labels`; `source` (a flag or file) is named in the
/// error.
pub(crate) fn check_class_names(
    names: &BTreeMap<usize, String>,
    labels: &[usize],
    source: &str,
) -> Result<()> {
    let missing: Vec<String> = labels
        .iter()
        .filter(|l| !names.contains_key(l))
        .map(|l| l.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::input(
            source,
            format!(
                "names classes {} but the data has classes {}: class {} has no name",
                describe(names.keys().copied()),
                describe(labels.iter().copied()),
                missing.join(", ")
            ),
        ))
    }
}

/// `0..8` for a contiguous run of class indices, else `0, 2, 5`.
pub(super) fn describe(labels: impl Iterator<Item = usize>) -> String {
    let labels: Vec<usize> = labels.collect();
    match (labels.first(), labels.last()) {
        (Some(first), Some(last)) if last - first + 1 == labels.len() && labels.len() > 2 => {
            format!("{first}..={last}")
        }
        _ => labels
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Class names by index from a list (`--class-names a,b,c`: class 0 is `a`); every class in
/// `labels` must be named, and no name may be empty.
pub(crate) fn class_names_from_list(
    names: &[String],
    labels: &[usize],
) -> Result<BTreeMap<usize, String>> {
    if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
        return Err(Error::input(
            "--class-names",
            format!("name {} (class {i}) is empty", i + 1),
        ));
    }
    let map: BTreeMap<usize, String> = names.iter().cloned().enumerate().collect();
    check_class_names(&map, labels, "--class-names").map_err(|_| {
        Error::input(
            "--class-names",
            format!(
                "gives {} names (classes 0..={}) but the data has classes {}: give one name per class index, in order",
                names.len(),
                names.len().saturating_sub(1),
                describe(labels.iter().copied())
            ),
        )
    })?;
    Ok(map)
}
