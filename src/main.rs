//! The `musiclime` command line. Parses arguments, calls the library, maps errors to exit
//! codes (2: bad input, 1: internal failure). Nothing is written when a command fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use musiclime::error::{Error, Result};
use musiclime::explain::{refit, LabelChoice, RefitParams};
use musiclime::neighborhood::io::{read_neighborhood, write_atomically};
use musiclime::neighborhood::kernel::{Kernel, KernelParams};
use musiclime::surrogate::{FeatureSelection, SurrogateParams, WeightSort, ALL_FEATURES};

#[derive(Parser)]
#[command(
    name = "musiclime",
    version,
    about = "Explain multimodal (audio + lyrics) music classifiers with MusicLIME"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit surrogates on a saved neighbourhood (Parquet) without calling any model.
    Refit(RefitArgs),
}

#[derive(clap::Args)]
struct RefitArgs {
    /// Neighbourhood file: mask_0.., prob_0.. and optional distance columns (row 0 = instance).
    #[arg(long)]
    neighborhood: PathBuf,
    /// Class indices to explain, comma-separated (e.g. `0,2`).
    #[arg(long, value_delimiter = ',', conflicts_with = "top_labels")]
    labels: Option<Vec<usize>>,
    /// Explain the K classes with the highest output on row 0 (default 1).
    #[arg(long)]
    top_labels: Option<usize>,
    /// Maximum number of features per explanation (default: all).
    #[arg(long, default_value_t = ALL_FEATURES)]
    num_features: usize,
    /// auto | none | highest_weights | forward_selection | lasso_path
    #[arg(long, default_value = "auto")]
    feature_selection: String,
    /// Width of the exponential kernel.
    #[arg(long, default_value_t = 25.0)]
    kernel_width: f64,
    /// Factor on computed cosine distances (1: MusicLIME; 100: lime's text explainer).
    #[arg(long, default_value_t = 1.0)]
    distance_scale: f64,
    /// lime | kernelshap
    #[arg(long, default_value = "lime")]
    kernel: String,
    /// Order of the weights: abs (by |weight|) or signed.
    #[arg(long, default_value = "abs")]
    sort: String,
    /// Write the JSON here (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn run_refit(args: RefitArgs) -> Result<()> {
    let kernel = match args.kernel.as_str() {
        "lime" => Kernel::Lime,
        "kernelshap" => Kernel::Kernelshap,
        other => {
            return Err(Error::input(
                "--kernel",
                format!("unknown kernel `{other}`; use `lime` or `kernelshap`"),
            ))
        }
    };
    let params = RefitParams {
        kernel: KernelParams {
            kernel,
            kernel_width: args.kernel_width,
            distance_scale: args.distance_scale,
        },
        surrogate: SurrogateParams {
            feature_selection: FeatureSelection::parse(&args.feature_selection)?,
            num_features: args.num_features,
            sort: WeightSort::parse(&args.sort)?,
            ..SurrogateParams::default()
        },
        labels: match (args.labels, args.top_labels) {
            (Some(labels), _) => LabelChoice::Labels(labels),
            (None, Some(k)) => LabelChoice::TopLabels(k),
            (None, None) => LabelChoice::default(),
        },
    };
    let neighborhood = read_neighborhood(&args.neighborhood)?;
    let explanation = refit(
        &neighborhood,
        &params,
        &args.neighborhood.display().to_string(),
    )?;
    let mut json = serde_json::to_string_pretty(&explanation.to_json())
        .map_err(|e| Error::Numeric(format!("could not encode the explanation: {e}")))?;
    json.push('\n');
    match args.out {
        Some(path) => {
            write_atomically(&path, json.as_bytes())?;
            eprint!("{}", explanation.summary(8));
            eprintln!("wrote {}", path.display());
            Ok(())
        }
        None => {
            print!("{json}");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Refit(args) => run_refit(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
