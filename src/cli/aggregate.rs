//! `musiclime aggregate`: local explanations (or published per-class sums) made global.

use std::path::PathBuf;

use musiclime::aggregate;
use musiclime::error::{Error, Result};
use musiclime::experiment::global::{write_global, GlobalOutput, DEFAULT_TOP_K};
use musiclime::lemmas::MergeWords;

#[derive(clap::Args)]
#[group(required = true, multiple = false, id = "input")]
pub(super) struct AggregateInput {
    /// A table (CSV or Parquet) with columns instance,label,feature,weight.
    #[arg(long)]
    explanations: Option<PathBuf>,
    /// Pre-accumulated sums (CSV or Parquet) with columns label,feature,weight_sum,count, or a
    /// directory of such files (one output folder per file).
    #[arg(long)]
    sums: Option<PathBuf>,
}

#[derive(clap::Args)]
pub(super) struct AggregateArgs {
    #[command(flatten)]
    input: AggregateInput,
    /// Accumulate every weight's magnitude, not only the positive ones.
    #[arg(long)]
    all_weights: bool,
    /// Features per class in the top-k table.
    #[arg(long, default_value_t = DEFAULT_TOP_K)]
    top_k: usize,
    /// Class names in class-index order, comma-separated (class 0 first), for one file. A
    /// directory of sums takes its names from a class_names.csv (file,label,name) beside them.
    #[arg(long, value_delimiter = ',')]
    class_names: Option<Vec<String>>,
    /// Merge lyric words before aggregating: none (the default: every feature string on its
    /// own), lower (by lower case) or lemma (by lower case and lemma, as the paper's genre
    /// figures). Audio components are never merged.
    #[arg(long)]
    merge_words: Option<MergeWords>,
    /// A word,lemma table to use with --merge-words lemma instead of the embedded English one.
    #[arg(long)]
    lemmas: Option<PathBuf>,
    /// Output directory (global.csv, global.parquet, top_k.csv, ...).
    #[arg(long)]
    out: PathBuf,
}

/// Reads and checks every input, then writes each one's global tables and charts.
pub(super) fn run(args: AggregateArgs) -> Result<()> {
    let merge = args.merge_words.unwrap_or_default();
    let lemmas = merge.lemmas(args.lemmas.as_deref())?;
    // Everything is read and checked before anything is written.
    let class_names = args.class_names.as_deref();
    let inputs = match (&args.input.explanations, &args.input.sums) {
        (Some(path), _) => vec![aggregate::read_explanations_input(
            path,
            args.all_weights,
            class_names,
        )?],
        (None, Some(path)) => aggregate::read_sums_input(path, class_names)?,
        (None, None) => {
            return Err(Error::input(
                "aggregate",
                "give --explanations FILE or --sums FILE",
            ))
        }
    };
    if let Some(list) = class_names {
        let classes = inputs[0].sums.labels().last().map_or(0, |l| l + 1);
        if list.len() > classes {
            eprintln!(
                "warning: --class-names gives {} names; the data's classes are 0..={}, so the last {} are unused",
                list.len(),
                classes.saturating_sub(1),
                list.len() - classes
            );
        }
    }
    let several = inputs.len() > 1 || inputs.iter().any(|i| i.folder.is_some());
    for input in inputs {
        let sums = match merge {
            MergeWords::None => input.sums,
            merge => input.sums.merge_words(|w| merge.key(w, &lemmas)),
        };
        let global = aggregate::aggregate(&sums);
        let out = match &input.folder {
            Some(folder) => args.out.join(folder),
            None => args.out.clone(),
        };
        let output = GlobalOutput {
            top_k: args.top_k,
            names: &input.names,
            words: merge.words_title(),
        };
        write_global(&out, &global, output)?;
        if several {
            println!(
                "{}: {} (class, feature) importances in {}",
                input.file.display(),
                global.len(),
                out.display()
            );
        } else {
            println!(
                "{} (class, feature) importances; tables in {}",
                global.len(),
                out.display()
            );
        }
    }
    Ok(())
}
