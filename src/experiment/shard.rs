//! Shards: one run split over several processes or machines that share the result store.
//!
//! Shard `K/N` (1-based) owns the instances whose id hashes to it (FNV-1a 64 of the id, modulo
//! `N`), with all their units: an instance's audio, factorizations and spectra are computed
//! once, by one shard, and reordering the manifest moves no instance to another shard. Started
//! as a SLURM array task without `--shard`, a process takes `K = SLURM_ARRAY_TASK_ID −
//! SLURM_ARRAY_TASK_MIN + 1` and `N = SLURM_ARRAY_TASK_COUNT`.

use crate::error::{Error, Result};
use crate::fingerprint::fnv1a;

/// One share of a run: the `index`-th of `count` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, from 1 to `count`.
    pub index: usize,
    /// How many shares the run is split into.
    pub count: usize,
}

/// The flag shards are given with, for messages.
const FLAG: &str = "--shard";

impl Shard {
    /// Parses `K/N` (1 ≤ K ≤ N).
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = |why: &str| {
            Error::input(
                FLAG,
                format!("`{text}` {why}; write K/N with 1 <= K <= N, e.g. --shard 2/8"),
            )
        };
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| bad("is not of the form K/N"))?;
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| bad("is not two whole numbers"))
        };
        let shard = Shard {
            index: number(k)?,
            count: number(n)?,
        };
        if shard.count == 0 || shard.index == 0 || shard.index > shard.count {
            return Err(bad("is out of range"));
        }
        Ok(shard)
    }

    /// The shard of the SLURM array task this process runs in, from `SLURM_ARRAY_TASK_ID`,
    /// `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_COUNT` (read through `var`); `None` outside
    /// an array task.
    pub(crate) fn from_slurm(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let Some(id) = var("SLURM_ARRAY_TASK_ID") else {
            return Ok(None);
        };
        let read = |name: &str, value: Option<String>| -> Result<usize> {
            let value = value.ok_or_else(|| {
                Error::input(
                    name,
                    "is not set although SLURM_ARRAY_TASK_ID is; pass --shard K/N",
                )
            })?;
            value.trim().parse().map_err(|_| {
                Error::input(
                    name,
                    format!("`{value}` is not a whole number; pass --shard K/N"),
                )
            })
        };
        let id = read("SLURM_ARRAY_TASK_ID", Some(id))?;
        let min = read("SLURM_ARRAY_TASK_MIN", var("SLURM_ARRAY_TASK_MIN"))?;
        let count = read("SLURM_ARRAY_TASK_COUNT", var("SLURM_ARRAY_TASK_COUNT"))?;
        if id < min || id - min >= count || count == 0 {
            return Err(Error::input(
                "SLURM_ARRAY_TASK_ID",
                format!("task {id} of an array of {count} starting at {min} is not a shard; pass --shard K/N"),
            ));
        }
        Ok(Some(Shard {
            index: id - min + 1,
            count,
        }))
    }

    /// The shard to run: the `--shard` flag when given (checked against the SLURM array task,
    /// if any), else the array task's. The flag agrees with a task whose id, or position in
    /// its array, is `K`, in an array of at most `N` tasks (so a single task resubmitted with
    /// `--array=K` keeps its `--shard K/N`).
    pub fn resolve(
        flag: Option<Shard>,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>> {
        let Some(flag) = flag else {
            return Shard::from_slurm(var);
        };
        let Some(task) = var("SLURM_ARRAY_TASK_ID") else {
            return Ok(Some(flag));
        };
        let number = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok());
        let (id, min, count) = (
            number("SLURM_ARRAY_TASK_ID"),
            number("SLURM_ARRAY_TASK_MIN"),
            number("SLURM_ARRAY_TASK_COUNT"),
        );
        let position = match (id, min) {
            (Some(id), Some(min)) if id >= min => Some(id - min + 1),
            _ => None,
        };
        let agrees = (id == Some(flag.index) || position == Some(flag.index))
            && count.is_none_or(|c| c <= flag.count);
        if !agrees {
            return Err(Error::input(
                FLAG,
                format!(
                    "{}/{} disagrees with this SLURM array task (SLURM_ARRAY_TASK_ID={task}, _MIN={}, _COUNT={}); give the task's own K/N, or leave --shard out to take it from the array",
                    flag.index,
                    flag.count,
                    min.map_or("unset".into(), |m| m.to_string()),
                    count.map_or("unset".into(), |c| c.to_string()),
                ),
            ));
        }
        Ok(Some(flag))
    }

    /// Whether this shard owns the instance `id`.
    pub fn owns(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard (1-based) of `count` that owns instance `id`.
pub(crate) fn shard_of(id: &str, count: usize) -> usize {
    (fnv1a(id.bytes()) % count.max(1) as u64) as usize + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn shards_parse_and_bad_ones_name_the_flag() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for bad in ["0/3", "4/3", "a/b", "3", "1/0", ""] {
            let e = Shard::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("--shard"), "{e}");
        }
    }

    #[test]
    fn an_array_task_maps_to_its_position_in_the_array() {
        let task = env(&[
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::resolve(None, &task).unwrap(),
            Some(Shard { index: 3, count: 4 })
        );
        assert_eq!(Shard::resolve(None, &env(&[])).unwrap(), None);
        // The flag wins when it agrees: by position, or by task id (a resubmitted single task).
        let flag = Some(Shard { index: 3, count: 4 });
        assert_eq!(Shard::resolve(flag, &task).unwrap(), flag);
        let resubmitted = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ]);
        let flag = Some(Shard { index: 2, count: 3 });
        assert_eq!(Shard::resolve(flag, &resubmitted).unwrap(), flag);
        // ... and is refused when it does not.
        let e = Shard::resolve(Some(Shard { index: 1, count: 4 }), &task).unwrap_err();
        assert!(e.to_string().contains("disagrees"), "{e}");
        let e = Shard::resolve(Some(Shard { index: 3, count: 3 }), &task).unwrap_err();
        assert!(e.to_string().contains("disagrees"), "{e}");
        let broken = env(&[("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_MIN", "0")]);
        assert_eq!(Shard::resolve(None, &broken).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn every_instance_has_exactly_one_shard_whatever_the_order() {
        let ids: Vec<String> = (0..200).map(|i| format!("song{i:04}")).collect();
        let shards: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
        let mut counts = [0usize; 3];
        for id in &ids {
            let owners: Vec<&Shard> = shards.iter().filter(|s| s.owns(id)).collect();
            assert_eq!(owners.len(), 1, "{id}");
            counts[owners[0].index - 1] += 1;
        }
        // A hash, not a round robin: roughly even, none empty on 200 ids.
        assert!(counts.iter().all(|&c| c > 40), "{counts:?}");
    }
}
