//! `musiclime refit`: surrogates fitted again on a saved neighbourhood, and the surrogate flags
//! that `explain` shares.

use std::path::PathBuf;

use musiclime::error::Result;
use musiclime::explanation::{refit, LabelChoice, LabelRef, RefitParams};
use musiclime::fs::write_atomically;
use musiclime::neighborhood::io::read_neighborhood;
use musiclime::neighborhood::kernel::{Kernel, KernelParams};
use musiclime::surrogate::{FeatureSelection, SurrogateParams, WeightSort};

use super::{parsed, pretty};

#[derive(clap::Args)]
pub(super) struct RefitArgs {
    /// Neighbourhood file: mask_0.., prob_0.. and optional distance columns (row 0 = instance).
    #[arg(long)]
    neighborhood: PathBuf,
    #[command(flatten)]
    surrogate: SurrogateArgs,
    /// Write the JSON here (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The kernel, surrogate and label flags (`refit` and `explain`).
#[derive(clap::Args)]
pub(super) struct SurrogateArgs {
    /// Classes to explain, comma-separated, by index or name (e.g. `0,2` or `guitar,drums`).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["top_labels", "threshold"])]
    labels: Option<Vec<LabelRef>>,
    /// Explain the K classes with the highest output on row 0 (default 1).
    #[arg(long, conflicts_with = "threshold")]
    top_labels: Option<usize>,
    /// Explain every class (tag) whose output on row 0 is at least T, in [0, 1] (multi-label
    /// taggers: every predicted tag).
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Maximum number of features per explanation (default: all).
    #[arg(long, default_value_t = SurrogateParams::default().num_features)]
    num_features: usize,
    /// auto | none | highest_weights | forward_selection | lasso_path
    #[arg(long, default_value = SurrogateParams::default().feature_selection.name(),
          value_parser = parsed(FeatureSelection::parse))]
    feature_selection: FeatureSelection,
    /// Width of the exponential kernel.
    #[arg(long, default_value_t = KernelParams::default().kernel_width)]
    kernel_width: f64,
    /// Factor on computed cosine distances (1: MusicLIME; 100: lime's text explainer).
    #[arg(long, default_value_t = KernelParams::default().distance_scale)]
    distance_scale: f64,
    /// lime | kernelshap
    #[arg(long, default_value = KernelParams::default().kernel.name(),
          value_parser = parsed(Kernel::parse))]
    kernel: Kernel,
    /// Order of the weights: abs (by |weight|) or signed.
    #[arg(long, default_value = SurrogateParams::default().sort.name(),
          value_parser = parsed(WeightSort::parse))]
    sort: WeightSort,
}

impl SurrogateArgs {
    /// The flags as the library's refit parameters, checked (errors name the flag's key).
    pub(super) fn params(&self) -> Result<RefitParams> {
        let labels =
            LabelChoice::from_options(self.labels.clone(), self.top_labels, self.threshold);
        let params = RefitParams {
            kernel: KernelParams {
                kernel: self.kernel,
                kernel_width: self.kernel_width,
                distance_scale: self.distance_scale,
            },
            surrogate: SurrogateParams {
                feature_selection: self.feature_selection,
                num_features: self.num_features,
                sort: self.sort,
                ..SurrogateParams::default()
            },
            labels,
        };
        params.check(match params.labels {
            LabelChoice::Threshold(_) => "--threshold",
            LabelChoice::TopLabels(_) => "--top-labels",
            LabelChoice::Labels(_) => "--labels",
        })?;
        Ok(params)
    }
}

/// Refits the neighbourhood and writes the explanation (to `--out` or standard output).
pub(super) fn run(args: RefitArgs) -> Result<()> {
    let params = args.surrogate.params()?;
    let neighborhood = read_neighborhood(&args.neighborhood)?;
    let explanation = refit(
        &neighborhood,
        &params,
        &args.neighborhood.display().to_string(),
    )?;
    let json = pretty(&explanation.to_json())?;
    match args.out {
        Some(path) => {
            write_atomically(&path, json.as_bytes())?;
            eprint!("{}", explanation.summary(8));
            eprintln!("wrote {}", path.display());
        }
        None => print!("{json}"),
    }
    Ok(())
}
