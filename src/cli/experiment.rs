//! The experiment verbs: `run`, `validate`, `report` and `slurm`, each one call into
//! [`musiclime::experiment`].

use std::path::PathBuf;

use musiclime::error::Result;
use musiclime::experiment::config::SlurmConfig;
use musiclime::experiment::runner::RunOptions;
use musiclime::experiment::shard::Shard;
use musiclime::model::onnx::spec::ExecutionProvider;

#[derive(clap::Args)]
pub(super) struct RunArgs {
    /// The experiment config (YAML).
    config: PathBuf,
    /// Ignore stored results and start over.
    #[arg(long)]
    fresh: bool,
    /// ONNX Runtime execution providers in order of preference, e.g. `cuda,cpu` (overrides
    /// the config and every model.yaml; a list without `cpu` fails when none is available).
    #[arg(long, value_delimiter = ',')]
    execution_providers: Option<Vec<ExecutionProvider>>,
    /// Run only shard K of N (1-based; the instances whose id hashes to it) into the store of
    /// a prepared run, writing nothing else. Inside a SLURM array task it defaults to the
    /// task's position in the array.
    #[arg(long, value_name = "K/N", conflicts_with = "prepare")]
    shard: Option<String>,
    /// Check everything and write run.json (and a synthetic dataset), computing no unit, so
    /// that shards can start.
    #[arg(long)]
    prepare: bool,
}

#[derive(clap::Args)]
pub(super) struct ValidateArgs {
    /// The experiment config (YAML).
    config: PathBuf,
    /// ONNX Runtime execution providers in order of preference (as for `run`).
    #[arg(long, value_delimiter = ',')]
    execution_providers: Option<Vec<ExecutionProvider>>,
}

#[derive(clap::Args)]
pub(super) struct ReportArgs {
    /// The run's output directory (holding run.json and store/).
    run_dir: PathBuf,
    /// Report the units that are there even when some are missing (every table and the
    /// index then say they are partial).
    #[arg(long)]
    partial: bool,
}

#[derive(clap::Args)]
pub(super) struct SlurmArgs {
    /// The experiment config (YAML); its `slurm:` key gives defaults for every flag below.
    config: PathBuf,
    /// Shards, i.e. array tasks (each takes the instances whose id hashes to it).
    #[arg(long)]
    shards: Option<usize>,
    /// Run at most this many tasks at once (`--array=1-N%K`).
    #[arg(long)]
    parallel: Option<usize>,
    /// The partition (queue).
    #[arg(long)]
    partition: Option<String>,
    /// Time limit of each task, as SLURM writes it (e.g. `04:00:00`).
    #[arg(long)]
    time: Option<String>,
    /// CPUs per task.
    #[arg(long)]
    cpus: Option<usize>,
    /// GPUs per task.
    #[arg(long)]
    gpus: Option<usize>,
    /// A further `#SBATCH` argument, verbatim (repeatable), e.g. `--sbatch-arg=--mem=16G`.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Submit the scripts with `sbatch` (else only write them).
    #[arg(long)]
    submit: bool,
    /// Delete stored results and prepare the run from scratch.
    #[arg(long)]
    fresh: bool,
}

impl RunArgs {
    /// The flags as the runner's options (the shard from `--shard` or the SLURM array task).
    fn options(&self) -> Result<RunOptions> {
        let flag = self.shard.as_deref().map(Shard::parse).transpose()?;
        let shard = match self.prepare {
            true => None,
            false => Shard::resolve(flag, &|name| std::env::var(name).ok())?,
        };
        Ok(RunOptions {
            fresh: self.fresh,
            progress: true,
            execution_providers: self.execution_providers.clone(),
            shard,
            prepare_only: self.prepare,
        })
    }
}

impl SlurmArgs {
    /// The flags as a `slurm:` config block (flags given override the config's).
    fn flags(&self) -> SlurmConfig {
        SlurmConfig {
            shards: self.shards,
            parallel: self.parallel,
            partition: self.partition.clone(),
            time: self.time.clone(),
            cpus: self.cpus,
            gpus: self.gpus,
            sbatch_args: self.sbatch_args.clone(),
        }
    }
}

/// Runs the config (or its shard, or only prepares it) and says what was done.
pub(super) fn run(args: RunArgs) -> Result<()> {
    let options = args.options()?;
    let report = musiclime::experiment::runner::run(&args.config, &options)?;
    for (id, problem) in &report.failures {
        eprintln!("skipped {id}: {problem}");
    }
    match (options.shard, args.prepare) {
        (_, true) => println!(
            "prepared {} units in {}; start the shards with `musiclime run {} --shard K/N`",
            report.units,
            report.output.display(),
            args.config.display()
        ),
        (Some(shard), _) => println!(
            "shard {shard}: {} units ({} from the store) in {}",
            report.units,
            report.resumed,
            report.output.join("store").display()
        ),
        (None, _) => println!(
            "{} units ({} from the store); tables in {}",
            report.units,
            report.resumed,
            report.output.join("tables").display()
        ),
    }
    Ok(())
}

/// Checks the config and prints what a run would do.
pub(super) fn validate(args: ValidateArgs) -> Result<()> {
    let options = RunOptions {
        execution_providers: args.execution_providers,
        ..RunOptions::default()
    };
    let summary = musiclime::experiment::runner::validate(&args.config, &options)?;
    println!("{summary}");
    Ok(())
}

/// Writes a run's tables, charts and index again from its store.
pub(super) fn report(args: ReportArgs) -> Result<()> {
    let summary = musiclime::experiment::report::report(&args.run_dir, args.partial)?;
    if summary.missing > 0 {
        eprintln!(
            "warning: partial report: {} units of the plan are not in the store",
            summary.missing
        );
    }
    println!(
        "{} units; tables, charts and index.md in {}",
        summary.units,
        summary.output.display()
    );
    Ok(())
}

/// Prepares the run and writes (or submits) its shard array and merge job.
pub(super) fn slurm(args: SlurmArgs) -> Result<()> {
    let options = RunOptions {
        fresh: args.fresh,
        ..RunOptions::default()
    };
    let launch =
        musiclime::experiment::slurm::launch(&args.config, &args.flags(), &options, args.submit)?;
    println!(
        "prepared {} units in {} shards; wrote {} and {}",
        launch.units,
        launch.shards,
        launch.shards_script.display(),
        launch.merge_script.display()
    );
    match &launch.jobs {
        Some((array, merge)) => {
            println!("submitted array job {array} and merge job {merge} (afterok:{array})")
        }
        None => println!(
            "submit with: A=$(sbatch --parsable {}) && sbatch --dependency=afterok:${{A%%;*}} {}",
            launch.shards_script.display(),
            launch.merge_script.display()
        ),
    }
    Ok(())
}
